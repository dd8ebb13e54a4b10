//! ServiceMonitors translated as the Prometheus Operator translates them: each fixture in
//! tests/fixtures holds a ServiceMonitor and the scrape configurations the Operator generates
//! for it (written down from prometheus-operator's `generateServiceMonitorConfig` and its
//! golden files' shapes), and the output is a scrape configuration Firewatch's config accepts.

use std::path::Path;

use firewatch_operator::{AssetKind, Assets, ServiceMonitor, Sharding, scrape_configs};
use serde_json::Value;

mod fixture_assets;
use fixture_assets::assets;

const OPERATOR: Sharding = Sharding {
    shards: 1,
    shard: None,
};

fn fixtures() -> Vec<(String, ServiceMonitor, Value, Assets)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            (2..=3).contains(&docs.len()),
            "{}: input, expectation and optionally the Secrets and ConfigMaps it references",
            path.display()
        );
        let sm: ServiceMonitor = serde_json::from_value(docs[0].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push((
            path.display().to_string(),
            sm,
            docs[1].clone(),
            assets(docs.get(2)),
        ));
    }
    assert!(out.len() >= 2);
    out
}

#[test]
fn service_monitors_become_the_operators_scrape_configs() {
    for (name, sm, want, assets) in fixtures() {
        let got = Value::Array(scrape_configs(&sm, OPERATOR, &assets).unwrap());
        if got != want {
            let (g, w) = (got.as_array().unwrap(), want.as_array().unwrap());
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                for key in w
                    .as_object()
                    .unwrap()
                    .keys()
                    .chain(g.as_object().unwrap().keys())
                {
                    if g.get(key) != w.get(key) {
                        if let (Some(Value::Array(ga)), Some(Value::Array(wa))) =
                            (g.get(key), w.get(key))
                        {
                            for (j, (a, b)) in ga.iter().zip(wa).enumerate() {
                                assert_eq!(a, b, "{name}: config {i} {key}[{j}]");
                            }
                        }
                        panic!(
                            "{name}: config {i} {key}: got {:?} want {:?}",
                            g.get(key),
                            w.get(key)
                        );
                    }
                }
            }
            panic!("{name}: {} configs, want {}", g.len(), w.len());
        }
    }
}

