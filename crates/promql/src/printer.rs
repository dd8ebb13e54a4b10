//! Printing expressions: the canonical one-line form of Prometheus's `String()` (the
//! `Display` of [`Expr`]; parsing it gives the same tree back) and the indented form of
//! `format_query` (Prometheus's `Prettify`), see [`prettify`].

use std::fmt::{self, Write};

use crate::ast::{
    AggregateExpr, BinaryExpr, DurationExpr, Expr, MatrixSelector, NumberLiteral, PosRange,
    StartOrEnd, SubqueryExpr, UnaryOp, VectorMatchCardinality, VectorSelector,
};
use crate::parser::format_duration;

/// A string as Go's `strconv.Quote` prints it.
pub use model::gofmt::quote as go_quote_str;

/// A character as Go's `%q` prints a rune (`'a'`), or `'\x00'`-style escapes; EOF is `-1`.
pub(crate) fn go_char(c: Option<char>) -> String {
    match c {
        None => "'\\uffffffff'".into(),
        Some('\'') => "'\\''".into(),
        Some('\\') => "'\\\\'".into(),
        Some('\n') => "'\\n'".into(),
        Some('\t') => "'\\t'".into(),
        Some('\r') => "'\\r'".into(),
        Some(c) if c.is_control() => format!("'\\x{:02x}'", c as u32),
        Some(c) => format!("'{c}'"),
    }
}

/// A rune as Go's `%#U` prints it: `U+0061 'a'`.
pub(crate) fn go_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest, never an exponent.
#[must_use]
pub fn format_float(v: f64) -> String {
    model::gofmt::format_float(v, 'f', -1)
}

/// A label name for grouping lists: bare if it is a legacy name, else quoted.
pub(crate) fn label_name(name: &str) -> String {
    if model::labels::is_valid_legacy_label_name(name) {
        name.to_owned()
    } else {
        go_quote_str(name)
    }
}

fn write_labels(f: &mut impl Write, labels: &[String]) -> fmt::Result {
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&label_name(l))?;
    }
    Ok(())
}

impl fmt::Display for NumberLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.duration {
            let ms = (self.value * 1000.0).round() as i64;
            f.write_str(&format_duration(ms))
        } else {
            f.write_str(&format_float(self.value))
        }
    }
}

impl fmt::Display for DurationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::parser::with_stack(|| self.write_to(f))
    }
}

impl DurationExpr {
    fn write_to(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationExpr::Number(n) => write!(f, "{n}"),
            DurationExpr::Step(_) => f.write_str("step()"),
            DurationExpr::Range(_) => f.write_str("range()"),
            DurationExpr::MinOf(a, b, _) => write!(f, "min_of({a}, {b})"),
            DurationExpr::MaxOf(a, b, _) => write!(f, "max_of({a}, {b})"),
            DurationExpr::Neg(e, _) => write!(f, "-{e}"),
            DurationExpr::Binary(op, a, b) => write!(f, "{a} {op} {b}"),
            DurationExpr::Paren(e, _) => write!(f, "({e})"),
        }
    }
}

/// ` offset 5m`, ` offset -5m`, ` offset (1h * 2)` or nothing.
fn write_offset(f: &mut impl Write, ms: i64, expr: Option<&DurationExpr>) -> fmt::Result {
    match expr {
        Some(e) => write!(f, " offset {e}"),
        None if ms != 0 => write!(f, " offset {}", format_duration(ms)),
        None => Ok(()),
    }
}

/// ` @ 123.000`, ` @ start()`, ` @ end()` or nothing.
fn write_at(f: &mut impl Write, ts: Option<i64>, which: Option<StartOrEnd>) -> fmt::Result {
    match (ts, which) {
        (_, Some(StartOrEnd::Start)) => f.write_str(" @ start()"),
        (_, Some(StartOrEnd::End)) => f.write_str(" @ end()"),
        (Some(ts), None) => write!(f, " @ {:.3}", ts as f64 / 1000.0),
        (None, None) => Ok(()),
    }
}

/// The selector's name and matchers, without modifiers.
fn write_selector_body(f: &mut impl Write, v: &VectorSelector) -> fmt::Result {
    let mut parts: Vec<String> = v
        .matchers
        .iter()
        .filter(|m| {
            !(m.name == model::METRIC_NAME
                && m.op == model::MatchOp::Equal
                && m.value == v.name
                && !v.name.is_empty())
        })
        .map(ToString::to_string)
        .collect();
    f.write_str(&v.name)?;
    if !parts.is_empty() {
        parts.sort();
        write!(f, "{{{}}}", parts.join(","))?;
    }
    Ok(())
}

fn write_extended(f: &mut impl Write, v: &VectorSelector) -> fmt::Result {
    if v.anchored {
        f.write_str(" anchored")
    } else if v.smoothed {
        f.write_str(" smoothed")
    } else {
        Ok(())
    }
}

