//! Encoders: metric families to text 0.0.4 or OpenMetrics 1.0, byte-for-byte as
//! client_golang's `expfmt` writes them (names outside the legacy character set quoted, as
//! Prometheus 3 does).

use std::fmt::Write;

use super::family::{Exemplar, MetricFamily};
use super::number::write_float;
use super::{Format, MetricType};
use crate::labels::{Labels, METRIC_NAME, is_valid_legacy_label_name, is_valid_legacy_metric_name};

/// Encodes families in `format` (OpenMetrics output ends with `# EOF`).
#[must_use]
pub fn encode(families: &[MetricFamily], format: Format) -> String {
    let mut out = String::with_capacity(families.len() * 256);
    for f in families {
        write_family(&mut out, f, format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// Encodes families in the text format 0.0.4.
#[must_use]
pub fn encode_text(families: &[MetricFamily]) -> String {
    encode(families, Format::Text)
}

/// Encodes families in OpenMetrics 1.0, ending with `# EOF`.
#[must_use]
pub fn encode_openmetrics(families: &[MetricFamily]) -> String {
    encode(families, Format::OpenMetrics)
}

/// Appends one family (metadata lines, then samples) to `out`; no `# EOF`.
pub fn write_family(out: &mut String, f: &MetricFamily, format: Format) {
    let meta_name = match (format, f.metric_type) {
        (Format::OpenMetrics, MetricType::Counter) => {
            f.name.strip_suffix("_total").unwrap_or(&f.name)
        }
        _ => f.name.as_str(),
    };
    if let Some(help) = &f.help {
        out.push_str("# HELP ");
        write_name(out, meta_name);
        out.push(' ');
        write_escaped(out, help, format == Format::OpenMetrics);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    write_name(out, meta_name);
    out.push(' ');
    out.push_str(f.metric_type.as_str(format));
    out.push('\n');
    if format == Format::OpenMetrics
        && let Some(unit) = &f.unit
    {
        out.push_str("# UNIT ");
        write_name(out, meta_name);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
    for s in &f.samples {
        write_series(out, &s.labels, format);
        out.push(' ');
        if format == Format::OpenMetrics && is_count(f, &s.labels) && s.value.fract() == 0.0 {
            // client_golang writes bucket and total counts as integers (`3`, not `3.0`).
            write_float(out, s.value);
        } else {
            write_value(out, s.value, format);
        }
        if let Some(ts) = s.timestamp {
            out.push(' ');
            write_timestamp(out, ts, format);
        }
        if format == Format::OpenMetrics
            && let Some(e) = &s.exemplar
        {
            write_exemplar(out, e);
        }
        out.push('\n');
    }
}

/// Whether a sample is a histogram's or summary's count (`_bucket`, `_count`, `_gcount`).
fn is_count(f: &MetricFamily, labels: &Labels) -> bool {
    if !matches!(
        f.metric_type,
        MetricType::Histogram | MetricType::GaugeHistogram | MetricType::Summary
    ) {
        return false;
    }
    let name = labels.metric_name().unwrap_or("");
    name.strip_prefix(f.name.as_str())
        .is_some_and(|suffix| matches!(suffix, "_bucket" | "_count" | "_gcount"))
}

fn write_value(out: &mut String, v: f64, format: Format) {
    let start = out.len();
    write_float(out, v);
    if format == Format::OpenMetrics
        && v.is_finite()
        && !out[start..].bytes().any(|b| b == b'.' || b == b'e')
    {
        out.push_str(".0");
    }
}

fn write_timestamp(out: &mut String, ms: i64, format: Format) {
    match format {
        Format::Text => {
            let _ = write!(out, "{ms}");
        }
        Format::OpenMetrics => {
            let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
            if frac == 0 {
                let _ = write!(out, "{secs}");
            } else if secs < 0 {
                // -1.5 s is secs = -2, frac = 500: write the magnitude.
                let abs = -i128::from(ms);
                let _ = write!(out, "-{}.{:03}", abs / 1000, abs % 1000);
            } else {
                let _ = write!(out, "{secs}.{frac:03}");
            }
        }
    }
}

fn write_exemplar(out: &mut String, e: &Exemplar) {
    out.push_str(" # {");
    for (i, l) in e.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_label_name(out, l.name);
        out.push_str("=\"");
        write_escaped(out, l.value, true);
        out.push('"');
    }
    out.push_str("} ");
    write_value(out, e.value, Format::OpenMetrics);
    if let Some(ts) = e.timestamp {
        out.push(' ');
        write_timestamp(out, ts, Format::OpenMetrics);
    }
}

/// `name{a="1",b="2"}`, or `{"my.name",a="1"}` for names outside the legacy set.
fn write_series(out: &mut String, labels: &Labels, _format: Format) {
    write_series_pairs(out, labels.iter().map(|l| (l.name, l.value)));
}

/// Writes a series from its label pairs (sorted by name, `__name__` among them) as the text
/// formats name it: `name{a="1",b="2"}`, or `{"my.name",a="1"}` for a name outside the legacy
/// set. For writers that keep their samples' labels as pairs rather than [`Labels`].
pub fn write_series_pairs<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) {
    let name = pairs
        .clone()
        .find(|&(n, _)| n == METRIC_NAME)
        .map_or("", |(_, v)| v);
    let mut first = true;
    if is_valid_legacy_metric_name(name) {
        out.push_str(name);
    } else {
        out.push('{');
        write_quoted(out, name);
        first = false;
    }
    for (n, v) in pairs.filter(|&(n, _)| n != METRIC_NAME) {
        out.push(if first { '{' } else { ',' });
        first = false;
        write_label_name(out, n);
        out.push_str("=\"");
        write_escaped(out, v, true);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// A metric name as `# HELP` and `# TYPE` lines write it: quoted when outside the legacy set.
pub fn write_name(out: &mut String, name: &str) {
    if is_valid_legacy_metric_name(name) {
        out.push_str(name);
    } else {
        write_quoted(out, name);
    }
}

fn write_label_name(out: &mut String, name: &str) {
    if is_valid_legacy_label_name(name) {
        out.push_str(name);
    } else {
        write_quoted(out, name);
    }
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    write_escaped(out, s, true);
    out.push('"');
}

/// Escapes `\` and line feeds, and `"` when `quote` is set (label values, OpenMetrics help).
pub fn write_escaped(out: &mut String, s: &str, quote: bool) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if quote => "\\\"",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::FamilySample;

    fn sample(name: &str, extra: Option<(&str, &str)>, value: f64) -> FamilySample {
        FamilySample {
            labels: Labels::from_pairs(std::iter::once((METRIC_NAME, name)).chain(extra)),
            value,
            timestamp: None,
            exemplar: None,
        }
    }

    #[test]
    fn openmetrics_counts_are_integers_as_client_golang_writes_them() {
        let mut h = MetricFamily::new("h", MetricType::Histogram);
        h.samples = vec![
            sample("h_bucket", Some(("le", "1.0")), 2.0),
            sample("h_bucket", Some(("le", "+Inf")), 3.0),
            sample("h_sum", None, 4.0),
            sample("h_count", None, 3.0),
        ];
        let mut s = MetricFamily::new("s", MetricType::Summary);
        s.samples = vec![
            sample("s", Some(("quantile", "0.5")), 1.0),
            sample("s_sum", None, 1.0),
            sample("s_count", None, 1.0),
        ];
        let mut g = MetricFamily::new("g_count", MetricType::Gauge);
        g.samples = vec![sample("g_count", None, 1.0)];
        assert_eq!(
            encode_openmetrics(&[h, s, g]),
            "# TYPE h histogram\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4.0\n\
             h_count 3\n# TYPE s summary\ns{quantile=\"0.5\"} 1.0\ns_sum 1.0\ns_count 1\n\
             # TYPE g_count gauge\ng_count 1.0\n# EOF\n"
        );
    }
}
