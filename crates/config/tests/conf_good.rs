//! Prometheus's big `conf.good.yml`, without the jobs whose discovery Firewatch does not
//! run, loads to the values Prometheus's own `config_test.go` expects (`expectedConf`).

use firewatch_config::{Config, Duration, Size, TlsVersion};

/// Prometheus's `config/testdata` under the conformance data directory (`testkit::shared_dir`).
fn testdata() -> String {
    testkit::shared_dir()
        .join("prometheus-config-testdata")
        .display()
        .to_string()
}
const SUPPORTED_SD: &[&str] = &["file", "http", "dns", "kubernetes"];

/// conf.good.yml without the scrape jobs that use unsupported discovery.
fn trimmed() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(format!("{}/conf.good.yml", testdata())).unwrap();
    let mut out = String::new();
    let mut dropped = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let flush = |block: &mut Vec<&str>, out: &mut String, dropped: &mut Vec<String>| {
        let unsupported = block.iter().any(|l| {
            l.trim()
                .strip_suffix("_sd_configs:")
                .is_some_and(|m| !SUPPORTED_SD.contains(&m))
        });
        if unsupported {
            dropped.push(
                block[0]
                    .trim()
                    .trim_start_matches("- job_name:")
                    .trim()
                    .to_string(),
            );
        } else {
            for l in block.iter() {
                out.push_str(l);
                out.push('\n');
            }
        }
        block.clear();
    };
    let mut in_scrape = false;
    for line in text.lines() {
        let top_level = !line.is_empty() && !line.starts_with(' ') && !line.starts_with('#');
        if top_level {
            flush(&mut block, &mut out, &mut dropped);
            in_scrape = line.starts_with("scrape_configs:");
            out.push_str(line);
            out.push('\n');
        } else if in_scrape && line.starts_with("  - job_name:") {
            flush(&mut block, &mut out, &mut dropped);
            block.push(line);
        } else if in_scrape && !block.is_empty() {
            block.push(line);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    flush(&mut block, &mut out, &mut dropped);
    (out, dropped)
}

/// Where Prometheus resolves a relative name of the file: cleaned like Go's `filepath.Join`.
fn path(rel: &str) -> String {
    firewatch_config::clean_path(&format!("{}/{rel}", testdata()))
}

#[test]
fn conf_good_matches_prometheus_expectations() {
    if testkit::shared_path(
        "config::conf_good::conf_good_matches_prometheus_expectations",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    let (text, dropped) = trimmed();
    assert!(
        dropped.contains(&"service-y".to_string()),
        "consul job dropped: {dropped:?}"
    );
    let c = Config::from_yaml_str(&text, testdata()).unwrap_or_else(|e| panic!("{e}"));

    // global
    let g = &c.global;
    assert_eq!(g.scrape_interval, Duration::from_secs(15));
    assert_eq!(g.scrape_timeout, Duration::from_secs(10));
    assert_eq!(g.evaluation_interval, Duration::from_secs(30));
    assert_eq!(g.query_log_file, path("query.log"));
    assert_eq!(g.scrape_failure_log_file, path("fail.log"));
    assert_eq!(g.body_size_limit, Size::from_bytes(15 << 20));
    assert_eq!(
        (g.sample_limit, g.target_limit, g.label_limit),
        (1500, 30, 30)
    );
    assert_eq!(
        (g.label_name_length_limit, g.label_value_length_limit),
        (200, 200)
    );
    assert_eq!(
        g.external_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["foo=bar", "monitor=codelab"]
    );
    assert_eq!(c.runtime.gogc, 42);
    assert_eq!(c.rule_files, vec![path("first.rules"), path("my/*.rules")]);

    // remote write / read
    let rw: Vec<_> = c.remote_writes().collect();
    assert_eq!(rw[0].url.as_ref().unwrap().as_str(), "http://remote1/push");
    assert_eq!(rw[0].protobuf_message, "prometheus.WriteRequest");
    assert_eq!(rw[0].remote_timeout, Duration::from_secs(30));
    assert!(!rw[0].enable_http2);
    let o = rw[0].oauth2.as_ref().unwrap();
    assert_eq!(
        (
            o.client_id.as_str(),
            o.client_secret.expose(),
            o.token_url.as_str()
        ),
        ("123", "456", "http://remote1/auth")
    );
    assert_eq!(o.tls_config.cert_file, path("valid_cert_file"));
    assert_eq!(rw[1].protobuf_message, "io.prometheus.write.v2.Request");
    assert_eq!(rw[1].headers["name"], "value");
    assert_eq!(rw[1].queue_config.max_shards, 50);
    let rr: Vec<_> = c.remote_reads().collect();
    assert!(rr[0].read_recent && !rr[0].enable_http2 && rr[0].filter_external_labels);
    assert_eq!(rr[0].remote_timeout, Duration::from_secs(60));
    assert_eq!(rr[0].chunked_read_limit, 50_000_000);
    assert!(rr[1].enable_http2);
    assert_eq!(rr[1].required_matchers["job"], "special");
    assert_eq!(
        c.otlp.promote_resource_attributes,
        ["k8s.cluster.name", "k8s.job.name", "k8s.namespace.name"]
    );

    // job "prometheus"
    let p = c
        .scrape_jobs()
        .find(|s| s.job_name == "prometheus")
        .unwrap();
    assert!(p.honor_labels && p.honor_timestamps && p.enable_compression);
    assert_eq!(p.scrape_interval, Duration::from_secs(15));
    assert_eq!(p.scrape_timeout, Duration::from_secs(10));
    assert_eq!(p.body_size_limit, Size::from_bytes(15 << 20));
    assert_eq!(p.sample_limit, 1500);
    assert_eq!(
        p.fallback_scrape_protocol.as_ref().unwrap().to_string(),
        "PrometheusText0.0.4"
    );
    assert_eq!(p.scrape_failure_log_file, path("fail_prom.log"));
    assert_eq!(p.metric_name_escaping_scheme, "allow-utf-8");
    assert_eq!(p.scrape_native_histograms, Some(false));
    let a = p.authorization.as_ref().unwrap();
    assert_eq!(
        (a.kind.as_str(), a.credentials_file.clone()),
        ("Bearer", path("valid_token_file"))
    );
    assert_eq!(p.tls_config.min_version, Some(TlsVersion::Tls10));
    let h = &p.http_headers.as_ref().unwrap()["foo"];
    assert_eq!(h.values, ["foobar"]);
    assert_eq!(h.files, [path("valid_password_file")]);
    let f: Vec<_> = p.file_sd_configs.iter().flatten().collect();
    assert_eq!(
        f[0].files,
        [
            path("foo/*.slow.json"),
            path("foo/*.slow.yml"),
            path("single/file.yml")
        ]
    );
    assert_eq!(f[0].refresh_interval, Duration::from_secs(600));
    assert_eq!(f[1].refresh_interval, Duration::from_secs(300));
    assert_eq!(
        p.static_groups()[0].targets,
        ["localhost:9090", "localhost:9191"]
    );
    let r: Vec<_> = p.relabel_configs.iter().flatten().collect();
    assert_eq!(r.len(), 6);
    assert_eq!(r[0].replacement, "foo-${1}");
    assert_eq!(r[0].separator, ";");
    assert_eq!(r[3].regex.as_str(), "", "explicit empty regex");
    assert_eq!(r[2].regex.as_str(), "(.*)", "default regex");

    // job "service-x"
    let x = c.scrape_jobs().find(|s| s.job_name == "service-x").unwrap();
    assert_eq!(
        x.basic_auth.as_ref().unwrap().password.expose(),
        "multiline\nmysecret\ntest"
    );
    assert_eq!(
        (x.scrape_interval, x.scrape_timeout),
        (Duration::from_secs(50), Duration::from_secs(5))
    );
    assert_eq!(x.body_size_limit, Size::from_bytes(10 << 20));
    assert_eq!(
        (x.sample_limit, x.target_limit, x.label_limit),
        (1000, 35, 35)
    );
    assert_eq!(
        (x.metrics_path.as_str(), x.scheme.as_str()),
        ("/my_path", "https")
    );
    let d: Vec<_> = x.dns_sd_configs.iter().flatten().collect();
    assert_eq!(d[0].refresh_interval, Duration::from_secs(15));
    assert_eq!(d[1].refresh_interval, Duration::from_secs(30));
    assert_eq!(d[1].kind, "SRV");
    assert_eq!(x.metric_relabel_configs.len(), 1);

    // Kubernetes jobs
    let k = c
        .scrape_jobs()
        .find(|s| s.job_name == "service-kubernetes")
        .unwrap();
    let ksd = k.kubernetes_sd_configs[0].as_ref().unwrap();
    assert_eq!(
        ksd.api_server.as_ref().unwrap().as_str(),
        "https://localhost:1234"
    );
    assert_eq!(ksd.basic_auth.as_ref().unwrap().username, "myusername");
    assert_eq!(ksd.tls_config.cert_file, path("valid_cert_file"));
    let kn = c
        .scrape_jobs()
        .find(|s| s.job_name == "service-kubernetes-namespaces")
        .unwrap();
    assert_eq!(
        kn.kubernetes_sd_configs[0]
            .as_ref()
            .unwrap()
            .namespaces
            .names,
        ["default"]
    );
    assert_eq!(
        kn.basic_auth.as_ref().unwrap().password_file,
        path("valid_password_file")
    );

    // others
    assert!(c.scrape_jobs().any(|s| s.job_name == "測試"));
    let bad = c
        .scrape_jobs()
        .find(|s| s.job_name == "badfederation")
        .unwrap();
    assert!(!bad.honor_timestamps);
    let am = c.alerting.alertmanagers[0].as_ref().unwrap();
    assert_eq!(am.scheme, "https");
    assert_eq!(am.timeout, Duration::from_secs(10));
    assert_eq!(am.static_configs[0].as_ref().unwrap().targets.len(), 3);
    assert_eq!(
        c.storage.tsdb.out_of_order_time_window,
        Duration::from_secs(1800)
    );
    assert_eq!(c.storage.tsdb.retention.time, Duration::from_secs(86_400));
    assert_eq!(c.storage.tsdb.retention.size, Size::from_bytes(1 << 30));
    assert_eq!(c.tracing.as_ref().unwrap().client_type, "grpc");
    assert!(c.tracing.as_ref().unwrap().tls_config.insecure_skip_verify);
}
