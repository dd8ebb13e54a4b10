//! A batch of queued items as a snappy-compressed remote write request: protocol 1.0
//! (`prometheus.WriteRequest`, labels as strings, metadata in separate requests) or 2.0
//! (`io.prometheus.write.v2.Request`: one interned symbol table, metadata and created
//! timestamps on each series), as Prometheus's `storage/remote/queue_manager.go`
//! (`populateTimeSeries`, `populateV2TimeSeries`) and `codec.go` build them.

use std::collections::HashMap;
use std::sync::Arc;

use model::Labels;
use prost::Message;

use crate::codec::{float_histogram_to_proto, histogram_to_proto};
use crate::proto;

use super::position::Ack;

/// A series as the queue sends it: labels after `write_relabel_configs` and external labels.
#[derive(Debug)]
pub(crate) struct SeriesInfo {
    pub labels: Labels,
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

fn labels_v1(l: &Labels) -> Vec<proto::Label> {
    l.iter()
        .map(|l| proto::Label {
            name: l.name.to_owned(),
            value: l.value.to_owned(),
        })
        .collect()
}

/// The items as a 1.0 request, one `TimeSeries` per series in order of first appearance.
pub(crate) fn encode_v1(items: &[Item]) -> Vec<u8> {
    let mut series: Vec<proto::TimeSeries> = Vec::new();
    let mut index: HashMap<*const SeriesInfo, usize> = HashMap::new();
    for it in items {
        let i = *index.entry(Arc::as_ptr(&it.series)).or_insert_with(|| {
            series.push(proto::TimeSeries {
                labels: labels_v1(&it.series.labels),
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

    fn labels(&mut self, l: &Labels) -> Vec<u32> {
        let mut out = Vec::with_capacity(l.len() * 2);
        for l in l {
            out.push(self.get(l.name));
            out.push(self.get(l.value));
        }
        out
    }
}

/// The items as a 2.0 request.
pub(crate) fn encode_v2(items: &[Item]) -> Vec<u8> {
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
                labels_refs: sym.labels(&it.series.labels),
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
                let labels_refs = sym.labels(labels);
                ts.exemplars.push(proto::v2::Exemplar {
                    labels_refs,
                    value: *value,
                    timestamp: it.t,
                });
            }
        }
    }
    compress(
        &proto::v2::Request {
            symbols: sym.list,
            timeseries: series,
        }
        .encode_to_vec(),
    )
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
    fn v1_and_v2_requests_decode_to_the_same_series() {
        let a = Arc::new(SeriesInfo {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "a")]),
        });
        let b = Arc::new(SeriesInfo {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "b")]),
        });
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
}
