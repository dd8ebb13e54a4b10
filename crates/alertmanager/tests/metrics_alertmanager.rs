//! `/metrics` against the real Alertmanager 0.25's: both run with clustering on (loopback),
//! take the same alerts and a silence and notify the same webhook; then every
//! `alertmanager_*` family 0.25 exports must be in Firewatch's with the same type, help text
//! and label names, Firewatch must export no `alertmanager_*` family 0.25 lacks, and the
//! families this work added must count what happened.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Recorder, at, request};
use model::exposition::{Format, MetricFamily, parse_families};
use serde_json::json;

const TEST: &str =
    "firewatch_alertmanager::metrics_alertmanager::self_metrics_match_alertmanager_0_25";

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs: [{url: 'RECORDER'}]
"#;

fn families(port: u16) -> BTreeMap<String, MetricFamily> {
    let (code, body) = request(port, "GET", "/metrics", None);
    assert_eq!(code, 200, "{body}");
    parse_families(body.as_bytes(), Format::Text)
        .unwrap_or_else(|e| panic!("unparsable /metrics: {e}\n{body}"))
        .into_iter()
        .filter(|f| f.name.starts_with("alertmanager_"))
        .map(|f| (f.name.clone(), f))
        .collect()
}

fn label_names(f: &MetricFamily) -> BTreeSet<String> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name.to_owned()))
        .filter(|n| !matches!(n.as_str(), "__name__" | "le" | "quantile"))
        .collect()
}

/// The value of the sample of `family` whose series name is `series` (with `labels`).
fn value(
    fams: &BTreeMap<String, MetricFamily>,
    family: &str,
    series: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let f = fams
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    f.samples
        .iter()
        .find(|s| {
            s.labels.metric_name() == Some(series)
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {series}{labels:?} in {family}"))
        .value
}

fn exercise(port: u16) {
    let alerts = json!([
        {"labels": {"alertname": "Disk", "instance": "a"}, "startsAt": at(-5.0)},
        {"labels": {"alertname": "Quiet"}, "startsAt": at(-5.0)},
    ]);
    let (code, body) = request(port, "POST", "/api/v2/alerts", Some(&alerts.to_string()));
    assert_eq!(code, 200, "{body}");
    common::post_silence(
        port,
        &json!({"matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false, "isEqual": true}],
            "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "t", "comment": "c"})
        .to_string(),
    );
    let (code, body) = request(port, "GET", "/api/v2/alerts", None);
    assert_eq!(code, 200, "{body}");
}

#[test]
fn self_metrics_match_alertmanager_0_25() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let real_cluster = format!("127.0.0.1:{}", testkit::free_port());
    let Some(real) = common::real_with(
        TEST,
        &dir.path().join("real"),
        &cfg,
        &[
            format!("--cluster.listen-address={real_cluster}"),
            "--cluster.settle-timeout=2s".to_owned(),
        ],
    ) else {
        return;
    };
    let fw_cluster = format!("127.0.0.1:{}", testkit::free_port());
    let fw = common::firewatch_with(&dir.path().join("fw"), &cfg, |o| {
        o.cluster_listen_address = fw_cluster.clone();
        o.settle_timeout = Duration::from_secs(2);
        o.maintenance_interval = Duration::from_secs(1);
    });
    exercise(real.port);
    exercise(fw.port);
    // Both notify the one unsilenced group once they settled.
    testkit::wait_for("both notified", Duration::from_secs(30), || {
        let got = rec.under("/hook");
        got.len() >= 2
    });
    let (real_fams, fw_fams) = (families(real.port), families(fw.port));

    let mut problems = Vec::new();
    for (name, r) in &real_fams {
        let Some(f) = fw_fams.get(name) else {
            problems.push(format!("missing family {name} ({:?})", r.metric_type));
            continue;
        };
        if f.metric_type != r.metric_type {
            problems.push(format!(
                "{name}: type {:?}, 0.25 has {:?}",
                f.metric_type, r.metric_type
            ));
        }
        if f.help != r.help {
            problems.push(format!("{name}: help {:?}, 0.25 has {:?}", f.help, r.help));
        }
        if label_names(f) != label_names(r) {
            problems.push(format!(
                "{name}: labels {:?}, 0.25 has {:?}",
                label_names(f),
                label_names(r)
            ));
        }
    }
    for name in fw_fams.keys() {
        if !real_fams.contains_key(name) {
            problems.push(format!("{name}: not exported by Alertmanager 0.25"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The families added here count, on both alike.
    for fams in [&real_fams, &fw_fams] {
        assert!(
            value(
                fams,
                "alertmanager_nflog_queries_total",
                "alertmanager_nflog_queries_total",
                &[]
            ) >= 1.0
        );
        assert!(
            value(
                fams,
                "alertmanager_silences_queries_total",
                "alertmanager_silences_queries_total",
                &[]
            ) >= 1.0
        );
        assert!(
            value(
                fams,
                "alertmanager_silences_snapshot_size_bytes",
                "alertmanager_silences_snapshot_size_bytes",
                &[]
            ) >= 0.0
        );
        assert!(
            value(
                fams,
                "alertmanager_dispatcher_alert_processing_duration_seconds",
                "alertmanager_dispatcher_alert_processing_duration_seconds_count",
                &[]
            ) >= 2.0
        );
        assert!(
            value(
                fams,
                "alertmanager_notification_requests_total",
                "alertmanager_notification_requests_total",
                &[("integration", "webhook")]
            ) >= 1.0
        );
        assert_eq!(
            value(
                fams,
                "alertmanager_marked_alerts",
                "alertmanager_marked_alerts",
                &[("state", "suppressed")]
            ),
            1.0
        );
        assert_eq!(
            value(
                fams,
                "alertmanager_peer_position",
                "alertmanager_peer_position",
                &[]
            ),
            0.0
        );
    }
    // The silence is in the log at once; the snapshot is written at maintenance (as 0.25).
    testkit::wait_for(
        "silences snapshot written at maintenance",
        Duration::from_secs(30),
        || {
            value(
                &families(fw.port),
                "alertmanager_silences_snapshot_size_bytes",
                "alertmanager_silences_snapshot_size_bytes",
                &[],
            ) > 0.0
        },
    );
    fw.stop();
}

/// GET requests beyond `--web.get-concurrency` get 503 with Alertmanager's text and count in
/// `alertmanager_http_concurrency_limit_exceeded_total`.
#[test]
fn get_requests_over_the_concurrency_limit_are_refused() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let fw = common::firewatch_with(dir.path(), &cfg, |o| o.get_concurrency = 1);
    // Many parallel GETs: with a limit of 1 some are refused.
    let refused = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..20 {
                    let (code, body) = request(fw.port, "GET", "/api/v2/status", None);
                    if code == 503 {
                        assert_eq!(
                            body,
                            "Limit of concurrent GET requests reached (1), try again later.\n"
                        );
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    } else {
                        assert_eq!(code, 200, "{body}");
                    }
                }
            });
        }
    });
    let refused = refused.into_inner();
    let fams = families(fw.port);
    let counted = value(
        &fams,
        "alertmanager_http_concurrency_limit_exceeded_total",
        "alertmanager_http_concurrency_limit_exceeded_total",
        &[("method", "get")],
    );
    assert!(
        refused > 0,
        "16 clients at once never overlapped with a limit of 1"
    );
    assert_eq!(counted, refused as f64);
    fw.stop();
}
