//! The notifier against in-process fake Alertmanagers: batching, queue overflow, errors,
//! relabeling of Alertmanagers and alerts, path prefixes, authentication, file discovery,
//! draining on stop, and the metrics.

mod notifier_common;

use std::collections::HashMap;
use std::time::Duration;

use discovery::TargetGroup;
use firewatch_rules::alert::AlertSender;
use firewatch_rules::notifier::{Notifier, NotifierOptions};
use notifier_common::{FakeAm, alert, config, names, options, running, wait_for};

fn static_am(addrs: &[&FakeAm]) -> String {
    let targets: Vec<String> = addrs.iter().map(|a| format!("'{}'", a.addr)).collect();
    format!("static_configs: [{{targets: [{}]}}]", targets.join(", "))
}

/// Waits until `url` has `expected.0` alerts counted as sent (the counters move once the
/// response is in, after the fake recorded the request), then checks `(sent, errors)`.
async fn assert_counts(n: &Notifier, url: &str, expected: (u64, u64)) {
    wait_for("sends counted", || {
        n.counts(url).is_some_and(|(sent, _)| sent >= expected.0)
    })
    .await;
    assert_eq!(n.counts(url), Some(expected), "(sent, errors) of {url}");
}

fn alerts(range: std::ops::Range<usize>) -> Vec<firewatch_rules::alert::Alert> {
    range.map(|i| alert(&format!("a{i}"), &[])).collect()
}

fn expected_names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("a{i}")).collect()
}

#[tokio::test]
async fn batches_of_at_most_256_in_order() {
    let am = FakeAm::start().await;
    let yaml = format!("alerting:\n  alertmanagers:\n  - {}\n", static_am(&[&am]));
    let (n, _task) = running(&yaml, options(), 1).await;
    n.send(alerts(0..600));
    wait_for("600 alerts received", || am.alerts().len() == 600).await;
    let sizes: Vec<usize> = am.received().iter().map(|r| r.alerts.len()).collect();
    assert_eq!(sizes, [256, 256, 88]);
    assert_eq!(names(&am.alerts()), expected_names(0..600));
    let r = &am.received()[0];
    assert_eq!(r.path, "/api/v2/alerts");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_counts(&n, &am.url(), (600, 0)).await;
    assert_eq!(n.dropped_total(), 0);
    n.stop();
}

#[tokio::test]
async fn full_queue_drops_the_oldest() {
    let am = FakeAm::start().await;
    let yaml = format!("alerting:\n  alertmanagers:\n  - {}\n", static_am(&[&am]));
    let n = Notifier::new(NotifierOptions {
        queue_capacity: 10,
        ..options()
    });
    n.apply_config(&config(&yaml)).unwrap();
    // Nothing sends yet: the queue fills up.
    n.send(alerts(0..6));
    n.send(alerts(6..12));
    assert_eq!(n.queue_len(), 10);
    assert_eq!(n.dropped_total(), 2);
    // A single batch larger than the capacity keeps its newest alerts.
    n.send(alerts(12..25));
    assert_eq!(n.queue_len(), 10);
    assert_eq!(n.dropped_total(), 15);
    let metrics = metrics::encode_collector(&n, metrics::Format::Text);
    assert!(metrics.contains("\nprometheus_notifications_queue_length 10\n"));
    assert!(metrics.contains("\nprometheus_notifications_queue_capacity 10\n"));
    assert!(metrics.contains("\nprometheus_notifications_dropped_total 15\n"));

    // The Alertmanager is known before the send loop starts (discovery would race it).
    n.sync(&HashMap::from([(
        "config-0".to_owned(),
        vec![TargetGroup::from_addresses(
            "0",
            [am.addr.to_string()],
            Default::default(),
        )],
    )]));
    let runner = n.clone();
    let task = tokio::spawn(async move { runner.run().await });
    wait_for("queued alerts delivered", || am.alerts().len() == 10).await;
    assert_eq!(names(&am.alerts()), expected_names(15..25));
    n.stop();
    task.await.unwrap();
}

