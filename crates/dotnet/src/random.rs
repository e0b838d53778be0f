//! `System.Random` with a seed: the .NET Framework's Knuth subtractive generator, which .NET
//! Core keeps for seeded instances (`Net5CompatSeedImpl`), so `new Random(seed).Next(a, b)`
//! gives .NET's numbers. Unseeded `new Random()` is the caller's business (a seed from the
//! host's injectable RNG).

use crate::error::{DotNetException, DotNetResult};

const MBIG: i32 = i32::MAX;
const MSEED: i32 = 161_803_398;

/// A seeded `System.Random`.
#[derive(Debug, Clone)]
pub struct Random {
    seed_array: [i32; 56],
    inext: usize,
    inextp: usize,
}

impl Random {
    /// `new Random(seed)`.
    pub fn new(seed: i32) -> Random {
        let mut sa = [0i32; 56];
        let subtraction = if seed == i32::MIN {
            i32::MAX
        } else {
            seed.abs()
        };
        let mut mj = MSEED - subtraction;
        sa[55] = mj;
        let mut mk: i32 = 1;
        let mut ii = 0usize;
        for _ in 1..55 {
            ii += 21;
            if ii >= 55 {
                ii -= 55;
            }
            sa[ii] = mk;
            mk = mj.wrapping_sub(mk);
            if mk < 0 {
                mk = mk.wrapping_add(MBIG);
            }
            mj = sa[ii];
        }
        for _ in 1..5 {
            for i in 1..56 {
                let mut n = i + 30;
                if n >= 55 {
                    n -= 55;
                }
                sa[i] = sa[i].wrapping_sub(sa[1 + n]);
                if sa[i] < 0 {
                    sa[i] = sa[i].wrapping_add(MBIG);
                }
            }
        }
        Random {
            seed_array: sa,
            inext: 0,
            inextp: 21,
        }
    }

    fn internal_sample(&mut self) -> i32 {
        let mut loc_inext = self.inext + 1;
        if loc_inext >= 56 {
            loc_inext = 1;
        }
        let mut loc_inextp = self.inextp + 1;
        if loc_inextp >= 56 {
            loc_inextp = 1;
        }
        let mut ret = self.seed_array[loc_inext].wrapping_sub(self.seed_array[loc_inextp]);
        if ret == MBIG {
            ret -= 1;
        }
        if ret < 0 {
            ret = ret.wrapping_add(MBIG);
        }
        self.seed_array[loc_inext] = ret;
        self.inext = loc_inext;
        self.inextp = loc_inextp;
        ret
    }

    fn sample(&mut self) -> f64 {
        self.internal_sample() as f64 * (1.0 / MBIG as f64)
    }

    fn sample_for_large_range(&mut self) -> f64 {
        let mut result = self.internal_sample();
        let negative = self.internal_sample() % 2 == 0;
        if negative {
            result = -result;
        }
        let mut d = result as f64;
        d += (i32::MAX - 1) as f64;
        d /= 2.0 * (i32::MAX as u32 as f64) - 1.0;
        d
    }

    /// `Next()`: 0 ≤ n < int.MaxValue.
    pub fn next(&mut self) -> i32 {
        self.internal_sample()
    }

    /// `Next(maxValue)`.
    pub fn next_max(&mut self, max_value: i32) -> DotNetResult<i32> {
        if max_value < 0 {
            return Err(DotNetException::out_of_range(
                "maxValue",
                &format!("maxValue ('{max_value}') must be a non-negative value."),
            ));
        }
        Ok((self.sample() * max_value as f64) as i32)
    }

    /// `Next(minValue, maxValue)`, including the large-range path when the range exceeds
    /// int.MaxValue.
    pub fn next_range(&mut self, min_value: i32, max_value: i32) -> DotNetResult<i32> {
        if min_value > max_value {
            return Err(DotNetException::out_of_range(
                "minValue",
                &format!("minValue ('{min_value}') must be less than or equal to '{max_value}'."),
            ));
        }
        let range = max_value as i64 - min_value as i64;
        if range <= i32::MAX as i64 {
            Ok(((self.sample() * range as f64) as i32).wrapping_add(min_value))
        } else {
            Ok(((self.sample_for_large_range() * range as f64) as i64 + min_value as i64) as i32)
        }
    }

