//! The remote write receiver (`/api/v1/write`): negotiates protocol 1.0 or 2.0 from the
//! content type, decodes and validates the whole request, then appends it through one
//! [`storage::Appender`] and commits it, so a bad request stores nothing.
//!
//! Mirrors Prometheus's `storage/remote/write_handler.go` and `codec.go`.

use std::sync::Arc;

use model::exposition::MetricType;
use model::histogram::CounterResetHint;
use model::{Labels, Sample, Span};
use prost::Message;
use storage::{Appendable, Exemplar, Metadata, StorageError};

use crate::error::RemoteError;
use crate::proto;

/// The content type of remote write 2.0 requests.
pub const CONTENT_TYPE_V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

/// Response header: float samples written (2.0).
pub const HEADER_SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// Response header: histogram samples written (2.0).
pub const HEADER_HISTOGRAMS_WRITTEN: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// Response header: exemplars written (2.0).
pub const HEADER_EXEMPLARS_WRITTEN: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

/// What the HTTP layer answers: status, extra headers and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResponse {
    /// HTTP status: 204 written, 400 bad payload, 415 unknown content type, 500 storage failure.
    pub status: u16,
    /// Headers to add (the written counts for 2.0 requests).
    pub headers: Vec<(&'static str, String)>,
    /// The error text, empty on success.
    pub body: String,
}

/// The protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `prometheus.WriteRequest`.
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// Counts of what a request stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Float samples.
    pub samples: u64,
    /// Histogram samples.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
}

/// The protocol named by `Content-Type` and `Content-Encoding` (absent means 1.0 and snappy,
/// as Prometheus assumes for old senders).
///
/// # Errors
/// [`RemoteError::UnsupportedMediaType`] for any other media type, `proto` parameter or
/// encoding.
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Protocol, RemoteError> {
    if let Some(enc) = content_encoding
        && !enc.trim().is_empty()
        && !enc.trim().eq_ignore_ascii_case("snappy")
    {
        return Err(RemoteError::UnsupportedMediaType(format!(
            "unsupported compression {enc:?}: only snappy is supported"
        )));
    }
    let Some(ct) = content_type.filter(|c| !c.trim().is_empty()) else {
        return Ok(Protocol::V1);
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/x-protobuf") {
        return Err(RemoteError::UnsupportedMediaType(format!(
            "unsupported content type {ct:?}: expected application/x-protobuf"
        )));
    }
    let mut protocol = Protocol::V1;
    for param in parts {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        if !k.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        protocol = match v.trim().trim_matches('"') {
            "prometheus.WriteRequest" => Protocol::V1,
            "io.prometheus.write.v2.Request" => Protocol::V2,
            other => {
                return Err(RemoteError::UnsupportedMediaType(format!(
                    "unsupported proto {other:?} in content type {ct:?}"
                )));
            }
        };
    }
    Ok(protocol)
}

/// Handles one `/api/v1/write` request body: decodes it, stores all of it or nothing, and says
/// what to answer. Blocking (the commit writes the WAL): call it off the async workers.
pub fn handle_write(
    storage: &dyn Appendable,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> WriteResponse {
    let protocol = match negotiate(content_type, content_encoding) {
        Ok(p) => p,
        Err(e) => return error_response(415, &e, None),
    };
    let result = decode(protocol, body).and_then(|series| store(storage, &series));
    let written = match &result {
        Ok(w) => *w,
        Err(_) => Written::default(),
    };
    let headers = match protocol {
        Protocol::V1 => Vec::new(),
        Protocol::V2 => vec![
            (HEADER_SAMPLES_WRITTEN, written.samples.to_string()),
            (HEADER_HISTOGRAMS_WRITTEN, written.histograms.to_string()),
            (HEADER_EXEMPLARS_WRITTEN, written.exemplars.to_string()),
        ],
    };
    match result {
        Ok(_) => WriteResponse {
            status: 204,
            headers,
            body: String::new(),
        },
        Err(e) => {
            let status = match &e {
                RemoteError::Storage { source, .. } if is_server_error(source) => 500,
                _ => 400,
            };
            error_response(status, &e, Some(headers))
        }
    }
}

fn error_response(
    status: u16,
    e: &RemoteError,
    headers: Option<Vec<(&'static str, String)>>,
) -> WriteResponse {
    WriteResponse {
        status,
        headers: headers.unwrap_or_default(),
        body: format!("{e}\n"),
    }
}

fn is_server_error(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::Io { .. } | StorageError::Closed | StorageError::Corruption { .. }
    )
}

/// One decoded, validated series of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSeries {
    /// Its labels.
    pub labels: Labels,
    /// Its created (start) timestamp, 0 when unknown.
    pub start: i64,
    /// Float samples, `(t, value)`.
    pub floats: Vec<(i64, f64)>,
    /// Histogram samples.
    pub histograms: Vec<(i64, Sample)>,
    /// Exemplars.
    pub exemplars: Vec<Exemplar>,
    /// Metadata (2.0 only).
    pub metadata: Option<Metadata>,
}

