//! Parser throughput on typical dashboard and alerting queries (criterion). Reports the
//! time per query for each, and for the whole set; compare with `promql-parser` by
//! running the `oracle` group.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Queries as they appear in Grafana dashboards and alerting rules.
const QUERIES: &[&str] = &[
    "up",
    "up{job=\"node\"} == 0",
    "rate(http_requests_total{job=\"api\", code=~\"5..\"}[5m])",
    "sum by (job, handler) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket{service=~\"api|web\"}[5m])))",
    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
    "node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"} / node_filesystem_size_bytes{fstype!~\"tmpfs|overlay\"} * 100 < 10",
    "predict_linear(node_filesystem_free_bytes{job=\"node\"}[6h], 4 * 3600) < 0",
    "sum(rate(container_cpu_usage_seconds_total{namespace=\"default\", container!=\"\"}[5m])) by (pod) / sum(kube_pod_container_resource_limits{resource=\"cpu\"}) by (pod)",
    "topk(10, sum without (instance) (rate(errors_total[1h])))",
    "max_over_time(rate(http_requests_total[5m])[1h:1m] offset 1d)",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):\\\\d+\")",
    "(sum(rate(a[5m])) by (job) / on(job) group_left(team) sum(rate(b[5m])) by (job, team)) > bool 0.5",
    "increase(kube_pod_container_status_restarts_total[1h]) > 3 and on(pod) kube_pod_status_phase{phase=\"Running\"} == 1",
];

fn parse_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(QUERIES.len() as u64));
    g.bench_function("firewatch/all", |b| {
        b.iter(|| {
            for q in QUERIES {
                black_box(firewatch_promql::parser::parse(black_box(q)).expect("valid"));
            }
        });
    });
    g.bench_function("promql-parser/all", |b| {
        b.iter(|| {
            for q in QUERIES {
                black_box(promql_parser::parser::parse(black_box(q)).expect("valid"));
            }
        });
    });
    g.finish();

    let mut g = c.benchmark_group("parse_one");
    for (i, q) in QUERIES.iter().enumerate() {
        g.bench_function(format!("q{i:02}"), |b| {
            b.iter(|| black_box(firewatch_promql::parser::parse(black_box(q))));
        });
    }
    g.finish();

    let parsed: Vec<_> = QUERIES
        .iter()
        .map(|q| firewatch_promql::parser::parse(q).expect("valid"))
        .collect();
    c.bench_function("print/all", |b| {
        b.iter(|| {
            for e in &parsed {
                black_box(e.to_string());
            }
        });
    });
}

criterion_group!(benches, parse_bench);
criterion_main!(benches);
