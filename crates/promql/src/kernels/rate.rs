//! Rates and differences over a window: `rate`/`increase`/`delta` (extrapolated, and the
//! `anchored`/`smoothed` variants), `irate`/`idelta`, `deriv`/`predict_linear`, `resets`,
//! `changes`.

use super::kahan::inc;
use super::{FPoint, start_ts};

/// `rate` (counter, per second), `increase` (counter) or `delta` (gauge) over the window
/// `(range_start, range_end]` with Prometheus's extrapolation rules; `sts` are the samples'
/// start timestamps (empty when none is known, see [`super::start_ts`]). `None` when there
/// are fewer than two samples, unless a counter's start timestamp lies inside the window.
#[must_use]
pub fn extrapolated_rate(
    points: &[FPoint],
    sts: &[i64],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = (*points.first()?, *points.last()?);
    let mut result = last.f - first.f;
    if is_counter {
        for (i, w) in points.windows(2).enumerate() {
            let st_reset =
                i + 1 < sts.len() && start_ts::is_reset(sts[i], w[0].t, sts[i + 1], w[1].t);
            if w[1].f < w[0].f || st_reset {
                result += w[0].f;
            }
        }
        if let Some(st) = start_ts::start_in_window(sts, first.t, range_start) {
            let samples = (first.t, last.t, points.len() - 1);
            let factor = start_ts::start_factor(st, samples, range_start, range_end, is_rate);
            return Some((result + first.f) * factor);
        }
    }
    if points.len() < 2 {
        return None;
    }
    let factor = extrapolation_factor(
        (first.t, last.t, points.len() - 1),
        range_start,
        range_end,
        is_counter,
        is_rate,
        (result, first.f),
    );
    Some(result * factor)
}

/// The factor by which the difference between the first and last sample of a window is
/// scaled to extrapolate it to the window `(range_start, range_end]` (and divided by the
/// range for rates). `samples` is (first t, last t, number of samples - 1); `values` is
/// (the raw increase, the first value), used to stop counter extrapolation at zero.
///
/// The terms that depend on times only (a chain of divisions, most of a `rate`'s cost) are
/// kept for the last window shape seen on this thread: a series' windows at successive steps,
/// and the series of one target, usually have the same sample offsets from the window's
/// bounds. The result is bit for bit the one of computing them afresh.
#[must_use]
pub fn extrapolation_factor(
    samples: (i64, i64, usize),
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
    values: (f64, f64),
) -> f64 {
    let (first_t, last_t, n) = samples;
    let (result, first_value) = values;
    let shape = Shape {
        to_start: first_t - range_start,
        to_end: range_end - last_t,
        sampled: last_t - first_t,
        n,
        range: range_end - range_start,
        is_rate,
    };
    let terms = LAST_SHAPE.with(|last| match last.get() {
        Some((s, t)) if s == shape => t,
        _ => {
            let t = Terms::of(shape);
            last.set(Some((shape, t)));
            t
        }
    });
    if is_counter && result > 0.0 && first_value >= 0.0 {
        // The first value reaches zero `duration_to_zero` before the first sample; only
        // when that is sooner than `duration_to_start` does the factor change. A first value
        // far above `result * zero_margin` cannot be (the margin leaves room for rounding):
        // the division is skipped then.
        let bound = result * terms.zero_margin;
        let surely_later =
            first_value >= bound && (bound >= f64::MIN_POSITIVE || terms.zero_margin == 0.0);
        if !surely_later {
            let duration_to_zero = terms.sampled * (first_value / result);
            if duration_to_zero < terms.to_start {
                return factor_of(terms.sampled, duration_to_zero, terms.to_end, shape);
            }
        }
    }
    terms.factor
}

/// A window's sample offsets from its bounds (ms) and what the factor depends on besides
/// the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    to_start: i64,
    to_end: i64,
    sampled: i64,
    n: usize,
    range: i64,
    is_rate: bool,
}

/// The time terms of [`extrapolation_factor`] for one [`Shape`] (seconds).
#[derive(Debug, Clone, Copy)]
struct Terms {
    /// Duration to the window's start, capped at half an average interval past the threshold.
    to_start: f64,
    /// The same at the window's end.
    to_end: f64,
    sampled: f64,
    /// `4 * to_start / sampled`: see the zero check of [`extrapolation_factor`].
    zero_margin: f64,
    /// The factor when the counter's zero point does not shorten `to_start`.
    factor: f64,
}

