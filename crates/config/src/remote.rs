//! `remote_write` and `remote_read`: queues to other storage and federated reads from it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Url;
use crate::duration::Duration;
use crate::global::ValidationScheme;
use crate::http::canonical_header;
use crate::relabel::{RelabelList, relabel_list, validate_list};
use crate::yaml::{At, Invalid};

/// Headers Prometheus refuses in remote write/read `headers` (lower case; `authorization`
/// has its own message).
const RESERVED: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Prometheus's check of remote write/read headers.
pub(crate) fn validate_headers(
    headers: &BTreeMap<String, String>,
    tracing: bool,
) -> Result<(), Invalid> {
    for h in headers.keys() {
        let lower = h.to_lowercase();
        if lower == "authorization" {
            return Err(Invalid::new(if tracing {
                "custom authorization header configuration is not yet supported"
            } else {
                "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter"
            }))
            .key("headers");
        }
        if RESERVED.contains(&lower.as_str()) {
            return Err(Invalid::new(format!(
                "{h} is a reserved header. It must not be changed"
            )))
            .key("headers");
        }
    }
    let _ = canonical_header;
    Ok(())
}

fn d_remote_write_timeout() -> Duration {
    Duration::from_secs(30)
}
fn d_protobuf() -> String {
    "prometheus.WriteRequest".into()
}

/// The remote-write protobuf messages.
pub const PROTOBUF_MESSAGES: [&str; 2] =
    ["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];

with_http_client! {
    http2_default = "crate::remote::no";
    /// One remote-write endpoint.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RemoteWriteConfig {
        /// The endpoint (required).
        #[serde(default)]
        pub url: Option<Url>,
        /// Request timeout (30s).
        #[serde(default = "d_remote_write_timeout")]
        pub remote_timeout: Duration,
        /// Extra headers.
        #[serde(default, deserialize_with = "crate::yaml::unique_map", skip_serializing_if = "BTreeMap::is_empty")]
        pub headers: BTreeMap<String, String>,
        /// Relabeling before sending.
        #[serde(default, deserialize_with = "relabel_list", skip_serializing_if = "Vec::is_empty")]
        pub write_relabel_configs: RelabelList,
        /// Queue name, unique among remote writes.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub name: String,
        /// Send exemplars.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub send_exemplars: bool,
        /// Send native histograms.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub send_native_histograms: bool,
        /// Spread requests over the endpoint's DNS addresses.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub round_robin_dns: bool,
        /// `prometheus.WriteRequest` (1.0) or `io.prometheus.write.v2.Request` (2.0).
        #[serde(default = "d_protobuf")]
        pub protobuf_message: String,
        /// Log failed 2.0 requests.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub failed_request_logging: bool,
    } {
        /// The sending queue.
        #[serde(default, deserialize_with = "crate::yaml::nullable")]
        pub queue_config: QueueConfig,
        /// Metadata sending.
        #[serde(default, deserialize_with = "crate::yaml::nullable")]
        pub metadata_config: MetadataConfig,
    }
}

pub(crate) fn no() -> bool {
    false
}

fn d_capacity() -> i64 {
    10_000
}
fn d_max_shards() -> i64 {
    50
}
fn d_min_shards() -> i64 {
    1
}
fn d_max_samples() -> i64 {
    2000
}
fn d_deadline() -> Duration {
    Duration::from_secs(5)
}
fn d_min_backoff() -> Duration {
    Duration::from_millis(30)
}
fn d_max_backoff() -> Duration {
    Duration::from_secs(5)
}

/// The remote-write queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Samples buffered per shard (10000).
    #[serde(default = "d_capacity")]
    pub capacity: i64,
    /// Most shards (50).
    #[serde(default = "d_max_shards")]
    pub max_shards: i64,
    /// Fewest shards (1).
    #[serde(default = "d_min_shards")]
    pub min_shards: i64,
    /// Samples per request (2000).
    #[serde(default = "d_max_samples")]
    pub max_samples_per_send: i64,
    /// Longest wait before a partial batch is sent (5s).
    #[serde(default = "d_deadline")]
    pub batch_send_deadline: Duration,
    /// First retry backoff (30ms).
    #[serde(default = "d_min_backoff")]
    pub min_backoff: Duration,
    /// Longest retry backoff (5s).
    #[serde(default = "d_max_backoff")]
    pub max_backoff: Duration,
    /// Retry on HTTP 429.
    #[serde(default, skip_serializing_if = "crate::http::is_false")]
    pub retry_on_http_429: bool,
    /// Samples older than this are dropped (0: never).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: d_capacity(),
            max_shards: d_max_shards(),
            min_shards: d_min_shards(),
            max_samples_per_send: d_max_samples(),
            batch_send_deadline: d_deadline(),
            min_backoff: d_min_backoff(),
            max_backoff: d_max_backoff(),
            retry_on_http_429: false,
            sample_age_limit: Duration::ZERO,
        }
    }
}

