//! Less common parts of the APIOps layout, on folders written by the test: revisions, version sets,
//! groups, the newer product/API layout, full ARM ids, `.env` in the folder, API overrides.

use std::path::{Path, PathBuf};

use apim_engine::service::*;
use apim_gateway::config::{Environment, ErrorKind, LoadOptions, load};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn folder(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SPEC: &str = "openapi: 3.0.1\ninfo: {title: Items, version: '1'}\npaths:\n  /items:\n    get: {operationId: list-items}\n";

fn base(d: &Path) {
    write(
        d,
        "apis/items/apiInformation.json",
        r#"{"properties": {"displayName": "Items", "path": "items", "serviceUrl": "https://items.example.com", "apiVersion": "v1", "apiVersionSetId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/x/apiVersionSets/items-set", "isCurrent": true, "apiRevision": "1"}}"#,
    );
    write(d, "apis/items/specification.yaml", SPEC);
    write(
        d,
        "apis/items;rev=2/apiInformation.json",
        r#"{"properties": {"displayName": "Items", "path": "items", "serviceUrl": "https://items-next.example.com", "apiRevision": "2", "isCurrent": false}}"#,
    );
    write(
        d,
        "apis/items;rev=2/specification.json",
        r#"{"swagger": "2.0", "info": {"title": "Items", "version": "1"}, "paths": {"/items": {"get": {"operationId": "list-items"}, "post": {"operationId": "add-item"}}}}"#,
    );
    write(
        d,
        "version sets/items-set/versionSetInformation.json",
        r#"{"properties": {"displayName": "Items", "versioningScheme": "Header", "versionHeaderName": "x-api-version"}}"#,
    );
    write(
        d,
        "groups/partners/groupInformation.json",
        r#"{"properties": {"displayName": "Partners"}}"#,
    );
    write(
        d,
        "products/partner/productInformation.json",
        r#"{"properties": {"displayName": "Partner", "subscriptionRequired": false, "state": "notPublished"}}"#,
    );
    write(
        d,
        "products/partner/apis/items/productApiInformation.json",
        "{}",
    );
    write(
        d,
        "products/partner/groups.json",
        r#"[{"name": "partners"}, {"name": "developers"}]"#,
    );
    write(
        d,
        "subscriptions/master/subscriptionInformation.json",
        r#"{"properties": {"displayName": "Built-in all-access subscription", "scope": "/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/x/apis", "state": "active", "ownerId": "/users/1"}}"#,
    );
    write(
        d,
        "subscriptions/items-only/subscriptionInformation.json",
        r#"{"properties": {"displayName": "Items only", "scope": "/apis/items", "state": "suspended", "primaryKey": "inline-key"}}"#,
    );
    write(d, "workspaces/team/workspaceInformation.json", "{}");
    write(
        d,
        ".env",
        "APIM_SUB_MASTER_PRIMARY_KEY=master-from-dotenv\nAPIM_SUB_MASTER_SECONDARY_KEY=master-2\n",
    );
}

fn options(env: Option<&str>) -> LoadOptions {
    LoadOptions {
        env: env.map(str::to_string),
        environment: Environment::Map(Default::default()),
    }
}

#[test]
fn revisions_version_sets_groups_and_product_layouts() {
    let d = folder("layout-ok");
    base(&d);
    write(
        &d,
        "backends/b1/backendInformation.json",
        r#"{"properties": {"url": "https://b1.example.com", "proxy": {"url": "http://proxy:3128"}}}"#,
    );
    write(
        &d,
        "backends/p/backendInformation.json",
        r#"{"properties": {"type": "Pool", "pool": {"services": [{"id": "b1"}], "sessionAffinity": {"sessionId": {"source": "Cookie", "name": "SessionId"}}}}}"#,
    );
    let l = load(&d, &options(None)).unwrap_or_else(|e| panic!("{}", e.render()));
    let s = &l.service;
    let current = s.api("items").unwrap();
    assert_eq!(
        (current.revision.as_str(), current.is_current_revision),
        ("1", true)
    );
    assert_eq!(current.version.as_deref(), Some("v1"));
    assert_eq!(
        current.versioning_scheme,
        Some(VersioningScheme::Header {
            name: "x-api-version".into()
        })
    );
    let rev2 = s.api("items;rev=2").unwrap();
    assert_eq!(
        (rev2.revision.as_str(), rev2.is_current_revision),
        ("2", false)
    );
    assert_eq!(rev2.path, "items");
    let ops: Vec<(&str, &str)> = rev2
        .operations
        .iter()
        .map(|o| (o.id.as_str(), o.method.as_str()))
        .collect();
    assert_eq!(ops, [("list-items", "GET"), ("add-item", "POST")]);

    let p = s.product("partner").unwrap();
    assert_eq!(p.apis, ["items"]);
    assert_eq!(p.groups, ["partners", "developers"]);
    assert!(!p.subscription_required);
    assert_eq!(p.state, ProductState::NotPublished);
    // The built-in group is added because the product refers to it.
    assert_eq!(
        s.group("developers").map(|g| g.name.as_str()),
        Some("Developers")
    );
    assert_eq!(
        s.group("partners").map(|g| g.name.as_str()),
        Some("Partners")
    );

    let items_only = s
        .subscriptions
        .iter()
        .find(|x| x.id == "items-only")
        .unwrap();
    assert_eq!(items_only.primary_key, "inline-key");
    assert_eq!(items_only.scope, SubscriptionScope::Api("items".into()));
    assert_eq!(items_only.state, SubscriptionState::Suspended);
    let master = s.subscriptions.iter().find(|x| x.id == "master").unwrap();
    assert_eq!(master.scope, SubscriptionScope::AllApis);
    assert_eq!(
        (master.primary_key.as_str(), master.secondary_key.as_str()),
        ("master-from-dotenv", "master-2")
    );
    assert_eq!(
        master.user_id, None,
        "users are not extracted, so the owner is dropped"
    );
    assert_eq!(
        s.workspaces,
        [Workspace {
            id: "team".into(),
            name: "team".into(),
            policy: None,
        }]
    );
    assert!(l.files.iter().any(|f| f.ends_with(".env")));
    // Behaviour the emulator does not have is reported, with the line.
    assert!(
        l.notes
            .iter()
            .any(|n| n.ends_with("backend `b1`: proxy is not emulated; ignored")),
        "{:?}",
        l.notes
    );
    assert!(
        l.notes
            .iter()
            .any(|n| n.ends_with("backend `p`: pool session affinity is not emulated; ignored")),
        "{:?}",
        l.notes
    );
}

#[test]
fn api_overrides_merge_into_api_information() {
    let d = folder("layout-override");
    base(&d);
    write(
        &d,
        "configuration.test.yaml",
        "apis:\n  - name: items\n    properties:\n      serviceUrl: https://items-test.example.com\n      subscriptionKeyParameterNames:\n        header: api-key\n    diagnostics:\n      - name: applicationinsights\n",
    );
    let l = load(&d, &options(Some("test"))).unwrap_or_else(|e| panic!("{}", e.render()));
    let api = l.service.api("items").unwrap();
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://items-test.example.com")
    );
    assert_eq!(api.subscription_key_parameter_names.header, "api-key");
    assert_eq!(
        api.subscription_key_parameter_names.query,
        "subscription-key"
    );
    assert_eq!(
        api.version.as_deref(),
        Some("v1"),
        "properties the override does not name are kept"
    );
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("`diagnostics` overrides of apis are not emulated")),
        "{:?}",
        l.notes
    );
}

