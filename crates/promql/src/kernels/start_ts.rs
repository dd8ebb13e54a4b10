//! Start timestamps in counter functions (`rate`, `increase`, `irate`, `resets`), as
//! Prometheus's `promql/functions.go` uses them: a start timestamp after the previous sample
//! marks a reset, and a first sample whose start timestamp lies inside the window stands for
//! a zero at that time instead of extrapolating to the left. A start timestamp of 0 is
//! unknown; slices of start timestamps are aligned with the samples, or empty when none is
//! known.

/// Whether the sample at `curr_t` with start timestamp `curr_st` began a new count after the
/// previous one (`prev_st`, `prev_t`).
#[must_use]
pub fn is_reset(prev_st: i64, prev_t: i64, curr_st: i64, curr_t: i64) -> bool {
    // Unknown, invalid (after the sample) or OTel's "unknown start" (equal to it).
    if curr_st == 0 || curr_st >= curr_t || curr_st < prev_t {
        return false;
    }
    if curr_st > prev_t {
        return true;
    }
    // It points at the previous sample: a delta (a reset) when the previous start was known
    // and valid, else a cumulative series whose start is unknown.
    prev_st != 0 && prev_st < prev_t
}

/// Whether a start timestamp overlaps the previous sample: before it, and not the same start
/// as the previous sample's (a valid delta starts at the previous sample, a valid cumulative
/// keeps its start).
#[must_use]
pub fn overlaps(prev_st: i64, prev_t: i64, curr_st: i64) -> bool {
    curr_st != 0 && curr_st < prev_t && curr_st != prev_st
}

/// Whether any consecutive pair of samples at times `ts` with start timestamps `sts`
/// overlaps (see [`overlaps`]).
#[must_use]
pub fn any_overlap(ts: &[i64], sts: &[i64]) -> bool {
    (1..ts.len().min(sts.len())).any(|i| overlaps(sts[i - 1], ts[i - 1], sts[i]))
}

/// Whether the sample at index `i` (`i > 0`) is a reset by its start timestamp.
#[must_use]
pub fn reset_at(ts: &[i64], sts: &[i64], i: usize) -> bool {
    i < sts.len() && is_reset(sts[i - 1], ts[i - 1], sts[i], ts[i])
}

/// The first sample's start timestamp when it lies inside the window `(range_start,
/// first_t)`: the count is then taken to start from zero there.
#[must_use]
pub fn start_in_window(sts: &[i64], first_t: i64, range_start: i64) -> Option<i64> {
    sts.first()
        .copied()
        .filter(|&st| st != 0 && st > range_start && st < first_t)
}

/// The factor scaling the increase (the first value included) when the window's count
/// starts at `st` (see [`start_in_window`]): no extrapolation to the left, the usual one to
/// the right (none for a single sample); divided by the range for rates. `samples` is
/// (first t, last t, number of samples - 1).
#[must_use]
pub fn start_factor(
    st: i64,
    samples: (i64, i64, usize),
    range_start: i64,
    range_end: i64,
    is_rate: bool,
) -> f64 {
    let (first_t, last_t, n) = samples;
    let sampled = (last_t - st) as f64 / 1000.0;
    let avg_between = if n > 0 {
        (last_t - first_t) as f64 / 1000.0 / n as f64
    } else {
        0.0
    };
    let mut to_end = (range_end - last_t) as f64 / 1000.0;
    if to_end >= avg_between * 1.1 {
        to_end = avg_between / 2.0;
    }
    let mut factor = if sampled == 0.0 {
        1.0
    } else {
        (sampled + to_end) / sampled
    };
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_and_overlaps() {
        // (prev st, prev t, curr st, curr t, reset)
        let cases = [
            (0, 60, 0, 120, false),    // unknown
            (30, 60, 90, 120, true),   // a new start after the previous sample
            (30, 60, 30, 120, false),  // the same cumulative start
            (0, 60, 60, 120, false),   // OTel cumulative with unknown start
            (0, 60, 60, 120, false),   // ...
            (1, 60, 60, 120, true),    // a delta: starts at the previous sample
            (60, 60, 60, 120, false),  // previous start equal to its time: unknown
            (120, 60, 60, 120, false), // previous start invalid
            (30, 60, 120, 120, false), // start equal to the sample's time
            (30, 60, 130, 120, false), // start after the sample: invalid
        ];
        for (ps, pt, cs, ct, want) in cases {
            assert_eq!(is_reset(ps, pt, cs, ct), want, "{ps} {pt} {cs} {ct}");
        }
        assert!(!overlaps(0, 60, 60));
        assert!(!overlaps(30, 60, 30));
        assert!(overlaps(0, 60, 30));
        assert!(!overlaps(30, 60, 0));
        assert!(any_overlap(&[60, 120, 180], &[0, 60, 100]));
        assert!(!any_overlap(&[60, 120, 180], &[0, 60, 120]));
    }

    #[test]
    fn a_start_inside_the_window_replaces_left_extrapolation() {
        assert_eq!(start_in_window(&[90, 90], 120, 60), Some(90));
        assert_eq!(
            start_in_window(&[60, 90], 120, 60),
            None,
            "range start is exclusive"
        );
        assert_eq!(start_in_window(&[120], 120, 60), None);
        assert_eq!(start_in_window(&[], 120, 60), None);
        // Samples at 2m..5m starting at 1m30s, window (1m, 6m]: 3.5 min sampled, 1 min to
        // the end.
        let f = start_factor(90_000, (120_000, 300_000, 3), 60_000, 360_000, false);
        assert!((f - 270.0 / 210.0).abs() < 1e-12);
        // A single sample: no extrapolation to the right.
        assert_eq!(
            start_factor(90_000, (120_000, 120_000, 0), 0, 360_000, false),
            1.0
        );
    }
}
