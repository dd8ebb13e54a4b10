//! The payloads of WAL records, encoded byte for byte as Prometheus's `tsdb/record` package:
//! series (1), samples (2), tombstones (3), exemplars (4), metadata (6) and native histogram
//! samples (7–10, in [`crate::wal::histogram`]).

use model::Labels;

use crate::encoding::{Decbuf, Encbuf};
use crate::error::DecodeError;
pub use crate::wal::histogram::{
    CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES, CUSTOM_BUCKETS_HISTOGRAM_SAMPLES,
    RefFloatHistogramSample, RefHistogramSample, decode_float_histogram_samples,
    decode_histogram_samples, encode_float_histogram_samples, encode_histogram_samples,
};

/// Record type byte of a series record.
pub const SERIES: u8 = 1;
/// Record type byte of a float samples record.
pub const SAMPLES: u8 = 2;
/// Record type byte of a tombstones record.
pub const TOMBSTONES: u8 = 3;
/// Record type byte of an exemplars record.
pub const EXEMPLARS: u8 = 4;
/// Record type byte of an mmap markers record (out-of-order log only).
pub const MMAP_MARKERS: u8 = 5;
/// Record type byte of a metadata record.
pub const METADATA: u8 = 6;
/// Record type byte of an integer histogram samples record.
pub const HISTOGRAM_SAMPLES: u8 = 7;
/// Record type byte of a float histogram samples record.
pub const FLOAT_HISTOGRAM_SAMPLES: u8 = 8;

/// A series and the reference the head gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSeries {
    /// The series reference.
    pub id: u64,
    /// Its labels.
    pub labels: Labels,
}

/// A float sample of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// The series reference.
    pub id: u64,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The value (bit-exact: staleness markers survive).
    pub v: f64,
}

/// A deletion of a series' samples in `[mint, maxt]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTombstone {
    /// The series reference.
    pub id: u64,
    /// First deleted timestamp.
    pub mint: i64,
    /// Last deleted timestamp.
    pub maxt: i64,
}

/// An exemplar of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct RefExemplar {
    /// The series reference.
    pub id: u64,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The value.
    pub v: f64,
    /// The exemplar's own labels (`trace_id`...).
    pub labels: Labels,
}

/// An mmap marker of the write-behind log: series `id`'s out-of-order head chunk was written
/// to the head chunk files as chunk `mmap_ref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefMmapMarker {
    /// The series reference.
    pub id: u64,
    /// The head chunk reference.
    pub mmap_ref: u64,
}

/// Metadata of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefMetadata {
    /// The series reference.
    pub id: u64,
    /// Metric type as Prometheus numbers them (0 unknown, 1 counter, 2 gauge, ...).
    pub typ: u8,
    /// Unit.
    pub unit: String,
    /// Help text.
    pub help: String,
}

/// The number Prometheus's WAL gives a metric type.
#[must_use]
pub fn metric_type_number(t: model::exposition::MetricType) -> u8 {
    use model::exposition::MetricType as T;
    match t {
        T::Unknown => 0,
        T::Counter => 1,
        T::Gauge => 2,
        T::Histogram => 3,
        T::GaugeHistogram => 4,
        T::Summary => 5,
        T::Info => 6,
        T::StateSet => 7,
    }
}

/// The metric type numbered `n` in Prometheus's WAL (unknown for numbers it does not use).
#[must_use]
pub fn metric_type_from_number(n: u8) -> model::exposition::MetricType {
    use model::exposition::MetricType as T;
    match n {
        1 => T::Counter,
        2 => T::Gauge,
        3 => T::Histogram,
        4 => T::GaugeHistogram,
        5 => T::Summary,
        6 => T::Info,
        7 => T::StateSet,
        _ => T::Unknown,
    }
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<RefSeries>),
    /// Float samples.
    Samples(Vec<RefSample>),
    /// Deletions.
    Tombstones(Vec<RefTombstone>),
    /// Exemplars.
    Exemplars(Vec<RefExemplar>),
    /// Metadata.
    Metadata(Vec<RefMetadata>),
    /// Mmap markers (write-behind log).
    MmapMarkers(Vec<RefMmapMarker>),
    /// Native histograms with integer counts (types 7 and 9).
    HistogramSamples(Vec<RefHistogramSample>),
    /// Native histograms with float counts (types 8 and 10).
    FloatHistogramSamples(Vec<RefFloatHistogramSample>),
    /// Start timestamps of the samples of the next sample records (Firewatch's own type,
    /// [`crate::start::START_TIMESTAMPS`]; Prometheus skips it).
    StartTimestamps(Vec<crate::start::RefStart>),
    /// A record type this reader does not decode (histograms, mmap markers...): its type byte.
    Unsupported(u8),
}