    /// `NextDouble()`: 0 ≤ d < 1.
    pub fn next_double(&mut self) -> f64 {
        self.sample()
    }

    /// `NextBytes(buffer)`.
    pub fn next_bytes(&mut self, buffer: &mut [u8]) {
        for b in buffer.iter_mut() {
            *b = self.internal_sample() as u8;
        }
    }

    /// `NextInt64(minValue, maxValue)` (.NET 6 compat implementation for seeded instances).
    pub fn next_i64_range(&mut self, min_value: i64, max_value: i64) -> DotNetResult<i64> {
        if min_value > max_value {
            return Err(DotNetException::out_of_range(
                "minValue",
                &format!("minValue ('{min_value}') must be less than or equal to '{max_value}'."),
            ));
        }
        let range = (max_value as i128 - min_value as i128) as u64;
        if range <= i32::MAX as u64 {
            return Ok((self.sample() * range as f64) as i64 + min_value);
        }
        if range <= 1 {
            return Ok(min_value);
        }
        // Rejection sampling over the needed bit count, as .NET's compat NextUInt64 does.
        let bits = 64 - (range - 1).leading_zeros();
        loop {
            let mut bytes = [0u8; 8];
            self.next_bytes(&mut bytes);
            let r = u64::from_le_bytes(bytes) >> (64 - bits);
            if r < range {
                return Ok((r as i128 + min_value as i128) as i64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        Random::new(seed).next_bytes(&mut b);
        b
    }

    #[test]
    fn next_bytes_matches_published_dotnet_output() {
        // Published .NET Framework output (Stack Overflow #13364401).
        assert_eq!(bytes(0), [26, 12, 70, 111, 93, 117, 228, 216]);
        assert_eq!(bytes(1), [70, 208, 134, 130, 64, 151, 228, 163]);
        assert_eq!(bytes(i32::MAX), [26, 12, 76, 111, 93, 115, 228, 216]);
        // int.MinValue seeds like int.MaxValue; negative seeds like their absolute value.
        assert_eq!(bytes(i32::MIN), bytes(i32::MAX));
        assert_eq!(bytes(-1), bytes(1));
    }

    #[test]
    fn sequences_match_the_reference_algorithm() {
        // Values printed by the Mono oracle (same reference-source algorithm).
        let mut r = Random::new(42);
        assert_eq!(r.next(), 1434747710);
        assert_eq!(r.next(), 302596119);
        assert_eq!(r.next_max(100).unwrap(), 12);
        assert_eq!(r.next_range(-50, 50).unwrap(), 2);
        assert_eq!(r.next_range(i32::MIN, i32::MAX).unwrap(), -361709744);
        assert_eq!(r.next_range(i32::MIN, i32::MAX).unwrap(), 1555655116);
        assert_eq!(r.next_double(), 0.17365117053205667);
        // new Random(context.RequestId.GetHashCode()) for the contract's default request id.
        let g = crate::guid::Guid::parse("5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10").unwrap();
        assert_eq!(g.get_hash_code(), 1825688449);
        let mut r = Random::new(g.get_hash_code());
        assert_eq!(r.next_range(1, 4).unwrap(), 1);
        assert_eq!(r.next_range(1, 4).unwrap(), 3);
        assert_eq!(r.next_range(0, 1000).unwrap(), 972);
    }

    #[test]
    fn ranges_and_errors() {
        let mut r = Random::new(42);
        for _ in 0..1000 {
            let v = r.next_range(-5, 5).unwrap();
            assert!((-5..5).contains(&v));
            let w = r.next_range(i32::MIN, i32::MAX).unwrap();
            let _ = w;
            let d = r.next_double();
            assert!((0.0..1.0).contains(&d));
        }
        assert_eq!(r.next_range(3, 3).unwrap(), 3);
        assert!(r.next_max(-1).is_err());
        assert!(r.next_range(2, 1).is_err());
        assert_eq!(r.next_max(0).unwrap(), 0);
    }
}