/// Decompresses (snappy block format) and decodes a request body of `protocol`, validating
/// labels, symbol references and histograms.
///
/// # Errors
/// Snappy, protobuf and validation errors, naming the series and field.
pub fn decode(protocol: Protocol, body: &[u8]) -> Result<Vec<DecodedSeries>, RemoteError> {
    let raw = crate::codec::decompress(body)?;
    match protocol {
        Protocol::V1 => {
            let req = proto::WriteRequest::decode(raw.as_slice()).map_err(|source| {
                RemoteError::Protobuf {
                    message: "prometheus.WriteRequest",
                    source,
                }
            })?;
            req.timeseries
                .iter()
                .enumerate()
                .map(|(i, ts)| decode_v1(i, ts))
                .collect()
        }
        Protocol::V2 => {
            let req = proto::v2::Request::decode(raw.as_slice()).map_err(|source| {
                RemoteError::Protobuf {
                    message: "io.prometheus.write.v2.Request",
                    source,
                }
            })?;
            req.timeseries
                .iter()
                .enumerate()
                .map(|(i, ts)| decode_v2(i, &req.symbols, ts))
                .collect()
        }
    }
}

fn decode_v1(i: usize, ts: &proto::TimeSeries) -> Result<DecodedSeries, RemoteError> {
    let labels = labels_from(
        i,
        ts.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str())),
    )?;
    let histograms = ts
        .histograms
        .iter()
        .map(|h| histogram(i, &labels, h))
        .collect::<Result<_, _>>()?;
    let exemplars = ts
        .exemplars
        .iter()
        .map(|e| {
            Ok(Exemplar {
                labels: exemplar_labels(
                    i,
                    e.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
                )?,
                value: e.value,
                ts: e.timestamp,
                has_ts: true,
            })
        })
        .collect::<Result<_, RemoteError>>()?;
    Ok(DecodedSeries {
        floats: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
        labels,
        start: 0,
        histograms,
        exemplars,
        metadata: None,
    })
}

fn symbol<'a>(i: usize, symbols: &'a [String], r: u32, what: &str) -> Result<&'a str, RemoteError> {
    symbols.get(r as usize).map(String::as_str).ok_or_else(|| {
        RemoteError::Invalid(format!(
            "timeseries[{i}]: {what} symbol reference {r} out of range (the request has {} symbols)",
            symbols.len()
        ))
    })
}

fn symbol_pairs<'a>(
    i: usize,
    symbols: &'a [String],
    refs: &[u32],
    what: &str,
) -> Result<Vec<(&'a str, &'a str)>, RemoteError> {
    if !refs.len().is_multiple_of(2) {
        return Err(RemoteError::Invalid(format!(
            "timeseries[{i}]: {what} has an odd number of symbol references ({})",
            refs.len()
        )));
    }
    refs.chunks(2)
        .map(|p| {
            Ok((
                symbol(i, symbols, p[0], what)?,
                symbol(i, symbols, p[1], what)?,
            ))
        })
        .collect()
}

