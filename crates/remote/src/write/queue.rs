//! One `remote_write` endpoint's queue (Prometheus's `QueueManager` in
//! `storage/remote/queue_manager.go`): a thread runs the WAL [`Watcher`] and hands what it
//! reads to this module, which keeps the ref → labels map (after `write_relabel_configs` and
//! the external labels), turns records into items, spreads them by series over the shards
//! (waiting while a shard is full: the WAL is the buffer), saves the position every second,
//! sends metadata every `metadata_config.send_interval` (1.0), and reshards between
//! `min_shards` and `max_shards` every 10 s from the measured throughput
//! ([`desired_shards`], Prometheus's `calculateDesiredShards`).

use std::collections::HashMap;

/// Maps keyed by WAL series references, hashed with foldhash (SipHash cost a sender a
/// noticeable share of its CPU per sample).
type RefMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::Labels;
use model::relabel::RelabelConfig;
use parking_lot::Mutex;
use tsdb::wal::record::{Record, RefMetadata, RefSeries};

use super::encode::{Counts, Data, Item, Meta, SeriesInfo};
use super::metrics::QueueMetrics;
use super::position::{self, Ack, Pos, Saved, Tracker};
use super::series_map::SeriesMap;
use super::shards::{SendCtx, Shards, now_ms};
use super::watcher::{Notify, Sink, StartAt, Watcher, WatcherMetrics};
use crate::error::RemoteError;

/// How often the shard count is recalculated (Prometheus's `shardUpdateDuration`).
const SHARD_UPDATE: Duration = Duration::from_secs(10);
/// A change of fewer shards than this fraction is not worth a reshard.
const SHARD_TOLERANCE: f64 = 0.3;
/// How long shards may take to flush before a reshard or a stop gives up on them.
const FLUSH_DEADLINE: Duration = Duration::from_secs(60);

fn dur(d: config::duration::Duration) -> Duration {
    Duration::from_millis(d.as_millis())
}

/// A running queue; [`Queue::stop`] ends it.
pub(crate) struct Queue {
    stop: Arc<AtomicBool>,
    notify: Arc<Notify>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    tracker: Arc<Tracker>,
    ctx: Arc<SendCtx>,
    started_s: i64,
}

/// The name a queue's position file and metrics use: its `name`, or a hash of its URL.
pub(crate) fn queue_name(cfg: &config::remote::RemoteWriteConfig, url: &str) -> String {
    if cfg.name.is_empty() {
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(url.as_bytes()))[..6].to_owned()
    } else {
        cfg.name.clone()
    }
}

