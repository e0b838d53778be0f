//! Malformed and hostile input gets diagnostics, never a panic, a stack overflow or a hang.

use apim_policy::{read, read_str};

fn codes(r: &apim_policy::ReadResult) -> Vec<&'static str> {
    r.diagnostics.iter().map(|d| d.code).collect()
}

const SAMPLE: &str = r#"<policies>
  <inbound>
    <base />
    <set-variable name="x" value="@(context.Request.Headers.GetValueOrDefault("a", "") + "é")" />
    <choose>
      <when condition="@(context.Variables["x"] != null && 1 < 2)">
        <set-header name="h" exists-action="override"><value>@{ return "}"; }</value></set-header>
      </when>
    </choose>
  </inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

#[test]
fn the_sample_reads() {
    let r = read_str(SAMPLE);
    assert!(r.document.is_some(), "{:#?}", r.diagnostics);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = SAMPLE.as_bytes();
    for cut in 0..bytes.len() {
        let r = read(&bytes[..cut], "cut.xml");
        assert!(r.has_errors(), "cut at {cut} read without error");
        assert!(r.document.is_none());
    }
}

#[test]
fn truncated_in_the_middle_of_a_character_is_invalid_utf8() {
    let bytes = SAMPLE.as_bytes();
    let e = SAMPLE.find('é').expect("sample has é");
    let r = read(&bytes[..e + 1], "cut.xml");
    assert_eq!(codes(&r), vec!["APIM0010"]);
    assert_eq!(r.diagnostics[0].span.line, 4);
}

#[test]
fn invalid_utf8_reports_line_and_column() {
    let mut bytes = b"<policies>\n  <inbound>".to_vec();
    bytes.push(0xFF);
    bytes.extend_from_slice(b"</inbound></policies>");
    let r = read(&bytes, "bad.xml");
    assert_eq!(codes(&r), vec!["APIM0010"]);
    assert_eq!(
        (r.diagnostics[0].span.line, r.diagnostics[0].span.col),
        (2, 12)
    );
}

#[test]
fn hundred_thousand_nested_elements_get_a_diagnostic() {
    let n = 100_000;
    let text = format!(
        "<policies><inbound>{}{}</inbound></policies>",
        "<choose><when condition=\"true\">".repeat(n),
        "</when></choose>".repeat(n)
    );
    let r = read_str(&text);
    assert_eq!(codes(&r), vec!["APIM0011"]);
    let unclosed = "<a>".repeat(n);
    assert_eq!(codes(&read_str(&unclosed)), vec!["APIM0011"]);
}

#[test]
fn nesting_up_to_the_limit_reads() {
    // 2 levels for policies/inbound, 2 per choose/when
    let n = (apim_policy::prescan::MAX_DEPTH - 2) / 2;
    let text = format!(
        "<policies><inbound>{}<base />{}</inbound></policies>",
        "<choose><when condition=\"true\">".repeat(n),
        "</when></choose>".repeat(n)
    );
    let r = read_str(&text);
    assert!(r.document.is_some(), "{:#?}", r.diagnostics);
}

#[test]
fn deeply_nested_interpolated_strings_are_unbalanced_not_a_crash() {
    let text = format!(
        "<fragment><set-variable name=\"v\" value=\"@({})\" /></fragment>",
        "$\"{".repeat(50_000)
    );
    assert_eq!(codes(&read_str(&text)), vec!["APIM0008"]);
}

#[test]
fn enormous_attributes_read_in_linear_time() {
    let big = "x".repeat(8 << 20);
    let text = format!("<fragment><set-variable name=\"v\" value=\"{big}\" /></fragment>");
    let r = read_str(&text);
    assert!(r.document.is_some());
    let expr = format!(
        "<fragment><set-variable name=\"v\" value=\"@(\"{big}\" + &quot;{big}&quot;)\" /></fragment>"
    );
    let r = read_str(&expr);
    assert!(r.document.is_some(), "{:#?}", r.diagnostics);
    let unbalanced = format!(
        "<fragment><set-variable name=\"v\" value=\"@({})\" /></fragment>",
        "(".repeat(1 << 20)
    );
    assert_eq!(codes(&read_str(&unbalanced)), vec!["APIM0008"]);
    let quotes = format!(
        "<fragment><set-variable name=\"v\" value=\"{}\" /></fragment>",
        "\" ".repeat(1 << 20)
    );
    let _ = read_str(&quotes);
}

#[test]
fn empty_and_comment_only_documents() {
    for text in ["", "   \n", "<!-- nothing -->", "\u{FEFF}"] {
        assert_eq!(codes(&read_str(text)), vec!["APIM0001"], "{text:?}");
    }
}

#[test]
fn unterminated_comment_cdata_and_tags() {
    for text in [
        "<policies><!-- never closed",
        "<fragment><set-body><![CDATA[ never closed",
        "<fragment><set-variable name=\"a",
        "<fragment><set-variable name=\"a\" value=\"@(",
        "<fragment></",
        "<",
        "<policies><inbound></outbound></policies>",
    ] {
        let r = read_str(text);
        assert!(r.has_errors(), "{text:?} read without error");
    }
}

#[test]
fn doctype_and_entity_bombs_are_refused() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><policies>&lol2;</policies>"#;
    let r = read_str(bomb);
    assert!(r.has_errors());
}

#[test]
fn elements_after_the_root_are_an_xml_error() {
    let r = read_str("<policies><inbound /></policies>\n<set-header name=\"a\" />");
    assert_eq!(codes(&r), vec!["APIM0001"]);
    assert_eq!(r.diagnostics[0].span.line, 2);
}

#[test]
fn a_huge_single_line_document_reads_in_linear_time() {
    let text = format!(
        "<fragment>{}</fragment>",
        "<set-variable name=\"a\" value=\"@(1)\" />".repeat(100_000)
    );
    let r = read_str(&text);
    let doc = r.document.expect("reads");
    let apim_policy::DocumentKind::Fragment { body } = &doc.kind else {
        panic!()
    };
    assert_eq!(body.len(), 100_000);
    assert_eq!(body[99_999].span.col as usize, 10 + 99_999 * 38 + 1);
}

#[test]
fn many_unknown_elements_do_not_hang() {
    let text = format!("<fragment>{}</fragment>", "<set-heder />\n".repeat(20_000));
    let r = read_str(&text);
    assert_eq!(r.diagnostics.len(), 20_000);
    assert!(
        r.diagnostics[0]
            .notes
            .iter()
            .any(|n| n.contains("set-header"))
    );
}
