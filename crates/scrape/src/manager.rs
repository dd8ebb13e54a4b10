//! The scrape manager: one pool per job, holding one loop per target; follows configuration
//! reloads (only changed jobs restart) and target updates from discovery.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use config::ScrapeConfig;
use discovery::TargetGroup;
use model::Labels;
use model::exposition::{MetricFamily, MetricType};
use storage::AppendableRef;

use crate::http::Fetcher;
use crate::metadata::MetricMetadata;
use crate::metrics::ScrapeMetrics;
use crate::scrape_loop::{LoopOptions, ScrapeLoop};
use crate::target::{Health, Populated, Target, targets_from_group};

/// A target as the API shows it.
#[derive(Debug, Clone)]
pub struct TargetStatus {
    /// The job.
    pub scrape_pool: String,
    /// Labels after relabeling (without `__` labels).
    pub labels: Labels,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// The URL scraped.
    pub scrape_url: String,
    /// Error of the last scrape, empty if it succeeded.
    pub last_error: String,
    /// Start of the last scrape.
    pub last_scrape: Option<SystemTime>,
    /// Duration of the last scrape.
    pub last_scrape_duration: Duration,
    /// Health after the last scrape.
    pub health: Health,
    /// The target's interval.
    pub scrape_interval: Duration,
    /// The target's timeout.
    pub scrape_timeout: Duration,
}

/// The metadata of an active target, for the metadata endpoints.
#[derive(Debug, Clone)]
pub struct TargetMetadata {
    /// The job.
    pub scrape_pool: String,
    /// Labels after relabeling (without `__` labels).
    pub labels: Labels,
    /// The metadata of its last scrapes, sorted by family name.
    pub metadata: Arc<Vec<MetricMetadata>>,
}

struct RunningLoop {
    target: Arc<Target>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Pool {
    config: ScrapeConfig,
    fetcher: Option<Arc<Fetcher>>,
    opts: Arc<LoopOptions>,
    loops: HashMap<u64, RunningLoop>,
    dropped: Vec<Labels>,
    groups: Vec<TargetGroup>,
}

impl Pool {
    /// A pool for `config`; `failed` is counted when its HTTP client cannot be made.
    fn new(config: ScrapeConfig, failed: &metrics::Counter) -> Self {
        let fetcher = match Fetcher::new(&config) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) => {
                failed.inc();
                warn!(job = %config.job_name, error = %e, "cannot create HTTP client; job not scraped");
                None
            }
        };
        let opts = Arc::new(LoopOptions::from_config(&config));
        Self {
            config,
            fetcher,
            opts,
            loops: HashMap::new(),
            dropped: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn sync(&mut self, groups: Vec<TargetGroup>, storage: &AppendableRef, m: &ScrapeMetrics) {
        let job = self.config.job_name.clone();
        let _timer = m.sync_length.with_label_values(&[&job]).start_timer();
        m.sync_total.with_label_values(&[&job]).inc();
        let failures = m.sync_failed.with_label_values(&[&job]);
        let mut wanted: HashMap<u64, Target> = HashMap::new();
        self.dropped.clear();
        for g in &groups {
            for result in targets_from_group(g, &self.config) {
                match result {
                    Ok(Populated::Target(t)) => {
                        wanted.entry(t.hash()).or_insert(t);
                    }
                    Ok(Populated::Dropped(l)) => {
                        if self.config.keep_dropped_targets == 0
                            || (self.dropped.len() as u64) < self.config.keep_dropped_targets
                        {
                            self.dropped.push(l);
                        }
                    }
                    Err(e) => {
                        failures.inc();
                        warn!(job = %self.config.job_name, error = %e, "creating target failed");
                    }
                }
            }
        }
        self.groups = groups;
        if self.config.target_limit > 0 && wanted.len() as u64 > self.config.target_limit {
            warn!(job = %self.config.job_name, targets = wanted.len(), limit = self.config.target_limit, "target_limit exceeded");
            m.exceeded_target_limit.inc();
            self.stop_all();
            m.pool_targets.with_label_values(&[&job]).set(0.0);
            return;
        }
        self.loops.retain(|hash, running| {
            let keep = wanted.contains_key(hash);
            if !keep {
                let _ = running.stop.send(true);
            }
            keep
        });
        let Some(fetcher) = &self.fetcher else { return };
        for (hash, target) in wanted {
            if self.loops.contains_key(&hash) {
                continue;
            }
            let target = Arc::new(target);
            let (stop, stop_rx) = watch::channel(false);
            let scrape_loop = ScrapeLoop::new(
                target.clone(),
                fetcher.clone(),
                storage.clone(),
                self.opts.clone(),
            )
            .with_metrics(m.clone());
            let task = tokio::spawn(scrape_loop.run(stop_rx));
            self.loops.insert(hash, RunningLoop { target, stop, task });
        }
        #[allow(clippy::cast_precision_loss)]
        m.pool_targets
            .with_label_values(&[&job])
            .set(self.loops.len() as f64);
    }

    fn stop_all(&mut self) -> Vec<JoinHandle<()>> {
        self.loops
            .drain()
            .map(|(_, l)| {
                let _ = l.stop.send(true);
                l.task
            })
            .collect()
    }
}

/// The pools by job name.
type Pools = Arc<Mutex<HashMap<String, Pool>>>;

/// Runs the scrape pools of all jobs.
pub struct Manager {
    storage: AppendableRef,
    pools: Pools,
    metrics: ScrapeMetrics,
}

impl Manager {
    /// A manager appending to `storage`, its metrics in a registry of its own (not served).
    #[must_use]
    pub fn new(storage: AppendableRef) -> Self {
        Self::with_registry(storage, &metrics::Registry::new())
    }

