//! Appending one exposition: the scrape cache that maps each series, as its bytes are written,
//! to its final labels and series reference (a hit skips label parsing and relabeling), target
//! labels and metric relabeling for new series, limits, and staleness tracked by scrape
//! generations kept on the cache entries.

use tracing::debug;

use model::exposition::{
    Entry, ExemplarRef, Format, LabelPair, LazyEntry, Parser, ProtobufOptions, ProtobufParser,
};
use model::relabel;
use model::{Labels, LabelsBuilder, STALE_NAN, Sample, Timestamp};
use storage::{Appender, Exemplar, SeriesRef, StorageError};

use super::LoopOptions;
use super::cache::{CacheEntry, Entries, Generation};
use super::nhcb::{self, ClassicSeries, Collector};
use crate::ScrapeError;
use crate::http::BodyFormat;
use crate::metadata::MetadataCache;

/// State kept from one scrape to the next.
#[derive(Debug, Default)]
pub struct ScrapeCache {
    /// Each series by its bytes as written.
    series: Entries,
    /// The scrape whose tracked series are the previous scrape's: those get a staleness
    /// marker when they vanish. 0 when there are none (first scrape, or the last one failed
    /// and marked them stale).
    previous: Generation,
    /// Scrape counter (generations and cache eviction).
    iteration: Generation,
    /// The report series' labels and references, made at the first report.
    report: Vec<(Labels, SeriesRef)>,
    /// Scratch buffer for protobuf keys.
    key: Vec<u8>,
    /// HELP, TYPE and UNIT of the families of the last scrapes.
    pub metadata: MetadataCache,
    /// Classic histograms being converted to native ones with custom buckets
    /// (`convert_classic_histograms_to_nhcb`).
    nhcb: Collector,
}

/// Counts of one scrape, for the report series.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScrapeCounts {
    /// Samples in the exposition.
    pub scraped: u64,
    /// Samples after metric relabeling.
    pub post_relabel: u64,
    /// Series new to the scrape cache whose sample was stored.
    pub added: u64,
    /// Samples the storage refused as out of order.
    pub out_of_order: u64,
    /// Samples the storage refused as a different value for a stored timestamp.
    pub duplicate_timestamp: u64,
    /// Samples the storage refused as outside its time bounds.
    pub out_of_bounds: u64,
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Storage errors that skip one sample instead of failing the scrape, as in Prometheus.
fn skips_sample(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::OutOfOrderSample
            | StorageError::DuplicateSampleForTimestamp
            | StorageError::OutOfBounds
    )
}

/// Applies target labels to a scraped series (Prometheus's `mutateSampleLabels`), then metric
/// relabeling. `None` means dropped.
fn mutate_labels(
    exposed: &mut LabelsBuilder,
    target: &Labels,
    opts: &LoopOptions,
) -> Option<Labels> {
    if opts.honor_labels {
        for l in target {
            if exposed.get(l.name).is_none() {
                exposed.set(l.name, l.value);
            }
        }
    } else {
        let mut conflicts = Vec::new();
        for l in target {
            if let Some(v) = exposed.get(l.name) {
                conflicts.push((l.name.to_owned(), v.to_owned()));
            }
            exposed.set(l.name, l.value);
        }
        for (name, value) in conflicts {
            let mut renamed = format!("exported_{name}");
            while exposed.get(&renamed).is_some() {
                renamed = format!("exported_{renamed}");
            }
            exposed.set(&renamed, &value);
        }
    }
    if !opts.metric_relabel.is_empty() && !relabel::process_builder(exposed, &opts.metric_relabel) {
        return None;
    }
    let labels = exposed.labels();
    labels.metric_name().is_some().then_some(labels)
}

