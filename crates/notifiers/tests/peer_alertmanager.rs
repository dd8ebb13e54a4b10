//! Every integration's request compared field by field with what the real Alertmanager 0.25
//! (Debian's `prometheus-alertmanager`) sends for the same alerts to the same recorder.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use firewatch_notifiers::alert::{Alert, AlertStatus, Data};
use firewatch_notifiers::{NotifyContext, Receiver, Template, build_integrations};
use serde_json::{Value, json};
use support::{Recorded, Recorder};

const EXTERNAL_URL: &str = "http://am.example:9093";

/// The receiver, in the YAML both Alertmanager 0.25 and Firewatch read; `R` is the
/// recorder's URL.
fn receiver_yaml(r: &str) -> String {
    format!(
        r#"
- name: 'team-x'
  webhook_configs:
  - url: '{r}/webhook-all'
  - url: '{r}/webhook-max'
    max_alerts: 2
  slack_configs:
  - api_url: '{r}/slack'
    channel: '#alerts'
    send_resolved: true
    fields:
    - title: Severity
      value: '{{{{ .CommonLabels.severity }}}}'
    - title: Count
      value: '{{{{ len .Alerts }}}}'
      short: false
    short_fields: true
    actions:
    - type: button
      text: 'Runbook {{{{ .GroupLabels.alertname }}}}'
      url: '{{{{ (index .Alerts 0).Annotations.runbook }}}}'
      style: primary
    - type: button
      text: Ack
      name: ack
      value: '{{{{ .Status }}}}'
      confirm:
        text: 'Sure?'
        title: Ack
  pagerduty_configs:
  - url: '{r}/pagerduty/v2'
    routing_key: 'routing-key-1'
    severity: '{{{{ .CommonLabels.severity }}}}'
    class: cls
    component: comp
    group: grp
    links:
    - href: 'http://runbook/{{{{ .GroupLabels.alertname }}}}'
      text: runbook
    images:
    - src: 'http://img/x.png'
      alt: graph
      href: 'http://img'
    details:
      extra: 'value {{{{ .Status }}}}'
  opsgenie_configs:
  - api_url: '{r}/opsgenie/'
    api_key: 'og-key'
    responders:
    - name: team1
      type: team
    - id: '{{{{ .GroupLabels.alertname }}}}'
      type: escalation
    tags: 'a,{{{{ .CommonLabels.job }}}} , b'
    note: 'note {{{{ .Status }}}}'
    priority: P2
    entity: ent
    actions: 'restart, page'
    details:
      d1: 'v {{{{ .Status }}}}'
  wechat_configs:
  - api_url: '{r}/wechat/'
    api_secret: 'wechat-secret'
    corp_id: 'corp'
    to_user: 'user1'
    agent_id: '1000002'
    send_resolved: true
  victorops_configs:
  - api_url: '{r}/victorops/'
    api_key: 'vo-key'
    routing_key: 'vo-route'
    custom_fields:
      team: '{{{{ .CommonLabels.job }}}}'
  telegram_configs:
  - api_url: '{r}/telegram'
    bot_token: 'bot-token'
    chat_id: 4242
  discord_configs:
  - webhook_url: '{r}/discord/hook'
  webex_configs:
  - api_url: '{r}/webex'
    room_id: 'room-1'
    http_config:
      authorization:
        credentials: 'webex-token'
"#
    )
}

fn alertmanager_yaml(r: &str) -> String {
    format!(
        "route:\n  receiver: team-x\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 10m\n  repeat_interval: 10h\nreceivers:{}",
        receiver_yaml(r)
    )
}

/// Two firing alerts and one resolved, as posted to Alertmanager's API.
fn posted_alerts() -> Value {
    json!([
        {
            "labels": {"alertname": "HighLatency", "job": "api", "instance": "a:9090", "severity": "page"},
            "annotations": {"summary": "Latency is high", "runbook": "http://runbook/latency", "description": "p99 > 1s <b>"},
            "startsAt": "2024-05-01T11:00:00Z",
            "generatorURL": "http://prom.example:9090/graph?g0.expr=up%3D%3D0"
        },
        {
            "labels": {"alertname": "HighLatency", "job": "api", "instance": "b:9090", "severity": "page"},
            "annotations": {"summary": "Latency is high", "runbook": "http://runbook/latency"},
            "startsAt": "2024-05-01T11:30:00.5Z",
            "generatorURL": "http://prom.example:9090/graph?g0.expr=up%3D%3D0"
        },
        {
            "labels": {"alertname": "HighLatency", "job": "api", "instance": "c:9090", "severity": "page"},
            "annotations": {"summary": "Latency was high", "runbook": "http://runbook/latency"},
            "startsAt": "2024-05-01T10:00:00Z",
            "endsAt": "2024-05-01T10:30:00Z",
            "generatorURL": "http://prom.example:9090/graph?g0.expr=up%3D%3D0"
        }
    ])
}

/// The endpoints every integration posts to.
const ENDPOINTS: [&str; 10] = [
    "/webhook-all",
    "/webhook-max",
    "/slack",
    "/pagerduty/v2",
    "/opsgenie/v2/alerts",
    "/wechat/message/send",
    "/victorops/",
    "/telegram/botbot-token/sendMessage",
    "/discord/hook",
    "/webex",
];

