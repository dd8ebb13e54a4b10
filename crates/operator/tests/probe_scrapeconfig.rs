//! Probes and ScrapeConfigs translated as the Prometheus Operator translates them: each fixture
//! in tests/fixtures/probe and tests/fixtures/scrapeconfig holds the object, the scrape
//! configuration the Operator generates for it (written down from prometheus-operator's
//! `generateProbeConfig` and `generateScrapeConfig`) and optionally the Secrets it references;
//! the output loads as a Firewatch scrape configuration. Invalid probes are refused by name.

use std::path::Path;

use firewatch_operator::{
    Assets, Probe, ScrapeConfig, Sharding, probe_scrape_config, scrape_config_job,
};
use serde_json::{Value, json};

mod fixture_assets;
use fixture_assets::assets;

const OPERATOR: Sharding = Sharding {
    shards: 1,
    shard: None,
};
const LONE: Sharding = Sharding {
    shards: 1,
    shard: Some(0),
};

/// `(file, object, expected configuration, assets)` of each fixture in `dir`.
fn fixtures(dir: &str) -> Vec<(String, Value, Value, Assets)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!((2..=3).contains(&docs.len()), "{}", path.display());
        let want = docs[1].as_array().unwrap()[0].clone();
        out.push((
            path.display().to_string(),
            docs[0].clone(),
            want,
            assets(docs.get(2)),
        ));
    }
    assert!(!out.is_empty());
    out
}

fn compare(name: &str, got: &Value, want: &Value) {
    let keys = want.as_object().unwrap().keys();
    for key in keys.chain(got.as_object().unwrap().keys()) {
        if let (Some(Value::Array(g)), Some(Value::Array(w))) = (got.get(key), want.get(key)) {
            for (j, (a, b)) in g.iter().zip(w).enumerate() {
                assert_eq!(a, b, "{name}: {key}[{j}]");
            }
        }
        assert_eq!(got.get(key), want.get(key), "{name}: {key}");
    }
}

fn loads(name: &str, configs: &[Value]) {
    let file = json!({ "scrape_configs": configs }).to_string();
    let cfg =
        config::Config::from_yaml_str(&file, ".").unwrap_or_else(|e| panic!("{name}: {e}\n{file}"));
    assert_eq!(cfg.scrape_configs.len(), configs.len(), "{name}");
}

#[test]
fn probes_become_the_operators_scrape_configs() {
    for (name, obj, want, assets) in fixtures("probe") {
        let probe: Probe = serde_json::from_value(obj).unwrap();
        compare(
            &name,
            &probe_scrape_config(&probe, OPERATOR, &assets).unwrap(),
            &want,
        );
        loads(
            &name,
            &[probe_scrape_config(&probe, LONE, &assets).unwrap()],
        );
    }
}

#[test]
fn scrape_config_objects_become_the_operators_scrape_configs() {
    for (name, obj, want, assets) in fixtures("scrapeconfig") {
        let sc: ScrapeConfig = serde_json::from_value(obj).unwrap();
        compare(
            &name,
            &scrape_config_job(&sc, OPERATOR, &assets).unwrap(),
            &want,
        );
        loads(&name, &[scrape_config_job(&sc, LONE, &assets).unwrap()]);
    }
}

#[test]
fn probes_without_prober_or_targets_are_refused_by_name() {
    for (spec, want) in [
        (
            json!({"targets": {"staticConfig": {"static": ["a"]}}}),
            "probe shop/p: spec.prober.url is empty",
        ),
        (
            json!({"prober": {"url": "b:9115"}, "targets": {"staticConfig": {"static": []}}}),
            "probe shop/p: no targets",
        ),
    ] {
        let probe: Probe = serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "shop"}, "spec": spec}),
        )
        .unwrap();
        let err = probe_scrape_config(&probe, LONE, &Assets::default()).unwrap_err();
        assert!(err.to_string().starts_with(want), "{err}");
    }
}

/// tests/fixtures/scrapeclass/probe.yaml: the default scrape class applies to a Probe as the
/// Operator's golden shows (authorization; relabelings after the prober rule).
#[test]
fn probes_get_the_default_scrape_class() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::scrapeclass::parse_scrape_classes;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrapeclass/probe.yaml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let probe: Probe = serde_json::from_value(doc["probe"].clone()).unwrap();
    let options = ScrapeOptions {
        scrape_classes: parse_scrape_classes(doc["classes"].as_array().unwrap()).into(),
        ..ScrapeOptions::from(OPERATOR)
    };
    let got = probe_scrape_config(&probe, options, &Assets::default()).unwrap();
    compare("scrapeclass/probe.yaml", &got, &doc["expected"]);
    loads("scrapeclass/probe.yaml", &[got]);
}

/// The default scrape class applied to a ScrapeConfig object as generateScrapeConfig applies
/// it (the Operator's ScrapeConfigWithDefaultScrapeClassAuthz golden for the authorization;
/// the class's relabelings right after the job name rule, its metric relabelings first).
#[test]
fn scrape_config_objects_get_the_default_scrape_class() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::scrapeclass::parse_scrape_classes;
    let sc: ScrapeConfig = serde_json::from_value(json!({
        "metadata": {"name": "defaultScrapeConfig", "namespace": "default"},
        "spec": {"staticConfigs": [{"targets": ["a:9100"]}],
                 "metricRelabelings": [{"regex": "noisy_labels.*", "action": "labeldrop"}]}
    }))
    .unwrap();
    let classes = parse_scrape_classes(&[
        json!({"name": "default", "default": true,
               "authorization": {"credentialsFile": "/etc/secret/credentials/default"},
               "relabelings": [{"targetLabel": "team", "replacement": "web"}],
               "metricRelabelings": [{"targetLabel": "tenant", "replacement": "t1"}]}),
        json!({"name": "not-default",
               "authorization": {"credentialsFile": "/etc/secret/credentials/non-default"}}),
    ]);
    let options = ScrapeOptions {
        scrape_classes: classes.into(),
        ..ScrapeOptions::from(OPERATOR)
    };
    let got = scrape_config_job(&sc, options, &Assets::default()).unwrap();
    assert_eq!(
        got["authorization"],
        json!({"type": "Bearer", "credentials_file": "/etc/secret/credentials/default"})
    );
    assert_eq!(
        got["relabel_configs"][1],
        json!({"target_label": "team", "replacement": "web"})
    );
    assert_eq!(
        got["metric_relabel_configs"],
        json!([{"target_label": "tenant", "replacement": "t1"},
               {"regex": "noisy_labels.*", "action": "labeldrop"}])
    );
    loads("scrape class", &[got]);
}