impl Terms {
    fn of(shape: Shape) -> Self {
        let mut duration_to_start = shape.to_start as f64 / 1000.0;
        let mut duration_to_end = shape.to_end as f64 / 1000.0;
        let sampled_interval = shape.sampled as f64 / 1000.0;
        let avg_between = sampled_interval / shape.n as f64;
        let threshold = avg_between * 1.1;
        if duration_to_start >= threshold {
            duration_to_start = avg_between / 2.0;
        }
        if duration_to_end >= threshold {
            duration_to_end = avg_between / 2.0;
        }
        Self {
            to_start: duration_to_start,
            to_end: duration_to_end,
            sampled: sampled_interval,
            zero_margin: 4.0 * duration_to_start / sampled_interval,
            factor: factor_of(sampled_interval, duration_to_start, duration_to_end, shape),
        }
    }
}

/// `(sampled + to_start + to_end) / sampled`, divided by the range in seconds for rates.
fn factor_of(sampled_interval: f64, to_start: f64, to_end: f64, shape: Shape) -> f64 {
    let mut factor = if sampled_interval == 0.0 {
        1.0
    } else {
        (sampled_interval + to_start + to_end) / sampled_interval
    };
    if shape.is_rate {
        factor /= shape.range as f64 / 1000.0;
    }
    factor
}

thread_local! {
    /// The last window shape [`extrapolation_factor`] computed the terms of, on this thread.
    static LAST_SHAPE: std::cell::Cell<Option<(Shape, Terms)>> =
        const { std::cell::Cell::new(None) };
}

/// Linear interpolation at `t` between `p1` and `p2`; for counters a drop between them is
/// taken as a reset to 0.
#[must_use]
pub fn interpolate(p1: FPoint, p2: FPoint, t: i64, is_counter: bool) -> f64 {
    let y1 = if is_counter && p2.f < p1.f { 0.0 } else { p1.f };
    y1 + (p2.f - y1) * (t - p1.t) as f64 / (p2.t - p1.t) as f64
}

/// Index of the first point with `t > x` among `points[..limit]` (like Go's `sort.Search`).
fn search_gt(points: &[FPoint], limit: usize, x: i64) -> usize {
    points[..limit].partition_point(|p| p.t <= x)
}

/// Index of the first point with `t >= x` among `points[..limit]`.
fn search_ge(points: &[FPoint], limit: usize, x: i64) -> usize {
    points[..limit].partition_point(|p| p.t < x)
}

/// `rate`/`increase`/`delta` over an `anchored` or `smoothed` window. `points` holds the
/// samples from one lookback before `range_start` (and, when smoothed, up to one lookback
/// after `range_end`). `range_secs` divides the result when `is_rate`.
#[must_use]
pub fn extended_rate(
    points: &[FPoint],
    range_start: i64,
    range_end: i64,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let mut last = points.len() - 1;
    let mut first = search_gt(points, last, range_start).saturating_sub(1);
    if smoothed {
        last = search_ge(points, last, range_end);
    }
    if points[last].t <= range_start {
        return None;
    }
    if smoothed && points[first].t > range_end {
        return None;
    }
    let left = if smoothed && points[first].t < range_start {
        interpolate(points[first], points[first + 1], range_start, is_counter)
    } else {
        points[first].f
    };
    let right = if smoothed && last > 0 && points[last].t > range_end {
        interpolate(points[last - 1], points[last], range_end, is_counter)
    } else {
        points[last].f
    };
    let mut result = right - left;
    if is_counter {
        if points[first].t <= range_start {
            first += 1;
        }
        let inner = inner_slice(points, first, last, range_end);
        let mut correction = 0.0;
        let mut prev = left;
        for p in inner {
            if p.f < prev {
                correction += prev;
            }
            prev = p.f;
        }
        if right < prev {
            correction += prev;
        }
        result += correction;
    }
    if is_rate {
        result /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result)
}

/// The window of an `anchored`/`smoothed` range selector: the boundary values (picked or
/// interpolated) at `mint` and `maxt` with the samples strictly between. `None` when no
/// sample lies after `mint`.
#[must_use]
pub fn extend_floats(
    points: &[FPoint],
    mint: i64,
    maxt: i64,
    smoothed: bool,
) -> Option<Vec<FPoint>> {
    if points.is_empty() {
        return None;
    }
    let mut last = points.len() - 1;
    let mut first = search_gt(points, last, mint).saturating_sub(1);
    if smoothed {
        last = search_ge(points, last, maxt);
    }
    if points[last].t <= mint {
        return None;
    }
    let left = if smoothed && points[first].t < mint {
        interpolate(points[first], points[first + 1], mint, false)
    } else {
        points[first].f
    };
    let right = if smoothed && last > 0 && points[last].t > maxt {
        interpolate(points[last - 1], points[last], maxt, false)
    } else {
        points[last].f
    };
    if points[first].t <= mint {
        first += 1;
    }
    let mut out = vec![FPoint::new(mint, left)];
    out.extend_from_slice(inner_slice(points, first, last, maxt));
    out.push(FPoint::new(maxt, right));
    Some(out)
}

