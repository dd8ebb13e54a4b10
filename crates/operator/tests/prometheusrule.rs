//! PrometheusRules into rule files as the Operator writes them: each fixture in
//! tests/fixtures/prometheusrule holds an object and either the file (its name and its groups
//! as written) or the rejection (the object named, the rule parser's error).

use std::path::Path;

use firewatch_operator::{PrometheusRule, rule_files};
use serde_json::Value;

fn fixtures() -> Vec<(String, PrometheusRule, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prometheusrule");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(docs.len(), 2, "{}: input and expectation", path.display());
        let pr: PrometheusRule = serde_json::from_value(docs[0].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push((path.display().to_string(), pr, docs[1].clone()));
    }
    assert!(out.len() >= 4);
    out
}

#[test]
fn prometheus_rules_become_the_operators_rule_files() {
    for (name, pr, want) in fixtures() {
        let got = rule_files([&pr]);
        if let Some(rejected) = want.get("rejected") {
            assert!(got.files.is_empty(), "{name}: {:?}", got.files.keys());
            assert_eq!(got.rejected.len(), 1, "{name}");
            assert_eq!(got.rejected[0].0, rejected.as_str().unwrap(), "{name}");
            for part in want["error_contains"].as_array().unwrap() {
                let part = part.as_str().unwrap();
                assert!(
                    got.rejected[0].1.contains(part),
                    "{name}: {:?} lacks {part:?}",
                    got.rejected[0].1
                );
            }
            continue;
        }
        assert!(got.rejected.is_empty(), "{name}: {:?}", got.rejected);
        let file_name = want["file"].as_str().unwrap();
        let file = got
            .files
            .get(file_name)
            .unwrap_or_else(|| panic!("{name}: {:?}", got.files.keys()));
        let groups = want["groups"].as_array().unwrap();
        assert_eq!(file.groups.len(), groups.len(), "{name}");
        for (g, w) in file.groups.iter().zip(groups) {
            assert_eq!(g.name, w["name"].as_str().unwrap(), "{name}");
            let interval = w.get("interval").and_then(Value::as_str).unwrap_or("0s");
            assert_eq!(g.interval.to_string(), interval, "{name}: {}", g.name);
            let rules: Vec<&str> = g.rules.iter().map(config::rules::Rule::name).collect();
            let want_rules: Vec<&str> = w["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            assert_eq!(rules, want_rules, "{name}: {}", g.name);
        }
    }
}

#[test]
fn invalid_objects_are_skipped_and_the_others_kept() {
    let all: Vec<(String, PrometheusRule, Value)> = fixtures();
    let got = rule_files(all.iter().map(|(_, pr, _)| pr));
    let valid = all
        .iter()
        .filter(|(_, _, w)| w.get("file").is_some())
        .count();
    let invalid = all.len() - valid;
    assert_eq!(got.files.len(), valid);
    assert_eq!(got.rejected.len(), invalid);
    // The kept alerting group keeps its labels and annotations as written.
    let file = &got.files["monitoring-node-rules-6f1c2d3e-aaaa-bbbb-cccc-0123456789ab.yaml"];
    let alert = &file.groups[1].rules[0];
    assert_eq!(alert.labels["severity"], "critical");
    assert_eq!(
        alert.annotations["summary"],
        "{{ $labels.instance }} is down"
    );
    assert_eq!(alert.for_.to_string(), "5m");
}
