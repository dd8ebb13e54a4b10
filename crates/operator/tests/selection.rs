//! Selection as a `Prometheus` resource selects: tests/fixtures/selection/cases.yaml lists
//! objects in labelled namespaces and, per operator section, what it selects.

use std::collections::BTreeMap;
use std::path::Path;

use config::yaml::{Invalid, Seg};
use firewatch_operator::selection::Labels;
use firewatch_operator::{OperatorSelection, PodMonitor, PrometheusRule, Select, ServiceMonitor};
use serde_json::{Value, json};

fn load() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/selection/cases.yaml");
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn object<T: serde::de::DeserializeOwned>(o: &Value, spec: &Value) -> T {
    serde_json::from_value(json!({
        "metadata": {"name": o["name"], "namespace": o["namespace"], "labels": o["labels"]},
        "spec": spec,
    }))
    .unwrap()
}

fn names<'a>(
    it: impl IntoIterator<Item = &'a firewatch_operator::servicemonitor::ObjectMeta>,
) -> Vec<String> {
    it.into_iter()
        .map(|m| format!("{}/{}", m.namespace, m.name))
        .collect()
}

#[test]
fn prometheus_selectors_select_as_the_operator_does() {
    let data = load();
    let namespaces: BTreeMap<String, Labels> =
        serde_json::from_value(data["namespaces"].clone()).unwrap();
    let (mut sms, mut pms, mut prs) = (Vec::new(), Vec::new(), Vec::new());
    for o in data["objects"].as_array().unwrap() {
        match o["kind"].as_str().unwrap() {
            "ServiceMonitor" => sms.push(object::<ServiceMonitor>(o, &json!({}))),
            "PodMonitor" => pms.push(object::<PodMonitor>(o, &json!({}))),
            "PrometheusRule" => prs.push(object::<PrometheusRule>(o, &json!({"groups": []}))),
            other => panic!("kind {other}"),
        }
    }
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let section: OperatorSelection = serde_json::from_value(case["section"].clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        section
            .validate_selectors()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = |kind: &str| -> Vec<String> {
            serde_json::from_value(case["selected"][kind].clone()).unwrap()
        };
        let got = names(
            section
                .select(&sms, &namespaces)
                .into_iter()
                .map(|o| &o.metadata),
        );
        assert_eq!(got, want("ServiceMonitor"), "{name}: ServiceMonitor");
        let got = names(
            section
                .select(&pms, &namespaces)
                .into_iter()
                .map(|o| &o.metadata),
        );
        assert_eq!(got, want("PodMonitor"), "{name}: PodMonitor");
        let got = names(
            section
                .select(&prs, &namespaces)
                .into_iter()
                .map(|o| &o.metadata),
        );
        assert_eq!(got, want("PrometheusRule"), "{name}: PrometheusRule");
    }
}

/// `field.sub[i]: message`.
fn located(e: &Invalid) -> String {
    let mut path = String::new();
    for seg in &e.path {
        match seg {
            Seg::Key(k) if path.is_empty() => path.push_str(k),
            Seg::Key(k) => path.push_str(&format!(".{k}")),
            Seg::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    format!("{path}: {}", e.msg)
}

#[test]
fn invalid_selectors_are_rejected_naming_the_field() {
    for (section, want) in [
        (
            json!({"ruleSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}}),
            "ruleSelector.matchExpressions[0]: operator: not a valid selector operator",
        ),
        (
            json!({"podMonitorNamespaceSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}),
            "podMonitorNamespaceSelector.matchExpressions[0]: values: must be specified",
        ),
        (
            json!({"serviceMonitorSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}}),
            "serviceMonitorSelector.matchExpressions[0]: values: may not be specified",
        ),
    ] {
        let s: OperatorSelection = serde_json::from_value(section).unwrap();
        let err = located(&s.validate_selectors().unwrap_err());
        assert!(err.starts_with(want), "{err}");
    }
    // A misspelt field of the section is an error, not a silent null selector.
    let typo = serde_json::from_value::<OperatorSelection>(json!({"serviceMonitorSelectr": {}}));
    assert!(
        typo.unwrap_err()
            .to_string()
            .contains("serviceMonitorSelectr")
    );
}

#[test]
fn a_selected_namespace_needs_its_labels_known() {
    let s: OperatorSelection = serde_json::from_value(json!({
        "serviceMonitorSelector": {},
        "serviceMonitorNamespaceSelector": {"matchLabels": {"team": "web"}},
    }))
    .unwrap();
    let sm: ServiceMonitor = serde_json::from_value(json!({
        "metadata": {"name": "a", "namespace": "shop"}, "spec": {}
    }))
    .unwrap();
    assert!(s.select([&sm], &BTreeMap::new()).is_empty());
    let ns = BTreeMap::from([(
        "shop".to_owned(),
        Labels::from([("team".into(), "web".into())]),
    )]);
    assert_eq!(s.select([&sm], &ns).len(), 1);
}
