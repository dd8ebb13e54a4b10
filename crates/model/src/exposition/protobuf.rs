//! The protobuf exposition parser: varint-delimited `io.prometheus.client.MetricFamily`
//! messages turned into the same [`Entry`] stream the text parser yields, as Prometheus's
//! `textparse.ProtobufParser` does.
//!
//! Per family: HELP (when set), TYPE, UNIT (when set), then per metric its samples. Counters,
//! gauges and untyped metrics give one sample named as the family; summaries give `_count`,
//! `_sum` and one sample per quantile; classic histograms `_count`, `_sum` and the cumulative
//! `_bucket`s with an `+Inf` bucket added when missing (gauge histograms `_gcount`, `_gsum`).
//! `le` and `quantile` values are formatted as Prometheus does (`1.0`, `0.25`, `+Inf`).
//! A histogram with native parts (spans, a zero bucket) is yielded as [`Entry::Histogram`] when
//! native histograms are wanted, its classic series only when asked for as well.

use std::borrow::Cow;
use std::sync::Arc;

use prost::Message;
use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint};

use super::error::ProtobufError;
use super::parser::{Entry, ExemplarRef, HistogramRef, LabelPair, SeriesRef};
use super::{MetricType, proto};
use crate::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use crate::sample::Sample;

/// The `Content-Type` (and `Accept` entry) of the protobuf exposition.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

/// Whether a `Content-Type` names the delimited protobuf exposition.
#[must_use]
pub fn is_protobuf_content_type(ct: &str) -> bool {
    let mut parts = ct.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("application/vnd.google.protobuf"))
    {
        return false;
    }
    let (mut proto, mut encoding) = (false, false);
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = v == "io.prometheus.client.MetricFamily",
                "encoding" => encoding = v == "delimited",
                _ => {}
            }
        }
    }
    proto && encoding
}

/// What the protobuf parser yields for histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtobufOptions {
    /// Yield native histograms as [`Entry::Histogram`] (otherwise only classic series).
    pub native_histograms: bool,
    /// Also yield the classic series of histograms that have a native part.
    pub keep_classic: bool,
}

impl Default for ProtobufOptions {
    fn default() -> Self {
        Self {
            native_histograms: true,
            keep_classic: false,
        }
    }
}

/// Prometheus's `formatOpenMetricsFloat`: Go's shortest form, with `.0` for integral values.
#[must_use]
pub fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let mut s = String::new();
    super::number::write_float(&mut s, f);
    if !s.contains(['e', '.']) {
        s.push_str(".0");
    }
    s
}

/// One sample still to be yielded for the current metric.
#[derive(Debug, Clone)]
enum Pending {
    Float {
        suffix: &'static str,
        extra: Option<(&'static str, String)>,
        value: f64,
        exemplar: Option<proto::Exemplar>,
    },
    Native(Sample),
}

/// A family's header fields, borrowed from the input.
#[derive(Debug, Default)]
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    unit: &'a str,
    kind: i32,
    metrics: Vec<&'a [u8]>,
}

/// The kind of the entry being yielded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Help,
    Type,
    Unit,
    Metrics,
}

/// What comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Family,
    Type,
    Unit,
    Samples,
}

/// A pull parser over a body of delimited `MetricFamily` messages.
#[derive(Debug)]
pub struct ProtobufParser<'a> {
    buf: &'a [u8],
    pos: usize,
    options: ProtobufOptions,
    family: Family<'a>,
    stage: Stage,
    next: Next,
    metric: usize,
    pending: std::collections::VecDeque<Pending>,
    timestamp: Option<i64>,
    /// The current metric's `created_timestamp` in milliseconds, when set.
    start_timestamp: Option<i64>,
    base_labels: Vec<LabelPair<'a>>,
    name: String,
    labels: Vec<LabelPair<'a>>,
    exemplar_labels: Vec<LabelPair<'a>>,
    sample: Option<Sample>,
    exemplar: Option<(f64, Option<i64>)>,
    done: bool,
}