    /// A manager appending to `storage` whose metrics (`prometheus_target_*`) are
    /// registered in `registry`.
    #[must_use]
    pub fn with_registry(storage: AppendableRef, registry: &metrics::Registry) -> Self {
        let pools: Pools = Arc::default();
        let weak = Arc::downgrade(&pools);
        registry.register_collector(Arc::new(move |out: &mut Vec<MetricFamily>| {
            if let Some(pools) = weak.upgrade() {
                metadata_cache_metrics(&pools.lock(), out);
            }
        }));
        Self {
            storage,
            pools,
            metrics: ScrapeMetrics::new(registry),
        }
    }

    /// Applies a new set of jobs: new jobs get a pool, removed jobs stop, changed jobs restart
    /// with their current targets; unchanged jobs go on undisturbed. Must run inside a tokio
    /// runtime.
    pub fn apply_config(&self, jobs: &[ScrapeConfig]) {
        let mut pools = self.pools.lock();
        let names: Vec<&str> = jobs.iter().map(|j| j.job_name.as_str()).collect();
        let m = &self.metrics;
        pools.retain(|name, pool| {
            let keep = names.contains(&name.as_str());
            if !keep {
                info!(job = %name, "stopping scrape pool");
                pool.stop_all();
                m.remove_job(name);
            }
            keep
        });
        for job in jobs {
            match pools.get_mut(&job.job_name) {
                Some(pool) if pool.config == *job => {}
                Some(pool) => {
                    info!(job = %job.job_name, "restarting scrape pool with new configuration");
                    m.reloads_total.inc();
                    pool.stop_all();
                    let groups = std::mem::take(&mut pool.groups);
                    *pool = Pool::new(job.clone(), &m.reloads_failed);
                    pool.sync(groups, &self.storage, m);
                }
                None => {
                    m.pools_total.inc();
                    pools.insert(
                        job.job_name.clone(),
                        Pool::new(job.clone(), &m.pools_failed),
                    );
                }
            }
        }
    }