#[tokio::test]
async fn failing_alertmanager_counts_errors_while_the_other_receives() {
    let bad = FakeAm::start().await;
    bad.set_status(500);
    let good = FakeAm::start().await;
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - {}\n",
        static_am(&[&bad, &good])
    );
    let (n, _task) = running(&yaml, options(), 2).await;
    n.send(alerts(0..3));
    wait_for("good one received", || good.alerts().len() == 3).await;
    wait_for("bad one counted", || n.counts(&bad.url()) == Some((3, 3))).await;
    assert_eq!(bad.alerts().len(), 3, "the failing one was asked too");
    assert_counts(&n, &good.url(), (3, 0)).await;
    // One Alertmanager of the set took the batch: nothing is dropped.
    assert_eq!(n.dropped_total(), 0);
    let metrics = metrics::encode_collector(&n, metrics::Format::Text);
    let bad_url = bad.url();
    assert!(metrics.contains(&format!(
        "prometheus_notifications_errors_total{{alertmanager=\"{bad_url}\"}} 3\n"
    )));
    assert!(metrics.contains(&format!(
        "prometheus_notifications_sent_total{{alertmanager=\"{bad_url}\"}} 3\n"
    )));
    assert!(metrics.contains(&format!(
        "prometheus_notifications_latency_seconds_count{{alertmanager=\"{bad_url}\"}} 1\n"
    )));
    assert!(metrics.contains("\nprometheus_notifications_alertmanagers_discovered 2\n"));

    // When no Alertmanager of a set takes a batch, its alerts are dropped.
    good.set_status(503);
    n.send(alerts(3..5));
    wait_for("batch dropped", || n.dropped_total() == 2).await;
    assert_eq!(n.counts(&good.url()), Some((5, 2)));
    n.stop();
}

#[tokio::test]
async fn relabel_configs_drop_an_alertmanager() {
    let kept = FakeAm::start().await;
    let gone = FakeAm::start().await;
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - {}\n    relabel_configs:\n    - {{source_labels: [__address__], regex: '{}', action: drop}}\n",
        static_am(&[&kept, &gone]),
        gone.addr
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    let (active, dropped) = n.alertmanagers();
    assert_eq!(active, [kept.url()]);
    assert_eq!(dropped, [gone.url()]);
    n.send(alerts(0..1));
    wait_for("first batch", || kept.alerts().len() == 1).await;
    n.send(alerts(1..2));
    // Batches go one at a time: once the second arrived, every request of the first is done.
    wait_for("second batch", || kept.alerts().len() == 2).await;
    assert!(gone.received().is_empty());
    n.stop();
}

#[tokio::test]
async fn path_prefix_scheme_label_and_auth() {
    let am = FakeAm::start().await;
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - {}\n    path_prefix: /am/prefix/\n    basic_auth: {{username: user, password: secret}}\n",
        static_am(&[&am])
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    let url = format!("http://{}/am/prefix/api/v2/alerts", am.addr);
    assert_eq!(n.alertmanagers().0, [url]);
    n.send(alerts(0..1));
    wait_for("alert received", || am.alerts().len() == 1).await;
    let r = &am.received()[0];
    assert_eq!(r.path, "/am/prefix/api/v2/alerts");
    // base64("user:secret")
    assert_eq!(r.authorization.as_deref(), Some("Basic dXNlcjpzZWNyZXQ="));
    n.stop();

    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - {}\n    authorization: {{credentials: tok}}\n    relabel_configs:\n    - {{target_label: __alerts_path__, replacement: /elsewhere}}\n",
        static_am(&[&am])
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    n.send(alerts(1..2));
    wait_for("second alert received", || am.alerts().len() == 2).await;
    let r = &am.received()[1];
    assert_eq!(r.path, "/elsewhere");
    assert_eq!(r.authorization.as_deref(), Some("Bearer tok"));
    n.stop();
}

