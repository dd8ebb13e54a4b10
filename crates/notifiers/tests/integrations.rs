//! Integrations that Alertmanager 0.25 cannot be pointed at (Pushover's and PagerDuty v1's
//! fixed URLs) or does not have (Microsoft Teams), their payloads as Alertmanager's sources
//! build them; retry classification; Slack bot tokens; template errors reported, not fatal.

mod support;

use std::sync::Arc;

use firewatch_notifiers::alert::{Alert, Data, Kv};
use firewatch_notifiers::chat::{MsTeams, MsTeamsV2};
use firewatch_notifiers::notify::{check_status, group_key_hash};
use firewatch_notifiers::pagerduty::PagerDuty;
use firewatch_notifiers::paging::Pushover;
use firewatch_notifiers::slack::Slack;
use firewatch_notifiers::webhook::Webhook;
use firewatch_notifiers::{GlobalConfig, Notifier, NotifyContext, Receiver, Template};
use jiff::Timestamp;
use serde_json::json;
use support::Recorder;

fn kv(pairs: &[(&str, &str)]) -> Kv {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn data(resolved: bool) -> Data {
    let now: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
    let end = resolved.then(|| "2024-05-01T11:59:00Z".parse().unwrap());
    let alerts = ["a", "b"]
        .iter()
        .map(|instance| {
            Alert::new(
                kv(&[
                    ("alertname", "Disk"),
                    ("instance", instance),
                    ("severity", "warn"),
                ]),
                kv(&[("summary", "disk full")]),
                "2024-05-01T11:00:00Z".parse().unwrap(),
                end,
                "http://prom/g",
                now,
            )
        })
        .collect();
    Data::new(
        "ops",
        kv(&[("alertname", "Disk")]),
        alerts,
        "http://am:9093",
    )
}

fn receiver(yaml: &str) -> Receiver {
    let mut r: Vec<Receiver> = serde_saphyr::from_str(yaml).unwrap();
    let mut r = r.remove(0);
    r.validate().unwrap();
    r.apply_global(&GlobalConfig::default()).unwrap();
    r
}

fn setup() -> (Arc<Template>, http_client::ClientOptions, NotifyContext) {
    http_client::ensure_crypto_provider();
    (
        Arc::new(Template::defaults().unwrap()),
        http_client::ClientOptions::default(),
        NotifyContext {
            group_key: "{}:{alertname=\"Disk\"}".into(),
        },
    )
}

#[test]
fn status_codes_are_classified_as_alertmanagers_retrier() {
    for (status, ok, retry) in [
        (200, true, false),
        (202, true, false),
        (204, true, false),
        (400, false, false),
        (401, false, false),
        (404, false, false),
        (429, false, true),
        (500, false, true),
        (503, false, true),
    ] {
        match check_status(status, "body") {
            Ok(()) => assert!(ok, "{status}"),
            Err(e) => {
                assert!(!ok, "{status}");
                assert_eq!(e.retry, retry, "{status}");
                assert_eq!(e.message, format!("unexpected status code {status}: body"));
            }
        }
    }
}

#[tokio::test]
async fn pushover_sends_its_parameters_in_the_query() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(
        "- name: ops\n  pushover_configs:\n  - user_key: uk\n    token: tk\n    sound: siren\n    ttl: 1h\n",
    );
    let p = Pushover::new(&r.pushover_configs[0], &tmpl, &http)
        .unwrap()
        .with_api(&format!("{}/pushover/1/messages.json", rec.url));
    p.notify(&ctx, &data(false)).await.unwrap();
    let req = rec.last("/pushover");
    assert_eq!(req.method, "POST");
    assert!(req.body.is_empty());
    let q: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri.split_once('?').unwrap().1.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    assert_eq!(q["token"], "tk");
    assert_eq!(q["user"], "uk");
    assert_eq!(q["title"], "[FIRING:2] Disk (warn)");
    assert_eq!(q["priority"], "2");
    assert_eq!(q["retry"], "60");
    assert_eq!(q["expire"], "3600");
    assert_eq!(q["ttl"], "3600");
    assert_eq!(q["sound"], "siren");
    assert_eq!(q["url"], "http://am:9093/#/alerts?receiver=ops");
    assert!(q["message"].starts_with("disk full\n\nAlerts Firing:\nLabels:\n - alertname = Disk"));
    assert!(!q["message"].ends_with('\n'), "trimmed");
    p.notify(&ctx, &data(true)).await.unwrap();
    assert!(rec.last("/pushover").uri.contains("priority=0"));
}

