//! What the reader accepts and how it models it.

use apim_policy::{
    AttrValue, Content, DocumentKind, ElementKind, ExprKind, SectionKind, TemplatePart, read_str,
};

fn only_policy(text: &str) -> apim_policy::Element {
    let r = read_str(text);
    let doc = r.document.unwrap_or_else(|| panic!("{:#?}", r.diagnostics));
    match doc.kind {
        DocumentKind::Fragment { mut body } => body.remove(0),
        DocumentKind::Policies { mut sections } => sections.remove(0).policies.remove(0),
    }
}

#[test]
fn raw_and_escaped_forms_give_the_same_model() {
    let raw = r#"<policies><inbound>
        <set-variable name="n" value="@(context.Variables["x"] == null && 1 < 2)" />
        <set-header name="h" exists-action="override"><value>@{ var s = "<b>"; return s + '&'; }</value></set-header>
    </inbound></policies>"#;
    let escaped = r#"<policies><inbound>
        <set-variable name="n" value="@(context.Variables[&quot;x&quot;] == null &amp;&amp; 1 &lt; 2)" />
        <set-header name="h" exists-action="override"><value>@{ var s = "&lt;b&gt;"; return s + '&amp;'; }</value></set-header>
    </inbound></policies>"#;
    let a = read_str(raw).document.expect("raw reads");
    let b = read_str(escaped).document.expect("escaped reads");
    assert_eq!(a.without_spans(), b.without_spans());
    let v = a.sections()[0].policies[0].attr("value").unwrap();
    let e = v.as_expression().unwrap();
    assert_eq!(e.kind, ExprKind::Paren);
    assert_eq!(e.source, r#"@(context.Variables["x"] == null && 1 < 2)"#);
    // the span covers the expression as written in the source
    assert_eq!(&raw[e.span.start..e.span.end], e.source);
    assert_eq!((e.span.line, e.span.col), (2, 39));
}

#[test]
fn bom_crlf_comments_and_cdata() {
    let text = "\u{FEFF}<?xml version=\"1.0\"?>\r\n<!-- a comment with <!-- inside and -- dashes -->\r\n<policies>\r\n  <inbound>\r\n    <set-body><![CDATA[<raw> & text]]></set-body>\r\n    <set-header name=\"x\" exists-actoin=\"skip\" />\r\n  </inbound>\r\n</policies>\r\n";
    let r = read_str(text);
    assert_eq!(r.diagnostics.len(), 1, "{:#?}", r.diagnostics);
    let d = &r.diagnostics[0];
    assert_eq!(d.code, "APIM0003");
    assert_eq!((d.span.line, d.span.col), (6, 26));
    assert!(d.notes.iter().any(|n| n.contains("`exists-action`")));

    let ok = text.replace("exists-actoin", "exists-action");
    let p = only_policy(&ok);
    assert_eq!(p.kind, ElementKind::SetBody);
    assert_eq!(p.text().unwrap().as_literal(), Some("<raw> & text"));
}

#[test]
fn crlf_in_expressions_becomes_lf() {
    let p = only_policy(
        "<fragment><set-variable name=\"a\" value=\"@{\r\n  return 1;\r\n}\" /></fragment>",
    );
    let e = p.attr("value").unwrap().as_expression().unwrap().clone();
    assert_eq!(e.source, "@{\n  return 1;\n}");
    assert_eq!(e.kind, ExprKind::Block);
    assert_eq!(e.code(), "\n  return 1;\n");
}

#[test]
fn fragment_and_bare_snippet() {
    let r = read_str("<fragment><base /></fragment>");
    assert_eq!(r.diagnostics[0].code, "APIM0007");

    let r = read_str(
        "<set-variable name=\"a\" value=\"1\" />\n<set-variable name=\"b\" value=\"@(2)\" />",
    );
    assert_eq!(r.diagnostics.len(), 1);
    assert_eq!(r.diagnostics[0].code, "APIM0012");
    assert_eq!(r.diagnostics[0].severity, apim_policy::Severity::Note);
    let doc = r.document.expect("a snippet is a fragment body");
    let DocumentKind::Fragment { body } = &doc.kind else {
        panic!("not a fragment")
    };
    assert_eq!(body.len(), 2);
    assert_eq!(body[1].span.line, 2);

    let r = read_str("<inbound><base /></inbound><outbound><base /></outbound>");
    let doc = r.document.expect("sections without <policies>");
    assert_eq!(doc.sections().len(), 2);
}

#[test]
fn placeholders_are_literal_text() {
    let p = only_policy(
        r#"<fragment><set-backend-service backend-id="<first_backend_policy_here>" /></fragment>"#,
    );
    assert_eq!(
        p.attr("backend-id").unwrap().as_literal(),
        Some("<first_backend_policy_here>")
    );
    let p = only_policy(
        r#"<fragment><rewrite-uri template="/items/{backend-id}?a=1&b=2" /></fragment>"#,
    );
    assert_eq!(
        p.attr("template").unwrap().as_literal(),
        Some("/items/{backend-id}?a=1&b=2")
    );
}

#[test]
fn named_values_in_templates_expressions_and_string_literals() {
    let text = r#"<fragment><set-backend-service base-url="{{Api-Url}}/v2" /><set-variable name="a" value="@(Convert.ToBoolean("{{Flag}}"))" /></fragment>"#;
    let r = read_str(text);
    let doc = r.document.expect("reads");
    let DocumentKind::Fragment { body } = &doc.kind else {
        panic!()
    };
    let AttrValue::Template(t) = &body[0].attr("base-url").unwrap().value else {
        panic!("not a template")
    };
    let TemplatePart::NamedValue(n) = &t.parts[0] else {
        panic!()
    };
    assert_eq!(n.name, "Api-Url");
    assert_eq!(&text[n.span.start..n.span.end], "{{Api-Url}}");
    assert_eq!(t.parts[1], TemplatePart::Text("/v2".into()));
    let v = body[1].attr("value").unwrap();
    let refs = v.named_values();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].name, "Flag");
    assert_eq!(&text[refs[0].span.start..refs[0].span.end], "{{Flag}}");
}

