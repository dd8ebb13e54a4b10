//! One target's scrape loop: fetch on a jittered schedule, parse, attach target labels,
//! relabel, enforce limits, append, mark vanished series stale, write the report series.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use tokio::sync::watch;
use tracing::debug;

use config::{RelabelConfig, ScrapeConfig};
use model::Timestamp;
use storage::AppendableRef;

use crate::ScrapeError;
use crate::http::{BodyBuffers, Fetcher};
use crate::metrics::ScrapeMetrics;
use crate::target::Target;

mod append;
mod cache;
pub mod nhcb;

pub use append::{ScrapeCache, ScrapeCounts, append_body, append_exposition};

/// The per-job settings a loop applies to every sample.
#[derive(Debug, Clone, Default)]
pub struct LoopOptions {
    /// Keep the exposition's labels on conflict with target labels.
    pub honor_labels: bool,
    /// Use the exposition's timestamps.
    pub honor_timestamps: bool,
    /// Track series with timestamps of their own for staleness too.
    pub track_timestamps_staleness: bool,
    /// Most samples per scrape after relabeling (0: no limit).
    pub sample_limit: u64,
    /// Most labels per series (0: no limit).
    pub label_limit: u64,
    /// Longest label name (0: no limit).
    pub label_name_length_limit: u64,
    /// Longest label value (0: no limit).
    pub label_value_length_limit: u64,
    /// `metric_relabel_configs`.
    pub metric_relabel: Vec<RelabelConfig>,
    /// Store native histograms of protobuf expositions (`scrape_native_histograms`).
    pub native_histograms: bool,
    /// Also store the classic series of histograms that have a native part
    /// (`always_scrape_classic_histograms`).
    pub always_classic: bool,
    /// Store classic histograms as native histograms with custom buckets
    /// (`convert_classic_histograms_to_nhcb`); their classic series too only with
    /// `always_classic`.
    pub convert_nhcb: bool,
}

impl LoopOptions {
    /// The loop settings of a scrape job.
    #[must_use]
    pub fn from_config(cfg: &ScrapeConfig) -> Self {
        Self {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            track_timestamps_staleness: cfg.track_timestamps_staleness,
            sample_limit: cfg.sample_limit,
            label_limit: cfg.label_limit,
            label_name_length_limit: cfg.label_name_length_limit,
            label_value_length_limit: cfg.label_value_length_limit,
            metric_relabel: cfg
                .metric_relabel_configs
                .iter()
                .flatten()
                .cloned()
                .collect(),
            native_histograms: cfg.scrape_native_histograms.unwrap_or(false),
            always_classic: cfg.always_scrape_classic_histograms.unwrap_or(false),
            convert_nhcb: cfg.convert_classic_histograms_to_nhcb.unwrap_or(false),
        }
    }
}

/// One target's loop.
pub struct ScrapeLoop {
    target: Arc<Target>,
    fetcher: Arc<Fetcher>,
    storage: AppendableRef,
    opts: Arc<LoopOptions>,
    state: LoopState,
    metrics: Option<ScrapeMetrics>,
}

/// What a loop keeps between scrapes; moved to a blocking thread while a body is appended.
#[derive(Default)]
struct LoopState {
    cache: ScrapeCache,
    /// Body buffers reused from scrape to scrape.
    bufs: BodyBuffers,
}

fn now_ms() -> Timestamp {
    jiff::Timestamp::now().as_millisecond()
}

impl ScrapeLoop {
    /// A loop for `target`.
    #[must_use]
    pub fn new(
        target: Arc<Target>,
        fetcher: Arc<Fetcher>,
        storage: AppendableRef,
        opts: Arc<LoopOptions>,
    ) -> Self {
        Self {
            target,
            fetcher,
            storage,
            opts,
            state: LoopState::default(),
            metrics: None,
        }
    }

    /// Counts this loop's scrapes in `metrics` (intervals, limits hit, samples refused).
    #[must_use]
    pub fn with_metrics(mut self, metrics: ScrapeMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Scrapes on the target's interval, at an offset derived from its labels, until `stop`
    /// turns true; then marks everything it wrote stale.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let interval = self.target.interval;
        let interval_ms = interval.as_millis().max(1) as u64;
        let offset = self.target.hash() % interval_ms;
        let now = now_ms() as u64;
        let first = now - now % interval_ms + offset;
        let first = if first < now {
            first + interval_ms
        } else {
            first
        };
        let start = tokio::time::Instant::now() + Duration::from_millis(first - now);
        let mut ticker = tokio::time::interval_at(start, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let interval_length = self.metrics.as_ref().map(|m| {
            m.interval_length
                .with_label_values(&[&crate::metrics::go_duration(interval)])
        });
        let mut last_start: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let now = Instant::now();
                    if let (Some(h), Some(last)) = (&interval_length, last_start) {
                        h.observe_duration(now - last);
                    }
                    last_start = Some(now);
                    // A panic fails this scrape only: the loop goes on at the next tick.
                    let res = AssertUnwindSafe(self.scrape_once()).catch_unwind().await;
                    if let Err(panic) = res {
                        let error = task_panicked(
                            &self.target.url(),
                            panic.as_ref(),
                            self.metrics.as_ref(),
                        );
                        self.state = LoopState::default();
                        self.target.report(SystemTime::now(), Duration::ZERO, Some(error));
                    }
                }
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        self.mark_stale().await;
    }

