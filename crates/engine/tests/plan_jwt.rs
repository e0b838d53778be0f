//! validate-jwt and validate-azure-ad-token through the Plan, on the virtual clock: tokens signed
//! in the test (HS256 secrets, the RSA and EC keys in tests/fixtures), OpenID configurations and
//! key sets served by MockHttp.

use std::time::Duration;

use apim_engine::http::{Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{Api, NamedValue, Operation, PolicySource, ServiceDefinition};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// 2024-01-01T00:00:00Z, the virtual clock's start.
const START: i64 = 1_704_067_200;
const SECRET: &[u8] = b"apim-emu-test-hs256-signing-key!";
/// Base64 of SECRET.
const SECRET_B64: &str = "YXBpbS1lbXUtdGVzdC1oczI1Ni1zaWduaW5nLWtleSE=";
const RSA_PEM: &[u8] = include_bytes!("fixtures/jwt-rsa-key.pem");
const EC_PEM: &[u8] = include_bytes!("fixtures/jwt-ec-key.pem");
const KEYS: &str = include_str!("fixtures/jwt-keys.txt");

fn public(name: &str) -> String {
    KEYS.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing from jwt-keys.txt"))
        .to_string()
}

fn service(inbound: &str) -> ServiceDefinition {
    let policy = format!(
        "<policies><inbound>{inbound}</inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"
    );
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        named_values: vec![NamedValue {
            name: "jwt-key".into(),
            value: SECRET_B64.into(),
            secret: true,
        }],
        apis: vec![Api {
            id: "echo".into(),
            name: "Echo".into(),
            path: "echo".into(),
            service_url: Some("https://backend.example.com".into()),
            subscription_required: false,
            policy: Some(PolicySource::inline("api:echo", &policy)),
            operations: vec![Operation {
                id: "get".into(),
                name: "Get".into(),
                method: "GET".into(),
                url_template: "/items".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn setup(inbound: &str) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let plan = match plan::compile(&service(inbound), &services) {
        Ok(p) => p,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    handles.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, r#"{"ok":true}"#),
    );
    (plan, services, handles)
}

fn compile_errors(inbound: &str) -> Vec<String> {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    match plan::compile(&service(inbound), &services) {
        Ok(_) => vec![],
        Err(d) => d
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect(),
    }
}

fn request(url: &str, authorization: Option<&str>) -> Request {
    let mut r = Request::new("GET", Url::parse(url).unwrap());
    if let Some(a) = authorization {
        r.headers.set_one("Authorization", a).unwrap();
    }
    r
}

async fn call(p: &Plan, s: &Services, h: &TestHandles, authorization: Option<&str>) -> Outcome {
    let r = request("https://gw.example.com/echo/items", authorization);
    h.clock.run(plan::run(p, r, s)).await
}

fn body(o: &Outcome) -> serde_json::Value {
    let b = o
        .response
        .body
        .peek()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null)
}

fn reason(o: &Outcome) -> String {
    o.summary
        .error
        .as_ref()
        .map(|e| e.reason.clone())
        .unwrap_or_default()
}

fn backend_calls(h: &TestHandles) -> usize {
    h.http.calls_to("backend.example.com").len()
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({
        "iss": "https://issuer.example.com/",
        "aud": "api://echo",
        "sub": "alice",
        "iat": START,
        "nbf": START,
        "exp": START + 3600,
        "roles": ["Reader", "Writer"],
        "scp": "read write",
    });
    if let (Some(m), serde_json::Value::Object(e)) = (c.as_object_mut(), extra) {
        for (k, v) in e {
            if v.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, v);
            }
        }
    }
    c
}

fn hs256(c: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn signed(alg: Algorithm, kid: Option<&str>, c: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PEM).unwrap(),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(SECRET),
        _ => EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
    };
    jsonwebtoken::encode(&header, c, &key).unwrap()
}

const HS_POLICY: &str = r#"
<validate-jwt header-name="Authorization" require-scheme="Bearer" output-token-variable-name="jwt">
    <issuer-signing-keys><key>{{jwt-key}}</key></issuer-signing-keys>
    <audiences><audience>api://echo</audience></audiences>
    <issuers><issuer>https://issuer.example.com/</issuer></issuers>
</validate-jwt>
<set-header name="X-User" exists-action="override">
    <value>@(((Jwt)context.Variables["jwt"]).Subject + "/" + string.Join(",", ((Jwt)context.Variables["jwt"]).Claims["roles"]))</value>
</set-header>"#;

#[tokio::test]
async fn a_valid_token_is_admitted_and_kept_as_a_jwt_variable() {
    let (p, s, h) = setup(HS_POLICY);
    let token = hs256(&claims(json!({})));
    let o = call(&p, &s, &h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
    let calls = h.http.calls_to("backend.example.com");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].headers.first("X-User"),
        Some("alice/Reader,Writer")
    );
    // The scheme is case-insensitive.
    let o = call(&p, &s, &h, Some(&format!("bearer {token}"))).await;
    assert_eq!(o.response.status, 200);
}

