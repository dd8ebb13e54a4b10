//! Kubernetes SD against an in-process fake API server on 127.0.0.1: list + watch for every
//! role, with targets and `__meta_kubernetes_*` labels following add / modify / delete.

// Object builders take JSON values by value so call sites can write `json!(...)` inline.
#![allow(clippy::needless_pass_by_value)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::View;
use common::fake_kube::FakeKube;
use firewatch_discovery::kubernetes::{
    KubernetesDiscovery, KubernetesSdConfig, Role, SelectorConfig,
};
use firewatch_discovery::{Discoverer, Manager, ManagerOptions, SdConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn node(name: &str, ip: &str, labels: Value) -> Value {
    json!({
        "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"providerID": format!("fake://{name}")},
        "status": {
            "addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]
        }
    })
}

fn pod(ns: &str, name: &str, ip: &str, node: &str, annotations: Value) -> Value {
    json!({
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "labels": {"app.kubernetes.io/name": "web", "tier": "frontend"},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f",
                                 "uid": "rs-uid", "controller": true}]
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {"name": "app", "image": "web:1.0", "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "proxy:2"}
            ],
            "initContainers": [{"name": "init", "image": "busybox"}]
        },
        "status": {
            "phase": "Running", "podIP": ip, "hostIP": "192.168.1.10",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "app", "containerID": "containerd://abc", "image": "web:1.0", "imageID": "",
                 "ready": true, "restartCount": 0},
                {"name": "sidecar", "containerID": "containerd://def", "image": "proxy:2", "imageID": "",
                 "ready": true, "restartCount": 0}
            ]
        }
    })
}

fn service(ns: &str, name: &str) -> Value {
    json!({
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name},
                     "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                           {"name": "metrics", "port": 9090, "protocol": "TCP"}]}
    })
}

async fn start(opts: KubernetesSdConfig) -> (View, CancellationToken, tokio::task::JoinHandle<()>) {
    let d = KubernetesDiscovery::new(opts).unwrap();
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));
    (View::new(rx), cancel, task)
}

fn options(fake: &FakeKube, role: Role) -> KubernetesSdConfig {
    let mut o = KubernetesSdConfig::new(role);
    o.api_server = Some(config::Url::parse(&fake.url).unwrap());
    o
}

async fn stop(cancel: CancellationToken, task: tokio::task::JoinHandle<()>) {
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("discoverer stops")
        .unwrap();
}

#[tokio::test]
async fn pod_role_through_the_manager_with_node_metadata() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(node(
        "node-1",
        "192.168.1.10",
        json!({"topology.kubernetes.io/zone": "z1"}),
    ));
    fake.add(pod(
        "default",
        "web-1",
        "10.0.0.5",
        "node-1",
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}),
    ));

    let mut o = options(&fake, Role::Pod);
    o.attach_metadata.node = true;
    let (mgr, mut rx) = Manager::new(ManagerOptions {
        name: "scrape".into(),
        update_interval: Duration::from_millis(50),
    });
    mgr.apply_config(&HashMap::from([(
        "kubernetes-pods".to_owned(),
        vec![SdConfig::Kubernetes(o)],
    )]));
    let sets = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let m = rx.recv().await.unwrap();
            if m.get("kubernetes-pods").is_some_and(|g| !g.is_empty()) {
                return m;
            }
        }
    })
    .await
    .expect("pod targets within 5 s");
    let groups = &sets["kubernetes-pods"];
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.source, "pod/default/web-1");
    let l = &g.labels;
    let expect = [
        ("__meta_kubernetes_namespace", "default"),
        ("__meta_kubernetes_pod_name", "web-1"),
        ("__meta_kubernetes_pod_ip", "10.0.0.5"),
        ("__meta_kubernetes_pod_ready", "true"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_node_name", "node-1"),
        ("__meta_kubernetes_pod_host_ip", "192.168.1.10"),
        ("__meta_kubernetes_pod_uid", "uid-web-1"),
        ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
        ("__meta_kubernetes_pod_controller_name", "web-5d4f"),
        ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"),
        (
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_port",
            "9090",
        ),
        ("__meta_kubernetes_node_name", "node-1"),
        (
            "__meta_kubernetes_node_label_topology_kubernetes_io_zone",
            "z1",
        ),
        (
            "__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone",
            "true",
        ),
    ];
    for (k, v) in expect {
        assert_eq!(l.get(k).map(String::as_str), Some(v), "label {k} in {l:#?}");
    }
    let mut addrs = g.addresses();
    addrs.sort_unstable();
    assert_eq!(
        addrs,
        ["10.0.0.5", "10.0.0.5", "10.0.0.5:8080", "10.0.0.5:9090"]
    );
    let metrics = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.5:9090")
        .unwrap();
    assert_eq!(metrics["__meta_kubernetes_pod_container_name"], "app");
    assert_eq!(
        metrics["__meta_kubernetes_pod_container_port_name"],
        "metrics"
    );
    assert_eq!(
        metrics["__meta_kubernetes_pod_container_port_number"],
        "9090"
    );
    assert_eq!(
        metrics["__meta_kubernetes_pod_container_port_protocol"],
        "TCP"
    );
    assert_eq!(metrics["__meta_kubernetes_pod_container_image"], "web:1.0");
    assert_eq!(
        metrics["__meta_kubernetes_pod_container_id"],
        "containerd://abc"
    );
    assert_eq!(metrics["__meta_kubernetes_pod_container_init"], "false");
    let init = g
        .targets
        .iter()
        .find(|t| t["__meta_kubernetes_pod_container_name"] == "init")
        .unwrap();
    assert_eq!(init["__meta_kubernetes_pod_container_init"], "true");
    assert_eq!(init["__address__"], "10.0.0.5");
    drop(mgr);
}

