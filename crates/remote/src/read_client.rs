//! The `remote_read` client: a [`storage::Queryable`] that merges the local storage with
//! every configured remote read endpoint (Prometheus's `storage/remote/read.go`,
//! `client.go` and the fanout querier of `storage/fanout.go`).
//!
//! Per endpoint: `required_matchers` (the endpoint is asked only when the selection has each
//! of them as an equality matcher), `read_recent` (when false, the endpoint is skipped for
//! queries the local storage covers entirely, as Prometheus's `PreferLocalStorageFilter`),
//! and `filter_external_labels` (the external labels become equality matchers of the request
//! and are removed from the series returned). Requests ask for the sampled response.
//!
//! Self-metrics as Prometheus 2.42's read client: `prometheus_remote_storage_remote_read_queries`
//! (in flight), `prometheus_remote_storage_read_queries_total` (by HTTP status code) and
//! `prometheus_remote_storage_read_request_duration_seconds`, labelled `remote_name` and `url`.

use std::sync::Arc;
use std::time::Duration;

use model::{Labels, MatchOp, Matcher, Sample};
use parking_lot::RwLock;
use prost::Message;
use storage::{
    LabelHints, ListSeries, MergeQuerier, Querier, Queryable, QueryableRef, SelectHints, Series,
    SeriesSet, StorageError, VecSeriesSet,
};

use crate::chunked::ReadSeries;
use crate::error::RemoteError;
use crate::proto;
use crate::receiver::{Protocol, decode};

/// The oldest timestamp the local storage holds (for `read_recent: false`).
pub type LocalStart = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The read client's metric families.
struct ReadMetrics {
    in_flight: ::metrics::GaugeVec,
    total: ::metrics::CounterVec,
    duration: ::metrics::HistogramVec,
}

impl ReadMetrics {
    fn new(r: &::metrics::Registry) -> Self {
        let l = &["remote_name", "url"];
        Self {
            in_flight: r.gauge_vec(
                "prometheus_remote_storage_remote_read_queries",
                "The number of in-flight remote read queries.",
                l,
            ),
            total: r.counter_vec(
                "prometheus_remote_storage_read_queries_total",
                "The total number of remote read queries.",
                &["remote_name", "url", "code"],
            ),
            // Go's default buckets and 25 s, 60 s, as Prometheus.
            duration: r.histogram_vec(
                "prometheus_remote_storage_read_request_duration_seconds",
                "Histogram of the latency for remote read requests.",
                l,
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0,
                ],
            ),
        }
    }
}

/// One endpoint.
struct Client {
    /// `remote_name`: the endpoint's `name`, else a hash of its URL.
    name: String,
    in_flight: ::metrics::Gauge,
    duration: ::metrics::Histogram,
    total: ::metrics::CounterVec,
    http: http_client::HttpClient,
    url: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
    required: Vec<(String, String)>,
    read_recent: bool,
    filter_external_labels: bool,
}

/// Local storage merged with the `remote_read` endpoints of the current configuration.
pub struct ReadStorage {
    local: QueryableRef,
    local_start: LocalStart,
    clients: RwLock<(Vec<Arc<Client>>, Labels)>,
    runtime: tokio::runtime::Handle,
    metrics: ReadMetrics,
}

impl std::fmt::Debug for ReadStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadStorage")
            .field("endpoints", &self.clients.read().0.len())
            .finish_non_exhaustive()
    }
}

impl ReadStorage {
    /// `local` alone until [`ReadStorage::apply_config`] adds endpoints; requests run on
    /// `runtime`, their metrics go to `registry`.
    #[must_use]
    pub fn new(
        local: QueryableRef,
        local_start: LocalStart,
        runtime: tokio::runtime::Handle,
        registry: &::metrics::Registry,
    ) -> Self {
        Self {
            local,
            local_start,
            clients: RwLock::new((Vec::new(), Labels::default())),
            runtime,
            metrics: ReadMetrics::new(registry),
        }
    }

