//! A queue's shards: each a bounded channel of items and a task that gathers batches of
//! `max_samples_per_send` (or what `batch_send_deadline` collected) and sends them with
//! retries on recoverable errors (network, 5xx, 429 with `retry_on_http_429`), backing off
//! from `min_backoff` to `max_backoff`; `sample_age_limit` drops what grew too old while it
//! waited; a 2.0 request refused with 415 is sent again as 1.0 and the queue stays on 1.0
//! (Prometheus's `shards` and `sendSamplesWithBackoff` in `storage/remote/queue_manager.go`).
//! So is a 2.0 request accepted without the written-count headers that 2.0 receivers must
//! send: VictoriaMetrics 1.79 answers 204 to a 2.0 body and stores nothing of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::encode::{self, Counts, Data, Item, Meta};
use super::metrics::KindHandles;
use super::position::Tracker;

/// What every shard of a queue shares: where and how to send, and the counters the
/// resharding reads.
pub(crate) struct SendCtx {
    pub client: http_client::HttpClient,
    pub url: String,
    pub name: String,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    pub max_per_send: usize,
    pub deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_429: bool,
    pub sample_age_limit: Option<Duration>,
    /// Sending 2.0 (configured, and not refused with 415 yet).
    pub v2: AtomicBool,
    pub tracker: Arc<Tracker>,
    pub samples: KindHandles,
    pub exemplars: KindHandles,
    pub histograms: KindHandles,
    pub bytes: metrics::Counter,
    pub batch_duration: metrics::Histogram,
    pub highest_sent: metrics::Gauge,
    pub metadata_sent: metrics::Counter,
    pub metadata_failed: metrics::Counter,
    pub metadata_retried: metrics::Counter,
    pub metadata_bytes: metrics::Counter,
    /// Items sent since the last shard calculation.
    pub out: AtomicU64,
    /// Items dropped (too old) since the last shard calculation.
    pub dropped: AtomicU64,
    /// Nanoseconds spent sending since the last shard calculation.
    pub out_ns: AtomicU64,
    /// Unix seconds of the last successful send.
    pub last_send: AtomicI64,
}

/// A running set of shards.
pub(crate) struct Shards {
    txs: Vec<mpsc::Sender<Item>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Set when the shards must stop without flushing.
    hard_stop: Arc<AtomicBool>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Shards {
    /// Starts `n` shards of `capacity` items each.
    pub fn start(
        n: usize,
        capacity: usize,
        ctx: &Arc<SendCtx>,
        rt: &tokio::runtime::Handle,
    ) -> Self {
        let hard_stop = Arc::new(AtomicBool::new(false));
        let mut txs = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            tasks.push(rt.spawn(run_shard(ctx.clone(), rx, hard_stop.clone())));
            txs.push(tx);
        }
        Self {
            txs,
            tasks,
            hard_stop,
        }
    }

    /// How many shards run.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Queues `item` on shard `shard`; gives it back when that shard is full.
    pub fn enqueue(&self, shard: usize, item: Item) -> Result<(), Item> {
        self.txs[shard % self.txs.len()]
            .try_send(item)
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(i) | mpsc::error::TrySendError::Closed(i) => i,
            })
    }

    /// Stops the shards: with `flush`, each sends what it holds first (waiting up to
    /// `deadline`); what is left unsent stays unacknowledged, so the saved position keeps it.
    pub fn stop(self, rt: &tokio::runtime::Handle, flush: bool, deadline: Duration) {
        if !flush {
            self.hard_stop.store(true, Ordering::Release);
        }
        drop(self.txs);
        let tasks = self.tasks;
        let hard = self.hard_stop;
        rt.block_on(async move {
            let all = async {
                for t in tasks {
                    let _ = t.await;
                }
            };
            tokio::pin!(all);
            if tokio::time::timeout(deadline, &mut all).await.is_err() {
                tracing::warn!(
                    "remote write shards did not flush in time; the rest is sent after a restart"
                );
                hard.store(true, Ordering::Release);
                let _ = tokio::time::timeout(Duration::from_secs(30), all).await;
            }
        });
    }
}

