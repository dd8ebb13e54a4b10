//! Engine benchmarks over the in-memory storage: a range query of `rate` over many series,
//! an aggregation, and a subquery.

use criterion::{Criterion, criterion_group, criterion_main};
use firewatch_promql::Engine;
use model::{Labels, Sample};
use storage::Appendable;
use storage::memory::MemoryStorage;

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

criterion_group!(benches, bench);
criterion_main!(benches);
