//! From a real `prometheus.yml` (parsed by the `config` crate) to running discoverers: static,
//! file and Kubernetes jobs plus an Alertmanager set, through the manager, and a reload that
//! restarts only the job whose configuration changed.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::fake_kube::FakeKube;
use firewatch_discovery::from_config::{alertmanager_sets, scrape_jobs};
use firewatch_discovery::manager::TargetSets;
use firewatch_discovery::{Manager, ManagerOptions, SdConfig};
use serde_json::json;
use tokio::sync::mpsc;

fn yaml(dir: &std::path::Path, api: &str, static_target: &str) -> String {
    format!(
        r#"
global:
  scrape_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['am-1:9093']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['{static_target}']
        labels:
          env: dev
  - job_name: files
    file_sd_configs:
      - files: ['{dir}/*.json']
        refresh_interval: 1m
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        api_server: {api}
        namespaces:
          names: [default]
"#,
        dir = dir.display()
    )
}

async fn wait_for(
    rx: &mut mpsc::Receiver<TargetSets>,
    pred: impl Fn(&TargetSets) -> bool,
) -> TargetSets {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, rx.recv())
            .await
            .expect("timed out")
            .expect("closed");
        if pred(&m) {
            return m;
        }
    }
}

fn addrs(m: &TargetSets, job: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .get(job)
        .into_iter()
        .flatten()
        .flat_map(|g| g.addresses())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn prometheus_yml_to_target_groups() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    let pod = json!({
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
        "status": {"podIP": "10.1.1.1"}
    });
    fake.add(pod);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.json"),
        r#"[{"targets": ["file-target:9100"]}]"#,
    )
    .unwrap();

    let cfg =
        config::Config::from_yaml_str(&yaml(dir.path(), &fake.url, "localhost:9090"), dir.path())
            .unwrap();
    let jobs = scrape_jobs(cfg.scrape_jobs());
    assert_eq!(jobs.len(), 3);
    match &jobs["files"][0] {
        SdConfig::File(f) => assert_eq!(f.refresh_interval.to_std(), Duration::from_secs(60)),
        other => panic!("expected file SD, got {other:?}"),
    }

    let (mgr, mut rx) = Manager::new(ManagerOptions {
        name: "scrape".into(),
        update_interval: Duration::from_millis(50),
    });
    assert_eq!(mgr.apply_config(&jobs), 0);
    let m = wait_for(&mut rx, |m| {
        addrs(m, "prometheus").len() == 1
            && addrs(m, "files").len() == 1
            && addrs(m, "kubernetes-pods").len() == 1
    })
    .await;
    assert_eq!(addrs(&m, "prometheus"), ["localhost:9090"]);
    assert_eq!(m["prometheus"][0].labels["env"], "dev");
    assert_eq!(addrs(&m, "files"), ["file-target:9100"]);
    assert_eq!(addrs(&m, "kubernetes-pods"), ["10.1.1.1:8080"]);
    let kube_group = &m["kubernetes-pods"][0];
    assert_eq!(
        kube_group.labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        "true"
    );
    let before: HashMap<String, usize> = mgr
        .providers()
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, i))
        .collect();

    // Reload with only the static target changed: file and Kubernetes providers keep running.
    let cfg2 =
        config::Config::from_yaml_str(&yaml(dir.path(), &fake.url, "localhost:9091"), dir.path())
            .unwrap();
    mgr.apply_config(&scrape_jobs(cfg2.scrape_jobs()));
    let m = wait_for(&mut rx, |m| addrs(m, "prometheus") == ["localhost:9091"]).await;
    assert_eq!(addrs(&m, "kubernetes-pods"), ["10.1.1.1:8080"]);
    let after = mgr.providers();
    let kept = after.iter().filter(|p| before.contains_key(*p)).count();
    assert_eq!(
        kept, 2,
        "file and kubernetes providers kept: {before:?} -> {after:?}"
    );

    let sets = alertmanager_sets(&cfg.alerting);
    let (am, mut am_rx) = Manager::new(ManagerOptions {
        name: "notify".into(),
        update_interval: Duration::from_millis(50),
    });
    am.apply_config(&sets);
    let m = wait_for(&mut am_rx, |m| addrs(m, "config-0").len() == 1).await;
    assert_eq!(addrs(&m, "config-0"), ["am-1:9093"]);
}
