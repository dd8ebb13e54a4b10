//! Expressions: operator precedence, unary signs, literals, selectors, aggregations,
//! function calls and the modifiers of binary operators.

use model::{MatchOp, Matcher};

use super::literals::{parse_duration, parse_number, unquote};
use super::{PResult, Parser};
use crate::ast::{
    AggregateExpr, AggregateOp, BinaryExpr, BinaryOp, Call, Expr, FillValues, NumberLiteral,
    ParenExpr, PosRange, StringLiteral, UnaryExpr, UnaryOp, VectorMatchCardinality, VectorMatching,
    VectorSelector,
};
use crate::functions::get_function;
use crate::lexer::TokenKind;

/// Precedence of unary `+`/`-` (as `*`): their operand takes only `^` and postfix modifiers.
const UNARY_OPERAND_PREC: u8 = 6;

/// The binary operator a token stands for.
pub(super) fn binary_op(k: &TokenKind) -> Option<BinaryOp> {
    use TokenKind as T;
    Some(match k {
        T::Add => BinaryOp::Add,
        T::Sub => BinaryOp::Sub,
        T::Mul => BinaryOp::Mul,
        T::Div => BinaryOp::Div,
        T::Mod => BinaryOp::Mod,
        T::Pow => BinaryOp::Pow,
        T::Atan2 => BinaryOp::Atan2,
        T::Eqlc => BinaryOp::Eql,
        T::Neq => BinaryOp::Neq,
        T::Gtr => BinaryOp::Gtr,
        T::Lss => BinaryOp::Lss,
        T::Gte => BinaryOp::Gte,
        T::Lte => BinaryOp::Lte,
        T::TrimUpper => BinaryOp::TrimUpper,
        T::TrimLower => BinaryOp::TrimLower,
        T::Land => BinaryOp::And,
        T::Lor => BinaryOp::Or,
        T::Lunless => BinaryOp::Unless,
        _ => return None,
    })
}

/// A one-line message for a matcher that does not compile, worded as Go's `regexp`
/// package does (`error parsing regexp: missing closing ): ...`).
fn regex_error(e: &model::ModelError) -> String {
    match e {
        model::ModelError::InvalidRegex { reason, .. } => {
            let last = reason
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!(
                "error parsing regexp: {}",
                last.trim().trim_start_matches("error: ")
            )
        }
        other => other.to_string(),
    }
}

