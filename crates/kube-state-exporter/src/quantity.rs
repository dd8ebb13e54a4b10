//! Kubernetes resource quantities (`500m`, `128Mi`, `1G`, `2e3`) as numbers, as
//! `resource.Quantity.AsApproximateFloat64` reads them.

/// The value of a quantity, `None` when it is not one.
#[must_use]
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantities() {
        for (q, want) in [
            ("500m", Some(0.5)),
            ("2", Some(2.0)),
            ("128Mi", Some(134_217_728.0)),
            ("1G", Some(1e9)),
            ("1.5Gi", Some(1_610_612_736.0)),
            ("2e3", Some(2000.0)),
            ("10x", None),
        ] {
            assert_eq!(super::parse(q), want, "{q}");
        }
    }
}
