//! The remote read endpoint (`/api/v1/read`): decodes a snappy `prometheus.ReadRequest`,
//! selects each query's series through a [`storage::Queryable`], and answers either the
//! sampled `ReadResponse` (snappy protobuf) or the streamed `ChunkedReadResponse` frames of
//! chunks (XOR for floats, histogram and float histogram chunks for native histograms; see
//! [`chunks`]), whichever the client lists first among those it accepts.
//!
//! Mirrors Prometheus's `storage/remote/read_handler.go`, `codec.go` and `chunked.go`.

use model::{Labels, MatchOp, Matcher, Sample};
use prost::Message;
use storage::{Queryable, SelectHints, ValueType};

use crate::error::RemoteError;
use crate::proto;

mod chunks;

/// Content type of the streamed response.
pub const CONTENT_TYPE_STREAMED: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// What the HTTP layer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAnswer {
    /// HTTP status: 200, 400 for a bad request, 500 for a storage failure.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Content-Encoding` (`snappy` for sampled responses).
    pub content_encoding: Option<&'static str>,
    /// The body (an error text when the status is not 200).
    pub body: Vec<u8>,
}

fn error_answer(status: u16, e: &RemoteError) -> ReadAnswer {
    ReadAnswer {
        status,
        content_type: "text/plain; charset=utf-8",
        content_encoding: None,
        body: format!("{e}\n").into_bytes(),
    }
}

/// Handles one `/api/v1/read` body. `external_labels` are added to every series returned
/// (without overriding the series' own), and matchers on them that they satisfy are dropped
/// before selecting, as Prometheus does. Blocking: call it off the async workers.
pub fn handle_read(storage: &dyn Queryable, external_labels: &Labels, body: &[u8]) -> ReadAnswer {
    let req = match decode_request(body) {
        Ok(r) => r,
        Err(e) => return error_answer(400, &e),
    };
    let streamed = req
        .accepted_response_types
        .iter()
        .find(|t| **t == 0 || **t == 1)
        .is_some_and(|t| *t == 1);
    let mut results = Vec::with_capacity(req.queries.len());
    let mut frames = Vec::new();
    for (qi, q) in req.queries.iter().enumerate() {
        let series = match select(storage, external_labels, q) {
            Ok(s) => s,
            Err(e @ RemoteError::Storage { .. }) => return error_answer(500, &e),
            Err(e) => return error_answer(400, &e),
        };
        if streamed {
            for s in series {
                let chunks = match chunks::encode(&s.points) {
                    Ok(c) => c,
                    Err(e) => return error_answer(500, &e),
                };
                let frame = proto::ChunkedReadResponse {
                    chunked_series: vec![proto::ChunkedSeries {
                        labels: s.labels,
                        chunks,
                    }],
                    query_index: qi as i64,
                };
                write_frame(&mut frames, &frame.encode_to_vec());
            }
        } else {
            let timeseries = series.into_iter().map(Selected::into_time_series).collect();
            results.push(proto::QueryResult { timeseries });
        }
    }
    if streamed {
        return ReadAnswer {
            status: 200,
            content_type: CONTENT_TYPE_STREAMED,
            content_encoding: None,
            body: frames,
        };
    }
    let raw = proto::ReadResponse { results }.encode_to_vec();
    match snap::raw::Encoder::new().compress_vec(&raw) {
        Ok(body) => ReadAnswer {
            status: 200,
            content_type: "application/x-protobuf",
            content_encoding: Some("snappy"),
            body,
        },
        Err(e) => error_answer(500, &RemoteError::Snappy(e)),
    }
}

/// Decompresses and decodes a `prometheus.ReadRequest`.
///
/// # Errors
/// Snappy and protobuf errors.
pub fn decode_request(body: &[u8]) -> Result<proto::ReadRequest, RemoteError> {
    let raw = crate::codec::decompress(body)?;
    proto::ReadRequest::decode(raw.as_slice()).map_err(|source| RemoteError::Protobuf {
        message: "prometheus.ReadRequest",
        source,
    })
}

