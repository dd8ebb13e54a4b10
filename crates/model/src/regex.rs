//! Go RE2 regular expressions on Rust's `regex` crate: translation of Prometheus's syntax and
//! semantics (ASCII `\d \w \s \b`, literal `\Q...\E`, Go's character-class grammar, refusal of
//! what Go refuses) and Go's `Regexp.Expand` for `$1`/`${name}` templates.
//!
//! Prometheus anchors every expression as `^(?s:RE)$`: it must match the whole value and `.`
//! matches a newline. [`translate`] does the same on the text, as Go does, then rewrites the
//! parsed syntax tree so the `regex` crate gives Go's answers.

use std::sync::OnceLock;

use ::regex::{Captures, Regex, RegexBuilder};
use regex_syntax::ast::{
    self, Assertion, AssertionKind, Ast, ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerl,
    ClassPerlKind, ClassSet, ClassSetItem, ClassSetUnion, Flag, Flags, FlagsItem, FlagsItemKind,
    Group, GroupKind, HexLiteralKind, Literal, LiteralKind, Span,
};
use regex_syntax::hir::{self, Hir};

use crate::error::ModelError;

/// The largest repetition count Go accepts (`x{1000}`).
const MAX_REPEAT: u32 = 1000;
/// Go's limit on nesting depth.
const NEST_LIMIT: u32 = 1000;
/// Compiled-program size limit: Go allows programs of up to 128 MiB (`regexp`'s `maxSize`), so a
/// dashboard's `instance=~"a|b|…"` of a megabyte compiles here too.
const SIZE_LIMIT: usize = 128 << 20;

/// Go's POSIX class names (`[[:alpha:]]`), all ASCII-only.
const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Translates a Prometheus (Go RE2) expression into `regex` crate syntax, anchored as
/// `^(?s:pattern)$` like Prometheus.
///
/// # Errors
/// [`ModelError::InvalidRegex`] when Go would refuse the expression (or when it uses the few
/// Go constructs with no equivalent here), with a Go-style reason.
pub fn translate(pattern: &str) -> Result<String, ModelError> {
    translate_inner(pattern).map(|t| t.source)
}

/// Compiles a Prometheus expression, anchored as `^(?s:pattern)$`, with Go's semantics.
///
/// # Errors
/// [`ModelError::InvalidRegex`] when Go would refuse the expression.
pub fn compile(pattern: &str) -> Result<Regex, ModelError> {
    let t = translate_inner(pattern)?;
    build(pattern, &t.source)
}

/// A translated expression and what the fast paths need to know about it.
pub(crate) struct Translated {
    /// `regex` crate syntax, anchored.
    pub(crate) source: String,
    /// Whether `(?i)` is switched on anywhere.
    pub(crate) case_insensitive: bool,
    /// The translated expression's high-level form.
    pub(crate) hir: Hir,
}

pub(crate) fn translate_inner(pattern: &str) -> Result<Translated, ModelError> {
    let invalid = |reason: String| ModelError::InvalidRegex {
        regex: pattern.to_owned(),
        reason,
    };
    let wrapped = format!("^(?s:{pattern})$");
    let text = prepass(&wrapped).map_err(invalid)?;
    let mut tree = ast::parse::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .octal(true)
        .build()
        .parse(&text)
        .map_err(|e| invalid(go_reason(&e)))?;
    let mut ctx = Ctx::default();
    rewrite(&mut tree, &text, &mut ctx).map_err(invalid)?;
    let case_insensitive = ctx.case_insensitive;
    let mut source = String::new();
    ast::print::Printer::new()
        .print(&tree, &mut source)
        .expect("printing to a String cannot fail");
    let hir = hir::translate::TranslatorBuilder::new()
        .build()
        .translate(&source, &tree)
        .map_err(|e| invalid(go_hir_reason(&e)))?;
    Ok(Translated {
        source,
        case_insensitive,
        hir,
    })
}

pub(crate) fn build(pattern: &str, source: &str) -> Result<Regex, ModelError> {
    RegexBuilder::new(source)
        .nest_limit(NEST_LIMIT)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| ModelError::InvalidRegex {
            regex: pattern.to_owned(),
            reason: e.to_string(),
        })
}

