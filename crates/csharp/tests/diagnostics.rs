//! What a person sees when APIM would refuse an expression (snapshots).
fn diagnostics(src: &str) -> String {
    match apim_csharp::compile(src) {
        Ok(_) => format!("{src}\n(compiles)"),
        Err(d) => d
            .iter()
            .map(|d| d.render(src))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn calling_a_dictionary_like_a_method() {
    insta::assert_snapshot!(diagnostics("@(context.Request.MatchedParameters(\"x\"))"));
}

#[test]
fn unknown_member() {
    insta::assert_snapshot!(diagnostics("@(context.Request.Headers.GetValue(\"x\"))"));
}

#[test]
fn disallowed_type() {
    insta::assert_snapshot!(diagnostics(
        "@(System.IO.File.ReadAllText(\"/etc/passwd\"))"
    ));
}

#[test]
fn wrong_argument_type() {
    insta::assert_snapshot!(diagnostics("@(Math.Max(\"a\", 1))"));
}

#[test]
fn block_without_return_on_every_path() {
    insta::assert_snapshot!(diagnostics(
        "@{\n    if (context.Request.Method == \"GET\") {\n        return 1;\n    }\n}"
    ));
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(diagnostics("@(context.Request.Method == )"));
}

#[test]
fn string_in_single_quotes() {
    insta::assert_snapshot!(diagnostics("@(context.Variables['name'])"));
}
