//! The float `*_over_time` aggregations of a window's samples.

use super::FPoint;
use super::kahan::{KahanSum, inc};
use super::quantile::quantile;

/// `sum_over_time` with Kahan summation.
#[must_use]
pub fn sum(points: &[FPoint]) -> f64 {
    let mut k = KahanSum::default();
    for p in points {
        k.add(p.f);
    }
    k.value()
}

/// `avg_over_time`: direct Kahan mean, switching to an incremental mean on overflow.
#[must_use]
pub fn avg(points: &[FPoint]) -> f64 {
    mean(points.iter().map(|p| p.f))
}

/// Mean of values as Prometheus computes `avg` and `avg_over_time`.
pub fn mean(mut values: impl Iterator<Item = f64>) -> f64 {
    let Some(first) = values.next() else {
        return f64::NAN;
    };
    let (mut sum, mut count, mut c) = (first, 1.0, 0.0);
    let mut mean = 0.0;
    let mut incremental = false;
    for v in values {
        count += 1.0;
        if !incremental {
            let (ns, nc) = inc(v, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = inc(v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// `min_over_time` (NaN only when all values are NaN).
#[must_use]
pub fn min(points: &[FPoint]) -> f64 {
    pick(points, |cur, best| cur < best || best.is_nan()).f
}

/// `max_over_time` (NaN only when all values are NaN).
#[must_use]
pub fn max(points: &[FPoint]) -> f64 {
    pick(points, |cur, best| cur > best || best.is_nan()).f
}

/// `ts_of_min_over_time` in seconds (the latest of equal minima).
#[must_use]
pub fn ts_of_min(points: &[FPoint]) -> f64 {
    pick(points, |cur, best| cur <= best || best.is_nan()).t as f64 / 1000.0
}

/// `ts_of_max_over_time` in seconds (the latest of equal maxima).
#[must_use]
pub fn ts_of_max(points: &[FPoint]) -> f64 {
    pick(points, |cur, best| cur >= best || best.is_nan()).t as f64 / 1000.0
}

fn pick(points: &[FPoint], better: impl Fn(f64, f64) -> bool) -> FPoint {
    let mut best = points[0];
    for p in points {
        if better(p.f, best.f) {
            best = *p;
        }
    }
    best
}

/// Population variance with compensated running mean (`stdvar_over_time`).
#[must_use]
pub fn stdvar(points: &[FPoint]) -> f64 {
    variance(points.iter().map(|p| p.f))
}

/// Population standard deviation (`stddev_over_time`).
#[must_use]
pub fn stddev(points: &[FPoint]) -> f64 {
    stdvar(points).sqrt()
}

/// Population variance of values as Prometheus computes it (Welford with Kahan sums).
pub fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for v in values {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = inc(delta / count, mean, c_mean);
        (aux, c_aux) = inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `quantile_over_time`.
#[must_use]
pub fn quantile_over(q: f64, points: &[FPoint]) -> f64 {
    let mut v: Vec<f64> = points.iter().map(|p| p.f).collect();
    quantile(q, &mut v)
}

/// `mad_over_time`: median absolute deviation from the median; NaN if any value is NaN.
#[must_use]
pub fn mad(points: &[FPoint]) -> f64 {
    if points.iter().any(|p| p.f.is_nan()) {
        return f64::NAN;
    }
    let mut v: Vec<f64> = points.iter().map(|p| p.f).collect();
    let median = quantile(0.5, &mut v);
    for x in &mut v {
        *x = (*x - median).abs();
    }
    quantile(0.5, &mut v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[f64]) -> Vec<FPoint> {
        v.iter()
            .enumerate()
            .map(|(i, &f)| FPoint::new(i as i64 * 1000, f))
            .collect()
    }

    #[test]
    fn basic_aggregations() {
        let p = pts(&[1.0, 5.0, 3.0, 5.0]);
        assert_eq!(sum(&p), 14.0);
        assert_eq!(avg(&p), 3.5);
        assert_eq!(min(&p), 1.0);
        assert_eq!(max(&p), 5.0);
        assert_eq!(ts_of_max(&p), 3.0, "latest of equal maxima");
        assert_eq!(ts_of_min(&p), 0.0);
        assert!((stdvar(&p) - 2.75).abs() < 1e-12);
        assert_eq!(quantile_over(0.5, &p), 4.0);
        assert_eq!(mad(&pts(&[1.0, 2.0, 3.0, 4.0, 100.0])), 1.0);
    }

    #[test]
    fn nan_handling_and_overflow() {
        let p = pts(&[f64::NAN, 2.0, 1.0]);
        assert_eq!(min(&p), 1.0);
        assert_eq!(max(&p), 2.0);
        assert!(mad(&p).is_nan());
        let big = pts(&[f64::MAX, f64::MAX, f64::MAX]);
        let a = avg(&big);
        assert!(
            a.is_finite() && (a - f64::MAX).abs() / f64::MAX < 1e-15,
            "incremental mean avoids overflow: {a}"
        );
    }
}
