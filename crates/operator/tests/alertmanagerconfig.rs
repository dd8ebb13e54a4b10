//! AlertmanagerConfig objects merged into an `alertmanager.yml` as the Operator merges them:
//! tests/fixtures/alertmanagerconfig/merge.yaml holds a base configuration, two objects, the
//! Secrets they read and the expected result. The real `amtool` (Alertmanager 0.25) accepts the
//! result and routes alerts through it to the objects' prefixed receivers.

use std::path::Path;
use std::process::Command;

use firewatch_operator::{AlertmanagerConfig, AssetKind, Assets, merge_alertmanager_configs};
use serde_json::{Value, json};

const TEST: &str = "firewatch_operator::alertmanagerconfig::merged_config_matches_the_operator_and_routes_in_amtool";

fn fixture() -> Vec<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alertmanagerconfig/merge.yaml");
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(docs.len(), 4, "base, objects, Secrets, expected");
    docs
}

fn assets(secrets: &Value) -> Assets {
    let mut a = Assets::default();
    for o in secrets.as_array().unwrap() {
        let m = &o["metadata"];
        let (ns, name) = (
            m["namespace"].as_str().unwrap(),
            m["name"].as_str().unwrap(),
        );
        a.insert_object(AssetKind::Secret, ns, name, o);
    }
    a
}

/// Receivers `amtool config routes test` picks for `labels` under the configuration `file`.
fn route(amtool: &Path, file: &Path, labels: &[&str]) -> String {
    let out = Command::new(amtool)
        .arg("config")
        .arg("routes")
        .arg("test")
        .arg(format!("--config.file={}", file.display()))
        .args(labels)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn merged_config_matches_the_operator_and_routes_in_amtool() {
    let docs = fixture();
    let objects: Vec<AlertmanagerConfig> = serde_json::from_value(docs[1].clone()).unwrap();
    let merged = merge_alertmanager_configs(&docs[0], &objects, &assets(&docs[2]));
    assert!(merged.rejected.is_empty(), "{:?}", merged.rejected);
    for key in ["route", "receivers", "inhibit_rules"] {
        assert_eq!(merged.config[key], docs[3][key], "{key}");
    }

    let Some(amtool) = testkit::peer_binary(TEST, "amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, merged.config.to_string()).unwrap();
    let check = Command::new(&amtool)
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "amtool check-config:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
    for (labels, want) in [
        (
            &["namespace=shop", "severity=critical"][..],
            "shop/web/pager",
        ),
        (
            &["namespace=shop", "severity=critical", "service=cart"][..],
            "shop/web/chat",
        ),
        // Another namespace's alert does not reach the shop's receivers.
        (
            &["namespace=blog", "severity=critical"][..],
            "blog/api/hook",
        ),
        (&["namespace=other", "severity=critical"][..], "default"),
        // continue: true lets the file's own routes see the alert after an object's route.
        (
            &["namespace=shop", "severity=critical", "team=ops"][..],
            "shop/web/pager,ops",
        ),
    ] {
        assert_eq!(route(&amtool, &file, labels), want, "{labels:?}");
    }
}

#[test]
fn objects_that_cannot_be_converted_are_left_out_by_name() {
    let docs = fixture();
    let bad: Vec<AlertmanagerConfig> = serde_json::from_value(json!([
        {"metadata": {"name": "typo", "namespace": "shop"},
         "spec": {"route": {"receiver": "nobody"}, "receivers": [{"name": "somebody"}]}},
        {"metadata": {"name": "sns", "namespace": "shop"},
         "spec": {"route": {"receiver": "r"}, "receivers": [{"name": "r", "snsConfigs": [{}]}]}},
        {"metadata": {"name": "nosecret", "namespace": "shop"},
         "spec": {"route": {"receiver": "r"},
                  "receivers": [{"name": "r", "webhookConfigs": [{"urlSecret": {"name": "gone", "key": "u"}}]}]}},
    ]))
    .unwrap();
    let mut a = assets(&docs[2]);
    a.insert(AssetKind::Secret, "shop", "gone", Err("not found".into()));
    let merged = merge_alertmanager_configs(&docs[0], &bad, &a);
    let rejected: Vec<String> = merged
        .rejected
        .iter()
        .map(|(k, e)| format!("{k}: {e}"))
        .collect();
    assert_eq!(
        rejected,
        [
            "shop/nosecret: secret \"shop/gone\": key \"u\": not found",
            "shop/sns: receiver \"r\": snsConfigs[0]: one of topicARN, phoneNumber, targetARN is required",
            "shop/typo: route: receiver \"nobody\" not found",
        ]
    );
    assert_eq!(merged.config, docs[0], "nothing merged");
}

/// tests/fixtures/alertmanagerconfig/matcher_strategy.yaml: each strategy's merge equals the
/// Operator's golden, and the real amtool routes another namespace's alert to the object's
/// receiver exactly when no namespace matcher was added.
#[test]
fn matcher_strategies_scope_objects_as_the_operator_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alertmanagerconfig/matcher_strategy.yaml");
    let cases: Vec<Value> =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let base = json!({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]});
    let amtool = testkit::peer_binary(
        "firewatch_operator::alertmanagerconfig::matcher_strategies_scope_objects_as_the_operator_does",
        "amtool",
    );
    let dir = tempfile::tempdir().unwrap();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let objects: Vec<AlertmanagerConfig> =
            serde_json::from_value(case["objects"].clone()).unwrap();
        let options = firewatch_operator::MergeOptions {
            strategy: serde_json::from_value(case["strategy"].clone()).unwrap(),
            alertmanager_namespace: "alertmanager-namespace".into(),
        };
        let merged = firewatch_operator::merge_alertmanager_configs_with(
            &base,
            &objects,
            &Assets::default(),
            &options,
        );
        assert!(merged.rejected.is_empty(), "{name}: {:?}", merged.rejected);
        assert_eq!(merged.config, case["expected"], "{name}");

        let Some(amtool) = &amtool else { continue };
        let file = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&file, merged.config.to_string()).unwrap();
        // Every top route continues, so amtool lists each unscoped object's receiver.
        let routes = case["expected"]["route"]["routes"].as_array();
        let unscoped: Vec<&str> = routes
            .into_iter()
            .flatten()
            .filter(|r| r.get("matchers").is_none())
            .map(|r| r["receiver"].as_str().unwrap())
            .collect();
        let want = if unscoped.is_empty() {
            "null".to_owned()
        } else {
            unscoped.join(",")
        };
        assert_eq!(
            route(amtool, &file, &["namespace=elsewhere", "job=x"]),
            want,
            "{name}"
        );
    }
}
