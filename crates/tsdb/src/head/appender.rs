//! Appending to the head: samples are checked and batched; `commit` logs the new series and
//! the samples to the WAL, then applies them to the series' chunks.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::{Labels, Sample, Timestamp};
use storage::{Appender, Exemplar, Metadata, SeriesRef, StorageError};

use crate::encoding::Encbuf;
use crate::head::chunk::HeadValue;
use crate::head::ooo::Inserted;
use crate::head::series::{AppendCheck, SeriesState};
use crate::head::{Head, MemSeries};
use crate::start::RefStart;
use crate::wal::record::{
    self, RefExemplar, RefFloatHistogramSample, RefHistogramSample, RefMetadata, RefMmapMarker,
    RefSample, RefSeries,
};

/// How many samples ahead `commit` prefetches the series it will lock: a batch of one
/// target's scrape visits ~100k series, far more than the cache holds, so each lock would
/// otherwise wait for a miss.
const PREFETCH_AHEAD: usize = 8;

/// An in-order sample waiting for commit.
struct Pending {
    series: Arc<MemSeries>,
    /// `series.id`, kept here so that logging a batch to the WAL reads the batch in order
    /// instead of every series' memory (a cache miss per sample when a batch holds a
    /// target's 100k series: ~14% of steady ingestion at 1M series in a profile).
    id: u64,
    t: i64,
    v: HeadValue,
}

/// A batch of samples for the head; nothing is visible before [`Appender::commit`].
pub struct HeadAppender {
    head: Arc<Head>,
    samples: Vec<Pending>,
    new_series: Vec<Arc<MemSeries>>,
    /// Out-of-order float samples waiting for commit.
    ooo: Vec<(Arc<MemSeries>, i64, f64)>,
    /// Exemplars waiting for commit.
    exemplars: Vec<(Arc<MemSeries>, Exemplar)>,
    /// Metadata changes waiting for commit.
    metadata: Vec<(Arc<MemSeries>, Metadata)>,
    /// Encoded WAL records of one commit; the buffers are kept for the next commits.
    recs: Records,
    /// Float samples of one commit as WAL entries (kept to reuse its allocation).
    floats: Vec<RefSample>,
    /// Start timestamps of pending samples: (index in `samples`, st), in index order.
    starts: Vec<(usize, i64)>,
}

/// WAL records being encoded, in buffers reused from one commit to the next.
#[derive(Debug, Default)]
struct Records {
    bufs: Vec<Encbuf>,
    used: usize,
}

impl Records {
    /// A cleared buffer for the next record.
    fn next(&mut self) -> &mut Encbuf {
        if self.used == self.bufs.len() {
            self.bufs.push(Encbuf::new());
        }
        self.used += 1;
        &mut self.bufs[self.used - 1]
    }

    /// The records encoded since the last [`Records::clear`].
    fn slices(&self) -> Vec<&[u8]> {
        self.bufs[..self.used].iter().map(Encbuf::get).collect()
    }

    fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn clear(&mut self) {
        self.used = 0;
    }
}

impl std::fmt::Debug for HeadAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadAppender")
            .field("samples", &self.samples.len())
            .finish()
    }
}

/// Checks that a histogram's bucket counts match its spans (Prometheus's
/// `ValidateHistogram`, reduced to what the chunk encodings need).
pub(crate) fn validate_spans(
    pos: &[model::Span],
    npos: usize,
    neg: &[model::Span],
    nneg: usize,
) -> Result<(), StorageError> {
    let len = |spans: &[model::Span]| spans.iter().map(|s| s.length as usize).sum::<usize>();
    for (kind, spans, n) in [("positive", pos, npos), ("negative", neg, nneg)] {
        if len(spans) != n {
            return Err(StorageError::Other(format!(
                "histogram spans need {} {kind} buckets, have {n}",
                len(spans)
            )));
        }
    }
    Ok(())
}

pub(crate) fn validate_histogram(h: &model::Histogram) -> Result<(), StorageError> {
    validate_spans(
        &h.positive_spans,
        h.positive_buckets.len(),
        &h.negative_spans,
        h.negative_buckets.len(),
    )
}

pub(crate) fn validate_labels(labels: &Labels) -> Result<(), StorageError> {
    if labels.is_empty() {
        return Err(StorageError::InvalidLabels {
            labels: labels.to_string(),
            reason: "empty labelset".into(),
        });
    }
    let mut prev: Option<&str> = None;
    for l in labels {
        if l.name.is_empty() {
            return Err(StorageError::InvalidLabels {
                labels: labels.to_string(),
                reason: "empty label name".into(),
            });
        }
        if prev == Some(l.name) {
            return Err(StorageError::InvalidLabels {
                labels: labels.to_string(),
                reason: format!("label name {:?} is not unique", l.name),
            });
        }
        prev = Some(l.name);
    }
    Ok(())
}