fn put_labels(b: &mut Encbuf, labels: &Labels) {
    b.put_uvarint(labels.len() as u64);
    for l in labels {
        b.put_uvarint_str(l.name);
        b.put_uvarint_str(l.value);
    }
}

fn get_labels(d: &mut Decbuf<'_>) -> Result<Labels, DecodeError> {
    let n = d.uvarint_usize()?;
    let mut pairs = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let name = d.uvarint_str()?;
        let value = d.uvarint_str()?;
        // A corrupt record must not build an invalid label set (found by the robustness
        // tests: it tripped `Labels`' debug assertion).
        if name.is_empty() {
            return Err(DecodeError::Invalid("label with an empty name".into()));
        }
        pairs.push((name, value));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Encodes a series record into `b` (cleared first).
pub fn encode_series(series: &[RefSeries], b: &mut Encbuf) {
    b.reset();
    b.put_byte(SERIES);
    for s in series {
        b.put_be64(s.id);
        put_labels(b, &s.labels);
    }
}

/// Encodes a samples record into `b` (cleared first): the first sample's reference and
/// timestamp as a base, then each sample as deltas to that base.
pub fn encode_samples(samples: &[RefSample], b: &mut Encbuf) {
    b.reset();
    b.put_byte(SAMPLES);
    let Some(first) = samples.first() else { return };
    b.put_be64(first.id);
    b.put_be64_i64(first.t);
    for s in samples {
        b.put_varint(s.id.wrapping_sub(first.id) as i64);
        b.put_varint(s.t.wrapping_sub(first.t));
        b.put_be64(s.v.to_bits());
    }
}

/// Encodes a tombstones record into `b` (cleared first).
pub fn encode_tombstones(stones: &[RefTombstone], b: &mut Encbuf) {
    b.reset();
    b.put_byte(TOMBSTONES);
    for s in stones {
        b.put_be64(s.id);
        b.put_varint(s.mint);
        b.put_varint(s.maxt);
    }
}

/// Encodes an exemplars record into `b` (cleared first).
pub fn encode_exemplars(exemplars: &[RefExemplar], b: &mut Encbuf) {
    b.reset();
    b.put_byte(EXEMPLARS);
    let Some(first) = exemplars.first() else {
        return;
    };
    b.put_be64(first.id);
    b.put_be64_i64(first.t);
    for e in exemplars {
        b.put_varint(e.id.wrapping_sub(first.id) as i64);
        b.put_varint(e.t.wrapping_sub(first.t));
        b.put_be64(e.v.to_bits());
        put_labels(b, &e.labels);
    }
}

/// Encodes an mmap markers record into `b` (cleared first).
pub fn encode_mmap_markers(markers: &[RefMmapMarker], b: &mut Encbuf) {
    b.reset();
    b.put_byte(MMAP_MARKERS);
    for m in markers {
        b.put_be64(m.id);
        b.put_be64(m.mmap_ref);
    }
}

/// Encodes a metadata record into `b` (cleared first).
pub fn encode_metadata(meta: &[RefMetadata], b: &mut Encbuf) {
    b.reset();
    b.put_byte(METADATA);
    for m in meta {
        b.put_uvarint(m.id);
        b.put_byte(m.typ);
        b.put_uvarint(2);
        b.put_uvarint_str("UNIT");
        b.put_uvarint_str(&m.unit);
        b.put_uvarint_str("HELP");
        b.put_uvarint_str(&m.help);
    }
}

fn finish<T>(d: &Decbuf<'_>, v: T) -> Result<T, DecodeError> {
    if d.is_empty() {
        Ok(v)
    } else {
        Err(DecodeError::Invalid(format!(
            "unexpected {} bytes left in entry",
            d.len()
        )))
    }
}

/// The samples of a float samples record, decoded one at a time (no intermediate `Vec`):
/// what WAL replay's appender threads read straight from the record's bytes.
#[derive(Debug, Clone)]
pub struct SampleIter<'a> {
    d: Decbuf<'a>,
    base_ref: u64,
    base_t: i64,
    failed: bool,
}

