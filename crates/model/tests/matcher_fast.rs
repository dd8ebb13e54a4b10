//! `FastRegex` fast paths: which shapes take them, what `set_matches`/`prefix` expose, and a
//! property test that every fast path agrees with the plain compiled regex.

use firewatch_model::matcher::FastRegex;
use firewatch_model::{MatchOp, Matcher};
use proptest::prelude::*;

/// (pattern, takes a fast path, set matches, literal prefix).
type Shape = (
    &'static str,
    bool,
    Option<&'static [&'static str]>,
    Option<&'static str>,
);

const SHAPES: &[Shape] = &[
    ("foo", true, Some(&["foo"]), Some("foo")),
    ("a|b|c", true, Some(&["a", "b", "c"]), None),
    ("foo|bar|baz", true, Some(&["foo", "bar", "baz"]), None),
    ("(foo|bar)", true, Some(&["foo", "bar"]), None),
    ("x[12]", true, Some(&["x1", "x2"]), Some("x")),
    ("(a|b)(c|d)", true, Some(&["ac", "ad", "bc", "bd"]), None),
    ("foo|", true, Some(&["foo", ""]), None),
    ("a|a", true, Some(&["a"]), Some("a")),
    ("(?i)foo|bar", true, None, None),
    ("(?i)foo", true, None, None),
    ("foo.*", true, None, Some("foo")),
    (".*foo", true, None, None),
    (".*foo.*", true, None, None),
    ("foo.+bar", true, None, Some("foo")),
    (".*", true, None, None),
    (".+", true, None, None),
    ("foo.*|.*bar", true, None, None),
    ("(?i)foo.*", true, None, None),
    ("[a-z]+", false, None, None),
    ("prefix[a-z]+", false, None, Some("prefix")),
    ("a.?b", false, None, Some("a")),
    ("(?-s).*", false, None, None),
    ("^foo$", false, None, None),
];

#[test]
fn shapes_take_the_expected_path() {
    for &(pattern, fast, set, prefix) in SHAPES {
        let re = FastRegex::new(pattern).unwrap();
        assert_eq!(re.is_fast(), fast, "{pattern:?} fast path");
        let want: Option<Vec<String>> = set.map(|s| s.iter().map(ToString::to_string).collect());
        assert_eq!(
            re.set_matches().map(<[String]>::to_vec),
            want,
            "{pattern:?} set"
        );
        assert_eq!(re.prefix(), prefix, "{pattern:?} prefix");
        let m = Matcher::new(MatchOp::RegexMatch, "l", pattern).unwrap();
        assert_eq!(
            m.set_matches().map(<[String]>::to_vec),
            re.set_matches().map(<[String]>::to_vec)
        );
        assert_eq!(m.prefix(), re.prefix());
    }
}

#[test]
fn large_sets_and_many_values() {
    let values: Vec<String> = (0..200).map(|i| format!("value-{i}")).collect();
    let re = FastRegex::new(&values.join("|")).unwrap();
    assert!(re.is_fast());
    assert_eq!(re.set_matches().unwrap().len(), 200);
    assert!(values.iter().all(|v| re.is_match(v)));
    assert!(!re.is_match("value-200") && !re.is_match("value-1x"));
    // Over Prometheus's 256 limit there is no set, but matching stays right.
    let many: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
    let big = FastRegex::new(&many.join("|")).unwrap();
    assert!(big.set_matches().is_none());
    assert!(big.is_match("v299"), "{big:?}");
    assert!(!big.is_match("v300"), "{big:?}");
}

/// Pieces random patterns are made of: literals, small and large classes, wildcards, and a
/// few constructs that force the slow path.
fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "ab", "ba", "k", "é", "\\.", "x"]).prop_map(String::from),
        3 => prop::sample::select(vec![".*", ".+"]).prop_map(String::from),
        1 => prop::sample::select(vec!["[ab]", "[a-c]", "[^a]", "[a-z]", "\\w", "\\s", ".", "a?", "(?-s:.)"])
            .prop_map(String::from),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    let seq = || prop::collection::vec(atom(), 0..5).prop_map(|v| v.concat());
    let branch = prop_oneof![
        3 => seq(),
        1 => seq().prop_map(|s| format!("({s})")),
    ];
    (
        prop::collection::vec(branch, 1..4),
        prop::sample::select(vec!["", "", "(?i)"]),
    )
        .prop_map(|(alts, flags)| format!("{flags}{}", alts.join("|")))
}

fn input() -> impl Strategy<Value = String> {
    let ch = prop::sample::select(vec![
        'a', 'b', 'A', 'B', 'k', 'K', '\u{212a}', 'é', 'É', '.', 'x', '\n', 'c',
    ]);
    prop::collection::vec(ch, 0..9).prop_map(|v| v.into_iter().collect())
}

/// Strings likely to match `p`: each branch with its operators removed, and small variations.
fn candidates(p: &str) -> Vec<String> {
    let body = p.strip_prefix("(?i)").unwrap_or(p);
    let mut out = Vec::new();
    for branch in body.split('|') {
        let plain: String = branch
            .replace("(?-s:.)", "y")
            .chars()
            .filter(|c| !"()[]^?*+.\\-".contains(*c))
            .collect();
        for v in [
            plain.clone(),
            format!("{plain}a"),
            format!("a{plain}"),
            format!("é{plain}\n"),
            plain.to_uppercase(),
        ] {
            out.push(v);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn fast_paths_agree_with_the_regex(p in pattern(), inputs in prop::collection::vec(input(), 24)) {
        let re = FastRegex::new(&p).unwrap();
        let inputs: Vec<String> = inputs.into_iter().chain(candidates(&p)).collect();
        for s in &inputs {
            prop_assert_eq!(re.is_match(s), re.regex().is_match(s), "pattern {:?} input {:?}", p, s);
        }
        if let Some(set) = re.set_matches() {
            for s in set {
                prop_assert!(re.regex().is_match(s), "set member {:?} of {:?} must match", s, p);
            }
        }
        if let Some(prefix) = re.prefix() {
            for s in inputs.iter().filter(|s| re.regex().is_match(s)) {
                prop_assert!(s.starts_with(prefix), "{:?} matches {:?} without prefix {:?}", s, p, prefix);
            }
        }
    }
}
