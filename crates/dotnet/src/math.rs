//! `System.Math` and `MidpointRounding`.

use crate::error::{DotNetException, DotNetResult};
use rust_decimal::{Decimal, RoundingStrategy};

/// `System.MidpointRounding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidpointRounding {
    ToEven = 0,
    AwayFromZero = 1,
    ToZero = 2,
    ToNegativeInfinity = 3,
    ToPositiveInfinity = 4,
}

impl MidpointRounding {
    pub fn from_value(v: i64) -> DotNetResult<MidpointRounding> {
        Ok(match v {
            0 => MidpointRounding::ToEven,
            1 => MidpointRounding::AwayFromZero,
            2 => MidpointRounding::ToZero,
            3 => MidpointRounding::ToNegativeInfinity,
            4 => MidpointRounding::ToPositiveInfinity,
            _ => {
                return Err(DotNetException::argument(format!(
                    "The value '{v}' is not valid for this usage of the type MidpointRounding. (Parameter 'mode')"
                )));
            }
        })
    }
}

fn apply_mode(v: f64, mode: MidpointRounding) -> f64 {
    match mode {
        MidpointRounding::ToEven => v.round_ties_even(),
        MidpointRounding::AwayFromZero => {
            let t = v.trunc();
            let fraction = v - t;
            if fraction.abs() >= 0.5 {
                t + fraction.signum()
            } else {
                t
            }
        }
        MidpointRounding::ToZero => v.trunc(),
        MidpointRounding::ToNegativeInfinity => v.floor(),
        MidpointRounding::ToPositiveInfinity => v.ceil(),
    }
}

/// `Math.Round(double)`: half to even.
pub fn round(v: f64) -> f64 {
    v.round_ties_even()
}

/// `Math.Round(double, digits, mode)` (.NET Core algorithm: scale, round, unscale).
pub fn round_digits(v: f64, digits: i32, mode: MidpointRounding) -> DotNetResult<f64> {
    if !(0..=15).contains(&digits) {
        return Err(DotNetException::out_of_range(
            "digits",
            "Rounding digits must be between 0 and 15, inclusive.",
        ));
    }
    if v.abs() < 1e16 {
        let p = 10f64.powi(digits);
        Ok(apply_mode(v * p, mode) / p)
    } else {
        Ok(v)
    }
}

/// `Math.Round(decimal, decimals, mode)`.
pub fn round_decimal(v: Decimal, decimals: i32, mode: MidpointRounding) -> DotNetResult<Decimal> {
    if !(0..=28).contains(&decimals) {
        return Err(DotNetException::out_of_range(
            "decimals",
            "Decimal can only round to between 0 and 28 digits of precision.",
        ));
    }
    let strategy = match mode {
        MidpointRounding::ToEven => RoundingStrategy::MidpointNearestEven,
        MidpointRounding::AwayFromZero => RoundingStrategy::MidpointAwayFromZero,
        MidpointRounding::ToZero => RoundingStrategy::ToZero,
        MidpointRounding::ToNegativeInfinity => RoundingStrategy::ToNegativeInfinity,
        MidpointRounding::ToPositiveInfinity => RoundingStrategy::ToPositiveInfinity,
    };
    if v.scale() as i32 <= decimals {
        return Ok(v);
    }
    Ok(v.round_dp_with_strategy(decimals as u32, strategy))
}

pub fn floor_decimal(v: Decimal) -> Decimal {
    v.floor()
}
pub fn ceiling_decimal(v: Decimal) -> Decimal {
    v.ceil()
}
pub fn truncate_decimal(v: Decimal) -> Decimal {
    v.trunc()
}

fn negate_min() -> DotNetException {
    DotNetException::overflow("Negating the minimum value of a twos complement number is invalid.")
}