fn check_label_limits(labels: &Labels, opts: &LoopOptions) -> Result<(), ScrapeError> {
    if opts.label_limit > 0 && labels.len() as u64 > opts.label_limit {
        return Err(ScrapeError::LabelLimit(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            labels.metric_name().unwrap_or_default(),
            labels.len(),
            opts.label_limit
        )));
    }
    for l in labels {
        if opts.label_name_length_limit > 0 && l.name.len() as u64 > opts.label_name_length_limit {
            return Err(ScrapeError::LabelLimit(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                labels.metric_name().unwrap_or_default(),
                l.name,
                l.name.len(),
                opts.label_name_length_limit
            )));
        }
        if opts.label_value_length_limit > 0 && l.value.len() as u64 > opts.label_value_length_limit
        {
            return Err(ScrapeError::LabelLimit(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {})",
                labels.metric_name().unwrap_or_default(),
                l.name,
                l.value,
                l.value.len(),
                opts.label_value_length_limit
            )));
        }
    }
    Ok(())
}

/// The cache entry of a series seen for the first time: its final labels (or dropped).
fn new_entry(
    name: &str,
    labels: &[LabelPair<'_>],
    target: &Labels,
    opts: &LoopOptions,
    checked: Option<Format>,
) -> Result<CacheEntry, ScrapeError> {
    let mut b = LabelsBuilder::default();
    b.set(model::METRIC_NAME, name);
    for l in labels {
        b.set(&l.name, &l.value);
    }
    let kept = match mutate_labels(&mut b, target, opts) {
        Some(labels) => {
            check_label_limits(&labels, opts)?;
            Some((labels, 0))
        }
        None => None,
    };
    Ok(CacheEntry::new(kept, checked))
}

/// One scrape in progress: where samples go and what was counted.
struct Batch<'x> {
    app: &'x mut dyn Appender,
    target: &'x Labels,
    opts: &'x LoopOptions,
    ts: Timestamp,
    /// The start (created) timestamp of the sample being appended, 0 when the exposition
    /// gives none; passed on to the storage with the sample.
    start: Timestamp,
    iteration: Generation,
    /// The last successful scrape (0: none, or staleness was marked since).
    previous: Generation,
    counts: ScrapeCounts,
    /// Set once more samples than `sample_limit` survived relabeling: the rest of the
    /// exposition is only counted, and the scrape fails at its end.
    over_limit: bool,
}