#[tokio::test]
async fn pod_role_follows_add_modify_delete() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(pod(
        "default",
        "web-1",
        "10.0.0.5",
        "node-1",
        json!({"prometheus.io/scrape": "true"}),
    ));
    fake.add(pod("other", "skip-me", "10.0.0.9", "node-1", json!({})));
    let mut o = options(&fake, Role::Pod);
    o.namespaces.names = vec!["default".into()];
    o.selectors = vec![SelectorConfig {
        role: Role::Pod,
        label: "tier=frontend".into(),
        field: String::new(),
    }];
    let (mut view, cancel, task) = start(o).await;

    view.until("initial pod", |g| g.contains_key("pod/default/web-1"))
        .await;
    assert!(
        !view.groups.contains_key("pod/other/skip-me"),
        "namespace filter"
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces/default/pods?")
                && r.contains("labelSelector=tier%3Dfrontend")),
        "label selector and namespace are passed: {:?}",
        fake.requests()
    );

    // Modify: the scrape annotation flips and the pod becomes unready.
    let mut p = pod(
        "default",
        "web-1",
        "10.0.0.5",
        "node-1",
        json!({"prometheus.io/scrape": "false"}),
    );
    p["status"]["conditions"][0]["status"] = json!("False");
    fake.modify(p);
    view.until("annotation change", |g| {
        g.get("pod/default/web-1").is_some_and(|g| {
            g.labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] == "false"
        })
    })
    .await;
    assert_eq!(
        view.group("pod/default/web-1").labels["__meta_kubernetes_pod_ready"],
        "false"
    );

    // A second pod without an IP yet has no targets; when it gets one, it appears.
    let mut pending = pod("default", "web-2", "", "node-1", json!({}));
    pending["status"]["podIP"] = json!(null);
    fake.add(pending);
    fake.modify(pod("default", "web-2", "10.0.0.6", "node-1", json!({})));
    view.until("second pod", |g| g.contains_key("pod/default/web-2"))
        .await;
    assert!(
        view.group("pod/default/web-2")
            .addresses()
            .contains(&"10.0.0.6:8080")
    );

    // Delete: its group is emptied.
    fake.delete(pod("default", "web-1", "10.0.0.5", "node-1", json!({})));
    view.until("pod deleted", |g| !g.contains_key("pod/default/web-1"))
        .await;
    assert!(view.groups.contains_key("pod/default/web-2"));
    stop(cancel, task).await;

    // Every event was counted by role and kind (process-wide, so at least these).
    let registry = metrics::Registry::new();
    firewatch_discovery::register_sd_metrics(&registry);
    let text = registry.encode(metrics::Format::Text);
    for (event, at_least) in [("add", 2.0), ("update", 2.0), ("delete", 1.0)] {
        let series =
            format!("prometheus_sd_kubernetes_events_total{{event=\"{event}\",role=\"pod\"}} ");
        let n: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
            .parse()
            .unwrap();
        assert!(n >= at_least, "{series}{n}");
    }
}

