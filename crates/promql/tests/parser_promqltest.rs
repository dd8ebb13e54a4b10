//! Every `eval` expression of the Prometheus conformance scripts (`promqltest/` in the
//! shared conformance data, found through `testkit::shared_path`)
//! must parse (the Go harness rejects a whole file whose expression does not parse, so
//! `expect fail` never covers parse errors), and its canonical print must parse back to
//! the same tree.

use std::fs;

use firewatch_promql::parser::parse;

/// The expression of an `eval` line: what follows `at <time>` or `step <step>`.
fn eval_expr(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("eval")?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '_');
    let words: Vec<&str> = rest.split_whitespace().collect();
    // `instant at T expr...` or `range from A to B step S expr...`
    let skip = match *words.first()? {
        "instant" => 3,
        "range" => 7,
        _ => return None,
    };
    let mut idx = 0;
    let mut seen = 0;
    let bytes = rest.as_bytes();
    // Skip `skip` whitespace-separated words, keeping the rest of the line verbatim.
    while seen < skip {
        while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
            idx += 1;
        }
        while idx < bytes.len() && !bytes[idx].is_ascii_whitespace() {
            idx += 1;
        }
        seen += 1;
    }
    Some(rest[idx..].trim())
}

#[test]
fn every_eval_expression_parses_and_round_trips() {
    let Some(dir) = testkit::shared_path("promqltest::parser_round_trip", "promqltest") else {
        return;
    };
    let mut files = 0;
    let mut exprs = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .collect();
    entries.sort_by_key(fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "test") {
            continue;
        }
        files += 1;
        let text = fs::read_to_string(&path).expect("readable test file");
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let Some(q) = eval_expr(line) else { continue };
            exprs += 1;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let mut e = match parse(q) {
                Ok(e) => e,
                Err(err) => {
                    failures.push(format!("{name}:{}: {q}\n    {err}", n + 1));
                    continue;
                }
            };
            let printed = e.to_string();
            match parse(&printed) {
                Ok(mut again) => {
                    e.canonicalize();
                    again.canonicalize();
                    if e != again {
                        failures.push(format!(
                            "{name}:{}: {q}\n    printed {printed} parses differently",
                            n + 1
                        ));
                    }
                }
                Err(err) => failures.push(format!(
                    "{name}:{}: {q}\n    printed {printed}: {err}",
                    n + 1
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {exprs} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(files, 21, "expected the 21 upstream test files");
    assert!(exprs >= 2213, "only {exprs} eval expressions found");
}
