//! `storage` (TSDB and exemplars), `tracing` and `otlp`: accepted and checked as Prometheus
//! does; only the TSDB and exemplar settings change Firewatch's behaviour.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::{Duration, Size};
use crate::global::ValidationScheme;
use crate::http::TlsConfig;
use crate::remote::validate_headers;
use crate::yaml::{At, Invalid, go_quote, nullable};

/// The `storage` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// TSDB settings that can change on reload.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub tsdb: TsdbConfig,
    /// Exemplar storage.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub exemplars: ExemplarsConfig,
}

/// `storage.tsdb`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far back out-of-order samples are accepted (0: none).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub out_of_order_time_window: Duration,
    /// Fraction (0..1) of stale head series that triggers their compaction.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub stale_series_compaction_threshold: f64,
    /// Chunk encodings.
    #[serde(
        default,
        deserialize_with = "crate::yaml::nullable",
        skip_serializing_if = "ChunkEncodingConfig::is_default"
    )]
    pub chunk_encoding: ChunkEncodingConfig,
    /// Retention (overrides the flags when set).
    #[serde(
        default,
        deserialize_with = "crate::yaml::nullable",
        skip_serializing_if = "RetentionConfig::is_default"
    )]
    pub retention: RetentionConfig,
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// `storage.tsdb.chunk_encoding`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkEncodingConfig {
    /// `xor` or `xor2` (empty: the flag's choice).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub floats: String,
}

/// `storage.tsdb.retention`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep samples this long.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub time: Duration,
    /// Keep blocks up to this many bytes.
    #[serde(default, skip_serializing_if = "Size::is_zero")]
    pub size: Size,
    /// Keep blocks up to this percentage of the disk.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub percentage: f64,
}

impl ChunkEncodingConfig {
    fn is_default(&self) -> bool {
        self.floats.is_empty()
    }
}

impl RetentionConfig {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl TsdbConfig {
    /// Prometheus's checks, with its texts.
    pub fn validate(&self) -> Result<(), Invalid> {
        let r = &self.retention;
        if r.size.bytes() < 0 {
            return Err(Invalid::new(format!(
                "'storage.tsdb.retention.size' must be greater than or equal to 0, got {}",
                r.size
            )))
            .key("size")
            .key("retention");
        }
        if !(0.0..=100.0).contains(&r.percentage) {
            return Err(Invalid::new(format!(
                "'storage.tsdb.retention.percentage' must be in the range [0, 100], got {}",
                r.percentage
            )))
            .key("percentage")
            .key("retention");
        }
        match self.chunk_encoding.floats.as_str() {
            "" | "xor" | "xor2" => Ok(()),
            other => Err(Invalid::new(format!(
                "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got {}",
                go_quote(other)
            )))
            .key("floats")
            .key("chunk_encoding"),
        }
    }
}

fn d_max_exemplars() -> i64 {
    100_000
}

/// `storage.exemplars`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Size of the exemplar ring buffer (100000; 0 or less disables it).
    #[serde(default = "d_max_exemplars")]
    pub max_exemplars: i64,
}

impl Default for ExemplarsConfig {
    fn default() -> Self {
        Self {
            max_exemplars: d_max_exemplars(),
        }
    }
}

fn d_client_type() -> String {
    "grpc".into()
}

/// The `tracing` section (OpenTelemetry export of Firewatch's own traces): checked, unused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// `grpc` or `http`.
    #[serde(default = "d_client_type")]
    pub client_type: String,
    /// Collector endpoint (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    /// Fraction of traces sampled.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub sampling_fraction: f64,
    /// Plain-text connection.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub insecure: bool,
    /// TLS.
    #[serde(
        default,
        deserialize_with = "crate::yaml::nullable",
        skip_serializing_if = "crate::http::TlsConfig::is_default"
    )]
    pub tls_config: TlsConfig,
    /// Extra headers.
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, String>,
    /// `gzip` or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// Export timeout.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub timeout: Duration,
}

