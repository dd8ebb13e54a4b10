//! The per-query memory budget (`--query.max-samples` and `--query.max-memory-bytes`): queries
//! that would hold far more than the limits (a `count by` over every series across a wide
//! range, a large `group_left` join, a subquery at 1 s resolution over 30 days) fail with
//! Prometheus's error, and the engine answers normally afterwards. (No wall-clock bound: timing
//! is left to the benchmarks.)

use std::time::Duration;

use firewatch_promql::{Engine, EngineOptions, EvalError, Value};
use model::{Labels, Sample};
use storage::Appendable;
use storage::memory::MemoryStorage;

const JOBS: usize = 10;
const INSTANCES: usize = 300;
const DAY: i64 = 86_400_000;
/// Samples every 6 hours over 30 days.
const SAMPLE_EVERY: i64 = 6 * 3_600_000;
const END: i64 = 30 * DAY;

/// 3,000 `load` series (10 jobs of 300 instances) over 30 days, and one `build_info` per job.
fn storage() -> MemoryStorage {
    let st = MemoryStorage::new();
    let mut app = st.appender();
    for j in 0..JOBS {
        let job = format!("job{j}");
        for i in 0..INSTANCES {
            let l = Labels::from_pairs([
                ("__name__", "load"),
                ("job", job.as_str()),
                ("instance", &format!("host{i}:9100")),
            ]);
            let mut t = 0;
            while t <= END {
                app.append(0, &l, t, Sample::Float((i + j) as f64)).unwrap();
                t += SAMPLE_EVERY;
            }
        }
        let info = Labels::from_pairs([
            ("__name__", "build_info"),
            ("job", job.as_str()),
            ("version", "1.0"),
        ]);
        let mut t = 0;
        while t <= END {
            app.append(0, &info, t, Sample::Float(1.0)).unwrap();
            t += SAMPLE_EVERY;
        }
    }
    app.commit().unwrap();
    st
}

fn engine(max_samples: usize, max_memory_bytes: usize) -> Engine {
    Engine::new(EngineOptions {
        max_samples,
        max_memory_bytes,
        timeout: Duration::from_secs(60),
        // Samples are 6 hours apart: every series has a value at every step.
        lookback_delta: Duration::from_millis(SAMPLE_EVERY as u64 + 1),
        ..EngineOptions::default()
    })
}

/// What a heavy query must end with.
#[derive(Clone, Copy, Debug)]
enum Limit {
    Samples,
    Bytes,
}

/// A heavy query: instant at `END` or a range query over the last `range` ms every `step`.
struct Case {
    name: &'static str,
    query: &'static str,
    range: Option<(i64, i64)>,
    max_samples: usize,
    max_memory_bytes: usize,
    limit: Limit,
}

const MIB: usize = 1 << 20;

const CASES: &[Case] = &[
    Case {
        name: "count by over every series, every minute for 30 days",
        query: "count by (job) (load)",
        range: Some((30 * DAY, 60_000)),
        max_samples: 200_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "count by over every series' 30 days of samples",
        query: "count by (job) (count_over_time(load[30d]))",
        range: None,
        max_samples: 200_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "count by over every series' 30 days of samples, byte budget",
        query: "count by (job) (count_over_time(load[30d]))",
        range: None,
        max_samples: usize::MAX,
        max_memory_bytes: MIB,
        limit: Limit::Bytes,
    },
    Case {
        name: "count by over every series, every minute, byte budget",
        query: "count by (job, instance) (load)",
        range: Some((30 * DAY, 60_000)),
        max_samples: usize::MAX,
        max_memory_bytes: 64 * MIB,
        limit: Limit::Bytes,
    },
    Case {
        name: "group_left join of every series, every minute for 30 days",
        query: "load * on (job) group_left (version) build_info",
        range: Some((30 * DAY, 60_000)),
        max_samples: 1_000_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "group_left join at one instant under a tight limit",
        query: "load * on (job) group_left (version) build_info",
        range: None,
        max_samples: 5_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "subquery at 1s resolution over 30 days",
        query: "max_over_time(sum by (job) (load)[30d:1s])",
        range: None,
        max_samples: 1_000_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "subquery at 1s resolution over 30 days, range query",
        query: "max_over_time(sum by (job) (load)[30d:1s])",
        range: Some((3_600_000, 60_000)),
        max_samples: 1_000_000,
        max_memory_bytes: 0,
        limit: Limit::Samples,
    },
    Case {
        name: "subquery of every series at 1s resolution over 30 days, byte budget",
        query: "max_over_time(load[30d:1s])",
        range: None,
        max_samples: usize::MAX,
        max_memory_bytes: 64 * MIB,
        limit: Limit::Bytes,
    },
];

