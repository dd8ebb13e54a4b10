//! The notifier: a bounded queue of alerts, sent in batches to every Alertmanager discovered from
//! `alerting.alertmanagers` (API v2), after `alert_relabel_configs`.
//!
//! As Prometheus's `notifier` package: [`AlertSender::send`] adds external labels, applies the
//! global `alert_relabel_configs` and queues the alerts (a full queue drops its oldest alerts).
//! [`Notifier::run`] takes batches of at most `max_batch_size` alerts and posts each batch to
//! every active Alertmanager of every set concurrently, after the set's own
//! `alert_relabel_configs`; a batch that reached no Alertmanager of some set counts as dropped.
//! Alertmanagers are found by the same service discovery as scrape targets, one discovery
//! provider set per `config-<index>`.
//!
//! Wiring in a server: `Notifier::new(options)`, then `apply_config(&cfg)` at start and on each
//! reload; spawn a clone's `run()`; hand `Arc::new(notifier.clone())` to the rules manager as its
//! `Arc<dyn AlertSender>`; its `metrics::Collector` feeds `/metrics` and `alertmanagers()` feeds
//! `/api/v1/alertmanagers`; at shutdown stop the rules first, then `stop()` and await the run
//! task (it drains the queue).

mod client;
mod error;
mod metrics;
mod payload;
mod queue;
mod set;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use discovery::{Manager, ManagerOptions, SdConfig, TargetGroup};
use futures::future::join_all;
use model::Labels;
use model::relabel::RelabelConfig;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use error::NotifierError;

use self::metrics::{Gauges, Metrics};
use crate::alert::{Alert, AlertSender};
use queue::Queue;
use set::AlertmanagerSet;

/// Prometheus's default maximum number of alerts in one request.
pub const DEFAULT_MAX_BATCH_SIZE: usize = 256;
/// Prometheus's default queue capacity (`--alertmanager.notification-queue-capacity`).
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// Settings of a [`Notifier`] that come from flags rather than `prometheus.yml`.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// Alerts held at most while waiting to be sent (10000).
    pub queue_capacity: usize,
    /// Alerts per request at most (256).
    pub max_batch_size: usize,
    /// Labels added to every alert that lacks them; replaced by `global.external_labels` on
    /// [`Notifier::apply_config`].
    pub external_labels: Labels,
    /// Send what is still queued when stopping (`--alertmanager.drain-notification-queue-on-shutdown`,
    /// default true); otherwise it is counted as dropped.
    pub drain_on_shutdown: bool,
    /// Minimum time between two updates from service discovery (Prometheus: 5 s).
    pub discovery_update_interval: Duration,
    /// Where the Alertmanager discovery's metrics go (`prometheus_sd_*{name="notify"}`);
    /// by default a registry of its own, not served.
    pub registry: ::metrics::Registry,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            external_labels: Labels::empty(),
            drain_on_shutdown: true,
            discovery_update_interval: Duration::from_secs(5),
            registry: ::metrics::Registry::new(),
        }
    }
}

/// What `send` does to alerts before queueing them.
struct Relabel {
    external: Labels,
    rules: Vec<RelabelConfig>,
}

/// The discovery side: SD configurations per set, and the manager once running.
#[derive(Default)]
struct Discovery {
    configs: HashMap<String, Vec<SdConfig>>,
    manager: Option<Manager>,
}

struct Inner {
    max_batch_size: usize,
    drain_on_shutdown: bool,
    update_interval: Duration,
    registry: ::metrics::Registry,
    relabel: RwLock<Relabel>,
    queue: Mutex<Queue>,
    /// Woken when the queue has alerts (a stored permit when nobody waits).
    more: Notify,
    /// Whether some set has an active Alertmanager. While configured sets have none (before
    /// discovery first finds them), alerts wait in the queue rather than being dropped.
    reachable: tokio::sync::watch::Sender<bool>,
    sets: RwLock<Vec<Arc<AlertmanagerSet>>>,
    discovery: Mutex<Discovery>,
    metrics: Metrics,
    stop: CancellationToken,
}

