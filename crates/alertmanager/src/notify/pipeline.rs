//! Builds the pipeline from the configuration: per receiver, the cluster settle wait, inhibition, active and mute
//! time intervals, silences, then each integration's wait, dedup, retry and set-notifies
//! stages in parallel (mirrors `notify.PipelineBuilder.New`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::dedup::DedupStage;
use super::mute::{MuteStage, Muter};
use super::retry::RetryStage;
use super::set_notifies::SetNotifiesStage;
use super::settle::SettleStage;
use super::time::{Intervals, TimeActiveStage, TimeMuteStage};
use super::wait::WaitStage;
use super::{FanoutStage, Integration, MultiStage, RoutingStage, StageRef};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::nflog::{NflogRef, ReceiverKey};

/// What the stages share.
#[derive(Clone)]
pub struct Deps {
    /// Inhibition.
    pub inhibitor: Arc<dyn Muter>,
    /// Silences.
    pub silencer: Arc<dyn Muter>,
    /// The notification log.
    pub nflog: NflogRef,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The HA wait (position × peer timeout).
    pub wait: Arc<dyn Fn() -> Duration + Send + Sync>,
    /// The external URL put in notifications.
    pub external_url: String,
    /// Fired once the cluster settled (none: clustering off).
    pub settled: Option<crate::stop::Stop>,
}

/// The integrations of each receiver, built by the notifiers crate with `tmpl`.
///
/// # Errors
/// An integration that cannot be built (bad HTTP client settings, unsupported type).
pub fn integrations(
    cfg: &Config,
    tmpl: &Arc<notifiers::Template>,
) -> Result<HashMap<String, Vec<Integration>>, String> {
    let opts = http_client::ClientOptions {
        user_agent: "Alertmanager/0.25.0".to_owned(),
        ..http_client::ClientOptions::default()
    };
    cfg.receivers
        .iter()
        .map(|r| {
            notifiers::build_integrations(r, tmpl, &opts)
                .map(|list| (r.name.clone(), list))
                .map_err(|e| e.message)
        })
        .collect()
}

/// The whole pipeline for `receivers`.
#[must_use]
pub fn build(cfg: &Config, receivers: HashMap<String, Vec<Integration>>, deps: &Deps) -> StageRef {
    let intervals: Intervals = Arc::new(
        cfg.named_intervals()
            .map(|i| (i.name.clone(), i.clone()))
            .collect(),
    );
    let mut by_receiver: HashMap<String, StageRef> = HashMap::new();
    for (name, list) in receivers {
        let fanout: Vec<StageRef> = list
            .into_iter()
            .map(|i| {
                let key = ReceiverKey {
                    group_name: name.clone(),
                    integration: i.name.to_owned(),
                    idx: u32::try_from(i.index).unwrap_or(u32::MAX),
                };
                let wait = deps.wait.clone();
                Arc::new(MultiStage(vec![
                    Arc::new(WaitStage(Box::new(move || wait()))),
                    Arc::new(DedupStage {
                        nflog: deps.nflog.clone(),
                        receiver: key.clone(),
                        send_resolved: i.send_resolved,
                    }),
                    Arc::new(RetryStage {
                        integration: i,
                        group_name: name.clone(),
                        metrics: deps.metrics.clone(),
                        external_url: deps.external_url.clone(),
                    }),
                    Arc::new(SetNotifiesStage {
                        nflog: deps.nflog.clone(),
                        receiver: key,
                    }),
                ])) as StageRef
            })
            .collect();
        let stage: StageRef = Arc::new(MultiStage(vec![
            Arc::new(SettleStage(deps.settled.clone())),
            Arc::new(MuteStage(deps.inhibitor.clone())),
            Arc::new(TimeActiveStage(intervals.clone())),
            Arc::new(TimeMuteStage(intervals.clone())),
            Arc::new(MuteStage(deps.silencer.clone())),
            Arc::new(FanoutStage(fanout)),
        ]));
        by_receiver.insert(name, stage);
    }
    Arc::new(RoutingStage(by_receiver))
}
