//! Scale-out set-ups between Firewatch servers on loopback: hashmod sharding splits eight
//! targets across two servers so that each target is scraped by exactly one (and shard 0
//! holds the same targets as the real Prometheus 2.42 given the same shard-0 configuration),
//! and a global Firewatch federating both shards (`/federate`, `honor_labels`, `match[]`)
//! holds every target's series once, with the shards' external labels.

#[path = "support/scale_out.rs"]
mod support;

use support::serve_target as serve;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use testkit::{Server, urlencode};

const TEST: &str = "firewatch::sharding_federation::hashmod_shards_and_a_global_federating_server";

/// Serves (through `support::scale_out`) `app_info{target="<port>"} 1` on a free loopback port.
fn serve_target() -> u16 {
    serve(|_, port| format!("# TYPE app_info gauge\napp_info{{port=\"{port}\"}} 1\n"))
}

/// `instance -> labels` of the instant query `q`'s series.
fn series(server: &Server, q: &str) -> BTreeMap<String, serde_json::Value> {
    let r = server
        .get(&format!("/api/v1/query?query={}", urlencode(q)))
        .unwrap();
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["instance"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s["metric"].clone(),
            )
        })
        .collect()
}

fn shard_config(targets: &[String], shard: u32) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    shard: '{shard}'\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [{}]\n    relabel_configs:\n      - source_labels: [__address__]\n        modulus: 2\n        target_label: __tmp_hash\n        action: hashmod\n      - source_labels: [__tmp_hash]\n        regex: '{shard}'\n        action: keep\n",
        targets.join(", ")
    )
}

/// Waits until `q` on `server` answers `n` series (60 s at most).
fn wait_series(server: &Server, q: &str, n: usize) -> BTreeMap<String, serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = series(server, q);
        if s.len() == n {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{q}: {} series, want {n}: {s:?}",
            s.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn hashmod_shards_and_a_global_federating_server() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = (0..8)
        .map(|_| format!("'127.0.0.1:{}'", serve_target()))
        .collect();
    let all: BTreeSet<String> = targets
        .iter()
        .map(|t| t.trim_matches('\'').to_owned())
        .collect();
    let start = |name: &str, shard: u32| {
        Server::start(
            env!("CARGO_BIN_EXE_firewatch"),
            &["server"],
            &dir.path().join(name),
            &dir.path().join(name).join("data"),
            &shard_config(&targets, shard),
            &[],
        )
    };
    let shards = [start("shard0", 0), start("shard1", 1)];
    let oracle = Server::start(
        prometheus.to_str().unwrap(),
        &[],
        &dir.path().join("prometheus"),
        &dir.path().join("prometheus/data"),
        &shard_config(&targets, 0),
        &[],
    );
    // The targets each shard keeps, from its active targets (all of them come up).
    let kept = |s: &Server| -> BTreeSet<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = s.get("/api/v1/targets?state=active").unwrap();
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let active = v["data"]["activeTargets"].as_array().unwrap();
            if !active.is_empty() && active.iter().all(|t| t["health"] == "up") {
                return active
                    .iter()
                    .map(|t| t["labels"]["instance"].as_str().unwrap().to_owned())
                    .collect();
            }
            assert!(Instant::now() < deadline, "targets never all up: {v}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let k0 = kept(&shards[0]);
    let k1 = kept(&shards[1]);
    assert!(
        k0.is_disjoint(&k1),
        "a target on both shards: {k0:?} {k1:?}"
    );
    assert_eq!(&k0 | &k1, all, "a target on no shard");
    assert_eq!(
        kept(&oracle),
        k0,
        "Prometheus 2.42 keeps other targets for shard 0"
    );
    // Each shard's samples: only its own targets.
    assert_eq!(
        wait_series(&shards[0], "app_info", k0.len())
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        k0
    );
    assert_eq!(
        wait_series(&shards[1], "app_info", k1.len())
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        k1
    );

    // A global server federates both shards' `job="app"` series, keeping their labels.
    let global_cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params:\n      'match[]': ['{{job=\"app\"}}']\n    static_configs:\n      - targets: ['127.0.0.1:{}', '127.0.0.1:{}']\n",
        shards[0].port, shards[1].port
    );
    let global = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &dir.path().join("global"),
        &dir.path().join("global/data"),
        &global_cfg,
        &[],
    );
    let fed = wait_series(&global, "app_info", all.len());
    assert_eq!(fed.keys().cloned().collect::<BTreeSet<_>>(), all);
    for (instance, labels) in &fed {
        assert_eq!(
            labels["job"], "app",
            "honor_labels keeps the shard's job: {labels}"
        );
        let port = instance.rsplit(':').next().unwrap();
        assert_eq!(labels["port"], port, "{labels}");
        let shard = if k0.contains(instance) { "0" } else { "1" };
        assert_eq!(
            labels["shard"], shard,
            "the shard's external label: {labels}"
        );
    }
    // `match[]` selected only job="app": the shards' own scrape series other than the
    // federated ones are absent, while `up` of the federation job itself is there.
    let ups = series(&global, "up");
    assert_eq!(ups.len(), all.len() + 2, "{ups:?}");
    assert!(series(&global, "prometheus_build_info").is_empty());
}
