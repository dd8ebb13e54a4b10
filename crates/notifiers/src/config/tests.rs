//! Tests of receiver configuration decoding, defaults, checks and global inheritance.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::*;

/// The parts of `alertmanager.yml` this crate owns; the rest is the alertmanager crate's.
#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Partial {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[serde(default)]
    receivers: Vec<Receiver>,
    #[serde(default)]
    route: Option<IgnoredAny>,
    #[serde(default)]
    inhibit_rules: Option<IgnoredAny>,
    #[serde(default)]
    templates: Option<IgnoredAny>,
    #[serde(default)]
    time_intervals: Option<IgnoredAny>,
    #[serde(default)]
    mute_time_intervals: Option<IgnoredAny>,
}

/// Alertmanager's order: each receiver's own checks, the global checks, then per receiver
/// the unique name and the global defaults.
fn load(text: &str) -> Result<(GlobalConfig, Vec<Receiver>), String> {
    let p: Partial = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let mut receivers = p.receivers;
    for r in &mut receivers {
        r.validate().map_err(|e| e.msg)?;
    }
    let mut g = p.global.unwrap_or_default();
    g.validate().map_err(|e| e.msg)?;
    let mut names = std::collections::BTreeSet::new();
    for r in &mut receivers {
        if !names.insert(r.name.clone()) {
            return Err(format!(
                "notification config name {:?} is not unique",
                r.name
            ));
        }
        r.apply_global(&g).map_err(|e| e.msg)?;
    }
    Ok((g, receivers))
}