#[test]
fn a_missing_token_in_an_override_is_a_missing_secret() {
    let d = folder("layout-token");
    base(&d);
    write(
        &d,
        "named values/key/namedValueInformation.json",
        r#"{"properties": {"displayName": "key", "value": "dev"}}"#,
    );
    write(
        &d,
        "configuration.prod.yaml",
        "namedValues:\n  - name: key\n    properties:\n      value: \"{#PROD_KEY#}\"\n",
    );
    let e = load(&d, &options(Some("prod"))).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1, "{}", e.render());
    assert_eq!(e.diagnostics[0].kind, ErrorKind::MissingSecret);
    assert!(
        e.diagnostics[0]
            .render()
            .contains("PROD_KEY (token `{#PROD_KEY#}`"),
        "{}",
        e.render()
    );
}

#[test]
fn unknown_version_set_and_bad_scope_are_located() {
    let d = folder("layout-bad");
    base(&d);
    write(
        &d,
        "apis/items/apiInformation.json",
        "{\n  \"properties\": {\n    \"path\": \"items\",\n    \"apiVersionSetId\": \"/apiVersionSets/items-sett\"\n  }\n}\n",
    );
    write(
        &d,
        "subscriptions/items-only/subscriptionInformation.json",
        "{\n  \"properties\": {\n    \"scope\": \"/users/1\",\n    \"primaryKey\": \"k\"\n  }\n}\n",
    );
    let e = load(&d, &options(None)).unwrap_err();
    let lines: Vec<String> = e.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(lines.len(), 2, "{}", e.render());
    assert!(lines[0].ends_with("apis/items/apiInformation.json:4:24: error: unknown version set `items-sett`, did you mean `items-set`?"), "{lines:?}");
    assert!(lines[1].ends_with("subscriptions/items-only/subscriptionInformation.json:3:14: error: scope `/users/1`: expected `/apis`, `/apis/<api>` or `/products/<product>`"), "{lines:?}");
}

