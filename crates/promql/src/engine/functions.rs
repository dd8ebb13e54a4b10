//! Function calls: dispatch on the call's [`Func`] (resolved at parse time), the clock
//! functions, `timestamp`/`start_timestamp`, and the functions over range vectors (rates,
//! `*_over_time`...); functions of instant vectors and scalars are in `instant_fns`.

use std::f64::consts::PI;

use model::Labels;

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val, absent_labels};
use super::selectors::{Extension, LoadedWindows};
use crate::ast::{Call, Expr, ValueType};
use crate::functions::{ClockFn, Func, RangeFn};
use crate::kernels::FPoint;
use crate::kernels::{over_time, rate, smoothing};
use crate::value::{HPoint, Sample, Series};

/// Functions the `anchored` modifier may be used with.
const ANCHORED_SAFE: &str = "changes, delta, increase, rate, resets";
/// Functions the `smoothed` modifier may be used with.
const SMOOTHED_SAFE: &str = "delta, increase, rate";

impl RangeFn {
    /// Whether the `anchored` modifier may be used with the function.
    fn anchored_safe(self) -> bool {
        matches!(
            self,
            RangeFn::Changes | RangeFn::Delta | RangeFn::Increase | RangeFn::Rate | RangeFn::Resets
        )
    }

    /// Whether the `smoothed` modifier may be used with the function.
    fn smoothed_safe(self) -> bool {
        matches!(self, RangeFn::Delta | RangeFn::Increase | RangeFn::Rate)
    }

    /// Whether the result keeps the metric name (`last_over_time`, `first_over_time`).
    pub(crate) fn keeps_name(self) -> bool {
        matches!(self, RangeFn::LastOverTime | RangeFn::FirstOverTime)
    }

