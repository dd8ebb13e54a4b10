//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's regular-expression semantics:
//! fully anchored, `.` matches newlines.

use std::fmt;

use std::collections::HashSet;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

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
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ModelError> {
        let value = value.into();
        let regex = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(FastRegex::new(&value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    /// Shorthand for an `=` matcher, which cannot fail.
    #[must_use]
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether the label value `v` satisfies this matcher (an absent label has value `""`).
    #[must_use]
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::RegexMatch, Some(re)) => re.is_match(v),
            (MatchOp::RegexNoMatch, Some(re)) => !re.is_match(v),
            (MatchOp::RegexMatch | MatchOp::RegexNoMatch, None) => {
                unreachable!("regex compiled in new")
            }
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

/// A compiled, fully anchored regular expression with fast paths for common shapes, like
/// Prometheus's `FastRegexMatcher`: literals and alternations of literals compare strings,
/// `foo.*`, `.*foo`, `.*foo.*` (and any mix of literals with `.*`/`.+`) search literals, `.*`
/// matches everything; only other expressions run the regex engine.
#[derive(Clone, Debug)]
pub struct FastRegex {
    re: Regex,
    fast: Fast,
    set: Option<Vec<String>>,
    prefix: Option<String>,
}

/// The most strings an alternation of literals expands to (Prometheus's `maxSetMatches`).
const MAX_SET_MATCHES: usize = 256;
/// The most characters a class may hold to count as a literal position.
const MAX_CLASS_CHARS: u32 = 16;
/// Sets larger than this are looked up in a hash set.
const LINEAR_SET_MAX: usize = 16;

impl FastRegex {
    /// Compiles `pattern` (Go RE2 syntax) anchored at both ends, `.` matching newlines.
    ///
    /// # Errors
    /// [`ModelError::InvalidRegex`] when Go would refuse the pattern.
    pub fn new(pattern: &str) -> Result<Self, ModelError> {
        let t = crate::regex::translate_inner(pattern)?;
        let re = crate::regex::build(pattern, &t.source)?;
        let (fast, set, prefix) = match unanchored(&t.hir) {
            Some(body) => analyze(&body, t.case_insensitive),
            None => (Fast::Regex, None, None),
        };
        Ok(Self {
            re,
            fast,
            set,
            prefix,
        })
    }

    /// Whether `s` matches the whole expression.
    #[must_use]
    pub fn is_match(&self, s: &str) -> bool {
        match &self.fast {
            Fast::Regex => {
                self.prefix.as_deref().is_none_or(|p| s.starts_with(p)) && self.re.is_match(s)
            }
            fast => fast.is_match(s),
        }
    }

    /// The compiled regular expression (for capture groups); matching through
    /// [`FastRegex::is_match`] is faster.
    #[must_use]
    pub fn regex(&self) -> &Regex {
        &self.re
    }

    /// The literals of an alternation of literals (`a|b|c`, also `(a|b)c` and small classes
    /// like `x[12]`), if the pattern is one and is case-sensitive.
    #[must_use]
    pub fn set_matches(&self) -> Option<&[String]> {
        self.set.as_deref()
    }

    /// The literal prefix every match starts with, if any.
    #[must_use]
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Whether matching avoids the regex engine (for tests and benchmarks).
    #[must_use]
    pub fn is_fast(&self) -> bool {
        !matches!(self.fast, Fast::Regex)
    }
}

/// How a [`FastRegex`] decides a match.
#[derive(Clone, Debug)]
enum Fast {
    /// Run the regex engine.
    Regex,
    /// One of a set of strings.
    Set(Box<SetMatch>),
    /// Words separated by runs of any characters.
    Glob(Glob),
    /// Any of several fast matchers.
    Any(Vec<Fast>),
}

impl Fast {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Fast::Regex => unreachable!("handled by FastRegex"),
            Fast::Set(set) => set.is_match(s),
            Fast::Glob(g) => g.is_match(s),
            Fast::Any(v) => v.iter().any(|f| f.is_match(s)),
        }
    }
}

/// Exact strings, with a cheap rejection by length and first byte before comparing.
#[derive(Clone, Debug)]
struct SetMatch {
    /// The strings, compared one by one when there are few.
    small: Vec<String>,
    /// The strings, hashed when there are many.
    large: Option<HashSet<String>>,
    /// Which first bytes occur.
    first: [bool; 256],
    has_empty: bool,
    min_len: usize,
    max_len: usize,
}

