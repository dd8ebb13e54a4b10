//! Metric naming lint: the rules of client_golang's `promlint`, which `promtool check metrics`
//! applies, with the same problem texts.

use crate::exposition::{Format, MetricFamily, MetricType, ParseError, parse_families};

/// One lint finding: printed as `metric text`, like promtool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The metric family name.
    pub metric: String,
    /// What is wrong.
    pub text: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.metric, self.text)
    }
}

/// Base units, and the base unit of each known non-base unit.
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

const UNIT_ABBREVIATIONS: &[&str] = &[
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

/// The metric types promlint knows by name (client_model's, without `untyped`).
const TYPE_NAMES: &[&str] = &[
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gauge_histogram",
];

/// Parses a text-format exposition and lints it.
///
/// # Errors
/// The [`ParseError`] if the input does not parse.
pub fn lint_exposition(input: &[u8]) -> Result<Vec<Problem>, ParseError> {
    Ok(lint(&parse_families(input, Format::Text)?))
}

/// Lints families; problems sorted by metric name, then text.
#[must_use]
pub fn lint(families: &[MetricFamily]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for f in families {
        lint_family(f, &mut |text: String| {
            problems.push(Problem {
                metric: f.name.clone(),
                text,
            });
        });
    }
    problems.sort();
    problems
}

fn label_names(f: &MetricFamily) -> impl Iterator<Item = &str> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name))
        .filter(|n| *n != crate::METRIC_NAME)
}

fn lint_family(f: &MetricFamily, push: &mut impl FnMut(String)) {
    let name = f.name.as_str();
    let t = f.metric_type;
    if f.help.is_none() {
        push("no help text".into());
    }
    // Units.
    if let Some((unit, base)) = metric_unit(name)
        && unit != base
    {
        push(format!("use base unit {base:?} instead of {unit:?}"));
    }
    // Counters.
    let total = name.ends_with("_total");
    if t == MetricType::Counter && !total {
        push("counter metrics should have \"_total\" suffix".into());
    } else if t != MetricType::Unknown && t != MetricType::Counter && total {
        push("non-counter metrics should not have \"_total\" suffix".into());
    }
    // Names and labels reserved for histograms and summaries.
    if t != MetricType::Unknown {
        let hist = t == MetricType::Histogram;
        let summ = t == MetricType::Summary;
        if !hist && name.ends_with("_bucket") {
            push("non-histogram metrics should not have \"_bucket\" suffix".into());
        }
        if !hist && !summ && name.ends_with("_count") {
            push("non-histogram and non-summary metrics should not have \"_count\" suffix".into());
        }
        if !hist && !summ && name.ends_with("_sum") {
            push("non-histogram and non-summary metrics should not have \"_sum\" suffix".into());
        }
        for l in label_names(f) {
            if !hist && l == "le" {
                push("non-histogram metrics should not have \"le\" label".into());
            }
            if !summ && l == "quantile" {
                push("non-summary metrics should not have \"quantile\" label".into());
            }
        }
    }
    // Type names in the metric name.
    let lower = name.to_lowercase();
    for ty in TYPE_NAMES {
        if has_segment(&lower, ty) {
            push(format!("metric name should not include type '{ty}'"));
        }
    }
    if name.contains(':') {
        push("metric names should not contain ':'".into());
    }
    if is_camel_case(name) {
        push("metric names should be written in 'snake_case' not 'camelCase'".into());
    }
    for l in label_names(f) {
        if is_camel_case(l) {
            push("label names should be written in 'snake_case' not 'camelCase'".into());
        }
    }
    for abbr in UNIT_ABBREVIATIONS {
        if has_segment(&lower, abbr) {
            push("metric names should not contain abbreviated units".into());
        }
    }
}

/// Whether `name` contains `_word_` or ends with `_word`.
fn has_segment(name: &str, word: &str) -> bool {
    let tail = format!("_{word}");
    name.ends_with(&tail) || name.contains(&format!("{tail}_"))
}

/// A lower-case ASCII letter directly followed by an upper-case one.
fn is_camel_case(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// The first `_`-separated part of `name` that is a known unit, possibly with a prefix, and
/// its base unit.
fn metric_unit(name: &str) -> Option<(&str, &'static str)> {
    for part in name.split('_') {
        let base_of = |u: &str| UNITS.iter().find(|(n, _)| *n == u).map(|(_, b)| *b);
        if let Some(b) = base_of(part) {
            return Some((part, b));
        }
        for p in UNIT_PREFIXES {
            if let Some(rest) = part.strip_prefix(p)
                && let Some(b) = base_of(rest)
            {
                return Some((part, b));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        lint_exposition(input.as_bytes())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn clean_metric_has_no_problems() {
        let p =
            texts("# HELP x_seconds_total h\n# TYPE x_seconds_total counter\nx_seconds_total 1\n");
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn rules_fire_with_promtool_texts() {
        let p = texts(
            "# TYPE http_ms counter\nhttp_ms{quantile=\"1\"} 1\n\
             # HELP g_total h\n# TYPE g_total gauge\ng_total 2\n\
             # HELP kiloBytes_gauge h\n# TYPE kiloBytes_gauge gauge\nkiloBytes_gauge 1\n",
        );
        assert_eq!(
            p,
            [
                "g_total non-counter metrics should not have \"_total\" suffix",
                "http_ms counter metrics should have \"_total\" suffix",
                "http_ms metric names should not contain abbreviated units",
                "http_ms no help text",
                "http_ms non-summary metrics should not have \"quantile\" label",
                "kiloBytes_gauge metric name should not include type 'gauge'",
                "kiloBytes_gauge metric names should be written in 'snake_case' not 'camelCase'",
            ]
        );
        assert_eq!(
            metric_unit("a_kilobytes_total"),
            Some(("kilobytes", "bytes"))
        );
        assert_eq!(metric_unit("thermometers"), None);
        assert_eq!(
            metric_unit("x_milliseconds"),
            Some(("milliseconds", "seconds"))
        );
    }
}
