//! Watching through the Kubernetes API: against the in-process fake API server used by
//! discovery's tests, created, changed and deleted monitors and rules change the generated
//! scrape configurations and rule files within seconds; invalid objects are skipped; a
//! 410 Gone ends the watch and the relist keeps the state.

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code)]
mod fake_kube;

use std::time::Duration;

use fake_kube::FakeKube;
use firewatch_operator::watch::run;
use firewatch_operator::{Generated, OperatorSelection, Sharding};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn jobs(g: &Generated) -> Vec<String> {
    g.scrape_configs
        .iter()
        .map(|c| c["job_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_for(
    rx: &mut watch::Receiver<Generated>,
    what: &str,
    ok: impl Fn(&Generated) -> bool,
) -> Generated {
    let res = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if ok(&rx.borrow_and_update()) {
                return rx.borrow().clone();
            }
            rx.changed().await.unwrap();
        }
    })
    .await;
    res.unwrap_or_else(|_| panic!("{what}: last {:?}", jobs(&rx.borrow())))
}

fn sm(ns: &str, name: &str, release: &str, port: &str) -> Value {
    json!({"kind": "ServiceMonitor", "metadata": {"name": name, "namespace": ns, "labels": {"release": release}},
           "spec": {"selector": {"matchLabels": {"app": name}}, "endpoints": [{"port": port}]}})
}

