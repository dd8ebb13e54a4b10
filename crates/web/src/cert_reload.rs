//! The server certificate, read again when its files change (exporter-toolkit reads them on
//! every handshake), so a renewed certificate is served without a restart.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::WebConfigError;
use crate::webconfig::TlsServerConfig;

/// The bytes of `file`, or `inline` when no file is named.
pub(crate) fn read_pem(file: &str, inline: &str, what: &str) -> Result<Vec<u8>, WebConfigError> {
    if file.is_empty() {
        return Ok(inline.as_bytes().to_vec());
    }
    std::fs::read(file)
        .map_err(|e| WebConfigError::Invalid(format!("failed to read {what} ({file}): {e}")))
}

/// Loads the certificate chain and key of `t`, checking that they belong together.
pub(crate) fn load_key_pair(
    t: &TlsServerConfig,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, WebConfigError> {
    let bad = |e: &dyn std::fmt::Display| {
        WebConfigError::Invalid(format!("failed to load X509KeyPair: {e}"))
    };
    let cert_pem = read_pem(&t.cert_file, &t.cert, "cert_file")?;
    let key_pem = read_pem(&t.key_file, &t.key, "key_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(
            &"tls: failed to find any PEM data in certificate input",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad(&e))?;
    CertifiedKey::from_der(certs, key, provider).map_err(|e| bad(&e))
}

fn modified(file: &str) -> Option<SystemTime> {
    if file.is_empty() {
        return None;
    }
    std::fs::metadata(file).and_then(|m| m.modified()).ok()
}

/// Serves the current certificate, loading it again when a file's modification time changes;
/// a broken new pair is logged and the last good one kept.
#[derive(Debug)]
pub struct ReloadingCert {
    tls: TlsServerConfig,
    provider: Arc<CryptoProvider>,
    current: Mutex<(Option<SystemTime>, Option<SystemTime>, Arc<CertifiedKey>)>,
}

impl ReloadingCert {
    /// Loads the pair now.
    ///
    /// # Errors
    /// As [`load_key_pair`].
    pub fn new(
        tls: TlsServerConfig,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, WebConfigError> {
        let stamps = (modified(&tls.cert_file), modified(&tls.key_file));
        let key = Arc::new(load_key_pair(&tls, &provider)?);
        Ok(Self {
            tls,
            provider,
            current: Mutex::new((stamps.0, stamps.1, key)),
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut cur = self.current.lock();
        let stamps = (modified(&self.tls.cert_file), modified(&self.tls.key_file));
        if stamps != (cur.0, cur.1) {
            match load_key_pair(&self.tls, &self.provider) {
                Ok(k) => *cur = (stamps.0, stamps.1, Arc::new(k)),
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate changed but cannot be loaded; serving the last good one");
                }
            }
        }
        Some(cur.2.clone())
    }
}
