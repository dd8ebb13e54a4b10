//! Malformed expositions, data-driven: each case names the format, the input and the exact
//! line, column and message the parser must report.

use firewatch_model::exposition::{Entry, Format, ParseError, Parser};

use Format::{OpenMetrics as OM, Text as T};

/// (format, input, line, column, message)
const CASES: &[(Format, &str, usize, usize, &str)] = &[
    // --- text format ---
    (
        T,
        "a 1\nb{x=\"1\" 2\n",
        2,
        9,
        r#"expected comma or brace close, got "2""#,
    ),
    (T, "a{x=} 1\n", 1, 5, r#"expected label value, got "}""#),
    (
        T,
        "a{x=\"1\"\n",
        1,
        8,
        "expected comma or brace close, got end of line",
    ),
    (
        T,
        "a{x=\"1\n",
        1,
        7,
        "expected closing quote, got end of line",
    ),
    (
        T,
        "a{x=\"1",
        1,
        7,
        "expected closing quote, got end of input",
    ),
    (
        T,
        "a{x 1\n",
        1,
        5,
        r#"expected "=" after label name, got "1""#,
    ),
    (
        T,
        "a{1x=\"1\"} 1\n",
        1,
        3,
        r#"expected label name, got "1x""#,
    ),
    (T, "a{,} 1\n", 1, 3, r#"expected label name, got ",""#),
    (
        T,
        "a{x=\"1\",,} 1\n",
        1,
        9,
        r#"expected label name, got ",""#,
    ),
    (
        T,
        "a\n",
        1,
        2,
        "expected value after metric, got end of line",
    ),
    (
        T,
        "a{x=\"1\"}\n",
        1,
        9,
        "expected value after metric, got end of line",
    ),
    (T, "a abc\n", 1, 3, r#"invalid value "abc""#),
    (T, "a 0x1p3\n", 1, 3, r#"invalid value "0x1p3""#),
    (T, "a 1_000\n", 1, 3, r#"invalid value "1_000""#),
    (T, "a 1 1.5\n", 1, 5, r#"invalid timestamp "1.5""#),
    (
        T,
        "a 1 2 3\n",
        1,
        7,
        r#"expected end of line after timestamp, got "3""#,
    ),
    (T, "ok 1\n1a 1\n", 2, 1, r#"expected metric name, got "1a""#),
    (T, "{x=\"1\"} 1\n", 1, 1, "metric name not set"),
    (T, "{\"a\",\"b\"} 1\n", 1, 6, "metric name already set"),
    (
        T,
        "# TYPE a gauges\n",
        1,
        10,
        r#"invalid metric type "gauges""#,
    ),
    (T, "# TYPE a info\n", 1, 10, r#"invalid metric type "info""#),
    (
        T,
        "# HELP 1a x\n",
        1,
        8,
        r#"expected metric name after HELP, got "1a""#,
    ),
    (
        T,
        "# TYPE {a} gauge\n",
        1,
        8,
        r#"expected metric name after TYPE, got "{""#,
    ),
    (
        T,
        "# HELP a{ x\n",
        1,
        9,
        r#"expected space after metric name, got "{""#,
    ),
    (
        T,
        "a{x=\"\u{e9}\"} 1\nb{y=\"\\\"} 1\n",
        2,
        11,
        "expected closing quote, got end of line",
    ),
    (
        T,
        "x 1\n\n  y{z=\"\"} 2\n  ?\n",
        4,
        3,
        r#"expected metric name, got "?""#,
    ),
    (T, "a{\"x\"=} 1\n", 1, 7, r#"expected label value, got "}""#),
    // --- OpenMetrics ---
    (OM, "a 1\n", 2, 1, "data does not end with # EOF"),
    (OM, "a 1", 1, 4, "data does not end with # EOF"),
    (OM, "a 1\n# EOF\nb 2\n", 3, 1, "unexpected data after # EOF"),
    (OM, "# EOF\n\n", 2, 1, "unexpected data after # EOF"),
    (
        OM,
        "a 1\n\n# EOF\n",
        2,
        1,
        "expected metric name, got end of line",
    ),
    (
        OM,
        "a  1\n# EOF\n",
        1,
        3,
        r#"expected value after metric, got " ""#,
    ),
    (
        OM,
        "a{x=\"1\", y=\"2\"} 1\n# EOF\n",
        1,
        9,
        r#"expected label name, got " ""#,
    ),
    (
        OM,
        "# comment\n# EOF\n",
        1,
        1,
        r##"expected HELP, TYPE, UNIT or EOF after "# ", got "#""##,
    ),
    (
        OM,
        "# TYPE a untyped\n# EOF\n",
        1,
        10,
        r#"invalid metric type "untyped""#,
    ),
    (
        OM,
        "# UNIT a_seconds bytes\n# EOF\n",
        1,
        18,
        r#"unit "bytes" not a suffix of metric "a_seconds""#,
    ),
    (
        OM,
        "# UNIT a_xseconds seconds\n# EOF\n",
        1,
        19,
        r#"unit "seconds" not a suffix of metric "a_xseconds""#,
    ),
    (OM, "a 1 NaN\n# EOF\n", 1, 5, r#"invalid timestamp "NaN""#),
    (OM, "a 1 +Inf\n# EOF\n", 1, 5, r#"invalid timestamp "+Inf""#),
    (
        OM,
        "a 1 # {x=\"y\"}\n# EOF\n",
        1,
        14,
        "expected value after exemplar labels, got end of line",
    ),
    (
        OM,
        "a 1 # {\"x\"} 1\n# EOF\n",
        1,
        8,
        r#"expected label name, got "\"""#,
    ),
    (
        OM,
        "a 1 # x\n# EOF\n",
        1,
        5,
        r##"expected exemplar "# {", got "#""##,
    ),
    (
        OM,
        "a 1 # {x=\"y\"} 1 z\n# EOF\n",
        1,
        17,
        r#"invalid exemplar timestamp "z""#,
    ),
    (
        OM,
        "a 1 2 3\n# EOF\n",
        1,
        7,
        r#"expected exemplar or end of line after timestamp, got "3""#,
    ),
    (
        OM,
        "a 1 2 # {x=\"y\"} q\n# EOF\n",
        1,
        17,
        r#"invalid exemplar value "q""#,
    ),
    (
        OM,
        "a{x=\"1\"}1\n# EOF\n",
        1,
        9,
        r#"expected value after metric, got "1""#,
    ),
    (
        OM,
        "a\t1\n# EOF\n",
        1,
        2,
        r#"expected value after metric, got "\t""#,
    ),
    (
        OM,
        "# TYPE a counter\na_total{x=\"1\" } 1\n# EOF\n",
        2,
        14,
        r#"expected comma or brace close, got " ""#,
    ),
];

fn first_error(format: Format, input: &str) -> Option<ParseError> {
    let mut p = Parser::new(input.as_bytes(), format);
    loop {
        match p.next_entry() {
            Ok(Some(Entry::Eof) | None) => return None,
            Ok(Some(_)) => {}
            Err(e) => return Some(e),
        }
    }
}

#[test]
fn malformed_inputs_report_line_column_and_expectation() {
    assert!(CASES.len() >= 30);
    let mut failures = Vec::new();
    for (i, &(format, input, line, column, message)) in CASES.iter().enumerate() {
        match first_error(format, input) {
            Some(e) => {
                let got = (e.line, e.column, e.kind.to_string());
                if got != (line, column, message.to_owned()) {
                    failures.push(format!("case {i} {input:?}: got {got:?}"));
                } else {
                    assert_eq!(
                        e.to_string(),
                        format!("line {line}, column {column}: {message}")
                    );
                }
            }
            None => failures.push(format!("case {i} {input:?}: accepted")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
