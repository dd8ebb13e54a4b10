//! Prometheus's template expansion cases (`template/template_test.go`), expected outputs as
//! Prometheus prints them.

use std::sync::Arc;

use model::Labels;

use super::*;

const TS: i64 = 1_353_755_652_000;
const URL: &str = "http://testhost:9090/path/prefix";

fn expand_with(text: &str, data: Data, result: Vec<QuerySample>) -> Result<String, TemplateError> {
    let q: QueryFn = Arc::new(move |_, _| Ok(result.clone()));
    Expander::new("test", text, data, TS)
        .with_query(q)
        .with_external_url(URL)
        .expand()
}

fn expand(text: &str, data: Data) -> String {
    expand_with(text, data, vec![]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn floats(v: &[f64]) -> Data {
    Data::List(v.iter().map(|f| Data::Float(*f)).collect())
}

fn strs(v: &[&str]) -> Data {
    Data::List(v.iter().map(|s| Data::Str((*s).to_owned())).collect())
}

fn ints(v: &[i64]) -> Data {
    Data::List(v.iter().map(|i| Data::Int(*i)).collect())
}

fn uints(v: &[u64]) -> Data {
    Data::List(v.iter().map(|i| Data::Uint(*i)).collect())
}

fn sample(pairs: &[(&str, &str)], value: f64) -> QuerySample {
    QuerySample {
        labels: Labels::from_pairs(pairs.iter().copied()),
        value,
    }
}

#[test]
fn plain_and_literals() {
    for (text, want) in [
        ("plain text", "plain text"),
        ("{{ 1 }}", "1"),
        ("{{ \"<b>\" }}", "<b>"),
        ("{{ \"<b>\" | safeHtml }}", "<b>"),
        (
            "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
            "1 2",
        ),
        ("{{ .Foo }}", "<no value>"),
        ("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa"),
        ("{{ \"aa bb CC\" | title }}", "Aa Bb CC"),
        ("{{ \"aa bb CC\" | toUpper }}", "AA BB CC"),
        ("{{ \"aA bB CC\" | toLower }}", "aa bb cc"),
        (
            "{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}",
            "true false",
        ),
        ("{{ graphLink \"up\" }}", "/graph?g0.expr=up&g0.tab=0"),
        ("{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"),
        (
            "{{ tableLink \"rate(x[5m]) > 1\" }}",
            "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=1",
        ),
        ("{{ pathPrefix }}", "/path/prefix"),
        ("{{ externalURL }}", URL),
        (
            "{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}",
            "3720.01",
        ),
        (
            "{{ printf \"%0.2f\" (parseDuration \"-1h2m10ms\") }}",
            "-3720.01",
        ),
        ("{{ now }}", "1.353755652e+09"),
        (
            "{{ 1435065584.128 | humanizeTimestamp }}",
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        (
            "{{ \"1435065584.128\" | humanizeTimestamp }}",
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        (
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            "-22.22%:0%:12.35%:123.5%",
        ),
        (
            "{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.0\" | humanizePercentage }}:{{ \"0.1234567\" | humanizePercentage }}:{{ \"1.23456\" | humanizePercentage }}",
            "-22.22%:0%:12.35%:123.5%",
        ),
    ] {
        assert_eq!(expand(text, Data::Nil), want, "{text}");
    }
}

#[test]
fn host_port_functions() {
    for (input, port, domain) in [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        (
            "[2001:0DB8::1]:12345",
            "2001:0DB8::1",
            "[2001:0DB8::1]:12345",
        ),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ] {
        assert_eq!(
            expand(&format!("{{{{ {input:?} | stripPort }}}}"), Data::Nil),
            port
        );
        assert_eq!(
            expand(&format!("{{{{ {input:?} | stripDomain }}}}"), Data::Nil),
            domain
        );
    }
}

#[test]
fn humanize_family() {
    let h = "{{ range . }}{{ humanize . }}:{{ end }}";
    assert_eq!(
        expand(h, floats(&[0.0, 1.0, 1_234_567.0, 0.12])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        expand(h, strs(&["0.0", "1.0", "1234567.0", ".12"])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        expand(h, ints(&[0, -1, 1, 1_234_567, i64::MAX])),
        "0:-1:1:1.235M:9.223E:"
    );
    assert_eq!(
        expand(h, uints(&[0, 1, 1_234_567, u64::MAX])),
        "0:1:1.235M:18.45E:"
    );
    let h = "{{ range . }}{{ humanize1024 . }}:{{ end }}";
    assert_eq!(
        expand(h, floats(&[0.0, 1.0, 1_048_576.0, 0.12])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        expand(h, ints(&[0, -1, 1, 1_234_567, i64::MAX])),
        "0:-1:1:1.177Mi:8Ei:"
    );
    assert_eq!(
        expand(h, uints(&[0, 1, 1_234_567, u64::MAX])),
        "0:1:1.177Mi:16Ei:"
    );
    let h = "{{ range . }}{{ humanizeDuration . }}:{{ end }}";
    assert_eq!(
        expand(
            h,
            floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        expand(
            h,
            floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        expand(
            h,
            strs(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        expand(h, ints(&[0, -1, 1, 1_234_567])),
        "0s:-1s:1s:14d 6h 56m 7s:"
    );
    let all = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    let want = "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:";
    assert_eq!(
        expand(all, floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])),
        want
    );
    assert_eq!(expand(all, strs(&["+Inf", "-Inf", "NaN"])), want);
    let p = "{{ range . }}{{ humanizePercentage . }}:{{ end }}";
    assert_eq!(
        expand(p, ints(&[0, -1, 1, 1_234_567, i64::MAX])),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:"
    );
    let t = "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}";
    assert_eq!(
        expand(t, ints(&[0, -1, 1, 1_234_567, 9_223_372_036])),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"
    );
}

#[test]
fn function_errors() {
    for (text, data, needle) in [
        (
            "{{ humanize \"one\" }}",
            Data::Nil,
            "error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax",
        ),
        (
            "{{ humanize1024 \"one\" }}",
            Data::Nil,
            "error calling humanize1024: strconv.ParseFloat: parsing \"one\": invalid syntax",
        ),
        (
            "{{ \"one\" | humanizePercentage }}",
            Data::Nil,
            "error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax",
        ),
        (
            "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
            ints(&[i64::MIN]),
            "error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
        (
            "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
            uints(&[u64::MAX]),
            "error calling humanizeTimestamp: 1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64",
        ),
        (
            "{{ query \"missing\" | first }}",
            Data::Nil,
            "error calling first: first() called on vector with no elements",
        ),
    ] {
        let e = expand_with(text, data, vec![]).unwrap_err().to_string();
        assert!(e.starts_with("error executing template test: "), "{e}");
        assert!(e.contains(needle), "{text}: {e}");
    }
    let e = expand_with("{{", Data::Nil, vec![])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("error parsing template test: "), "{e}");
    assert!(e.contains("unclosed action"), "{e}");
}

#[test]
fn query_functions() {
    let one = vec![sample(&[("__name__", "metric"), ("instance", "a")], 11.0)];
    for (text, want) in [
        ("{{ query \"metric{instance='a'}\" | first | value }}", "11"),
        (
            "{{ query \"metric{instance='a'}\" | first | label \"instance\" }}",
            "a",
        ),
        (
            "{{ query \"metric{instance='a'}\" | first | label \"foo\" }}",
            "",
        ),
    ] {
        assert_eq!(
            expand_with(text, Data::Nil, one.clone()).unwrap(),
            want,
            "{text}"
        );
    }
    let v = vec![sample(&[("__name__", "metric"), ("__value__", "a")], 11.0)];
    assert_eq!(
        expand_with("{{ query \"metric\" | first | strvalue }}", Data::Nil, v).unwrap(),
        "a"
    );
    let two = vec![
        sample(&[("__name__", "metric"), ("instance", "b")], 21.0),
        sample(&[("__name__", "metric"), ("instance", "a")], 11.0),
    ];
    assert_eq!(
        expand_with(
            "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
            Data::Nil,
            two
        )
        .unwrap(),
        "a:11: b:21: "
    );
    let scalar = vec![sample(&[], 1.5)];
    assert_eq!(
        expand_with("{{ query \"1.5\" | first | value }}", Data::Nil, scalar).unwrap(),
        "1.5"
    );
}

#[test]
fn alert_data() {
    let labels = Labels::from_pairs([("instance", "host:9100"), ("job", "node")]);
    let ext = Labels::from_pairs([("cluster", "eu")]);
    let data = Data::alert(&labels, &ext, "http://fw:9090", 0.953);
    let out = Expander::alert(
        "HighLoad",
        "{{ $labels.instance }} {{ $value | humanizePercentage }} {{ $externalLabels.cluster }} {{ $externalURL }} [{{ $labels.missing }}] {{ .Labels.job }} {{ $value }}",
        data,
        TS,
    )
    .expand()
    .unwrap();
    assert_eq!(out, "host:9100 95.3% eu http://fw:9090 [] node 0.953");
}

#[test]
fn alert_templates_are_checked_without_running() {
    assert!(check_alert_template("A", "{{ $labels.x | humanize }} {{ query \"up\" }}").is_ok());
    let e = check_alert_template("A", "{{ $labels.x")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("error parsing template __alert_A: "), "{e}");
    let e = check_alert_template("A", "{{ nosuchfunc 1 }}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("nosuchfunc"), "{e}");
}

#[test]
fn expansions_and_failures_are_counted() {
    let (n0, f0) = expansion_counts();
    assert_eq!(expand("{{ 1 }}", Data::Nil), "1");
    assert!(expand_with("{{ nosuchfunc }}", Data::Nil, vec![]).is_err());
    let (n1, f1) = expansion_counts();
    // Process-wide counters: other tests may expand at the same time.
    assert!(n1 >= n0 + 2, "{n0} -> {n1}");
    assert!(f1 > f0, "{f0} -> {f1}");
}