impl Batch<'_> {
    /// Appends one sample of the series `e`; `new` when `e` was made for it. Returns the
    /// timestamp the sample was stored at, `None` when it was not stored.
    fn sample(
        &mut self,
        e: &mut CacheEntry,
        value: Sample,
        timestamp: Option<i64>,
        exemplar: Option<&ExemplarRef<'_, '_>>,
        new: bool,
    ) -> Result<Option<Timestamp>, ScrapeError> {
        e.seen = self.iteration;
        let Some((labels, series_ref)) = &mut e.kept else {
            return Ok(None);
        };
        self.counts.post_relabel += 1;
        if self.opts.sample_limit > 0 && self.counts.post_relabel > self.opts.sample_limit {
            self.over_limit = true;
        }
        if self.over_limit {
            return Ok(None);
        }
        let (t, explicit) = match timestamp {
            Some(t) if self.opts.honor_timestamps => (t, true),
            _ => (self.ts, false),
        };
        match self
            .app
            .append_with_start(*series_ref, labels, self.start, t, value)
        {
            Ok(r) => {
                *series_ref = r;
                if new {
                    self.counts.added += 1;
                }
                // Series with timestamps of their own are left out of staleness tracking
                // unless `track_timestamps_staleness` asks for it, as in Prometheus.
                if let Some(x) = exemplar {
                    append_exemplar(self.app, r, labels, x, t);
                }
                if !explicit || self.opts.track_timestamps_staleness {
                    e.mark_appended(self.iteration, self.previous);
                }
                Ok(Some(t))
            }
            Err(err) if skips_sample(&err) => {
                debug!(series = %labels, error = %err, "sample skipped");
                match err {
                    StorageError::OutOfOrderSample => self.counts.out_of_order += 1,
                    StorageError::DuplicateSampleForTimestamp => {
                        self.counts.duplicate_timestamp += 1;
                    }
                    _ => self.counts.out_of_bounds += 1,
                }
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// Stores a sample's exemplar (its timestamp defaults to the sample's). Exemplars the storage
/// refuses (out of order, duplicate, labels too long) are skipped, as Prometheus does.
fn append_exemplar(
    app: &mut dyn Appender,
    series_ref: SeriesRef,
    labels: &Labels,
    e: &ExemplarRef<'_, '_>,
    t: Timestamp,
) {
    let exemplar = Exemplar {
        labels: Labels::from_pairs(e.labels.iter().map(|l| (&*l.name, &*l.value))),
        value: e.value,
        ts: e.timestamp.unwrap_or(t),
        has_ts: e.timestamp.is_some(),
    };
    if let Err(err) = app.append_exemplar(series_ref, labels, &exemplar) {
        debug!(series = %labels, error = %err, "exemplar skipped");
    }
}

impl ScrapeCache {
    /// Records a metadata entry (`HELP`, `TYPE`, `UNIT`); other entries are ignored.
    fn metadata_entry(&mut self, entry: &Entry<'_, '_>) {
        let iteration = u64::from(self.iteration);
        match entry {
            Entry::Help { name, help } => self.metadata.set_help(name, help, iteration),
            Entry::Type { name, metric_type } => {
                self.metadata.set_type(name, *metric_type, iteration);
            }
            Entry::Unit { name, unit } => self.metadata.set_unit(name, unit, iteration),
            _ => {}
        }
    }

    /// Appends a sample found by its parsed name and labels (protobuf, or a text line the
    /// quick scan could not delimit).
    fn sample_by_labels(
        &mut self,
        batch: &mut Batch<'_>,
        name: &str,
        labels: &[LabelPair<'_>],
        value: Sample,
        timestamp: Option<i64>,
        exemplar: Option<&ExemplarRef<'_, '_>>,
    ) -> Result<(), ScrapeError> {
        batch.counts.scraped += 1;
        self.key.clear();
        self.key.extend_from_slice(name.as_bytes());
        for l in labels {
            self.key.push(0xff);
            self.key.extend_from_slice(l.name.as_bytes());
            self.key.push(0xff);
            self.key.extend_from_slice(l.value.as_bytes());
        }
        let (slot, new) = match self.series.find(&self.key) {
            Some(slot) => (slot, false),
            None => {
                let e = new_entry(name, labels, batch.target, batch.opts, None)?;
                (self.series.insert(&self.key, e), true)
            }
        };
        self.series.met(slot);
        let e = self.series.get_mut(slot);
        batch.sample(e, value, timestamp, exemplar, new).map(drop)
    }

    /// Offers a series to the NHCB conversion (when the job asks for it): `Ok(true)` when it
    /// is a classic histogram series that is not to be stored as such. Appends the histogram
    /// of the group it ends, if any.
    fn nhcb_series(
        &mut self,
        batch: &mut Batch<'_>,
        series: &ClassicSeries<'_, '_, '_>,
    ) -> Result<bool, ScrapeError> {
        if !batch.opts.convert_nhcb {
            return Ok(false);
        }
        let mut finished = None;
        let collected = self.nhcb.offer(series, &mut finished);
        if let Some(h) = finished {
            self.append_nhcb(batch, h)?;
        }
        Ok(collected && !batch.opts.always_classic)
    }

    /// Appends the histogram of the classic histogram in progress, if any.
    fn finish_nhcb(&mut self, batch: &mut Batch<'_>) -> Result<(), ScrapeError> {
        match self.nhcb.finish() {
            Some(h) if batch.opts.convert_nhcb => self.append_nhcb(batch, h),
            _ => Ok(()),
        }
    }

    /// Appends one converted classic histogram as the series of its family name, with the
    /// exemplars of its buckets.
    fn append_nhcb(
        &mut self,
        batch: &mut Batch<'_>,
        h: nhcb::Converted,
    ) -> Result<(), ScrapeError> {
        batch.counts.scraped += 1;
        let (slot, new) = match self.series.find(&h.key) {
            Some(slot) => (slot, false),
            None => {
                let e = new_entry(&h.name, &h.labels, batch.target, batch.opts, None)?;
                (self.series.insert(&h.key, e), true)
            }
        };
        self.series.met(slot);
        let e = self.series.get_mut(slot);
        batch.start = h.start;
        let stored = batch.sample(e, h.sample, h.timestamp, None, new)?;
        if let (Some(t), Some((labels, r))) = (stored, &e.kept) {
            for x in &h.exemplars {
                if let Err(err) = batch.app.append_exemplar(*r, labels, &x.to_exemplar(t)) {
                    debug!(series = %labels, error = %err, "exemplar skipped");
                }
            }
        }
        Ok(())
    }

    /// Ends the NHCB group in progress before a metadata entry, and follows `TYPE` lines.
    fn nhcb_entry(
        &mut self,
        batch: &mut Batch<'_>,
        entry: &Entry<'_, '_>,
    ) -> Result<(), ScrapeError> {
        if !batch.opts.convert_nhcb {
            return Ok(());
        }
        self.finish_nhcb(batch)?;
        if let Entry::Type { name, metric_type } = entry {
            self.nhcb.set_family(name, *metric_type);
        }
        Ok(())
    }

    /// Appends the samples of a text exposition.
    fn append_text(
        &mut self,
        batch: &mut Batch<'_>,
        body: &[u8],
        format: Format,
    ) -> Result<(), ScrapeError> {
        let mut parser = Parser::new(body, format);
        loop {
            // The series the previous scrape had here, recognised by its bytes without
            // scanning the line for the end of its labels.
            let mut guessed = None;
            let guess = self.series.expected(format).map(|(slot, len)| {
                let (series, guessed) = (&self.series, &mut guessed);
                (len, move |key: &[u8]| {
                    let hit = series.is_key(slot, key);
                    *guessed = hit.then_some(slot);
                    hit
                })
            });
            let series = match parser.next_lazy_guessed(guess)? {
                None => return self.finish_nhcb(batch),
                Some(LazyEntry::Sample(series)) => series,
                Some(LazyEntry::Other(Entry::Series(s))) => {
                    let v = Sample::Float(s.value);
                    let (name, labels, t, x) = (s.name, s.labels, s.timestamp, s.exemplar);
                    let classic = ClassicSeries {
                        name,
                        labels,
                        value: s.value,
                        timestamp: t,
                        start: 0,
                        exemplar: x.as_ref(),
                    };
                    if !self.nhcb_series(batch, &classic)? {
                        self.sample_by_labels(batch, name, labels, v, t, x.as_ref())?;
                    }
                    continue;
                }
                Some(LazyEntry::Other(e)) => {
                    self.nhcb_entry(batch, &e)?;
                    self.metadata_entry(&e);
                    continue;
                }
            };
            if batch.opts.convert_nhcb && self.nhcb.in_histogram_family() {
                // Classic histogram series are recognised by name and labels: parsed in full.
                let s = parser.sample_full()?;
                let classic = ClassicSeries {
                    name: s.name,
                    labels: s.labels,
                    value: s.value,
                    timestamp: s.timestamp,
                    start: 0,
                    exemplar: s.exemplar.as_ref(),
                };
                if !self.nhcb_series(batch, &classic)? {
                    let v = Sample::Float(s.value);
                    let x = s.exemplar.as_ref();
                    self.sample_by_labels(batch, s.name, s.labels, v, s.timestamp, x)?;
                }
                continue;
            }
            self.finish_nhcb(batch)?;
            batch.counts.scraped += 1;
            let found = guessed.or_else(|| self.series.find(series));
            // The common case: bytes seen and checked before; only the value is parsed.
            if let Some(slot) = found
                && self.series.get_mut(slot).checked == Some(format)
            {
                self.series.met(slot);
                let rest = parser.sample_rest()?;
                let (v, t, x) = (Sample::Float(rest.value), rest.timestamp, rest.exemplar);
                batch.sample(self.series.get_mut(slot), v, t, x.as_ref(), false)?;
                continue;
            }
            let s = parser.sample_full()?;
            let (slot, new) = match found {
                Some(slot) => {
                    self.series.get_mut(slot).checked = Some(format);
                    (slot, false)
                }
                None => {
                    let e = new_entry(s.name, s.labels, batch.target, batch.opts, Some(format))?;
                    (self.series.insert(series, e), true)
                }
            };
            self.series.met(slot);
            let v = Sample::Float(s.value);
            batch.sample(
                self.series.get_mut(slot),
                v,
                s.timestamp,
                s.exemplar.as_ref(),
                new,
            )?;
        }
    }

    /// Appends the samples of a protobuf exposition.
    fn append_protobuf(
        &mut self,
        batch: &mut Batch<'_>,
        body: &[u8],
        options: ProtobufOptions,
    ) -> Result<(), ScrapeError> {
        let mut parser = ProtobufParser::new(body, options);
        while let Some(entry) = parser.next_entry()? {
            match entry {
                Entry::Series(s) => {
                    let v = Sample::Float(s.value);
                    let x = s.exemplar.as_ref();
                    let start = s.start_timestamp.unwrap_or(0);
                    let classic = ClassicSeries {
                        name: s.name,
                        labels: s.labels,
                        value: s.value,
                        timestamp: s.timestamp,
                        start,
                        exemplar: x,
                    };
                    if !self.nhcb_series(batch, &classic)? {
                        batch.start = start;
                        self.sample_by_labels(batch, s.name, s.labels, v, s.timestamp, x)?;
                    }
                }
                Entry::Histogram(h) => {
                    if batch.opts.convert_nhcb {
                        self.finish_nhcb(batch)?;
                        self.nhcb.native_histogram(h.name, h.labels);
                    }
                    let v = h.sample.clone();
                    batch.start = h.start_timestamp.unwrap_or(0);
                    self.sample_by_labels(batch, h.name, h.labels, v, h.timestamp, None)?;
                }
                other => {
                    self.nhcb_entry(batch, &other)?;
                    self.metadata_entry(&other);
                }
            }
        }
        self.finish_nhcb(batch)
    }

    /// Staleness markers at `ts` for the series of the previous scrape that the scrape in
    /// progress did not append.
    fn append_stale(&self, app: &mut dyn Appender, ts: Timestamp) -> Result<(), StorageError> {
        if self.previous == 0 {
            return Ok(());
        }
        for e in self.series.iter() {
            if !e.appended_in(self.previous) {
                continue;
            }
            if let Some((labels, r)) = &e.kept {
                match app.append(*r, labels, ts, Sample::Float(STALE_NAN)) {
                    Err(err) if !skips_sample(&err) => return Err(err),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Appends the samples of one exposition through `app`, without committing, and marks
    /// the series of the previous scrape that vanished stale. Returns the counts, also when
    /// the scrape fails; then nothing of it is tracked, and the caller rolls `app` back.
    pub(crate) fn append_counted(
        &mut self,
        app: &mut dyn Appender,
        body: &[u8],
        format: BodyFormat,
        target: &Labels,
        opts: &LoopOptions,
        ts: Timestamp,
    ) -> (ScrapeCounts, Result<(), ScrapeError>) {
        self.iteration += 1;
        self.nhcb.reset();
        let mut batch = Batch {
            app,
            target,
            opts,
            ts,
            iteration: self.iteration,
            previous: self.previous,
            counts: ScrapeCounts::default(),
            over_limit: false,
            start: 0,
        };
        let mut outcome = match format {
            BodyFormat::Text(f) => self.append_text(&mut batch, body, f),
            BodyFormat::Protobuf => {
                let options = ProtobufOptions {
                    native_histograms: opts.native_histograms,
                    keep_classic: opts.always_classic,
                };
                self.append_protobuf(&mut batch, body, options)
            }
        };
        if outcome.is_ok() && batch.over_limit {
            outcome = Err(ScrapeError::SampleLimit);
        }
        let outcome =
            outcome.and_then(|()| self.append_stale(batch.app, ts).map_err(ScrapeError::from));
        let counts = batch.counts;
        let iteration = self.iteration;
        match outcome {
            Ok(()) => {
                self.previous = iteration;
                self.metadata.iteration_done(u64::from(iteration));
                self.series.scrape_done(iteration);
                (counts, Ok(()))
            }
            Err(err) => {
                // Nothing of this scrape is stored: the previous scrape's series stay the
                // ones staleness tracks.
                let previous = self.previous;
                for e in self.series.iter_mut() {
                    e.unmark_appended(iteration, previous);
                }
                self.series.scrape_failed();
                (counts, Err(err))
            }
        }
    }

    /// Staleness markers at `ts` for every series of the previous scrape (after a failed
    /// scrape, or when the target goes away); afterwards no series is tracked.
    ///
    /// # Errors
    /// Storage errors other than out-of-order/duplicate samples.
    pub fn mark_stale(
        &mut self,
        app: &mut dyn Appender,
        ts: Timestamp,
    ) -> Result<(), StorageError> {
        let result = self.append_stale(app, ts);
        self.previous = 0;
        result
    }

    /// Appends the report series (`up`, `scrape_duration_seconds`...) of a scrape; `None`
    /// writes staleness markers.
    ///
    /// # Errors
    /// Storage errors.
    pub fn append_report(
        &mut self,
        app: &mut dyn Appender,
        target: &Labels,
        ts: Timestamp,
        values: Option<[f64; 5]>,
    ) -> Result<(), StorageError> {
        if self.report.is_empty() {
            self.report = REPORT_NAMES
                .iter()
                .map(|name| {
                    let mut b = target.builder();
                    b.set(model::METRIC_NAME, name);
                    (b.labels(), 0)
                })
                .collect();
        }
        for (i, (labels, r)) in self.report.iter_mut().enumerate() {
            let v = values.map_or(STALE_NAN, |v| v[i]);
            *r = app.append(*r, labels, ts, Sample::Float(v))?;
        }
        Ok(())
    }

    /// Number of series remembered (for tests and memory accounting).
    #[must_use]
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.series.len() == 0
    }
}

/// Appends one text exposition through `app`, without committing. Returns the counts.
///
/// # Errors
/// Parse errors, limits, and storage errors other than out-of-order/duplicate samples (which
/// are skipped, as Prometheus does). The caller then rolls `app` back, and may mark the
/// previous scrape's series stale with [`ScrapeCache::mark_stale`].
pub fn append_exposition(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    body: &[u8],
    format: Format,
    target: &Labels,
    opts: &LoopOptions,
    ts: Timestamp,
) -> Result<ScrapeCounts, ScrapeError> {
    append_body(app, cache, body, BodyFormat::Text(format), target, opts, ts)
}

/// Appends one exposition of any format (text, OpenMetrics, protobuf) through `app`, without
/// committing. Returns the counts.
///
/// # Errors
/// As [`append_exposition`].
pub fn append_body(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    body: &[u8],
    format: BodyFormat,
    target: &Labels,
    opts: &LoopOptions,
    ts: Timestamp,
) -> Result<ScrapeCounts, ScrapeError> {
    let (counts, outcome) = cache.append_counted(app, body, format, target, opts, ts);
    outcome.map(|()| counts)
}
