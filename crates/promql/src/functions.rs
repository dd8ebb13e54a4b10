//! The PromQL function table: every function's name, what it is ([`Func`], resolved once at
//! parse time and stored in the call node), argument types, arity and result type, as the
//! parser needs them for type checking (Prometheus 3, including the experimental functions
//! the conformance tests use). Mirrors Prometheus's `promql/parser/functions.go`; the engine
//! matches on [`Func`] exhaustively (as `promql/functions.go`'s `FunctionCalls` maps each
//! name to its implementation), so a function added here and not implemented does not build.

use crate::ast::ValueType;

/// What a function is: the engine's dispatch key, one per function in [`FUNCTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    /// The evaluation time or a bound of the query.
    Clock(ClockFn),
    /// `timestamp(v)`: the time of each sample.
    Timestamp,
    /// `start_timestamp(v)`: the start (created) time of each sample.
    StartTimestamp,
    /// `info(v, selector)`: labels joined from info metrics.
    Info,
    /// A function of a range vector.
    Range(RangeFn),
    /// A function of its arguments' values at one time.
    Instant(InstantFn),
}

/// Functions of the evaluation time and the query's bounds (`time`, `pi`, `start`, `end`,
/// `range`, `step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "each variant is the function of the same name in snake case (see FUNCTIONS)"
)]
pub enum ClockFn {
    Time,
    Pi,
    Start,
    End,
    Range,
    Step,
}

/// Element-wise float functions of an instant vector (`abs`, `sqrt`, `sin`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "each variant is the function of the same name in snake case (see FUNCTIONS)"
)]
pub enum MathFn {
    Abs,
    Ceil,
    Floor,
    Exp,
    Sqrt,
    Ln,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Deg,
    Rad,
    Sgn,
}

/// Calendar functions of Unix seconds, in UTC (`year`, `month`, `hour`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "each variant is the function of the same name in snake case (see FUNCTIONS)"
)]
pub enum DateFn {
    DaysInMonth,
    DayOfMonth,
    DayOfWeek,
    DayOfYear,
    Hour,
    Minute,
    Month,
    Year,
}

/// Functions over a range vector (`rate`, `*_over_time`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "each variant is the function of the same name in snake case (see FUNCTIONS)"
)]
pub enum RangeFn {
    AbsentOverTime,
    AvgOverTime,
    Changes,
    CountOverTime,
    Delta,
    Deriv,
    DoubleExponentialSmoothing,
    FirstOverTime,
    Idelta,
    Increase,
    Irate,
    LastOverTime,
    MadOverTime,
    MaxOverTime,
    MinOverTime,
    PredictLinear,
    PresentOverTime,
    QuantileOverTime,
    Rate,
    Resets,
    StddevOverTime,
    StdvarOverTime,
    SumOverTime,
    TsOfFirstOverTime,
    TsOfLastOverTime,
    TsOfMaxOverTime,
    TsOfMinOverTime,
}

/// Functions computed from their evaluated arguments at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "each variant is the function of the same name in snake case (see FUNCTIONS)"
)]
pub enum InstantFn {
    Math(MathFn),
    Date(DateFn),
    Vector,
    Scalar,
    MinOf,
    MaxOf,
    Round,
    Clamp,
    ClampMin,
    ClampMax,
    Absent,
    Sort,
    SortDesc,
    SortByLabel,
    SortByLabelDesc,
    LabelReplace,
    LabelJoin,
    HistogramQuantile,
    HistogramQuantiles,
    HistogramFraction,
    HistogramCount,
    HistogramSum,
    HistogramAvg,
    HistogramStddev,
    HistogramStdvar,
}

/// A function's signature.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    /// The name as written in queries.
    pub name: &'static str,
    /// What the function is, for the engine's dispatch.
    pub id: Func,
    /// The types of the arguments, in order.
    pub arg_types: &'static [ValueType],
    /// How many trailing arguments may be left out (a positive number), or `-1` when the
    /// last argument type may repeat any number of times; `0` for a fixed arity.
    pub variadic: i32,
    /// The result type.
    pub return_type: ValueType,
    /// Whether Prometheus marks the function experimental (behind
    /// `--enable-feature=promql-experimental-functions`).
    pub experimental: bool,
}

impl Function {
    /// Smallest and largest number of arguments accepted (`None` = unbounded).
    #[must_use]
    pub fn arity(&self) -> (usize, Option<usize>) {
        let n = self.arg_types.len();
        let min = n.saturating_sub(1);
        match self.variadic {
            0 => (n, Some(n)),
            v if v < 0 => (min, None),
            v => (min, Some(min + v.unsigned_abs() as usize)),
        }
    }

