//! What the `Prometheus` resource (the configuration's `kubernetes_operator` section) adds to
//! the scrape configurations generated for its monitors besides selecting them: the sharding
//! rules, the default `serviceDiscoveryRole` of ServiceMonitors and the scrape classes.

pub use config::operator::ServiceDiscoveryRole;

use std::sync::Arc;

use crate::relabel::Sharding;
use crate::scrapeclass::ScrapeClass;

/// The server-wide settings a monitor's translation reads.
#[derive(Debug, Clone)]
pub struct ScrapeOptions {
    /// This server's shard.
    pub sharding: Sharding,
    /// The role of ServiceMonitors without their own `serviceDiscoveryRole` (`Endpoints`
    /// when `None`).
    pub service_discovery_role: Option<ServiceDiscoveryRole>,
    /// The scrape classes (`scrapeClasses`).
    pub scrape_classes: Arc<[ScrapeClass]>,
}

impl From<Sharding> for ScrapeOptions {
    /// `sharding`, every other setting at the Operator's default.
    fn from(sharding: Sharding) -> Self {
        Self {
            sharding,
            service_discovery_role: None,
            scrape_classes: Arc::from([]),
        }
    }
}
