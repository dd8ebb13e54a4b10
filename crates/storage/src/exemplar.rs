//! Exemplars and series metadata crossing the storage boundary: what appenders may attach to
//! a series besides samples, and what [`ExemplarQueryable`] returns for
//! `/api/v1/query_exemplars`.

use model::exposition::MetricType;
use model::{Labels, Matcher, Timestamp};

use crate::StorageError;

/// Most UTF-8 characters the names and values of an exemplar's labels may hold together
/// (OpenMetrics' limit, as Prometheus enforces it).
pub const EXEMPLAR_MAX_LABEL_SET_LENGTH: usize = 128;

/// An exemplar: a sample of a trace (or similar) attached to a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's own labels (`trace_id`...).
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// Its timestamp in milliseconds (the scrape's when the exposition gave none).
    pub ts: Timestamp,
    /// Whether the exposition gave the timestamp.
    pub has_ts: bool,
}

impl Exemplar {
    /// Whether two exemplars are the same (labels, timestamp and value bit for bit), as
    /// Prometheus compares them to drop repeats.
    #[must_use]
    pub fn same(&self, other: &Exemplar) -> bool {
        self.labels == other.labels
            && self.ts == other.ts
            && self.has_ts == other.has_ts
            && self.value.to_bits() == other.value.to_bits()
    }
}

/// The exemplars of one series in a time range, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarSeries {
    /// The series' labels.
    pub series_labels: Labels,
    /// Its exemplars.
    pub exemplars: Vec<Exemplar>,
}

/// Something exemplars can be read from.
pub trait ExemplarQueryable: Send + Sync {
    /// The exemplars with `start <= ts <= end` of the series matching at least one of the
    /// `matcher_sets` (each a conjunction), sorted by series labels.
    ///
    /// # Errors
    /// When the storage is closed.
    fn select_exemplars(
        &self,
        start: Timestamp,
        end: Timestamp,
        matcher_sets: &[Vec<Matcher>],
    ) -> Result<Vec<ExemplarSeries>, StorageError>;
}

/// The metadata of a series (from its family's `# TYPE`, `# UNIT` and `# HELP`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The metric type.
    pub typ: MetricType,
    /// The unit (may be empty).
    pub unit: String,
    /// The help text (may be empty).
    pub help: String,
}
