//! A batch of queued items as a snappy-compressed remote write request: protocol 1.0
//! (`prometheus.WriteRequest`, labels as strings, metadata in separate requests) or 2.0
//! (`io.prometheus.write.v2.Request`: one interned symbol table, metadata and created
//! timestamps on each series), as Prometheus's `storage/remote/queue_manager.go`
//! (`populateTimeSeries`, `populateV2TimeSeries`) and `codec.go` build them.
//!
//! 1.0, the common case, is written straight from the items into a buffer the shard reuses:
//! labels from the series' packed label set, samples as they are, with no message structs
//! and no string copies (building `proto::TimeSeries` took half of an agent's CPU).

use std::collections::HashMap;
use std::sync::Arc;

use model::Labels;
use prost::Message;

use crate::codec::{float_histogram_to_proto, histogram_to_proto};
use crate::proto;

use super::position::Ack;

/// A series as the queue sends it: labels after `write_relabel_configs` and external labels,
/// kept only as 1.0 `TimeSeries.labels` fields, encoded once: every 1.0 request copies them
/// (encoding them per sample took a tenth of an agent's CPU), and 2.0 requests and metadata
/// read the pairs back from them (a second copy as `Labels` took ~200 bytes a series).
#[derive(Debug)]
pub(crate) struct SeriesInfo {
    v1_labels: Box<[u8]>,
}

impl SeriesInfo {
    pub fn new(labels: &Labels) -> Self {
        let len = labels
            .iter()
            .map(|l| field_len(label_len(l.name, l.value)))
            .sum();
        let mut buf = Vec::with_capacity(len);
        for l in labels {
            buf.push(0x0a);
            put_varint(&mut buf, label_len(l.name, l.value) as u64);
            put_bytes_field(&mut buf, 0x0a, l.name.as_bytes());
            put_bytes_field(&mut buf, 0x12, l.value.as_bytes());
        }
        debug_assert_eq!(buf.len(), len);
        Self {
            v1_labels: buf.into_boxed_slice(),
        }
    }

    /// The label pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut rest: &[u8] = &self.v1_labels;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            // `Label` field: key, length, then name and value fields.
            rest = &rest[1..];
            let _len = prost::encoding::decode_varint(&mut rest).ok()?;
            let mut field = || -> Option<&str> {
                rest = rest.get(1..)?;
                let n = usize::try_from(prost::encoding::decode_varint(&mut rest).ok()?).ok()?;
                let (text, tail) = (rest.get(..n)?, rest.get(n..)?);
                rest = tail;
                std::str::from_utf8(text).ok()
            };
            Some((field()?, field()?))
        })
    }

    /// The labels.
    #[cfg(test)]
    pub fn labels(&self) -> Labels {
        Labels::from_sorted(self.pairs())
    }

    /// The `__name__` label's value.
    pub fn metric_name(&self) -> Option<&str> {
        self.pairs().find(|(n, _)| *n == "__name__").map(|(_, v)| v)
    }
}

/// Bytes of a varint.
fn varint_len(v: u64) -> usize {
    prost::encoding::encoded_len_varint(v)
}

/// Bytes of a length-delimited field (one-byte key) holding `len` bytes.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Bytes of a `Label` message.
fn label_len(name: &str, value: &str) -> usize {
    field_len(name.len()) + field_len(value.len())
}

/// Bytes of a `Sample` message (proto3: zero fields are left out).
fn sample_len(t: i64, v: f64) -> usize {
    (if v.to_bits() == 0 { 0 } else { 9 }) + (if t == 0 { 0 } else { 1 + varint_len(t as u64) })
}

fn put_varint(buf: &mut Vec<u8>, v: u64) {
    prost::encoding::encode_varint(v, buf);
}

fn put_bytes_field(buf: &mut Vec<u8>, key: u8, data: &[u8]) {
    buf.push(key);
    put_varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

/// Metadata of a series (from the WAL's metadata records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// As `MetricMetadata.type`.
    pub typ: i32,
    pub help: String,
    pub unit: String,
}

/// What one item carries.
#[derive(Debug)]
pub(crate) enum Data {
    Float(f64),
    Histogram(Box<model::Histogram>),
    FloatHistogram(Box<model::FloatHistogram>),
    Exemplar { value: f64, labels: Labels },
}

