//! Differential test against the `promql-parser` crate (GreptimeDB's PromQL parser): on a
//! corpus of dashboard-style queries and broken inputs, both parsers must accept and
//! reject the same inputs. Inputs where the oracle is known to lag behind Prometheus 3
//! are listed separately with the reason, and checked to still disagree (so the list
//! cannot silently go stale).

use firewatch_promql::parser::parse;

/// Queries both parsers must accept.
const VALID: &[&str] = &[
    "up",
    "up{job=\"prometheus\"}",
    "up{job=~\"node|prom.*\", instance!=\"\"}",
    "{__name__=~\"http_.*\", code!~\"2..\"}",
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))",
    "sum(rate(http_requests_total[5m])) by (job, handler)",
    "sum without (instance) (rate(x[1m]))",
    "histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))",
    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
    "node_filesystem_avail_bytes / node_filesystem_size_bytes * 100 < 10",
    "predict_linear(node_filesystem_free_bytes[6h], 4 * 3600) < 0",
    "increase(errors_total[1h]) > 0",
    "topk(10, sum by (pod) (container_memory_working_set_bytes))",
    "bottomk(3, x)",
    "quantile(0.95, x)",
    "count_values(\"version\", build_info)",
    "count(up == 1) / count(up)",
    "up == bool 1",
    "a + on(instance) group_left(job) b",
    "a * ignoring(code) group_right b",
    "a and on(x) b or c unless d",
    "a / b ^ 2 ^ 3",
    "-a",
    "-(a + b)",
    "abs(-x)",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "label_join(up, \"foo\", \",\", \"job\", \"instance\")",
    "clamp(x, 0, 1)",
    "clamp_max(x, 1)",
    "absent(up{job=\"missing\"})",
    "absent_over_time(up[5m])",
    "avg_over_time(x[1h:5m])",
    "max_over_time(rate(x[5m])[1h:])",
    "x offset 5m",
    "x[5m] offset 1h",
    "x @ 1609459200",
    "x @ start()",
    "x[5m] @ end()",
    "rate(x[5m] offset -1h)",
    "time() - x",
    "vector(1)",
    "scalar(sum(x))",
    "sort_desc(x)",
    "timestamp(x)",
    "deriv(x[10m])",
    "holt_winters_removed_so_not_here_is_fine",
    "changes(x[1h])",
    "resets(x[1h])",
    "day_of_week()",
    "hour(timestamp(x))",
    "x{a=\"b\",}",
    "(((x)))",
    "1",
    "1.5e3",
    "0x1f",
    "Inf",
    "-NaN",
    "\"string\"",
    "'single'",
    "`raw`",
    "5m",
    "x # comment",
    "sum by (\"a.b\") (x)",
    "{\"metric.with.dots\"}",
    "{\"metric.with.dots\", job=\"x\"}",
    "x + fill(0) y",
    "x + fill_left(1) fill_right(2) y",
    "fill + fill",
    "group(x) by (job)",
    "stddev_over_time(x[5m])",
    "quantile_over_time(0.5, x[5m])",
    "last_over_time(x[5m])",
    "present_over_time(x[5m])",
    "sgn(x)",
    "x atan2 y",
];

/// Inputs both parsers must reject.
const INVALID: &[&str] = &[
    "",
    "(",
    "x)",
    "1 +",
    "*1",
    "x{",
    "x}",
    "{}",
    "{x=\"\"}",
    "x{a=b}",
    "x{a}",
    "x[5m",
    "x[]",
    "x[5mm]",
    "x[0s]",
    "rate(x)",
    "rate(x[5m], 1)",
    "sum(x[5m])",
    "topk(x)",
    "unknown_fn(x)",
    "1 and 1",
    "1 == 1",
    "x offset",
    "x @",
    "(x + y)[5m]",
    "x offset 1m offset 2m",
    "x @ 1 @ 2",
    "foo{__name__=\"bar\"}",
    "a + on(b) group_left(b) c",
    "a and on(b) group_left c",
    "\"unterminated",
    "x[5m] + 1",
    "-\"s\"",
    "sum by (a b) (x)",
    "x =~ y",
    "1 2",
    "x y",
    "@",
    ",",
    "abs(-1)",
    "atan2(1, 2)",
];

/// Prometheus 3 syntax that the oracle does not know yet: we accept, it rejects.
const ORACLE_LAGS: &[(&str, &str)] = &[
    ("x[5m+1m]", "duration expressions"),
    ("x[step()]", "duration expressions"),
    ("x offset (1h * 2)", "duration expressions"),
    ("x[5m] anchored", "extended range selectors"),
    ("x[5m] smoothed", "extended range selectors"),
    ("x </ 1", "histogram trim operators"),
    ("x >/ 1", "histogram trim operators"),
];

#[test]
fn both_parsers_agree_on_the_corpus() {
    let mut failures = Vec::new();
    for q in VALID {
        let ours = parse(q);
        let theirs = promql_parser::parser::parse(q);
        if ours.is_err() || theirs.is_err() {
            failures.push(format!(
                "valid {q:?}: ours {:?}, oracle {:?}",
                ours.err().map(|e| e.to_string()),
                theirs.err()
            ));
        }
    }
    for q in INVALID {
        let ours = parse(q);
        let theirs = promql_parser::parser::parse(q);
        if ours.is_ok() || theirs.is_ok() {
            failures.push(format!(
                "invalid {q:?}: ours ok={}, oracle ok={}",
                ours.is_ok(),
                theirs.is_ok()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn oracle_still_lags_on_newer_syntax() {
    for (q, feature) in ORACLE_LAGS {
        assert!(parse(q).is_ok(), "we accept {q:?} ({feature})");
        assert!(
            promql_parser::parser::parse(q).is_err(),
            "oracle now accepts {q:?} ({feature}): move it to VALID"
        );
    }
}

/// Our canonical print of every valid corpus query is accepted by the oracle too.
#[test]
fn oracle_accepts_our_canonical_prints() {
    for q in VALID {
        let printed = parse(q).expect("valid").to_string();
        assert!(
            promql_parser::parser::parse(&printed).is_ok(),
            "oracle rejects our print {printed:?} of {q:?}"
        );
    }
}