    /// Replaces the target groups of the jobs in `sets`.
    pub fn sync(&self, sets: HashMap<String, Vec<TargetGroup>>) {
        let mut pools = self.pools.lock();
        for (job, groups) in sets {
            match pools.get_mut(&job) {
                Some(pool) => pool.sync(groups, &self.storage, &self.metrics),
                None => warn!(job = %job, "targets for an unknown job"),
            }
        }
    }

    /// Active targets, by pool then URL.
    #[must_use]
    pub fn active_targets(&self) -> Vec<TargetStatus> {
        let pools = self.pools.lock();
        let mut out: Vec<TargetStatus> = pools
            .iter()
            .flat_map(|(name, pool)| {
                pool.loops.values().map(move |l| {
                    let t = &l.target;
                    let last = t.last_scrape();
                    TargetStatus {
                        scrape_pool: name.clone(),
                        labels: t.labels(),
                        discovered_labels: t.discovered_labels().clone(),
                        scrape_url: t.url(),
                        last_error: last.error,
                        last_scrape: last.time,
                        last_scrape_duration: last.duration,
                        health: last.health,
                        scrape_interval: t.interval,
                        scrape_timeout: t.timeout,
                    }
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.scrape_pool, &a.scrape_url).cmp(&(&b.scrape_pool, &b.scrape_url)));
        out
    }

    /// The metadata of every active target, by pool then URL.
    #[must_use]
    pub fn targets_metadata(&self) -> Vec<TargetMetadata> {
        let pools = self.pools.lock();
        let mut out: Vec<(TargetMetadata, String)> = pools
            .iter()
            .flat_map(|(name, pool)| {
                pool.loops.values().map(move |l| {
                    let t = &l.target;
                    let md = TargetMetadata {
                        scrape_pool: name.clone(),
                        labels: t.labels(),
                        metadata: t.metadata(),
                    };
                    (md, t.url())
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.0.scrape_pool, &a.1).cmp(&(&b.0.scrape_pool, &b.1)));
        out.into_iter().map(|(m, _)| m).collect()
    }

    /// Targets dropped by relabeling, by pool: their discovered labels.
    #[must_use]
    pub fn dropped_targets(&self) -> Vec<(String, Labels)> {
        let pools = self.pools.lock();
        let mut out: Vec<(String, Labels)> = pools
            .iter()
            .flat_map(|(name, pool)| pool.dropped.iter().map(move |l| (name.clone(), l.clone())))
            .collect();
        out.sort();
        out
    }

    /// Stops every loop; each writes its staleness markers before this returns.
    pub async fn stop(&self) {
        let tasks: Vec<JoinHandle<()>> = {
            let mut pools = self.pools.lock();
            pools.values_mut().flat_map(Pool::stop_all).collect()
        };
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// `prometheus_target_metadata_cache_entries` and `_bytes` by job: the metadata the pools'
/// targets hold, sized as Prometheus sizes it (name, help and unit lengths).
#[allow(clippy::cast_precision_loss)]
fn metadata_cache_metrics(pools: &HashMap<String, Pool>, out: &mut Vec<MetricFamily>) {
    let mut entries = metrics::family::new(
        "prometheus_target_metadata_cache_entries",
        "Total number of metric metadata entries in the cache",
        MetricType::Gauge,
    );
    let mut bytes = metrics::family::new(
        "prometheus_target_metadata_cache_bytes",
        "The number of bytes that are currently used for storing metric metadata in the cache",
        MetricType::Gauge,
    );
    for (job, pool) in pools {
        let (mut n, mut size) = (0usize, 0usize);
        for l in pool.loops.values() {
            let md = l.target.metadata();
            n += md.len();
            size += md
                .iter()
                .map(|m| m.metric_family.len() + m.help.len() + m.unit.len())
                .sum::<usize>();
        }
        metrics::family::push(&mut entries, &[("scrape_job", job)], n as f64);
        metrics::family::push(&mut bytes, &[("scrape_job", job)], size as f64);
    }
    out.push(entries);
    out.push(bytes);
}