fn run(
    e: &Engine,
    st: &MemoryStorage,
    query: &str,
    range: Option<(i64, i64)>,
) -> Result<Value, EvalError> {
    match range {
        None => e.instant_query(st, query, END).map(|r| r.value),
        Some((width, step)) => e
            .range_query(st, query, END - width, END, step)
            .map(|r| r.value),
    }
}

#[test]
fn heavy_queries_fail_with_the_limit_error() {
    let st = storage();
    for c in CASES {
        let e = engine(c.max_samples, c.max_memory_bytes);
        let Err(err) = run(&e, &st, c.query, c.range) else {
            panic!("{}: succeeded", c.name)
        };
        let text = err.to_string();
        match c.limit {
            Limit::Samples => assert_eq!(
                text, "query processing would load too many samples into memory in query execution",
                "{}",
                c.name
            ),
            Limit::Bytes => assert_eq!(
                text,
                format!(
                    "query processing would use more than {} bytes of memory (--query.max-memory-bytes) in query execution",
                    c.max_memory_bytes
                ),
                "{}",
                c.name
            ),
        }
        assert_eq!(err.error_type(), "execution", "{}", c.name);
        // The same engine answers an ordinary query afterwards.
        let Value::Vector(v) = e
            .instant_query(&st, "count by (job) (load)", END)
            .unwrap_or_else(|err| panic!("{}: normal query after: {err}", c.name))
            .value
        else {
            panic!("{}: not a vector", c.name)
        };
        assert_eq!(v.len(), JOBS, "{}", c.name);
        assert!(v.iter().all(|s| s.f == INSTANCES as f64), "{}", c.name);
    }
}

#[test]
fn the_same_queries_succeed_within_generous_limits() {
    let st = storage();
    let e = engine(50_000_000, 4 << 30);
    // Over a shorter range the join and the aggregation are ordinary queries.
    let Value::Matrix(m) = run(&e, &st, "count by (job) (load)", Some((DAY, 3_600_000))).unwrap()
    else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), JOBS);
    assert!(
        m.iter()
            .all(|s| s.floats.len() == 25 && s.floats.iter().all(|p| p.f == INSTANCES as f64))
    );
    let Value::Vector(v) = run(
        &e,
        &st,
        "load * on (job) group_left (version) build_info",
        None,
    )
    .unwrap() else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), JOBS * INSTANCES);
    assert!(v.iter().all(|s| s.labels.get("version") == Some("1.0")));
    let Value::Vector(v) = run(&e, &st, "max_over_time(sum by (job) (load)[1h:1m])", None).unwrap()
    else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), JOBS);
    let job0 = v
        .iter()
        .find(|s| s.labels.get("job") == Some("job0"))
        .unwrap();
    assert_eq!(job0.f, (0..INSTANCES).sum::<usize>() as f64);
}

#[test]
fn default_budget_is_a_quarter_of_the_machine() {
    let budget = firewatch_promql::default_max_memory_bytes();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: usize = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(budget, kb * 1024 / 4);
    assert_eq!(EngineOptions::default().max_memory_bytes, budget);
}