#[test]
fn liquid_templates_keep_their_braces() {
    let p = only_policy(
        r#"<fragment><set-body template="liquid">{"name": "{{body.name}}"}</set-body></fragment>"#,
    );
    assert_eq!(
        p.text().unwrap().as_literal(),
        Some(r#"{"name": "{{body.name}}"}"#)
    );
}

#[test]
fn validation_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"<fragment><set-heder name="a" /></fragment>"#,
            "APIM0002",
            "did you mean `set-header`",
        ),
        (
            r#"<fragment><set-header name="a" exists-action="replace" /></fragment>"#,
            "APIM0005",
            "expected one of: override, skip, append, delete",
        ),
        (
            r#"<fragment><set-variable value="1" /></fragment>"#,
            "APIM0004",
            "`name`",
        ),
        (
            r#"<fragment><set-variable name="@(&quot;a&quot;)" value="1" /></fragment>"#,
            "APIM0006",
            "does not allow a policy expression",
        ),
        (
            r#"<policies><outbound><rewrite-uri template="/a" /></outbound></policies>"#,
            "APIM0007",
            "not allowed in the outbound section",
        ),
        (
            r#"<policies><on-error><forward-request /></on-error></policies>"#,
            "APIM0007",
            "allowed in: backend",
        ),
        (
            r#"<policies><inbound><set-variable name="a" value="1"></inbound></policies>"#,
            "APIM0017",
            "does not match",
        ),
        (
            r#"<fragment><set-variable name="a" value="@(1 + (2)" /></fragment>"#,
            "APIM0008",
            "no matching",
        ),
        (
            r#"<fragment><set-variable name="a" value="@(1) + 2" /></fragment>"#,
            "APIM0009",
            "after the expression",
        ),
        (
            r#"<fragment><retry condition="true" count="1" interval="1"><wait /></retry></fragment>"#,
            "APIM0007",
            "not allowed in `<retry>`",
        ),
        (
            r#"<fragment><wait><set-variable name="a" value="1" /></wait></fragment>"#,
            "APIM0007",
            "may contain only",
        ),
        (
            r#"<fragment><set-backend-service /></fragment>"#,
            "APIM0016",
            "`base-url`",
        ),
        (r#"<fragment><choose /></fragment>"#, "APIM0018", "<when>"),
        (
            r#"<policies><inbound /><inbound /></policies>"#,
            "APIM0015",
            "more than once",
        ),
        (r#"<root />"#, "APIM0002", "unknown policy `root`"),
        (
            r#"<policies><inbound>text</inbound></policies>"#,
            "APIM0014",
            "text is not allowed",
        ),
        (
            r#"<fragment><llm-token-limit counter-key="k" estimate-prompt-tokens="false" token-quota="5" token-quota-period="daily" /></fragment>"#,
            "",
            "",
        ),
    ];
    for (text, code, msg) in cases {
        let r = read_str(text);
        let errors: Vec<_> = r.diagnostics.iter().filter(|d| d.is_error()).collect();
        if code.is_empty() {
            assert!(errors.is_empty(), "{text}: {errors:#?}");
            continue;
        }
        assert!(
            errors.iter().any(|d| d.code == *code
                && (d.message.contains(msg) || d.notes.iter().any(|n| n.contains(msg)))),
            "{text}: expected {code} `{msg}`, got {errors:#?}"
        );
    }
}

