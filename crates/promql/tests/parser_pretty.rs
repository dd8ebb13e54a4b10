//! The pretty form (`format_query`): nodes longer than the line limit put their children
//! on indented lines; everything else stays on one line.

use firewatch_promql::parser::parse;
use firewatch_promql::printer::{prettify, prettify_width};

/// `(input, line limit, expected)`.
const CASES: &[(&str, usize, &str)] = &[
    ("a + b", 10, "a + b"),
    ("a == bool 1", 10, "  a\n== bool\n  1"),
    ("a + ignoring(job) b", 10, "  a\n+ ignoring (job)\n  b"),
    ("a + b + c", 4, "    a\n  +\n    b\n+\n  c"),
    (
        "sum by (job) (rate(x[5m]))",
        20,
        "sum by (job) (\n  rate(x[5m])\n)",
    ),
    (
        "topk(10, some_metric)",
        10,
        "topk(\n  10,\n  some_metric\n)",
    ),
    (
        "sum(sum(very_long_name))",
        15,
        "sum(\n  sum(\n    very_long_name\n  )\n)",
    ),
    ("rate(x[5m])", 5, "rate(\n  x[5m]\n)"),
    (
        "label_replace(up, \"a\", \"b\", \"c\", \"d\")",
        20,
        "label_replace(\n  up,\n  \"a\",\n  \"b\",\n  \"c\",\n  \"d\"\n)",
    ),
    ("(aaaa + bbbb)", 10, "(\n    aaaa\n  +\n    bbbb\n)"),
    ("-(aaaa + bbbb)", 10, "-(\n    aaaa\n  +\n    bbbb\n)"),
    (
        "rate(some_long_metric[5m])[1h:1m]",
        20,
        "rate(\n  some_long_metric[5m]\n)[1h:1m]",
    ),
    ("x[5m:1m]", 100, "x[5m:1m]"),
];

#[test]
fn pretty_cases() {
    for (input, width, want) in CASES {
        let e = parse(input).unwrap_or_else(|err| panic!("{input}: {err}"));
        assert_eq!(
            prettify_width(&e, *width),
            *want,
            "{input} at width {width}"
        );
    }
}

#[test]
fn pretty_forms_parse_back_to_the_same_tree() {
    let queries = [
        "histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket{service=~\"api|web\"}[5m])))",
        "sum(rate(container_cpu_usage_seconds_total{namespace=\"default\", container!=\"\"}[5m])) by (pod) / on(pod) group_left sum(kube_pod_container_resource_limits{resource=\"cpu\"}) by (pod)",
        "max_over_time(rate(some_really_long_metric_name_for_testing_purposes_total{job=\"a\"}[5m])[1h:1m] offset 1d)",
    ];
    for q in queries {
        let mut e = parse(q).expect("valid");
        let pretty = prettify(&e);
        assert!(
            pretty.contains('\n'),
            "{q} is long enough to split:\n{pretty}"
        );
        let mut again = parse(&pretty).unwrap_or_else(|err| panic!("{pretty}: {err}"));
        e.canonicalize();
        again.canonicalize();
        assert_eq!(e, again, "{pretty}");
    }
}