/// Sends alerts to Alertmanagers. Cheap to clone: clones share the queue and the sets.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("queue_length", &self.queue_len())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier with no Alertmanagers yet; call [`Notifier::apply_config`] and spawn
    /// [`Notifier::run`].
    #[must_use]
    pub fn new(options: NotifierOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_batch_size: options.max_batch_size.max(1),
                drain_on_shutdown: options.drain_on_shutdown,
                update_interval: options.discovery_update_interval,
                registry: options.registry,
                relabel: RwLock::new(Relabel {
                    external: options.external_labels,
                    rules: Vec::new(),
                }),
                queue: Mutex::new(Queue::new(options.queue_capacity)),
                more: Notify::new(),
                reachable: tokio::sync::watch::Sender::new(false),
                sets: RwLock::new(Vec::new()),
                discovery: Mutex::new(Discovery::default()),
                metrics: Metrics::default(),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// Applies a (re)loaded configuration: external labels, global `alert_relabel_configs`, and
    /// the Alertmanager sets with their discovery. A set whose configuration did not change
    /// keeps its discovered Alertmanagers until discovery reports again.
    ///
    /// # Errors
    /// A set whose HTTP client cannot be built (unreadable CA file, bad certificate...) or whose
    /// API version is not v2; nothing is changed then.
    pub fn apply_config(&self, cfg: &config::Config) -> Result<(), NotifierError> {
        let old = self.inner.sets.read().clone();
        let mut sets = Vec::new();
        for (i, am) in cfg.alerting.alertmanagers.iter().enumerate() {
            let Some(am) = am else { continue };
            let set = AlertmanagerSet::new(format!("config-{i}"), am)?;
            if let Some(prev) = old.iter().find(|s| s.config == *am) {
                let members = prev.members.read().clone();
                *set.members.write() = members;
            }
            sets.push(Arc::new(set));
        }
        {
            let mut r = self.inner.relabel.write();
            r.external = Labels::from_pairs(cfg.global.external_labels.iter());
            r.rules = config::relabel::rules(&cfg.alerting.alert_relabel_configs);
        }
        let reachable = sets.iter().any(|s| !s.active().is_empty());
        *self.inner.sets.write() = sets;
        self.inner.reachable.send_replace(reachable);
        let mut d = self.inner.discovery.lock();
        d.configs = discovery::from_config::alertmanager_sets(&cfg.alerting);
        if let Some(m) = &d.manager {
            m.apply_config(&d.configs);
        }
        Ok(())
    }

    /// Runs discovery and the send loop until [`Notifier::stop`]; then sends what is queued (or
    /// counts it as dropped, see [`NotifierOptions::drain_on_shutdown`]) and returns.
    pub async fn run(&self) {
        let inner = &self.inner;
        let (manager, mut updates) = Manager::with_registry(
            ManagerOptions {
                name: "notify".to_owned(),
                update_interval: inner.update_interval,
            },
            &inner.registry,
        );
        {
            let mut d = inner.discovery.lock();
            manager.apply_config(&d.configs);
            d.manager = Some(manager);
        }
        let stop = inner.stop.clone();
        let discover = async {
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    sets = updates.recv() => match sets {
                        Some(sets) => self.sync(&sets),
                        None => {
                            stop.cancelled().await;
                            break;
                        }
                    },
                }
            }
        };
        let send = async {
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    () = inner.more.notified() => {
                        if !inner.sets.read().is_empty() {
                            let mut reachable = inner.reachable.subscribe();
                            tokio::select! {
                                () = stop.cancelled() => break,
                                _ = reachable.wait_for(|r| *r) => {}
                            }
                        }
                        self.send_one_batch().await;
                        if self.queue_len() > 0 {
                            inner.more.notify_one();
                        }
                    }
                }
            }
            self.drain().await;
        };
        tokio::join!(discover, send);
        if let Some(m) = inner.discovery.lock().manager.take() {
            m.stop();
        }
        tracing::info!("Notification manager stopped");
    }

    /// Asks [`Notifier::run`] to finish; returns at once.
    pub fn stop(&self) {
        tracing::info!("Stopping notification manager...");
        self.inner.stop.cancel();
    }

    /// Replaces the members of each set with those of its discovered groups (`config-<index>`
    /// keys, as the discovery manager sends them).
    pub fn sync(&self, target_sets: &HashMap<String, Vec<TargetGroup>>) {
        let sets = self.inner.sets.read().clone();
        for (name, groups) in target_sets {
            let Some(set) = sets.iter().find(|s| &s.name == name) else {
                tracing::error!(err = %format!("invalid id:{name}"), "couldn't sync alert manager set");
                continue;
            };
            for url in set.sync(groups) {
                self.inner.metrics.init(&url);
            }
        }
        let reachable = sets.iter().any(|s| !s.active().is_empty());
        self.inner.reachable.send_replace(reachable);
    }

    /// The full URLs of the alerts endpoints of the active and the dropped Alertmanagers, set by
    /// set, for `/api/v1/alertmanagers`.
    #[must_use]
    pub fn alertmanagers(&self) -> (Vec<String>, Vec<String>) {
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        for s in self.inner.sets.read().iter() {
            let m = s.members.read();
            active.extend(m.active.iter().cloned());
            dropped.extend(m.dropped.iter().cloned());
        }
        (active, dropped)
    }

    /// Alerts waiting in the queue.
    #[must_use]
    pub fn queue_len(&self) -> usize {
        self.inner.queue.lock().len()
    }

    /// Alerts dropped so far (queue overflow, batches no Alertmanager of a set accepted).
    #[must_use]
    pub fn dropped_total(&self) -> u64 {
        self.inner.metrics.dropped_total()
    }

    /// `(sent, errors)` counted for the Alertmanager whose alerts endpoint is `url`.
    #[must_use]
    pub fn counts(&self, url: &str) -> Option<(u64, u64)> {
        self.inner.metrics.counts(url)
    }

    async fn send_one_batch(&self) {
        let batch = self
            .inner
            .queue
            .lock()
            .next_batch(self.inner.max_batch_size);
        let n = batch.len();
        if !self.send_all(&batch).await {
            self.inner.metrics.dropped(n);
        }
    }

    async fn drain(&self) {
        let left = self.queue_len();
        if left == 0 {
            return;
        }
        if !self.inner.drain_on_shutdown {
            tracing::warn!(
                count = left,
                "Draining remaining notifications on shutdown is disabled, and some notifications have been dropped"
            );
            self.inner.queue.lock().next_batch(usize::MAX);
            self.inner.metrics.dropped(left);
            return;
        }
        tracing::info!("Draining any remaining notifications...");
        while self.queue_len() > 0 {
            self.send_one_batch().await;
        }
        tracing::info!("Remaining notifications drained");
    }

    /// Posts `alerts` to every active Alertmanager of every set at once. True when each set that
    /// was sent to has at least one Alertmanager that accepted the batch; false when there was
    /// no Alertmanager to send to.
    async fn send_all(&self, alerts: &[Alert]) -> bool {
        if alerts.is_empty() {
            return true;
        }
        let begin = Instant::now();
        let sets = self.inner.sets.read().clone();
        let shared = Arc::new(payload::encode_v2(alerts));
        let mut requests = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let urls = set.active();
            if urls.is_empty() {
                continue;
            }
            let (body, count) = if set.alert_relabel.is_empty() {
                (Arc::clone(&shared), alerts.len())
            } else {
                let relabeled =
                    payload::relabel_alerts(&set.alert_relabel, &Labels::empty(), alerts);
                if relabeled.is_empty() {
                    continue;
                }
                (Arc::new(payload::encode_v2(&relabeled)), relabeled.len())
            };
            for url in urls {
                let set = Arc::clone(set);
                let body = Arc::clone(&body);
                let metrics = &self.inner.metrics;
                requests.push(async move {
                    let result = set.client.post(&url, &body, set.timeout).await;
                    if let Err(err) = &result {
                        tracing::error!(alertmanager = %url, count, %err, "Error sending alerts");
                    }
                    metrics.attempt(&url, count, result.is_err(), begin.elapsed());
                    (i, result.is_ok())
                });
            }
        }
        if requests.is_empty() {
            return false;
        }
        let results = join_all(requests).await;
        let mut covered: HashMap<usize, bool> = HashMap::new();
        for (i, ok) in results {
            *covered.entry(i).or_default() |= ok;
        }
        covered.values().all(|ok| *ok)
    }
}

