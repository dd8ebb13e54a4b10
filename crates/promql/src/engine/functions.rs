//! Function calls: dispatch, functions over range vectors (rates, `*_over_time`...) and
//! over instant vectors (math, clamping, dates, sorting, `histogram_quantile`...).

use std::f64::consts::PI;

use model::Labels;

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val, absent_labels};
use super::selectors::{Extension, LoadedWindows};
use crate::ast::{Call, Expr, ValueType};
use crate::kernels::FPoint;
use crate::kernels::{over_time, rate, smoothing};
use crate::value::{HPoint, Sample, Series};

/// Functions the `anchored` modifier may be used with.
const ANCHORED_SAFE: &[&str] = &["changes", "delta", "increase", "rate", "resets"];
/// Functions the `smoothed` modifier may be used with.
const SMOOTHED_SAFE: &[&str] = &["delta", "increase", "rate"];

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

/// The math function of a simple one-argument float function.
fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |x| x * 180.0 / PI,
        "rad" => |x| x * PI / 180.0,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        _ => return None,
    })
}

/// Whether a series has a name that does not look like a counter's (`rate` and `increase`
/// note those).
pub(crate) fn non_counter_name(l: &Labels) -> bool {
    let metric = l.metric_name().unwrap_or("");
    !metric.is_empty()
        && !["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|x| metric.ends_with(x))
}

/// The windows a range function runs over at one step.
enum Windows {
    /// A range selector's, borrowed from its loaded series.
    Loaded(LoadedWindows),
    /// Computed ones (subqueries and other expressions).
    Owned(Vec<Series>),
}

impl Windows {
    fn is_empty(&self) -> bool {
        match self {
            Windows::Loaded(w) => w.is_empty(),
            Windows::Owned(w) => w.is_empty(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Windows::Loaded(w) => w.windows.len(),
            Windows::Owned(w) => w.len(),
        }
    }
}

/// What a range function computes at one step, apart from the window.
#[derive(Clone, Copy)]
struct RangeCall<'a> {
    name: &'a str,
    scalars: &'a [f64],
    range_start: i64,
    range_end: i64,
    ext: Extension,
    ts: i64,
    pos: crate::ast::PosRange,
}

impl Evaluator<'_> {
    /// Evaluates a function call at `ts`.
    pub(crate) fn call(&mut self, c: &Call, ts: i64) -> Result<Val, EvalError> {
        let name = c.func.name;
        match name {
            "time" => return Ok(Val::Scalar(ts as f64 / 1000.0)),
            "pi" => return Ok(Val::Scalar(PI)),
            "start" => return Ok(Val::Scalar(self.start as f64 / 1000.0)),
            "end" => return Ok(Val::Scalar(self.end as f64 / 1000.0)),
            "range" => return Ok(Val::Scalar((self.end - self.start) as f64 / 1000.0)),
            "step" => return Ok(Val::Scalar(self.step as f64 / 1000.0)),
            "timestamp" => {
                let v = if let Expr::VectorSelector(vs) = c.args[0].unwrap_parens() {
                    self.vector_selector(vs, ts, true)?
                } else {
                    self.eval(&c.args[0], ts)?.into_vector()
                };
                let out = v
                    .into_iter()
                    .map(|s| Sample {
                        f: s.t as f64 / 1000.0,
                        t: ts,
                        h: None,
                        drop_name: true,
                        labels: s.labels,
                    })
                    .collect();
                return Ok(Val::Vector(out));
            }
            _ => {}
        }
        if name == "info" {
            return self.info(c, ts);
        }
        if let Some(idx) = c
            .args
            .iter()
            .position(|a| a.value_type() == ValueType::Matrix)
        {
            return self.range_function(c, idx, ts);
        }
        let mut args = Vec::with_capacity(c.args.len());
        for a in &c.args {
            args.push(self.eval(a, ts)?);
        }
        self.instant_function(c, args, ts)
    }

    fn range_function(&mut self, c: &Call, idx: usize, ts: i64) -> Result<Val, EvalError> {
        let name = c.func.name;
        let mut scalars = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != idx {
                scalars.push(self.eval(a, ts)?.scalar());
            }
        }
        let arg = c.args[idx].unwrap_parens();
        let (windows, range_start, range_end, ext) = match arg {
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vector_selector;
                let ext = Extension::of(vs);
                if ext == Extension::Anchored && !ANCHORED_SAFE.contains(&name) {
                    return Err(EvalError::exec(format!(
                        "anchored modifier can only be used with: {} - not with {name}",
                        ANCHORED_SAFE.join(", ")
                    )));
                }
                if ext == Extension::Smoothed && !SMOOTHED_SAFE.contains(&name) {
                    return Err(EvalError::exec(format!(
                        "smoothed modifier can only be used with: {} - not with {name}",
                        SMOOTHED_SAFE.join(", ")
                    )));
                }
                let ref_t = vs.timestamp.unwrap_or(ts) - vs.offset;
                (
                    Windows::Loaded(self.loaded_windows(ms, ts, ext)?),
                    ref_t - ms.range,
                    ref_t,
                    ext,
                )
            }
            Expr::Subquery(sq) => {
                let ref_t = sq.timestamp.unwrap_or(ts) - sq.offset;
                (
                    Windows::Owned(self.subquery(sq, ts)?),
                    ref_t - sq.range,
                    ref_t,
                    Extension::None,
                )
            }
            _ => (
                Windows::Owned(self.eval(arg, ts)?.into_matrix()),
                ts,
                ts,
                Extension::None,
            ),
        };
        let pos = c.args[idx].pos();
        if name == "absent_over_time" {
            if windows.is_empty() {
                let mut s = Sample::float(absent_labels(arg), ts, 1.0);
                s.drop_name = true;
                return Ok(Val::Vector(vec![s]));
            }
            return Ok(Val::Vector(Vec::new()));
        }
        if name == "double_exponential_smoothing" {
            let (sf, tf) = (scalars[0], scalars[1]);
            if !(sf > 0.0 && sf < 1.0) {
                return Err(EvalError::exec(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                )));
            }
            if !(tf > 0.0 && tf < 1.0) {
                return Err(EvalError::exec(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                )));
            }
        }
        let keep_name = matches!(name, "last_over_time" | "first_over_time");
        let k = RangeCall {
            name,
            scalars: &scalars,
            range_start,
            range_end,
            ext,
            ts,
            pos,
        };
        let mut out = Vec::with_capacity(windows.len());
        let check_name = matches!(name, "rate" | "increase");
        let mut apply = |ev: &mut Self,
                         labels: &Labels,
                         drop_name: bool,
                         f: &[FPoint],
                         h: &[HPoint],
                         non_counter: Option<bool>| {
            // The name is read only where a message may need it.
            let metric = if h.is_empty() {
                ""
            } else {
                labels.metric_name().unwrap_or("")
            };
            let v = ev.range_kernel(&k, f, h, metric)?;
            if let Some(mut s) = v {
                if check_name
                    && s.h.is_none()
                    && non_counter.unwrap_or_else(|| non_counter_name(labels))
                {
                    let metric = labels.metric_name().unwrap_or("");
                    ev.annotate(annotations::possible_non_counter(metric, pos));
                }
                s.labels = labels.clone();
                s.t = ts;
                s.drop_name = !keep_name || drop_name;
                out.push(s);
            }
            Ok::<(), EvalError>(())
        };
        match &windows {
            Windows::Loaded(w) => {
                for (s, f, h) in w.iter() {
                    apply(self, &s.labels, false, f, h, Some(s.non_counter_name))?;
                }
            }
            Windows::Owned(ws) => {
                for w in ws {
                    apply(self, &w.labels, w.drop_name, &w.floats, &w.histograms, None)?;
                }
            }
        }
        Ok(Val::Vector(out))
    }

    fn range_kernel(
        &mut self,
        k: &RangeCall<'_>,
        f: &[FPoint],
        hists: &[HPoint],
        metric: &str,
    ) -> Result<Option<Sample>, EvalError> {
        let RangeCall {
            name,
            scalars,
            range_start,
            range_end,
            ext,
            ts,
            pos,
        } = *k;
        let has_h = !hists.is_empty();
        let float = |v: f64| Some(Sample::float(Labels::empty(), ts, v));
        // Functions over both floats and histograms.
        match name {
            "count_over_time" => return Ok(float((f.len() + hists.len()) as f64)),
            "present_over_time" => return Ok(float(1.0)),
            "last_over_time" | "first_over_time" => {
                let last = name == "last_over_time";
                let fp = if last { f.last() } else { f.first() };
                let hp = if last { hists.last() } else { hists.first() };
                return Ok(match (fp, hp) {
                    (Some(p), Some(h)) if (last && h.t > p.t) || (!last && h.t < p.t) => {
                        Some(Sample {
                            h: Some(h.h.clone()),
                            ..Sample::float(Labels::empty(), ts, 0.0)
                        })
                    }
                    (Some(p), _) => float(p.f),
                    (None, Some(h)) => Some(Sample {
                        h: Some(h.h.clone()),
                        ..Sample::float(Labels::empty(), ts, 0.0)
                    }),
                    (None, None) => None,
                });
            }
            "ts_of_last_over_time" => {
                let t = f
                    .last()
                    .map_or(0, |p| p.t)
                    .max(hists.last().map_or(0, |p| p.t));
                return Ok(float(t as f64 / 1000.0));
            }
            "ts_of_first_over_time" => {
                let t = f
                    .first()
                    .map_or(i64::MAX, |p| p.t)
                    .min(hists.first().map_or(i64::MAX, |p| p.t));
                return Ok(float(t as f64 / 1000.0));
            }
            "sum_over_time" | "avg_over_time" if has_h => {
                if !f.is_empty() {
                    self.annotate(annotations::mixed_floats_histograms(metric, pos));
                    return Ok(None);
                }
                let refs: Vec<&model::FloatHistogram> =
                    hists.iter().map(|p| p.h.as_ref()).collect();
                self.check_reset_collision(&refs, pos);
                if super::histo::mismatched_bounds(&refs) {
                    self.annotate(annotations::Annotation::info(
                        "mismatched custom buckets were reconciled during aggregation",
                        pos,
                    ));
                }
                let Some(acc) = super::histo::sum_or_mean(&refs, name == "avg_over_time") else {
                    self.annotate(super::hist_fns::mixed_exp_custom(metric, pos));
                    return Ok(None);
                };
                return Ok(Some(Sample {
                    h: Some(std::sync::Arc::new(acc)),
                    ..Sample::float(Labels::empty(), ts, 0.0)
                }));
            }
            "rate" | "increase" | "delta" if has_h => {
                if !f.is_empty() {
                    self.annotate(annotations::mixed_floats_histograms(metric, pos));
                    return Ok(None);
                }
                let mut annos = Vec::new();
                if ext != Extension::None {
                    let h = super::hist_fns::extended_histogram_rate(
                        hists,
                        (range_start, range_end),
                        ext == Extension::Smoothed,
                        name != "delta",
                        name == "rate",
                        metric,
                        pos,
                        &mut annos,
                    );
                    annos.into_iter().for_each(|a| self.annotate(a));
                    return Ok(h.map(|h| Sample {
                        h: Some(h),
                        ..Sample::float(Labels::empty(), ts, 0.0)
                    }));
                }
                let h = super::hist_fns::histogram_rate(
                    hists,
                    (range_start, range_end),
                    name != "delta",
                    name == "rate",
                    metric,
                    pos,
                    &mut annos,
                );
                annos.into_iter().for_each(|a| self.annotate(a));
                return Ok(h.map(|h| Sample {
                    h: Some(h),
                    ..Sample::float(Labels::empty(), ts, 0.0)
                }));
            }
            "irate" | "idelta" if has_h => {
                let all = super::hist_fns::merged(f, hists);
                let mut annos = Vec::new();
                let v =
                    super::hist_fns::instant_value(&all, name == "irate", metric, pos, &mut annos);
                annos.into_iter().for_each(|a| self.annotate(a));
                return Ok(v.map(|(f, h)| Sample {
                    h,
                    ..Sample::float(Labels::empty(), ts, f)
                }));
            }
            "changes" | "resets" => {
                let all = super::hist_fns::merged(f, hists);
                let start = if ext == Extension::Anchored {
                    let after = all.partition_point(|(t, _)| *t <= range_start);
                    if after >= all.len() {
                        return Ok(None);
                    }
                    after.saturating_sub(1)
                } else {
                    0
                };
                if all.len() <= start {
                    return Ok(None);
                }
                return Ok(float(
                    super::hist_fns::count_transitions(&all[start..], name == "changes") as f64,
                ));
            }
            _ => {}
        }
        if f.is_empty() {
            return Ok(None);
        }
        let mixed = has_h;
        if name == "quantile_over_time" {
            let q = scalars[0];
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                self.annotate(annotations::invalid_quantile(q, pos));
            }
        }
        let v = float_window_value(name, f, range_start, range_end, ext, ts, scalars);
        if mixed && v.is_some() && !matches!(name, "rate" | "increase" | "delta") {
            self.annotate(annotations::histogram_ignored_in_mixed_range(metric, pos));
        }
        Ok(v.and_then(float))
    }

    pub(crate) fn instant_function(
        &mut self,
        c: &Call,
        mut args: Vec<Val>,
        ts: i64,
    ) -> Result<Val, EvalError> {
        let name = c.func.name;
        if let Some(f) = math_fn(name) {
            return Ok(Val::Vector(map_floats(
                args.swap_remove(0).into_vector(),
                f,
            )));
        }
        let scalar = |args: &[Val], i: usize| args.get(i).map_or(f64::NAN, Val::scalar);
        Ok(match name {
            "vector" => Val::Vector(vec![Sample::float(Labels::empty(), ts, scalar(&args, 0))]),
            "scalar" => {
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
            "min_of" => Val::Scalar(go_min(scalar(&args, 0), scalar(&args, 1))),
            "max_of" => Val::Scalar(go_max(scalar(&args, 0), scalar(&args, 1))),
            "round" => {
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
            "clamp" | "clamp_min" | "clamp_max" => {
                let (lo, hi) = match name {
                    "clamp" => (scalar(&args, 1), scalar(&args, 2)),
                    "clamp_min" => (scalar(&args, 1), f64::INFINITY),
                    _ => (f64::NEG_INFINITY, scalar(&args, 1)),
                };
                if hi < lo {
                    return Ok(Val::Vector(Vec::new()));
                }
                Val::Vector(map_floats(args.swap_remove(0).into_vector(), |x| {
                    go_max(lo, go_min(hi, x))
                }))
            }
            "absent" => {
                if args.swap_remove(0).into_vector().is_empty() {
                    Val::Vector(vec![Sample::float(absent_labels(&c.args[0]), ts, 1.0)])
                } else {
                    Val::Vector(Vec::new())
                }
            }
            "sort" | "sort_desc" => {
                if self.step != 0 {
                    self.annotate(annotations::sort_in_range_query(c.pos));
                }
                let mut v: Vec<Sample> = args
                    .swap_remove(0)
                    .into_vector()
                    .into_iter()
                    .filter(|s| s.h.is_none())
                    .collect();
                sort_samples(&mut v, name == "sort_desc");
                Val::Vector(v)
            }
            "sort_by_label" | "sort_by_label_desc" => {
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
                super::label_fns::sort_by_label(&mut v, &labels, name.ends_with("_desc"));
                Val::Vector(v)
            }
            "label_replace" => {
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
            "label_join" => {
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
            "histogram_quantile" => {
                let q = scalar(&args, 0);
                let v = args.swap_remove(1).into_vector();
                Val::Vector(self.histogram_quantile(c, q, v, ts))
            }
            "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour"
            | "minute" | "month" | "year" => {
                let f = super::dates::date_fn(name);
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
            "histogram_count" | "histogram_sum" | "histogram_avg" => {
                let v = args.swap_remove(0).into_vector();
                Val::Vector(
                    v.into_iter()
                        .filter_map(|s| {
                            let h = s.h.as_ref()?;
                            let f = match name {
                                "histogram_count" => h.count,
                                "histogram_sum" => h.sum,
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
            "histogram_fraction" => {
                let (lo, hi) = (scalar(&args, 0), scalar(&args, 1));
                let v = args.swap_remove(2).into_vector();
                Val::Vector(self.histogram_fraction(c, lo, hi, v, ts))
            }
            "histogram_quantiles" => {
                let label = if let Val::String(s) = &args[1] {
                    s.clone()
                } else {
                    String::new()
                };
                let qs: Vec<f64> = args[2..].iter().map(Val::scalar).collect();
                let v = args.swap_remove(0).into_vector();
                Val::Vector(self.histogram_quantiles(c, &label, &qs, v, ts))
            }
            "histogram_stddev" | "histogram_stdvar" => {
                let v = args.swap_remove(0).into_vector();
                let stddev = name == "histogram_stddev";
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
            "start_timestamp" => Val::Vector(Vec::new()),
            other => {
                return Err(EvalError::exec(format!(
                    "function {other} is not supported"
                )));
            }
        })
    }
}

/// The value of a range function over a window of floats (`f`, non-empty, no stale
/// markers) from `range_start` to `range_end` evaluated at `ts`; `scalars` are the
/// function's other arguments. `None` for functions without a float result.
pub(crate) fn float_window_value(
    name: &str,
    f: &[FPoint],
    range_start: i64,
    range_end: i64,
    ext: Extension,
    ts: i64,
    scalars: &[f64],
) -> Option<f64> {
    match name {
        "rate" | "increase" | "delta" => {
            let counter = name != "delta";
            let is_rate = name == "rate";
            match ext {
                Extension::None => {
                    rate::extrapolated_rate(f, range_start, range_end, counter, is_rate)
                }
                _ => rate::extended_rate(
                    f,
                    range_start,
                    range_end,
                    ext == Extension::Smoothed,
                    counter,
                    is_rate,
                ),
            }
        }
        "irate" => rate::instant_value(f, true),
        "idelta" => rate::instant_value(f, false),
        "deriv" => rate::deriv(f),
        "predict_linear" => rate::predict_linear(f, ts, scalars[0]),
        "sum_over_time" => Some(over_time::sum(f)),
        "avg_over_time" => Some(over_time::avg(f)),
        "min_over_time" => Some(over_time::min(f)),
        "max_over_time" => Some(over_time::max(f)),
        "ts_of_min_over_time" => Some(over_time::ts_of_min(f)),
        "ts_of_max_over_time" => Some(over_time::ts_of_max(f)),
        "stddev_over_time" => Some(over_time::stddev(f)),
        "stdvar_over_time" => Some(over_time::stdvar(f)),
        "mad_over_time" => Some(over_time::mad(f)),
        "quantile_over_time" => Some(over_time::quantile_over(scalars[0], f)),
        "double_exponential_smoothing" => {
            smoothing::double_exponential_smoothing(f, scalars[0], scalars[1])
        }
        _ => None,
    }
}

/// Parses a float as Go's `strconv.ParseFloat` (accepting `+Inf`, `-Inf`, `NaN`).
pub(crate) fn parse_go_float(s: &str) -> Result<f64, ()> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Ok(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if s.is_empty()
        || s.contains(|c: char| {
            c.is_ascii_alphabetic()
                && c != 'e'
                && c != 'E'
                && c != 'x'
                && c != 'X'
                && c != 'p'
                && c != 'P'
        })
    {
        return Err(());
    }
    s.parse::<f64>().map_err(|_| ())
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

/// `sort` (ascending) / `sort_desc`, NaN last in both.
fn sort_samples(v: &mut [Sample], desc: bool) {
    use std::cmp::Ordering;
    v.sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.f.partial_cmp(&b.f).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
    });
}
