//! URL changes made by routing policies: `rewrite-uri` (template relative to the backend base,
//! `{param}` from MatchedParameters, copy-unmatched-params) and `set-backend-service`
//! (`base-url`, `backend-id` with the documented precedence).

use crate::backends::{BackendError, BackendRegistry};
use crate::context::RequestContext;
use crate::http::{QueryMap, Url, UrlError, encode_query_component, percent_decode};
use crate::matching::{MatchedParameters, UrlTemplate};
use crate::service::BackendType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error(
        "rewrite-uri template refers to '{{{0}}}', which is not a parameter of the operation's URL template"
    )]
    UnknownParameter(String),
    #[error("rewrite-uri template has an unclosed '{{'")]
    Unclosed,
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Replaces `{name}` / `{*name}` with parameter values (`raw` values for the path, so their
/// encoding is kept; decoded values for the query, which is re-encoded).
fn fill(text: &str, params: &MatchedParameters, raw: bool) -> Result<String, RoutingError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(RoutingError::Unclosed)?;
        let name = after[..close].trim_start_matches('*');
        let value = if raw {
            params.raw(name)
        } else {
            params.get(name)
        };
        out.push_str(value.ok_or_else(|| RoutingError::UnknownParameter(name.to_string()))?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `rewrite-uri`: the new backend URL for `template` (already evaluated when it was an
/// expression) relative to `base` (the API service URL or the set-backend-service base).
/// With `copy_unmatched`, query parameters of `current` that the operation template does not
/// name are appended after the template's own.
pub fn rewrite_uri(
    base: &Url,
    template: &str,
    params: &MatchedParameters,
    operation_template: &UrlTemplate,
    current: &QueryMap,
    copy_unmatched: bool,
) -> Result<Url, RoutingError> {
    let (path_part, query_part) = template.split_once('?').unwrap_or((template, ""));
    let path = fill(path_part, params, true)?;
    let mut query = QueryMap::new();
    for pair in query_part.split('&').filter(|p| !p.is_empty()) {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n = percent_decode(&fill(n, params, false)?, true);
        let v = if v.starts_with('{') && v.ends_with('}') {
            fill(v, params, false)?
        } else {
            percent_decode(v, true)
        };
        query.append(&n, vec![v]);
    }
    if copy_unmatched {
        for (n, v) in current.iter() {
            if !operation_template
                .query_names()
                .any(|x| x.eq_ignore_ascii_case(n))
            {
                query.append(n, v.to_vec());
            }
        }
    }
    let rest = if path.starts_with('/') || path.is_empty() {
        path
    } else {
        format!("/{path}")
    };
    let mut url = Url::compose(base, &rest, &QueryMap::new())?;
    // The base's own query parameters stay first.
    for (n, v) in query.iter() {
        url.query_mut().append(n, v.to_vec());
    }
    Ok(url)
}

/// Query-string text of a map (for traces and tests).
pub fn query_text(q: &QueryMap) -> String {
    q.iter()
        .flat_map(|(n, vs)| {
            vs.iter().map(move |v| {
                format!(
                    "{}={}",
                    encode_query_component(n),
                    encode_query_component(v)
                )
            })
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl<V> RequestContext<'_, V> {
    /// `set-backend-service base-url`: the request goes to `new_base` + the operation path.
    /// A backend id set by an earlier `set-backend-service backend-id` keeps priority (only
    /// another backend-id overrides it); a backend entity matched by URL is dropped.
    pub fn set_backend_base_url(&mut self, new_base: Url) -> Result<(), RoutingError> {
        let old = match &self.backend_base {
            Some(b) => b.clone(),
            None => self.request.url.origin(),
        };
        self.request.url = self.request.url.rebase(&old, &new_base)?;
        self.backend_base = Some(new_base);
        if !self.backend_from_policy {
            self.backend_id = None;
            self.backend = None;
        }
        Ok(())
    }

    /// `set-backend-service backend-id`: a Single backend's URL becomes the base now; a pool
    /// chooses its member at each forward-request.
    pub fn set_backend_id(
        &mut self,
        id: &str,
        registry: &BackendRegistry,
    ) -> Result<(), RoutingError> {
        let backend = registry
            .get(id)
            .ok_or_else(|| BackendError::NotFound(id.to_string()))?;
        if backend.backend_type == BackendType::Single {
            if let Some(u) = backend.url.as_deref() {
                let new_base = match registry.url(id) {
                    Some(parsed) => parsed.clone(),
                    None => Url::parse(u)?,
                };
                self.request.url = match &self.backend_base {
                    Some(old) => self.request.url.rebase(old, &new_base)?,
                    None => {
                        let old = self.request.url.origin();
                        self.request.url.rebase(&old, &new_base)?
                    }
                };
                self.backend_base = Some(new_base);
            }
        }
        match &mut self.backend_id {
            Some(current) => {
                current.clear();
                current.push_str(id);
            }
            None => self.backend_id = Some(id.to_string()),
        }
        self.backend_from_policy = true;
        registry.fill_info(id, &mut self.backend);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::admit;
    use crate::http::Request;
    use crate::matching::Router;
    use crate::service::{Api, Backend, BackendPool, Operation, PoolMember, ServiceDefinition};
    use crate::services::{Services, VirtualClock};

    fn params_for(
        template: &str,
        path: &str,
        query: &str,
    ) -> (MatchedParameters, UrlTemplate, QueryMap) {
        let t = UrlTemplate::parse(template).unwrap();
        let q = QueryMap::parse(query);
        (t.matches(path, &q).unwrap(), t, q)
    }

    #[test]
    fn documented_copy_unmatched_params_example() {
        // Request /get?a=b&c=d, operation /get?a={b}, template /put.
        let base = Url::parse("https://backend.example.com").unwrap();
        let (p, t, q) = params_for("/get?a={b}", "/get", "a=b&c=d");
        assert_eq!(
            rewrite_uri(&base, "/put", &p, &t, &q, true)
                .unwrap()
                .to_string(),
            "https://backend.example.com/put?c=d"
        );
        assert_eq!(
            rewrite_uri(&base, "/put", &p, &t, &q, false)
                .unwrap()
                .to_string(),
            "https://backend.example.com/put"
        );
        assert_eq!(
            rewrite_uri(&base, "/put?x={b}", &p, &t, &q, false)
                .unwrap()
                .to_string(),
            "https://backend.example.com/put?x=b"
        );
    }

    #[test]
    fn template_is_relative_to_the_service_url_and_keeps_parameter_encoding() {
        let base = Url::parse("https://api.example.com/v2?code=k").unwrap();
        let (p, t, q) = params_for("/artists/{id}/{*rest}", "/artists/a%20b/x/y", "");
        let u = rewrite_uri(&base, "/music/{id}/{rest}", &p, &t, &q, true).unwrap();
        assert_eq!(
            u.to_string(),
            "https://api.example.com/v2/music/a%20b/x/y?code=k"
        );
        let rel = rewrite_uri(&base, "keys", &p, &t, &q, true).unwrap();
        assert_eq!(rel.path(), "/v2/keys");
        assert_eq!(
            rewrite_uri(&base, "/{nope}", &p, &t, &q, true).unwrap_err(),
            RoutingError::UnknownParameter("nope".into())
        );
        assert_eq!(
            rewrite_uri(&base, "/{id", &p, &t, &q, true).unwrap_err(),
            RoutingError::Unclosed
        );
        assert_eq!(query_text(&QueryMap::parse("a=1&b=x%20y")), "a=1&b=x%20y");
    }

    fn service() -> ServiceDefinition {
        ServiceDefinition {
            apis: vec![Api {
                id: "a".into(),
                path: "a".into(),
                service_url: Some("https://svc.example.com/base".into()),
                subscription_required: false,
                operations: vec![Operation {
                    id: "o".into(),
                    method: "GET".into(),
                    url_template: "/items/{id}".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            backends: vec![
                Backend {
                    id: "svc".into(),
                    url: Some("https://svc.example.com/base".into()),
                    ..Default::default()
                },
                Backend {
                    id: "other".into(),
                    url: Some("https://other.example.com/v9".into()),
                    ..Default::default()
                },
                Backend {
                    id: "pool".into(),
                    backend_type: BackendType::Pool,
                    pool: Some(BackendPool {
                        services: vec![PoolMember {
                            id: "other".into(),
                            ..Default::default()
                        }],
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn set_backend_service_precedence() {
        let s = service();
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
        let reg = BackendRegistry::new(&s, services.clock.clone()).unwrap();
        let adm = admit(
            &s,
            &Router::new(&s),
            Some(&reg),
            Request::new("GET", Url::parse("https://gw/a/items/7?q=1").unwrap()),
            &services,
        )
        .unwrap();
        let mut ctx: RequestContext<'_, ()> =
            RequestContext::new(&s, adm, std::time::Duration::ZERO, false);
        assert_eq!(
            ctx.backend_id.as_deref(),
            Some("svc"),
            "matched by service URL"
        );
        ctx.set_backend_base_url(Url::parse("https://plain.example.com/p/").unwrap())
            .unwrap();
        assert_eq!(
            ctx.request.url.to_string(),
            "https://plain.example.com/p/items/7?q=1"
        );
        assert_eq!(ctx.backend_id, None, "base-url drops a URL-matched backend");
        ctx.set_backend_id("other", &reg).unwrap();
        assert_eq!(
            ctx.request.url.to_string(),
            "https://other.example.com/v9/items/7?q=1"
        );
        ctx.set_backend_base_url(Url::parse("https://ignored.example.com").unwrap())
            .unwrap();
        assert_eq!(
            ctx.backend_id.as_deref(),
            Some("other"),
            "a policy's backend-id is only overridden by another backend-id"
        );
        ctx.set_backend_id("pool", &reg).unwrap();
        assert_eq!(
            ctx.backend.as_ref().unwrap().backend_type,
            BackendType::Pool
        );
        assert!(matches!(
            ctx.set_backend_id("nope", &reg),
            Err(RoutingError::Backend(BackendError::NotFound(_)))
        ));
    }
}
