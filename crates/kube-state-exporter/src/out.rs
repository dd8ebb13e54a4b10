//! Families being built and their exposition. kube-state-metrics writes each series' labels in
//! its generators' order (the kind's default labels — `namespace`, the object's name, `uid` —
//! then the family's own, `pkg/metric/metric.go` `labelsToString`), not sorted as client
//! libraries do, and `# HELP` / `# TYPE` even for families without series; so the exporter
//! keeps labels in the order given and writes the exposition itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use model::exposition::{Format, MetricType, write_float};

/// One family: its metadata and series (labels in kube-state-metrics' order, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Family name.
    pub name: &'static str,
    /// Help text.
    pub help: String,
    /// Type.
    pub metric_type: MetricType,
    /// Series: labels in order, value.
    pub series: Vec<(Vec<(String, String)>, f64)>,
}

/// Families by name.
#[derive(Default)]
pub struct Out {
    by_name: BTreeMap<&'static str, Family>,
}

impl Out {
    /// An `Out` with these families declared: `(name, help, type)`.
    #[must_use]
    pub fn declared(families: &[(&'static str, &str, MetricType)]) -> Self {
        let mut out = Self::default();
        for &(name, help, t) in families {
            out.declare(name, help, t);
        }
        out
    }

    /// Declares a family.
    pub fn declare(&mut self, name: &'static str, help: &str, metric_type: MetricType) {
        self.by_name.insert(
            name,
            Family {
                name,
                help: help.to_owned(),
                metric_type,
                series: Vec::new(),
            },
        );
    }

    /// Adds a series to a declared family, its labels in the order given (a repeated name
    /// keeps its first place and takes the last value).
    ///
    /// # Panics
    /// The family was not declared (a programming error).
    pub fn add(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        let fam = self.by_name.get_mut(name).expect("declared family");
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(labels.len());
        for &(k, v) in labels {
            if let Some(p) = pairs.iter_mut().find(|(n, _)| n == k) {
                v.clone_into(&mut p.1);
            } else {
                pairs.push((k.to_owned(), v.to_owned()));
            }
        }
        fam.series.push((pairs, value));
    }

    /// The families in name order.
    #[must_use]
    pub fn finish(self) -> Vec<Family> {
        self.by_name.into_values().collect()
    }
}

/// Writes `families` in the text format (0.0.4) or OpenMetrics (ending `# EOF`), labels in
/// their given order and values as Go's shortest `%g` (`1.7e+09`). kube-state-metrics writes
/// the same lines in both formats (`pkg/metrics_store/metrics_writer.go`): its core families
/// are only gauges and counters (the OpenMetrics `info` / `stateset` types are for custom
/// resource metrics), a counter's `# TYPE` keeps the `_total` name, and values have no `.0`.
#[must_use]
pub fn encode(families: &[Family], format: Format) -> String {
    let mut out = String::with_capacity(families.len() * 256);
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.metric_type.as_str(format));
        for (labels, value) in &f.series {
            out.push_str(f.name);
            for (i, (k, v)) in labels.iter().enumerate() {
                out.push(if i == 0 { '{' } else { ',' });
                out.push_str(k);
                out.push_str("=\"");
                escape(&mut out, v);
                out.push('"');
            }
            if !labels.is_empty() {
                out.push('}');
            }
            out.push(' ');
            write_float(&mut out, *value);
            out.push('\n');
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// A label value with `\`, newline and `"` escaped.
fn escape(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_label_order_and_escapes() {
        let mut out = Out::declared(&[
            ("kube_b", "B.", MetricType::Gauge),
            ("kube_a_total", "A.", MetricType::Counter),
        ]);
        out.add(
            "kube_a_total",
            &[("namespace", "n"), ("pod", "p\"\\\nq"), ("container", "c")],
            1_700_000_000.0,
        );
        let fams = out.finish();
        assert_eq!(
            encode(&fams, Format::Text),
            "# HELP kube_a_total A.\n# TYPE kube_a_total counter\n\
             kube_a_total{namespace=\"n\",pod=\"p\\\"\\\\\\nq\",container=\"c\"} 1.7e+09\n\
             # HELP kube_b B.\n# TYPE kube_b gauge\n"
        );
        let om = encode(&fams, Format::OpenMetrics);
        assert_eq!(om, format!("{}# EOF\n", encode(&fams, Format::Text)));
        assert!(om.contains("# TYPE kube_a_total counter\n"), "{om}");
    }
}
