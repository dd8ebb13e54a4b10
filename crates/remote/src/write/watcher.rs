//! Follows the TSDB's write-ahead log for one remote write queue, as Prometheus's WAL
//! watcher does (`tsdb/wlog/watcher.go`): the series of the newest checkpoint first, then
//! every segment after it in order, tailing the last one as it is written (woken by each
//! commit, or at least every second); series records keep the queue's ref → labels map,
//! sample, histogram and exemplar records are handed to the queue, and each new checkpoint
//! garbage-collects the series it no longer holds.
//!
//! Where sending starts: at a saved position (records starting at or after it, see
//! [`super::position`]), or, for a queue without one, at the WAL's end as found when the
//! watcher first catches up (Prometheus sends samples newer than its start time: the same for
//! scraped data, and exact for a late commit).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tsdb::wal::record::{self, Record, RefMetadata, RefSeries};
use tsdb::wal::{LiveReader, WalReader};

use super::position::Pos;

/// Wakes the watchers when a commit wrote to the WAL.
#[derive(Default)]
pub(crate) struct Notify {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl Notify {
    /// A commit happened.
    pub fn notify(&self) {
        *self.generation.lock() += 1;
        self.cv.notify_all();
    }

    /// Waits for a commit after `seen` (or `timeout`); the generation now.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let mut g = self.generation.lock();
        if *g == seen {
            self.cv.wait_for(&mut g, timeout);
        }
        *g
    }
}

/// What the watcher hands its records to (the queue).
pub(crate) trait Sink {
    /// Series read from `segment` (a checkpoint's series carry the checkpoint's index).
    fn store_series(&mut self, series: Vec<RefSeries>, segment: u32);
    /// Metadata records.
    fn store_metadata(&mut self, meta: Vec<RefMetadata>);
    /// Start (created) timestamps of the samples of the commit whose records follow.
    fn store_starts(&mut self, starts: Vec<tsdb::start::RefStart>);
    /// A record of samples, histograms or exemplars to send, read at `start..end`. Returns
    /// false when the queue stops (the watcher returns).
    fn append(&mut self, start: Pos, end: Pos, rec: Record) -> bool;
    /// Everything before `end` is read and holds nothing more to send.
    fn advance(&mut self, end: Pos);
    /// Forgets the series last seen in a segment before `segment`.
    fn series_reset(&mut self, segment: u32);
    /// Called about every second: save the position, reshard, send metadata.
    fn tick(&mut self);
    /// Whether the queue is stopping.
    fn stopped(&self) -> bool;
}

/// Where the watcher starts sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartAt {
    /// Records starting at or after this position.
    Position(Pos),
    /// Records written after the watcher first reached the end of the WAL.
    End,
}

/// Per-watcher metric handles.
pub(crate) struct WatcherMetrics {
    pub current_segment: metrics::Gauge,
    pub decode_failures: metrics::Counter,
    pub records_read: metrics::CounterVec,
    pub pre_tailing: metrics::Counter,
    pub consumer: String,
}

/// One queue's watcher.
pub(crate) struct Watcher {
    dir: PathBuf,
    start: StartAt,
    /// Sending has begun (records at or after `start`).
    sending: bool,
    notify: Arc<Notify>,
    seen: u64,
    last_checkpoint: Option<PathBuf>,
    last_gc: Instant,
    last_tick: Instant,
    metrics: WatcherMetrics,
    send_exemplars: bool,
    send_histograms: bool,
    /// Whether the watcher reached the WAL's end at least once.
    tailing: bool,
    /// End of the last record read while sending.
    done: Pos,
}

enum Step {
    /// The segment is finished: go on with the next.
    Next,
    /// The segment vanished (truncated while the watcher lagged): start over from the
    /// newest checkpoint.
    Restart,
    /// The queue stops.
    Stop,
}

impl Watcher {
    pub fn new(
        dir: &Path,
        start: StartAt,
        notify: Arc<Notify>,
        metrics: WatcherMetrics,
        send_exemplars: bool,
        send_histograms: bool,
    ) -> Self {
        Self {
            dir: dir.to_path_buf(),
            start,
            sending: false,
            notify,
            seen: 0,
            last_checkpoint: None,
            last_gc: Instant::now(),
            last_tick: Instant::now(),
            metrics,
            send_exemplars,
            send_histograms,
            tailing: false,
            done: Pos::default(),
        }
    }