#[tokio::test]
async fn pagerduty_v1_events() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(
        "- name: ops\n  pagerduty_configs:\n  - service_key: sk\n    details:\n      extra: '{{ .Status }}'\n",
    );
    let p = PagerDuty::new(&r.pagerduty_configs[0], &tmpl, &http)
        .unwrap()
        .with_api_v1(&format!("{}/pagerduty/v1", rec.url));
    p.notify(&ctx, &data(false)).await.unwrap();
    let v = rec.last("/pagerduty/v1").json();
    assert_eq!(v["service_key"], "sk");
    assert_eq!(v["event_type"], "trigger");
    assert_eq!(v["incident_key"], group_key_hash(&ctx.group_key));
    assert_eq!(v["description"], "[FIRING:2] Disk (warn)");
    assert_eq!(v["client"], "Alertmanager");
    assert_eq!(v["client_url"], "http://am:9093/#/alerts?receiver=ops");
    assert_eq!(v["details"]["extra"], "firing");
    assert_eq!(v["details"]["num_firing"], "2");
    assert_eq!(v["details"]["num_resolved"], "0");
    assert!(v.get("routing_key").is_none());
    p.notify(&ctx, &data(true)).await.unwrap();
    let v = rec.last("/pagerduty/v1").json();
    assert_eq!(v["event_type"], "resolve");
    assert!(v.get("client").is_none());
    assert_eq!(group_key_hash("").len(), 64);
    // SHA-256 of the empty string.
    assert!(group_key_hash("").starts_with("e3b0c44298fc1c14"));
}

#[tokio::test]
async fn msteams_cards() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(&format!(
        "- name: ops\n  msteams_configs:\n  - webhook_url: '{u}/teams'\n  msteamsv2_configs:\n  - webhook_url: '{u}/teams2'\n",
        u = rec.url
    ));
    let t = MsTeams::new(&r.msteams_configs[0], &tmpl, &http).unwrap();
    t.notify(&ctx, &data(false)).await.unwrap();
    let v = rec.last("/teams").json();
    assert_eq!(v["@context"], "http://schema.org/extensions");
    assert_eq!(v["type"], "MessageCard");
    assert_eq!(v["title"], "[FIRING:2] Disk (warn)");
    assert_eq!(v["summary"], "[FIRING:2] Disk (warn)");
    assert_eq!(v["themeColor"], "8C1A1A");
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("# Alerts Firing:"), "{text}");
    assert!(text.contains("  - instance = b\n"), "{text}");
    t.notify(&ctx, &data(true)).await.unwrap();
    assert_eq!(rec.last("/teams").json()["themeColor"], "2DC72D");
    let t2 = MsTeamsV2::new(&r.msteamsv2_configs[0], &tmpl, &http).unwrap();
    t2.notify(&ctx, &data(false)).await.unwrap();
    let v = rec.last("/teams2").json();
    assert_eq!(v["type"], "message");
    let card = &v["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["body"][0]["text"], "[FIRING:2] Disk (warn)");
}

#[tokio::test]
async fn slack_bot_token_posts_to_the_web_api_with_bearer() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(&format!(
        "- name: ops\n  slack_configs:\n  - app_token: xoxb-1\n    app_url: '{}/slack/api/chat.postMessage'\n    channel: '#c'\n",
        rec.url
    ));
    let s = Slack::new(&r.slack_configs[0], &tmpl, &http).unwrap();
    s.notify(&ctx, &data(false)).await.unwrap();
    let req = rec.last("/slack/api/chat.postMessage");
    assert_eq!(req.headers["authorization"], "Bearer xoxb-1");
    let v = req.json();
    assert_eq!(v["channel"], "#c");
    assert_eq!(v["attachments"][0]["color"], "danger");
    assert_eq!(
        v["attachments"][0]["mrkdwn_in"],
        json!(["fallback", "pretext", "text"])
    );
}

