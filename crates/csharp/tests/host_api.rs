//! How an engine plugs its own context objects in (the host traits).
use std::sync::Arc;

use apim_csharp::host::{HostMember, HostObject};
use apim_csharp::types::Cls;
use apim_csharp::{Exception, FixedEnvironment, Value};

struct Request {
    method: &'static str,
}

impl HostObject for Request {
    fn class(&self) -> Cls {
        Cls::Request
    }
    fn get(&self, member: HostMember) -> Result<Value, Exception> {
        match member {
            HostMember::Method => Ok(Value::str(self.method)),
            HostMember::Headers => Ok(apim_csharp::json_context::dictionary(
                vec![(
                    "Accept".into(),
                    apim_csharp::lib_core::str_array(vec!["a/b".into(), "c/d".into()]),
                )],
                true,
            )),
            _ => Ok(Value::Null),
        }
    }
}

struct Context {
    request: Value,
    variables: Value,
}

impl HostObject for Context {
    fn class(&self) -> Cls {
        Cls::Context
    }
    fn get(&self, member: HostMember) -> Result<Value, Exception> {
        Ok(match member {
            HostMember::Request => self.request.clone(),
            HostMember::Variables => self.variables.clone(),
            _ => Value::Null,
        })
    }
}

fn env() -> FixedEnvironment {
    FixedEnvironment {
        now: apim_dotnet::DateTime::UNIX_EPOCH,
        guid: apim_dotnet::Guid::from_bytes([1; 16]),
        seed: 7,
    }
}

#[test]
fn an_engine_context_is_seen_by_expressions() {
    let ctx = Value::Host(Arc::new(Context {
        request: Value::Host(Arc::new(Request { method: "PUT" })),
        variables: apim_csharp::json_context::dictionary(
            vec![("count".into(), Value::I32(41))],
            false,
        ),
    }));
    let p = apim_csharp::compile(
        "@(context.Request.Method + \":\" + (context.Variables.GetValueOrDefault<int>(\"count\") + 1) + \":\" + context.Request.Headers.GetValueOrDefault(\"accept\", \"\"))",
    )
    .expect("compiles");
    let v = p.evaluate(&ctx, &env()).expect("value");
    assert_eq!(apim_csharp::render::net_string(&v), "PUT:42:a/b,c/d");
}

#[test]
fn a_compiled_program_is_shared_across_threads() {
    let p = Arc::new(
        apim_csharp::compile("@(context.Variables.GetValueOrDefault<int>(\"count\") * 2)")
            .expect("compiles"),
    );
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let p = p.clone();
            std::thread::spawn(move || {
                let ctx = Value::Host(Arc::new(Context {
                    request: Value::Null,
                    variables: apim_csharp::json_context::dictionary(
                        vec![("count".into(), Value::I32(i))],
                        false,
                    ),
                }));
                apim_csharp::render::net_string(&p.evaluate(&ctx, &env()).expect("value"))
            })
        })
        .collect();
    let out: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(out, vec!["0", "2", "4", "6"]);
}
