//! Functions of their arguments' values at one time: math, clamping, rounding, dates,
//! sorting, label manipulation and the histogram functions (Prometheus's
//! `promql/functions.go`, the functions that take instant vectors and scalars).

use std::f64::consts::PI;

use model::Labels;

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val, absent_labels};
use crate::ast::Call;
use crate::functions::{InstantFn, MathFn};
use crate::value::Sample;

/// Go's `math.Max` / `math.Min` semantics (NaN wins).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The float function of an element-wise math function.
fn math_fn(f: MathFn) -> fn(f64) -> f64 {
    match f {
        MathFn::Abs => f64::abs,
        MathFn::Ceil => f64::ceil,
        MathFn::Floor => f64::floor,
        MathFn::Exp => f64::exp,
        MathFn::Sqrt => f64::sqrt,
        MathFn::Ln => f64::ln,
        MathFn::Log2 => f64::log2,
        MathFn::Log10 => f64::log10,
        MathFn::Sin => f64::sin,
        MathFn::Cos => f64::cos,
        MathFn::Tan => f64::tan,
        MathFn::Asin => f64::asin,
        MathFn::Acos => f64::acos,
        MathFn::Atan => f64::atan,
        MathFn::Sinh => f64::sinh,
        MathFn::Cosh => f64::cosh,
        MathFn::Tanh => f64::tanh,
        MathFn::Asinh => f64::asinh,
        MathFn::Acosh => f64::acosh,
        MathFn::Atanh => f64::atanh,
        MathFn::Deg => |x| x * 180.0 / PI,
        MathFn::Rad => |x| x * PI / 180.0,
        MathFn::Sgn => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
    }
}

