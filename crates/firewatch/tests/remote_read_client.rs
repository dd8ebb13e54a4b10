//! Firewatch's `remote_read` client against the real Prometheus 2.42 serving `/api/v1/read`:
//! Prometheus scrapes a target, Firewatch (scraping nothing) answers queries with
//! Prometheus's samples merged in; `required_matchers` limits which selections go remote;
//! `filter_external_labels` sends the external labels as matchers and strips them from the
//! answer.

#[path = "support/scale_out.rs"]
mod support;

use support::now_secs;
use support::serve_target as serve;
use support::{query_sorted as query, start_firewatch, start_prometheus};

use std::time::{Duration, Instant};

use testkit::Server;

const TEST: &str =
    "firewatch::remote_read_client::queries_merge_prometheus_2_42_through_remote_read";

#[test]
fn queries_merge_prometheus_2_42_through_remote_read() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = serve(|n, _| format!("# TYPE rrc_total counter\nrrc_total {n}\n"));
    let theirs = start_prometheus(
        &prometheus,
        dir.path(),
        "prometheus",
        &format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    site: a\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while query(&theirs, "rrc_total[1m]", now_secs())
        .first()
        .is_none_or(|s| s["values"].as_array().unwrap().len() < 3)
    {
        assert!(Instant::now() < deadline, "Prometheus did not scrape");
        std::thread::sleep(Duration::from_millis(300));
    }
    let read = format!("http://127.0.0.1:{}/api/v1/read", theirs.port);
    let ours = start_firewatch(
        dir.path(),
        "firewatch",
        &format!(
            "global:\n  external_labels:\n    site: a\nremote_read:\n  - url: {read}\n    read_recent: true\n  - url: {read}\n    name: gated\n    required_matchers:\n      instance: nowhere\n"
        ),
        &[],
    );
    let at = now_secs() - 1.0;
    let want = query(&theirs, "rrc_total[1m]", at);
    let got = query(&ours, "rrc_total[1m]", at);
    assert_eq!(got, want, "Firewatch's answer through remote read");
    // The external label was a matcher of the request and is not in the answer.
    assert!(got[0]["metric"].get("site").is_none(), "{got:?}");
    // Functions run over the remote samples.
    let rate_ours = query(&ours, "sum(rate(rrc_total[30s]))", at);
    let rate_theirs = query(&theirs, "sum(rate(rrc_total[30s]))", at);
    assert_eq!(rate_ours, rate_theirs);
    // A selection the required matchers do not match only reaches the first endpoint; a
    // Firewatch with only the gated endpoint answers nothing, and with the matcher, all.
    let gated = start_firewatch(
        dir.path(),
        "gated",
        &format!(
            "global:\n  external_labels:\n    site: a\nremote_read:\n  - url: {read}\n    required_matchers:\n      job: app\n"
        ),
        &[],
    );
    assert!(query(&gated, "rrc_total", at).is_empty());
    let with = query(&gated, "rrc_total{job=\"app\"}", at);
    assert_eq!(with.len(), 1, "{with:?}");
    assert_eq!(
        with[0]["value"][1],
        query(&theirs, "rrc_total", at)[0]["value"][1]
    );
    // Without filter_external_labels... a site the remote does not have would filter all:
    // with it (the default), a Firewatch whose external labels differ reads nothing.
    let other_site = start_firewatch(
        dir.path(),
        "other",
        &format!(
            "global:\n  external_labels:\n    site: b\nremote_read:\n  - url: {read}\n  - url: {read}\n    name: unfiltered\n    filter_external_labels: false\n"
        ),
        &[],
    );
    let unfiltered = query(&other_site, "rrc_total", at);
    assert_eq!(unfiltered.len(), 1, "{unfiltered:?}");
}

/// The read client's metric families in a `/metrics` text: HELP and TYPE lines, and each
/// sample as (name with its sorted labels, value).
fn read_client_metrics(text: &str) -> (Vec<String>, Vec<(String, f64)>) {
    let ours = |l: &str| {
        l.contains("prometheus_remote_storage_read_")
            || l.contains("prometheus_remote_storage_remote_read_")
    };
    let mut meta: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with('#') && ours(l))
        .map(str::to_owned)
        .collect();
    meta.sort();
    let mut samples = Vec::new();
    for l in text.lines().filter(|l| !l.starts_with('#') && ours(l)) {
        let (series, value) = l.rsplit_once(' ').unwrap();
        let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
        let mut labels: Vec<&str> = labels
            .trim_end_matches('}')
            .split(',')
            .filter(|p| !p.is_empty())
            .collect();
        labels.sort_unstable();
        samples.push((
            format!("{name}{{{}}}", labels.join(",")),
            value.parse().unwrap(),
        ));
    }
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    (meta, samples)
}

#[test]
fn remote_read_client_metrics_match_prometheus_2_42() {
    const TEST: &str =
        "firewatch::remote_read_client::remote_read_client_metrics_match_prometheus_2_42";
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let remote = start_prometheus(
        &prometheus,
        dir.path(),
        "remote",
        "global:\n  scrape_interval: 1s\n",
    );
    let cfg = format!(
        "remote_read:\n  - url: http://127.0.0.1:{}/api/v1/read\n    name: rr\n    read_recent: true\n",
        remote.port
    );
    let reference = start_prometheus(&prometheus, dir.path(), "reference", &cfg);
    let ours = start_firewatch(dir.path(), "firewatch", &cfg, &[]);
    let at = now_secs();
    for s in [&reference, &ours] {
        query(s, "up", at);
        query(s, "rrc_total[1m]", at);
    }
    let metrics = |s: &Server| read_client_metrics(&s.get("/metrics").unwrap().body);
    let (want_meta, want) = metrics(&reference);
    let (got_meta, got) = metrics(&ours);
    assert_eq!(want_meta.len(), 6, "Prometheus's families: {want_meta:?}");
    assert_eq!(got_meta, want_meta, "names, help texts and types");
    let keys = |v: &[(String, f64)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&want), "series");
    // Counts agree (durations differ): two requests, answered 200, none in flight.
    let counts = |v: &[(String, f64)]| {
        v.iter()
            .filter(|(k, _)| {
                k.contains("_count{") || k.contains("_total{") || k.contains("_queries{")
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&got), counts(&want));
    assert!(
        got.iter()
            .any(|(k, v)| k.contains("read_queries_total{code=\"200\"") && *v == 2.0),
        "{got:?}"
    );
}