impl SetMatch {
    fn new(strings: Vec<String>) -> Self {
        let mut first = [false; 256];
        for s in &strings {
            if let Some(&b) = s.as_bytes().first() {
                first[usize::from(b)] = true;
            }
        }
        let large = (strings.len() > LINEAR_SET_MAX).then(|| strings.iter().cloned().collect());
        Self {
            has_empty: strings.iter().any(String::is_empty),
            min_len: strings.iter().map(String::len).min().unwrap_or(0),
            max_len: strings.iter().map(String::len).max().unwrap_or(0),
            first,
            large,
            small: strings,
        }
    }

    fn is_match(&self, s: &str) -> bool {
        let Some(&b) = s.as_bytes().first() else {
            return self.has_empty;
        };
        if !self.first[usize::from(b)] || s.len() < self.min_len || s.len() > self.max_len {
            return false;
        }
        match &self.large {
            Some(h) => h.contains(s),
            None => self.small.iter().any(|x| x == s),
        }
    }
}

/// A sequence of characters, each position allowing a few (`(?i)k` allows `k`, `K`, `K`).
#[derive(Clone, Debug)]
enum Word {
    /// Exactly this string, with a prepared substring searcher.
    Exact(String, Box<memchr::memmem::Finder<'static>>),
    /// One of the characters at each position.
    Chars(Vec<Vec<char>>),
}

impl Word {
    fn from_positions(pos: Vec<Vec<char>>) -> Self {
        if pos.iter().all(|p| p.len() == 1) {
            Word::exact(pos.iter().map(|p| p[0]).collect())
        } else {
            Word::Chars(pos)
        }
    }

    fn exact(text: String) -> Self {
        let finder = Box::new(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
        Word::Exact(text, finder)
    }

    /// The fewest and most bytes the word can take.
    fn len_bounds(&self) -> (usize, usize) {
        match self {
            Word::Exact(w, _) => (w.len(), w.len()),
            Word::Chars(pos) => pos.iter().fold((0, 0), |(lo, hi), p| {
                let lens = p.iter().map(|c| c.len_utf8());
                (
                    lo + lens.clone().min().unwrap_or(0),
                    hi + lens.max().unwrap_or(0),
                )
            }),
        }
    }

    /// If the word starts `s`, the byte length it covers.
    fn match_prefix(&self, s: &str) -> Option<usize> {
        match self {
            Word::Exact(w, _) => s.starts_with(w.as_str()).then_some(w.len()),
            Word::Chars(pos) => {
                let mut it = s.char_indices();
                for p in pos {
                    let (_, c) = it.next()?;
                    if !p.contains(&c) {
                        return None;
                    }
                }
                Some(it.next().map_or(s.len(), |(i, _)| i))
            }
        }
    }

    /// If the word ends `s`, the byte offset where it starts.
    fn match_suffix(&self, s: &str) -> Option<usize> {
        match self {
            Word::Exact(w, _) => s.ends_with(w.as_str()).then(|| s.len() - w.len()),
            Word::Chars(pos) => {
                let mut it = s.char_indices().rev();
                let mut start = s.len();
                for p in pos.iter().rev() {
                    let (i, c) = it.next()?;
                    if !p.contains(&c) {
                        return None;
                    }
                    start = i;
                }
                Some(start)
            }
        }
    }

    /// The leftmost occurrence at or after byte `from`: the byte offset just after it.
    fn find(&self, s: &str, from: usize) -> Option<usize> {
        match self {
            Word::Exact(w, finder) => finder
                .find(&s.as_bytes()[from..])
                .map(|i| from + i + w.len()),
            Word::Chars(_) => s[from..]
                .char_indices()
                .find_map(|(i, _)| self.match_prefix(&s[from + i..]).map(|n| from + i + n)),
        }
    }
}

/// Literal words separated by gaps of any characters (`.*` or `.+`): an optional anchored
/// head, words found leftmost in order, an optional anchored tail.
#[derive(Clone, Debug)]
struct Glob {
    head: Option<Word>,
    /// Least number of characters before the first middle word (or the tail).
    first_gap: usize,
    /// Middle words, each followed by the least number of characters after it.
    middle: Vec<(Word, usize)>,
    tail: Option<Word>,
    /// Whether there is any gap; without one the head is the whole string.
    open: bool,
    /// The fewest bytes a match has.
    min_len: usize,
    /// The most bytes a match has, if bounded.
    max_len: Option<usize>,
}

impl Glob {
    fn new(
        head: Option<Word>,
        first_gap: usize,
        middle: Vec<(Word, usize)>,
        tail: Option<Word>,
        open: bool,
    ) -> Self {
        let bounds = |w: &Option<Word>| w.as_ref().map_or((0, 0), Word::len_bounds);
        let (head_lo, head_hi) = bounds(&head);
        let min_len = head_lo
            + bounds(&tail).0
            + first_gap
            + middle
                .iter()
                .map(|(w, g)| w.len_bounds().0 + g)
                .sum::<usize>();
        let max_len = (!open).then_some(head_hi);
        Self {
            head,
            first_gap,
            middle,
            tail,
            open,
            min_len,
            max_len,
        }
    }