impl HeadAppender {
    pub(crate) fn new(head: Arc<Head>) -> Self {
        Self {
            head,
            samples: Vec::new(),
            new_series: Vec::new(),
            ooo: Vec::new(),
            exemplars: Vec::new(),
            metadata: Vec::new(),
            recs: Records::default(),
            floats: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// Number of samples waiting for commit.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.samples.len()
    }

    fn release(&mut self) {
        self.samples.clear();
        self.starts.clear();
        self.ooo.clear();
        self.exemplars.clear();
        self.metadata.clear();
    }

    /// The series `series_ref` (or, when unknown, the existing series `labels`).
    fn existing_series(&self, series_ref: SeriesRef, labels: &Labels) -> Option<Arc<MemSeries>> {
        if series_ref != 0
            && let Some(s) = self.head.series_by_id(series_ref)
        {
            return Some(s);
        }
        self.head.series.get_by_labels(labels.hash64(), labels)
    }

    /// Logs the series created by this appender (and, with `with_samples`, the samples).
    fn log(&mut self, with_samples: bool) -> Result<(), StorageError> {
        let Some(wal) = &self.head.wal else {
            return Ok(());
        };
        self.recs.clear();
        if !self.new_series.is_empty() {
            let series: Vec<RefSeries> = self
                .new_series
                .iter()
                .map(|s| RefSeries {
                    id: s.id,
                    labels: s.labels.clone(),
                })
                .collect();
            record::encode_series(&series, self.recs.next());
        }
        if with_samples && !self.metadata.is_empty() {
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
            record::encode_metadata(&meta, self.recs.next());
        }
        if with_samples && !self.starts.is_empty() {
            // Before the samples they belong to, so a replay has them at hand.
            let starts: Vec<RefStart> = self
                .starts
                .iter()
                .map(|&(i, st)| {
                    let p = &self.samples[i];
                    RefStart {
                        id: p.id,
                        t: p.t,
                        st,
                    }
                })
                .collect();
            crate::start::encode_record(&starts, self.recs.next());
        }
        if with_samples && !self.samples.is_empty() {
            let mut hists = Vec::new();
            let mut float_hists = Vec::new();
            self.floats.clear();
            for &Pending { id, t, ref v, .. } in &self.samples {
                match v {
                    HeadValue::Float(v) => self.floats.push(RefSample { id, t, v: *v }),
                    HeadValue::FloatHistogram(h) => float_hists.push(RefFloatHistogramSample {
                        id,
                        t,
                        h: (**h).clone(),
                    }),
                    HeadValue::Histogram(h) => hists.push(RefHistogramSample {
                        id,
                        t,
                        h: (**h).clone(),
                    }),
                }
            }
            if !self.floats.is_empty() {
                record::encode_samples(&self.floats, self.recs.next());
            }
            if !hists.is_empty() {
                record::encode_histogram_samples(&hists, self.recs.next());
            }
            if !float_hists.is_empty() {
                record::encode_float_histogram_samples(&float_hists, self.recs.next());
            }
        }
        if with_samples && !self.exemplars.is_empty() {
            let ex: Vec<RefExemplar> = self
                .exemplars
                .iter()
                .map(|(s, e)| RefExemplar {
                    id: s.id,
                    t: e.ts,
                    v: e.value,
                    labels: e.labels.clone(),
                })
                .collect();
            record::encode_exemplars(&ex, self.recs.next());
        }
        if self.recs.is_empty() {
            return Ok(());
        }
        let mut wal = wal.lock();
        // Series whose records an earlier failed write did not log come first, before any
        // sample that refers to them.
        let orphans = std::mem::take(&mut *self.head.unlogged_series.lock());
        let mut orphan_rec = Encbuf::new();
        let mut recs = self.recs.slices();
        if !orphans.is_empty() {
            let series: Vec<RefSeries> = orphans
                .iter()
                .map(|s| RefSeries {
                    id: s.id,
                    labels: s.labels.clone(),
                })
                .collect();
            record::encode_series(&series, &mut orphan_rec);
            recs.insert(0, orphan_rec.get());
        }
        if let Err(e) = wal.log(&recs) {
            // The samples are refused; the series exist in the head and are logged later.
            let mut unlogged = self.head.unlogged_series.lock();
            unlogged.extend(orphans);
            unlogged.append(&mut self.new_series);
            return Err(StorageError::from(e));
        }
        self.new_series.clear();
        Ok(())
    }

    /// Where this batch holds the newest pending sample of `series`, if it holds one.
    fn batch_index(&self, series: &Arc<MemSeries>) -> Option<usize> {
        let slot = series.batch_slot.load(Ordering::Relaxed) as usize;
        let i = slot.checked_sub(1)?;
        self.samples
            .get(i)
            .filter(|p| Arc::ptr_eq(&p.series, series))
            .map(|_| i)
    }
}

impl HeadAppender {
    /// Inserts the out-of-order samples into their series and logs them, with the mmap
    /// markers of OOO chunks written meanwhile, to the write-behind log. A marker always
    /// follows the samples it covers and precedes those it does not.
    fn apply_ooo(&mut self) {
        if self.ooo.is_empty() {
            return;
        }
        let cap = self.head.options().ooo_cap_max;
        let files = self.head.chunk_files.as_ref();
        self.recs.clear();
        let mut batch: Vec<RefSample> = Vec::new();
        let mut appended = 0u64;
        for (s, t, v) in &self.ooo {
            let res = {
                let mut st = s.state.lock();
                st.ooo_or_default().insert(s.id, *t, *v, cap, files)
            };
            match res {
                Inserted::Duplicate => continue,
                Inserted::Ok => {}
                Inserted::Mmapped(r) => {
                    if !batch.is_empty() {
                        record::encode_samples(&batch, self.recs.next());
                        batch.clear();
                    }
                    record::encode_mmap_markers(
                        &[RefMmapMarker {
                            id: s.id,
                            mmap_ref: r,
                        }],
                        self.recs.next(),
                    );
                }
            }
            appended += 1;
            batch.push(RefSample {
                id: s.id,
                t: *t,
                v: *v,
            });
        }
        if !batch.is_empty() {
            record::encode_samples(&batch, self.recs.next());
        }
        self.head
            .stats
            .ooo_appended
            .fetch_add(appended, Ordering::Relaxed);
        if let Some(wbl) = self.head.wbl.get()
            && !self.recs.is_empty()
            && let Err(e) = wbl.lock().log(&self.recs.slices())
        {
            tracing::error!(error = %e, "writing out-of-order samples to the WBL");
        }
    }
}

impl Appender for HeadAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        let v = match sample {
            Sample::Float(v) => HeadValue::Float(v),
            Sample::Histogram(h) => {
                validate_histogram(&h)?;
                HeadValue::Histogram(h)
            }
            Sample::FloatHistogram(h) => {
                validate_spans(
                    &h.positive_spans,
                    h.positive_buckets.len(),
                    &h.negative_spans,
                    h.negative_buckets.len(),
                )?;
                HeadValue::FloatHistogram(h)
            }
        };
        let is_hist = !matches!(v, HeadValue::Float(_));
        let ooo_window = self.head.ooo_window();
        let min_valid = self.head.appendable_min_valid_time();
        if ooo_window == 0 && t < min_valid {
            self.head.stats.out_of_bounds.add(is_hist, 1);
            return Err(StorageError::OutOfBounds);
        }
        let series = match (series_ref != 0)
            .then(|| self.head.series.get_by_id_for_append(series_ref))
            .flatten()
        {
            Some(s) => s,
            None => {
                validate_labels(labels)?;
                let (s, created) = self.head.get_or_create(labels);
                if created {
                    self.new_series.push(s.clone());
                }
                s
            }
        };
        let check = if t < min_valid {
            AppendCheck::OutOfOrder
        } else if let Some(i) = self.batch_index(&series) {
            let p = &self.samples[i];
            SeriesState::check(p.t, Some(&p.v), t, &v)
        } else {
            let files = self.head.chunk_files.as_ref();
            series.state.lock().check_append(t, &v, files)
        };
        match check {
            AppendCheck::Ok => {}
            AppendCheck::Duplicate => return Ok(series.id),
            AppendCheck::OutOfOrder if ooo_window > 0 => {
                // Prometheus 2.42 takes only float samples out of order.
                let HeadValue::Float(f) = v else {
                    self.head.stats.out_of_order.add(is_hist, 1);
                    return Err(StorageError::OutOfOrderSample);
                };
                if t < self.head.max_time().saturating_sub(ooo_window) {
                    self.head.stats.too_old.add(is_hist, 1);
                    return Err(StorageError::TooOldSample);
                }
                let id = series.id;
                self.ooo.push((series, t, f));
                return Ok(id);
            }
            AppendCheck::OutOfOrder => {
                if t < min_valid {
                    self.head.stats.out_of_bounds.add(is_hist, 1);
                    return Err(StorageError::OutOfBounds);
                }
                self.head.stats.out_of_order.add(is_hist, 1);
                return Err(StorageError::OutOfOrderSample);
            }
            AppendCheck::DuplicateTimestamp => {
                return Err(StorageError::DuplicateSampleForTimestamp);
            }
        }
        let id = series.id;
        // Past u32::MAX samples a batch stops remembering (0): the committed state decides.
        let slot = u32::try_from(self.samples.len() + 1).unwrap_or(0);
        series.batch_slot.store(slot, Ordering::Relaxed);
        self.samples.push(Pending { series, id, t, v });
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
        let before = self.samples.len();
        let id = self.append(series_ref, labels, t, sample)?;
        // Kept for in-order samples only (an out-of-order one goes elsewhere).
        if st != 0 && self.samples.len() > before {
            self.starts.push((before, st));
        }
        Ok(id)
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        if let Err(e) = self.log(true) {
            self.release();
            return Err(e);
        }
        let chunk_range = self.head.options().chunk_range;
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let (mut appended, mut hists) = (0u64, 0u64);
        {
            let head = self.head.clone();
            let _iso = head.isolation.read();
            let mut starts = self.starts.iter().peekable();
            // Each pending sample is dropped once applied, while its series is in the cache
            // (its `Arc` released), not in a second pass over the batch.
            let mut samples = std::mem::take(&mut self.samples);
            let mut pending = samples.drain(..);
            let mut i = 0;
            while let Some(Pending {
                series: s,
                id,
                t,
                v,
            }) = pending.next()
            {
                if let Some(ahead) = pending.as_slice().get(PREFETCH_AHEAD - 1) {
                    ahead.series.prefetch();
                }
                let start = starts.next_if(|(at, _)| *at == i).map_or(0, |&(_, st)| st);
                i += 1;
                let mut st = s.state.lock();
                if st.append(id, t, &v, chunk_range, self.head.chunk_files.as_ref()) {
                    st.note_start(t, start);
                    appended += 1;
                    hists += u64::from(!matches!(v, HeadValue::Float(_)));
                    mint = mint.min(t);
                    maxt = maxt.max(t);
                }
            }
            drop(pending);
            self.samples = samples;
            if appended > 0 {
                self.head.update_time_bounds(mint, maxt);
            }
            for (s, m) in self.metadata.drain(..) {
                s.state.lock().set_meta(m);
            }
            self.apply_ooo();
        }
        for (s, e) in self.exemplars.drain(..) {
            // Out-of-order exemplars within one batch are dropped, as Prometheus does.
            if let Err(err) = self.head.exemplars.add(&s.labels, &e) {
                tracing::debug!(series = %s.labels, error = %err, "exemplar not stored");
            }
        }
        let stats = &self.head.stats.samples_appended;
        stats.add(false, appended - hists);
        stats.add(true, hists);
        self.release();
        // This thread allocated series and chunks: after a truncation freed some, give the
        // pages back (see `release`).
        super::release::release_if_due();
        Ok(())
    }

    fn append_exemplar(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        exemplar: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        if !self.head.exemplars.enabled() {
            return Ok(series_ref);
        }
        let Some(series) = self.existing_series(series_ref, labels) else {
            return Err(StorageError::UnknownSeriesRef(series_ref));
        };
        // Drop empty exemplar labels, as Prometheus does.
        let mut e = exemplar.clone();
        if e.labels.iter().any(|l| l.value.is_empty()) {
            e.labels = Labels::from_sorted(
                e.labels
                    .iter()
                    .filter(|l| !l.value.is_empty())
                    .map(|l| (l.name, l.value)),
            );
        }
        match self.head.exemplars.validate(&series.labels, &e) {
            Ok(()) => {}
            Err(StorageError::DuplicateExemplar | StorageError::ExemplarsDisabled) => {
                return Ok(series.id);
            }
            Err(err) => return Err(err),
        }
        let id = series.id;
        self.exemplars.push((series, e));
        Ok(id)
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, StorageError> {
        let Some(series) = self.existing_series(series_ref, labels) else {
            return Err(StorageError::UnknownSeriesRef(series_ref));
        };
        let changed = series.state.lock().meta() != Some(metadata);
        let id = series.id;
        if changed {
            self.metadata.push((series, metadata.clone()));
        }
        Ok(id)
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.release();
        // Series were created in the head already: log them so a replay knows them.
        self.log(false)
    }
}

impl Drop for HeadAppender {
    fn drop(&mut self) {
        self.release();
    }
}
