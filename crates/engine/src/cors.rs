//! The decision the `cors` policy makes for a request (policies.md §7 cors): preflight answers,
//! headers added to actual responses, and what happens to requests that do not match.

use crate::http::{HeaderMap, Response, Url};

/// The `cors` policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    pub allow_credentials: bool,
    pub terminate_unmatched_request: bool,
    /// `*` or origins (scheme + host + port).
    pub allowed_origins: Vec<String>,
    /// `None`: only GET and POST. `*` allows every method.
    pub allowed_methods: Option<Vec<String>>,
    pub preflight_result_max_age: u64,
    /// `*` or header names.
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_credentials: false,
            terminate_unmatched_request: true,
            allowed_origins: Vec::new(),
            allowed_methods: None,
            preflight_result_max_age: 0,
            allowed_headers: Vec::new(),
            expose_headers: Vec::new(),
        }
    }
}

/// What to do with the request.
#[derive(Debug)]
pub enum CorsOutcome {
    /// No `Origin`: not a CORS request.
    NotCors,
    /// Answer now with this response (a matching preflight, or an unmatched request with
    /// terminate-unmatched-request: empty 200).
    Respond(Response),
    /// Continue the pipeline and add these headers to the client's response.
    Continue(Vec<(String, String)>),
    /// Not matched and not terminated: continue without CORS headers (for a preflight, the next
    /// cors policy may answer).
    Unmatched,
}

fn origin_key(origin: &str) -> Option<String> {
    let u = Url::parse(origin.trim()).ok()?;
    Some(format!("{}://{}:{}", u.scheme(), u.host(), u.port()))
}

impl CorsConfig {
    fn origin_allowed(&self, origin: &str) -> bool {
        if self.allowed_origins.iter().any(|o| o.trim() == "*") {
            return true;
        }
        let Some(key) = origin_key(origin) else {
            return false;
        };
        self.allowed_origins
            .iter()
            .any(|o| origin_key(o).as_deref() == Some(key.as_str()))
    }

    fn method_allowed(&self, method: &str) -> bool {
        match &self.allowed_methods {
            None => method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("POST"),
            Some(ms) => ms
                .iter()
                .any(|m| m.trim() == "*" || m.trim().eq_ignore_ascii_case(method)),
        }
    }

    fn headers_allowed(&self, requested: &[String]) -> bool {
        if self.allowed_headers.iter().any(|h| h.trim() == "*") {
            return true;
        }
        requested.iter().all(|r| {
            self.allowed_headers
                .iter()
                .any(|h| h.trim().eq_ignore_ascii_case(r))
        })
    }

    fn allow_origin_value(&self, origin: &str) -> String {
        if !self.allow_credentials && self.allowed_origins.iter().any(|o| o.trim() == "*") {
            "*".into()
        } else {
            origin.to_string()
        }
    }

    fn unmatched(&self) -> CorsOutcome {
        if self.terminate_unmatched_request {
            CorsOutcome::Respond(Response::new(200))
        } else {
            CorsOutcome::Unmatched
        }
    }

