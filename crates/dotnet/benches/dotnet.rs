//! Speed of the .NET library paths policies hit on every request.

use apim_dotnet::json::Formatting;
use apim_dotnet::regex::Regex;
use apim_dotnet::{ClrType, JKey, JToken};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const CHAT_RESPONSE: &str = r#"{"id":"chatcmpl-123","object":"chat.completion","created":1714564800,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}"#;

fn bench(c: &mut Criterion) {
    c.bench_function("json parse + usage.total_tokens Value<int>", |b| {
        b.iter(|| {
            let t = JToken::parse_object(black_box(CHAT_RESPONSE)).unwrap();
            let usage = t.get("usage").unwrap().unwrap();
            black_box(
                usage
                    .value_of_key(&JKey::Name("total_tokens"), ClrType::Int32, false)
                    .unwrap(),
            )
        })
    });
    let parsed = JToken::parse_object(CHAT_RESPONSE).unwrap();
    c.bench_function("json ToString(Formatting.None)", |b| {
        b.iter(|| black_box(parsed.to_string_formatting(Formatting::None)))
    });
    let backends = JToken::parse_array(
        r#"[{"url":"https://a","priority":1,"isThrottling":false},{"url":"https://b","priority":2,"isThrottling":true}]"#,
    )
    .unwrap();
    c.bench_function("json backends[i][\"isThrottling\"] = false", |b| {
        b.iter(|| {
            let item = backends.get_index(black_box(1)).unwrap();
            item.set(
                "isThrottling",
                Some(JToken::new_value(apim_dotnet::JValue::Boolean(false))),
            )
            .unwrap();
        })
    });
    let re = Regex::new(r"^Bearer\s+(?<token>[A-Za-z0-9\-_\.]+)$", 0).unwrap();
    c.bench_function("regex match with named group", |b| {
        b.iter(|| {
            black_box(
                re.match_first(black_box("Bearer abc.def-ghi_jkl"))
                    .unwrap()
                    .group_by_name("token")
                    .value,
            )
        })
    });
    c.bench_function("double.ToString()", |b| {
        b.iter(|| black_box(apim_dotnet::number::format_double(black_box(0.1 + 0.2))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
