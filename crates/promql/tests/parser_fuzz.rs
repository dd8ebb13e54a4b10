//! Robustness: arbitrary strings and token soups never make the parser panic or hang,
//! whatever parses prints to a form that parses back to the same tree, and very deep
//! nesting is refused with an error instead of overflowing the stack.

use std::time::{Duration, Instant};

use firewatch_promql::parser::{MAX_DEPTH, parse};
use proptest::prelude::*;

/// Words and symbols PromQL queries are made of, including broken pieces.
const VOCAB: &[&str] = &[
    "foo",
    "bar",
    "job",
    "le",
    "sum",
    "rate",
    "topk",
    "count_values",
    "histogram_quantile",
    "label_replace",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "@",
    "start()",
    "end()",
    "step()",
    "min_of",
    "fill",
    "fill_left",
    "fill_right",
    "anchored",
    "smoothed",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "=",
    "!=",
    "=~",
    "!~",
    "==",
    ">",
    "<=",
    "</",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "atan2",
    "1",
    "0.5",
    "1e3",
    "0x1f",
    "Inf",
    "NaN",
    "5m",
    "1h30m",
    "0s",
    "\"a\"",
    "'b'",
    "`c`",
    "\"x.y\"",
    "#",
    "\n",
    "__name__",
    "info",
    "time()",
    "abs",
    "-1",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..24).prop_map(|w| w.join(" "))
}

fn soup_tight() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..24).prop_map(|w| w.concat())
}

fn check_round_trip(q: &str) -> Result<(), TestCaseError> {
    if let Ok(mut e) = parse(q) {
        let printed = e.to_string();
        let mut again = parse(&printed)
            .map_err(|err| TestCaseError::fail(format!("{q:?} printed {printed:?}: {err}")))?;
        e.canonicalize();
        again.canonicalize();
        prop_assert_eq!(e, again, "{:?} printed {:?}", q, printed);
        // The pretty form is also valid PromQL.
        let pretty = firewatch_promql::printer::prettify(&parse(q).expect("parsed before"));
        prop_assert!(
            parse(&pretty).is_ok(),
            "pretty form of {:?} does not parse: {:?}",
            q,
            pretty
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_do_not_panic(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn ascii_noise_does_not_panic(s in "[ -~\\n]{0,120}") {
        let _ = parse(&s);
    }

    #[test]
    fn token_soups_round_trip(q in soup()) {
        check_round_trip(&q)?;
    }

    #[test]
    fn tight_token_soups_round_trip(q in soup_tight()) {
        check_round_trip(&q)?;
    }
}

/// Parses on a thread with a small stack (as test and server worker threads have) and
/// returns the result's text with how long it took.
fn parse_small_stack(q: String) -> (Result<String, String>, Duration) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let t = Instant::now();
            let r = parse(&q).map(|e| e.to_string()).map_err(|e| e.to_string());
            (r, t.elapsed())
        })
        .expect("spawn")
        .join()
        .expect("no stack overflow")
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let n = 10_000;
    let cases = [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}foo", "-".repeat(n)),
        format!("{}foo", "- ".repeat(n)),
        format!("{}foo{}", "abs(".repeat(n), ")".repeat(n)),
        format!("{}foo{}", "sum(".repeat(n), ")".repeat(n)),
        format!("foo{}", " + foo".repeat(n)),
        format!("foo{}", " ^ foo".repeat(n)),
        format!("foo{}", "[1m:]".repeat(n)),
        format!("foo[{}1m{}]", "(".repeat(n), ")".repeat(n)),
        format!("foo offset {}1m{}", "(".repeat(n), ")".repeat(n)),
        format!("foo[1m{}]", " + 1s".repeat(n)),
    ];
    for q in cases {
        let (r, took) = parse_small_stack(q.clone());
        let head = &q[..40];
        let Err(err) = r else {
            panic!("{head}... is too deep to accept")
        };
        assert!(
            err.contains("expression nesting too deep"),
            "{head}...: {err}"
        );
        assert!(took < Duration::from_secs(2), "{head}... took {took:?}");
    }
}

#[test]
fn nesting_below_the_limit_is_accepted() {
    let n = MAX_DEPTH - 10;
    let q = format!("{}foo{}", "(".repeat(n), ")".repeat(n));
    let (r, _) = parse_small_stack(q.clone());
    assert_eq!(r.expect("accepted"), q);
    let q = format!("foo{}", " + foo".repeat(n / 2));
    assert_eq!(parse_small_stack(q.clone()).0.expect("accepted"), q);
}

#[test]
fn long_flat_queries_parse_quickly() {
    let q = format!(
        "sum({})",
        (0..5000)
            .map(|i| format!("m{i}{{a=\"{i}\"}}"))
            .collect::<Vec<_>>()
            .join(" or ")
    );
    let (r, took) = parse_small_stack(q);
    // 5000 operands chain 4999 operators: deeper than the limit.
    assert!(r.is_err());
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let q = format!(
        "foo{{{}}}",
        (0..5000)
            .map(|i| format!("l{i}=\"{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (r, took) = parse_small_stack(q);
    assert!(r.is_ok());
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
