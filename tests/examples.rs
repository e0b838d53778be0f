//! The scenario folders under `examples/`: each loads with the gateway's loader (with an empty
//! environment: no example needs anything set up), each policy and fragment reads without an
//! error diagnostic and is accepted at the scope it is attached at, and what the policies name
//! (backends, fragments, named values) exists in the example's configuration, as APIM checks
//! on save.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apim_engine::service::{PolicyOrigin, PolicySource};
use apim_gateway::config::{Environment, LoadOptions, LoadedConfig, load};
use apim_policy::diag::{self, FileDiagnostics};
use apim_policy::{PolicyDocument, Scope};

/// The scenarios of the AI-gateway guides, one folder each.
const EXAMPLES: &[&str] = &[
    "access-control-jwt",
    "circuit-breaker-pool",
    "latency-routing",
    "per-model-retry",
    "priority-payg-spillover",
    "round-robin",
    "semantic-caching",
    "token-limit",
    "usage-tracking",
    "weighted-round-robin",
];

fn examples_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
}

fn load_example(name: &str) -> LoadedConfig {
    let options = LoadOptions {
        env: None,
        environment: Environment::Map(Default::default()),
    };
    match load(&examples_dir().join(name), &options) {
        Ok(loaded) => loaded,
        Err(e) => panic!("examples/{name} does not load:\n{}", e.render()),
    }
}

/// Every `*.xml` under `dir`, including folders that hold a configuration of their own.
fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    collect_xml(dir, out, true);
}

/// The `*.xml` files a configuration in `dir` owns: sub-folders with their own `apim-emu.yaml`
/// (a second version of the example, e.g. for `apim-emu diff`) are other configurations.
fn own_xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    collect_xml(dir, out, false);
}

fn collect_xml(dir: &Path, out: &mut Vec<PathBuf>, into_nested_configs: bool) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if into_nested_configs || !p.join("apim-emu.yaml").exists() {
                collect_xml(&p, out, into_nested_configs);
            }
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

/// Reads a policy document; panics with the rendered diagnostics on any error.
fn read_policy(path: &str, text: &str) -> PolicyDocument {
    let r = apim_policy::read(text.as_bytes(), path);
    let rendered = diag::render_human(&FileDiagnostics {
        path,
        source: text,
        diagnostics: &r.diagnostics,
    });
    match r.document {
        Some(doc) if !r.has_errors() => doc,
        _ => panic!("{path} has errors:\n{rendered}"),
    }
}

fn origin(source: &PolicySource) -> String {
    match &source.origin {
        PolicyOrigin::File(p) => p.display().to_string(),
        PolicyOrigin::Name(n) => n.clone(),
    }
}

/// Every policy document of a configuration with the scope it is attached at (`None` for
/// fragments, which take the scope of the document that includes them).
fn documents(loaded: &LoadedConfig) -> Vec<(Option<Scope>, &PolicySource)> {
    let s = &loaded.service;
    let mut out = Vec::new();
    if let Some(p) = &s.global_policy {
        out.push((Some(Scope::Global), p));
    }
    for w in &s.workspaces {
        out.extend(w.policy.as_ref().map(|p| (Some(Scope::Workspace), p)));
    }
    for p in &s.products {
        out.extend(p.policy.as_ref().map(|p| (Some(Scope::Product), p)));
    }
    for a in &s.apis {
        out.extend(a.policy.as_ref().map(|p| (Some(Scope::Api), p)));
        for o in &a.operations {
            out.extend(o.policy.as_ref().map(|p| (Some(Scope::Operation), p)));
        }
    }
    for f in &s.policy_fragments {
        out.push((None, &f.source));
    }
    out
}

#[test]
fn the_examples_folder_holds_every_scenario() {
    let found: BTreeSet<String> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = EXAMPLES.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expected);
    let index = std::fs::read_to_string(examples_dir().join("README.md"))
        .expect("examples/README.md exists");
    for name in EXAMPLES {
        assert!(
            examples_dir().join(name).join("README.md").is_file(),
            "examples/{name}/README.md is missing"
        );
        assert!(
            index.contains(&format!("({name}/)")),
            "examples/README.md does not link {name}/"
        );
    }
}

#[test]
fn every_example_loads_with_an_empty_environment() {
    for name in EXAMPLES {
        let loaded = load_example(name);
        let api = loaded
            .service
            .apis
            .iter()
            .find(|a| a.id == "azure-openai")
            .unwrap_or_else(|| panic!("examples/{name}: no `azure-openai` API"));
        assert_eq!(api.path, "openai", "examples/{name}");
        assert_eq!(
            api.subscription_key_parameter_names.header, "api-key",
            "examples/{name}"
        );
        let ops: BTreeSet<&str> = api.operations.iter().map(|o| o.id.as_str()).collect();
        assert!(
            ops.contains("ChatCompletions_Create") && ops.contains("embeddings_create"),
            "examples/{name}: operations {ops:?}"
        );
        assert!(
            !loaded.simulators.is_empty(),
            "examples/{name}: no simulator backend"
        );
        assert!(
            !loaded.service.subscriptions.is_empty(),
            "examples/{name}: no subscription with a demo key"
        );
    }
}

