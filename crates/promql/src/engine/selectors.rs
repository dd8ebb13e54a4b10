//! Selecting data: series are loaded once per selector and query (over the time range the
//! whole query needs), then each step picks its sample (vector selectors, with lookback and
//! staleness) or its window (range selectors, left-open `(t-range, t]`), and subqueries
//! evaluate their inner expression on their own step grid.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use model::{Labels, is_stale_nan};
use storage::SelectHints;

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use crate::ast::{MatrixSelector, SubqueryExpr, VectorSelector};
use crate::kernels::{FPoint, rate};
use crate::value::{HPoint, Sample, Series};

/// One series as loaded for a selector, stale markers included.
#[derive(Debug, Clone)]
pub(crate) struct LoadedSeries {
    pub(crate) labels: Labels,
    pub(crate) floats: Vec<FPoint>,
    /// `floats` without stale markers, kept only when there are any (range windows skip
    /// them, so a window is then a plain slice of this).
    pub(crate) live: Option<Vec<FPoint>>,
    pub(crate) hists: Vec<HPoint>,
    /// See [`super::functions::non_counter_name`].
    pub(crate) non_counter_name: bool,
    /// `(t, start timestamp)` of the samples whose start timestamp is known, by `t`.
    pub(crate) starts: Vec<(i64, i64)>,
}

impl LoadedSeries {
    /// The start timestamp of the sample at `t` (0 when unknown).
    pub(crate) fn start_at(&self, t: i64) -> i64 {
        self.starts
            .binary_search_by_key(&t, |(st_t, _)| *st_t)
            .map_or(0, |i| self.starts[i].1)
    }

    /// The start timestamps of samples at the times `ts` (0 where unknown); empty when the
    /// series has none.
    pub(crate) fn starts_of(&self, ts: impl Iterator<Item = i64>) -> Vec<i64> {
        if self.starts.is_empty() {
            return Vec::new();
        }
        ts.map(|t| self.start_at(t)).collect()
    }

    /// The floats without stale markers.
    pub(crate) fn live_floats(&self) -> &[FPoint] {
        self.live.as_deref().unwrap_or(&self.floats)
    }
}

/// The windows of a range selector at one step, borrowed from its loaded series: only the
/// series with a sample in the window, each with its non-stale floats as a slice.
pub(crate) struct LoadedWindows {
    pub(crate) series: Rc<Vec<LoadedSeries>>,
    /// `(series index, float start, float end, histograms)` per non-empty window.
    pub(crate) windows: Vec<(usize, usize, usize, Vec<HPoint>)>,
}

impl LoadedWindows {
    /// The series, floats and histograms of each window.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&LoadedSeries, &[FPoint], &[HPoint])> {
        self.windows.iter().map(|(i, lo, hi, h)| {
            let s = &self.series[*i];
            (s, &s.live_floats()[*lo..*hi], h.as_slice())
        })
    }

    /// Whether no series has a sample in the window.
    pub(crate) fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

/// How a range selector's window is extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extension {
    None,
    Anchored,
    Smoothed,
}

impl Extension {
    pub(crate) fn of(vs: &VectorSelector) -> Self {
        if vs.anchored {
            Extension::Anchored
        } else if vs.smoothed {
            Extension::Smoothed
        } else {
            Extension::None
        }
    }
}

fn key(vs: &VectorSelector) -> usize {
    std::ptr::from_ref(vs) as usize
}

impl<'q> Evaluator<'q> {
    /// The series of a selector, loaded on first use.
    pub(crate) fn load(&mut self, vs: &VectorSelector) -> Result<Rc<Vec<LoadedSeries>>, EvalError> {
        let k = key(vs);
        if let Some(s) = self.cache.get(&k) {
            return Ok(Rc::clone(s));
        }
        let (series, decode) = self.select_stored(vs)?;
        let result = decode.all(&series);
        self.loaded_bytes = decode.loaded.into_inner();
        let out = result?;
        let rc = Rc::new(out);
        self.cache.insert(k, Rc::clone(&rc));
        Ok(rc)
    }

