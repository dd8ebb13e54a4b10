//! XOR chunk encode/decode throughput and size on a realistic series: a counter scraped every
//! 15 s with a few milliseconds of scrape jitter, cut into 120-sample chunks as the head does;
//! decoded sample by sample (`next`) and in bulk (`read_floats`, what queries load with).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firewatch_tsdb::chunkenc::{XorChunk, XorIterator};
use std::hint::black_box;
use storage::{FloatBatch, SampleIterator, ValueType};

const SAMPLES: usize = 120 * 100;

fn counter_series() -> Vec<(i64, f64)> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = 0.0;
    (0..SAMPLES as i64)
        .map(|i| {
            v += (rnd() % 50) as f64;
            let jitter = (rnd() % 11) as i64 - 5;
            (1_700_000_000_000 + i * 15_000 + jitter, v)
        })
        .collect()
}

fn encode(samples: &[(i64, f64)]) -> Vec<XorChunk> {
    samples
        .chunks(120)
        .map(|part| {
            let mut c = XorChunk::new();
            for &(t, v) in part {
                c.append(t, v).expect("chunk has room");
            }
            c
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let samples = counter_series();
    let chunks = encode(&samples);
    let bytes: usize = chunks.iter().map(|c| c.bytes().len()).sum();
    println!(
        "XOR counter@15s with jitter: {:.3} bytes/sample ({bytes} bytes for {SAMPLES} samples)",
        bytes as f64 / SAMPLES as f64
    );
    let mut g = c.benchmark_group("xor");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    g.bench_function("encode", |b| b.iter(|| encode(black_box(&samples))));
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for c in &chunks {
                let mut it = XorIterator::new(black_box(c.bytes()));
                while it.next() == ValueType::Float {
                    sum += it.at().1;
                }
            }
            sum
        });
    });
    g.bench_function("decode in bulk", |b| {
        let mut batch = FloatBatch::default();
        b.iter(|| {
            let mut sum = 0.0;
            for c in &chunks {
                batch.clear();
                XorIterator::new(black_box(c.bytes())).read_floats(i64::MAX, &mut batch);
                sum += batch.samples.iter().map(|p| p.1).sum::<f64>();
            }
            sum
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
