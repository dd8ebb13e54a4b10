//! PromQL and the query API against the real Prometheus 2.42: the same data set (an OpenMetrics
//! file, imported by each side's own `create-blocks-from openmetrics`) served by `prometheus`
//! and by `firewatch server`, then every query of a list asked of both over HTTP, as instant
//! queries at several times and as range queries; the answers must agree. So must labels,
//! label values, series, the errors for bad queries, and what `promtool query` prints.
//!
//! Firewatch follows Prometheus 3's semantics where 2.42 differs. The data and evaluation times
//! are chosen so that those differences do not show: no sample lies on a range boundary (3.0
//! made ranges left-open), no function 2.42 lacks or renamed is asked, and no `atan2` with a
//! scalar (2.42 keeps the metric name there; 3.x drops it, as for every arithmetic operator).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use testkit::{Server, urlencode};

const FIREWATCH: &str = env!("CARGO_BIN_EXE_firewatch");
/// Seconds between samples.
const STEP: i64 = 15;
/// How long the data set lasts, in seconds.
const SPAN: i64 = 6 * 3600;

/// A deterministic, irregular-enough value stream.
fn noise(seed: u64) -> f64 {
    let x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((x >> 33) % 1000) as f64 / 1000.0
}

/// The data set, starting at `start` (seconds; samples sit 3.1 s past a multiple of 15 s).
fn data_set(start: i64) -> String {
    let mut s = String::new();
    let times = |every: i64| (0..SPAN / every).map(move |i| start + i * every);
    s.push_str("# HELP http_requests Requests.\n# TYPE http_requests counter\n");
    for (k, instance) in ["a", "b", "c"].iter().enumerate() {
        for code in ["200", "500"] {
            let mut v = 0.0;
            for (i, t) in times(STEP).enumerate() {
                v += noise((i * 7 + k) as u64) * if code == "200" { 10.0 } else { 1.0 };
                if *instance == "b" && i == 600 {
                    v = 3.0; // a counter reset
                }
                writeln!(
                    s,
                    "http_requests_total{{job=\"api\",instance=\"{instance}\",code=\"{code}\"}} {v} {t}.1"
                )
                .unwrap();
            }
        }
    }
    s.push_str("# TYPE node_temperature_celsius gauge\n");
    for (k, zone) in ["cpu", "disk", "gpu"].iter().enumerate() {
        for instance in ["a", "b"] {
            for (i, t) in times(STEP).enumerate() {
                // A gap of 20 minutes in one series.
                if *zone == "disk" && instance == "b" && (400..480).contains(&i) {
                    continue;
                }
                let v = 40.0 + 10.0 * noise((i * 13 + k) as u64) - 3.0 * k as f64;
                writeln!(
                    s,
                    "node_temperature_celsius{{instance=\"{instance}\",zone=\"{zone}\"}} {v} {t}.1"
                )
                .unwrap();
            }
        }
    }
    s.push_str("# TYPE request_duration_seconds histogram\n");
    for instance in ["a", "b"] {
        let mut counts = [0.0f64; 4];
        for (i, t) in times(STEP).enumerate() {
            let mut below = 0.0;
            for (j, le) in ["0.05", "0.25", "1.0", "+Inf"].iter().enumerate() {
                below += (noise((i * 31 + j) as u64) * 5.0).floor();
                counts[j] += below;
                writeln!(
                    s,
                    "request_duration_seconds_bucket{{instance=\"{instance}\",le=\"{le}\"}} {} {t}.1",
                    counts[j]
                )
                .unwrap();
            }
        }
    }
    s.push_str("# TYPE build_info gauge\n");
    for (instance, version) in [("a", "1.0"), ("b", "1.1"), ("c", "1.1")] {
        for t in times(60) {
            writeln!(
                s,
                "build_info{{instance=\"{instance}\",version=\"{version}\"}} 1 {t}.1"
            )
            .unwrap();
        }
    }
    s.push_str("# EOF\n");
    s
}

