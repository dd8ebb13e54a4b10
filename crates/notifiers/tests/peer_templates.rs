//! Template functions of Alertmanager 0.25 (`toUpper`, `toLower`, `title`, `join`, `match`,
//! `reReplaceAll`, `stringSlice`, `safeHtml`, the KV and Alerts methods) expanded by the real
//! Alertmanager 0.25 (in a Slack message's text, caught by a recorder) and by Firewatch for the
//! same data: each case must give the same text.

mod support;

use firewatch_notifiers::Template;
use serde_json::json;
use support::{Recorder, data_from_webhook, start_alertmanager};

/// One expression per case; none may fail (an error would hide the others).
const CASES: &[&str] = &[
    "{{ .Status | toUpper }}",
    "{{ toLower \"AbC ÄÖ\" }}",
    "{{ title \"hello wOrld-x_y\" }}",
    "{{ title \"o'neil a.b c:d e..f 1st 2ND x,y z;w\" }}",
    "{{ title \"ünïcode ÉTÉ straße\" }}",
    "{{ join \", \" (stringSlice \"a\" \"b\" \"c\") }}",
    "{{ match \"^Hi\" .CommonLabels.alertname }}|{{ match \"gh$\" .CommonLabels.alertname }}",
    "{{ reReplaceAll \"(\\\\w+):(\\\\d+)\" \"$2 on $1\" .CommonLabels.instance }}",
    "{{ reReplaceAll \"[aeiou]\" \"${0}${0}\" \"alertmanager\" }}",
    "{{ safeHtml \"<b>x</b>\" }}",
    "{{ .CommonLabels.SortedPairs.Names | join \"+\" }}",
    "{{ .CommonLabels.Values | join \"+\" }}",
    "{{ (.CommonLabels.Remove (stringSlice \"job\")).Names | join \"+\" }}",
    "{{ range .Alerts.Firing }}{{ .Labels.instance }};{{ end }}",
    "{{ .CommonAnnotations.missing }}[]",
    "{{ (index .Alerts 0).StartsAt }}",
    "{{ len .Alerts }} {{ len .Alerts.Resolved }}",
    "{{ .Receiver }} {{ .ExternalURL }}",
    "{{ printf \"%q %5.2f %v\" .Status 3.14159 .GroupLabels }}",
];

const SEP: &str = "\n----\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_functions_expand_as_alertmanager_0_25() {
    let test = "template_functions_expand_as_alertmanager_0_25";
    let Some(bin) = testkit::peer_binary(test, "prometheus-alertmanager") else {
        return;
    };
    http_client::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start().await;
    let text = CASES.join(SEP);
    let yaml = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 1s\nreceivers:\n- name: r\n  webhook_configs:\n  - url: '{0}/webhook'\n  slack_configs:\n  - api_url: '{0}/slack'\n    send_resolved: true\n    text: {1}\n",
        rec.url,
        serde_json::to_string(&text).unwrap()
    );
    let (am, port) = start_alertmanager(&bin, dir.path(), &yaml, "http://am.example:9093");
    let alerts = json!([
        {"labels": {"alertname": "HighLatency", "job": "api", "instance": "host-a:9090"},
         "annotations": {"summary": "s"}, "startsAt": "2024-05-01T11:00:00.25Z"},
        {"labels": {"alertname": "HighLatency", "job": "api", "instance": "host-a:9090", "x": "y"},
         "annotations": {"summary": "s"}, "startsAt": "2024-05-01T11:00:00Z",
         "endsAt": "2024-05-01T11:30:00Z"},
    ]);
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let reqs = rec
        .try_wait_for(&["/webhook", "/slack"])
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", am.log_text()));
    drop(am);
    let hook = reqs.iter().find(|r| r.uri == "/webhook").unwrap().json();
    let slack = reqs.iter().find(|r| r.uri == "/slack").unwrap().json();
    let theirs = slack["attachments"][0]["text"].as_str().unwrap().to_owned();
    let data = data_from_webhook(&hook);
    let ours = Template::defaults()
        .unwrap()
        .execute_text(&text, &data)
        .unwrap();
    let (theirs, ours): (Vec<&str>, Vec<&str>) =
        (theirs.split(SEP).collect(), ours.split(SEP).collect());
    assert_eq!(theirs.len(), CASES.len(), "{theirs:?}");
    let failures: Vec<String> = CASES
        .iter()
        .zip(theirs.iter().zip(&ours))
        .filter(|(_, (t, o))| t != o)
        .map(|(c, (t, o))| format!("{c}\n alertmanager: {t:?}\n firewatch:    {o:?}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
