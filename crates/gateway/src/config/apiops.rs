//! An APIOps extractor folder, read as it is:
//!
//! ```text
//! policy.xml                                   global policy
//! apis/<api>/apiInformation.json               {"properties": {path, serviceUrl, ...}}
//! apis/<api>/specification.(yaml|yml|json)     OpenAPI → operations
//! apis/<api>/policy.xml
//! apis/<api>/operations/<operation>/policy.xml
//! backends/<b>/backendInformation.json
//! named values/<n>/namedValueInformation.json
//! policy fragments/<f>/policyFragmentInformation.json + policy.xml
//! products/<p>/productInformation.json + policy.xml + apis.json (+ groups.json)
//! subscriptions/<s>/subscriptionInformation.json
//! groups/<g>/groupInformation.json
//! version sets/<v>/versionSetInformation.json
//! workspaces/<w>/workspaceInformation.json + policy.xml, and the layout above for its resources
//! configuration.<env>.yaml                     publisher overrides (--env), here or one level up
//! ```
//!
//! Secrets the folder does not hold come from environment variables: `APIM_NV_<NAME>` for a
//! named value (display name upper-cased, other characters `_`), `APIM_SUB_<NAME>_PRIMARY_KEY`
//! and `APIM_SUB_<NAME>_SECONDARY_KEY` for subscription keys, and `{#NAME#}` tokens in override
//! files from the variable `NAME`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apim_engine::service::{
    Api, Backend, BackendCredentials, BackendPool, BackendTls, BackendType, CircuitBreaker, Group,
    NamedValue, PolicyFragment, Product, ProductState, ServiceDefinition, Subscription,
    SubscriptionKeyParameterNames, SubscriptionScope, SubscriptionState, VersioningScheme,
    Workspace,
};
use serde::Deserialize;

use super::de::{did_you_mean, from_node};
use super::diag::{ConfigError, Diagnostic, ErrorKind};
use super::node::{FileId, Mark, Node, Value, parse_file};
use super::vars::{Vars, secret_var};
use super::{ConfigFormat, Ctx, LoadOptions, LoadedConfig};

const KNOWN_DIRS: &[&str] = &[
    "apis",
    "backends",
    "named values",
    "policy fragments",
    "products",
    "subscriptions",
    "groups",
    "version sets",
];