impl Queue {
    /// Starts the queue for `cfg`, following the WAL in `wal_dir` and saving its position
    /// under `positions`.
    pub(crate) fn start(
        cfg: &config::remote::RemoteWriteConfig,
        external: &Labels,
        m: &QueueMetrics,
        rt: &tokio::runtime::Handle,
        wal_dir: &Path,
        positions: &Path,
        notify: Arc<Notify>,
    ) -> Result<Self, RemoteError> {
        let url = cfg
            .url
            .as_ref()
            .map(ToString::to_string)
            .ok_or_else(|| RemoteError::Invalid("remote_write: url is required".into()))?;
        let client = http_client::HttpClient::new(&cfg.http_client())
            .map_err(|e| RemoteError::Invalid(format!("remote_write {url}: {e}")))?;
        let q = &cfg.queue_config;
        let name = queue_name(cfg, &url);
        let labels = [name.as_str(), url.as_str()];
        let path = positions.join(format!("{name}.position"));
        let saved = position::load(&path);
        let start = saved
            .as_ref()
            .map_or(StartAt::End, |s| StartAt::Position(s.watermark));
        let tracker = Arc::new(Tracker::new(
            path,
            saved.as_ref().map(|s| s.watermark).unwrap_or_default(),
        ));
        let v2 = cfg.protobuf_message == "io.prometheus.write.v2.Request";
        let ctx = Arc::new(SendCtx {
            client,
            url: url.clone(),
            name: name.clone(),
            timeout: dur(cfg.remote_timeout),
            headers: cfg
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            max_per_send: usize::try_from(q.max_samples_per_send.max(1)).unwrap_or(2000),
            deadline: dur(q.batch_send_deadline).max(Duration::from_millis(1)),
            min_backoff: dur(q.min_backoff).max(Duration::from_millis(1)),
            max_backoff: dur(q.max_backoff).max(Duration::from_millis(1)),
            retry_429: q.retry_on_http_429,
            sample_age_limit: (q.sample_age_limit.as_millis() > 0).then(|| dur(q.sample_age_limit)),
            v2: AtomicBool::new(v2),
            tracker: tracker.clone(),
            samples: m.samples.handles(&labels),
            exemplars: m.exemplars.handles(&labels),
            histograms: m.histograms.handles(&labels),
            bytes: m.bytes.with_label_values(&labels),
            batch_duration: m.batch_duration.with_label_values(&labels),
            highest_sent: m.highest_sent.with_label_values(&labels),
            metadata_sent: m.metadata_sent.with_label_values(&labels),
            metadata_failed: m.metadata_failed.with_label_values(&labels),
            metadata_retried: m.metadata_retried.with_label_values(&labels),
            metadata_bytes: m.metadata_bytes.with_label_values(&labels),
            out: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            out_ns: AtomicU64::new(0),
            last_send: AtomicI64::new(0),
        });
        let min_shards = usize::try_from(q.min_shards.max(1)).unwrap_or(1);
        let max_shards = usize::try_from(q.max_shards.max(1))
            .unwrap_or(1)
            .max(min_shards);
        let capacity = usize::try_from(q.capacity.max(1)).unwrap_or(10_000);
        m.shards_min
            .with_label_values(&labels)
            .set(min_shards as f64);
        m.shards_max
            .with_label_values(&labels)
            .set(max_shards as f64);
        m.shard_capacity
            .with_label_values(&labels)
            .set(capacity as f64);
        m.max_samples_per_send
            .with_label_values(&labels)
            .set(ctx.max_per_send as f64);
        m.shards_desired
            .with_label_values(&labels)
            .set(min_shards as f64);
        m.shards.with_label_values(&labels).set(min_shards as f64);
        let stop = Arc::new(AtomicBool::new(false));
        let mut manager = Manager {
            relabel: config::relabel::rules(&cfg.write_relabel_configs),
            external: external.clone(),
            series: SeriesMap::default(),
            meta: RefMap::default(),
            starts: RefMap::default(),
            shards: Some(Shards::start(min_shards, capacity, &ctx, rt)),
            capacity,
            min_shards,
            max_shards,
            ctx: ctx.clone(),
            tracker: tracker.clone(),
            saved,
            seq: 0,
            stop: stop.clone(),
            rt: rt.clone(),
            data_in: 0,
            rate_in: Ewma::default(),
            rate_out: Ewma::default(),
            rate_dropped: Ewma::default(),
            rate_duration: Ewma::default(),
            last_shard_update: Instant::now(),
            last_save: Instant::now(),
            last_metadata: Instant::now(),
            metadata: (cfg.metadata_config.send && !v2).then(|| {
                (
                    dur(cfg.metadata_config.send_interval).max(Duration::from_secs(1)),
                    usize::try_from(cfg.metadata_config.max_samples_per_send.max(1)).unwrap_or(500),
                )
            }),
            metrics: m.clone(),
            enqueue_retries: m.enqueue_retries.with_label_values(&labels),
            shards_gauge: m.shards.with_label_values(&labels),
            shards_desired: m.shards_desired.with_label_values(&labels),
            min_backoff: ctx.min_backoff,
            max_backoff: ctx.max_backoff,
        };
        let watcher = Watcher::new(
            wal_dir,
            start,
            notify.clone(),
            WatcherMetrics {
                current_segment: m.watcher_current_segment.with_label_values(&[&name]),
                decode_failures: m.watcher_decode_failures.with_label_values(&[&name]),
                records_read: m.watcher_records_read.clone(),
                pre_tailing: m.watcher_pre_tailing.with_label_values(&[&name]),
                consumer: name.clone(),
            },
            cfg.send_exemplars,
            cfg.send_native_histograms,
        );
        let thread = std::thread::Builder::new()
            .name(format!("remote-write-{name}"))
            .spawn(move || {
                watcher.run(&mut manager);
                manager.shutdown();
            })
            .map_err(|e| RemoteError::Invalid(format!("remote_write {url}: thread: {e}")))?;
        Ok(Self {
            stop,
            notify,
            thread: Mutex::new(Some(thread)),
            tracker,
            ctx,
            started_s: now_ms() / 1000,
        })
    }

