//! `apim-emu check` type-checks policy expressions as APIM does when a policy is saved: the real
//! binary on small documents (diagnostics snapshotted) and on the seed corpus (all clean).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apim-emu"))
        .arg("check")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run apim-emu check")
}

/// A fresh folder holding `policy.xml` with `text`; the test runs `check` from inside it so
/// paths in the output are stable.
fn policy_dir(name: &str, text: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("apim-emu-check-expr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("policy.xml"), text).expect("write policy");
    dir
}

const BAD: &str = r#"<policies>
    <inbound>
        <base />
        <set-variable name="a" value="@(context.Request.Headers.GetValueOrDefault("x", "").Lenght)" />
        <set-header name="X-File" exists-action="override">
            <value>@(System.IO.File.ReadAllText("/etc/passwd"))</value>
        </set-header>
        <set-variable name="b" value="@{
            var n = context.Variables.GetValueOrDefault&lt;int&gt;(&quot;n&quot;);
            if (n &gt; 1) {
                return &quot;many&quot;;
            }
        }" />
        <set-variable name="c" value="@(context.Request.MatchedParameters(&quot;id&quot;))" />
        <set-variable name="d" value="@(&quot;{{secret-name}}&quot;.Length)" />
        <set-variable name="e" value="@({{code-nv}} + 1)" />
        <set-variable name="f" value="@(1 +)" />
    </inbound>
    <backend><base /></backend>
    <outbound><base /></outbound>
    <on-error><base /></on-error>
</policies>
"#;

#[test]
fn expression_errors_are_reported_where_they_are_in_the_file() {
    let dir = policy_dir("human", BAD);
    let o = check_in(&dir, &["policy.xml"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expression_errors_in_json() {
    let dir = policy_dir("json", BAD);
    let o = check_in(&dir, &["--format", "json", "policy.xml"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn valid_expressions_check_clean() {
    let dir = policy_dir(
        "clean",
        r#"<policies>
    <inbound>
        <set-variable name="urlId" value="@(new Random(context.RequestId.GetHashCode()).Next(1, 4))" />
        <set-backend-service base-url="@{
            var id = context.Variables.GetValueOrDefault&lt;int&gt;(&quot;urlId&quot;);
            return id == 1 ? &quot;https://a.example.com&quot; : &quot;https://b.example.com&quot;;
        }" />
        <set-body>@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true).ToString())</set-body>
    </inbound>
</policies>
"#,
    );
    let o = check_in(&dir, &["policy.xml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out.trim(), "1 documents: 1 ok, 0 with errors");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_seed_corpus_document_checks_clean() {
    let seed = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/seed"
    ));
    if !seed.is_dir() {
        println!("skipped: {} is absent", seed.display());
        return;
    }
    let o = check_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[&seed.display().to_string()],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains(", 0 with errors"), "{out}");
}
