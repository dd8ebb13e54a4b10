//! Prometheus's validation rules on small configurations: each refused with Prometheus's
//! text and the position of the offending node; defaults and inheritance from `global`.

use firewatch_config::{Config, ConfigError, Duration, ValidationScheme};

fn err(yaml: &str) -> ConfigError {
    Config::from_yaml_str(yaml, "/etc/prometheus").expect_err("must be refused")
}

fn msg(yaml: &str) -> String {
    err(yaml).message()
}

#[test]
fn scrape_defaults_and_inheritance() {
    let c = Config::from_yaml_str(
        "global:\n  scrape_interval: 5s\n  sample_limit: 100\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 1m\n    sample_limit: 7\n",
        ".",
    )
    .unwrap();
    let jobs: Vec<_> = c.scrape_jobs().collect();
    assert_eq!(jobs[0].scrape_interval, Duration::from_secs(5));
    assert_eq!(
        jobs[0].scrape_timeout,
        Duration::from_secs(5),
        "timeout is at most the interval"
    );
    assert_eq!(jobs[0].sample_limit, 100);
    // The global timeout was itself capped at the global interval (5s).
    assert_eq!(jobs[1].scrape_timeout, Duration::from_secs(5));
    assert_eq!(jobs[1].sample_limit, 7);
    assert_eq!(jobs[0].metrics_path, "/metrics");
    assert_eq!(jobs[0].scheme, "http");
    assert!(jobs[0].honor_timestamps);
    assert_eq!(
        jobs[0].metric_name_validation_scheme,
        ValidationScheme::Utf8
    );
    assert_eq!(jobs[0].metric_name_escaping_scheme, "allow-utf-8");
    let protocols: Vec<String> = jobs[0]
        .scrape_protocols
        .clone()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        protocols,
        [
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4"
        ]
    );
}

#[test]
fn timeout_greater_than_interval_is_located() {
    let e =
        err("scrape_configs:\n  - job_name: x\n    scrape_interval: 5s\n    scrape_timeout: 10s\n");
    assert_eq!(
        e.message(),
        "scrape timeout greater than scrape interval for scrape config with job name \"x\""
    );
    assert_eq!(e.position(), Some((4, 5)));
    let s = e.to_string();
    assert!(
        s.starts_with("parsing YAML file <string>: scrape timeout"),
        "{s}"
    );
}

#[test]
fn basic_auth_password_and_file() {
    assert_eq!(
        msg(
            "scrape_configs:\n  - job_name: x\n    basic_auth: {username: u, password: p, password_file: f}\n"
        ),
        "at most one of basic_auth password, password_file & password_ref must be configured"
    );
    assert_eq!(
        msg(
            "scrape_configs:\n  - job_name: x\n    basic_auth: {username: u}\n    bearer_token: t\n"
        ),
        "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
    );
    assert_eq!(
        msg("scrape_configs:\n  - job_name: x\n    authorization: {type: Basic, credentials: c}\n"),
        "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
    );
    assert_eq!(
        msg("scrape_configs:\n  - job_name: x\n    http_headers: {user-agent: {values: [x]}}\n"),
        "setting header \"User-Agent\" is not allowed"
    );
}

#[test]
fn label_names_under_legacy_validation() {
    assert_eq!(
        msg("global:\n  metric_name_validation_scheme: legacy\n  external_labels: {\"a.b\": x}\n"),
        "\"a.b\" is not a valid label name"
    );
    // UTF-8 (the default) accepts it.
    let c = Config::from_yaml_str("global:\n  external_labels: {\"a.b\": x}\n", ".").unwrap();
    assert_eq!(c.global.external_labels["a.b"], "x");
}

#[test]
fn metric_relabel_configs_are_checked() {
    assert_eq!(
        msg("scrape_configs:\n  - job_name: x\n    metric_relabel_configs:\n      -\n"),
        "empty or null metric relabeling rule in scrape config"
    );
    let e = msg(
        "scrape_configs:\n  - job_name: x\n    metric_relabel_configs:\n      - action: hashmod\n        target_label: t\n",
    );
    assert!(
        e.contains("relabel configuration for hashmod requires non-zero modulus"),
        "{e}"
    );
}

