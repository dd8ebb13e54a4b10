//! Recording rules over real storage: results with rule and group labels, query offset,
//! limits, staleness markers, reloads and the background runner.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{MIN, Setup, labels, named};
use firewatch_rules::{Health, RuleKind, UpdateOptions};
use model::is_stale_nan;

#[test]
fn recording_rule_writes_results_with_labels() {
    let s = Setup::new();
    s.series(
        &[("__name__", "up"), ("job", "a"), ("instance", "1")],
        0,
        10 * MIN,
        1.0,
    );
    s.series(
        &[("__name__", "up"), ("job", "a"), ("instance", "2")],
        0,
        10 * MIN,
        0.0,
    );
    s.series(
        &[("__name__", "up"), ("job", "b"), ("instance", "3")],
        0,
        10 * MIN,
        1.0,
    );
    s.load(
        r#"
groups:
  - name: g
    labels: {team: infra, env: prod}
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {env: test}
      - record: job:up:twice
        expr: job:up:sum * 2
"#,
    );
    s.manager.eval_at(2 * MIN);
    let got = named(&s.storage, "job:up:sum");
    assert_eq!(
        got,
        vec![
            (
                labels(&[
                    ("__name__", "job:up:sum"),
                    ("env", "test"),
                    ("job", "a"),
                    ("team", "infra")
                ]),
                vec![(2 * MIN, 1.0)]
            ),
            (
                labels(&[
                    ("__name__", "job:up:sum"),
                    ("env", "test"),
                    ("job", "b"),
                    ("team", "infra")
                ]),
                vec![(2 * MIN, 1.0)]
            ),
        ]
    );
    // Rules run in order at one timestamp: the second sees the first's fresh output.
    let twice = named(&s.storage, "job:up:twice");
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[0].1, vec![(2 * MIN, 2.0)]);
    assert_eq!(twice[0].0.get("env"), Some("prod"));
    let g = &s.manager.groups()[0];
    assert_eq!(g.rules[0].health, Health::Good);
    assert_eq!(g.rules[0].kind, RuleKind::Recording);
    assert_eq!(g.rules[0].query, "sum by (job) (up)");
    assert_eq!(g.rules[0].last_evaluation, Some(2 * MIN));
    assert_eq!(g.last_evaluation, Some(2 * MIN));
    assert_eq!(g.interval, Duration::from_secs(60));
}

#[test]
fn scalar_result_and_query_offset() {
    let s = Setup::new();
    s.series(&[("__name__", "m")], 0, 0, 5.0);
    s.series(&[("__name__", "m")], 3 * MIN, 3 * MIN, 7.0);
    s.load(
        r#"
groups:
  - name: g
    query_offset: 2m
    rules:
      - record: m_copy
        expr: m
      - record: one
        expr: "1 + 1"
"#,
    );
    s.manager.eval_at(4 * MIN);
    // Evaluated (and written) at 4m - 2m: the sample at 3m is not yet visible.
    assert_eq!(named(&s.storage, "m_copy")[0].1, vec![(2 * MIN, 5.0)]);
    assert_eq!(
        named(&s.storage, "one"),
        vec![(labels(&[("__name__", "one")]), vec![(2 * MIN, 2.0)])]
    );
}

#[test]
fn global_query_offset_applies_when_group_sets_none() {
    let s = Setup::new();
    s.series(&[("__name__", "m")], 0, 10 * MIN, 1.0);
    let p = s.write(
        "r.yml",
        "groups:\n  - name: g\n    rules:\n      - record: c\n        expr: m\n",
    );
    let opts = UpdateOptions {
        query_offset: Duration::from_secs(30),
        ..UpdateOptions::default()
    };
    s.manager.update(&[p], &opts).unwrap();
    s.manager.eval_at(5 * MIN);
    assert_eq!(named(&s.storage, "c")[0].1, vec![(5 * MIN - 30_000, 1.0)]);
    assert_eq!(s.manager.groups()[0].query_offset, Duration::from_secs(30));
}

