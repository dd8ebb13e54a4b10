//! The default e-mail (`email.default.subject` and `email.default.html`, no `text`) compared
//! with the one the real Alertmanager 0.25 (Debian's `prometheus-alertmanager`) sends for the
//! same alerts through the same SMTP server (aiosmtpd, STARTTLS and AUTH): raw headers (but
//! `Date` and `Message-Id`), the raw MIME body (quoted-printable, boundaries replaced) and each
//! decoded part. Also: Alertmanager's own `email.tmpl` (from ../shared) expanded by our
//! engine gives what our default template gives.

mod support;

use std::sync::Arc;
use std::time::Duration;

use firewatch_notifiers::alert::{Alert, AlertStatus, Data};
use firewatch_notifiers::{NotifyContext, Receiver, Template, build_integrations};
use serde_json::{Value, json};
use support::{Recorder, SmtpServer, data_from_webhook, start_alertmanager};

const EXTERNAL_URL: &str = "http://am.example:9093";

fn email_receiver(smtp_port: u16) -> String {
    format!(
        r"
- name: 'mail-team'
  email_configs:
  - to: 'ops@example.org'
    from: 'Alertmanager <am@example.org>'
    smarthost: '127.0.0.1:{smtp_port}'
    hello: fw.test
    auth_username: am-user
    auth_password: am-pass
    tls_config:
      insecure_skip_verify: true
    send_resolved: true
"
    )
}

fn alertmanager_yaml(recorder: &str, smtp_port: u16) -> String {
    format!(
        "route:\n  receiver: mail-team\n  group_by: [alertname, team]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 10h\nreceivers:{}  webhook_configs:\n  - url: '{recorder}/webhook'\n    send_resolved: true\n",
        email_receiver(smtp_port)
    )
}

fn alert(
    name: &str,
    instance: &str,
    annotations: &Value,
    starts: &str,
    ends: Option<&str>,
) -> Value {
    let mut a = json!({
        "labels": {"alertname": name, "team": "db & <ops>", "instance": instance, "severity": "page"},
        "annotations": annotations,
        "startsAt": starts,
        "generatorURL": format!("http://prom.example:9090/graph?g0.expr=up%3D%3D0&inst={instance}"),
    });
    if let Some(e) = ends {
        a["endsAt"] = json!(e);
    }
    a
}

/// Three groups: firing and resolved alerts with annotations that need escaping; one firing
/// alert without annotations; two alerts firing, then (`resolved`) both resolved
/// (Alertmanager sends no all-resolved group it has not notified firing).
fn posted_alerts(resolved: bool) -> Value {
    let t0 = "2024-05-01T11:00:00Z";
    let gone = Some("2024-05-01T11:30:00Z");
    let later = resolved.then_some("2024-05-01T11:30:00Z");
    json!([
        alert(
            "Mixed",
            "a:9090",
            &json!({"summary": "Latency <high>", "description": "p99 > 1s & \"rising\" 'now' ünïcode"}),
            t0,
            None
        ),
        alert(
            "Mixed",
            "b:9090",
            &json!({"summary": "Latency <high>"}),
            t0,
            None
        ),
        alert(
            "Mixed",
            "c:9090",
            &json!({"summary": "was high"}),
            "2024-05-01T10:00:00Z",
            gone
        ),
        alert("OneFiring", "d:9090", &json!({}), t0, None),
        alert(
            "AllResolved",
            "e:9090",
            &json!({"summary": "ok now"}),
            t0,
            later
        ),
        alert(
            "AllResolved",
            "f:9090",
            &json!({"runbook": "http://runbook/x?a=1&b=2"}),
            t0,
            later
        ),
    ])
}

async fn send_ours(receiver: &Receiver, data: &Data, group_key: &str) {
    let tmpl = Arc::new(Template::defaults().unwrap());
    let integrations =
        build_integrations(receiver, &tmpl, &http_client::ClientOptions::default()).unwrap();
    let ctx = NotifyContext {
        group_key: group_key.to_owned(),
    };
    for i in &integrations {
        i.notifier.notify(&ctx, data).await.unwrap();
    }
}

