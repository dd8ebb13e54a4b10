//! Errors of the PromQL crate: parse errors (with their position in the query) and,
//! added by the engine, evaluation errors.

use thiserror::Error;

use crate::ast::PosRange;

/// A query that does not parse or does not type-check.
///
/// Displays as Prometheus does: `1:5: parse error: unexpected <op:+>` — line and column
/// (1-based, in bytes) of the start of the offending range, then the message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: parse error: {message}", position_text(query, pos.start))]
pub struct ParseError {
    /// The message without position, e.g. `unexpected end of input`.
    pub message: String,
    /// The byte range of the query the error refers to.
    pub pos: PosRange,
    /// The query text (used to turn the position into line:column).
    pub query: String,
}

impl ParseError {
    /// A parse error at `pos` in `query`.
    #[must_use]
    pub fn new(message: impl Into<String>, pos: PosRange, query: &str) -> Self {
        Self {
            message: message.into(),
            pos,
            query: query.to_owned(),
        }
    }

    /// `line:column` of the error's start (1-based), or `unknown position` for an empty query.
    #[must_use]
    pub fn position(&self) -> String {
        position_text(&self.query, self.pos.start)
    }
}

/// A Prometheus duration string (`1h30m`) that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration string")]
    Empty,
    /// The string is not a sequence of numbers with units in decreasing order.
    #[error("not a valid duration string: {}", crate::printer::go_quote_str(.0))]
    Invalid(String),
    /// A unit is not one of `ms s m h d w y`.
    #[error(
        "unknown unit {} in duration {}",
        crate::printer::go_quote_str(unit),
        crate::printer::go_quote_str(input)
    )]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole duration string.
        input: String,
    },
    /// The duration does not fit in 64-bit nanoseconds (about 292 years).
    #[error("duration out of range")]
    OutOfRange,
}

/// `line:column` (1-based) of byte offset `pos` in `query`, as Prometheus prints it.
fn position_text(query: &str, pos: usize) -> String {
    if query.is_empty() {
        return "unknown position".to_owned();
    }
    if pos > query.len() {
        return "invalid position".to_owned();
    }
    let before = &query.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_line_and_column() {
        let e = ParseError::new("unexpected end of input", PosRange::new(4, 5), "foo +");
        assert_eq!(e.to_string(), "1:5: parse error: unexpected end of input");
        let e = ParseError::new("x", PosRange::new(6, 6), "a\nbc\nde");
        assert_eq!(e.position(), "3:2");
        let e = ParseError::new("no expression found in input", PosRange::default(), "");
        assert_eq!(
            e.to_string(),
            "unknown position: parse error: no expression found in input"
        );
    }
}