    /// The oldest WAL segment the queue still has to send from, unless its last successful
    /// send (or its start) is older than `max_age`: a receiver down that long no longer
    /// holds the WAL back (as Prometheus's agent caps its hold at the WAL's maximum age).
    pub(crate) fn wal_hold(&self, max_age: Option<Duration>) -> Option<u32> {
        if let Some(age) = max_age {
            let last = self
                .ctx
                .last_send
                .load(Ordering::Relaxed)
                .max(self.started_s);
            let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
            if now_ms() / 1000 - last > age {
                return None;
            }
        }
        Some(self.tracker.watermark().segment)
    }

    /// The newest timestamp sent, in milliseconds (0: nothing sent yet).
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn highest_sent_ms(&self) -> i64 {
        (self.ctx.highest_sent.get() * 1000.0) as i64
    }

    /// Stops the queue: in-flight requests finish, what is unsent stays in the saved
    /// position for the next start. Waits for the queue's thread.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.notify.notify();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

/// An exponentially weighted rate over [`SHARD_UPDATE`] intervals (Prometheus's `ewmaRate`,
/// weight 0.2).
#[derive(Default)]
struct Ewma {
    rate: f64,
    init: bool,
}

impl Ewma {
    fn tick(&mut self, events: f64) -> f64 {
        let instant = events / SHARD_UPDATE.as_secs_f64();
        if self.init {
            self.rate += 0.2 * (instant - self.rate);
        } else {
            self.rate = instant;
            self.init = true;
        }
        self.rate
    }
}

/// Throughput figures for [`desired_shards`] (per second).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throughput {
    pub rate_in: f64,
    pub rate_out: f64,
    pub rate_dropped: f64,
    /// Seconds spent sending per second.
    pub out_duration: f64,
    /// Highest timestamp in minus highest sent, in seconds.
    pub delay: f64,
}

/// The number of shards to run next, from the current count and the throughput, within
/// `min..=max` (Prometheus's `calculateDesiredShards`): enough shards to send what comes in
/// plus 5% of the backlog per second at the measured time per sample; changes within 30%
/// are ignored, and no downsharding while more than 10 s behind. Also returns the raw
/// desired figure for `prometheus_remote_storage_shards_desired`.
pub(crate) fn desired_shards(
    current: usize,
    min: usize,
    max: usize,
    t: Throughput,
) -> (usize, Option<f64>) {
    if t.rate_out <= 0.0 {
        return (current, None);
    }
    let kept = t.rate_out / (t.rate_dropped + t.rate_out);
    let pending = t.delay * t.rate_in * kept;
    let catchup = 0.05 * pending;
    let per_sample = t.out_duration / t.rate_out;
    let desired = per_sample * (t.rate_in * kept + catchup);
    let lower = current as f64 * (1.0 - SHARD_TOLERANCE);
    let upper = current as f64 * (1.0 + SHARD_TOLERANCE);
    let ceil = desired.ceil();
    if lower <= ceil && ceil <= upper {
        return (current, Some(desired));
    }
    let n = ceil.max(0.0) as usize;
    if n < current && t.delay > 10.0 {
        return (current, Some(desired));
    }
    (n.clamp(min, max), Some(desired))
}

/// A series the queue knows: what it sends as (`None`: relabelled away), the hash of its
/// WAL labels (the position file's key), and the segment it was last seen in.
struct SeriesEntry {
    info: Option<Arc<SeriesInfo>>,
    key: u64,
    segment: u32,
}

