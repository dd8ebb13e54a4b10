//! Tests of the chunk encodings.

use model::STALE_NAN;
use model::sample::STALE_NAN_BITS;
use proptest::prelude::*;
use storage::{SampleIterator, ValueType};

use super::*;

fn decode(data: &[u8]) -> Vec<(i64, u64)> {
    let mut it = XorIterator::new(data);
    let mut out = Vec::new();
    while it.next() == ValueType::Float {
        let (t, v) = it.at();
        out.push((t, v.to_bits()));
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    out
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v).unwrap();
    }
    c
}

#[test]
fn one_sample_layout() {
    // Header 00 01, varint(1) = 0x02, the 64 bits of 1.0, and the free byte Prometheus's bit
    // stream leaves after a byte-aligned write.
    let c = encode(&[(1, 1.0)]);
    assert_eq!(c.bytes(), [0, 1, 0x02, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn delta_of_delta_buckets_and_values() {
    // t: 1000 (first), +15000 (uvarint), dod 0, dod +1, dod -8191 (14 bits), dod 65536 (17),
    // dod 524288 (20), dod 2^40 (64); values repeat, change in window and out of window.
    let ts = [
        1000i64,
        16000,
        31000,
        46001,
        52811,
        125157,
        722_791,
        1_100_000_000_000,
    ];
    let vs = [
        1.0,
        1.0,
        2.0,
        3.0,
        -0.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        STALE_NAN,
    ];
    let samples: Vec<(i64, f64)> = ts.iter().copied().zip(vs).collect();
    let c = encode(&samples);
    let got = decode(c.bytes());
    let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(got, want);
    assert_eq!(c.num_samples(), 8);
    assert_eq!(
        c.last().map(|(t, v)| (t, v.to_bits())),
        Some((1_100_000_000_000, STALE_NAN_BITS))
    );
}

#[test]
fn second_sample_bits() {
    // Second sample: uvarint(15000) = 0x98 0x75, then value 2.0 ^ 1.0 = 0x7ff0...: bit 1,
    // bit 1 (new window), leading 1 (5 bits), significant 11 (6 bits), 11 bits 0b11111111111.
    let c = encode(&[(0, 1.0), (15000, 2.0)]);
    let b = c.bytes();
    assert_eq!(&b[..2], [0, 2]);
    assert_eq!(&b[2..12], [0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x98]);
    assert_eq!(b[12], 0x75);
    // 1 1 00001 001011 11111111111 -> 11000010 01011111 11111111 (24 bits exactly)
    assert_eq!(&b[13..], [0b1100_0010, 0b0101_1111, 0b1111_1111]);
}

#[test]
fn seek_semantics() {
    let c = encode(&(0..10).map(|i| (i * 10, i as f64)).collect::<Vec<_>>());
    let mut it = c.iter();
    assert_eq!(it.seek(25), ValueType::Float);
    assert_eq!(it.at(), (30, 3.0));
    assert_eq!(it.seek(5), ValueType::Float, "never moves back");
    assert_eq!(it.at_t(), 30);
    assert_eq!(it.seek(30), ValueType::Float);
    assert_eq!(it.at_t(), 30);
    assert_eq!(it.seek(91), ValueType::None);
    assert_eq!(it.seek(0), ValueType::None);
    assert_eq!(it.next(), ValueType::None);
}

#[test]
fn truncated_chunk_reports_error() {
    let c = encode(&[(0, 1.0), (15, 2.0), (30, 3.5)]);
    let mut b = c.bytes().to_vec();
    b.truncate(b.len() - 3);
    let mut it = XorIterator::new(&b[..]);
    let mut n = 0;
    while it.next() == ValueType::Float {
        n += 1;
    }
    assert!(n < 3);
    assert!(it.err().is_some());
    assert!(XorChunk::from_bytes(b).is_err());
    assert!(XorChunk::from_bytes(vec![0]).is_err());
}

#[test]
fn empty_chunk() {
    let c = XorChunk::new();
    assert_eq!(c.bytes(), [0, 0]);
    assert!(decode(c.bytes()).is_empty());
    let mut r = XorChunk::from_bytes(vec![0, 0]).unwrap();
    r.append(5, 5.0).unwrap();
    assert_eq!(r.bytes(), encode(&[(5, 5.0)]).bytes());
}

#[test]
fn full_chunk_refuses() {
    let mut c = XorChunk::new();
    for i in 0..65535 {
        c.append(i, 0.0).unwrap();
    }
    assert!(c.append(65535, 0.0).is_err());
    assert_eq!(c.num_samples(), 65535);
}

#[test]
fn encoding_bytes() {
    for e in [
        Encoding::None,
        Encoding::Xor,
        Encoding::Histogram,
        Encoding::FloatHistogram,
    ] {
        assert_eq!(Encoding::from_u8(e.as_u8()), Some(e));
    }
    assert_eq!(
        Encoding::from_u8(0x81),
        Some(Encoding::Xor),
        "OOO bit ignored"
    );
    assert_eq!(Encoding::from_u8(9), None);
    assert_eq!(Encoding::Xor.to_string(), "XOR");
    assert!(iterator(Encoding::None, &[0, 0]).is_err());
    let c = encode(&[(1, 2.0)]);
    let mut it = iterator(Encoding::Xor, c.bytes()).unwrap();
    assert_eq!(it.next(), ValueType::Float);
    assert_eq!(it.at(), (1, 2.0));
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(STALE_NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        (0u32..1000).prop_map(f64::from),
    ]
}

fn delta() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(15_000i64),
        4 => 14_000i64..16_000,
        1 => 0i64..1 << 22,
        1 => 1i64..1 << 45,
        1 => -(1i64 << 40)..0,
    ]
}

fn series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        any::<i32>(),
        proptest::collection::vec((delta(), value()), 0..300),
    )
        .prop_map(|(start, steps)| {
            let mut t = i64::from(start) * 1000;
            steps
                .into_iter()
                .map(|(d, v)| {
                    t = t.wrapping_add(d);
                    (t, v)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn roundtrip(samples in series()) {
        let c = encode(&samples);
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode(c.bytes()), want);
        prop_assert_eq!(c.num_samples(), samples.len());
    }

    #[test]
    fn counter_with_resets(steps in proptest::collection::vec((0u32..100, any::<bool>()), 1..240)) {
        let mut v = 0.0;
        let samples: Vec<(i64, f64)> = steps.iter().enumerate().map(|(i, &(inc, reset))| {
            v = if reset && i % 17 == 0 { f64::from(inc) } else { v + f64::from(inc) };
            (1_700_000_000_000 + i as i64 * 15_000, v)
        }).collect();
        let c = encode(&samples);
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode(c.bytes()), want);
    }

    #[test]
    fn reopen_continues_identically(samples in series(), split in 0usize..300) {
        let split = split.min(samples.len());
        let whole = encode(&samples);
        let mut reopened = XorChunk::from_bytes(encode(&samples[..split]).into_bytes()).unwrap();
        for &(t, v) in &samples[split..] {
            reopened.append(t, v).unwrap();
        }
        prop_assert_eq!(reopened.bytes(), whole.bytes());
    }

    #[test]
    fn seek_finds_first_at_or_after(samples in series(), probe in any::<i64>()) {
        // Seek is defined on increasing timestamps.
        let mut sorted: Vec<(i64, f64)> = samples;
        sorted.sort_by_key(|s| s.0);
        sorted.dedup_by_key(|s| s.0);
        let c = encode(&sorted);
        let mut it = c.iter();
        let want = sorted.iter().find(|s| s.0 >= probe).map(|s| s.0);
        let got = (it.seek(probe) == ValueType::Float).then(|| it.at_t());
        prop_assert_eq!(got, want);
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        for enc in [Encoding::Xor, Encoding::Histogram, Encoding::FloatHistogram] {
            let mut it = iterator(enc, &data).unwrap();
            let mut n = 0;
            loop {
                match it.next() {
                    ValueType::None => break,
                    ValueType::Float => { let _ = it.at(); }
                    ValueType::Histogram => { let _ = it.at_histogram(); }
                    ValueType::FloatHistogram => { let _ = it.at_float_histogram(); }
                }
                n += 1;
                prop_assert!(n <= 65_535);
            }
        }
        let _ = XorChunk::from_bytes(data.clone());
        let _ = HistogramChunk::from_bytes(data.clone());
        let _ = crate::tombstones::Tombstones::decode(&data);
    }
}

#[test]
fn a_sample_takes_at_most_the_bytes_reserve_sample_makes_room_for() {
    // The widest samples: timestamps whose deltas of deltas need 64 bits, values whose XOR
    // has no leading or trailing zeros and a new window each time.
    let mut c = XorChunk::from_bytes(vec![0, 0]).unwrap();
    let mut t = i64::MIN / 2;
    for i in 0..200u64 {
        let before = c.bytes().len();
        t = t.wrapping_add(((i % 2) as i64 * 2 - 1) * (1 << 40) + i as i64);
        let v = f64::from_bits(0x8000_0000_0000_0001 ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        c.append(t, v).unwrap();
        assert!(
            c.bytes().len() - before <= 20,
            "sample {i}: {} bytes",
            c.bytes().len() - before
        );
    }
}