async fn run_shard(ctx: Arc<SendCtx>, mut rx: mpsc::Receiver<Item>, hard_stop: Arc<AtomicBool>) {
    let mut batch: Vec<Item> = Vec::with_capacity(ctx.max_per_send);
    let mut encoder = encode::Encoder::default();
    loop {
        let Some(first) = rx.recv().await else { return };
        batch.push(first);
        let until = tokio::time::Instant::now() + ctx.deadline;
        while batch.len() < ctx.max_per_send {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(s)) => batch.push(s),
                Ok(None) | Err(_) => break,
            }
        }
        ctx.send(std::mem::take(&mut batch), &mut encoder, &hard_stop)
            .await;
        if hard_stop.load(Ordering::Acquire) {
            return;
        }
    }
}

enum Outcome {
    Sent,
    /// A 2.0 request answered 2xx without the `X-Prometheus-Remote-Write-*-Written` headers
    /// every 2.0 receiver sends: a 1.0-only receiver that ignored the content type.
    Unconfirmed,
    Retry(String),
    Fail(String, u16),
}

impl SendCtx {
    fn handles(&self, d: &Data) -> &KindHandles {
        match d {
            Data::Float(_) => &self.samples,
            Data::Histogram(_) | Data::FloatHistogram(_) => &self.histograms,
            Data::Exemplar { .. } => &self.exemplars,
        }
    }

    fn by_kind(&self, c: Counts, f: impl Fn(&KindHandles, f64)) {
        f(&self.samples, c.samples as f64);
        f(&self.histograms, c.histograms as f64);
        f(&self.exemplars, c.exemplars as f64);
    }

    /// Items are done: acknowledged for the position, no longer pending.
    fn done(&self, items: &[Item]) {
        self.tracker.ack(items.iter().map(|i| i.ack));
        self.by_kind(Counts::of(items), |k, n| k.pending.sub(n));
    }

