//! The PromQL abstract syntax tree: what the parser produces and the engine evaluates.
//!
//! The node kinds and their fields follow the semantics of Prometheus's `promql/parser`
//! AST: selectors keep the offset and `@` modifier exactly as written (so the printer can
//! reproduce the query) next to fields the engine's preprocessing fills in (`offset`,
//! `timestamp` for `@ start()`/`@ end()`), duration expressions (`[5m+1m]`, `offset
//! -(1h*2)`, `step()`) are kept unevaluated until the query's step and range are known,
//! and every node knows the byte range of the query text it came from.

use std::fmt;

use model::Matcher;

use crate::functions::Function;

/// A byte range `[start, end)` in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PosRange {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
}

impl PosRange {
    /// A range from `start` to `end`.
    #[must_use]
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest range covering both.
    #[must_use]
    pub fn merge(self, other: PosRange) -> Self {
        Self {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// The type an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// No value (only the result of a failed parse).
    None,
    /// A single float, not attached to any series.
    Scalar,
    /// An instant vector: one sample per series.
    Vector,
    /// A range vector: a list of samples per series.
    Matrix,
    /// A string literal.
    String,
}

impl ValueType {
    /// Prometheus's short name (`scalar`, `vector`, `matrix`, `string`, `none`), as used
    /// in the API's `resultType`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::None => "none",
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }

    /// The documented name used in error messages (`instant vector`, `range vector`...).
    #[must_use]
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::None => "none",
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A binary operator, in Prometheus's precedence classes (see [`BinaryOp::precedence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (right-associative)
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `</`: trims a native histogram's buckets above the value (experimental).
    TrimUpper,
    /// `>/`: trims a native histogram's buckets below the value (experimental).
    TrimLower,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinaryOp {
    /// The operator as written in PromQL.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::TrimUpper => "</",
            BinaryOp::TrimLower => ">/",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    /// Binding strength: `or` 1, `and`/`unless` 2, comparisons and trims 3, `+ -` 4,
    /// `* / % atan2` 5, `^` 6.
    #[must_use]
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql
            | BinaryOp::Neq
            | BinaryOp::Gtr
            | BinaryOp::Lss
            | BinaryOp::Gte
            | BinaryOp::Lte
            | BinaryOp::TrimUpper
            | BinaryOp::TrimLower => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Atan2 => 5,
            BinaryOp::Pow => 6,
        }
    }

    /// Whether the operator groups to the right (`a ^ b ^ c` is `a ^ (b ^ c)`).
    #[must_use]
    pub fn is_right_associative(self) -> bool {
        self == BinaryOp::Pow
    }

    /// Whether this is a comparison (`== != > < >= <=`), which filters unless `bool` is given.
    #[must_use]
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql
                | BinaryOp::Neq
                | BinaryOp::Gtr
                | BinaryOp::Lss
                | BinaryOp::Gte
                | BinaryOp::Lte
        )
    }

    /// Whether this is a set operator (`and`, `or`, `unless`).
    #[must_use]
    pub fn is_set_operator(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unary sign operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
}

