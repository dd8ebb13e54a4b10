//! One `remote_write` endpoint's queue: relabels and labels samples, spreads them by series
//! over its shards, and each shard sends batches of `max_samples_per_send` (or what
//! `batch_send_deadline` gathered) with retries on recoverable errors (network, 5xx, 429 when
//! `retry_on_http_429`), backing off from `min_backoff` to `max_backoff`
//! (Prometheus's `QueueManager` and `shards`, without resharding yet: `min_shards` shards).

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use model::Labels;
use model::relabel::RelabelConfig;
use prost::Message;
use tokio::sync::mpsc;

use super::Pending;
use super::metrics::QueueMetrics;
use crate::error::RemoteError;
use crate::proto;

/// A running queue; [`Queue::stop`] ends its shards.
pub(crate) struct Queue {
    shards: Vec<mpsc::Sender<Pending>>,
    relabel: Vec<RelabelConfig>,
    external: Labels,
    stopped: Arc<AtomicBool>,
    dropped: metrics::Counter,
    pending: metrics::Gauge,
}

/// What a shard needs to send.
struct Sender {
    client: http_client::HttpClient,
    url: String,
    timeout: Duration,
    max_per_send: usize,
    deadline: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    retry_429: bool,
    stopped: Arc<AtomicBool>,
    sent: metrics::Counter,
    failed: metrics::Counter,
    retried: metrics::Counter,
    pending: metrics::Gauge,
    highest_sent: metrics::Gauge,
}

fn dur(d: config::duration::Duration) -> Duration {
    Duration::from_millis(d.as_millis())
}

impl Queue {
    pub(crate) fn start(
        cfg: &config::remote::RemoteWriteConfig,
        external: &Labels,
        m: &QueueMetrics,
        rt: &tokio::runtime::Handle,
    ) -> Result<Self, RemoteError> {
        let url = cfg
            .url
            .as_ref()
            .map(ToString::to_string)
            .ok_or_else(|| RemoteError::Invalid("remote_write: url is required".into()))?;
        let client = http_client::HttpClient::new(&cfg.http_client())
            .map_err(|e| RemoteError::Invalid(format!("remote_write {url}: {e}")))?;
        let q = &cfg.queue_config;
        // Prometheus names an unnamed queue by a hash of its configuration; "" here.
        let labels = [cfg.name.as_str(), url.as_str()];
        let n = usize::try_from(q.min_shards.max(1)).unwrap_or(1);
        let per_shard = usize::try_from(q.capacity.max(1)).unwrap_or(10_000);
        let stopped = Arc::new(AtomicBool::new(false));
        m.shards.with_label_values(&labels).set(n as f64);
        let mut shards = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = mpsc::channel(per_shard);
            let s = Sender {
                client: client.clone(),
                url: url.clone(),
                timeout: dur(cfg.remote_timeout),
                max_per_send: usize::try_from(q.max_samples_per_send.max(1)).unwrap_or(2000),
                deadline: dur(q.batch_send_deadline).max(Duration::from_millis(1)),
                min_backoff: dur(q.min_backoff).max(Duration::from_millis(1)),
                max_backoff: dur(q.max_backoff).max(Duration::from_millis(1)),
                retry_429: q.retry_on_http_429,
                stopped: stopped.clone(),
                sent: m.sent.with_label_values(&labels),
                failed: m.failed.with_label_values(&labels),
                retried: m.retried.with_label_values(&labels),
                pending: m.pending.with_label_values(&labels),
                highest_sent: m.highest_sent.with_label_values(&labels),
            };
            rt.spawn(s.run(rx));
            shards.push(tx);
        }
        Ok(Self {
            shards,
            relabel: config::relabel::rules(&cfg.write_relabel_configs),
            external: external.clone(),
            stopped,
            dropped: m.dropped.with_label_values(&labels),
            pending: m.pending.with_label_values(&labels),
        })
    }

    /// Relabels, adds the external labels (series labels win), and queues each sample on
    /// its series' shard; a full shard drops the sample (counted).
    pub(crate) fn enqueue(&self, samples: &[Pending]) {
        for (labels, t, v) in samples {
            let Some(labels) = model::relabel::process(labels, &self.relabel) else {
                self.dropped.inc();
                continue;
            };
            let labels = if self.external.is_empty() {
                labels
            } else {
                let mut b = labels.builder();
                for l in &self.external {
                    if labels.get(l.name).is_none() {
                        b.set(l.name, l.value);
                    }
                }
                b.labels()
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            labels.hash(&mut h);
            let shard = &self.shards[(h.finish() % self.shards.len() as u64) as usize];
            match shard.try_send((labels, *t, *v)) {
                Ok(()) => self.pending.inc(),
                Err(_) => self.dropped.inc(),
            }
        }
    }

    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }
}

