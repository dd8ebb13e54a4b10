//! Selectors and function calls at all steps: a vector selector's sample and a range
//! function's window are found per series by cursors moving forward with the steps.

use std::sync::atomic::{AtomicUsize, Ordering};

use model::is_stale_nan;

use super::{Bail, RANGE_POINT_BYTES, RResult, RSeries, RVal};
use crate::ast::{Call, Expr, MatrixSelector, SubqueryExpr, ValueType, VectorSelector};
use crate::engine::annotations;
use crate::engine::error::EvalError;
use crate::engine::eval::Evaluator;
use crate::engine::functions::{float_window_value, non_counter_name};
use crate::engine::load::par_map;
use crate::engine::selectors::{Extension, LoadedSeries, seek};
use crate::functions::{ClockFn, Func, RangeFn};
use crate::kernels::FPoint;

/// Whether a range function is computed here over range selectors and subqueries (float
/// windows only); the others are evaluated step by step.
fn native_all_steps(f: RangeFn) -> bool {
    match f {
        RangeFn::Rate
        | RangeFn::Increase
        | RangeFn::Delta
        | RangeFn::Irate
        | RangeFn::Idelta
        | RangeFn::Deriv
        | RangeFn::PredictLinear
        | RangeFn::SumOverTime
        | RangeFn::AvgOverTime
        | RangeFn::MinOverTime
        | RangeFn::MaxOverTime
        | RangeFn::CountOverTime
        | RangeFn::LastOverTime
        | RangeFn::FirstOverTime
        | RangeFn::PresentOverTime
        | RangeFn::StddevOverTime
        | RangeFn::StdvarOverTime
        | RangeFn::QuantileOverTime
        | RangeFn::MadOverTime
        | RangeFn::TsOfMinOverTime
        | RangeFn::TsOfMaxOverTime
        | RangeFn::TsOfLastOverTime
        | RangeFn::TsOfFirstOverTime => true,
        RangeFn::AbsentOverTime
        | RangeFn::Changes
        | RangeFn::Resets
        | RangeFn::DoubleExponentialSmoothing => false,
    }
}

/// The steps of a range query, for putting a selector's float series on them.
#[derive(Clone, Copy)]
struct StepGrid {
    /// Number of steps.
    n: usize,
    /// Time of the first step.
    start: i64,
    /// Milliseconds between steps.
    step: i64,
    /// How far back a step looks for a sample.
    lookback: i64,
}

impl StepGrid {
    /// `s`'s floats as `vs` sees them at each step (the latest point within the lookback,
    /// unless it is a stale marker), and how many steps have one.
    fn place(&self, vs: &VectorSelector, s: &LoadedSeries) -> (RSeries, usize) {
        let floats = &s.floats;
        let mut r = RSeries::empty(s.labels.clone(), false, self.n);
        let (mut j, mut count) = (0, 0);
        for i in 0..self.n {
            let ref_t = vs.timestamp.unwrap_or(self.start + i as i64 * self.step) - vs.offset;
            // `j`: the number of points at or before the reference time.
            j = seek(floats, j, ref_t);
            let Some(p) = j.checked_sub(1).map(|k| floats[k]) else {
                continue;
            };
            if (p.t != ref_t && p.t <= ref_t - self.lookback) || is_stale_nan(p.f) {
                continue;
            }
            r.set(i, p.f);
            count += 1;
        }
        (r, count)
    }
}

