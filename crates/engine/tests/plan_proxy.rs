//! The proxy and authentication-certificate policies through the Plan: what the HTTP service is
//! asked to do, as MockHttp records it.

use apim_engine::http::{Request, Url};
use apim_engine::plan::{self, Outcome};
use apim_engine::service::{Api, NamedValue, Operation, PolicySource, ServiceDefinition};
use apim_engine::services::{
    MockMatch, MockReply, ProxyOptions, Services, TestHandles, VirtualClock,
};

fn service(inbound: &str) -> ServiceDefinition {
    let policy = format!(
        "<policies><inbound>{inbound}</inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"
    );
    ServiceDefinition {
        service_name: "contoso".into(),
        named_values: vec![NamedValue {
            name: "proxy-password".into(),
            value: "s3cret".into(),
            secret: true,
        }],
        apis: vec![Api {
            id: "echo".into(),
            name: "Echo".into(),
            path: "echo".into(),
            service_url: Some("http://backend.example.com".into()),
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

const THUMBPRINT: &str = "354C3151E0BA044E589A1DA5320D3F93B7EA3884";

async fn run(inbound: &str) -> (Outcome, TestHandles) {
    let (services, h) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let plan = plan::compile(&service(inbound), &services).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    services
        .certificates
        .add("client-cert", include_str!("fixtures/client-cert.pem"))
        .unwrap();
    // A certificate without its key (only good for checking signatures).
    services
        .certificates
        .add("issuer-cert", include_str!("fixtures/jwt-rsa-cert.pem"))
        .unwrap();
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, "{}"),
    );
    h.http.always(
        MockMatch::host("lookup.example.com"),
        MockReply::json(200, "{}"),
    );
    let r = Request::new(
        "GET",
        Url::parse("https://gw.example.com/echo/items").unwrap(),
    );
    let o = h.clock.run(plan::run(&plan, r, &services)).await;
    (o, h)
}

#[tokio::test]
async fn forward_request_goes_through_the_policy_proxy() {
    let (o, h) = run(
        r#"<proxy url="http://proxy.corp.example:8080" username="gw" password="{{proxy-password}}" />"#,
    )
    .await;
    assert_eq!(o.response.status, 200);
    let calls = h.http.calls_to("backend.example.com");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].proxy,
        Some(ProxyOptions {
            url: "http://proxy.corp.example:8080".into(),
            username: Some("gw".into()),
            password: Some("s3cret".into()),
        })
    );
}