fn matcher(m: &proto::LabelMatcher) -> Result<Matcher, RemoteError> {
    let op = match m.r#type {
        0 => MatchOp::Equal,
        1 => MatchOp::NotEqual,
        2 => MatchOp::RegexMatch,
        3 => MatchOp::RegexNoMatch,
        t => return Err(RemoteError::Invalid(format!("unknown matcher type {t}"))),
    };
    Matcher::new(op, m.name.clone(), m.value.clone())
        .map_err(|e| RemoteError::Invalid(format!("matcher {:?}: {e}", m.name)))
}

/// One selected series: its labels (external labels added) and its samples in the query's
/// range, in time order.
struct Selected {
    labels: Vec<proto::Label>,
    points: Vec<(i64, Sample)>,
}

impl Selected {
    /// The series as a sampled response holds it.
    fn into_time_series(self) -> proto::TimeSeries {
        let mut ts = proto::TimeSeries {
            labels: self.labels,
            ..Default::default()
        };
        for (t, s) in &self.points {
            match s {
                Sample::Float(value) => ts.samples.push(proto::Sample {
                    value: *value,
                    timestamp: *t,
                }),
                Sample::Histogram(h) => ts.histograms.push(crate::codec::histogram_to_proto(*t, h)),
                Sample::FloatHistogram(h) => ts
                    .histograms
                    .push(crate::codec::float_histogram_to_proto(*t, h)),
            }
        }
        ts
    }
}

/// The series of one query with their samples in `[start, end]`, external labels added.
fn select(
    storage: &dyn Queryable,
    external: &Labels,
    q: &proto::Query,
) -> Result<Vec<Selected>, RemoteError> {
    let mut matchers = Vec::with_capacity(q.matchers.len());
    for m in &q.matchers {
        let m = matcher(m)?;
        // A matcher on an external label the external value satisfies says nothing about
        // the local series, which do not carry it.
        if let Some(v) = external.get(&m.name)
            && m.matches(v)
        {
            continue;
        }
        matchers.push(m);
    }
    let storage_err = |source| RemoteError::Storage {
        series: "(select)".into(),
        source,
    };
    let (start, end) = (q.start_timestamp_ms, q.end_timestamp_ms);
    let hints = q.hints.as_ref().map(|h| SelectHints {
        start: h.start_ms,
        end: h.end_ms,
        step: h.step_ms,
        func: (!h.func.is_empty()).then(|| h.func.clone()),
        grouping: h.grouping.clone(),
        by: h.by,
        range: h.range_ms,
        limit: 0,
    });
    let querier = storage.querier(start, end).map_err(storage_err)?;
    let set = querier
        .select(true, hints.as_ref(), &matchers)
        .map_err(storage_err)?;
    let mut out = Vec::new();
    for s in set {
        let s = s.map_err(storage_err)?;
        let mut labels = s.labels().builder();
        for l in external {
            if s.labels().get(l.name).is_none() {
                labels.set(l.name, l.value);
            }
        }
        let mut selected = Selected {
            labels: labels
                .labels()
                .iter()
                .map(|l| proto::Label {
                    name: l.name.to_owned(),
                    value: l.value.to_owned(),
                })
                .collect(),
            points: Vec::new(),
        };
        let mut it = s.iter();
        let mut vt = it.seek(start);
        while vt != ValueType::None && it.at_t() <= end {
            let point = match vt {
                ValueType::Float => {
                    let (t, v) = it.at();
                    (t, Sample::Float(v))
                }
                ValueType::Histogram => {
                    let (t, h) = it.at_histogram();
                    (t, Sample::Histogram(h.into()))
                }
                ValueType::FloatHistogram => {
                    let (t, h) = it.at_float_histogram();
                    (t, Sample::FloatHistogram(h.into()))
                }
                ValueType::None => break,
            };
            selected.points.push(point);
            vt = it.next();
        }
        if let Some(e) = it.err() {
            return Err(RemoteError::Invalid(format!("reading {}: {e}", s.labels())));
        }
        if !selected.points.is_empty() {
            out.push(selected);
        }
    }
    Ok(out)
}

/// Appends one frame of the streamed response: uvarint length, big-endian CRC-32C of the
/// message, the message (Prometheus's `ChunkedWriter`).
pub fn write_frame(out: &mut Vec<u8>, msg: &[u8]) {
    prost::encoding::encode_varint(msg.len() as u64, out);
    out.extend_from_slice(&crc32c::crc32c(msg).to_be_bytes());
    out.extend_from_slice(msg);
}