fn start_alertmanager(bin: &Path, dir: &Path, r: &str) -> (testkit::Process, u16) {
    let port = testkit::free_port();
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(&cfg, alertmanager_yaml(r)).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--web.external-url={EXTERNAL_URL}"))
        .arg("--cluster.listen-address=");
    let mut p = testkit::Process::spawn("alertmanager", cmd, &dir.join("am.log"));
    testkit::wait_for("alertmanager ready", Duration::from_secs(30), || {
        assert!(p.is_running(), "alertmanager exited: {}", p.log_text());
        testkit::get_ok(port, "/-/ready").is_some()
    });
    (p, port)
}

/// The notification data as Alertmanager sent it to the webhook (same alerts, order, times).
fn data_from_webhook(body: &Value) -> Data {
    let kv = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    };
    let alerts = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Alert {
            status: if a["status"] == "firing" {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            },
            labels: kv(&a["labels"]),
            annotations: kv(&a["annotations"]),
            starts_at: a["startsAt"].as_str().unwrap().parse().unwrap(),
            ends_at: match a["endsAt"].as_str().unwrap() {
                firewatch_notifiers::alert::GO_ZERO_TIME => None,
                t => Some(t.parse().unwrap()),
            },
            generator_url: a["generatorURL"].as_str().unwrap().to_owned(),
            fingerprint: a["fingerprint"].as_str().unwrap().to_owned(),
        })
        .collect();
    Data::new(
        body["receiver"].as_str().unwrap(),
        kv(&body["groupLabels"]),
        alerts,
        body["externalURL"].as_str().unwrap(),
    )
}

fn find<'a>(reqs: &'a [Recorded], part: &str) -> &'a Recorded {
    reqs.iter()
        .find(|r| r.uri.contains(part))
        .unwrap_or_else(|| panic!("no request for {part}"))
}

/// Fields that must differ between two senders (times of sending).
fn normalise(endpoint: &str, v: &mut Value) {
    if endpoint.contains("victorops") {
        v["timestamp"] = json!(0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_send_what_alertmanager_sends() {
    let test = "integrations_send_what_alertmanager_sends";
    let Some(bin) = testkit::peer_binary(test, "prometheus-alertmanager") else {
        return;
    };
    http_client::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let theirs = Recorder::start().await;
    let (am, port) = start_alertmanager(&bin, dir.path(), &theirs.url);
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .json(&posted_alerts())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let their_reqs = theirs
        .try_wait_for(&ENDPOINTS)
        .await
        .unwrap_or_else(|e| panic!("{e}; alertmanager's log:\n{}", am.log_text()));
    drop(am);
    if let Ok(p) = std::env::var("DUMP_AM") {
        let v: Vec<Value> = their_reqs.iter().map(|r| json!({"uri": r.uri, "headers": r.headers, "body": String::from_utf8_lossy(&r.body)})).collect();
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }

    // The same receiver in Firewatch, sending to a second recorder.
    let ours = Recorder::start().await;
    let yaml = receiver_yaml(&ours.url);
    let mut receivers: Vec<Receiver> = serde_saphyr::from_str(&yaml).unwrap();
    let mut receiver = receivers.remove(0);
    receiver.validate().unwrap();
    receiver
        .apply_global(&firewatch_notifiers::GlobalConfig::default())
        .unwrap();
    let tmpl = Arc::new(Template::defaults().unwrap());
    let integrations =
        build_integrations(&receiver, &tmpl, &http_client::ClientOptions::default()).unwrap();
    let webhook = find(&their_reqs, "/webhook-all").json();
    let data = data_from_webhook(&webhook);
    let ctx = NotifyContext {
        group_key: webhook["groupKey"].as_str().unwrap().to_owned(),
    };
    for i in &integrations {
        i.notifier
            .notify(&ctx, &data)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", i.name, i.index));
    }
    let our_reqs = ours.wait_for(&ENDPOINTS).await;
    let mut failures = Vec::new();
    for endpoint in ENDPOINTS {
        let t = find(&their_reqs, endpoint);
        let o = find(&our_reqs, endpoint);
        let (mut tj, mut oj) = (t.json(), o.json());
        normalise(endpoint, &mut tj);
        normalise(endpoint, &mut oj);
        if tj != oj {
            failures.push(format!(
                "{endpoint}:\n alertmanager: {}\n firewatch:    {}",
                serde_json::to_string_pretty(&tj).unwrap(),
                serde_json::to_string_pretty(&oj).unwrap()
            ));
        }
        for h in ["content-type", "authorization"] {
            if t.headers.get(h) != o.headers.get(h) {
                failures.push(format!(
                    "{endpoint} header {h}: alertmanager {:?}, firewatch {:?}",
                    t.headers.get(h),
                    o.headers.get(h)
                ));
            }
        }
        if t.uri.replace(&theirs.url, "") != o.uri.replace(&ours.url, "") {
            failures.push(format!("{endpoint} uri: {} vs {}", t.uri, o.uri));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
