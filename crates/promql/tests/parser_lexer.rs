//! Lexer tests: token kinds in their contexts and Prometheus's lexer error texts.

use TokenKind as T;
use firewatch_promql::lexer::{TokenKind, tokenize};

fn kinds(q: &str) -> Vec<TokenKind> {
    tokenize(q).into_iter().map(|t| t.kind).collect()
}

#[test]
fn lexes_operators_numbers_and_durations() {
    assert_eq!(
        kinds("a+ 1.5e3 >= 0x1F"),
        vec![T::Identifier, T::Add, T::Number, T::Gte, T::Number, T::Eof]
    );
    assert_eq!(kinds("5m"), vec![T::Duration, T::Eof]);
    assert_eq!(kinds("1h30m"), vec![T::Duration, T::Eof]);
    assert_eq!(kinds("Inf nan"), vec![T::Number, T::Number, T::Eof]);
    assert_eq!(
        kinds("x[5m:1m]"),
        vec![
            T::Identifier,
            T::LeftBracket,
            T::Duration,
            T::Colon,
            T::Duration,
            T::RightBracket,
            T::Eof
        ]
    );
    assert_eq!(kinds("job:rate5m"), vec![T::MetricIdentifier, T::Eof]);
}

#[test]
fn keywords_are_identifiers_inside_braces() {
    assert_eq!(
        kinds(r#"{by="x", on!~'y'}"#),
        vec![
            T::LeftBrace,
            T::Identifier,
            T::Eql,
            T::String,
            T::Comma,
            T::Identifier,
            T::NeqRegex,
            T::String,
            T::RightBrace,
            T::Eof
        ]
    );
}

#[test]
fn fill_is_a_keyword_only_before_a_paren() {
    assert_eq!(
        kinds("fill + fill (1)"),
        vec![
            T::Identifier,
            T::Add,
            T::Fill,
            T::LeftParen,
            T::Number,
            T::RightParen,
            T::Eof
        ]
    );
}

#[test]
fn errors_have_prometheus_texts() {
    let last = |q: &str| tokenize(q).pop().unwrap().kind;
    assert_eq!(last("(a"), T::Error("unclosed left parenthesis".into()));
    assert_eq!(
        last("a)"),
        T::Error("unexpected right parenthesis ')'".into())
    );
    assert_eq!(
        last("{a="),
        T::Error("unexpected end of input inside braces".into())
    );
    assert_eq!(last("\"abc"), T::Error("unterminated quoted string".into()));
    assert_eq!(
        last("1a"),
        T::Error("bad number or duration syntax: \"1\"".into())
    );
    assert_eq!(
        last("5mm"),
        T::Error("bad number or duration syntax: \"5mm\"".into())
    );
    assert_eq!(
        last("\"\\q\""),
        T::Error("unknown escape sequence U+0071 'q'".into())
    );
    assert_eq!(last("a ~ b"), T::Error("unexpected character: '~'".into()));
}