/// The queries, as a Grafana dashboard or an alert rule would ask them.
const QUERIES: &[&str] = &[
    "http_requests_total",
    "http_requests_total{code=~\"5..\"}",
    "{__name__=~\"node_.*\",instance!=\"b\"}",
    "http_requests_total offset 10m",
    "http_requests_total offset -5m",
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "resets(http_requests_total[1h])",
    "changes(node_temperature_celsius[10m])",
    "delta(node_temperature_celsius[10m])",
    "idelta(node_temperature_celsius[10m])",
    "deriv(node_temperature_celsius[10m])",
    "predict_linear(node_temperature_celsius[10m], 3600)",
    "avg_over_time(node_temperature_celsius[10m])",
    "min_over_time(node_temperature_celsius[10m])",
    "max_over_time(node_temperature_celsius[10m])",
    "sum_over_time(node_temperature_celsius[10m])",
    "count_over_time(node_temperature_celsius[10m])",
    "quantile_over_time(0.9, node_temperature_celsius[10m])",
    "stddev_over_time(node_temperature_celsius[10m])",
    "stdvar_over_time(node_temperature_celsius[10m])",
    "last_over_time(node_temperature_celsius[10m])",
    "present_over_time(node_temperature_celsius[2m])",
    "absent(nonexistent{job=\"x\"})",
    "absent_over_time(node_temperature_celsius{zone=\"disk\"}[1m])",
    "sum by (code) (rate(http_requests_total[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "avg by (zone) (node_temperature_celsius)",
    "min by (instance) (node_temperature_celsius)",
    "max(node_temperature_celsius)",
    "count by (zone) (node_temperature_celsius)",
    "group by (instance) (http_requests_total)",
    "stddev by (zone) (node_temperature_celsius)",
    "stdvar(node_temperature_celsius)",
    "topk(2, node_temperature_celsius)",
    "bottomk(1, rate(http_requests_total[5m]))",
    "quantile(0.5, node_temperature_celsius)",
    "count_values(\"version\", build_info)",
    "rate(http_requests_total[5m]) * 60",
    "2 ^ node_temperature_celsius / 1e12",
    "node_temperature_celsius > 43",
    "node_temperature_celsius > bool 43",
    "-node_temperature_celsius % 7",
    "rate(http_requests_total{code=\"500\"}[5m]) / ignoring(code) rate(http_requests_total{code=\"200\"}[5m])",
    "sum by (instance) (rate(http_requests_total[5m])) * on(instance) group_left(version) build_info",
    "http_requests_total and on(instance) build_info{version=\"1.1\"}",
    "node_temperature_celsius{zone=\"cpu\"} or node_temperature_celsius{instance=\"b\"}",
    "node_temperature_celsius unless on(zone) node_temperature_celsius{zone=\"gpu\"}",
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
    "abs(-node_temperature_celsius)",
    "ceil(node_temperature_celsius)",
    "floor(node_temperature_celsius)",
    "round(node_temperature_celsius, 0.5)",
    "sqrt(node_temperature_celsius)",
    "exp(node_temperature_celsius / 10)",
    "ln(node_temperature_celsius)",
    "log2(node_temperature_celsius)",
    "log10(node_temperature_celsius)",
    "clamp(node_temperature_celsius, 38, 45)",
    "clamp_min(node_temperature_celsius, 42)",
    "clamp_max(node_temperature_celsius, 42)",
    "sgn(node_temperature_celsius - 42)",
    "sin(node_temperature_celsius) + cos(node_temperature_celsius)",
    "deg(node_temperature_celsius) - rad(node_temperature_celsius) * pi()",
    "label_replace(build_info, \"major\", \"$1\", \"version\", \"(\\\\d+)\\\\..*\")",
    "label_join(build_info, \"id\", \"-\", \"instance\", \"version\")",
    "timestamp(node_temperature_celsius)",
    "time() - timestamp(build_info)",
    "vector(time())",
    "scalar(sum(build_info))",
    "hour(timestamp(build_info)) + minute(timestamp(build_info))",
    "day_of_week() + day_of_month() + day_of_year() + days_in_month() + month() + year()",
    "max_over_time(rate(http_requests_total[5m])[30m:1m])",
    "avg_over_time(max by (zone) (node_temperature_celsius)[20m:2m] offset 5m)",
    "sum(http_requests_total) / count(http_requests_total)",
];

/// Queries whose result order is part of the answer.
const ORDERED: &[&str] = &[
    "sort(node_temperature_celsius)",
    "sort_desc(rate(http_requests_total[5m]))",
];

/// One answer, keyed by series, each with its points as (time, value).
type Answer = BTreeMap<String, Vec<(f64, f64)>>;