impl<'a> SampleIter<'a> {
    /// An iterator over the samples of `rec`, a whole samples record (type byte included).
    ///
    /// # Errors
    /// Another record type, or a header cut short.
    pub fn new(rec: &'a [u8]) -> Result<Self, DecodeError> {
        let mut d = Decbuf::new(rec);
        let typ = d.byte()?;
        if typ != SAMPLES {
            return Err(DecodeError::Invalid(format!(
                "record type {typ} is not a samples record"
            )));
        }
        let (base_ref, base_t) = if d.is_empty() {
            (0, 0)
        } else {
            (d.be64()?, d.be64_i64()?)
        };
        Ok(Self {
            d,
            base_ref,
            base_t,
            failed: false,
        })
    }

    fn read(&mut self) -> Result<RefSample, DecodeError> {
        let dref = self.d.varint()?;
        let dt = self.d.varint()?;
        let v = f64::from_bits(self.d.be64()?);
        Ok(RefSample {
            id: self.base_ref.wrapping_add(dref as u64),
            t: self.base_t.wrapping_add(dt),
            v,
        })
    }

    /// Checks that every sample of the record decodes, and counts them.
    ///
    /// # Errors
    /// The first sample that does not decode.
    pub fn validate(mut self) -> Result<usize, DecodeError> {
        let mut n = 0;
        while !self.d.is_empty() {
            self.read()?;
            n += 1;
        }
        Ok(n)
    }
}

impl Iterator for SampleIter<'_> {
    type Item = Result<RefSample, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.d.is_empty() {
            return None;
        }
        let r = self.read();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Decodes one record.
