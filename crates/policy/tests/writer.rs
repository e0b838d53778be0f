//! `fmt`: converting between the raw and the escaped form changes only expressions (and, for the
//! escaped form, text that XML needs escaped); comments and layout stay.

use apim_policy::{Form, read_str, write};

const RAW: &str = r#"<!-- keep me -->
<policies>
    <inbound>
        <set-variable name="n" value="@(context.Variables["x"] == null && 1 < 2)" />
        <set-backend-service backend-id="<first_backend_policy_here>" />
        <set-header name="h" exists-action="override">
            <value>
                @{ return "a" + 'b'; }
            </value>
        </set-header>
        <set-body><![CDATA[keep <this> & that]]></set-body>
    </inbound>
</policies>
"#;

const ESCAPED: &str = r#"<!-- keep me -->
<policies>
    <inbound>
        <set-variable name="n" value="@(context.Variables[&quot;x&quot;] == null &amp;&amp; 1 &lt; 2)" />
        <set-backend-service backend-id="&lt;first_backend_policy_here&gt;" />
        <set-header name="h" exists-action="override">
            <value>
                @{ return "a" + 'b'; }
            </value>
        </set-header>
        <set-body><![CDATA[keep <this> & that]]></set-body>
    </inbound>
</policies>
"#;

#[test]
fn raw_to_escaped_and_back() {
    let xml = write(RAW, Form::Xml).expect("converts");
    assert_eq!(xml, ESCAPED);
    let raw = write(&xml, Form::RawXml).expect("converts");
    // the placeholder stays escaped: the raw form accepts escaped text as it is
    assert_eq!(
        raw,
        RAW.replace(
            "\"<first_backend_policy_here>\"",
            "\"&lt;first_backend_policy_here&gt;\""
        )
    );
    assert_eq!(write(&raw, Form::RawXml).expect("converts"), raw);
    assert_eq!(write(&xml, Form::Xml).expect("converts"), xml);
    let a = read_str(RAW).document.expect("reads").without_spans();
    let b = read_str(&xml).document.expect("reads").without_spans();
    let c = read_str(&raw).document.expect("reads").without_spans();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn an_entity_like_text_inside_an_expression_survives_the_raw_form() {
    // the C# string holds the five characters `&lt;`; raw output must keep them escaped once
    let xml = r#"<fragment><set-variable name="a" value="@(&quot;&amp;lt;&quot;)" /></fragment>"#;
    let raw = write(xml, Form::RawXml).expect("converts");
    assert_eq!(
        raw,
        r#"<fragment><set-variable name="a" value="@("&amp;lt;")" /></fragment>"#
    );
    assert_eq!(
        read_str(&raw).document.unwrap().without_spans(),
        read_str(xml).document.unwrap().without_spans()
    );
}

#[test]
fn documents_with_errors_are_not_converted() {
    let err = write("<fragment><set-heder /></fragment>", Form::Xml).unwrap_err();
    let apim_policy::WriteError::Invalid(diags) = err;
    assert_eq!(diags[0].code, "APIM0002");
}
