//! Postfix modifiers of selectors and subqueries: `[range]`, `[range:step]`, `offset`,
//! `@`, `anchored` and `smoothed`, with Prometheus's placement rules.

use super::{PResult, Parser};
use crate::ast::{DurationExpr, Expr, MatrixSelector, PosRange, StartOrEnd, SubqueryExpr};
use crate::lexer::TokenKind;

/// A duration as written after `[`, `:` or `offset`: a plain literal or an expression.
pub(super) enum Dur {
    /// A number or duration literal, in seconds.
    Literal(f64, PosRange),
    /// Anything else, kept for the engine to evaluate.
    Expr(DurationExpr),
}

impl Dur {
    /// `(milliseconds, expression)` as the AST stores a range, step or offset.
    fn split(self) -> (i64, Option<DurationExpr>) {
        match self {
            Dur::Literal(secs, _) => ((secs * 1000.0).round() as i64, None),
            Dur::Expr(e) => (0, Some(e)),
        }
    }
}

impl Parser<'_> {
    /// Applies every postfix modifier that follows `lhs`; each subquery wrapper counts
    /// as one level of nesting in `chain`.
    pub(super) fn parse_postfix(&mut self, mut lhs: Expr, chain: &mut usize) -> PResult<Expr> {
        loop {
            lhs = match self.peek_kind() {
                TokenKind::LeftBracket => {
                    let e = self.parse_range(lhs)?;
                    if matches!(e, Expr::Subquery(_)) {
                        *chain += 1;
                        self.enter(0)?;
                    }
                    e
                }
                TokenKind::Offset => {
                    self.advance();
                    let d = self.parse_offset_duration()?;
                    self.apply_offset(lhs, d)?
                }
                TokenKind::At => {
                    self.advance();
                    self.parse_at(lhs)?
                }
                TokenKind::Anchored | TokenKind::Smoothed => {
                    let anchored = self.advance().kind == TokenKind::Anchored;
                    self.set_extended(lhs, anchored)?
                }
                _ => return Ok(lhs),
            };
        }
    }

    /// `[range]` or `[range:step]` / `[range:]` after `lhs`.
    fn parse_range(&mut self, lhs: Expr) -> PResult<Expr> {
        use TokenKind as T;
        let open = self.advance();
        if !self.starts_duration() {
            return Err(self.unexpected(
                "subquery or range selector",
                "number, duration, step(), or range()",
            ));
        }
        let range = self.parse_positive_duration(
            "subquery or range selector",
            "number, duration, step(), or range()",
        )?;
        match self.peek_kind() {
            T::RightBracket => {
                let close = self.advance();
                let err_pos = PosRange::new(open.start, close.end);
                let Expr::VectorSelector(vs) = lhs else {
                    return Err(self.err(err_pos, "ranges only allowed for vector selectors"));
                };
                if vs.original_offset != 0 || vs.original_offset_expr.is_some() {
                    return Err(self.err(err_pos, "no offset modifiers allowed before range"));
                }
                if vs.timestamp.is_some() || vs.start_or_end.is_some() {
                    return Err(self.err(err_pos, "no @ modifiers allowed before range"));
                }
                let (range, range_expr) = range.split();
                Ok(Expr::MatrixSelector(MatrixSelector {
                    vector_selector: vs,
                    range,
                    range_expr,
                    end_pos: close.end,
                }))
            }
            T::Colon => {
                self.advance();
                let step = if self.peek_kind() == &T::RightBracket {
                    None
                } else if self.starts_duration() {
                    Some(self.parse_positive_duration(
                        "subquery selector",
                        "number, duration, step(), range(), or \"]\"",
                    )?)
                } else {
                    return Err(self.unexpected(
                        "subquery selector",
                        "number, duration, step(), range(), or \"]\"",
                    ));
                };
                let close = self.expect(&T::RightBracket, "subquery selector", "\"]\"")?;
                let (range, range_expr) = range.split();
                let (step, step_expr) = step.map_or((0, None), Dur::split);
                Ok(Expr::Subquery(SubqueryExpr {
                    expr: Box::new(lhs),
                    range,
                    range_expr,
                    step,
                    step_expr,
                    original_offset: 0,
                    original_offset_expr: None,
                    offset: 0,
                    timestamp: None,
                    start_or_end: None,
                    end_pos: close.end,
                }))
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    /// A duration expression that must be positive when it is a plain literal.
    fn parse_positive_duration(
        &mut self,
        context: &'static str,
        expected: &'static str,
    ) -> PResult<Dur> {
        let d = self.parse_duration_expr(context, expected)?;
        if let Dur::Literal(v, pos) = &d
            && *v <= 0.0
        {
            return Err(self.semantic(*pos, "duration must be greater than 0"));
        }
        Ok(d)
    }

    fn apply_offset(&mut self, mut lhs: Expr, d: Dur) -> PResult<Expr> {
        let lhs_pos = lhs.pos();
        let end = self.prev_end;
        let (orig, orig_expr, offset, end_pos) = match &mut lhs {
            Expr::VectorSelector(vs) => (
                &mut vs.original_offset,
                &mut vs.original_offset_expr,
                &mut vs.offset,
                &mut vs.pos.end,
            ),
            Expr::MatrixSelector(ms) => {
                let vs = &mut ms.vector_selector;
                (
                    &mut vs.original_offset,
                    &mut vs.original_offset_expr,
                    &mut vs.offset,
                    &mut ms.end_pos,
                )
            }
            Expr::Subquery(sq) => (
                &mut sq.original_offset,
                &mut sq.original_offset_expr,
                &mut sq.offset,
                &mut sq.end_pos,
            ),
            _ => {
                return Err(self.semantic(
                    lhs_pos,
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ));
            }
        };
        if *orig != 0 || orig_expr.is_some() {
            return Err(self.semantic(lhs_pos, "offset may not be set multiple times"));
        }
        let (ms, expr) = d.split();
        *orig = ms;
        *offset = ms;
        *orig_expr = expr;
        *end_pos = end;
        Ok(lhs)
    }

    /// After `@`: a (signed) number or duration, or `start()` / `end()`.
    fn parse_at(&mut self, mut lhs: Expr) -> PResult<Expr> {
        use TokenKind as T;
        let (ts, which) = match self.peek_kind() {
            T::Start | T::End => {
                let which = if self.advance().kind == T::Start {
                    StartOrEnd::Start
                } else {
                    StartOrEnd::End
                };
                self.expect(&T::LeftParen, "", "")?;
                self.expect(&T::RightParen, "", "")?;
                (None, Some(which))
            }
            T::Add | T::Sub => {
                let neg = self.advance().kind == T::Sub;
                let v = self.parse_number_or_duration("@", "timestamp")?;
                (Some(if neg { -v } else { v }), None)
            }
            T::Number | T::Duration => {
                (Some(self.parse_number_or_duration("@", "timestamp")?), None)
            }
            _ => return Err(self.unexpected("@", "timestamp")),
        };
        let lhs_pos = lhs.pos();
        if let Some(ts) = ts
            && (!ts.is_finite() || ts >= i64::MAX as f64 || ts <= i64::MIN as f64)
        {
            return Err(self.semantic(
                lhs_pos,
                format!(
                    "timestamp out of bounds for @ modifier: {}",
                    model::gofmt::format_float(ts, 'f', 6)
                ),
            ));
        }
        let end = self.prev_end;
        let (timestamp, start_or_end, end_pos) = match &mut lhs {
            Expr::VectorSelector(vs) => (&mut vs.timestamp, &mut vs.start_or_end, &mut vs.pos.end),
            Expr::MatrixSelector(ms) => {
                let vs = &mut ms.vector_selector;
                (&mut vs.timestamp, &mut vs.start_or_end, &mut ms.end_pos)
            }
            Expr::Subquery(sq) => (&mut sq.timestamp, &mut sq.start_or_end, &mut sq.end_pos),
            _ => {
                return Err(self.semantic(
                    lhs_pos,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ));
            }
        };
        if timestamp.is_some() || start_or_end.is_some() {
            return Err(self.semantic(lhs_pos, "@ <timestamp> may not be set multiple times"));
        }
        *timestamp = ts.map(|t| (t * 1000.0).round() as i64);
        *start_or_end = which;
        *end_pos = end;
        Ok(lhs)
    }

    /// `anchored` / `smoothed` after a selector.
    fn set_extended(&mut self, mut lhs: Expr, anchored: bool) -> PResult<Expr> {
        let name = if anchored { "anchored" } else { "smoothed" };
        let pos = lhs.pos();
        if !self.options.extended_range_selectors {
            return Err(self.semantic(
                pos,
                format!("{name} modifier is experimental and not enabled"),
            ));
        }
        let vs = match &mut lhs {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &mut ms.vector_selector,
            Expr::Subquery(_) => {
                return Err(self.semantic(
                    pos,
                    format!("{name} modifier is not supported for subqueries"),
                ));
            }
            _ => return Err(self.semantic(pos, format!("{name} modifier not implemented"))),
        };
        if anchored {
            vs.anchored = true;
        } else {
            vs.smoothed = true;
        }
        if vs.anchored && vs.smoothed {
            return Err(self.semantic(
                pos,
                "anchored and smoothed modifiers cannot be used together",
            ));
        }
        Ok(lhs)
    }
}
