//! Access tokens for `authentication-managed-identity`: a local issuer that signs real JWTs whose
//! audience is the requested resource, cached until shortly before they expire (engine clock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::Clock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("managed identity token request failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Source of managed-identity tokens.
pub trait TokenProvider: Send + Sync + std::fmt::Debug {
    /// A token for `resource` (the audience), as the system-assigned identity or the
    /// user-assigned identity `client_id`.
    fn token(
        &self,
        resource: &str,
        client_id: Option<&str>,
    ) -> BoxFuture<'_, Result<AccessToken, TokenError>>;
}

/// Claims of the tokens the local issuer signs (the Entra ID v1 shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub sub: String,
    pub oid: String,
    pub appid: String,
    pub tid: String,
    pub idtyp: String,
}

/// Settings of the local issuer.
#[derive(Debug, Clone)]
pub struct LocalIssuerConfig {
    pub tenant_id: String,
    /// Object id of the gateway's system-assigned identity.
    pub principal_id: String,
    /// HS256 signing secret; downstream test services verify with it.
    pub secret: Vec<u8>,
    pub lifetime: Duration,
}

impl Default for LocalIssuerConfig {
    fn default() -> Self {
        LocalIssuerConfig {
            tenant_id: "00000000-0000-0000-0000-000000000000".into(),
            principal_id: "11111111-1111-1111-1111-111111111111".into(),
            secret: b"apim-emu-local-issuer".to_vec(),
            lifetime: Duration::from_secs(3600),
        }
    }
}

/// Signs tokens locally; the same resource and identity get the cached token until 5 minutes
/// before it expires.
#[derive(Debug, Clone)]
pub struct LocalTokenIssuer {
    config: Arc<LocalIssuerConfig>,
    clock: Arc<dyn Clock>,
    cache: Arc<Mutex<HashMap<(String, String), AccessToken>>>,
}

const REFRESH_BEFORE: chrono::Duration = chrono::Duration::minutes(5);

impl LocalTokenIssuer {
    pub fn new(config: LocalIssuerConfig, clock: Arc<dyn Clock>) -> Self {
        LocalTokenIssuer {
            config: Arc::new(config),
            clock,
            cache: Arc::default(),
        }
    }

    pub fn issuer(&self) -> String {
        format!("https://sts.windows.net/{}/", self.config.tenant_id)
    }

    /// Checks a token this issuer signed (for tests and local backends).
    pub fn verify(&self, token: &str, audience: &str) -> Result<TokenClaims, TokenError> {
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_audience(&[audience]);
        v.set_issuer(&[self.issuer()]);
        // Expiry is checked on the engine clock, not the wall clock.
        v.validate_exp = false;
        let data = jsonwebtoken::decode::<TokenClaims>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(&self.config.secret),
            &v,
        )
        .map_err(|e| TokenError::Failed(e.to_string()))?;
        if data.claims.exp <= self.clock.now().timestamp() {
            return Err(TokenError::Failed("token expired".into()));
        }
        Ok(data.claims)
    }

    fn issue(&self, resource: &str, client_id: Option<&str>) -> Result<AccessToken, TokenError> {
        let now = self.clock.now();
        let lifetime = chrono::Duration::from_std(self.config.lifetime)
            .map_err(|e| TokenError::Failed(e.to_string()))?;
        let expires_at = now + lifetime;
        let identity = client_id.unwrap_or(&self.config.principal_id).to_string();
        let claims = TokenClaims {
            aud: resource.to_string(),
            iss: self.issuer(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            sub: identity.clone(),
            oid: identity.clone(),
            appid: identity,
            tid: self.config.tenant_id.clone(),
            idtyp: "app".into(),
        };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&self.config.secret),
        )
        .map_err(|e| TokenError::Failed(e.to_string()))?;
        Ok(AccessToken { token, expires_at })
    }
}

impl TokenProvider for LocalTokenIssuer {
    fn token(
        &self,
        resource: &str,
        client_id: Option<&str>,
    ) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        let key = (resource.to_string(), client_id.unwrap_or("").to_string());
        let now = self.clock.now();
        let cached = self
            .cache
            .lock()
            .get(&key)
            .filter(|t| t.expires_at - REFRESH_BEFORE > now)
            .cloned();
        let result = match cached {
            Some(t) => Ok(t),
            None if resource.trim().is_empty() => {
                Err(TokenError::Failed("the resource is empty".into()))
            }
            None => self.issue(resource, client_id).inspect(|t| {
                self.cache.lock().insert(key, t.clone());
            }),
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;
    use futures_util::FutureExt;

    #[test]
    fn tokens_carry_the_resource_as_audience_and_are_cached() {
        let clock = VirtualClock::at_default_start();
        let issuer = LocalTokenIssuer::new(LocalIssuerConfig::default(), Arc::new(clock.clone()));
        let t = issuer
            .token("https://cognitiveservices.azure.com", None)
            .now_or_never()
            .unwrap()
            .unwrap();
        let claims = issuer
            .verify(&t.token, "https://cognitiveservices.azure.com")
            .unwrap();
        assert_eq!(claims.aud, "https://cognitiveservices.azure.com");
        assert_eq!(claims.exp - claims.iat, 3600);
        assert!(
            issuer
                .verify(&t.token, "https://storage.azure.com")
                .is_err()
        );
        clock.advance(Duration::from_secs(60));
        let again = issuer
            .token("https://cognitiveservices.azure.com", None)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(again, t, "cached");
        clock.advance(Duration::from_secs(3600 - 60 - 299));
        let renewed = issuer
            .token("https://cognitiveservices.azure.com", None)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_ne!(renewed.token, t.token, "renewed 5 minutes before expiry");
        let user = issuer
            .token("https://cognitiveservices.azure.com", Some("client-1"))
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(
            issuer
                .verify(&user.token, "https://cognitiveservices.azure.com")
                .unwrap()
                .appid,
            "client-1"
        );
        assert!(issuer.token(" ", None).now_or_never().unwrap().is_err());
        clock.advance(Duration::from_secs(7200));
        assert!(
            issuer
                .verify(&renewed.token, "https://cognitiveservices.azure.com")
                .is_err(),
            "expired on the engine clock"
        );
    }
}