#[tokio::test]
async fn service_role() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(service("default", "web"));
    let (mut view, cancel, task) = start(options(&fake, Role::Service)).await;
    view.until("service", |g| g.contains_key("svc/default/web"))
        .await;
    let g = view.group("svc/default/web");
    assert_eq!(
        g.addresses(),
        ["web.default.svc:80", "web.default.svc:9090"]
    );
    assert_eq!(g.labels["__meta_kubernetes_service_name"], "web");
    assert_eq!(g.labels["__meta_kubernetes_namespace"], "default");
    assert_eq!(g.labels["__meta_kubernetes_service_label_app"], "web");
    assert_eq!(
        g.labels["__meta_kubernetes_service_annotation_prometheus_io_scrape"],
        "true"
    );
    assert_eq!(
        g.labels["__meta_kubernetes_service_annotationpresent_prometheus_io_scrape"],
        "true"
    );
    let t = &g.targets[1];
    assert_eq!(t["__meta_kubernetes_service_port_name"], "metrics");
    assert_eq!(t["__meta_kubernetes_service_port_number"], "9090");
    assert_eq!(t["__meta_kubernetes_service_port_protocol"], "TCP");
    assert_eq!(t["__meta_kubernetes_service_cluster_ip"], "10.96.0.10");
    assert_eq!(t["__meta_kubernetes_service_type"], "ClusterIP");

    let mut lb = service("default", "web");
    lb["spec"]["type"] = json!("LoadBalancer");
    lb["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}});
    fake.modify(lb);
    view.until("lb", |g| {
        g.get("svc/default/web")
            .is_some_and(|g| g.targets[0].contains_key("__meta_kubernetes_service_loadbalancer_ip"))
    })
    .await;
    assert_eq!(
        view.group("svc/default/web").targets[0]["__meta_kubernetes_service_loadbalancer_ip"],
        "203.0.113.7"
    );

    fake.delete(service("default", "web"));
    view.until("service deleted", std::collections::BTreeMap::is_empty)
        .await;
    stop(cancel, task).await;
}