/// The points from `first` to `last` inclusive, leaving `last` out when it is at or after
/// `end` (it is then represented by the right boundary value).
fn inner_slice(points: &[FPoint], first: usize, last: usize, end: i64) -> &[FPoint] {
    let hi = if points[last].t >= end {
        last
    } else {
        last + 1
    };
    if first >= hi { &[] } else { &points[first..hi] }
}

/// `irate` (`is_rate`) or `idelta` from the last two samples. `None` with fewer than two
/// samples or equal timestamps.
#[must_use]
pub fn instant_value(points: &[FPoint], sts: &[i64], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len();
    let prev = points[n - 2];
    let last = points[n - 1];
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let st_reset = n <= sts.len() && start_ts::is_reset(sts[n - 2], prev.t, sts[n - 1], last.t);
    let mut result = if is_rate && (last.f < prev.f || st_reset) {
        last.f
    } else {
        last.f - prev.f
    };
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares regression of the points, with x in seconds relative to
/// `intercept_time`; returns `(slope, intercept)`.
#[must_use]
pub fn linear_regression(points: &[FPoint], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = points[0].f;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = inc(x, sum_x, c_x);
        (sum_y, c_y) = inc(p.f, sum_y, c_y);
        (sum_xy, c_xy) = inc(x * p.f, sum_xy, c_xy);
        (sum_x2, c_x2) = inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: the regression slope per second; `None` with fewer than two points.
#[must_use]
pub fn deriv(points: &[FPoint]) -> Option<f64> {
    (points.len() >= 2).then(|| linear_regression(points, points[0].t).0)
}

/// `predict_linear`: the regression value `duration_secs` after `eval_t`.
#[must_use]
pub fn predict_linear(points: &[FPoint], eval_t: i64, duration_secs: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(points, eval_t);
    Some(slope * duration_secs + intercept)
}

/// Number of counter resets (decreases) between consecutive values.
#[must_use]
pub fn resets(points: &[FPoint]) -> usize {
    points.windows(2).filter(|w| w[1].f < w[0].f).count()
}

/// Number of value changes between consecutive values (NaN to NaN is no change).
#[must_use]
pub fn changes(points: &[FPoint]) -> usize {
    points
        .windows(2)
        .filter(|w| w[1].f != w[0].f && !(w[1].f.is_nan() && w[0].f.is_nan()))
        .count()
}

/// For `anchored` windows: the index of the last point at or before `range_start` (the
/// anchor) or 0; `None` when no point lies after `range_start`.
#[must_use]
pub fn anchored_first_index(points: &[FPoint], range_start: i64) -> Option<usize> {
    let after = points.partition_point(|p| p.t <= range_start);
    if after >= points.len() {
        return None;
    }
    Some(after.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<FPoint> {
        v.iter().map(|&(t, f)| FPoint::new(t, f)).collect()
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // Samples every 10s from 10s to 50s, 0..40, window (0, 60s].
        let p = pts(&[
            (10_000, 0.0),
            (20_000, 10.0),
            (30_000, 20.0),
            (40_000, 30.0),
            (50_000, 40.0),
        ]);
        // Counter starting at 0: extrapolation to the start stops at the zero point.
        let inc = extrapolated_rate(&p, &[], 0, 60_000, true, false).unwrap();
        assert!((inc - 50.0).abs() < 1e-9, "{inc}");
        let r = extrapolated_rate(&p, &[], 0, 60_000, true, true).unwrap();
        assert!((r - 50.0 / 60.0).abs() < 1e-9);
        assert!(extrapolated_rate(&p[..1], &[], 0, 60_000, true, true).is_none());
    }

    /// [`extrapolation_factor`] as Prometheus writes it, every term computed afresh.
    fn factor_afresh(
        (first_t, last_t, n): (i64, i64, usize),
        range_start: i64,
        range_end: i64,
        is_counter: bool,
        is_rate: bool,
        (result, first_value): (f64, f64),
    ) -> f64 {
        let mut duration_to_start = (first_t - range_start) as f64 / 1000.0;
        let mut duration_to_end = (range_end - last_t) as f64 / 1000.0;
        let sampled_interval = (last_t - first_t) as f64 / 1000.0;
        let avg_between = sampled_interval / n as f64;
        let threshold = avg_between * 1.1;
        if duration_to_start >= threshold {
            duration_to_start = avg_between / 2.0;
        }
        if is_counter {
            let mut duration_to_zero = duration_to_start;
            if result > 0.0 && first_value >= 0.0 {
                duration_to_zero = sampled_interval * (first_value / result);
            }
            if duration_to_zero < duration_to_start {
                duration_to_start = duration_to_zero;
            }
        }
        if duration_to_end >= threshold {
            duration_to_end = avg_between / 2.0;
        }
        let mut factor = if sampled_interval == 0.0 {
            1.0
        } else {
            (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
        };
        if is_rate {
            factor /= (range_end - range_start) as f64 / 1000.0;
        }
        factor
    }

    #[test]
    fn factor_with_kept_terms_is_the_factor_afresh() {
        let mut seed = 11u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed >> 11
        };
        let specials = [
            0.0,
            -0.0,
            1e-310,
            f64::MIN_POSITIVE,
            1.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -1.0,
        ];
        for i in 0..200_000u64 {
            // Few shapes, so most calls reuse the kept terms; first values around the point
            // where the zero bound starts to count, and special values.
            let range = [60_000, 120_000, 300_000][(next() % 3) as usize];
            let range_start = 1_700_000_000_000 + (next() % 4) as i64 * 15_000;
            let first_t = range_start + 1 + (next() % 40_000) as i64;
            let last_t = first_t + (next() % 3) as i64 * 29_999;
            let n = 1 + (next() % 4) as usize;
            let result = match next() % 8 {
                0 => specials[(next() % specials.len() as u64) as usize],
                _ => (next() % 10_000) as f64 / 7.0,
            };
            let ratio = (next() % 4_000) as f64 / 1000.0;
            let first_value = match next() % 8 {
                0 => specials[(next() % specials.len() as u64) as usize],
                1 => {
                    result * 0.25 * (first_t - range_start) as f64
                        / (last_t - first_t).max(1) as f64
                }
                _ => result * ratio,
            };
            let (is_counter, is_rate) = (i % 2 == 0, i % 3 != 0);
            let args = (
                (first_t, last_t, n),
                range_start,
                range_start + range,
                is_counter,
                is_rate,
                (result, first_value),
            );
            let got = extrapolation_factor(args.0, args.1, args.2, args.3, args.4, args.5);
            let want = factor_afresh(args.0, args.1, args.2, args.3, args.4, args.5);
            assert_eq!(got.to_bits(), want.to_bits(), "{args:?}");
        }
    }

    #[test]
    fn counter_resets_are_compensated() {
        let p = pts(&[(0, 5.0), (10_000, 10.0), (20_000, 2.0), (30_000, 4.0)]);
        assert_eq!(resets(&p), 1);
        assert_eq!(changes(&p), 3);
        let inc = extrapolated_rate(&p, &[], 0, 30_000, true, false).unwrap();
        assert!((inc - 9.0).abs() < 1e-9, "{inc}");
    }

    #[test]
    fn irate_and_idelta() {
        let p = pts(&[(0, 1.0), (10_000, 5.0), (20_000, 3.0)]);
        assert_eq!(instant_value(&p, &[], false), Some(-2.0));
        assert_eq!(
            instant_value(&p, &[], true),
            Some(0.3),
            "reset: last value / interval"
        );
        assert_eq!(instant_value(&p[..2], &[], true), Some(0.4));
    }

    #[test]
    fn regression() {
        let p = pts(&[(0, 1.0), (1000, 3.0), (2000, 5.0)]);
        assert!((deriv(&p).unwrap() - 2.0).abs() < 1e-12);
        assert!((predict_linear(&p, 2000, 10.0).unwrap() - 25.0).abs() < 1e-9);
        let c = pts(&[(0, 4.0), (1000, 4.0)]);
        assert_eq!(linear_regression(&c, 0), (0.0, 4.0));
    }

    #[test]
    fn anchored_increase_uses_sample_before_window() {
        let p = pts(&[(0, 0.0), (30_000, 3.0), (60_000, 6.0)]);
        let v = extended_rate(&p, 10_000, 60_000, false, true, false).unwrap();
        assert_eq!(v, 6.0);
        let s = extended_rate(&p, 10_000, 60_000, true, true, false).unwrap();
        assert!((s - 5.0).abs() < 1e-12, "{s}");
        let e = extend_floats(&p, 10_000, 60_000, true).unwrap();
        assert_eq!(e.first().unwrap().t, 10_000);
        assert_eq!(e.len(), 3);
    }
}