/// `serve` runs every example: each compiles into a plan with no diagnostic (no policy the
/// emulator refuses as not supported yet).
#[test]
fn every_example_compiles_into_a_plan() {
    let mut failures = Vec::new();
    for name in EXAMPLES {
        let loaded = load_example(name);
        let (services, _) = apim_engine::services::Services::for_tests(
            apim_engine::services::VirtualClock::at_default_start(),
            1,
        );
        if let Err(diags) = apim_engine::plan::compile(&loaded.service, &services) {
            let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            failures.push(format!("examples/{name}:\n  {}", text.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn token_limit_needs_nothing_but_the_simulator() {
    let loaded = load_example("token-limit");
    let simulated: BTreeSet<&str> = loaded.simulators.iter().map(|s| s.id.as_str()).collect();
    for b in &loaded.service.backends {
        assert!(
            simulated.contains(b.id.as_str()),
            "backend `{}` of examples/token-limit is not the simulator",
            b.id
        );
    }
    assert!(loaded.notes.is_empty(), "notes: {:?}", loaded.notes);
}

#[test]
fn every_policy_file_reads_without_errors() {
    let mut files = Vec::new();
    xml_files(&examples_dir(), &mut files);
    assert!(files.len() >= EXAMPLES.len(), "found {files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).expect("policy file is UTF-8");
        read_policy(&f.display().to_string(), &text);
    }
}

#[test]
fn every_policy_file_is_used_by_its_configuration() {
    let nested: Vec<String> = EXAMPLES
        .iter()
        .flat_map(|name| {
            std::fs::read_dir(examples_dir().join(name))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().join("apim-emu.yaml").exists())
                .map(move |e| format!("{name}/{}", e.file_name().to_string_lossy()))
        })
        .collect();
    for name in EXAMPLES
        .iter()
        .copied()
        .chain(nested.iter().map(String::as_str))
    {
        let loaded = load_example(name);
        let mut files = Vec::new();
        own_xml_files(&examples_dir().join(name), &mut files);
        let used: BTreeSet<PathBuf> = loaded
            .files
            .iter()
            .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
            .collect();
        for f in files {
            let f = f.canonicalize().expect("file exists");
            assert!(
                used.contains(&f),
                "{} is not referenced by examples/{name}/apim-emu.yaml",
                f.display()
            );
        }
    }
}

#[test]
fn policies_are_accepted_at_their_scope_and_name_what_exists() {
    for name in EXAMPLES {
        let loaded = load_example(name);
        let s = &loaded.service;
        let backends: BTreeSet<&str> = s.backends.iter().map(|b| b.id.as_str()).collect();
        let fragments: BTreeSet<&str> = s.policy_fragments.iter().map(|f| f.id.as_str()).collect();
        let named_values: BTreeSet<String> = s
            .named_values
            .iter()
            .map(|n| n.name.to_ascii_lowercase())
            .collect();
        for (scope, source) in documents(&loaded) {
            let path = origin(source);
            let doc = read_policy(&path, &source.text);
            if let Some(scope) = scope {
                let wrong: Vec<String> = apim_policy::check_scope(&doc, scope)
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.message.clone())
                    .collect();
                assert!(wrong.is_empty(), "{path} at {scope:?} scope: {wrong:?}");
            }
            let mut problems = Vec::new();
            doc.walk(&mut |e| {
                for attr in ["backend-id", "embeddings-backend-id"] {
                    if let Some(id) = e.attr(attr).and_then(|v| v.as_literal())
                        && !backends.contains(id)
                    {
                        problems.push(format!("{} {attr}=\"{id}\": no such backend", e.name()));
                    }
                }
                if let Some(id) = e.attr("fragment-id").and_then(|v| v.as_literal())
                    && !fragments.contains(id)
                {
                    problems.push(format!("fragment-id=\"{id}\": no such fragment"));
                }
            });
            for v in doc.values() {
                for r in v.named_values() {
                    if !named_values.contains(&r.name.to_ascii_lowercase()) {
                        problems.push(format!("{{{{{}}}}}: no such named value", r.name));
                    }
                }
            }
            assert!(problems.is_empty(), "{path}: {problems:?}");
        }
    }
}

/// The words that follow `marker` in `text`, up to the first character not in an id.
fn ids_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn readme_commands_use_what_the_example_configures() {
    for name in EXAMPLES {
        let loaded = load_example(name);
        let readme = std::fs::read_to_string(examples_dir().join(name).join("README.md"))
            .expect("README.md exists");
        assert!(
            readme.contains(&format!("apim-emu serve examples/{name}")),
            "examples/{name}/README.md does not say how to serve it"
        );
        let keys: BTreeSet<&str> = loaded
            .service
            .subscriptions
            .iter()
            .map(|s| s.primary_key.as_str())
            .collect();
        let used_keys = ids_after(&readme, "api-key: ");
        assert!(
            !used_keys.is_empty(),
            "examples/{name}/README.md calls nothing"
        );
        for key in used_keys {
            assert!(
                keys.contains(key),
                "examples/{name}/README.md uses key `{key}`, configured: {keys:?}"
            );
        }
        let deployments: BTreeSet<&str> = loaded
            .simulators
            .iter()
            .flat_map(|s| s.settings.deployments.keys().map(String::as_str))
            .collect();
        for d in ids_after(&readme, "/openai/deployments/") {
            assert!(
                deployments.contains(d),
                "examples/{name}/README.md calls deployment `{d}`, served: {deployments:?}"
            );
        }
    }
}
