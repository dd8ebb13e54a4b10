//! The small traits the API reads the server's parts through, as Prometheus's
//! `web/api/v1/api.go` does (`TSDBAdminStats`, `TargetRetriever`): the TSDB's administration
//! and statistics, and the scrape targets with their metadata. `web` depends on neither the
//! TSDB nor the scrape crate; the binary implements these for them (and tests for fakes).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use model::{Labels, Matcher};

/// The TSDB's administration and statistics, for `/api/v1/admin/tsdb/*`,
/// `/api/v1/status/tsdb` and `/api/v1/status/walreplay`. Every method may block on disk or
/// on the head's locks: the API calls them off the async workers. Errors are the storage's
/// message, answered as `internal`.
pub trait TsdbAdminStats: Send + Sync {
    /// Marks the samples with `start <= t <= end` of the series matching `matchers` deleted.
    ///
    /// # Errors
    /// The deletion could not be recorded.
    fn delete_series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<(), String>;

    /// Rewrites blocks with deletions, dropping the deleted data.
    ///
    /// # Errors
    /// A block could not be rewritten.
    fn clean_tombstones(&self) -> Result<(), String>;

    /// Writes a snapshot named `name` (in the data directory's `snapshots/`), with the head's
    /// samples when `with_head`.
    ///
    /// # Errors
    /// The snapshot could not be written.
    fn snapshot(&self, name: &str, with_head: bool) -> Result<(), String>;

    /// The head's statistics, with the `limit` largest entries of each cardinality table.
    fn stats(&self, limit: usize) -> TsdbStats;

    /// How far the WAL replay got.
    fn wal_replay_status(&self) -> WalReplayStatus;
}

/// A shared [`TsdbAdminStats`].
pub type TsdbAdminStatsRef = Arc<dyn TsdbAdminStats>;

/// The head block's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label name/value pairs.
    pub num_label_pairs: u64,
    /// Chunks in the head.
    pub chunk_count: u64,
    /// The oldest sample's time (ms).
    pub min_time: i64,
    /// The newest sample's time (ms).
    pub max_time: i64,
}

/// The head's statistics: its summary and cardinality tables of `(name, count)`, largest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsdbStats {
    /// The summary.
    pub head: HeadStats,
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Bytes of label values per label name.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

/// The WAL replay's progress: segments `min..=max`, `current` being replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalReplayStatus {
    /// The first segment.
    pub min: u64,
    /// The last segment.
    pub max: u64,
    /// The segment being replayed (the last once done).
    pub current: u64,
}

/// The scrape targets and their metadata, for `/api/v1/targets`, `/api/v1/targets/metadata`
/// and `/api/v1/metadata`.
pub trait TargetRetriever: Send + Sync {
    /// The targets being scraped, sorted by pool and URL.
    fn active_targets(&self) -> Vec<ActiveTarget>;
    /// The targets relabeling dropped, sorted by pool and labels.
    fn dropped_targets(&self) -> Vec<DroppedTarget>;
    /// The metadata of each active target's last scrapes, sorted by pool and URL.
    fn targets_metadata(&self) -> Vec<TargetMetadata>;
}

/// A shared [`TargetRetriever`].
pub type TargetRetrieverRef = Arc<dyn TargetRetriever>;

/// An active target's state.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    /// The job.
    pub scrape_pool: String,
    /// Labels after relabeling (without `__` labels).
    pub labels: Labels,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// The URL scraped.
    pub scrape_url: String,
    /// The last scrape's error, empty if it succeeded.
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_scrape_duration: Duration,
    /// `up`, `down` or `unknown`.
    pub health: &'static str,
    /// The target's interval.
    pub scrape_interval: Duration,
    /// The target's timeout.
    pub scrape_timeout: Duration,
}

/// A target relabeling dropped.
#[derive(Debug, Clone)]
pub struct DroppedTarget {
    /// The job.
    pub scrape_pool: String,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
}

/// The metadata an active target exposed.
#[derive(Debug, Clone)]
pub struct TargetMetadata {
    /// The job.
    pub scrape_pool: String,
    /// Labels after relabeling (without `__` labels).
    pub labels: Labels,
    /// Its metric families' metadata, sorted by family name.
    pub metadata: Vec<MetricMetadata>,
}

/// A metric family's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// The family name.
    pub metric_family: String,
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`.
    pub metric_type: &'static str,
    /// The help text, empty when none was given.
    pub help: String,
    /// The unit, empty when none was given.
    pub unit: String,
}
