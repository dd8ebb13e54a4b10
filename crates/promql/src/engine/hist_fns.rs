//! Range functions over native histogram samples: `rate`/`increase`/`delta`,
//! `irate`/`idelta`, and the mixed float/histogram walks of `resets` and `changes`.

use std::sync::Arc;

use model::FloatHistogram;
use model::histogram::CounterResetHint;

use super::annotations::{self, Annotation};
use super::histo::{self, detect_reset, is_custom};
use crate::ast::PosRange;
use crate::kernels::rate::extrapolation_factor;
use crate::kernels::{FPoint, start_ts};
use crate::value::HPoint;

fn not_counter(metric: &str, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!("this native histogram metric is not a counter: {metric:?}"),
        pos,
    )
}

fn not_gauge(metric: &str, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!("this native histogram metric is not a gauge: {metric:?}"),
        pos,
    )
}

/// `vector contains a mix of histograms with exponential and custom buckets schemas ...`.
pub(crate) fn mixed_exp_custom(metric: &str, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!(
            "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"
        ),
        pos,
    )
}

/// `mismatched custom buckets were reconciled during <op>`.
fn reconciled(op: &str, pos: PosRange) -> Annotation {
    Annotation::info(
        format!("mismatched custom buckets were reconciled during {op}"),
        pos,
    )
}

fn is_gauge(h: &FloatHistogram) -> bool {
    h.counter_reset_hint == CounterResetHint::Gauge
}

/// Extrapolated `rate`/`increase` (`is_counter`) or `delta` of histogram samples; `sts` are
/// their start timestamps (empty when none is known, see [`crate::kernels::start_ts`]).
#[allow(
    clippy::too_many_arguments,
    reason = "the window, its start timestamps and the call's parameters"
)]
pub(crate) fn histogram_rate(
    points: &[HPoint],
    sts: &[i64],
    range: (i64, i64),
    is_counter: bool,
    is_rate: bool,
    metric: &str,
    pos: PosRange,
    annos: &mut Vec<Annotation>,
) -> Option<Arc<FloatHistogram>> {
    let (first_p, last_p) = (points.first()?, points.last()?);
    let start = if is_counter {
        start_ts::start_in_window(sts, first_p.t, range.0)
    } else {
        None
    };
    if let Some(st) = start {
        // The count starts from zero at `st`: the first sample is all increase.
        let mut h = if points.len() > 1 {
            increase_between(points, sts, is_counter, metric, pos, annos)?
        } else {
            (*first_p.h).clone()
        };
        if points.len() > 1 {
            h = histo::combine(&h, &first_p.h, false)?;
        }
        let samples = (first_p.t, last_p.t, points.len() - 1);
        let factor = start_ts::start_factor(st, samples, range.0, range.1, is_rate);
        return Some(Arc::new(histo::scale(&h, factor)));
    }
    if points.len() < 2 {
        return None;
    }
    let h = increase_between(points, sts, is_counter, metric, pos, annos)?;
    let factor = extrapolation_factor(
        (first_p.t, last_p.t, points.len() - 1),
        range.0,
        range.1,
        is_counter,
        is_rate,
        (h.count, first_p.h.count),
    );
    Some(Arc::new(histo::scale(&h, factor)))
}