    /// The argument list as documentation writes it, with the types' documented names:
    /// optional arguments in brackets, a repeatable last one followed by `...`; e.g.
    /// `(instant vector, [scalar])` for `round`, `(instant vector, string...)` for
    /// `sort_by_label`.
    #[must_use]
    pub fn signature(&self) -> String {
        let (min, max) = self.arity();
        let n = self.arg_types.len();
        let mut parts = Vec::with_capacity(n);
        for (i, t) in self.arg_types.iter().enumerate() {
            let name = t.documented();
            parts.push(if max.is_none() && i + 1 == n {
                format!("{name}...")
            } else if i >= min {
                format!("[{name}]")
            } else {
                name.to_owned()
            });
        }
        // `histogram_quantiles` takes up to 9 further quantiles of the last type.
        if let Some(max) = max
            && max > n
        {
            parts.push(format!(
                "[{}...]",
                self.arg_types.last().map_or("", |t| t.documented())
            ));
        }
        format!("({})", parts.join(", "))
    }
}

const fn f(
    name: &'static str,
    id: Func,
    arg_types: &'static [ValueType],
    variadic: i32,
    return_type: ValueType,
    experimental: bool,
) -> Function {
    Function {
        name,
        id,
        arg_types,
        variadic,
        return_type,
        experimental,
    }
}

use ValueType as V;
use {ClockFn as C, DateFn as D, Func as F, InstantFn as I, MathFn as M, RangeFn as R};

