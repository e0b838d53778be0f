//! Building validate-jwt and validate-azure-ad-token into a [`JwtSpec`], and the backend call
//! settings `proxy` and `authentication-certificate`.

use apim_policy::{Element, ElementKind};

use super::{Builder, Doc};
use crate::plan::jwt::{AadSpec, ClaimSpec, JwtSpec, KeySpec, TokenSource};
use crate::plan::steps::Val;

impl Builder<'_> {
    pub(super) fn validate_jwt(&mut self, el: &Element, doc: &Doc) -> Option<JwtSpec> {
        let aad = el.kind == ElementKind::ValidateAzureAdToken;
        let header = self.attr(doc, el, "header-name");
        let query = self.attr(doc, el, "query-parameter-name");
        let value = self.attr(doc, el, "token-value");
        let given = [&header, &query, &value]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given > 1 {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0003",
                format!(
                    "{} takes only one of header-name, query-parameter-name and token-value",
                    el.name()
                ),
            );
            return None;
        }
        let source = match (header, query, value) {
            (Some(h), _, _) => TokenSource::Header(h),
            (_, Some(q), _) => TokenSource::Query(q),
            (_, _, Some(v)) => TokenSource::Value(v),
            // validate-azure-ad-token reads the Authorization header by default.
            _ if aad => TokenSource::Header(Val::Lit("Authorization".into())),
            _ => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0003",
                    "validate-jwt requires one of header-name, query-parameter-name or token-value"
                        .into(),
                );
                return None;
            }
        };
        let tenant = if aad {
            Some(self.required(doc, el, "tenant-id")?)
        } else {
            None
        };
        let mut spec = JwtSpec {
            source,
            status: self.attr(doc, el, "failed-validation-httpcode"),
            message: self.attr(doc, el, "failed-validation-error-message"),
            require_expiration: self.attr(doc, el, "require-expiration-time"),
            // validate-azure-ad-token expects a Bearer token in the Authorization header.
            require_scheme: self.attr(doc, el, "require-scheme"),
            require_signed: self.attr(doc, el, "require-signed-tokens"),
            clock_skew: self.attr(doc, el, "clock-skew"),
            output_variable: self.literal(doc, el, "output-token-variable-name"),
            openid_configs: Vec::new(),
            keys: Vec::new(),
            audiences: Vec::new(),
            issuers: Vec::new(),
            claims: Vec::new(),
            aad: None,
            metadata: self.openid.clone(),
        };
        let mut client_ids = Vec::new();
        let mut backend_ids = Vec::new();
        for c in el.children() {
            match c.kind {
                ElementKind::OpenidConfig if !aad => {
                    if let Some(u) = self.required(doc, c, "url") {
                        spec.openid_configs.push(u);
                    }
                }
                ElementKind::IssuerSigningKeys if !aad => {
                    for k in c.children() {
                        if k.kind != ElementKind::Key {
                            self.unsupported(doc, k);
                            continue;
                        }
                        if let Some(key) = self.signing_key(doc, k) {
                            spec.keys.push(key);
                        }
                    }
                }
                ElementKind::DecryptionKeys if !aad => self.diag(
                    doc,
                    c.span.line,
                    c.span.col,
                    "PLAN0001",
                    "validate-jwt decryption-keys (encrypted tokens, JWE) are not supported by the emulator yet".into(),
                ),
                ElementKind::Audiences => {
                    spec.audiences = self.texts_of(doc, c, ElementKind::Audience)
                }
                ElementKind::Issuers if !aad => {
                    spec.issuers = self.texts_of(doc, c, ElementKind::Issuer)
                }
                ElementKind::ClientApplicationIds if aad => {
                    client_ids = self.texts_of(doc, c, ElementKind::ApplicationId)
                }
                ElementKind::BackendApplicationIds if aad => {
                    backend_ids = self.texts_of(doc, c, ElementKind::ApplicationId)
                }
                ElementKind::RequiredClaims => {
                    for claim in c.children() {
                        if claim.kind != ElementKind::Claim {
                            self.unsupported(doc, claim);
                            continue;
                        }
                        if let Some(cs) = self.claim(doc, claim) {
                            spec.claims.push(cs);
                        }
                    }
                }
                _ => self.unsupported(doc, c),
            }
        }
        if let Some(tenant) = tenant {
            if client_ids.is_empty() {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0003",
                    "validate-azure-ad-token requires client-application-ids with at least one application-id".into(),
                );
                return None;
            }
            spec.aad = Some(AadSpec {
                tenant,
                client_application_ids: client_ids,
                backend_application_ids: backend_ids,
            });
        }
        Some(spec)
    }

    /// `<proxy url username password>`.
    pub(super) fn proxy(
        &mut self,
        doc: &Doc,
        el: &Element,
    ) -> Option<crate::plan::proxy::ProxySpec> {
        let url = self.required(doc, el, "url");
        let username = self.attr(doc, el, "username");
        let password = self.attr(doc, el, "password");
        if let Some(Val::Lit(u)) = &url
            && !u.trim().to_ascii_lowercase().starts_with("http://")
        {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0008",
                format!("proxy url '{u}' must be an http:// URL (APIM supports HTTP proxies only)"),
            );
            return None;
        }
        Some(crate::plan::proxy::ProxySpec {
            url: url?,
            username,
            password,
        })
    }

    /// `<authentication-certificate thumbprint | certificate-id | body password>`.
    pub(super) fn certificate(
        &mut self,
        doc: &Doc,
        el: &Element,
    ) -> Option<crate::plan::proxy::CertificateSpec> {
        use crate::plan::proxy::CertificateSpec;
        let thumbprint = self.attr(doc, el, "thumbprint");
        let id = self.attr(doc, el, "certificate-id");
        let body = self.attr(doc, el, "body");
        let password = self.attr(doc, el, "password");
        if let Some(Val::Lit(_)) = body {
            // A literal is a string; the certificate must be a byte[] (docs: a byte array).
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0003",
                "authentication-certificate body must be a policy expression returning byte[] (PKCS#12 certificate), e.g. @(Convert.FromBase64String(...))".into(),
            );
            return None;
        }
        match (thumbprint, id, body) {
            (Some(t), None, None) => Some(CertificateSpec::Thumbprint(t)),
            (None, Some(id), None) => Some(CertificateSpec::Id(id)),
            (None, None, Some(body)) => Some(CertificateSpec::Body { body, password }),
            _ => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0003",
                    "authentication-certificate takes exactly one of thumbprint, certificate-id or body".into(),
                );
                None
            }
        }
    }

    fn texts_of(&mut self, doc: &Doc, parent: &Element, kind: ElementKind) -> Vec<Val> {
        let mut out = Vec::new();
        for c in parent.children() {
            if c.kind != kind {
                self.unsupported(doc, c);
                continue;
            }
            if let Some(v) = self.text(doc, c) {
                out.push(v);
            }
        }
        out
    }

    fn signing_key(&mut self, doc: &Doc, k: &Element) -> Option<KeySpec> {
        let id = self.literal(doc, k, "id");
        if let Some(certificate_id) = self.attr(doc, k, "certificate-id") {
            return Some(KeySpec::Certificate { id, certificate_id });
        }
        let n = self.literal(doc, k, "n");
        let e = self.literal(doc, k, "e");
        match (n, e) {
            (Some(n), Some(e)) => {
                if jsonwebtoken::DecodingKey::from_rsa_components(n.trim(), e.trim()).is_err() {
                    self.diag(
                        doc,
                        k.span.line,
                        k.span.col,
                        "PLAN0008",
                        "the RSA key's n and e must be base64url".into(),
                    );
                    return None;
                }
                Some(KeySpec::Rsa {
                    id,
                    n: n.trim().to_string(),
                    e: e.trim().to_string(),
                })
            }
            (None, None) => {
                let value = self.text(doc, k)?;
                if let Val::Lit(s) = &value
                    && apim_dotnet::convert::from_base64_string(s.trim()).is_err()
                {
                    self.diag(
                        doc,
                        k.span.line,
                        k.span.col,
                        "PLAN0008",
                        "an issuer signing key must be Base64 (a symmetric key), or n and e".into(),
                    );
                    return None;
                }
                Some(KeySpec::Symmetric { id, value })
            }
            _ => {
                self.diag(
                    doc,
                    k.span.line,
                    k.span.col,
                    "PLAN0003",
                    "a key's modulus n must be given with its exponent e".into(),
                );
                None
            }
        }
    }

    fn claim(&mut self, doc: &Doc, c: &Element) -> Option<ClaimSpec> {
        let name = self.literal(doc, c, "name");
        let any = match self.literal(doc, c, "match").as_deref().map(str::trim) {
            None | Some("all") => false,
            Some("any") => true,
            Some(other) => {
                self.diag(
                    doc,
                    c.span.line,
                    c.span.col,
                    "PLAN0008",
                    format!("claim match='{other}' must be all or any"),
                );
                return None;
            }
        };
        let separator = self.literal(doc, c, "separator");
        let values = self.texts_of(doc, c, ElementKind::Value);
        let Some(name) = name else {
            self.diag(
                doc,
                c.span.line,
                c.span.col,
                "PLAN0003",
                "claim requires a name".into(),
            );
            return None;
        };
        Some(ClaimSpec {
            name: name.trim().to_string(),
            any,
            separator,
            values,
        })
    }
}
