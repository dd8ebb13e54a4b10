//! Static discovery: `static_configs` groups, sent once.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::discoverer::Discoverer;
use crate::targetgroup::TargetGroup;

/// Sends a fixed list of target groups once and stops.
#[derive(Clone, Debug)]
pub struct StaticDiscovery {
    groups: Vec<TargetGroup>,
}

impl StaticDiscovery {
    /// Groups without a source get their index (`"0"`, `"1"`...) as source, as Prometheus's
    /// configuration loader does for `static_configs`.
    #[must_use]
    pub fn new(mut groups: Vec<TargetGroup>) -> Self {
        for (i, g) in groups.iter_mut().enumerate() {
            if g.source.is_empty() {
                g.source = i.to_string();
            }
        }
        Self { groups }
    }
}

impl Discoverer for StaticDiscovery {
    async fn run(self, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
        tokio::select! {
            () = cancel.cancelled() => {}
            _ = tx.send(self.groups) => {}
        }
    }
}