impl fmt::Display for VectorSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_selector_body(f, self)?;
        // Prometheus prints `@` before `anchored`/`smoothed` for instant selectors.
        write_at(f, self.timestamp, self.start_or_end)?;
        write_extended(f, self)?;
        write_offset(f, self.original_offset, self.original_offset_expr.as_ref())
    }
}

impl fmt::Display for MatrixSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.vector_selector;
        write_selector_body(f, v)?;
        match &self.range_expr {
            Some(e) => write!(f, "[{e}]")?,
            None => write!(f, "[{}]", format_duration(self.range))?,
        }
        write_extended(f, v)?;
        write_at(f, v.timestamp, v.start_or_end)?;
        write_offset(f, v.original_offset, v.original_offset_expr.as_ref())
    }
}

/// `[range:step]` and the modifiers of a subquery.
pub(crate) fn subquery_suffix(s: &SubqueryExpr) -> String {
    let mut out = String::from("[");
    match &s.range_expr {
        Some(e) => write!(out, "{e}"),
        None => write!(out, "{}", format_duration(s.range)),
    }
    .expect("writing to a String");
    out.push(':');
    if s.step != 0 {
        out.push_str(&format_duration(s.step));
    } else if let Some(e) = &s.step_expr {
        write!(out, "{e}").expect("writing to a String");
    }
    out.push(']');
    write_at(&mut out, s.timestamp, s.start_or_end).expect("writing to a String");
    write_offset(&mut out, s.original_offset, s.original_offset_expr.as_ref())
        .expect("writing to a String");
    out
}

/// `sum by (a) ` / `topk without (b) ` — the operator and grouping of an aggregation.
pub(crate) fn aggregate_head(a: &AggregateExpr) -> String {
    let mut out = a.op.as_str().to_owned();
    if a.without || !a.grouping.is_empty() {
        out.push_str(if a.without { " without (" } else { " by (" });
        write_labels(&mut out, &a.grouping).expect("writing to a String");
        out.push_str(") ");
    }
    out
}

/// The operator with `bool`, `on`/`ignoring`, `group_*` and `fill` modifiers.
pub(crate) fn binary_op_text(b: &BinaryExpr) -> String {
    let mut out = b.op.as_str().to_owned();
    if b.return_bool {
        out.push_str(" bool");
    }
    let Some(vm) = &b.matching else { return out };
    let grouped = matches!(
        vm.card,
        VectorMatchCardinality::ManyToOne | VectorMatchCardinality::OneToMany
    );
    if !vm.matching_labels.is_empty() || vm.on || grouped {
        out.push_str(if vm.on { " on (" } else { " ignoring (" });
        write_labels(&mut out, &vm.matching_labels).expect("writing to a String");
        out.push(')');
    }
    if grouped {
        out.push_str(if vm.card == VectorMatchCardinality::ManyToOne {
            " group_left ("
        } else {
            " group_right ("
        });
        write_labels(&mut out, &vm.include).expect("writing to a String");
        out.push(')');
    }
    match (vm.fill.lhs, vm.fill.rhs) {
        (Some(l), Some(r)) if crate::ast::float_eq(l, r) => {
            write!(out, " fill ({})", model::gofmt::float(l)).expect("writing to a String");
        }
        (l, r) => {
            if let Some(l) = l {
                write!(out, " fill_left ({})", model::gofmt::float(l))
                    .expect("writing to a String");
            }
            if let Some(r) = r {
                write!(out, " fill_right ({})", model::gofmt::float(r))
                    .expect("writing to a String");
            }
        }
    }
    out
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::parser::with_stack(|| self.write_to(f))
    }
}

impl Expr {
    fn write_to(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::NumberLiteral(n) => write!(f, "{n}"),
            Expr::StringLiteral(s) => f.write_str(&go_quote_str(&s.value)),
            Expr::VectorSelector(v) => write!(f, "{v}"),
            Expr::MatrixSelector(m) => write!(f, "{m}"),
            Expr::Subquery(s) => write!(f, "{}{}", s.expr, subquery_suffix(s)),
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => write!(f, "{}{}", u.op.as_str(), u.expr),
            Expr::Binary(b) => write!(f, "{} {} {}", b.lhs, binary_op_text(b), b.rhs),
            Expr::Aggregate(a) => {
                f.write_str(&aggregate_head(a))?;
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::StepInvariant(s) => write!(f, "{}", s.expr),
        }
    }
}

