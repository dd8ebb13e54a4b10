//! Alertmanager's label matchers: `name="value"`, `=~`, `!=`, `!~`, unquoted values, lists in
//! braces (mirrors `pkg/labels/matcher.go` and `pkg/labels/parse.go`). Regular expressions have
//! Go RE2 semantics through `model::regex`, anchored as `^(?:RE)$` (no `(?s)`, unlike
//! Prometheus).

use std::cmp::Ordering;
use std::fmt;

use model::matcher::MatchOp;
use regex::Regex;

use crate::error::MatcherError;
use crate::labels::{LabelSet, is_valid_label_name};

/// One matcher on one label.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The literal or the expression, as written.
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling a regular expression with Go's syntax.
    ///
    /// # Errors
    /// Go's `error parsing regexp: ...` text when the expression does not compile.
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Self, MatcherError> {
        let re = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(compile(value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            re,
        })
    }

    /// Whether `v` (the label's value, `""` when absent) satisfies the matcher.
    #[must_use]
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::RegexMatch, Some(re)) => re.is_match(v),
            (MatchOp::RegexNoMatch, Some(re)) => !re.is_match(v),
            _ => false,
        }
    }

    /// Whether the matcher holds for the label set.
    #[must_use]
    pub fn matches_set(&self, ls: &LabelSet) -> bool {
        self.matches(ls.get(&self.name).map_or("", String::as_str))
    }

    /// Whether this is a regular-expression matcher.
    #[must_use]
    pub fn is_regex(&self) -> bool {
        matches!(self.op, MatchOp::RegexMatch | MatchOp::RegexNoMatch)
    }

    /// Whether this is a negative matcher (`!=`, `!~`).
    #[must_use]
    pub fn is_negative(&self) -> bool {
        matches!(self.op, MatchOp::NotEqual | MatchOp::RegexNoMatch)
    }
}

/// Compiles an Alertmanager regular expression: Go syntax, anchored as `^(?:RE)$`.
///
/// # Errors
/// Go's `error parsing regexp: ...` text.
pub fn compile(value: &str) -> Result<Regex, MatcherError> {
    model::regex::compile(&format!("(?-s:{value})")).map_err(|e| match e {
        model::ModelError::InvalidRegex { reason, .. } => MatcherError::Regex(reason),
        other => MatcherError::Other(other.to_string()),
    })
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}
impl Eq for Matcher {}

fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::RegexMatch => 2,
        MatchOp::RegexNoMatch => 3,
    }
}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Matcher {
    /// By name, then value, then operator, as `labels.Matchers` sorts.
    fn cmp(&self, o: &Self) -> Ordering {
        self.name
            .cmp(&o.name)
            .then_with(|| self.value.cmp(&o.value))
            .then_with(|| op_rank(self.op).cmp(&op_rank(o.op)))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    /// `name="value"` with `\`, newline and `"` escaped as in OpenMetrics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '"' => f.write_str("\\\"")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// A list of matchers, all of which must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// Whether every matcher holds for the label set.
    #[must_use]
    pub fn matches(&self, ls: &LabelSet) -> bool {
        self.0.iter().all(|m| m.matches_set(ls))
    }

    /// Sorts by name, value, operator.
    pub fn sort(&mut self) {
        self.0.sort();
    }
}

impl fmt::Display for Matchers {
    /// `{a="b",c=~"d"}`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

/// Parses a matcher list such as `{foo="bar", baz=~"x|y"}` or `foo=bar` (braces optional,
/// values quoted or not).
///
/// # Errors
/// Alertmanager's texts: `bad matcher format: ...`, `matcher value contains unescaped double
/// quote: ...`, a regular-expression error.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    quoted = !quoted;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_owned());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Splits `name op value` as Alertmanager's matcher expression does.
fn split(s: &str) -> Option<(&str, MatchOp, &str)> {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(t.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let (name, rest) = t.split_at(end);
    let rest = rest.trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::RegexMatch, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::RegexNoMatch, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else {
        return None;
    };
    Some((name, op, rest.trim()))
}

/// Parses one matcher `name op value`.
///
/// # Errors
/// As [`parse_matchers`].
pub fn parse_matcher(s: &str) -> Result<Matcher, MatcherError> {
    let (name, op, raw) = split(s).ok_or_else(|| MatcherError::Format(s.to_owned()))?;
    let (body, mut expect_quote) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let unescaped_quote = || MatcherError::UnescapedQuote(raw.to_owned());
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    let n = body.len();
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                c => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if i + 1 < n => escaped = true,
            '"' => {
                if !expect_quote || i + 1 < n {
                    return Err(unescaped_quote());
                }
                expect_quote = false;
            }
            c => value.push(c),
        }
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    if !is_valid_label_name(name) && !name.contains(':') {
        return Err(MatcherError::LabelName(name.to_owned()));
    }
    Matcher::new(op, name, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alertmanager_matcher_syntax() {
        let cases: &[(&str, &str)] = &[
            (r#"{foo="bar"}"#, r#"{foo="bar"}"#),
            ("foo=bar", r#"{foo="bar"}"#),
            (r#"foo=~"a|b", baz!=qux"#, r#"{foo=~"a|b",baz!="qux"}"#),
            (r#"{foo="a,b",x!~"y"}"#, r#"{foo="a,b",x!~"y"}"#),
            (r#"foo = "with \"quote\"""#, r#"{foo="with \"quote\""}"#),
            ("foo=", r#"{foo=""}"#),
        ];
        for (input, want) in cases {
            let got = Matchers(parse_matchers(input).unwrap()).to_string();
            assert_eq!(&got, want, "{input}");
        }
        for bad in [r#"foo="bar"#, "=bar", r#"foo="a"b""#, "foo=~(", "1x=y"] {
            assert!(parse_matchers(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn errors_are_typed_with_alertmanager_texts() {
        let cases: &[(&str, MatcherError, &str)] = &[
            (
                "=bar",
                MatcherError::Format("=bar".into()),
                "bad matcher format: =bar",
            ),
            (
                r#"foo="a"b""#,
                MatcherError::UnescapedQuote(r#""a"b""#.into()),
                r#"matcher value contains unescaped double quote: "a"b""#,
            ),
            (
                "1x=y",
                MatcherError::Format("1x=y".into()),
                "bad matcher format: 1x=y",
            ),
        ];
        for (input, want, text) in cases {
            let got = parse_matcher(input).err();
            assert_eq!(got.as_ref(), Some(want), "{input}");
            assert_eq!(
                got.map(|e| e.to_string()).as_deref(),
                Some(*text),
                "{input}"
            );
        }
        let re = parse_matcher("foo=~(").err();
        assert!(matches!(re, Some(MatcherError::Regex(_))), "{re:?}");
        assert!(
            re.unwrap()
                .to_string()
                .starts_with("error parsing regexp: ")
        );
    }

    #[test]
    fn regexes_are_anchored_without_dotall() {
        let m = parse_matcher("foo=~b.r").unwrap();
        assert!(m.matches("bar"));
        assert!(!m.matches("xbar"));
        assert!(!m.matches("b\nr"));
        let n = parse_matcher("foo!~b.*").unwrap();
        assert!(!n.matches("bar"));
        assert!(n.matches(""));
    }
}