/// True when `dir` has any of the extractor's top-level entries.
pub fn looks_like_apiops(dir: &Path) -> bool {
    dir.join("policy.xml").is_file() || KNOWN_DIRS.iter().any(|d| dir.join(d).is_dir())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KeyNamesProps {
    header: Option<String>,
    query: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ApiProps {
    display_name: Option<String>,
    path: Option<String>,
    service_url: Option<String>,
    protocols: Option<Vec<String>>,
    subscription_required: Option<bool>,
    subscription_key_parameter_names: Option<KeyNamesProps>,
    api_revision: Option<String>,
    is_current: Option<bool>,
    api_version: Option<String>,
    api_version_set_id: Option<String>,
    #[serde(rename = "type")]
    api_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NamedValueProps {
    display_name: Option<String>,
    value: Option<String>,
    secret: bool,
    key_vault: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BackendProps {
    #[serde(rename = "type")]
    backend_type: Option<String>,
    url: Option<String>,
    protocol: Option<String>,
    title: Option<String>,
    description: Option<String>,
    resource_id: Option<String>,
    credentials: Option<BackendCredentials>,
    tls: Option<BackendTls>,
    circuit_breaker: Option<CircuitBreaker>,
    pool: Option<BackendPool>,
    azure_region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ProductProps {
    display_name: Option<String>,
    description: Option<String>,
    subscription_required: Option<bool>,
    approval_required: Option<bool>,
    subscriptions_limit: Option<i32>,
    state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SubscriptionProps {
    display_name: Option<String>,
    scope: Option<String>,
    primary_key: Option<String>,
    secondary_key: Option<String>,
    state: Option<String>,
    owner_id: Option<String>,
    allow_tracing: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct VersionSetProps {
    versioning_scheme: Option<String>,
    version_query_name: Option<String>,
    version_header_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct GroupProps {
    display_name: Option<String>,
}

/// Overrides from `configuration.<env>.yaml`: section → resource name → properties.
#[derive(Default)]
struct Overrides {
    sections: BTreeMap<String, Vec<(String, Node, bool)>>,
}

impl Overrides {
    fn take(&mut self, section: &str, name: &str) -> Option<Node> {
        let list = self.sections.get_mut(section)?;
        let entry = list.iter_mut().find(|(n, _, _)| n == name)?;
        entry.2 = true;
        Some(entry.1.clone())
    }
}

struct Loader {
    ctx: Ctx,
    root: PathBuf,
    overrides: Overrides,
    /// The folder whose resources are being read: the root, or `workspaces/<w>`.
    base: PathBuf,
    /// The workspace of the resources being read.
    workspace: Option<String>,
}

/// Directories under `dir`, sorted by name, hidden ones skipped.
fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                let name = e.file_name().to_string_lossy().to_string();
                if !name.starts_with('.') {
                    out.push((name, p));
                }
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn load(dir: &Path, options: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let vars = Vars::load(options.environment.clone(), dir)?;
    let mut l = Loader {
        ctx: Ctx::new(vars),
        root: dir.to_path_buf(),
        overrides: Overrides::default(),
        base: dir.to_path_buf(),
        workspace: None,
    };
    if let Some(env) = &options.env {
        l.read_overrides(env)?;
    }
    let service = l.service();
    l.check_unused_overrides();
    let Loader { mut ctx, root, .. } = l;
    // The loggers APIM validates `logger-id` against: the extracted `loggers/` entities.
    let mut loggers: Vec<String> = subdirs(&root.join("loggers"))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for (_, ws) in subdirs(&root.join("workspaces")) {
        loggers.extend(
            subdirs(&ws.join("loggers"))
                .into_iter()
                .map(|(name, _)| name),
        );
    }
    let ids: Vec<&str> = loggers.iter().map(String::as_str).collect();
    ctx.errors
        .extend(super::references::check_logger_ids(&service, &ids));
    ctx.finish(service, ConfigFormat::ApiOps, &root, &root, Vec::new())
}

impl Loader {
    fn read_overrides(&mut self, env: &str) -> Result<(), ConfigError> {
        let name = format!("configuration.{env}.yaml");
        let candidates = [self.root.join(&name), self.root.join("..").join(&name)];
        let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
            return Err(ConfigError::one(Diagnostic::at_file(
                ErrorKind::Io,
                &self.root.join(&name),
                format!("--env {env}: no {name} in the folder or its parent"),
            )));
        };
        let Some(fid) = self.ctx.read(&path, None) else {
            return Err(ConfigError {
                diagnostics: std::mem::take(&mut self.ctx.errors),
            });
        };
        let mut node = parse_file(&self.ctx.sources, fid)?;
        self.substitute_tokens(&mut node);
        for (k, v) in node.entries() {
            let Some(section) = k.as_str() else { continue };
            match section {
                "namedValues" | "backends" | "apis" | "products" | "subscriptions" | "groups"
                | "versionSets" | "policyFragments" => {}
                "apimServiceName" => continue,
                _ => {
                    self.ctx.notes.push(format!(
                        "{}: `{section}` overrides are not emulated; ignored",
                        path.display()
                    ));
                    continue;
                }
            }
            let mut list = Vec::new();
            for item in v.items() {
                let Some(name) = item.get("name").and_then(Node::as_str) else {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        item.mark,
                        "an override entry needs a `name`",
                    );
                    continue;
                };
                let props = item
                    .get("properties")
                    .cloned()
                    .unwrap_or(Node::new(Value::Map(Vec::new()), item.mark));
                for (ik, _) in item.entries() {
                    match ik.as_str() {
                        Some("name") | Some("properties") => {}
                        Some(other) => self.ctx.notes.push(format!(
                            "{}:{}:{}: `{other}` overrides of {section} are not emulated; ignored",
                            path.display(),
                            ik.mark.line,
                            ik.mark.col
                        )),
                        None => {}
                    }
                }
                let mut named = props;
                // Keep the entry's own position for "unknown name" errors.
                named.mark = item.get("name").map(|n| n.mark).unwrap_or(item.mark);
                list.push((name.to_string(), named, false));
            }
            self.overrides.sections.insert(section.to_string(), list);
        }
        Ok(())
    }

    /// `{#NAME#}` in override values (the APIOps pipelines' token syntax) → environment variable.
    fn substitute_tokens(&mut self, node: &mut Node) {
        match &mut node.value {
            Value::Str(s) => {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(i) = rest.find("{#") {
                    let Some(j) = rest[i + 2..].find("#}") else {
                        break;
                    };
                    let var = &rest[i + 2..i + 2 + j];
                    out.push_str(&rest[..i]);
                    let v = self
                        .ctx
                        .secret(var, format!("token `{{#{var}#}}`"), node.mark);
                    out.push_str(&v.unwrap_or_default());
                    rest = &rest[i + 2 + j + 2..];
                }
                out.push_str(rest);
                *s = out;
            }
            Value::Seq(items) => items.iter_mut().for_each(|n| self.substitute_tokens(n)),
            Value::Map(entries) => entries
                .iter_mut()
                .for_each(|(_, v)| self.substitute_tokens(v)),
            _ => {}
        }
    }

    fn check_unused_overrides(&mut self) {
        let sections = std::mem::take(&mut self.overrides.sections);
        for (section, list) in &sections {
            for (name, node, used) in list {
                if !used {
                    self.ctx.error(
                        ErrorKind::UnknownReference,
                        node.mark,
                        format!("override for unknown {} `{name}`", singular(section)),
                    );
                }
            }
        }
    }

    /// Reads `<dir>/<file>` as `{"properties": {...}}` with overrides merged; the properties node.
    fn info(
        &mut self,
        dir: &Path,
        file: &str,
        section: &str,
        name: &str,
    ) -> Option<(Node, FileId)> {
        let path = dir.join(file);
        let fid = self.ctx.read(&path, None)?;
        let mut node = match parse_file(&self.ctx.sources, fid) {
            Ok(n) => n,
            Err(d) => {
                self.ctx.errors.push(d);
                return None;
            }
        };
        if !matches!(node.value, Value::Map(_)) {
            self.ctx.error(
                ErrorKind::InvalidValue,
                node.mark,
                format!("expected a JSON object, found {}", node.kind_name()),
            );
            return None;
        }
        let mut props = node
            .get("properties")
            .cloned()
            .unwrap_or(Node::new(Value::Map(Vec::new()), node.mark));
        if let Some(o) = self.overrides.take(section, name) {
            props.merge(&o);
        }
        node = props;
        Some((node, fid))
    }

    /// The properties as `T`; `None` (error recorded) when they do not fit, so that no
    /// follow-on errors are reported about a half-read entity.
    fn props<T: for<'de> Deserialize<'de>>(&mut self, node: &Node) -> Option<T> {
        match from_node::<T>(node) {
            Ok(v) => Some(v),
            Err(e) => {
                let d = e.into_diagnostic(&self.ctx.sources, node.mark);
                self.ctx.errors.push(d);
                None
            }
        }
    }

    fn service(&mut self) -> ServiceDefinition {
        let mut sd = ServiceDefinition {
            service_name: self
                .root
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
                .unwrap_or_else(|| "apim-emu".into()),
            region: "local".into(),
            ..Default::default()
        };
        let root = self.root.clone();
        let global = root.join("policy.xml");
        if global.is_file() {
            sd.global_policy = self.ctx.policy_at(&global);
        }
        for (name, _) in subdirs(&root) {
            if !KNOWN_DIRS.contains(&name.as_str()) && name != "workspaces" {
                self.ctx.notes.push(format!(
                    "{}: `{name}/` is not emulated; ignored",
                    root.display()
                ));
            }
        }
        self.resources(&mut sd);
        // Workspaces: `workspaces/<w>/` holds the same layout, for that workspace.
        for (name, dir) in subdirs(&root.join("workspaces")) {
            let info = dir.join("workspaceInformation.json");
            let mut display = name.clone();
            if info.is_file() {
                if let Some((node, _)) =
                    self.info(&dir, "workspaceInformation.json", "workspaces", &name)
                {
                    if let Some(d) = node.get("displayName").and_then(Node::as_str) {
                        display = d.to_string();
                    }
                }
            }
            let policy_path = dir.join("policy.xml");
            let policy = if policy_path.is_file() {
                self.ctx.policy_at(&policy_path)
            } else {
                None
            };
            sd.workspaces.push(Workspace {
                id: name.clone(),
                name: display,
                policy,
            });
            for (sub, _) in subdirs(&dir) {
                if !KNOWN_DIRS.contains(&sub.as_str()) {
                    self.ctx.notes.push(format!(
                        "{}: `{sub}/` is not emulated; ignored",
                        dir.display()
                    ));
                }
            }
            self.base = dir;
            self.workspace = Some(name);
            self.resources(&mut sd);
        }
        self.base = root;
        self.workspace = None;
        sd
    }

    /// The resources of the service or of one workspace (`self.base`).
    fn resources(&mut self, sd: &mut ServiceDefinition) {
        self.named_values(sd);
        self.fragments(sd);
        self.groups(sd);
        let version_sets = self.version_sets();
        self.apis(sd, &version_sets);
        self.backends(sd);
        self.products(sd);
        self.subscriptions(sd);
    }

    fn named_values(&mut self, sd: &mut ServiceDefinition) {
        for (name, dir) in subdirs(&self.base.join("named values")) {
            let Some((node, fid)) =
                self.info(&dir, "namedValueInformation.json", "namedValues", &name)
            else {
                continue;
            };
            let Some(p) = self.props::<NamedValueProps>(&node) else {
                continue;
            };
            let display = p.display_name.clone().unwrap_or_else(|| name.clone());
            let value = match p.value {
                Some(v) => v,
                None => {
                    let var = secret_var("APIM_NV_", &display);
                    let why = if p.key_vault.is_some() {
                        "Key Vault named value"
                    } else if p.secret {
                        "secret named value"
                    } else {
                        "named value without a value"
                    };
                    let mark = node.get("displayName").map(|n| n.mark).unwrap_or(Mark {
                        file: fid,
                        line: 1,
                        col: 1,
                    });
                    self.ctx
                        .secret(&var, format!("{why} `{display}`"), mark)
                        .unwrap_or_default()
                }
            };
            if sd
                .named_values
                .iter()
                .any(|n| n.name.eq_ignore_ascii_case(&display))
            {
                let mark = node.get("displayName").map(|n| n.mark).unwrap_or(node.mark);
                self.ctx.error(ErrorKind::Duplicate, mark, format!("another named value is also called `{display}` (names are case-insensitive)"));
            }
            sd.named_values.push(NamedValue {
                name: display,
                value,
                secret: p.secret || p.key_vault.is_some(),
            });
        }
    }

    fn fragments(&mut self, sd: &mut ServiceDefinition) {
        for (name, dir) in subdirs(&self.base.join("policy fragments")) {
            // The information file carries only description and format; read it for errors.
            if dir.join("policyFragmentInformation.json").is_file() {
                let _ = self.info(
                    &dir,
                    "policyFragmentInformation.json",
                    "policyFragments",
                    &name,
                );
            }
            let policy = dir.join("policy.xml");
            if !policy.is_file() {
                self.ctx.errors.push(Diagnostic::at_file(
                    ErrorKind::UnknownReference,
                    &policy,
                    format!("policy fragment `{name}` has no policy.xml"),
                ));
                continue;
            }
            if let Some(source) = self.ctx.policy_at(&policy) {
                sd.policy_fragments
                    .push(PolicyFragment { id: name, source });
            }
        }
    }

    fn groups(&mut self, sd: &mut ServiceDefinition) {
        for (name, dir) in subdirs(&self.base.join("groups")) {
            let Some((node, _)) = self.info(&dir, "groupInformation.json", "groups", &name) else {
                continue;
            };
            let Some(p) = self.props::<GroupProps>(&node) else {
                continue;
            };
            sd.groups.push(Group {
                name: p.display_name.unwrap_or_else(|| name.clone()),
                id: name,
            });
        }
    }

    fn version_sets(&mut self) -> BTreeMap<String, VersioningScheme> {
        let mut out = BTreeMap::new();
        for (name, dir) in subdirs(&self.base.join("version sets")) {
            let Some((node, _)) =
                self.info(&dir, "versionSetInformation.json", "versionSets", &name)
            else {
                continue;
            };
            let Some(p) = self.props::<VersionSetProps>(&node) else {
                continue;
            };
            let scheme = match p
                .versioning_scheme
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("segment") => VersioningScheme::Segment,
                Some("query") => VersioningScheme::Query {
                    name: p.version_query_name.unwrap_or_else(|| "api-version".into()),
                },
                Some("header") => VersioningScheme::Header {
                    name: p
                        .version_header_name
                        .unwrap_or_else(|| "Api-Version".into()),
                },
                other => {
                    let mark = node
                        .get("versioningScheme")
                        .map(|n| n.mark)
                        .unwrap_or(node.mark);
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark,
                        format!(
                            "versioningScheme `{}`: expected Segment, Query or Header",
                            other.unwrap_or("")
                        ),
                    );
                    continue;
                }
            };
            out.insert(name, scheme);
        }
        out
    }

    fn apis(
        &mut self,
        sd: &mut ServiceDefinition,
        version_sets: &BTreeMap<String, VersioningScheme>,
    ) {
        for (name, dir) in subdirs(&self.base.join("apis")) {
            let (root_name, rev) = match name.split_once(";rev=") {
                Some((r, n)) => (r.to_string(), Some(n.to_string())),
                None => (name.clone(), None),
            };
            let Some((node, _)) = self.info(&dir, "apiInformation.json", "apis", &name) else {
                continue;
            };
            let Some(p) = self.props::<ApiProps>(&node) else {
                continue;
            };
            let mark_of = |k: &str| node.get(k).map(|n| n.mark).unwrap_or(node.mark);
            if let Some(t) = p.api_type.as_deref() {
                if !t.eq_ignore_ascii_case("http") {
                    self.ctx
                        .notes
                        .push(format!("api `{name}`: type `{t}` is served as plain HTTP"));
                }
            }
            if let Some(u) = &p.service_url {
                if let Err(e) = apim_engine::http::Url::parse(u) {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark_of("serviceUrl"),
                        format!("invalid URL: {e}"),
                    );
                }
            }
            let mut names = SubscriptionKeyParameterNames::default();
            if let Some(k) = p.subscription_key_parameter_names {
                if let Some(h) = k.header {
                    names.header = h;
                }
                if let Some(q) = k.query {
                    names.query = q;
                }
            }
            let versioning_scheme = match &p.api_version_set_id {
                None => None,
                Some(id) => {
                    let vs = id.rsplit('/').next().unwrap_or(id);
                    match version_sets.get(vs) {
                        Some(s) => Some(s.clone()),
                        None => {
                            let known: Vec<&str> =
                                version_sets.keys().map(String::as_str).collect();
                            let hint = did_you_mean(vs, known)
                                .map(|m| format!(", did you mean `{m}`?"))
                                .unwrap_or_default();
                            self.ctx.error(
                                ErrorKind::UnknownReference,
                                mark_of("apiVersionSetId"),
                                format!("unknown version set `{vs}`{hint}"),
                            );
                            None
                        }
                    }
                }
            };
            let mut operations = Vec::new();
            let spec = [
                "specification.yaml",
                "specification.yml",
                "specification.json",
            ]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
            match spec {
                Some(spec) => {
                    if let Some(fid) = self.ctx.read(&spec, None) {
                        match parse_file(&self.ctx.sources, fid) {
                            Err(d) => self.ctx.errors.push(d),
                            Ok(n) => match super::openapi::import(&self.ctx.sources, &n) {
                                Ok(ops) => operations.extend(ops.into_iter().map(|o| o.operation)),
                                Err(ds) => self.ctx.errors.extend(ds),
                            },
                        }
                    }
                }
                None => {
                    for other in [
                        "specification.wsdl",
                        "specification.wadl",
                        "specification.graphql",
                    ] {
                        if dir.join(other).is_file() {
                            self.ctx.notes.push(format!(
                                "api `{name}`: {other} is not imported; the API has no operations"
                            ));
                        }
                    }
                }
            }
            for (op, op_dir) in subdirs(&dir.join("operations")) {
                let policy = op_dir.join("policy.xml");
                if !policy.is_file() {
                    continue;
                }
                let Some(source) = self.ctx.policy_at(&policy) else {
                    continue;
                };
                match operations
                    .iter_mut()
                    .find(|o: &&mut apim_engine::service::Operation| o.id == op)
                {
                    Some(o) => o.policy = Some(source),
                    None => {
                        let ids: Vec<&str> = operations.iter().map(|o| o.id.as_str()).collect();
                        let hint = match did_you_mean(&op, ids.iter().copied()) {
                            Some(m) => format!(", did you mean `{m}`?"),
                            None if ids.is_empty() => {
                                " (the API has no specification with operations)".to_string()
                            }
                            None => String::new(),
                        };
                        self.ctx.errors.push(Diagnostic::at_file(
                            ErrorKind::UnknownReference,
                            &policy,
                            format!("policy for unknown operation `{op}` of api `{name}`{hint}"),
                        ));
                    }
                }
            }
            let api_policy = dir.join("policy.xml");
            let policy = if api_policy.is_file() {
                self.ctx.policy_at(&api_policy)
            } else {
                None
            };
            sd.apis.push(Api {
                id: name.clone(),
                name: p.display_name.unwrap_or_else(|| root_name.clone()),
                path: p.path.unwrap_or_default().trim_matches('/').to_string(),
                service_url: p.service_url,
                protocols: p.protocols.unwrap_or_else(|| vec!["https".into()]),
                subscription_required: p.subscription_required.unwrap_or(true),
                subscription_key_parameter_names: names,
                revision: rev.clone().or(p.api_revision).unwrap_or_else(|| "1".into()),
                is_current_revision: p.is_current.unwrap_or(rev.is_none()),
                version: p.api_version,
                versioning_scheme,
                policy,
                operations,
                workspace: self.workspace.clone(),
            });
        }
    }

    fn backends(&mut self, sd: &mut ServiceDefinition) {
        let first = sd.backends.len();
        let mut pending = Vec::new();
        let mut credential_texts: Vec<Vec<(String, Mark)>> = Vec::new();
        for (name, dir) in subdirs(&self.base.join("backends")) {
            let Some((node, _)) = self.info(&dir, "backendInformation.json", "backends", &name)
            else {
                continue;
            };
            let Some(p) = self.props::<BackendProps>(&node) else {
                continue;
            };
            let mark_of = |k: &str| node.get(k).map(|n| n.mark).unwrap_or(node.mark);
            // Backend features that change behaviour but are not emulated are reported.
            let unsupported = [
                (node.get("proxy"), "proxy"),
                (
                    node.get("properties")
                        .and_then(|p| p.get("serviceFabricCluster")),
                    "Service Fabric",
                ),
                (
                    node.get("pool").and_then(|p| p.get("sessionAffinity")),
                    "pool session affinity",
                ),
            ];
            for (n, what) in unsupported {
                if let Some(n) = n {
                    let file = self.ctx.sources.path(n.mark.file).display().to_string();
                    self.ctx.notes.push(format!(
                        "{file}:{}:{}: backend `{name}`: {what} is not emulated; ignored",
                        n.mark.line, n.mark.col
                    ));
                }
            }
            let backend_type = match p
                .backend_type
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("single") => BackendType::Single,
                Some("pool") => BackendType::Pool,
                Some(other) => {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark_of("type"),
                        format!("backend type `{other}`: expected Single or Pool"),
                    );
                    BackendType::Single
                }
            };
            if let (BackendType::Single, Some(u)) = (backend_type, &p.url) {
                if let Err(e) = apim_engine::http::Url::parse(u) {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark_of("url"),
                        format!("invalid URL: {e}"),
                    );
                }
            }
            if backend_type == BackendType::Single && p.url.is_none() {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    node.mark,
                    format!("backend `{name}` needs a `url`"),
                );
            }
            pending.push(node.clone());
            let mut texts = Vec::new();
            if let Some(c) = node.get("credentials") {
                for section in ["header", "query"] {
                    for (_, v) in c.get(section).map(Node::entries).unwrap_or(&[]) {
                        let items: Vec<&Node> = match &v.value {
                            Value::Seq(items) => items.iter().collect(),
                            _ => vec![v],
                        };
                        for i in items {
                            if let Some(t) = i.as_str() {
                                texts.push((t.to_string(), i.mark));
                            }
                        }
                    }
                }
                if let Some(p) = c.get("authorization").and_then(|a| a.get("parameter")) {
                    if let Some(t) = p.as_str() {
                        texts.push((t.to_string(), p.mark));
                    }
                }
            }
            credential_texts.push(texts);
            sd.backends.push(Backend {
                id: name,
                backend_type,
                url: p.url,
                protocol: p.protocol,
                title: p.title,
                description: p.description,
                resource_id: p.resource_id,
                credentials: p.credentials.unwrap_or_default(),
                tls: p.tls.unwrap_or_default(),
                circuit_breaker: p.circuit_breaker,
                pool: p.pool,
                azure_region: p.azure_region,
            });
        }
        // `{{name}}` in credentials must name a named value, as APIM checks on save.
        let named = apim_engine::named_values::NamedValues::from_service(sd);
        let nv_names: Vec<String> = sd.named_values.iter().map(|n| n.name.clone()).collect();
        let nv_names: Vec<&str> = nv_names.iter().map(String::as_str).collect();
        for texts in &credential_texts {
            for (text, mark) in texts {
                self.ctx
                    .check_named_value_refs(&named, &nv_names, text, *mark);
            }
        }
        // Pool members must name existing Single backends: checked at the member's line.
        let names: Vec<(String, BackendType)> = sd
            .backends
            .iter()
            .map(|b| (b.id.clone(), b.backend_type))
            .collect();
        for (b, node) in sd.backends[first..].iter().zip(&pending) {
            let here = |n: Option<&Node>, fallback: Mark| n.map(|n| n.mark).unwrap_or(fallback);
            if let Some(pool) = &b.pool {
                let pool_node = node.get("pool");
                let members = pool_node.and_then(|p| p.get("services"));
                let pool_mark = here(pool_node, node.mark);
                if pool.services.is_empty() || pool.services.len() > 30 {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        here(members, pool_mark),
                        "a pool holds 1 to 30 backends",
                    );
                }
                for (i, m) in pool.services.iter().enumerate() {
                    let item = members.and_then(|s| s.items().get(i));
                    let field =
                        |k: &str| here(item.and_then(|it| it.get(k)), here(item, pool_mark));
                    for (value, key) in [(m.priority, "priority"), (m.weight, "weight")] {
                        if value.is_some_and(|v| v > 100) {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                field(key),
                                format!("{key} must be 0..100"),
                            );
                        }
                    }
                    let target = m.backend_id();
                    match names.iter().find(|(n, _)| n == target) {
                        None => {
                            let hint = did_you_mean(target, names.iter().map(|(n, _)| n.as_str()))
                                .map(|x| format!(", did you mean `{x}`?"))
                                .unwrap_or_default();
                            self.ctx.error(
                                ErrorKind::UnknownReference,
                                field("id"),
                                format!("unknown backend `{target}`{hint}"),
                            );
                        }
                        Some((_, BackendType::Pool)) => {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                field("id"),
                                format!("`{target}` is a pool; pools cannot contain pools"),
                            );
                        }
                        _ => {}
                    }
                }
            }
            if let Some(cb) = &b.circuit_breaker {
                let rules = node.get("circuitBreaker").and_then(|c| c.get("rules"));
                let rules_mark = here(rules, here(node.get("circuitBreaker"), node.mark));
                if cb.rules.len() > 1 {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        rules_mark,
                        "APIM supports one circuit breaker rule per backend",
                    );
                }
                for (i, r) in cb.rules.iter().enumerate() {
                    let fc_node = rules
                        .and_then(|rs| rs.items().get(i))
                        .and_then(|r| r.get("failureCondition"));
                    let fc = &r.failure_condition;
                    if let Some(msg) = super::failure_condition_problem(fc.count, fc.percentage) {
                        self.ctx.error(
                            ErrorKind::InvalidValue,
                            here(fc_node, rules_mark),
                            format!("circuit breaker rule `{}`: {msg}", r.name),
                        );
                    }
                    let ranges = fc_node.and_then(|f| f.get("statusCodeRanges"));
                    for (j, range) in fc.status_code_ranges.iter().enumerate() {
                        if range.min > range.max || range.min < 100 || range.max > 599 {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                here(
                                    ranges.and_then(|rs| rs.items().get(j)),
                                    here(fc_node, rules_mark),
                                ),
                                "a status code range needs 100 <= min <= max <= 599",
                            );
                        }
                    }
                }
            }
        }
    }

    fn products(&mut self, sd: &mut ServiceDefinition) {
        let api_ids: Vec<String> = sd.apis.iter().map(|a| a.id.clone()).collect();
        for (name, dir) in subdirs(&self.base.join("products")) {
            let Some((node, _)) = self.info(&dir, "productInformation.json", "products", &name)
            else {
                continue;
            };
            let Some(p) = self.props::<ProductProps>(&node) else {
                continue;
            };
            let mut apis = Vec::new();
            let apis_json = dir.join("apis.json");
            if apis_json.is_file() {
                for (api, mark) in self.name_list(&apis_json) {
                    if api_ids.contains(&api) {
                        apis.push(api);
                    } else {
                        let hint = did_you_mean(&api, api_ids.iter().map(String::as_str))
                            .map(|m| format!(", did you mean `{m}`?"))
                            .unwrap_or_default();
                        self.ctx.error(
                            ErrorKind::UnknownReference,
                            mark,
                            format!("product `{name}` lists unknown api `{api}`{hint}"),
                        );
                    }
                }
            }
            // Newer extractor layout: products/<p>/apis/<api>/productApiInformation.json.
            for (api, _) in subdirs(&dir.join("apis")) {
                if api_ids.contains(&api) {
                    if !apis.contains(&api) {
                        apis.push(api);
                    }
                } else {
                    self.ctx.errors.push(Diagnostic::at_file(
                        ErrorKind::UnknownReference,
                        &dir.join("apis").join(&api),
                        format!("product `{name}` lists unknown api `{api}`"),
                    ));
                }
            }
            let mut groups = Vec::new();
            let groups_json = dir.join("groups.json");
            if groups_json.is_file() {
                for (g, mark) in self.name_list(&groups_json) {
                    if sd.group(&g).is_none() {
                        match builtin_group(&g) {
                            Some(b) => sd.groups.push(b),
                            None => {
                                self.ctx.error(
                                    ErrorKind::UnknownReference,
                                    mark,
                                    format!("product `{name}` lists unknown group `{g}`"),
                                );
                                continue;
                            }
                        }
                    }
                    groups.push(g);
                }
            }
            let policy_path = dir.join("policy.xml");
            let policy = if policy_path.is_file() {
                self.ctx.policy_at(&policy_path)
            } else {
                None
            };
            let state = match p.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("notpublished") => ProductState::NotPublished,
                None | Some("published") => ProductState::Published,
                Some(other) => {
                    let mark = node.get("state").map(|n| n.mark).unwrap_or(node.mark);
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark,
                        format!("product state `{other}`: expected published or notPublished"),
                    );
                    ProductState::Published
                }
            };
            sd.products.push(Product {
                name: p.display_name.unwrap_or_else(|| name.clone()),
                id: name,
                description: p.description.unwrap_or_default(),
                state,
                subscription_required: p.subscription_required.unwrap_or(true),
                approval_required: p.approval_required.unwrap_or(false),
                subscriptions_limit: p.subscriptions_limit,
                apis,
                groups,
                policy,
                workspace: self.workspace.clone(),
            });
        }
    }

    /// `[{"name": "x"}, ...]` files (apis.json, groups.json).
    fn name_list(&mut self, path: &Path) -> Vec<(String, Mark)> {
        let Some(fid) = self.ctx.read(path, None) else {
            return Vec::new();
        };
        let node = match parse_file(&self.ctx.sources, fid) {
            Ok(n) => n,
            Err(d) => {
                self.ctx.errors.push(d);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        if !matches!(node.value, Value::Seq(_)) {
            self.ctx.error(
                ErrorKind::InvalidValue,
                node.mark,
                "expected a list of {\"name\": ...} objects",
            );
            return out;
        }
        for item in node.items() {
            match item.get("name").and_then(Node::as_str).or(item.as_str()) {
                Some(n) => out.push((
                    n.to_string(),
                    item.get("name").map(|x| x.mark).unwrap_or(item.mark),
                )),
                None => self.ctx.error(
                    ErrorKind::InvalidValue,
                    item.mark,
                    "expected {\"name\": ...}",
                ),
            }
        }
        out
    }

    fn subscriptions(&mut self, sd: &mut ServiceDefinition) {
        for (name, dir) in subdirs(&self.base.join("subscriptions")) {
            let Some((node, fid)) =
                self.info(&dir, "subscriptionInformation.json", "subscriptions", &name)
            else {
                continue;
            };
            let Some(p) = self.props::<SubscriptionProps>(&node) else {
                continue;
            };
            let mark_of = |k: &str| {
                node.get(k).map(|n| n.mark).unwrap_or(Mark {
                    file: fid,
                    line: 1,
                    col: 1,
                })
            };
            let scope_mark = mark_of("scope");
            let scope = match p.scope.as_deref() {
                None => {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        node.mark,
                        format!("subscription `{name}` needs a `scope`"),
                    );
                    SubscriptionScope::AllApis
                }
                Some(s) => match parse_scope(s) {
                    Some(SubscriptionScope::Product(p)) => {
                        if sd.product(&p).is_none() {
                            self.ctx.error(
                                ErrorKind::UnknownReference,
                                scope_mark,
                                format!("unknown product `{p}`"),
                            );
                        }
                        SubscriptionScope::Product(p)
                    }
                    Some(SubscriptionScope::Api(a)) => {
                        if sd.api(&a).is_none() {
                            self.ctx.error(
                                ErrorKind::UnknownReference,
                                scope_mark,
                                format!("unknown api `{a}`"),
                            );
                        }
                        SubscriptionScope::Api(a)
                    }
                    Some(s) => s,
                    None => {
                        self.ctx.error(ErrorKind::InvalidValue, scope_mark, format!("scope `{s}`: expected `/apis`, `/apis/<api>` or `/products/<product>`"));
                        SubscriptionScope::AllApis
                    }
                },
            };
            let primary_key = match p.primary_key {
                Some(k) => k,
                None => {
                    let var = secret_var("APIM_SUB_", &name) + "_PRIMARY_KEY";
                    self.ctx
                        .secret(
                            &var,
                            format!("primary key of subscription `{name}`"),
                            mark_of("displayName"),
                        )
                        .unwrap_or_default()
                }
            };
            let secondary_key = p
                .secondary_key
                .or_else(|| {
                    self.ctx
                        .vars
                        .get(&(secret_var("APIM_SUB_", &name) + "_SECONDARY_KEY"))
                })
                .unwrap_or_default();
            let state = match p.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("active") => SubscriptionState::Active,
                Some("suspended") => SubscriptionState::Suspended,
                Some("submitted") => SubscriptionState::Submitted,
                Some("rejected") => SubscriptionState::Rejected,
                Some("cancelled") => SubscriptionState::Cancelled,
                Some("expired") => SubscriptionState::Expired,
                Some(other) => {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        mark_of("state"),
                        format!("subscription state `{other}`"),
                    );
                    SubscriptionState::Active
                }
            };
            // Users are not extracted; an owner is kept only when the folder defines it.
            let user_id = p.owner_id.and_then(|o| {
                let id = o.rsplit('/').next().unwrap_or(&o).to_string();
                sd.user(&id).is_some().then_some(id)
            });
            for (key, field) in [
                (&primary_key, "primaryKey"),
                (&secondary_key, "secondaryKey"),
            ] {
                if !key.is_empty()
                    && sd
                        .subscriptions
                        .iter()
                        .any(|x| &x.primary_key == key || &x.secondary_key == key)
                {
                    let mark = node
                        .get(field)
                        .map(|n| n.mark)
                        .unwrap_or(mark_of("displayName"));
                    self.ctx.error(
                        ErrorKind::Duplicate,
                        mark,
                        format!("subscription `{name}` uses a key of another subscription; keys identify subscriptions"),
                    );
                }
            }
            sd.subscriptions.push(Subscription {
                id: name.clone(),
                name: p.display_name.unwrap_or(name),
                primary_key,
                secondary_key,
                scope,
                state,
                user_id,
                allow_tracing: p.allow_tracing.unwrap_or(false),
                ..Default::default()
            });
        }
    }
}

