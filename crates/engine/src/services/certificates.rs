//! Certificate entities the gateway presents to backends (authentication-certificate), by id and
//! by thumbprint. The host fills the store from its configuration.

use std::sync::Arc;

use parking_lot::RwLock;

use super::ClientCertificate;

/// Certificates by id.
type Entries = Vec<(String, Arc<ClientCertificate>)>;

/// Shared between clones.
#[derive(Debug, Clone, Default)]
pub struct CertificateStore {
    entries: Arc<RwLock<Entries>>,
}

impl CertificateStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the certificate `id` from PEM text holding the certificate and its
    /// private key.
    pub fn add(&self, id: &str, pem: &str) -> Result<(), String> {
        let cert = Arc::new(
            ClientCertificate::from_pem(pem).map_err(|e| format!("certificate '{id}': {e}"))?,
        );
        let mut entries = self.entries.write();
        entries.retain(|(i, _)| !i.eq_ignore_ascii_case(id));
        entries.push((id.to_string(), cert));
        Ok(())
    }

    pub fn by_id(&self, id: &str) -> Option<Arc<ClientCertificate>> {
        self.entries
            .read()
            .iter()
            .find(|(i, _)| i.eq_ignore_ascii_case(id.trim()))
            .map(|(_, c)| c.clone())
    }

    /// Case-insensitive; separators (spaces, colons) are ignored.
    pub fn by_thumbprint(&self, thumbprint: &str) -> Option<Arc<ClientCertificate>> {
        let wanted: String = thumbprint.chars().filter(char::is_ascii_hexdigit).collect();
        self.entries
            .read()
            .iter()
            .find(|(_, c)| c.thumbprint.eq_ignore_ascii_case(&wanted))
            .map(|(_, c)| c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_found_by_id_or_thumbprint() {
        let store = CertificateStore::new();
        let pem = include_str!("../../tests/fixtures/client-cert.pem");
        store.add("client-cert", pem).unwrap();
        let t = "35:4c:31:51:e0:ba:04:4e:58:9a:1d:a5:32:0d:3f:93:b7:ea:38:84";
        assert!(store.by_thumbprint(t).is_some());
        assert!(store.by_id("CLIENT-CERT").is_some());
        assert!(store.by_id("other").is_none());
        assert!(
            store
                .add("bad", "not pem")
                .unwrap_err()
                .contains("certificate 'bad'")
        );
    }
}
