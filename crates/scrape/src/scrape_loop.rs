//! One target's scrape loop: fetch on a jittered schedule, parse, attach target labels,
//! relabel, enforce limits, append, mark vanished series stale, write the report series.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tracing::debug;

use config::{RelabelConfig, ScrapeConfig};
use model::exposition::{Entry, ExemplarRef, Format, Parser, ProtobufOptions, ProtobufParser};
use model::relabel;
use model::{Labels, LabelsBuilder, STALE_NAN, Sample, Timestamp};
use storage::{AppendableRef, Appender, Exemplar, SeriesRef, StorageError};

use crate::ScrapeError;
use crate::http::{BodyFormat, Fetcher};
use crate::metadata::MetadataCache;
use crate::target::Target;

/// The per-job settings a loop applies to every sample.
#[derive(Debug, Clone, Default)]
pub struct LoopOptions {
    /// Keep the exposition's labels on conflict with target labels.
    pub honor_labels: bool,
    /// Use the exposition's timestamps.
    pub honor_timestamps: bool,
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
}

impl LoopOptions {
    /// The loop settings of a scrape job.
    #[must_use]
    pub fn from_config(cfg: &ScrapeConfig) -> Self {
        Self {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
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
        }
    }
}

/// A parser the loop reads entries from: the text parser or the protobuf parser.
trait EntrySource<'a> {
    fn next(&mut self) -> Result<Option<Entry<'_, 'a>>, ScrapeError>;
}

impl<'a> EntrySource<'a> for Parser<'a> {
    fn next(&mut self) -> Result<Option<Entry<'_, 'a>>, ScrapeError> {
        Ok(self.next_entry()?)
    }
}

impl<'a> EntrySource<'a> for ProtobufParser<'a> {
    fn next(&mut self) -> Result<Option<Entry<'_, 'a>>, ScrapeError> {
        Ok(self.next_entry()?)
    }
}

/// What a raw series of the exposition became, remembered between scrapes.
#[derive(Debug, Clone)]
enum Cached {
    /// Metric relabeling dropped it.
    Dropped,
    /// Stored as `labels` (whose hash is `hash`), under `series_ref`.
    Kept {
        labels: Labels,
        hash: u64,
        series_ref: SeriesRef,
    },
}

/// A cached raw series and the scrape that last saw it.
#[derive(Debug)]
struct CacheEntry {
    cached: Cached,
    seen: u64,
}

/// Hash maps on the per-sample path: foldhash, not SipHash (keys come from the target we
/// scrape, but a cache is per target and bounded by what that target exposes).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// State kept from one scrape to the next.
#[derive(Debug, Default)]
pub struct ScrapeCache {
    /// Raw series text (`name\xfflabel\xffvalue...`) → what it became.
    series: FastMap<String, CacheEntry>,
    /// Series appended by the previous successful scrape, by label hash.
    previous: FastMap<u64, (Labels, SeriesRef)>,
    /// Series appended by the scrape in progress (kept to reuse its allocation).
    current: FastMap<u64, (Labels, SeriesRef)>,
    /// Report series references.
    report_refs: [SeriesRef; 5],
    /// Scrape counter (for cache eviction).
    iteration: u64,
    /// HELP, TYPE and UNIT of the families of the last scrapes.
    pub metadata: MetadataCache,
}

/// Counts of one scrape, for the report series.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScrapeCounts {
    /// Samples in the exposition.
    pub scraped: u64,
    /// Samples after metric relabeling.
    pub post_relabel: u64,
    /// Series not seen in the previous scrape.
    pub added: u64,
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

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

/// Appends one text exposition through `app`, without committing. Returns the counts.
///
/// # Errors
/// Parse errors, limits, and storage errors other than out-of-order/duplicate samples (which
/// are skipped, as Prometheus does).
pub fn append_exposition(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    body: &[u8],
    format: Format,
    target: &Labels,
    opts: &LoopOptions,
    ts: Timestamp,
) -> Result<ScrapeCounts, ScrapeError> {
    append_entries(app, cache, &mut Parser::new(body, format), target, opts, ts)
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
    match format {
        BodyFormat::Text(f) => append_exposition(app, cache, body, f, target, opts, ts),
        BodyFormat::Protobuf => {
            let options = ProtobufOptions {
                native_histograms: opts.native_histograms,
                keep_classic: opts.always_classic,
            };
            let mut parser = ProtobufParser::new(body, options);
            append_entries(app, cache, &mut parser, target, opts, ts)
        }
    }
}

