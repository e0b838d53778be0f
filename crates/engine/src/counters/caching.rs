//! `caching-type` of the cache policies: which store a policy reads and writes.

use std::str::FromStr;
use std::sync::Arc;

use crate::services::CacheStore;

/// `caching-type="internal | external | prefer-external"` (default prefer-external).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CachingType {
    Internal,
    External,
    #[default]
    PreferExternal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CachingTypeError {
    #[error("caching-type must be internal, external or prefer-external, not '{0}'")]
    Unknown(String),
    /// `caching-type="external"` on an instance without an external cache (our choice: an
    /// error rather than silently using the internal cache; APIM's behaviour is unconfirmed).
    #[error("caching-type is 'external' but no external cache is configured")]
    NoExternalCache,
}

impl FromStr for CachingType {
    type Err = CachingTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "internal" => Ok(CachingType::Internal),
            "external" => Ok(CachingType::External),
            "prefer-external" => Ok(CachingType::PreferExternal),
            other => Err(CachingTypeError::Unknown(other.to_string())),
        }
    }
}

/// The internal cache and, when configured, the external (Redis) one.
#[derive(Debug, Clone)]
pub struct CacheStores {
    pub internal: Arc<dyn CacheStore>,
    pub external: Option<Arc<dyn CacheStore>>,
}

impl CacheStores {
    /// The store a policy with `caching_type` uses.
    pub fn select(
        &self,
        caching_type: CachingType,
    ) -> Result<&Arc<dyn CacheStore>, CachingTypeError> {
        match (caching_type, &self.external) {
            (CachingType::Internal, _) | (CachingType::PreferExternal, None) => Ok(&self.internal),
            (CachingType::External | CachingType::PreferExternal, Some(x)) => Ok(x),
            (CachingType::External, None) => Err(CachingTypeError::NoExternalCache),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{MemoryCacheStore, VirtualClock};

    #[test]
    fn prefer_external_uses_the_external_cache_only_when_configured() {
        let clock = Arc::new(VirtualClock::at_default_start());
        let internal: Arc<dyn CacheStore> = Arc::new(MemoryCacheStore::new(clock.clone()));
        let external: Arc<dyn CacheStore> = Arc::new(MemoryCacheStore::new(clock));
        let only_internal = CacheStores {
            internal: internal.clone(),
            external: None,
        };
        let both = CacheStores {
            internal: internal.clone(),
            external: Some(external.clone()),
        };
        let t: CachingType = "prefer-external".parse().unwrap();
        assert!(Arc::ptr_eq(only_internal.select(t).unwrap(), &internal));
        assert!(Arc::ptr_eq(both.select(t).unwrap(), &external));
        assert!(Arc::ptr_eq(
            both.select(CachingType::Internal).unwrap(),
            &internal
        ));
        assert_eq!(
            only_internal.select(CachingType::External).err(),
            Some(CachingTypeError::NoExternalCache)
        );
        assert!("redis".parse::<CachingType>().is_err());
        assert_eq!(CachingType::default(), CachingType::PreferExternal);
    }
}