#[test]
fn limit_and_duplicate_errors_show_in_health() {
    let s = Setup::new();
    s.series(&[("__name__", "m"), ("a", "1")], 0, 10 * MIN, 1.0);
    s.series(&[("__name__", "m"), ("a", "2")], 0, 10 * MIN, 1.0);
    s.load(
        r#"
groups:
  - name: g
    limit: 1
    rules:
      - record: too_many
        expr: m
      - record: dup
        expr: sum by (a) (m)
        labels: {a: same}
"#,
    );
    s.manager.eval_at(MIN);
    let g = &s.manager.groups()[0];
    assert_eq!(g.rules[0].health, Health::Bad);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert_eq!(
        g.rules[1].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert!(named(&s.storage, "too_many").is_empty());
}

#[test]
fn series_that_disappear_get_staleness_markers() {
    let s = Setup::new();
    s.series(&[("__name__", "m"), ("a", "1")], 0, 10 * MIN, 1.0);
    s.series(&[("__name__", "m"), ("a", "2")], 0, 2 * MIN, 1.0);
    s.series(&[("__name__", "m"), ("a", "2")], 3 * MIN, 10 * MIN, 0.0);
    s.load("groups:\n  - name: g\n    rules:\n      - record: ok\n        expr: m == 1\n");
    for t in 1..=4 {
        s.manager.eval_at(t * MIN);
    }
    let got = named(&s.storage, "ok");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.len(), 4);
    let gone = &got[1].1;
    assert_eq!(gone[..2], [(MIN, 1.0), (2 * MIN, 1.0)]);
    assert_eq!(gone[2].0, 3 * MIN);
    assert!(is_stale_nan(gone[2].1));
    // Marked once only.
    assert_eq!(gone.len(), 3);
}

#[test]
fn reload_keeps_unchanged_groups_and_marks_removed_ones_stale() {
    let s = Setup::new();
    s.series(&[("__name__", "m")], 0, 60 * MIN, 1.0);
    let a = s.write(
        "a.yml",
        "groups:\n  - name: keep\n    rules:\n      - record: kept\n        expr: m\n",
    );
    let b = s.write(
        "b.yml",
        "groups:\n  - name: drop\n    rules:\n      - record: dropped\n        expr: m\n",
    );
    let opts = UpdateOptions::default();
    s.manager.update(&[a.clone(), b], &opts).unwrap();
    s.manager.eval_at(MIN);
    s.manager.update(std::slice::from_ref(&a), &opts).unwrap();
    let groups = s.manager.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "keep");
    // The unchanged group keeps its evaluation state.
    assert_eq!(groups[0].last_evaluation, Some(MIN));
    let dropped = named(&s.storage, "dropped");
    assert_eq!(dropped[0].1.len(), 2);
    assert!(is_stale_nan(dropped[0].1[1].1));

    // A changed group takes over the state of rules that kept their name and labels, and
    // marks the series of removed rules stale at its next evaluation.
    std::fs::write(
        &a,
        "groups:\n  - name: keep\n    rules:\n      - record: kept\n        expr: m * 1\n      - record: new\n        expr: m\n",
    )
    .unwrap();
    s.manager.update(std::slice::from_ref(&a), &opts).unwrap();
    let g = &s.manager.groups()[0];
    assert_eq!(g.rules[0].last_evaluation, Some(MIN));
    assert_eq!(g.rules[1].health, Health::Unknown);
    std::fs::write(
        &a,
        "groups:\n  - name: keep\n    rules:\n      - record: new\n        expr: m\n",
    )
    .unwrap();
    s.manager.update(&[a], &opts).unwrap();
    s.manager.eval_at(2 * MIN);
    let kept = named(&s.storage, "kept");
    assert_eq!(kept[0].1[0], (MIN, 1.0));
    assert_eq!(kept[0].1[1].0, 2 * MIN);
    assert!(is_stale_nan(kept[0].1[1].1));
}