/// The queue's state in its thread: the watcher's [`Sink`].
struct Manager {
    relabel: Vec<RelabelConfig>,
    external: Labels,
    series: SeriesMap<SeriesEntry>,
    meta: RefMap<u64, Arc<Meta>>,
    /// Start timestamps of the commit being read: (series ref, t) → st.
    starts: RefMap<(u64, i64), i64>,
    shards: Option<Shards>,
    capacity: usize,
    min_shards: usize,
    max_shards: usize,
    ctx: Arc<SendCtx>,
    tracker: Arc<Tracker>,
    /// The position loaded at start: what it says was sent is skipped.
    saved: Option<Saved>,
    seq: u64,
    stop: Arc<AtomicBool>,
    rt: tokio::runtime::Handle,
    data_in: u64,
    rate_in: Ewma,
    rate_out: Ewma,
    rate_dropped: Ewma,
    rate_duration: Ewma,
    last_shard_update: Instant,
    last_save: Instant,
    last_metadata: Instant,
    /// Metadata sending (1.0): interval and entries per request.
    metadata: Option<(Duration, usize)>,
    metrics: QueueMetrics,
    enqueue_retries: metrics::Counter,
    shards_gauge: metrics::Gauge,
    shards_desired: metrics::Gauge,
    min_backoff: Duration,
    max_backoff: Duration,
}

/// Kinds of item in the position file's series keys.
const KIND_SAMPLE: u8 = 0;
const KIND_HISTOGRAM: u8 = 1;
const KIND_EXEMPLAR: u8 = 2;

impl Manager {
    fn labels_for(&self, wal: &Labels) -> Option<Labels> {
        let l = model::relabel::process(wal, &self.relabel)?;
        if self.external.is_empty() {
            return Some(l);
        }
        let mut b = l.builder();
        for e in &self.external {
            if l.get(e.name).is_none() {
                b.set(e.name, e.value);
            }
        }
        Some(b.labels())
    }

    /// The item for series `id`, or `None` (counted as dropped) for an unknown or
    /// relabelled-away series, or when the saved position says it was sent.
    fn item(&mut self, id: u64, t: i64, data: Data, kind: u8, seq: u64, pos: Pos) -> Option<Item> {
        let Some(entry) = self.series.get(id) else {
            self.drop_item(&data);
            return None;
        };
        let Some(info) = entry.info.clone() else {
            self.drop_item(&data);
            return None;
        };
        let key = (entry.key, kind);
        if self.saved.as_ref().is_some_and(|s| s.done(key, pos, t)) {
            return None;
        }
        Some(Item {
            series: info,
            // Only 2.0 requests carry metadata with each series.
            meta: if self.ctx.v2.load(Ordering::Relaxed) {
                self.meta.get(&id).cloned()
            } else {
                None
            },
            t,
            st: if kind == KIND_EXEMPLAR || self.starts.is_empty() {
                0
            } else {
                self.starts.get(&(id, t)).copied().unwrap_or(0)
            },
            data,
            ack: Ack { seq, pos, key, t },
        })
    }

    fn drop_item(&self, data: &Data) {
        match data {
            Data::Float(_) => self.ctx.samples.dropped.inc(),
            Data::Histogram(_) | Data::FloatHistogram(_) => self.ctx.histograms.dropped.inc(),
            Data::Exemplar { .. } => self.ctx.exemplars.dropped.inc(),
        }
    }

    /// Adds `sign` × `c` to the pending gauges.
    fn pending(&self, c: Counts, sign: f64) {
        self.ctx.samples.pending.add(sign * c.samples as f64);
        self.ctx.histograms.pending.add(sign * c.histograms as f64);
        self.ctx.exemplars.pending.add(sign * c.exemplars as f64);
    }

