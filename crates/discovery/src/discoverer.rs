//! The `Discoverer` trait and `SdConfig`, the closed set of SD configurations a manager runs.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use config::{DnsSdConfig, FileSdConfig, HttpSdConfig, KubernetesSdConfig};

use crate::dns::DnsDiscovery;
use crate::error::DiscoveryError;
use crate::file::FileDiscovery;
use crate::http::HttpDiscovery;
use crate::kubernetes::KubernetesDiscovery;
use crate::static_sd::StaticDiscovery;
use crate::targetgroup::TargetGroup;

/// A source of target groups.
///
/// `run` sends updates until `cancel` fires: the first send should carry every group known at
/// start; later sends carry changed groups only (an empty group removes its source). A
/// discoverer whose `run` returns early keeps its last groups in the manager.
pub trait Discoverer: Send + 'static {
    /// Runs discovery, sending updates on `tx`, until `cancel` is triggered.
    fn run(
        self,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}

/// A boxed future as returned by a [`BoxDiscoverer`].
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A type-erased discoverer, so that a manager can hold discoverers of several kinds.
pub type BoxDiscoverer =
    Box<dyn FnOnce(mpsc::Sender<Vec<TargetGroup>>, CancellationToken) -> BoxFuture + Send>;

/// Erases the type of a discoverer.
pub fn boxed<D: Discoverer>(d: D) -> BoxDiscoverer {
    Box::new(move |tx, cancel| Box::pin(d.run(tx, cancel)))
}

/// One service discovery configuration of a scrape job (or Alertmanager set): the `config`
/// crate's section as read from `prometheus.yml`.
///
/// Two equal configurations share one running provider; `Manager::apply_config` restarts only
/// providers whose configuration changed.
#[derive(Clone, Debug, PartialEq)]
pub enum SdConfig {
    /// `static_configs`: fixed groups (their sources are their indexes, `"0"`, `"1"`...).
    Static(Vec<TargetGroup>),
    /// `file_sd_configs`.
    File(FileSdConfig),
    /// `http_sd_configs`.
    Http(HttpSdConfig),
    /// `dns_sd_configs`.
    Dns(DnsSdConfig),
    /// `kubernetes_sd_configs`.
    Kubernetes(KubernetesSdConfig),
}

impl SdConfig {
    /// The mechanism's name as Prometheus spells it in provider names (`static/0`, `file/1`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Static(_) => "static",
            Self::File(_) => "file",
            Self::Http(_) => "http",
            Self::Dns(_) => "dns",
            Self::Kubernetes(_) => "kubernetes",
        }
    }

    /// Builds the discoverer for this configuration.
    ///
    /// # Errors
    /// When the configuration cannot be turned into a working discoverer (bad file pattern,
    /// unreadable kubeconfig, ...).
    pub fn new_discoverer(&self) -> Result<BoxDiscoverer, DiscoveryError> {
        Ok(match self {
            Self::Static(groups) => boxed(StaticDiscovery::new(groups.clone())),
            Self::File(o) => boxed(FileDiscovery::new(o.clone())?),
            Self::Http(o) => boxed(HttpDiscovery::new(o.clone())?),
            Self::Dns(o) => boxed(DnsDiscovery::new(o.clone())?),
            Self::Kubernetes(o) => boxed(KubernetesDiscovery::new(o.clone())?),
        })
    }
}