fn decode_v2(
    i: usize,
    symbols: &[String],
    ts: &proto::v2::TimeSeries,
) -> Result<DecodedSeries, RemoteError> {
    let labels = labels_from(i, symbol_pairs(i, symbols, &ts.labels_refs, "labels_refs")?)?;
    let histograms = ts
        .histograms
        .iter()
        .map(|h| histogram(i, &labels, h))
        .collect::<Result<_, _>>()?;
    let exemplars = ts
        .exemplars
        .iter()
        .map(|e| {
            Ok(Exemplar {
                labels: exemplar_labels(
                    i,
                    symbol_pairs(i, symbols, &e.labels_refs, "exemplar labels_refs")?,
                )?,
                value: e.value,
                ts: e.timestamp,
                has_ts: true,
            })
        })
        .collect::<Result<_, RemoteError>>()?;
    let metadata = match &ts.metadata {
        Some(m) => Some(Metadata {
            typ: metric_type(m.r#type),
            help: symbol(i, symbols, m.help_ref, "metadata help_ref")?.to_owned(),
            unit: symbol(i, symbols, m.unit_ref, "metadata unit_ref")?.to_owned(),
        }),
        None => None,
    };
    Ok(DecodedSeries {
        floats: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
        labels,
        start: ts.created_timestamp,
        histograms,
        exemplars,
        metadata: metadata.filter(|m| m != &Metadata::default()),
    })
}

fn metric_type(t: i32) -> MetricType {
    match t {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::GaugeHistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

/// Labels of series `i`, refusing an empty set, empty names and repeated names.
pub(crate) fn labels_from<'a>(
    i: usize,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Labels, RemoteError> {
    let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    let invalid = |reason: String| RemoteError::Invalid(format!("timeseries[{i}]: {reason}"));
    if pairs.is_empty() {
        return Err(invalid("empty label set".into()));
    }
    pairs.sort_unstable();
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(invalid(format!("duplicate label name {:?}", w[0].0)));
        }
    }
    if let Some((n, _)) = pairs.iter().find(|(n, _)| n.is_empty()) {
        return Err(invalid(format!("empty label name {n:?}")));
    }
    Ok(Labels::from_sorted(pairs))
}

/// An exemplar's labels (may be empty); a label with an empty name is an error, as it is
/// for series labels (found by the robustness tests: it tripped `Labels`' debug assertion).
fn exemplar_labels<'a>(
    i: usize,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Labels, RemoteError> {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    if pairs.iter().any(|(n, _)| n.is_empty()) {
        return Err(RemoteError::Invalid(format!(
            "timeseries[{i}]: exemplar label with an empty name"
        )));
    }
    Ok(Labels::from_pairs(pairs))
}

fn spans(s: &[proto::BucketSpan]) -> Vec<Span> {
    s.iter()
        .map(|s| Span {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

fn span_len(s: &[proto::BucketSpan]) -> usize {
    s.iter().map(|s| s.length as usize).sum()
}

/// Converts and validates one histogram sample (Prometheus's `ValidateHistogram`): bucket
/// counts must match the spans, none negative, and the buckets must hold `count`
/// observations (at most `count` when the sum is NaN).
fn histogram(
    i: usize,
    labels: &Labels,
    h: &proto::Histogram,
) -> Result<(i64, Sample), RemoteError> {
    let bad = |reason: String| {
        RemoteError::Invalid(format!(
            "timeseries[{i}] {labels}: histogram at {}: {reason}",
            h.timestamp
        ))
    };
    if !(-4..=8).contains(&h.schema) && h.schema != -53 {
        return Err(bad(format!("schema {} out of range", h.schema)));
    }
    if h.schema == -53 {
        if !h.negative_spans.is_empty() {
            return Err(bad("custom buckets histogram has negative spans".into()));
        }
        if h.custom_values
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(bad(
                "custom bucket bounds are not strictly increasing".into()
            ));
        }
    }
    let hint = match h.reset_hint {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    };
    let check_spans = |kind: &str, s: &[proto::BucketSpan], n: usize| {
        if span_len(s) == n {
            Ok(())
        } else {
            Err(bad(format!(
                "spans need {} {kind} buckets, have {n}",
                span_len(s)
            )))
        }
    };
    match h.count {
        Some(proto::HistogramCount::CountFloat(count)) => {
            if !h.positive_deltas.is_empty() || !h.negative_deltas.is_empty() {
                return Err(bad("float histogram with integer bucket deltas".into()));
            }
            check_spans("positive", &h.positive_spans, h.positive_counts.len())?;
            check_spans("negative", &h.negative_spans, h.negative_counts.len())?;
            let zero = match h.zero_count {
                Some(proto::HistogramZeroCount::ZeroCountFloat(z)) => z,
                Some(proto::HistogramZeroCount::ZeroCountInt(z)) => z as f64,
                None => 0.0,
            };
            let buckets = h.positive_counts.iter().chain(&h.negative_counts);
            if buckets.clone().any(|c| *c < 0.0) || zero < 0.0 {
                return Err(bad("a bucket has a negative observation count".into()));
            }
            let in_buckets = buckets.sum::<f64>() + zero;
            check_count(in_buckets, count, h.sum).map_err(bad)?;
            Ok((
                h.timestamp,
                Sample::FloatHistogram(Arc::new(model::FloatHistogram {
                    counter_reset_hint: hint,
                    schema: h.schema,
                    zero_threshold: h.zero_threshold,
                    zero_count: zero,
                    count,
                    sum: h.sum,
                    positive_spans: spans(&h.positive_spans),
                    negative_spans: spans(&h.negative_spans),
                    positive_buckets: h.positive_counts.clone(),
                    negative_buckets: h.negative_counts.clone(),
                    custom_values: h.custom_values.clone(),
                })),
            ))
        }
        count => {
            let count = match count {
                Some(proto::HistogramCount::CountInt(c)) => c,
                _ => 0,
            };
            if !h.positive_counts.is_empty() || !h.negative_counts.is_empty() {
                return Err(bad("integer histogram with float bucket counts".into()));
            }
            check_spans("positive", &h.positive_spans, h.positive_deltas.len())?;
            check_spans("negative", &h.negative_spans, h.negative_deltas.len())?;
            let zero = match h.zero_count {
                Some(proto::HistogramZeroCount::ZeroCountInt(z)) => z,
                Some(proto::HistogramZeroCount::ZeroCountFloat(_)) => {
                    return Err(bad("integer histogram with a float zero count".into()));
                }
                None => 0,
            };
            let mut total = u128::from(zero);
            for deltas in [&h.positive_deltas, &h.negative_deltas] {
                let mut c: i64 = 0;
                for d in deltas.iter() {
                    c = c.saturating_add(*d);
                    if c < 0 {
                        return Err(bad("a bucket has a negative observation count".into()));
                    }
                    total += c as u128;
                }
            }
            check_count(total as f64, count as f64, h.sum).map_err(bad)?;
            Ok((
                h.timestamp,
                Sample::Histogram(Arc::new(model::Histogram {
                    counter_reset_hint: hint,
                    schema: h.schema,
                    zero_threshold: h.zero_threshold,
                    zero_count: zero,
                    count,
                    sum: h.sum,
                    positive_spans: spans(&h.positive_spans),
                    negative_spans: spans(&h.negative_spans),
                    positive_buckets: h.positive_deltas.clone(),
                    negative_buckets: h.negative_deltas.clone(),
                    custom_values: h.custom_values.clone(),
                })),
            ))
        }
    }
}

fn check_count(in_buckets: f64, count: f64, sum: f64) -> Result<(), String> {
    if sum.is_nan() {
        if in_buckets > count {
            return Err(format!(
                "{in_buckets} observations found in buckets, but the count is only {count}"
            ));
        }
    } else if in_buckets != count {
        return Err(format!(
            "{in_buckets} observations found in buckets, but the count is {count}"
        ));
    }
    Ok(())
}

/// Appends every series through one appender and commits; on any sample error rolls back.
fn store(storage: &dyn Appendable, series: &[DecodedSeries]) -> Result<Written, RemoteError> {
    let mut app = storage.appender();
    let mut written = Written::default();
    let res = (|| {
        for s in series {
            let err = |source| RemoteError::Storage {
                series: s.labels.to_string(),
                source,
            };
            let mut r = 0;
            for (t, v) in &s.floats {
                r = app
                    .append_with_start(r, &s.labels, s.start, *t, Sample::Float(*v))
                    .map_err(err)?;
                written.samples += 1;
            }
            for (t, h) in &s.histograms {
                r = app
                    .append_with_start(r, &s.labels, s.start, *t, h.clone())
                    .map_err(err)?;
                written.histograms += 1;
            }
            // Metadata and exemplars the storage refuses are dropped, as Prometheus does:
            // they are not samples.
            if let Some(m) = &s.metadata
                && let Ok(nr) = app.update_metadata(r, &s.labels, m)
            {
                r = nr;
            }
            for e in &s.exemplars {
                if let Ok(nr) = app.append_exemplar(r, &s.labels, e) {
                    r = nr;
                    written.exemplars += 1;
                }
            }
        }
        Ok(())
    })();
    match res {
        Ok(()) => {
            app.commit().map_err(|source| RemoteError::Storage {
                series: "(commit)".into(),
                source,
            })?;
            Ok(written)
        }
        Err(e) => {
            let _ = app.rollback();
            Err(e)
        }
    }
}
