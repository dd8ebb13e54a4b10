//! Encoders and parsers agree: arbitrary names, label values (any Unicode, quotes,
//! backslashes, line breaks), help texts, floats (NaN, ±Inf, subnormals, -0) and timestamps
//! encode and parse back unchanged in both formats. The encoders' output is also read by the
//! `prometheus-parse` and `openmetrics-parser` crates where they support the input.

use std::collections::BTreeMap;

use firewatch_model::Labels;
use firewatch_model::exposition::{
    Exemplar, FamilySample, Format, MetricFamily, MetricType, encode, parse_families,
};
use proptest::prelude::*;

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn metric_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}",
        // Prometheus 3 UTF-8 names, written quoted.
        "[a-z][a-z0-9_.\\-é\"\\\\ ]{0,12}",
    ]
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_][a-zA-Z0-9_]{0,12}", "[a-z.é \"\\\\\n]{1,8}",]
        .prop_filter("reserved", |n| n != "__name__")
}

fn family(format: Format) -> impl Strategy<Value = MetricFamily> {
    let sample = (
        proptest::collection::btree_map(label_name(), any::<String>(), 0..4),
        any::<f64>(),
        proptest::option::of(-10_000_000_000_000i64..10_000_000_000_000),
        proptest::option::of((
            any::<String>(),
            any::<f64>(),
            proptest::option::of(0i64..4_000_000_000_000),
        )),
    );
    (
        metric_name(),
        proptest::option::of(any::<String>()),
        proptest::collection::vec(sample, 1..5),
    )
        .prop_map(move |(name, help, samples)| {
            let mut seen = std::collections::HashSet::new();
            let samples = samples
                .into_iter()
                .filter(|(labels, ..)| seen.insert(labels.clone()))
                .map(|(labels, value, timestamp, ex)| {
                    let labels: BTreeMap<String, String> = labels;
                    let all = std::iter::once(("__name__".to_owned(), name.clone())).chain(labels);
                    FamilySample {
                        labels: Labels::from_pairs(all),
                        value,
                        timestamp,
                        exemplar: ex.filter(|_| format == Format::OpenMetrics).map(
                            |(trace, value, timestamp)| Exemplar {
                                labels: Labels::from_pairs([("trace_id", trace)]),
                                value,
                                timestamp,
                            },
                        ),
                    }
                })
                .collect();
            MetricFamily {
                name: name.clone(),
                help,
                metric_type: MetricType::Gauge,
                unit: None,
                samples,
            }
        })
}

fn check_round_trip(families: &[MetricFamily], format: Format) -> Result<(), TestCaseError> {
    let text = encode(families, format);
    let back = parse_families(text.as_bytes(), format)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(back.len(), families.len(), "{}", text);
    for (a, b) in families.iter().zip(&back) {
        prop_assert_eq!(&a.name, &b.name);
        prop_assert_eq!(&a.help, &b.help);
        prop_assert_eq!(a.metric_type, b.metric_type);
        prop_assert_eq!(a.samples.len(), b.samples.len());
        for (x, y) in a.samples.iter().zip(&b.samples) {
            prop_assert_eq!(&x.labels, &y.labels);
            prop_assert!(same_value(x.value, y.value), "{} vs {}", x.value, y.value);
            prop_assert_eq!(x.timestamp, y.timestamp);
            match (&x.exemplar, &y.exemplar) {
                (None, None) => {}
                (Some(e), Some(f)) => {
                    prop_assert_eq!(&e.labels, &f.labels);
                    prop_assert!(same_value(e.value, f.value));
                    prop_assert_eq!(e.timestamp, f.timestamp);
                }
                _ => prop_assert!(false, "exemplar lost: {}", text),
            }
        }
    }
    Ok(())
}

