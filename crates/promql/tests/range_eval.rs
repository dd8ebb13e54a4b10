//! Range queries evaluated a node at a time against the step-by-step reference
//! (`Engine::range_query_step_by_step`): on irregular data (jittered timestamps, gaps,
//! counter resets, stale markers, series that come and go, NaN values, a native histogram),
//! a broad set of expressions gives the same series, points, values, annotations and errors
//! both ways.

use firewatch_promql::{Engine, QueryResult, Value};
use model::{Histogram, Labels, STALE_NAN, Sample, Span};
use storage::Appendable;
use storage::memory::MemoryStorage;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const HOUR: i64 = 3_600_000;

fn storage() -> MemoryStorage {
    let st = MemoryStorage::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut app = st.appender();
    let mut series = |labels: Labels, counter: bool, rng: &mut Rng| {
        // Each series lives in part of the 3 hours, scraped about every 15 s with jitter.
        let from = if rng.next() < 0.3 {
            (rng.next() * HOUR as f64) as i64
        } else {
            0
        };
        let to = if rng.next() < 0.3 {
            2 * HOUR + (rng.next() * HOUR as f64) as i64
        } else {
            3 * HOUR
        };
        let mut v = 0.0;
        let mut t = from + (rng.next() * 15_000.0) as i64;
        while t < to {
            let x = rng.next();
            if x < 0.05 {
                // A gap of a few minutes.
                t += (rng.next() * 600_000.0) as i64;
                continue;
            }
            let val = if counter {
                if x < 0.06 {
                    v = 0.0;
                } else {
                    v += (rng.next() * 100.0).round();
                }
                v
            } else if x < 0.07 {
                f64::NAN
            } else {
                (rng.next() * 1000.0).round() / 10.0
            };
            let val = if x > 0.995 { STALE_NAN } else { val };
            app.append(0, &labels, t, Sample::Float(val)).unwrap();
            t += 15_000 + (rng.next() * 400.0) as i64 - 200;
        }
    };
    for job in ["api", "db", "web"] {
        for inst in 0..8 {
            let instance = format!("host-{inst}");
            for code in ["200", "404", "500"] {
                let l = Labels::from_pairs([
                    ("__name__", "http_requests_total"),
                    ("job", job),
                    ("instance", &instance),
                    ("code", code),
                ]);
                series(l, true, &mut rng);
            }
            let l = Labels::from_pairs([
                ("__name__", "mem_bytes"),
                ("job", job),
                ("instance", &instance),
            ]);
            series(l, false, &mut rng);
            let l = Labels::from_pairs([("__name__", "up"), ("job", job), ("instance", &instance)]);
            series(l, false, &mut rng);
        }
    }
    for inst in 0..8 {
        let instance = format!("host-{inst}");
        let l = Labels::from_pairs([
            ("__name__", "node_info"),
            ("instance", &instance),
            ("os", "linux"),
        ]);
        series(l, false, &mut rng);
        for sensor in 0..3 {
            let l = Labels::from_pairs([
                ("__name__", "temp_celsius"),
                ("instance", instance.as_str()),
                ("sensor", &format!("s{sensor}")),
            ]);
            series(l, false, &mut rng);
        }
    }
    // Two series that differ only in their name, for name-dropping collisions.
    for name in ["dup_a", "dup_b"] {
        series(
            Labels::from_pairs([("__name__", name), ("k", "v")]),
            false,
            &mut rng,
        );
    }
    let h = Labels::from_pairs([("__name__", "lat_hist"), ("job", "api")]);
    for i in 0..200 {
        let hist = Histogram {
            count: 10 + i,
            sum: 5.0 * i as f64,
            schema: 0,
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![5 + i as i64, 0],
            zero_count: 5,
            ..Histogram::default()
        };
        app.append(0, &h, i as i64 * 30_000, Sample::Histogram(hist.into()))
            .unwrap();
    }
    app.commit().unwrap();
    st
}

