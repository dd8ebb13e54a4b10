//! Prepares a parsed expression for one query: resolves `@ start()` / `@ end()` and
//! evaluates duration expressions (`[5m+step()]`, `offset -(1h)`) against the query's
//! start, end and step.

use crate::ast::{DurationContext, Expr, StartOrEnd, SubqueryExpr, VectorSelector};

/// A copy of `e` with every `@` and duration resolved.
pub(crate) fn prepare(e: &Expr, start: i64, end: i64, step: i64) -> Expr {
    let mut out = e.clone();
    let ctx = DurationContext {
        step_ms: step,
        range_ms: end - start,
    };
    fix(&mut out, start, end, ctx);
    out
}

fn at(se: Option<StartOrEnd>, start: i64, end: i64) -> Option<i64> {
    se.map(|s| match s {
        StartOrEnd::Start => start,
        StartOrEnd::End => end,
    })
}

fn fix_vs(vs: &mut VectorSelector, start: i64, end: i64, ctx: DurationContext) {
    if let Some(t) = at(vs.start_or_end, start, end) {
        vs.timestamp = Some(t);
    }
    if let Some(d) = &vs.original_offset_expr {
        vs.original_offset = d.eval_millis(ctx);
        vs.offset = vs.original_offset;
    }
}

fn fix_sq(sq: &mut SubqueryExpr, start: i64, end: i64, ctx: DurationContext) {
    if let Some(t) = at(sq.start_or_end, start, end) {
        sq.timestamp = Some(t);
    }
    if let Some(d) = &sq.range_expr {
        sq.range = d.eval_millis(ctx);
    }
    if let Some(d) = &sq.step_expr {
        sq.step = d.eval_millis(ctx);
    }
    if let Some(d) = &sq.original_offset_expr {
        sq.original_offset = d.eval_millis(ctx);
        sq.offset = sq.original_offset;
    }
}

fn fix(e: &mut Expr, start: i64, end: i64, ctx: DurationContext) {
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        Expr::VectorSelector(vs) => fix_vs(vs, start, end, ctx),
        Expr::MatrixSelector(ms) => {
            fix_vs(&mut ms.vector_selector, start, end, ctx);
            if let Some(d) = &ms.range_expr {
                ms.range = d.eval_millis(ctx);
            }
        }
        Expr::Subquery(sq) => {
            fix_sq(sq, start, end, ctx);
            fix(&mut sq.expr, start, end, ctx);
        }
        Expr::Paren(p) => fix(&mut p.expr, start, end, ctx),
        Expr::Unary(u) => fix(&mut u.expr, start, end, ctx),
        Expr::StepInvariant(s) => fix(&mut s.expr, start, end, ctx),
        Expr::Binary(b) => {
            fix(&mut b.lhs, start, end, ctx);
            fix(&mut b.rhs, start, end, ctx);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                fix(p, start, end, ctx);
            }
            fix(&mut a.expr, start, end, ctx);
        }
        Expr::Call(c) => {
            for a in &mut c.args {
                fix(a, start, end, ctx);
            }
        }
    }
}