fn distinct_names(mut fams: Vec<MetricFamily>) -> Vec<MetricFamily> {
    let mut seen = std::collections::HashSet::new();
    fams.retain(|f| seen.insert(f.name.clone()));
    // A family whose name extends another's by a type suffix would be ambiguous; gauges own
    // no suffixes, so distinct names suffice.
    fams
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn text_round_trip(fams in proptest::collection::vec(family(Format::Text), 1..4)) {
        check_round_trip(&distinct_names(fams), Format::Text)?;
    }

    #[test]
    fn openmetrics_round_trip(fams in proptest::collection::vec(family(Format::OpenMetrics), 1..4)) {
        check_round_trip(&distinct_names(fams), Format::OpenMetrics)?;
    }
}

/// Families the oracles can read: legacy names, consistent label names, plain values.
fn oracle_families() -> Vec<MetricFamily> {
    let mut counter = MetricFamily::new("http_requests_total", MetricType::Counter);
    counter.help = Some("Requests served.".into());
    for (i, (path, v)) in [("/", 3.0), ("/a b", 1.5e-7), ("/x-y.z", 1e21)]
        .iter()
        .enumerate()
    {
        counter.samples.push(FamilySample {
            labels: Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("path", *path),
                ("code", if i == 0 { "200" } else { "500" }),
            ]),
            value: *v,
            timestamp: Some(1_700_000_000_000 + i as i64),
            exemplar: None,
        });
    }
    let mut gauge = MetricFamily::new("temperature_celsius", MetricType::Gauge);
    gauge.help = Some("Temperature.".into());
    gauge.samples.push(FamilySample {
        labels: Labels::from_pairs([("__name__", "temperature_celsius"), ("room", "kitchen")]),
        value: -12.25,
        timestamp: None,
        exemplar: None,
    });
    vec![counter, gauge]
}

#[test]
fn text_encoding_is_read_by_prometheus_parse() {
    let fams = oracle_families();
    let text = encode(&fams, Format::Text);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let want: Vec<&FamilySample> = fams.iter().flat_map(|f| &f.samples).collect();
    assert_eq!(scrape.samples.len(), want.len(), "{text}");
    for (got, want) in scrape.samples.iter().zip(want) {
        assert_eq!(Some(got.metric.as_str()), want.labels.metric_name());
        for l in want.labels.iter().filter(|l| l.name != "__name__") {
            assert_eq!(got.labels.get(l.name), Some(l.value), "{text}");
        }
        let v = match got.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        };
        assert_eq!(v, want.value);
        if let Some(ts) = want.timestamp {
            assert_eq!(got.timestamp.timestamp_millis(), ts);
        }
    }
    assert_eq!(
        scrape.docs.get("http_requests_total").map(String::as_str),
        Some("Requests served.")
    );
}

#[test]
fn encodings_are_read_by_openmetrics_parser() {
    let fams = oracle_families();
    let om = encode(&fams, Format::OpenMetrics);
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&om)
        .unwrap_or_else(|e| panic!("{e}\n{om}"));
    let text = encode(&fams, Format::Text);
    let parsed_text = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    for f in &fams {
        let om_name = f.name.strip_suffix("_total").unwrap_or(&f.name);
        let fam = parsed
            .families
            .get(om_name)
            .unwrap_or_else(|| panic!("{om_name} missing in {om}"));
        assert_eq!(fam.help, f.help.clone().unwrap());
        assert_eq!(fam.iter_samples().count(), f.samples.len());
        let tfam = parsed_text
            .families
            .get(&f.name)
            .or_else(|| parsed_text.families.get(om_name));
        assert_eq!(tfam.unwrap().iter_samples().count(), f.samples.len());
        for s in fam.iter_samples() {
            let ls = s.get_labelset().unwrap();
            let want = f
                .samples
                .iter()
                .find(|w| ls.iter().all(|(n, v)| w.labels.get(n) == Some(v.as_str())))
                .unwrap_or_else(|| panic!("no sample like {:?}", ls.iter().collect::<Vec<_>>()));
            let got = match &s.value {
                openmetrics_parser::OpenMetricsValue::Counter(c) => c.value.as_f64(),
                openmetrics_parser::OpenMetricsValue::Gauge(n) => n.as_f64(),
                other => panic!("{other:?}"),
            };
            assert_eq!(got, want.value);
        }
    }
}