impl Evaluator<'_> {
    /// Evaluates a function of its arguments' values `args` at `ts`.
    pub(crate) fn instant_function(
        &mut self,
        c: &Call,
        func: InstantFn,
        mut args: Vec<Val>,
        ts: i64,
    ) -> Result<Val, EvalError> {
        let scalar = |args: &[Val], i: usize| args.get(i).map_or(f64::NAN, Val::scalar);
        Ok(match func {
            InstantFn::Math(m) => {
                Val::Vector(map_floats(args.swap_remove(0).into_vector(), math_fn(m)))
            }
            InstantFn::Vector => {
                Val::Vector(vec![Sample::float(Labels::empty(), ts, scalar(&args, 0))])
            }
            InstantFn::Scalar => {
                let floats: Vec<f64> = args
                    .swap_remove(0)
                    .into_vector()
                    .iter()
                    .filter(|s| s.h.is_none())
                    .map(|s| s.f)
                    .collect();
                Val::Scalar(if floats.len() == 1 {
                    floats[0]
                } else {
                    f64::NAN
                })
            }
            InstantFn::MinOf => Val::Scalar(go_min(scalar(&args, 0), scalar(&args, 1))),
            InstantFn::MaxOf => Val::Scalar(go_max(scalar(&args, 0), scalar(&args, 1))),
            InstantFn::Round => {
                let to = if args.len() > 1 {
                    scalar(&args, 1)
                } else {
                    1.0
                };
                let inv = 1.0 / to;
                Val::Vector(map_floats(args.swap_remove(0).into_vector(), |x| {
                    (x * inv + 0.5).floor() / inv
                }))
            }
            InstantFn::Clamp | InstantFn::ClampMin | InstantFn::ClampMax => {
                let (lo, hi) = match func {
                    InstantFn::Clamp => (scalar(&args, 1), scalar(&args, 2)),
                    InstantFn::ClampMin => (scalar(&args, 1), f64::INFINITY),
                    _ => (f64::NEG_INFINITY, scalar(&args, 1)),
                };
                if hi < lo {
                    return Ok(Val::Vector(Vec::new()));
                }
                Val::Vector(map_floats(args.swap_remove(0).into_vector(), |x| {
                    go_max(lo, go_min(hi, x))
                }))
            }
            InstantFn::Absent => {
                if args.swap_remove(0).into_vector().is_empty() {
                    Val::Vector(vec![Sample::float(absent_labels(&c.args[0]), ts, 1.0)])
                } else {
                    Val::Vector(Vec::new())
                }
            }
            InstantFn::Sort | InstantFn::SortDesc => {
                if self.step != 0 {
                    self.annotate(annotations::sort_in_range_query(c.pos));
                }
                let mut v: Vec<Sample> = args
                    .swap_remove(0)
                    .into_vector()
                    .into_iter()
                    .filter(|s| s.h.is_none())
                    .collect();
                super::aggregate::sort_by_value(&mut v, func == InstantFn::SortDesc);
                Val::Vector(v)
            }
            InstantFn::SortByLabel | InstantFn::SortByLabelDesc => {
                if self.step != 0 {
                    self.annotate(annotations::sort_in_range_query(c.pos));
                }
                let labels: Vec<String> = args[1..]
                    .iter()
                    .filter_map(|a| {
                        if let Val::String(s) = a {
                            Some(s.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                let mut v = args.swap_remove(0).into_vector();
                super::label_fns::sort_by_label(
                    &mut v,
                    &labels,
                    func == InstantFn::SortByLabelDesc,
                );
                Val::Vector(v)
            }
            InstantFn::LabelReplace => {
                let s = |i: usize| {
                    if let Val::String(s) = &args[i] {
                        s.clone()
                    } else {
                        String::new()
                    }
                };
                let (dst, repl, src, re) = (s(1), s(2), s(3), s(4));
                let v = args.swap_remove(0).into_vector();
                Val::Vector(super::label_fns::label_replace(v, &dst, &repl, &src, &re)?)
            }
            InstantFn::LabelJoin => {
                let strs: Vec<String> = args[1..]
                    .iter()
                    .map(|a| {
                        if let Val::String(s) = a {
                            s.clone()
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                let v = args.swap_remove(0).into_vector();
                Val::Vector(super::label_fns::label_join(
                    v,
                    &strs[0],
                    &strs[1],
                    &strs[2..],
                )?)
            }
            InstantFn::HistogramQuantile => {
                let q = scalar(&args, 0);
                let v = args.swap_remove(1).into_vector();
                Val::Vector(self.histogram_quantile(c, q, v, ts))
            }
            InstantFn::Date(d) => {
                let f = super::dates::date_fn(d);
                if args.is_empty() {
                    Val::Vector(vec![Sample::float(
                        Labels::empty(),
                        ts,
                        f(ts.div_euclid(1000)),
                    )])
                } else {
                    Val::Vector(map_floats(args.swap_remove(0).into_vector(), |x| {
                        f(x as i64)
                    }))
                }
            }
            InstantFn::HistogramCount | InstantFn::HistogramSum | InstantFn::HistogramAvg => {
                let v = args.swap_remove(0).into_vector();
                Val::Vector(
                    v.into_iter()
                        .filter_map(|s| {
                            let h = s.h.as_ref()?;
                            let f = match func {
                                InstantFn::HistogramCount => h.count,
                                InstantFn::HistogramSum => h.sum,
                                _ => h.sum / h.count,
                            };
                            Some(Sample {
                                f,
                                h: None,
                                drop_name: true,
                                ..s
                            })
                        })
                        .collect(),
                )
            }
            InstantFn::HistogramFraction => {
                let (lo, hi) = (scalar(&args, 0), scalar(&args, 1));
                let v = args.swap_remove(2).into_vector();
                Val::Vector(self.histogram_fraction(c, lo, hi, v, ts))
            }
            InstantFn::HistogramQuantiles => {
                let label = if let Val::String(s) = &args[1] {
                    s.clone()
                } else {
                    String::new()
                };
                let qs: Vec<f64> = args[2..].iter().map(Val::scalar).collect();
                let v = args.swap_remove(0).into_vector();
                Val::Vector(self.histogram_quantiles(c, &label, &qs, v, ts))
            }
            InstantFn::HistogramStddev | InstantFn::HistogramStdvar => {
                let v = args.swap_remove(0).into_vector();
                let stddev = func == InstantFn::HistogramStddev;
                Val::Vector(
                    v.into_iter()
                        .filter_map(|s| {
                            let var = super::hist_quantile::histogram_variance(s.h.as_ref()?);
                            let f = if stddev { var.sqrt() } else { var };
                            Some(Sample {
                                f,
                                h: None,
                                drop_name: true,
                                ..s
                            })
                        })
                        .collect(),
                )
            }
        })
    }
}

/// Applies `f` to every float sample (histograms are dropped); the metric name goes.
fn map_floats(v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    v.into_iter()
        .filter(|s| s.h.is_none())
        .map(|s| Sample {
            f: f(s.f),
            drop_name: true,
            ..s
        })
        .collect()
}