    fn is_match(&self, s: &str) -> bool {
        if s.len() < self.min_len || self.max_len.is_some_and(|m| s.len() > m) {
            return false;
        }
        let mut lo = 0;
        let mut hi = s.len();
        if let Some(h) = &self.head {
            match h.match_prefix(s) {
                Some(n) => lo = n,
                None => return false,
            }
        }
        if !self.open {
            return lo == s.len();
        }
        if let Some(t) = &self.tail {
            match t.match_suffix(s) {
                Some(start) if start >= lo => hi = start,
                _ => return false,
            }
        }
        let body = &s[..hi];
        let Some(mut pos) = skip_chars(body, lo, self.first_gap) else {
            return false;
        };
        for (word, gap) in &self.middle {
            let Some(end) = word.find(body, pos) else {
                return false;
            };
            match skip_chars(body, end, *gap) {
                Some(p) => pos = p,
                None => return false,
            }
        }
        true
    }
}

/// Byte offset `n` characters after `from`, if `s` has that many.
fn skip_chars(s: &str, from: usize, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(from);
    }
    let mut it = s[from..].char_indices();
    it.nth(n - 1)?;
    Some(it.next().map_or(s.len(), |(i, _)| from + i))
}

/// The expression inside Prometheus's `^(?s:...)$`, as a list of concatenated parts.
fn unanchored(hir: &Hir) -> Option<Vec<&Hir>> {
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    let (first, rest) = items.split_first()?;
    let (last, body) = rest.split_last()?;
    let is_look = |h: &Hir, l: Look| matches!(h.kind(), HirKind::Look(x) if *x == l);
    (is_look(first, Look::Start) && is_look(last, Look::End)).then(|| body.iter().collect())
}

fn analyze(body: &[&Hir], case_insensitive: bool) -> (Fast, Option<Vec<String>>, Option<String>) {
    let mut prefix = String::new();
    for h in body {
        if !literal_prefix(h, &mut prefix) {
            break;
        }
    }
    let prefix = (!prefix.is_empty()).then_some(prefix);
    if !case_insensitive && let Some(mut set) = literal_set_seq(body) {
        let mut seen = HashSet::new();
        set.retain(|s| seen.insert(s.clone()));
        return (
            Fast::Set(Box::new(SetMatch::new(set.clone()))),
            Some(set),
            prefix,
        );
    }
    let fast = match body {
        [one] => fast_node(one),
        _ => glob(body).map(Fast::Glob),
    };
    (fast.unwrap_or(Fast::Regex), None, prefix)
}

/// Appends the literal `h` starts with; true when all of `h` was a literal.
fn literal_prefix(h: &Hir, out: &mut String) -> bool {
    match h.kind() {
        HirKind::Literal(l) => {
            out.push_str(std::str::from_utf8(&l.0).unwrap_or_default());
            true
        }
        HirKind::Empty => true,
        HirKind::Capture(c) => literal_prefix(&c.sub, out),
        HirKind::Concat(v) => v.iter().all(|x| literal_prefix(x, out)),
        _ => false,
    }
}

fn fast_node(h: &Hir) -> Option<Fast> {
    match h.kind() {
        HirKind::Capture(c) => fast_node(&c.sub),
        HirKind::Alternation(v) => {
            let mut parts = Vec::with_capacity(v.len());
            for x in v {
                match fast_node(x)? {
                    Fast::Any(inner) => parts.extend(inner),
                    f => parts.push(f),
                }
            }
            Some(Fast::Any(parts))
        }
        HirKind::Concat(v) => glob(&v.iter().collect::<Vec<_>>()).map(Fast::Glob),
        _ => glob(&[h]).map(Fast::Glob),
    }
}

/// One element of a glob.
enum Piece {
    Positions(Vec<Vec<char>>),
    Gap(usize),
}

fn glob(parts: &[&Hir]) -> Option<Glob> {
    let mut pieces = Vec::new();
    for h in parts {
        push_pieces(h, &mut pieces)?;
    }
    // Merge neighbours: words into one word, gaps into one gap.
    let mut merged: Vec<Piece> = Vec::new();
    for p in pieces {
        match (merged.last_mut(), p) {
            (Some(Piece::Positions(a)), Piece::Positions(b)) => a.extend(b),
            (Some(Piece::Gap(a)), Piece::Gap(b)) => *a += b,
            (_, p) => merged.push(p),
        }
    }
    let mut rest = merged;
    let head = match rest.first() {
        Some(Piece::Positions(_)) => match rest.remove(0) {
            Piece::Positions(p) => Some(Word::from_positions(p)),
            Piece::Gap(_) => None,
        },
        _ => None,
    };
    let first_gap = match rest.first() {
        Some(Piece::Gap(n)) => *n,
        Some(Piece::Positions(_)) => return None,
        // A single word and no gap: an exact (possibly case-folded) string.
        None => {
            let head = head.unwrap_or_else(|| Word::exact(String::new()));
            return Some(Glob::new(Some(head), 0, Vec::new(), None, false));
        }
    };
    rest.remove(0);
    let tail = match rest.last() {
        Some(Piece::Positions(_)) => match rest.pop() {
            Some(Piece::Positions(p)) => Some(Word::from_positions(p)),
            _ => None,
        },
        _ => None,
    };
    let mut middle = Vec::new();
    let mut words = rest.into_iter();
    while let Some(Piece::Positions(p)) = words.next() {
        let Some(Piece::Gap(g)) = words.next() else {
            return None;
        };
        middle.push((Word::from_positions(p), g));
    }
    Some(Glob::new(head, first_gap, middle, tail, true))
}

fn push_pieces(h: &Hir, out: &mut Vec<Piece>) -> Option<()> {
    match h.kind() {
        HirKind::Empty => {}
        HirKind::Literal(l) => out.push(Piece::Positions(
            std::str::from_utf8(&l.0)
                .ok()?
                .chars()
                .map(|c| vec![c])
                .collect(),
        )),
        HirKind::Class(c) => out.push(Piece::Positions(vec![small_class(c)?])),
        HirKind::Capture(c) => push_pieces(&c.sub, out)?,
        HirKind::Concat(v) => {
            for x in v {
                push_pieces(x, out)?;
            }
        }
        HirKind::Repetition(r) if r.max.is_none() && r.min <= 1 && is_any_char(&r.sub) => {
            out.push(Piece::Gap(r.min as usize));
        }
        _ => return None,
    }
    Some(())
}

/// Whether `h` is `.` under `(?s)`: any character at all.
fn is_any_char(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().len() == 1
                && c.ranges()[0].start() == '\0'
                && c.ranges()[0].end() == char::MAX
        }
        _ => false,
    }
}