#[tokio::test]
async fn a_missing_token_or_another_scheme_is_401_jwt_not_present() {
    let (p, s, h) = setup(HS_POLICY);
    for auth in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer "), Some("")] {
        let o = call(&p, &s, &h, auth).await;
        assert_eq!(o.response.status, 401, "{auth:?}");
        assert_eq!(
            body(&o),
            json!({"statusCode": 401, "message": "JWT not present."})
        );
        assert_eq!(reason(&o), "TokenNotPresent");
        let e = o.summary.error.as_ref().unwrap();
        assert_eq!(
            (e.source.as_str(), e.section.as_str()),
            ("validate-jwt", "inbound")
        );
    }
    assert_eq!(backend_calls(&h), 0);
}

#[tokio::test]
async fn an_expired_token_is_rejected_on_the_engine_clock_within_the_clock_skew() {
    let (p, s, h) = setup(HS_POLICY);
    let token = format!("Bearer {}", hs256(&claims(json!({}))));
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        call(&p, &s, &h, Some(&token)).await.response.status,
        200,
        "exp == now is still valid"
    );
    h.clock.advance(Duration::from_secs(1));
    let o = call(&p, &s, &h, Some(&token)).await;
    assert_eq!(o.response.status, 401);
    assert_eq!(
        body(&o),
        json!({"statusCode": 401, "message": "Invalid JWT."})
    );
    assert_eq!(reason(&o), "TokenExpired");
    let msg = &o.summary.error.as_ref().unwrap().message;
    assert!(
        msg.contains("The token is expired") && msg.contains("01/01/2024 01:00:00"),
        "{msg}"
    );

    let skewed = HS_POLICY.replace(
        "require-scheme=\"Bearer\"",
        "require-scheme=\"Bearer\" clock-skew=\"60\"",
    );
    let (p, s, h) = setup(&skewed);
    h.clock.advance(Duration::from_secs(3660));
    assert_eq!(call(&p, &s, &h, Some(&token)).await.response.status, 200);
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        reason(&call(&p, &s, &h, Some(&token)).await),
        "TokenExpired"
    );
}

#[tokio::test]
async fn a_token_not_yet_valid_and_one_without_exp_are_rejected() {
    let (p, s, h) = setup(HS_POLICY);
    let early = hs256(&claims(json!({"nbf": START + 60})));
    let o = call(&p, &s, &h, Some(&format!("Bearer {early}"))).await;
    assert_eq!(
        (o.response.status, reason(&o).as_str()),
        (401, "TokenNotYetValid")
    );
    let no_exp = hs256(&claims(json!({"exp": null})));
    let o = call(&p, &s, &h, Some(&format!("Bearer {no_exp}"))).await;
    assert_eq!(
        (o.response.status, reason(&o).as_str()),
        (401, "TokenExpirationTimeMissing")
    );
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Bearer {early}")))
            .await
            .response
            .status,
        200
    );

    let relaxed = HS_POLICY.replace(
        "require-scheme",
        "require-expiration-time=\"false\" require-scheme",
    );
    let (p, s, h) = setup(&relaxed);
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Bearer {no_exp}")))
            .await
            .response
            .status,
        200
    );
}

#[tokio::test]
async fn a_bad_signature_a_wrong_audience_and_a_wrong_issuer_each_fail_with_their_reason() {
    let (p, s, h) = setup(HS_POLICY);
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another key entirely, 32 bytes!!"),
    )
    .unwrap();
    let cases = [
        (forged, "TokenSignatureInvalid"),
        (
            hs256(&claims(json!({"aud": "api://other"}))),
            "TokenAudienceNotAllowed",
        ),
        (
            hs256(&claims(json!({"aud": ["api://other", "api://echo"]}))),
            "",
        ),
        (
            hs256(&claims(json!({"iss": "https://evil.example.com/"}))),
            "TokenIssuerNotAllowed",
        ),
        ("not-a-token".to_string(), "JwtInvalid"),
    ];
    for (token, want) in cases {
        let o = call(&p, &s, &h, Some(&format!("Bearer {token}"))).await;
        assert_eq!(reason(&o), want, "{token}");
        if !want.is_empty() {
            assert_eq!(o.response.status, 401);
            assert_eq!(body(&o)["message"], "Invalid JWT.");
        }
    }
    assert_eq!(backend_calls(&h), 1);
}