    /// Queues `item` on its series' shard, waiting while the shard is full. Gives it back
    /// when the queue stops meanwhile.
    fn enqueue(&mut self, mut item: Item) -> Result<(), Item> {
        let mut backoff = self.min_backoff;
        loop {
            let Some(shards) = &self.shards else {
                return Err(item);
            };
            let shard = usize::try_from(item.ack.key.0 % shards.len() as u64).unwrap_or(0);
            match shards.enqueue(shard, item) {
                Ok(()) => return Ok(()),
                Err(back) => item = back,
            }
            if self.stop.load(Ordering::Acquire) {
                return Err(item);
            }
            self.enqueue_retries.inc();
            self.tick();
            std::thread::sleep(backoff.min(Duration::from_millis(100)));
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    fn recalculate_shards(&mut self) {
        let out = self.ctx.out.swap(0, Ordering::Relaxed) as f64;
        let dropped = self.ctx.dropped.swap(0, Ordering::Relaxed) as f64;
        let ns = self.ctx.out_ns.swap(0, Ordering::Relaxed) as f64;
        let t = Throughput {
            rate_in: self.rate_in.tick(std::mem::take(&mut self.data_in) as f64),
            rate_out: self.rate_out.tick(out),
            rate_dropped: self.rate_dropped.tick(dropped),
            out_duration: self.rate_duration.tick(ns) / 1e9,
            delay: self.metrics.highest_in_seconds() - self.ctx.highest_sent.get(),
        };
        let current = self.shards.as_ref().map_or(self.min_shards, Shards::len);
        let (n, desired) = desired_shards(current, self.min_shards, self.max_shards, t);
        if let Some(d) = desired {
            self.shards_desired.set(d);
        }
        if n == current {
            return;
        }
        // Not while sends fail: a reshard would only wait for the failing flush.
        let recent = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
            - i64::try_from(self.ctx.deadline.as_secs()).unwrap_or(0);
        if self.ctx.last_send.load(Ordering::Relaxed) < recent {
            tracing::warn!(queue = %self.ctx.name, "skipping resharding, last successful send was beyond threshold");
            return;
        }
        tracing::info!(queue = %self.ctx.name, from = current, to = n, "remote storage resharding");
        if let Some(old) = self.shards.take() {
            old.stop(&self.rt, true, FLUSH_DEADLINE);
        }
        self.shards = Some(Shards::start(n, self.capacity, &self.ctx, &self.rt));
        self.shards_gauge.set(n as f64);
    }

    fn send_metadata(&self, per_request: usize) {
        let mut by_name: HashMap<String, Meta> = HashMap::new();
        for (id, m) in &self.meta {
            let Some(info) = self.series.get(*id).and_then(|e| e.info.as_ref()) else {
                continue;
            };
            if let Some(name) = info.metric_name() {
                by_name
                    .entry(name.to_owned())
                    .or_insert_with(|| (**m).clone());
            }
        }
        if by_name.is_empty() {
            return;
        }
        let mut list: Vec<(String, Meta)> = by_name.into_iter().collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let ctx = self.ctx.clone();
        self.rt
            .spawn(async move { ctx.send_metadata(list, per_request).await });
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.shards.take() {
            // In-flight requests finish; what waits stays in the saved position.
            s.stop(&self.rt, false, Duration::from_secs(10));
        }
        self.tracker.save();
    }
}

impl Sink for Manager {
    fn store_series(&mut self, series: Vec<RefSeries>, segment: u32) {
        for s in series {
            let info = self
                .labels_for(&s.labels)
                .map(|labels| Arc::new(SeriesInfo::new(&labels)));
            self.series.insert(
                s.id,
                SeriesEntry {
                    info,
                    key: s.labels.hash64(),
                    segment,
                },
            );
        }
    }

    fn store_starts(&mut self, starts: Vec<tsdb::start::RefStart>) {
        self.starts.clear();
        self.starts
            .extend(starts.into_iter().map(|s| ((s.id, s.t), s.st)));
    }

    fn store_metadata(&mut self, meta: Vec<RefMetadata>) {
        // The series of a family come one after the other with the same metadata: they
        // share one copy (a help text per series was ~100 bytes each).
        let mut last: Option<Arc<Meta>> = None;
        for m in meta {
            let new = Meta {
                typ: i32::from(m.typ),
                help: m.help,
                unit: m.unit,
            };
            if self.meta.get(&m.id).is_none_or(|old| **old != new) {
                let shared = match &last {
                    Some(l) if **l == new => l.clone(),
                    _ => Arc::new(new),
                };
                last = Some(shared.clone());
                self.meta.insert(m.id, shared);
            }
        }
    }

    fn append(&mut self, start: Pos, end: Pos, rec: Record) -> bool {
        self.seq += 1;
        let seq = self.seq;
        // Sized once per record (10k samples of a scrape would otherwise be moved about
        // every time the vector grows).
        let mut items = Vec::with_capacity(match &rec {
            Record::Samples(s) => s.len(),
            Record::HistogramSamples(h) => h.len(),
            Record::FloatHistogramSamples(h) => h.len(),
            Record::Exemplars(e) => e.len(),
            _ => 0,
        });
        match rec {
            Record::Samples(s) => {
                for s in s {
                    items.extend(self.item(s.id, s.t, Data::Float(s.v), KIND_SAMPLE, seq, start));
                }
            }
            Record::HistogramSamples(h) => {
                for h in h {
                    items.extend(self.item(
                        h.id,
                        h.t,
                        Data::Histogram(Box::new(h.h)),
                        KIND_HISTOGRAM,
                        seq,
                        start,
                    ));
                }
            }
            Record::FloatHistogramSamples(h) => {
                for h in h {
                    items.extend(self.item(
                        h.id,
                        h.t,
                        Data::FloatHistogram(Box::new(h.h)),
                        KIND_HISTOGRAM,
                        seq,
                        start,
                    ));
                }
            }
            Record::Exemplars(e) => {
                for e in e {
                    items.extend(self.item(
                        e.id,
                        e.t,
                        Data::Exemplar {
                            value: e.v,
                            labels: e.labels,
                        },
                        KIND_EXEMPLAR,
                        seq,
                        start,
                    ));
                }
            }
            _ => {}
        }
        if self.saved.as_ref().is_some_and(|s| start > s.last()) {
            self.saved = None;
        }
        self.tracker.record_read(seq, start, end, items.len());
        self.data_in += items.len() as u64;
        // Pending from now until sent; what a stop leaves unqueued is taken back.
        let counts = Counts::of(&items);
        self.pending(counts, 1.0);
        let mut left = items.into_iter();
        while let Some(item) = left.next() {
            if let Err(item) = self.enqueue(item) {
                let mut rest = vec![item];
                rest.extend(left);
                self.pending(Counts::of(&rest), -1.0);
                return false;
            }
        }
        !self.stop.load(Ordering::Acquire)
    }

    fn advance(&mut self, end: Pos) {
        self.tracker.advance(end);
    }

    fn series_reset(&mut self, segment: u32) {
        self.series.retain(|_, e| e.segment >= segment);
        let series = &self.series;
        self.meta.retain(|id, _| series.contains(*id));
    }

    fn tick(&mut self) {
        if self.last_save.elapsed() >= Duration::from_secs(1) {
            self.last_save = Instant::now();
            self.tracker.save();
        }
        if self.last_shard_update.elapsed() >= SHARD_UPDATE {
            self.last_shard_update = Instant::now();
            self.recalculate_shards();
        }
        if let Some((every, per_request)) = self.metadata
            && self.last_metadata.elapsed() >= every
        {
            self.last_metadata = Instant::now();
            self.send_metadata(per_request);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// The directory holding the queues' positions, beside the WAL.
pub(crate) fn positions_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("remote_write")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rate_in: f64, rate_out: f64, out_duration: f64, delay: f64) -> Throughput {
        Throughput {
            rate_in,
            rate_out,
            rate_dropped: 0.0,
            out_duration,
            delay,
        }
    }

    #[test]
    fn desired_shards_follow_throughput_within_bounds_and_tolerance() {
        // (current, min, max, throughput, expected)
        let cases = [
            // Nothing sent yet: keep.
            (1, 1, 10, t(1000.0, 0.0, 0.0, 0.0), 1),
            // 1000/s in and out, each sample takes 1 ms: one shard is fully busy; 1 stays.
            (1, 1, 10, t(1000.0, 1000.0, 1.0, 0.0), 1),
            // 4000/s in at 1 ms per sample: 4 shards.
            (1, 1, 10, t(4000.0, 1000.0, 1.0, 0.0), 4),
            // A backlog of 100 s at 1000/s adds 5% per second: 1000+5000 → 6 shards.
            (1, 1, 10, t(1000.0, 1000.0, 1.0, 100.0), 6),
            // Capped at max_shards.
            (1, 1, 3, t(4000.0, 1000.0, 1.0, 0.0), 3),
            // Within 30% of the current count: no change.
            (10, 1, 20, t(8000.0, 1000.0, 1.0, 0.0), 10),
            // Far fewer needed: down to 2.
            (10, 1, 20, t(2000.0, 1000.0, 1.0, 0.0), 2),
            // ...but not while more than 10 s behind.
            (10, 1, 20, t(100.0, 1000.0, 1.0, 11.0), 10),
            // Never below min_shards.
            (10, 3, 20, t(100.0, 1000.0, 1.0, 0.0), 3),
        ];
        for (current, min, max, tp, want) in cases {
            let (got, _) = desired_shards(current, min, max, tp);
            assert_eq!(got, want, "current {current} min {min} max {max} {tp:?}");
        }
    }
}