#[test]
fn workspaces_hold_the_same_layout() {
    let d = folder("layout-workspace");
    base(&d);
    write(
        &d,
        "workspaces/team/workspaceInformation.json",
        r#"{"properties": {"displayName": "Team A", "description": "AI team"}}"#,
    );
    write(
        &d,
        "workspaces/team/policy.xml",
        "<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>",
    );
    write(
        &d,
        "workspaces/team/apis/chat/apiInformation.json",
        r#"{"properties": {"displayName": "Chat", "path": "team/chat", "serviceUrl": "https://chat.example.com"}}"#,
    );
    write(
        &d,
        "workspaces/team/apis/chat/specification.yaml",
        "openapi: 3.0.1\ninfo: {title: Chat, version: '1'}\npaths:\n  /completions:\n    post: {operationId: complete}\n",
    );
    write(
        &d,
        "workspaces/team/apis/chat/operations/complete/policy.xml",
        "<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>",
    );
    write(
        &d,
        "workspaces/team/backends/chat-backend/backendInformation.json",
        r#"{"properties": {"url": "https://chat.example.com", "credentials": {"header": {"api-key": ["{{team-key}}"]}}}}"#,
    );
    write(
        &d,
        "workspaces/team/named values/team-key/namedValueInformation.json",
        r#"{"properties": {"displayName": "team-key", "value": "k"}}"#,
    );
    write(
        &d,
        "workspaces/team/products/team-product/productInformation.json",
        r#"{"properties": {"displayName": "Team product"}}"#,
    );
    write(
        &d,
        "workspaces/team/products/team-product/apis.json",
        r#"[{"name": "chat"}]"#,
    );
    write(&d, "workspaces/team/tags/x/tagInformation.json", "{}");
    let l = load(&d, &options(None)).unwrap_or_else(|e| panic!("{}", e.render()));
    let s = &l.service;
    let ws = s.workspace("team").unwrap();
    assert_eq!(ws.name, "Team A");
    assert!(ws.policy.as_ref().unwrap().text.contains("<base />"));
    let chat = s.api("chat").unwrap();
    assert_eq!(chat.workspace.as_deref(), Some("team"));
    assert!(chat.operations[0].policy.is_some());
    assert_eq!(s.api("items").unwrap().workspace, None);
    assert_eq!(
        s.product("team-product").unwrap().workspace.as_deref(),
        Some("team")
    );
    assert_eq!(s.product("team-product").unwrap().apis, ["chat"]);
    assert!(s.backend("chat-backend").is_some());
    assert_eq!(s.named_value("team-key").unwrap().value, "k");
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("team") && n.contains("`tags/` is not emulated")),
        "{:?}",
        l.notes
    );
}