/// The increase (with counter resets, by the histograms or their start timestamps `sts`)
/// or the difference from the first to the last of at least two histogram samples.
fn increase_between(
    points: &[HPoint],
    sts: &[i64],
    is_counter: bool,
    metric: &str,
    pos: PosRange,
    annos: &mut Vec<Annotation>,
) -> Option<FloatHistogram> {
    let ts: Vec<i64> = if sts.is_empty() {
        Vec::new()
    } else {
        points.iter().map(|p| p.t).collect()
    };
    let first = &points[0].h;
    let last = &points[points.len() - 1].h;
    if is_counter && (is_gauge(first) || is_gauge(last)) {
        annos.push(not_counter(metric, pos));
    }
    let mut prev: FloatHistogram = (**first).clone();
    if is_counter && (start_ts::reset_at(&ts, sts, 1) || detect_reset(&points[1].h, first)) {
        prev = FloatHistogram {
            schema: points[1].h.schema,
            custom_values: points[1].h.custom_values.clone(),
            ..FloatHistogram::default()
        };
    }
    let custom = is_custom(&prev);
    let mut min_schema = last.schema.min(prev.schema);
    for p in &points[1..points.len() - 1] {
        if is_counter && is_gauge(&p.h) {
            annos.push(not_counter(metric, pos));
        }
        min_schema = min_schema.min(p.h.schema);
        if is_custom(&p.h) != custom {
            annos.push(mixed_exp_custom(metric, pos));
            return None;
        }
    }
    if is_custom(last) != custom {
        annos.push(mixed_exp_custom(metric, pos));
        return None;
    }
    if histo::mismatched_bounds(&[last, &prev]) {
        annos.push(reconciled("subtraction", pos));
    }
    let Some(mut h) = histo::combine(&histo::reduce_schema(last, min_schema), &prev, true) else {
        annos.push(mixed_exp_custom(metric, pos));
        return None;
    };
    if is_counter {
        // Starts from the (possibly emptied) first sample, as the subtraction above did.
        let mut p: &FloatHistogram = &prev;
        for (i, cur) in points.iter().enumerate().skip(1) {
            if start_ts::reset_at(&ts, sts, i) || detect_reset(&cur.h, p) {
                h = histo::combine(&h, p, false)?;
            }
            p = &cur.h;
        }
    } else if !is_gauge(first) || !is_gauge(last) {
        annos.push(not_gauge(metric, pos));
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    Some(h)
}

/// One sample of a mixed float/histogram window.
#[derive(Clone)]
pub(crate) enum Point {
    Float(f64),
    Hist(Arc<FloatHistogram>),
}

/// The window's samples merged in time order.
pub(crate) fn merged(floats: &[FPoint], hists: &[HPoint]) -> Vec<(i64, Point)> {
    let mut out: Vec<(i64, Point)> = floats.iter().map(|p| (p.t, Point::Float(p.f))).collect();
    out.extend(hists.iter().map(|p| (p.t, Point::Hist(Arc::clone(&p.h)))));
    out.sort_by_key(|(t, _)| *t);
    out
}

/// `irate`/`idelta` over the last two samples of a window that holds histograms; `sts` are
/// the samples' start timestamps (empty when none is known).
pub(crate) fn instant_value(
    all: &[(i64, Point)],
    sts: &[i64],
    is_rate: bool,
    metric: &str,
    pos: PosRange,
    annos: &mut Vec<Annotation>,
) -> Option<(f64, Option<Arc<FloatHistogram>>)> {
    if all.len() < 2 {
        return None;
    }
    let (t0, p0) = &all[all.len() - 2];
    let (t1, p1) = &all[all.len() - 1];
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    let secs = interval as f64 / 1000.0;
    let n = all.len();
    let st_reset = n <= sts.len() && start_ts::is_reset(sts[n - 2], *t0, sts[n - 1], *t1);
    match (p0, p1) {
        (Point::Float(a), Point::Float(b)) => {
            let mut r = if is_rate && (b < a || st_reset) {
                *b
            } else {
                b - a
            };
            if is_rate {
                r /= secs;
            }
            Some((r, None))
        }
        (Point::Hist(a), Point::Hist(b)) => {
            if is_rate && (is_gauge(a) || is_gauge(b)) {
                annos.push(not_counter(metric, pos));
            }
            if !is_rate && (!is_gauge(a) || !is_gauge(b)) {
                annos.push(not_gauge(metric, pos));
            }
            let mut r = (**b).clone();
            if !is_rate || !(st_reset || detect_reset(b, a)) {
                if histo::mismatched_bounds(&[a, b]) {
                    annos.push(reconciled("subtraction", pos));
                }
                match histo::combine(b, a, true) {
                    Some(x) => r = x,
                    None => {
                        annos.push(mixed_exp_custom(metric, pos));
                        return None;
                    }
                }
            }
            r.counter_reset_hint = CounterResetHint::Gauge;
            if is_rate {
                r = histo::scale(&r, 1.0 / secs);
            }
            Some((0.0, Some(Arc::new(r))))
        }
        _ => {
            annos.push(annotations::mixed_floats_histograms(metric, pos));
            None
        }
    }
}

/// `resets` (`changes == false`) or `changes` over a mixed window; `sts` are the samples'
/// start timestamps (empty when none is known), which `resets` also counts resets by.
pub(crate) fn count_transitions(all: &[(i64, Point)], sts: &[i64], changes: bool) -> usize {
    let mut n = 0;
    for (i, w) in all.windows(2).enumerate() {
        let st_reset = i + 1 < sts.len() && start_ts::is_reset(sts[i], w[0].0, sts[i + 1], w[1].0);
        let hit = match (&w[0].1, &w[1].1) {
            (Point::Float(a), Point::Float(b)) => {
                if changes {
                    a != b && !(a.is_nan() && b.is_nan())
                } else {
                    b < a || st_reset
                }
            }
            (Point::Hist(a), Point::Hist(b)) => {
                if changes {
                    !histo::equal(a, b)
                } else {
                    st_reset || detect_reset(b, a)
                }
            }
            _ => true,
        };
        n += usize::from(hit);
    }
    n
}

/// The histogram at `t` between two samples; for counters a reset between them is modelled
/// as a restart from zero.
pub(crate) fn interpolate(
    a: &HPoint,
    b: &HPoint,
    t: i64,
    is_counter: bool,
) -> Option<FloatHistogram> {
    if t == a.t {
        return Some((*a.h).clone());
    }
    if t == b.t {
        return Some((*b.h).clone());
    }
    let frac = (t - a.t) as f64 / (b.t - a.t) as f64;
    if is_counter && detect_reset(&b.h, &a.h) {
        return Some(histo::scale(&b.h, frac));
    }
    histo::interpolate(&a.h, &b.h, frac)
}

/// `rate`/`increase`/`delta` of histograms over an `anchored` or `smoothed` window.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extended_histogram_rate(
    h: &[HPoint],
    range: (i64, i64),
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
    metric: &str,
    pos: PosRange,
    annos: &mut Vec<Annotation>,
) -> Option<Arc<FloatHistogram>> {
    let (range_start, range_end) = range;
    if h.is_empty() {
        return None;
    }
    let mut last = h.len() - 1;
    let first = h[..last]
        .partition_point(|p| p.t <= range_start)
        .saturating_sub(1);
    if smoothed {
        last = h[..last].partition_point(|p| p.t < range_end);
    }
    if h[last].t <= range_start || (smoothed && h[first].t > range_end) {
        return None;
    }
    let custom = is_custom(&h[first].h);
    for p in &h[first..=last] {
        if is_custom(&p.h) != custom {
            annos.push(mixed_exp_custom(metric, pos));
            return None;
        }
        if is_counter && is_gauge(&p.h) {
            annos.push(not_counter(metric, pos));
        }
    }
    let left = if smoothed && h[first].t < range_start {
        interpolate(&h[first], &h[first + 1], range_start, is_counter)
    } else {
        Some((*h[first].h).clone())
    };
    let right = if smoothed && last > 0 && h[last].t > range_end {
        interpolate(&h[last - 1], &h[last], range_end, is_counter)
    } else {
        Some((*h[last].h).clone())
    };
    let (Some(left), Some(right)) = (left, right) else {
        annos.push(mixed_exp_custom(metric, pos));
        return None;
    };
    if !is_counter && (!is_gauge(&left) || !is_gauge(&right)) {
        annos.push(not_gauge(metric, pos));
    }
    let Some(mut result) = histo::combine(&right, &left, true) else {
        annos.push(mixed_exp_custom(metric, pos));
        return None;
    };
    if is_counter {
        let mut start = first + 1;
        let mut prev: &FloatHistogram = &left;
        if smoothed && h[first].t < range_start && detect_reset(&h[first + 1].h, &h[first].h) {
            prev = &h[first + 1].h;
            start += 1;
        }
        if start <= last {
            let mut correction: Option<FloatHistogram> = None;
            let mut add = |c: &FloatHistogram| {
                correction = Some(match correction.take() {
                    None => c.clone(),
                    Some(x) => histo::combine(&x, c, false).unwrap_or(x),
                });
            };
            for p in &h[start..last] {
                if detect_reset(&p.h, prev) {
                    add(prev);
                }
                prev = &p.h;
            }
            if detect_reset(&right, prev) {
                add(prev);
            }
            if let Some(c) = correction {
                result = histo::combine(&result, &c, false)?;
            }
        }
    }
    if is_rate {
        result = histo::scale(&result, 1000.0 / (range_end - range_start) as f64);
    }
    result.counter_reset_hint = CounterResetHint::Gauge;
    Some(Arc::new(result))
}
