//! The redacting serialiser (what `/api/v1/status/config` shows): Prometheus's shape with
//! defaults filled in, secrets as `<secret>`, and a stable round trip.

use firewatch_config::{Config, Duration};

const FULL: &str = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {monitor: codelab}
  body_size_limit: 10MB
scrape_configs:
  - job_name: prometheus
    <<: &defaults
      scheme: https
    basic_auth: {username: admin, password: hunter2}
    static_configs:
      - targets: ['localhost:9090']
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        target_label: instance
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: expensive.*
        action: drop
  - job_name: k8s
    bearer_token: s3cr3t-token
    kubernetes_sd_configs:
      - role: pod
        api_server: https://user:pw@k8s.example:6443
        namespaces: {names: [default]}
        bearer_token: k8s-token
        selectors:
          - role: pod
            label: app=web
  - job_name: files
    <<: *defaults
    file_sd_configs:
      - files: [targets/*.json]
    dns_sd_configs:
      - names: [_prometheus._tcp.example.com]
    http_sd_configs:
      - url: http://sd.example/targets
        oauth2: {client_id: id, client_secret: oauth-secret, token_url: http://auth.example/token}
rule_files: ["rules/*.rules"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['localhost:9093']}]
      path_prefix: /am
remote_write:
  - url: http://remote/push
    name: rw
    headers: {X-Scope-OrgID: tenant}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: up
        action: keep
remote_read:
  - url: http://remote/read
storage:
  tsdb: {out_of_order_time_window: 30m}
"#;

#[test]
fn serialises_with_defaults_and_redacted_secrets() {
    let c = Config::from_yaml_str(FULL, "/etc/prometheus").unwrap();
    let y = c.to_yaml();
    for secret in [
        "hunter2",
        "s3cr3t-token",
        "k8s-token",
        "oauth-secret",
        ":pw@",
    ] {
        assert!(!y.contains(secret), "{secret} leaked:\n{y}");
    }
    assert!(y.contains("<secret>"), "{y}");
    assert!(y.contains("user:xxxxx@k8s.example"), "{y}");
    for default in [
        "scrape_timeout: 10s",
        "honor_timestamps: true",
        "metrics_path: /metrics",
        "enable_compression: true",
        "follow_redirects: true",
        "max_shards: 50",
        "api_version: v2",
        "refresh_interval: 5m",
        "body_size_limit: 10MiB",
        "scheme: https",
    ] {
        assert!(y.contains(default), "{default} missing:\n{y}");
    }
    // The legacy bearer token became an authorization.
    let k8s = c.scrape_jobs().find(|s| s.job_name == "k8s").unwrap();
    assert_eq!(k8s.authorization.as_ref().unwrap().kind, "Bearer");
    assert_eq!(
        k8s.authorization.as_ref().unwrap().credentials.expose(),
        "s3cr3t-token"
    );
    // Relative paths were resolved.
    assert_eq!(c.rule_files, vec!["/etc/prometheus/rules/*.rules"]);
    let files = c.scrape_jobs().find(|s| s.job_name == "files").unwrap();
    assert_eq!(
        files.file_sd_configs[0].as_ref().unwrap().files,
        vec!["/etc/prometheus/targets/*.json"]
    );
}

#[test]
fn round_trip_is_stable() {
    let c = Config::from_yaml_str(FULL, "/etc/prometheus").unwrap();
    let once = c.to_yaml();
    let again =
        Config::from_yaml_str(&once, "/etc/prometheus").unwrap_or_else(|e| panic!("{e}\n{once}"));
    assert_eq!(again.to_yaml(), once);
    // Everything but the secrets survives.
    assert_eq!(again.global, c.global);
    assert_eq!(again.scrape_configs.len(), c.scrape_configs.len());
    let (a, b) = (
        again.scrape_jobs().next().unwrap(),
        c.scrape_jobs().next().unwrap(),
    );
    assert_eq!(a.relabel_configs, b.relabel_configs);
    assert_eq!(a.scrape_interval, Duration::from_secs(15));
    assert_eq!(a.static_configs, b.static_configs);
}

#[test]
fn merge_keys_are_expanded() {
    let c = Config::from_yaml_str(FULL, ".").unwrap();
    let schemes: Vec<&str> = c.scrape_jobs().map(|s| s.scheme.as_str()).collect();
    assert_eq!(schemes, vec!["https", "http", "https"]);
    let e = Config::from_yaml_str("defaults: &d {a: 1}\n", ".").unwrap_err();
    assert!(
        e.to_string()
            .contains("field defaults not found in type config.plain"),
        "{e}"
    );
}