    /// `f` of each series of a selector that has a sample in the query's range, in label
    /// order, each decoded just before (see [`super::load::Decode::map`]): for a selector
    /// read once, whose samples need not all be held. The series are taken from storage a
    /// batch at a time (on a thread of their own when there are many, see
    /// [`super::pipeline`]), so that only a few batches of them (labels and chunk references
    /// of every block) are held at once. `Ok(None)` when `f` gives `None` for a series, when
    /// the selector was loaded already, or when storage gives the series out of label
    /// order (the caller then uses [`Evaluator::load`], which sorts them).
    pub(crate) fn map_series<R: Send>(
        &mut self,
        vs: &VectorSelector,
        f: impl Fn(&LoadedSeries) -> Option<R> + Sync,
    ) -> Result<Option<Vec<R>>, EvalError> {
        if self.cache.contains_key(&key(vs)) {
            return Ok(None);
        }
        let (set, decode) = self.select_set(vs)?;
        super::pipeline::map_set(set, &decode, f)
    }

    /// A selector's matching series from storage (labels and chunk references; samples not
    /// decoded yet) in label order, and their decoder over the time range the query needs.
    fn select_stored(
        &mut self,
        vs: &VectorSelector,
    ) -> Result<(Vec<Box<dyn storage::Series>>, super::load::Decode<'q>), EvalError> {
        let (set, decode) = self.select_set(vs)?;
        // The series first (labels and chunk references), then their samples, decoded on
        // several threads when there are many.
        let mut series = set.collect::<Result<Vec<_>, _>>()?;
        // Stable, and a pass over the labels when the set came sorted.
        series.sort_by(|a, b| a.labels().cmp(b.labels()));
        Ok((series, decode))
    }

