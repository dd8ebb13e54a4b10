//! The unit-test file format of `promtool test rules`.

use std::collections::BTreeMap;

use config::Duration;
use serde::Deserialize;

/// One test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub evaluation_interval: Duration,
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    #[serde(default)]
    pub tests: Vec<TestGroup>,
    #[serde(default)]
    pub fuzzy_compare: bool,
}

/// Input series and the tests run over them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestGroup {
    #[serde(default)]
    pub interval: Duration,
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub external_url: String,
    #[serde(default)]
    pub name: String,
    /// Where the test's time 0 lies: Unix seconds or RFC 3339 (default: the epoch).
    #[serde(default)]
    pub start_timestamp: Option<StartTimestamp>,
}

/// `start_timestamp:` as a number or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StartTimestamp {
    /// Unix seconds.
    Number(f64),
    /// Unix seconds or RFC 3339 text.
    Text(String),
}

impl StartTimestamp {
    /// Milliseconds since the epoch, as promtool's `parseTime` reads it.
    pub fn millis(&self) -> Result<i64, String> {
        #[allow(clippy::cast_possible_truncation)]
        let from_secs = |f: f64| (f * 1000.0).round() as i64;
        match self {
            StartTimestamp::Number(f) => Ok(from_secs(*f)),
            StartTimestamp::Text(s) => {
                if let Ok(f) = s.parse::<f64>() {
                    return Ok(from_secs(f));
                }
                s.parse::<jiff::Timestamp>()
                    .map(jiff::Timestamp::as_millisecond)
                    .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
            }
        }
    }
}

/// `series: 'm{a="b"}'`, `values: '1+1x10'`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSeries {
    pub series: String,
    pub values: String,
}

/// The firing alerts expected at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertTest {
    #[serde(default)]
    pub eval_time: Duration,
    #[serde(default)]
    pub alertname: String,
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected alert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpAlert {
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// An expression and its expected result at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExprTest {
    pub expr: String,
    #[serde(default)]
    pub eval_time: Duration,
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

/// One expected sample.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpSample {
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub value: f64,
    #[serde(default)]
    pub histogram: String,
}