#[test]
fn sections_and_child_elements_are_modelled() {
    let text = r#"<policies>
  <inbound>
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401">
      <openid-config url="https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration" />
      <audiences><audience>api://x</audience></audiences>
      <required-claims><claim name="roles" match="any"><value>admin</value></claim></required-claims>
    </validate-jwt>
    <send-request mode="new" response-variable-name="r" timeout="10" ignore-error="true">
      <set-url>@("https://x/" + context.RequestId)</set-url>
      <set-method>POST</set-method>
      <set-header name="Content-Type" exists-action="override"><value>application/json</value></set-header>
      <set-body>{"a": 1}</set-body>
      <authentication-managed-identity resource="https://management.azure.com" />
    </send-request>
  </inbound>
  <backend><forward-request buffer-response="false" /></backend>
</policies>"#;
    let doc = read_str(text).document.expect("reads");
    let inbound = doc.section(SectionKind::Inbound).unwrap();
    let jwt = &inbound.policies[0];
    let claim = jwt
        .children_of(ElementKind::RequiredClaims)
        .next()
        .unwrap()
        .children()[0]
        .clone();
    assert_eq!(claim.kind, ElementKind::Claim);
    assert_eq!(
        claim.children()[0].text().unwrap().as_literal(),
        Some("admin")
    );
    let send = &inbound.policies[1];
    let kinds: Vec<_> = send.children().iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ElementKind::SetUrl,
            ElementKind::SetMethod,
            ElementKind::SetHeader,
            ElementKind::SetBody,
            ElementKind::AuthenticationManagedIdentity
        ]
    );
    assert!(send.children()[0].text().unwrap().as_expression().is_some());
    assert!(matches!(send.children()[3].content, Content::Text(_)));
}

#[test]
fn expression_in_send_request_set_method_is_refused() {
    let r = read_str(
        r#"<fragment><send-request response-variable-name="r"><set-url>https://x</set-url><set-method>@("GET")</set-method></send-request></fragment>"#,
    );
    assert!(r.diagnostics.iter().any(|d| d.code == "APIM0006"));
}

#[test]
fn repeated_once_per_section_policies_are_a_warning() {
    let r = read_str(
        r#"<policies><backend><forward-request /><forward-request /></backend><outbound><choose><when condition="true"><cache-store duration="1" /></when><otherwise><cache-store duration="2" /></otherwise></choose></outbound></policies>"#,
    );
    assert!(r.document.is_some(), "warnings keep the document");
    let codes: Vec<_> = r.diagnostics.iter().map(|d| (d.code, d.severity)).collect();
    assert_eq!(codes, vec![("APIM0019", apim_policy::Severity::Warning)]);
}

#[test]
fn offsets_in_an_escaped_expression_map_back_to_the_file() {
    let text = "\u{FEFF}<fragment>\r\n<set-variable name=\"a\" value=\"@(&quot;x&quot; + \r\n  y)\" /></fragment>";
    let p = only_policy(text);
    let e = p.attr("value").unwrap().as_expression().unwrap().clone();
    assert_eq!(e.source, "@(\"x\" + \n  y)");
    let y = e.source.find('y').unwrap();
    assert_eq!(&text[e.file_offset(y)..e.file_offset(y) + 1], "y");
    let plus = e.source.find('+').unwrap();
    assert_eq!(&text[e.file_offset(plus)..e.file_offset(plus) + 1], "+");
    assert_eq!(e.file_offset(0), e.span.start);
}

#[test]
fn text_before_an_expression_is_a_literal_with_a_warning() {
    let r = read_str(r#"<fragment><set-variable name="m" value="Hello @("world")" /></fragment>"#);
    let doc = r.document.expect("a warning keeps the document");
    assert_eq!(r.diagnostics.len(), 1);
    assert_eq!(r.diagnostics[0].severity, apim_policy::Severity::Warning);
    let DocumentKind::Fragment { body } = &doc.kind else {
        panic!()
    };
    assert_eq!(
        body[0].attr("value").unwrap().as_literal(),
        Some(r#"Hello @("world")"#)
    );
}

#[test]
fn named_values_in_markup_are_recorded() {
    let text = r#"<fragment><set-body><soap:Envelope xmlns:soap="urn:x"><key>{{api-key}}</key></soap:Envelope></set-body></fragment>"#;
    let p = only_policy(text);
    let Content::Markup(m) = &p.content else {
        panic!("not markup")
    };
    assert_eq!(m.named_values.len(), 1);
    assert_eq!(
        &text[m.named_values[0].span.start..m.named_values[0].span.end],
        "{{api-key}}"
    );
}