impl Evaluator<'_> {
    /// A vector selector at all steps: the latest sample within the lookback of each step,
    /// unless it is a stale marker.
    pub(crate) fn range_vector_selector(&mut self, vs: &VectorSelector) -> RResult<RVal> {
        if let Some(v) = self.range_vector_selector_streamed(vs)? {
            return Ok(v);
        }
        let series = self.load(vs)?;
        if series.iter().any(|s| !s.hists.is_empty()) {
            return Err(Bail::Fallback);
        }
        let (n, lookback) = (self.steps(), self.lookback());
        // As Prometheus counts a selector's points at all steps, series by series: past the
        // sample limit the query fails here, before the rest is allocated.
        let held = self.range_held;
        let mut points = 0usize;
        let mut out = Vec::new();
        let grid = StepGrid {
            n,
            start: self.start,
            step: self.step,
            lookback,
        };
        for s in series.iter() {
            self.range_reserve_bytes(1)?;
            let (r, count) = grid.place(vs, s);
            points += count;
            if held.saturating_add(points) > self.opts.max_samples {
                return Err(Bail::Fatal(EvalError::TooManySamples("query execution")));
            }
            if count > 0 {
                out.push(r);
            }
        }
        Ok(RVal::Vector(out))
    }

    /// [`Evaluator::range_vector_selector`] with each series decoded and put on the step
    /// grid in turn (its samples never all held); `None` when a series has histograms or
    /// the values would pass the sample limit or the byte budget: the loaded way then
    /// answers, or fails as it does.
    fn range_vector_selector_streamed(&mut self, vs: &VectorSelector) -> RResult<Option<RVal>> {
        let n = self.steps();
        let grid = StepGrid {
            n,
            start: self.start,
            step: self.step,
            lookback: self.lookback(),
        };
        let (held, loaded) = (self.range_held, self.loaded_bytes);
        let (max_samples, limit) = (self.opts.max_samples, self.opts.max_memory_bytes);
        // Series and points so far, counted as the loaded way counts them.
        let (series, points) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let on_grid = |s: &LoadedSeries| -> Option<Option<RSeries>> {
            if !s.hists.is_empty() {
                return None;
            }
            let (r, count) = grid.place(vs, s);
            let k = series.fetch_add(1, Ordering::Relaxed) + 1;
            let bytes = held
                .saturating_add(k.saturating_mul(n))
                .saturating_mul(RANGE_POINT_BYTES)
                .saturating_add(loaded);
            let p = points.fetch_add(count, Ordering::Relaxed) + count;
            if (limit > 0 && bytes > limit) || held.saturating_add(p) > max_samples {
                return None;
            }
            Some((count > 0).then_some(r))
        };
        let Some(out) = self.map_series(vs, on_grid)? else {
            return Ok(None);
        };
        self.range_held = held.saturating_add(series.into_inner().saturating_mul(n));
        Ok(Some(RVal::Vector(out.into_iter().flatten().collect())))
    }

    /// A function call at all steps.
    pub(crate) fn range_call(&mut self, e: &Expr, c: &Call) -> RResult<RVal> {
        // Functions of the evaluation time or of their argument's expression are evaluated
        // step by step as a whole.
        let func = match c.func.id {
            Func::Clock(_) | Func::Timestamp | Func::StartTimestamp | Func::Info => {
                return self.per_step(e);
            }
            Func::Range(f) => f,
            Func::Instant(f) => {
                let mut args = Vec::with_capacity(c.args.len());
                for a in &c.args {
                    args.push(self.eval_range(a)?);
                }
                return self
                    .apply_per_step(&args, |ev, vals, ts| ev.instant_function(c, f, vals, ts));
            }
        };
        let Some(idx) = c
            .args
            .iter()
            .position(|a| a.value_type() == ValueType::Matrix)
        else {
            return self.per_step(e);
        };
        match c.args[idx].unwrap_parens() {
            Expr::MatrixSelector(ms)
                if native_all_steps(func)
                    && Extension::of(&ms.vector_selector) == Extension::None =>
            {
                self.range_function_all_steps(c, func, idx, ms)
            }
            Expr::Subquery(sq)
                if native_all_steps(func)
                    && sq.timestamp.is_none()
                    && !reads_query_bounds(&sq.expr) =>
            {
                self.subquery_function_all_steps(c, func, idx, sq)
            }
            _ => self.per_step(e),
        }
    }

    /// A range function over a range selector at all steps: each series' window moves
    /// forward with the steps.
    fn range_function_all_steps(
        &mut self,
        c: &Call,
        func: RangeFn,
        idx: usize,
        ms: &MatrixSelector,
    ) -> RResult<RVal> {
        let scalars = self.scalar_args(c, idx)?;
        let vs = &ms.vector_selector;
        // Histograms, and start timestamps the function would read, are evaluated step by
        // step.
        let reads_starts = matches!(func, RangeFn::Rate | RangeFn::Increase | RangeFn::Irate);
        let step_by_step =
            |s: &LoadedSeries| !s.hists.is_empty() || (reads_starts && !s.starts.is_empty());
        let k = WindowCall {
            func,
            scalars: &scalars,
            range: ms.range,
            offset: vs.offset,
            timestamp: vs.timestamp,
            pos: c.args[idx].pos(),
        };
        let grid = (self.start, self.step, self.steps());
        if func != RangeFn::QuantileOverTime {
            // Nothing is noted per step: each series' windows are computed right after it is
            // decoded (on several threads when there are many), then taken in order; its
            // samples are not kept.
            let windows = |s: &LoadedSeries| {
                if step_by_step(s) {
                    return None;
                }
                let r = windows_on_grid(&k, grid, s.live_floats(), &s.labels, false, &mut |_| {});
                Some(r.map(|r| (r, s.non_counter_name)))
            };
            let Some(results) = self.map_series(vs, windows)? else {
                return self.range_function_windows(&k, vs, step_by_step);
            };
            self.check()?;
            self.range_reserve(results.len())?;
            let mut out = Vec::with_capacity(results.len());
            for (r, non_counter_name) in results.into_iter().flatten() {
                if k.checks_name() && non_counter_name {
                    let metric = r.labels.metric_name().unwrap_or("");
                    self.annotate(annotations::possible_non_counter(metric, k.pos));
                }
                out.push(r);
            }
            return Ok(RVal::Vector(out));
        }
        self.range_function_windows(&k, vs, step_by_step)
    }

    /// [`Evaluator::range_function_all_steps`] over the selector's loaded series.
    fn range_function_windows(
        &mut self,
        k: &WindowCall<'_>,
        vs: &VectorSelector,
        step_by_step: impl Fn(&LoadedSeries) -> bool,
    ) -> RResult<RVal> {
        let series = self.load(vs)?;
        if series.iter().any(step_by_step) {
            return Err(Bail::Fallback);
        }
        self.range_reserve(series.len())?;
        let mut out = Vec::new();
        if k.func != RangeFn::QuantileOverTime {
            self.check()?;
            let grid = (self.start, self.step, self.steps());
            let results = par_map(&series, |s| {
                windows_on_grid(k, grid, s.live_floats(), &s.labels, false, &mut |_| {})
            });
            self.check()?;
            for (s, r) in series.iter().zip(results) {
                if let Some(r) = r {
                    if k.checks_name() && s.non_counter_name {
                        let metric = s.labels.metric_name().unwrap_or("");
                        self.annotate(annotations::possible_non_counter(metric, k.pos));
                    }
                    out.push(r);
                }
            }
            return Ok(RVal::Vector(out));
        }
        for (j, s) in series.iter().enumerate() {
            if j % 1024 == 0 {
                self.check()?;
            }
            if let Some(r) = self.windows_all_steps(k, s.live_floats(), &s.labels, false) {
                if k.checks_name() && s.non_counter_name {
                    let metric = s.labels.metric_name().unwrap_or("");
                    self.annotate(annotations::possible_non_counter(metric, k.pos));
                }
                out.push(r);
            }
        }
        Ok(RVal::Vector(out))
    }

    /// A range function over a subquery at all steps: the inner expression is evaluated at
    /// all steps of the subquery's grid (multiples of its step) that any window needs, then
    /// each series' window moves forward with the outer steps.
    fn subquery_function_all_steps(
        &mut self,
        c: &Call,
        func: RangeFn,
        idx: usize,
        sq: &SubqueryExpr,
    ) -> RResult<RVal> {
        let scalars = self.scalar_args(c, idx)?;
        let step = if sq.step > 0 {
            sq.step
        } else {
            i64::try_from(self.opts.default_subquery_step.as_millis()).unwrap_or(i64::MAX)
        };
        // Grid points in (start - offset - range, end - offset].
        let lo = self.start - sq.offset - sq.range;
        let first = (lo.div_euclid(step) + 1) * step;
        let last = (self.end - sq.offset).div_euclid(step) * step;
        if first > last {
            return Ok(RVal::Vector(Vec::new()));
        }
        let outer = (self.start, self.end, self.step);
        (self.start, self.end, self.step) = (first, last, step);
        let inner = self.eval_range(&sq.expr);
        (self.start, self.end, self.step) = outer;
        let RVal::Vector(inner) = inner? else {
            return Err(Bail::Fallback);
        };
        // Step by step keys a subquery's series by labels alone.
        let mut seen = std::collections::HashSet::with_capacity(inner.len());
        if !inner.iter().all(|s| seen.insert(&s.labels)) {
            return Err(Bail::Fallback);
        }
        let held: usize = inner.iter().map(RSeries::points).sum();
        self.step_peak = self.step_peak.max(held);
        let k = WindowCall {
            func,
            scalars: &scalars,
            range: sq.range,
            offset: sq.offset,
            timestamp: None,
            pos: c.args[idx].pos(),
        };
        self.range_reserve(inner.len())?;
        let mut out = Vec::new();
        let mut points = Vec::new();
        for s in &inner {
            points.clear();
            points.extend(
                (0..s.present.len())
                    .filter(|&i| s.present[i])
                    .map(|i| FPoint::new(first + i as i64 * step, s.vals[i])),
            );
            if let Some(r) = self.windows_all_steps(&k, &points, &s.labels, s.drop_name) {
                if k.checks_name() && non_counter_name(&s.labels) {
                    let metric = s.labels.metric_name().unwrap_or("");
                    self.annotate(annotations::possible_non_counter(metric, k.pos));
                }
                out.push(r);
            }
        }
        Ok(RVal::Vector(out))
    }

    /// The scalar arguments of a range function (all but argument `idx`) at all steps.
    fn scalar_args(&mut self, c: &Call, idx: usize) -> RResult<Vec<Vec<f64>>> {
        let mut scalars = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != idx {
                match self.eval_range(a)? {
                    RVal::Scalar(s) => scalars.push(s),
                    _ => return Err(Bail::Fallback),
                }
            }
        }
        Ok(scalars)
    }

    /// A range function over one series' `points` (time-ordered, no stale markers) at every
    /// step; `None` when it has no value at any step.
    fn windows_all_steps(
        &mut self,
        k: &WindowCall<'_>,
        points: &[FPoint],
        labels: &model::Labels,
        drop_name: bool,
    ) -> Option<RSeries> {
        let mut bad = Vec::new();
        let grid = (self.start, self.step, self.steps());
        let r = windows_on_grid(k, grid, points, labels, drop_name, &mut |q| bad.push(q));
        for q in bad {
            self.annotate(annotations::invalid_quantile(q, k.pos));
        }
        r
    }
}