/// One sample, histogram or exemplar on its way.
#[derive(Debug)]
pub(crate) struct Item {
    pub series: Arc<SeriesInfo>,
    pub meta: Option<Arc<Meta>>,
    pub t: i64,
    /// Created (start) timestamp, 0 when unknown.
    pub st: i64,
    pub data: Data,
    pub ack: Ack,
}

/// Counts of a batch by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub samples: usize,
    pub histograms: usize,
    pub exemplars: usize,
}

impl Counts {
    pub fn of(items: &[Item]) -> Self {
        let mut c = Self::default();
        for i in items {
            match i.data {
                Data::Float(_) => c.samples += 1,
                Data::Histogram(_) | Data::FloatHistogram(_) => c.histograms += 1,
                Data::Exemplar { .. } => c.exemplars += 1,
            }
        }
        c
    }
}

fn compress(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

/// A shard's encoder: the request buffer and the snappy encoder, kept between batches.
pub(crate) struct Encoder {
    raw: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Self {
            raw: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl Encoder {
    /// The items as a 1.0 request: one `TimeSeries` per run of items of the same series.
    pub fn v1(&mut self, items: &[Item]) -> Vec<u8> {
        self.raw.clear();
        let mut rest = items;
        while let Some(first) = rest.first() {
            let n = rest
                .iter()
                .position(|i| !Arc::ptr_eq(&i.series, &first.series))
                .unwrap_or(rest.len());
            write_series_v1(&mut self.raw, &rest[..n]);
            rest = &rest[n..];
        }
        self.compress()
    }

    /// The items as a 2.0 request.
    pub fn v2(&mut self, items: &[Item]) -> Vec<u8> {
        self.raw.clear();
        let req = build_v2(items);
        req.encode(&mut self.raw).expect("a Vec grows");
        self.compress()
    }

    fn compress(&mut self) -> Vec<u8> {
        let mut out = vec![0; snap::raw::max_compress_len(self.raw.len())];
        match self.snappy.compress(&self.raw, &mut out) {
            Ok(n) => {
                out.truncate(n);
                out
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Writes `items` (all of one series) as one `WriteRequest.timeseries` field.
fn write_series_v1(buf: &mut Vec<u8>, items: &[Item]) {
    let series = &items[0].series;
    // Exemplars and histograms (rare) go through their message types.
    let exemplars: Vec<proto::Exemplar> = items
        .iter()
        .filter_map(|it| match &it.data {
            Data::Exemplar { value, labels } => Some(proto::Exemplar {
                labels: labels_v1(labels),
                value: *value,
                timestamp: it.t,
            }),
            _ => None,
        })
        .collect();
    let histograms: Vec<proto::Histogram> = items
        .iter()
        .filter_map(|it| match &it.data {
            Data::Histogram(h) => Some(histogram_to_proto(it.t, h)),
            Data::FloatHistogram(h) => Some(float_histogram_to_proto(it.t, h)),
            _ => None,
        })
        .collect();
    let mut len = series.v1_labels.len();
    for it in items {
        if let Data::Float(v) = it.data {
            len += field_len(sample_len(it.t, v));
        }
    }
    len += exemplars
        .iter()
        .map(|e| field_len(e.encoded_len()))
        .sum::<usize>();
    len += histograms
        .iter()
        .map(|h| field_len(h.encoded_len()))
        .sum::<usize>();
    buf.reserve(field_len(len));
    buf.push(0x0a);
    put_varint(buf, len as u64);
    let start = buf.len();
    buf.extend_from_slice(&series.v1_labels);
    for it in items {
        if let Data::Float(v) = it.data {
            buf.push(0x12);
            put_varint(buf, sample_len(it.t, v) as u64);
            if v.to_bits() != 0 {
                buf.push(0x09);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            if it.t != 0 {
                buf.push(0x10);
                put_varint(buf, it.t as u64);
            }
        }
    }
    for e in &exemplars {
        prost::encoding::message::encode(3, e, buf);
    }
    for h in &histograms {
        prost::encoding::message::encode(4, h, buf);
    }
    debug_assert_eq!(buf.len() - start, len);
}

fn labels_v1(l: &Labels) -> Vec<proto::Label> {
    l.iter()
        .map(|l| proto::Label {
            name: l.name.to_owned(),
            value: l.value.to_owned(),
        })
        .collect()
}

/// The items as a 1.0 request built through the message types, one `TimeSeries` per series
/// in order of first appearance (the reference [`Encoder::v1`] is tested against).
#[cfg(test)]
pub(crate) fn encode_v1(items: &[Item]) -> Vec<u8> {
    let mut series: Vec<proto::TimeSeries> = Vec::new();
    let mut index: HashMap<*const SeriesInfo, usize> = HashMap::new();
    for it in items {
        let i = *index.entry(Arc::as_ptr(&it.series)).or_insert_with(|| {
            series.push(proto::TimeSeries {
                labels: labels_v1(&it.series.labels()),
                ..Default::default()
            });
            series.len() - 1
        });
        let ts = &mut series[i];
        match &it.data {
            Data::Float(v) => ts.samples.push(proto::Sample {
                value: *v,
                timestamp: it.t,
            }),
            Data::Histogram(h) => ts.histograms.push(histogram_to_proto(it.t, h)),
            Data::FloatHistogram(h) => ts.histograms.push(float_histogram_to_proto(it.t, h)),
            Data::Exemplar { value, labels } => ts.exemplars.push(proto::Exemplar {
                labels: labels_v1(labels),
                value: *value,
                timestamp: it.t,
            }),
        }
    }
    compress(
        &proto::WriteRequest {
            timeseries: series,
            metadata: vec![],
        }
        .encode_to_vec(),
    )
}

/// Metadata entries as a 1.0 request of metadata only.
pub(crate) fn encode_metadata_v1(meta: &[(String, Meta)]) -> Vec<u8> {
    compress(
        &proto::WriteRequest {
            timeseries: vec![],
            metadata: meta
                .iter()
                .map(|(name, m)| proto::MetricMetadata {
                    r#type: m.typ,
                    metric_family_name: name.clone(),
                    help: m.help.clone(),
                    unit: m.unit.clone(),
                })
                .collect(),
        }
        .encode_to_vec(),
    )
}

/// The symbol table of a 2.0 request: `""` first, each string once.
#[derive(Default)]
struct Symbols {
    list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Symbols {
    fn new() -> Self {
        let mut s = Self::default();
        s.get("");
        s
    }

    fn get(&mut self, v: &str) -> u32 {
        if let Some(i) = self.index.get(v) {
            return *i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(v.to_owned());
        self.index.insert(v.to_owned(), i);
        i
    }

    fn labels<'a>(&mut self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<u32> {
        let mut out = Vec::new();
        for (name, value) in pairs {
            out.push(self.get(name));
            out.push(self.get(value));
        }
        out
    }
}

/// The items as a 2.0 request.
#[cfg(test)]
pub(crate) fn encode_v2(items: &[Item]) -> Vec<u8> {
    compress(&build_v2(items).encode_to_vec())
}

fn build_v2(items: &[Item]) -> proto::v2::Request {
    let mut sym = Symbols::new();
    let mut series: Vec<proto::v2::TimeSeries> = Vec::new();
    let mut index: HashMap<*const SeriesInfo, usize> = HashMap::new();
    for it in items {
        let i = *index.entry(Arc::as_ptr(&it.series)).or_insert_with(|| {
            let metadata = it.meta.as_ref().map(|m| proto::v2::Metadata {
                r#type: m.typ,
                help_ref: sym.get(&m.help),
                unit_ref: sym.get(&m.unit),
            });
            series.push(proto::v2::TimeSeries {
                labels_refs: sym.labels(it.series.pairs()),
                metadata,
                created_timestamp: it.st,
                ..Default::default()
            });
            series.len() - 1
        });
        let ts = &mut series[i];
        if it.st != 0 && ts.created_timestamp == 0 {
            ts.created_timestamp = it.st;
        }
        match &it.data {
            Data::Float(v) => ts.samples.push(proto::Sample {
                value: *v,
                timestamp: it.t,
            }),
            Data::Histogram(h) => ts.histograms.push(histogram_to_proto(it.t, h)),
            Data::FloatHistogram(h) => ts.histograms.push(float_histogram_to_proto(it.t, h)),
            Data::Exemplar { value, labels } => {
                let labels_refs = sym.labels(labels.iter().map(|l| (l.name, l.value)));
                ts.exemplars.push(proto::v2::Exemplar {
                    labels_refs,
                    value: *value,
                    timestamp: it.t,
                });
            }
        }
    }
    proto::v2::Request {
        symbols: sym.list,
        timeseries: series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::position::Pos;

    fn item(series: &Arc<SeriesInfo>, meta: Option<Arc<Meta>>, t: i64, data: Data) -> Item {
        Item {
            series: series.clone(),
            meta,
            t,
            st: 0,
            data,
            ack: Ack {
                seq: 0,
                pos: Pos::default(),
                key: (0, 0),
                t,
            },
        }
    }

    #[test]
    fn series_labels_read_back_from_their_1_0_fields() {
        let long = "x".repeat(300);
        for labels in [
            Labels::default(),
            Labels::from_pairs([("__name__", "m"), ("a", "é ü"), ("long", long.as_str())]),
        ] {
            let info = SeriesInfo::new(&labels);
            assert_eq!(info.labels(), labels);
            assert_eq!(info.metric_name(), labels.metric_name());
        }
    }

    #[test]
    fn v1_and_v2_requests_decode_to_the_same_series() {
        let a = Arc::new(SeriesInfo::new(&Labels::from_pairs([
            ("__name__", "up"),
            ("job", "a"),
        ])));
        let b = Arc::new(SeriesInfo::new(&Labels::from_pairs([
            ("__name__", "up"),
            ("job", "b"),
        ])));
        let meta = Some(Arc::new(Meta {
            typ: 2,
            help: "Up.".into(),
            unit: String::new(),
        }));
        let items = vec![
            item(&a, meta.clone(), 1, Data::Float(1.0)),
            item(&b, meta.clone(), 1, Data::Float(0.0)),
            item(&a, meta.clone(), 2, Data::Float(1.0)),
            item(
                &a,
                meta,
                2,
                Data::Exemplar {
                    value: 1.0,
                    labels: Labels::from_pairs([("trace_id", "abc")]),
                },
            ),
        ];
        let v1 = proto::WriteRequest::decode(
            snap::raw::Decoder::new()
                .decompress_vec(&encode_v1(&items))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        assert_eq!(v1.timeseries.len(), 2);
        assert_eq!(v1.timeseries[0].samples.len(), 2);
        assert_eq!(v1.timeseries[0].exemplars.len(), 1);
        assert_eq!(v1.timeseries[1].labels[1].value, "b");
        let v2 = proto::v2::Request::decode(
            snap::raw::Decoder::new()
                .decompress_vec(&encode_v2(&items))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        // Each string once, "" first.
        assert_eq!(v2.symbols[0], "");
        let mut uniq = v2.symbols.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), v2.symbols.len());
        assert_eq!(v2.timeseries.len(), 2);
        let names: Vec<&str> = v2.timeseries[1]
            .labels_refs
            .iter()
            .map(|r| v2.symbols[*r as usize].as_str())
            .collect();
        assert_eq!(names, ["__name__", "up", "job", "b"]);
        let m = v2.timeseries[0].metadata.as_ref().unwrap();
        assert_eq!(
            (m.r#type, v2.symbols[m.help_ref as usize].as_str()),
            (2, "Up.")
        );
        assert_eq!(
            v2.symbols[v2.timeseries[0].exemplars[0].labels_refs[1] as usize],
            "abc"
        );
    }

    fn decode_v1(body: &[u8]) -> proto::WriteRequest {
        proto::WriteRequest::decode(
            snap::raw::Decoder::new()
                .decompress_vec(body)
                .unwrap()
                .as_slice(),
        )
        .unwrap()
    }

    #[test]
    fn hand_written_1_0_requests_decode_like_the_message_types() {
        let a = Arc::new(SeriesInfo::new(&Labels::from_pairs([
            ("__name__", "http_requests_total"),
            ("job", "a"),
            ("path", &"/x".repeat(100)),
        ])));
        let b = Arc::new(SeriesInfo::new(&Labels::from_pairs([("__name__", "b")])));
        let h = model::Histogram {
            count: 3,
            sum: 2.5,
            zero_count: 1,
            positive_spans: vec![model::Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1, 0],
            ..model::Histogram::default()
        };
        // Zero values and timestamps (left out by proto3), -0.0, negative and large
        // timestamps, runs of one series, exemplars and histograms between samples.
        let items = vec![
            item(&a, None, 0, Data::Float(0.0)),
            item(&a, None, -5, Data::Float(-0.0)),
            item(&a, None, 1_700_000_000_123, Data::Float(f64::NAN)),
            item(&b, None, 1, Data::Float(1.5)),
            item(
                &b,
                None,
                2,
                Data::Exemplar {
                    value: 1.0,
                    labels: Labels::from_pairs([("trace_id", "abc")]),
                },
            ),
            item(&b, None, 3, Data::Histogram(Box::new(h.clone()))),
            item(&b, None, 4, Data::FloatHistogram(Box::new(h.to_float()))),
            item(&b, None, i64::MAX, Data::Float(f64::INFINITY)),
            item(&a, None, 7, Data::Float(7.0)),
        ];
        let mut enc = Encoder::default();
        let ours = decode_v1(&enc.v1(&items));
        // The reference groups by series; the hand encoder by runs (a, b, a).
        assert_eq!(ours.timeseries.len(), 3);
        let mut by_run = ours.timeseries.clone();
        let last = by_run.pop().unwrap();
        by_run[0].samples.extend(last.samples);
        // prost leaves -0.0 out as a default value (its sign lost); the hand encoder keeps it.
        assert_eq!(
            ours.timeseries[0].samples[1].value.to_bits(),
            (-0.0f64).to_bits()
        );
        by_run[0].samples[1].value = 0.0;
        let reference = decode_v1(&encode_v1(&items));
        assert_eq!(format!("{by_run:?}"), format!("{:?}", reference.timeseries));
        // The buffer is reused: a second, smaller batch holds only its own items.
        let again = decode_v1(&enc.v1(&items[3..4]));
        assert_eq!(again.timeseries.len(), 1);
        assert_eq!(again.timeseries[0].samples.len(), 1);
    }

    #[test]
    fn custom_bucket_histograms_reach_the_receiver_in_1_0_and_2_0() {
        use crate::receiver::{Protocol, decode};
        let a = Arc::new(SeriesInfo::new(&Labels::from_pairs([
            ("__name__", "rpc_seconds"),
            ("code", "200"),
        ])));
        // As scraping's convert_classic_histograms_to_nhcb makes them: schema -53, the
        // bounds without +Inf, a gap of three empty buckets between two spans.
        let h = model::Histogram {
            schema: -53,
            count: 7,
            sum: 12.5,
            positive_spans: vec![
                model::Span {
                    offset: 0,
                    length: 2,
                },
                model::Span {
                    offset: 3,
                    length: 1,
                },
            ],
            positive_buckets: vec![1, 1, 2],
            custom_values: vec![0.1, 0.5, 1.0, 2.0, 5.0],
            ..model::Histogram::default()
        };
        let f = model::FloatHistogram {
            count: 3.0,
            sum: 4.25,
            positive_spans: vec![model::Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![0.5, 2.5],
            custom_values: vec![1.0],
            schema: -53,
            ..model::FloatHistogram::default()
        };
        let items = vec![
            item(&a, None, 1000, Data::Histogram(Box::new(h.clone()))),
            item(&a, None, 2000, Data::FloatHistogram(Box::new(f.clone()))),
        ];
        let want = [
            (1000, model::Sample::Histogram(Arc::new(h))),
            (2000, model::Sample::FloatHistogram(Arc::new(f))),
        ];
        let mut enc = Encoder::default();
        for (protocol, body) in [
            (Protocol::V1, enc.v1(&items)),
            (Protocol::V2, encode_v2(&items)),
        ] {
            let got = decode(protocol, &body).unwrap();
            assert_eq!(got.len(), 1, "{protocol:?}");
            assert_eq!(got[0].labels, a.labels(), "{protocol:?}");
            assert_eq!(got[0].histograms, want, "{protocol:?}");
        }
    }
}