fn endpoints(ns: &str, name: &str, ips: &[(&str, &str)]) -> Value {
    let addrs: Vec<Value> = ips
        .iter()
        .map(|(ip, pod)| {
            json!({"ip": ip, "nodeName": "node-1",
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}})
        })
        .collect();
    json!({
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "subsets": [{"addresses": addrs,
                     "notReadyAddresses": [{"ip": "10.0.0.99"}],
                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    })
}

#[tokio::test]
async fn endpoints_role_joins_services_and_pods() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(service("default", "web"));
    fake.add(pod(
        "default",
        "web-1",
        "10.0.0.5",
        "node-1",
        json!({"prometheus.io/scrape": "true"}),
    ));
    fake.add(endpoints("default", "web", &[("10.0.0.5", "web-1")]));
    let (mut view, cancel, task) = start(options(&fake, Role::Endpoints)).await;
    view.until("endpoints", |g| g.contains_key("endpoints/default/web"))
        .await;
    let g = view.group("endpoints/default/web");
    assert_eq!(g.labels["__meta_kubernetes_endpoints_name"], "web");
    assert_eq!(g.labels["__meta_kubernetes_endpoints_label_app"], "web");
    assert_eq!(g.labels["__meta_kubernetes_service_name"], "web");
    assert_eq!(
        g.labels["__meta_kubernetes_service_annotation_prometheus_io_scrape"],
        "true"
    );
    let ready = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.5:8080")
        .unwrap();
    assert_eq!(ready["__meta_kubernetes_endpoint_ready"], "true");
    assert_eq!(ready["__meta_kubernetes_endpoint_port_name"], "http");
    assert_eq!(ready["__meta_kubernetes_endpoint_port_protocol"], "TCP");
    assert_eq!(ready["__meta_kubernetes_endpoint_node_name"], "node-1");
    assert_eq!(
        ready["__meta_kubernetes_endpoint_address_target_kind"],
        "Pod"
    );
    assert_eq!(
        ready["__meta_kubernetes_endpoint_address_target_name"],
        "web-1"
    );
    assert_eq!(ready["__meta_kubernetes_pod_name"], "web-1");
    assert_eq!(ready["__meta_kubernetes_pod_container_name"], "app");
    assert_eq!(ready["__meta_kubernetes_pod_container_port_number"], "8080");
    assert_eq!(
        ready["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        "true"
    );
    let not_ready = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.99:8080")
        .unwrap();
    assert_eq!(not_ready["__meta_kubernetes_endpoint_ready"], "false");
    // The pod's container port 9090 is not an endpoint port: it becomes an extra target.
    let extra = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.5:9090")
        .unwrap();
    assert_eq!(
        extra["__meta_kubernetes_pod_container_port_name"],
        "metrics"
    );
    assert!(!extra.contains_key("__meta_kubernetes_endpoint_ready"));

    // A pod change re-labels the endpoints' targets.
    fake.modify(pod(
        "default",
        "web-1",
        "10.0.0.5",
        "node-1",
        json!({"prometheus.io/scrape": "false"}),
    ));
    view.until("pod change", |g| {
        g.get("endpoints/default/web").is_some_and(|g| {
            g.targets.iter().any(|t| {
                t.get("__meta_kubernetes_pod_annotation_prometheus_io_scrape")
                    .is_some_and(|v| v == "false")
            })
        })
    })
    .await;
    // A service change too.
    let mut svc = service("default", "web");
    svc["metadata"]["labels"]["team"] = json!("sre");
    fake.modify(svc);
    view.until("service change", |g| {
        g.get("endpoints/default/web").is_some_and(|g| {
            g.labels
                .get("__meta_kubernetes_service_label_team")
                .is_some_and(|v| v == "sre")
        })
    })
    .await;
    // Address set changes, then the object goes away.
    fake.modify(endpoints(
        "default",
        "web",
        &[("10.0.0.5", "web-1"), ("10.0.0.6", "web-2")],
    ));
    view.until("new address", |g| {
        g.get("endpoints/default/web")
            .is_some_and(|g| g.addresses().contains(&"10.0.0.6:8080"))
    })
    .await;
    fake.delete(endpoints("default", "web", &[]));
    view.until("endpoints deleted", std::collections::BTreeMap::is_empty)
        .await;
    stop(cancel, task).await;
}

fn slice(ns: &str, name: &str, svc: &str, ips: &[(&str, &str)]) -> Value {
    let eps: Vec<Value> = ips
        .iter()
        .map(|(ip, pod)| json!({"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false},
            "hostname": pod, "nodeName": "node-1", "zone": "z1",
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}}))
        .collect();
    json!({
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "endpoints": eps,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    })
}

#[tokio::test]
async fn endpointslice_role() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(service("default", "web"));
    fake.add(pod("default", "web-1", "10.0.0.5", "node-1", json!({})));
    fake.add(slice("default", "web-abc", "web", &[("10.0.0.5", "web-1")]));
    let (mut view, cancel, task) = start(options(&fake, Role::EndpointSlice)).await;
    view.until("slice", |g| g.contains_key("endpointslice/default/web-abc"))
        .await;
    let g = view.group("endpointslice/default/web-abc");
    assert_eq!(g.labels["__meta_kubernetes_endpointslice_name"], "web-abc");
    assert_eq!(
        g.labels["__meta_kubernetes_endpointslice_address_type"],
        "IPv4"
    );
    assert_eq!(
        g.labels["__meta_kubernetes_endpointslice_label_kubernetes_io_service_name"],
        "web"
    );
    assert_eq!(g.labels["__meta_kubernetes_service_name"], "web");
    let t = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.5:8080")
        .unwrap();
    let expect = [
        ("__meta_kubernetes_endpointslice_port", "8080"),
        ("__meta_kubernetes_endpointslice_port_name", "http"),
        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
        ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
            "true",
        ),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
            "true",
        ),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
            "false",
        ),
        ("__meta_kubernetes_endpointslice_endpoint_hostname", "web-1"),
        (
            "__meta_kubernetes_endpointslice_endpoint_node_name",
            "node-1",
        ),
        ("__meta_kubernetes_endpointslice_endpoint_zone", "z1"),
        ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
        (
            "__meta_kubernetes_endpointslice_address_target_name",
            "web-1",
        ),
        ("__meta_kubernetes_pod_name", "web-1"),
        ("__meta_kubernetes_pod_container_name", "app"),
    ];
    for (k, v) in expect {
        assert_eq!(t.get(k).map(String::as_str), Some(v), "label {k} in {t:#?}");
    }
    fake.modify(slice("default", "web-abc", "web", &[("10.0.0.7", "web-3")]));
    view.until("slice modified", |g| {
        g.get("endpointslice/default/web-abc")
            .is_some_and(|g| g.addresses() == ["10.0.0.7:8080"])
    })
    .await;
    fake.delete(slice("default", "web-abc", "web", &[]));
    view.until("slice deleted", std::collections::BTreeMap::is_empty)
        .await;
    stop(cancel, task).await;
}