    /// A selector's matching series as storage gives them (asked for label order), and
    /// their decoder over the time range the query needs.
    fn select_set(
        &mut self,
        vs: &VectorSelector,
    ) -> Result<(Box<dyn storage::SeriesSet>, super::load::Decode<'q>), EvalError> {
        self.check()?;
        let k = key(vs);
        let (mint, maxt) = self
            .ranges
            .get(&k)
            .copied()
            .unwrap_or((i64::MIN / 4, i64::MAX / 4));
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step: self.step,
            ..SelectHints::default()
        };
        let set = self.querier.select(true, Some(&hints), &vs.matchers)?;
        let decode = super::load::Decode {
            mint,
            maxt,
            stats: self.stats_selectors.contains(&k),
            limit: self.opts.max_memory_bytes,
            loaded: self.loaded_bytes.into(),
            cancel: self.cancel,
            deadline: self.deadline,
        };
        Ok((set, decode))
    }

    /// The instant vector of a selector at `ts` (sample timestamps kept when `orig_t`).
    pub(crate) fn vector_selector(
        &mut self,
        vs: &VectorSelector,
        ts: i64,
        orig_t: bool,
    ) -> Result<Vec<Sample>, EvalError> {
        let ref_t = vs.timestamp.unwrap_or(ts) - vs.offset;
        let lookback = self.lookback();
        // A selector needed at this one time only (an instant query's, a rule's): each
        // series is decoded and its sample picked in turn, its samples never all held.
        if !vs.smoothed
            && self.ranges.get(&key(vs)) == Some(&(ref_t - lookback, ref_t))
            && let Some(picked) =
                self.map_series(vs, |s| Some(latest_sample(s, ref_t, lookback, ts, orig_t)))?
        {
            return Ok(picked.into_iter().flatten().collect());
        }
        let series = self.load(vs)?;
        if vs.smoothed {
            return Ok(self.smoothed_vector(vs, &series, ref_t, ts));
        }
        Ok(series
            .iter()
            .filter_map(|s| latest_sample(s, ref_t, lookback, ts, orig_t))
            .collect())
    }

    fn smoothed_vector(
        &mut self,
        vs: &VectorSelector,
        series: &[LoadedSeries],
        ref_t: i64,
        ts: i64,
    ) -> Vec<Sample> {
        let lb = self.lookback();
        let mut out = Vec::new();
        for s in series {
            let floats = window(&s.floats, ref_t - lb, ref_t + lb);
            let hists = window_h(&s.hists, ref_t - lb, ref_t + lb);
            if floats.is_empty() && hists.is_empty() {
                continue;
            }
            if !floats.is_empty() && !hists.is_empty() {
                let name = s.labels.metric_name().unwrap_or("").to_owned();
                self.annotate(annotations::mixed_floats_histograms(&name, vs.pos));
                continue;
            }
            if !hists.is_empty() {
                let i = hists.partition_point(|p| p.t < ref_t);
                let h = if i < hists.len() && hists[i].t == ref_t {
                    Some(Arc::clone(&hists[i].h))
                } else if i > 0 && i < hists.len() {
                    let (a, b) = (&hists[i - 1], &hists[i]);
                    if super::histo::is_custom(&a.h) != super::histo::is_custom(&b.h) {
                        let name = s.labels.metric_name().unwrap_or("").to_owned();
                        self.annotate(super::hist_fns::mixed_exp_custom(&name, vs.pos));
                        continue;
                    }
                    let gauge = model::histogram::CounterResetHint::Gauge;
                    let is_counter =
                        a.h.counter_reset_hint != gauge || b.h.counter_reset_hint != gauge;
                    super::hist_fns::interpolate(a, b, ref_t, is_counter).map(Arc::new)
                } else if i > 0 {
                    let mut h = (*hists[i - 1].h).clone();
                    h.counter_reset_hint = model::histogram::CounterResetHint::Unknown;
                    Some(Arc::new(h))
                } else {
                    None
                };
                if let Some(h) = h {
                    out.push(Sample {
                        labels: s.labels.clone(),
                        t: ts,
                        f: 0.0,
                        h: Some(h),
                        drop_name: false,
                    });
                }
                continue;
            }
            let i = floats.partition_point(|p| p.t < ref_t);
            let v = if i < floats.len() && floats[i].t == ref_t {
                floats[i].f
            } else if i > 0 && i < floats.len() {
                rate::interpolate(floats[i - 1], floats[i], ref_t, false)
            } else if i > 0 {
                floats[i - 1].f
            } else {
                continue;
            };
            out.push(Sample::float(s.labels.clone(), ts, v));
        }
        out
    }

    /// The windows of a range selector at `ts`: samples in `(ref-range, ref]` (widened by
    /// the lookback for anchored/smoothed selectors), stale markers removed.
    pub(crate) fn matrix_windows(
        &mut self,
        ms: &MatrixSelector,
        ts: i64,
        ext: Extension,
    ) -> Result<Vec<Series>, EvalError> {
        let w = self.loaded_windows(ms, ts, ext)?;
        Ok(w.windows
            .iter()
            .zip(w.iter())
            .map(|((_, _, _, h), (s, floats, _))| Series {
                labels: s.labels.clone(),
                floats: floats.to_vec(),
                histograms: h.clone(),
                drop_name: false,
            })
            .collect())
    }

    /// As [`Self::matrix_windows`], borrowing the floats from the loaded series instead
    /// of copying them.
    pub(crate) fn loaded_windows(
        &mut self,
        ms: &MatrixSelector,
        ts: i64,
        ext: Extension,
    ) -> Result<LoadedWindows, EvalError> {
        let vs = &ms.vector_selector;
        let series = self.load(vs)?;
        let ref_t = vs.timestamp.unwrap_or(ts) - vs.offset;
        let lb = self.lookback();
        let (mut mint, mut maxt) = (ref_t - ms.range, ref_t);
        match ext {
            Extension::None => {}
            Extension::Anchored => mint -= lb,
            Extension::Smoothed => {
                mint -= lb;
                maxt += lb;
            }
        }
        let mut windows = Vec::new();
        let mut n = 0;
        // Where each series' window was at the previous step: consecutive steps move it a
        // little, so it is found by stepping from there instead of searching all the points.
        let mut cursors = self.cursors.remove(&key(vs)).unwrap_or_default();
        cursors.resize(series.len(), (0, 0));
        for ((i, s), cur) in series.iter().enumerate().zip(cursors.iter_mut()) {
            let live = s.live_floats();
            let lo = seek(live, cur.0, mint);
            let hi = seek(live, cur.1.max(lo), maxt);
            *cur = (lo, hi);
            let histograms = if s.hists.is_empty() {
                Vec::new()
            } else {
                window_h(&s.hists, mint, maxt)
            };
            if lo == hi && histograms.is_empty() {
                continue;
            }
            n += hi - lo + histograms.len();
            windows.push((i, lo, hi, histograms));
        }
        self.cursors.insert(key(vs), cursors);
        self.add_samples(n)?;
        Ok(LoadedWindows { series, windows })
    }

    /// A range selector as a query result: its windows, extended for anchored/smoothed.
    pub(crate) fn matrix_selector_value(
        &mut self,
        ms: &MatrixSelector,
        ts: i64,
    ) -> Result<Vec<Series>, EvalError> {
        let ext = Extension::of(&ms.vector_selector);
        let mut windows = self.matrix_windows(ms, ts, ext)?;
        if ext == Extension::None {
            return Ok(windows);
        }
        let ref_t = ms.vector_selector.timestamp.unwrap_or(ts) - ms.vector_selector.offset;
        let mut out = Vec::new();
        for mut s in windows.drain(..) {
            if !s.histograms.is_empty() {
                let which = if ext == Extension::Anchored {
                    "anchored"
                } else {
                    "smoothed"
                };
                return Err(EvalError::exec(format!(
                    "{which} modifier is not supported with histograms"
                )));
            }
            if let Some(f) = rate::extend_floats(
                &s.floats,
                ref_t - ms.range,
                ref_t,
                ext == Extension::Smoothed,
            ) {
                s.floats = f;
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Evaluates a subquery at `ts`: the inner expression at every multiple of the step in
    /// `(ref-range, ref]`.
    pub(crate) fn subquery(
        &mut self,
        sq: &SubqueryExpr,
        ts: i64,
    ) -> Result<Vec<Series>, EvalError> {
        let ref_t = sq.timestamp.unwrap_or(ts) - sq.offset;
        let step = if sq.step > 0 {
            sq.step
        } else {
            self.opts.default_subquery_step.as_millis() as i64
        };
        let lo = ref_t - sq.range;
        let mut t = step * lo.div_euclid(step);
        if t <= lo {
            t += step;
        }
        // At one instant (an instant query, a rule), the inner expression is evaluated a node
        // at a time over the whole grid when it can be.
        if self.step == 0 {
            let last = ref_t.div_euclid(step) * step;
            if let Some(out) = self.subquery_all_steps(sq, t, last, step)? {
                let n = out.iter().map(|s| s.floats.len()).sum();
                self.add_samples(n)?;
                return Ok(out);
            }
        }
        let mut order: Vec<Labels> = Vec::new();
        let mut map: HashMap<Labels, Series> = HashMap::new();
        let before = self.current_samples;
        // The inner expression's value at a time does not depend on the outer step, so
        // overlapping windows of consecutive steps reuse it; older entries are dropped.
        let key = std::ptr::from_ref(sq) as usize;
        let mut cache = self.subquery_cache.remove(&key).unwrap_or_default();
        cache = cache.split_off(&t);
        while t <= ref_t {
            self.check()?;
            let v = match cache.get(&t) {
                Some(v) => v.clone(),
                None => {
                    let v = self.eval(&sq.expr, t)?;
                    cache.insert(t, v.clone());
                    v
                }
            };
            // Counted step by step, before the windows pile up (a subquery at a fine
            // resolution over a long range has millions of steps).
            self.add_samples(match &v {
                Val::Vector(samples) => samples.len(),
                _ => 1,
            })?;
            match v {
                Val::Vector(samples) => {
                    for s in samples {
                        let entry = map.entry(s.labels.clone()).or_insert_with(|| {
                            order.push(s.labels.clone());
                            Series {
                                labels: s.labels.clone(),
                                drop_name: s.drop_name,
                                ..Series::default()
                            }
                        });
                        match s.h {
                            Some(mut h) => {
                                // Hints from the underlying samples do not hold between
                                // subquery steps.
                                use model::histogram::CounterResetHint as H;
                                if matches!(
                                    h.counter_reset_hint,
                                    H::CounterReset | H::NotCounterReset
                                ) {
                                    Arc::make_mut(&mut h).counter_reset_hint = H::Unknown;
                                }
                                entry.histograms.push(HPoint { t, h });
                            }
                            None => entry.floats.push(FPoint::new(t, s.f)),
                        }
                    }
                }
                Val::Scalar(f) => {
                    let entry = map.entry(Labels::empty()).or_insert_with(|| {
                        order.push(Labels::empty());
                        Series::default()
                    });
                    entry.floats.push(FPoint::new(t, f));
                }
                _ => {}
            }
            t += step;
        }
        self.subquery_cache.insert(key, cache);
        self.current_samples = before;
        let out: Vec<Series> = order.into_iter().filter_map(|l| map.remove(&l)).collect();
        let n = out
            .iter()
            .map(|s| s.floats.len() + s.histograms.len())
            .sum();
        self.add_samples(n)?;
        Ok(out)
    }
}

/// A series' sample at `ref_t` for a vector selector: its latest float or histogram at or
/// before `ref_t` within the lookback, unless a stale marker; stamped `ts` (or its own time
/// when `orig_t`).
fn latest_sample(
    s: &LoadedSeries,
    ref_t: i64,
    lookback: i64,
    ts: i64,
    orig_t: bool,
) -> Option<Sample> {
    let fi = s.floats.partition_point(|p| p.t <= ref_t);
    let hi = s.hists.partition_point(|p| p.t <= ref_t);
    let f = fi.checked_sub(1).map(|i| s.floats[i]);
    let h = hi.checked_sub(1).map(|i| &s.hists[i]);
    let (t, f, h) = match (f, h) {
        (Some(f), Some(h)) if h.t > f.t => (h.t, 0.0, Some(Arc::clone(&h.h))),
        (Some(f), _) => (f.t, f.f, None),
        (None, Some(h)) => (h.t, 0.0, Some(Arc::clone(&h.h))),
        (None, None) => return None,
    };
    if t != ref_t && t <= ref_t - lookback {
        return None;
    }
    if is_stale_nan(f) && h.is_none() || h.as_ref().is_some_and(|h| is_stale_nan(h.sum)) {
        return None;
    }
    Some(Sample {
        labels: s.labels.clone(),
        t: if orig_t { t } else { ts },
        f,
        h,
        drop_name: false,
    })
}

/// The index of the first point after `t`, searched from `from` (the answer for a nearby
/// time): a few steps forward or back, or a binary search when it is far.
#[inline]
pub(crate) fn seek(points: &[FPoint], from: usize, t: i64) -> usize {
    let mut i = from.min(points.len());
    if i > 0 && points[i - 1].t > t {
        return points[..i].partition_point(|p| p.t <= t);
    }
    for _ in 0..16 {
        if i == points.len() || points[i].t > t {
            return i;
        }
        i += 1;
    }
    i + points[i..].partition_point(|p| p.t <= t)
}

/// Non-stale floats with `mint < t <= maxt`.
pub(crate) fn window(points: &[FPoint], mint: i64, maxt: i64) -> Vec<FPoint> {
    let lo = points.partition_point(|p| p.t <= mint);
    let hi = points.partition_point(|p| p.t <= maxt);
    points[lo..hi.max(lo)]
        .iter()
        .filter(|p| !is_stale_nan(p.f))
        .copied()
        .collect()
}

/// Non-stale histograms with `mint < t <= maxt`.
pub(crate) fn window_h(points: &[HPoint], mint: i64, maxt: i64) -> Vec<HPoint> {
    let lo = points.partition_point(|p| p.t <= mint);
    let hi = points.partition_point(|p| p.t <= maxt);
    points[lo..hi.max(lo)]
        .iter()
        .filter(|p| !is_stale_nan(p.h.sum))
        .cloned()
        .collect()
}

/// Computes, for every selector in `e`, the time range the query needs from storage.
pub(crate) fn collect_ranges(
    e: &crate::ast::Expr,
    start: i64,
    end: i64,
    lookback: i64,
    out: &mut HashMap<usize, (i64, i64)>,
) {
    use crate::ast::Expr;
    let span = |ts: Option<i64>| ts.map_or((start, end), |t| (t, t));
    match e {
        Expr::VectorSelector(vs) => {
            let (s, en) = span(vs.timestamp);
            let mut maxt = en - vs.offset;
            if vs.smoothed {
                maxt += lookback;
            }
            merge(out, key(vs), (s - vs.offset - lookback, maxt));
        }
        Expr::MatrixSelector(ms) => {
            let vs = &ms.vector_selector;
            let (s, en) = span(vs.timestamp);
            let extra = if vs.anchored || vs.smoothed {
                lookback
            } else {
                0
            };
            let maxt = en - vs.offset + if vs.smoothed { lookback } else { 0 };
            merge(out, key(vs), (s - vs.offset - ms.range - extra, maxt));
        }
        Expr::Subquery(sq) => {
            let (s, en) = span(sq.timestamp);
            collect_ranges(
                &sq.expr,
                s - sq.offset - sq.range,
                en - sq.offset,
                lookback,
                out,
            );
        }
        other => {
            for c in other.children() {
                collect_ranges(c, start, end, lookback, out);
            }
        }
    }
}

/// The selectors whose histograms are only read for their count and sum
/// (`histogram_count/sum/avg` above them, no subquery or bucket-needing function in
/// between): like Prometheus's statistics iterator, their samples carry counter-reset
/// hints detected on the fly.
pub(crate) fn collect_stats_selectors(
    e: &crate::ast::Expr,
    stats: bool,
    out: &mut std::collections::HashSet<usize>,
) {
    use crate::ast::{BinaryOp, Expr};
    match e {
        Expr::VectorSelector(vs) if stats => {
            out.insert(key(vs));
        }
        Expr::MatrixSelector(ms) if stats => {
            out.insert(key(&ms.vector_selector));
        }
        Expr::Subquery(_) => {}
        Expr::Binary(b) if matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower) => {}
        Expr::Call(c) => {
            use crate::functions::{Func, InstantFn as I};
            let stats = match c.func.id {
                Func::Instant(I::HistogramCount | I::HistogramSum | I::HistogramAvg) => true,
                Func::Instant(
                    I::HistogramQuantile | I::HistogramQuantiles | I::HistogramFraction,
                ) => return,
                _ => stats,
            };
            c.args
                .iter()
                .for_each(|a| collect_stats_selectors(a, stats, out));
        }
        other => other
            .children()
            .into_iter()
            .for_each(|c| collect_stats_selectors(c, stats, out)),
    }
}

fn merge(out: &mut HashMap<usize, (i64, i64)>, k: usize, r: (i64, i64)) {
    let e = out.entry(k).or_insert(r);
    e.0 = e.0.min(r.0);
    e.1 = e.1.max(r.1);
}