impl TracingConfig {
    /// Prometheus's checks, with its texts.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.client_type != "http" && self.client_type != "grpc" {
            return Err(Invalid::new(format!(
                "expected tracing client type to be to be http or grpc, but got {}",
                self.client_type
            )))
            .key("client_type");
        }
        validate_headers(&self.headers, true)?;
        if self.endpoint.is_empty() {
            return Err(Invalid::new("tracing endpoint must be set"));
        }
        if !self.compression.is_empty() && self.compression != "gzip" {
            return Err(Invalid::new(format!(
                "invalid compression type {} provided, valid options: gzip",
                self.compression
            )))
            .key("compression");
        }
        Ok(())
    }
}

fn d_translation() -> String {
    "UnderscoreEscapingWithSuffixes".into()
}

/// The `otlp` section (OTLP receiver translation): checked as Prometheus does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Promote every resource attribute to a label.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub promote_all_resource_attributes: bool,
    /// Resource attributes promoted to labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub promote_resource_attributes: Vec<String>,
    /// Attributes not promoted when all are.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_resource_attributes: Vec<String>,
    /// How OTel names become Prometheus names.
    #[serde(default = "d_translation")]
    pub translation_strategy: String,
    /// Keep `service.*` attributes on `target_info`.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub keep_identifying_resource_attributes: bool,
    /// Convert explicit-bucket histograms to native histograms with custom buckets.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub convert_histograms_to_nhcb: bool,
    /// Promote scope metadata to labels.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub promote_scope_metadata: bool,
    /// Prefix `key_` to labels starting with one `_`.
    #[serde(default = "crate::http::yes")]
    pub label_name_underscore_sanitization: bool,
    /// Keep runs of underscores in label names.
    #[serde(default = "crate::http::yes")]
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            promote_all_resource_attributes: false,
            promote_resource_attributes: Vec::new(),
            ignore_resource_attributes: Vec::new(),
            translation_strategy: d_translation(),
            keep_identifying_resource_attributes: false,
            convert_histograms_to_nhcb: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

impl OtlpConfig {
    /// Prometheus's checks of the section (trims the attribute names).
    pub fn validate(&mut self) -> Result<(), Invalid> {
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err(Invalid::new(
                    "'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously",
                ));
            }
            sanitize(&mut self.ignore_resource_attributes, "ignored")
                .map_err(|e| Invalid::new(format!("invalid 'ignore_resource_attributes': {e}")))
                .key("ignore_resource_attributes")
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err(Invalid::new(
                    "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true",
                ));
            }
            sanitize(&mut self.promote_resource_attributes, "promoted")
                .map_err(|e| Invalid::new(format!("invalid 'promote_resource_attributes': {e}")))
                .key("promote_resource_attributes")
        }
    }

    /// The check Prometheus makes once the global name validation is known.
    pub fn validate_translation(&self, scheme: ValidationScheme) -> Result<(), Invalid> {
        match self.translation_strategy.as_str() {
            "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" | "" => Ok(()),
            s @ ("NoTranslation" | "NoUTF8EscapingWithSuffixes") => {
                if scheme == ValidationScheme::Legacy {
                    Err(Invalid::new(format!(
                        "OTLP translation strategy {} is not allowed when UTF8 is disabled",
                        go_quote(s)
                    )))
                } else {
                    Ok(())
                }
            }
            s => Err(Invalid::new(format!(
                "unsupported OTLP translation strategy {}",
                go_quote(s)
            ))),
        }
        .key("translation_strategy")
    }
}

/// Trims the names and refuses empty and duplicated ones (all problems, one per line).
fn sanitize(attrs: &mut [String], adjective: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut errs = Vec::new();
    for a in attrs.iter_mut() {
        let t = a.trim().to_string();
        if t.is_empty() {
            errs.push(format!("empty {adjective} OTel resource attribute"));
            continue;
        }
        if !seen.insert(t.clone()) {
            errs.push(format!(
                "duplicated {adjective} OTel resource attribute {}",
                go_quote(&t)
            ));
            continue;
        }
        *a = t;
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}
