//! `DateTime.Parse` (invariant culture, local zone UTC) against a table printed by the Mono
//! runtime: value in round-trip form and Kind, or FE for FormatException.

use apim_dotnet::datetime_format::{format_date_time, parse_date_time};

const TABLE: &str = r#"2024-05-01 => 2024-05-01T00:00:00.0000000 Unspecified
2024-05-01T12:30 => 2024-05-01T12:30:00.0000000 Unspecified
2024-05-01T12:30:15 => 2024-05-01T12:30:15.0000000 Unspecified
2024-05-01 12:30:15 => 2024-05-01T12:30:15.0000000 Unspecified
2024-05-01T12:30:15.1234567Z => 2024-05-01T12:30:15.1234567+00:00 Local
2024-05-01T12:30:15+05:30 => 2024-05-01T07:00:15.0000000+00:00 Local
2024-05-01T12:30:15-0800 => 2024-05-01T20:30:15.0000000+00:00 Local
05/01/2024 => 2024-05-01T00:00:00.0000000 Unspecified
5/1/2024 1:05 PM => 2024-05-01T13:05:00.0000000 Unspecified
05/01/2024 13:05:09 => 2024-05-01T13:05:09.0000000 Unspecified
2024/05/01 => 2024-05-01T00:00:00.0000000 Unspecified
Wed, 01 May 2024 13:05:09 GMT => 2024-05-01T13:05:09.0000000+00:00 Local
01 May 2024 => 2024-05-01T00:00:00.0000000 Unspecified
May 1, 2024 => 2024-05-01T00:00:00.0000000 Unspecified
1 May 2024 10:00 => 2024-05-01T10:00:00.0000000 Unspecified
2024-13-01 => FE
2024-02-30 => FE
abc => FE
 => FE
2024-05-01T24:00:00 => FE
12/31/99 => 1999-12-31T00:00:00.0000000 Unspecified
June 2024 => 2024-06-01T00:00:00.0000000 Unspecified
2024-05-01T12:30:15.5+00:00 => 2024-05-01T12:30:15.5000000+00:00 Local
Thu, 01 May 2024 13:05:09 GMT => FE
"#;

#[test]
fn parse_matches_the_reference_table() {
    for line in TABLE.lines() {
        let (input, expected) = line.split_once(" => ").unwrap();
        let got = match parse_date_time(input) {
            Ok(d) => format!("{} {:?}", format_date_time(d, "o").unwrap(), d.kind()),
            Err(_) => "FE".to_string(),
        };
        assert_eq!(got, expected, "{input}");
    }
}
