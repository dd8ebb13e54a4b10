//! The rustls configuration of a client from a `tls_config`: trusted CAs (only the configured
//! ones when a CA is given, as Go's `RootCAs`), a client certificate, `server_name`,
//! `insecure_skip_verify` and the version range.
//!
//! Files are read when the client is (re)built; [`TlsMaterial::load`] returns their contents so
//! the client can compare them at each request and rebuild when a file was replaced, as
//! Prometheus's TLS round tripper does.

use std::sync::{Arc, OnceLock};

use config::{TlsConfig, TlsVersion};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The PEM contents a TLS configuration points at (inline or read from its files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsMaterial {
    ca: Vec<u8>,
    cert: Vec<u8>,
    key: Vec<u8>,
}

fn inline_or_file(inline: &str, file: &str, what: &str) -> Result<Vec<u8>, String> {
    if file.is_empty() {
        Ok(inline.as_bytes().to_vec())
    } else {
        std::fs::read(file).map_err(|e| format!("unable to read {what} {file}: {e}"))
    }
}

impl TlsMaterial {
    /// Reads the CA, certificate and key of `tls`.
    pub(crate) fn load(tls: &TlsConfig) -> Result<Self, String> {
        Ok(Self {
            ca: inline_or_file(&tls.ca, &tls.ca_file, "CA cert")?,
            cert: inline_or_file(&tls.cert, &tls.cert_file, "client certificate")?,
            key: inline_or_file(tls.key.expose(), &tls.key_file, "client key")?,
        })
    }

    /// Whether any of the material comes from a file (and may change).
    pub(crate) fn has_files(tls: &TlsConfig) -> bool {
        !(tls.ca_file.is_empty() && tls.cert_file.is_empty() && tls.key_file.is_empty())
    }
}

fn provider() -> Arc<CryptoProvider> {
    crate::ensure_crypto_provider();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// The system's trusted roots, loaded once.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let loaded = rustls_native_certs::load_native_certs();
            for err in &loaded.errors {
                tracing::debug!(%err, "loading system CA certificates");
            }
            let (_added, _ignored) = store.add_parsable_certificates(loaded.certs);
            Arc::new(store)
        })
        .clone()
}

fn versions(tls: &TlsConfig) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    // rustls speaks TLS 1.2 and 1.3; a lower minimum allows 1.2 upwards.
    let min = tls.min_version.unwrap_or(TlsVersion::Tls12);
    let max = tls.max_version.unwrap_or(TlsVersion::Tls13);
    let mut out = Vec::new();
    if min <= TlsVersion::Tls12 && max >= TlsVersion::Tls12 {
        out.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::Tls13 {
        out.push(&rustls::version::TLS13);
    }
    if out.is_empty() {
        return Err(format!(
            "no TLS version between {min:?} and {max:?} is supported (TLS 1.2 and 1.3 are)"
        ));
    }
    Ok(out)
}

/// The rustls client configuration for `tls` with `material`; ALPN offers `h2` when `http2`.
pub(crate) fn client_config(
    tls: &TlsConfig,
    material: &TlsMaterial,
    http2: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(AcceptAny(algorithms))
    } else {
        let roots = if material.ca.is_empty() {
            system_roots()
        } else {
            let mut store = RootCertStore::empty();
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(&material.ca) {
                let cert = cert.map_err(|e| format!("unable to use specified CA cert: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("unable to use specified CA cert: {e}"))?;
                n += 1;
            }
            if n == 0 {
                return Err("unable to use specified CA cert: no certificate found".to_owned());
            }
            Arc::new(store)
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("unable to use specified CA cert: {e}"))?;
        if tls.server_name.is_empty() {
            webpki as Arc<dyn ServerCertVerifier>
        } else {
            let name = ServerName::try_from(tls.server_name.clone())
                .map_err(|e| format!("invalid server_name {:?}: {e}", tls.server_name))?;
            Arc::new(FixedName {
                inner: webpki,
                name,
            })
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions(tls)?)
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = if material.cert.is_empty() {
        builder.with_no_client_auth()
    } else {
        let certs = CertificateDer::pem_slice_iter(&material.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("unable to use specified client cert: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(&material.key)
            .map_err(|e| format!("unable to use specified client key: {e}"))?;
        builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("unable to use specified client cert: {e}"))?
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// Verifies the chain against the configured `server_name` instead of the URL's host.
#[derive(Debug)]
struct FixedName {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify`: any certificate is accepted; handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges() {
        let mut t = TlsConfig::default();
        assert_eq!(versions(&t).unwrap().len(), 2);
        t.min_version = Some(TlsVersion::Tls13);
        assert_eq!(versions(&t).unwrap(), vec![&rustls::version::TLS13]);
        t.min_version = Some(TlsVersion::Tls10);
        t.max_version = Some(TlsVersion::Tls12);
        assert_eq!(versions(&t).unwrap(), vec![&rustls::version::TLS12]);
        t.max_version = Some(TlsVersion::Tls11);
        assert!(versions(&t).is_err());
    }

    #[test]
    fn bad_ca_is_refused() {
        let t = TlsConfig {
            ca: "not a certificate".into(),
            ..TlsConfig::default()
        };
        let m = TlsMaterial::load(&t).unwrap();
        let e = client_config(&t, &m, true).unwrap_err();
        assert!(e.starts_with("unable to use specified CA cert"), "{e}");
    }
}
