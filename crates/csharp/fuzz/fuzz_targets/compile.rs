//! Parser and type checker never panic or overflow the stack on any input; whatever compiles
//! also evaluates (with a small budget) without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for source in [text.to_string(), format!("@({text})"), format!("@{{{text}}}")] {
        if let Ok(program) = apim_csharp::compile(&source) {
            let ctx_json = serde_json::json!({
                "request": {"body": {"a": [1, 2]}, "headers": {"X": "y"}},
                "variables": {"n": 1, "s": "t", "o": {"a": 1}}
            });
            if let Ok(ctx) = apim_csharp::json_context::context(&ctx_json) {
                let env = apim_csharp::json_context::environment(&ctx_json);
                let _ = program.with_budget(10_000).evaluate(&ctx, &env);
            }
        }
    }
});
