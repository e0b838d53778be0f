//! The response `mock-response` returns (policies.md §1): the operation's example for the status
//! code and content type, else a sample generated from its schema, else an empty body.

use serde_json::{Map, Value};

use crate::http::{Body, Response};
use crate::service::{Operation, Representation};

/// Deepest schema nesting followed when generating a sample (recursive schemas stop there).
pub const MAX_SCHEMA_DEPTH: usize = 16;

/// Builds the mocked response. `content_type` picks the representation (first one when absent).
pub fn mock_response(
    operation: Option<&Operation>,
    status: u16,
    content_type: Option<&str>,
) -> Response {
    let mut r = Response::new(status);
    let rep = operation
        .and_then(|op| op.responses.iter().find(|x| x.status_code == status))
        .and_then(|resp| match content_type {
            Some(ct) => resp
                .representations
                .iter()
                .find(|x| x.content_type.eq_ignore_ascii_case(ct)),
            None => resp.representations.first(),
        });
    let ct = content_type
        .map(str::to_string)
        .or_else(|| rep.map(|x| x.content_type.clone()))
        .filter(|c| !c.is_empty());
    if let Some(ct) = &ct {
        // A content type that is not a valid header value is left out rather than failing.
        let _ = r.headers.set_one("Content-Type", ct.clone());
    }
    if let Some(text) = rep.and_then(body_for) {
        r.body = Body::from(text);
    }
    r
}

fn body_for(rep: &Representation) -> Option<String> {
    let value = rep
        .example
        .clone()
        .or_else(|| rep.examples.first().map(|e| e.value.clone()));
    if let Some(v) = value {
        return Some(match v {
            Value::String(s) => s,
            other => other.to_string(),
        });
    }
    rep.schema
        .as_ref()
        .map(|s| sample_from_schema(s, 0).to_string())
}

/// A sample value for a JSON Schema: `example`/`default`/first `enum` value when given, else a
/// placeholder of the declared type.
pub fn sample_from_schema(schema: &Value, depth: usize) -> Value {
    if depth > MAX_SCHEMA_DEPTH {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else {
        return Value::Null;
    };
    for key in ["example", "default"] {
        if let Some(v) = obj.get(key) {
            return v.clone();
        }
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = obj.get(key).and_then(Value::as_array) {
            if key == "allOf" {
                let mut merged = Map::new();
                for p in parts {
                    if let Value::Object(m) = sample_from_schema(p, depth + 1) {
                        merged.extend(m);
                    }
                }
                return Value::Object(merged);
            }
            return parts
                .first()
                .map(|p| sample_from_schema(p, depth + 1))
                .unwrap_or(Value::Null);
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "",
    };
    match ty {
        "object" => {
            let mut m = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    m.insert(k.clone(), sample_from_schema(v, depth + 1));
                }
            }
            Value::Object(m)
        }
        "array" => Value::Array(
            obj.get("items")
                .map(|i| vec![sample_from_schema(i, depth + 1)])
                .unwrap_or_default(),
        ),
        "string" => Value::String(
            match obj.get("format").and_then(Value::as_str) {
                Some("date-time") => "2024-01-01T00:00:00Z",
                Some("date") => "2024-01-01",
                Some("uuid") => "00000000-0000-0000-0000-000000000000",
                Some("email") => "user@example.com",
                Some("uri") => "https://example.com",
                _ => "string",
            }
            .to_string(),
        ),
        "integer" => Value::from(0),
        "number" => Value::from(0.0),
        "boolean" => Value::Bool(true),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{NamedExample, OperationResponse};
    use serde_json::json;

    fn op() -> Operation {
        Operation {
            id: "get".into(),
            responses: vec![
                OperationResponse {
                    status_code: 200,
                    description: "ok".into(),
                    representations: vec![
                        Representation {
                            content_type: "application/json".into(),
                            example: Some(json!({"id": 1})),
                            ..Default::default()
                        },
                        Representation {
                            content_type: "application/xml".into(),
                            example: Some(json!("<id>1</id>")),
                            ..Default::default()
                        },
                    ],
                },
                OperationResponse {
                    status_code: 201,
                    representations: vec![Representation {
                        content_type: "application/json".into(),
                        schema: Some(json!({"type": "object", "properties": {
                            "id": {"type": "integer"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}, "ok": {"type": "boolean", "default": false}
                        }})),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                OperationResponse {
                    status_code: 202,
                    representations: vec![Representation {
                        content_type: "application/json".into(),
                        examples: vec![NamedExample {
                            name: "first".into(),
                            value: json!([1]),
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn text(mut r: Response) -> String {
        r.body.read_text(false).unwrap()
    }

    #[test]
    fn example_then_schema_then_empty() {
        let o = op();
        let r = mock_response(Some(&o), 200, None);
        assert_eq!(
            (r.status, r.headers.first("Content-Type")),
            (200, Some("application/json"))
        );
        assert_eq!(text(r), "{\"id\":1}");
        assert_eq!(
            text(mock_response(Some(&o), 200, Some("application/xml"))),
            "<id>1</id>"
        );
        assert_eq!(
            text(mock_response(Some(&o), 201, Some("application/json"))),
            "{\"id\":0,\"name\":\"string\",\"at\":\"2024-01-01T00:00:00Z\",\"tags\":[\"a\"],\"ok\":false}"
        );
        assert_eq!(text(mock_response(Some(&o), 202, None)), "[1]");
        let none = mock_response(Some(&o), 404, None);
        assert_eq!(none.status, 404);
        assert!(!none.body.is_present());
        assert!(
            !mock_response(None, 200, Some("text/plain"))
                .body
                .is_present()
        );
    }

    #[test]
    fn recursive_schemas_stop() {
        let mut s = json!({"type": "string"});
        for _ in 0..100 {
            s = json!({"type": "object", "properties": {"child": s}});
        }
        let v = sample_from_schema(&s, 0);
        assert!(v.to_string().contains("null"));
    }
}