    /// Reads until the sink stops.
    pub fn run(mut self, sink: &mut impl Sink) {
        tracing::info!(queue = %self.metrics.consumer, dir = %self.dir.display(), start = ?self.start, "starting WAL watcher");
        loop {
            if sink.stopped() {
                return;
            }
            let first = match self.begin(sink) {
                Ok(Some(first)) => first,
                Ok(None) => {
                    self.idle(sink);
                    continue;
                }
                Err(e) => {
                    tracing::error!(queue = %self.metrics.consumer, error = %e, "WAL watcher cannot read the WAL; retrying");
                    self.idle(sink);
                    continue;
                }
            };
            let mut seg = first;
            loop {
                match self.watch(seg, sink) {
                    Step::Next => seg += 1,
                    Step::Restart => break,
                    Step::Stop => return,
                }
            }
        }
    }

    /// Reads the newest checkpoint's series; the first segment to read.
    fn begin(&mut self, sink: &mut impl Sink) -> Result<Option<u32>, tsdb::TsdbError> {
        if self.sending {
            // Starting over (a segment vanished): what was read is not read again.
            self.start = StartAt::Position(self.done);
            self.sending = false;
        }
        let cp = tsdb::wal::last_checkpoint(&self.dir)?;
        if let Some(cp) = &cp {
            self.read_checkpoint(&cp.dir, cp.index, sink)?;
            self.last_checkpoint = Some(cp.dir.clone());
        }
        let Some((first, _)) = tsdb::wal::segment_range(&self.dir)? else {
            return Ok(None);
        };
        let first = cp.map_or(first, |c| first.max(c.index + 1));
        if let StartAt::Position(p) = self.start
            && p.segment < first
        {
            tracing::warn!(queue = %self.metrics.consumer, position = %p, first_segment = first,
                "the queue's position is older than the WAL: what lay between was truncated before it was sent");
            self.start = StartAt::Position(Pos {
                segment: first,
                offset: 0,
            });
        }
        Ok(Some(first))
    }

    fn read_checkpoint(
        &mut self,
        dir: &Path,
        index: u32,
        sink: &mut impl Sink,
    ) -> Result<(), tsdb::TsdbError> {
        let mut r = WalReader::open_dir(dir)?;
        while let Some(rec) = r.next_record()? {
            match record::decode(rec) {
                Ok(Record::Series(s)) => {
                    self.count("series");
                    sink.store_series(s, index);
                }
                Ok(Record::Metadata(m)) => {
                    self.count("metadata");
                    sink.store_metadata(m);
                }
                Ok(_) => {}
                Err(_) => self.metrics.decode_failures.inc(),
            }
        }
        Ok(())
    }

    fn count(&self, typ: &str) {
        self.metrics
            .records_read
            .with_label_values(&[&self.metrics.consumer, typ])
            .inc();
    }

    /// Waits for a commit or a second, ticking the sink.
    fn idle(&mut self, sink: &mut impl Sink) {
        sink.tick();
        self.last_tick = Instant::now();
        self.seen = self.notify.wait(self.seen, Duration::from_secs(1));
    }

    fn watch(&mut self, seg: u32, sink: &mut impl Sink) -> Step {
        self.metrics.current_segment.set(f64::from(seg));
        let path = tsdb::wal::segment_name(&self.dir, seg);
        let mut reader = match LiveReader::open(&path, 0) {
            Ok(r) => r,
            Err(e) => {
                if matches!(tsdb::wal::segment_range(&self.dir), Ok(Some((first, last))) if seg < first || seg > last + 1)
                {
                    tracing::warn!(queue = %self.metrics.consumer, segment = seg, "WAL segment gone; continuing from the newest checkpoint");
                    return Step::Restart;
                }
                // Not yet created (the watcher is ahead of the writer) or a transient error.
                tracing::debug!(error = %e, "waiting for WAL segment");
                if sink.stopped() {
                    return Step::Stop;
                }
                self.idle(sink);
                return Step::Restart;
            }
        };
        let mut drained_after_close = false;
        loop {
            match self.read_available(seg, &mut reader, sink) {
                Ok(true) => {}
                Ok(false) => return Step::Stop,
                Err(e) => {
                    tracing::error!(queue = %self.metrics.consumer, segment = seg, error = %e, "corrupt WAL segment; skipping to the next");
                    self.metrics.decode_failures.inc();
                    return self.wait_for_next(seg, sink);
                }
            }
            if sink.stopped() {
                return Step::Stop;
            }
            let last = match tsdb::wal::segment_range(&self.dir) {
                Ok(Some((_, last))) => last,
                _ => seg,
            };
            if last > seg {
                // The segment is closed; read what was written before it was, once more.
                if drained_after_close {
                    if reader.has_partial() {
                        tracing::warn!(queue = %self.metrics.consumer, segment = seg, "WAL segment ends inside a record");
                    }
                    return Step::Next;
                }
                drained_after_close = true;
                continue;
            }
            // At the WAL's end.
            if !self.tailing {
                self.tailing = true;
                tracing::info!(queue = %self.metrics.consumer, "done replaying WAL");
            }
            if self.start == StartAt::End && !self.sending {
                let p = Pos {
                    segment: seg,
                    offset: reader.offset(),
                };
                self.start = StartAt::Position(p);
                sink.advance(p);
            }
            if self.last_gc.elapsed() >= Duration::from_secs(5) {
                self.last_gc = Instant::now();
                self.collect_garbage(seg, sink);
            }
            self.idle(sink);
        }
    }

