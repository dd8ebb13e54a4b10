//! The discovery manager: runs providers per job, merges their groups, throttles updates.
//!
//! As in Prometheus's `discovery/manager.go`: a provider is one running discoverer for one SD
//! configuration; jobs with identical configurations share it ("subs"). Groups are kept per
//! (job, provider) and source; an update marks the state dirty, and a sender task hands the
//! full `job -> groups` map to the consumer promptly, then at most once per update interval.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::discoverer::{BoxDiscoverer, SdConfig};
use crate::metrics::ManagerMetrics;
use crate::targetgroup::TargetGroup;

/// Every job's target groups, as the manager sends them.
pub type TargetSets = HashMap<String, Vec<TargetGroup>>;

/// Options of a [`Manager`].
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// The manager's name, for logs (`scrape`, `notify`).
    pub name: String,
    /// Minimum time between two sends (Prometheus: 5 s).
    pub update_interval: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            name: "scrape".to_owned(),
            update_interval: Duration::from_secs(5),
        }
    }
}

struct Provider {
    name: String,
    /// `None` for custom providers started by name.
    config: Option<SdConfig>,
    subs: HashSet<String>,
    new_subs: HashSet<String>,
    cancel: CancellationToken,
    /// Set until the provider is started.
    pending: Option<BoxDiscoverer>,
}

#[derive(Default)]
struct State {
    providers: Vec<Provider>,
    /// (job, provider name) -> source -> group.
    targets: HashMap<(String, String), BTreeMap<String, TargetGroup>>,
    last_provider: usize,
}

struct Shared {
    state: Mutex<State>,
    metrics: ManagerMetrics,
    /// Set when groups changed since the last send; `trigger` wakes the sender.
    dirty: AtomicBool,
    trigger: Notify,
    name: String,
}