    /// Scrapes once now and records the outcome. A failed scrape (no answer, a malformed
    /// body, a limit) marks the series of the previous scrape stale, as in Prometheus.
    pub async fn scrape_once(&mut self) {
        let started = SystemTime::now();
        let clock = Instant::now();
        let ts = now_ms();
        let url = self.target.url();
        let mut state = std::mem::take(&mut self.state);
        let fetched = self
            .fetcher
            .fetch_into(&url, self.target.timeout, &mut state.bufs)
            .await;
        if let (Some(m), Err(ScrapeError::BodySizeLimit)) = (&self.metrics, &fetched) {
            m.exceeded_body_size_limit.inc();
        }
        let storage = self.storage.clone();
        let opts = self.opts.clone();
        let target_labels = self.target.labels();
        let metrics = self.metrics.clone();
        let (state, error) = tokio::task::spawn_blocking(move || {
            let mut app = storage.appender();
            let LoopState { cache, bufs } = &mut state;
            let (counts, outcome) = match fetched {
                Ok(format) => cache.append_counted(
                    app.as_mut(),
                    bufs.body(),
                    format,
                    &target_labels,
                    &opts,
                    ts,
                ),
                Err(e) => (ScrapeCounts::default(), Err(e)),
            };
            bufs.scrape_done();
            if let Some(m) = &metrics {
                if matches!(outcome, Err(ScrapeError::SampleLimit)) {
                    m.exceeded_sample_limit.inc();
                }
                m.sample_out_of_order.inc_by_u64(counts.out_of_order);
                m.sample_duplicate_timestamp
                    .inc_by_u64(counts.duplicate_timestamp);
                m.sample_out_of_bounds.inc_by_u64(counts.out_of_bounds);
            }
            let error = match outcome {
                Ok(()) => None,
                Err(e) => {
                    let _ = app.rollback();
                    if let Err(err) = cache.mark_stale(app.as_mut(), ts) {
                        debug!(error = %err, "staleness markers not stored");
                    }
                    Some(e.to_string())
                }
            };
            let duration = clock.elapsed().as_secs_f64();
            let up = if error.is_none() { 1.0 } else { 0.0 };
            let values = [
                up,
                duration,
                counts.scraped as f64,
                counts.post_relabel as f64,
                counts.added as f64,
            ];
            let stored = cache
                .append_report(app.as_mut(), &target_labels, ts, Some(values))
                .and_then(|()| app.commit());
            let error = match (error, stored) {
                (Some(e), _) => Some(e),
                (None, Err(e)) => Some(e.to_string()),
                (None, Ok(())) => None,
            };
            (state, error)
        })
        .await
        .unwrap_or_else(|e| {
            let error = match e.try_into_panic() {
                Ok(panic) => task_panicked(&url, panic.as_ref(), self.metrics.as_ref()),
                Err(e) => format!("scrape task failed: {e}"),
            };
            (LoopState::default(), Some(error))
        });
        self.state = state;
        if let Some(metadata) = self.state.cache.metadata.take_changed() {
            self.target.set_metadata(metadata);
        }
        if let Some(e) = &error {
            debug!(target = %url, error = %e, "scrape failed");
        }
        self.target.report(started, clock.elapsed(), error);
    }

    /// Writes staleness markers for every series of the last scrape and the report series.
    async fn mark_stale(mut self) {
        let storage = self.storage.clone();
        let target_labels = self.target.labels();
        let _ = tokio::task::spawn_blocking(move || {
            let ts = now_ms();
            let mut app = storage.appender();
            let cache = &mut self.state.cache;
            let _ = cache.mark_stale(app.as_mut(), ts);
            let _ = cache.append_report(app.as_mut(), &target_labels, ts, None);
            app.commit()
        })
        .await;
    }
}

/// Counts (in `firewatch_target_scrape_panics_total`) and logs a scrape of `url` that
/// panicked; returns the target's error text.
fn task_panicked(
    url: &str,
    panic: &(dyn std::any::Any + Send),
    metrics: Option<&ScrapeMetrics>,
) -> String {
    if let Some(m) = metrics {
        m.panics.inc();
    }
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(target = %url, panic = %msg, "scrape panicked; the loop continues");
    format!("scrape panicked: {msg}")
}

#[cfg(test)]
mod tests;