/// All functions, sorted by name.
#[rustfmt::skip]
pub static FUNCTIONS: &[Function] = &[
    f("abs", F::Instant(I::Math(M::Abs)), &[V::Vector], 0, V::Vector, false),
    f("absent", F::Instant(I::Absent), &[V::Vector], 0, V::Vector, false),
    f("absent_over_time", F::Range(R::AbsentOverTime), &[V::Matrix], 0, V::Vector, false),
    f("acos", F::Instant(I::Math(M::Acos)), &[V::Vector], 0, V::Vector, false),
    f("acosh", F::Instant(I::Math(M::Acosh)), &[V::Vector], 0, V::Vector, false),
    f("asin", F::Instant(I::Math(M::Asin)), &[V::Vector], 0, V::Vector, false),
    f("asinh", F::Instant(I::Math(M::Asinh)), &[V::Vector], 0, V::Vector, false),
    f("atan", F::Instant(I::Math(M::Atan)), &[V::Vector], 0, V::Vector, false),
    f("atanh", F::Instant(I::Math(M::Atanh)), &[V::Vector], 0, V::Vector, false),
    f("avg_over_time", F::Range(R::AvgOverTime), &[V::Matrix], 0, V::Vector, false),
    f("ceil", F::Instant(I::Math(M::Ceil)), &[V::Vector], 0, V::Vector, false),
    f("changes", F::Range(R::Changes), &[V::Matrix], 0, V::Vector, false),
    f("clamp", F::Instant(I::Clamp), &[V::Vector, V::Scalar, V::Scalar], 0, V::Vector, false),
    f("clamp_max", F::Instant(I::ClampMax), &[V::Vector, V::Scalar], 0, V::Vector, false),
    f("clamp_min", F::Instant(I::ClampMin), &[V::Vector, V::Scalar], 0, V::Vector, false),
    f("cos", F::Instant(I::Math(M::Cos)), &[V::Vector], 0, V::Vector, false),
    f("cosh", F::Instant(I::Math(M::Cosh)), &[V::Vector], 0, V::Vector, false),
    f("count_over_time", F::Range(R::CountOverTime), &[V::Matrix], 0, V::Vector, false),
    f("day_of_month", F::Instant(I::Date(D::DayOfMonth)), &[V::Vector], 1, V::Vector, false),
    f("day_of_week", F::Instant(I::Date(D::DayOfWeek)), &[V::Vector], 1, V::Vector, false),
    f("day_of_year", F::Instant(I::Date(D::DayOfYear)), &[V::Vector], 1, V::Vector, false),
    f("days_in_month", F::Instant(I::Date(D::DaysInMonth)), &[V::Vector], 1, V::Vector, false),
    f("deg", F::Instant(I::Math(M::Deg)), &[V::Vector], 0, V::Vector, false),
    f("delta", F::Range(R::Delta), &[V::Matrix], 0, V::Vector, false),
    f("deriv", F::Range(R::Deriv), &[V::Matrix], 0, V::Vector, false),
    f("double_exponential_smoothing", F::Range(R::DoubleExponentialSmoothing), &[V::Matrix, V::Scalar, V::Scalar], 0, V::Vector, true),
    f("end", F::Clock(C::End), &[], 0, V::Scalar, true),
    f("exp", F::Instant(I::Math(M::Exp)), &[V::Vector], 0, V::Vector, false),
    f("first_over_time", F::Range(R::FirstOverTime), &[V::Matrix], 0, V::Vector, false),
    f("floor", F::Instant(I::Math(M::Floor)), &[V::Vector], 0, V::Vector, false),
    f("histogram_avg", F::Instant(I::HistogramAvg), &[V::Vector], 0, V::Vector, false),
    f("histogram_count", F::Instant(I::HistogramCount), &[V::Vector], 0, V::Vector, false),
    f("histogram_fraction", F::Instant(I::HistogramFraction), &[V::Scalar, V::Scalar, V::Vector], 0, V::Vector, false),
    f("histogram_quantile", F::Instant(I::HistogramQuantile), &[V::Scalar, V::Vector], 0, V::Vector, false),
    f("histogram_quantiles", F::Instant(I::HistogramQuantiles), &[V::Vector, V::String, V::Scalar, V::Scalar], 9, V::Vector, true),
    f("histogram_stddev", F::Instant(I::HistogramStddev), &[V::Vector], 0, V::Vector, false),
    f("histogram_stdvar", F::Instant(I::HistogramStdvar), &[V::Vector], 0, V::Vector, false),
    f("histogram_sum", F::Instant(I::HistogramSum), &[V::Vector], 0, V::Vector, false),
    f("hour", F::Instant(I::Date(D::Hour)), &[V::Vector], 1, V::Vector, false),
    f("idelta", F::Range(R::Idelta), &[V::Matrix], 0, V::Vector, false),
    f("increase", F::Range(R::Increase), &[V::Matrix], 0, V::Vector, false),
    f("info", F::Info, &[V::Vector, V::Vector], 1, V::Vector, true),
    f("irate", F::Range(R::Irate), &[V::Matrix], 0, V::Vector, false),
    f("label_join", F::Instant(I::LabelJoin), &[V::Vector, V::String, V::String, V::String], -1, V::Vector, false),
    f("label_replace", F::Instant(I::LabelReplace), &[V::Vector, V::String, V::String, V::String, V::String], 0, V::Vector, false),
    f("last_over_time", F::Range(R::LastOverTime), &[V::Matrix], 0, V::Vector, false),
    f("ln", F::Instant(I::Math(M::Ln)), &[V::Vector], 0, V::Vector, false),
    f("log10", F::Instant(I::Math(M::Log10)), &[V::Vector], 0, V::Vector, false),
    f("log2", F::Instant(I::Math(M::Log2)), &[V::Vector], 0, V::Vector, false),
    f("mad_over_time", F::Range(R::MadOverTime), &[V::Matrix], 0, V::Vector, true),
    f("max_of", F::Instant(I::MaxOf), &[V::Scalar, V::Scalar], 0, V::Scalar, true),
    f("max_over_time", F::Range(R::MaxOverTime), &[V::Matrix], 0, V::Vector, false),
    f("min_of", F::Instant(I::MinOf), &[V::Scalar, V::Scalar], 0, V::Scalar, true),
    f("min_over_time", F::Range(R::MinOverTime), &[V::Matrix], 0, V::Vector, false),
    f("minute", F::Instant(I::Date(D::Minute)), &[V::Vector], 1, V::Vector, false),
    f("month", F::Instant(I::Date(D::Month)), &[V::Vector], 1, V::Vector, false),
    f("pi", F::Clock(C::Pi), &[], 0, V::Scalar, false),
    f("predict_linear", F::Range(R::PredictLinear), &[V::Matrix, V::Scalar], 0, V::Vector, false),
    f("present_over_time", F::Range(R::PresentOverTime), &[V::Matrix], 0, V::Vector, false),
    f("quantile_over_time", F::Range(R::QuantileOverTime), &[V::Scalar, V::Matrix], 0, V::Vector, false),
    f("rad", F::Instant(I::Math(M::Rad)), &[V::Vector], 0, V::Vector, false),
    f("range", F::Clock(C::Range), &[], 0, V::Scalar, true),
    f("rate", F::Range(R::Rate), &[V::Matrix], 0, V::Vector, false),
    f("resets", F::Range(R::Resets), &[V::Matrix], 0, V::Vector, false),
    f("round", F::Instant(I::Round), &[V::Vector, V::Scalar], 1, V::Vector, false),
    f("scalar", F::Instant(I::Scalar), &[V::Vector], 0, V::Scalar, false),
    f("sgn", F::Instant(I::Math(M::Sgn)), &[V::Vector], 0, V::Vector, false),
    f("sin", F::Instant(I::Math(M::Sin)), &[V::Vector], 0, V::Vector, false),
    f("sinh", F::Instant(I::Math(M::Sinh)), &[V::Vector], 0, V::Vector, false),
    f("sort", F::Instant(I::Sort), &[V::Vector], 0, V::Vector, false),
    f("sort_by_label", F::Instant(I::SortByLabel), &[V::Vector, V::String], -1, V::Vector, true),
    f("sort_by_label_desc", F::Instant(I::SortByLabelDesc), &[V::Vector, V::String], -1, V::Vector, true),
    f("sort_desc", F::Instant(I::SortDesc), &[V::Vector], 0, V::Vector, false),
    f("sqrt", F::Instant(I::Math(M::Sqrt)), &[V::Vector], 0, V::Vector, false),
    f("start", F::Clock(C::Start), &[], 0, V::Scalar, true),
    f("start_timestamp", F::StartTimestamp, &[V::Vector], 0, V::Vector, true),
    f("stddev_over_time", F::Range(R::StddevOverTime), &[V::Matrix], 0, V::Vector, false),
    f("stdvar_over_time", F::Range(R::StdvarOverTime), &[V::Matrix], 0, V::Vector, false),
    f("step", F::Clock(C::Step), &[], 0, V::Scalar, true),
    f("sum_over_time", F::Range(R::SumOverTime), &[V::Matrix], 0, V::Vector, false),
    f("tan", F::Instant(I::Math(M::Tan)), &[V::Vector], 0, V::Vector, false),
    f("tanh", F::Instant(I::Math(M::Tanh)), &[V::Vector], 0, V::Vector, false),
    f("time", F::Clock(C::Time), &[], 0, V::Scalar, false),
    f("timestamp", F::Timestamp, &[V::Vector], 0, V::Vector, false),
    f("ts_of_first_over_time", F::Range(R::TsOfFirstOverTime), &[V::Matrix], 0, V::Vector, true),
    f("ts_of_last_over_time", F::Range(R::TsOfLastOverTime), &[V::Matrix], 0, V::Vector, true),
    f("ts_of_max_over_time", F::Range(R::TsOfMaxOverTime), &[V::Matrix], 0, V::Vector, true),
    f("ts_of_min_over_time", F::Range(R::TsOfMinOverTime), &[V::Matrix], 0, V::Vector, true),
    f("vector", F::Instant(I::Vector), &[V::Scalar], 0, V::Vector, false),
    f("year", F::Instant(I::Date(D::Year)), &[V::Vector], 1, V::Vector, false),
];

