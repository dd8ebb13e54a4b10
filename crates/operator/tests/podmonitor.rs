//! PodMonitors translated as the Prometheus Operator translates them: each fixture in
//! tests/fixtures/podmonitor holds a PodMonitor and the scrape configurations the Operator
//! generates for it (written down from prometheus-operator's `generatePodMonitorConfig`), and
//! the output is a scrape configuration Firewatch's config accepts.

use std::path::Path;

use firewatch_operator::{Assets, PodMonitor, Sharding, pod_scrape_configs};
use serde_json::Value;

mod fixture_assets;
use fixture_assets::assets;

fn fixtures() -> Vec<(String, PodMonitor, Value, Assets)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/podmonitor");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            (2..=3).contains(&docs.len()),
            "{}: input, expectation and optionally the Secrets and ConfigMaps it references",
            path.display()
        );
        let pm: PodMonitor = serde_json::from_value(docs[0].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push((
            path.display().to_string(),
            pm,
            docs[1].clone(),
            assets(docs.get(2)),
        ));
    }
    assert!(out.len() >= 2);
    out
}

#[test]
fn pod_monitors_become_the_operators_scrape_configs() {
    let operator = Sharding {
        shards: 1,
        shard: None,
    };
    for (name, pm, want, assets) in fixtures() {
        let got = pod_scrape_configs(&pm, operator, &assets).unwrap();
        let want = want.as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: number of configs");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let keys = w.as_object().unwrap().keys();
            for key in keys.chain(g.as_object().unwrap().keys()) {
                if let (Some(Value::Array(ga)), Some(Value::Array(wa))) = (g.get(key), w.get(key)) {
                    for (j, (a, b)) in ga.iter().zip(wa).enumerate() {
                        assert_eq!(a, b, "{name}: config {i} {key}[{j}]");
                    }
                }
                assert_eq!(g.get(key), w.get(key), "{name}: config {i} {key}");
            }
        }
    }
}

#[test]
fn generated_pod_configs_load_as_firewatch_scrape_configs() {
    for (name, pm, _, assets) in fixtures() {
        let configs = pod_scrape_configs(
            &pm,
            Sharding {
                shards: 1,
                shard: Some(0),
            },
            &assets,
        )
        .unwrap();
        let file = serde_json::json!({ "scrape_configs": configs }).to_string();
        let cfg = config::Config::from_yaml_str(&file, ".")
            .unwrap_or_else(|e| panic!("{name}: {e}\n{file}"));
        assert_eq!(cfg.scrape_configs.len(), configs.len(), "{name}");
        for (sc, json) in cfg.scrape_configs.iter().zip(&configs) {
            let sc = sc.as_ref().expect("a scrape config");
            assert_eq!(sc.job_name, json["job_name"].as_str().unwrap(), "{name}");
        }
    }
}

/// tests/fixtures/scrapeclass/pod_monitor.yaml: the default scrape class applies to a
/// PodMonitor without `scrapeClass` as the Operator's golden shows (its attachMetadata added
/// here too).
#[test]
fn pod_monitors_get_the_default_scrape_class() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::scrapeclass::parse_scrape_classes;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrapeclass/pod_monitor.yaml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let pm: PodMonitor = serde_json::from_value(doc["monitor"].clone()).unwrap();
    let options = ScrapeOptions {
        scrape_classes: parse_scrape_classes(doc["classes"].as_array().unwrap()).into(),
        ..ScrapeOptions::from(Sharding {
            shards: 1,
            shard: None,
        })
    };
    let got = pod_scrape_configs(&pm, options, &Assets::default()).unwrap();
    assert_eq!(Value::Array(got), doc["expected"]);
}
