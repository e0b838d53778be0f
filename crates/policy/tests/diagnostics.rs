//! How diagnostics look to people (`apim-emu check`) and to tools (`--format json`).

use apim_policy::diag::{FileDiagnostics, render_human, render_json, summary};
use apim_policy::read_str;

const BROKEN: &str = r#"<policies>
	<inbound>
		<base />
		<set-heder name="x" />
		<llm-token-limit counter-key="@(context.Subscription.Id)" estimate-prompt-token="true" tokens-per-minute="500" token-quota-period="day" />
		<set-variable name="@(&quot;n&quot;)" value="@(1) + 1" />
	</inbound>
	<outbound>
		<rewrite-uri template="/a" />
	</outbound>
</policies>
"#;

#[test]
fn human_rendering() {
    let r = read_str(BROKEN);
    let f = FileDiagnostics {
        path: "policies/broken.xml",
        source: BROKEN,
        diagnostics: &r.diagnostics,
    };
    let out = format!("{}{}\n", render_human(&f), summary(&[f]));
    insta::assert_snapshot!(out);
}

#[test]
fn json_rendering() {
    let r = read_str(BROKEN);
    let ok = read_str("<fragment><base-not /></fragment>");
    let files = [
        FileDiagnostics {
            path: "broken.xml",
            source: BROKEN,
            diagnostics: &r.diagnostics,
        },
        FileDiagnostics {
            path: "fragment.xml",
            source: "<fragment><base-not /></fragment>",
            diagnostics: &ok.diagnostics,
        },
    ];
    insta::assert_snapshot!(render_json(&files));
}

#[test]
fn unbalanced_expression_and_mismatched_tag() {
    let text = "<policies>\n  <inbound>\n    <set-variable name=\"a\" value=\"@(foo(1)\" />\n  </inbound>\n</policies>\n";
    let r = read_str(text);
    let f = FileDiagnostics {
        path: "a.xml",
        source: text,
        diagnostics: &r.diagnostics,
    };
    let text2 = "<policies>\n  <inbound>\n    <choose>\n  </inbound>\n</policies>\n";
    let r2 = read_str(text2);
    let f2 = FileDiagnostics {
        path: "b.xml",
        source: text2,
        diagnostics: &r2.diagnostics,
    };
    insta::assert_snapshot!(format!("{}{}", render_human(&f), render_human(&f2)));
}
