//! The `global` section: defaults every scrape config and rule group inherits.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{Duration, Size};
use crate::yaml::{At, Invalid, go_quote};

/// A scrape protocol Prometheus can negotiate, by its configuration name
/// (`PrometheusText0.0.4`, `OpenMetricsText1.0.0`, ...). Checked when the scrape config is
/// validated, so that the error can name the job.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScrapeProtocol(pub String);

/// The protocols and the `Accept` media types Prometheus sends for them, sorted by name.
pub const SCRAPE_PROTOCOLS: [(&str, &str); 5] = [
    (
        "OpenMetricsText0.0.1",
        "application/openmetrics-text;version=0.0.1",
    ),
    (
        "OpenMetricsText1.0.0",
        "application/openmetrics-text;version=1.0.0",
    ),
    (
        "PrometheusProto",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
    ),
    ("PrometheusText0.0.4", "text/plain;version=0.0.4"),
    ("PrometheusText1.0.0", "text/plain;version=1.0.0"),
];

impl ScrapeProtocol {
    /// Makes a protocol from its name.
    #[must_use]
    pub fn new(s: &str) -> Self {
        Self(s.to_string())
    }

    /// The `Accept` header media type, if the protocol is known.
    #[must_use]
    pub fn header(&self) -> Option<&'static str> {
        SCRAPE_PROTOCOLS
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, h)| *h)
    }

    /// Prometheus's check, with its text.
    pub fn validate(&self) -> Result<(), String> {
        if self.header().is_some() {
            return Ok(());
        }
        let names: Vec<&str> = SCRAPE_PROTOCOLS.iter().map(|(n, _)| *n).collect();
        Err(format!(
            "unknown scrape protocol {}, supported: [{}]",
            self.0,
            names.join(" ")
        ))
    }

    /// The default negotiation order.
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        [
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4",
        ]
        .into_iter()
        .map(Self::new)
        .collect()
    }

    /// The default order when native histograms are scraped (protobuf first).
    #[must_use]
    pub fn proto_first_defaults() -> Vec<Self> {
        let mut v = vec![Self::new("PrometheusProto")];
        v.extend(Self::defaults());
        v
    }
}

impl fmt::Display for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a `scrape_protocols` list: not empty, no duplicates, all known.
pub fn validate_scrape_protocols(list: &[ScrapeProtocol]) -> Result<(), String> {
    if list.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for p in list {
        if !seen.insert(p.0.to_lowercase()) {
            let all: Vec<&str> = list.iter().map(|p| p.0.as_str()).collect();
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                all.join(" ")
            ));
        }
        p.validate().map_err(|e| format!("scrape_protocols: {e}"))?;
    }
    Ok(())
}