/// Runs discoverers for a set of jobs and sends their merged target groups.
///
/// Dropping the manager (or calling [`Manager::stop`]) cancels every provider and ends the
/// sender, which closes the receiving channel.
pub struct Manager {
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl Manager {
    /// Creates a manager and spawns its sender task on the current tokio runtime. The receiver
    /// gets the full `job -> groups` map after changes, at most once per update interval.
    #[must_use]
    pub fn new(options: ManagerOptions) -> (Self, mpsc::Receiver<TargetSets>) {
        Self::with_registry(options, &metrics::Registry::new())
    }

    /// As [`Manager::new`], with the manager's metrics (`prometheus_sd_failed_configs`,
    /// `prometheus_sd_discovered_targets`, `prometheus_sd_received_updates_total`,
    /// `prometheus_sd_updates_total`, labelled with the manager's name) in `registry`.
    #[must_use]
    pub fn with_registry(
        options: ManagerOptions,
        registry: &metrics::Registry,
    ) -> (Self, mpsc::Receiver<TargetSets>) {
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            metrics: ManagerMetrics::new(registry, &options.name),
            state: Mutex::new(State::default()),
            dirty: AtomicBool::new(false),
            trigger: Notify::new(),
            name: options.name,
        });
        let cancel = CancellationToken::new();
        tokio::spawn(sender(
            Arc::clone(&shared),
            tx,
            options.update_interval,
            cancel.clone(),
        ));
        (Self { shared, cancel }, rx)
    }

    /// Applies a new configuration: `job -> SD configurations`.
    ///
    /// Providers whose configuration is still used keep running (and keep their groups, now
    /// also serving any new job with the same configuration); providers no longer used are
    /// stopped and their groups dropped; new configurations start new providers. A job without
    /// any configuration (or whose configurations all failed) still appears, with no groups.
    /// Returns the number of configurations that could not be turned into discoverers (they are
    /// logged).
    pub fn apply_config(&self, cfg: &HashMap<String, Vec<SdConfig>>) -> usize {
        let mut st = self.shared.state.lock();
        for p in st.providers.iter_mut().filter(|p| p.config.is_none()) {
            p.new_subs.clone_from(&p.subs);
        }
        let mut failed = 0;
        let mut jobs: Vec<&String> = cfg.keys().collect();
        jobs.sort();
        for job in jobs {
            failed += register_providers(&mut st, &cfg[job], job, &self.shared.name, &self.cancel);
        }

        let st = &mut *st;
        let mut kept = Vec::with_capacity(st.providers.len());
        for mut p in std::mem::take(&mut st.providers) {
            if p.new_subs.is_empty() {
                // Nothing uses this provider any more.
                p.cancel.cancel();
                for s in &p.subs {
                    st.targets.remove(&(s.clone(), p.name.clone()));
                }
                tracing::debug!(manager = %self.shared.name, provider = %p.name, "Stopped provider");
                continue;
            }
            let mut reference = None;
            for s in &p.subs {
                let key = (s.clone(), p.name.clone());
                if p.new_subs.contains(s) {
                    reference = st.targets.get(&key).cloned();
                } else if let Some(t) = st.targets.remove(&key) {
                    reference = Some(t);
                }
            }
            if let Some(reference) = reference.filter(|r| !r.is_empty()) {
                for s in &p.new_subs {
                    st.targets
                        .entry((s.clone(), p.name.clone()))
                        .or_insert_with(|| reference.clone());
                }
            }
            p.subs = std::mem::take(&mut p.new_subs);
            if let Some(d) = p.pending.take() {
                start_provider(&self.shared, &p, d);
            }
            kept.push(p);
        }
        st.providers = kept;
        #[allow(clippy::cast_precision_loss)]
        self.shared.metrics.failed_configs.set(failed as f64);
        self.shared.mark_dirty();
        failed
    }

    /// Starts a provider outside of any configuration; its groups are sent under `name`.
    pub fn start_custom_provider(&self, name: &str, discoverer: BoxDiscoverer) {
        let mut st = self.shared.state.lock();
        let p = Provider {
            name: name.to_owned(),
            config: None,
            subs: HashSet::from([name.to_owned()]),
            new_subs: HashSet::new(),
            cancel: self.cancel.child_token(),
            pending: None,
        };
        start_provider(&self.shared, &p, discoverer);
        st.providers.push(p);
    }

    /// The names of running providers (`static/0`, `file/1`...), in start order.
    #[must_use]
    pub fn providers(&self) -> Vec<String> {
        self.shared
            .state
            .lock()
            .providers
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// Stops every provider and the sender.
    pub fn stop(&self) {
        self.cancel.cancel();
        for p in &self.shared.state.lock().providers {
            p.cancel.cancel();
        }
    }

    /// A token that the manager's tasks derive from; cancelling it stops the manager.
    #[must_use]
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn register_providers(
    st: &mut State,
    cfgs: &[SdConfig],
    job: &str,
    manager: &str,
    parent: &CancellationToken,
) -> usize {
    let mut failed = 0;
    let mut added = false;
    for cfg in cfgs {
        match add_provider(st, cfg, job, parent) {
            Ok(()) => added = true,
            Err(err) => {
                tracing::error!(manager, %err, mechanism = cfg.name(), config = job,
                    "Cannot create service discovery");
                failed += 1;
            }
        }
    }
    if !added {
        // An empty static group makes the job known to the consumer, with no targets.
        let empty = SdConfig::Static(vec![TargetGroup::default()]);
        add_provider(st, &empty, job, parent).expect("a static discoverer always builds");
    }
    failed
}

/// Subscribes `job` to the provider running `cfg`, starting one if there is none.
fn add_provider(
    st: &mut State,
    cfg: &SdConfig,
    job: &str,
    parent: &CancellationToken,
) -> Result<(), crate::DiscoveryError> {
    if let Some(p) = st
        .providers
        .iter_mut()
        .find(|p| p.config.as_ref() == Some(cfg))
    {
        p.new_subs.insert(job.to_owned());
        return Ok(());
    }
    let d = cfg.new_discoverer()?;
    let name = format!("{}/{}", cfg.name(), st.last_provider);
    st.last_provider += 1;
    st.providers.push(Provider {
        name,
        config: Some(cfg.clone()),
        subs: HashSet::new(),
        new_subs: HashSet::from([job.to_owned()]),
        cancel: parent.child_token(),
        pending: Some(d),
    });
    Ok(())
}

fn start_provider(shared: &Arc<Shared>, p: &Provider, d: BoxDiscoverer) {
    tracing::debug!(manager = %shared.name, provider = %p.name, subs = ?p.subs, "Starting provider");
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(d(tx, p.cancel.clone()));
    tokio::spawn(updater(
        Arc::clone(shared),
        p.name.clone(),
        p.cancel.clone(),
        rx,
    ));
}

async fn updater(
    shared: Arc<Shared>,
    provider: String,
    cancel: CancellationToken,
    mut rx: mpsc::Receiver<Vec<TargetGroup>>,
) {
    loop {
        let groups = tokio::select! {
            () = cancel.cancelled() => return,
            g = rx.recv() => g,
        };
        let Some(groups) = groups else {
            // The discoverer finished (static); its groups stay until the provider is stopped.
            return;
        };
        shared.metrics.received();
        {
            let mut st = shared.state.lock();
            // Checked under the lock: `apply_config` cancels under it too, so a stopped
            // provider never writes groups back.
            if cancel.is_cancelled() {
                return;
            }
            let Some(subs) = st
                .providers
                .iter()
                .find(|p| p.name == provider)
                .map(|p| p.subs.clone())
            else {
                return;
            };
            for s in subs {
                let set = st.targets.entry((s, provider.clone())).or_default();
                for g in &groups {
                    if g.targets.is_empty() {
                        set.remove(&g.source);
                    } else {
                        set.insert(g.source.clone(), g.clone());
                    }
                }
            }
        }
        shared.mark_dirty();
    }
}

impl Shared {
    fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
        self.trigger.notify_one();
    }
}

fn all_groups(st: &State) -> TargetSets {
    let mut out: TargetSets = HashMap::new();
    for p in &st.providers {
        let mut subs: Vec<&String> = p.subs.iter().collect();
        subs.sort();
        for s in subs {
            let entry = out.entry(s.clone()).or_default();
            if let Some(groups) = st.targets.get(&(s.clone(), p.name.clone())) {
                entry.extend(groups.values().cloned());
            }
        }
    }
    out
}

async fn sender(
    shared: Arc<Shared>,
    tx: mpsc::Sender<TargetSets>,
    interval: Duration,
    cancel: CancellationToken,
) {
    let mut last_sent: Option<Instant> = None;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = shared.trigger.notified() => {}
        }
        loop {
            if let Some(t) = last_sent {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep_until(t + interval) => {}
                }
            }
            // A wake-up left over from changes an earlier send already carried: nothing to do.
            if !shared.dirty.swap(false, Ordering::SeqCst) {
                break;
            }
            let sets = all_groups(&shared.state.lock());
            for (job, groups) in &sets {
                let n = groups.iter().map(|g| g.targets.len()).sum();
                shared.metrics.set_discovered(job, n);
            }
            match tx.try_send(sets) {
                Ok(()) => {
                    shared.metrics.sent();
                    last_sent = Some(Instant::now());
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    shared.metrics.delayed();
                    shared.dirty.store(true, Ordering::SeqCst);
                    tracing::debug!(manager = %shared.name,
                        "Discovery receiver's channel was full so will retry the next cycle");
                    last_sent = Some(Instant::now());
                }
            }
        }
    }
}
