//! Alerting rules over real storage: the pending → firing → resolved lifecycle, `ALERTS` and
//! `ALERTS_FOR_STATE`, `keep_firing_for`, templates, sending with the resend delay, and the
//! restore of `for` state after a restart.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{MIN, Recorder, Setup, labels, manager_over, named, samples};
use firewatch_rules::{AlertState, Health, RuleKind, UpdateOptions};
use model::{Matcher, is_stale_nan};

const RULES: &str = r#"
groups:
  - name: g
    rules:
      - alert: HighLoad
        expr: load > 1
        for: 2m
        labels:
          severity: page
          where: "{{ $labels.instance }}"
        annotations:
          summary: "load {{ $value }} on {{ $labels.instance }} ({{ $externalLabels.dc }})"
"#;

fn ms(t: i64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(t).unwrap())
}

#[test]
fn lifecycle_pending_firing_resolved() {
    let s = Setup::new();
    s.series(&[("__name__", "load"), ("instance", "h1")], 0, 5 * MIN, 3.0);
    s.series(
        &[("__name__", "load"), ("instance", "h1")],
        6 * MIN,
        30 * MIN,
        0.5,
    );
    let p = s.write("r.yml", RULES);
    let opts = UpdateOptions {
        external_labels: labels(&[("dc", "eu1")]),
        ..UpdateOptions::default()
    };
    s.manager.update(&[p], &opts).unwrap();

    let state = |s: &Setup| {
        let g = s.manager.groups();
        let r = &g[0].rules[0];
        (r.state, r.alerts.clone())
    };
    s.manager.eval_at(0);
    let (st, alerts) = state(&s);
    assert_eq!(st, Some(AlertState::Pending));
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(
        a.labels,
        labels(&[
            ("alertname", "HighLoad"),
            ("instance", "h1"),
            ("severity", "page"),
            ("where", "h1")
        ])
    );
    assert_eq!(a.annotations.get("summary"), Some("load 3 on h1 (eu1)"));
    assert_eq!(a.active_at, 0);
    assert_eq!(a.value, 3.0);
    // At start-up nothing is sent and ALERTS is written only once `for` state was restored
    // (after the first evaluation).
    assert!(named(&s.storage, "ALERTS").is_empty());
    assert!(s.sender.take().is_empty());

    s.manager.eval_at(MIN);
    assert_eq!(state(&s).0, Some(AlertState::Pending));
    s.manager.eval_at(2 * MIN);
    assert_eq!(state(&s).0, Some(AlertState::Firing));
    let sent = s.sender.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].starts_at, ms(2 * MIN));
    assert_eq!(sent[0].ends_at, Some(ms(2 * MIN + 4 * MIN)));
    assert_eq!(
        sent[0].generator_url,
        "http://fw.example:9090/graph?g0.expr=load+%3E+1&g0.tab=1"
    );
    // Within the resend delay nothing is sent again; after it, the alert is re-sent.
    s.manager.eval_at(3 * MIN);
    assert!(s.sender.take().is_empty());
    s.manager.eval_at(4 * MIN);
    assert_eq!(s.sender.take().len(), 1);

    // The condition stops: resolved, sent with ends_at = resolution time.
    s.manager.eval_at(6 * MIN);
    let (st, alerts) = state(&s);
    assert_eq!(st, Some(AlertState::Inactive));
    assert!(alerts.is_empty());
    let sent = s.sender.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, Some(ms(6 * MIN)));

    let series = named(&s.storage, "ALERTS");
    let pending = labels(&[
        ("__name__", "ALERTS"),
        ("alertname", "HighLoad"),
        ("alertstate", "pending"),
        ("instance", "h1"),
        ("severity", "page"),
        ("where", "h1"),
    ]);
    let firing = pending.builder().set("alertstate", "firing").labels();
    let find = |l: &model::Labels| series.iter().find(|(x, _)| x == l).unwrap().1.clone();
    let p = find(&pending);
    assert_eq!(p[0], (MIN, 1.0));
    assert_eq!(p[1].0, 2 * MIN);
    assert!(is_stale_nan(p[1].1));
    let f = find(&firing);
    assert_eq!(&f[..3], &[(2 * MIN, 1.0), (3 * MIN, 1.0), (4 * MIN, 1.0)]);
    assert_eq!(f[3].0, 6 * MIN);
    assert!(is_stale_nan(f[3].1));
    let fs = named(&s.storage, "ALERTS_FOR_STATE");
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].1[0], (MIN, 0.0));

    // Resolved alerts are re-sent for 15 minutes, then forgotten.
    s.manager.eval_at(8 * MIN);
    assert_eq!(s.sender.take().len(), 1);
    s.manager.eval_at(21 * MIN);
    assert_eq!(s.sender.take().len(), 1);
    s.manager.eval_at(22 * MIN);
    assert!(s.sender.take().is_empty());
}

