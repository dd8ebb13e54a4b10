//! The PromQL parser: a hand-written recursive-descent / precedence-climbing parser over
//! the lexer's tokens, followed by Prometheus's type checks (`checkAST`).
//!
//! The grammar and every error text follow Prometheus 3's `promql/parser` with all
//! experimental features on (experimental functions, duration expressions, `anchored` /
//! `smoothed`, binop `fill` modifiers). Errors print as `1:5: parse error: <message>`.

mod check;
mod duration;
mod expr;
mod literals;
mod modifiers;

use model::Matcher;

pub use literals::{format_duration, parse_duration, parse_number, unquote};

use crate::ast::{Expr, PosRange};
use crate::error::ParseError;
use crate::lexer::{Token, TokenKind, tokenize};
use crate::printer::go_quote_str;

/// How deeply expressions may nest (parentheses, function arguments, operator chains,
/// subqueries). Deeper queries are refused with an error: the parser, checker and
/// printer grow their stack as needed, but whoever walks the tree recursively later
/// (evaluation, dropping it) can rely on this bound.
pub const MAX_DEPTH: usize = 1000;

/// Stack to keep free before recursing; below it a new segment is allocated.
const RED_ZONE: usize = 128 * 1024;

/// Size of each extra stack segment.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Runs `f` with at least [`RED_ZONE`] bytes of stack, allocating more if needed, so
/// recursion over deep trees cannot overflow.
pub(crate) fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// Which experimental Prometheus 3 syntax the parser accepts (Prometheus's
/// `--enable-feature=promql-experimental-functions`, `promql-duration-expr`,
/// `promql-extended-range-selectors`, `promql-binop-fill-modifiers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Experimental functions (`sort_by_label`, `info`, `limitk`...).
    pub experimental_functions: bool,
    /// Duration expressions (`[5m+1m]`, `step()`, `offset (1h*2)`).
    pub duration_expressions: bool,
    /// `anchored` and `smoothed` range selectors.
    pub extended_range_selectors: bool,
    /// `fill`, `fill_left`, `fill_right` on binary operators.
    pub binop_fill_modifiers: bool,
}

impl ParseOptions {
    /// Everything enabled (what the conformance tests use; the default).
    pub const ALL: Self = Self {
        experimental_functions: true,
        duration_expressions: true,
        extended_range_selectors: true,
        binop_fill_modifiers: true,
    };

    /// Prometheus's defaults: every experimental feature off.
    pub const PROMETHEUS_DEFAULTS: Self = Self {
        experimental_functions: false,
        duration_expressions: false,
        extended_range_selectors: false,
        binop_fill_modifiers: false,
    };
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::ALL
    }
}

/// Parses and type-checks a PromQL expression, with every experimental feature enabled.
///
/// # Errors
/// [`ParseError`] with Prometheus's message and the position of the first problem.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with_options(input, ParseOptions::ALL)
}

/// Parses and type-checks a PromQL expression, accepting the experimental syntax
/// `options` enables.
///
/// # Errors
/// See [`parse`]; disabled features are refused with Prometheus's messages (`function
/// "sort_by_label" is not enabled`...).
pub fn parse_with_options(input: &str, options: ParseOptions) -> Result<Expr, ParseError> {
    let mut p = Parser::new(input);
    p.options = options;
    if p.peek_kind() == &TokenKind::Eof {
        return Err(p.err(PosRange::default(), "no expression found in input"));
    }
    let mut e = p.parse_expr(0)?;
    if p.peek_kind() != &TokenKind::Eof {
        return Err(p.unexpected("", ""));
    }
    check::check(&mut e, input)?;
    Ok(e)
}

/// Same as [`parse`]; the name Prometheus's API uses.
///
/// # Errors
/// See [`parse`].
pub fn parse_expr(input: &str) -> Result<Expr, ParseError> {
    parse(input)
}

/// Parses a series selector alone (`up{job="x"}`, `{__name__=~"a.*"}`), as
/// `/api/v1/series?match[]=` and federation take them, and returns its matchers (the
/// metric name last, as `__name__="..."`).
///
/// Like Prometheus's `ParseMetricSelector`, no type checks are run: `{}` gives no
/// matchers, and callers apply their own rules (the API refuses selectors that match
/// everything).
///
/// # Errors
/// [`ParseError`] when the input is not exactly one vector selector.
pub fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let mut p = Parser::new(input);
    let sel = match p.peek_kind() {
        TokenKind::LeftBrace | TokenKind::Identifier | TokenKind::MetricIdentifier => {
            p.parse_selector()?
        }
        k if p.is_metric_keyword(k) => p.parse_selector()?,
        _ => return Err(p.unexpected("", "")),
    };
    if p.peek_kind() != &TokenKind::Eof {
        return Err(p.unexpected("", ""));
    }
    Ok(sel.matchers)
}