/// Go's wording for a syntax error found by the `regex-syntax` parser.
fn go_reason(e: &ast::Error) -> String {
    use ast::ErrorKind as K;
    let at = e.span();
    let snippet = e
        .pattern()
        .get(at.start.offset..at.end.offset)
        .unwrap_or("");
    let what = match e.kind() {
        K::GroupUnclosed => "missing closing )".to_owned(),
        K::GroupUnopened => "unexpected )".to_owned(),
        K::RepetitionMissing => "missing argument to repetition operator".to_owned(),
        K::ClassUnclosed => "missing closing ]".to_owned(),
        K::ClassRangeInvalid | K::ClassRangeLiteral => "invalid character class range".to_owned(),
        K::EscapeUnrecognized
        | K::EscapeHexInvalid
        | K::EscapeHexEmpty
        | K::EscapeUnexpectedEof => "invalid escape sequence".to_owned(),
        K::FlagUnrecognized
        | K::FlagDanglingNegation
        | K::FlagRepeatedNegation { .. }
        | K::FlagUnexpectedEof => "invalid or unsupported Perl syntax".to_owned(),
        K::GroupNameDuplicate { .. } => "duplicate capture group name".to_owned(),
        K::GroupNameInvalid | K::GroupNameEmpty | K::GroupNameUnexpectedEof => {
            "invalid named capture".to_owned()
        }
        K::NestLimitExceeded(_) => "expression nests too deeply".to_owned(),
        K::RepetitionCountInvalid | K::RepetitionCountDecimalEmpty | K::RepetitionCountUnclosed => {
            "invalid repeat count".to_owned()
        }
        other => other.to_string(),
    };
    format!("{what}: `{snippet}`")
}

/// Go's wording for an error translating the syntax tree (unknown Unicode classes).
fn go_hir_reason(e: &hir::Error) -> String {
    let at = e.span();
    let snippet = e
        .pattern()
        .get(at.start.offset..at.end.offset)
        .unwrap_or("");
    match e.kind() {
        hir::ErrorKind::UnicodePropertyNotFound | hir::ErrorKind::UnicodePropertyValueNotFound => {
            format!("invalid character class range: `{snippet}`")
        }
        other => format!("{other}: `{snippet}`"),
    }
}