#[test]
fn invalid_file_leaves_groups_unchanged() {
    let s = Setup::new();
    s.load("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n");
    let bad = s.write(
        "bad.yml",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(\n",
    );
    let err = s
        .manager
        .update(&[bad], &UpdateOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.yml"), "{err}");
    assert!(err.contains("could not parse expression"), "{err}");
    assert_eq!(s.manager.groups()[0].rules[0].name, "r");
}

#[test]
fn background_runner_evaluates_on_the_interval() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = Setup::new();
    let now = jiff::Timestamp::now().as_millisecond();
    s.series(&[("__name__", "m")], now - 10 * MIN, now + 10 * MIN, 3.0);
    s.load("groups:\n  - name: fast\n    interval: 1s\n    rules:\n      - record: r\n        expr: m\n");
    let manager = Arc::clone(&s.manager);
    rt.block_on(async move {
        manager.start();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let got = named(&s.storage, "r");
            if got.first().is_some_and(|(_, v)| v.len() >= 2) {
                let v = &got[0].1;
                // Aligned slots one interval apart.
                assert_eq!(v[1].0 - v[0].0, 1000);
                assert_eq!(v[0].1, 3.0);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no evaluations: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        manager.stop();
    });
}

#[test]
fn rule_file_patterns_expand_relative_to_the_config() {
    let s = Setup::new();
    let a = s.write("a.rules.yml", "groups: []\n");
    let b = s.write("b.rules.yml", "groups: []\n");
    s.write("other.yml", "groups: []\n");
    let got = firewatch_rules::expand_rule_files(
        &["*.rules.yml".to_owned(), a.to_string_lossy().into_owned()],
        s.dir.path(),
    )
    .unwrap();
    assert_eq!(got, vec![a, b]);
    let err = firewatch_rules::expand_rule_files(&["[".to_owned()], s.dir.path()).unwrap_err();
    assert!(err.to_string().contains("syntax error in pattern"), "{err}");
}

#[test]
fn native_histogram_results_are_recorded_as_histograms() {
    use promql::promqltest::series_desc::{SeqValue, parse_series_desc};
    let s = Setup::new();
    let (l, values) =
        parse_series_desc("h{a=\"1\"} {{schema:0 sum:5 count:4 buckets:[1 3]}}x3").unwrap();
    for (i, v) in values.into_iter().enumerate() {
        let SeqValue::Histogram(h, _) = v else {
            panic!("not a histogram: {v:?}")
        };
        s.storage.add(
            &l,
            i64::try_from(i).unwrap() * MIN,
            model::Sample::FloatHistogram(Arc::new(*h)),
        );
    }
    s.load("groups:\n  - name: g\n    rules:\n      - record: h:sum\n        expr: sum(h)\n");
    s.manager.eval_at(2 * MIN);
    let engine = promql::Engine::default();
    let res = engine
        .instant_query(&s.storage, "histogram_count(h:sum)", 2 * MIN)
        .unwrap();
    let promql::Value::Vector(v) = res.value else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].f, 4.0);
    assert_eq!(s.manager.groups()[0].rules[0].health, Health::Good);
}

#[test]
fn manager_metrics_count_evaluations_and_failures() {
    let s = Setup::new();
    s.series(&[("__name__", "m"), ("a", "1")], 0, 10 * MIN, 1.0);
    s.series(&[("__name__", "m"), ("a", "2")], 0, 10 * MIN, 1.0);
    s.load(
        "groups:\n  - name: g\n    interval: 30s\n    rules:\n      - record: ok\n        expr: m\n      - record: bad\n        expr: sum by (a) (m)\n        labels: {a: x}\n",
    );
    s.manager.eval_at(MIN);
    s.manager.eval_at(2 * MIN);
    let text = metrics::encode_collector(&*s.manager, metrics::Format::Text);
    let key = format!("{};g", s.dir.path().join("rules.yml").display());
    for (name, value) in [
        ("prometheus_rule_evaluations_total", "4"),
        ("prometheus_rule_evaluation_failures_total", "2"),
        ("prometheus_rule_group_interval_seconds", "30"),
        ("prometheus_rule_group_iterations_total", "2"),
        ("prometheus_rule_group_last_evaluation_samples", "2"),
        (
            "prometheus_rule_group_last_evaluation_timestamp_seconds",
            "120",
        ),
        ("prometheus_rule_group_rules", "2"),
    ] {
        let line = format!("{name}{{rule_group=\"{key}\"}} {value}\n");
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("# TYPE prometheus_rule_evaluations_total counter\n"));
    // Every rule evaluation (failed ones too) and every group evaluation is timed.
    for line in [
        "prometheus_rule_evaluation_duration_seconds_count 4\n",
        "prometheus_rule_group_duration_seconds_count 2\n",
        "# TYPE prometheus_rule_group_duration_seconds summary\n",
        "prometheus_rule_group_duration_seconds{quantile=\"0.01\"} ",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