#[tokio::test]
async fn external_labels_and_alert_relabeling_global_and_per_set() {
    let one = FakeAm::start().await;
    let two = FakeAm::start().await;
    let yaml = format!(
        "global:\n  external_labels: {{cluster: eu1, team: ext}}\n\
         alerting:\n  alert_relabel_configs:\n  - {{source_labels: [severity], regex: debug, action: drop}}\n\
         \x20 alertmanagers:\n  - {}\n  - {}\n    alert_relabel_configs:\n\
         \x20   - {{target_label: routed, replacement: two}}\n\
         \x20   - {{source_labels: [alertname], regex: OnlyOne, action: drop}}\n",
        static_am(&[&one]),
        static_am(&[&two]),
    );
    let (n, _task) = running(&yaml, options(), 2).await;
    let mut a = alert("Disk", &[("team", "storage")]);
    a.ends_at = None;
    n.send(vec![
        a,
        alert("Noise", &[("severity", "debug")]),
        alert("OnlyOne", &[]),
    ]);
    wait_for("set one received", || one.alerts().len() == 2).await;
    wait_for("set two received", || two.alerts().len() == 1).await;

    let first = &one.alerts()[0];
    assert_eq!(
        first["labels"],
        serde_json::json!({"alertname": "Disk", "cluster": "eu1", "team": "storage"})
    );
    assert_eq!(
        first["annotations"],
        serde_json::json!({"summary": "Disk is firing"})
    );
    assert_eq!(first["endsAt"], "0001-01-01T00:00:00.000Z");
    assert_eq!(
        first["generatorURL"],
        "http://firewatch:9090/graph?g0.expr=Disk"
    );
    let starts = first["startsAt"].as_str().unwrap();
    assert!(
        starts.parse::<jiff::Timestamp>().is_ok() && starts.ends_with('Z') && starts.len() == 24,
        "RFC 3339 with milliseconds: {starts}"
    );
    assert_eq!(names(&one.alerts()), ["Disk", "OnlyOne"]);
    assert_eq!(
        two.alerts()[0]["labels"],
        serde_json::json!({"alertname": "Disk", "cluster": "eu1", "team": "storage", "routed": "two"})
    );
    assert_counts(&n, &one.url(), (2, 0)).await;
    assert_counts(&n, &two.url(), (1, 0)).await;
    n.stop();
}

#[tokio::test]
async fn file_sd_follows_file_changes_and_reload_keeps_members() {
    let first = FakeAm::start().await;
    let second = FakeAm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("am.json");
    let write = |am: &FakeAm| {
        let tmp = dir.path().join("am.tmp");
        std::fs::write(&tmp, format!("[{{\"targets\": [\"{}\"]}}]", am.addr)).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    };
    write(&first);
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - file_sd_configs: [{{files: ['{}']}}]\n",
        file.display()
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    assert_eq!(n.alertmanagers().0, [first.url()]);
    write(&second);
    wait_for("file change seen", || n.alertmanagers().0 == [second.url()]).await;
    n.send(alerts(0..2));
    wait_for("second receives", || second.alerts().len() == 2).await;
    assert!(first.received().is_empty());

    // Re-applying an unchanged configuration keeps the discovered Alertmanager at once.
    n.apply_config(&config(&yaml)).unwrap();
    assert_eq!(n.alertmanagers().0, [second.url()]);
    n.stop();
}

#[tokio::test]
async fn reload_moves_alerts_to_the_new_alertmanagers() {
    let old = FakeAm::start().await;
    let new = FakeAm::start().await;
    let yaml = |am: &FakeAm| format!("alerting:\n  alertmanagers:\n  - {}\n", static_am(&[am]));
    let (n, _task) = running(&yaml(&old), options(), 1).await;
    n.send(alerts(0..1));
    wait_for("old receives", || old.alerts().len() == 1).await;
    n.apply_config(&config(&yaml(&new))).unwrap();
    wait_for("new one discovered", || n.alertmanagers().0 == [new.url()]).await;
    n.send(alerts(1..3));
    wait_for("new receives", || new.alerts().len() == 2).await;
    assert_eq!(names(&new.alerts()), expected_names(1..3));
    assert_eq!(old.alerts().len(), 1);
    n.stop();
}

