//! Hostile inputs never panic: every entry point returns a value or a .NET exception.

use apim_dotnet::clr::ClrValue;
use apim_dotnet::random::Random;
use apim_dotnet::*;

const ALPHABET: &[&str] = &[
    "{", "}", "[", "]", "\"", "'", ":", ",", "\\", "u", "0", "9", "-", "+", ".", "e", "E", "x",
    "a", "Z", "T", " ", "\n", "/", "*", "(", ")", "?", "<", ">", "$", "%", "#", "é", "😀", "y",
    "M", "d", "H", "f", "F", "z", "K", "%", "&", ";", "=", "|", "^", "!", "n", "t", "r", "l", "N",
    "I", "D", "@", "~", "1", "2", "G", "R",
];

fn random_text(r: &mut Random, max_len: i32) -> String {
    let len = r.next_max(max_len).unwrap_or(0);
    (0..len)
        .map(|_| ALPHABET[r.next_max(ALPHABET.len() as i32).unwrap_or(0) as usize])
        .collect()
}

#[test]
fn hostile_inputs_never_panic() {
    let mut r = Random::new(20240501);
    let today = DateTime::from_ymd(2024, 5, 1).unwrap();
    for _ in 0..2000 {
        let s = random_text(&mut r, 24);
        let t = random_text(&mut r, 8);
        let _ = JToken::parse(&s).map(|j| (j.to_string_default(), j.select_token(&t)));
        let _ = json::deserialize_object(&s, None);
        let _ = apim_dotnet::regex::Regex::new(&s, 0).map(|re| re.replace(&t, &s, -1, 0));
        let _ = apim_dotnet::regex::unescape(&s);
        let _ = number::parse_double_default(&s);
        let _ = number::parse_i32(&s);
        let _ = number::parse_decimal(&s, number::NumberStyles::NUMBER);
        let _ = number_format::format_double_with(1234.5678, &t);
        let _ = number_format::format_integer(-42, 32, true, &t);
        let _ = number_format::format_decimal_with(Decimal::new(12345, 2), &t);
        let _ = datetime_format::parse_date_time(&s);
        let _ = datetime_format::parse_timespan(&s);
        let _ = datetime_format::format_date_time(today, &t);
        let _ = datetime_format::format_timespan(TimeSpan::from_ticks(123_456_789), &t);
        let _ = datetime_format::parse_exact_date_time(&s, &[&t], today);
        let _ = Guid::parse(&s);
        let _ = string::format_composite(&s, &[ClrValue::Int32(1), ClrValue::Null]);
        let _ = string::split(&s, &string::Separators::String(&t), 3, 1);
        let _ = web::html_decode(&s);
        let _ = web::url_decode(&s);
        let _ = web::unescape_data_string(&s);
        let _ = web::Uri::parse(&s);
        let _ = convert::from_base64_string(&s);
    }
}
