//! Test helpers: a view that applies discoverer updates, and a fake Kubernetes API server.

#![allow(dead_code)]

pub mod fake_kube;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use firewatch_discovery::TargetGroup;
use tokio::sync::mpsc;

/// Applies discoverer updates to a source -> group map, as the manager does.
pub struct View {
    pub rx: mpsc::Receiver<Vec<TargetGroup>>,
    pub groups: BTreeMap<String, TargetGroup>,
}

impl View {
    pub fn new(rx: mpsc::Receiver<Vec<TargetGroup>>) -> Self {
        Self {
            rx,
            groups: BTreeMap::new(),
        }
    }

    /// Receives updates until `pred` holds (30 s at most: CI machines are loaded).
    pub async fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&BTreeMap<String, TargetGroup>) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !pred(&self.groups) {
            let left = deadline.saturating_duration_since(Instant::now());
            let update = tokio::time::timeout(left, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; have {:#?}", self.groups))
                .expect("discoverer stopped");
            for g in update {
                if g.targets.is_empty() {
                    self.groups.remove(&g.source);
                } else {
                    self.groups.insert(g.source.clone(), g);
                }
            }
        }
    }

    /// The group of `source` (panics if absent).
    pub fn group(&self, source: &str) -> &TargetGroup {
        self.groups
            .get(source)
            .unwrap_or_else(|| panic!("no group {source}: {:#?}", self.groups))
    }
}
