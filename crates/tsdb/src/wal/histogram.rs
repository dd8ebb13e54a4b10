//! Native histogram sample records of the WAL, as Prometheus's `tsdb/record` writes them:
//! integer histograms (type 7, or 9 with custom buckets) and float histograms (8, or 10).
//! Like float samples, the first sample's reference and timestamp are the base of deltas.

use model::histogram::CounterResetHint;
use model::{FloatHistogram, Histogram, Span};

use crate::encoding::{Decbuf, Encbuf};
use crate::error::DecodeError;

/// Record type of integer histograms with custom buckets (Prometheus 3).
pub const CUSTOM_BUCKETS_HISTOGRAM_SAMPLES: u8 = 9;
/// Record type of float histograms with custom buckets (Prometheus 3).
pub const CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES: u8 = 10;
/// The schema of histograms with custom bucket bounds.
const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// An integer histogram sample of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct RefHistogramSample {
    /// The series reference.
    pub id: u64,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The histogram.
    pub h: Histogram,
}

/// A float histogram sample of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct RefFloatHistogramSample {
    /// The series reference.
    pub id: u64,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The histogram.
    pub h: FloatHistogram,
}

fn hint_byte(h: CounterResetHint) -> u8 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_from(b: u8) -> CounterResetHint {
    match b {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    }
}

fn put_spans(b: &mut Encbuf, spans: &[Span]) {
    b.put_uvarint(spans.len() as u64);
    for s in spans {
        b.put_varint(i64::from(s.offset));
        b.put_uvarint(u64::from(s.length));
    }
}

fn get_spans(d: &mut Decbuf<'_>) -> Result<Vec<Span>, DecodeError> {
    let n = d.uvarint_usize()?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let offset = i32::try_from(d.varint()?).map_err(|_| DecodeError::InvalidVarint)?;
        let length = d.uvarint32()?;
        out.push(Span { offset, length });
    }
    Ok(out)
}

fn put_floats(b: &mut Encbuf, v: &[f64]) {
    b.put_uvarint(v.len() as u64);
    for x in v {
        b.put_be64(x.to_bits());
    }
}

fn get_floats(d: &mut Decbuf<'_>) -> Result<Vec<f64>, DecodeError> {
    let n = d.uvarint_usize()?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        out.push(f64::from_bits(d.be64()?));
    }
    Ok(out)
}

fn get_schema(d: &mut Decbuf<'_>) -> Result<i32, DecodeError> {
    i32::try_from(d.varint()?).map_err(|_| DecodeError::InvalidVarint)
}

/// Appends one integer histogram in Prometheus's `EncodeHistogram` layout.
pub fn put_histogram(b: &mut Encbuf, h: &Histogram) {
    b.put_byte(hint_byte(h.counter_reset_hint));
    b.put_varint(i64::from(h.schema));
    b.put_be64(h.zero_threshold.to_bits());
    b.put_uvarint(h.zero_count);
    b.put_uvarint(h.count);
    b.put_be64(h.sum.to_bits());
    put_spans(b, &h.positive_spans);
    put_spans(b, &h.negative_spans);
    for buckets in [&h.positive_buckets, &h.negative_buckets] {
        b.put_uvarint(buckets.len() as u64);
        for x in buckets {
            b.put_varint(*x);
        }
    }
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        put_floats(b, &h.custom_values);
    }
}

/// Reads one integer histogram.
///
/// # Errors
/// Truncated or malformed data.
pub fn get_histogram(d: &mut Decbuf<'_>) -> Result<Histogram, DecodeError> {
    let counter_reset_hint = hint_from(d.byte()?);
    let schema = get_schema(d)?;
    let zero_threshold = f64::from_bits(d.be64()?);
    let zero_count = d.uvarint()?;
    let count = d.uvarint()?;
    let sum = f64::from_bits(d.be64()?);
    let positive_spans = get_spans(d)?;
    let negative_spans = get_spans(d)?;
    let mut buckets = [Vec::new(), Vec::new()];
    for b in &mut buckets {
        let n = d.uvarint_usize()?;
        b.reserve(n.min(1024));
        for _ in 0..n {
            b.push(d.varint()?);
        }
    }
    let [positive_buckets, negative_buckets] = buckets;
    let custom_values = if schema == CUSTOM_BUCKETS_SCHEMA {
        get_floats(d)?
    } else {
        Vec::new()
    };
    Ok(Histogram {
        counter_reset_hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values,
    })
}

/// Appends one float histogram in Prometheus's `EncodeFloatHistogram` layout.
pub fn put_float_histogram(b: &mut Encbuf, h: &FloatHistogram) {
    b.put_byte(hint_byte(h.counter_reset_hint));
    b.put_varint(i64::from(h.schema));
    for x in [h.zero_threshold, h.zero_count, h.count, h.sum] {
        b.put_be64(x.to_bits());
    }
    put_spans(b, &h.positive_spans);
    put_spans(b, &h.negative_spans);
    put_floats(b, &h.positive_buckets);
    put_floats(b, &h.negative_buckets);
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        put_floats(b, &h.custom_values);
    }
}

/// Reads one float histogram.
///
/// # Errors
/// Truncated or malformed data.
pub fn get_float_histogram(d: &mut Decbuf<'_>) -> Result<FloatHistogram, DecodeError> {
    let counter_reset_hint = hint_from(d.byte()?);
    let schema = get_schema(d)?;
    let zero_threshold = f64::from_bits(d.be64()?);
    let zero_count = f64::from_bits(d.be64()?);
    let count = f64::from_bits(d.be64()?);
    let sum = f64::from_bits(d.be64()?);
    let positive_spans = get_spans(d)?;
    let negative_spans = get_spans(d)?;
    let positive_buckets = get_floats(d)?;
    let negative_buckets = get_floats(d)?;
    let custom_values = if schema == CUSTOM_BUCKETS_SCHEMA {
        get_floats(d)?
    } else {
        Vec::new()
    };
    Ok(FloatHistogram {
        counter_reset_hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values,
    })
}

