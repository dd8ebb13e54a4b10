//! What the `Prometheus` resource (the configuration's `kubernetes_operator` section) adds to
//! the scrape configurations generated for its monitors besides selecting them: the sharding
//! rules and the default `serviceDiscoveryRole` of ServiceMonitors.

pub use config::operator::ServiceDiscoveryRole;

use crate::relabel::Sharding;

/// The server-wide settings a monitor's translation reads.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeOptions {
    /// This server's shard.
    pub sharding: Sharding,
    /// The role of ServiceMonitors without their own `serviceDiscoveryRole` (`Endpoints`
    /// when `None`).
    pub service_discovery_role: Option<ServiceDiscoveryRole>,
}

impl From<Sharding> for ScrapeOptions {
    /// `sharding`, every other setting at the Operator's default.
    fn from(sharding: Sharding) -> Self {
        Self {
            sharding,
            service_discovery_role: None,
        }
    }
}