/// Rewrites Go syntax the `regex-syntax` parser reads differently or not at all, following
/// Go's grammar: `\Q...\E` literals, `\<`/`\>` as plain characters, `{` that does not start a
/// valid repetition as a literal, repetition counts over 1000, escapes Go does not know, and
/// the inside of character classes (where Go has no nesting and no `&&`/`--`/`~~` operators).
fn prepass(src: &str) -> Result<String, String> {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    // Go refuses a repetition of a repetition (`a**`, `a*{2}`), except the lazy `?`.
    let mut after_repeat: Option<usize> = None;
    let mut names = std::collections::HashSet::new();
    while i < c.len() {
        let op_end = match c[i] {
            '*' | '+' | '?' => Some(i + 1),
            '{' => repeat_at(&c, i)?,
            _ => None,
        };
        if let Some(mut end) = op_end {
            if let Some(prev) = after_repeat {
                let op: String = c[prev..end].iter().collect();
                return Err(format!("invalid nested repetition operator: `{op}`"));
            }
            if c.get(end) == Some(&'?') {
                end += 1;
            }
            out.extend(&c[i..end]);
            after_repeat = Some(i);
            i = end;
            continue;
        }
        after_repeat = None;
        match c[i] {
            '\\' => i = escape_outside(&c, i, &mut out)?,
            '[' => i = class(&c, i, &mut out)?,
            '(' if c.get(i + 1) == Some(&'?') => i = group_open(&c, i, &mut out, &mut names)?,
            '{' => {
                out.push_str("\\{");
                i += 1;
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `(?` at `c[i]`: checks a group name as Go does (`[A-Za-z0-9_]+`) and renames a repeated one
/// (Go allows it, `$name` meaning the first; the regex crate does not) to a name Go could not
/// spell. Returns the index after what it wrote.
fn group_open(
    c: &[char],
    i: usize,
    out: &mut String,
    names: &mut std::collections::HashSet<String>,
) -> Result<usize, String> {
    let start = match (c.get(i + 2), c.get(i + 3)) {
        (Some('P'), Some('<')) => i + 4,
        (Some('<'), _) => i + 3,
        _ => {
            out.push_str("(?");
            return Ok(i + 2);
        }
    };
    let Some(len) = c[start..].iter().position(|&ch| ch == '>') else {
        let text: String = c[i..].iter().collect();
        return Err(format!("invalid named capture: `{text}`"));
    };
    let name: String = c[start..start + len].iter().collect();
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    {
        let text: String = c[i..=start + len].iter().collect();
        return Err(format!("invalid named capture: `{text}`"));
    }
    let unique = if names.contains(&name) {
        format!("{name}.{}", names.len())
    } else {
        name.clone()
    };
    names.insert(name);
    out.push_str("(?P<");
    out.push_str(&unique);
    out.push('>');
    Ok(start + len + 1)
}

/// An escape outside a class, starting at `c[i] == '\\'`; returns the index after it.
fn escape_outside(c: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&e) = c.get(i + 1) else {
        return Err("trailing backslash at end of expression".to_owned());
    };
    match e {
        'Q' => {
            let rest: String = c[i + 2..].iter().collect();
            let (lit, consumed) = match rest.find("\\E") {
                Some(p) => (&rest[..p], p + 2),
                None => (rest.as_str(), rest.len()),
            };
            out.push_str(&regex_syntax::escape(lit));
            Ok(i + 2 + rest[..consumed].chars().count())
        }
        '<' | '>' => {
            out.push(e);
            Ok(i + 2)
        }
        'p' | 'P' | 'x' => Ok(copy_braced_escape(c, i, out)),
        '1'..='7' if !c.get(i + 2).is_some_and(|d| ('0'..='7').contains(d)) => {
            Err(format!("invalid escape sequence: `\\{e}`"))
        }
        '0'..='7'
        | 'A'
        | 'b'
        | 'B'
        | 'z'
        | 'd'
        | 'D'
        | 's'
        | 'S'
        | 'w'
        | 'W'
        | 'a'
        | 'f'
        | 'n'
        | 'r'
        | 't'
        | 'v' => {
            out.push('\\');
            out.push(e);
            Ok(i + 2)
        }
        e if e.is_ascii_alphanumeric() || !e.is_ascii() => {
            Err(format!("invalid escape sequence: `\\{e}`"))
        }
        e => {
            out.push('\\');
            out.push(e);
            Ok(i + 2)
        }
    }
}

/// Copies `\pL`, `\p{Greek}`, `\x41`, `\x{263a}` (so their braces are not taken for
/// repetitions).
fn copy_braced_escape(c: &[char], i: usize, out: &mut String) -> usize {
    let mut j = i + 2;
    if c.get(j) == Some(&'{') {
        while j < c.len() && c[j] != '}' {
            j += 1;
        }
        j = (j + 1).min(c.len());
    } else {
        let n = if c[i + 1] == 'x' { 2 } else { 1 };
        j = (j + n).min(c.len());
    }
    // Go negates with `\p{^Greek}`; the regex crate spells that `\P{Greek}`.
    // (Only inside braces: `\P^` is a one-letter class named `^`, which Go refuses; taking it
    // for a negation sliced past its end, a panic AFL found through PromQL matchers.)
    if matches!(c[i + 1], 'p' | 'P') && c.get(i + 2) == Some(&'{') && c.get(i + 3) == Some(&'^') {
        out.push_str(if c[i + 1] == 'p' { "\\P{" } else { "\\p{" });
        out.extend(&c[i + 4..j]);
        return j;
    }
    out.extend(&c[i..j]);
    j
}

/// If a valid Go repetition `{n}`, `{n,}` or `{n,m}` starts at `c[i]`, the index after it.
fn repeat_at(c: &[char], i: usize) -> Result<Option<usize>, String> {
    let mut j = i + 1;
    let num = |j: &mut usize| -> Option<u64> {
        let start = *j;
        while *j < c.len() && c[*j].is_ascii_digit() {
            *j += 1;
        }
        let digits: String = c[start..*j].iter().collect();
        if digits.is_empty() {
            None
        } else {
            Some(digits.parse::<u64>().unwrap_or(u64::MAX))
        }
    };
    let Some(min) = num(&mut j) else {
        return Ok(None);
    };
    let mut max = Some(min);
    if c.get(j) == Some(&',') {
        j += 1;
        max = if c.get(j) == Some(&'}') {
            None
        } else {
            num(&mut j)
        };
        if max.is_none() && c.get(j) != Some(&'}') {
            return Ok(None);
        }
    }
    if c.get(j) != Some(&'}') {
        return Ok(None);
    }
    let text: String = c[i..=j].iter().collect();
    let too_big = |n: u64| n > u64::from(MAX_REPEAT);
    if too_big(min) || max.is_some_and(too_big) || max.is_some_and(|m| m < min) {
        return Err(format!("invalid repeat count: `{text}`"));
    }
    Ok(Some(j + 1))
}

/// A character class starting at `c[i] == '['`, read with Go's grammar and written so the
/// `regex-syntax` parser reads the same set; returns the index after the closing `]`.
fn class(c: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let whole = |end: usize| -> String { c[i..end.min(c.len())].iter().collect() };
    let mut j = i + 1;
    out.push('[');
    if c.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&ch) = c.get(j) else {
            return Err(format!("missing closing ]: `{}`", whole(c.len())));
        };
        if ch == ']' && !first {
            out.push(']');
            return Ok(j + 1);
        }
        first = false;
        if ch == '[' && c.get(j + 1) == Some(&':') {
            let rest: String = c[j + 2..].iter().collect();
            if let Some(p) = rest.find(":]") {
                let name = &rest[..p];
                let bare = name.strip_prefix('^').unwrap_or(name);
                if !POSIX_CLASSES.contains(&bare) {
                    return Err(format!("invalid character class range: `[:{name}:]`"));
                }
                out.push_str("[:");
                out.push_str(name);
                out.push_str(":]");
                j += 2 + name.chars().count() + 2;
                continue;
            }
        }
        if ch == '\\' && matches!(c.get(j + 1), Some('d' | 'D' | 's' | 'S' | 'w' | 'W')) {
            out.push('\\');
            out.push(c[j + 1]);
            j += 2;
            continue;
        }
        if ch == '\\' && matches!(c.get(j + 1), Some('p' | 'P')) {
            j = copy_braced_escape(c, j, out);
            continue;
        }
        let (lo, next) = class_char(c, j)?;
        j = next;
        push_class_char(out, lo);
        if c.get(j) == Some(&'-') && c.get(j + 1).is_some_and(|&n| n != ']') {
            let (hi, next) = class_char(c, j + 1)?;
            if hi < lo {
                return Err(format!(
                    "invalid character class range: `{}`",
                    whole(next).get(j - i - 1..).unwrap_or("")
                ));
            }
            out.push('-');
            push_class_char(out, hi);
            j = next;
        }
    }
}

/// Writes one class member unambiguously for `regex-syntax`.
fn push_class_char(out: &mut String, ch: char) {
    if ch.is_alphanumeric() || ch == '_' {
        out.push(ch);
    } else {
        out.push_str(&format!("\\x{{{:x}}}", u32::from(ch)));
    }
}

/// One character of a class (plain or escaped) at `c[j]`: its value and the index after it.
fn class_char(c: &[char], j: usize) -> Result<(char, usize), String> {
    let Some(&ch) = c.get(j) else {
        return Err("missing closing ]".to_owned());
    };
    if ch != '\\' {
        return Ok((ch, j + 1));
    }
    let Some(&e) = c.get(j + 1) else {
        return Err("trailing backslash at end of expression".to_owned());
    };
    let simple = |v: char| Ok((v, j + 2));
    match e {
        'a' => simple('\x07'),
        'f' => simple('\x0c'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\x0b'),
        '0'..='7' => {
            let mut k = j + 1;
            let mut v = 0u32;
            while k < c.len() && k < j + 4 && ('0'..='7').contains(&c[k]) {
                v = v * 8 + c[k].to_digit(8).unwrap_or(0);
                k += 1;
            }
            if e != '0' && k == j + 2 {
                return Err(format!("invalid escape sequence: `\\{e}`"));
            }
            Ok((char::from_u32(v).unwrap_or('\0'), k))
        }
        'x' => {
            let (digits, end) = if c.get(j + 2) == Some(&'{') {
                let close = (j + 3..c.len()).find(|&k| c[k] == '}');
                let Some(close) = close else {
                    return Err("invalid escape sequence: `\\x{`".to_owned());
                };
                (c[j + 3..close].iter().collect::<String>(), close + 1)
            } else {
                (
                    c.get(j + 2..j + 4)
                        .map(|s| s.iter().collect())
                        .unwrap_or_default(),
                    j + 4,
                )
            };
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
                .map(|v| (v, end))
                .ok_or_else(|| format!("invalid escape sequence: `\\x{digits}`"))
        }
        e if e.is_ascii() && !e.is_ascii_alphanumeric() => simple(e),
        e => Err(format!("invalid escape sequence: `\\{e}`")),
    }
}

/// What the rewrite learns on its way through the tree.
#[derive(Default)]
struct Ctx {
    /// Whether `(?i)` is switched on anywhere.
    case_insensitive: bool,
}

/// Refuses what Go refuses in the parsed tree and rewrites classes and word boundaries to
/// Go's ASCII meaning.
fn rewrite(node: &mut Ast, text: &str, ctx: &mut Ctx) -> Result<(), String> {
    match node {
        Ast::Flags(set) => check_flags(&set.flags, text, &mut ctx.case_insensitive)?,
        Ast::Literal(lit) => **lit = plain_literal(lit),
        Ast::ClassPerl(p) => {
            let p = (**p).clone();
            *node = Ast::class_bracketed(ClassBracketed {
                span: p.span,
                negated: p.negated,
                kind: ClassSet::Item(perl_item(&ClassPerl {
                    negated: false,
                    ..p
                })),
            });
        }
        Ast::ClassBracketed(b) => rewrite_set(&mut b.kind),
        Ast::Assertion(a)
            if matches!(
                a.kind,
                AssertionKind::WordBoundary | AssertionKind::NotWordBoundary
            ) =>
        {
            let span = a.span;
            let inner = Ast::assertion(Assertion {
                span,
                kind: a.kind.clone(),
            });
            *node = ascii_group(span, inner);
        }
        Ast::Assertion(a)
            if !matches!(
                a.kind,
                AssertionKind::StartLine
                    | AssertionKind::EndLine
                    | AssertionKind::StartText
                    | AssertionKind::EndText
            ) =>
        {
            return Err(format!(
                "invalid escape sequence: `{}`",
                span_text(text, &a.span)
            ));
        }
        Ast::Repetition(r) => rewrite(&mut r.ast, text, ctx)?,
        Ast::Group(g) => {
            if let GroupKind::NonCapturing(flags) = &g.kind {
                check_flags(flags, text, &mut ctx.case_insensitive)?;
            }
            rewrite(&mut g.ast, text, ctx)?;
        }
        Ast::Alternation(a) => {
            for x in &mut a.asts {
                rewrite(x, text, ctx)?;
            }
        }
        Ast::Concat(cat) => {
            for x in &mut cat.asts {
                rewrite(x, text, ctx)?;
            }
        }
        Ast::Empty(_) | Ast::Dot(_) | Ast::Assertion(_) | Ast::ClassUnicode(_) => {}
    }
    Ok(())
}

fn span_text<'a>(text: &'a str, span: &Span) -> &'a str {
    text.get(span.start.offset..span.end.offset).unwrap_or("")
}