enum Outcome {
    Sent,
    Retry(String),
    Fail(String),
}

impl Sender {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(self.max_per_send);
        loop {
            let first = tokio::select! {
                s = rx.recv() => s,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if self.stopped.load(Ordering::Acquire) { return; }
                    continue;
                }
            };
            let Some(first) = first else { return };
            batch.push(first);
            let until = tokio::time::Instant::now() + self.deadline;
            while batch.len() < self.max_per_send {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(s)) => batch.push(s),
                    Ok(None) | Err(_) => break,
                }
            }
            self.send(&batch).await;
            batch.clear();
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
        }
    }

    /// Sends one batch until it is accepted, refused for good, or the queue stops.
    async fn send(&self, batch: &[Pending]) {
        let body = encode(batch);
        let n = batch.len() as f64;
        let mut backoff = self.min_backoff;
        loop {
            match self.attempt(&body).await {
                Outcome::Sent => {
                    self.sent.inc_by(n);
                    if let Some(max) = batch.iter().map(|s| s.1).max() {
                        let s = max as f64 / 1000.0;
                        if s > self.highest_sent.get() {
                            self.highest_sent.set(s);
                        }
                    }
                    break;
                }
                Outcome::Fail(e) => {
                    tracing::error!(url = %self.url, error = %e, "non-recoverable error sending samples");
                    self.failed.inc_by(n);
                    break;
                }
                Outcome::Retry(e) => {
                    tracing::warn!(url = %self.url, error = %e, "failed to send batch, retrying");
                    self.retried.inc_by(n);
                    if self.stopped.load(Ordering::Acquire) {
                        break;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
        self.pending.sub(n);
    }

    async fn attempt(&self, body: &[u8]) -> Outcome {
        let req = match self.client.post(&self.url).await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let res = req
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("User-Agent", "Firewatch/remote-write")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .timeout(self.timeout)
            .body(body.to_vec())
            .send()
            .await;
        match res {
            Err(e) => Outcome::Retry(e.to_string()),
            Ok(r) if r.status().is_success() => Outcome::Sent,
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                let e = format!("server returned HTTP status {status}: {}", text.trim());
                if status.is_server_error() || (status.as_u16() == 429 && self.retry_429) {
                    Outcome::Retry(e)
                } else {
                    Outcome::Fail(e)
                }
            }
        }
    }
}

/// A batch as a snappy `prometheus.WriteRequest`, samples grouped by series in order.
fn encode(batch: &[Pending]) -> Vec<u8> {
    let mut series: Vec<proto::TimeSeries> = Vec::new();
    let mut index: std::collections::HashMap<&Labels, usize> = std::collections::HashMap::new();
    for (labels, t, v) in batch {
        let i = *index.entry(labels).or_insert_with(|| {
            series.push(proto::TimeSeries {
                labels: labels
                    .iter()
                    .map(|l| proto::Label {
                        name: l.name.to_owned(),
                        value: l.value.to_owned(),
                    })
                    .collect(),
                ..Default::default()
            });
            series.len() - 1
        });
        series[i].samples.push(proto::Sample {
            value: *v,
            timestamp: *t,
        });
    }
    let raw = proto::WriteRequest {
        timeseries: series,
        metadata: vec![],
    }
    .encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}
