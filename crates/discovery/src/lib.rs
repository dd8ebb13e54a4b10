//! Service discovery as Prometheus does it: discoverers emit target groups, a manager merges them.
//!
//! A [`Discoverer`] runs until cancelled and sends `Vec<TargetGroup>` updates on a channel; each
//! group is identified by its `source` and replaces the previous group of the same source (an
//! empty group removes it). The [`Manager`] runs one provider per distinct SD configuration,
//! shares providers between jobs with identical configurations, merges groups per job and hands
//! `HashMap<job, Vec<TargetGroup>>` to the scrape manager (or the notifier), at most once per
//! update interval.
//!
//! Mechanisms: [`static_sd`], [`file`], [`http`], [`dns`], [`kubernetes`]. [`http_client`] is the
//! HTTP client every outgoing request of Firewatch uses (scrapes, Alertmanagers, HTTP SD).

pub mod discoverer;
pub mod dns;
pub mod error;
pub mod file;
pub mod from_config;
pub mod http;
pub mod http_client;
pub mod kubernetes;
pub mod manager;
mod refresh;
pub mod static_sd;
pub mod targetgroup;

pub use discoverer::{BoxDiscoverer, Discoverer, SdConfig};
pub use error::{DiscoveryError, HttpClientError};
pub use http_client::HttpClient;
pub use manager::{Manager, ManagerOptions};
pub use targetgroup::{LabelSet, TargetGroup};

/// Installs rustls's `ring` provider as the process default unless one is installed already.
///
/// reqwest and kube are built without a bundled provider (see DESIGN.md); the binary installs it
/// at start-up, and this makes discoverers safe to use from tests and other embeddings too.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed afterwards.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
