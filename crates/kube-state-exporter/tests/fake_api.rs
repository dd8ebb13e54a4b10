//! The pod families against the in-process fake Kubernetes API that service discovery's tests
//! use (list, then watch: added, modified, deleted, and a relist after the watch expires).

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code, missing_docs)]
mod fake_kube;

use std::time::Duration;

use fake_kube::FakeKube;
use firewatch_kube_state_exporter::{Options, router};
use serde_json::{Value, json};

fn pod(name: &str, restarts: u32, ready: &str) -> Value {
    json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f", "uid": "rs1", "controller": true}]},
        "spec": {"nodeName": "node-1", "priorityClassName": "high", "containers": [{"name": "nginx", "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"memory": "128Mi", "nvidia.com/gpu": "1"}}}]},
        "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.5",
            "conditions": [{"type": "Ready", "status": ready}],
            "containerStatuses": [{"name": "nginx", "restartCount": restarts, "ready": true, "image": "nginx:1.27", "imageID": "", "started": true}]}
    })
}

async fn scrape_raw(port: u16) -> String {
    tokio::task::spawn_blocking(move || testkit::get_ok(port, "/metrics").unwrap_or_default())
        .await
        .unwrap()
}

/// The exposition with each series' labels sorted by name, so that these tests state series
/// in one canonical order (the exact kube-state-metrics order is checked by
/// `tests/exposition.rs`).
async fn scrape(port: u16) -> String {
    sorted_labels(&scrape_raw(port).await)
}