impl UnaryOp {
    /// The operator as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Add => "+",
            UnaryOp::Sub => "-",
        }
    }
}

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk(k, v)`
    Topk,
    /// `bottomk(k, v)`
    Bottomk,
    /// `count_values("label", v)`
    CountValues,
    /// `quantile(q, v)`
    Quantile,
    /// `limitk(k, v)` (experimental)
    Limitk,
    /// `limit_ratio(r, v)` (experimental)
    LimitRatio,
}

impl AggregateOp {
    /// Every aggregation operator.
    pub const ALL: [AggregateOp; 14] = [
        AggregateOp::Sum,
        AggregateOp::Avg,
        AggregateOp::Count,
        AggregateOp::Min,
        AggregateOp::Max,
        AggregateOp::Group,
        AggregateOp::Stddev,
        AggregateOp::Stdvar,
        AggregateOp::Topk,
        AggregateOp::Bottomk,
        AggregateOp::CountValues,
        AggregateOp::Quantile,
        AggregateOp::Limitk,
        AggregateOp::LimitRatio,
    ];

    /// The operator's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Quantile => "quantile",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Looks an operator up by name (case-insensitive, as the lexer does).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether the operator takes a parameter before the vector (`topk`, `bottomk`,
    /// `count_values`, `quantile`, `limitk`, `limit_ratio`).
    #[must_use]
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::CountValues
                | AggregateOp::Quantile
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }

    /// Whether the operator is experimental (needs experimental functions enabled).
    #[must_use]
    pub fn is_experimental(self) -> bool {
        matches!(self, AggregateOp::Limitk | AggregateOp::LimitRatio)
    }
}

impl fmt::Display for AggregateOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which end of the query's time range an `@ start()` / `@ end()` modifier refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartOrEnd {
    /// `@ start()`
    Start,
    /// `@ end()`
    End,
}

/// A number. Numbers are also durations in seconds where a duration is expected.
#[derive(Debug, Clone)]
pub struct NumberLiteral {
    /// The value (seconds, when written as a duration).
    pub value: f64,
    /// Whether it was written as a duration (`5m`); the printer then prints a duration.
    pub duration: bool,
    /// Where it was written.
    pub pos: PosRange,
}

impl PartialEq for NumberLiteral {
    /// Equal values, with NaN equal to NaN (so ASTs compare structurally).
    fn eq(&self, other: &Self) -> bool {
        self.duration == other.duration
            && self.pos == other.pos
            && float_eq(self.value, other.value)
    }
}

/// Float equality where every NaN equals every NaN.
pub(crate) fn float_eq(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// A string literal (the unquoted value).
#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    /// The value after unescaping.
    pub value: String,
    /// Where it was written.
    pub pos: PosRange,
}

/// An instant vector selector: `name{matchers} [offset d] [@ t]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name if written before the braces, else empty. When set, `matchers`
    /// also holds the equivalent `__name__="name"` matcher.
    pub name: String,
    /// All label matchers, including the one for the metric name.
    pub matchers: Vec<Matcher>,
    /// The offset as written, in milliseconds (negative offsets are allowed).
    pub original_offset: i64,
    /// The offset when written as a duration expression (`offset (1h*2)`); evaluated by
    /// the engine, which then sets `original_offset`.
    pub original_offset_expr: Option<DurationExpr>,
    /// The offset used at evaluation (milliseconds); the parser copies `original_offset`,
    /// the engine's preprocessing may adjust it.
    pub offset: i64,
    /// The `@` timestamp in milliseconds; for `@ start()`/`@ end()` filled by the engine.
    pub timestamp: Option<i64>,
    /// Set for `@ start()` / `@ end()`.
    pub start_or_end: Option<StartOrEnd>,
    /// `anchored` extended range selector modifier (experimental).
    pub anchored: bool,
    /// `smoothed` extended range selector modifier (experimental).
    pub smoothed: bool,
    /// Set for the second argument of `info()`, which need not have a non-empty matcher.
    pub bypass_empty_matcher_check: bool,
    /// Where it was written, modifiers (offset, `@`) included.
    pub pos: PosRange,
}

/// A range vector selector: `selector[range]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    /// The selector; its offset and `@` are printed after the range.
    pub vector_selector: VectorSelector,
    /// The range in milliseconds (0 while `range_expr` is unevaluated).
    pub range: i64,
    /// The range as a duration expression (`[5m+1m]`), evaluated by the engine.
    pub range_expr: Option<DurationExpr>,
    /// Byte offset one past the closing `]`.
    pub end_pos: usize,
}