/// Looks a function up by its exact (case-sensitive) name.
#[must_use]
pub fn get_function(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookups_work() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(
            get_function("rate").map(|f| f.arg_types),
            Some(&[ValueType::Matrix][..])
        );
        assert!(get_function("Rate").is_none());
        assert!(get_function("no_such_function").is_none());
    }

    #[test]
    fn signatures_show_optional_and_repeated_arguments() {
        let sig = |name| get_function(name).map(Function::signature);
        assert_eq!(sig("rate").as_deref(), Some("(range vector)"));
        assert_eq!(sig("time").as_deref(), Some("()"));
        assert_eq!(sig("round").as_deref(), Some("(instant vector, [scalar])"));
        assert_eq!(sig("year").as_deref(), Some("([instant vector])"));
        assert_eq!(
            sig("label_join").as_deref(),
            Some("(instant vector, string, string, string...)")
        );
        assert_eq!(
            sig("histogram_quantiles").as_deref(),
            Some("(instant vector, string, scalar, [scalar], [scalar...])")
        );
    }

    #[test]
    fn every_function_has_its_own_id() {
        let ids: std::collections::HashSet<Func> = FUNCTIONS.iter().map(|f| f.id).collect();
        assert_eq!(ids.len(), FUNCTIONS.len());
        assert_eq!(
            get_function("rate").map(|f| f.id),
            Some(Func::Range(RangeFn::Rate))
        );
        assert_eq!(
            get_function("day_of_week").map(|f| f.id),
            Some(Func::Instant(InstantFn::Date(DateFn::DayOfWeek)))
        );
        // A range function's arguments include one range vector; no other function's do.
        for f in FUNCTIONS {
            let takes_matrix = f.arg_types.contains(&ValueType::Matrix);
            assert_eq!(takes_matrix, matches!(f.id, Func::Range(_)), "{}", f.name);
        }
    }
}