    /// Uses the endpoints `cfg.remote_read` lists and the global external labels.
    ///
    /// # Errors
    /// An endpoint without URL, or HTTP client settings that do not build.
    pub fn apply_config(&self, cfg: &config::Config) -> Result<(), RemoteError> {
        let mut out = Vec::new();
        for rr in cfg.remote_reads() {
            let url = rr
                .url
                .as_ref()
                .map(ToString::to_string)
                .ok_or_else(|| RemoteError::Invalid("remote_read: url is required".into()))?;
            let http = http_client::HttpClient::new(&rr.http_client())
                .map_err(|e| RemoteError::Invalid(format!("remote_read {url}: {e}")))?;
            let name = if rr.name.is_empty() {
                format!("{:016x}", xxhash_rust::xxh3::xxh3_64(url.as_bytes()))[..6].to_owned()
            } else {
                rr.name.clone()
            };
            let labels = [name.as_str(), url.as_str()];
            out.push(Arc::new(Client {
                in_flight: self.metrics.in_flight.with_label_values(&labels),
                duration: self.metrics.duration.with_label_values(&labels),
                total: self.metrics.total.clone(),
                name,
                http,
                url,
                timeout: Duration::from_millis(rr.remote_timeout.as_millis()),
                headers: rr
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                required: rr
                    .required_matchers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                read_recent: rr.read_recent,
                filter_external_labels: rr.filter_external_labels,
            }));
        }
        *self.clients.write() = (out, Labels::from_pairs(&cfg.global.external_labels));
        Ok(())
    }
}

impl Queryable for ReadStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, StorageError> {
        let local = self.local.querier(mint, maxt)?;
        let (clients, external) = self.clients.read().clone();
        if clients.is_empty() {
            return Ok(local);
        }
        let local_start = (self.local_start)();
        let mut queriers = vec![local];
        for c in clients {
            if !c.read_recent && local_start <= mint {
                continue;
            }
            queriers.push(Box::new(RemoteQuerier {
                client: c,
                mint,
                maxt,
                external: external.clone(),
                runtime: self.runtime.clone(),
            }));
        }
        Ok(Box::new(MergeQuerier::new(queriers)))
    }
}

struct RemoteQuerier {
    client: Arc<Client>,
    mint: i64,
    maxt: i64,
    external: Labels,
    runtime: tokio::runtime::Handle,
}

fn op_number(op: MatchOp) -> i32 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::RegexMatch => 2,
        MatchOp::RegexNoMatch => 3,
    }
}

fn remote_err(url: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Other(format!("remote_read {url}: {e}"))
}

/// `ReadRequest.ResponseType` `SAMPLES`.
const SAMPLES: i32 = 0;
/// `ReadRequest.ResponseType` `STREAMED_XOR_CHUNKS`.
const STREAMED_XOR_CHUNKS: i32 = 1;

/// The series of an answer, streamed or sampled as its `Content-Type` says, with their
/// samples in `[start, end]`, sorted by labels.
///
/// # Errors
/// An unknown content type; framing, snappy, protobuf or validation errors.
pub fn decode_answer(
    content_type: &str,
    body: &[u8],
    start: i64,
    end: i64,
) -> Result<Vec<ReadSeries>, RemoteError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/x-streamed-protobuf") {
        if !content_type.contains("proto=prometheus.ChunkedReadResponse") {
            return Err(RemoteError::UnsupportedMediaType(format!(
                "unsupported streamed response type {content_type:?}"
            )));
        }
        return crate::chunked::decode_streamed(body, start, end);
    }
    if !media.is_empty() && !media.eq_ignore_ascii_case("application/x-protobuf") {
        return Err(RemoteError::UnsupportedMediaType(format!(
            "unsupported content type {content_type:?}"
        )));
    }
    let raw = crate::codec::decompress(body)?;
    let resp =
        proto::ReadResponse::decode(raw.as_slice()).map_err(|source| RemoteError::Protobuf {
            message: "prometheus.ReadResponse",
            source,
        })?;
    let Some(result) = resp.results.into_iter().next() else {
        return Ok(Vec::new());
    };
    // The receiver's validation decodes the series (labels, histograms).
    let as_write = snap::raw::Encoder::new().compress_vec(
        &proto::WriteRequest {
            timeseries: result.timeseries,
            metadata: vec![],
        }
        .encode_to_vec(),
    )?;
    let mut series: Vec<ReadSeries> = decode(Protocol::V1, &as_write)?
        .into_iter()
        .map(|d| {
            let mut samples: Vec<(i64, Sample)> = d
                .floats
                .into_iter()
                .map(|(t, v)| (t, Sample::Float(v)))
                .chain(d.histograms)
                .filter(|s| (start..=end).contains(&s.0))
                .collect();
            samples.sort_by_key(|s| s.0);
            (d.labels, samples)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(series)
}

impl RemoteQuerier {
    /// Runs the request on the runtime and waits for it here (queries are evaluated off
    /// the async workers); the series answered, in `[start, end]`, sorted by labels.
    fn fetch(
        &self,
        req: &proto::ReadRequest,
        start: i64,
        end: i64,
    ) -> Result<Vec<ReadSeries>, StorageError> {
        let c = self.client.clone();
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .map_err(|e| remote_err(&c.url, e))?;
        let (tx, rx) = std::sync::mpsc::channel();
        c.in_flight.inc();
        self.runtime.spawn(async move {
            let start = std::time::Instant::now();
            let res: Result<(String, Vec<u8>), String> = async {
                let mut r = c
                    .http
                    .post(&c.url)
                    .await
                    .map_err(|e| e.to_string())?
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .header("X-Prometheus-Remote-Read-Version", "0.1.0")
                    .header(
                        "User-Agent",
                        concat!("Firewatch/", env!("CARGO_PKG_VERSION")),
                    )
                    .timeout(c.timeout);
                for (k, v) in &c.headers {
                    r = r.header(k.as_str(), v.as_str());
                }
                let resp = r
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| http_client::request_error_text(&e))?;
                let status = resp.status();
                let content_type = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                // As Prometheus: timed and counted once the endpoint answered.
                c.duration.observe_duration(start.elapsed());
                c.total
                    .with_label_values(&[&c.name, &c.url, status.as_str()])
                    .inc();
                let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    let text = String::from_utf8_lossy(&bytes);
                    return Err(format!(
                        "server returned HTTP status {status}: {}",
                        text.lines().next().unwrap_or("")
                    ));
                }
                Ok((content_type, bytes.to_vec()))
            }
            .await;
            c.in_flight.dec();
            let _ = tx.send(res);
        });
        let url = &self.client.url;
        let (content_type, bytes) = rx
            .recv_timeout(self.client.timeout + Duration::from_secs(5))
            .map_err(|_| remote_err(url, "timed out"))?
            .map_err(|e| remote_err(url, e))?;
        decode_answer(&content_type, &bytes, start, end).map_err(|e| remote_err(url, e))
    }
}

