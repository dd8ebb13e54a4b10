//! Parser behaviour on well-formed input: Prometheus 3 quoted names, exemplars and
//! OpenMetrics timestamps, escaping rules of each format, special floats, zero-copy labels,
//! and family grouping (`_bucket`, `_created`, `_total`).

use std::borrow::Cow;

use firewatch_model::exposition::{
    Entry, Format, MetricType, NORMAL_NAN_BITS, Parser, parse_families,
};

#[test]
fn quoted_utf8_names() {
    let input = b"# HELP \"my.metric\" Dotted.\n{\"my.metric\", label=\"x\", \"a.b\"=\"y\"} 1\n";
    let mut p = Parser::new(input, Format::Text);
    let Some(Entry::Help { name, help }) = p.next_entry().unwrap() else {
        panic!("help expected")
    };
    assert_eq!((name.as_ref(), help.as_ref()), ("my.metric", "Dotted."));
    let Some(Entry::Series(s)) = p.next_entry().unwrap() else {
        panic!("series expected")
    };
    assert_eq!(s.name, "my.metric");
    let labels: Vec<(&str, &str)> = s.labels.iter().map(|l| (&*l.name, &*l.value)).collect();
    assert_eq!(labels, [("label", "x"), ("a.b", "y")]);
    assert!(p.next_entry().unwrap().is_none());
}

#[test]
fn openmetrics_exemplar_and_float_timestamps() {
    let input = b"# TYPE foo_seconds counter\n# UNIT foo_seconds seconds\n\
        foo_seconds_total{a=\"b\"} 1 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.1\n\
        foo_seconds_created{a=\"b\"} 1520430000.123\n# EOF\n";
    let mut p = Parser::new(input, Format::OpenMetrics);
    assert!(matches!(
        p.next_entry().unwrap(),
        Some(Entry::Type {
            metric_type: MetricType::Counter,
            ..
        })
    ));
    assert!(matches!(
        p.next_entry().unwrap(),
        Some(Entry::Unit {
            unit: "seconds",
            ..
        })
    ));
    let Some(Entry::Series(s)) = p.next_entry().unwrap() else {
        panic!("series expected")
    };
    assert_eq!(s.timestamp, Some(1_520_879_607_789));
    let ex = s.exemplar.unwrap();
    assert_eq!(ex.value, 0.67);
    assert_eq!(ex.timestamp, Some(1_520_879_602_100));
    assert_eq!(&*ex.labels[0].value, "KOO5S4vxi0o");
    let Some(Entry::Series(s)) = p.next_entry().unwrap() else {
        panic!("series expected")
    };
    assert_eq!(
        (s.name, s.value, s.timestamp),
        ("foo_seconds_created", 1_520_430_000.123, None)
    );
    assert_eq!(p.next_entry().unwrap(), Some(Entry::Eof));
    assert_eq!(p.next_entry().unwrap(), None);

    let fams = parse_families(input, Format::OpenMetrics).unwrap();
    assert_eq!(fams.len(), 1, "{fams:?}");
    assert_eq!(fams[0].samples.len(), 2);
    assert_eq!(fams[0].unit.as_deref(), Some("seconds"));
}

#[test]
fn escaping_rules_differ_by_format() {
    let help = b"# HELP a x\\\\y\\nz\\\"q\\t\n";
    let mut p = Parser::new(help, Format::Text);
    let Some(Entry::Help { help: h, .. }) = p.next_entry().unwrap() else {
        panic!()
    };
    assert_eq!(
        h, "x\\y\nz\\\"q\\t",
        "text: only \\\\ and \\n are escapes in HELP"
    );
    let om = [&help[..], b"# EOF\n"].concat();
    let mut p = Parser::new(&om, Format::OpenMetrics);
    let Some(Entry::Help { help: h, .. }) = p.next_entry().unwrap() else {
        panic!()
    };
    assert_eq!(h, "x\\y\nz\"q\\t", "OpenMetrics also unescapes \\\"");

    let input = b"a{v=\"q\\\"b\\\\s\\nn\\tt\", w=\"plain\"} 1\n";
    let mut p = Parser::new(input, Format::Text);
    let Some(Entry::Series(s)) = p.next_entry().unwrap() else {
        panic!()
    };
    assert_eq!(s.labels[0].value, "q\"b\\s\nn\\tt");
    assert!(matches!(s.labels[0].value, Cow::Owned(_)));
    assert!(
        matches!(s.labels[1].value, Cow::Borrowed(_)),
        "values without escapes borrow the input"
    );
}

#[test]
fn special_floats_and_text_timestamps() {
    let input = b"a NaN\nb +Inf -5\nc -Inf\nd 1e-320 1700000000000\ne\t 2 \t\n";
    let mut p = Parser::new(input, Format::Text);
    let mut got = Vec::new();
    while let Some(e) = p.next_entry().unwrap() {
        if let Entry::Series(s) = e {
            got.push((s.name.to_owned(), s.value, s.timestamp));
        }
    }
    assert_eq!(got[0].1.to_bits(), NORMAL_NAN_BITS);
    assert_eq!((got[1].1, got[1].2), (f64::INFINITY, Some(-5)));
    assert_eq!(got[2].1, f64::NEG_INFINITY);
    assert_eq!((got[3].1, got[3].2), (1e-320, Some(1_700_000_000_000)));
    assert!(got[3].1.is_subnormal());
    assert_eq!((got[4].0.as_str(), got[4].1), ("e", 2.0));
}

#[test]
fn families_group_by_type_suffixes() {
    let input = b"# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n\
        h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\n\
        s_sum 1\ns_count 1\nother 5\nh_extra 1\n# HELP c_total C.\n# TYPE c_total counter\n\
        c_total 3\n";
    let fams = parse_families(input, Format::Text).unwrap();
    let shape: Vec<(&str, MetricType, usize)> = fams
        .iter()
        .map(|f| (f.name.as_str(), f.metric_type, f.samples.len()))
        .collect();
    assert_eq!(
        shape,
        [
            ("h", MetricType::Histogram, 4),
            ("s", MetricType::Summary, 3),
            ("other", MetricType::Unknown, 1),
            ("h_extra", MetricType::Unknown, 1),
            ("c_total", MetricType::Counter, 1),
        ]
    );
    assert_eq!(fams[0].samples[1].labels.get("le"), Some("+Inf"));
    assert_eq!(fams[0].samples[2].labels.metric_name(), Some("h_sum"));
}

#[test]
fn duplicate_metadata_and_labels_are_refused_by_the_collector() {
    for (input, msg) in [
        (
            &b"# HELP a x\n# HELP a y\na 1\n"[..],
            "second HELP line for metric name \"a\"",
        ),
        (
            b"a 1\n# TYPE a gauge\n",
            "second TYPE line for metric name \"a\"",
        ),
        (b"a{x=\"1\",x=\"2\"} 1\n", "duplicate label name \"x\""),
    ] {
        let e = parse_families(input, Format::Text).unwrap_err();
        assert!(e.to_string().contains(msg), "{e}");
    }
}
