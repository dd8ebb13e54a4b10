//! The incident.io integration (`incidentio_configs`, Alertmanager 0.28+; 0.25 has none, so
//! no real peer): its configuration checks with Alertmanager's texts, and what it sends to a
//! local HTTP recorder (the webhook's JSON with version "1", the bearer token, `max_alerts`,
//! the 512 KiB limit) and how failures are classified.

mod support;

use std::sync::Arc;

use firewatch_notifiers::alert::{Alert, Data, Kv};
use firewatch_notifiers::incidentio::{Incidentio, MAX_PAYLOAD_SIZE, body};
use firewatch_notifiers::{GlobalConfig, Notifier, NotifyContext, Receiver, Template};
use jiff::Timestamp;
use support::Recorder;

fn kv(pairs: &[(&str, &str)]) -> Kv {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A firing group of `n` alerts, each with an annotation of `note` bytes.
fn data(n: usize, note: usize) -> Data {
    let now: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
    let alerts = (0..n)
        .map(|i| {
            Alert::new(
                kv(&[("alertname", "Disk"), ("instance", &format!("h{i}"))]),
                kv(&[("summary", &"x".repeat(note))]),
                "2024-05-01T11:00:00Z".parse().unwrap(),
                None,
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

fn receiver(yaml: &str, global: &GlobalConfig) -> Result<Receiver, String> {
    let mut r: Vec<Receiver> = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    let mut r = r.remove(0);
    r.validate().map_err(|e| e.to_string())?;
    r.apply_global(global).map_err(|e| e.to_string())?;
    Ok(r)
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
fn config_checks_as_alertmanager() {
    let g = GlobalConfig::default();
    let cases = [
        ("url: http://i/x\n    alert_source_token: t", None),
        ("url_file: /u\n    alert_source_token_file: /t", None),
        (
            "url: http://i/x\n    http_config: {authorization: {credentials: c}}",
            None,
        ),
        // No http_config and no token: accepted, as Alertmanager's Validate does.
        ("url: http://i/x", None),
        (
            "alert_source_token: t",
            Some("one of url or url_file must be configured"),
        ),
        (
            "url: http://i/x\n    url_file: /u\n    alert_source_token: t",
            Some("at most one of url & url_file must be configured"),
        ),
        (
            "url: http://i/x\n    alert_source_token: t\n    alert_source_token_file: /t",
            Some("at most one of alert_source_token & alert_source_token_file must be configured"),
        ),
        (
            "url: http://i/x\n    alert_source_token: t\n    http_config: {authorization: {credentials: c}}",
            Some(
                "cannot specify alert_source_token or alert_source_token_file when using http_config.authorization",
            ),
        ),
        (
            "url: http://i/x\n    http_config: {follow_redirects: true}",
            Some(
                "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured",
            ),
        ),
        (
            "url: ftp://i/x\n    alert_source_token: t",
            Some("unsupported scheme \"ftp\" for URL"),
        ),
        (
            "url: http://i/x\n    alert_source_token: t\n    bogus: 1",
            Some("bogus"),
        ),
    ];
    for (yaml, want) in cases {
        let r = receiver(
            &format!("- name: ops\n  incidentio_configs:\n  - {yaml}\n"),
            &g,
        );
        match (want, r) {
            (None, Ok(r)) => {
                let c = &r.incidentio_configs[0];
                assert!(c.send_resolved, "send_resolved defaults to true");
                assert_eq!(c.max_alerts, 0);
            }
            (Some(w), Err(e)) => assert!(e.contains(w), "{yaml}: {e}"),
            (w, r) => panic!("{yaml}: want {w:?}, got {r:?}"),
        }
    }
}

#[tokio::test]
async fn posts_the_group_with_the_bearer_token() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "tok-from-file\n").unwrap();
    let r = receiver(
        &format!(
            "- name: ops\n  incidentio_configs:\n  - url: '{0}/incidentio/a'\n    alert_source_token: tok-inline\n  - url: '{0}/incidentio/b'\n    alert_source_token_file: '{1}'\n    max_alerts: 2\n    send_resolved: false\n",
            rec.url,
            token.display()
        ),
        &GlobalConfig::default(),
    )
    .unwrap();
    assert!(!r.incidentio_configs[1].send_resolved);
    let a = Incidentio::new(&r.incidentio_configs[0], &tmpl, &http).unwrap();
    a.notify(&ctx, &data(3, 10)).await.unwrap();
    let req = rec.last("/incidentio/a");
    assert_eq!(req.method, "POST");
    assert_eq!(req.headers["authorization"], "Bearer tok-inline");
    assert_eq!(req.headers["content-type"], "application/json");
    let v = req.json();
    assert_eq!(v["version"], "1");
    assert_eq!(v["groupKey"], ctx.group_key);
    assert_eq!(v["truncatedAlerts"], 0);
    assert_eq!(v["status"], "firing");
    assert_eq!(v["receiver"], "ops");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(v["alerts"][2]["labels"]["instance"], "h2");
    assert_eq!(v["externalURL"], "http://am:9093");

    let b = Incidentio::new(&r.incidentio_configs[1], &tmpl, &http).unwrap();
    b.notify(&ctx, &data(3, 10)).await.unwrap();
    let req = rec.last("/incidentio/b");
    assert_eq!(req.headers["authorization"], "Bearer tok-from-file");
    let v = req.json();
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 2);

    // The token file is read when the integration is built.
    let r = receiver(
        &format!(
            "- name: ops\n  incidentio_configs:\n  - url: '{}/incidentio/c'\n    alert_source_token_file: /nonexistent/token\n",
            rec.url
        ),
        &GlobalConfig::default(),
    )
    .unwrap();
    let e = Incidentio::new(&r.incidentio_configs[0], &tmpl, &http)
        .err()
        .unwrap();
    assert!(
        e.message
            .starts_with("failed to read alert_source_token_file: "),
        "{e}"
    );
}

#[test]
fn bodies_over_512_kib_keep_only_the_first_alert() {
    let small = body(&data(3, 100), "k", 0).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&small).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(*small.last().unwrap(), b'\n');
    // 8 alerts of 100 KiB each: over the limit, cut to the first alert.
    let big = body(&data(8, 100 * 1024), "k", 0).unwrap();
    assert!(big.len() <= MAX_PAYLOAD_SIZE, "{}", big.len());
    let v: serde_json::Value = serde_json::from_slice(&big).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["alerts"][0]["labels"]["instance"], "h0");
    assert_eq!(v["truncatedAlerts"], 0);
    // One alert alone over the limit is still sent.
    let huge = body(&data(1, 600 * 1024), "k", 0).unwrap();
    assert!(huge.len() > MAX_PAYLOAD_SIZE);
}

#[tokio::test]
async fn failures_carry_incidentio_details_and_their_retry_class() {
    let (tmpl, http, ctx) = setup();
    let rec = Recorder::start().await;
    for (path, retry, want) in [
        (
            "incidentio-429",
            true,
            "unexpected status code 429: rate limited: slow down, later",
        ),
        (
            "incidentio-400",
            false,
            "unexpected status code 400: invalid payload",
        ),
    ] {
        let r = receiver(
            &format!(
                "- name: ops\n  incidentio_configs:\n  - url: '{}/{path}'\n    alert_source_token: t\n",
                rec.url
            ),
            &GlobalConfig::default(),
        )
        .unwrap();
        let n = Incidentio::new(&r.incidentio_configs[0], &tmpl, &http).unwrap();
        let e = n.notify(&ctx, &data(1, 10)).await.unwrap_err();
        assert_eq!(e.message, want);
        assert_eq!(e.retry, retry, "{path}");
    }
}