#[tokio::test]
async fn unsigned_tokens_need_require_signed_tokens_false() {
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let payload = {
        let c = serde_json::to_vec(&claims(json!({}))).unwrap();
        let b64 = apim_dotnet::convert::to_base64_string(&c);
        b64.trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    };
    let token = format!("Bearer {header}.{payload}.");
    let (p, s, h) = setup(HS_POLICY);
    let o = call(&p, &s, &h, Some(&token)).await;
    assert_eq!(reason(&o), "TokenSignatureInvalid");
    let relaxed = HS_POLICY.replace(
        "require-scheme",
        "require-signed-tokens=\"false\" require-scheme",
    );
    let (p, s, h) = setup(&relaxed);
    assert_eq!(call(&p, &s, &h, Some(&token)).await.response.status, 200);
}

#[tokio::test]
async fn required_claims_match_all_any_and_split_on_a_separator() {
    let policy = r#"
<validate-jwt header-name="Authorization" failed-validation-httpcode="403" failed-validation-error-message="Access token is missing or invalid.">
    <issuer-signing-keys><key>{{jwt-key}}</key></issuer-signing-keys>
    <required-claims>
        <claim name="roles" match="any"><value>Admin</value><value>Writer</value></claim>
        <claim name="scp" match="all" separator=" "><value>read</value><value>write</value></claim>
    </required-claims>
</validate-jwt>"#;
    let (p, s, h) = setup(policy);
    let ok = hs256(&claims(json!({})));
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Bearer {ok}")))
            .await
            .response
            .status,
        200
    );
    let cases = [
        (
            json!({"roles": ["Reader"]}),
            "TokenClaimValueNotAllowed",
            "Claim roles value of Reader is not allowed. Access denied.",
        ),
        (
            json!({"scp": "read"}),
            "TokenClaimValueNotAllowed",
            "Claim scp value of read is not allowed. Access denied.",
        ),
        (
            json!({"roles": null, "scp": null}),
            "TokenClaimNotFound",
            "JWT token is missing the following claims: roles, scp. Access denied.",
        ),
    ];
    for (extra, want, message) in cases {
        let t = hs256(&claims(extra.clone()));
        let o = call(&p, &s, &h, Some(&format!("Bearer {t}"))).await;
        assert_eq!(o.response.status, 403, "{extra}");
        assert_eq!(
            body(&o),
            json!({"statusCode": 403, "message": "Access token is missing or invalid."})
        );
        let e = o.summary.error.as_ref().unwrap();
        assert_eq!((e.reason.as_str(), e.message.as_str()), (want, message));
    }
}

#[tokio::test]
async fn the_token_may_come_from_a_query_parameter_a_custom_header_or_an_expression() {
    let token = hs256(&claims(json!({})));
    let keys = "<issuer-signing-keys><key>{{jwt-key}}</key></issuer-signing-keys>";
    let (p, s, h) = setup(&format!(
        r#"<validate-jwt query-parameter-name="access_token">{keys}</validate-jwt>"#
    ));
    let r = request(
        &format!("https://gw.example.com/echo/items?access_token={token}"),
        None,
    );
    assert_eq!(h.clock.run(plan::run(&p, r, &s)).await.response.status, 200);
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Bearer {token}")))
            .await
            .response
            .status,
        401
    );

    // A custom header ignores require-scheme.
    let (p, s, h) = setup(&format!(
        r#"<validate-jwt header-name="X-Token" require-scheme="Bearer">{keys}</validate-jwt>"#
    ));
    let mut r = request("https://gw.example.com/echo/items", None);
    r.headers.set_one("X-Token", token.clone()).unwrap();
    assert_eq!(h.clock.run(plan::run(&p, r, &s)).await.response.status, 200);

    let (p, s, h) = setup(&format!(
        r#"<validate-jwt token-value="@(context.Request.Headers.GetValueOrDefault(&quot;Authorization&quot;,&quot;&quot;).Split(' ').Last())">{keys}</validate-jwt>"#
    ));
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Token {token}")))
            .await
            .response
            .status,
        200
    );
    let o = call(&p, &s, &h, None).await;
    assert_eq!(reason(&o), "TokenNotPresent");
}