///
/// # Errors
/// Truncated or malformed payloads, and empty records.
pub fn decode(rec: &[u8]) -> Result<Record, DecodeError> {
    let mut d = Decbuf::new(rec);
    let typ = d.byte()?;
    match typ {
        SERIES => {
            let mut out = Vec::new();
            while !d.is_empty() {
                let id = d.be64()?;
                out.push(RefSeries {
                    id,
                    labels: get_labels(&mut d)?,
                });
            }
            finish(&d, Record::Series(out))
        }
        SAMPLES => {
            let mut out = Vec::with_capacity(d.len() / 10);
            for s in SampleIter::new(rec)? {
                out.push(s?);
            }
            Ok(Record::Samples(out))
        }
        TOMBSTONES => {
            let mut out = Vec::new();
            while !d.is_empty() {
                let id = d.be64()?;
                let mint = d.varint()?;
                let maxt = d.varint()?;
                out.push(RefTombstone { id, mint, maxt });
            }
            finish(&d, Record::Tombstones(out))
        }
        EXEMPLARS => {
            let mut out = Vec::new();
            if !d.is_empty() {
                let base_ref = d.be64()?;
                let base_t = d.be64_i64()?;
                while !d.is_empty() {
                    let dref = d.varint()?;
                    let dt = d.varint()?;
                    let v = f64::from_bits(d.be64()?);
                    let labels = get_labels(&mut d)?;
                    out.push(RefExemplar {
                        id: base_ref.wrapping_add(dref as u64),
                        t: base_t.wrapping_add(dt),
                        v,
                        labels,
                    });
                }
            }
            finish(&d, Record::Exemplars(out))
        }
        MMAP_MARKERS => {
            let mut out = Vec::new();
            while !d.is_empty() {
                let id = d.be64()?;
                let mmap_ref = d.be64()?;
                out.push(RefMmapMarker { id, mmap_ref });
            }
            finish(&d, Record::MmapMarkers(out))
        }
        METADATA => {
            let mut out = Vec::new();
            while !d.is_empty() {
                let id = d.uvarint()?;
                let typ = d.byte()?;
                let fields = d.uvarint_usize()?;
                let (mut unit, mut help) = (String::new(), String::new());
                for _ in 0..fields {
                    let name = d.uvarint_str()?;
                    let value = d.uvarint_str()?;
                    match name {
                        "UNIT" => value.clone_into(&mut unit),
                        "HELP" => value.clone_into(&mut help),
                        _ => {}
                    }
                }
                out.push(RefMetadata {
                    id,
                    typ,
                    unit,
                    help,
                });
            }
            finish(&d, Record::Metadata(out))
        }
        HISTOGRAM_SAMPLES | CUSTOM_BUCKETS_HISTOGRAM_SAMPLES => {
            let v = decode_histogram_samples(&mut d)?;
            finish(&d, Record::HistogramSamples(v))
        }
        FLOAT_HISTOGRAM_SAMPLES | CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES => {
            let v = decode_float_histogram_samples(&mut d)?;
            finish(&d, Record::FloatHistogramSamples(v))
        }
        crate::start::START_TIMESTAMPS => {
            let starts = crate::start::decode_record(&mut d)?;
            finish(&d, Record::StartTimestamps(starts))
        }
        other => Ok(Record::Unsupported(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels;

    #[test]
    fn samples_encode_like_prometheus() {
        // Base ref 5, base t 1000; second sample ref 6 (+1), t 1015 (+15).
        let mut b = Encbuf::new();
        encode_samples(
            &[
                RefSample {
                    id: 5,
                    t: 1000,
                    v: 1.0,
                },
                RefSample {
                    id: 6,
                    t: 1015,
                    v: 2.0,
                },
            ],
            &mut b,
        );
        let mut want = vec![SAMPLES];
        want.extend_from_slice(&5u64.to_be_bytes());
        want.extend_from_slice(&1000u64.to_be_bytes());
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[2, 30]);
        want.extend_from_slice(&2.0f64.to_bits().to_be_bytes());
        assert_eq!(b.get(), &want[..]);
    }

    #[test]
    fn round_trip_all_types() {
        let mut b = Encbuf::new();
        let series = vec![
            RefSeries {
                id: 1,
                labels: labels!("__name__" => "up", "job" => "a"),
            },
            RefSeries {
                id: 300,
                labels: labels!("x" => "é"),
            },
        ];
        encode_series(&series, &mut b);
        assert_eq!(decode(b.get()).unwrap(), Record::Series(series));

        let samples = vec![
            RefSample {
                id: 10,
                t: 5000,
                v: model::STALE_NAN,
            },
            RefSample {
                id: 3,
                t: 4000,
                v: -1.5,
            },
        ];
        encode_samples(&samples, &mut b);
        let Record::Samples(got) = decode(b.get()).unwrap() else {
            panic!("not samples")
        };
        assert_eq!(got[0].v.to_bits(), model::STALE_NAN.to_bits());
        assert_eq!((got[1].id, got[1].t, got[1].v), (3, 4000, -1.5));

        let stones = vec![RefTombstone {
            id: 7,
            mint: -5,
            maxt: 99,
        }];
        encode_tombstones(&stones, &mut b);
        assert_eq!(decode(b.get()).unwrap(), Record::Tombstones(stones));

        let ex = vec![RefExemplar {
            id: 4,
            t: 9,
            v: 0.5,
            labels: labels!("trace_id" => "ab"),
        }];
        encode_exemplars(&ex, &mut b);
        assert_eq!(decode(b.get()).unwrap(), Record::Exemplars(ex));

        let meta = vec![RefMetadata {
            id: 2,
            typ: 1,
            unit: "seconds".into(),
            help: "h".into(),
        }];
        encode_metadata(&meta, &mut b);
        assert_eq!(decode(b.get()).unwrap(), Record::Metadata(meta));

        let markers = vec![RefMmapMarker {
            id: 3,
            mmap_ref: (7 << 32) | 8,
        }];
        encode_mmap_markers(&markers, &mut b);
        let mut want = vec![MMAP_MARKERS];
        want.extend_from_slice(&3u64.to_be_bytes());
        want.extend_from_slice(&((7u64 << 32) | 8).to_be_bytes());
        assert_eq!(b.get(), &want[..]);
        assert_eq!(decode(b.get()).unwrap(), Record::MmapMarkers(markers));

        encode_samples(&[], &mut b);
        assert_eq!(decode(b.get()).unwrap(), Record::Samples(vec![]));
        assert!(
            decode(&[SERIES, 0, 0]).is_err(),
            "truncated series must not decode"
        );
    }
}
