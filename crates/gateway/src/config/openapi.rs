//! Operations imported from an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML), the way APIM
//! imports them: `operationId` → operation id, `summary` → display name, path + method → URL
//! template, required query parameters appended to the template (`?api-version={api-version}`).

use apim_engine::service::{NamedExample, Operation, OperationResponse, Representation};

use super::diag::{Diagnostic, ErrorKind};
use super::node::{Node, Sources, Value};

/// One imported operation and where it was declared.
#[derive(Debug, Clone)]
pub struct ImportedOperation {
    pub operation: Operation,
    pub mark: super::node::Mark,
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Imports every operation of the document; problems are collected, not short-circuited.
pub fn import(sources: &Sources, root: &Node) -> Result<Vec<ImportedOperation>, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    let err = |n: &Node, m: String| sources.error(ErrorKind::Specification, n.mark, m);
    let version = root
        .get("openapi")
        .map(|v| (3, v))
        .or_else(|| root.get("swagger").map(|v| (2, v)));
    match version {
        Some((3, v)) if v.as_str().is_some_and(|s| s.starts_with("3.")) => {}
        Some((2, v)) if v.as_str() == Some("2.0") => {}
        Some((_, v)) => {
            return Err(vec![err(
                v,
                format!(
                    "unsupported specification version `{}`; OpenAPI 3.x and Swagger 2.0 are supported",
                    v.as_str().unwrap_or("?")
                ),
            )]);
        }
        None => {
            return Err(vec![err(
                root,
                "not an OpenAPI document: expected an `openapi: 3.x` or `swagger: \"2.0\"` field"
                    .into(),
            )]);
        }
    }
    let mut out: Vec<ImportedOperation> = Vec::new();
    let Some(paths) = root.get("paths") else {
        return Ok(out);
    };
    if !matches!(paths.value, Value::Map(_) | Value::Null) {
        return Err(vec![err(
            paths,
            format!("`paths` must be a mapping, found {}", paths.kind_name()),
        )]);
    }
    for (pk, item) in paths.entries() {
        let Some(path) = pk.as_str() else {
            errs.push(err(pk, "path keys must be strings".into()));
            continue;
        };
        if !path.starts_with('/') {
            errs.push(err(pk, format!("path `{path}` must start with `/`")));
            continue;
        }
        let shared = item.get("parameters");
        for (mk, op) in item.entries() {
            let Some(method) = mk.as_str() else { continue };
            let lower = method.to_ascii_lowercase();
            if !METHODS.contains(&lower.as_str()) {
                // `parameters`, `summary`, `servers`, `$ref`, `x-...`: not operations.
                continue;
            }
            let mut query = Vec::new();
            for list in [shared, op.get("parameters")].into_iter().flatten() {
                for p in list.items() {
                    let p = match resolve_ref(root, p) {
                        Ok(p) => p,
                        Err(m) => {
                            errs.push(err(p, m));
                            continue;
                        }
                    };
                    let loc = p.get("in").and_then(Node::as_str);
                    let required =
                        matches!(p.get("required").map(|r| &r.value), Some(Value::Bool(true)));
                    if loc == Some("query") && required {
                        if let Some(name) = p.get("name").and_then(Node::as_str) {
                            if !query.iter().any(|q: &String| q == name) {
                                query.push(name.to_string());
                            }
                        }
                    }
                }
            }
            let mut template = path.to_string();
            for (i, q) in query.iter().enumerate() {
                template.push(if i == 0 { '?' } else { '&' });
                template.push_str(&format!("{q}={{{q}}}"));
            }
            let id = match op.get("operationId").and_then(Node::as_str) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => generated_id(&lower, path),
            };
            let name = op
                .get("summary")
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(&id)
                .to_string();
            if let Some(prev) = out.iter().find(|o| o.operation.id == id) {
                errs.push(err(
                    op.get("operationId").unwrap_or(mk),
                    format!(
                        "duplicate operationId `{id}` (first declared at line {})",
                        prev.mark.line
                    ),
                ));
                continue;
            }
            if let Err(e) = apim_engine::matching::UrlTemplate::parse(&template) {
                errs.push(err(pk, e.to_string()));
                continue;
            }
            out.push(ImportedOperation {
                operation: Operation {
                    id,
                    name,
                    method: method.to_ascii_uppercase(),
                    url_template: template,
                    policy: None,
                    responses: declared_responses(root, op),
                },
                mark: mk.mark,
            });
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// The responses an operation declares, for mock-response: OpenAPI 3 `content` per media type
/// (`example`, named `examples`, `schema`) and Swagger 2 `examples` per media type plus `schema`
/// (for the operation's or document's `produces`, else `application/json`). `$ref`s are
/// resolved; codes that are not numbers (`default`, `2XX`) are skipped.
fn declared_responses(root: &Node, op: &Node) -> Vec<OperationResponse> {
    let Some(responses) = op.get("responses") else {
        return Vec::new();
    };
    let produces: Vec<String> = op
        .get("produces")
        .or_else(|| root.get("produces"))
        .map(|p| {
            p.items()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (code, response) in responses.entries() {
        let Some(status_code) = code.as_str().and_then(|c| c.parse::<u16>().ok()) else {
            continue;
        };
        let Ok(response) = resolve_ref(root, response) else {
            continue;
        };
        let description = response
            .get("description")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string();
        let mut representations = Vec::new();
        if let Some(content) = response.get("content") {
            for (media, body) in content.entries() {
                let Some(content_type) = media.as_str() else {
                    continue;
                };
                let examples = body
                    .get("examples")
                    .map(|ex| {
                        ex.entries()
                            .iter()
                            .filter_map(|(name, example)| {
                                let example = resolve_ref(root, example).ok()?;
                                Some(NamedExample {
                                    name: name.as_str()?.to_string(),
                                    value: example.get("value")?.to_json(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                representations.push(Representation {
                    content_type: content_type.to_string(),
                    example: body.get("example").map(Node::to_json),
                    examples,
                    schema: body
                        .get("schema")
                        .and_then(|s| resolve_ref(root, s).ok())
                        .map(Node::to_json),
                });
            }
        } else {
            let schema = response
                .get("schema")
                .and_then(|s| resolve_ref(root, s).ok())
                .map(Node::to_json);
            let examples = response.get("examples");
            let mut types: Vec<String> = examples
                .map(|ex| {
                    ex.entries()
                        .iter()
                        .filter_map(|(k, _)| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for p in &produces {
                if !types.contains(p) {
                    types.push(p.clone());
                }
            }
            if types.is_empty() && schema.is_some() {
                types.push("application/json".to_string());
            }
            for content_type in types {
                representations.push(Representation {
                    example: examples
                        .and_then(|ex| ex.get(&content_type))
                        .map(Node::to_json),
                    content_type,
                    examples: Vec::new(),
                    schema: schema.clone(),
                });
            }
        }
        out.push(OperationResponse {
            status_code,
            description,
            representations,
        });
    }
    out
}

/// Operation id for an operation without `operationId`: method and path, lower-case, runs of
/// other characters as `-` (e.g. `get-deployments-deployment-id`).
fn generated_id(method: &str, path: &str) -> String {
    let mut s = String::from(method);
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

/// Follows a local `$ref` (`#/components/parameters/x`, `#/parameters/x`).
fn resolve_ref<'a>(root: &'a Node, node: &'a Node) -> Result<&'a Node, String> {
    let mut cur = node;
    for _ in 0..16 {
        let Some(r) = cur.get("$ref").and_then(Node::as_str) else {
            return Ok(cur);
        };
        let Some(pointer) = r.strip_prefix("#/") else {
            return Err(format!(
                "only local references (`#/...`) are supported, found `{r}`"
            ));
        };
        let mut target = root;
        for part in pointer.split('/') {
            let part = part.replace("~1", "/").replace("~0", "~");
            target = target
                .get(&part)
                .ok_or_else(|| format!("unresolved reference `{r}`"))?;
        }
        cur = target;
    }
    Err("reference cycle".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::{Sources, parse_file};
    use std::path::Path;

    fn ops(name: &str, text: &str) -> Result<Vec<Operation>, Vec<Diagnostic>> {
        let mut s = Sources::default();
        let id = s.add(Path::new(name), text.into());
        let n = parse_file(&s, id).map_err(|e| vec![e])?;
        import(&s, &n).map(|v| v.into_iter().map(|o| o.operation).collect())
    }

    #[test]
    fn openapi3_yaml_with_shared_and_referenced_parameters() {
        let o = ops(
            "s.yaml",
            r#"openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /deployments/{deployment-id}/chat/completions:
    parameters:
      - {name: deployment-id, in: path, required: true}
      - $ref: '#/components/parameters/apiVersion'
    post:
      operationId: ChatCompletions_Create
      summary: Creates a completion
  /models:
    get: {}
components:
  parameters:
    apiVersion: {name: api-version, in: query, required: true}
"#,
        )
        .unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].id, "ChatCompletions_Create");
        assert_eq!(o[0].name, "Creates a completion");
        assert_eq!(o[0].method, "POST");
        assert_eq!(
            o[0].url_template,
            "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
        );
        assert_eq!(
            (o[1].id.as_str(), o[1].url_template.as_str()),
            ("get-models", "/models")
        );
    }

    #[test]
    fn swagger2_json() {
        let o = ops(
            "s.json",
            r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"},
  "paths": {"/pets/{id}": {"get": {"operationId": "getPet", "parameters": [
     {"name": "id", "in": "path", "required": true, "type": "string"},
     {"name": "verbose", "in": "query", "required": false, "type": "boolean"}]},
     "delete": {"operationId": "deletePet"}}}}"#,
        )
        .unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(
            (o[0].method.as_str(), o[0].url_template.as_str()),
            ("GET", "/pets/{id}")
        );
        assert_eq!(o[1].id, "deletePet");
    }

    #[test]
    fn declared_responses_feed_mock_response() {
        let o = ops(
            "s.yaml",
            r#"openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /things:
    get:
      operationId: list
      responses:
        '200':
          description: OK
          content:
            application/json:
              example: {items: [1, 2]}
              examples:
                empty: {value: {items: []}}
              schema: {$ref: '#/components/schemas/Things'}
        default:
          description: error
components:
  schemas:
    Things: {type: object}
"#,
        )
        .unwrap();
        let r = &o[0].responses;
        assert_eq!(r.len(), 1, "`default` is not a status code");
        assert_eq!((r[0].status_code, r[0].description.as_str()), (200, "OK"));
        let rep = &r[0].representations[0];
        assert_eq!(rep.content_type, "application/json");
        assert_eq!(rep.example, Some(serde_json::json!({"items": [1, 2]})));
        assert_eq!(rep.examples[0].name, "empty");
        assert_eq!(rep.examples[0].value, serde_json::json!({"items": []}));
        assert_eq!(rep.schema, Some(serde_json::json!({"type": "object"})));

        let o = ops(
            "s.json",
            r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "produces": ["application/json"],
  "paths": {"/pets": {"get": {"operationId": "getPets", "responses": {"200": {"description": "OK",
     "schema": {"type": "array"}, "examples": {"application/xml": "<pets/>"}}}}}}}"#,
        )
        .unwrap();
        let reps = &o[0].responses[0].representations;
        let types: Vec<&str> = reps.iter().map(|r| r.content_type.as_str()).collect();
        assert_eq!(types, ["application/xml", "application/json"]);
        assert_eq!(reps[0].example, Some(serde_json::json!("<pets/>")));
        assert_eq!(reps[1].example, None);
        assert_eq!(reps[1].schema, Some(serde_json::json!({"type": "array"})));
    }

    #[test]
    fn rejects_unknown_versions_duplicates_and_bad_refs() {
        let e = ops("s.yaml", "openapi: 2.5\npaths: {}\n").unwrap_err();
        assert!(e[0].message.contains("unsupported specification version"));
        let e = ops("s.yaml", "info: {}\n").unwrap_err();
        assert!(e[0].message.starts_with("not an OpenAPI document"));
        let e = ops(
            "s.yaml",
            "openapi: 3.0.0\npaths:\n  /a:\n    get: {operationId: x}\n  /b:\n    get:\n      operationId: x\n      parameters: [{$ref: '#/nope'}]\n",
        )
        .unwrap_err();
        let msgs: Vec<_> = e.iter().map(|d| (d.line, d.message.clone())).collect();
        assert!(
            msgs.contains(&(8, "unresolved reference `#/nope`".into())),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|(l, m)| *l == 7 && m.starts_with("duplicate operationId `x`")),
            "{msgs:?}"
        );
    }
}