fn singular(section: &str) -> &str {
    match section {
        "namedValues" => "named value",
        "backends" => "backend",
        "apis" => "api",
        "products" => "product",
        "subscriptions" => "subscription",
        "groups" => "group",
        "versionSets" => "version set",
        "policyFragments" => "policy fragment",
        other => other,
    }
}

/// APIM's built-in groups, which exports reference without extracting.
fn builtin_group(id: &str) -> Option<Group> {
    let name = match id {
        "administrators" => "Administrators",
        "developers" => "Developers",
        "guests" => "Guests",
        _ => return None,
    };
    Some(Group {
        id: id.into(),
        name: name.into(),
    })
}

/// `/apis`, `/apis/<id>`, `/products/<id>`, or a full ARM id ending in one of them.
fn parse_scope(s: &str) -> Option<SubscriptionScope> {
    let parts: Vec<&str> = s.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    if n >= 2 && parts[n - 2] == "products" && !parts[n - 1].is_empty() {
        return Some(SubscriptionScope::Product(parts[n - 1].to_string()));
    }
    if n >= 2 && parts[n - 2] == "apis" && !parts[n - 1].is_empty() {
        return Some(SubscriptionScope::Api(parts[n - 1].to_string()));
    }
    if n >= 1 && parts[n - 1] == "apis" {
        return Some(SubscriptionScope::AllApis);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(parse_scope("/apis"), Some(SubscriptionScope::AllApis));
        assert_eq!(
            parse_scope("/apis/echo"),
            Some(SubscriptionScope::Api("echo".into()))
        );
        assert_eq!(
            parse_scope(
                "/subscriptions/x/resourceGroups/r/providers/Microsoft.ApiManagement/service/s/products/starter"
            ),
            Some(SubscriptionScope::Product("starter".into()))
        );
        assert_eq!(parse_scope("/users/1"), None);
    }
}
