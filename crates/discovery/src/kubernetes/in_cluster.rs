//! The in-cluster configuration of Kubernetes SD (neither `api_server` nor `kubeconfig_file`),
//! built as client-go's `rest.InClusterConfig` builds it and sent through Firewatch's own
//! [`HttpClient`]: the API server from `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`,
//! the service account's token as a bearer token file (read again at each request, so a
//! rotated token is used at once), its `ca.crt` as the CA, and its `namespace` file for
//! `namespaces.own_namespace`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use config::{HttpClientConfig, TlsConfig};

use crate::error::DiscoveryError;
use http_client::HttpClient;

/// Where Kubernetes mounts a pod's service account (token, CA and namespace).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// client-go's error when the in-cluster environment variables are missing.
const NOT_IN_CLUSTER: &str = "unable to load in-cluster configuration, \
    KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined";

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the in-cluster configuration is read from: the service-account directory and the
/// environment. Not a configuration option: [`InClusterEnv::default`] is the pod's own
/// (`/var/run/secrets/kubernetes.io/serviceaccount` and the process environment); tests point
/// both elsewhere with [`InClusterEnv::new`].
#[derive(Clone)]
pub struct InClusterEnv {
    dir: PathBuf,
    lookup: Lookup,
}

impl fmt::Debug for InClusterEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InClusterEnv")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Default for InClusterEnv {
    fn default() -> Self {
        Self::new(SERVICE_ACCOUNT_DIR, |name| std::env::var(name).ok())
    }
}

/// The in-cluster client: the API server's URL and the client that reaches it.
#[derive(Debug, Clone)]
pub(crate) struct InCluster {
    /// `https://HOST:PORT` (IPv6 hosts bracketed).
    pub(crate) url: String,
    /// Bearer token file and CA of the service account.
    pub(crate) client: HttpClient,
    /// The pod's namespace, when `own_namespace` asked for it.
    pub(crate) namespace: Option<String>,
}

/// `host:port`, with the host bracketed when it is an IPv6 address (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// An I/O error as Go words it (`no such file or directory`, `permission denied`).
fn go_io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text
        .find(" (os error ")
        .map_or(text.as_str(), |i| &text[..i]);
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("open {}: {}", path.display(), go_io_text(&e)))
}

impl InClusterEnv {
    /// Reads the service account from `dir` and the `KUBERNETES_SERVICE_*` variables through
    /// `lookup`.
    pub fn new(
        dir: impl Into<PathBuf>,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            dir: dir.into(),
            lookup: Arc::new(lookup),
        }
    }

    fn var(&self, name: &str) -> String {
        (self.lookup)(name).unwrap_or_default()
    }

    /// The API server's URL, as client-go composes it.
    fn url(&self) -> Result<String, DiscoveryError> {
        let host = self.var("KUBERNETES_SERVICE_HOST");
        let port = self.var("KUBERNETES_SERVICE_PORT");
        if host.is_empty() || port.is_empty() {
            return Err(DiscoveryError::InCluster {
                path: None,
                message: NOT_IN_CLUSTER.to_owned(),
            });
        }
        Ok(format!("https://{}", join_host_port(&host, &port)))
    }

    /// The in-cluster client, as Prometheus sets it up when a discoverer is created: errors
    /// when the environment is not a pod's or the token is unreadable; a CA that cannot be
    /// loaded is logged and the system roots are used instead (client-go does the same).
    pub(crate) fn resolve(&self, own_namespace: bool) -> Result<InCluster, DiscoveryError> {
        let url = self.url()?;
        let token = self.dir.join("token");
        read(&token).map_err(|message| DiscoveryError::InCluster {
            path: Some(token.clone()),
            message,
        })?;
        let ca = self.dir.join("ca.crt");
        let mut http = HttpClientConfig {
            bearer_token_file: token.display().to_string(),
            tls_config: TlsConfig {
                ca_file: ca.display().to_string(),
                ..TlsConfig::default()
            },
            ..HttpClientConfig::default()
        };
        let client = match HttpClient::new(&http) {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(
                    "Expected to load root CA config from {}, but got err: {err}",
                    ca.display()
                );
                http.tls_config.ca_file.clear();
                HttpClient::new(&http).map_err(|e| DiscoveryError::Kubernetes {
                    origin: url.clone(),
                    message: e.to_string(),
                })?
            }
        };
        let namespace = if own_namespace {
            Some(self.namespace()?)
        } else {
            None
        };
        tracing::info!(url = %url, "Using pod service account via in-cluster config");
        Ok(InCluster {
            url,
            client,
            namespace,
        })
    }

    /// The pod's namespace, with Prometheus's errors. Surrounding white space is dropped.
    fn namespace(&self) -> Result<String, DiscoveryError> {
        let path = self.dir.join("namespace");
        let text = read(&path).map_err(|e| DiscoveryError::InCluster {
            path: Some(path.clone()),
            message: format!("could not determine the pod's namespace: {e}"),
        })?;
        let ns = text.trim();
        if ns.is_empty() {
            return Err(DiscoveryError::InCluster {
                path: Some(path),
                message: "could not read own namespace name (empty file)".to_owned(),
            });
        }
        Ok(ns.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(host: &str, port: &str) -> InClusterEnv {
        let (host, port) = (host.to_owned(), port.to_owned());
        InClusterEnv::new("/nonexistent", move |name| match name {
            "KUBERNETES_SERVICE_HOST" => Some(host.clone()),
            "KUBERNETES_SERVICE_PORT" => Some(port.clone()),
            _ => None,
        })
    }

    #[test]
    fn url_from_the_environment() {
        assert_eq!(
            env("10.96.0.1", "443").url().unwrap(),
            "https://10.96.0.1:443"
        );
        assert_eq!(
            env("fd00:10:96::1", "6443").url().unwrap(),
            "https://[fd00:10:96::1]:6443"
        );
        assert_eq!(env("[::1]", "443").url().unwrap(), "https://[::1]:443");
        for (h, p) in [("", "443"), ("10.96.0.1", ""), ("", "")] {
            assert_eq!(env(h, p).url().unwrap_err().to_string(), NOT_IN_CLUSTER);
        }
    }

    #[test]
    fn io_errors_in_go_words() {
        let e = std::fs::read("/nonexistent/token").unwrap_err();
        assert_eq!(go_io_text(&e), "no such file or directory");
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(go_io_text(&e), "permission denied");
    }
}
