//! docs/schema/apim-emu-test.schema.json is generated from the format's types; this keeps it in
//! step. Regenerate with `APIM_EMU_UPDATE_SCHEMA=1 cargo test -p apim-testkit --test schema`.

#[test]
fn committed_schema_is_up_to_date() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/apim-emu-test.schema.json"
    );
    let fresh = apim_testkit::format::json_schema();
    if std::env::var_os("APIM_EMU_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{path} is out of date: run APIM_EMU_UPDATE_SCHEMA=1 cargo test -p apim-testkit --test schema"
    );
}

#[test]
fn schema_describes_the_format() {
    let v: serde_json::Value = serde_json::from_str(&apim_testkit::format::json_schema()).unwrap();
    assert_eq!(v["required"], serde_json::json!(["cases"]));
    let props = v["properties"].as_object().unwrap();
    for k in ["config", "policy", "settings", "cases", "baseUrl"] {
        assert!(props.contains_key(k), "{k}");
    }
    assert!(v["$defs"]["Expect"]["properties"]["backendCalls"].is_object());
}
