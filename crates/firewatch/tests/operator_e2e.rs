//! End to end: the real `firewatch server` with a `kubernetes_operator` section reads a
//! ServiceMonitor and a PrometheusRule from the in-process fake Kubernetes API; the monitor's
//! Service and Endpoints point at Debian's node exporter on 127.0.0.1, which the server
//! scrapes; the rule's recording rule writes a series. Changing and deleting the objects
//! changes targets and rules within seconds, without a restart; invalid objects are skipped
//! with log lines naming them.

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code)]
mod fake_kube;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fake_kube::FakeKube;
use serde_json::{Value, json};
use testkit::{Process, free_port, get_ok, urlencode};

const TEST: &str =
    "firewatch::operator_e2e::service_monitor_and_prometheus_rule_drive_scrapes_and_rules";
const DEADLINE: Duration = Duration::from_secs(40);

fn api(port: u16, path: &str) -> Value {
    let body = get_ok(port, path).unwrap_or_else(|| panic!("GET {path} failed"));
    serde_json::from_str(&body).unwrap()
}

fn query(port: u16, q: &str) -> Value {
    api(port, &format!("/api/v1/query?query={}", urlencode(q)))["data"]["result"].clone()
}

/// Polls `cond` (off the async workers) until it holds or the deadline passes.
async fn until(what: &str, server: &Process, cond: impl Fn() -> bool + Send + Sync + 'static) {
    let cond = std::sync::Arc::new(cond);
    let start = std::time::Instant::now();
    loop {
        let c = cond.clone();
        if tokio::task::spawn_blocking(move || c()).await.unwrap() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; server log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn targets(port: u16) -> Vec<Value> {
    api(port, "/api/v1/targets")["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn rule_files(port: u16) -> Vec<(String, Vec<String>)> {
    api(port, "/api/v1/rules")["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let names = g["rules"].as_array().unwrap();
            (
                g["file"].as_str().unwrap().to_owned(),
                names
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn service_monitor(extra_relabel: Option<Value>) -> Value {
    let mut ep = json!({"port": "metrics", "interval": "1s"});
    if let Some(r) = extra_relabel {
        ep["relabelings"] = json!([r]);
    }
    json!({"kind": "ServiceMonitor",
        "metadata": {"name": "node", "namespace": "shop", "labels": {"release": "fw"}},
        "spec": {"selector": {"matchLabels": {"app": "node"}}, "endpoints": [ep]}})
}

fn prometheus_rule(record: &str) -> Value {
    json!({"kind": "PrometheusRule",
        "metadata": {"name": "rec", "namespace": "shop", "uid": "u-1", "labels": {"role": "rules"}},
        "spec": {"groups": [{"name": "node", "interval": "1s",
            "rules": [{"record": record, "expr": "sum by (job) (up{namespace=\"shop\"})"}]}]}})
}

fn start_server(dir: &Path, api_server: &str) -> (Process, u16) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             kubernetes_operator:\n  api_server: {api_server}\n  namespace: monitoring\n  \
             serviceMonitorSelector:\n    matchLabels: {{release: fw}}\n  serviceMonitorNamespaceSelector: {{}}\n  \
             ruleSelector: {{}}\n  ruleNamespaceSelector:\n    matchLabels: {{team: shop}}\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let server = Process::spawn("firewatch", cmd, &dir.join("firewatch.log"));
    testkit::wait_for("firewatch ready", DEADLINE, || {
        get_ok(port, "/-/ready").is_some()
    });
    (server, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_monitor_and_prometheus_rule_drive_scrapes_and_rules() {
    if !testkit::peers(TEST, &["prometheus-node-exporter"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node_port = free_port();
    let mut cmd = Command::new("prometheus-node-exporter");
    cmd.arg(format!("--web.listen-address=127.0.0.1:{node_port}"));
    let _node = Process::spawn("node exporter", cmd, &dir.path().join("node.log"));

    let fake = FakeKube::start().await;
    fake.add(
        json!({"kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "shop"}}}),
    );
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "monitoring"}}));
    fake.add(json!({"kind": "Service",
        "metadata": {"name": "node", "namespace": "shop", "labels": {"app": "node"}},
        "spec": {"clusterIP": "10.0.0.1", "ports": [{"name": "metrics", "port": node_port, "protocol": "TCP"}]}}));
    fake.add(json!({"kind": "Endpoints",
        "metadata": {"name": "node", "namespace": "shop", "labels": {"app": "node"}},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                     "ports": [{"name": "metrics", "port": node_port, "protocol": "TCP"}]}]}));
    fake.add(service_monitor(None));
    // Not selected: another release.
    let mut other = service_monitor(None);
    other["metadata"]["name"] = json!("other");
    other["metadata"]["labels"]["release"] = json!("other");
    fake.add(other);
    fake.add(prometheus_rule("job:up:sum"));

    let (server, port) = start_server(dir.path(), &fake.url);
    let pool = "serviceMonitor/shop/node/0";

    // The ServiceMonitor's pool scrapes the node exporter, labelled as the Operator labels.
    until("the ServiceMonitor's target up", &server, move || {
        targets(port)
            .iter()
            .any(|t| t["scrapePool"] == pool && t["health"] == "up")
    })
    .await;
    let all = targets(port);
    assert!(all.iter().all(|t| t["scrapePool"] == pool), "{all:?}");
    let t = &all[0];
    assert_eq!(t["labels"]["job"], "node");
    assert_eq!(t["labels"]["namespace"], "shop");
    assert_eq!(t["labels"]["service"], "node");
    assert_eq!(t["labels"]["endpoint"], "metrics");
    assert_eq!(t["labels"]["instance"], format!("127.0.0.1:{node_port}"));
    assert_eq!(t["scrapeInterval"], "1s");
    until("node exporter series stored", &server, move || {
        !query(port, "node_load1{namespace=\"shop\",service=\"node\"}")
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;

    // The PrometheusRule's recording rule runs in memory and writes its series.
    until("the recording rule's series", &server, move || {
        query(port, "job:up:sum{job=\"node\"}")
            .get(0)
            .is_some_and(|s| s["value"][1] == "1")
    })
    .await;
    assert_eq!(
        rule_files(port),
        [(
            "prometheusrule/shop-rec-u-1.yaml".to_owned(),
            vec!["job:up:sum".to_owned()]
        )]
    );

    // Changed objects: a relabeling on the monitor, another record name on the rule.
    fake.modify(service_monitor(Some(
        json!({"targetLabel": "team", "replacement": "checkout"}),
    )));
    fake.modify(prometheus_rule("job:up:total"));
    until("the relabeling applied", &server, move || {
        targets(port)
            .iter()
            .any(|t| t["scrapePool"] == pool && t["labels"]["team"] == "checkout")
    })
    .await;
    until("the renamed recording rule", &server, move || {
        rule_files(port)
            .first()
            .is_some_and(|(_, r)| r == &["job:up:total"])
            && !query(port, "job:up:total").as_array().unwrap().is_empty()
    })
    .await;

    // Invalid objects are skipped with a line naming them; the valid ones stay.
    fake.add(json!({"kind": "ServiceMonitor",
        "metadata": {"name": "undecodable", "namespace": "shop", "labels": {"release": "fw"}},
        "spec": {"endpoints": "nope"}}));
    let mut bad_interval = service_monitor(None);
    bad_interval["metadata"]["name"] = json!("bad-interval");
    bad_interval["spec"]["endpoints"][0]["interval"] = json!("soon");
    fake.add(bad_interval);
    fake.add(json!({"kind": "PrometheusRule",
        "metadata": {"name": "broken", "namespace": "shop", "uid": "u-2"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum("}]}]}}));
    let log_has = |needle: &'static str| {
        let path = dir.path().join("firewatch.log");
        move || {
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains(needle)
        }
    };
    until(
        "undecodable monitor logged",
        &server,
        log_has("shop/undecodable"),
    )
    .await;
    until(
        "bad interval logged",
        &server,
        log_has("serviceMonitor/shop/bad-interval/0"),
    )
    .await;
    until("broken rule logged", &server, log_has("broken")).await;
    let pools: Vec<Value> = targets(port)
        .iter()
        .map(|t| t["scrapePool"].clone())
        .collect();
    assert!(pools.iter().all(|p| p == pool), "{pools:?}");
    assert_eq!(rule_files(port).len(), 1);

    // Deleted objects: the pool and the group go.
    fake.delete(service_monitor(None));
    fake.delete(prometheus_rule("job:up:total"));
    until("the pool removed", &server, move || {
        targets(port).is_empty()
    })
    .await;
    until("the rule group removed", &server, move || {
        rule_files(port).is_empty()
    })
    .await;
    drop(server);
}