    /// Sends one batch until it is accepted, refused for good, or the shards stop hard.
    async fn send(
        &self,
        mut batch: Vec<Item>,
        encoder: &mut encode::Encoder,
        hard_stop: &AtomicBool,
    ) {
        let mut backoff = self.min_backoff;
        loop {
            if let Some(limit) = self.sample_age_limit {
                let oldest = now_ms() - i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
                let (old, keep): (Vec<Item>, Vec<Item>) =
                    batch.into_iter().partition(|i| i.t < oldest);
                for i in &old {
                    self.handles(&i.data).dropped.inc();
                }
                self.dropped.fetch_add(old.len() as u64, Ordering::Relaxed);
                self.done(&old);
                batch = keep;
            }
            if batch.is_empty() {
                return;
            }
            let counts = Counts::of(&batch);
            let v2 = self.v2.load(Ordering::Acquire);
            let body = if v2 {
                encoder.v2(&batch)
            } else {
                encoder.v1(&batch)
            };
            self.by_kind(counts, |k, n| k.sent.inc_by(n));
            self.bytes.inc_by(body.len() as f64);
            let started = Instant::now();
            let outcome = self.attempt(body, v2, false).await;
            let took = started.elapsed();
            self.batch_duration.observe_duration(took);
            match outcome {
                Outcome::Sent => {
                    if let Some(max) = batch.iter().map(|s| s.t).max() {
                        let s = max as f64 / 1000.0;
                        if s > self.highest_sent.get() {
                            self.highest_sent.set(s);
                        }
                    }
                    self.out.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.out_ns.fetch_add(
                        u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    self.last_send.store(now_ms() / 1000, Ordering::Relaxed);
                    self.done(&batch);
                    return;
                }
                Outcome::Unconfirmed => {
                    tracing::warn!(url = %self.url, "the receiver answered a remote write 2.0 request without the written-count headers 2.0 requires (a 1.0-only receiver); sending 1.0 from now on");
                    self.v2.store(false, Ordering::Release);
                }
                Outcome::Fail(e, 415) if v2 => {
                    tracing::warn!(url = %self.url, error = %e, "remote write 2.0 refused with 415 Unsupported Media Type; falling back to 1.0");
                    self.v2.store(false, Ordering::Release);
                }
                Outcome::Fail(e, _) => {
                    tracing::error!(remote_name = %self.name, url = %self.url, error = %e, "non-recoverable error sending samples");
                    self.by_kind(counts, |k, n| k.failed.inc_by(n));
                    self.done(&batch);
                    return;
                }
                Outcome::Retry(e) => {
                    tracing::warn!(remote_name = %self.name, url = %self.url, error = %e, "failed to send batch, retrying");
                    self.by_kind(counts, |k, n| k.retried.inc_by(n));
                    if hard_stop.load(Ordering::Acquire) {
                        return;
                    }
                    let until = tokio::time::Instant::now() + backoff;
                    while tokio::time::Instant::now() < until {
                        if hard_stop.load(Ordering::Acquire) {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(50).min(backoff)).await;
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    /// Sends metadata entries (1.0 only) with the same retries.
    pub async fn send_metadata(&self, meta: Vec<(String, Meta)>, per_request: usize) {
        for chunk in meta.chunks(per_request.max(1)) {
            let body = encode::encode_metadata_v1(chunk);
            let n = chunk.len() as f64;
            let mut backoff = self.min_backoff;
            let mut tries = 0;
            loop {
                self.metadata_bytes.inc_by(body.len() as f64);
                match self.attempt(body.clone(), false, true).await {
                    Outcome::Sent | Outcome::Unconfirmed => {
                        self.metadata_sent.inc_by(n);
                        break;
                    }
                    Outcome::Fail(e, _) => {
                        tracing::error!(url = %self.url, error = %e, "non-recoverable error sending metadata");
                        self.metadata_failed.inc_by(n);
                        break;
                    }
                    Outcome::Retry(_) if tries < 3 => {
                        self.metadata_retried.inc_by(n);
                        tries += 1;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(self.max_backoff);
                    }
                    Outcome::Retry(e) => {
                        tracing::warn!(url = %self.url, error = %e, "giving up sending metadata until the next interval");
                        self.metadata_failed.inc_by(n);
                        break;
                    }
                }
            }
        }
    }

    async fn attempt(&self, body: Vec<u8>, v2: bool, metadata: bool) -> Outcome {
        let req = match self.client.post(&self.url).await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let mut req = req
            .header("Content-Encoding", "snappy")
            .header(
                "User-Agent",
                concat!("Firewatch/", env!("CARGO_PKG_VERSION")),
            )
            .timeout(self.timeout);
        req = if v2 {
            req.header(
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            )
            .header("X-Prometheus-Remote-Write-Version", "2.0.0")
        } else {
            req.header("Content-Type", "application/x-protobuf")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        };
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let _ = metadata;
        match req.body(body).send().await {
            Err(e) => Outcome::Retry(http_client::request_error_text(&e)),
            Ok(r) if r.status().is_success() => {
                let confirmed = r.headers().keys().any(|k| {
                    let k = k.as_str();
                    k.starts_with("x-prometheus-remote-write-") && k.ends_with("-written")
                });
                if v2 && !confirmed {
                    Outcome::Unconfirmed
                } else {
                    Outcome::Sent
                }
            }
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                let mut line = text.lines().next().unwrap_or("").to_owned();
                line.truncate(512);
                let e = format!("server returned HTTP status {status}: {line}");
                if status.is_server_error() || (status.as_u16() == 429 && self.retry_429) {
                    Outcome::Retry(e)
                } else {
                    Outcome::Fail(e, status.as_u16())
                }
            }
        }
    }
}
