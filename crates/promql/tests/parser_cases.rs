//! Table-driven parser tests: each input with its expected canonical print (Prometheus's
//! `String()`) or its expected error (Prometheus's `line:col: parse error: message`).

use firewatch_promql::ast::{Expr, ValueType};
use firewatch_promql::parser::parse;

/// `(input, expected)`: `Ok(canonical form)` or `Err(full error text)`.
const CASES: &[(&str, Result<&str, &str>)] = &[
    // Literals.
    ("1", Ok("1")),
    ("+1", Ok("1")),
    ("-1", Ok("-1")),
    ("- 1", Ok("-1")),
    (".5", Ok("0.5")),
    ("5.", Ok("5")),
    ("1e3", Ok("1000")),
    ("1E-3", Ok("0.001")),
    ("0x1F", Ok("31")),
    ("0X_ff", Ok("255")),
    ("017", Ok("15")),
    ("1_000", Ok("1000")),
    ("Inf", Ok("+Inf")),
    ("-inf", Ok("-Inf")),
    ("NaN", Ok("NaN")),
    ("nAn", Ok("NaN")),
    ("5m", Ok("5m")),
    ("1h30m", Ok("1h30m")),
    ("-5m", Ok("-5m")),
    ("90m", Ok("1h30m")),
    ("1000ms", Ok("1s")),
    ("7d", Ok("1w")),
    ("\"double\"", Ok("\"double\"")),
    ("'single'", Ok("\"single\"")),
    ("`raw\\n`", Ok("\"raw\\\\n\"")),
    ("\"tab\\there\"", Ok("\"tab\\there\"")),
    ("'quote\"s'", Ok("\"quote\\\"s\"")),
    ("\"\\u00e9\\x41\"", Ok("\"éA\"")),
    ("1 # trailing comment", Ok("1")),
    ("# comment\nfoo", Ok("foo")),
    // Operators, precedence and associativity.
    ("1 + 2 * 3", Ok("1 + 2 * 3")),
    ("(1 + 2) * 3", Ok("(1 + 2) * 3")),
    ("2 ^ 3 ^ 2", Ok("2 ^ 3 ^ 2")),
    ("-2 ^ 2", Ok("-2 ^ 2")),
    ("-foo ^ 2", Ok("-foo ^ 2")),
    ("a - b - c", Ok("a - b - c")),
    ("a / b % c atan2 d", Ok("a / b % c atan2 d")),
    ("a or b and c unless d", Ok("a or b and c unless d")),
    ("a == bool 1", Ok("a == bool 1")),
    ("1 < bool 2", Ok("1 < bool 2")),
    ("a != b", Ok("a != b")),
    ("a >= b <= c", Ok("a >= b <= c")),
    ("a </ 1", Ok("a </ 1")),
    ("a >/ -Inf", Ok("a >/ -Inf")),
    ("foo * on(a, b) bar", Ok("foo * on (a, b) bar")),
    ("foo * on() bar", Ok("foo * on () bar")),
    ("foo * ignoring(a) bar", Ok("foo * ignoring (a) bar")),
    ("foo * ignoring() bar", Ok("foo * bar")),
    (
        "foo / on(a) group_left bar",
        Ok("foo / on (a) group_left () bar"),
    ),
    (
        "foo / on(a) group_left(b, c) bar",
        Ok("foo / on (a) group_left (b, c) bar"),
    ),
    (
        "foo / ignoring(a) group_right(b) bar",
        Ok("foo / ignoring (a) group_right (b) bar"),
    ),
    ("foo and on(a) bar", Ok("foo and on (a) bar")),
    ("foo or ignoring(a) bar", Ok("foo or ignoring (a) bar")),
    ("foo + fill(0) bar", Ok("foo + fill (0) bar")),
    (
        "foo + fill_left(1) fill_right(-2) bar",
        Ok("foo + fill_left (1) fill_right (-2) bar"),
    ),
    ("foo + fill_right(1) bar", Ok("foo + fill_right (1) bar")),
    (
        "foo + on(a) group_left fill(NaN) bar",
        Ok("foo + on (a) group_left () fill (NaN) bar"),
    ),
    ("foo + fill(1e6) bar", Ok("foo + fill (1e+06) bar")),
    ("fill + fill", Ok("fill + fill")),
    ("foo == bool on(a) bar", Ok("foo == bool on (a) bar")),
    // Selectors.
    ("foo", Ok("foo")),
    ("foo:bar:baz", Ok("foo:bar:baz")),
    ("foo{}", Ok("foo")),
    ("foo{a=\"b\"}", Ok("foo{a=\"b\"}")),
    ("foo{b=\"2\", a=\"1\",}", Ok("foo{a=\"1\",b=\"2\"}")),
    (
        "foo{a!=\"b\", c=~\"d.*\", e!~'f'}",
        Ok("foo{a!=\"b\",c=~\"d.*\",e!~\"f\"}"),
    ),
    ("{__name__=\"foo\"}", Ok("{__name__=\"foo\"}")),
    ("{\"foo.bar\"}", Ok("{__name__=\"foo.bar\"}")),
    (
        "{\"foo.bar\", job=\"x\"}",
        Ok("{__name__=\"foo.bar\",job=\"x\"}"),
    ),
    ("foo{\"label.name\"=\"v\"}", Ok("foo{\"label.name\"=\"v\"}")),
    ("foo{by=\"x\", on=\"y\"}", Ok("foo{by=\"x\",on=\"y\"}")),
    ("sum", Ok("sum")),
    ("sum{a=\"b\"}", Ok("sum{a=\"b\"}")),
    ("offset", Ok("offset")),
    ("foo offset 5m", Ok("foo offset 5m")),
    ("foo offset -5m", Ok("foo offset -5m")),
    ("foo OFFSET 1h30m", Ok("foo offset 1h30m")),
    ("foo offset 90", Ok("foo offset 1m30s")),
    ("foo @ 1603774568", Ok("foo @ 1603774568.000")),
    ("foo @ -100.5", Ok("foo @ -100.500")),
    ("foo @ start()", Ok("foo @ start()")),
    ("foo @ end() offset 1m", Ok("foo @ end() offset 1m")),
    ("foo offset 1m @ 10", Ok("foo @ 10.000 offset 1m")),
    ("foo[5m]", Ok("foo[5m]")),
    ("foo[300]", Ok("foo[5m]")),
    ("foo[1.5]", Ok("foo[1s500ms]")),
    ("foo[5m] offset 1w", Ok("foo[5m] offset 1w")),
    (
        "foo[5m] @ 100 offset 10m",
        Ok("foo[5m] @ 100.000 offset 10m"),
    ),
    ("foo[5m] anchored", Ok("foo[5m] anchored")),
    ("foo[5m] smoothed @ end()", Ok("foo[5m] smoothed @ end()")),
    ("foo smoothed", Ok("foo smoothed")),
    // Duration expressions.
    ("foo[5m+1m]", Ok("foo[5m + 1m]")),
    ("foo[2m*(10+5)]", Ok("foo[2m * (10 + 5)]")),
    ("foo[-5m+35m]", Ok("foo[-5m + 35m]")),
    ("foo[step()]", Ok("foo[step()]")),
    ("foo[STEP() * 2]", Ok("foo[step() * 2]")),
    ("foo[range()]", Ok("foo[range()]")),
    (
        "foo[min_of(step()+1, 1h)]",
        Ok("foo[min_of(step() + 1, 1h)]"),
    ),
    ("foo[max_of(1m, 2m)]", Ok("foo[max_of(1m, 2m)]")),
    ("foo[(5m)]", Ok("foo[(5m)]")),
    ("foo offset (1h * 2)", Ok("foo offset (1h * 2)")),
    ("foo offset -(1h * 2)", Ok("foo offset -(1h * 2)")),
    ("foo offset step()", Ok("foo offset step()")),
    ("foo offset -step()", Ok("foo offset -step()")),
    ("foo offset - -5m", Ok("foo offset 5m")),
    ("foo offset + -step()", Ok("foo offset -step()")),
    ("foo offset 2 ^ 2", Ok("foo offset 2s ^ 2")),
    ("foo offset -2 * 2", Ok("foo offset -2s * 2")),
    ("foo offset 100 + 2", Ok("foo offset 1m40s + 2")),
    ("foo[10m:step()]", Ok("foo[10m:step()]")),
    // Subqueries.
    ("foo[10m:1m]", Ok("foo[10m:1m]")),
    ("foo[10m:]", Ok("foo[10m:]")),
    (
        "rate(foo[5m])[1h:5m] offset 1d @ 100",
        Ok("rate(foo[5m])[1h:5m] @ 100.000 offset 1d"),
    ),
    ("(foo + bar)[5m:]", Ok("(foo + bar)[5m:]")),
    (
        "min_over_time(rate(foo[1m])[5m:] @ start())",
        Ok("min_over_time(rate(foo[1m])[5m:] @ start())"),
    ),
    // Aggregations.
    ("sum(foo)", Ok("sum(foo)")),
    ("SUM(foo)", Ok("sum(foo)")),
    ("sum by (a, b) (foo)", Ok("sum by (a, b) (foo)")),
    ("sum(foo) by (a)", Ok("sum by (a) (foo)")),
    ("sum without (a) (foo)", Ok("sum without (a) (foo)")),
    ("sum(foo) without ()", Ok("sum without () (foo)")),
    ("sum by () (foo)", Ok("sum(foo)")),
    ("sum by (a,) (foo)", Ok("sum by (a) (foo)")),
    ("sum by (\"a.b\") (foo)", Ok("sum by (\"a.b\") (foo)")),
    (
        "sum by (on, by, offset) (foo)",
        Ok("sum by (on, by, offset) (foo)"),
    ),
    ("topk(5, foo)", Ok("topk(5, foo)")),
    (
        "bottomk by (a) (1 + 2, foo)",
        Ok("bottomk by (a) (1 + 2, foo)"),
    ),
    ("quantile(0.9, foo)", Ok("quantile(0.9, foo)")),
    ("count_values(\"v\", foo)", Ok("count_values(\"v\", foo)")),
    ("limitk(2, foo)", Ok("limitk(2, foo)")),
    ("limit_ratio(0.5, foo)", Ok("limit_ratio(0.5, foo)")),
    ("group(foo)", Ok("group(foo)")),
    ("stddev(foo) + stdvar(foo)", Ok("stddev(foo) + stdvar(foo)")),
    // Functions.
    ("time()", Ok("time()")),
    ("rate(foo[5m])", Ok("rate(foo[5m])")),
    ("round(foo)", Ok("round(foo)")),
    ("round(foo, 5)", Ok("round(foo, 5)")),
    (
        "label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")",
        Ok("label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")"),
    ),
    (
        "histogram_quantile(0.9, sum by (le) (rate(x[5m])))",
        Ok("histogram_quantile(0.9, sum by (le) (rate(x[5m])))"),
    ),
    ("step()", Ok("step()")),
    ("start() + end()", Ok("start() + end()")),
    ("info(foo, {a=\"b\"})", Ok("info(foo, {a=\"b\"})")),
    ("info(foo)", Ok("info(foo)")),
    (
        "sort_by_label(foo, \"a\", \"b\")",
        Ok("sort_by_label(foo, \"a\", \"b\")"),
    ),
    ("day_of_week()", Ok("day_of_week()")),
    ("-rate(foo[5m])", Ok("-rate(foo[5m])")),
    ("((foo))", Ok("((foo))")),
    // Errors: lexer.
    (
        "",
        Err("unknown position: parse error: no expression found in input"),
    ),
    (
        "# just a comment\n\n",
        Err("1:1: parse error: no expression found in input"),
    ),
    (".", Err("1:1: parse error: unexpected character: '.'")),
    (
        "2.5.",
        Err("1:1: parse error: bad number or duration syntax: \"2.5.\""),
    ),
    (
        "100..4",
        Err("1:1: parse error: bad number or duration syntax: \"100..\""),
    ),
    (
        "0deadbeef",
        Err("1:1: parse error: bad number or duration syntax: \"0de\""),
    ),
    (
        "(1))",
        Err("1:5: parse error: unexpected right parenthesis ')'"),
    ),
    ("((1)", Err("1:5: parse error: unclosed left parenthesis")),
    ("(", Err("1:2: parse error: unclosed left parenthesis")),
    (
        "1 !~ 1",
        Err("1:3: parse error: unexpected character after '!': '~'"),
    ),
    (
        "1 =~ 1",
        Err("1:3: parse error: unexpected character after '=': '~'"),
    ),
    (
        "{",
        Err("1:2: parse error: unexpected end of input inside braces"),
    ),
    ("}", Err("1:1: parse error: unexpected character: '}'")),
    (
        "some_metric{a:b=\"b\"}",
        Err("1:14: parse error: unexpected character inside braces: ':'"),
    ),
    (
        "foo{a*\"b\"}",
        Err("1:6: parse error: unexpected character inside braces: '*'"),
    ),
    (
        "foo{1}",
        Err("1:5: parse error: unexpected character inside braces: '1'"),
    ),
    (
        "foo[5mm]",
        Err("1:5: parse error: bad number or duration syntax: \"5mm\""),
    ),
    (
        "foo[5m1]",
        Err("1:5: parse error: bad number or duration syntax: \"5m1\""),
    ),
    (
        "foo[\"5m\"]",
        Err("1:5: parse error: unexpected character in duration expression: '\"'"),
    ),
    (
        "foo{bar=\"baz\"}[",
        Err("1:16: parse error: unexpected end of input in duration expression"),
    ),
    (
        "foo[5s x 5s]",
        Err("1:8: parse error: unexpected character: 'x', expected ':'"),
    ),
    ("`\\``", Err("1:4: parse error: unterminated raw string")),
    (
        "\"\\",
        Err("1:1: parse error: escape sequence not terminated"),
    ),
    (
        "\"\\c\"",
        Err("1:1: parse error: unknown escape sequence U+0063 'c'"),
    ),
    (
        "\"\\x.\"",
        Err("1:1: parse error: illegal character U+002E '.' in escape sequence"),
    ),
    (
        "sum by (\"foo)(some_metric{})",
        Err("1:9: parse error: unterminated quoted string"),
    ),
    // Errors: syntax.
    ("1+", Err("1:3: parse error: unexpected end of input")),
    ("1 /", Err("1:4: parse error: unexpected end of input")),
    ("*1", Err("1:1: parse error: unexpected <op:*>")),
    ("@@", Err("1:1: parse error: unexpected <op:@>")),
    ("-=", Err("1:2: parse error: unexpected \"=\"")),
    (
        "foo bar",
        Err("1:5: parse error: unexpected identifier \"bar\""),
    ),
    ("1 2", Err("1:3: parse error: unexpected number \"2\"")),
    (
        "a - on(b) ignoring(c) d",
        Err("1:11: parse error: unexpected <ignoring>"),
    ),
    (
        "foo + group_left(baz) bar",
        Err("1:7: parse error: unexpected <group_left>"),
    ),
    (
        "some_metric{a=b}",
        Err("1:15: parse error: unexpected identifier \"b\" in label matching, expected string"),
    ),
    (
        "foo{gibberish}",
        Err(
            "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator",
        ),
    ),
    (
        "foo{__name__= =}",
        Err("1:15: parse error: unexpected \"=\" in label matching, expected string"),
    ),
    (
        "foo{,}",
        Err("1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""),
    ),
    (
        "foo{__name__=\"bar\" lol}",
        Err(
            "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\"",
        ),
    ),
    (
        "foo{\"a\"=}",
        Err("1:9: parse error: unexpected \"}\" in label matching, expected string"),
    ),
    (
        "foo[]",
        Err(
            "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()",
        ),
    ),
    (
        "foo[step]",
        Err(
            "1:9: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()",
        ),
    ),
    ("foo[5m:1m", Err("1:10: parse error: unclosed left bracket")),
    (
        "some_metric[5m] OFFSET",
        Err(
            "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()",
        ),
    ),
    (
        "some_metric[5m] @",
        Err("1:18: parse error: unexpected end of input in @, expected timestamp"),
    ),
    (
        "sum without(==)(some_metric)",
        Err("1:13: parse error: unexpected <op:==> in grouping opts, expected label"),
    ),
    (
        "sum without(,)(some_metric)",
        Err("1:13: parse error: unexpected \",\" in grouping opts, expected label"),
    ),
    (
        "sum without(foo,,)(some_metric)",
        Err("1:17: parse error: unexpected \",\" in grouping opts, expected label"),
    ),
    (
        "sum some_metric by (test)",
        Err("1:5: parse error: unexpected identifier \"some_metric\""),
    ),
    (
        "sum (some_metric) by test",
        Err("1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""),
    ),
    (
        "MIN keep_common (some_metric)",
        Err("1:5: parse error: unexpected identifier \"keep_common\""),
    ),
    (
        "sum (some_metric) without (test) by (test)",
        Err("1:34: parse error: unexpected <by>"),
    ),
    (
        "topk(some_metric,)",
        Err("1:17: parse error: trailing commas not allowed in function call args"),
    ),
    (
        "foo[5m] [1m]",
        Err("1:9: parse error: ranges only allowed for vector selectors"),
    ),
    (
        "foo[5m:][10m:1m]",
        Err("1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
    ),
    (
        "foo[5m+]",
        Err(
            "1:8: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()",
        ),
    ),
    (
        "foo[5m:step(]",
        Err(
            "1:13: parse error: unexpected \"]\" in subquery selector, expected number, duration, step(), range(), or \"]\"",
        ),
    ),
    (
        "sum(foo bar)",
        Err("1:9: parse error: unexpected identifier \"bar\" in aggregation"),
    ),
    (
        "sum by (a) (rate(x[5m]) 1)",
        Err("1:25: parse error: unexpected number \"1\" in aggregation"),
    ),
    (
        "rate(foo bar)",
        Err("1:10: parse error: unexpected identifier \"bar\""),
    ),
    (
        "vectortime())foo",
        Err("1:1: parse error: unknown function with name \"vectortime\""),
    ),
    (
        "'y' [5m] }",
        Err("1:5: parse error: ranges only allowed for vector selectors"),
    ),
    // Errors: values.
    (
        "foo[5y1hs]",
        Err("1:5: parse error: unknown unit \"hs\" in duration \"5y1hs\""),
    ),
    (
        "foo[5m1h]",
        Err("1:5: parse error: not a valid duration string: \"5m1h\""),
    ),
    (
        "foo[0m]",
        Err("1:5: parse error: duration must be greater than 0"),
    ),
    (
        "foo[-1]",
        Err("1:5: parse error: duration must be greater than 0"),
    ),
    ("foo[step()/0d]", Err("1:11: parse error: division by zero")),
    ("foo[5s%0d]", Err("1:7: parse error: modulo by zero")),
    (
        "foo offset 9.5e10",
        Err("1:12: parse error: duration out of range"),
    ),
    (
        "foo @ +Inf",
        Err("1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
    ),
    (
        "foo @ NaN",
        Err("1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
    ),
    (
        "1 offset 1d",
        Err(
            "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
        ),
    ),
    (
        "foo offset 1s offset 2s",
        Err("1:1: parse error: offset may not be set multiple times"),
    ),
    (
        "foo @ 1 @ 2",
        Err("1:1: parse error: @ <timestamp> may not be set multiple times"),
    ),
    (
        "rate(some_metric[5m]) @ 1234",
        Err(
            "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
        ),
    ),
    (
        "some_metric OFFSET 1m[5m]",
        Err("1:22: parse error: no offset modifiers allowed before range"),
    ),
    (
        "some_metric @ 1234 [5m]",
        Err("1:20: parse error: no @ modifiers allowed before range"),
    ),
    (
        "(foo + bar)[5m]",
        Err("1:12: parse error: ranges only allowed for vector selectors"),
    ),
    (
        "foo[5m] anchored smoothed",
        Err("1:1: parse error: anchored and smoothed modifiers cannot be used together"),
    ),
    (
        "foo[5m:] anchored",
        Err("1:1: parse error: anchored modifier is not supported for subqueries"),
    ),
    (
        "non_existent_function_far_bar()",
        Err("1:1: parse error: unknown function with name \"non_existent_function_far_bar\""),
    ),
    (
        "Rate(foo[5m])",
        Err("1:1: parse error: unknown function with name \"Rate\""),
    ),
    (
        "sum () by (test)",
        Err("1:1: parse error: no arguments for aggregate expression provided"),
    ),
    (
        "topk(some_metric)",
        Err(
            "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
        ),
    ),
    (
        "foo{a=~\"(\"}",
        Err("1:5: parse error: error parsing regexp: missing closing ): `(`"),
    ),
    // Errors: types.
    (
        "1 and 1",
        Err("1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
    ),
    (
        "1 == 1",
        Err("1:3: parse error: comparisons between scalars must use BOOL modifier"),
    ),
    (
        "foo or 1",
        Err("1:1: parse error: set operator \"or\" not allowed in binary scalar expression"),
    ),
    (
        "1 unless foo",
        Err("1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"),
    ),
    (
        "-\"string\"",
        Err(
            "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"",
        ),
    ),
    (
        "-test[5m]",
        Err(
            "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"",
        ),
    ),
    (
        "1 or on(bar) foo",
        Err("1:1: parse error: vector matching only allowed between instant vectors"),
    ),
    (
        "foo == on(bar) 10",
        Err("1:1: parse error: vector matching only allowed between instant vectors"),
    ),
    (
        "foo + fill(0) 1",
        Err("1:1: parse error: filling in missing series only allowed between instant vectors"),
    ),
    (
        "foo and fill(0) bar",
        Err("1:1: parse error: filling in missing series not allowed for set operators"),
    ),
    (
        "foo and on(bar) group_left(baz) bar",
        Err("1:1: parse error: no grouping allowed for \"and\" operation"),
    ),
    (
        "foo unless on(bar) group_right(baz) bar",
        Err("1:1: parse error: no grouping allowed for \"unless\" operation"),
    ),
    (
        "a + on(instance) group_left(job,instance) b",
        Err("1:3: parse error: label \"instance\" must not occur in ON and GROUP clause at once"),
    ),
    (
        "foo + bool bar",
        Err("1:5: parse error: bool modifier can only be used on comparison operators"),
    ),
    (
        "foo and bool 10",
        Err("1:5: parse error: bool modifier can only be used on comparison operators"),
    ),
    (
        "foo[5m] + 1",
        Err(
            "1:1: parse error: binary expression must contain only scalar and instant vector types",
        ),
    ),
    (
        "\"a\" + 1",
        Err(
            "1:1: parse error: binary expression must contain only scalar and instant vector types",
        ),
    ),
    (
        "{}",
        Err("1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ),
    (
        "{x=\"\"}",
        Err("1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ),
    (
        "{x=~\".*\"}",
        Err("1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ),
    (
        "{x!~\".+\"}",
        Err("1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ),
    (
        "{x!=\"a\"}",
        Err("1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ),
    (
        "foo{__name__=\"bar\"}",
        Err("1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""),
    ),
    (
        "topk(some_metric, other_metric)",
        Err("1:6: parse error: expected type scalar in aggregation parameter, got instant vector"),
    ),
    (
        "count_values(5, other_metric)",
        Err("1:14: parse error: expected type string in aggregation parameter, got scalar"),
    ),
    (
        "sum(foo[5m])",
        Err(
            "1:5: parse error: expected type instant vector in aggregation expression, got range vector",
        ),
    ),
    (
        "floor()",
        Err("1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"),
    ),
    (
        "floor(some_metric, other_metric)",
        Err("1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"),
    ),
    (
        "floor(1)",
        Err(
            "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar",
        ),
    ),
    (
        "hour(some_metric, some_metric, some_metric)",
        Err("1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3"),
    ),
    (
        "label_join(foo)",
        Err("1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1"),
    ),
    (
        "time(some_metric)",
        Err("1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"),
    ),
    (
        "rate(some_metric)",
        Err(
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
    ),
    (
        "rate(avg)",
        Err(
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
    ),
    (
        "a>b()",
        Err("1:3: parse error: unknown function with name \"b\""),
    ),
    (
        "test[5d] OFFSET 10s [10m:5s]",
        Err("1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
    ),
    (
        "rate(food[1m])[1h] offset 1h",
        Err("1:15: parse error: ranges only allowed for vector selectors"),
    ),
    (
        "info(rate(x[5m]), target_info{foo=\"bar\"})",
        Err("1:19: parse error: expected label selectors only, got vector selector instead"),
    ),
    (
        "info(x, {foo=\"bar\"} == 1)",
        Err("1:9: parse error: expected label selectors only"),
    ),
    (
        "1[5m] anchored",
        Err("1:2: parse error: ranges only allowed for vector selectors"),
    ),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (input, want) in CASES {
        let got = parse(input)
            .map(|e| e.to_string())
            .map_err(|e| e.to_string());
        let got = got.as_ref().map(String::as_str).map_err(String::as_str);
        if got != *want {
            failures.push(format!("{input:?}\n   want {want:?}\n    got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn canonical_forms_round_trip() {
    for (input, want) in CASES {
        let Ok(printed) = want else { continue };
        let mut first = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let mut again = parse(printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        first.canonicalize();
        again.canonicalize();
        assert_eq!(first, again, "{input} vs {printed}");
    }
}

#[test]
fn value_types_and_vector_matching() {
    let t = |q: &str| parse(q).unwrap().value_type();
    assert_eq!(t("1 + 2"), ValueType::Scalar);
    assert_eq!(t("foo + 2"), ValueType::Vector);
    assert_eq!(t("foo[5m]"), ValueType::Matrix);
    assert_eq!(t("foo[5m:]"), ValueType::Matrix);
    assert_eq!(t("\"s\""), ValueType::String);
    assert_eq!(t("scalar(foo)"), ValueType::Scalar);
    assert_eq!(t("-(1)"), ValueType::Scalar);

    let Expr::Binary(b) = parse("foo and bar").unwrap() else {
        panic!("binary")
    };
    assert_eq!(b.matching.unwrap().card.as_str(), "many-to-many");
    let Expr::Binary(b) = parse("foo * 2").unwrap() else {
        panic!("binary")
    };
    assert!(b.matching.is_none());
    let Expr::Binary(b) = parse("foo / on(a) group_left(b) bar").unwrap() else {
        panic!("binary")
    };
    let vm = b.matching.unwrap();
    assert_eq!(
        (vm.card.as_str(), vm.on, vm.matching_labels, vm.include),
        (
            "many-to-one",
            true,
            vec!["a".to_owned()],
            vec!["b".to_owned()]
        )
    );
    let Expr::Call(c) = parse("info(foo, {a=\"b\"})").unwrap() else {
        panic!("call")
    };
    let Expr::VectorSelector(v) = &c.args[1] else {
        panic!("selector")
    };
    assert!(v.bypass_empty_matcher_check);
}

#[test]
fn positions_cover_the_source() {
    let q = "sum by (a) (rate(foo{x=\"y\"}[5m] offset 1m))";
    let Expr::Aggregate(a) = parse(q).unwrap() else {
        panic!("aggregate")
    };
    assert_eq!((a.pos.start, a.pos.end), (0, q.len()));
    let Expr::Call(c) = a.expr.as_ref() else {
        panic!("call")
    };
    assert_eq!(
        &q[c.pos.start..c.pos.end],
        "rate(foo{x=\"y\"}[5m] offset 1m)"
    );
    let Expr::MatrixSelector(m) = &c.args[0] else {
        panic!("matrix")
    };
    assert_eq!(
        &q[m.vector_selector.pos.start..m.end_pos],
        "foo{x=\"y\"}[5m] offset 1m"
    );
}

#[test]
fn duration_expressions_evaluate_with_the_query_step_and_range() {
    use firewatch_promql::ast::DurationContext;
    let ctx = DurationContext {
        step_ms: 15_000,
        range_ms: 3_600_000,
    };
    let range_of = |q: &str| match parse(q).unwrap() {
        Expr::MatrixSelector(m) => (
            m.range,
            m.range_expr
                .map(|e| (e.eval_millis(ctx), e.uses_query_params())),
        ),
        e => panic!("{q} parsed as {e:?}"),
    };
    assert_eq!(range_of("foo[5m]"), (300_000, None));
    assert_eq!(range_of("foo[5m + 1m]"), (0, Some((360_000, false))));
    assert_eq!(range_of("foo[step() * 2 + 1m]"), (0, Some((90_000, true))));
    assert_eq!(
        range_of("foo[min_of(range(), 10m)]"),
        (0, Some((600_000, true)))
    );
    assert_eq!(
        range_of("foo[max_of(-step(), 2 ^ 3)]"),
        (0, Some((8_000, true)))
    );
    assert_eq!(range_of("foo[1h30m % 1h]"), (0, Some((1_800_000, false))));
    let Expr::VectorSelector(v) = parse("foo offset -(1h * 2)").unwrap() else {
        panic!("selector")
    };
    assert_eq!(
        v.original_offset_expr.map(|e| e.eval_millis(ctx)),
        Some(-7_200_000)
    );
    let Expr::VectorSelector(v) = parse("foo offset -90s").unwrap() else {
        panic!("selector")
    };
    assert_eq!((v.original_offset, v.offset), (-90_000, -90_000));
}

#[test]
fn experimental_syntax_can_be_disabled() {
    use firewatch_promql::parser::{ParseOptions, parse_with_options};
    let off = ParseOptions::PROMETHEUS_DEFAULTS;
    let err = |q: &str| parse_with_options(q, off).unwrap_err().to_string();
    assert_eq!(
        err("sort_by_label(foo, \"a\")"),
        "1:1: parse error: function \"sort_by_label\" is not enabled"
    );
    assert_eq!(
        err("limitk(2, foo)"),
        "1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
    );
    assert_eq!(
        err("foo[5m+1m]"),
        "1:5: parse error: experimental duration expression is not enabled"
    );
    assert_eq!(
        err("foo offset step()"),
        "1:12: parse error: experimental duration expression is not enabled"
    );
    assert_eq!(
        err("foo[5m] anchored"),
        "1:1: parse error: anchored modifier is experimental and not enabled"
    );
    assert_eq!(
        err("a + fill(0) b"),
        "1:1: parse error: binop fill modifiers are experimental and not enabled"
    );
    for q in [
        "rate(foo[5m])",
        "foo offset -5m",
        "fill + fill",
        "topk(2, foo)",
        "foo[300]",
    ] {
        assert!(parse_with_options(q, off).is_ok(), "{q}");
    }
    assert!(parse_with_options("sort_by_label(foo, \"a\")", ParseOptions::default()).is_ok());
}
