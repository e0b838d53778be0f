//! docs/schema/apim-emu.schema.json is generated from the Rust types; it must match them.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test -p apim-gateway --test schema`.

use apim_gateway::config::file::json_schema;

const PATH: &str = "../../docs/schema/apim-emu.schema.json";

#[test]
fn committed_schema_is_up_to_date() {
    let generated = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(PATH, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "{PATH} is out of date: run `UPDATE_SCHEMA=1 cargo test -p apim-gateway --test schema`"
    );
}

#[test]
fn schema_describes_the_format() {
    let v: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let props = v["properties"].as_object().unwrap();
    for key in [
        "service",
        "policy",
        "namedValues",
        "policyFragments",
        "apis",
        "products",
        "subscriptions",
        "users",
        "groups",
        "backends",
    ] {
        assert!(props.contains_key(key), "{key} missing");
    }
    assert_eq!(
        v["additionalProperties"],
        serde_json::Value::Bool(false),
        "unknown top-level fields are rejected"
    );
    let api = &v["$defs"]["ApiEntry"];
    assert_eq!(api["required"], serde_json::json!(["path"]));
    assert!(api["properties"]["subscriptionKeyParameterNames"].is_object());
}

/// The published schema accepts the fixture that uses every field, and rejects the fixtures the
/// loader rejects for their shape.
#[test]
fn fixtures_validate_against_the_published_schema() {
    use apim_gateway::config::node::{Sources, parse_yaml};
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:apim-emu", schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile("urn:apim-emu", &mut schemas).unwrap();
    let as_json = |path: &str| {
        let mut sources = Sources::default();
        let text = std::fs::read_to_string(path).unwrap();
        let id = sources.add(std::path::Path::new(path), text);
        parse_yaml(&sources, id).unwrap().to_json()
    };
    let full = as_json("../../fixtures/config/full/apim-emu.yaml");
    if let Err(e) = schemas.validate(&full, index) {
        panic!("the full fixture does not validate: {e:#}");
    }
    for bad in [
        "unknown-field",
        "unknown-top-level-field",
        "unknown-enum-value",
        "wrong-type",
        "missing-field",
    ] {
        let v = as_json(&format!("../../fixtures/config/errors/{bad}/apim-emu.yaml"));
        assert!(
            schemas.validate(&v, index).is_err(),
            "{bad} passes the schema but not the loader"
        );
    }
}
