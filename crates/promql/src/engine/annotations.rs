//! Warnings and infos ("annotations") a query can produce, with Prometheus's texts; rendered
//! with the `(line:col)` of the sub-expression they refer to.

use crate::ast::PosRange;

/// Whether an annotation is a warning or an info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `PromQL warning: ...`
    Warning,
    /// `PromQL info: ...`
    Info,
}

/// One annotation: level, text (without the `PromQL ...:` prefix) and position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Annotation {
    /// Warning or info.
    pub level: Level,
    /// The message after the prefix.
    pub text: String,
    /// The sub-expression it refers to.
    pub pos: PosRange,
}

impl Annotation {
    /// A warning.
    pub fn warn(text: impl Into<String>, pos: PosRange) -> Self {
        Self {
            level: Level::Warning,
            text: text.into(),
            pos,
        }
    }

    /// An info.
    pub fn info(text: impl Into<String>, pos: PosRange) -> Self {
        Self {
            level: Level::Info,
            text: text.into(),
            pos,
        }
    }

    /// The full text with prefix and `(line:col)` in `query`.
    #[must_use]
    pub fn render(&self, query: &str) -> String {
        let prefix = match self.level {
            Level::Warning => "PromQL warning",
            Level::Info => "PromQL info",
        };
        format!(
            "{prefix}: {} ({})",
            self.text,
            position(query, self.pos.start)
        )
    }
}

/// `line:col` (1-based) of byte offset `pos` in `query`.
fn position(query: &str, pos: usize) -> String {
    let pos = pos.min(query.len());
    let before = &query.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "name"`.
pub fn possible_non_counter(name: &str, pos: PosRange) -> Annotation {
    Annotation::info(
        format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
        ),
        pos,
    )
}

/// `sample has start time that overlaps with previous sample timestamp for metric "m"`.
pub fn start_time_overlap(metric: &str, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!(
            "sample has start time that overlaps with previous sample timestamp for metric {metric:?}"
        ),
        pos,
    )
}

/// `quantile value should be between 0 and 1, got q`.
pub fn invalid_quantile(q: f64, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!("quantile value should be between 0 and 1, got {}", go_g(q)),
        pos,
    )
}

/// `ratio value should be between -1 and 1, got r, capping to c`.
pub fn invalid_ratio(r: f64, to: f64, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!(
            "ratio value should be between -1 and 1, got {}, capping to {}",
            go_g(r),
            go_g(to)
        ),
        pos,
    )
}

/// `bucket label "le" is missing or has a malformed value of "v" for metric name "m"`.
pub fn bad_bucket_label(metric: &str, label: &str, pos: PosRange) -> Annotation {
    let mut t = format!("bucket label \"le\" is missing or has a malformed value of {label:?}");
    if !metric.is_empty() {
        t += &format!(" for metric name {metric:?}");
    }
    Annotation::warn(t, pos)
}

/// `input to histogram_quantile needed to be fixed for monotonicity (see ...)`.
pub fn forced_monotonicity(metric: &str, pos: PosRange) -> Annotation {
    let mut t = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_owned();
    if !metric.is_empty() {
        t += &format!(" for metric name {metric:?}");
    }
    Annotation::info(t, pos)
}

/// `encountered a mix of histograms and floats for metric name "m"`.
pub fn mixed_floats_histograms(metric: &str, pos: PosRange) -> Annotation {
    Annotation::warn(
        format!("encountered a mix of histograms and floats for metric name {metric:?}"),
        pos,
    )
}

/// `encountered a mix of histograms and floats for aggregation`.
pub fn mixed_floats_histograms_agg(pos: PosRange) -> Annotation {
    Annotation::warn(
        "encountered a mix of histograms and floats for aggregation",
        pos,
    )
}

/// `ignored histogram in <op> aggregation`.
pub fn histogram_ignored_in_agg(op: &str, pos: PosRange) -> Annotation {
    Annotation::info(format!("ignored histogram in {op} aggregation"), pos)
}

/// `ignored histograms in a range containing both floats and histograms for metric name "m"`.
pub fn histogram_ignored_in_mixed_range(metric: &str, pos: PosRange) -> Annotation {
    Annotation::info(
        format!(
            "ignored histograms in a range containing both floats and histograms for metric name {metric:?}"
        ),
        pos,
    )
}

/// `sort is ineffective for range queries since results are always ordered by labels`.
pub fn sort_in_range_query(pos: PosRange) -> Annotation {
    Annotation::warn(
        "sort is ineffective for range queries since results are always ordered by labels",
        pos,
    )
}

/// `incompatible sample types encountered for binary operator "op": float op histogram`.
pub fn incompatible_types_in_binop(lhs: &str, op: &str, rhs: &str, pos: PosRange) -> Annotation {
    Annotation::info(
        format!(
            "incompatible sample types encountered for binary operator {op:?}: {lhs} {op} {rhs}"
        ),
        pos,
    )
}

/// Go's `%g` for the few values annotations print.
pub use model::gofmt::float as go_g;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_position() {
        let a = invalid_ratio(1.1, 1.0, PosRange::new(18, 21));
        assert_eq!(
            a.render("limit_ratio(1.1, x) + limit_ratio(1.1, x)"),
            "PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1 (1:19)"
        );
        assert_eq!(go_g(1e-5), "1e-05");
        assert_eq!(go_g(-0.5), "-0.5");
    }
}