/// For each group, the default e-mail of Firewatch equals Alertmanager 0.25's: every header
/// but Date and Message-Id (raw, Q-encoded), the raw quoted-printable body and the decoded
/// HTML part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_email_equals_alertmanagers() {
    let test = "default_email_equals_alertmanagers";
    let Some(bin) = testkit::peer_binary(test, "prometheus-alertmanager") else {
        return;
    };
    let Some(smtp) = SmtpServer::start(test, false) else {
        return;
    };
    http_client::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start().await;
    let (am, port) = start_alertmanager(
        &bin,
        dir.path(),
        &alertmanager_yaml(&recorder.url, smtp.port),
        EXTERNAL_URL,
    );
    // Mixed, OneFiring and AllResolved (firing), then AllResolved resolved.
    let mut theirs = Vec::new();
    for (resolved, upto) in [(false, 3), (true, 4)] {
        let resp = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
            .json(&posted_alerts(resolved))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        for n in theirs.len() + 1..=upto {
            let m = tokio::time::timeout(Duration::from_secs(40), smtp.message(n))
                .await
                .unwrap_or_else(|_| panic!("no e-mail {n} from alertmanager: {}", am.log_text()));
            theirs.push(m);
        }
    }
    let expected = theirs.len();
    testkit::wait_for("a webhook per e-mail", Duration::from_secs(30), || {
        recorder.all().len() >= expected
    });
    let hooks = recorder.all();
    drop(am);

    let mut receivers: Vec<Receiver> = serde_saphyr::from_str(&email_receiver(smtp.port)).unwrap();
    let mut receiver = receivers.remove(0);
    receiver.validate().unwrap();
    receiver
        .apply_global(&firewatch_notifiers::GlobalConfig::default())
        .unwrap();

    let mut failures = Vec::new();
    let mut n = expected;
    for hook in &hooks {
        let body = hook.json();
        let data = data_from_webhook(&body);
        let name = data.group_labels["alertname"].clone();
        send_ours(&receiver, &data, body["groupKey"].as_str().unwrap()).await;
        n += 1;
        let ours = smtp.message(n).await;
        let subject = &ours["headers"]["Subject"];
        let Some(their) = theirs.iter().find(|t| &t["headers"]["Subject"] == subject) else {
            failures.push(format!(
                "{name}: no e-mail from alertmanager with subject {subject}; theirs: {:?}",
                theirs
                    .iter()
                    .map(|t| t["headers"]["Subject"].clone())
                    .collect::<Vec<_>>()
            ));
            continue;
        };
        assert_eq!(their["parts"].as_array().unwrap().len(), 1, "{their}");
        assert_eq!(their["parts"][0]["content_type"], "text/html");
        for field in [
            "raw_headers",
            "raw_body",
            "parts",
            "mail_from",
            "rcpt_tos",
            "helo",
        ] {
            if their[field] != ours[field] {
                let (t, o) = (
                    serde_json::to_string_pretty(&their[field]).unwrap(),
                    serde_json::to_string_pretty(&ours[field]).unwrap(),
                );
                failures.push(format!("{name} {field}: {}", first_difference(&t, &o)));
            }
        }
    }
    assert_eq!(n, 2 * expected, "one webhook per e-mail");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Where `a` and `b` first differ, with some context.
fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let from = a[..at].char_indices().rev().nth(150).map_or(0, |(i, _)| i);
    let end = |s: &str| {
        s.char_indices()
            .map(|(i, _)| i)
            .find(|i| *i >= at + 150)
            .unwrap_or(s.len())
    };
    format!(
        "differ at byte {at}:\n alertmanager: {}\n firewatch:    {}",
        &a[from..end(a)],
        &b[from.min(b.len())..end(b)]
    )
}

fn sample_data() -> Vec<Data> {
    let t = |s: &str| s.parse().unwrap();
    let mk = |status, inst: &str, ann: &[(&str, &str)]| Alert {
        status,
        labels: [("alertname", "X"), ("instance", inst), ("job", "<j&b>")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        annotations: ann
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        starts_at: t("2024-05-01T11:00:00Z"),
        ends_at: (status == AlertStatus::Resolved).then(|| t("2024-05-01T12:00:00Z")),
        generator_url: format!("http://prom/graph?g0.expr=up&i={inst}"),
        fingerprint: String::new(),
    };
    let groups = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    vec![
        Data::new(
            "r",
            groups(&[("alertname", "X"), ("job", "<j&b>")]),
            vec![
                mk(AlertStatus::Firing, "a", &[("summary", "s <b>")]),
                mk(AlertStatus::Resolved, "b", &[]),
            ],
            "http://am:9093",
        ),
        Data::new(
            "r x",
            groups(&[("alertname", "X")]),
            vec![mk(AlertStatus::Firing, "a", &[])],
            "http://am:9093",
        ),
        Data::new(
            "r",
            groups(&[]),
            vec![
                mk(AlertStatus::Resolved, "a", &[("d", "1")]),
                mk(AlertStatus::Resolved, "b", &[("d", "'2'")]),
            ],
            "",
        ),
    ]
}

/// Alertmanager's own default e-mail template (../shared) expanded by our engine gives
/// what our default template gives, for firing, resolved and mixed groups.
#[test]
fn alertmanager_email_template_expands_as_ours() {
    let test = "alertmanager_email_template_expands_as_ours";
    let Some(path) = testkit::shared_path(test, "alertmanager-reference/email-v0.25.tmpl") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let ours = Template::defaults().unwrap();
    let theirs = Template::from_texts(&[("email-v0.25.tmpl", &text)]).unwrap();
    let html = r#"{{ template "email.default.html" . }}"#;
    for data in sample_data() {
        let o = ours.execute_html(html, &data).unwrap();
        let t = theirs.execute_html(html, &data).unwrap();
        assert!(o.contains("<!DOCTYPE html"), "{o}");
        assert_eq!(o, t, "{}", data.receiver);
    }
}