#[test]
fn urls_and_discovery() {
    assert_eq!(
        msg("scrape_configs:\n  - job_name: x\n    http_sd_configs:\n      - url: ftp://x/\n"),
        "URL scheme must be 'http' or 'https'"
    );
    assert_eq!(
        msg("remote_write:\n  - name: a\n"),
        "url for remote_write is empty"
    );
    assert!(msg("remote_write:\n  - url: \"http://a b/\"\n").contains("invalid character"));
    assert_eq!(
        msg(
            "scrape_configs:\n  - job_name: x\n    consul_sd_configs:\n      - server: localhost:8500\n"
        ),
        "consul_sd_configs is not supported by Firewatch"
    );
    assert_eq!(
        msg("remote_write:\n  - url: http://x/\n    sigv4: {region: eu}\n"),
        "sigv4 is not supported by Firewatch"
    );
    assert_eq!(
        msg(
            "scrape_configs:\n  - job_name: x\n    kubernetes_sd_configs:\n      - api_server: https://k\n"
        ),
        "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"
    );
    assert_eq!(
        msg(
            "scrape_configs:\n  - job_name: x\n    dns_sd_configs:\n      - names: [a]\n        type: A\n"
        ),
        "a port is required in DNS-SD configs for all record types except SRV"
    );
    assert_eq!(
        msg("scrape_configs:\n  - job_name: x\n    file_sd_configs:\n      - files: [a.txt]\n"),
        "path name \"a.txt\" is not valid for file discovery"
    );
}

#[test]
fn sizes_durations_and_shapes() {
    assert!(
        msg("scrape_configs:\n  - job_name: x\n    body_size_limit: 100\n")
            .contains("units: unknown unit  in 100")
    );
    assert!(
        msg("global:\n  scrape_interval: 1.5m\n").contains("not a valid duration string: \"1.5m\"")
    );
    let e = err("scrape_configs:\n  - job_name: x\n    scrape_interval: [1]\n");
    assert_eq!(e.position().map(|p| p.0), Some(3), "{e}");
    assert!(e.to_string().contains("unmarshal errors"), "{e}");
    let e = err("global:\n  foo: 1\n");
    assert_eq!(e.message(), "field foo not found in type config.plain");
    assert_eq!(e.position(), Some((2, 3)));
}

#[test]
fn empty_and_comment_only_files_are_the_defaults() {
    for text in ["", "# nothing\n", "---\n"] {
        let c = Config::from_yaml_str(text, ".").unwrap();
        assert_eq!(c, Config::default());
    }
}

#[test]
fn io_errors_read_like_go() {
    let e = Config::load("/nonexistent/prometheus.yml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "open /nonexistent/prometheus.yml: no such file or directory"
    );
}

#[test]
fn rule_files_resolve_and_glob() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    for f in ["b.rules", "a.rules", "c.txt"] {
        std::fs::write(dir.path().join("rules").join(f), "groups: []\n").unwrap();
    }
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, "rule_files: ['rules/*.rules']\n").unwrap();
    let c = Config::load(&cfg_path).unwrap();
    let files = c.rule_file_paths().unwrap();
    assert_eq!(
        files,
        vec![
            dir.path().join("rules/a.rules"),
            dir.path().join("rules/b.rules")
        ]
    );
    assert!(
        c.check_agent_mode()
            .unwrap_err()
            .to_string()
            .contains("field rule_files is not allowed in agent mode")
    );
}

#[test]
fn repeated_keys_are_refused() {
    let e = err("global:\n  external_labels:\n    a: b\n    a: c\n");
    assert!(e.message().contains("key \"a\" already set in map"), "{e}");
    assert_eq!(e.position().map(|p| p.0), Some(4), "{e}");
    let e = err("global:\n  scrape_interval: 1m\n  scrape_interval: 2m\n");
    assert_eq!(
        e.message(),
        "field scrape_interval already set in type config.plain"
    );
}