fn ask(server: &Server, path: &str) -> (Value, Vec<String>) {
    let r = server.get(path).unwrap();
    let v: Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    assert_eq!(v["status"], "success", "{path}: {}", r.body);
    let order = v["data"]["result"]
        .as_array()
        .map(|a| a.iter().map(|s| s["metric"].to_string()).collect())
        .unwrap_or_default();
    (v["data"].clone(), order)
}

fn float(v: &Value) -> f64 {
    match v.as_str() {
        Some("NaN") => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap(),
        None => v.as_f64().unwrap(),
    }
}

fn answer(data: &Value) -> Answer {
    let point = |p: &Value| (p[0].as_f64().unwrap(), float(&p[1]));
    let mut out = Answer::new();
    match data["resultType"].as_str().unwrap() {
        "scalar" => {
            out.insert("scalar".into(), vec![point(&data["result"])]);
        }
        "vector" => {
            for s in data["result"].as_array().unwrap() {
                out.insert(s["metric"].to_string(), vec![point(&s["value"])]);
            }
        }
        "matrix" => {
            for s in data["result"].as_array().unwrap() {
                let points = s["values"].as_array().unwrap().iter().map(point).collect();
                out.insert(s["metric"].to_string(), points);
            }
        }
        other => panic!("unexpected result type {other}"),
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn same(a: &Answer, b: &Answer) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, pa), (kb, pb))| {
            ka == kb
                && pa.len() == pb.len()
                && pa
                    .iter()
                    .zip(pb)
                    .all(|(x, y)| x.0 == y.0 && close(x.1, y.1))
        })
}

/// Labels, label values and series: the same JSON from both, order included.
fn metadata_endpoints_agree(ours: &Server, theirs: &Server, start: f64, end: f64) {
    let window = format!("start={start}&end={end}");
    for path in [
        format!("/api/v1/labels?{window}"),
        format!("/api/v1/label/__name__/values?{window}"),
        format!("/api/v1/label/instance/values?{window}"),
        format!("/api/v1/label/zone/values?{window}&match[]=node_temperature_celsius"),
        format!(
            "/api/v1/labels?{window}&match[]={}",
            urlencode("{__name__=~\"http.*\"}")
        ),
        format!(
            "/api/v1/series?{window}&match[]={}",
            urlencode("http_requests_total")
        ),
        format!(
            "/api/v1/series?{window}&match[]={}&match[]=build_info",
            urlencode("node_temperature_celsius{zone=\"gpu\"}")
        ),
    ] {
        let (a, b) = (ask(ours, &path).0, ask(theirs, &path).0);
        assert_eq!(a, b, "{path}");
    }
}

/// Bad queries: the same status code, error type and message.
fn bad_queries_fail_alike(ours: &Server, theirs: &Server) {
    for (q, extra) in [
        ("sum(", ""),
        ("foo{", ""),
        ("rate(http_requests_total)", ""),
        ("http_requests_total[5m] + 1", ""),
        ("up", "&time=yesterday"),
        (
            "label_replace(build_info, \"x\", \"$1\", \"version\", \"(\")",
            "",
        ),
    ] {
        let path = format!("/api/v1/query?query={}{extra}", urlencode(q));
        let (a, b) = (ours.get(&path).unwrap(), theirs.get(&path).unwrap());
        assert_eq!(a.status, b.status, "{q}: {} vs {}", a.body, b.body);
        let (a, b): (Value, Value) = (
            serde_json::from_str(&a.body).unwrap(),
            serde_json::from_str(&b.body).unwrap(),
        );
        assert_eq!(a["errorType"], b["errorType"], "{q}");
        // Prometheus 3 lowercased "Invalid time value for ..." of 2.42.
        let text = |v: &Value| v["error"].as_str().unwrap().to_lowercase();
        assert_eq!(text(&a), text(&b), "{q}");
    }
}

