//! String, Convert, Math and time members against results printed by the Mono runtime for the
//! same calls (invariant culture). Where .NET Core differs from Mono the .NET Core result is
//! asserted and the Mono one noted.

use apim_dotnet::clr::{ClrType, ClrValue};
use apim_dotnet::convert::{
    change_type, convert_to, to_base64_string, to_integer_from_base, to_string_in_base,
};
use apim_dotnet::datetime_format::{
    format_date_time, format_date_time_offset, format_timespan, parse_timespan,
};
use apim_dotnet::encoding::{Encoding, bit_converter_to_string};
use apim_dotnet::error::ExceptionKind;
use apim_dotnet::math::{MidpointRounding, round, round_decimal, round_digits};
use apim_dotnet::number::{
    NumberStyles, format_decimal, parse_decimal, parse_double_default, parse_i32, parse_i64,
};
use apim_dotnet::string::{self as s, Separators, StringComparison};
use apim_dotnet::{DateTime, DateTimeOffset, Decimal, Guid, TimeSpan};

#[test]
fn strings_match_the_reference_results() {
    let comma = [',' as u16];
    assert_eq!(
        s::split("a, b,,c ", &Separators::Chars(&comma), i32::MAX, 1)
            .unwrap()
            .join("|"),
        "a| b|c "
    );
    assert_eq!(
        s::split("a--b--c", &Separators::Strings(&["--"]), 2, 0)
            .unwrap()
            .join("|"),
        "a|b--c"
    );
    assert_eq!(s::trim("  x  ", &[], true, true), "x");
    assert_eq!(s::trim("xxhixx", &['x' as u16], true, true), "hi");
    assert_eq!(
        s::substring_len("abc", 1, 5).unwrap_err().kind,
        ExceptionKind::ArgumentOutOfRangeException
    );
    assert_eq!(
        s::substring("abc", -1).unwrap_err().kind,
        ExceptionKind::ArgumentOutOfRangeException
    );
    assert_eq!(
        s::index_of("hello", "l", 3, None, StringComparison::CurrentCulture).unwrap(),
        3
    );
    assert_eq!(
        s::index_of("hello", "z", 6, None, StringComparison::CurrentCulture)
            .unwrap_err()
            .kind,
        ExceptionKind::ArgumentOutOfRangeException
    );
    assert_eq!(s::last_index_of_char("hello", 'l' as u16), 3);
    assert_eq!(s::to_upper_invariant("Hello"), "HELLO");
    assert_eq!(s::pad("7", 3, '0' as u16, true).unwrap(), "007");
    assert_eq!(s::insert("abc", 3, "d").unwrap(), "abcd");
    assert_eq!(s::remove("abc", 1, None).unwrap(), "a");
    assert_eq!(
        s::remove("abc", 1, Some(5)).unwrap_err().kind,
        ExceptionKind::ArgumentOutOfRangeException
    );
    let args = [
        ClrValue::Double(1234.567),
        ClrValue::String("ab".into()),
        ClrValue::Int32(255),
    ];
    assert_eq!(
        s::format_composite("{0:N2}|{1,-4}|{2:X4}|{0:0.0}", &args).unwrap(),
        "1,234.57|ab  |00FF|1234.6"
    );
    assert_eq!(
        s::format_composite("{0} {1}", &args[..1]).unwrap_err().kind,
        ExceptionKind::FormatException
    );
    assert_eq!(
        s::compare(
            Some("abc"),
            Some("ABD"),
            StringComparison::OrdinalIgnoreCase
        ),
        -1
    );
    assert_eq!(
        s::split("a,b", &Separators::Chars(&comma), i32::MAX, 0)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(s::to_upper_invariant("straße"), "STRAßE");
    assert!(s::contains("abc", "", StringComparison::Ordinal));
    assert_eq!(
        s::split("", &Separators::Chars(&comma), i32::MAX, 0)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s::split("a b  c", &Separators::Chars(&[' ' as u16]), i32::MAX, 0)
            .unwrap()
            .join(","),
        "a,b,,c"
    );
    assert_eq!(
        s::split("a b  c", &Separators::Chars(&[]), i32::MAX, 1)
            .unwrap()
            .join(","),
        "a,b,c"
    );
    assert_eq!(s::replace("abcabc", "bc", Some("")).unwrap(), "aa");
}

#[test]
fn conversions_match_the_reference_results() {
    assert_eq!(
        change_type(&ClrValue::String("  12 ".into()), ClrType::Int32).unwrap(),
        ClrValue::Int32(12)
    );
    assert_eq!(
        change_type(&ClrValue::Double(12.5), ClrType::Int32).unwrap(),
        ClrValue::Int32(12)
    );
    assert_eq!(
        change_type(&ClrValue::Double(13.5), ClrType::Int32).unwrap(),
        ClrValue::Int32(14)
    );
    assert_eq!(
        change_type(&ClrValue::String("TRUE".into()), ClrType::Boolean).unwrap(),
        ClrValue::Boolean(true)
    );
    assert_eq!(
        change_type(&ClrValue::String("1,234.5".into()), ClrType::Double).unwrap(),
        ClrValue::Double(1234.5)
    );
    assert_eq!(
        parse_i32("1,234").unwrap_err().kind,
        ExceptionKind::FormatException
    );
    assert_eq!(
        convert_to(&ClrValue::Int32(256), ClrType::Byte)
            .unwrap_err()
            .kind,
        ExceptionKind::OverflowException
    );
    assert_eq!(
        to_integer_from_base("0x1F", 16, ClrType::Int32).unwrap(),
        31
    );
    assert_eq!(to_string_in_base(255, 32, 2).unwrap(), "11111111");
    assert_eq!(
        change_type(&ClrValue::Double(0.1), ClrType::Decimal).unwrap(),
        ClrValue::Decimal("0.1".parse().unwrap())
    );
    assert_eq!(
        change_type(&ClrValue::Double(1.0 / 3.0), ClrType::Decimal).unwrap(),
        ClrValue::Decimal("0.333333333333333".parse().unwrap())
    );
    assert_eq!(
        format_decimal(parse_decimal("1.50", NumberStyles::NUMBER).unwrap()),
        "1.50"
    );
    assert_eq!(parse_i64("-9223372036854775808").unwrap(), i64::MIN);
    // Mono (.NET Framework) throws OverflowException; .NET Core 3.0+ returns Infinity.
    assert_eq!(parse_double_default("1e400").unwrap(), f64::INFINITY);
    assert_eq!(
        round_digits(2.345, 2, MidpointRounding::ToEven).unwrap(),
        2.35
    );
    // Mono's compiler folds Math.Round(-2.5) to -3 at compile time; at run time it is -2.
    assert_eq!(round(-2.5), -2.0);
    assert_eq!(
        round_decimal(Decimal::new(25, 1), 0, MidpointRounding::AwayFromZero).unwrap(),
        Decimal::new(3, 0)
    );
}

#[test]
fn time_guid_and_bytes_match_the_reference_results() {
    assert_eq!(
        format_timespan(TimeSpan::from_minutes(90.0).unwrap(), "").unwrap(),
        "01:30:00"
    );
    assert_eq!(
        parse_timespan("1.02:03:04.5").unwrap().total_seconds(),
        93784.5
    );
    let d = DateTime::from_ymd(2024, 1, 31)
        .unwrap()
        .add_months(1)
        .unwrap();
    assert_eq!(format_date_time(d, "yyyy-MM-dd").unwrap(), "2024-02-29");
    let span = DateTime::from_ymd(2024, 5, 1)
        .unwrap()
        .subtract_date(DateTime::from_ymd(2024, 1, 1).unwrap());
    assert_eq!(span.total_days(), 121.0);
    let o = DateTimeOffset::from_unix_time_seconds(1714564800).unwrap();
    assert_eq!(
        format_date_time_offset(o, "o").unwrap(),
        "2024-05-01T12:00:00.0000000+00:00"
    );
    let g = Guid::parse("{5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10}").unwrap();
    assert_eq!(
        g.to_string_format("N").unwrap(),
        "5c7f8f8e2f4c4c399d550d6cde3e9a10"
    );
    assert_eq!(bit_converter_to_string(&[1, 171, 255]), "01-AB-FF");
    assert_eq!(
        to_base64_string(&Encoding::Utf8.get_bytes("héllo")),
        "aMOpbGxv"
    );
    assert_eq!(Encoding::Ascii.get_string(&[104, 200, 105]), "h?i");
}