#[tokio::test]
async fn objects_created_changed_and_deleted_change_the_generated_configs() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "monitoring", "labels": {"team": "platform"}}}));
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "web"}}}));
    fake.add(sm("shop", "web", "fw", "http"));
    fake.add(sm("shop", "ignored", "other", "http"));

    let selection: OperatorSelection = serde_json::from_value(json!({
        "namespace": "monitoring",
        "serviceMonitorSelector": {"matchLabels": {"release": "fw"}},
        "serviceMonitorNamespaceSelector": {},
        "podMonitorSelector": {},
        "ruleSelector": {},
        "ruleNamespaceSelector": {"matchLabels": {"team": "web"}},
    }))
    .unwrap();
    let client = kube::Client::try_from(kube::Config::new(fake.url.parse().unwrap())).unwrap();
    let (tx, mut rx) = watch::channel(Generated::default());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(
        client,
        selection,
        Sharding {
            shards: 1,
            shard: Some(0),
        },
        tx,
        cancel.clone(),
    ));

    // The initial listing: only the selected monitor.
    wait_for(&mut rx, "initial", |g| {
        jobs(g) == ["serviceMonitor/shop/web/0"]
    })
    .await;

    // Created: a PodMonitor in the own namespace (null podMonitorNamespaceSelector).
    fake.add(
        json!({"kind": "PodMonitor", "metadata": {"name": "self", "namespace": "monitoring"},
        "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "metrics"}]}}),
    );
    wait_for(&mut rx, "pod monitor added", |g| {
        jobs(g) == ["serviceMonitor/shop/web/0", "podMonitor/monitoring/self/0"]
    })
    .await;

    // Changed: the ServiceMonitor's endpoint port.
    fake.modify(sm("shop", "web", "fw", "web-metrics"));
    let g = wait_for(&mut rx, "port changed", |g| {
        g.scrape_configs
            .iter()
            .any(|c| c.to_string().contains("web-metrics"))
    })
    .await;
    assert_eq!(jobs(&g).len(), 2);

    // A PrometheusRule in a selected namespace, one in the own (unselected) namespace, and an
    // invalid one: the valid one is loaded, the invalid one rejected by name.
    fake.add(json!({"kind": "PrometheusRule", "metadata": {"name": "r", "namespace": "shop", "uid": "u1"},
        "spec": {"groups": [{"name": "g", "rules": [{"record": "x:up", "expr": "sum(up)"}]}]}}));
    fake.add(json!({"kind": "PrometheusRule", "metadata": {"name": "own", "namespace": "monitoring", "uid": "u2"},
        "spec": {"groups": [{"name": "g", "rules": [{"record": "y", "expr": "1"}]}]}}));
    fake.add(json!({"kind": "PrometheusRule", "metadata": {"name": "bad", "namespace": "shop", "uid": "u3"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum("}]}]}}));
    let g = wait_for(&mut rx, "rules", |g| {
        g.rules.files.len() + g.rules.rejected.len() == 2
    })
    .await;
    assert_eq!(g.rules.files.keys().collect::<Vec<_>>(), ["shop-r-u1.yaml"]);
    assert_eq!(g.rules.rejected[0].0, "shop/bad");

    // An undecodable monitor (endpoints not a list) is skipped; the others stay.
    fake.add(json!({"kind": "ServiceMonitor", "metadata": {"name": "broken", "namespace": "shop", "labels": {"release": "fw"}},
        "spec": {"endpoints": "nope"}}));
    // 410 Gone: the watches end and relist; then a deletion is still seen.
    fake.expire_watches();
    fake.delete(
        json!({"kind": "PodMonitor", "metadata": {"name": "self", "namespace": "monitoring"}}),
    );
    wait_for(&mut rx, "pod monitor deleted", |g| {
        jobs(g) == ["serviceMonitor/shop/web/0"]
    })
    .await;

    // The expiry made every kind list again.
    let lists = fake
        .requests()
        .iter()
        .filter(|r| {
            r.starts_with("/apis/monitoring.coreos.com/v1/podmonitors?")
                && !r.contains("watch=true")
        })
        .count();
    assert!(lists >= 2, "{:?}", fake.requests());

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn referenced_secrets_and_config_maps_are_read_through_the_api() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "shop"}}));
    fake.add(
        json!({"kind": "Secret", "metadata": {"name": "creds", "namespace": "shop"},
        "data": {"user": "c2NyYXBlcg==", "password": "czNjcmV0"}}),
    );
    fake.add(
        json!({"kind": "ConfigMap", "metadata": {"name": "ca", "namespace": "shop"},
        "data": {"ca.crt": "PEM"}}),
    );
    let mut with_auth = sm("shop", "web", "fw", "https");
    with_auth["spec"]["endpoints"][0]["basicAuth"] = json!({
        "username": {"name": "creds", "key": "user"},
        "password": {"name": "creds", "key": "password"}});
    with_auth["spec"]["endpoints"][0]["tlsConfig"] =
        json!({"ca": {"configMap": {"name": "ca", "key": "ca.crt"}}});
    fake.add(with_auth);
    // Its Secret does not exist: skipped, naming it.
    let mut missing = sm("shop", "lost", "fw", "https");
    missing["spec"]["endpoints"][0]["bearerTokenSecret"] = json!({"name": "nope", "key": "t"});
    fake.add(missing);

    let selection: OperatorSelection = serde_json::from_value(json!({
        "serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {},
    }))
    .unwrap();
    let client = kube::Client::try_from(kube::Config::new(fake.url.parse().unwrap())).unwrap();
    let (tx, mut rx) = watch::channel(Generated::default());
    let cancel = CancellationToken::new();
    let shards = Sharding {
        shards: 1,
        shard: Some(0),
    };
    let task = tokio::spawn(run(client, selection, shards, tx, cancel.clone()));
    let g = wait_for(&mut rx, "monitor with credentials", |g| {
        !g.scrape_configs.is_empty()
    })
    .await;
    assert_eq!(jobs(&g), ["serviceMonitor/shop/web/0"]);
    let c = &g.scrape_configs[0];
    assert_eq!(
        c["basic_auth"],
        json!({"username": "scraper", "password": "s3cret"})
    );
    assert_eq!(c["tls_config"], json!({"ca": "PEM"}));
    // Each object was read with one GET.
    let gets: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("/api/v1/namespaces/shop/"))
        .collect();
    for want in ["secrets/creds?", "configmaps/ca?", "secrets/nope?"] {
        assert_eq!(
            gets.iter().filter(|r| r.contains(want)).count(),
            1,
            "{want}: {gets:?}"
        );
    }

    // Then each is watched on its own: a rotated password reaches the scrape config...
    fake.modify(
        json!({"kind": "Secret", "metadata": {"name": "creds", "namespace": "shop"},
        "data": {"user": "c2NyYXBlcg==", "password": "cm90YXRlZA=="}}),
    );
    let g = wait_for(&mut rx, "rotated password", |g| {
        g.scrape_configs
            .first()
            .map(|c| c["basic_auth"]["password"].clone())
            == Some(json!("rotated"))
    })
    .await;
    assert_eq!(jobs(&g), ["serviceMonitor/shop/web/0"]);
    // ... the missing Secret, once created, brings its monitor in...
    fake.add(
        json!({"kind": "Secret", "metadata": {"name": "nope", "namespace": "shop"},
        "stringData": {"t": "token"}}),
    );
    let g = wait_for(&mut rx, "created secret", |g| g.scrape_configs.len() == 2).await;
    assert_eq!(
        jobs(&g),
        ["serviceMonitor/shop/lost/0", "serviceMonitor/shop/web/0"]
    );
    assert_eq!(g.scrape_configs[0]["bearer_token"], json!("token"));
    // ... and a deleted ConfigMap takes the monitor that needs it out.
    fake.delete(json!({"kind": "ConfigMap", "metadata": {"name": "ca", "namespace": "shop"}}));
    let g = wait_for(&mut rx, "deleted config map", |g| {
        g.scrape_configs.len() == 1
    })
    .await;
    assert_eq!(jobs(&g), ["serviceMonitor/shop/lost/0"]);
    // One watch per object, narrowed by name; no other GET.
    let requests = fake.requests();
    for (path, name) in [
        ("/api/v1/namespaces/shop/secrets?", "creds"),
        ("/api/v1/namespaces/shop/configmaps?", "ca"),
    ] {
        let field = format!("fieldSelector=metadata.name%3D{name}&");
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with(path) && r.contains(&field) && r.contains("watch=true")),
            "{path} {name}: {requests:?}"
        );
    }
    let gets = requests
        .iter()
        .filter(|r| r.contains("secrets/creds?"))
        .count();
    assert_eq!(gets, 1, "{requests:?}");
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn probes_and_scrape_configs_are_watched_when_selected() {
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "shop"}}));
    fake.add(
        json!({"kind": "Probe", "metadata": {"name": "sites", "namespace": "shop"},
        "spec": {"prober": {"url": "blackbox:9115"}, "module": "http_2xx",
                 "targets": {"staticConfig": {"static": ["https://shop.example"]}}}}),
    );
    fake.add(
        json!({"kind": "ScrapeConfig", "metadata": {"name": "ext", "namespace": "shop"},
        "spec": {"staticConfigs": [{"targets": ["10.0.0.1:9100"]}]}}),
    );
    // A probe without targets: skipped.
    fake.add(
        json!({"kind": "Probe", "metadata": {"name": "empty", "namespace": "shop"},
        "spec": {"prober": {"url": "blackbox:9115"}}}),
    );
    let selection: OperatorSelection = serde_json::from_value(json!({
        "probeSelector": {}, "probeNamespaceSelector": {},
        "scrapeConfigSelector": {}, "scrapeConfigNamespaceSelector": {},
    }))
    .unwrap();
    let client = kube::Client::try_from(kube::Config::new(fake.url.parse().unwrap())).unwrap();
    let (tx, mut rx) = watch::channel(Generated::default());
    let cancel = CancellationToken::new();
    let shards = Sharding {
        shards: 1,
        shard: Some(0),
    };
    let task = tokio::spawn(run(client, selection, shards, tx, cancel.clone()));
    wait_for(&mut rx, "probe and scrape config", |g| {
        jobs(g) == ["probe/shop/sites", "scrapeConfig/shop/ext"]
    })
    .await;
    fake.delete(json!({"kind": "ScrapeConfig", "metadata": {"name": "ext", "namespace": "shop"}}));
    wait_for(&mut rx, "scrape config deleted", |g| {
        jobs(g) == ["probe/shop/sites"]
    })
    .await;
    // Only the selected kinds were listed (no selector, no request).
    let reqs = fake.requests();
    assert!(
        !reqs.iter().any(|r| r.contains("servicemonitors")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("/apis/monitoring.coreos.com/v1alpha1/scrapeconfigs"))
    );
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