#[tokio::test]
async fn failures_are_reported_with_their_retry_class() {
    let (tmpl, http, ctx) = setup();
    // A port nobody listens on: a transport error, worth retrying.
    let port = testkit::free_port();
    let r = receiver(&format!(
        "- name: ops\n  webhook_configs:\n  - url: 'http://127.0.0.1:{port}/x'\n  slack_configs:\n  - api_url: 'http://127.0.0.1:{port}/x'\n    title: '{{{{ template \"nope\" . }}}}'\n"
    ));
    let w = Webhook::new(&r.webhook_configs[0], &tmpl, &http).unwrap();
    let e = w.notify(&ctx, &data(false)).await.unwrap_err();
    assert!(e.retry, "{e}");
    // The webhook URL is a secret: redacted from the error, as Alertmanager's RedactURL does.
    assert!(e.message.starts_with("Post \"<redacted>\": "), "{e}");
    assert!(!e.message.contains("/x"), "{e}");
    // A template error: reported, not retried, nothing sent.
    let s = Slack::new(&r.slack_configs[0], &tmpl, &http).unwrap();
    let e = s.notify(&ctx, &data(false)).await.unwrap_err();
    assert!(!e.retry);
    assert!(e.message.contains("nope"), "{e}");
}

#[tokio::test]
async fn webhook_max_alerts_truncates() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(&format!(
        "- name: ops\n  webhook_configs:\n  - url: '{}/hook'\n    max_alerts: 1\n",
        rec.url
    ));
    let w = Webhook::new(&r.webhook_configs[0], &tmpl, &http).unwrap();
    w.notify(&ctx, &data(false)).await.unwrap();
    let v = rec.last("/hook").json();
    assert_eq!(v["version"], "4");
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["commonLabels"]["instance"], "a");
    assert_eq!(v["groupKey"], ctx.group_key);
}

/// E-mail over implicit TLS (`force_implicit_tls`, as port 465 implies) with AUTH, through a
/// real SMTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_implicit_tls() {
    let test = "email_over_implicit_tls";
    let Some(smtp) = support::SmtpServer::start(test, true) else {
        return;
    };
    let (tmpl, http, ctx) = setup();
    let yaml = |password: &str| {
        format!(
            "- name: ops\n  email_configs:\n  - to: 'a@example.org'\n    from: 'fw@example.org'\n    smarthost: '127.0.0.1:{}'\n    force_implicit_tls: true\n    auth_username: am-user\n    auth_password: {password}\n    tls_config: {{insecure_skip_verify: true}}\n    text: 'text {{{{ .Status }}}}'\n",
            smtp.port
        )
    };
    let r = receiver(&yaml("am-pass"));
    let e = firewatch_notifiers::email::Email::new(&r.email_configs[0], &tmpl, &http).unwrap();
    e.notify(&ctx, &data(false)).await.unwrap();
    let m = smtp.message(1).await;
    assert_eq!(m["tls"], true);
    assert_eq!(m["authenticated"], true);
    assert_eq!(m["rcpt_tos"], json!(["a@example.org"]));
    assert_eq!(m["headers"]["Subject"], "[FIRING:2] Disk (warn)");
    assert_eq!(m["parts"][0]["content_type"], "text/plain");
    assert_eq!(m["parts"][0]["body"], "text firing");
    assert_eq!(m["parts"][1]["content_type"], "text/html");
}

