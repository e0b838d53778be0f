//! Every class of configuration error, from a fixture of its own: the rendered diagnostics
//! (file:line:col, source line, caret) are snapshots; none of these configurations loads.

use std::path::{Path, PathBuf};

use apim_gateway::config::{Environment, ErrorKind, LoadOptions, load};

fn render(path: &Path, env: Option<&str>) -> (String, Vec<ErrorKind>) {
    let options = LoadOptions {
        env: env.map(str::to_string),
        environment: Environment::Map(Default::default()),
    };
    match load(path, &options) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => (e.render(), e.diagnostics.iter().map(|d| d.kind).collect()),
    }
}

fn config_case(name: &str) -> PathBuf {
    Path::new("../../fixtures/config/errors").join(name)
}

macro_rules! case {
    ($test:ident, $dir:expr, $env:expr, [$($kind:ident),+]) => {
        #[test]
        fn $test() {
            let (text, kinds) = render(&$dir, $env);
            assert_eq!(kinds, vec![$(ErrorKind::$kind),+], "{text}");
            insta::assert_snapshot!(stringify!($test), text);
        }
    };
}

case!(yaml_syntax, config_case("yaml-syntax"), None, [Syntax]);
case!(json_syntax, config_case("json-syntax"), None, [Syntax]);
case!(duplicate_key, config_case("duplicate-key"), None, [Syntax]);
case!(
    unknown_field,
    config_case("unknown-field"),
    None,
    [UnknownField]
);
case!(
    unknown_top_level_field,
    config_case("unknown-top-level-field"),
    None,
    [UnknownField]
);
case!(
    unknown_enum_value,
    config_case("unknown-enum-value"),
    None,
    [InvalidValue]
);
case!(wrong_type, config_case("wrong-type"), None, [InvalidValue]);
case!(
    missing_field,
    config_case("missing-field"),
    None,
    [InvalidValue]
);
case!(empty_file, config_case("empty"), None, [InvalidValue]);
case!(
    invalid_values,
    config_case("invalid-values"),
    None,
    [
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue,
        InvalidValue
    ]
);
case!(
    unknown_references,
    config_case("unknown-references"),
    None,
    [
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference
    ]
);
case!(
    missing_policy_file,
    config_case("missing-policy-file"),
    None,
    [UnknownReference, UnknownReference, UnknownReference]
);
case!(
    missing_secrets,
    config_case("missing-secrets"),
    None,
    [MissingSecret]
);
case!(
    named_value_needs_one_source,
    config_case("named-value-needs-one-source"),
    None,
    [InvalidValue, InvalidValue, InvalidValue]
);
case!(
    duplicate_subscription_key,
    config_case("duplicate-subscription-key"),
    None,
    [Duplicate]
);
case!(
    openapi_missing,
    config_case("openapi-missing"),
    None,
    [UnknownReference]
);
case!(
    openapi_invalid,
    config_case("openapi-invalid"),
    None,
    [Specification, Specification]
);
case!(
    openapi_unknown_operation,
    config_case("openapi-unknown-operation"),
    None,
    [UnknownReference]
);
case!(
    unknown_logger,
    config_case("unknown-logger"),
    None,
    [UnknownReference, UnknownReference]
);

fn apiops_case(name: &str) -> PathBuf {
    Path::new("../../fixtures/apiops-errors").join(name)
}

case!(apiops_bad_json, apiops_case("bad-json"), None, [Syntax]);
case!(
    apiops_unknown_operation,
    apiops_case("unknown-operation"),
    None,
    [UnknownReference]
);
case!(
    apiops_unknown_references,
    apiops_case("unknown-references"),
    None,
    [
        UnknownReference,
        UnknownReference,
        UnknownReference,
        UnknownReference
    ]
);
case!(
    apiops_wrong_type,
    apiops_case("wrong-type"),
    None,
    [InvalidValue, InvalidValue]
);
case!(
    apiops_override_for_unknown_name,
    apiops_case("override-unknown"),
    Some("dev"),
    [UnknownReference, UnknownReference]
);

case!(
    apiops_invalid_values,
    apiops_case("invalid-values"),
    None,
    [
        InvalidValue,
        InvalidValue,
        InvalidValue,
        Duplicate,
        Duplicate
    ]
);
// APIOps: the loggers are the extracted `loggers/` entities.
case!(
    apiops_unknown_logger,
    apiops_case("unknown-logger"),
    None,
    [UnknownReference]
);

#[test]
fn a_path_that_is_neither_format_is_an_error() {
    let (text, kinds) = render(Path::new("../../fixtures/config"), None);
    assert_eq!(kinds, [ErrorKind::Io]);
    assert!(
        text.contains("neither an apim-emu.yaml nor an APIOps extractor folder"),
        "{text}"
    );
    // The folders below that are configurations are suggested.
    assert!(
        text.contains("= note: did you mean `../../fixtures/config/full`?"),
        "{text}"
    );
    let (text, kinds) = render(Path::new("../../fixtures/does-not-exist"), None);
    assert_eq!(kinds, [ErrorKind::Io]);
    assert!(
        text.starts_with("../../fixtures/does-not-exist: error: cannot read"),
        "{text}"
    );
}