    /// Decides for a request with `method` and `headers`.
    pub fn evaluate(&self, method: &str, headers: &HeaderMap) -> CorsOutcome {
        let Some(origin) = headers.first("Origin").map(str::to_string) else {
            return CorsOutcome::NotCors;
        };
        let preflight = method.eq_ignore_ascii_case("OPTIONS")
            && headers.contains("Access-Control-Request-Method");
        if preflight {
            let requested_method = headers
                .first("Access-Control-Request-Method")
                .unwrap_or("")
                .trim()
                .to_string();
            let requested_headers: Vec<String> = headers
                .get("Access-Control-Request-Headers")
                .unwrap_or(&[])
                .iter()
                .flat_map(|v| v.split(','))
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect();
            if !(self.origin_allowed(&origin)
                && self.method_allowed(&requested_method)
                && self.headers_allowed(&requested_headers))
            {
                return self.unmatched();
            }
            let mut r = Response::new(200);
            let mut set = |n: &str, v: String| {
                // Values come from validated request headers or configuration.
                let _ = r.headers.set_one(n, v);
            };
            set(
                "Access-Control-Allow-Origin",
                self.allow_origin_value(&origin),
            );
            if self.allow_credentials {
                set("Access-Control-Allow-Credentials", "true".into());
            }
            set("Access-Control-Allow-Methods", requested_method);
            if !requested_headers.is_empty() {
                set("Access-Control-Allow-Headers", requested_headers.join(","));
            }
            if self.preflight_result_max_age > 0 {
                set(
                    "Access-Control-Max-Age",
                    self.preflight_result_max_age.to_string(),
                );
            }
            return CorsOutcome::Respond(r);
        }
        if !(self.origin_allowed(&origin) && self.method_allowed(method)) {
            return self.unmatched();
        }
        let mut out = vec![(
            "Access-Control-Allow-Origin".to_string(),
            self.allow_origin_value(&origin),
        )];
        if self.allow_credentials {
            out.push(("Access-Control-Allow-Credentials".into(), "true".into()));
        }
        if !self.expose_headers.is_empty() {
            out.push((
                "Access-Control-Expose-Headers".into(),
                self.expose_headers.join(","),
            ));
        }
        CorsOutcome::Continue(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CorsConfig {
        CorsConfig {
            allow_credentials: true,
            allowed_origins: vec!["https://contoso.com".into(), "http://localhost:8080".into()],
            allowed_methods: Some(vec!["GET".into(), "PUT".into()]),
            preflight_result_max_age: 300,
            allowed_headers: vec!["content-type".into(), "x-custom".into()],
            expose_headers: vec!["x-request-id".into()],
            ..Default::default()
        }
    }

    fn h(lines: &[(&str, &str)]) -> HeaderMap {
        HeaderMap::from_lines(lines.iter().copied()).unwrap()
    }

    #[test]
    fn matching_preflight_is_answered() {
        let hs = h(&[
            ("Origin", "https://contoso.com:443"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "Content-Type, X-Custom"),
        ]);
        let CorsOutcome::Respond(r) = cfg().evaluate("OPTIONS", &hs) else {
            panic!("expected an answer")
        };
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers.first("Access-Control-Allow-Origin"),
            Some("https://contoso.com:443")
        );
        assert_eq!(
            r.headers.first("Access-Control-Allow-Credentials"),
            Some("true")
        );
        assert_eq!(r.headers.first("Access-Control-Allow-Methods"), Some("PUT"));
        assert_eq!(
            r.headers.first("Access-Control-Allow-Headers"),
            Some("Content-Type,X-Custom")
        );
        assert_eq!(r.headers.first("Access-Control-Max-Age"), Some("300"));
    }

    #[test]
    fn unmatched_requests_terminate_with_empty_200_or_continue() {
        let bad_method = h(&[
            ("Origin", "https://contoso.com"),
            ("Access-Control-Request-Method", "DELETE"),
        ]);
        let CorsOutcome::Respond(r) = cfg().evaluate("OPTIONS", &bad_method) else {
            panic!()
        };
        assert!(r.headers.is_empty() && !r.body.is_present() && r.status == 200);
        let lenient = CorsConfig {
            terminate_unmatched_request: false,
            ..cfg()
        };
        assert!(matches!(
            lenient.evaluate("OPTIONS", &bad_method),
            CorsOutcome::Unmatched
        ));
        let other_origin = h(&[("Origin", "https://evil.example")]);
        assert!(matches!(
            cfg().evaluate("GET", &other_origin),
            CorsOutcome::Respond(_)
        ));
        assert!(matches!(
            lenient.evaluate("GET", &other_origin),
            CorsOutcome::Unmatched
        ));
        let bad_header = h(&[
            ("Origin", "https://contoso.com"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-other"),
        ]);
        assert!(matches!(
            lenient.evaluate("OPTIONS", &bad_header),
            CorsOutcome::Unmatched
        ));
    }

    #[test]
    fn actual_requests_get_headers_and_defaults_apply() {
        let CorsOutcome::Continue(hs) =
            cfg().evaluate("GET", &h(&[("Origin", "http://localhost:8080")]))
        else {
            panic!()
        };
        assert_eq!(
            hs[0],
            (
                "Access-Control-Allow-Origin".to_string(),
                "http://localhost:8080".to_string()
            )
        );
        assert!(hs.contains(&(
            "Access-Control-Expose-Headers".to_string(),
            "x-request-id".to_string()
        )));
        assert!(matches!(
            cfg().evaluate("GET", &HeaderMap::new()),
            CorsOutcome::NotCors
        ));
        let star = CorsConfig {
            allowed_origins: vec!["*".into()],
            allowed_headers: vec!["*".into()],
            ..Default::default()
        };
        let CorsOutcome::Continue(hs) =
            star.evaluate("POST", &h(&[("Origin", "https://any.example")]))
        else {
            panic!()
        };
        assert_eq!(hs[0].1, "*");
        assert!(
            matches!(
                star.evaluate("PUT", &h(&[("Origin", "https://any.example")])),
                CorsOutcome::Respond(_)
            ),
            "only GET and POST by default"
        );
    }
}