    /// After corruption: waits until a later segment exists.
    fn wait_for_next(&mut self, seg: u32, sink: &mut impl Sink) -> Step {
        loop {
            if sink.stopped() {
                return Step::Stop;
            }
            if matches!(tsdb::wal::segment_range(&self.dir), Ok(Some((_, last))) if last > seg) {
                return Step::Next;
            }
            self.idle(sink);
        }
    }

    /// A newer checkpoint than the one read: its series are the live ones.
    fn collect_garbage(&mut self, seg: u32, sink: &mut impl Sink) {
        let Ok(Some(cp)) = tsdb::wal::last_checkpoint(&self.dir) else {
            return;
        };
        if self.last_checkpoint.as_ref() == Some(&cp.dir) || cp.index >= seg {
            return;
        }
        match self.read_checkpoint(&cp.dir, cp.index, sink) {
            Ok(()) => {
                sink.series_reset(cp.index);
                self.last_checkpoint = Some(cp.dir);
            }
            Err(e) => {
                tracing::warn!(checkpoint = %cp.dir.display(), error = %e, "cannot read WAL checkpoint for garbage collection");
            }
        }
    }

    /// Reads every whole record the segment holds now. False when the sink stopped.
    fn read_available(
        &mut self,
        seg: u32,
        reader: &mut LiveReader,
        sink: &mut impl Sink,
    ) -> Result<bool, tsdb::TsdbError> {
        while let Some(rec) = reader.next_record()? {
            let start = Pos {
                segment: seg,
                offset: rec.start,
            };
            let end = Pos {
                segment: seg,
                offset: rec.end,
            };
            let decoded = match record::decode(rec.data) {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "WAL watcher: undecodable record");
                    self.metrics.decode_failures.inc();
                    continue;
                }
            };
            if let StartAt::Position(p) = self.start
                && !self.sending
                && start >= p
            {
                self.sending = true;
            }
            let send = self.sending;
            if send {
                self.done = end;
            }
            match decoded {
                Record::Series(s) => {
                    self.count("series");
                    sink.store_series(s, seg);
                    if send {
                        sink.advance(end);
                    }
                }
                Record::Metadata(m) => {
                    self.count("metadata");
                    sink.store_metadata(m);
                    if send {
                        sink.advance(end);
                    }
                }
                r @ Record::Samples(_) => {
                    self.count("samples");
                    if send && !self.hand(start, end, r, sink) {
                        return Ok(false);
                    }
                }
                r @ Record::Exemplars(_) => {
                    self.count("exemplars");
                    if send && self.send_exemplars {
                        if !self.hand(start, end, r, sink) {
                            return Ok(false);
                        }
                    } else if send {
                        sink.advance(end);
                    }
                }
                r @ (Record::HistogramSamples(_) | Record::FloatHistogramSamples(_)) => {
                    self.count(if matches!(r, Record::HistogramSamples(_)) {
                        "histogram_samples"
                    } else {
                        "float_histogram_samples"
                    });
                    if send && self.send_histograms {
                        if !self.hand(start, end, r, sink) {
                            return Ok(false);
                        }
                    } else if send {
                        sink.advance(end);
                    }
                }
                Record::StartTimestamps(st) => {
                    self.count("start_timestamps");
                    sink.store_starts(st);
                    if send {
                        sink.advance(end);
                    }
                }
                Record::Tombstones(_) => {
                    self.count("tombstones");
                    if send {
                        sink.advance(end);
                    }
                }
                _ => {
                    self.count("unknown");
                    if send {
                        sink.advance(end);
                    }
                }
            }
            if self.last_tick.elapsed() >= Duration::from_secs(1) {
                self.last_tick = Instant::now();
                sink.tick();
            }
        }
        Ok(true)
    }

    fn hand(&mut self, start: Pos, end: Pos, rec: Record, sink: &mut impl Sink) -> bool {
        if !self.tailing {
            self.metrics.pre_tailing.inc();
        }
        sink.append(start, end, rec)
    }
}
