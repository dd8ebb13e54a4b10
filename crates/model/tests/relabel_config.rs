//! Relabel configuration: Prometheus's defaults, its validation error texts, and the
//! serialized form.

use firewatch_model::relabel::{Action, NameValidation, RelabelConfig, RelabelError};

fn parse(yaml: &str) -> Result<RelabelConfig, String> {
    serde_saphyr::from_str::<RelabelConfig>(yaml).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_prometheus_defaults() {
    let c = parse("target_label: x").unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.separator, ";");
    assert_eq!(c.regex.as_str(), "(.*)");
    assert_eq!(c.replacement, "$1");
    assert_eq!(c.modulus, 0);
    assert!(c.source_labels.is_empty());
    assert_eq!(
        c,
        RelabelConfig {
            target_label: "x".into(),
            ..RelabelConfig::default()
        }
    );
}

#[test]
fn action_names_are_case_insensitive() {
    for (text, action) in [
        ("Keep", Action::Keep),
        ("LABELMAP", Action::LabelMap),
        ("hashMod", Action::HashMod),
    ] {
        assert_eq!(Action::parse(text).unwrap(), action);
    }
    assert_eq!(
        parse("{action: DROP, regex: x}").unwrap().action,
        Action::Drop
    );
}

#[test]
fn regex_is_anchored_and_null_means_empty() {
    let c = parse("{regex: 'a|b', action: keep}").unwrap();
    assert!(c.regex.is_match("a") && !c.regex.is_match("ab"));
    let null = parse("{regex: null, action: keep}").unwrap();
    assert_eq!(null.regex.as_str(), "");
    assert!(null.regex.is_match("") && !null.regex.is_match("a"));
}

/// (YAML, Prometheus's error text).
const INVALID: &[(&str, &str)] = &[
    ("{action: foo}", r#"unknown relabel action "foo""#),
    (
        "{source_labels: [a]}",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "{action: hashmod, target_label: s}",
        "relabel configuration for hashmod requires non-zero modulus",
    ),
    (
        "{action: hashmod, modulus: 2}",
        "relabel configuration for hashmod action requires 'target_label' value",
    ),
    (
        "{action: lowercase}",
        "relabel configuration for lowercase action requires 'target_label' value",
    ),
    (
        "{action: uppercase}",
        "relabel configuration for uppercase action requires 'target_label' value",
    ),
    (
        "{action: keepequal}",
        "relabel configuration for keepequal action requires 'target_label' value",
    ),
    (
        "{action: dropequal}",
        "relabel configuration for dropequal action requires 'target_label' value",
    ),
    (
        "{action: lowercase, target_label: a, replacement: x}",
        "'replacement' can not be set for lowercase action",
    ),
    (
        "{action: uppercase, target_label: a, replacement: x}",
        "'replacement' can not be set for uppercase action",
    ),
    (
        "{action: keepequal, target_label: a, regex: x}",
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "{action: dropequal, target_label: a, separator: ','}",
        "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "{action: labeldrop, source_labels: [a]}",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelkeep, target_label: a}",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelkeep, replacement: x}",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "{action: labelmap, replacement: ''}",
        r#""" is invalid 'replacement' for labelmap action"#,
    ),
    ("{regex: '(', target_label: a}", "missing closing )"),
    (
        "{regex: '\\d{1001}', target_label: a}",
        "invalid repeat count",
    ),
    ("{target_label: a, unknown_field: 1}", "unknown_field"),
];

/// The same configurations through Go: `promtool check config` (Debian's 2.42, needed) must
/// refuse each with the same text.
#[test]
fn promtool_gives_the_same_texts() {
    if !testkit::peers(
        "model::relabel_config::promtool_gives_the_same_texts",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    for &(yaml, want) in INVALID {
        let file = format!(
            "scrape_configs:\n  - job_name: j\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n    relabel_configs: [{yaml}]\n"
        );
        std::fs::write(&cfg, file).unwrap();
        let out = std::process::Command::new("promtool")
            .args(["check", "config"])
            .arg(&cfg)
            .output()
            .expect("promtool (Debian package `prometheus`) must be installed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "Go accepted {yaml}");
        assert!(
            text.contains(want),
            "{yaml}: Go says {text:?}, we say {want:?}"
        );
    }
}

#[test]
fn invalid_configs_use_prometheus_texts() {
    for &(yaml, want) in INVALID {
        let err = parse(yaml).expect_err(yaml);
        assert!(
            err.contains(want),
            "{yaml}: {err:?} should contain {want:?}"
        );
    }
}

/// Under legacy name validation, targets and labelmap replacements must be legacy names
/// (with `$` references allowed where Prometheus allows them).
#[test]
fn legacy_name_validation() {
    let check = |yaml: &str| parse(yaml).unwrap().validate_with(NameValidation::Legacy);
    assert_eq!(
        check("{source_labels: [a], target_label: 'foo.bar'}")
            .unwrap_err()
            .to_string(),
        r#""foo.bar" is invalid 'target_label' for replace action"#
    );
    assert_eq!(
        check("{source_labels: [a], target_label: '1abc'}").unwrap_err(),
        RelabelError::InvalidTargetLabel {
            target: "1abc".into(),
            action: Action::Replace
        }
    );
    assert!(check("{source_labels: [a], target_label: 'x_${1}'}").is_ok());
    assert!(check("{source_labels: [a], target_label: '${1}_x'}").is_ok());
    assert_eq!(
        check("{source_labels: [a], target_label: 'x-${1}'}")
            .unwrap_err()
            .to_string(),
        r#""x-${1}" is invalid 'target_label' for replace action"#
    );
    assert_eq!(
        check("{action: labelmap, regex: 'a(.*)', replacement: 'b.$1'}")
            .unwrap_err()
            .to_string(),
        r#""b.$1" is invalid 'replacement' for labelmap action"#
    );
    assert_eq!(
        check("{action: hashmod, modulus: 2, target_label: 'a b'}")
            .unwrap_err()
            .to_string(),
        r#""a b" is invalid 'target_label' for hashmod action"#
    );
    assert_eq!(
        check("{action: lowercase, target_label: 'a.b'}")
            .unwrap_err()
            .to_string(),
        r#""a.b" is invalid 'target_label' for lowercase action"#
    );
    // Prometheus 3's default accepts UTF-8 names.
    assert!(
        parse("{source_labels: [a], target_label: 'foo.bar'}")
            .unwrap()
            .validate()
            .is_ok()
    );
}

#[test]
fn serializes_like_prometheus() {
    let c = parse("{source_labels: [a, b], target_label: t}").unwrap();
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "source_labels": ["a", "b"],
            "separator": ";",
            "regex": "(.*)",
            "target_label": "t",
            "replacement": "$1",
            "action": "replace",
        })
    );
    let h = parse("{source_labels: [a], target_label: s, modulus: 8, action: hashmod}").unwrap();
    let yaml = serde_saphyr::to_string(&h).unwrap();
    assert!(
        yaml.contains("modulus: 8") && yaml.contains("action: hashmod"),
        "{yaml}"
    );
    let back: RelabelConfig = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(back, h);
    let list: Vec<RelabelConfig> =
        serde_json::from_str(&serde_json::to_string(&vec![c.clone(), h.clone()]).unwrap()).unwrap();
    assert_eq!(list, vec![c, h]);
}