/// The characters of a class that holds only a few.
fn small_class(c: &Class) -> Option<Vec<char>> {
    let Class::Unicode(c) = c else {
        return None;
    };
    let total: u32 = c
        .ranges()
        .iter()
        .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
        .sum();
    if total > MAX_CLASS_CHARS {
        return None;
    }
    Some(
        c.ranges()
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .collect(),
    )
}

/// The strings a concatenation matches, if it is made of literals, small classes and
/// alternations of those, and they are not too many.
fn literal_set_seq(parts: &[&Hir]) -> Option<Vec<String>> {
    let mut acc = vec![String::new()];
    for h in parts {
        let next = literal_set(h)?;
        if acc.len() * next.len() > MAX_SET_MATCHES {
            return None;
        }
        acc = acc
            .iter()
            .flat_map(|a| next.iter().map(move |b| format!("{a}{b}")))
            .collect();
    }
    Some(acc)
}

fn literal_set(h: &Hir) -> Option<Vec<String>> {
    match h.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(l) => Some(vec![std::str::from_utf8(&l.0).ok()?.to_owned()]),
        HirKind::Class(c) => Some(small_class(c)?.into_iter().map(String::from).collect()),
        HirKind::Capture(c) => literal_set(&c.sub),
        HirKind::Concat(v) => literal_set_seq(&v.iter().collect::<Vec<_>>()),
        HirKind::Alternation(v) => {
            let mut out = Vec::new();
            for x in v {
                out.extend(literal_set(x)?);
                if out.len() > MAX_SET_MATCHES {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Look(_) | HirKind::Repetition(_) => None,
    }
}
