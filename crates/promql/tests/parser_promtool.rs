//! Differential test against the real Prometheus parser: `promtool check rules` (the
//! installed Prometheus 2.42) parses each expression as a recording rule, and must accept
//! what we accept and fail with exactly our error text otherwise. The corpus is
//! pre-3.0 PromQL, where 2.42 and Prometheus 3 agree; the few texts that changed since
//! 2.42 are listed with both wordings.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use firewatch_promql::parser::parse;

/// Expressions whose outcome (success, or error text) must match promtool's exactly.
const CORPUS: &[&str] = &[
    // Accepted.
    "up",
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
    "a / on(instance) group_left(job) b",
    "a and ignoring(x) b",
    "x offset -5m",
    "x[5m] @ 100 offset 1m",
    "x @ start()",
    "max_over_time(rate(x[5m])[1h:1m])",
    "topk(3, x) by (job)",
    "count_values(\"v\", x)",
    "-x ^ 2",
    "2 ^ 3 ^ 2 + x",
    "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")",
    "{__name__=~\"job:.*\"}",
    "x{a=\"b\",}",
    "sum without () (x)",
    "x == bool 1",
    "vector(1) * 0x10",
    "time() - 1e3",
    "sum(x) # comment",
    // Lexer errors.
    "1 !~ 1",
    "x{a:b=\"c\"}",
    "x{1}",
    "(1))",
    "((1)",
    "foo{bar=\"baz\"",
    "\"\\c\"",
    "`unterminated",
    // Syntax errors.
    "1 +",
    "*1",
    "foo bar",
    "x{a=b}",
    "foo{gibberish}",
    "foo{,}",
    "foo{__name__=\"bar\" lol}",
    "sum without(==)(x)",
    "sum (x) by test",
    "sum (x) without (a) by (b)",
    "topk(x,)",
    "x @",
    "a - on(b) ignoring(c) d",
    // Semantic and type errors.
    "1 == 1",
    "1 and 1",
    "x or 1",
    "-\"s\"",
    "-x[5m]",
    "1 or on(bar) x",
    "a and on(b) group_left(c) d",
    "a + on(i) group_left(j, i) b",
    "x + bool y",
    "x[5m] + 1",
    "{}",
    "{x=~\".*\"}",
    "foo{__name__=\"bar\"}",
    "topk(x, y)",
    "count_values(5, x)",
    "sum(x[5m])",
    "floor()",
    "floor(1)",
    "hour(x, x, x)",
    "label_join(x)",
    "rate(x)",
    "unknown_function(x)",
    "x offset 1s offset 2s",
    "x @ 1 @ 2",
    "1 offset 1d",
    "rate(x[5m]) @ 1",
    "(x + y)[5m]",
    "x offset 1m [5m]",
    "x[5m:][10m:]",
    "sum() by (a)",
    "topk(x)",
    "x @ NaN",
    // Found by differential fuzzing against promtool.
    "sum(foo bar)",
    "topk ( != x)",
    "avg ( abs * le count_values 'y' - on",
    "foo + quantile ( [1h:] abs group_left",
    "rate(foo bar)",
    "'y' [5m] }",
    "Inf[5m]=~",
    "vectortime())foo",
    "(bytime()",
    "label_replaceavghistogram_quantilebooltime()}",
];

/// Errors whose wording changed after 2.42: `(input, 2.42 text, Prometheus 3 / ours)`.
const CHANGED_SINCE_2_42: &[(&str, &str, &str)] = &[
    (
        "x[]",
        "1:3: parse error: missing unit character in duration",
        "1:3: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()",
    ),
    (
        "x offset",
        "1:9: parse error: unexpected end of input in offset, expected duration",
        "1:9: parse error: unexpected end of input in offset, expected number, duration, step(), or range()",
    ),
    (
        "2.5.",
        "1:4: parse error: unexpected character: '.'",
        "1:1: parse error: bad number or duration syntax: \"2.5.\"",
    ),
];

fn rule_file(expr: &str) -> String {
    format!("groups:\n- name: g\n  rules:\n  - record: r\n    expr: |-\n      {expr}\n")
}

/// Runs promtool on one rule file per expression; returns each expression's outcome.
fn promtool_outcomes(exprs: &[&str]) -> HashMap<String, Result<(), String>> {
    let dir = std::env::temp_dir().join(format!("fw-parser-promtool-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let files: Vec<PathBuf> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let p = dir.join(format!("e{i}.yml"));
            fs::write(&p, rule_file(e)).expect("write rule file");
            p
        })
        .collect();
    let out = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .args(&files)
        .output()
        .expect("promtool is installed (apt-get install prometheus)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = fs::remove_dir_all(&dir);
    let mut result = HashMap::new();
    for (e, f) in exprs.iter().zip(&files) {
        let prefix = format!("{}: ", f.display());
        let err = stderr.lines().find(|l| l.starts_with(&prefix)).map(|l| {
            let msg = l
                .split_once("could not parse expression: ")
                .map_or(l, |(_, m)| m);
            msg.to_owned()
        });
        result.insert((*e).to_owned(), err.map_or(Ok(()), Err));
    }
    result
}

#[test]
fn promtool_agrees_on_acceptance_and_error_texts() {
    if !testkit::peers(
        "promql::parser_promtool::promtool_agrees_on_acceptance_and_error_texts",
        &["promtool"],
    ) {
        return;
    }
    let mut all: Vec<&str> = CORPUS.to_vec();
    all.extend(CHANGED_SINCE_2_42.iter().map(|c| c.0));
    let theirs = promtool_outcomes(&all);
    let mut failures = Vec::new();
    for q in CORPUS {
        let ours = parse(q).map(|_| ()).map_err(|e| e.to_string());
        if ours != theirs[*q] {
            failures.push(format!(
                "{q:?}\n   promtool {:?}\n   ours     {ours:?}",
                theirs[*q]
            ));
        }
    }
    for (q, old, new) in CHANGED_SINCE_2_42 {
        let ours = parse(q).map(|_| ()).map_err(|e| e.to_string());
        if theirs[*q].as_ref().err().map(String::as_str) != Some(*old)
            || ours != Err((*new).to_owned())
        {
            failures.push(format!(
                "changed {q:?}\n   promtool {:?}\n   ours     {ours:?}",
                theirs[*q]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        CORPUS.len(),
        failures.join("\n")
    );
}
