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