#[tokio::test]
async fn node_role() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(node(
        "node-1",
        "192.168.1.10",
        json!({"kubernetes.io/os": "linux"}),
    ));
    let (mut view, cancel, task) = start(options(&fake, Role::Node)).await;
    view.until("node", |g| g.contains_key("node/node-1")).await;
    let g = view.group("node/node-1");
    assert_eq!(g.labels["__meta_kubernetes_node_name"], "node-1");
    assert_eq!(
        g.labels["__meta_kubernetes_node_provider_id"],
        "fake://node-1"
    );
    assert_eq!(
        g.labels["__meta_kubernetes_node_label_kubernetes_io_os"],
        "linux"
    );
    assert_eq!(
        g.labels["__meta_kubernetes_node_labelpresent_kubernetes_io_os"],
        "true"
    );
    assert_eq!(
        g.labels["__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl"],
        "0"
    );
    assert_eq!(g.labels["__meta_kubernetes_node_condition_ready"], "true");
    assert_eq!(
        g.labels["__meta_kubernetes_node_condition_memorypressure"],
        "false"
    );
    let t = &g.targets[0];
    assert_eq!(t["__address__"], "192.168.1.10:10250");
    assert_eq!(t["instance"], "node-1");
    assert_eq!(
        t["__meta_kubernetes_node_address_InternalIP"],
        "192.168.1.10"
    );
    assert_eq!(t["__meta_kubernetes_node_address_Hostname"], "node-1");

    fake.add(node("node-2", "192.168.1.11", json!({})));
    view.until("second node", |g| g.len() == 2).await;
    fake.modify(node(
        "node-1",
        "192.168.1.20",
        json!({"kubernetes.io/os": "linux"}),
    ));
    view.until("address change", |g| {
        g.get("node/node-1")
            .is_some_and(|g| g.addresses() == ["192.168.1.20:10250"])
    })
    .await;
    fake.delete(node("node-2", "192.168.1.11", json!({})));
    view.until("node deleted", |g| g.len() == 1).await;
    stop(cancel, task).await;
}