impl Parser<'_> {
    /// Parses an expression whose binary operators bind at least as tightly as `min_prec`.
    pub(super) fn parse_expr(&mut self, min_prec: u8) -> PResult<Expr> {
        super::with_stack(|| self.parse_expr_inner(min_prec))
    }

    fn parse_expr_inner(&mut self, min_prec: u8) -> PResult<Expr> {
        self.enter(0)?;
        let mut lhs = self.parse_unary()?;
        // Operator chains and postfix wrappers deepen the tree without recursing here:
        // count them as nesting while the rest of this expression is parsed.
        let mut chain = 0;
        let result = loop {
            lhs = match self.parse_postfix(lhs, &mut chain) {
                Ok(e) => e,
                Err(e) => break Err(e),
            };
            let Some(op) = binary_op(self.peek_kind()) else {
                break Ok(lhs);
            };
            let prec = op.precedence();
            if prec < min_prec {
                break Ok(lhs);
            }
            self.advance();
            chain += 1;
            if let Err(e) = self.enter(0) {
                break Err(e);
            }
            let next_min = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = match self
                .parse_bin_modifiers()
                .and_then(|m| Ok((m, self.parse_expr(next_min)?)))
            {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            let ((matching, return_bool), rhs) = rhs;
            let fills = matching.fill.lhs.is_some() || matching.fill.rhs.is_some();
            lhs = Expr::Binary(BinaryExpr {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                matching: Some(matching),
                return_bool,
            });
            if fills && !self.options.binop_fill_modifiers {
                break Err(self.semantic(
                    lhs.pos(),
                    "binop fill modifiers are experimental and not enabled",
                ));
            }
        };
        self.depth -= chain;
        self.leave();
        result
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        let op = match self.peek_kind() {
            TokenKind::Add => UnaryOp::Add,
            TokenKind::Sub => UnaryOp::Sub,
            _ => return self.parse_primary(),
        };
        let sign = self.advance();
        let operand = self.parse_expr(UNARY_OPERAND_PREC)?;
        Ok(match operand {
            Expr::NumberLiteral(mut n) => {
                if op == UnaryOp::Sub {
                    n.value = -n.value;
                }
                n.pos.start = sign.start;
                Expr::NumberLiteral(n)
            }
            e => Expr::Unary(UnaryExpr {
                op,
                expr: Box::new(e),
                start_pos: sign.start,
            }),
        })
    }

    /// Whether a keyword token may also be a metric name (Prometheus's `metric_identifier`).
    pub(super) fn is_metric_keyword(&self, k: &TokenKind) -> bool {
        use TokenKind as T;
        matches!(
            k,
            T::Aggregator(_)
                | T::By
                | T::Without
                | T::Fill
                | T::FillLeft
                | T::FillRight
                | T::Land
                | T::Lor
                | T::Lunless
                | T::Offset
                | T::Start
                | T::End
                | T::Step
                | T::Range
                | T::Anchored
                | T::Smoothed
                | T::MaxOf
                | T::MinOf
        )
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        use TokenKind as T;
        let next_is_paren = self.peek_kind_at(1) == &T::LeftParen;
        match self.peek_kind().clone() {
            T::Number => {
                let t = self.advance();
                let value = parse_number(self.text(&t)).map_err(|e| {
                    self.err(
                        PosRange::new(t.start, t.end),
                        format!("error parsing number: {e}"),
                    )
                })?;
                Ok(Expr::NumberLiteral(NumberLiteral {
                    value,
                    duration: false,
                    pos: PosRange::new(t.start, t.end),
                }))
            }
            T::Duration => {
                let t = self.advance();
                let ms = parse_duration(self.text(&t))
                    .map_err(|e| self.err(PosRange::new(t.start, t.end), e.to_string()))?;
                Ok(Expr::NumberLiteral(NumberLiteral {
                    value: ms as f64 / 1000.0,
                    duration: true,
                    pos: PosRange::new(t.start, t.end),
                }))
            }
            T::String => {
                let t = self.advance();
                Ok(Expr::StringLiteral(StringLiteral {
                    value: unquote(self.text(&t)),
                    pos: PosRange::new(t.start, t.end),
                }))
            }
            T::LeftParen => {
                let open = self.advance();
                let inner = self.parse_expr(0)?;
                let close = self.expect(&T::RightParen, "", "")?;
                Ok(Expr::Paren(ParenExpr {
                    expr: Box::new(inner),
                    pos: PosRange::new(open.start, close.end),
                }))
            }
            T::Aggregator(op)
                if next_is_paren || matches!(self.peek_kind_at(1), T::By | T::Without) =>
            {
                self.parse_aggregate(op)
            }
            T::Identifier | T::Start | T::End | T::Step | T::Range | T::MinOf | T::MaxOf
                if next_is_paren =>
            {
                self.parse_call()
            }
            T::LeftBrace | T::Identifier | T::MetricIdentifier => {
                Ok(Expr::VectorSelector(self.parse_selector()?))
            }
            k if self.is_metric_keyword(&k) => Ok(Expr::VectorSelector(self.parse_selector()?)),
            _ => Err(self.unexpected("", "")),
        }
    }

    /// `name`, `name{matchers}` or `{matchers}`.
    pub(super) fn parse_selector(&mut self) -> PResult<VectorSelector> {
        let start = self.peek().start;
        let name = if self.peek_kind() == &TokenKind::LeftBrace {
            String::new()
        } else {
            let t = self.advance();
            self.text(&t).to_owned()
        };
        let mut matchers = Vec::new();
        let mut end = self.prev_end;
        if self.peek_kind() == &TokenKind::LeftBrace {
            self.advance();
            matchers = self.parse_matchers()?;
            end = self.prev_end;
        }
        if !name.is_empty() {
            matchers.push(Matcher::equal(model::METRIC_NAME, name.clone()));
        }
        Ok(VectorSelector {
            name,
            matchers,
            original_offset: 0,
            original_offset_expr: None,
            offset: 0,
            timestamp: None,
            start_or_end: None,
            anchored: false,
            smoothed: false,
            bypass_empty_matcher_check: false,
            pos: PosRange::new(start, end),
        })
    }

    /// The matchers after `{`, through the closing `}`.
    fn parse_matchers(&mut self) -> PResult<Vec<Matcher>> {
        use TokenKind as T;
        const CTX: &str = "label matching";
        let mut out = Vec::new();
        loop {
            if self.peek_kind() == &T::RightBrace {
                self.advance();
                return Ok(out);
            }
            let name_tok = match self.peek_kind() {
                T::Identifier | T::String => self.advance(),
                _ => return Err(self.unexpected(CTX, "identifier or \"}\"")),
            };
            let quoted = name_tok.kind == T::String;
            let name = if quoted {
                unquote(self.text(&name_tok))
            } else {
                self.text(&name_tok).to_owned()
            };
            let op = match self.peek_kind() {
                T::Eql => Some(MatchOp::Equal),
                T::Neq => Some(MatchOp::NotEqual),
                T::EqlRegex => Some(MatchOp::RegexMatch),
                T::NeqRegex => Some(MatchOp::RegexNoMatch),
                _ => None,
            };
            match op {
                None if quoted => out.push(Matcher::equal(model::METRIC_NAME, name)),
                None => return Err(self.unexpected(CTX, "label matching operator")),
                Some(op) => {
                    self.advance();
                    let value_tok = self.expect(&T::String, CTX, "string")?;
                    let value = unquote(self.text(&value_tok));
                    let m = Matcher::new(op, name, value).map_err(|e| {
                        self.err(
                            PosRange::new(name_tok.start, value_tok.end),
                            regex_error(&e),
                        )
                    })?;
                    out.push(m);
                }
            }
            match self.peek_kind() {
                T::Comma => {
                    self.advance();
                }
                T::RightBrace => {}
                _ => return Err(self.unexpected(CTX, "\",\" or \"}\"")),
            }
        }
    }

    /// `( args )` of a call or aggregation; `(` is the current token.
    fn parse_call_args(&mut self) -> PResult<Vec<Expr>> {
        self.expect(&TokenKind::LeftParen, "", "")?;
        let mut args = Vec::new();
        if self.peek_kind() == &TokenKind::RightParen {
            self.advance();
            return Ok(args);
        }
        loop {
            args.push(self.parse_expr(0)?);
            match self.peek_kind() {
                TokenKind::Comma => {
                    let comma = self.advance();
                    if self.peek_kind() == &TokenKind::RightParen {
                        return Err(self.err(
                            PosRange::new(comma.start, comma.end),
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                TokenKind::RightParen => {
                    self.advance();
                    return Ok(args);
                }
                _ => return Err(self.unexpected("", "")),
            }
        }
    }

    fn parse_call(&mut self) -> PResult<Expr> {
        let name_tok = self.advance();
        let name = self.text(&name_tok);
        let args = self.parse_call_args()?;
        let Some(func) = get_function(name) else {
            return Err(self.err(
                PosRange::new(name_tok.start, name_tok.end),
                format!(
                    "unknown function with name {}",
                    crate::printer::go_quote_str(name)
                ),
            ));
        };
        if func.experimental && !self.options.experimental_functions {
            return Err(self.semantic(
                PosRange::new(name_tok.start, name_tok.end),
                format!(
                    "function {} is not enabled",
                    crate::printer::go_quote_str(name)
                ),
            ));
        }
        Ok(Expr::Call(Call {
            func,
            args,
            pos: PosRange::new(name_tok.start, self.prev_end),
        }))
    }

    fn parse_aggregate(&mut self, op: AggregateOp) -> PResult<Expr> {
        let op_tok = self.advance();
        let mut grouping = Vec::new();
        let mut without = false;
        let mut modifier_first = false;
        if matches!(self.peek_kind(), TokenKind::By | TokenKind::Without) {
            without = self.advance().kind == TokenKind::Without;
            grouping = self.parse_grouping_labels()?;
            modifier_first = true;
        }
        if self.peek_kind() != &TokenKind::LeftParen {
            return Err(self.unexpected("aggregation", ""));
        }
        self.in_aggregation += 1;
        let args = self.parse_call_args();
        self.in_aggregation -= 1;
        let mut args = args?;
        let args_end = self.prev_end;
        if !modifier_first && matches!(self.peek_kind(), TokenKind::By | TokenKind::Without) {
            without = self.advance().kind == TokenKind::Without;
            grouping = self.parse_grouping_labels()?;
        }
        let pos = PosRange::new(
            op_tok.start,
            if modifier_first {
                args_end
            } else {
                self.prev_end
            },
        );
        if args.is_empty() {
            return Err(self.semantic(pos, "no arguments for aggregate expression provided"));
        }
        if op.is_experimental() && !self.options.experimental_functions {
            return Err(self.semantic(
                pos,
                format!(
                    "{op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
                ),
            ));
        }
        let want = if op.has_param() { 2 } else { 1 };
        if args.len() != want {
            return Err(self.semantic(
                pos,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = Box::new(args.pop().expect("checked length"));
        let param = args.pop().map(Box::new);
        Ok(Expr::Aggregate(AggregateExpr {
            op,
            expr,
            param,
            grouping,
            without,
            pos,
        }))
    }

    /// `( label, ... )` after `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub(super) fn parse_grouping_labels(&mut self) -> PResult<Vec<String>> {
        use TokenKind as T;
        const CTX: &str = "grouping opts";
        self.expect(&T::LeftParen, CTX, "\"(\"")?;
        let mut labels = Vec::new();
        loop {
            if self.peek_kind() == &T::RightParen {
                self.advance();
                return Ok(labels);
            }
            let k = self.peek_kind().clone();
            let label = match k {
                T::String => {
                    let t = self.advance();
                    let v = unquote(self.text(&t));
                    if v.is_empty() {
                        return Err(self.semantic(
                            PosRange::new(t.start, t.end),
                            format!(
                                "invalid label name for grouping: {}",
                                crate::printer::go_quote_str(&v)
                            ),
                        ));
                    }
                    v
                }
                T::Identifier
                | T::MetricIdentifier
                | T::Bool
                | T::GroupLeft
                | T::GroupRight
                | T::Ignoring
                | T::On
                | T::Atan2 => {
                    let t = self.advance();
                    self.text(&t).to_owned()
                }
                k if self.is_metric_keyword(&k) && k != T::Without => {
                    let t = self.advance();
                    self.text(&t).to_owned()
                }
                _ => return Err(self.unexpected(CTX, "label")),
            };
            labels.push(label);
            match self.peek_kind() {
                T::Comma => {
                    self.advance();
                }
                T::RightParen => {}
                _ => return Err(self.unexpected(CTX, "\",\" or \")\"")),
            }
        }
    }

    /// `bool`, `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)` and `fill`
    /// modifiers after a binary operator.
    fn parse_bin_modifiers(&mut self) -> PResult<(VectorMatching, bool)> {
        use TokenKind as T;
        let mut vm = VectorMatching::default();
        let return_bool = self.peek_kind() == &T::Bool;
        if return_bool {
            self.advance();
        }
        if matches!(self.peek_kind(), T::On | T::Ignoring) {
            vm.on = self.advance().kind == T::On;
            vm.matching_labels = self.parse_grouping_labels()?;
            if matches!(self.peek_kind(), T::GroupLeft | T::GroupRight) {
                vm.card = if self.advance().kind == T::GroupLeft {
                    VectorMatchCardinality::ManyToOne
                } else {
                    VectorMatchCardinality::OneToMany
                };
                if self.peek_kind() == &T::LeftParen {
                    vm.include = self.parse_grouping_labels()?;
                }
            }
        }
        vm.fill = self.parse_fill_modifiers()?;
        Ok((vm, return_bool))
    }

    fn parse_fill_modifiers(&mut self) -> PResult<FillValues> {
        use TokenKind as T;
        let mut fill = FillValues::default();
        match self.peek_kind() {
            T::Fill => {
                self.advance();
                let v = self.parse_fill_value()?;
                fill.lhs = Some(v);
                fill.rhs = Some(v);
            }
            T::FillLeft => {
                self.advance();
                fill.lhs = Some(self.parse_fill_value()?);
                if self.peek_kind() == &T::FillRight {
                    self.advance();
                    fill.rhs = Some(self.parse_fill_value()?);
                }
            }
            T::FillRight => {
                self.advance();
                fill.rhs = Some(self.parse_fill_value()?);
                if self.peek_kind() == &T::FillLeft {
                    self.advance();
                    fill.lhs = Some(self.parse_fill_value()?);
                }
            }
            _ => {}
        }
        Ok(fill)
    }

    /// `( [+-] number_or_duration )`.
    fn parse_fill_value(&mut self) -> PResult<f64> {
        use TokenKind as T;
        self.expect(&T::LeftParen, "", "")?;
        let negative = match self.peek_kind() {
            T::Sub => {
                self.advance();
                true
            }
            T::Add => {
                self.advance();
                false
            }
            _ => false,
        };
        let v = self.parse_number_or_duration("", "")?;
        self.expect(&T::RightParen, "", "")?;
        Ok(if negative { -v } else { v })
    }

    /// A number or duration token as a float (durations in seconds).
    pub(super) fn parse_number_or_duration(
        &mut self,
        context: &str,
        expected: &str,
    ) -> PResult<f64> {
        let t = self.peek().clone();
        let pos = PosRange::new(t.start, t.end);
        match t.kind {
            TokenKind::Number => {
                self.advance();
                parse_number(self.text(&t))
                    .map_err(|e| self.err(pos, format!("error parsing number: {e}")))
            }
            TokenKind::Duration => {
                self.advance();
                let ms = parse_duration(self.text(&t)).map_err(|e| self.err(pos, e.to_string()))?;
                Ok(ms as f64 / 1000.0)
            }
            _ => Err(self.unexpected(context, expected)),
        }
    }
}
