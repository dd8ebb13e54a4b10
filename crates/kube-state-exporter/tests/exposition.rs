//! The whole exposition for one object of each of the sixteen kinds, served from the
//! in-process fake Kubernetes API, compared line by line with `tests/exposition/all.txt`, a
//! regression file of our own output whose parts are checked elsewhere against
//! kube-state-metrics: series values, labels and help texts by its own store test cases
//! (`tests/ksm_cases.rs`); here, what those cases cannot show: stores in resource-name
//! order, families in each store's generator order (`src/order.rs`), each series' labels in
//! kube-state-metrics' order, OpenMetrics as the same lines plus `# EOF`, and the
//! `?resources=` / `?exclude_resources=` filters.

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code, missing_docs)]
mod fake_kube;

use std::time::Duration;

use fake_kube::FakeKube;
use firewatch_kube_state_exporter::{Options, allowlist, router};
use serde_json::json;

const T: &str = "2025-01-02T03:04:05Z";

fn objects(fake: &FakeKube) {
    fake.add(json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "u-pod", "creationTimestamp": T,
            "deletionTimestamp": "2025-01-02T04:00:00Z",
            "labels": {"app": "web"}, "annotations": {"team": "shop"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "s1", "controller": true}]},
        "spec": {"nodeName": "node-1", "priorityClassName": "high", "restartPolicy": "Always",
            "serviceAccountName": "web-sa", "schedulerName": "default-scheduler", "runtimeClassName": "gvisor",
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0", "readOnly": true}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
                {"name": "config", "configMap": {"name": "settings"}}],
            "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "gpu-template"}, {"name": "fpga", "resourceClaimName": "fpga-0"}],
            "initContainers": [{"name": "init", "image": "busybox:1",
                "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "32Mi"}}}],
            "containers": [{"name": "nginx", "image": "nginx:1.27",
                "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}]},
        "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.5", "qosClass": "Burstable",
            "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}],
            "resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "web-0-gpu-x7k2"}],
            "startTime": "2025-01-02T03:05:00Z",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-02T03:04:06Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2025-01-02T03:04:30Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2025-01-02T03:05:10Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-02T03:05:11Z"}],
            "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 1, "image": "docker.io/library/busybox:1",
                "imageID": "sha256:ii", "containerID": "containerd://i1",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2025-01-02T03:04:20Z", "finishedAt": "2025-01-02T03:04:29Z"}}}],
            "containerStatuses": [{"name": "nginx", "ready": true, "restartCount": 2, "started": true,
                "image": "docker.io/library/nginx:1.27", "imageID": "sha256:aa", "containerID": "containerd://c1",
                "state": {"running": {"startedAt": "2025-01-02T03:05:10Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2025-01-02T03:05:05Z"}}}]}}));
    fake.add(json!({"kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "api", "namespace": "shop", "generation": 3, "creationTimestamp": T},
        "spec": {"replicas": 3, "paused": false, "selector": {}, "template": {},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}},
        "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1, "updatedReplicas": 3,
            "observedGeneration": 3, "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}}));
    fake.add(json!({"kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": "api-5d4f", "namespace": "shop", "generation": 2, "creationTimestamp": T,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 3, "selector": {}},
        "status": {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "observedGeneration": 2}}));
    fake.add(json!({"kind": "DaemonSet", "apiVersion": "apps/v1",
        "metadata": {"name": "agent", "namespace": "kube-system", "generation": 4, "creationTimestamp": T},
        "spec": {"selector": {}, "template": {}},
        "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 4, "numberAvailable": 2, "numberMisscheduled": 1,
            "numberReady": 2, "numberUnavailable": 2, "observedGeneration": 3, "updatedNumberScheduled": 3}}));
    fake.add(json!({"kind": "StatefulSet", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "shop", "generation": 5, "creationTimestamp": T},
        "spec": {"replicas": 3, "ordinals": {"start": 1}, "selector": {}, "template": {}, "serviceName": "web",
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"}},
        "status": {"replicas": 3, "availableReplicas": 2, "currentReplicas": 3, "readyReplicas": 2, "updatedReplicas": 1,
            "observedGeneration": 4, "currentRevision": "web-7c9", "updateRevision": "web-8d1"}}));
    fake.add(json!({"kind": "Job", "apiVersion": "batch/v1",
        "metadata": {"name": "backup-29000", "namespace": "ops", "creationTimestamp": T,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "c1", "controller": true}]},
        "spec": {"parallelism": 1, "completions": 1, "activeDeadlineSeconds": 600, "suspend": false, "template": {}},
        "status": {"active": 1, "ready": 1, "succeeded": 0, "failed": 0, "startTime": "2025-01-02T03:05:00Z"}}));
    fake.add(json!({"kind": "CronJob", "apiVersion": "batch/v1",
        "metadata": {"name": "backup", "namespace": "ops", "resourceVersion": "4242", "creationTimestamp": T},
        "spec": {"schedule": "0 3 * * *", "timeZone": "UTC", "concurrencyPolicy": "Forbid", "suspend": false, "startingDeadlineSeconds": 30,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, "jobTemplate": {}},
        "status": {"active": [{"name": "backup-29000", "namespace": "ops"}], "lastScheduleTime": "2025-01-02T03:05:00Z",
            "lastSuccessfulTime": "2025-01-01T03:06:00Z"}}));
    fake.add(json!({"kind": "Node", "apiVersion": "v1",
        "metadata": {"name": "node-1", "creationTimestamp": T,
            "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24", "fd00::/64"], "providerID": "kind://node-1", "unschedulable": true,
            "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node-1"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "3500m", "memory": "7Gi", "pods": "110"},
            "nodeInfo": {"kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12", "containerRuntimeVersion": "containerd://1.7.0",
                "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0", "systemUUID": "abc", "machineID": "m", "bootID": "b",
                "operatingSystem": "linux", "architecture": "amd64"}}}));
    fake.add(json!({"kind": "PersistentVolume", "apiVersion": "v1",
        "metadata": {"name": "pv-1", "creationTimestamp": T},
        "spec": {"storageClassName": "standard", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem", "persistentVolumeReclaimPolicy": "Delete", "nfs": {"server": "nfs.example", "path": "/export"},
            "claimRef": {"name": "data-web-0", "namespace": "shop"}},
        "status": {"phase": "Bound"}}));
    fake.add(json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": "data-web-0", "namespace": "shop", "creationTimestamp": T},
        "spec": {"storageClassName": "standard", "volumeName": "pv-1", "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Bound", "conditions": [{"type": "Resizing", "status": "True"}]}}));
    fake.add(json!({"kind": "Service", "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-svc", "creationTimestamp": T},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "externalIPs": ["192.0.2.1"],
            "loadBalancerIP": "203.0.113.9", "externalTrafficPolicy": "Local"},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9", "hostname": "lb.example"}]}}}));
    fake.add(json!({"kind": "Endpoints", "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": T},
        "subsets": [{"addresses": [{"ip": "10.1.0.5"}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}));
    fake.add(json!({"kind": "Namespace", "apiVersion": "v1",
        "metadata": {"name": "shop", "creationTimestamp": T},
        "status": {"phase": "Active", "conditions": [{"type": "NamespaceDeletionContentFailure", "status": "False"}]}}));
    fake.add(json!({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
        "metadata": {"name": "api", "namespace": "shop", "generation": 2, "creationTimestamp": T},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
        "status": {"currentReplicas": 3, "desiredReplicas": 4,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 95, "averageValue": "450m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True"}]}}));
    fake.add(json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "settings", "namespace": "shop", "resourceVersion": "1001", "creationTimestamp": T}, "data": {"a": "b"}}));
    fake.add(json!({"kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": "token", "namespace": "shop", "resourceVersion": "1002", "creationTimestamp": T,
            "ownerReferences": [{"apiVersion": "v1", "kind": "ServiceAccount", "name": "web-sa", "uid": "sa1"}]},
        "type": "Opaque", "data": {"password": "c2VjcmV0"}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_object_of_each_kind_whole_exposition() {
    let fake = FakeKube::start().await;
    objects(&fake);
    let resources: Vec<String> = firewatch_kube_state_exporter::server::RESOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let opts = Options {
        listen_address: String::new(),
        namespaces: Vec::new(),
        resources,
        web_config: None,
        labels_allowlist: allowlist::parse("pods=[app]").unwrap(),
        annotations_allowlist: allowlist::parse("pods=[team]").unwrap(),
        opt_in: Vec::new(),
    };
    let config = kube::Config::new(fake.url.parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let app = router(&client, &opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let scrape = || async move {
        tokio::task::spawn_blocking(move || testkit::get_ok(port, "/metrics").unwrap_or_default())
            .await
            .unwrap()
    };
    let mut body = String::new();
    for _ in 0..200 {
        body = scrape().await;
        let kinds = [
            "kube_pod_info{",
            "kube_deployment_created{",
            "kube_replicaset_created{",
            "kube_daemonset_created{",
            "kube_statefulset_created{",
            "kube_job_created{",
            "kube_cronjob_created{",
            "kube_node_info{",
            "kube_persistentvolume_info{",
            "kube_persistentvolumeclaim_info{",
            "kube_service_info{",
            "kube_endpoint_info{",
            "kube_namespace_created{",
            "kube_horizontalpodautoscaler_info{",
            "kube_configmap_info{",
            "kube_secret_info{",
        ];
        if kinds.iter().all(|k| body.contains(k)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if std::env::var_os("DUMP").is_some() {
        eprintln!("=====\n{body}=====");
    }
    let want = include_str!("exposition/all.txt");
    for (i, (g, w)) in body.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(body.lines().count(), want.lines().count(), "{body}");

    let get = |path: &'static str, accept: &'static str| async move {
        tokio::task::spawn_blocking(move || get_accept(port, path, accept))
            .await
            .unwrap()
    };
    // OpenMetrics: the same lines (counters keep `_total` in `# TYPE`), then `# EOF`.
    let om = get("/metrics", "application/openmetrics-text;version=1.0.0").await;
    assert_eq!(om, format!("{want}# EOF\n"));
    // Only the stores asked for, in the same order; a store left out writes no headers.
    let some = get(
        "/metrics?resources=pods,nodes&exclude_resources=nodes",
        "text/plain",
    )
    .await;
    let pods: String = want
        .lines()
        .filter(|l| l.contains(" kube_pod_") || l.starts_with("kube_pod_"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!pods.is_empty());
    assert_eq!(some, pods);
}

/// The body of `GET path` with this `Accept` header.
fn get_accept(port: u16, path: &str, accept: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("chunked"), "{head}");
    body.to_owned()
}