/// A range function over one series' `points` (time-ordered, no stale markers) at every
/// step of `(start, step, steps)`; `None` when it has no value at any step. `bad_quantile`
/// is told each quantile out of range met at a step with a window.
fn windows_on_grid(
    k: &WindowCall<'_>,
    (start, step, n): (i64, i64, usize),
    points: &[FPoint],
    labels: &model::Labels,
    drop_name: bool,
    bad_quantile: &mut dyn FnMut(f64),
) -> Option<RSeries> {
    if points.is_empty() {
        return None;
    }
    let keep_name = k.func.keeps_name();
    let mut r = RSeries::empty(labels.clone(), !keep_name || drop_name, n);
    let mut sc = vec![0.0; k.scalars.len()];
    let (mut lo, mut hi, mut any) = (0, 0, false);
    for i in 0..n {
        let ts = start + i as i64 * step;
        let ref_t = k.timestamp.unwrap_or(ts) - k.offset;
        let (mint, maxt) = (ref_t - k.range, ref_t);
        lo = seek(points, lo, mint);
        hi = seek(points, hi.max(lo), maxt);
        if lo == hi {
            continue;
        }
        for (x, a) in sc.iter_mut().zip(k.scalars) {
            *x = a[i];
        }
        if k.func == RangeFn::QuantileOverTime && !(0.0..=1.0).contains(&sc[0]) {
            bad_quantile(sc[0]);
        }
        if let Some(v) = float_window_value(
            k.func,
            &points[lo..hi],
            &[],
            mint,
            maxt,
            Extension::None,
            ts,
            &sc,
        ) {
            r.set(i, v);
            any = true;
        }
    }
    any.then_some(r)
}

/// A range function call, apart from its series.
struct WindowCall<'a> {
    func: RangeFn,
    /// The other arguments' values per step.
    scalars: &'a [Vec<f64>],
    range: i64,
    offset: i64,
    timestamp: Option<i64>,
    pos: crate::ast::PosRange,
}

impl WindowCall<'_> {
    /// Whether the function notes series whose names do not look like counters'.
    fn checks_name(&self) -> bool {
        self.func.checks_counter_name()
    }
}

/// Whether `e` reads the query's start, end, range or step (which a subquery evaluated
/// on its own grid would change).
pub(crate) fn reads_query_bounds(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if let Expr::Call(c) = x {
            found |= matches!(
                c.func.id,
                Func::Clock(ClockFn::Start | ClockFn::End | ClockFn::Range | ClockFn::Step)
            );
        }
    });
    found
}
