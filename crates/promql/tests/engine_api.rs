//! The engine's public API over the in-memory storage: instant and range queries, result
//! shapes, errors with Prometheus's texts and types, limits and cancellation.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use firewatch_promql::{Engine, EngineOptions, Value};
use model::{Labels, Sample};
use storage::Appendable;
use storage::memory::MemoryStorage;

fn storage() -> MemoryStorage {
    let st = MemoryStorage::new();
    let mut app = st.appender();
    for (job, step) in [("a", 1.0), ("b", 2.0)] {
        let l = Labels::from_pairs([("__name__", "req_total"), ("job", job)]);
        for i in 0..=10 {
            app.append(0, &l, i * 60_000, Sample::Float(step * i as f64))
                .unwrap();
        }
    }
    app.commit().unwrap();
    st
}

#[test]
fn instant_vector_and_scalar() {
    let st = storage();
    let e = Engine::default();
    let r = e.instant_query(&st, "sum(req_total)", 600_000).unwrap();
    let Value::Vector(v) = r.value else {
        panic!("not a vector: {:?}", r.value)
    };
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].f, v[0].t), (30.0, 600_000));
    assert_eq!(v[0].labels, Labels::empty());
    let r = e.instant_query(&st, "1 + 2 * 3", 0).unwrap();
    assert_eq!(r.value, Value::Scalar { t: 0, v: 7.0 });
}

#[test]
fn range_query_is_sorted_and_drops_names() {
    let st = storage();
    let e = Engine::default();
    let r = e
        .range_query(&st, "rate(req_total[2m])", 120_000, 240_000, 60_000)
        .unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels, Labels::from_pairs([("job", "a")]));
    assert_eq!(
        m[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        vec![120_000, 180_000, 240_000]
    );
    assert!((m[1].floats[0].f - 2.0 / 60.0).abs() < 1e-12);
}

#[test]
fn errors_carry_prometheus_texts_and_types() {
    let st = storage();
    let e = Engine::default();
    let err = e
        .instant_query(
            &st,
            "label_replace(req_total, \"job\", \"x\", \"job\", \".*\")",
            600_000,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    assert_eq!(err.error_type(), "execution");
    let err = e.instant_query(&st, "sum(", 0).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    let err = e
        .range_query(&st, "req_total[5m]", 0, 60_000, 60_000)
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    let err = e.range_query(&st, "req_total", 0, 60_000, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("zero or negative query resolution step")
    );
}

#[test]
fn sample_limit_and_cancellation() {
    let st = storage();
    let small = Engine::new(EngineOptions {
        max_samples: 5,
        ..EngineOptions::default()
    });
    let err = small
        .instant_query(&st, "req_total[10m]", 600_000)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
    let e = Engine::new(EngineOptions {
        timeout: Duration::from_secs(60),
        ..EngineOptions::default()
    });
    let expr = firewatch_promql::parser::parse("req_total").unwrap();
    let cancel = AtomicBool::new(true);
    let err = e
        .instant_query_expr(&st, &expr, "req_total", 0, Some(&cancel))
        .unwrap_err();
    assert_eq!(err.error_type(), "canceled");
}

#[test]
fn annotations_are_rendered_with_positions() {
    let st = MemoryStorage::new();
    let mut app = st.appender();
    let l = Labels::from_pairs([("__name__", "temperature")]);
    for i in 0..5 {
        app.append(0, &l, i * 15_000, Sample::Float(i as f64))
            .unwrap();
    }
    app.commit().unwrap();
    let r = Engine::default()
        .instant_query(&st, "rate(temperature[1m])", 60_000)
        .unwrap();
    assert_eq!(
        r.infos(),
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\" (1:6)"
                .to_owned()
        ]
    );
    assert!(r.warnings().is_empty());
}

#[test]
fn range_subquery_matches_instant_queries_at_each_step() {
    let st = storage();
    let e = Engine::default();
    let q = "max_over_time(rate(req_total[2m])[3m:30s]) + sum_over_time(req_total[90s:20s])";
    let r = e.range_query(&st, q, 120_000, 600_000, 45_000).unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("not a matrix")
    };
    assert!(!m.is_empty());
    for s in &m {
        for p in &s.floats {
            let Value::Vector(v) = e.instant_query(&st, q, p.t).unwrap().value else {
                panic!("not a vector")
            };
            let same = v
                .iter()
                .find(|x| x.labels == s.labels)
                .expect("series at every step");
            assert_eq!(same.f, p.f, "at {}", p.t);
        }
    }
}