/// A subquery: `expr[range:step]` with optional offset and `@`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubqueryExpr {
    /// The inner expression (an instant vector).
    pub expr: Box<Expr>,
    /// The range in milliseconds (0 while `range_expr` is unevaluated).
    pub range: i64,
    /// The range as a duration expression.
    pub range_expr: Option<DurationExpr>,
    /// The step in milliseconds; 0 means the engine's default subquery step.
    pub step: i64,
    /// The step as a duration expression.
    pub step_expr: Option<DurationExpr>,
    /// The offset as written, in milliseconds.
    pub original_offset: i64,
    /// The offset as a duration expression.
    pub original_offset_expr: Option<DurationExpr>,
    /// The offset used at evaluation (milliseconds).
    pub offset: i64,
    /// The `@` timestamp in milliseconds.
    pub timestamp: Option<i64>,
    /// Set for `@ start()` / `@ end()`.
    pub start_or_end: Option<StartOrEnd>,
    /// Byte offset one past the closing `]` (or the last modifier).
    pub end_pos: usize,
}

/// A parenthesised expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ParenExpr {
    /// The inner expression.
    pub expr: Box<Expr>,
    /// Where it was written, parentheses included.
    pub pos: PosRange,
}

/// A unary `+`/`-` applied to a non-literal expression (signs on number literals are folded).
#[derive(Debug, Clone, PartialEq)]
pub struct UnaryExpr {
    /// The sign.
    pub op: UnaryOp,
    /// The operand.
    pub expr: Box<Expr>,
    /// Byte offset of the sign.
    pub start_pos: usize,
}

/// How the series of two instant vectors are paired by a binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VectorMatchCardinality {
    /// Default matching.
    #[default]
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
    /// Set operators (`and`, `or`, `unless`).
    ManyToMany,
}

impl VectorMatchCardinality {
    /// `one-to-one`, `many-to-one`, `one-to-many`, `many-to-many`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            VectorMatchCardinality::OneToOne => "one-to-one",
            VectorMatchCardinality::ManyToOne => "many-to-one",
            VectorMatchCardinality::OneToMany => "one-to-many",
            VectorMatchCardinality::ManyToMany => "many-to-many",
        }
    }
}

/// Values substituted for a missing partner series (`fill`, `fill_left`, `fill_right`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FillValues {
    /// Used for the left-hand side when only the right side has a series.
    pub lhs: Option<f64>,
    /// Used for the right-hand side when only the left side has a series.
    pub rhs: Option<f64>,
}

impl PartialEq for FillValues {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => float_eq(x, y),
            (None, None) => true,
            _ => false,
        };
        same(self.lhs, other.lhs) && same(self.rhs, other.rhs)
    }
}

/// Vector matching of a binary operator between two instant vectors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VectorMatching {
    /// The cardinality.
    pub card: VectorMatchCardinality,
    /// The labels of `on(...)` / `ignoring(...)`.
    pub matching_labels: Vec<String>,
    /// `on` (true) or `ignoring` (false, also when neither is written).
    pub on: bool,
    /// Labels of `group_left(...)` / `group_right(...)` copied from the "one" side.
    pub include: Vec<String>,
    /// Fill values for unmatched series.
    pub fill: FillValues,
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Box<Expr>,
    /// Right operand.
    pub rhs: Box<Expr>,
    /// Set when both operands are instant vectors (or for set operators); `None` if
    /// either side is a scalar.
    pub matching: Option<VectorMatching>,
    /// `bool` modifier on a comparison: return 0/1 instead of filtering.
    pub return_bool: bool,
}

/// An aggregation: `op [by|without (labels)] ([param,] expr)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateExpr {
    /// The operator.
    pub op: AggregateOp,
    /// The aggregated instant vector.
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `quantile`, `count_values`...
    pub param: Option<Box<Expr>>,
    /// The `by` / `without` labels.
    pub grouping: Vec<String>,
    /// `without` (true) or `by` (false).
    pub without: bool,
    /// Where it was written.
    pub pos: PosRange,
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's descriptor from [`crate::functions`].
    pub func: &'static Function,
    /// The arguments.
    pub args: Vec<Expr>,
    /// Where it was written.
    pub pos: PosRange,
}