impl QueueConfig {
    /// Prometheus's checks, with its texts.
    pub fn validate(&self) -> Result<(), Invalid> {
        let e = |m: &str| Err(Invalid::new(m));
        if self.max_shards <= 0 {
            return e("remote write queue max_shards must be positive");
        }
        if self.min_shards <= 0 {
            return e("remote write queue min_shards must be positive");
        }
        if self.min_shards > self.max_shards {
            return e("remote write queue min_shards must not be greater than max_shards");
        }
        if self.max_samples_per_send <= 0 {
            return e("remote write queue max_samples_per_send must be positive");
        }
        if self.capacity <= 0 {
            return e("remote write queue capacity must be positive");
        }
        if self.max_backoff < self.min_backoff {
            return e("remote write queue max_backoff must not be less than min_backoff");
        }
        Ok(())
    }
}

/// Metadata sending of a remote write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// Send metadata (true).
    #[serde(default = "crate::http::yes")]
    pub send: bool,
    /// How often (1m).
    #[serde(default = "d_send_interval")]
    pub send_interval: Duration,
    /// Metadata per request (2000).
    #[serde(default = "d_max_samples")]
    pub max_samples_per_send: i64,
}

fn d_send_interval() -> Duration {
    Duration::from_secs(60)
}

impl Default for MetadataConfig {
    fn default() -> Self {
        Self {
            send: true,
            send_interval: d_send_interval(),
            max_samples_per_send: d_max_samples(),
        }
    }
}

impl RemoteWriteConfig {
    /// Prometheus's checks, with its texts.
    pub fn validate(&mut self, scheme: ValidationScheme) -> Result<(), Invalid> {
        if self.url.is_none() {
            return Err(Invalid::new("url for remote_write is empty"));
        }
        if let Some(i) = self.write_relabel_configs.iter().position(Option::is_none) {
            return Err(Invalid::new(
                "empty or null relabeling rule in remote write config",
            ))
            .index(i)
            .key("write_relabel_configs");
        }
        validate_headers(&self.headers, false)?;
        if !PROTOBUF_MESSAGES.contains(&self.protobuf_message.as_str()) {
            return Err(Invalid::new(format!(
                "invalid protobuf_message value: unknown type for remote write protobuf message {}, supported: {}",
                self.protobuf_message,
                PROTOBUF_MESSAGES.join(", ")
            )))
            .key("protobuf_message");
        }
        self.validate_http_client()?;
        self.queue_config.validate().key("queue_config")?;
        let auths = [
            ("basic_auth", self.basic_auth.is_some()),
            ("authorization", self.authorization.is_some()),
            ("oauth2", self.oauth2.is_some()),
        ];
        let set: Vec<&str> = auths
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if set.len() > 1 {
            return Err(Invalid::new(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                set.join(" ")
            )));
        }
        validate_list(
            &self.write_relabel_configs,
            "empty or null relabeling rule in remote write config",
            scheme,
        )
        .key("write_relabel_configs")
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
    }
}

fn d_read_timeout() -> Duration {
    Duration::from_secs(60)
}
fn d_chunked_read_limit() -> u64 {
    50_000_000
}

with_http_client! {
    http2_default = "crate::http::yes";
    /// One remote-read endpoint.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RemoteReadConfig {
        /// The endpoint (required).
        #[serde(default)]
        pub url: Option<Url>,
        /// Request timeout (1m).
        #[serde(default = "d_read_timeout")]
        pub remote_timeout: Duration,
        /// Largest protobuf frame accepted (50MB).
        #[serde(default = "d_chunked_read_limit")]
        pub chunked_read_limit: u64,
        /// Extra headers.
        #[serde(default, deserialize_with = "crate::yaml::unique_map", skip_serializing_if = "BTreeMap::is_empty")]
        pub headers: BTreeMap<String, String>,
        /// Also read ranges the local storage covers.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub read_recent: bool,
        /// Name, unique among remote reads.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub name: String,
    } {
        /// Equality matchers a query must have to be sent here.
        #[serde(default, deserialize_with = "crate::yaml::unique_map", skip_serializing_if = "BTreeMap::is_empty")]
        pub required_matchers: BTreeMap<String, String>,
        /// Add external labels as matchers (true).
        #[serde(default = "crate::http::yes")]
        pub filter_external_labels: bool,
    }
}

impl RemoteReadConfig {
    /// Prometheus's checks, with its texts.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        if self.url.is_none() {
            return Err(Invalid::new("url for remote_read is empty"));
        }
        validate_headers(&self.headers, false)?;
        self.validate_http_client()
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
    }
}