#[test]
fn keep_firing_for_and_zero_for() {
    let s = Setup::new();
    s.series(&[("__name__", "err")], 0, 2 * MIN, 1.0);
    s.load(
        r#"
groups:
  - name: g
    rules:
      - alert: Errors
        expr: err > 0
        keep_firing_for: 3m
"#,
    );
    s.manager.eval_at(0);
    s.manager.eval_at(MIN);
    let r = &s.manager.groups()[0].rules[0];
    assert_eq!(r.state, Some(AlertState::Firing));
    assert_eq!(r.alerts[0].keep_firing_since, None);
    // The series goes away after 2m + lookback; meanwhile use a time past the lookback.
    s.manager.eval_at(8 * MIN);
    let r = &s.manager.groups()[0].rules[0];
    assert_eq!(r.state, Some(AlertState::Firing));
    assert_eq!(r.alerts[0].keep_firing_since, Some(8 * MIN));
    s.manager.eval_at(10 * MIN);
    assert_eq!(
        s.manager.groups()[0].rules[0].state,
        Some(AlertState::Firing)
    );
    s.manager.eval_at(11 * MIN);
    assert_eq!(
        s.manager.groups()[0].rules[0].state,
        Some(AlertState::Inactive)
    );
}

#[test]
fn template_errors_show_in_health_and_annotation() {
    let s = Setup::new();
    s.series(&[("__name__", "m"), ("instance", "x")], 0, 5 * MIN, 1.0);
    s.load(
        r#"
groups:
  - name: g
    rules:
      - alert: Bad
        expr: m
        annotations:
          a: '{{ humanize "one" }}'
          b: '{{ $value | humanizePercentage }} {{ "host.example.com:9" | stripDomain }} {{ query "m * 2" | first | value }}'
"#,
    );
    s.manager.eval_at(MIN);
    let r = &s.manager.groups()[0].rules[0];
    assert_eq!(r.health, Health::Bad);
    let err = r.last_error.clone().unwrap();
    assert!(
        err.contains("error executing template __alert_Bad"),
        "{err}"
    );
    let a = &r.alerts[0];
    assert!(
        a.annotations
            .get("a")
            .unwrap()
            .starts_with("<error expanding template: "),
        "{:?}",
        a.annotations
    );
    assert_eq!(a.annotations.get("b"), Some("100% host:9 2"));
}

