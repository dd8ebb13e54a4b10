//! The redacting serialiser against the real Prometheus 2.42's `/api/v1/status/config`:
//! every value Prometheus shows, Firewatch shows the same, except the defaults Prometheus 3
//! changed (listed with the reason).

use firewatch_config::Config;
use serde_json::Value;
use testkit::Server;

/// Paths (`a.b[0].c`) whose value differs on purpose.
const KNOWN: &[(&str, &str)] = &[
    (
        "remote_write[0].queue_config.capacity",
        "Prometheus 3 default 10000 (2.42: 2500)",
    ),
    (
        "remote_write[0].queue_config.max_shards",
        "Prometheus 3 default 50 (2.42: 200)",
    ),
    (
        "remote_write[0].queue_config.max_samples_per_send",
        "Prometheus 3 default 2000 (2.42: 500)",
    ),
    (
        "remote_write[0].metadata_config.max_samples_per_send",
        "Prometheus 3 default 2000 (2.42: 500)",
    ),
    (
        "remote_write[0].enable_http2",
        "Prometheus 3 turns HTTP/2 off for remote write",
    ),
];

/// Every leaf of `theirs` must be in `ours` with the same value.
fn compare(path: &str, theirs: &Value, ours: &Value, diffs: &mut Vec<String>) {
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            for (k, v) in t {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match o.get(k) {
                    Some(ov) => compare(&p, v, ov, diffs),
                    None => diffs.push(format!("{p}: missing (Prometheus: {v})")),
                }
            }
        }
        (Value::Array(t), Value::Array(o)) if t.len() == o.len() => {
            for (i, (tv, ov)) in t.iter().zip(o).enumerate() {
                compare(&format!("{path}[{i}]"), tv, ov, diffs);
            }
        }
        (t, o) if t == o => {}
        (t, o) => diffs.push(format!("{path}: Prometheus {t}, Firewatch {o}")),
    }
}

#[test]
fn status_config_matches_prometheus() {
    if !testkit::peers(
        "config::status_config::status_config_matches_prometheus",
        &["prometheus"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let cfg = r#"
global:
  scrape_interval: 15s
  external_labels: {monitor: codelab}
scrape_configs:
  - job_name: prometheus
    basic_auth: {username: admin, password: hunter2}
    static_configs:
      - targets: ['localhost:9090']
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        target_label: instance
  - job_name: files
    scheme: https
    scrape_timeout: 5s
    metrics_path: /m
    authorization: {credentials: tok}
    file_sd_configs:
      - files: [DIR/targets/*.json]
        refresh_interval: 1m
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: expensive.*
        action: drop
alerting:
  alertmanagers:
    - static_configs: [{targets: ['localhost:9093']}]
      path_prefix: /am
remote_write:
  - url: http://remote/push
    name: rw
    headers: {X-Scope-OrgID: t}
remote_read:
  - url: http://remote/read
    read_recent: true
"#
    .replace("DIR", &d.to_string());
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, &cfg).unwrap();
    let prometheus = Server::start(
        "prometheus",
        &[],
        dir.path(),
        &dir.path().join("data"),
        &cfg,
        &[],
    );
    let body = prometheus.get("/api/v1/status/config").unwrap().body;
    let json: Value = serde_json::from_str(&body).unwrap();
    let theirs_yaml = json["data"]["yaml"].as_str().unwrap();
    let theirs: Value = serde_saphyr::from_str(theirs_yaml).unwrap();
    let ours_yaml = Config::load(&file).unwrap().to_yaml();
    let ours: Value = serde_saphyr::from_str(&ours_yaml).unwrap();
    let mut diffs = Vec::new();
    compare("", &theirs, &ours, &mut diffs);
    let unexpected: Vec<&String> = diffs
        .iter()
        .filter(|d| !KNOWN.iter().any(|(p, _)| d.starts_with(&format!("{p}:"))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{unexpected:#?}\n--- Prometheus:\n{theirs_yaml}\n--- Firewatch:\n{ours_yaml}"
    );
    assert_eq!(
        diffs.len(),
        KNOWN.len(),
        "every known difference is still a difference: {diffs:#?}"
    );
    assert!(ours_yaml.contains("password: <secret>") && !ours_yaml.contains("hunter2"));
    assert!(!ours_yaml.contains("tok\n"));
}