impl Expr {
    /// Puts the tree in a canonical form for comparisons: every position set to zero,
    /// every selector's matchers sorted (as the printer sorts them) and every unary plus
    /// (an identity) removed, so that trees parsed from differently written forms of the
    /// same query compare equal. The printer writes positive infinity as Go does, `+Inf`,
    /// which reads back as a unary plus when an operator binding tighter follows.
    pub fn canonicalize(&mut self) {
        fn dur(d: &mut DurationExpr) {
            match d {
                DurationExpr::Number(n) => n.pos = PosRange::default(),
                DurationExpr::Step(p) | DurationExpr::Range(p) => *p = PosRange::default(),
                DurationExpr::MinOf(a, b, p) | DurationExpr::MaxOf(a, b, p) => {
                    *p = PosRange::default();
                    dur(a);
                    dur(b);
                }
                DurationExpr::Neg(e, start) => {
                    *start = 0;
                    dur(e);
                }
                DurationExpr::Binary(_, a, b) => {
                    dur(a);
                    dur(b);
                }
                DurationExpr::Paren(e, p) => {
                    *p = PosRange::default();
                    dur(e);
                }
            }
        }
        fn selector(v: &mut VectorSelector) {
            v.pos = PosRange::default();
            v.matchers.sort_by_key(ToString::to_string);
            if let Some(d) = v.original_offset_expr.as_mut() {
                dur(d);
            }
        }
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if let Expr::Unary(u) = e
                && u.op == UnaryOp::Add
            {
                let placeholder = Expr::NumberLiteral(NumberLiteral {
                    value: 0.0,
                    duration: false,
                    pos: PosRange::default(),
                });
                *e = std::mem::replace(&mut *u.expr, placeholder);
                stack.push(e);
                continue;
            }
            match e {
                Expr::NumberLiteral(n) => n.pos = PosRange::default(),
                Expr::StringLiteral(s) => s.pos = PosRange::default(),
                Expr::VectorSelector(v) => selector(v),
                Expr::MatrixSelector(m) => {
                    m.end_pos = 0;
                    selector(&mut m.vector_selector);
                    if let Some(d) = m.range_expr.as_mut() {
                        dur(d);
                    }
                }
                Expr::Subquery(s) => {
                    s.end_pos = 0;
                    for d in [
                        &mut s.range_expr,
                        &mut s.step_expr,
                        &mut s.original_offset_expr,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        dur(d);
                    }
                    stack.push(&mut s.expr);
                }
                Expr::Paren(p) => {
                    p.pos = PosRange::default();
                    stack.push(&mut p.expr);
                }
                Expr::Unary(u) => {
                    u.start_pos = 0;
                    stack.push(&mut u.expr);
                }
                Expr::Binary(b) => {
                    stack.push(&mut b.lhs);
                    stack.push(&mut b.rhs);
                }
                Expr::Aggregate(a) => {
                    a.pos = PosRange::default();
                    stack.push(&mut a.expr);
                    if let Some(p) = a.param.as_deref_mut() {
                        stack.push(p);
                    }
                }
                Expr::Call(c) => {
                    c.pos = PosRange::default();
                    stack.extend(c.args.iter_mut());
                }
                Expr::StepInvariant(s) => stack.push(&mut s.expr),
            }
        }
    }
}

/// Lines longer than this are split by [`prettify`].
const MAX_LINE: usize = 100;

/// The indented multi-line form of `format_query` (Prometheus's `Prettify`): a node
/// whose one-line form is longer than 100 characters puts its children on their own,
/// more indented, lines.
#[must_use]
pub fn prettify(e: &Expr) -> String {
    prettify_width(e, MAX_LINE)
}

/// [`prettify`] with another line length limit.
#[must_use]
pub fn prettify_width(e: &Expr, max_line: usize) -> String {
    pretty(e, 0, max_line)
}

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

fn pretty(e: &Expr, level: usize, max: usize) -> String {
    crate::parser::with_stack(|| pretty_inner(e, level, max))
}

fn pretty_inner(e: &Expr, level: usize, max: usize) -> String {
    let flat = e.to_string();
    let split = flat.len() > max;
    let pad = indent(level);
    match e {
        Expr::Aggregate(a) if split => {
            let mut s = format!("{pad}{}(\n", aggregate_head(a));
            if let Some(p) = &a.param {
                s.push_str(&pretty(p, level + 1, max));
                s.push_str(",\n");
            }
            s.push_str(&pretty(&a.expr, level + 1, max));
            s.push('\n');
            s.push_str(&pad);
            s.push(')');
            s
        }
        Expr::Binary(b) if split => {
            format!(
                "{}\n{pad}{}\n{}",
                pretty(&b.lhs, level + 1, max),
                binary_op_text(b),
                pretty(&b.rhs, level + 1, max)
            )
        }
        Expr::Call(c) if split => {
            let args: Vec<String> = c.args.iter().map(|a| pretty(a, level + 1, max)).collect();
            format!("{pad}{}(\n{}\n{pad})", c.func.name, args.join(",\n"))
        }
        Expr::Paren(p) if split => format!("{pad}(\n{}\n{pad})", pretty(&p.expr, level + 1, max)),
        Expr::Subquery(s) if split => {
            format!("{}{}", pretty(&s.expr, level, max), subquery_suffix(s))
        }
        // Prometheus does not indent a subquery that fits on one line.
        Expr::Subquery(_) => flat,
        Expr::StepInvariant(s) => pretty(&s.expr, level, max),
        Expr::Unary(u) => format!(
            "{pad}{}{}",
            u.op.as_str(),
            pretty(&u.expr, level, max).trim()
        ),
        _ => format!("{pad}{flat}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        // The formats themselves are tested in model::gofmt; here, which one the printer uses.
        assert_eq!(format_float(1e20), "100000000000000000000");
    }
}
