//! Appending to the agent (Prometheus's `appender` in `tsdb/agent/db.go`): a sample is
//! checked against its series' newest committed timestamp only (older: out of order) and
//! batched as a WAL entry; `commit` logs the new series, metadata, start timestamps,
//! samples, histograms and exemplars as one write, then moves the series' timestamps on.
//! Nothing is kept in memory beyond the series.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::{Labels, Sample, Timestamp};
use storage::exemplar::EXEMPLAR_MAX_LABEL_SET_LENGTH;
use storage::{Appender, Exemplar, Metadata, SeriesRef, StorageError};

use super::Shared;
use super::series::AgentSeries;
use crate::encoding::Encbuf;
use crate::head::appender::{validate_histogram, validate_labels, validate_spans};
use crate::start::RefStart;
use crate::wal::histogram::{
    RefFloatHistogramSample, RefHistogramSample, encode_float_histogram_samples,
    encode_histogram_samples,
};
use crate::wal::record::{self, RefExemplar, RefMetadata, RefSample, RefSeries};

/// A batch of samples for the agent's WAL; nothing is logged before [`Appender::commit`].
pub struct AgentAppender {
    db: Arc<Shared>,
    /// Series created by this appender, not logged yet.
    new_series: Vec<Arc<AgentSeries>>,
    floats: Vec<RefSample>,
    histograms: Vec<RefHistogramSample>,
    float_histograms: Vec<RefFloatHistogramSample>,
    /// The series and timestamp of each pending sample (all kinds), moved on at commit.
    sample_series: Vec<(Arc<AgentSeries>, i64)>,
    starts: Vec<RefStart>,
    exemplars: Vec<RefExemplar>,
    /// Metadata changes; consecutive equal ones (a family's series) share one copy.
    metadata: Vec<(Arc<AgentSeries>, Arc<Metadata>)>,
    /// Encoded records of one commit; the buffers are kept for the next commits.
    bufs: Vec<Encbuf>,
}

impl std::fmt::Debug for AgentAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAppender")
            .field("samples", &self.sample_series.len())
            .finish_non_exhaustive()
    }
}

/// The labels without those of empty value, as the agent stores them.
fn without_empty(labels: &Labels) -> Labels {
    if labels.iter().any(|l| l.value.is_empty()) {
        Labels::from_sorted(
            labels
                .iter()
                .filter(|l| !l.value.is_empty())
                .map(|l| (l.name, l.value)),
        )
    } else {
        labels.clone()
    }
}

impl AgentAppender {
    pub(super) fn new(db: Arc<Shared>) -> Self {
        Self {
            db,
            new_series: Vec::new(),
            floats: Vec::new(),
            histograms: Vec::new(),
            float_histograms: Vec::new(),
            sample_series: Vec::new(),
            starts: Vec::new(),
            exemplars: Vec::new(),
            metadata: Vec::new(),
            bufs: Vec::new(),
        }
    }

    /// The series `series_ref`, or the series `labels` (validated, created if missing).
    fn series(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
    ) -> Result<Arc<AgentSeries>, StorageError> {
        if series_ref != 0
            && let Some(s) = self.db.series.get(series_ref)
        {
            return Ok(s);
        }
        let labels = without_empty(labels);
        validate_labels(&labels)?;
        let (s, created) = self.db.series.get_or_create(&labels);
        if created {
            self.db.stats.series_created.fetch_add(1, Ordering::Relaxed);
            self.new_series.push(s.clone());
        }
        Ok(s)
    }

    /// An existing series, for exemplars and metadata.
    fn existing(&self, series_ref: SeriesRef, labels: &Labels) -> Option<Arc<AgentSeries>> {
        if series_ref != 0
            && let Some(s) = self.db.series.get(series_ref)
        {
            return Some(s);
        }
        self.db.series.get_by_labels(&without_empty(labels))
    }

    fn clear(&mut self) {
        self.floats.clear();
        self.histograms.clear();
        self.float_histograms.clear();
        self.sample_series.clear();
        self.starts.clear();
        self.exemplars.clear();
        self.metadata.clear();
    }

