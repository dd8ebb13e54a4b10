//! Tests of the integer histogram chunk.

use model::histogram::{CounterResetHint, Histogram, Span};
use model::{STALE_NAN, is_stale_nan};
use proptest::prelude::*;
use storage::{SampleIterator, ValueType};

use super::*;

fn hist(count: u64, zero: u64, sum: f64, pos: Vec<i64>) -> Histogram {
    Histogram {
        schema: 3,
        zero_threshold: 0.001,
        zero_count: zero,
        count,
        sum,
        positive_spans: vec![
            Span {
                offset: -2,
                length: 2,
            },
            Span {
                offset: 3,
                length: (pos.len() - 2) as u32,
            },
        ],
        positive_buckets: pos,
        negative_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        negative_buckets: vec![1],
        ..Histogram::default()
    }
}

fn decode(c: &HistogramChunk) -> Vec<(i64, Histogram)> {
    let mut it = c.iter();
    let mut out = Vec::new();
    while it.next() == ValueType::Histogram {
        out.push(it.at_histogram());
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    out
}

/// A counter histogram growing by `incs` per step (delta-encoded buckets stay consistent).
fn series(steps: &[(i64, Vec<u8>)]) -> Vec<(i64, Histogram)> {
    let mut abs = [0i64; 4];
    let mut zero = 0u64;
    let mut t = 1_700_000_000_000i64;
    let mut sum = 0.0;
    steps
        .iter()
        .map(|(dt, incs)| {
            t += dt;
            for (a, i) in abs.iter_mut().zip(incs) {
                *a += i64::from(*i);
            }
            zero += u64::from(incs[0] % 3);
            sum += f64::from(incs[1]) * 0.25;
            let mut prev = 0;
            let deltas: Vec<i64> = abs
                .iter()
                .map(|a| {
                    let d = a - prev;
                    prev = *a;
                    d
                })
                .collect();
            let count = abs.iter().sum::<i64>() as u64 + zero + 1;
            (t, hist(count, zero, sum, deltas))
        })
        .collect()
}

#[test]
fn layout_bytes() {
    // Schema 0, no buckets, zero threshold 2^-128 (one byte: -127 + 243 = 116).
    let h = Histogram {
        schema: 0,
        zero_threshold: 2f64.powi(-128),
        count: 0,
        sum: 0.0,
        ..Histogram::default()
    };
    let mut c = HistogramChunk::new(CounterResetHeader::Unknown);
    assert_eq!(c.append(4, &h).unwrap(), HistogramAppend::Appended);
    // 00 01 | flags 00 | 116 | schema 0: '0' | no positive spans: '0' | no negative spans: '0'
    // | t=4: '10' + '100' | count '0' | zero count '0' | 64 bits of 0.0
    let b = c.bytes();
    assert_eq!(&b[..4], [0, 1, 0, 116]);
    assert_eq!(b[4], 0b0001_0100);
    assert_eq!(b[5], 0b0000_0000);
}

#[test]
fn roundtrip_counter_series_and_hints() {
    let s = series(&[
        (0, vec![1, 2, 3, 4]),
        (15_000, vec![0, 1, 0, 2]),
        (15_000, vec![5, 0, 0, 0]),
        (14_998, vec![1, 1, 1, 1]),
    ]);
    let mut c = HistogramChunk::new(CounterResetHeader::CounterReset);
    for (t, h) in &s {
        assert_eq!(c.append(*t, h).unwrap(), HistogramAppend::Appended);
    }
    let got = decode(&c);
    assert_eq!(got.len(), s.len());
    for (i, ((gt, gh), (t, h))) in got.iter().zip(&s).enumerate() {
        assert_eq!(gt, t);
        let want_hint = if i == 0 {
            CounterResetHint::Unknown
        } else {
            CounterResetHint::NotCounterReset
        };
        assert_eq!(gh.counter_reset_hint, want_hint);
        assert_eq!(
            Histogram {
                counter_reset_hint: CounterResetHint::Unknown,
                ..gh.clone()
            },
            *h
        );
    }
    assert_eq!(c.counter_reset_header(), CounterResetHeader::CounterReset);
}

#[test]
fn refusals_name_the_next_header() {
    let s = series(&[(0, vec![1, 2, 3, 4]), (15_000, vec![1, 1, 1, 1])]);
    let mut c = HistogramChunk::new(CounterResetHeader::Unknown);
    c.append(s[0].0, &s[0].1).unwrap();
    c.append(s[1].0, &s[1].1).unwrap();
    let mut reset = s[1].1.clone();
    reset.count -= 1;
    assert_eq!(
        c.append(40_000, &reset).unwrap(),
        HistogramAppend::NewChunk(CounterResetHeader::CounterReset)
    );
    let mut bucket_down = s[1].1.clone();
    bucket_down.positive_buckets[0] -= 1;
    bucket_down.positive_buckets[1] += 1;
    assert_eq!(
        c.append(40_000, &bucket_down).unwrap(),
        HistogramAppend::NewChunk(CounterResetHeader::CounterReset)
    );
    let mut schema = s[1].1.clone();
    schema.schema = 2;
    assert_eq!(
        c.append(40_000, &schema).unwrap(),
        HistogramAppend::NewChunk(CounterResetHeader::Unknown)
    );
    let mut gauge = s[1].1.clone();
    gauge.counter_reset_hint = CounterResetHint::Gauge;
    assert_eq!(
        c.append(40_000, &gauge).unwrap(),
        HistogramAppend::NewChunk(CounterResetHeader::Gauge)
    );
    assert_eq!(c.num_samples(), 2, "refused samples are not written");
    let mut bad = s[1].1.clone();
    bad.positive_buckets.pop();
    assert!(c.append(40_000, &bad).is_err());

    // A stale marker is appended; nothing may follow it in the chunk.
    let stale = Histogram {
        sum: STALE_NAN,
        ..Histogram::default()
    };
    assert_eq!(c.append(45_000, &stale).unwrap(), HistogramAppend::Appended);
    assert_eq!(
        c.append(60_000, &s[1].1).unwrap(),
        HistogramAppend::NewChunk(CounterResetHeader::Unknown)
    );
    let got = decode(&c);
    assert!(is_stale_nan(got[2].1.sum));
    assert_eq!(got[2].0, 45_000);
    assert_eq!(got[1].1.positive_buckets, s[1].1.positive_buckets);
}

#[test]
fn gauge_chunk_accepts_decreases() {
    let mut c = HistogramChunk::new(CounterResetHeader::Unknown);
    let mut a = hist(10, 2, 5.0, vec![3, 1, 0, 0]);
    a.counter_reset_hint = CounterResetHint::Gauge;
    let mut b = hist(4, 0, -1.0, vec![1, -1, 0, 2]);
    b.counter_reset_hint = CounterResetHint::Gauge;
    assert_eq!(c.append(0, &a).unwrap(), HistogramAppend::Appended);
    assert_eq!(c.append(10, &b).unwrap(), HistogramAppend::Appended);
    assert_eq!(c.counter_reset_header(), CounterResetHeader::Gauge);
    let got = decode(&c);
    assert_eq!(got[1].1, b);
    assert_eq!(got[0].1.counter_reset_hint, CounterResetHint::Gauge);
}

#[test]
fn zero_threshold_and_custom_bounds_encodings() {
    for z in [
        0.0,
        1e-128,
        2f64.powi(-243),
        2f64.powi(10),
        2f64.powi(11),
        0.3,
        1024.0,
        2048.0,
    ] {
        let h = Histogram {
            schema: -53,
            zero_threshold: z,
            custom_values: vec![0.005, 0.25, 1.0, 2.5, 1e9, -3.0],
            ..Histogram::default()
        };
        let mut c = HistogramChunk::new(CounterResetHeader::Unknown);
        c.append(1, &h).unwrap();
        let got = decode(&c);
        assert_eq!(
            got[0].1.zero_threshold.to_bits(),
            z.to_bits(),
            "threshold {z}"
        );
        assert_eq!(got[0].1.custom_values, h.custom_values);
    }
}

proptest! {
    #[test]
    fn roundtrip_and_reopen(steps in proptest::collection::vec((0i64..100_000, proptest::collection::vec(0u8..200, 4)), 1..150), split in 0usize..150) {
        let s = series(&steps);
        let mut whole = HistogramChunk::new(CounterResetHeader::Unknown);
        for (t, h) in &s {
            prop_assert_eq!(whole.append(*t, h).unwrap(), HistogramAppend::Appended);
        }
        let got = decode(&whole);
        for ((gt, gh), (t, h)) in got.iter().zip(&s) {
            prop_assert_eq!(gt, t);
            prop_assert_eq!(&gh.positive_buckets, &h.positive_buckets);
            prop_assert_eq!((gh.count, gh.zero_count, gh.sum.to_bits()), (h.count, h.zero_count, h.sum.to_bits()));
        }
        let split = split.min(s.len());
        let mut first = HistogramChunk::new(CounterResetHeader::Unknown);
        for (t, h) in &s[..split] {
            first.append(*t, h).unwrap();
        }
        let mut reopened = HistogramChunk::from_bytes(first.into_bytes()).unwrap();
        for (t, h) in &s[split..] {
            prop_assert_eq!(reopened.append(*t, h).unwrap(), HistogramAppend::Appended);
        }
        prop_assert_eq!(reopened.bytes(), whole.bytes());
    }
}