fn sorted_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match (line.find('{'), line.rfind('}')) {
            (Some(open), Some(close)) if !line.starts_with('#') && open < close => {
                let mut pairs = split_labels(&line[open + 1..close]);
                pairs.sort();
                out.push_str(&line[..=open]);
                out.push_str(&pairs.join(","));
                out.push_str(&line[close..]);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `a="x",b="y\"z"` as `["a=\"x\"", ...]` (commas inside quoted values kept).
fn split_labels(inner: &str) -> Vec<String> {
    let mut pairs = Vec::new();
    let (mut cur, mut quoted, mut escaped) = (String::new(), false, false);
    for c in inner.chars() {
        if c == ',' && !quoted {
            pairs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
    }
    if !cur.is_empty() {
        pairs.push(cur);
    }
    pairs
}

async fn until(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let body = scrape(port).await;
        if ok(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}:\n{}", scrape(port).await);
}

async fn serve(fake: &FakeKube, resources: &[&str], namespaces: &[&str]) -> u16 {
    serve_opts(fake, options(resources, namespaces)).await
}

fn options(resources: &[&str], namespaces: &[&str]) -> Options {
    Options {
        listen_address: String::new(),
        namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
        resources: resources.iter().map(|s| (*s).to_owned()).collect(),
        web_config: None,
        labels_allowlist: Default::default(),
        annotations_allowlist: Default::default(),
        opt_in: Vec::new(),
    }
}

async fn serve_opts(fake: &FakeKube, opts: Options) -> u16 {
    let config = kube::Config::new(fake.url.parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let app = router(&client, &opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_namespaces_deployments() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Node", "apiVersion": "v1",
        "metadata": {"name": "node-1"},
        "spec": {"podCIDR": "10.1.0.0/24", "providerID": "kind://node-1"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "3500m", "memory": "7Gi", "pods": "110"},
            "nodeInfo": {"kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12", "containerRuntimeVersion": "containerd://1.7.0",
                "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0", "systemUUID": "abc", "machineID": "m", "bootID": "b",
                "operatingSystem": "linux", "architecture": "amd64"}}}));
    for ns in ["shop", "other"] {
        fake.add(json!({"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": ns, "creationTimestamp": "2025-01-02T03:04:05Z"}, "status": {"phase": "Active"}}));
    }
    fake.add(json!({"kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"replicas": 3, "selector": {}, "template": {}},
        "status": {"replicas": 3, "availableReplicas": 2, "unavailableReplicas": 1, "updatedReplicas": 3}}));
    let port = serve(&fake, &["nodes", "namespaces", "deployments"], &["shop"]).await;
    let body = until(port, "all listed", |b| {
        b.contains("kube_node_info{")
            && b.contains("kube_deployment_spec_replicas{")
            && b.contains("kube_namespace_status_phase{")
    })
    .await;
    for want in [
        r#"kube_node_info{container_runtime_version="containerd://1.7.0",internal_ip="172.18.0.2",kernel_version="6.1.0",kubelet_version="v1.33.0",kubeproxy_version="deprecated",node="node-1",os_image="Debian GNU/Linux 12",pod_cidr="10.1.0.0/24",provider_id="kind://node-1",system_uuid="abc"} 1"#,
        r#"kube_node_status_condition{condition="Ready",node="node-1",status="true"} 1"#,
        r#"kube_node_status_condition{condition="MemoryPressure",node="node-1",status="false"} 1"#,
        r#"kube_node_status_condition{condition="MemoryPressure",node="node-1",status="true"} 0"#,
        r#"kube_node_status_capacity{node="node-1",resource="memory",unit="byte"} 8.589934592e+09"#,
        r#"kube_node_status_allocatable{node="node-1",resource="cpu",unit="core"} 3.5"#,
        r#"kube_node_status_allocatable{node="node-1",resource="pods",unit="integer"} 110"#,
        r#"kube_namespace_created{namespace="shop"} 1.735787045e+09"#,
        r#"kube_namespace_status_phase{namespace="shop",phase="Active"} 1"#,
        r#"kube_namespace_status_phase{namespace="shop",phase="Terminating"} 0"#,
        r#"kube_deployment_spec_replicas{deployment="web",namespace="shop"} 3"#,
        r#"kube_deployment_status_replicas_available{deployment="web",namespace="shop"} 2"#,
        r#"kube_deployment_status_replicas_unavailable{deployment="web",namespace="shop"} 1"#,
        "# TYPE kube_deployment_status_replicas_updated gauge",
        "# HELP kube_node_status_allocatable [STABLE] The allocatable for different resources of a node that are available for scheduling.",
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // --namespaces=shop: the other namespace is left out; pods were not asked for.
    assert!(
        !body.contains(r#"namespace="other""#) && !body.contains("kube_pod_"),
        "{body}"
    );
    // Deleted.
    fake.delete(json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web", "namespace": "shop"}}));
    until(port, "deployment deleted", |b| {
        !b.contains(r#"deployment="web""#)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_listed_watched_modified_deleted() {
    let fake = FakeKube::start().await;
    fake.add(pod("web-a", 0, "True"));
    let port = serve(&fake, &["pods"], &[]).await;

    // Listed.
    let body = until(port, "web-a listed", |b| b.contains("pod=\"web-a\"")).await;
    for want in [
        "# HELP kube_pod_info [STABLE] Information about pod.",
        "# TYPE kube_pod_container_status_restarts_total counter",
        r#"kube_pod_info{created_by_kind="ReplicaSet",created_by_name="web-5d4f",host_ip="10.0.0.1",host_network="false",namespace="shop",node="node-1",pod="web-a",pod_ip="10.1.0.5",priority_class="high",uid="uid-web-a"} 1"#,
        r#"kube_pod_status_phase{namespace="shop",phase="Running",pod="web-a",uid="uid-web-a"} 1"#,
        r#"kube_pod_status_phase{namespace="shop",phase="Pending",pod="web-a",uid="uid-web-a"} 0"#,
        r#"kube_pod_status_ready{condition="true",namespace="shop",pod="web-a",uid="uid-web-a"} 1"#,
        r#"kube_pod_status_ready{condition="false",namespace="shop",pod="web-a",uid="uid-web-a"} 0"#,
        r#"kube_pod_container_status_restarts_total{container="nginx",namespace="shop",pod="web-a",uid="uid-web-a"} 0"#,
        r#"kube_pod_container_resource_requests{container="nginx",namespace="shop",node="node-1",pod="web-a",resource="cpu",uid="uid-web-a",unit="core"} 0.25"#,
        r#"kube_pod_container_resource_requests{container="nginx",namespace="shop",node="node-1",pod="web-a",resource="memory",uid="uid-web-a",unit="byte"} 6.7108864e+07"#,
        r#"kube_pod_container_resource_limits{container="nginx",namespace="shop",node="node-1",pod="web-a",resource="nvidia_com_gpu",uid="uid-web-a",unit="integer"} 1"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // Watched: added, modified (a restart, not ready), deleted.
    fake.add(pod("web-b", 0, "True"));
    until(port, "web-b added", |b| b.contains("pod=\"web-b\"")).await;
    fake.modify(pod("web-a", 3, "False"));
    let body = until(port, "web-a modified", |b| {
        b.contains(r#"kube_pod_container_status_restarts_total{container="nginx",namespace="shop",pod="web-a",uid="uid-web-a"} 3"#)
    })
    .await;
    assert!(body.contains(r#"kube_pod_status_ready{condition="false",namespace="shop",pod="web-a",uid="uid-web-a"} 1"#), "{body}");
    fake.delete(pod("web-b", 0, "True"));
    until(port, "web-b deleted", |b| !b.contains("pod=\"web-b\"")).await;
    // The watch expires (410 Gone): the reflector lists again and keeps the state.
    fake.expire_watches();
    fake.add(pod("web-c", 1, "True"));
    let body = until(port, "web-c after relist", |b| b.contains("pod=\"web-c\"")).await;
    assert!(
        body.contains("pod=\"web-a\"") && !body.contains("pod=\"web-b\""),
        "{body}"
    );
}

fn replicaset(ready: u32) -> Value {
    json!({"kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": "web-5d4f", "namespace": "shop", "generation": 2, "creationTimestamp": "2025-01-02T03:04:05Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 3, "selector": {}},
        "status": {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": ready, "observedGeneration": 2}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicasets_daemonsets() {
    let fake = FakeKube::start().await;
    fake.add(replicaset(2));
    fake.add(json!({"kind": "DaemonSet", "apiVersion": "apps/v1",
        "metadata": {"name": "agent", "namespace": "kube-system", "generation": 4, "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"selector": {}, "template": {}},
        "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 4, "numberAvailable": 2, "numberMisscheduled": 1,
            "numberReady": 2, "numberUnavailable": 2, "observedGeneration": 3, "updatedNumberScheduled": 3}}));
    let port = serve(&fake, &["replicasets", "daemonsets"], &[]).await;
    let body = until(port, "listed", |b| {
        b.contains("kube_replicaset_spec_replicas{") && b.contains("kube_daemonset_created{")
    })
    .await;
    for want in [
        "# HELP kube_replicaset_owner [STABLE] Information about the ReplicaSet's owner.",
        "# HELP kube_daemonset_status_number_misscheduled [STABLE] The number of nodes running a daemon pod but are not supposed to.",
        "# TYPE kube_daemonset_status_updated_number_scheduled gauge",
        r#"kube_replicaset_created{namespace="shop",replicaset="web-5d4f"} 1.735787045e+09"#,
        r#"kube_replicaset_owner{namespace="shop",owner_is_controller="true",owner_kind="Deployment",owner_name="web",replicaset="web-5d4f"} 1"#,
        r#"kube_replicaset_spec_replicas{namespace="shop",replicaset="web-5d4f"} 3"#,
        r#"kube_replicaset_status_replicas{namespace="shop",replicaset="web-5d4f"} 3"#,
        r#"kube_replicaset_status_fully_labeled_replicas{namespace="shop",replicaset="web-5d4f"} 3"#,
        r#"kube_replicaset_status_ready_replicas{namespace="shop",replicaset="web-5d4f"} 2"#,
        r#"kube_replicaset_status_observed_generation{namespace="shop",replicaset="web-5d4f"} 2"#,
        r#"kube_replicaset_metadata_generation{namespace="shop",replicaset="web-5d4f"} 2"#,
        r#"kube_daemonset_created{daemonset="agent",namespace="kube-system"} 1.735787045e+09"#,
        r#"kube_daemonset_status_current_number_scheduled{daemonset="agent",namespace="kube-system"} 3"#,
        r#"kube_daemonset_status_desired_number_scheduled{daemonset="agent",namespace="kube-system"} 4"#,
        r#"kube_daemonset_status_number_available{daemonset="agent",namespace="kube-system"} 2"#,
        r#"kube_daemonset_status_number_misscheduled{daemonset="agent",namespace="kube-system"} 1"#,
        r#"kube_daemonset_status_number_ready{daemonset="agent",namespace="kube-system"} 2"#,
        r#"kube_daemonset_status_number_unavailable{daemonset="agent",namespace="kube-system"} 2"#,
        r#"kube_daemonset_status_observed_generation{daemonset="agent",namespace="kube-system"} 3"#,
        r#"kube_daemonset_status_updated_number_scheduled{daemonset="agent",namespace="kube-system"} 3"#,
        r#"kube_daemonset_metadata_generation{daemonset="agent",namespace="kube-system"} 4"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // Watched: modified, added without an owner, deleted.
    fake.modify(replicaset(3));
    until(port, "replicaset modified", |b| {
        b.contains(
            r#"kube_replicaset_status_ready_replicas{namespace="shop",replicaset="web-5d4f"} 3"#,
        )
    })
    .await;
    fake.add(json!({"kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": "lonely", "namespace": "shop"}, "spec": {"selector": {}}}));
    let body = until(port, "lonely added", |b| {
        b.contains(r#"replicaset="lonely""#)
    })
    .await;
    for want in [
        r#"kube_replicaset_owner{namespace="shop",owner_is_controller="",owner_kind="",owner_name="",replicaset="lonely"} 1"#,
        r#"kube_replicaset_status_replicas{namespace="shop",replicaset="lonely"} 0"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // No spec.replicas, no creation time: no series (as kube-state-metrics).
    assert!(
        !body.contains(r#"kube_replicaset_spec_replicas{namespace="shop",replicaset="lonely"}"#)
            && !body.contains(r#"kube_replicaset_created{namespace="shop",replicaset="lonely"}"#),
        "{body}"
    );
    fake.delete(replicaset(3));
    until(port, "replicaset deleted", |b| {
        !b.contains(r#"replicaset="web-5d4f""#)
    })
    .await;
}

fn job(failed: u32, condition: Option<(&str, &str)>) -> Value {
    let conditions: Vec<Value> = condition
        .map(|(t, reason)| json!({"type": t, "status": "True", "reason": reason}))
        .into_iter()
        .collect();
    json!({"kind": "Job", "apiVersion": "batch/v1",
        "metadata": {"name": "backup-29000", "namespace": "ops", "creationTimestamp": "2025-01-02T03:04:05Z",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "c1", "controller": true}]},
        "spec": {"parallelism": 1, "completions": 1, "activeDeadlineSeconds": 600, "template": {}},
        "status": {"active": 1, "succeeded": 0, "failed": failed, "startTime": "2025-01-02T03:05:00Z", "conditions": conditions}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulsets_services_jobs_cronjobs() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "StatefulSet", "apiVersion": "apps/v1",
        "metadata": {"name": "db", "namespace": "shop", "generation": 5, "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"replicas": 3, "ordinals": {"start": 1}, "selector": {}, "template": {}, "serviceName": "db",
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"}},
        "status": {"replicas": 3, "availableReplicas": 2, "currentReplicas": 3, "readyReplicas": 2, "updatedReplicas": 1,
            "observedGeneration": 4, "currentRevision": "db-7c9", "updateRevision": "db-8d1"}}));
    fake.add(json!({"kind": "Service", "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "shop", "uid": "s1", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "externalIPs": ["192.0.2.1", "192.0.2.2"],
            "loadBalancerIP": "203.0.113.9", "externalTrafficPolicy": "Local", "externalName": "web.example"},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9", "hostname": "lb.example"}]}}}));
    fake.add(job(0, None));
    fake.add(json!({"kind": "CronJob", "apiVersion": "batch/v1",
        "metadata": {"name": "backup", "namespace": "ops", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"schedule": "0 3 * * *", "concurrencyPolicy": "Forbid", "suspend": true, "startingDeadlineSeconds": 30,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, "jobTemplate": {}},
        "status": {"active": [{"name": "backup-29000", "namespace": "ops"}], "lastScheduleTime": "2025-01-02T03:05:00Z",
            "lastSuccessfulTime": "2025-01-01T03:06:00Z"}}));
    let port = serve(
        &fake,
        &["statefulsets", "services", "jobs", "cronjobs"],
        &[],
    )
    .await;
    let body = until(port, "listed", |b| {
        [
            "kube_statefulset_replicas{",
            "kube_service_info{",
            "kube_job_info{",
            "kube_cronjob_info{",
        ]
        .iter()
        .all(|f| b.contains(f))
    })
    .await;
    for want in [
        "# HELP kube_statefulset_status_update_revision [STABLE] Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
        "# HELP kube_cronjob_spec_failed_job_history_limit Failed job history limit tells the controller how many failed jobs should be preserved.",
        "# HELP kube_job_owner [STABLE] Information about the Job's owner.",
        r#"kube_statefulset_created{namespace="shop",statefulset="db"} 1.735787045e+09"#,
        r#"kube_statefulset_replicas{namespace="shop",statefulset="db"} 3"#,
        r#"kube_statefulset_ordinals_start{namespace="shop",statefulset="db"} 1"#,
        r#"kube_statefulset_status_replicas_available{namespace="shop",statefulset="db"} 2"#,
        r#"kube_statefulset_status_replicas_current{namespace="shop",statefulset="db"} 3"#,
        r#"kube_statefulset_status_replicas_ready{namespace="shop",statefulset="db"} 2"#,
        r#"kube_statefulset_status_replicas_updated{namespace="shop",statefulset="db"} 1"#,
        r#"kube_statefulset_status_observed_generation{namespace="shop",statefulset="db"} 4"#,
        r#"kube_statefulset_metadata_generation{namespace="shop",statefulset="db"} 5"#,
        r#"kube_statefulset_persistentvolumeclaim_retention_policy{namespace="shop",statefulset="db",when_deleted="Retain",when_scaled="Delete"} 1"#,
        r#"kube_statefulset_status_current_revision{namespace="shop",revision="db-7c9",statefulset="db"} 1"#,
        r#"kube_statefulset_status_update_revision{namespace="shop",revision="db-8d1",statefulset="db"} 1"#,
        r#"kube_service_info{cluster_ip="10.96.0.10",external_name="web.example",external_traffic_policy="Local",load_balancer_ip="203.0.113.9",namespace="shop",service="web",uid="s1"} 1"#,
        r#"kube_service_created{namespace="shop",service="web",uid="s1"} 1.735787045e+09"#,
        r#"kube_service_spec_type{namespace="shop",service="web",type="LoadBalancer",uid="s1"} 1"#,
        r#"kube_service_spec_external_ip{external_ip="192.0.2.2",namespace="shop",service="web",uid="s1"} 1"#,
        r#"kube_service_status_load_balancer_ingress{hostname="lb.example",ip="203.0.113.9",namespace="shop",service="web",uid="s1"} 1"#,
        r#"kube_job_info{job_name="backup-29000",namespace="ops"} 1"#,
        r#"kube_job_owner{job_name="backup-29000",namespace="ops",owner_is_controller="true",owner_kind="CronJob",owner_name="backup"} 1"#,
        r#"kube_job_spec_parallelism{job_name="backup-29000",namespace="ops"} 1"#,
        r#"kube_job_spec_completions{job_name="backup-29000",namespace="ops"} 1"#,
        r#"kube_job_spec_active_deadline_seconds{job_name="backup-29000",namespace="ops"} 600"#,
        r#"kube_job_status_active{job_name="backup-29000",namespace="ops"} 1"#,
        r#"kube_job_status_succeeded{job_name="backup-29000",namespace="ops"} 0"#,
        r#"kube_job_status_failed{job_name="backup-29000",namespace="ops"} 0"#,
        r#"kube_job_status_start_time{job_name="backup-29000",namespace="ops"} 1.7357871e+09"#,
        r#"kube_cronjob_info{concurrency_policy="Forbid",cronjob="backup",namespace="ops",schedule="0 3 * * *",timezone="local"} 1"#,
        r#"kube_cronjob_status_active{cronjob="backup",namespace="ops"} 1"#,
        r#"kube_cronjob_status_last_schedule_time{cronjob="backup",namespace="ops"} 1.7357871e+09"#,
        r#"kube_cronjob_status_last_successful_time{cronjob="backup",namespace="ops"} 1.73570076e+09"#,
        r#"kube_cronjob_spec_suspend{cronjob="backup",namespace="ops"} 1"#,
        r#"kube_cronjob_spec_starting_deadline_seconds{cronjob="backup",namespace="ops"} 30"#,
        r#"kube_cronjob_spec_successful_job_history_limit{cronjob="backup",namespace="ops"} 3"#,
        r#"kube_cronjob_spec_failed_job_history_limit{cronjob="backup",namespace="ops"} 1"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // No completion yet, no conditions: no series.
    assert!(
        !body.contains("kube_job_status_completion_time{") && !body.contains("kube_job_complete{"),
        "{body}"
    );
    // Modified: failed past its backoff limit.
    fake.modify(job(2, Some(("Failed", "BackoffLimitExceeded"))));
    let body = until(port, "job failed", |b| b.contains("kube_job_failed{")).await;
    for want in [
        r#"kube_job_failed{condition="true",job_name="backup-29000",namespace="ops"} 1"#,
        r#"kube_job_failed{condition="false",job_name="backup-29000",namespace="ops"} 0"#,
        r#"kube_job_failed{condition="unknown",job_name="backup-29000",namespace="ops"} 0"#,
        r#"kube_job_status_failed{job_name="backup-29000",namespace="ops",reason="BackoffLimitExceeded"} 1"#,
        r#"kube_job_status_failed{job_name="backup-29000",namespace="ops",reason="DeadlineExceeded"} 0"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // Failures without a known reason: the count under reason="".
    fake.modify(job(2, None));
    let body = until(port, "job failures, no reason", |b| {
        !b.contains("kube_job_failed{")
    })
    .await;
    assert!(
        body.lines().any(|l| l
            == r#"kube_job_status_failed{job_name="backup-29000",namespace="ops",reason=""} 2"#),
        "{body}"
    );
    // Deleted.
    fake.delete(job(2, None));
    fake.delete(json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "shop"}}));
    until(port, "job and service deleted", |b| {
        !b.contains("job_name=\"backup-29000\"") && !b.contains("service=\"web\"")
    })
    .await;
}

fn claim(phase: &str) -> Value {
    json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": "data-db-0", "namespace": "shop", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"storageClassName": "standard", "volumeName": "pv-1", "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": phase}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_endpoints_hpas_configmaps_secrets() {
    let fake = FakeKube::start().await;
    fake.add(claim("Pending"));
    fake.add(json!({"kind": "PersistentVolume", "apiVersion": "v1",
        "metadata": {"name": "pv-1", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"storageClassName": "standard", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Delete", "nfs": {"server": "nfs.example", "path": "/export"}},
        "status": {"phase": "Bound"}}));
    fake.add(json!({"kind": "Endpoints", "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "subsets": [{"addresses": [{"ip": "10.1.0.5"}], "notReadyAddresses": [{"ip": "10.1.0.6"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}));
    fake.add(json!({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web", "namespace": "shop", "generation": 2, "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10},
        "status": {"currentReplicas": 3, "desiredReplicas": 4,
            "conditions": [{"type": "AbleToScale", "status": "True"}, {"type": "ScalingLimited", "status": "False"}]}}));
    fake.add(json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "settings", "namespace": "shop", "creationTimestamp": "2025-01-02T03:04:05Z"}, "data": {"a": "b"}}));
    fake.add(json!({"kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": "token", "namespace": "shop", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "type": "Opaque", "data": {"password": "c2VjcmV0"}}));
    let resources = [
        "persistentvolumeclaims",
        "persistentvolumes",
        "endpoints",
        "horizontalpodautoscalers",
        "configmaps",
        "secrets",
    ];
    let port = serve(&fake, &resources, &[]).await;
    let body = until(port, "listed", |b| {
        [
            "kube_persistentvolumeclaim_info{",
            "kube_persistentvolume_info{",
            "kube_endpoint_info{",
            "kube_horizontalpodautoscaler_info{",
            "kube_configmap_info{",
            "kube_secret_info{",
        ]
        .iter()
        .all(|f| b.contains(f))
    })
    .await;
    for want in [
        "# HELP kube_persistentvolumeclaim_created Unix creation timestamp",
        "# HELP kube_endpoint_ports [STABLE] (Deprecated since v2.14.0) Information about the Endpoint ports.",
        "# HELP kube_horizontalpodautoscaler_info Information about this autoscaler.",
        "# HELP kube_secret_created [STABLE] Unix creation timestamp",
        r#"kube_persistentvolumeclaim_created{namespace="shop",persistentvolumeclaim="data-db-0"} 1.735787045e+09"#,
        r#"kube_persistentvolumeclaim_info{namespace="shop",persistentvolumeclaim="data-db-0",storageclass="standard",volumemode="Filesystem",volumename="pv-1"} 1"#,
        r#"kube_persistentvolumeclaim_status_phase{namespace="shop",persistentvolumeclaim="data-db-0",phase="Pending"} 1"#,
        r#"kube_persistentvolumeclaim_status_phase{namespace="shop",persistentvolumeclaim="data-db-0",phase="Bound"} 0"#,
        r#"kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace="shop",persistentvolumeclaim="data-db-0"} 1.073741824e+10"#,
        r#"kube_persistentvolumeclaim_access_mode{access_mode="ReadWriteOnce",namespace="shop",persistentvolumeclaim="data-db-0"} 1"#,
        r#"kube_persistentvolume_info{azure_disk_name="",csi_driver="",csi_volume_handle="",ebs_volume_id="",fc_lun="",fc_target_wwns="",fc_wwids="",gce_persistent_disk_name="",host_path="",host_path_type="",iscsi_initiator_name="",iscsi_iqn="",iscsi_lun="",iscsi_target_portal="",local_fs="",local_path="",nfs_path="/export",nfs_server="nfs.example",persistentvolume="pv-1",reclaim_policy="Delete",storageclass="standard"} 1"#,
        r#"kube_persistentvolume_capacity_bytes{persistentvolume="pv-1"} 1.073741824e+10"#,
        r#"kube_persistentvolume_status_phase{persistentvolume="pv-1",phase="Bound"} 1"#,
        r#"kube_persistentvolume_status_phase{persistentvolume="pv-1",phase="Released"} 0"#,
        r#"kube_persistentvolume_volume_mode{persistentvolume="pv-1",volumemode="Filesystem"} 1"#,
        r#"kube_persistentvolume_access_mode{access_mode="ReadOnlyMany",persistentvolume="pv-1"} 1"#,
        r#"kube_persistentvolume_created{persistentvolume="pv-1"} 1.735787045e+09"#,
        r#"kube_endpoint_info{endpoint="web",namespace="shop"} 1"#,
        r#"kube_endpoint_created{endpoint="web",namespace="shop"} 1.735787045e+09"#,
        r#"kube_endpoint_address{endpoint="web",ip="10.1.0.5",namespace="shop",port_name="http",port_number="8080",port_protocol="TCP",ready="true"} 1"#,
        r#"kube_endpoint_address{endpoint="web",ip="10.1.0.6",namespace="shop",port_name="http",port_number="8080",port_protocol="TCP",ready="false"} 1"#,
        r#"kube_endpoint_ports{endpoint="web",namespace="shop",port_name="http",port_number="8080",port_protocol="TCP"} 1"#,
        r#"kube_horizontalpodautoscaler_info{horizontalpodautoscaler="web",namespace="shop",scaletargetref_api_version="apps/v1",scaletargetref_kind="Deployment",scaletargetref_name="web"} 1"#,
        r#"kube_horizontalpodautoscaler_metadata_generation{horizontalpodautoscaler="web",namespace="shop"} 2"#,
        r#"kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="web",namespace="shop"} 10"#,
        r#"kube_horizontalpodautoscaler_spec_min_replicas{horizontalpodautoscaler="web",namespace="shop"} 1"#,
        r#"kube_horizontalpodautoscaler_status_current_replicas{horizontalpodautoscaler="web",namespace="shop"} 3"#,
        r#"kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler="web",namespace="shop"} 4"#,
        r#"kube_horizontalpodautoscaler_status_condition{condition="AbleToScale",horizontalpodautoscaler="web",namespace="shop",status="true"} 1"#,
        r#"kube_horizontalpodautoscaler_status_condition{condition="ScalingLimited",horizontalpodautoscaler="web",namespace="shop",status="false"} 1"#,
        r#"kube_horizontalpodautoscaler_status_condition{condition="ScalingLimited",horizontalpodautoscaler="web",namespace="shop",status="unknown"} 0"#,
        r#"kube_configmap_info{configmap="settings",namespace="shop"} 1"#,
        r#"kube_configmap_created{configmap="settings",namespace="shop"} 1.735787045e+09"#,
        r#"kube_secret_info{namespace="shop",secret="token"} 1"#,
        r#"kube_secret_type{namespace="shop",secret="token",type="Opaque"} 1"#,
        r#"kube_secret_created{namespace="shop",secret="token"} 1.735787045e+09"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // Metadata only: no data value leaks.
    assert!(
        !body.contains("c2VjcmV0") && !body.contains("password"),
        "{body}"
    );
    // Modified, deleted (a cluster-wide kind and a namespaced one).
    fake.modify(claim("Bound"));
    until(port, "claim bound", |b| {
        b.contains(r#"kube_persistentvolumeclaim_status_phase{namespace="shop",persistentvolumeclaim="data-db-0",phase="Bound"} 1"#)
    })
    .await;
    fake.delete(
        json!({"kind": "PersistentVolume", "apiVersion": "v1", "metadata": {"name": "pv-1"}}),
    );
    fake.delete(json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "token", "namespace": "shop"}}));
    until(port, "volume and secret deleted", |b| {
        !b.contains(r#"persistentvolume="pv-1""#) && !b.contains(r#"secret="token""#)
    })
    .await;
}

fn pod_with_states(waiting: bool) -> Value {
    let sidecar_state = if waiting {
        json!({"waiting": {"reason": "CrashLoopBackOff"}})
    } else {
        json!({"running": {"startedAt": "2025-01-02T03:06:00Z"}})
    };
    json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "api-0", "namespace": "shop", "uid": "u-api", "creationTimestamp": "2025-01-02T03:04:05Z"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "proxy:2"}]},
        "status": {"phase": "Running", "startTime": "2025-01-02T03:05:00Z", "containerStatuses": [
            {"name": "app", "ready": true, "restartCount": 0, "image": "docker.io/library/app:1", "imageID": "sha256:aa",
                "containerID": "containerd://c1", "state": {"running": {"startedAt": "2025-01-02T03:05:10Z"}}},
            {"name": "sidecar", "ready": false, "restartCount": 4, "image": "docker.io/library/proxy:2", "imageID": "sha256:bb",
                "containerID": "containerd://c2", "state": sidecar_state},
            {"name": "done", "ready": false, "restartCount": 0, "image": "busybox", "imageID": "",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_owner_times_container_states() {
    let fake = FakeKube::start().await;
    fake.add(pod_with_states(true));
    let port = serve(&fake, &["pods"], &[]).await;
    let body = until(port, "api-0 listed", |b| b.contains("pod=\"api-0\"")).await;
    for want in [
        "# HELP kube_pod_container_status_waiting_reason [STABLE] Describes the reason the container is currently in waiting state.",
        "# HELP kube_pod_owner [STABLE] Information about the Pod's owner.",
        r#"kube_pod_owner{namespace="shop",owner_is_controller="",owner_kind="",owner_name="",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_created{namespace="shop",pod="api-0",uid="u-api"} 1.735787045e+09"#,
        r#"kube_pod_start_time{namespace="shop",pod="api-0",uid="u-api"} 1.7357871e+09"#,
        r#"kube_pod_container_info{container="app",container_id="containerd://c1",image="docker.io/library/app:1",image_id="sha256:aa",image_spec="app:1",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_info{container="sidecar",container_id="containerd://c2",image="docker.io/library/proxy:2",image_id="sha256:bb",image_spec="proxy:2",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_status_ready{container="app",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_status_ready{container="sidecar",namespace="shop",pod="api-0",uid="u-api"} 0"#,
        r#"kube_pod_container_status_running{container="app",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_status_running{container="sidecar",namespace="shop",pod="api-0",uid="u-api"} 0"#,
        r#"kube_pod_container_status_waiting{container="sidecar",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_status_waiting{container="app",namespace="shop",pod="api-0",uid="u-api"} 0"#,
        r#"kube_pod_container_status_terminated{container="done",namespace="shop",pod="api-0",uid="u-api"} 1"#,
        r#"kube_pod_container_status_terminated{container="app",namespace="shop",pod="api-0",uid="u-api"} 0"#,
        r#"kube_pod_container_status_waiting_reason{container="sidecar",namespace="shop",pod="api-0",reason="CrashLoopBackOff",uid="u-api"} 1"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // A status without a spec container gets no info series; the running container no reason.
    assert!(
        !body.contains(r#"kube_pod_container_info{container="done""#)
            && !body.contains(r#"kube_pod_container_status_waiting_reason{container="app""#),
        "{body}"
    );
    // Modified: the sidecar runs, its waiting reason goes away.
    fake.modify(pod_with_states(false));
    let body = until(port, "sidecar running", |b| {
        b.contains(r#"kube_pod_container_status_running{container="sidecar",namespace="shop",pod="api-0",uid="u-api"} 1"#)
    })
    .await;
    assert!(
        !body.contains("kube_pod_container_status_waiting_reason{"),
        "{body}"
    );
    fake.delete(pod_with_states(false));
    until(port, "api-0 deleted", |b| !b.contains("pod=\"api-0\"")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_and_annotations_allowlists() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Namespace", "apiVersion": "v1",
        "metadata": {"name": "shop", "labels": {"team": "web", "env": "prod"}}, "status": {"phase": "Active"}}));
    fake.add(json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "settings", "namespace": "shop", "labels": {"app.kubernetes.io/name": "web", "tier": "x"},
            "annotations": {"owner": "ops", "note": "n"}}}));
    fake.add(json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
        "spec": {"containers": []}, "status": {}}));
    let mut opts = options(&["namespaces", "configmaps", "pods"], &[]);
    let parse = firewatch_kube_state_exporter::allowlist::parse;
    opts.labels_allowlist = parse("namespaces=[*],configmaps=[app.kubernetes.io/*]").unwrap();
    opts.annotations_allowlist = parse("configmaps=[owner]").unwrap();
    let port = serve_opts(&fake, opts).await;
    let body = until(port, "listed", |b| {
        b.contains("kube_configmap_annotations{")
            && b.contains("kube_namespace_labels{")
            && b.contains("kube_pod_info{")
    })
    .await;
    for want in [
        "# HELP kube_namespace_labels [STABLE] Kubernetes labels converted to Prometheus labels.",
        "# HELP kube_configmap_annotations Kubernetes annotations converted to Prometheus labels.",
        "# TYPE kube_pod_labels gauge",
        r#"kube_namespace_labels{label_env="prod",label_team="web",namespace="shop"} 1"#,
        r#"kube_configmap_labels{configmap="settings",label_app_kubernetes_io_name="web",namespace="shop"} 1"#,
        r#"kube_configmap_annotations{annotation_owner="ops",configmap="settings",namespace="shop"} 1"#,
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
    // Pods are in neither list: the families are declared, without series.
    assert!(
        !body.contains("kube_pod_labels{")
            && !body.contains("kube_pod_annotations{")
            && !body.contains("kube_namespace_annotations{"),
        "{body}"
    );
    // A label change is watched.
    fake.modify(json!({"kind": "Namespace", "apiVersion": "v1",
        "metadata": {"name": "shop", "labels": {"team": "api"}}, "status": {"phase": "Active"}}));
    until(port, "namespace relabelled", |b| {
        b.lines()
            .any(|l| l == r#"kube_namespace_labels{label_team="api",namespace="shop"} 1"#)
    })
    .await;
}