/// Rocket.Chat (Alertmanager 0.28+): the `chat.postMessage` body as its notifier encodes it
/// (default title, title link and emoji; fields with `short_fields`; actions as buttons), the
/// token headers, and `"success": false` reported with the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocketchat_posts_one_attachment_with_token_headers() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let yaml = |base: &str| {
        format!(
            "- name: ops\n  rocketchat_configs:\n  - api_url: '{}{base}'\n    token_id: uid-1\n    token: tok-1\n    channel: '#alerts-{{{{ .CommonLabels.severity }}}}'\n    short_fields: true\n    fields:\n    - title: Instances\n      value: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'\n    - title: Long\n      value: x\n      short: false\n    actions:\n    - text: 'Silence {{{{ .GroupLabels.alertname }}}}'\n      url: 'http://am/silence'\n",
            rec.url
        )
    };
    let r = receiver(&yaml("/"));
    let n =
        firewatch_notifiers::rocketchat::Rocketchat::new(&r.rocketchat_configs[0], &tmpl, &http)
            .unwrap();
    n.notify(&ctx, &data(false)).await.unwrap();
    let got = rec.last("chat.postMessage");
    assert_eq!(got.uri, "/api/v1/chat.postMessage");
    assert_eq!(got.headers["x-auth-token"], "tok-1");
    assert_eq!(got.headers["x-user-id"], "uid-1");
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(
        got.json(),
        json!({
            "channel": "#alerts-warn",
            "attachments": [{
                "title": "[FIRING:2] Disk (warn)",
                "title_link": "http://am:9093/#/alerts?receiver=ops",
                "color": "red",
                "fields": [
                    {"short": true, "title": "Instances", "value": "a b "},
                    {"short": false, "title": "Long", "value": "x"}
                ],
                "actions": [{
                    "type": "button", "text": "Silence Disk", "url": "http://am/silence",
                    "is_webview": false, "msg_in_chat_window": false
                }]
            }]
        })
    );
    let r = receiver(&yaml("/rc-fail/"));
    let n =
        firewatch_notifiers::rocketchat::Rocketchat::new(&r.rocketchat_configs[0], &tmpl, &http)
            .unwrap();
    let e = n.notify(&ctx, &data(false)).await.unwrap_err();
    assert_eq!(
        e.message,
        "channel \"#alerts-warn\": error response from Rocketchat: error-invalid-channel"
    );
    assert!(!e.retry);
}

fn jira_receiver(base: &str, extra: &str) -> Receiver {
    receiver(&format!(
        "- name: ops\n  jira_configs:\n  - api_url: '{base}'\n    project: OPS\n    issue_type: Bug\n    labels: ['team-{{{{ .CommonLabels.severity }}}}']\n    fields:\n      customfield_10000: '{{{{ .CommonLabels.severity }}}}'\n      customfield_10001: '42'\n      customfield_10002: ['a', '{{{{ .Status }}}}']\n{extra}"
    ))
}

/// Jira (Alertmanager 0.28+): a firing group without an issue searches by its
/// `ALERT{hash}` label then creates one (fields as Alertmanager encodes them, custom fields
/// expanded and read as YAML); a resolved group with an open issue updates it (summary kept
/// when `enable_update: false`) and applies `resolve_transition`; a resolved group without
/// an issue only searches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_searches_creates_updates_and_transitions() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let hash = group_key_hash(&ctx.group_key);
    let label = format!("ALERT{{{hash}}}");
    let jql = format!(
        "statusCategory != Done and project=\"OPS\" and labels=\"{label}\" order by status ASC,resolutiondate DESC"
    );
    let new = format!("{}/jira-new/rest/api/2", rec.url);
    let r = jira_receiver(&new, "");
    let n = firewatch_notifiers::jira::Jira::new(&r.jira_configs[0], &tmpl, &http).unwrap();
    n.notify(&ctx, &data(false)).await.unwrap();
    let reqs = rec.all();
    let uris: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.uri.as_str()))
        .collect();
    assert_eq!(
        uris,
        [
            ("POST", "/jira-new/rest/api/2/search"),
            ("POST", "/jira-new/rest/api/2/issue")
        ]
    );
    assert_eq!(
        reqs[0].json(),
        json!({"fields": ["status"], "jql": jql, "maxResults": 2})
    );
    assert_eq!(reqs[0].headers["accept-language"], "en");
    let issue = reqs[1].json();
    let description = issue["fields"]["description"].as_str().unwrap().to_owned();
    assert!(description.contains("# Alerts Firing:"), "{description}");
    assert_eq!(
        issue,
        json!({"fields": {
            "summary": "[FIRING:2] Disk (warn)",
            "description": description,
            "issuetype": {"name": "Bug"},
            "labels": [label, "team-warn"],
            "project": {"key": "OPS"},
            "customfield_10000": "warn",
            "customfield_10001": 42,
            "customfield_10002": ["a", "firing"],
        }})
    );

    rec.clear();
    let open = format!("{}/jira-open/rest/api/2/", rec.url);
    let r = jira_receiver(
        &open,
        "    resolve_transition: Done\n    summary:\n      template: 'changed'\n      enable_update: false\n",
    );
    let n = firewatch_notifiers::jira::Jira::new(&r.jira_configs[0], &tmpl, &http).unwrap();
    n.notify(&ctx, &data(true)).await.unwrap();
    let reqs = rec.all();
    let uris: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.uri.as_str()))
        .collect();
    assert_eq!(
        uris,
        [
            ("POST", "/jira-open/rest/api/2/search"),
            ("PUT", "/jira-open/rest/api/2/issue/OPS-1"),
            ("GET", "/jira-open/rest/api/2/issue/OPS-1/transitions"),
            ("POST", "/jira-open/rest/api/2/issue/OPS-1/transitions"),
        ]
    );
    assert!(reqs[1].json()["fields"].get("summary").is_none());
    assert!(
        reqs[1].json()["fields"]["description"]
            .as_str()
            .unwrap()
            .contains("# Alerts Resolved:")
    );
    assert_eq!(reqs[3].json(), json!({"transition": {"id": "31"}}));

    rec.clear();
    let r = jira_receiver(&new, "");
    let n = firewatch_notifiers::jira::Jira::new(&r.jira_configs[0], &tmpl, &http).unwrap();
    n.notify(&ctx, &data(true)).await.unwrap();
    assert_eq!(rec.all().len(), 1, "only the search");
}

