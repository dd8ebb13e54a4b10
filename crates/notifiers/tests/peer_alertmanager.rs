//! Every integration's request compared field by field with what the real Alertmanager 0.25
//! (Debian's `prometheus-alertmanager`) sends for the same alerts to the same recorder.

mod support;

use std::sync::Arc;
use std::time::Duration;

use firewatch_notifiers::alert::{AlertStatus, Data};
use firewatch_notifiers::{NotifyContext, Receiver, Template, build_integrations};
use serde_json::{Value, json};
use support::{Recorded, Recorder, SmtpServer, data_from_webhook, start_alertmanager};

const EXTERNAL_URL: &str = "http://am.example:9093";

/// The receiver, in the YAML both Alertmanager 0.25 and Firewatch read; `R` is the
/// recorder's URL.
fn receiver_yaml(r: &str, smtp_port: u16) -> String {
    format!(
        r#"
- name: 'team-x'
  email_configs:
  - to: 'ops@example.org, On Call <oncall@example.org>'
    from: 'Alertmanager <am@example.org>'
    smarthost: '127.0.0.1:{smtp_port}'
    hello: fw.test
    auth_username: am-user
    auth_password: am-pass
    require_tls: true
    tls_config:
      insecure_skip_verify: true
    send_resolved: true
    headers:
      X-Group: '{{{{ .GroupLabels.alertname }}}} {{{{ .Status }}}}'
      subject: '[{{{{ .Status | toUpper }}}}] {{{{ .CommonAnnotations.summary }}}} ünïcode'
    text: '{{{{ template "__text_alert_list" .Alerts }}}}={{{{ .Alerts | len }}}} trailing '
    html: '<h1>{{{{ template "__subject" . }}}}</h1><p>{{{{ range .Alerts }}}}{{{{ .Annotations.description }}}} {{{{ .Labels.instance }}}}<br>{{{{ end }}}}</p>'
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
  sns_configs:
  - api_url: '{r}/sns'
    topic_arn: 'arn:aws:sns:us-east-2:123456789012:alerts'
    sigv4:
      region: us-east-2
      access_key: AKIDEXAMPLE
      secret_key: wJalrXUtnFEMI
    attributes:
      severity: '{{{{ .CommonLabels.severity }}}}'
  webex_configs:
  - api_url: '{r}/webex'
    room_id: 'room-1'
    http_config:
      authorization:
        credentials: 'webex-token'
"#
    )
}

fn alertmanager_yaml(r: &str, smtp_port: u16) -> String {
    format!(
        "route:\n  receiver: team-x\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 10h\nreceivers:{}",
        receiver_yaml(r, smtp_port)
    )
}

/// The same alerts, all resolved.
fn resolved_alerts() -> Value {
    let mut v = posted_alerts();
    for a in v.as_array_mut().unwrap() {
        if a.get("endsAt").is_none() {
            a["endsAt"] = json!("2024-05-01T11:45:00Z");
        }
    }
    v
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
const ENDPOINTS: [&str; 11] = [
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
    "/sns",
];

fn find<'a>(reqs: &'a [Recorded], part: &str) -> &'a Recorded {
    reqs.iter()
        .find(|r| r.uri.contains(part))
        .unwrap_or_else(|| panic!("no request for {part}"))
}

/// What must be equal in two messages: envelope, TLS and auth, headers other than the
/// per-message ones, and each part's type, encoding and decoded text.
fn comparable_mail(mut m: Value) -> Value {
    let headers = m["headers"].as_object_mut().unwrap();
    headers.remove("Message-Id");
    headers.remove("Date");
    let ct = headers.remove("Content-Type").unwrap();
    assert!(
        ct.as_str().unwrap().starts_with("multipart/alternative;"),
        "{ct}"
    );
    m
}

fn compare(
    round: &str,
    their_reqs: &[Recorded],
    our_reqs: &[Recorded],
    their_url: &str,
    our_url: &str,
    failures: &mut Vec<String>,
) {
    for endpoint in ENDPOINTS.iter().filter(|e| **e != "/sns") {
        let t = find(their_reqs, endpoint);
        let o = find(our_reqs, endpoint);
        let (tj, oj) = (t.json(), o.json());
        if tj != oj {
            failures.push(format!(
                "{round} {endpoint}:\n alertmanager: {}\n firewatch:    {}",
                serde_json::to_string_pretty(&tj).unwrap(),
                serde_json::to_string_pretty(&oj).unwrap()
            ));
        }
        for h in ["content-type", "authorization"] {
            if t.headers.get(h) != o.headers.get(h) {
                failures.push(format!(
                    "{round} {endpoint} header {h}: alertmanager {:?}, firewatch {:?}",
                    t.headers.get(h),
                    o.headers.get(h)
                ));
            }
        }
        if t.uri.replace(their_url, "") != o.uri.replace(our_url, "") {
            failures.push(format!("{round} {endpoint} uri: {} vs {}", t.uri, o.uri));
        }
    }
    // SNS: the same Publish form, and our SigV4 signature of Alertmanager's request equals
    // the one its AWS SDK computed.
    let (t, o) = (find(their_reqs, "/sns"), find(our_reqs, "/sns"));
    if t.uri != o.uri {
        failures.push(format!("{round} /sns uri: {} vs {}", t.uri, o.uri));
    }
    if t.form() != o.form() {
        failures.push(format!(
            "{round} /sns form:\n alertmanager: {:?}\n firewatch:    {:?}",
            t.form(),
            o.form()
        ));
    }
    let auth = &t.headers["authorization"];
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let headers = signed
        .split(';')
        .map(|h| (h.to_owned(), t.headers[h].clone()))
        .collect();
    let ours = firewatch_notifiers::sns::sigv4_authorization(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI",
        "us-east-2",
        "sns",
        &t.uri,
        &headers,
        &t.body,
        &t.headers["x-amz-date"],
    );
    if &ours != auth {
        failures.push(format!(
            "{round} /sns signature ({} {:?}):\n alertmanager: {auth}\n firewatch:    {ours}",
            t.uri, t.headers
        ));
    }
}