/// Encodes integer histogram samples into `b` (cleared first); `typ` is 7, or 9 when they
/// use custom buckets.
pub fn encode_histogram_samples(samples: &[RefHistogramSample], b: &mut Encbuf) {
    b.reset();
    let custom = samples
        .first()
        .is_some_and(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    b.put_byte(if custom {
        CUSTOM_BUCKETS_HISTOGRAM_SAMPLES
    } else {
        super::record::HISTOGRAM_SAMPLES
    });
    let Some(first) = samples.first() else { return };
    b.put_be64(first.id);
    b.put_be64_i64(first.t);
    for s in samples {
        b.put_varint(s.id.wrapping_sub(first.id) as i64);
        b.put_varint(s.t.wrapping_sub(first.t));
        put_histogram(b, &s.h);
    }
}

/// Encodes float histogram samples into `b` (cleared first).
pub fn encode_float_histogram_samples(samples: &[RefFloatHistogramSample], b: &mut Encbuf) {
    b.reset();
    let custom = samples
        .first()
        .is_some_and(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    b.put_byte(if custom {
        CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES
    } else {
        super::record::FLOAT_HISTOGRAM_SAMPLES
    });
    let Some(first) = samples.first() else { return };
    b.put_be64(first.id);
    b.put_be64_i64(first.t);
    for s in samples {
        b.put_varint(s.id.wrapping_sub(first.id) as i64);
        b.put_varint(s.t.wrapping_sub(first.t));
        put_float_histogram(b, &s.h);
    }
}

/// Decodes the body (after the type byte) of an integer histogram samples record.
///
/// # Errors
/// Truncated or malformed data.
pub fn decode_histogram_samples(
    d: &mut Decbuf<'_>,
) -> Result<Vec<RefHistogramSample>, DecodeError> {
    let mut out = Vec::new();
    if d.is_empty() {
        return Ok(out);
    }
    let base_ref = d.be64()?;
    let base_t = d.be64_i64()?;
    while !d.is_empty() {
        let dref = d.varint()?;
        let dt = d.varint()?;
        let h = get_histogram(d)?;
        out.push(RefHistogramSample {
            id: base_ref.wrapping_add(dref as u64),
            t: base_t.wrapping_add(dt),
            h,
        });
    }
    Ok(out)
}

/// Decodes the body (after the type byte) of a float histogram samples record.
///
/// # Errors
/// Truncated or malformed data.
pub fn decode_float_histogram_samples(
    d: &mut Decbuf<'_>,
) -> Result<Vec<RefFloatHistogramSample>, DecodeError> {
    let mut out = Vec::new();
    if d.is_empty() {
        return Ok(out);
    }
    let base_ref = d.be64()?;
    let base_t = d.be64_i64()?;
    while !d.is_empty() {
        let dref = d.varint()?;
        let dt = d.varint()?;
        let h = get_float_histogram(d)?;
        out.push(RefFloatHistogramSample {
            id: base_ref.wrapping_add(dref as u64),
            t: base_t.wrapping_add(dt),
            h,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::{Record, decode};

    fn hist(schema: i32) -> Histogram {
        Histogram {
            counter_reset_hint: CounterResetHint::NotCounterReset,
            schema,
            zero_threshold: 0.001,
            zero_count: 2,
            count: 12,
            sum: 18.4,
            positive_spans: vec![
                Span {
                    offset: 0,
                    length: 2,
                },
                Span {
                    offset: 1,
                    length: 2,
                },
            ],
            negative_spans: vec![Span {
                offset: -2,
                length: 1,
            }],
            positive_buckets: vec![1, 1, -1, 0],
            negative_buckets: vec![2],
            custom_values: if schema == CUSTOM_BUCKETS_SCHEMA {
                vec![0.5, 1.0, 2.5, 5.0]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn histogram_records_round_trip() {
        let mut b = Encbuf::new();
        for schema in [3, CUSTOM_BUCKETS_SCHEMA] {
            let samples = vec![
                RefHistogramSample {
                    id: 9,
                    t: 1000,
                    h: hist(schema),
                },
                RefHistogramSample {
                    id: 4,
                    t: 2000,
                    h: hist(schema),
                },
            ];
            encode_histogram_samples(&samples, &mut b);
            assert_eq!(
                decode(b.get()).unwrap(),
                Record::HistogramSamples(samples.clone())
            );
            let floats: Vec<RefFloatHistogramSample> = samples
                .iter()
                .map(|s| RefFloatHistogramSample {
                    id: s.id,
                    t: s.t,
                    h: s.h.to_float(),
                })
                .collect();
            encode_float_histogram_samples(&floats, &mut b);
            assert_eq!(
                decode(b.get()).unwrap(),
                Record::FloatHistogramSamples(floats)
            );
        }
    }

    #[test]
    fn histogram_layout_matches_prometheus() {
        // One empty-bucket histogram: hint, schema varint, zero threshold, zero count, count,
        // sum, four empty lists.
        let h = Histogram {
            schema: 1,
            count: 3,
            sum: 1.5,
            ..Histogram::default()
        };
        let mut b = Encbuf::new();
        put_histogram(&mut b, &h);
        let mut want = vec![0u8, 2];
        want.extend_from_slice(&0f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[0, 3]);
        want.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(b.get(), &want[..]);
    }
}