#[tokio::test]
async fn without_the_policy_calls_go_directly_and_send_request_uses_its_own_proxy() {
    let (o, h) = run(r#"<send-request mode="new" response-variable-name="r">
    <set-url>http://lookup.example.com/who</set-url>
    <set-method>GET</set-method>
    <proxy url="@("http://" + "sidecar:3128")" />
</send-request>"#)
    .await;
    assert_eq!(o.response.status, 200);
    let lookup = h.http.calls_to("lookup.example.com");
    assert_eq!(
        lookup[0].proxy.as_ref().map(|p| p.url.as_str()),
        Some("http://sidecar:3128")
    );
    assert_eq!(
        lookup[0].proxy.as_ref().and_then(|p| p.username.clone()),
        None
    );
    // The send-request's proxy does not apply to forward-request.
    assert_eq!(h.http.calls_to("backend.example.com")[0].proxy, None);
}

#[tokio::test]
async fn only_http_proxies_are_accepted() {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let errors = plan::compile(&service(r#"<proxy url="https://proxy:8443" />"#), &services)
        .err()
        .unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|d| d.code == "PLAN0008" && d.message.contains("http://")),
        "{errors:?}"
    );
    // An expression that yields another scheme fails the request before any call.
    let (o, h) = run(r#"<proxy url="@("socks5://proxy:1080")" />"#).await;
    assert_eq!(o.response.status, 500);
    assert!(
        o.summary
            .error
            .unwrap()
            .message
            .contains("http:// URL is required")
    );
    assert_eq!(h.http.call_count(), 0);
}

#[tokio::test]
async fn authentication_certificate_presents_the_configured_certificate() {
    for policy in [
        r#"<authentication-certificate certificate-id="client-cert" />"#.to_string(),
        format!(
            r#"<authentication-certificate thumbprint="{}" />"#,
            THUMBPRINT.to_lowercase()
        ),
    ] {
        let (o, h) = run(&policy).await;
        assert_eq!(o.response.status, 200, "{policy}: {:?}", o.summary.error);
        let calls = h.http.calls_to("backend.example.com");
        assert_eq!(
            calls[0].client_certificate.as_deref(),
            Some(THUMBPRINT),
            "{policy}"
        );
    }
    // In send-request it applies to that call only.
    let (_, h) = run(r#"<send-request mode="new" response-variable-name="r">
    <set-url>http://lookup.example.com/who</set-url>
    <set-method>GET</set-method>
    <authentication-certificate certificate-id="client-cert" />
</send-request>"#)
    .await;
    assert_eq!(
        h.http.calls_to("lookup.example.com")[0]
            .client_certificate
            .as_deref(),
        Some(THUMBPRINT)
    );
    assert_eq!(
        h.http.calls_to("backend.example.com")[0].client_certificate,
        None
    );
}

#[tokio::test]
async fn an_unknown_certificate_fails_before_the_backend() {
    let (o, h) = run(r#"<authentication-certificate thumbprint="@("00" + "11")" />"#).await;
    assert_eq!(o.response.status, 500);
    let e = o.summary.error.unwrap();
    assert_eq!(e.reason, "CertificateNotFound");
    assert_eq!(
        e.message,
        "Certificate with thumbprint '0011' was not found."
    );
    assert_eq!(h.http.call_count(), 0);
    let (o, h) = run(r#"<authentication-certificate certificate-id="issuer-cert" />"#).await;
    assert!(
        o.summary
            .error
            .unwrap()
            .message
            .contains("has no private key")
    );
    assert_eq!(h.http.call_count(), 0);
    let (o, _) = run(r#"<authentication-certificate certificate-id="nope" />"#).await;
    assert_eq!(
        o.summary.error.unwrap().message,
        "Certificate with id 'nope' was not found."
    );
}

/// fixtures/client-cert.pfx.b64: a PKCS#12 file (password `pfx-s3cret`) made with openssl; its
/// certificate's SHA-1 fingerprint, from `openssl x509 -fingerprint -sha1` when it was made
/// (fixtures/README.md).
const PFX_BASE64: &str = include_str!("fixtures/client-cert.pfx.b64");
const PFX_THUMBPRINT: &str = "20201BC4ABCF4E31496A9B229F2FB33882C48C44";

fn pfx_policy(password: &str) -> String {
    format!(
        r#"<set-variable name="byteCertificate" value="@(Convert.FromBase64String("{}"))" />
<authentication-certificate body="@(context.Variables.GetValueOrDefault<byte[]>("byteCertificate"))" password="{password}" />"#,
        PFX_BASE64.trim()
    )
}

#[tokio::test]
async fn authentication_certificate_body_presents_the_pfx_certificate() {
    let (o, h) = run(&pfx_policy("@(\"pfx-\" + \"s3cret\")")).await;
    assert_eq!(o.response.status, 200, "{:?}", o.summary.error);
    assert_eq!(
        h.http.calls_to("backend.example.com")[0]
            .client_certificate
            .as_deref(),
        Some(PFX_THUMBPRINT)
    );
}

#[tokio::test]
async fn a_wrong_pfx_password_or_bad_bytes_go_to_on_error() {
    let (o, h) = run(&pfx_policy("wrong")).await;
    assert_eq!(o.response.status, 500);
    let e = o.summary.error.unwrap();
    assert_eq!(e.reason, "CertificateNotValid");
    assert_eq!(
        e.message,
        "The certificate in the body could not be read: the password is not correct."
    );
    assert_eq!(h.http.call_count(), 0);

    let (o, h) = run(r#"<authentication-certificate body="@(new byte[] { 1, 2, 3 })" />"#).await;
    let e = o.summary.error.unwrap();
    assert_eq!(e.reason, "CertificateNotValid");
    assert!(
        e.message
            .starts_with("The certificate in the body could not be read: not a PKCS#12"),
        "{}",
        e.message
    );
    assert_eq!(h.http.call_count(), 0);

    let (o, _) = run(r#"<authentication-certificate body="@("MIIK")" />"#).await;
    assert_eq!(
        o.summary.error.unwrap().message,
        "authentication-certificate body must be a byte[] (PKCS#12 certificate), not System.String."
    );
}

#[test]
fn a_literal_body_is_diagnosed() {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let policy = r#"<authentication-certificate body="MIIKpAIBAz" password="p" />"#;
    let errors = plan::compile(&service(policy), &services)
        .err()
        .unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|d| d.code == "PLAN0003" && d.message.contains("byte[]")),
        "{errors:?}"
    );
}