fn utf8<'a>(b: &'a [u8], what: &str, offset: usize) -> Result<&'a str, ProtobufError> {
    std::str::from_utf8(b)
        .map_err(|_| ProtobufError::new(offset, format!("invalid UTF-8 in {what}")))
}

fn skip_field(buf: &mut &[u8], wire: WireType, offset: usize) -> Result<(), ProtobufError> {
    let err = |m: String| ProtobufError::new(offset, m);
    let n = match wire {
        WireType::Varint => {
            decode_varint(buf).map_err(|e| err(e.to_string()))?;
            0
        }
        WireType::SixtyFourBit => 8,
        WireType::ThirtyTwoBit => 4,
        WireType::LengthDelimited => {
            usize::try_from(decode_varint(buf).map_err(|e| err(e.to_string()))?)
                .map_err(|e| err(e.to_string()))?
        }
        WireType::StartGroup | WireType::EndGroup => {
            return Err(err("groups are not supported".to_owned()));
        }
    };
    if buf.len() < n {
        return Err(err("unexpected EOF".to_owned()));
    }
    buf.advance(n);
    Ok(())
}

fn length_delimited<'a>(buf: &mut &'a [u8], offset: usize) -> Result<&'a [u8], ProtobufError> {
    let n = decode_varint(buf).map_err(|e| ProtobufError::new(offset, e.to_string()))?;
    let n = usize::try_from(n).map_err(|e| ProtobufError::new(offset, e.to_string()))?;
    if buf.len() < n {
        return Err(ProtobufError::new(offset, "unexpected EOF".to_owned()));
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

/// Decodes the top level of one `MetricFamily`, keeping its metrics undecoded.
fn family(mut msg: &[u8], offset: usize) -> Result<Family<'_>, ProtobufError> {
    let mut f = Family::default();
    while !msg.is_empty() {
        let (tag, wire) =
            decode_key(&mut msg).map_err(|e| ProtobufError::new(offset, e.to_string()))?;
        match (tag, wire) {
            (1, WireType::LengthDelimited) => {
                f.name = utf8(length_delimited(&mut msg, offset)?, "metric name", offset)?;
            }
            (2, WireType::LengthDelimited) => {
                f.help = utf8(length_delimited(&mut msg, offset)?, "help", offset)?;
            }
            (3, WireType::Varint) => {
                let v = decode_varint(&mut msg)
                    .map_err(|e| ProtobufError::new(offset, e.to_string()))?;
                f.kind = i32::try_from(v as i64).unwrap_or(-1);
            }
            (4, WireType::LengthDelimited) => f.metrics.push(length_delimited(&mut msg, offset)?),
            (5, WireType::LengthDelimited) => {
                f.unit = utf8(length_delimited(&mut msg, offset)?, "unit", offset)?;
            }
            (_, w) => skip_field(&mut msg, w, offset)?,
        }
    }
    if f.name.is_empty() {
        return Err(ProtobufError::new(
            offset,
            "metric family without a name".to_owned(),
        ));
    }
    Ok(f)
}

fn metric_type(kind: i32) -> MetricType {
    match proto::MetricType::try_from(kind) {
        Ok(proto::MetricType::Counter) => MetricType::Counter,
        Ok(proto::MetricType::Gauge) => MetricType::Gauge,
        Ok(proto::MetricType::Summary) => MetricType::Summary,
        Ok(proto::MetricType::Histogram) => MetricType::Histogram,
        Ok(proto::MetricType::GaugeHistogram) => MetricType::GaugeHistogram,
        Ok(proto::MetricType::Untyped) | Err(_) => MetricType::Unknown,
    }
}

/// Whether a histogram message carries the native representation (Prometheus's test).
fn is_native(h: &proto::Histogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_threshold > 0.0
        || h.zero_count > 0
        || h.zero_count_float > 0.0
}