    /// Whether the function notes series whose names do not look like counters'.
    pub(crate) fn checks_counter_name(self) -> bool {
        matches!(self, RangeFn::Rate | RangeFn::Increase)
    }
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
    func: RangeFn,
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
        match c.func.id {
            Func::Clock(k) => Ok(Val::Scalar(self.clock(k, ts))),
            Func::Timestamp => {
                let v = if let Expr::VectorSelector(vs) = c.args[0].unwrap_parens() {
                    self.vector_selector(vs, ts, true)?
                } else {
                    self.eval(&c.args[0], ts)?.into_vector()
                };
                let out = v.into_iter().map(|s| time_sample(s.labels, s.t, ts));
                Ok(Val::Vector(out.collect()))
            }
            Func::StartTimestamp => self.start_timestamp(c, ts),
            Func::Info => self.info(c, ts),
            Func::Range(f) => {
                let idx = c
                    .args
                    .iter()
                    .position(|a| a.value_type() == ValueType::Matrix)
                    .ok_or_else(|| {
                        EvalError::exec(format!("{} needs a range vector argument", c.func.name))
                    })?;
                self.range_function(c, f, idx, ts)
            }
            Func::Instant(f) => {
                let mut args = Vec::with_capacity(c.args.len());
                for a in &c.args {
                    args.push(self.eval(a, ts)?);
                }
                self.instant_function(c, f, args, ts)
            }
        }
    }

    /// `start_timestamp(v)`: the start timestamp (in seconds, 0 when unknown) of each sample
    /// a vector selector picks at `ts`. Start timestamps are known only for samples read from
    /// storage: of any other expression the result is empty, as in Prometheus.
    fn start_timestamp(&mut self, c: &Call, ts: i64) -> Result<Val, EvalError> {
        let Expr::VectorSelector(vs) = c.args[0].unwrap_parens() else {
            // Evaluated all the same, for its errors and annotations.
            self.eval(&c.args[0], ts)?;
            return Ok(Val::Vector(Vec::new()));
        };
        let series = self.load(vs)?;
        let picked = self.vector_selector(vs, ts, true)?;
        let out = picked.into_iter().map(|s| {
            let st = series
                .binary_search_by(|l| l.labels.cmp(&s.labels))
                .map_or(0, |i| series[i].start_at(s.t));
            time_sample(s.labels, st, ts)
        });
        Ok(Val::Vector(out.collect()))
    }

    /// The value of a clock function at `ts`, in seconds.
    pub(crate) fn clock(&self, k: ClockFn, ts: i64) -> f64 {
        match k {
            ClockFn::Time => ts as f64 / 1000.0,
            ClockFn::Pi => PI,
            ClockFn::Start => self.start as f64 / 1000.0,
            ClockFn::End => self.end as f64 / 1000.0,
            ClockFn::Range => (self.end - self.start) as f64 / 1000.0,
            ClockFn::Step => self.step as f64 / 1000.0,
        }
    }

    fn range_function(
        &mut self,
        c: &Call,
        func: RangeFn,
        idx: usize,
        ts: i64,
    ) -> Result<Val, EvalError> {
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
                if ext == Extension::Anchored && !func.anchored_safe() {
                    return Err(EvalError::exec(format!(
                        "anchored modifier can only be used with: {ANCHORED_SAFE} - not with {name}"
                    )));
                }
                if ext == Extension::Smoothed && !func.smoothed_safe() {
                    return Err(EvalError::exec(format!(
                        "smoothed modifier can only be used with: {SMOOTHED_SAFE} - not with {name}"
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
        if func == RangeFn::AbsentOverTime {
            if windows.is_empty() {
                let mut s = Sample::float(absent_labels(arg), ts, 1.0);
                s.drop_name = true;
                return Ok(Val::Vector(vec![s]));
            }
            return Ok(Val::Vector(Vec::new()));
        }
        if func == RangeFn::DoubleExponentialSmoothing {
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
        let keep_name = func.keeps_name();
        let k = RangeCall {
            func,
            scalars: &scalars,
            range_start,
            range_end,
            ext,
            ts,
            pos,
        };
        let mut out = Vec::with_capacity(windows.len());
        let check_name = func.checks_counter_name();
        let mut apply = |ev: &mut Self,
                         labels: &Labels,
                         drop_name: bool,
                         f: &[FPoint],
                         h: &[HPoint],
                         loaded: Option<&super::selectors::LoadedSeries>| {
            let non_counter = loaded.map(|s| s.non_counter_name);
            // The name is read only where a message may need it.
            let metric = if h.is_empty() {
                ""
            } else {
                labels.metric_name().unwrap_or("")
            };
            let v = ev.range_kernel(&k, f, h, metric, loaded)?;
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
                    apply(self, &s.labels, false, f, h, Some(s))?;
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

    /// A range function's value over one window: floats `f` and histograms `hists`, of the
    /// loaded series `loaded` when the window is a range selector's (start timestamps are
    /// known only then: subqueries and other expressions cut them).
    fn range_kernel(
        &mut self,
        k: &RangeCall<'_>,
        f: &[FPoint],
        hists: &[HPoint],
        metric: &str,
        loaded: Option<&super::selectors::LoadedSeries>,
    ) -> Result<Option<Sample>, EvalError> {
        let RangeCall {
            func,
            scalars,
            range_start,
            range_end,
            ext,
            ts,
            pos,
        } = *k;
        let has_h = !hists.is_empty();
        let float = |v: f64| Some(Sample::float(Labels::empty(), ts, v));
        // Start timestamps of the samples, for the functions that read them.
        let (f_sts, h_sts) = match (loaded, func) {
            (Some(s), RangeFn::Rate | RangeFn::Increase | RangeFn::Irate | RangeFn::Resets) => (
                s.starts_of(f.iter().map(|p| p.t)),
                s.starts_of(hists.iter().map(|p| p.t)),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        if matches!(func, RangeFn::Rate | RangeFn::Increase) {
            let overlap = |ts: Vec<i64>, sts: &[i64]| {
                !sts.is_empty() && crate::kernels::start_ts::any_overlap(&ts, sts)
            };
            if overlap(f.iter().map(|p| p.t).collect(), &f_sts)
                || overlap(hists.iter().map(|p| p.t).collect(), &h_sts)
            {
                let metric = loaded.and_then(|s| s.labels.metric_name()).unwrap_or("");
                self.annotate(annotations::start_time_overlap(metric, pos));
            }
        }
        // Functions over both floats and histograms.
        match func {
            RangeFn::CountOverTime => return Ok(float((f.len() + hists.len()) as f64)),
            RangeFn::PresentOverTime => return Ok(float(1.0)),
            RangeFn::LastOverTime | RangeFn::FirstOverTime => {
                let last = func == RangeFn::LastOverTime;
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
            RangeFn::TsOfLastOverTime => {
                let t = f
                    .last()
                    .map_or(0, |p| p.t)
                    .max(hists.last().map_or(0, |p| p.t));
                return Ok(float(t as f64 / 1000.0));
            }
            RangeFn::TsOfFirstOverTime => {
                let t = f
                    .first()
                    .map_or(i64::MAX, |p| p.t)
                    .min(hists.first().map_or(i64::MAX, |p| p.t));
                return Ok(float(t as f64 / 1000.0));
            }
            RangeFn::SumOverTime | RangeFn::AvgOverTime if has_h => {
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
                let Some(acc) = super::histo::sum_or_mean(&refs, func == RangeFn::AvgOverTime)
                else {
                    self.annotate(super::hist_fns::mixed_exp_custom(metric, pos));
                    return Ok(None);
                };
                return Ok(Some(Sample {
                    h: Some(std::sync::Arc::new(acc)),
                    ..Sample::float(Labels::empty(), ts, 0.0)
                }));
            }
            RangeFn::Rate | RangeFn::Increase | RangeFn::Delta if has_h => {
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
                        func != RangeFn::Delta,
                        func == RangeFn::Rate,
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
                    &h_sts,
                    (range_start, range_end),
                    func != RangeFn::Delta,
                    func == RangeFn::Rate,
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
            RangeFn::Irate | RangeFn::Idelta if has_h => {
                let all = super::hist_fns::merged(f, hists);
                let mut annos = Vec::new();
                let all_sts = match loaded {
                    Some(s) if func == RangeFn::Irate => s.starts_of(all.iter().map(|(t, _)| *t)),
                    _ => Vec::new(),
                };
                let v = super::hist_fns::instant_value(
                    &all,
                    &all_sts,
                    func == RangeFn::Irate,
                    metric,
                    pos,
                    &mut annos,
                );
                annos.into_iter().for_each(|a| self.annotate(a));
                return Ok(v.map(|(f, h)| Sample {
                    h,
                    ..Sample::float(Labels::empty(), ts, f)
                }));
            }
            RangeFn::Changes | RangeFn::Resets => {
                let all = super::hist_fns::merged(f, hists);
                let all_sts = match (loaded, func) {
                    (Some(s), RangeFn::Resets) => s.starts_of(all.iter().map(|(t, _)| *t)),
                    _ => Vec::new(),
                };
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
                let all_sts = all_sts.get(start..).unwrap_or(&[]);
                return Ok(float(super::hist_fns::count_transitions(
                    &all[start..],
                    all_sts,
                    func == RangeFn::Changes,
                ) as f64));
            }
            _ => {}
        }
        if f.is_empty() {
            return Ok(None);
        }
        let mixed = has_h;
        if func == RangeFn::QuantileOverTime {
            let q = scalars[0];
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                self.annotate(annotations::invalid_quantile(q, pos));
            }
        }
        let v = float_window_value(func, f, &f_sts, range_start, range_end, ext, ts, scalars);
        if mixed
            && v.is_some()
            && !matches!(func, RangeFn::Rate | RangeFn::Increase | RangeFn::Delta)
        {
            self.annotate(annotations::histogram_ignored_in_mixed_range(metric, pos));
        }
        Ok(v.and_then(float))
    }
}

/// The value of a range function over a window of floats (`f`, non-empty, no stale
/// markers) from `range_start` to `range_end` evaluated at `ts`; `scalars` are the
/// function's other arguments. `None` when it has no value for this window.
#[allow(
    clippy::too_many_arguments,
    reason = "the window, its start timestamps and the call's parameters"
)]
pub(crate) fn float_window_value(
    func: RangeFn,
    f: &[FPoint],
    sts: &[i64],
    range_start: i64,
    range_end: i64,
    ext: Extension,
    ts: i64,
    scalars: &[f64],
) -> Option<f64> {
    let (first, last) = (f.first()?, f.last()?);
    match func {
        RangeFn::Rate | RangeFn::Increase | RangeFn::Delta => {
            let counter = func != RangeFn::Delta;
            let is_rate = func == RangeFn::Rate;
            match ext {
                Extension::None => {
                    rate::extrapolated_rate(f, sts, range_start, range_end, counter, is_rate)
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
        RangeFn::Irate => rate::instant_value(f, sts, true),
        RangeFn::Idelta => rate::instant_value(f, &[], false),
        RangeFn::Deriv => rate::deriv(f),
        RangeFn::PredictLinear => rate::predict_linear(f, ts, scalars[0]),
        RangeFn::SumOverTime => Some(over_time::sum(f)),
        RangeFn::AvgOverTime => Some(over_time::avg(f)),
        RangeFn::MinOverTime => Some(over_time::min(f)),
        RangeFn::MaxOverTime => Some(over_time::max(f)),
        RangeFn::TsOfMinOverTime => Some(over_time::ts_of_min(f)),
        RangeFn::TsOfMaxOverTime => Some(over_time::ts_of_max(f)),
        RangeFn::StddevOverTime => Some(over_time::stddev(f)),
        RangeFn::StdvarOverTime => Some(over_time::stdvar(f)),
        RangeFn::MadOverTime => Some(over_time::mad(f)),
        RangeFn::QuantileOverTime => Some(over_time::quantile_over(scalars[0], f)),
        RangeFn::DoubleExponentialSmoothing => {
            smoothing::double_exponential_smoothing(f, scalars[0], scalars[1])
        }
        RangeFn::CountOverTime => Some(f.len() as f64),
        RangeFn::PresentOverTime => Some(1.0),
        RangeFn::LastOverTime => Some(last.f),
        RangeFn::FirstOverTime => Some(first.f),
        RangeFn::TsOfLastOverTime => Some(last.t.max(0) as f64 / 1000.0),
        RangeFn::TsOfFirstOverTime => Some(first.t as f64 / 1000.0),
        RangeFn::Changes | RangeFn::Resets => {
            let changes = func == RangeFn::Changes;
            let ts: Vec<i64> = if sts.is_empty() {
                Vec::new()
            } else {
                f.iter().map(|p| p.t).collect()
            };
            let n = (1..f.len())
                .filter(|&i| {
                    let (a, b) = (f[i - 1].f, f[i].f);
                    if changes {
                        b != a && !(b.is_nan() && a.is_nan())
                    } else {
                        b < a || crate::kernels::start_ts::reset_at(&ts, sts, i)
                    }
                })
                .count();
            Some(n as f64)
        }
        // Present windows mean the series is not absent.
        RangeFn::AbsentOverTime => None,
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

/// A sample at `ts` whose value is the time `ms` in seconds, without the metric name
/// (`timestamp`, `start_timestamp`).
fn time_sample(labels: Labels, ms: i64, ts: i64) -> Sample {
    Sample {
        f: ms as f64 / 1000.0,
        t: ts,
        h: None,
        drop_name: true,
        labels,
    }
}