/// Jira configuration errors in Alertmanager's words.
#[test]
fn jira_config_errors() {
    for (yaml, want) in [
        ("    issue_type: Bug\n", "missing project in jira_config"),
        ("    project: OPS\n", "missing issue_type in jira_config"),
        (
            "    project: OPS\n    issue_type: Bug\n    api_type: server\n",
            "unknown api_type on jira_config, must be auto, cloud or datacenter",
        ),
    ] {
        let mut r: Vec<Receiver> = serde_saphyr::from_str(&format!(
            "- name: ops\n  jira_configs:\n  - api_url: 'http://jira/rest/api/2'\n{yaml}"
        ))
        .unwrap();
        let e = r[0].validate().unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let mut r: Vec<Receiver> = serde_saphyr::from_str(
        "- name: ops\n  jira_configs:\n  - project: OPS\n    issue_type: Bug\n",
    )
    .unwrap();
    r[0].validate().unwrap();
    let e = r[0].apply_global(&GlobalConfig::default()).unwrap_err();
    assert!(
        e.to_string().contains("no global Jira Cloud URL set"),
        "{e}"
    );
}

/// Mattermost (Alertmanager 0.30+): the defaults form one attachment (color, title, title
/// link, Markdown text) with Alertmanager as user name; configured attachments keep the text
/// at the top; priority normalised (acknowledgement dropped for standard).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mattermost_posts_attachments_as_alertmanager() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let r = receiver(&format!(
        "- name: ops\n  mattermost_configs:\n  - webhook_url: '{}/mm/hook'\n    channel: town\n    text: 'T {{{{ .Status }}}}'\n    fields:\n    - title: Sev\n      value: '{{{{ .CommonLabels.severity }}}}'\n      short: true\n    priority:\n      priority: Bogus\n      requested_ack: true\n",
        rec.url
    ));
    let n =
        firewatch_notifiers::mattermost::Mattermost::new(&r.mattermost_configs[0], &tmpl, &http)
            .unwrap();
    n.notify(&ctx, &data(false)).await.unwrap();
    assert_eq!(
        rec.last("/mm/hook").json(),
        json!({
            "channel": "town",
            "username": "Alertmanager",
            "attachments": [{
                "color": "danger",
                "text": "T firing",
                "title": "[FIRING:2] Disk (warn)",
                "title_link": "http://am:9093/#/alerts?receiver=ops",
                "fields": [{"title": "Sev", "value": "warn", "short": true}]
            }],
            "priority": {"priority": "standard"}
        })
    );
    let r = receiver(&format!(
        "- name: ops\n  mattermost_configs:\n  - webhook_url: '{}/mm/hook2'\n    text: 'top'\n    attachments:\n    - title: 'A {{{{ .Status }}}}'\n      color: '#f00'\n",
        rec.url
    ));
    let n =
        firewatch_notifiers::mattermost::Mattermost::new(&r.mattermost_configs[0], &tmpl, &http)
            .unwrap();
    n.notify(&ctx, &data(true)).await.unwrap();
    assert_eq!(
        rec.last("/mm/hook2").json(),
        json!({
            "text": "top",
            "username": "Alertmanager",
            "attachments": [{"color": "#f00", "title": "A resolved"}]
        })
    );
}