/// Go knows the flags `i`, `m`, `s` and `U` only.
fn check_flags(flags: &Flags, text: &str, case_insensitive: &mut bool) -> Result<(), String> {
    let mut negated = false;
    for item in &flags.items {
        match item.kind {
            FlagsItemKind::Negation => negated = true,
            FlagsItemKind::Flag(Flag::CaseInsensitive) => *case_insensitive |= !negated,
            FlagsItemKind::Flag(Flag::MultiLine | Flag::DotMatchesNewLine | Flag::SwapGreed) => {}
            FlagsItemKind::Flag(_) => {
                let upto = text.get(..item.span.end.offset).unwrap_or(text);
                let start = upto.rfind("(?").unwrap_or(0);
                return Err(format!(
                    "invalid or unsupported Perl syntax: `{}`",
                    &upto[start..]
                ));
            }
        }
    }
    Ok(())
}

/// Octal and other escaped literals become `\x{..}`, which needs no parser options.
fn plain_literal(lit: &Literal) -> Literal {
    match lit.kind {
        LiteralKind::Octal => Literal {
            span: lit.span,
            kind: LiteralKind::HexBrace(HexLiteralKind::X),
            c: lit.c,
        },
        _ => lit.clone(),
    }
}

fn rewrite_set(set: &mut ClassSet) {
    match set {
        ClassSet::Item(item) => rewrite_item(item),
        ClassSet::BinaryOp(op) => {
            rewrite_set(&mut op.lhs);
            rewrite_set(&mut op.rhs);
        }
    }
}

