//! Drops alerts a muter mutes: the inhibitor and the silences (mirrors `notify.MuteStage`
//! and Alertmanager's `silence.Silencer`).

use std::sync::Arc;

use futures::future::BoxFuture;
use jiff::Timestamp;

use super::{NotifyCtx, Stage, StageResult};
use crate::alert::Alert;
use crate::inhibit::Inhibitor;
use crate::labels::{LabelSet, fingerprint};
use crate::marker::Marker;
use crate::silence::Silences;

/// Something that decides whether an alert is muted (and records why).
pub trait Muter: Send + Sync {
    /// Whether an alert with these labels is muted now.
    fn mutes(&self, labels: &LabelSet) -> bool;
}

impl Muter for Inhibitor {
    fn mutes(&self, labels: &LabelSet) -> bool {
        Inhibitor::mutes(self, labels)
    }
}

/// Mutes alerts matched by an active silence, recording the silences in the marker.
pub struct Silencer {
    /// The silences.
    pub silences: Arc<Silences>,
    /// Where statuses go.
    pub marker: Arc<Marker>,
}

impl Muter for Silencer {
    fn mutes(&self, labels: &LabelSet) -> bool {
        let (active, pending) = self.silences.matching(labels, Timestamp::now());
        let muted = !active.is_empty();
        self.marker
            .set_silenced(fingerprint(labels), active, pending);
        muted
    }
}

/// Passes on the alerts the muter does not mute.
pub struct MuteStage(pub Arc<dyn Muter>);

impl Stage for MuteStage {
    fn exec<'a>(
        &'a self,
        _ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            Ok(alerts
                .into_iter()
                .filter(|a| !self.0.mutes(&a.labels))
                .collect())
        })
    }
}