/// Every file of Alertmanager's config testdata: the receiver and global errors come with
/// Alertmanager's texts, and files it accepts are accepted here.
#[test]
fn alertmanager_config_testdata_receivers() {
    let test = "alertmanager_config_testdata_receivers";
    let Some(tsv) = testkit::shared_path(test, "alertmanager-testdata/config_expectations.tsv")
    else {
        return;
    };
    let base = tsv.parent().unwrap().to_owned();
    let tsv = std::fs::read_to_string(&tsv).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, expectation, expected) = (cols[0], cols[1], cols[2].replace("\\n", "\n"));
        let text = std::fs::read_to_string(base.join(file)).unwrap();
        let got = load(&text);
        // Route and inhibition errors belong to the alertmanager crate.
        let routing = expected.contains("invalid_") && expectation == "error(contains)";
        match (expectation, &got) {
            ("ok", Ok(_)) => {}
            (_, Ok(_)) if routing => {}
            ("error", Err(e)) if *e == expected => {}
            // Decoding errors are worded by the YAML decoder; the field must be named.
            ("error", Err(e)) if expected.starts_with("yaml: unmarshal errors") => {
                let field = expected
                    .split("field ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap();
                if !e.contains(field) {
                    failures.push(format!("{file}: {e:?} does not name {field}"));
                }
            }
            ("error(contains)", Err(e)) if e.contains(&expected) => {}
            _ => failures.push(format!(
                "{file}: expected {expectation} {expected:?}, got {got:?}"
            )),
        }
        checked += 1;
    }
    assert!(checked > 40);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn defaults_are_alertmanagers() {
    let (g, r) = load(
        "global:\n  smtp_smarthost: 'mail:25'\n  smtp_from: am@x\nreceivers:\n- name: r\n  email_configs: [{to: a@x}]\n  webhook_configs: [{url: 'http://h/'}]\n  slack_configs: [{api_url: 'http://s/'}]\n  pushover_configs: [{user_key: u, token: t}]\n  pagerduty_configs: [{routing_key: k}]\n  opsgenie_configs: [{api_key: k}]\n",
    )
    .unwrap();
    assert_eq!(g.resolve_timeout, config::Duration::from_secs(300));
    assert_eq!(g.smtp_hello, "localhost");
    assert!(g.smtp_require_tls);
    assert_eq!(
        g.pagerduty_url.as_ref().unwrap().as_str(),
        "https://events.pagerduty.com/v2/enqueue"
    );
    let r = &r[0];
    let e = &r.email_configs[0];
    assert!(!e.send_resolved);
    assert_eq!(e.smarthost.to_string(), "mail:25");
    assert_eq!(e.from, "am@x");
    assert_eq!(e.hello, "localhost");
    assert_eq!(e.require_tls, Some(true));
    assert_eq!(e.html, r#"{{ template "email.default.html" . }}"#);
    assert!(r.webhook_configs[0].send_resolved);
    assert!(r.webhook_configs[0].http_config.is_some());
    let s = &r.slack_configs[0];
    assert!(!s.send_resolved);
    assert_eq!(s.title, r#"{{ template "slack.default.title" . }}"#);
    assert_eq!(
        s.color,
        r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#
    );
    let p = &r.pushover_configs[0];
    assert_eq!(p.retry.to_string(), "1m0s");
    assert_eq!(p.expire.to_string(), "1h0m0s");
    let pd = &r.pagerduty_configs[0];
    assert_eq!(pd.source, pd.client);
    assert_eq!(pd.details.len(), 4);
    assert_eq!(
        pd.url.as_ref().unwrap().as_str(),
        "https://events.pagerduty.com/v2/enqueue"
    );
    assert_eq!(
        r.opsgenie_configs[0].api_url.as_ref().unwrap().as_str(),
        "https://api.opsgenie.com/"
    );
}

#[test]
fn receiver_checks_have_alertmanagers_texts() {
    let cases: &[(&str, &str)] = &[
        ("- email_configs: [{to: a@x}]", "missing name in receiver"),
        (
            "- name: r\n  email_configs: [{}]",
            "missing to address in email config",
        ),
        (
            "- name: r\n  email_configs: [{to: a@x, headers: {subject: a, Subject: b}}]",
            "duplicate header \"Subject\" in email config",
        ),
        (
            "- name: r\n  webhook_configs: [{}]",
            "one of url or url_file must be configured",
        ),
        (
            "- name: r\n  webhook_configs: [{url: 'http://x/', url_file: f}]",
            "at most one of url & url_file must be configured",
        ),
        (
            "- name: r\n  pagerduty_configs: [{}]",
            "missing service or routing key in PagerDuty config",
        ),
        (
            "- name: r\n  slack_configs: [{actions: [{text: t}]}]",
            "missing type in Slack action configuration",
        ),
        (
            "- name: r\n  slack_configs: [{actions: [{type: button, text: t}]}]",
            "missing name or url in Slack action configuration",
        ),
        (
            "- name: r\n  slack_configs: [{fields: [{title: t}]}]",
            "missing value in Slack field configuration",
        ),
        (
            "- name: r\n  opsgenie_configs: [{responders: [{type: team}]}]",
            "opsGenieConfig responder {   team} has to have at least one of id, username or name specified",
        ),
        (
            "- name: r\n  opsgenie_configs: [{responders: [{name: n, type: group}]}]",
            "opsGenieConfig responder { n  group} type does not match valid options ^(team|teams|user|escalation|schedule)$",
        ),
        (
            "- name: r\n  victorops_configs: [{}]",
            "missing Routing key in VictorOps config",
        ),
        (
            "- name: r\n  victorops_configs: [{routing_key: r, custom_fields: {entity_state: x}}]",
            "victorOps config contains custom field entity_state which cannot be used as it conflicts with the fixed/static fields",
        ),
        (
            "- name: r\n  pushover_configs: [{token: t}]",
            "one of user_key or user_key_file must be configured",
        ),
        (
            "- name: r\n  pushover_configs: [{token: t, user_key: u, html: true, monospace: true}]",
            "at most one of monospace & html must be configured",
        ),
        (
            "- name: r\n  wechat_configs: [{message_type: html}]",
            "weChat message type \"html\" does not match valid options ^(text|markdown)$",
        ),
        (
            "- name: r\n  telegram_configs: [{bot_token: t}]",
            "missing chat_id on telegram_config",
        ),
        (
            "- name: r\n  telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: x}]",
            "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
        ),
        (
            "- name: r\n  webex_configs: [{}]",
            "missing room_id on webex_config",
        ),
        (
            "- name: r\n  webex_configs: [{room_id: x}]",
            "missing webex_configs.http_config.authorization",
        ),
        (
            "- name: r\n  discord_configs: [{}]",
            "one of webhook_url or webhook_url_file must be configured",
        ),
        (
            "- name: r\n  msteams_configs: [{}]",
            "one of webhook_url or webhook_url_file must be configured",
        ),
        (
            "- name: r\n  email_configs: [{to: a@x}]",
            "no global SMTP smarthost set",
        ),
        (
            "- name: r\n  slack_configs: [{}]",
            "no Slack API URL nor App token set either inline or in a file",
        ),
        (
            "- name: r\n  opsgenie_configs: [{}]",
            "no global OpsGenie API Key set either inline or in a file",
        ),
        (
            "- name: r\n  wechat_configs: [{api_secret: s}]",
            "no global Wechat CorpID set",
        ),
        (
            "- name: r\n  victorops_configs: [{routing_key: r}]",
            "no global VictorOps API Key set",
        ),
        (
            "- name: r\n- name: r",
            "notification config name \"r\" is not unique",
        ),
    ];
    for (yaml, want) in cases {
        let got = load(&format!("receivers:\n{yaml}\n")).unwrap_err();
        assert_eq!(got, *want, "{yaml}");
    }
}

#[test]
fn secrets_are_hidden_when_shown() {
    let (g, r) = load(
        "global:\n  slack_api_url: 'http://hooks/secret'\n  smtp_auth_password: pw\n  opsgenie_api_key: k\nreceivers:\n- name: r\n  slack_configs: [{}]\n  webhook_configs: [{url: 'http://user:pw@hook/x'}]\n  opsgenie_configs: [{}]\n",
    )
    .unwrap();
    let shown = serde_json::to_value(&g).unwrap();
    assert_eq!(shown["slack_api_url"], "<secret>");
    assert_eq!(shown["smtp_auth_password"], "<secret>");
    assert_eq!(shown["resolve_timeout"], "5m");
    assert_eq!(shown["smtp_require_tls"], true);
    let r = serde_json::to_value(&r[0]).unwrap();
    assert_eq!(r["slack_configs"][0]["api_url"], "<secret>");
    assert_eq!(r["webhook_configs"][0]["url"], "<secret>");
    assert_eq!(r["opsgenie_configs"][0]["api_key"], "<secret>");
    // What is shown reads back (`<secret>` as an empty URL, as Alertmanager does).
    let back: BTreeMap<String, serde_json::Value> = serde_json::from_value(r).unwrap();
    assert!(back.contains_key("name"));
}
