//! Service discovery as Prometheus does it: discoverers emit target groups, a manager merges them.
//!
//! A [`Discoverer`] runs until cancelled and sends `Vec<TargetGroup>` updates on a channel; each
//! group is identified by its `source` and replaces the previous group of the same source (an
//! empty group removes it). The [`Manager`] runs one provider per distinct SD configuration,
//! shares providers between jobs with identical configurations, merges groups per job and hands
//! `HashMap<job, Vec<TargetGroup>>` to the scrape manager (or the notifier), at most once per
//! update interval.
//!
//! Mechanisms: [`static_sd`], [`file`], [`http`], [`dns`], [`kubernetes`]. Their HTTP requests go
//! through the `http_client` crate, the one client of Firewatch's outgoing requests.

pub mod discoverer;
pub mod dns;
pub mod error;
pub mod file;
pub mod from_config;
pub mod http;
pub mod kubernetes;
pub mod manager;
pub mod metrics;
mod refresh;
pub mod static_sd;
pub mod targetgroup;

pub use crate::metrics::register_sd_metrics;
pub use discoverer::{BoxDiscoverer, Discoverer, SdConfig};
pub use error::DiscoveryError;
pub use manager::{Manager, ManagerOptions};
pub use targetgroup::{LabelSet, TargetGroup};

/// Installs rustls's `ring` provider as the process default (re-exported from `http_client`
/// for discovery's Kubernetes client and tests).
pub use http_client::ensure_crypto_provider;
