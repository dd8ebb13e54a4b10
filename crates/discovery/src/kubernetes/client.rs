//! Building the Kubernetes client (API server URL, kubeconfig file or in-cluster) and the
//! `Discoverer` implementation. `api_server` with a `http_client_config` and the in-cluster
//! configuration go through Firewatch's own HTTP client ([`SharedTransport`]); a kubeconfig
//! file, and `api_server` with the older partial options, through kube-rs's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::in_cluster::{InCluster, InClusterEnv};
use super::options::KubernetesSdOptions;
use super::transport::SharedTransport;
use crate::discoverer::Discoverer;
use crate::error::DiscoveryError;
use crate::targetgroup::TargetGroup;
use http_client::HttpClient;

/// Discovers targets from the Kubernetes API.
#[derive(Debug)]
pub struct KubernetesDiscovery {
    options: KubernetesSdOptions,
    namespaces: Vec<String>,
    /// Set when neither `api_server` nor `kubeconfig_file` is.
    in_cluster: Option<InCluster>,
}

impl KubernetesDiscovery {
    /// Validates the options, sets up the in-cluster configuration when neither `api_server`
    /// nor `kubeconfig_file` is given, and resolves the namespaces to watch.
    ///
    /// # Errors
    /// Invalid option combinations; an unreadable kubeconfig file; outside a cluster
    /// (client-go's `unable to load in-cluster configuration, ...`); an unreadable service
    /// account token; `own_namespace` with an unreadable or empty namespace file.
    pub fn new(options: KubernetesSdOptions) -> Result<Self, DiscoveryError> {
        Self::with_environment(options, &InClusterEnv::default())
    }

    /// As [`KubernetesDiscovery::new`], reading the in-cluster configuration from `env`
    /// instead of the pod's service-account directory and the process environment.
    ///
    /// # Errors
    /// As [`KubernetesDiscovery::new`].
    pub fn with_environment(
        options: KubernetesSdOptions,
        env: &InClusterEnv,
    ) -> Result<Self, DiscoveryError> {
        options.validate()?;
        if let Some(path) = &options.kubeconfig_file {
            Kubeconfig::read_from(path).map_err(|e| DiscoveryError::Kubernetes {
                origin: path.clone(),
                message: e.to_string(),
            })?;
        }
        let in_cluster = if options.api_server.is_none() && options.kubeconfig_file.is_none() {
            Some(env.resolve(options.namespaces.own_namespace)?)
        } else {
            None
        };
        let mut namespaces = options.namespaces.names.clone();
        if let Some(own) = in_cluster.as_ref().and_then(|c| c.namespace.clone()) {
            namespaces.push(own);
        }
        Ok(Self {
            options,
            namespaces,
            in_cluster,
        })
    }

    /// kube-rs's client configuration for a kubeconfig file, or for `api_server` with the
    /// older partial options.
    async fn client_config(&self) -> Result<Config, DiscoveryError> {
        let o = &self.options;
        if let Some(path) = &o.kubeconfig_file {
            let err = |m: String| DiscoveryError::Kubernetes {
                origin: path.clone(),
                message: m,
            };
            let kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
            return Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| err(e.to_string()));
        }
        if let Some(url) = &o.api_server {
            let err = |m: String| DiscoveryError::Kubernetes {
                origin: url.clone(),
                message: m,
            };
            let uri: http::Uri = url
                .parse()
                .map_err(|e: http::uri::InvalidUri| err(e.to_string()))?;
            let mut cfg = Config::new(uri);
            cfg.accept_invalid_certs = o.client.insecure_skip_verify;
            let auth = if let Some(t) = o.client.token().map_err(err)? {
                Some(format!("Bearer {t}"))
            } else {
                o.client
                    .basic_auth
                    .as_ref()
                    .map(|(u, p)| format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))))
            };
            if let Some(auth) = auth {
                let v = http::HeaderValue::from_str(&auth).map_err(|e| err(e.to_string()))?;
                cfg.headers.push((http::header::AUTHORIZATION, v));
            }
            return Ok(cfg);
        }
        Err(DiscoveryError::Kubernetes {
            origin: "in-cluster".to_owned(),
            message: "the in-cluster configuration goes through the shared client".to_owned(),
        })
    }

    async fn client(&self) -> Result<Client, DiscoveryError> {
        crate::ensure_crypto_provider();
        if let Some(c) = &self.in_cluster {
            return Ok(Client::new(
                SharedTransport::new(c.client.clone(), &c.url),
                "default",
            ));
        }
        if let (Some(url), Some(http)) = (&self.options.api_server, &self.options.http_client) {
            let shared = HttpClient::new(http).map_err(|e| DiscoveryError::Kubernetes {
                origin: url.clone(),
                message: e.to_string(),
            })?;
            return Ok(Client::new(SharedTransport::new(shared, url), "default"));
        }
        let cfg = self.client_config().await?;
        let origin = cfg.cluster_url.to_string();
        Client::try_from(cfg).map_err(|e| DiscoveryError::Kubernetes {
            origin,
            message: e.to_string(),
        })
    }
}

impl Discoverer for KubernetesDiscovery {
    async fn run(self, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
        let client = match self.client().await {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(%err, "Cannot create Kubernetes client");
                return;
            }
        };
        super::watch::run(client, self.options, self.namespaces, tx, cancel).await;
    }
}