/// `promtool query instant|range|labels|series` print the same for both servers.
fn promtool_queries_agree(ours: &Server, theirs: &Server, at: f64, start: f64, end: f64) {
    let (at, start, end) = (format!("{at}"), format!("{start}"), format!("{end}"));
    let queries: [Vec<&str>; 4] = [
        vec![
            "instant",
            "--time",
            &at,
            "sum by (zone) (node_temperature_celsius)",
        ],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "15m",
            "max(rate(http_requests_total[5m]))",
        ],
        vec!["labels", "--start", &start, "--end", &end, "instance"],
        vec![
            "series",
            "--start",
            &start,
            "--end",
            &end,
            "--match",
            "build_info",
        ],
    ];
    for args in queries {
        let run = |port: u16| {
            let out = Command::new("promtool")
                .arg("query")
                .arg(args[0])
                .arg(format!("http://127.0.0.1:{port}"))
                .args(&args[1..])
                .output()
                .expect("promtool (Debian package prometheus)");
            assert!(
                out.status.success(),
                "promtool query {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let (a, b) = (run(ours.port), run(theirs.port));
        assert!(
            !a.trim().is_empty(),
            "promtool query {args:?} printed nothing"
        );
        assert_eq!(a, b, "promtool query {args:?}");
    }
}

/// The first few series and points of an answer, for failure messages.
fn brief(a: &Answer) -> String {
    let series: Vec<String> = a
        .iter()
        .take(3)
        .map(|(k, p)| format!("{k} {:?}", &p[..p.len().min(4)]))
        .collect();
    format!("{} series: {}", a.len(), series.join("; "))
}

fn import(program: &str, input: &Path, out: &Path) {
    let mut cmd = Command::new(program);
    if program == FIREWATCH {
        cmd.arg("tool");
    }
    let status = cmd
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(input)
        .arg(out)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} import failed");
}

#[test]
fn answers_match_prometheus() {
    if !testkit::peers(
        "firewatch::promql_differential::answers_match_prometheus",
        &["prometheus", "promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Recent enough for both retentions, old enough to be all in blocks.
    let start = (now - SPAN - 3 * 3600) / STEP * STEP + 3;
    let input = dir.path().join("data.om");
    std::fs::write(&input, data_set(start)).unwrap();
    import("promtool", &input, &dir.path().join("prom"));
    import(FIREWATCH, &input, &dir.path().join("fw"));
    let config = "global:\n  scrape_interval: 1m\n";
    let work = dir.path().join("work");
    let prometheus = Server::start(
        "prometheus",
        &[],
        &work,
        &dir.path().join("prom"),
        config,
        &[],
    );
    let firewatch = Server::start(
        FIREWATCH,
        &["server"],
        &work,
        &dir.path().join("fw"),
        config,
        &[],
    );

    // Instant times 7.5 s after a 15 s boundary: never on a sample or 5 s-aligned range edge.
    let instants: Vec<f64> = [900, 3 * 3600, 2 * 3600 + 1234, SPAN - 60]
        .iter()
        .map(|o| (start + o) as f64 + 4.4)
        .collect();
    let (range_start, range_end) = (start as f64 + 1800.4, (start + SPAN) as f64 - 600.4);
    let mut failures = Vec::new();
    let mut compare = |what: String, path: String| {
        let (ours, _) = ask(&firewatch, &path);
        let (theirs, _) = ask(&prometheus, &path);
        let (a, b) = (answer(&ours), answer(&theirs));
        if !same(&a, &b) {
            failures.push(format!(
                "{what}\n  firewatch:  {}\n  prometheus: {}",
                brief(&a),
                brief(&b)
            ));
        }
    };
    for q in QUERIES.iter().chain(ORDERED) {
        for t in &instants {
            compare(
                format!("{q} at {t}"),
                format!("/api/v1/query?query={}&time={t}", urlencode(q)),
            );
        }
        compare(
            format!("{q} over range"),
            format!(
                "/api/v1/query_range?query={}&start={range_start}&end={range_end}&step=97",
                urlencode(q)
            ),
        );
    }
    for q in ORDERED {
        let path = format!("/api/v1/query?query={}&time={}", urlencode(q), instants[1]);
        assert_eq!(ask(&firewatch, &path).1, ask(&prometheus, &path).1, "{q}");
    }
    metadata_endpoints_agree(&firewatch, &prometheus, range_start, range_end);
    bad_queries_fail_alike(&firewatch, &prometheus);
    promtool_queries_agree(&firewatch, &prometheus, instants[1], range_start, range_end);
    assert!(
        failures.is_empty(),
        "{} of {} comparisons differ:\n{}",
        failures.len(),
        (QUERIES.len() + ORDERED.len()) * (instants.len() + 1),
        failures.join("\n")
    );
}
