//! Robustness of the PromQL parser against untrusted queries (issue 16, item 1): valid
//! queries mutated byte-wise (flips, truncations, duplications, insertions) never panic; what
//! parses prints to a form that parses back to the same tree. Complements `parser_fuzz.rs`
//! (arbitrary strings and token soups). Cases: `FIREWATCH_FUZZ_CASES`.

use firewatch_promql::parser::{parse, parse_duration, parse_metric_selector};
use proptest::prelude::*;
use testkit::fuzz::{fuzz_config, mutated_text};

fn seeds() -> Vec<String> {
    include_str!("fuzz_seeds/queries.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn check_round_trip(q: &str) -> Result<(), TestCaseError> {
    if let Ok(mut e) = parse(q) {
        let printed = e.to_string();
        let mut again = parse(&printed)
            .map_err(|err| TestCaseError::fail(format!("{q:?} printed {printed:?}: {err}")))?;
        e.canonicalize();
        again.canonicalize();
        prop_assert_eq!(e, again, "{:?} printed {:?}", q, printed);
    }
    Ok(())
}

#[test]
fn seeds_parse() {
    for q in seeds() {
        parse(&q).unwrap_or_else(|e| panic!("seed {q:?}: {e}"));
    }
}

/// Crashes AFL found (fuzz/ promql target), each now a parse error.
#[test]
fn afl_findings_are_errors() {
    for q in [
        // `\P^` followed by more `^` in a regex matcher sliced past the class name.
        r#"sum by (job) (rate(x{job=~"appp\\P^^^^^^ppp", code!="504"}[5m]))"#,
        r#"up{job=~"zbd\\>^^^^^^^^^^^^ppppxqrmwyj~zbd\\P^^^^^^^^^^^"}"#,
    ] {
        assert!(parse(q).is_err(), "{q}");
    }
}

proptest! {
    #![proptest_config(fuzz_config(20000))]

    #[test]
    fn mutated_queries(q in mutated_text(seeds(), 4)) {
        check_round_trip(&q)?;
        let _ = parse_metric_selector(&q);
    }

    #[test]
    fn mutated_durations(d in mutated_text(vec!["1y2w3d4h5m6s7ms".into(), "-90s".into(), "1.5h".into()], 3)) {
        let _ = parse_duration(&d);
    }
}