/// Spans without empty ones (an empty span's offset moves to the next span).
fn spans(s: &[proto::BucketSpan]) -> Vec<Span> {
    let mut out = Vec::with_capacity(s.len());
    let mut carry = 0;
    for span in s {
        if span.length == 0 {
            carry += span.offset;
            continue;
        }
        out.push(Span {
            offset: span.offset + carry,
            length: span.length,
        });
        carry = 0;
    }
    out
}

/// The native histogram of `h` as a model sample; a gauge histogram for `gauge`.
#[must_use]
pub fn native_histogram(h: &proto::Histogram, gauge: bool) -> Sample {
    let hint = if gauge {
        CounterResetHint::Gauge
    } else {
        CounterResetHint::Unknown
    };
    if h.sample_count_float > 0.0 || h.zero_count_float > 0.0 {
        Sample::FloatHistogram(Arc::new(FloatHistogram {
            counter_reset_hint: hint,
            schema: h.schema.unwrap_or(0),
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count_float,
            count: h.sample_count_float,
            sum: h.sample_sum,
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_count.clone(),
            negative_buckets: h.negative_count.clone(),
            custom_values: Vec::new(),
        }))
    } else {
        Sample::Histogram(Arc::new(Histogram {
            counter_reset_hint: hint,
            schema: h.schema.unwrap_or(0),
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count,
            count: h.sample_count,
            sum: h.sample_sum,
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_delta.clone(),
            negative_buckets: h.negative_delta.clone(),
            custom_values: Vec::new(),
        }))
    }
}