fn append_entries<'a>(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    parser: &mut dyn EntrySource<'a>,
    target: &Labels,
    opts: &LoopOptions,
    ts: Timestamp,
) -> Result<ScrapeCounts, ScrapeError> {
    cache.iteration += 1;
    let iteration = cache.iteration;
    let mut current = std::mem::take(&mut cache.current);
    current.clear();
    let mut counts = ScrapeCounts::default();
    let mut key = String::new();
    while let Some(entry) = parser.next()? {
        let (name, labels, value, timestamp, exemplar) = match entry {
            Entry::Series(s) => (
                s.name,
                s.labels,
                Sample::Float(s.value),
                s.timestamp,
                s.exemplar,
            ),
            Entry::Histogram(h) => (h.name, h.labels, h.sample.clone(), h.timestamp, None),
            Entry::Help { name, help } => {
                cache.metadata.set_help(&name, &help, iteration);
                continue;
            }
            Entry::Type { name, metric_type } => {
                cache.metadata.set_type(&name, metric_type, iteration);
                continue;
            }
            Entry::Unit { name, unit } => {
                cache.metadata.set_unit(&name, unit, iteration);
                continue;
            }
            Entry::Comment(_) | Entry::Eof => continue,
        };
        counts.scraped += 1;
        key.clear();
        key.push_str(name);
        for l in labels {
            key.push('\u{ff}');
            key.push_str(&l.name);
            key.push('\u{ff}');
            key.push_str(&l.value);
        }
        if !cache.series.contains_key(key.as_str()) {
            let mut b = LabelsBuilder::default();
            b.set(model::METRIC_NAME, name);
            for l in labels {
                b.set(&l.name, &l.value);
            }
            let cached = match mutate_labels(&mut b, target, opts) {
                Some(labels) => {
                    check_label_limits(&labels, opts)?;
                    Cached::Kept {
                        hash: labels.hash64(),
                        labels,
                        series_ref: 0,
                    }
                }
                None => Cached::Dropped,
            };
            cache
                .series
                .insert(key.clone(), CacheEntry { cached, seen: 0 });
        }
        let Some(entry) = cache.series.get_mut(key.as_str()) else {
            unreachable!("inserted above");
        };
        entry.seen = iteration;
        let Cached::Kept {
            labels,
            hash,
            series_ref,
        } = &mut entry.cached
        else {
            continue;
        };
        counts.post_relabel += 1;
        if opts.sample_limit > 0 && counts.post_relabel > opts.sample_limit {
            cache.current = current;
            return Err(ScrapeError::SampleLimit);
        }
        let t = if opts.honor_timestamps {
            timestamp.unwrap_or(ts)
        } else {
            ts
        };
        match app.append(*series_ref, labels, t, value) {
            Ok(r) => {
                *series_ref = r;
                if !cache.previous.contains_key(hash) {
                    counts.added += 1;
                }
                current.insert(*hash, (labels.clone(), r));
                if let Some(e) = exemplar {
                    append_exemplar(app, r, labels, &e, t);
                }
            }
            Err(
                StorageError::OutOfOrderSample
                | StorageError::DuplicateSampleForTimestamp
                | StorageError::OutOfBounds,
            ) => {
                debug!(series = %labels, "sample skipped");
            }
            Err(e) => {
                cache.current = current;
                return Err(e.into());
            }
        }
    }
    // Series of the previous scrape that are gone now end with a staleness marker.
    for (h, (labels, r)) in &cache.previous {
        if !current.contains_key(h) {
            match app.append(*r, labels, ts, Sample::Float(STALE_NAN)) {
                Ok(_)
                | Err(
                    StorageError::OutOfOrderSample
                    | StorageError::DuplicateSampleForTimestamp
                    | StorageError::OutOfBounds,
                ) => {}
                Err(e) => {
                    cache.current = current;
                    return Err(e.into());
                }
            }
        }
    }
    cache.current = std::mem::replace(&mut cache.previous, current);
    cache.metadata.iteration_done(iteration);
    cache.series.retain(|_, e| e.seen + 1 >= iteration);
    Ok(counts)
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

/// Appends the report series (`up`, `scrape_duration_seconds`...) of a scrape.
fn append_report(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    target: &Labels,
    ts: Timestamp,
    values: Option<[f64; 5]>,
) -> Result<(), StorageError> {
    for (i, name) in REPORT_NAMES.iter().enumerate() {
        let mut b = target.builder();
        b.set(model::METRIC_NAME, name);
        let v = values.map_or(STALE_NAN, |v| v[i]);
        cache.report_refs[i] =
            app.append(cache.report_refs[i], &b.labels(), ts, Sample::Float(v))?;
    }
    Ok(())
}

/// One target's loop.
pub struct ScrapeLoop {
    target: Arc<Target>,
    fetcher: Arc<Fetcher>,
    storage: AppendableRef,
    opts: Arc<LoopOptions>,
    cache: ScrapeCache,
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
            cache: ScrapeCache::default(),
        }
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
        loop {
            tokio::select! {
                _ = ticker.tick() => self.scrape_once().await,
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        self.mark_stale().await;
    }

    /// Scrapes once now and records the outcome.
    pub async fn scrape_once(&mut self) {
        let started = SystemTime::now();
        let clock = Instant::now();
        let ts = now_ms();
        let url = self.target.url();
        let fetched = self.fetcher.fetch(&url, self.target.timeout).await;
        let storage = self.storage.clone();
        let opts = self.opts.clone();
        let target_labels = self.target.labels();
        let mut cache = std::mem::take(&mut self.cache);
        let (cache, error) = tokio::task::spawn_blocking(move || {
            let mut app = storage.appender();
            let outcome = fetched.and_then(|f| {
                append_body(
                    app.as_mut(),
                    &mut cache,
                    &f.body,
                    f.format,
                    &target_labels,
                    &opts,
                    ts,
                )
            });
            let (counts, error) = match outcome {
                Ok(c) => (c, None),
                Err(e) => {
                    let _ = app.rollback();
                    (ScrapeCounts::default(), Some(e.to_string()))
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
            let stored = append_report(app.as_mut(), &mut cache, &target_labels, ts, Some(values))
                .and_then(|()| app.commit());
            let error = match (error, stored) {
                (Some(e), _) => Some(e),
                (None, Err(e)) => Some(e.to_string()),
                (None, Ok(())) => None,
            };
            (cache, error)
        })
        .await
        .unwrap_or_else(|e| {
            (
                ScrapeCache::default(),
                Some(format!("scrape task failed: {e}")),
            )
        });
        self.cache = cache;
        if let Some(metadata) = self.cache.metadata.take_changed() {
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
            for (labels, r) in self.cache.previous.values() {
                let _ = app.append(*r, labels, ts, Sample::Float(STALE_NAN));
            }
            let _ = append_report(app.as_mut(), &mut self.cache, &target_labels, ts, None);
            app.commit()
        })
        .await;
    }
}

#[cfg(test)]
mod tests;