#[tokio::test]
async fn ingress_role() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(json!({
        "kind": "Ingress",
        "metadata": {"name": "site", "namespace": "web", "labels": {"app": "site"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["*.example.com"]}],
            "rules": [
                {"host": "www.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "site", "port": {"number": 80}}}},
                    {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}},
                {"host": "plain.example.org"}
            ]
        }
    }));
    let (mut view, cancel, task) = start(options(&fake, Role::Ingress)).await;
    view.until("ingress", |g| g.contains_key("ingress/web/site"))
        .await;
    let g = view.group("ingress/web/site");
    assert_eq!(g.labels["__meta_kubernetes_ingress_name"], "site");
    assert_eq!(g.labels["__meta_kubernetes_ingress_class_name"], "nginx");
    assert_eq!(g.labels["__meta_kubernetes_ingress_label_app"], "site");
    let got: Vec<(&str, &str, &str)> = g
        .targets
        .iter()
        .map(|t| {
            (
                t["__address__"].as_str(),
                t["__meta_kubernetes_ingress_scheme"].as_str(),
                t["__meta_kubernetes_ingress_path"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("www.example.com", "https", "/"),
            ("www.example.com", "https", "/api"),
            ("plain.example.org", "http", "/")
        ]
    );
    stop(cancel, task).await;
}

#[tokio::test]
async fn relist_after_expired_watch_drops_vanished_objects() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(service("default", "web"));
    fake.add(service("default", "api"));
    let (mut view, cancel, task) = start(options(&fake, Role::Service)).await;
    view.until("both services", |g| g.len() == 2).await;

    // Once the watch is open, the deletion's event is lost; the watch then expires (410 Gone)
    // and the client relists.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !fake.requests().iter().any(|r| r.contains("watch=true")) {
        assert!(std::time::Instant::now() < deadline, "no watch request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fake.delete_silently(&service("default", "api"));
    fake.expire_watches();
    view.until("vanished service dropped after relist", |g| {
        g.len() == 1 && g.contains_key("svc/default/web")
    })
    .await;
    // Watching goes on after the relist.
    fake.add(service("default", "db"));
    view.until("new service after relist", |g| {
        g.contains_key("svc/default/db")
    })
    .await;
    stop(cancel, task).await;
}

#[tokio::test]
async fn kubeconfig_file_and_api_server_credentials() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(node("node-1", "192.168.1.10", json!({})));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n\
             current-context: fake\nusers:\n- name: tester\n  user:\n    token: from-kubeconfig\n",
            fake.url
        ),
    )
    .unwrap();
    let mut o = KubernetesSdConfig::new(Role::Node);
    o.kubeconfig_file = kubeconfig.display().to_string();
    let (mut view, cancel, task) = start(o).await;
    view.until("node via kubeconfig", |g| g.contains_key("node/node-1"))
        .await;
    stop(cancel, task).await;
    assert!(
        fake.auth_headers()
            .iter()
            .any(|h| h == "Bearer from-kubeconfig"),
        "kubeconfig token sent: {:?}",
        fake.auth_headers()
    );

    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "from-file\n").unwrap();
    let mut o = options(&fake, Role::Node);
    o.bearer_token_file = token_file.display().to_string();
    let (mut view, cancel, task) = start(o).await;
    view.until("node via api_server", |g| g.contains_key("node/node-1"))
        .await;
    stop(cancel, task).await;
    assert!(
        fake.auth_headers().iter().any(|h| h == "Bearer from-file"),
        "{:?}",
        fake.auth_headers()
    );

    // A kubeconfig that does not exist is refused up front.
    let mut bad = KubernetesSdConfig::new(Role::Node);
    bad.kubeconfig_file = dir.path().join("missing").display().to_string();
    assert!(KubernetesDiscovery::new(bad).is_err());
}

#[tokio::test]
async fn endpoints_attach_node_metadata() {
    firewatch_discovery::ensure_crypto_provider();
    let fake = FakeKube::start().await;
    fake.add(node("node-1", "192.168.1.10", json!({"rack": "r1"})));
    fake.add(endpoints("default", "web", &[("10.0.0.5", "web-1")]));
    let mut o = options(&fake, Role::Endpoints);
    o.attach_metadata.node = true;
    let (mut view, cancel, task) = start(o).await;
    view.until("endpoints with node labels", |g| {
        g.get("endpoints/default/web").is_some_and(|g| {
            g.targets
                .iter()
                .any(|t| t.contains_key("__meta_kubernetes_node_label_rack"))
        })
    })
    .await;
    let g = view.group("endpoints/default/web");
    let t = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.5:8080")
        .unwrap();
    assert_eq!(t["__meta_kubernetes_node_name"], "node-1");
    assert_eq!(t["__meta_kubernetes_node_label_rack"], "r1");
    // The not-ready address has no node name: no node labels.
    let nr = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.99:8080")
        .unwrap();
    assert!(!nr.contains_key("__meta_kubernetes_node_name"));

    // A node change re-labels the endpoints' targets.
    fake.modify(node("node-1", "192.168.1.10", json!({"rack": "r2"})));
    view.until("node relabel", |g| {
        g.get("endpoints/default/web").is_some_and(|g| {
            g.targets.iter().any(|t| {
                t.get("__meta_kubernetes_node_label_rack")
                    .is_some_and(|v| v == "r2")
            })
        })
    })
    .await;
    stop(cancel, task).await;
}