fn exemplar_ms(t: Option<&proto::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

impl<'a> ProtobufParser<'a> {
    /// A parser for `buf`.
    #[must_use]
    pub fn new(buf: &'a [u8], options: ProtobufOptions) -> Self {
        Self {
            buf,
            pos: 0,
            options,
            family: Family::default(),
            stage: Stage::Metrics,
            next: Next::Family,
            metric: 0,
            pending: std::collections::VecDeque::new(),
            timestamp: None,
            start_timestamp: None,
            base_labels: Vec::new(),
            name: String::new(),
            labels: Vec::new(),
            exemplar_labels: Vec::new(),
            sample: None,
            exemplar: None,
            done: false,
        }
    }

    /// The next entry, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// A [`ProtobufError`] with the byte offset of the family that does not decode.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, 'a>>, ProtobufError> {
        if self.done {
            return Ok(None);
        }
        match self.advance() {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        }
        let name = Cow::Borrowed(self.family.name);
        Ok(Some(match self.stage {
            Stage::Help => Entry::Help {
                name,
                help: Cow::Borrowed(self.family.help),
            },
            Stage::Type => Entry::Type {
                name,
                metric_type: metric_type(self.family.kind),
            },
            Stage::Unit => Entry::Unit {
                name,
                unit: self.family.unit,
            },
            Stage::Metrics => match &self.sample {
                Some(Sample::Float(value)) => Entry::Series(SeriesRef {
                    name: &self.name,
                    labels: &self.labels,
                    value: *value,
                    timestamp: self.timestamp,
                    start_timestamp: self.start_timestamp,
                    exemplar: self.current_exemplar(),
                }),
                Some(sample) => Entry::Histogram(HistogramRef {
                    name: &self.name,
                    labels: &self.labels,
                    sample,
                    timestamp: self.timestamp,
                    start_timestamp: self.start_timestamp,
                }),
                None => unreachable!("advance prepared a sample"),
            },
        }))
    }

    fn current_exemplar(&self) -> Option<ExemplarRef<'_, 'a>> {
        self.exemplar.map(|(value, timestamp)| ExemplarRef {
            labels: &self.exemplar_labels,
            value,
            timestamp,
        })
    }

    /// Moves to the next entry; `false` at the end of the input.
    fn advance(&mut self) -> Result<bool, ProtobufError> {
        loop {
            match self.next {
                Next::Family => {
                    if self.pos >= self.buf.len() {
                        return Ok(false);
                    }
                    let offset = self.pos;
                    let mut rest = &self.buf[self.pos..];
                    let msg = length_delimited(&mut rest, offset)?;
                    self.pos = self.buf.len() - rest.len();
                    self.family = family(msg, offset)?;
                    self.metric = 0;
                    self.pending.clear();
                    self.next = Next::Type;
                    if !self.family.help.is_empty() {
                        self.stage = Stage::Help;
                        return Ok(true);
                    }
                }
                Next::Type => {
                    self.stage = Stage::Type;
                    self.next = if self.family.unit.is_empty() {
                        Next::Samples
                    } else {
                        Next::Unit
                    };
                    return Ok(true);
                }
                Next::Unit => {
                    self.stage = Stage::Unit;
                    self.next = Next::Samples;
                    return Ok(true);
                }
                Next::Samples => {
                    if let Some(p) = self.pending.pop_front() {
                        self.prepare(p);
                        self.stage = Stage::Metrics;
                        return Ok(true);
                    }
                    let Some(raw) = self.family.metrics.get(self.metric) else {
                        self.next = Next::Family;
                        continue;
                    };
                    self.metric += 1;
                    let m = proto::Metric::decode(*raw).map_err(|e| {
                        ProtobufError::new(
                            self.pos,
                            format!("metric {} of {}: {e}", self.metric, self.family.name),
                        )
                    })?;
                    self.load(m);
                }
            }
        }
    }

    /// Queues the samples of one metric.
    fn load(&mut self, m: proto::Metric) {
        self.base_labels.clear();
        self.base_labels
            .extend(m.label.into_iter().map(|l| LabelPair {
                name: Cow::Owned(l.name),
                value: Cow::Owned(l.value),
            }));
        self.timestamp = (m.timestamp_ms != 0).then_some(m.timestamp_ms);
        let created = match metric_type(self.family.kind) {
            MetricType::Counter => m
                .counter
                .as_ref()
                .and_then(|c| c.created_timestamp.as_ref()),
            MetricType::Summary => m
                .summary
                .as_ref()
                .and_then(|s| s.created_timestamp.as_ref()),
            MetricType::Histogram | MetricType::GaugeHistogram => m
                .histogram
                .as_ref()
                .and_then(|h| h.created_timestamp.as_ref()),
            _ => None,
        };
        self.start_timestamp = created
            .map(|c| c.seconds * 1000 + i64::from(c.nanos) / 1_000_000)
            .filter(|&ms| ms != 0);
        let float = |suffix, value| Pending::Float {
            suffix,
            extra: None,
            value,
            exemplar: None,
        };
        let kind = metric_type(self.family.kind);
        let q = &mut self.pending;
        match kind {
            MetricType::Counter => {
                let c = m.counter.unwrap_or_default();
                q.push_back(Pending::Float {
                    suffix: "",
                    extra: None,
                    value: c.value,
                    exemplar: c.exemplar,
                });
            }
            MetricType::Gauge => q.push_back(float("", m.gauge.unwrap_or_default().value)),
            MetricType::Summary => {
                let s = m.summary.unwrap_or_default();
                q.push_back(float("_count", s.sample_count as f64));
                q.push_back(float("_sum", s.sample_sum));
                for quantile in s.quantile {
                    q.push_back(Pending::Float {
                        suffix: "",
                        extra: Some(("quantile", format_openmetrics_float(quantile.quantile))),
                        value: quantile.value,
                        exemplar: None,
                    });
                }
            }
            MetricType::Histogram | MetricType::GaugeHistogram => {
                let h = m.histogram.unwrap_or_default();
                let gauge = kind == MetricType::GaugeHistogram;
                let native = is_native(&h) && self.options.native_histograms;
                if native {
                    q.push_back(Pending::Native(native_histogram(&h, gauge)));
                }
                let classic = !native || (self.options.keep_classic && !h.bucket.is_empty());
                if classic {
                    let (count_suffix, sum_suffix) = if gauge {
                        ("_gcount", "_gsum")
                    } else {
                        ("_count", "_sum")
                    };
                    let count = if h.sample_count_float > 0.0 {
                        h.sample_count_float
                    } else {
                        h.sample_count as f64
                    };
                    q.push_back(float(count_suffix, count));
                    q.push_back(float(sum_suffix, h.sample_sum));
                    let mut has_inf = false;
                    for b in h.bucket {
                        has_inf |= b.upper_bound == f64::INFINITY;
                        q.push_back(Pending::Float {
                            suffix: "_bucket",
                            extra: Some(("le", format_openmetrics_float(b.upper_bound))),
                            value: if b.cumulative_count_float > 0.0 {
                                b.cumulative_count_float
                            } else {
                                b.cumulative_count as f64
                            },
                            exemplar: b.exemplar,
                        });
                    }
                    if !has_inf {
                        q.push_back(Pending::Float {
                            suffix: "_bucket",
                            extra: Some(("le", "+Inf".to_owned())),
                            value: count,
                            exemplar: None,
                        });
                    }
                }
            }
            _ => q.push_back(float("", m.untyped.unwrap_or_default().value)),
        }
    }

    /// Makes `p` the current entry.
    fn prepare(&mut self, p: Pending) {
        self.labels.clear();
        self.labels.extend(self.base_labels.iter().cloned());
        self.exemplar = None;
        self.name.clear();
        self.name.push_str(self.family.name);
        match p {
            Pending::Float {
                suffix,
                extra,
                value,
                exemplar,
            } => {
                self.name.push_str(suffix);
                if let Some((n, v)) = extra {
                    self.labels.push(LabelPair {
                        name: Cow::Borrowed(n),
                        value: Cow::Owned(v),
                    });
                }
                if let Some(e) = exemplar {
                    self.exemplar_labels.clear();
                    self.exemplar_labels
                        .extend(e.label.into_iter().map(|l| LabelPair {
                            name: Cow::Owned(l.name),
                            value: Cow::Owned(l.value),
                        }));
                    self.exemplar = Some((e.value, exemplar_ms(e.timestamp.as_ref())));
                }
                self.sample = Some(Sample::Float(value));
            }
            Pending::Native(s) => self.sample = Some(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_protobuf_content_type(PROTOBUF_CONTENT_TYPE));
        assert!(is_protobuf_content_type(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        ));
        assert!(!is_protobuf_content_type(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
        ));
        assert!(!is_protobuf_content_type("text/plain; version=0.0.4"));
    }

    #[test]
    fn openmetrics_floats() {
        assert_eq!(format_openmetrics_float(1.0), "1.0");
        assert_eq!(format_openmetrics_float(0.25), "0.25");
        assert_eq!(format_openmetrics_float(100.0), "100.0");
        assert_eq!(format_openmetrics_float(f64::INFINITY), "+Inf");
        assert_eq!(format_openmetrics_float(1e-9), "1e-09");
    }

    #[test]
    fn empty_spans_fold_into_the_next() {
        let s = [
            proto::BucketSpan {
                offset: 0,
                length: 0,
            },
            proto::BucketSpan {
                offset: 2,
                length: 1,
            },
            proto::BucketSpan {
                offset: 3,
                length: 0,
            },
        ];
        assert_eq!(
            spans(&s),
            vec![Span {
                offset: 2,
                length: 1
            }]
        );
    }

    #[test]
    fn truncated_input_is_an_error() {
        let f = proto::MetricFamily {
            name: "x".into(),
            ..proto::MetricFamily::default()
        };
        let buf = f.encode_length_delimited_to_vec();
        let mut p = ProtobufParser::new(&buf[..buf.len() - 1], ProtobufOptions::default());
        assert!(p.next_entry().is_err());
        assert!(p.next_entry().unwrap().is_none());
    }
}
