//! `firewatch server`: flags with Prometheus's names, and the wiring of the server's parts.

use clap::Args;

/// Flags of `firewatch server`, named as Prometheus names them.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Prometheus configuration file path.
    #[arg(long = "config.file", default_value = "prometheus.yml")]
    pub config_file: String,
    /// Address to listen on for UI, API, and telemetry.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090")]
    pub listen_address: String,
    /// The URL under which Firewatch is externally reachable.
    #[arg(long = "web.external-url", default_value = "")]
    pub external_url: String,
    /// Prefix for the internal routes of web endpoints.
    #[arg(long = "web.route-prefix")]
    pub route_prefix: Option<String>,
    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,
    /// Enable the API endpoint accepting remote write requests.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub enable_remote_write_receiver: bool,
    /// Path to a web configuration file (TLS, basic auth).
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<String>,
    /// Regex for CORS origin; fully anchored.
    #[arg(long = "web.cors.origin", default_value = ".*")]
    pub cors_origin: String,
    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "data/")]
    pub tsdb_path: String,
    /// How long to retain samples in storage (default 15d when no size limit is set).
    #[arg(long = "storage.tsdb.retention.time")]
    pub retention_time: Option<String>,
    /// Maximum number of bytes that can be stored for blocks (e.g. 512MB).
    #[arg(long = "storage.tsdb.retention.size")]
    pub retention_size: Option<String>,
    /// The maximum lookback duration for retrieving metrics during expression evaluations.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,
    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,
    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub max_samples: usize,
    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub max_concurrency: usize,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}
