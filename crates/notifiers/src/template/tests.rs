//! Tests of the template functions, methods and default templates.

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
        ("{{ title \"hello wOrld-x_y\" }}", "Hello World-X_y"),
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
        a.annotations = Kv::new();
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

/// Alertmanager's functions up to its current release (`template.DefaultFuncs`), one row per
/// case: the text, what it gives (or, with `Err`, part of the error). The times are those of
/// `sample_data` (first alert: 2024-05-01 11:00:00 UTC).
#[test]
fn default_funcs_table() {
    let t = Template::defaults().unwrap();
    let d = sample_data();
    let first = "(index .Alerts 0).StartsAt";
    let cases: Vec<(String, Result<&str, &str>)> = vec![
        // 0.25's functions.
        ("{{ toUpper \"abc ü\" }}".into(), Ok("ABC Ü")),
        ("{{ toLower \"ABC Ü\" }}".into(), Ok("abc ü")),
        ("{{ title \"hELLO wORLD\" }}".into(), Ok("Hello World")),
        (
            "{{ title \"o'neil foo-bar a.b x_y\" }}".into(),
            Ok("O'neil Foo-Bar A.b X_y"),
        ),
        ("{{ trimSpace \"  x y \\n\" }}".into(), Ok("x y")),
        (
            "{{ join \",\" (stringSlice \"a\" \"b\") }}".into(),
            Ok("a,b"),
        ),
        ("{{ match \"^a.c$\" \"abc\" }}".into(), Ok("true")),
        (
            "{{ match \"(\" \"abc\" }}".into(),
            Err("error parsing regexp"),
        ),
        (
            "{{ reReplaceAll \"a(.)\" \"<$1>\" \"abac\" }}".into(),
            Ok("<b><c>"),
        ),
        ("{{ stringSlice }}".into(), Ok("[]")),
        ("{{ safeHtml \"<b>\" }}".into(), Ok("<b>")),
        // 0.28: date, tz, since, humanizeDuration.
        (
            format!("{{{{ {first} | date \"2006-01-02T15:04:05Z07:00\" }}}}"),
            Ok("2024-05-01T11:00:00Z"),
        ),
        (
            format!("{{{{ {first} | date \"Mon Jan _2 3:04PM MST 2006\" }}}}"),
            Ok("Wed May  1 11:00AM UTC 2024"),
        ),
        (
            format!("{{{{ {first} | tz \"Europe/Paris\" }}}}"),
            Ok("2024-05-01 13:00:00 +0200 CEST"),
        ),
        (
            format!("{{{{ {first} | tz \"America/New_York\" | date \"15:04 MST -07:00\" }}}}"),
            Ok("07:00 EDT -04:00"),
        ),
        (
            format!("{{{{ {first} | tz \"Asia/Tokyo\" | tz \"UTC\" }}}}"),
            Ok("2024-05-01 11:00:00 +0000 UTC"),
        ),
        (
            format!("{{{{ {first} | tz \"Nowhere/City\" }}}}"),
            Err("unknown time zone Nowhere/City"),
        ),
        (
            "{{ date \"2006\" \"yesterday\" }}".into(),
            Err("expected time.Time"),
        ),
        ("{{ humanizeDuration 0 }}".into(), Ok("0s")),
        ("{{ humanizeDuration 1.5 }}".into(), Ok("1.5s")),
        ("{{ humanizeDuration 90061 }}".into(), Ok("1d 1h 1m 1s")),
        ("{{ humanizeDuration -3700 }}".into(), Ok("-1h 1m 40s")),
        ("{{ humanizeDuration 0.0005 }}".into(), Ok("500us")),
        ("{{ humanizeDuration \"3600\" }}".into(), Ok("1h 0m 0s")),
        ("{{ humanizeDuration \"1h30m\" }}".into(), Ok("1h 30m 0s")),
        (
            "{{ humanizeDuration \"soon\" }}".into(),
            Err("invalid syntax"),
        ),
        (
            format!("{{{{ if gt (len ({first} | since)) 0 }}}}ok{{{{ end }}}}"),
            Ok("ok"),
        ),
        (
            "{{ since \"2000-01-01 00:00:00 +0000 UTC\" | humanizeDuration | printf \"%.1s\" }}"
                .into(),
            Ok("9"),
        ),
        // 0.30: safeUrl, urlUnescape, toJson.
        (
            "<a href=\"{{ safeUrl \"javascript:x\" }}\">".into(),
            Ok("<a href=\"javascript:x\">"),
        ),
        ("{{ urlUnescape \"a%2Fb+c\" }}".into(), Ok("a/b c")),
        (
            "{{ urlUnescape \"%zz\" }}".into(),
            Err("invalid URL escape \"%zz\""),
        ),
        (
            "{{ toJson (stringSlice \"a\" \"b\") }}".into(),
            Ok("[\"a\",\"b\"]"),
        ),
        // 0.32: list, append, dict.
        ("{{ list 1 \"a\" true }}".into(), Ok("[1 a true]")),
        ("{{ len list }}".into(), Ok("0")),
        ("{{ append (list 1) 2 3 }}".into(), Ok("[1 2 3]")),
        ("{{ (dict \"a\" 1 \"b\" \"x\").b }}".into(), Ok("x")),
        (
            "{{ toJson (dict \"k\" (list 1 2)) }}".into(),
            Ok("{\"k\":[1,2]}"),
        ),
        (
            "{{ dict \"a\" }}".into(),
            Err("dict requires an even number of arguments"),
        ),
        ("{{ dict 1 2 }}".into(), Err("dict keys must be strings")),
        // 0.33/0.34: now, toDate, mustToDate, base64.
        (
            "{{ if gt (len (now | date \"2006\")) 3 }}ok{{ end }}".into(),
            Ok("ok"),
        ),
        (
            "{{ toDate \"2006-01-02\" \"2024-05-01\" }}".into(),
            Ok("2024-05-01 00:00:00 +0000 UTC"),
        ),
        (
            "{{ toDate \"2006-01-02\" \"May 1\" }}".into(),
            Ok("0001-01-01 00:00:00 +0000 UTC"),
        ),
        (
            "{{ mustToDate \"2006-01-02 15:04 MST\" \"2024-05-01 13:30 UTC\" | date \"15:04\" }}"
                .into(),
            Ok("13:30"),
        ),
        (
            "{{ mustToDate \"2006-01-02\" \"2024-13-01\" }}".into(),
            Err("month out of range"),
        ),
        ("{{ base64encode \"a?b>\" }}".into(), Ok("YT9iPg==")),
        ("{{ base64decode \"YT9iPg==\" }}".into(), Ok("a?b>")),
        (
            "{{ base64decode \"@@\" }}".into(),
            Err("illegal base64 data at input byte 0"),
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let got = t.execute_text(text, &d).map_err(|e| e.to_string());
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g.contains(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{text}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `jira.default.priority`: the most severe firing alert's (critical High, warning Medium,
/// info Low), else the resolved alerts', else empty.
#[test]
fn jira_default_priority_follows_severity() {
    let t = Template::defaults().unwrap();
    let now = ts("2024-05-01T12:00:00Z");
    let alert = |sev: &str, resolved: bool| {
        Alert::new(
            kv(&[("alertname", "A"), ("severity", sev), ("i", sev)]),
            kv(&[]),
            ts("2024-05-01T11:00:00Z"),
            resolved.then(|| ts("2024-05-01T11:30:00Z")),
            "",
            now,
        )
    };
    for (alerts, want) in [
        (
            vec![alert("info", false), alert("warning", false)],
            "Medium",
        ),
        (
            vec![
                alert("warning", false),
                alert("critical", false),
                alert("info", false),
            ],
            "High",
        ),
        (vec![alert("info", false)], "Low"),
        (vec![alert("page", false), alert("critical", true)], "High"),
        (
            vec![alert("warning", false), alert("critical", true)],
            "Medium",
        ),
        (vec![alert("page", false)], ""),
    ] {
        let d = Data::new("r", kv(&[]), alerts, "");
        assert_eq!(
            t.execute_text("{{ template \"jira.default.priority\" . }}", &d)
                .unwrap(),
            want
        );
    }
}