/// The parser's state: tokens (comments removed), cursor and nesting depth.
pub(crate) struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    idx: usize,
    depth: usize,
    /// End of the last consumed token (Prometheus's `lastClosing`).
    prev_end: usize,
    /// Context and expectation for syntax errors inside a duration expression.
    dur_ctx: (&'static str, &'static str),
    /// Enabled experimental features.
    options: ParseOptions,
    /// How many aggregations' argument lists enclose the cursor: syntax errors there are
    /// reported "in aggregation", as Prometheus's grammar recovers at the aggregation.
    in_aggregation: usize,
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        let tokens = tokenize(input)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Comment)
            .collect();
        Self {
            input,
            tokens,
            idx: 0,
            depth: 0,
            prev_end: 0,
            dur_ctx: ("", ""),
            options: ParseOptions::ALL,
            in_aggregation: 0,
        }
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.idx.min(self.tokens.len() - 1)]
    }

    fn peek_kind(&self) -> &TokenKind {
        &self.peek().kind
    }

    fn peek_kind_at(&self, n: usize) -> &TokenKind {
        &self.tokens[(self.idx + n).min(self.tokens.len() - 1)].kind
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if !matches!(t.kind, TokenKind::Eof | TokenKind::Error(_)) {
            self.idx += 1;
            self.prev_end = t.end;
        }
        t
    }

    fn text(&self, t: &Token) -> &'a str {
        &self.input[t.start..t.end]
    }

    fn err(&self, pos: PosRange, msg: impl Into<String>) -> ParseError {
        ParseError::new(msg, pos, self.input)
    }

    /// An error found while reducing a construct: a lexer error in the lookahead token
    /// comes first, as in Prometheus's parser.
    fn semantic(&self, pos: PosRange, msg: impl Into<String>) -> ParseError {
        if let Some(e) = self.lexer_error() {
            return e;
        }
        self.err(pos, msg)
    }

    fn lexer_error(&self) -> Option<ParseError> {
        let t = self.peek();
        match &t.kind {
            TokenKind::Error(msg) => {
                Some(self.err(PosRange::new(t.start, self.input.len()), msg.clone()))
            }
            _ => None,
        }
    }

    /// `unexpected <token>[ in <context>][, expected <expected>]`, or the lexer's error.
    fn unexpected(&self, context: &str, expected: &str) -> ParseError {
        if let Some(e) = self.lexer_error() {
            return e;
        }
        let t = self.peek();
        let mut msg = format!("unexpected {}", self.describe(t));
        let context = if context.is_empty() && self.in_aggregation > 0 {
            "aggregation"
        } else {
            context
        };
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.err(PosRange::new(t.start, t.end), msg)
    }

    /// Describes a token as Prometheus's `Item.desc()` does.
    fn describe(&self, t: &Token) -> String {
        let text = self.text(t);
        let short = || {
            if text.len() > 10 {
                let cut: String = text.chars().take(10).collect();
                format!("{}...", go_quote_str(&cut))
            } else {
                go_quote_str(text)
            }
        };
        match &t.kind {
            TokenKind::Eof => "end of input".to_owned(),
            TokenKind::Identifier => format!("identifier {}", go_quote_str(text)),
            TokenKind::MetricIdentifier => format!("metric identifier {}", go_quote_str(text)),
            TokenKind::Number => format!("number {}", short()),
            TokenKind::Duration => format!("duration {}", short()),
            TokenKind::String => format!("string {}", short()),
            TokenKind::Comment => format!("comment {}", short()),
            TokenKind::Aggregator(_) => format!("<aggr:{text}>"),
            k if k.is_operator() => format!("<op:{text}>"),
            k if k.is_keyword() => format!("<{text}>"),
            _ => short(),
        }
    }

    /// Consumes a token of kind `kind` or fails with `unexpected` in `context`.
    fn expect(&mut self, kind: &TokenKind, context: &str, expected: &str) -> PResult<Token> {
        if self.peek_kind() == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(context, expected))
        }
    }

    fn enter(&mut self, extra: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth + extra > MAX_DEPTH {
            let t = self.peek();
            return Err(self.err(
                PosRange::new(t.start, t.end),
                format!("expression nesting too deep (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_selector_alone() {
        let m = parse_metric_selector(r#"up{job="x"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            parse_metric_selector("rate(x[5m])")
                .unwrap_err()
                .to_string(),
            "1:5: parse error: unexpected \"(\""
        );
        assert!(parse_metric_selector("{}").unwrap().is_empty());
        let m = parse_metric_selector(r#"{"a.b", c!~"d"}"#).unwrap();
        assert_eq!(
            m.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [r#"__name__="a.b""#, r#"c!~"d""#]
        );
        assert_eq!(
            parse_metric_selector("up offset 5m")
                .unwrap_err()
                .to_string(),
            "1:4: parse error: unexpected <offset>"
        );
    }
}
