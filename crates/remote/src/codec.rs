//! Conversions from Firewatch's samples to the protobuf messages (Prometheus's
//! `storage/remote/codec.go`, `HistogramToHistogramProto` and `FloatHistogramToHistogramProto`).

use model::histogram::CounterResetHint;
use model::{FloatHistogram, Histogram, Span};

use crate::proto;

fn spans(s: &[Span]) -> Vec<proto::BucketSpan> {
    s.iter()
        .map(|s| proto::BucketSpan {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

fn hint(h: CounterResetHint) -> i32 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

/// An integer histogram at `t` as its protobuf message (bucket counts as deltas).
#[must_use]
pub fn histogram_to_proto(t: i64, h: &Histogram) -> proto::Histogram {
    proto::Histogram {
        count: Some(proto::HistogramCount::CountInt(h.count)),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(proto::HistogramZeroCount::ZeroCountInt(h.zero_count)),
        negative_spans: spans(&h.negative_spans),
        negative_deltas: h.negative_buckets.clone(),
        negative_counts: vec![],
        positive_spans: spans(&h.positive_spans),
        positive_deltas: h.positive_buckets.clone(),
        positive_counts: vec![],
        reset_hint: hint(h.counter_reset_hint),
        timestamp: t,
        custom_values: h.custom_values.clone(),
    }
}

/// A float histogram at `t` as its protobuf message (absolute bucket counts).
#[must_use]
pub fn float_histogram_to_proto(t: i64, h: &FloatHistogram) -> proto::Histogram {
    proto::Histogram {
        count: Some(proto::HistogramCount::CountFloat(h.count)),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(proto::HistogramZeroCount::ZeroCountFloat(h.zero_count)),
        negative_spans: spans(&h.negative_spans),
        negative_deltas: vec![],
        negative_counts: h.negative_buckets.clone(),
        positive_spans: spans(&h.positive_spans),
        positive_deltas: vec![],
        positive_counts: h.positive_buckets.clone(),
        reset_hint: hint(h.counter_reset_hint),
        timestamp: t,
        custom_values: h.custom_values.clone(),
    }
}

/// The most a snappy block can expand: a 3-byte copy element yields at most 64 bytes.
const MAX_SNAPPY_RATIO: usize = 22;

/// Decompresses a snappy block (the remote-write and remote-read body encoding), refusing a
/// header that claims more output than `body` could expand to before allocating it: without
/// the check a 7-byte body claiming 4 GiB made the decoder allocate 4 GiB.
///
/// # Errors
/// The impossible claimed length, or the snappy error.
pub fn decompress(body: &[u8]) -> Result<Vec<u8>, crate::RemoteError> {
    let claimed = snap::raw::decompress_len(body)?;
    let limit = body
        .len()
        .saturating_mul(MAX_SNAPPY_RATIO)
        .saturating_add(64);
    if claimed > limit {
        return Err(crate::RemoteError::Invalid(format!(
            "snappy header claims {claimed} decompressed bytes, more than a {}-byte body can hold",
            body.len()
        )));
    }
    Ok(snap::raw::Decoder::new().decompress_vec(body)?)
}
