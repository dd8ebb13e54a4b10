//! Duration expressions in ranges, subquery steps and offsets: `5m`, `[5m+1m]`,
//! `[step()*2]`, `offset -(1h*2)`, `min_of(a, b)`, `max_of(a, b)` — parsing and evaluation.

use super::modifiers::Dur;
use super::{PResult, Parser};
use crate::ast::{BinaryOp, DurationContext, DurationExpr, NumberLiteral, PosRange};
use crate::lexer::TokenKind;

/// Largest magnitude, in seconds, that fits in int64 nanoseconds.
const MAX_DURATION_SECS: f64 = 9_223_372_036.854_776;

fn out_of_range(v: f64) -> bool {
    !(-MAX_DURATION_SECS..=MAX_DURATION_SECS).contains(&v)
}

/// Precedence of a unary sign inside a duration expression (as `*`).
const UNARY_PREC: u8 = 6;

impl Parser<'_> {
    /// Whether the current token can start a duration expression.
    pub(super) fn starts_duration(&self) -> bool {
        use TokenKind as T;
        matches!(
            self.peek_kind(),
            T::Number
                | T::Duration
                | T::Step
                | T::Range
                | T::MinOf
                | T::MaxOf
                | T::LeftParen
                | T::Add
                | T::Sub
        )
    }

    /// A full duration expression (inside `[...]`); syntax errors in it are reported
    /// with `context` and `expected`.
    pub(super) fn parse_duration_expr(
        &mut self,
        context: &'static str,
        expected: &'static str,
    ) -> PResult<Dur> {
        self.dur_ctx = (context, expected);
        let e = self.dur_expr(0)?;
        self.literal_or_expr(e)
    }

    /// After `offset`: an optionally signed literal, `step()`, `range()`, `min_of`/`max_of`
    /// or a parenthesised expression. Binary operators after it belong to the enclosing
    /// expression (`x offset 1m * 2` is `(x offset 1m) * 2`).
    pub(super) fn parse_offset_duration(&mut self) -> PResult<Dur> {
        use TokenKind as T;
        // Signs may repeat (`offset - -5m`); the innermost applies first.
        let mut signs = Vec::new();
        while matches!(self.peek_kind(), T::Add | T::Sub) {
            signs.push(self.advance());
        }
        self.dur_ctx = ("offset", "number, duration, step(), or range()");
        match self.peek_kind() {
            T::Number | T::Duration | T::Step | T::Range | T::MinOf | T::MaxOf | T::LeftParen => {}
            _ => return Err(self.unexpected(self.dur_ctx.0, self.dur_ctx.1)),
        }
        let mut e = self.dur_primary()?;
        for s in signs.into_iter().rev() {
            e = self.apply_sign(e, s.kind == T::Sub, s.start)?;
        }
        self.literal_or_expr(e)
    }

    /// A plain literal, or an expression if duration expressions are enabled.
    fn literal_or_expr(&self, e: DurationExpr) -> PResult<Dur> {
        match e {
            DurationExpr::Number(n) => Ok(Dur::Literal(n.value, n.pos)),
            e if self.options.duration_expressions => Ok(Dur::Expr(e)),
            e => {
                // Prometheus complains at the first piece it reduces: the leftmost operand.
                let mut first = &e;
                while let DurationExpr::Binary(_, l, _) = first {
                    first = l;
                }
                Err(self.semantic(
                    first.pos(),
                    "experimental duration expression is not enabled",
                ))
            }
        }
    }

    fn dur_expr(&mut self, min_prec: u8) -> PResult<DurationExpr> {
        super::with_stack(|| self.dur_expr_inner(min_prec))
    }

    fn dur_expr_inner(&mut self, min_prec: u8) -> PResult<DurationExpr> {
        self.enter(0)?;
        let mut chain = 0;
        let result = self.dur_chain(min_prec, &mut chain);
        self.depth -= chain;
        self.leave();
        result
    }

    /// An operand and the operators that follow it; every operator counts as one level
    /// of nesting (in `chain`) because it deepens the tree.
    fn dur_chain(&mut self, min_prec: u8, chain: &mut usize) -> PResult<DurationExpr> {
        let mut lhs = self.dur_unary()?;
        loop {
            let op = match self.peek_kind() {
                TokenKind::Add => BinaryOp::Add,
                TokenKind::Sub => BinaryOp::Sub,
                TokenKind::Mul => BinaryOp::Mul,
                TokenKind::Div => BinaryOp::Div,
                TokenKind::Mod => BinaryOp::Mod,
                TokenKind::Pow => BinaryOp::Pow,
                _ => return Ok(lhs),
            };
            let prec = op.precedence();
            if prec < min_prec {
                return Ok(lhs);
            }
            let op_tok = self.advance();
            *chain += 1;
            self.enter(0)?;
            let next_min = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = self.dur_expr(next_min)?;
            if let DurationExpr::Number(n) = &rhs
                && n.value == 0.0
            {
                let pos = PosRange::new(op_tok.start, op_tok.end);
                match op {
                    BinaryOp::Div => return Err(self.semantic(pos, "division by zero")),
                    BinaryOp::Mod => return Err(self.semantic(pos, "modulo by zero")),
                    _ => {}
                }
            }
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn dur_unary(&mut self) -> PResult<DurationExpr> {
        match self.peek_kind() {
            TokenKind::Add | TokenKind::Sub => {
                let sign = self.advance();
                let operand = self.dur_expr(UNARY_PREC)?;
                self.apply_sign(operand, sign.kind == TokenKind::Sub, sign.start)
            }
            _ => self.dur_primary(),
        }
    }

    /// Folds a sign into a literal, wraps an expression in a negation; `+` is dropped.
    fn apply_sign(&self, e: DurationExpr, negative: bool, start: usize) -> PResult<DurationExpr> {
        match e {
            DurationExpr::Number(mut n) => {
                if negative {
                    n.value = -n.value;
                }
                if out_of_range(n.value) {
                    return Err(
                        self.semantic(PosRange::new(start, start + 1), "duration out of range")
                    );
                }
                n.pos.start = start;
                Ok(DurationExpr::Number(n))
            }
            e if negative => Ok(DurationExpr::Neg(Box::new(e), start)),
            e => Ok(e),
        }
    }

    fn dur_primary(&mut self) -> PResult<DurationExpr> {
        use TokenKind as T;
        let t = self.peek().clone();
        match t.kind {
            T::Number | T::Duration => {
                let value = self.parse_number_or_duration(self.dur_ctx.0, self.dur_ctx.1)?;
                let pos = PosRange::new(t.start, t.end);
                if out_of_range(value) {
                    return Err(self.semantic(pos, "duration out of range"));
                }
                Ok(DurationExpr::Number(NumberLiteral {
                    value,
                    duration: t.kind == T::Duration,
                    pos,
                }))
            }
            T::Step | T::Range => {
                self.advance();
                self.expect(&T::LeftParen, self.dur_ctx.0, self.dur_ctx.1)?;
                let close = self.expect(&T::RightParen, self.dur_ctx.0, self.dur_ctx.1)?;
                let pos = PosRange::new(t.start, close.end);
                Ok(if t.kind == T::Step {
                    DurationExpr::Step(pos)
                } else {
                    DurationExpr::Range(pos)
                })
            }
            T::MinOf | T::MaxOf => {
                self.advance();
                self.expect(&T::LeftParen, self.dur_ctx.0, self.dur_ctx.1)?;
                let a = self.dur_expr(0)?;
                self.expect(&T::Comma, self.dur_ctx.0, self.dur_ctx.1)?;
                let b = self.dur_expr(0)?;
                let close = self.expect(&T::RightParen, self.dur_ctx.0, self.dur_ctx.1)?;
                let pos = PosRange::new(t.start, close.end);
                let (a, b) = (Box::new(a), Box::new(b));
                Ok(if t.kind == T::MinOf {
                    DurationExpr::MinOf(a, b, pos)
                } else {
                    DurationExpr::MaxOf(a, b, pos)
                })
            }
            T::LeftParen => {
                self.advance();
                let inner = self.dur_expr(0)?;
                let close = self.expect(&T::RightParen, self.dur_ctx.0, self.dur_ctx.1)?;
                Ok(DurationExpr::Paren(
                    Box::new(inner),
                    PosRange::new(t.start, close.end),
                ))
            }
            _ => Err(self.unexpected(self.dur_ctx.0, self.dur_ctx.1)),
        }
    }
}

/// Evaluation, once the query's step and range are known (the engine's preprocessing).
impl DurationExpr {
    /// Evaluates to seconds.
    #[must_use]
    pub fn eval_seconds(&self, ctx: DurationContext) -> f64 {
        match self {
            DurationExpr::Number(n) => n.value,
            DurationExpr::Step(_) => ctx.step_ms as f64 / 1000.0,
            DurationExpr::Range(_) => ctx.range_ms as f64 / 1000.0,
            DurationExpr::MinOf(a, b, _) => a.eval_seconds(ctx).min(b.eval_seconds(ctx)),
            DurationExpr::MaxOf(a, b, _) => a.eval_seconds(ctx).max(b.eval_seconds(ctx)),
            DurationExpr::Neg(e, _) => -e.eval_seconds(ctx),
            DurationExpr::Paren(e, _) => e.eval_seconds(ctx),
            DurationExpr::Binary(op, l, r) => {
                let (l, r) = (l.eval_seconds(ctx), r.eval_seconds(ctx));
                match op {
                    BinaryOp::Add => l + r,
                    BinaryOp::Sub => l - r,
                    BinaryOp::Mul => l * r,
                    BinaryOp::Div => l / r,
                    BinaryOp::Mod => l % r,
                    BinaryOp::Pow => l.powf(r),
                    _ => f64::NAN,
                }
            }
        }
    }

    /// Evaluates to whole milliseconds (rounded), as Prometheus stores durations.
    #[must_use]
    pub fn eval_millis(&self, ctx: DurationContext) -> i64 {
        (self.eval_seconds(ctx) * 1000.0).round() as i64
    }

    /// Whether `step()` or `range()` occurs (the value then depends on the query).
    #[must_use]
    pub fn uses_query_params(&self) -> bool {
        match self {
            DurationExpr::Number(_) => false,
            DurationExpr::Step(_) | DurationExpr::Range(_) => true,
            DurationExpr::MinOf(a, b, _)
            | DurationExpr::MaxOf(a, b, _)
            | DurationExpr::Binary(_, a, b) => a.uses_query_params() || b.uses_query_params(),
            DurationExpr::Neg(e, _) | DurationExpr::Paren(e, _) => e.uses_query_params(),
        }
    }
}
