//! `double_exponential_smoothing` (Holt's linear method).

use super::FPoint;

/// Smooths the values with smoothing factor `sf` and trend factor `tf` (both in (0, 1),
/// checked by the caller); `None` with fewer than two points.
#[must_use]
pub fn double_exponential_smoothing(points: &[FPoint], sf: f64, tf: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let mut s0 = 0.0;
    let mut s1 = points[0].f;
    let mut b = points[1].f - points[0].f;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.f;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_input_is_followed() {
        let p: Vec<FPoint> = (0..10)
            .map(|i| FPoint::new(i * 1000, i as f64 * 2.0))
            .collect();
        let v = double_exponential_smoothing(&p, 0.5, 0.5).unwrap();
        assert!((v - 18.0).abs() < 1e-9, "{v}");
        assert!(double_exponential_smoothing(&p[..1], 0.5, 0.5).is_none());
    }
}
