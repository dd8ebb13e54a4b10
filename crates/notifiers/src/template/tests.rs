//! Tests of the template functions, methods and default templates.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Template;
use crate::alert::{Alert, Data, Kv};

fn kv(pairs: &[(&str, &str)]) -> Kv {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A group of two firing alerts and one resolved alert.
pub(crate) fn sample_data() -> Data {
    let now = ts("2024-05-01T12:00:00Z");
    let alerts = vec![
        Alert::new(
            kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "a:9090"),
                ("severity", "page"),
            ]),
            kv(&[("summary", "Latency is high"), ("runbook", "http://r/1")]),
            ts("2024-05-01T11:00:00Z"),
            None,
            "http://prom/graph?g0.expr=up",
            now,
        ),
        Alert::new(
            kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "b:9090"),
                ("severity", "page"),
            ]),
            kv(&[("summary", "Latency is high")]),
            ts("2024-05-01T11:30:00Z"),
            None,
            "http://prom/graph?g0.expr=up",
            now,
        ),
        Alert::new(
            kv(&[
                ("alertname", "HighLatency"),
                ("job", "api"),
                ("instance", "c:9090"),
                ("severity", "page"),
            ]),
            kv(&[("summary", "Latency is high")]),
            ts("2024-05-01T10:00:00Z"),
            Some(ts("2024-05-01T11:59:00Z")),
            "http://prom/graph?g0.expr=up",
            now,
        ),
    ];
    Data::new(
        "team-a & ops",
        kv(&[("alertname", "HighLatency")]),
        alerts,
        "http://am.example:9093",
    )
}

fn resolved_only() -> Data {
    let mut d = sample_data();
    d.alerts.retain(|a| a.ends_at.is_some());
    Data::new(
        &d.receiver.clone(),
        d.group_labels.clone(),
        d.alerts,
        &d.external_url,
    )
}

#[test]
fn functions_and_methods_expand_as_in_alertmanager() {
    let t = Template::defaults().unwrap();
    let d = sample_data();
    let cases: &[(&str, &str)] = &[
        ("{{ .Status | toUpper }}", "FIRING"),
        ("{{ toLower \"AbC\" }}", "abc"),
        ("{{ title \"hello wOrld-x_y\" }}", "Hello WOrld-X_y"),
        ("{{ trimSpace \"  a b \\n\" }}", "a b"),
        ("{{ stringSlice \"a\" \"b\" | join \",\" }}", "a,b"),
        ("{{ match \"^High\" .CommonLabels.alertname }}", "true"),
        ("{{ match \"^Low\" .CommonLabels.alertname }}", "false"),
        (
            "{{ reReplaceAll \"(\\\\w+):(\\\\d+)\" \"$2/$1\" \"host:80\" }}",
            "80/host",
        ),
        ("{{ urlUnescape \"a%20b+c\" }}", "a b c"),
        (
            "{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}",
            "2/1",
        ),
        (
            "{{ .CommonLabels.SortedPairs.Names | join \" \" }}",
            "alertname job severity",
        ),
        (
            "{{ .CommonLabels.Values | join \" \" }}",
            "HighLatency api page",
        ),
        (
            "{{ (.CommonLabels.Remove .GroupLabels.Names).Names | join \",\" }}",
            "job,severity",
        ),
        (
            "{{ with .CommonLabels.Remove (stringSlice \"job\") }}{{ .Names | join \",\" }}{{ end }}",
            "alertname,severity",
        ),
        (
            "{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ end }}",
            "c:9090",
        ),
        (
            "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
            "alertname=HighLatency;job=api;severity=page;",
        ),
        ("[{{ .CommonLabels.missing }}]", "[]"),
        ("{{ .Receiver | urlquery }}", "team-a+%26+ops"),
        (
            "{{ toJson .GroupLabels }}",
            "{\"alertname\":\"HighLatency\"}",
        ),
        (
            "{{ (index .Alerts 0).StartsAt }}",
            "2024-05-01 11:00:00 +0000 UTC",
        ),
        ("", ""),
    ];
    for (text, want) in cases {
        assert_eq!(t.execute_text(text, &d).unwrap(), *want, "{text}");
    }
}

