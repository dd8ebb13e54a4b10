//! Building the Kubernetes client (API server URL, kubeconfig file or in-cluster) and the
//! `Discoverer` implementation. `api_server` with a `http_client_config` and the in-cluster
//! configuration go through Firewatch's own HTTP client ([`SharedTransport`]); a kubeconfig
//! file through kube-rs's.

use config::KubernetesSdConfig;
use config::kubernetes::Role;
use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::in_cluster::{InCluster, InClusterEnv};
use super::transport::SharedTransport;
use crate::discoverer::Discoverer;
use crate::error::DiscoveryError;
use crate::targetgroup::TargetGroup;
use http_client::HttpClient;

/// Discovers targets from the Kubernetes API.
#[derive(Debug)]
pub struct KubernetesDiscovery {
    options: KubernetesSdConfig,
    role: Role,
    namespaces: Vec<String>,
    /// Set when neither `api_server` nor `kubeconfig_file` is.
    in_cluster: Option<InCluster>,
}

impl KubernetesDiscovery {
    /// Validates the section (the `config` crate's checks), sets up the in-cluster configuration when neither `api_server`
    /// nor `kubeconfig_file` is given, and resolves the namespaces to watch.
    ///
    /// # Errors
    /// Invalid option combinations; an unreadable kubeconfig file; outside a cluster
    /// (client-go's `unable to load in-cluster configuration, ...`); an unreadable service
    /// account token; `own_namespace` with an unreadable or empty namespace file.
    pub fn new(options: KubernetesSdConfig) -> Result<Self, DiscoveryError> {
        Self::with_environment(options, &InClusterEnv::default())
    }

    /// As [`KubernetesDiscovery::new`], reading the in-cluster configuration from `env`
    /// instead of the pod's service-account directory and the process environment.
    ///
    /// # Errors
    /// As [`KubernetesDiscovery::new`].
    pub fn with_environment(
        mut options: KubernetesSdConfig,
        env: &InClusterEnv,
    ) -> Result<Self, DiscoveryError> {
        let invalid = |e: &dyn std::fmt::Display| DiscoveryError::config("kubernetes", e);
        options.validate().map_err(|e| invalid(&e))?;
        let role = options.role.ok_or_else(|| invalid(&"role missing"))?;
        if let Some(path) = kubeconfig_file(&options) {
            Kubeconfig::read_from(path).map_err(|e| DiscoveryError::Kubernetes {
                origin: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        let in_cluster = if api_server(&options).is_none() && kubeconfig_file(&options).is_none() {
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
            role,
            namespaces,
            in_cluster,
        })
    }

    /// kube-rs's client configuration for a kubeconfig file.
    async fn kubeconfig(path: &str) -> Result<Config, DiscoveryError> {
        let err = |m: String| DiscoveryError::Kubernetes {
            origin: path.to_owned(),
            message: m,
        };
        let kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| err(e.to_string()))
    }

    /// The API client this discovery uses (also the one the operator crate watches its
    /// resources through, from the same connection settings).
    ///
    /// # Errors
    /// An HTTP client that cannot be built; an unreadable kubeconfig file.
    pub async fn client(&self) -> Result<Client, DiscoveryError> {
        crate::ensure_crypto_provider();
        if let Some(c) = &self.in_cluster {
            return Ok(Client::new(
                SharedTransport::new(c.client.clone(), &c.url),
                "default",
            ));
        }
        if let Some(url) = api_server(&self.options) {
            let shared = HttpClient::new(&self.options.http_client()).map_err(|e| {
                DiscoveryError::Kubernetes {
                    origin: url.to_owned(),
                    message: e.to_string(),
                }
            })?;
            return Ok(Client::new(SharedTransport::new(shared, url), "default"));
        }
        let Some(path) = kubeconfig_file(&self.options) else {
            return Err(DiscoveryError::Kubernetes {
                origin: "in-cluster".to_owned(),
                message: "the in-cluster configuration goes through the shared client".to_owned(),
            });
        };
        let cfg = Self::kubeconfig(path).await?;
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
        super::watch::run(
            client,
            self.role,
            &self.options,
            self.namespaces,
            tx,
            cancel,
        )
        .await;
    }
}

/// `api_server`, unless absent or empty.
fn api_server(c: &KubernetesSdConfig) -> Option<&str> {
    c.api_server
        .as_ref()
        .map(config::Url::as_str)
        .filter(|u| !u.is_empty())
}

/// `kubeconfig_file`, unless empty.
fn kubeconfig_file(c: &KubernetesSdConfig) -> Option<&str> {
    Some(c.kubeconfig_file.as_str()).filter(|f| !f.is_empty())
}
