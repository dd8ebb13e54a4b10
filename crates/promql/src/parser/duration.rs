//! Duration expressions in ranges, subquery steps and offsets: `5m`, `[5m+1m]`,
//! `[step()*2]`, `offset -(1h*2)`, `min_of(a, b)`, `max_of(a, b)`.

use super::modifiers::Dur;
use super::{PResult, Parser};
use crate::ast::{BinaryOp, DurationExpr, NumberLiteral, PosRange};
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

    /// A full duration expression (inside `[...]`).
    pub(super) fn parse_duration_expr(&mut self) -> PResult<Dur> {
        let e = self.dur_expr(0)?;
        Ok(match e {
            DurationExpr::Number(n) => Dur::Literal(n.value, n.pos),
            e => Dur::Expr(e),
        })
    }

    /// After `offset`: an optionally signed literal, `step()`, `range()`, `min_of`/`max_of`
    /// or a parenthesised expression. Binary operators after it belong to the enclosing
    /// expression (`x offset 1m * 2` is `(x offset 1m) * 2`).
    pub(super) fn parse_offset_duration(&mut self) -> PResult<Dur> {
        use TokenKind as T;
        let sign = match self.peek_kind() {
            T::Add | T::Sub => Some(self.advance()),
            _ => None,
        };
        let negative = sign.as_ref().is_some_and(|s| s.kind == T::Sub);
        match self.peek_kind() {
            T::Number | T::Duration | T::Step | T::Range | T::MinOf | T::MaxOf | T::LeftParen => {}
            _ => return Err(self.unexpected("offset", "number, duration, step(), or range()")),
        }
        let e = self.dur_primary()?;
        let e = match sign {
            Some(s) => self.apply_sign(e, negative, s.start)?,
            None => e,
        };
        Ok(match e {
            DurationExpr::Number(n) => Dur::Literal(n.value, n.pos),
            e => Dur::Expr(e),
        })
    }

    fn dur_expr(&mut self, min_prec: u8) -> PResult<DurationExpr> {
        self.enter(0)?;
        let mut lhs = self.dur_unary()?;
        loop {
            let op = match self.peek_kind() {
                TokenKind::Add => BinaryOp::Add,
                TokenKind::Sub => BinaryOp::Sub,
                TokenKind::Mul => BinaryOp::Mul,
                TokenKind::Div => BinaryOp::Div,
                TokenKind::Mod => BinaryOp::Mod,
                TokenKind::Pow => BinaryOp::Pow,
                _ => break,
            };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let op_tok = self.advance();
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
        self.leave();
        Ok(lhs)
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
                let value = self.parse_number_or_duration("", "")?;
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
                self.expect(&T::LeftParen, "", "")?;
                let close = self.expect(&T::RightParen, "", "")?;
                let pos = PosRange::new(t.start, close.end);
                Ok(if t.kind == T::Step {
                    DurationExpr::Step(pos)
                } else {
                    DurationExpr::Range(pos)
                })
            }
            T::MinOf | T::MaxOf => {
                self.advance();
                self.expect(&T::LeftParen, "", "")?;
                let a = self.dur_expr(0)?;
                self.expect(&T::Comma, "", "")?;
                let b = self.dur_expr(0)?;
                let close = self.expect(&T::RightParen, "", "")?;
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
                let close = self.expect(&T::RightParen, "", "")?;
                Ok(DurationExpr::Paren(
                    Box::new(inner),
                    PosRange::new(t.start, close.end),
                ))
            }
            _ => Err(self.unexpected("", "")),
        }
    }
}