#[tokio::test]
async fn rsa_and_ps_tokens_verify_against_a_modulus_and_exponent() {
    let policy = format!(
        r#"<validate-jwt header-name="Authorization">
    <issuer-signing-keys><key id="k1" n="{}" e="{}" /></issuer-signing-keys>
</validate-jwt>"#,
        public("rsa-n"),
        public("rsa-e")
    );
    let (p, s, h) = setup(&policy);
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS512,
    ] {
        let t = signed(alg, Some("k1"), &claims(json!({})));
        let o = call(&p, &s, &h, Some(&format!("Bearer {t}"))).await;
        assert_eq!(o.response.status, 200, "{alg:?}: {:?}", o.summary.error);
    }
    // An HS256 token cannot pass with an RSA key (no algorithm confusion).
    let t = hs256(&claims(json!({})));
    assert_eq!(
        reason(&call(&p, &s, &h, Some(&format!("Bearer {t}"))).await),
        "TokenSignatureInvalid"
    );
}

fn openid(h: &TestHandles, host: &str, issuer: &str, jwks: serde_json::Value) {
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("https://{host}/keys"),
        "authorization_endpoint": format!("https://{host}/authorize"),
    });
    h.http.always(
        MockMatch::host(host).with_path("/.well-known/openid-configuration"),
        MockReply::json(200, &doc.to_string()),
    );
    h.http.always(
        MockMatch::host(host).with_path("/keys"),
        MockReply::json(200, &jwks.to_string()),
    );
}

fn rsa_jwk(kid: &str) -> serde_json::Value {
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": public("rsa-n"), "e": public("rsa-e")})
}

fn ec_jwk(kid: &str) -> serde_json::Value {
    json!({"kty": "EC", "use": "sig", "crv": "P-256", "kid": kid, "x": public("ec-x"), "y": public("ec-y")})
}