/// Which metric and label names are valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ValidationScheme {
    /// Not set: inherits (from the global section, which defaults to UTF-8).
    #[default]
    Unset,
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` names.
    Legacy,
    /// Any non-empty UTF-8 name.
    Utf8,
}

impl ValidationScheme {
    /// The configuration spelling (`""`, `legacy`, `utf8`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Legacy => "legacy",
            Self::Utf8 => "utf8",
        }
    }

    /// Whether `name` is a valid label name under this scheme (unset means UTF-8).
    #[must_use]
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            Self::Legacy => model::labels::is_valid_legacy_label_name(name),
            _ => !name.is_empty(),
        }
    }

    /// Whether `name` is a valid metric name under this scheme (unset means UTF-8).
    #[must_use]
    pub fn is_valid_metric_name(self, name: &str) -> bool {
        match self {
            Self::Legacy => model::labels::is_valid_legacy_metric_name(name),
            _ => !name.is_empty(),
        }
    }
}

impl Serialize for ValidationScheme {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ValidationScheme {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        match s.as_str() {
            "" => Ok(Self::Unset),
            "legacy" => Ok(Self::Legacy),
            "utf8" => Ok(Self::Utf8),
            _ => Err(crate::yaml::go_error(
                format!("unrecognized ValidationScheme: {}", go_quote(&s)),
                None,
            )),
        }
    }
}

/// The escaping schemes a scrape may request.
pub const ESCAPING_SCHEMES: [&str; 4] = ["allow-utf-8", "underscores", "dots", "values"];

/// The `global` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub scrape_interval: Duration,
    /// Default scrape timeout (10s, at most the interval).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub scrape_timeout: Duration,
    /// Default protocols to negotiate; `None` lets each job choose by its native-histogram
    /// setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Default rule evaluation interval (1m).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub evaluation_interval: Duration,
    /// Default offset of rule evaluation into the past.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub rule_query_offset: Duration,
    /// File to which PromQL queries are logged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query_log_file: String,
    /// File to which scrape failures are logged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    /// Labels added to series and alerts sent out (`$VAR` expanded from the environment).
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub external_labels: BTreeMap<String, String>,
    /// Default body size limit (0: none).
    #[serde(default, skip_serializing_if = "Size::is_zero")]
    pub body_size_limit: Size,
    /// Default sample limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    /// Default target limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub target_limit: u64,
    /// Default label-count limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    /// Default label-name length limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    /// Default label-value length limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
    /// Default number of dropped targets kept per job.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_dropped_targets: u64,
    /// Name validation (default `utf8`).
    #[serde(default)]
    pub metric_name_validation_scheme: ValidationScheme,
    /// Escaping to request from targets (default from the validation scheme).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric_name_escaping_scheme: String,
    /// Scrape native histograms by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    /// Convert classic histograms to native histograms with custom buckets.
    #[serde(default)]
    pub convert_classic_histograms_to_nhcb: bool,
    /// Keep classic histograms even when a native one is exposed.
    #[serde(default)]
    pub always_scrape_classic_histograms: bool,
    /// Store extra scrape metrics (`scrape_timeout_seconds`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_scrape_metrics: Option<bool>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Default for GlobalConfig {
    fn default() -> Self {
        let mut g = Self {
            scrape_interval: Duration::ZERO,
            scrape_timeout: Duration::ZERO,
            scrape_protocols: None,
            evaluation_interval: Duration::ZERO,
            rule_query_offset: Duration::ZERO,
            query_log_file: String::new(),
            scrape_failure_log_file: String::new(),
            external_labels: BTreeMap::new(),
            body_size_limit: Size::default(),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: ValidationScheme::Unset,
            metric_name_escaping_scheme: String::new(),
            scrape_native_histograms: None,
            convert_classic_histograms_to_nhcb: false,
            always_scrape_classic_histograms: false,
            extra_scrape_metrics: None,
        };
        g.validate().expect("the default global config is valid");
        g
    }
}

impl GlobalConfig {
    /// Prometheus's checks, filling in the defaults (1m interval, 10s timeout, ...).
    pub fn validate(&mut self) -> Result<(), Invalid> {
        if !matches!(self.metric_name_validation_scheme, ValidationScheme::Legacy) {
            self.metric_name_validation_scheme = ValidationScheme::Utf8;
        }
        for name in self.external_labels.keys() {
            if !self.metric_name_validation_scheme.is_valid_label_name(name) {
                return Err(Invalid::new(format!(
                    "{} is not a valid label name",
                    go_quote(name)
                )))
                .key("external_labels");
            }
        }
        if self.scrape_interval.is_zero() {
            self.scrape_interval = Duration::from_secs(60);
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(Invalid::new(
                "global scrape timeout greater than scrape interval",
            ))
            .key("scrape_timeout");
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = Duration::from_secs(10).min(self.scrape_interval);
        }
        if self.evaluation_interval.is_zero() {
            self.evaluation_interval = Duration::from_secs(60);
        }
        self.scrape_native_histograms.get_or_insert(false);
        self.extra_scrape_metrics.get_or_insert(false);
        if let Some(p) = &self.scrape_protocols {
            validate_scrape_protocols(p)
                .map_err(|e| Invalid::new(format!("{e} for global config")))
                .key("scrape_protocols")?;
        }
        Ok(())
    }

    /// Expands `$VAR` and `${VAR}` in external label values from the environment (`$$` is
    /// a literal `$`), as Prometheus does on load.
    pub fn expand_external_labels(&mut self) {
        for v in self.external_labels.values_mut() {
            *v = expand_env(v);
        }
    }
}

/// Go's `os.Expand` with `os.Getenv`, keeping `$$` as `$`.
#[must_use]
pub fn expand_env(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[last..i]);
            let (name, width) = if b[i + 1] == b'{' {
                match s[i + 2..].find('}') {
                    Some(end) if end > 0 => (&s[i + 2..i + 2 + end], end + 3),
                    Some(_) => ("", 3),
                    None => ("", 2),
                }
            } else if b[i + 1] == b'$' || !(b[i + 1].is_ascii_alphanumeric() || b[i + 1] == b'_') {
                if b[i + 1] == b'$' || is_shell_special(b[i + 1]) {
                    (&s[i + 1..i + 2], 2)
                } else {
                    out.push('$');
                    i += 1;
                    last = i;
                    continue;
                }
            } else {
                let end = s[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(s.len(), |e| i + 1 + e);
                (&s[i + 1..end], end - i)
            };
            if name == "$" {
                out.push('$');
            } else if !name.is_empty() {
                out.push_str(&std::env::var(name).unwrap_or_default());
            }
            i += width;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

fn is_shell_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

/// The `runtime` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Go's GC percentage; accepted for compatibility, unused by Firewatch.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub gogc: i64,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_prometheus_defaults() {
        let g = GlobalConfig::default();
        assert_eq!(g.scrape_interval, Duration::from_secs(60));
        assert_eq!(g.scrape_timeout, Duration::from_secs(10));
        assert_eq!(g.evaluation_interval, Duration::from_secs(60));
        assert_eq!(g.metric_name_validation_scheme, ValidationScheme::Utf8);
    }

    #[test]
    fn timeout_defaults_to_at_most_the_interval() {
        let mut g = GlobalConfig {
            scrape_interval: Duration::from_secs(5),
            ..GlobalConfig::default()
        };
        g.scrape_timeout = Duration::ZERO;
        g.validate().unwrap();
        assert_eq!(g.scrape_timeout, Duration::from_secs(5));
        g.scrape_timeout = Duration::from_secs(6);
        assert_eq!(
            g.validate().unwrap_err().msg,
            "global scrape timeout greater than scrape interval"
        );
    }

    #[test]
    fn env_expansion() {
        // SAFETY-free: set_var is unsafe in edition 2024 only for multi-threaded races; use a
        // variable that surely exists instead.
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(expand_env("a-$PATH-b"), format!("a-{path}-b"));
        assert_eq!(expand_env("${PATH}"), path);
        assert_eq!(expand_env("cost: $$5"), "cost: $5");
        assert_eq!(expand_env("x$"), "x$");
        assert_eq!(expand_env("$FIREWATCH_SURELY_UNSET_VAR"), "");
    }

    #[test]
    fn protocols_checked() {
        assert!(validate_scrape_protocols(&[ScrapeProtocol::new("PrometheusProto")]).is_ok());
        assert_eq!(
            validate_scrape_protocols(&[ScrapeProtocol::new("prometheusproto")]).unwrap_err(),
            "scrape_protocols: unknown scrape protocol prometheusproto, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]"
        );
    }
}