impl Querier for RemoteQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        let _ = sorted; // The merge sorts; remote series are sorted below anyway.
        let empty = || Ok(Box::new(VecSeriesSet::new(Vec::new())) as Box<dyn SeriesSet>);
        let c = &self.client;
        let has_equal = |name: &str, value: &str| {
            matchers
                .iter()
                .any(|m| m.op == MatchOp::Equal && m.name == name && m.value == value)
        };
        if !c.required.iter().all(|(n, v)| has_equal(n, v)) {
            return empty();
        }
        let mut wire: Vec<proto::LabelMatcher> = matchers
            .iter()
            .map(|m| proto::LabelMatcher {
                r#type: op_number(m.op),
                name: m.name.clone(),
                value: m.value.clone(),
            })
            .collect();
        let mut strip: Vec<String> = Vec::new();
        if c.filter_external_labels {
            for l in &self.external {
                if !matchers.iter().any(|m| m.name == l.name) {
                    wire.push(proto::LabelMatcher {
                        r#type: 0,
                        name: l.name.to_owned(),
                        value: l.value.to_owned(),
                    });
                }
                strip.push(l.name.to_owned());
            }
        }
        let (start, end) = hints.map_or((self.mint, self.maxt), |h| (h.start, h.end));
        let req = proto::ReadRequest {
            queries: vec![proto::Query {
                start_timestamp_ms: start,
                end_timestamp_ms: end,
                matchers: wire,
                hints: hints.map(|h| proto::ReadHints {
                    step_ms: h.step,
                    func: h.func.clone().unwrap_or_default(),
                    start_ms: h.start,
                    end_ms: h.end,
                    grouping: h.grouping.clone(),
                    by: h.by,
                    range_ms: h.range,
                }),
            }],
            accepted_response_types: vec![STREAMED_XOR_CHUNKS, SAMPLES],
        };
        let mut series = self.fetch(&req, start, end)?;
        if !strip.is_empty() {
            for (labels, _) in &mut series {
                let mut b = labels.builder();
                for n in &strip {
                    b.del(n);
                }
                *labels = b.labels();
            }
            series.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(Box::new(VecSeriesSet::new(
            series
                .into_iter()
                .map(|(l, s)| Box::new(ListSeries::new(l, s)) as Box<dyn Series>)
                .collect(),
        )))
    }

    fn label_values(
        &self,
        _name: &str,
        _hints: Option<&LabelHints>,
        _matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        // Remote read carries series only (as in Prometheus).
        Ok(Vec::new())
    }

    fn label_names(
        &self,
        _hints: Option<&LabelHints>,
        _matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        Ok(Vec::new())
    }
}
