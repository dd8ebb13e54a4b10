//! A full disk under `--storage.path` (a small tmpfs, issue 16 item 2): alerts and silences
//! that cannot be persisted are answered with an error, the process stays up and keeps
//! serving, snapshots fail without leaving a temporary file, and once space returns posts
//! and snapshots succeed again; after a crash every acknowledged alert and silence is back.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{at, request};
use serde_json::{Value, json};
use testkit::tmpfs::Tmpfs;

const TEST: &str = "full_storage_refuses_posts_stays_up_and_recovers";

const CONFIG: &str = r"
route:
  receiver: devnull
  group_by: [alertname]
receivers:
  - name: devnull
";

/// Alerts named `{prefix}-{i}`, each with an annotation of `pad` bytes (so the request's
/// log record does not fit in what is left of a page).
fn alerts(prefix: &str, n: usize, pad: usize) -> Value {
    let text = "x".repeat(pad);
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"labels": {"alertname": format!("{prefix}-{i}")},
                    "annotations": {"pad": text}, "startsAt": at(-5.0), "endsAt": at(3600.0)})
            })
            .collect(),
    )
}

fn silence(name: &str) -> String {
    json!({"matchers": [{"name": "alertname", "value": name, "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "disk", "comment": "x".repeat(8192)})
    .to_string()
}

fn alert_names(port: u16) -> Vec<String> {
    let (code, body) = request(port, "GET", "/api/v2/alerts", None);
    assert_eq!(code, 200, "{body}");
    let mut names: Vec<String> = serde_json::from_str::<Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn silence_ids(port: u16) -> Vec<String> {
    let (code, body) = request(port, "GET", "/api/v2/silences", None);
    assert_eq!(code, 200, "{body}");
    serde_json::from_str::<Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Files under `dir` (recursively) left by an unfinished snapshot.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            out.extend(temporaries(&e.path()));
        } else if e.path().extension().is_some_and(|x| x == "tmp") {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn full_storage_refuses_posts_stays_up_and_recovers() {
    let dir = common::tempdir();
    let Some(fs) = Tmpfs::mount(TEST, &dir.path().join("data"), 4 << 20) else {
        return;
    };
    // 1. No snapshot runs (but the one at start): a post refused part-way through its write
    // must not leave a torn line before the records acknowledged once space returns.
    let fw = common::firewatch_with(dir.path(), CONFIG, |o| {
        o.maintenance_interval = Duration::from_secs(3600);
    });
    let mut acked_alerts = Vec::new();
    let mut acked_silences = Vec::new();
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/alerts",
        Some(&alerts("before", 5, 100).to_string()),
    );
    assert_eq!(code, 200, "{body}");
    acked_alerts.extend((0..5).map(|i| format!("before-{i}")));
    acked_silences.push(common::post_silence(fw.port, &silence("before")));
    let filler = fs.fill(16 * 1024);
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/alerts",
        Some(&alerts("torn", 40, 1_000).to_string()),
    );
    assert_eq!(code, 500, "{body}");
    filler.release();
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/alerts",
        Some(&alerts("between", 2, 10).to_string()),
    );
    assert_eq!(code, 200, "{body}");
    acked_alerts.extend((0..2).map(|i| format!("between-{i}")));
    fw.crash();
    let fw = common::firewatch_with(dir.path(), CONFIG, |o| {
        o.maintenance_interval = Duration::from_millis(300);
    });
    let names = alert_names(fw.port);
    for a in &acked_alerts {
        assert!(
            names.contains(a),
            "acknowledged {a} lost after a refused write: {names:?}"
        );
    }

    // 2. Snapshots every 300 ms while the disk is full.
    let filler = fs.fill(0);
    // Posts that cannot be persisted are refused, again and again, each with a clear error.
    for round in 0..3 {
        let (code, body) = request(
            fw.port,
            "POST",
            "/api/v2/alerts",
            Some(&alerts(&format!("full{round}"), 20, 1_000).to_string()),
        );
        assert_eq!(code, 500, "round {round}: {body}");
        assert!(
            body.contains("cannot persist") && body.contains("No space left"),
            "{body}"
        );
        let (code, body) = request(fw.port, "POST", "/api/v2/silences", Some(&silence("full")));
        assert_eq!(code, 500, "round {round}: {body}");
        assert!(body.contains("No space left"), "{body}");
    }
    // Maintenance runs (and its snapshots fail) while the disk is full; the process serves.
    std::thread::sleep(Duration::from_secs(1));
    assert!(testkit::get_ok(fw.port, "/-/healthy").is_some());
    let names = alert_names(fw.port);
    for a in &acked_alerts {
        assert!(names.contains(a), "{a} missing from {names:?}");
    }
    assert!(silence_ids(fw.port).contains(&acked_silences[0]));
    assert_eq!(
        temporaries(fs.path()),
        Vec::<String>::new(),
        "a failed snapshot left its file"
    );

    // Space returns: posts are accepted and snapshots written again.
    filler.release();
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/alerts",
        Some(&alerts("after", 5, 1_000).to_string()),
    );
    assert_eq!(code, 200, "{body}");
    acked_alerts.extend((0..5).map(|i| format!("after-{i}")));
    acked_silences.push(common::post_silence(fw.port, &silence("after")));
    testkit::wait_for("a silences snapshot", Duration::from_secs(10), || {
        fs.path().join("silences").exists()
    });
    // Acknowledged after the last snapshot: only in the log.
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/alerts",
        Some(&alerts("last", 3, 10).to_string()),
    );
    assert_eq!(code, 200, "{body}");
    acked_alerts.extend((0..3).map(|i| format!("last-{i}")));
    acked_silences.push(common::post_silence(fw.port, &silence("last")));

    fw.crash();
    let fw = common::firewatch(dir.path(), CONFIG);
    let names = alert_names(fw.port);
    for a in &acked_alerts {
        assert!(
            names.contains(a),
            "acknowledged {a} lost after the crash: {names:?}"
        );
    }
    let ids = silence_ids(fw.port);
    for s in &acked_silences {
        assert!(
            ids.contains(s),
            "acknowledged silence {s} lost after the crash: {ids:?}"
        );
    }
    fw.stop();
    drop(fs);
}