fn rewrite_item(item: &mut ClassSetItem) {
    match item {
        ClassSetItem::Perl(p) => *item = perl_item(p),
        ClassSetItem::Literal(lit) => *lit = plain_literal(lit),
        ClassSetItem::Range(r) => {
            r.start = plain_literal(&r.start);
            r.end = plain_literal(&r.end);
        }
        ClassSetItem::Bracketed(b) => rewrite_set(&mut b.kind),
        ClassSetItem::Union(u) => u.items.iter_mut().for_each(rewrite_item),
        ClassSetItem::Empty(_) | ClassSetItem::Ascii(_) | ClassSetItem::Unicode(_) => {}
    }
}

/// Go's Perl classes are ASCII: `\d` = `[0-9]`, `\w` = `[0-9A-Za-z_]`, `\s` = `[\t\n\f\r ]`.
fn perl_item(p: &ClassPerl) -> ClassSetItem {
    let span = p.span;
    let positive = match p.kind {
        ClassPerlKind::Digit => ClassSetItem::Ascii(ClassAscii {
            span,
            kind: ClassAsciiKind::Digit,
            negated: false,
        }),
        ClassPerlKind::Word => ClassSetItem::Ascii(ClassAscii {
            span,
            kind: ClassAsciiKind::Word,
            negated: false,
        }),
        ClassPerlKind::Space => ClassSetItem::Union(ClassSetUnion {
            span,
            items: ['\t', '\n', '\x0c', '\r', ' ']
                .into_iter()
                .map(|c| {
                    ClassSetItem::Literal(Literal {
                        span,
                        kind: LiteralKind::HexBrace(HexLiteralKind::X),
                        c,
                    })
                })
                .collect(),
        }),
    };
    if p.negated {
        ClassSetItem::Bracketed(Box::new(ClassBracketed {
            span,
            negated: true,
            kind: ClassSet::Item(positive),
        }))
    } else {
        positive
    }
}