    /// Logs the new series and (with `with_samples`) the batch; on failure the new series
    /// are logged by a later commit, before anything that refers to them.
    fn log(&mut self, with_samples: bool) -> Result<(), StorageError> {
        let mut used = 0;
        let mut next = |bufs: &mut Vec<Encbuf>| -> usize {
            if used == bufs.len() {
                bufs.push(Encbuf::new());
            }
            used += 1;
            used - 1
        };
        let orphans = std::mem::take(&mut *self.db.unlogged.lock());
        if !orphans.is_empty() || !self.new_series.is_empty() {
            let series: Vec<RefSeries> = orphans
                .iter()
                .chain(&self.new_series)
                .map(|s| RefSeries {
                    id: s.id,
                    labels: s.labels.clone(),
                })
                .collect();
            let i = next(&mut self.bufs);
            record::encode_series(&series, &mut self.bufs[i]);
        }
        if with_samples {
            if !self.metadata.is_empty() {
                let meta: Vec<RefMetadata> = self
                    .metadata
                    .iter()
                    .map(|(s, m)| RefMetadata {
                        id: s.id,
                        typ: record::metric_type_number(m.typ),
                        unit: m.unit.clone(),
                        help: m.help.clone(),
                    })
                    .collect();
                let i = next(&mut self.bufs);
                record::encode_metadata(&meta, &mut self.bufs[i]);
            }
            // Start timestamps right before the samples they belong to.
            if !self.starts.is_empty() {
                let i = next(&mut self.bufs);
                crate::start::encode_record(&self.starts, &mut self.bufs[i]);
            }
            if !self.floats.is_empty() {
                let i = next(&mut self.bufs);
                record::encode_samples(&self.floats, &mut self.bufs[i]);
            }
            if !self.histograms.is_empty() {
                let i = next(&mut self.bufs);
                encode_histogram_samples(&self.histograms, &mut self.bufs[i]);
            }
            if !self.float_histograms.is_empty() {
                let i = next(&mut self.bufs);
                encode_float_histogram_samples(&self.float_histograms, &mut self.bufs[i]);
            }
            if !self.exemplars.is_empty() {
                let i = next(&mut self.bufs);
                record::encode_exemplars(&self.exemplars, &mut self.bufs[i]);
            }
        }
        if used == 0 {
            return Ok(());
        }
        let recs: Vec<&[u8]> = self.bufs[..used].iter().map(Encbuf::get).collect();
        if let Err(e) = self.db.wal.lock().log(&recs) {
            let mut unlogged = self.db.unlogged.lock();
            unlogged.extend(orphans);
            unlogged.append(&mut self.new_series);
            return Err(StorageError::from(e));
        }
        self.new_series.clear();
        Ok(())
    }
}

impl Appender for AgentAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        match &sample {
            Sample::Float(_) => {}
            Sample::Histogram(h) => validate_histogram(h)?,
            Sample::FloatHistogram(h) => validate_spans(
                &h.positive_spans,
                h.positive_buckets.len(),
                &h.negative_spans,
                h.negative_buckets.len(),
            )?,
        }
        let series = self.series(series_ref, labels)?;
        if t < series.last_ts.load(Ordering::Relaxed) {
            self.db.stats.out_of_order.fetch_add(1, Ordering::Relaxed);
            return Err(StorageError::OutOfOrderSample);
        }
        let id = series.id;
        match sample {
            Sample::Float(v) => self.floats.push(RefSample { id, t, v }),
            Sample::Histogram(h) => self.histograms.push(RefHistogramSample {
                id,
                t,
                h: Arc::unwrap_or_clone(h),
            }),
            Sample::FloatHistogram(h) => self.float_histograms.push(RefFloatHistogramSample {
                id,
                t,
                h: Arc::unwrap_or_clone(h),
            }),
        }
        self.sample_series.push((series, t));
        Ok(id)
    }

    fn append_with_start(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        st: Timestamp,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        let id = self.append(series_ref, labels, t, sample)?;
        if st != 0 {
            self.starts.push(RefStart { id, t, st });
        }
        Ok(id)
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        if let Err(e) = self.log(true) {
            self.clear();
            return Err(e);
        }
        for (s, t) in &self.sample_series {
            s.last_ts.fetch_max(*t, Ordering::Relaxed);
        }
        for (s, m) in self.metadata.drain(..) {
            *s.meta.lock() = Some(m);
        }
        let stats = &self.db.stats;
        stats
            .floats_appended
            .fetch_add(self.floats.len() as u64, Ordering::Relaxed);
        stats.histograms_appended.fetch_add(
            (self.histograms.len() + self.float_histograms.len()) as u64,
            Ordering::Relaxed,
        );
        stats
            .exemplars_appended
            .fetch_add(self.exemplars.len() as u64, Ordering::Relaxed);
        self.clear();
        // After a truncation removed series, this thread gives back the pages they held.
        crate::head::release::release_if_due();
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.clear();
        // The series exist in memory already: log them so the WAL's readers know them.
        self.log(false)
    }

    fn append_exemplar(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        exemplar: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        let Some(series) = self.existing(series_ref, labels) else {
            return Err(StorageError::UnknownSeriesRef(series_ref));
        };
        let labels = without_empty(&exemplar.labels);
        let chars: usize = labels
            .iter()
            .map(|l| l.name.chars().count() + l.value.chars().count())
            .sum();
        if chars > EXEMPLAR_MAX_LABEL_SET_LENGTH {
            return Err(StorageError::ExemplarLabelLength);
        }
        // An exposition repeats its exemplars on every scrape: each is logged once.
        let last = series.last_exemplar_ts.load(Ordering::Relaxed);
        if exemplar.ts <= last {
            return Ok(series.id);
        }
        series
            .last_exemplar_ts
            .store(exemplar.ts, Ordering::Relaxed);
        self.exemplars.push(RefExemplar {
            id: series.id,
            t: exemplar.ts,
            v: exemplar.value,
            labels,
        });
        Ok(series.id)
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, StorageError> {
        let Some(series) = self.existing(series_ref, labels) else {
            return Err(StorageError::UnknownSeriesRef(series_ref));
        };
        if series.meta.lock().as_deref() != Some(metadata) {
            let shared = match self.metadata.last() {
                Some((_, m)) if **m == *metadata => m.clone(),
                _ => Arc::new(metadata.clone()),
            };
            self.metadata.push((series.clone(), shared));
        }
        Ok(series.id)
    }
}

impl Drop for AgentAppender {
    fn drop(&mut self) {
        // Series created but never committed or rolled back are logged by the next commit.
        if !self.new_series.is_empty() {
            self.db.unlogged.lock().append(&mut self.new_series);
        }
    }
}