async fn post_alerts(port: u16, alerts: &Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .json(alerts)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
}

/// Sends `data` through every integration of `receiver`.
async fn send_ours(receiver: &Receiver, data: &Data, group_key: &str) {
    let tmpl = Arc::new(Template::defaults().unwrap());
    let integrations =
        build_integrations(receiver, &tmpl, &http_client::ClientOptions::default()).unwrap();
    let ctx = NotifyContext {
        group_key: group_key.to_owned(),
    };
    for i in &integrations {
        i.notifier
            .notify(&ctx, data)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", i.name, i.index));
    }
}

/// Two rounds against Alertmanager 0.25 and Firewatch: a group with firing and resolved
/// alerts, then the same group all resolved. Webhook (with and without `max_alerts`), Slack
/// (fields, actions), PagerDuty v2, OpsGenie (create, close), WeChat, VictorOps, Telegram,
/// Discord and Webex requests must be equal as JSON, SNS's Publish forms equal and signed
/// alike (SigV4), with the same URL and content type and
/// authorization headers; the e-mails (through a real SMTP server with STARTTLS and AUTH)
/// must have the same envelope, headers and parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_send_what_alertmanager_sends() {
    let test = "integrations_send_what_alertmanager_sends";
    let Some(bin) = testkit::peer_binary(test, "prometheus-alertmanager") else {
        return;
    };
    let Some(smtp) = SmtpServer::start(test, false) else {
        return;
    };
    http_client::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let theirs = Recorder::start().await;
    let ours = Recorder::start().await;
    let (am, port) = start_alertmanager(
        &bin,
        dir.path(),
        &alertmanager_yaml(&theirs.url, smtp.port),
        EXTERNAL_URL,
    );
    let yaml = receiver_yaml(&ours.url, smtp.port);
    let mut receivers: Vec<Receiver> = serde_saphyr::from_str(&yaml).unwrap();
    let mut receiver = receivers.remove(0);
    receiver.validate().unwrap();
    receiver
        .apply_global(&firewatch_notifiers::GlobalConfig::default())
        .unwrap();

    let mut failures = Vec::new();
    let mut mail = 0;
    for (round, alerts) in [("mixed", posted_alerts()), ("resolved", resolved_alerts())] {
        theirs.clear();
        ours.clear();
        post_alerts(port, &alerts).await;
        let their_reqs = theirs
            .try_wait_for(&ENDPOINTS)
            .await
            .unwrap_or_else(|e| panic!("{round}: {e}; alertmanager's log:\n{}", am.log_text()));
        mail += 1;
        let their_mail = tokio::time::timeout(Duration::from_secs(40), smtp.message(mail))
            .await
            .unwrap_or_else(|_| panic!("no e-mail from alertmanager; its log:\n{}", am.log_text()));
        let webhook = find(&their_reqs, "/webhook-all").json();
        let data = data_from_webhook(&webhook);
        assert_eq!(
            data.status,
            if round == "mixed" {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            }
        );
        send_ours(&receiver, &data, webhook["groupKey"].as_str().unwrap()).await;
        let our_reqs = ours.wait_for(&ENDPOINTS).await;
        mail += 1;
        let our_mail = smtp.message(mail).await;
        compare(
            round,
            &their_reqs,
            &our_reqs,
            &theirs.url,
            &ours.url,
            &mut failures,
        );
        let (t, o) = (comparable_mail(their_mail), comparable_mail(our_mail));
        assert_eq!(t["tls"], true);
        assert_eq!(t["authenticated"], true);
        if t != o {
            failures.push(format!(
                "{round} e-mail:\n alertmanager: {}\n firewatch:    {}",
                serde_json::to_string_pretty(&t).unwrap(),
                serde_json::to_string_pretty(&o).unwrap()
            ));
        }
    }
    drop(am);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
