//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's regular-expression semantics:
//! fully anchored, `.` matches newlines.

use std::fmt;

use regex::Regex;

use crate::error::ModelError;
use crate::labels::{is_valid_legacy_label_name, write_quoted};

/// The comparison a matcher applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
}

impl MatchOp {
    /// The operator as written in PromQL.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A matcher on one label: `name op "value"`.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The literal or the regular expression, as written.
    pub value: String,
    regex: Option<FastRegex>,
}

impl Matcher {
    /// Builds a matcher; regular expressions are compiled here, with Go RE2 syntax.
    ///
    /// # Errors
    /// [`ModelError::InvalidRegex`] when the expression does not compile.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, ModelError> {
        let value = value.into();
        let regex = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(FastRegex::new(&value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self { name: name.into(), op, value, regex })
    }

    /// Shorthand for an `=` matcher, which cannot fail.
    #[must_use]
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), op: MatchOp::Equal, value: value.into(), regex: None }
    }

    /// Whether the label value `v` satisfies this matcher (an absent label has value `""`).
    #[must_use]
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::RegexMatch, Some(re)) => re.is_match(v),
            (MatchOp::RegexNoMatch, Some(re)) => !re.is_match(v),
            (MatchOp::RegexMatch | MatchOp::RegexNoMatch, None) => unreachable!("regex compiled in new"),
        }
    }

    /// Whether this matcher matches the empty string (and so series without the label).
    #[must_use]
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` matchers whose expression is an alternation of literals (`a|b|c`), the
    /// literals; index lookups use them instead of scanning all values.
    #[must_use]
    pub fn set_matches(&self) -> Option<&[String]> {
        self.regex.as_ref().and_then(FastRegex::set_matches)
    }

    /// For `=~` matchers with a literal prefix, that prefix.
    #[must_use]
    pub fn prefix(&self) -> Option<&str> {
        self.regex.as_ref().and_then(FastRegex::prefix)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    /// `name="value"`, quoting the name when it is not a legacy name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_valid_legacy_label_name(&self.name) {
            f.write_str(&self.name)?;
        } else {
            write_quoted(f, &self.name)?;
        }
        f.write_str(self.op.as_str())?;
        write_quoted(f, &self.value)
    }
}

/// A compiled, fully anchored regular expression with fast paths for common shapes.
#[derive(Clone, Debug)]
pub struct FastRegex {
    re: Regex,
    set: Option<Vec<String>>,
    prefix: Option<String>,
}

impl FastRegex {
    /// Compiles `pattern` (Go RE2 syntax) anchored at both ends.
    ///
    /// # Errors
    /// [`ModelError::InvalidRegex`] when the pattern does not compile.
    pub fn new(pattern: &str) -> Result<Self, ModelError> {
        let anchored = format!("^(?s:{pattern})$");
        let re = Regex::new(&anchored).map_err(|e| ModelError::InvalidRegex {
            regex: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self { re, set: None, prefix: None })
    }

    /// Whether `s` matches the whole expression.
    #[must_use]
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// The literals of an alternation of literals, if the pattern is one.
    #[must_use]
    pub fn set_matches(&self) -> Option<&[String]> {
        self.set.as_deref()
    }

    /// The literal prefix every match starts with, if any.
    #[must_use]
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }
}
