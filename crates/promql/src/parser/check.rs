//! Type checks after parsing (Prometheus's `checkAST`): operand types of operators,
//! function signatures, aggregation parameters, vector matching rules and selectors that
//! would select everything. Also settles vector matching (set operators become
//! many-to-many, scalar operands drop it) as Prometheus does.

use crate::ast::{Expr, PosRange, ValueType, VectorMatchCardinality};
use crate::error::ParseError;
use crate::lexer::is_space;
use crate::printer::go_quote_str;

type CResult = Result<ValueType, ParseError>;

/// Checks `e` (recursively), reporting the first problem in Prometheus's order.
pub(super) fn check(e: &mut Expr, input: &str) -> Result<(), ParseError> {
    Checker { input }.check(e).map(|_| ())
}

struct Checker<'a> {
    input: &'a str,
}

impl Checker<'_> {
    fn err(&self, pos: PosRange, msg: impl Into<String>) -> ParseError {
        ParseError::new(msg, pos, self.input)
    }

    fn expect_type(&self, e: &mut Expr, want: ValueType, context: &str) -> Result<(), ParseError> {
        let got = self.check(e)?;
        if got != want {
            return Err(self.err(
                e.pos(),
                format!(
                    "expected type {} in {context}, got {}",
                    want.documented(),
                    got.documented()
                ),
            ));
        }
        Ok(())
    }

    /// The operator's position: between the operands, without surrounding spaces.
    fn op_range(&self, lhs: PosRange, rhs: PosRange) -> PosRange {
        let b = self.input.as_bytes();
        let mut start = lhs.end;
        while start < b.len() && is_space(b[start] as char) {
            start += 1;
        }
        let mut end = rhs.start.saturating_sub(1);
        while end > start && is_space(b[end] as char) {
            end -= 1;
        }
        PosRange::new(start, end)
    }

    fn check(&self, e: &mut Expr) -> CResult {
        super::with_stack(|| self.check_inner(e))
    }

    fn check_inner(&self, e: &mut Expr) -> CResult {
        let pos = e.pos();
        let typ = e.value_type();
        match e {
            Expr::Aggregate(a) => {
                self.expect_type(&mut a.expr, ValueType::Vector, "aggregation expression")?;
                if let Some(param) = a.param.as_deref_mut() {
                    let want = if a.op == crate::ast::AggregateOp::CountValues {
                        ValueType::String
                    } else {
                        ValueType::Scalar
                    };
                    self.expect_type(param, want, "aggregation parameter")?;
                }
            }
            Expr::Binary(b) => {
                let lt = self.check(&mut b.lhs)?;
                let rt = self.check(&mut b.rhs)?;
                let op_pos = self.op_range(b.lhs.pos(), b.rhs.pos());
                if b.return_bool && !b.op.is_comparison() {
                    return Err(self.err(
                        op_pos,
                        "bool modifier can only be used on comparison operators",
                    ));
                }
                if b.op.is_comparison()
                    && !b.return_bool
                    && lt == ValueType::Scalar
                    && rt == ValueType::Scalar
                {
                    return Err(
                        self.err(op_pos, "comparisons between scalars must use BOOL modifier")
                    );
                }
                if let Some(vm) = b.matching.as_mut() {
                    if b.op.is_set_operator() && vm.card == VectorMatchCardinality::OneToOne {
                        vm.card = VectorMatchCardinality::ManyToMany;
                    }
                    if vm.on
                        && let Some(l) = vm.matching_labels.iter().find(|l| vm.include.contains(l))
                    {
                        return Err(self.err(
                            op_pos,
                            format!(
                                "label {} must not occur in ON and GROUP clause at once",
                                go_quote_str(l)
                            ),
                        ));
                    }
                }
                for (t, p) in [(lt, b.lhs.pos()), (rt, b.rhs.pos())] {
                    if t != ValueType::Scalar && t != ValueType::Vector {
                        return Err(self.err(
                            p,
                            "binary expression must contain only scalar and instant vector types",
                        ));
                    }
                }
                let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
                if let Some(vm) = b.matching.as_ref() {
                    let fills = vm.fill.lhs.is_some() || vm.fill.rhs.is_some();
                    if !both_vectors {
                        if !vm.matching_labels.is_empty() {
                            return Err(self
                                .err(pos, "vector matching only allowed between instant vectors"));
                        }
                        if fills {
                            return Err(self.err(
                                pos,
                                "filling in missing series only allowed between instant vectors",
                            ));
                        }
                        b.matching = None;
                    } else if b.op.is_set_operator() {
                        if matches!(
                            vm.card,
                            VectorMatchCardinality::OneToMany | VectorMatchCardinality::ManyToOne
                        ) {
                            return Err(self.err(
                                pos,
                                format!("no grouping allowed for \"{}\" operation", b.op),
                            ));
                        }
                        if vm.card != VectorMatchCardinality::ManyToMany {
                            return Err(self.err(pos, "set operations must always be many-to-many"));
                        }
                        if fills {
                            return Err(self.err(
                                pos,
                                "filling in missing series not allowed for set operators",
                            ));
                        }
                    }
                }
                if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set_operator() {
                    return Err(self.err(
                        pos,
                        format!(
                            "set operator \"{}\" not allowed in binary scalar expression",
                            b.op
                        ),
                    ));
                }
            }
            Expr::Call(c) => {
                let name = go_quote_str(c.func.name);
                let n = c.func.arg_types.len();
                let got = c.args.len();
                let (min, max) = c.func.arity();
                if c.func.variadic == 0 {
                    if got != n {
                        return Err(self.err(
                            pos,
                            format!("expected {n} argument(s) in call to {name}, got {got}"),
                        ));
                    }
                } else if got < min {
                    return Err(self.err(
                        pos,
                        format!("expected at least {min} argument(s) in call to {name}, got {got}"),
                    ));
                } else if let Some(max) = max
                    && got > max
                {
                    return Err(self.err(
                        pos,
                        format!("expected at most {max} argument(s) in call to {name}, got {got}"),
                    ));
                }
                if c.func.id == crate::functions::Func::Info && got > 1 {
                    let t = c.args[1].value_type();
                    if t != ValueType::Vector {
                        return Err(self.err(
                            pos,
                            format!(
                                "expected type instant vector in call to function {name}, got {}",
                                t.documented()
                            ),
                        ));
                    }
                    let arg_pos = c.args[1].pos();
                    match &mut c.args[1] {
                        Expr::VectorSelector(vs) if !vs.name.is_empty() => {
                            return Err(self.err(
                                arg_pos,
                                "expected label selectors only, got vector selector instead",
                            ));
                        }
                        Expr::VectorSelector(vs) => vs.bypass_empty_matcher_check = true,
                        _ => return Err(self.err(arg_pos, "expected label selectors only")),
                    }
                }
                for (i, arg) in c.args.iter_mut().enumerate() {
                    if i >= n && c.func.variadic == 0 {
                        break;
                    }
                    let want = c.func.arg_types[i.min(n - 1)];
                    let t = self.check(arg)?;
                    if t != want {
                        return Err(self.err(
                            arg.pos(),
                            format!(
                                "expected type {} in call to function {name}, got {}",
                                want.documented(),
                                t.documented()
                            ),
                        ));
                    }
                }
            }
            Expr::Paren(p) => {
                self.check(&mut p.expr)?;
            }
            Expr::StepInvariant(s) => {
                self.check(&mut s.expr)?;
            }
            Expr::Unary(u) => {
                let t = self.check(&mut u.expr)?;
                if t != ValueType::Scalar && t != ValueType::Vector {
                    return Err(self.err(
                        pos,
                        format!(
                            "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                            go_quote_str(t.documented())
                        ),
                    ));
                }
            }
            Expr::Subquery(s) => {
                let t = self.check(&mut s.expr)?;
                if t != ValueType::Vector {
                    return Err(self.err(
                        pos,
                        format!("subquery is only allowed on instant vector, got {t} instead"),
                    ));
                }
            }
            Expr::MatrixSelector(m) => {
                self.check_selector(&m.vector_selector)?;
            }
            Expr::VectorSelector(v) => {
                self.check_selector(v)?;
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        }
        Ok(typ)
    }

    fn check_selector(&self, v: &crate::ast::VectorSelector) -> Result<(), ParseError> {
        if !v.name.is_empty() {
            let before_name = &v.matchers[..v.matchers.len().saturating_sub(1)];
            if let Some(m) = before_name.iter().find(|m| m.name == model::METRIC_NAME) {
                return Err(self.err(
                    v.pos,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        go_quote_str(&v.name),
                        go_quote_str(&m.value)
                    ),
                ));
            }
            return Ok(());
        }
        if !v.bypass_empty_matcher_check && v.matchers.iter().all(model::Matcher::matches_empty) {
            return Err(self.err(
                v.pos,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        Ok(())
    }
}