/// `Math.Abs(int)`.
pub fn abs_i32(v: i32) -> DotNetResult<i32> {
    v.checked_abs().ok_or_else(negate_min)
}
/// `Math.Abs(long)`.
pub fn abs_i64(v: i64) -> DotNetResult<i64> {
    v.checked_abs().ok_or_else(negate_min)
}
/// `Math.Abs(short)`.
pub fn abs_i16(v: i16) -> DotNetResult<i16> {
    v.checked_abs().ok_or_else(negate_min)
}
/// `Math.Abs(sbyte)`.
pub fn abs_i8(v: i8) -> DotNetResult<i8> {
    v.checked_abs().ok_or_else(negate_min)
}

/// `Math.Max(double, double)`: NaN wins; +0 beats -0.
pub fn max_f64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == b {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// `Math.Min(double, double)`: NaN wins; -0 beats +0.
pub fn min_f64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == b {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

/// `Math.Sign(double)`: ArithmeticException for NaN.
pub fn sign_f64(v: f64) -> DotNetResult<i32> {
    if v.is_nan() {
        return Err(DotNetException::new(
            crate::error::ExceptionKind::ArithmeticException,
            "Function does not accept floating point Not-a-Number values.",
        ));
    }
    Ok(if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    })
}

/// `Math.Clamp(value, min, max)` for any ordered type; ArgumentException when min > max.
pub fn clamp<T: PartialOrd + Copy + std::fmt::Display>(
    value: T,
    min: T,
    max: T,
) -> DotNetResult<T> {
    if min > max {
        return Err(DotNetException::argument(format!(
            "'{min}' cannot be greater than {max}."
        )));
    }
    Ok(if value < min {
        min
    } else if value > max {
        max
    } else {
        value
    })
}

/// `Math.Log(a, newBase)` with .NET's special cases.
pub fn log_base(a: f64, new_base: f64) -> f64 {
    if a.is_nan() {
        return a;
    }
    if new_base.is_nan() {
        return new_base;
    }
    if new_base == 1.0 {
        return f64::NAN;
    }
    if a != 1.0 && (new_base == 0.0 || new_base == f64::INFINITY) {
        return f64::NAN;
    }
    a.ln() / new_base.ln()
}

/// `Math.Pow`: IEEE pow (`Math.Pow(-8, 1.0/3)` is NaN, `Pow(x, 0)` is 1).
pub fn pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// Integer division and remainder (`/`, `%`, `Math.DivRem`) with .NET's exceptions.
pub fn div_i64(a: i64, b: i64) -> DotNetResult<i64> {
    if b == 0 {
        return Err(divide_by_zero());
    }
    a.checked_div(b)
        .ok_or_else(|| DotNetException::overflow("Arithmetic operation resulted in an overflow."))
}

pub fn rem_i64(a: i64, b: i64) -> DotNetResult<i64> {
    if b == 0 {
        return Err(divide_by_zero());
    }
    // .NET: long.MinValue % -1 throws OverflowException on x64.
    a.checked_rem(b)
        .ok_or_else(|| DotNetException::overflow("Arithmetic operation resulted in an overflow."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn rounding_modes() {
        assert_eq!(round(2.5), 2.0);
        assert_eq!(round(3.5), 4.0);
        assert_eq!(round(-2.5), -2.0);
        assert_eq!(
            round_digits(2.345, 2, MidpointRounding::ToEven).unwrap(),
            2.35
        );
        assert_eq!(
            round_digits(1.005, 2, MidpointRounding::AwayFromZero).unwrap(),
            1.0
        );
        assert_eq!(
            round_digits(2.5, 0, MidpointRounding::AwayFromZero).unwrap(),
            3.0
        );
        assert_eq!(
            round_digits(-2.5, 0, MidpointRounding::AwayFromZero).unwrap(),
            -3.0
        );
        assert_eq!(round_digits(2.7, 0, MidpointRounding::ToZero).unwrap(), 2.0);
        assert_eq!(
            round_digits(1.0, 16, MidpointRounding::ToEven)
                .unwrap_err()
                .kind,
            ExceptionKind::ArgumentOutOfRangeException
        );
        let d: Decimal = "2.345".parse().unwrap();
        assert_eq!(
            round_decimal(d, 2, MidpointRounding::ToEven)
                .unwrap()
                .to_string(),
            "2.34"
        );
        assert_eq!(
            round_decimal(d, 2, MidpointRounding::AwayFromZero)
                .unwrap()
                .to_string(),
            "2.35"
        );
        assert_eq!(
            round_decimal("1.5".parse().unwrap(), 3, MidpointRounding::ToEven)
                .unwrap()
                .to_string(),
            "1.5"
        );
        assert_eq!(
            MidpointRounding::from_value(9).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
    }

    #[test]
    fn abs_min_max_sign_clamp() {
        assert_eq!(
            abs_i32(i32::MIN).unwrap_err().kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(abs_i32(-5).unwrap(), 5);
        assert!(max_f64(f64::NAN, 1.0).is_nan());
        assert!(max_f64(-0.0, 0.0).is_sign_positive());
        assert!(min_f64(0.0, -0.0).is_sign_negative());
        assert_eq!(sign_f64(-3.0).unwrap(), -1);
        assert_eq!(
            sign_f64(f64::NAN).unwrap_err().kind,
            ExceptionKind::ArithmeticException
        );
        assert_eq!(clamp(5, 1, 3).unwrap(), 3);
        assert_eq!(
            clamp(5, 4, 3).unwrap_err().message,
            "'4' cannot be greater than 3."
        );
        assert_eq!(log_base(8.0, 2.0), 3.0);
        assert!(pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(div_i64(7, -2).unwrap(), -3);
        assert_eq!(rem_i64(-7, 2).unwrap(), -1);
        assert_eq!(
            div_i64(1, 0).unwrap_err().kind,
            ExceptionKind::DivideByZeroException
        );
        assert_eq!(
            div_i64(i64::MIN, -1).unwrap_err().kind,
            ExceptionKind::OverflowException
        );
    }
}

fn decimal_overflow() -> DotNetException {
    DotNetException::overflow("Value was either too large or too small for a Decimal.")
}

fn divide_by_zero() -> DotNetException {
    DotNetException::new(
        crate::error::ExceptionKind::DivideByZeroException,
        "Attempted to divide by zero.",
    )
}

/// `decimal + decimal` (OverflowException beyond ±79228162514264337593543950335).
pub fn decimal_add(a: Decimal, b: Decimal) -> DotNetResult<Decimal> {
    a.checked_add(b).ok_or_else(decimal_overflow)
}
/// `decimal - decimal`.
pub fn decimal_sub(a: Decimal, b: Decimal) -> DotNetResult<Decimal> {
    a.checked_sub(b).ok_or_else(decimal_overflow)
}
/// `decimal * decimal`.
pub fn decimal_mul(a: Decimal, b: Decimal) -> DotNetResult<Decimal> {
    a.checked_mul(b).ok_or_else(decimal_overflow)
}
/// `decimal / decimal` (DivideByZeroException for zero).
pub fn decimal_div(a: Decimal, b: Decimal) -> DotNetResult<Decimal> {
    if b.is_zero() {
        return Err(divide_by_zero());
    }
    a.checked_div(b).ok_or_else(decimal_overflow)
}
/// `decimal % decimal`.
pub fn decimal_rem(a: Decimal, b: Decimal) -> DotNetResult<Decimal> {
    if b.is_zero() {
        return Err(divide_by_zero());
    }
    a.checked_rem(b).ok_or_else(decimal_overflow)
}

#[cfg(test)]
mod decimal_tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn decimal_arithmetic() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(decimal_add(d("0.1"), d("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(decimal_mul(d("1.5"), d("2.0")).unwrap().to_string(), "3.00");
        assert_eq!(
            decimal_div(d("1"), d("3")).unwrap().to_string(),
            "0.3333333333333333333333333333"
        );
        assert_eq!(
            decimal_div(d("1"), d("0")).unwrap_err().kind,
            ExceptionKind::DivideByZeroException
        );
        assert_eq!(
            decimal_mul(Decimal::MAX, d("2")).unwrap_err().kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(decimal_rem(d("7.5"), d("2")).unwrap().to_string(), "1.5");
    }
}