/// Marks a sub-tree whose value does not depend on the evaluation step (set by the
/// engine's preprocessing, never by the parser): it is evaluated once and repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInvariantExpr {
    /// The wrapped expression.
    pub expr: Box<Expr>,
}

/// A duration expression in a range, subquery step or offset (experimental in
/// Prometheus): numbers are seconds, durations are converted to seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// A number or duration literal.
    Number(NumberLiteral),
    /// `step()`: the query's step (0 for instant queries).
    Step(PosRange),
    /// `range()`: the query's range, end minus start (0 for instant queries).
    Range(PosRange),
    /// `min_of(a, b)`.
    MinOf(Box<DurationExpr>, Box<DurationExpr>, PosRange),
    /// `max_of(a, b)`.
    MaxOf(Box<DurationExpr>, Box<DurationExpr>, PosRange),
    /// `-expr` (a leading `+` is dropped by the parser).
    Neg(Box<DurationExpr>, usize),
    /// `lhs op rhs` with op one of `+ - * / % ^`.
    Binary(BinaryOp, Box<DurationExpr>, Box<DurationExpr>),
    /// A parenthesised duration expression.
    Paren(Box<DurationExpr>, PosRange),
}

/// The context a duration expression is evaluated in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationContext {
    /// The query step in milliseconds (0 for instant queries).
    pub step_ms: i64,
    /// The query range (end - start) in milliseconds.
    pub range_ms: i64,
}

impl DurationExpr {
    /// Where it was written.
    #[must_use]
    pub fn pos(&self) -> PosRange {
        match self {
            DurationExpr::Number(n) => n.pos,
            DurationExpr::Step(p) | DurationExpr::Range(p) | DurationExpr::Paren(_, p) => *p,
            DurationExpr::MinOf(_, _, p) | DurationExpr::MaxOf(_, _, p) => *p,
            DurationExpr::Neg(e, start) => PosRange::new(*start, e.pos().end),
            DurationExpr::Binary(_, l, r) => l.pos().merge(r.pos()),
        }
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `1`, `0x1f`, `Inf`, `5m` (in seconds)...
    NumberLiteral(NumberLiteral),
    /// `"text"`.
    StringLiteral(StringLiteral),
    /// `metric{label="value"}`.
    VectorSelector(VectorSelector),
    /// `metric[5m]`.
    MatrixSelector(MatrixSelector),
    /// `expr[5m:1m]`.
    Subquery(SubqueryExpr),
    /// `(expr)`.
    Paren(ParenExpr),
    /// `-expr`.
    Unary(UnaryExpr),
    /// `a + b`, `a and on(x) b`...
    Binary(BinaryExpr),
    /// `sum by (x) (expr)`.
    Aggregate(AggregateExpr),
    /// `rate(x[5m])`.
    Call(Call),
    /// Engine-inserted step-invariance marker.
    StepInvariant(StepInvariantExpr),
}

impl Expr {
    /// The type the expression evaluates to.
    #[must_use]
    pub fn value_type(&self) -> ValueType {
        let mut e = self;
        loop {
            match e {
                Expr::Paren(p) => e = &p.expr,
                Expr::Unary(u) => e = &u.expr,
                Expr::StepInvariant(s) => e = &s.expr,
                Expr::Binary(_) => break,
                leaf => return leaf.leaf_type(),
            }
        }
        // A binary expression is a scalar only if every operand below it is one; walked
        // without recursion, as operator chains can be long.
        let mut stack = vec![e];
        while let Some(n) = stack.pop() {
            match n {
                Expr::Binary(b) => {
                    stack.push(&b.lhs);
                    stack.push(&b.rhs);
                }
                Expr::Paren(p) => stack.push(&p.expr),
                Expr::Unary(u) => stack.push(&u.expr),
                Expr::StepInvariant(s) => stack.push(&s.expr),
                leaf if leaf.leaf_type() != ValueType::Scalar => return ValueType::Vector,
                _ => {}
            }
        }
        ValueType::Scalar
    }