impl AlertSender for Notifier {
    fn send(&self, alerts: Vec<Alert>) {
        let alerts = {
            let r = self.inner.relabel.read();
            payload::relabel_alerts(&r.rules, &r.external, &alerts)
        };
        tracing::debug!(count = alerts.len(), "queueing alerts");
        if alerts.is_empty() {
            return;
        }
        let (over_batch, over_queue) = self.inner.queue.lock().push(alerts);
        if over_batch > 0 {
            tracing::warn!(
                num_dropped = over_batch,
                "Alert batch larger than queue capacity, dropping alerts"
            );
        }
        if over_queue > 0 {
            tracing::warn!(
                num_dropped = over_queue,
                "Alert notification queue full, dropping alerts"
            );
        }
        self.inner.metrics.dropped(over_batch + over_queue);
        self.inner.more.notify_one();
    }
}

impl ::metrics::Collector for Notifier {
    /// The `prometheus_notifications_*` metrics.
    fn collect(&self, out: &mut Vec<model::exposition::MetricFamily>) {
        let (queue_length, queue_capacity) = {
            let q = self.inner.queue.lock();
            (q.len(), q.capacity())
        };
        let gauges = Gauges {
            queue_length,
            queue_capacity,
            alertmanagers_discovered: self.alertmanagers().0.len(),
        };
        self.inner.metrics.collect(out, &gauges);
    }
}
