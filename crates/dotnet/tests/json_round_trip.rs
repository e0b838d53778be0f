//! Random documents survive write → parse unchanged (DeepEquals), in both formattings.

use apim_dotnet::json::Formatting;
use apim_dotnet::random::Random;
use apim_dotnet::{JToken, JValue};

fn random_token(r: &mut Random, depth: u32) -> JToken {
    let kind = if depth > 3 {
        r.next_max(6).unwrap_or(0)
    } else {
        r.next_max(8).unwrap_or(0)
    };
    match kind {
        0 => JToken::new_value(JValue::Integer(
            r.next_range(i32::MIN, i32::MAX).unwrap_or(0) as i64 * 3,
        )),
        1 => JToken::new_value(JValue::Float(
            (r.next_double() - 0.5) * 10f64.powi(r.next_range(-10, 20).unwrap_or(0)),
        )),
        2 => {
            let len = r.next_max(12).unwrap_or(0);
            let s: String = (0..len)
                .map(|_| {
                    ['a', 'é', '"', '\\', '\n', '😀', ' ', '\u{1}', '/', 'Z']
                        [r.next_max(10).unwrap_or(0) as usize]
                })
                .collect();
            JToken::new_value(JValue::String(s))
        }
        3 => JToken::new_value(JValue::Boolean(r.next_max(2).unwrap_or(0) == 1)),
        4 => JToken::null(),
        5 => JToken::new_value(JValue::Integer(r.next_max(100).unwrap_or(0) as i64)),
        6 => {
            let a = JToken::new_array();
            for _ in 0..r.next_max(4).unwrap_or(0) {
                a.add(random_token(r, depth + 1)).unwrap();
            }
            a
        }
        _ => {
            let o = JToken::new_object();
            for i in 0..r.next_max(4).unwrap_or(0) {
                o.set(&format!("k{i}"), Some(random_token(r, depth + 1)))
                    .unwrap();
            }
            o
        }
    }
}

#[test]
fn write_then_parse_round_trips() {
    let mut r = Random::new(7);
    for _ in 0..500 {
        let t = random_token(&mut r, 0);
        for f in [Formatting::None, Formatting::Indented] {
            let text = t.to_string_formatting(f);
            let back = JToken::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(back.deep_equals(&t), "{text}");
        }
    }
}