/// `(?-u:inner)`: Go's word boundaries look at ASCII word characters only.
fn ascii_group(span: Span, inner: Ast) -> Ast {
    let flags = Flags {
        span,
        items: vec![
            FlagsItem {
                span,
                kind: FlagsItemKind::Negation,
            },
            FlagsItem {
                span,
                kind: FlagsItemKind::Flag(Flag::Unicode),
            },
        ],
    };
    Ast::group(Group {
        span,
        kind: GroupKind::NonCapturing(flags),
        ast: Box::new(inner),
    })
}

/// Expands `template` with Go's `Regexp.Expand` rules: `$name` or `${name}` where a name is
/// a run of letters, digits and `_` (so `$1x` names the group `1x`); a name of digits without
/// a leading zero is a group number; `$$` is a `$`; a reference to a group that does not exist
/// or did not take part in the match is empty; a `$` not followed by a name is kept as is.
#[must_use]
pub fn expand(template: &str, caps: &Captures<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        if rest[1..].starts_with('$') {
            out.push('$');
            rest = &rest[2..];
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            out.push('$');
            rest = &rest[1..];
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(n) => caps.get(n),
            None => caps.name(name),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
    out
}

/// Splits `$name...` or `${name}...` into the name and what follows.
fn reference(s: &str) -> Option<(&str, &str)> {
    let body = &s[1..];
    let (inner, braced) = match body.strip_prefix('{') {
        Some(b) => (b, true),
        None => (body, false),
    };
    let len: usize = inner
        .chars()
        .take_while(|&c| c.is_alphabetic() || c.is_numeric() || c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let (name, after) = inner.split_at(len);
    if braced {
        after.strip_prefix('}').map(|a| (name, a))
    } else {
        Some((name, after))
    }
}

/// Go reads a name of ASCII digits, below 10^8 and without a leading zero, as a number.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit())
        || (name.len() > 1 && name.starts_with('0'))
        || name.len() > 8
    {
        return None;
    }
    name.parse().ok()
}

/// Whether `s` is a legacy label name in which `$name`/`${name}` references may stand for
/// characters (Prometheus's check of relabel targets under legacy name validation).
#[must_use]
pub fn is_valid_legacy_label_name_template(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$")
            .expect("the template pattern compiles")
    })
    .is_match(s)
}