#[test]
fn html_escapes_except_safe_html() {
    let t = Template::defaults().unwrap();
    let d = sample_data();
    assert_eq!(
        t.execute_html("<b>{{ \"<i>\" }}</b>{{ \"<u>\" | safeHtml }}", &d)
            .unwrap(),
        "<b>&lt;i&gt;</b><u>"
    );
}

#[test]
fn errors_name_the_problem() {
    let t = Template::defaults().unwrap();
    let d = sample_data();
    assert!(t.execute_text("{{ template \"nope\" . }}", &d).is_err());
    assert!(t.execute_text("{{ .Foo", &d).is_err());
    let e = Template::from_texts(&[("bad.tmpl", "{{ define \"x\" }}{{ .A")]).unwrap_err();
    assert!(e.to_string().contains("bad.tmpl"), "{e}");
}

#[test]
fn user_templates_override_defaults() {
    let t = Template::from_texts(&[(
        "mine.tmpl",
        "{{ define \"__subject\" }}custom {{ .Status }}{{ end }}",
    )])
    .unwrap();
    let d = sample_data();
    assert_eq!(
        t.execute_text("{{ template \"slack.default.title\" . }}", &d)
            .unwrap(),
        "custom firing"
    );
}

#[test]
fn from_globs_reads_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tmpl"), "{{ define \"x\" }}a{{ end }}").unwrap();
    std::fs::write(
        dir.path().join("b.tmpl"),
        "{{ define \"x\" }}b{{ end }}{{ define \"y\" }}y{{ end }}",
    )
    .unwrap();
    let g = format!("{}/*.tmpl", dir.path().display());
    let t = Template::from_globs(&[g]).unwrap();
    assert_eq!(
        t.execute_text(
            "{{ template \"x\" . }}{{ template \"y\" . }}",
            &sample_data()
        )
        .unwrap(),
        "by"
    );
}

/// Every template that Alertmanager 0.25's `default.tmpl` defines gives the same text from
/// Firewatch's defaults, for firing, mixed and resolved groups.
#[test]
fn default_templates_give_alertmanagers_texts() {
    let Some(path) = testkit::shared_path(
        "default_templates_give_alertmanagers_texts",
        "alertmanager-reference/default-v0.25.tmpl",
    ) else {
        return;
    };
    let reference_text = std::fs::read_to_string(path).unwrap();
    // The reference alone (parsed after ours, so its definitions win).
    let reference = Template::from_texts(&[("reference.tmpl", &reference_text)]).unwrap();
    let ours = Template::defaults().unwrap();
    let names: Vec<String> = reference_text
        .match_indices("{{ define \"")
        .map(|(i, _)| {
            let rest = &reference_text[i + 11..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert!(names.len() > 30, "{names:?}");
    let mut firing = sample_data();
    firing.alerts.retain(|a| a.ends_at.is_none());
    let firing = Data::new("r", firing.group_labels.clone(), firing.alerts, "http://x");
    let mut no_annotations = sample_data();
    for a in &mut no_annotations.alerts {
        a.annotations = BTreeMap::new();
    }
    let no_annotations = Data::new("r", kv(&[]), no_annotations.alerts, "http://x");
    for data in [sample_data(), resolved_only(), firing, no_annotations] {
        for n in &names {
            let dot = if n == "__text_alert_list" || n == "pagerduty.default.instances" {
                ".Alerts"
            } else {
                "."
            };
            let text = format!("{{{{ template \"{n}\" {dot} }}}}");
            let want = reference.execute_text(&text, &data).unwrap();
            let got = ours.execute_text(&text, &data).unwrap();
            assert_eq!(got, want, "template {n}");
        }
    }
}

#[test]
fn escapers_last_in_a_pipeline_work_in_html() {
    let t = Template::defaults().unwrap();
    let d = sample_data();
    assert_eq!(
        t.execute_html(
            "<a href=\"{{ template \"__alertmanagerURL\" . }}\">x</a>",
            &d
        )
        .unwrap(),
        "<a href=\"http://am.example:9093/#/alerts?receiver=team-a&#43;%26&#43;ops\">x</a>"
    );
}