    /// The type of a node that is not a wrapper or a binary expression.
    fn leaf_type(&self) -> ValueType {
        match self {
            Expr::NumberLiteral(_) => ValueType::Scalar,
            Expr::StringLiteral(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Call(c) => c.func.return_type,
            Expr::Paren(_) | Expr::Unary(_) | Expr::StepInvariant(_) | Expr::Binary(_) => {
                self.value_type()
            }
        }
    }

    /// The byte range of the query text this expression came from.
    #[must_use]
    pub fn pos(&self) -> PosRange {
        PosRange::new(self.start(), self.end())
    }

    /// Where the expression starts (found without recursion).
    fn start(&self) -> usize {
        let mut e = self;
        loop {
            match e {
                Expr::Binary(b) => e = &b.lhs,
                Expr::Subquery(s) => e = &s.expr,
                Expr::StepInvariant(s) => e = &s.expr,
                Expr::NumberLiteral(n) => return n.pos.start,
                Expr::StringLiteral(s) => return s.pos.start,
                Expr::VectorSelector(v) => return v.pos.start,
                Expr::MatrixSelector(m) => return m.vector_selector.pos.start,
                Expr::Paren(p) => return p.pos.start,
                Expr::Unary(u) => return u.start_pos,
                Expr::Aggregate(a) => return a.pos.start,
                Expr::Call(c) => return c.pos.start,
            }
        }
    }

    /// Where the expression ends (found without recursion).
    fn end(&self) -> usize {
        let mut e = self;
        loop {
            match e {
                Expr::Binary(b) => e = &b.rhs,
                Expr::Unary(u) => e = &u.expr,
                Expr::StepInvariant(s) => e = &s.expr,
                Expr::NumberLiteral(n) => return n.pos.end,
                Expr::StringLiteral(s) => return s.pos.end,
                Expr::VectorSelector(v) => return v.pos.end,
                Expr::MatrixSelector(m) => return m.end_pos,
                Expr::Subquery(s) => return s.end_pos,
                Expr::Paren(p) => return p.pos.end,
                Expr::Aggregate(a) => return a.pos.end,
                Expr::Call(c) => return c.pos.end,
            }
        }
    }

    /// The direct sub-expressions, in order (an aggregation's parameter comes first).
    #[must_use]
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => Vec::new(),
            Expr::Subquery(s) => vec![&s.expr],
            Expr::Paren(p) => vec![&p.expr],
            Expr::Unary(u) => vec![&u.expr],
            Expr::StepInvariant(s) => vec![&s.expr],
            Expr::Binary(b) => vec![&b.lhs, &b.rhs],
            Expr::Aggregate(a) => a
                .param
                .iter()
                .map(AsRef::as_ref)
                .chain(std::iter::once(&*a.expr))
                .collect(),
            Expr::Call(c) => c.args.iter().collect(),
        }
    }

    /// Calls `f` on this expression and every descendant, parents before children.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            let children = e.children();
            stack.extend(children.into_iter().rev());
        }
    }

    /// The matchers of every vector selector (including those inside range selectors).
    #[must_use]
    pub fn selectors(&self) -> Vec<&[Matcher]> {
        let mut out = Vec::new();
        self.walk(&mut |e| match e {
            Expr::VectorSelector(v) => out.push(v.matchers.as_slice()),
            Expr::MatrixSelector(m) => out.push(m.vector_selector.matchers.as_slice()),
            _ => {}
        });
        out
    }

    /// Removes any number of enclosing parentheses and step-invariant markers.
    #[must_use]
    pub fn unwrap_parens(&self) -> &Expr {
        let mut e = self;
        loop {
            match e {
                Expr::Paren(p) => e = &p.expr,
                Expr::StepInvariant(s) => e = &s.expr,
                other => return other,
            }
        }
    }
}