#[test]
fn generated_configs_load_as_firewatch_scrape_configs() {
    for (name, sm, _, assets) in fixtures() {
        let configs = scrape_configs(
            &sm,
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
        // A lone server keeps its targets: shard 0 is written in place of the placeholder.
        assert!(file.contains(r#""regex":"0;|.+;.+""#), "{name}: {file}");
    }
}

#[test]
fn the_example_service_monitor_in_deploy_translates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/kubernetes/examples/servicemonitor.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let sm: ServiceMonitor = serde_saphyr::from_str(&text).unwrap();
    let configs = scrape_configs(
        &sm,
        Sharding {
            shards: 1,
            shard: Some(0),
        },
        &Assets::default(),
    )
    .unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(
        configs[0]["job_name"],
        "serviceMonitor/default/example-app/0"
    );
    assert_eq!(configs[0]["scrape_interval"], "30s");
    let rules = configs[0]["relabel_configs"].as_array().unwrap();
    // The example's own relabeling comes after the Operator's and before sharding.
    let own = rules
        .iter()
        .position(|r| {
            r["target_label"] == "node"
                && r["source_labels"][0] == "__meta_kubernetes_pod_node_name"
        })
        .expect("the example's relabeling");
    assert_eq!(rules.len() - own, 4);
    let file = serde_json::json!({ "scrape_configs": configs }).to_string();
    config::Config::from_yaml_str(&file, ".").unwrap_or_else(|e| panic!("{e}\n{file}"));
}

#[test]
fn missing_secrets_are_wanted_then_reported_by_name() {
    let (_, sm, _, loaded) = fixtures()
        .into_iter()
        .find(|(name, ..)| name.contains("auth_tls_oauth2"))
        .unwrap();
    let shards = Sharding {
        shards: 1,
        shard: Some(0),
    };
    // Nothing loaded: the translation asks for every referenced object.
    let empty = Assets::default();
    let err = scrape_configs(&sm, shards, &empty).unwrap_err();
    assert!(empty.is_wanted(&err), "{err}");
    let wanted: Vec<String> = empty
        .take_wanted()
        .into_iter()
        .map(|(k, ns, name)| format!("{}/{ns}/{name}", k.name()))
        .collect();
    assert!(
        wanted.contains(&"configmap/shop/api-ca".to_owned()),
        "{wanted:?}"
    );
    // Loaded but the Secret is gone: an error naming it and its key.
    let mut gone = Assets::default();
    gone.insert(
        AssetKind::Secret,
        "shop",
        "api-creds",
        Err("not found".into()),
    );
    gone.insert(
        AssetKind::Secret,
        "shop",
        "api-tls",
        Err("not found".into()),
    );
    gone.insert_object(
        AssetKind::ConfigMap,
        "shop",
        "api-ca",
        &serde_json::json!({"data": {"ca.crt": "x"}}),
    );
    let err = scrape_configs(&sm, shards, &gone).unwrap_err();
    assert!(!gone.is_wanted(&err));
    assert_eq!(
        err.to_string(),
        "secret \"shop/api-tls\": key \"tls.crt\": not found"
    );
    assert!(scrape_configs(&sm, shards, &loaded).is_ok());
}

/// The section's `serviceDiscoveryRole` is the default of monitors without their own, which
/// wins over it (the Operator's TestServiceMonitorWithServiceDiscoveryRole cases).
#[test]
fn service_discovery_role_of_the_section_and_of_the_monitor() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::ServiceDiscoveryRole as Role;
    let (_, sm, want, assets) = fixtures()
        .into_iter()
        .find(|(name, ..)| name.ends_with("endpointslice_role.yaml"))
        .unwrap();
    let role_of = |sm_role: Option<Role>, section: Option<Role>| {
        let mut sm = sm.clone();
        sm.spec.service_discovery_role = sm_role;
        let options = ScrapeOptions {
            sharding: OPERATOR,
            service_discovery_role: section,
            ..ScrapeOptions::from(OPERATOR)
        };
        let got = scrape_configs(&sm, options, &assets).unwrap();
        (got[0]["kubernetes_sd_configs"][0]["role"].clone(), got)
    };
    for (sm_role, section, want_role) in [
        (None, None, "endpoints"),
        (None, Some(Role::Endpoints), "endpoints"),
        (None, Some(Role::EndpointSlice), "endpointslice"),
        (
            Some(Role::Endpoints),
            Some(Role::EndpointSlice),
            "endpoints",
        ),
        (
            Some(Role::EndpointSlice),
            Some(Role::Endpoints),
            "endpointslice",
        ),
    ] {
        let (role, got) = role_of(sm_role, section);
        assert_eq!(role, want_role, "{sm_role:?} {section:?}");
        if want_role == "endpointslice" {
            assert_eq!(Value::Array(got), want);
        } else {
            let port = &got[0]["relabel_configs"][3]["source_labels"][0];
            assert_eq!(port, "__meta_kubernetes_endpoint_port_name");
        }
    }
}

/// tests/fixtures/scrapeclass/service_monitor.yaml: the section's scrape classes applied to a
/// ServiceMonitor as the Operator applies them (default or named class; TLS files,
/// relabelings, metric relabelings, attachMetadata).
#[test]
fn scrape_classes_apply_as_the_operator_applies_them() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::scrapeclass::parse_scrape_classes;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scrapeclass/service_monitor.yaml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut monitor = doc["monitor"].clone();
        if let Some(class) = case.get("scrapeClass") {
            monitor["spec"]["scrapeClass"] = class.clone();
        }
        let sm: ServiceMonitor = serde_json::from_value(monitor).unwrap();
        let options = ScrapeOptions {
            scrape_classes: parse_scrape_classes(case["classes"].as_array().unwrap()).into(),
            ..ScrapeOptions::from(OPERATOR)
        };
        let got = scrape_configs(&sm, options, &Assets::default()).unwrap();
        let cfg = &got[0];
        for (key, want) in case["expected"].as_object().into_iter().flatten() {
            assert_eq!(cfg.get(key).unwrap_or(&Value::Null), want, "{name}: {key}");
        }
        if let Some(want) = case.get("class_relabelings") {
            let rules = cfg["relabel_configs"].as_array().unwrap();
            let endpoint = rules
                .iter()
                .position(|r| r["target_label"] == "endpoint")
                .unwrap();
            let between = &rules[endpoint + 1..rules.len() - 3];
            assert_eq!(&Value::Array(between.to_vec()), want, "{name}");
        }
    }
    // A class the section does not have: the monitor is rejected, naming it.
    let mut monitor = doc["monitor"].clone();
    monitor["spec"]["scrapeClass"] = "missing".into();
    let sm: ServiceMonitor = serde_json::from_value(monitor).unwrap();
    let err = scrape_configs(&sm, OPERATOR, &Assets::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("scrapeClass \"missing\" not found in Prometheus scrapeClasses"),
        "{err}"
    );
}

/// An endpoint's own TLS settings win; the class only fills in the files it lacks (the
/// Operator's mergeTLSConfigWithScrapeClass), and its authorization applies when the endpoint
/// has none.
#[test]
fn scrape_class_tls_and_authorization_fill_in_what_the_endpoint_lacks() {
    use firewatch_operator::ScrapeOptions;
    use firewatch_operator::scrapeclass::parse_scrape_classes;
    let sm: ServiceMonitor = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"endpoints": [{"port": "web", "tlsConfig": {"serverName": "web.shop", "caFile": "/own/ca.crt"}}]}
    }))
    .unwrap();
    let classes = parse_scrape_classes(&[serde_json::json!({
        "name": "mtls", "default": true,
        "tlsConfig": {"caFile": "/class/ca.crt", "certFile": "/class/tls.crt", "keyFile": "/class/tls.key"},
        "authorization": {"credentialsFile": "/class/token"}
    })]);
    let options = ScrapeOptions {
        scrape_classes: classes.into(),
        ..ScrapeOptions::from(OPERATOR)
    };
    let got = scrape_configs(&sm, options, &Assets::default()).unwrap();
    assert_eq!(
        got[0]["tls_config"],
        serde_json::json!({"server_name": "web.shop", "ca_file": "/own/ca.crt",
                           "cert_file": "/class/tls.crt", "key_file": "/class/tls.key"})
    );
    assert_eq!(
        got[0]["authorization"],
        serde_json::json!({"type": "Bearer", "credentials_file": "/class/token"})
    );
}
