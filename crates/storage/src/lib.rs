//! The storage boundary: the traits through which every producer writes samples
//! ([`Appender`]) and every consumer reads them ([`Querier`]).
//!
//! Scrape, rules and remote write only see an [`Appendable`]; PromQL and the HTTP API only see
//! a [`Queryable`]. Implementations can be wrapped (limits, fanout, merge) without their users
//! knowing.

pub mod error;
pub mod exemplar;
pub mod memory;
pub mod merge;
pub mod series;

use std::sync::Arc;

use model::{Labels, Matcher, Sample, Timestamp};

pub use error::StorageError;
pub use exemplar::{Exemplar, ExemplarQueryable, ExemplarSeries, Metadata};
pub use merge::MergeQuerier;
pub use series::{
    FloatBatch, ListSeries, SampleIterator, Series, SeriesSet, ValueType, VecSeriesSet,
    read_floats_one_by_one,
};

/// A reference to a series in an appender's storage; 0 means "unknown: look it up by labels".
pub type SeriesRef = u64;

/// Writes samples. Nothing is visible to queriers until [`Appender::commit`]; a commit is
/// atomic: all of its samples become visible, or none.
pub trait Appender: Send {
    /// Appends one sample to the series `labels` (or `series_ref` when non-zero, which must
    /// have been returned for the same labels by this storage). Returns the series reference
    /// to pass next time.
    ///
    /// # Errors
    /// Out-of-order or duplicate samples, invalid labels, limits, and I/O failures.
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError>;

    /// Appends one sample with its start timestamp `st`: when the cumulative count the
    /// sample belongs to began (OpenMetrics' `_created`, the protobuf `created_timestamp`,
    /// OTLP's start time), 0 when unknown; as Prometheus's `AppenderV2.Append`. Storages that
    /// keep no start timestamps store the sample without it (the default).
    ///
    /// # Errors
    /// As [`Appender::append`].
    fn append_with_start(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        st: Timestamp,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        let _ = st;
        self.append(series_ref, labels, t, sample)
    }

    /// Makes all samples appended since the last commit or rollback durable and visible.
    ///
    /// # Errors
    /// I/O failures writing the log; on error nothing of this batch is visible.
    fn commit(&mut self) -> Result<(), StorageError>;

    /// Discards all samples appended since the last commit or rollback.
    ///
    /// # Errors
    /// I/O failures.
    fn rollback(&mut self) -> Result<(), StorageError>;

    /// Attaches `exemplar` to the series `labels` (or `series_ref`, normally the one
    /// [`Appender::append`] just returned); stored on [`Appender::commit`] like samples.
    /// Returns the series reference. Storages that keep no exemplars drop it (the default).
    ///
    /// # Errors
    /// Out-of-order exemplars, too long exemplar labels, unknown series references.
    fn append_exemplar(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        exemplar: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        let _ = (labels, exemplar);
        Ok(series_ref)
    }

    /// Records the metadata of the series `labels` (or `series_ref`) when it changed;
    /// written on [`Appender::commit`]. Returns the series reference. Storages that keep no
    /// metadata ignore it (the default).
    ///
    /// # Errors
    /// Unknown series references.
    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, StorageError> {
        let _ = (labels, metadata);
        Ok(series_ref)
    }
}

/// Something that hands out appenders.
pub trait Appendable: Send + Sync {
    /// A new appender; each is used by one writer at a time.
    fn appender(&self) -> Box<dyn Appender>;
}

/// Hints a querier may use to read less; it must still return correct results without them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectHints {
    /// Earliest timestamp needed (inclusive), in milliseconds.
    pub start: Timestamp,
    /// Latest timestamp needed (inclusive), in milliseconds.
    pub end: Timestamp,
    /// Query resolution step in milliseconds (0 for instant queries).
    pub step: i64,
    /// The function the selection feeds, if any (`rate`, `series` for metadata-only calls...).
    pub func: Option<String>,
    /// Grouping labels of a surrounding aggregation.
    pub grouping: Vec<String>,
    /// Whether `grouping` lists the labels kept (`by`) or dropped (`without`).
    pub by: bool,
    /// Range of a range selector in milliseconds.
    pub range: i64,
    /// Only the first this many series (in label order) are needed; 0: all. A querier may
    /// stop after them, and may still return more (the caller cuts).
    pub limit: usize,
}

/// Hints for label name and value lookups (Prometheus's `LabelHints`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelHints {
    /// Only the first (smallest) this many names or values are needed; 0: all. A querier may
    /// stop reading once it has them, and may still return more (the caller cuts).
    pub limit: usize,
}

impl LabelHints {
    /// Hints asking for at most `limit` values (0: all).
    #[must_use]
    pub fn limited(limit: usize) -> Self {
        Self { limit }
    }

    /// The limit of optional `hints`, `None` when absent or 0.
    #[must_use]
    pub fn limit_of(hints: Option<&Self>) -> Option<usize> {
        hints.map(|h| h.limit).filter(|&l| l > 0)
    }

    /// Cuts sorted `values` to the limit of `hints`.
    pub fn truncate<T>(hints: Option<&Self>, values: &mut Vec<T>) {
        if let Some(limit) = Self::limit_of(hints) {
            values.truncate(limit);
        }
    }
}

/// Reads series over a fixed time range, chosen when the querier was made.
pub trait Querier: Send + Sync {
    /// The series matching all `matchers`, sorted by labels when `sorted` is true.
    ///
    /// # Errors
    /// I/O or corruption errors reading the index.
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError>;

    /// Sorted distinct values of label `name` among series matching `matchers` (all series when
    /// empty); with a limit in `hints`, at least the first `limit` of them.
    ///
    /// # Errors
    /// I/O or corruption errors reading the index.
    fn label_values(
        &self,
        name: &str,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError>;

    /// Sorted distinct label names among series matching `matchers` (all series when empty);
    /// with a limit in `hints`, at least the first `limit` of them.
    ///
    /// # Errors
    /// I/O or corruption errors reading the index.
    fn label_names(
        &self,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError>;
}

/// Something that hands out queriers for a time range.
pub trait Queryable: Send + Sync {
    /// A querier over samples with `mint <= t <= maxt` (milliseconds).
    ///
    /// # Errors
    /// When the storage is closed or unreadable.
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier>, StorageError>;
}

/// A shared handle to a queryable storage.
pub type QueryableRef = Arc<dyn Queryable>;

/// A shared handle to an appendable storage.
pub type AppendableRef = Arc<dyn Appendable>;