#[tokio::test]
async fn stop_drains_the_queue_unless_disabled() {
    let am = FakeAm::start().await;
    let yaml = format!("alerting:\n  alertmanagers:\n  - {}\n", static_am(&[&am]));
    let sets = HashMap::from([(
        "config-0".to_owned(),
        vec![TargetGroup::from_addresses(
            "0",
            [am.addr.to_string()],
            Default::default(),
        )],
    )]);

    // Queued alerts are sent after stop, before run returns.
    let n = Notifier::new(options());
    n.apply_config(&config(&yaml)).unwrap();
    n.sync(&sets);
    n.send(alerts(0..300));
    n.stop();
    tokio::time::timeout(Duration::from_secs(30), n.run())
        .await
        .expect("run returns after draining");
    assert_eq!(am.alerts().len(), 300);
    assert_eq!(n.queue_len(), 0);

    // Without draining they are counted as dropped.
    let n = Notifier::new(NotifierOptions {
        drain_on_shutdown: false,
        ..options()
    });
    n.apply_config(&config(&yaml)).unwrap();
    n.sync(&sets);
    n.send(alerts(0..7));
    n.stop();
    tokio::time::timeout(Duration::from_secs(30), n.run())
        .await
        .expect("run returns");
    assert_eq!(am.alerts().len(), 300);
    assert_eq!(n.dropped_total(), 7);
}

#[tokio::test]
async fn credentials_file_is_read_at_each_request_and_headers_sent() {
    let am = FakeAm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - {}\n    authorization: {{type: Token, credentials_file: '{}'}}\n    http_headers: {{X-Scope-OrgID: {{values: [tenant-a]}}}}\n",
        static_am(&[&am]),
        token.display()
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    n.send(alerts(0..1));
    wait_for("first request", || am.received().len() == 1).await;
    std::fs::write(&token, "second").unwrap();
    n.send(alerts(1..2));
    wait_for("second request", || am.received().len() == 2).await;
    let auth: Vec<Option<String>> = am.received().into_iter().map(|r| r.authorization).collect();
    assert_eq!(
        auth,
        [
            Some("Token first".to_owned()),
            Some("Token second".to_owned())
        ]
    );
    n.stop();
}

#[tokio::test]
async fn unusable_client_settings_refuse_the_config_and_keep_the_old_one() {
    let am = FakeAm::start().await;
    let good = format!("alerting:\n  alertmanagers:\n  - {}\n", static_am(&[&am]));
    let (n, _task) = running(&good, options(), 1).await;
    let bad = format!(
        "alerting:\n  alertmanagers:\n  - {}\n  - {}\n    tls_config: {{ca_file: /nonexistent/ca.pem}}\n",
        static_am(&[&am]),
        static_am(&[&am])
    );
    let err = n.apply_config(&config(&bad)).unwrap_err().to_string();
    assert!(
        err.starts_with("alertmanager set config-1: unable to read CA cert /nonexistent/ca.pem"),
        "{err}"
    );
    assert_eq!(n.alertmanagers().0, [am.url()]);
    n.send(alerts(0..1));
    wait_for("still delivered", || am.alerts().len() == 1).await;
    n.stop();
}

#[test]
fn api_v1_is_refused() {
    let text = "alerting:\n  alertmanagers:\n  - api_version: v1\n    static_configs: [{targets: ['a:1']}]\n";
    let err = config::Config::from_yaml_str(text, "/").unwrap_err();
    assert!(
        err.to_string()
            .contains("expected Alertmanager api version to be one of [v2] but got v1"),
        "{err}"
    );
}