const QUERIES: &[&str] = &[
    "http_requests_total",
    "up",
    "mem_bytes offset 5m",
    "-mem_bytes",
    "rate(http_requests_total[2m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total{code=~\"5..\"}[5m])",
    "delta(mem_bytes[10m])",
    "idelta(mem_bytes[10m])",
    "deriv(mem_bytes[10m])",
    "predict_linear(mem_bytes[10m], 600)",
    "rate(mem_bytes[5m])",
    "resets(http_requests_total[10m])",
    "changes(mem_bytes[10m])",
    "avg_over_time(temp_celsius[10m])",
    "min_over_time(temp_celsius[10m])",
    "max_over_time(temp_celsius[3m] offset 2m)",
    "sum_over_time(temp_celsius[5m])",
    "count_over_time(temp_celsius[5m])",
    "last_over_time(temp_celsius[5m])",
    "first_over_time(temp_celsius[5m])",
    "present_over_time(temp_celsius[5m])",
    "stddev_over_time(temp_celsius[10m])",
    "stdvar_over_time(temp_celsius[10m])",
    "mad_over_time(temp_celsius[10m])",
    "ts_of_max_over_time(temp_celsius[10m])",
    "ts_of_last_over_time(temp_celsius[10m])",
    "quantile_over_time(0.9, temp_celsius[10m])",
    "quantile_over_time(1.5, temp_celsius[10m])",
    "quantile_over_time(scalar(up{job=\"api\",instance=\"host-1\"}), temp_celsius[10m])",
    "absent_over_time(nope[5m])",
    "sum by (job) (rate(http_requests_total[2m]))",
    "sum by (job, code) (irate(http_requests_total[2m]))",
    "sum(increase(http_requests_total{code=~\"5..\"}[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
    "topk(3, sum by (instance) (rate(http_requests_total[5m])))",
    "bottomk(2, avg by (instance) (temp_celsius))",
    "topk(2, temp_celsius)",
    "topk by (instance) (1, temp_celsius)",
    "topk(scalar(up{job=\"db\",instance=\"host-2\"}) * 3, mem_bytes)",
    "topk(0 / 0, mem_bytes)",
    "avg by (instance) (temp_celsius)",
    "min by (job) (mem_bytes)",
    "max by (job) (mem_bytes)",
    "count by (job) (up == 1)",
    "count(up)",
    "group by (job) (up)",
    "stddev by (job) (mem_bytes)",
    "stdvar(mem_bytes)",
    "quantile by (job) (0.75, mem_bytes)",
    "quantile(2, mem_bytes)",
    "count_values(\"v\", up)",
    "limitk(2, mem_bytes)",
    "sum(mem_bytes) by (job) + on(job) group_left sum(up) by (job)",
    "max by (instance) (max_over_time(temp_celsius[5m]))",
    "sum by (instance) (rate(http_requests_total{code!=\"200\"}[2m])) / on(instance) group_left count by (instance) (temp_celsius)",
    "temp_celsius * on(instance) group_left(os) node_info",
    "node_info * on(instance) group_right(os) temp_celsius",
    "1 - mem_bytes / on(instance, job) up",
    "mem_bytes > 50",
    "mem_bytes > bool 50",
    "50 < mem_bytes",
    "50 > bool mem_bytes",
    "mem_bytes / 10 + 1",
    "2 ^ 3 * 4",
    "time() - 100",
    "scalar(up{job=\"api\",instance=\"host-0\"}) * up",
    "mem_bytes > up",
    "mem_bytes == bool ignoring(job) up",
    "up and mem_bytes > 40",
    "up or on(instance) temp_celsius",
    "mem_bytes unless up == 0",
    "up + fill(0) mem_bytes",
    "temp_celsius + on(instance) mem_bytes",
    "abs(-mem_bytes)",
    "clamp(mem_bytes, 10, 60)",
    "round(mem_bytes, 5)",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"host-(.*)\")",
    "label_replace(up, \"job\", \"x\", \"instance\", \".*\")",
    "sort_desc(mem_bytes)",
    "absent(nope)",
    "vector(1)",
    "timestamp(mem_bytes)",
    "max_over_time(sum by (job) (rate(http_requests_total[2m]))[30m:1m])",
    "rate(http_requests_total[5m] @ 3600)",
    "sum(up @ end())",
    "dup_a or dup_b",
    "-dup_a or dup_b",
    "rate({__name__=~\"dup_.\"}[5m])",
    "last_over_time({__name__=~\"dup_.\"}[5m])",
    "sum by (__name__) (mem_bytes)",
    "lat_hist",
    "rate(lat_hist[5m])",
    "histogram_count(rate(lat_hist[5m]))",
    "sum(rate(lat_hist[5m])) + sum(rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(http_requests_total[5m])))",
    "nope + on() up",
    "mem_bytes + on() up",
    "-{__name__=~\"dup_.\"}",
];