#[tokio::test]
async fn openid_config_keys_and_issuer_are_fetched_once_and_refreshed_hourly() {
    let policy = r#"<validate-jwt header-name="Authorization">
    <openid-config url="https://idp.example.com/.well-known/openid-configuration" />
    <audiences><audience>api://echo</audience></audiences>
</validate-jwt>"#;
    let (p, s, h) = setup(policy);
    openid(
        &h,
        "idp.example.com",
        "https://issuer.example.com/",
        json!({"keys": [rsa_jwk("r1"), ec_jwk("e1")]}),
    );
    let idp = |h: &TestHandles| h.http.calls_to("idp.example.com").len();
    for (alg, kid) in [
        (Algorithm::RS256, "r1"),
        (Algorithm::ES256, "e1"),
        (Algorithm::PS384, "r1"),
    ] {
        let t = signed(alg, Some(kid), &claims(json!({"exp": START + 7200})));
        let o = call(&p, &s, &h, Some(&format!("Bearer {t}"))).await;
        assert_eq!(o.response.status, 200, "{alg:?}: {:?}", o.summary.error);
    }
    assert_eq!(idp(&h), 2, "configuration and key set fetched once");
    // A token naming an RSA key but signed with EC (or HMAC) fails cleanly.
    for alg in [Algorithm::ES256, Algorithm::HS256] {
        let t = signed(alg, Some("r1"), &claims(json!({"exp": START + 7200})));
        let o = call(&p, &s, &h, Some(&format!("Bearer {t}"))).await;
        assert_eq!(reason(&o), "TokenSignatureInvalid", "{alg:?}");
    }
    // The issuer comes from the configuration document.
    let t = signed(
        Algorithm::RS256,
        Some("r1"),
        &claims(json!({"iss": "https://other/", "exp": START + 7200})),
    );
    assert_eq!(
        reason(&call(&p, &s, &h, Some(&format!("Bearer {t}"))).await),
        "TokenIssuerNotAllowed"
    );
    h.clock.advance(Duration::from_secs(3600));
    let t = signed(
        Algorithm::RS256,
        Some("r1"),
        &claims(json!({"exp": START + 7200})),
    );
    assert_eq!(
        call(&p, &s, &h, Some(&format!("Bearer {t}")))
            .await
            .response
            .status,
        200
    );
    assert_eq!(idp(&h), 4, "refreshed after an hour");
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_every_five_minutes() {
    let policy = r#"<validate-jwt header-name="Authorization">
    <openid-config url="https://idp.example.com/.well-known/openid-configuration" />
</validate-jwt>"#;
    let (p, s, h) = setup(policy);
    let doc = json!({"issuer": "https://issuer.example.com/", "jwks_uri": "https://idp.example.com/keys"});
    h.http.always(
        MockMatch::host("idp.example.com").with_path("/.well-known/openid-configuration"),
        MockReply::json(200, &doc.to_string()),
    );
    // The first key set has only e1; the issuer then rotates to r2.
    let keys = MockMatch::host("idp.example.com").with_path("/keys");
    h.http.sequence(
        keys.clone(),
        vec![MockReply::json(
            200,
            &json!({"keys": [ec_jwk("e1")]}).to_string(),
        )],
    );
    h.http.always(
        keys,
        MockReply::json(200, &json!({"keys": [rsa_jwk("r2")]}).to_string()),
    );
    let idp = |h: &TestHandles| h.http.calls_to("idp.example.com").len();
    let rotated = signed(
        Algorithm::RS256,
        Some("r2"),
        &claims(json!({"exp": START + 7200})),
    );
    let o = call(&p, &s, &h, Some(&format!("Bearer {rotated}"))).await;
    assert_eq!(reason(&o), "TokenSignatureKeyNotFound");
    assert_eq!(idp(&h), 2);
    let o = call(&p, &s, &h, Some(&format!("Bearer {rotated}"))).await;
    assert_eq!(reason(&o), "TokenSignatureKeyNotFound");
    assert_eq!(idp(&h), 2, "no refetch within 5 minutes");
    // After 5 minutes the unknown kid triggers a refetch, which finds the rotated key.
    h.clock.advance(Duration::from_secs(300));
    let o = call(&p, &s, &h, Some(&format!("Bearer {rotated}"))).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
}

#[tokio::test]
async fn an_unreachable_openid_config_fails_the_validation() {
    let policy = r#"<validate-jwt header-name="Authorization">
    <openid-config url="https://down.example.com/.well-known/openid-configuration" />
</validate-jwt>"#;
    let (p, s, h) = setup(policy);
    h.http
        .always(MockMatch::host("down.example.com"), MockReply::status(503));
    let t = signed(Algorithm::RS256, Some("r1"), &claims(json!({})));
    let o = call(&p, &s, &h, Some(&format!("Bearer {t}"))).await;
    assert_eq!(o.response.status, 401);
    assert_eq!(reason(&o), "TokenSignatureKeyNotFound");
    assert!(o.summary.error.unwrap().message.contains("503"));
}

#[test]
fn unsupported_parts_are_diagnosed_not_ignored() {
    let e = compile_errors(
        r#"<validate-jwt header-name="Authorization"><decryption-keys><key>{{jwt-key}}</key></decryption-keys></validate-jwt>"#,
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("PLAN0001") && m.contains("decryption-keys")),
        "{e:?}"
    );
    let e = compile_errors(
        r#"<validate-jwt><issuer-signing-keys><key>{{jwt-key}}</key></issuer-signing-keys></validate-jwt>"#,
    );
    assert!(e.iter().any(|m| m.contains("header-name")), "{e:?}");
    let e = compile_errors(r#"<validate-azure-ad-token tenant-id="contoso.onmicrosoft.com" />"#);
    assert!(
        e.iter().any(|m| m.contains("client-application-ids")),
        "{e:?}"
    );
    let e = compile_errors(
        r#"<validate-jwt header-name="Authorization"><issuer-signing-keys><key>not base64!</key></issuer-signing-keys></validate-jwt>"#,
    );
    assert!(e.iter().any(|m| m.starts_with("PLAN0008")), "{e:?}");
}

const TENANT: &str = "72f988bf-0000-0000-0000-2d7cd011db47";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const BACKEND: &str = "99999999-8888-7777-6666-555555555555";

#[tokio::test]
async fn validate_azure_ad_token_uses_the_tenant_keys_and_checks_the_client_application() {
    let policy = format!(
        r#"<validate-azure-ad-token tenant-id="{TENANT}" output-token-variable-name="jwt">
    <client-application-ids><application-id>{CLIENT}</application-id></client-application-ids>
    <backend-application-ids><application-id>{BACKEND}</application-id></backend-application-ids>
    <required-claims><claim name="roles" match="any"><value>Reader</value></claim></required-claims>
</validate-azure-ad-token>
<set-header name="X-App" exists-action="override"><value>@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("azp", "-"))</value></set-header>"#
    );
    let (p, s, h) = setup(&policy);
    let v2_issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    h.http.always(
        MockMatch::host("login.microsoftonline.com").with_path("/keys"),
        MockReply::json(200, &json!({"keys": [rsa_jwk("entra-1")]}).to_string()),
    );
    h.http.always(
        MockMatch::host("login.microsoftonline.com")
            .with_path(&format!("/{TENANT}/v2.0/.well-known/openid-configuration")),
        MockReply::json(
            200,
            &json!({"issuer": v2_issuer, "jwks_uri": "https://login.microsoftonline.com/keys"})
                .to_string(),
        ),
    );
    let v2 = |extra: serde_json::Value| {
        let mut c = claims(json!({"iss": v2_issuer, "aud": BACKEND, "azp": CLIENT, "tid": TENANT}));
        if let (Some(m), serde_json::Value::Object(e)) = (c.as_object_mut(), extra) {
            m.extend(e);
        }
        format!("Bearer {}", signed(Algorithm::RS256, Some("entra-1"), &c))
    };
    let o = call(&p, &s, &h, Some(&v2(json!({})))).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
    assert_eq!(
        h.http.calls_to("backend.example.com")[0]
            .headers
            .first("X-App"),
        Some(CLIENT)
    );
    // A v1 token: sts.windows.net issuer, appid, api:// audience.
    let v1 = {
        let c = claims(
            json!({"iss": format!("https://sts.windows.net/{TENANT}/"), "aud": format!("api://{BACKEND}"), "appid": CLIENT}),
        );
        format!("Bearer {}", signed(Algorithm::RS256, Some("entra-1"), &c))
    };
    assert_eq!(call(&p, &s, &h, Some(&v1)).await.response.status, 200);
    let cases = [
        (
            json!({"azp": "00000000-0000-0000-0000-000000000000"}),
            "TokenClaimValueNotAllowed",
        ),
        (
            json!({"aud": "api://someone-else"}),
            "TokenAudienceNotAllowed",
        ),
        (
            json!({"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}),
            "TokenIssuerNotAllowed",
        ),
        (json!({"roles": ["Writer"]}), "TokenClaimValueNotAllowed"),
    ];
    for (extra, want) in cases {
        let o = call(&p, &s, &h, Some(&v2(extra.clone()))).await;
        assert_eq!(
            (o.response.status, reason(&o).as_str()),
            (401, want),
            "{extra}"
        );
        assert_eq!(body(&o)["message"], "Invalid JWT.");
    }
    let o = call(&p, &s, &h, None).await;
    assert_eq!(
        body(&o),
        json!({"statusCode": 401, "message": "JWT not present."})
    );
}

#[tokio::test]
async fn keys_may_be_the_public_keys_of_certificates() {
    let policy = r#"<validate-jwt header-name="Authorization">
    <issuer-signing-keys>
        <key certificate-id="issuer-rsa" />
        <key certificate-id="@("issuer-" + "ec")" />
    </issuer-signing-keys>
</validate-jwt>"#;
    let (p, s, h) = setup(policy);
    s.certificates
        .add("issuer-rsa", include_str!("fixtures/jwt-rsa-cert.pem"))
        .unwrap();
    let ec = include_str!("fixtures/client-cert.pem");
    s.certificates.add("issuer-ec", ec).unwrap();
    let rs = signed(Algorithm::RS256, None, &claims(json!({})));
    let o = call(&p, &s, &h, Some(&format!("Bearer {rs}"))).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
    // ES256 with the client certificate's own key.
    let ec_key = &ec[ec.find("-----BEGIN PRIVATE KEY-----").unwrap()..];
    let es = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims(json!({})),
        &EncodingKey::from_ec_pem(ec_key.as_bytes()).unwrap(),
    )
    .unwrap();
    let o = call(&p, &s, &h, Some(&format!("Bearer {es}"))).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
    // A token signed by another EC key is refused.
    let other = signed(Algorithm::ES256, None, &claims(json!({})));
    assert_eq!(
        reason(&call(&p, &s, &h, Some(&format!("Bearer {other}"))).await),
        "TokenSignatureInvalid"
    );

    let (p, s, h) = setup(
        r#"<validate-jwt header-name="Authorization"><issuer-signing-keys><key certificate-id="missing" /></issuer-signing-keys></validate-jwt>"#,
    );
    let o = call(&p, &s, &h, Some(&format!("Bearer {rs}"))).await;
    assert_eq!(reason(&o), "TokenSignatureKeyNotFound");
    assert!(
        o.summary
            .error
            .unwrap()
            .message
            .contains("'missing' was not found")
    );
}
