//! Engine benchmarks: over the in-memory storage, a range query of `rate` over many series,
//! an aggregation, and a subquery; over a real TSDB head, range queries over 10k series and
//! instant queries at the end (what rules evaluate).

use criterion::{Criterion, criterion_group, criterion_main};
use firewatch_promql::Engine;
use model::{Labels, Sample};
use storage::Appendable;
use storage::memory::MemoryStorage;
use tsdb::head::{Head, HeadOptions, HeadStorage};

/// 10,000 counters (5 jobs, 2,000 instances) scraped every 15 s for an hour, in a TSDB head.
fn head() -> HeadStorage {
    let head = HeadStorage(std::sync::Arc::new(Head::new(HeadOptions::default(), None)));
    let labels: Vec<Labels> = (0..10_000)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "http_requests_total".to_owned()),
                ("instance", format!("host-{i}")),
                ("job", format!("job-{}", i % 5)),
            ])
        })
        .collect();
    for s in 0..240_i64 {
        let mut app = head.appender();
        for (i, l) in labels.iter().enumerate() {
            let v = (s * (i as i64 % 7 + 1)) as f64;
            app.append(0, l, s * 15_000 + 100, Sample::Float(v))
                .unwrap();
        }
        app.commit().unwrap();
    }
    head
}

/// 100 counters scraped every 15s for 6 hours.
fn storage() -> MemoryStorage {
    let st = MemoryStorage::new();
    let mut app = st.appender();
    for i in 0..100 {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total".to_owned()),
            ("instance", format!("host-{i}")),
            ("job", format!("job-{}", i % 5)),
        ]);
        for s in 0..(6 * 240) {
            app.append(0, &l, s * 15_000, Sample::Float((s * (i + 1)) as f64))
                .unwrap();
        }
    }
    app.commit().unwrap();
    st
}

fn bench(c: &mut Criterion) {
    let st = storage();
    let e = Engine::default();
    let end = 6 * 3_600_000 - 1;
    c.bench_function("range rate 100 series 6h step 60s", |b| {
        b.iter(|| {
            e.range_query(&st, "rate(http_requests_total[5m])", 0, end, 60_000)
                .unwrap()
        });
    });
    c.bench_function("range sum by job 6h step 60s", |b| {
        b.iter(|| {
            e.range_query(
                &st,
                "sum by (job) (rate(http_requests_total[5m]))",
                0,
                end,
                60_000,
            )
            .unwrap()
        });
    });
    c.bench_function("instant subquery max_over_time 1h:1m", |b| {
        b.iter(|| {
            e.instant_query(
                &st,
                "max_over_time(rate(http_requests_total[5m])[1h:1m])",
                end,
            )
            .unwrap()
        });
    });
}

fn bench_head(c: &mut Criterion) {
    let st = head();
    let e = Engine::default();
    let (start, end) = (0, 3_600_000);
    let mut g = c.benchmark_group("head 10k series, 1h at 15s");
    g.sample_size(10);
    for q in [
        "sum by (job) (rate(http_requests_total[1m]))",
        "sum(increase(http_requests_total[5m]))",
        "avg by (job) (http_requests_total)",
        "count by (job) (http_requests_total > 100)",
    ] {
        g.bench_function(q, |b| {
            b.iter(|| e.range_query(&st, q, start, end, 15_000).unwrap());
        });
    }
    // What a rule evaluates every interval: an instant query at the end of the data.
    for q in [
        "sum by (job) (rate(http_requests_total[2m]))",
        "count by (job) (http_requests_total > 100)",
    ] {
        g.bench_function(format!("instant {q}"), |b| {
            b.iter(|| e.instant_query(&st, q, end).unwrap());
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_head);
criterion_main!(benches);