/// Whether two results are the same: series, timestamps, values (equal, or both NaN, or
/// within 1e-9 relative for sums added in another order) and annotations.
fn same(a: &QueryResult, b: &QueryResult) -> Result<(), String> {
    let (Value::Matrix(x), Value::Matrix(y)) = (&a.value, &b.value) else {
        return Err("not matrices".into());
    };
    if x.len() != y.len() {
        return Err(format!("{} series vs {}", x.len(), y.len()));
    }
    for (s, r) in x.iter().zip(y) {
        if s.labels != r.labels {
            return Err(format!("labels {} vs {}", s.labels, r.labels));
        }
        if s.histograms != r.histograms {
            return Err(format!("histograms of {} differ", s.labels));
        }
        if s.floats.len() != r.floats.len() {
            return Err(format!(
                "{}: {} points vs {}",
                s.labels,
                s.floats.len(),
                r.floats.len()
            ));
        }
        for (p, q) in s.floats.iter().zip(&r.floats) {
            let close = p.f == q.f
                || (p.f.is_nan() && q.f.is_nan())
                || (p.f - q.f).abs() <= 1e-9 * p.f.abs().max(q.f.abs());
            if p.t != q.t || !close {
                return Err(format!("{}: {p:?} vs {q:?}", s.labels));
            }
        }
    }
    let (mut wa, mut wb) = (a.warnings(), b.warnings());
    let (mut ia, mut ib) = (a.infos(), b.infos());
    wa.sort();
    wb.sort();
    ia.sort();
    ib.sort();
    if wa != wb || ia != ib {
        return Err(format!("annotations {wa:?} {ia:?} vs {wb:?} {ib:?}"));
    }
    Ok(())
}

#[test]
fn node_at_a_time_matches_step_by_step() {
    let st = storage();
    let e = Engine::default();
    let ranges = [
        (0, 3 * HOUR, 60_000),
        (17_000, 2 * HOUR, 37_000),
        (HOUR, HOUR + 600_000, 15_000),
        (2 * HOUR + 1, 2 * HOUR + 1, 1_000),
    ];
    let mut failures = Vec::new();
    let mut compared = 0;
    for q in QUERIES {
        let expr = firewatch_promql::parser::parse(q).unwrap();
        for &(start, end, step) in &ranges {
            let fast = e.range_query_expr(&st, &expr, q, start, end, step, None);
            let slow = e.range_query_step_by_step(&st, &expr, q, start, end, step, None);
            let outcome = match (&fast, &slow) {
                (Ok(a), Ok(b)) => same(a, b),
                (Err(a), Err(b)) if a.to_string() == b.to_string() => Ok(()),
                _ => Err(format!(
                    "{:?} vs {:?}",
                    fast.as_ref().err().map(ToString::to_string),
                    slow.as_ref().err().map(ToString::to_string)
                )),
            };
            compared += 1;
            if let Err(m) = outcome {
                failures.push(format!("{q} [{start}, {end}, {step}]: {m}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(compared, QUERIES.len() * ranges.len());
}

#[test]
fn errors_are_the_step_by_step_ones() {
    let st = storage();
    let e = Engine::default();
    // `on()` matches every `up` series to the same group: duplicates on the right side.
    let err = e
        .range_query(&st, "mem_bytes + on() up", 0, HOUR, 60_000)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("found duplicate series for the match group {}"),
        "{err}"
    );
    let err = e
        .range_query(&st, "topk(0 / 0, mem_bytes)", 0, HOUR, 60_000)
        .unwrap_err();
    assert_eq!(err.to_string(), "Parameter value is NaN");
    // Two names dropped to the same labels at the same steps.
    let err = e
        .range_query(&st, "-{__name__=~\"dup_.\"}", 0, 3 * HOUR, 60_000)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}
