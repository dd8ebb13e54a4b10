//! `FastRegex` fast paths against the plain compiled regex on the same label values: criterion
//! groups per shape, then a table of speed-up ratios (regex time / fast time).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use firewatch_model::matcher::FastRegex;

/// (shape, pattern).
const SHAPES: &[(&str, &str)] = &[
    ("literal", "api-server-production"),
    ("set", "GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS"),
    ("prefix", "api-.*"),
    ("suffix", ".*-production"),
    ("contains", ".*server.*"),
    ("two words", ".*api.*production.*"),
    ("any", ".*"),
    ("non-empty", ".+"),
    ("case-insensitive", "(?i)api-server-production"),
    ("slow path", "api-[a-z]+-[0-9]+"),
];

/// Label values like those a matcher meets in an index: mostly misses, some hits.
fn values() -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..200 {
        v.push(format!("api-server-{i}"));
        v.push(format!("worker-{i}-production"));
        v.push(format!("node-exporter-{i}.example.internal:9100"));
    }
    v.extend(
        [
            "api-server-production",
            "GET",
            "DELETE",
            "api-server-PRODUCTION",
            "",
        ]
        .map(String::from),
    );
    v
}

fn count(values: &[String], f: impl Fn(&str) -> bool) -> usize {
    values.iter().filter(|v| f(black_box(v.as_str()))).count()
}

fn bench(c: &mut Criterion) {
    let vals = values();
    for &(shape, pattern) in SHAPES {
        let re = FastRegex::new(pattern).unwrap();
        let mut g = c.benchmark_group(format!("matcher/{shape}"));
        g.bench_function("fast", |b| {
            b.iter(|| count(&vals, |v| re.is_match(v)));
        });
        g.bench_function("regex", |b| {
            b.iter(|| count(&vals, |v| re.regex().is_match(v)));
        });
        g.finish();
    }
}

/// Nanoseconds per value for `f` over all values, best of a few rounds.
fn time(values: &[String], f: impl Fn(&str) -> bool) -> f64 {
    let rounds = 200;
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..rounds {
                black_box(count(values, &f));
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(rounds) / values.len() as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn ratios() {
    let vals = values();
    println!(
        "\n{:<18} {:>10} {:>10} {:>8}  fast path",
        "shape", "fast ns", "regex ns", "ratio"
    );
    for &(shape, pattern) in SHAPES {
        let re = FastRegex::new(pattern).unwrap();
        let fast = time(&vals, |v| re.is_match(v));
        let slow = time(&vals, |v| re.regex().is_match(v));
        println!(
            "{shape:<18} {fast:>10.1} {slow:>10.1} {:>7.1}x  {}",
            slow / fast,
            re.is_fast()
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratios();
}