#[test]
fn alert_limit_and_view() {
    let s = Setup::new();
    s.series(&[("__name__", "m"), ("i", "1")], 0, 5 * MIN, 1.0);
    s.series(&[("__name__", "m"), ("i", "2")], 0, 5 * MIN, 1.0);
    s.load(
        r#"
groups:
  - name: g
    interval: 30s
    limit: 1
    rules:
      - alert: Many
        expr: m
        for: 5m
        keep_firing_for: 1m
        labels: {team: a}
        annotations: {summary: s}
"#,
    );
    s.manager.eval_at(MIN);
    let g = &s.manager.groups()[0];
    assert_eq!(g.limit, 1);
    assert_eq!(g.interval, Duration::from_secs(30));
    let r = &g.rules[0];
    assert_eq!(r.kind, RuleKind::Alerting);
    assert_eq!(r.duration, Duration::from_secs(300));
    assert_eq!(r.keep_firing_for, Duration::from_secs(60));
    assert_eq!(r.labels, labels(&[("team", "a")]));
    assert_eq!(r.annotations, labels(&[("summary", "s")]));
    assert_eq!(
        r.last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(r.alerts.is_empty());
    assert!(s.manager.alerts().is_empty());
}

fn for_state(q: &dyn storage::Queryable) -> Vec<(i64, f64)> {
    samples(q, &[Matcher::equal("__name__", "ALERTS_FOR_STATE")])
        .into_iter()
        .flat_map(|(_, v)| v)
        .collect()
}

/// Runs an alert with `for: hold_min` minutes from 0 to `down_min`, "restarts" (a new manager
/// over the same TSDB, reopened) and evaluates at `up_min`: returns the restored `activeAt`.
fn restart(hold_min: i64, down_min: i64, up_min: i64) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        format!("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: {hold_min}m\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let up = labels(&[("__name__", "up"), ("job", "j")]);
    {
        let db = Arc::new(tsdb::db::Db::open(&data, tsdb::db::DbOptions::default()).unwrap());
        let mut app = storage::Appendable::appender(db.as_ref());
        let mut t = 0;
        while t <= up_min * MIN + 10 * MIN {
            app.append(0, &up, t, model::Sample::Float(0.0)).unwrap();
            t += 30_000;
        }
        app.commit().unwrap();
        let m = manager_over(db.clone(), db.clone(), Arc::new(Recorder::default()));
        m.update(std::slice::from_ref(&rules), &UpdateOptions::default())
            .unwrap();
        for t in 0..=down_min {
            m.eval_at(t * MIN);
        }
        assert_eq!(m.alerts()[0].active_at, 0);
        assert_eq!(for_state(db.as_ref()).last(), Some(&(down_min * MIN, 0.0)));
        db.close().unwrap();
    }
    let db = Arc::new(tsdb::db::Db::open(&data, tsdb::db::DbOptions::default()).unwrap());
    let m = manager_over(db.clone(), db.clone(), Arc::new(Recorder::default()));
    m.update(&[rules], &UpdateOptions::default()).unwrap();
    m.eval_at(up_min * MIN);
    let restored = m.alerts()[0].active_at;
    // The next evaluation writes the restored time.
    m.eval_at(up_min * MIN + MIN);
    #[allow(clippy::cast_precision_loss)]
    let want = (restored / 1000) as f64;
    assert_eq!(
        for_state(db.as_ref()).last(),
        Some(&(up_min * MIN + MIN, want))
    );
    db.close().unwrap();
    restored
}

#[test]
fn restore_for_state_after_restart() {
    // Pending 10m of 30m, down 5m: the remaining 20m exceed the grace period, so ActiveAt
    // moves forward by the downtime.
    assert_eq!(restart(30, 10, 15), 5 * MIN);
    // Pending 10m of 15m, down 5m: 5m remain, less than the 10m grace period: it fires
    // 10m after the restart.
    assert_eq!(restart(15, 10, 15), 15 * MIN + 10 * MIN - 15 * MIN);
    // Firing before the restart (pending 12m of 11m): ActiveAt is kept.
    assert_eq!(restart(11, 12, 14), 0);
}

#[test]
fn query_offset_applies_to_alert_queries_and_series() {
    let s = Setup::new();
    s.series(&[("__name__", "bad")], 0, 3 * MIN, 1.0);
    s.load(
        r#"
groups:
  - name: g
    query_offset: 1m
    rules:
      - alert: Late
        expr: bad > 0
"#,
    );
    // The series starts at 0: evaluated at 1m with a 1m offset, the query runs at 0.
    s.manager.eval_at(MIN);
    s.manager.eval_at(2 * MIN);
    let alerts = named(&s.storage, "ALERTS");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].0.get("alertstate"), Some("firing"));
    assert_eq!(alerts[0].1, vec![(MIN, 1.0)]);
    let r = &s.manager.groups()[0].rules[0];
    // `activeAt` is the evaluation time, not the query time.
    assert_eq!(r.alerts[0].active_at, MIN);
}
