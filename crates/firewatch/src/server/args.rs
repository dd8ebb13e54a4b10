//! The flags of `firewatch server`, with Prometheus's names, and what they become: the TSDB's,
//! engine's and rules manager's options and the map `/api/v1/status/flags` shows.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use promql::{Engine, EngineOptions};
use tsdb::DbOptions;

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
    /// Maximum duration before timing out read of the request, and closing idle connections.
    #[arg(long = "web.read-timeout", default_value = "5m")]
    pub read_timeout: String,
    /// Maximum number of simultaneous connections (0: no limit).
    #[arg(long = "web.max-connections", default_value_t = 512)]
    pub max_connections: usize,
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
    /// Minimum duration of a data block before being persisted (the head's chunk range).
    /// Hidden in Prometheus; set `min = max = 2h` to disable local compaction for Thanos.
    #[arg(
        long = "storage.tsdb.min-block-duration",
        default_value = "2h",
        hide = true
    )]
    pub min_block_duration: String,
    /// Maximum duration compacted blocks may span (default: 10% of the retention time).
    #[arg(long = "storage.tsdb.max-block-duration", hide = true)]
    pub max_block_duration: Option<String>,
    /// The maximum lookback duration for retrieving metrics during expression evaluations.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,
    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,
    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub max_samples: usize,
    /// Maximum memory a single query may hold for the samples it loads and computes (units
    /// B, KB, MB, GB...; 0 disables); a query past it fails instead of exhausting memory.
    /// Defaults to a quarter of the machine's memory.
    #[arg(long = "query.max-memory-bytes")]
    pub max_memory_bytes: Option<String>,
    /// Max time to tolerate Firewatch outage for restoring "for" state of alert.
    #[arg(long = "rules.alert.for-outage-tolerance", default_value = "1h")]
    pub for_outage_tolerance: String,
    /// Minimum duration between alert and restored "for" state.
    #[arg(long = "rules.alert.for-grace-period", default_value = "10m")]
    pub for_grace_period: String,
    /// Minimum amount of time to wait before resending an alert to Alertmanager.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m")]
    pub resend_delay: String,
    /// The capacity of the queue for pending Alertmanager notifications.
    #[arg(
        long = "alertmanager.notification-queue-capacity",
        default_value_t = 10_000
    )]
    pub notification_queue_capacity: usize,
    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub max_concurrency: usize,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
    /// Run in agent mode: scraping and remote write only (no local queries, rules or alerting).
    #[arg(long = "agent")]
    pub agent: bool,
    /// Comma-separated feature names to enable; `agent` is `--agent` as in Prometheus 2.x.
    #[arg(long = "enable-feature", value_delimiter = ',')]
    pub enable_feature: Vec<String>,
    /// Base path for the agent's write-ahead log (agent mode only).
    #[arg(long = "storage.agent.path", default_value = "data-agent/")]
    pub agent_path: String,
    /// How long the agent keeps samples in its WAL (agent mode only; default 4h).
    #[arg(long = "storage.agent.retention.max-time")]
    pub agent_retention_max_time: Option<String>,
    /// How long the agent keeps samples past what remote write sent (agent mode only;
    /// default 5m): series idle since then are forgotten at the next truncation.
    #[arg(long = "storage.agent.retention.min-time")]
    pub agent_retention_min_time: Option<String>,
    /// How often the agent truncates its WAL (agent mode only; hidden, as in Prometheus).
    #[arg(
        long = "storage.agent.wal-truncate-frequency",
        default_value = "2h",
        hide = true
    )]
    pub agent_wal_truncate_frequency: String,
}

impl ServerArgs {
    /// Whether the server runs as an agent (`--agent` or `--enable-feature=agent`).
    pub fn agent_mode(&self) -> bool {
        self.agent || self.enable_feature.iter().any(|f| f.trim() == "agent")
    }

    /// Whether `--enable-feature` names `feature`.
    pub fn feature(&self, feature: &str) -> bool {
        self.enable_feature.iter().any(|f| f.trim() == feature)
    }

    /// `--web.external-url`, or as Prometheus derives it: `http://<hostname>:<port>/`.
    pub fn computed_external_url(&self) -> String {
        if !self.external_url.is_empty() {
            return self.external_url.trim_end_matches('/').to_owned() + "/";
        }
        let port = self.listen_address.rsplit(':').next().unwrap_or("9090");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        format!("http://{host}:{port}/")
    }

    /// `--web.route-prefix` without trailing slash, defaulting to the external URL's path.
    pub fn computed_route_prefix(&self) -> String {
        let prefix = match &self.route_prefix {
            Some(p) => p.clone(),
            None => {
                let url = self.computed_external_url();
                let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                after_scheme
                    .find('/')
                    .map_or(String::new(), |i| after_scheme[i..].to_owned())
            }
        };
        let trimmed = prefix.trim_end_matches('/');
        if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        }
    }

    /// The flags as `/api/v1/status/flags` shows them.
    pub(super) fn flag_map(&self) -> BTreeMap<String, String> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            ("config.file", self.config_file.clone()),
            ("web.listen-address", self.listen_address.clone()),
            ("web.external-url", self.external_url.clone()),
            ("web.route-prefix", opt(&self.route_prefix)),
            ("web.enable-lifecycle", self.enable_lifecycle.to_string()),
            ("web.enable-admin-api", self.enable_admin_api.to_string()),
            (
                "web.enable-remote-write-receiver",
                self.enable_remote_write_receiver.to_string(),
            ),
            ("web.config.file", opt(&self.web_config_file)),
            ("web.read-timeout", self.read_timeout.clone()),
            ("web.max-connections", self.max_connections.to_string()),
            ("web.cors.origin", self.cors_origin.clone()),
            ("storage.tsdb.path", self.tsdb_path.clone()),
            ("storage.tsdb.retention.time", opt(&self.retention_time)),
            ("storage.tsdb.retention.size", opt(&self.retention_size)),
            (
                "storage.tsdb.min-block-duration",
                self.min_block_duration.clone(),
            ),
            (
                "storage.tsdb.max-block-duration",
                opt(&self.max_block_duration),
            ),
            ("query.lookback-delta", self.lookback_delta.clone()),
            ("query.timeout", self.query_timeout.clone()),
            ("query.max-samples", self.max_samples.to_string()),
            ("query.max-memory-bytes", opt(&self.max_memory_bytes)),
            ("query.max-concurrency", self.max_concurrency.to_string()),
            ("log.level", self.log_level.clone()),
            ("log.format", self.log_format.clone()),
            ("agent", self.agent_mode().to_string()),
            ("enable-feature", self.enable_feature.join(",")),
            ("storage.agent.path", self.agent_path.clone()),
            (
                "storage.agent.retention.max-time",
                opt(&self.agent_retention_max_time),
            ),
            (
                "storage.agent.retention.min-time",
                opt(&self.agent_retention_min_time),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub(super) fn db_options(&self) -> anyhow::Result<DbOptions> {
        let mut opts = DbOptions::default();
        if self.agent_mode() {
            // The agent's storage is the TSDB used as a write-ahead log: nothing queries
            // it, and what is older than the retention is dropped.
            let keep = self.agent_retention_max_time.as_deref().unwrap_or("4h");
            opts.retention_ms = duration_flag("storage.agent.retention.max-time", keep)?;
            opts.max_block_duration = tsdb::db::default_max_block_duration(opts.retention_ms);
            return Ok(opts);
        }
        let size = self
            .retention_size
            .as_deref()
            .map(parse_bytes)
            .transpose()?;
        opts.max_bytes = size.unwrap_or(0);
        match self.retention_time.as_deref() {
            Some(t) => opts.retention_ms = duration_flag("storage.tsdb.retention.time", t)?,
            // Prometheus keeps 15 days unless only a size limit was given.
            None if size.is_some() => opts.retention_ms = 0,
            None => {}
        }
        // The head is written to a chunk snapshot on shutdown and read back at start-up.
        opts.enable_memory_snapshot_on_shutdown = self.feature("memory-snapshot-on-shutdown");
        opts.min_block_duration =
            duration_flag("storage.tsdb.min-block-duration", &self.min_block_duration)?;
        opts.max_block_duration = match self.max_block_duration.as_deref() {
            Some(d) => duration_flag("storage.tsdb.max-block-duration", d)?,
            None => tsdb::db::default_max_block_duration(opts.retention_ms),
        };
        if opts.min_block_duration <= 0 || opts.max_block_duration < opts.min_block_duration {
            bail!(
                "--storage.tsdb.max-block-duration ({}) must not be below a positive --storage.tsdb.min-block-duration ({})",
                self.max_block_duration.as_deref().unwrap_or("default"),
                self.min_block_duration
            );
        }
        Ok(opts)
    }

    pub(super) fn engine_options(&self) -> anyhow::Result<EngineOptions> {
        let ms = |name, v: &str| {
            duration_flag(name, v).map(|ms| Duration::from_millis(ms.unsigned_abs()))
        };
        Ok(EngineOptions {
            lookback_delta: ms("query.lookback-delta", &self.lookback_delta)?,
            timeout: ms("query.timeout", &self.query_timeout)?,
            max_samples: self.max_samples,
            max_memory_bytes: match self.max_memory_bytes.as_deref() {
                Some(s) => {
                    usize::try_from(parse_bytes(s).context("invalid --query.max-memory-bytes")?)
                        .unwrap_or(usize::MAX)
                }
                None => promql::default_max_memory_bytes(),
            },
            max_concurrency: self.max_concurrency,
            ..EngineOptions::default()
        })
    }
}

impl ServerArgs {
    /// The rules manager's options from the `--rules.*` flags.
    pub(super) fn rules_options(
        &self,
        engine: Engine,
        queryable: storage::QueryableRef,
        appendable: storage::AppendableRef,
    ) -> anyhow::Result<rules::ManagerOptions> {
        let ms = |name, v: &str| {
            duration_flag(name, v).map(|ms| Duration::from_millis(ms.unsigned_abs()))
        };
        let mut options = rules::ManagerOptions::new(engine, queryable, appendable);
        options.external_url = self.computed_external_url();
        options.outage_tolerance = ms(
            "rules.alert.for-outage-tolerance",
            &self.for_outage_tolerance,
        )?;
        options.for_grace_period = ms("rules.alert.for-grace-period", &self.for_grace_period)?;
        options.resend_delay = ms("rules.alert.resend-delay", &self.resend_delay)?;
        Ok(options)
    }
}

pub(super) fn duration_flag(name: &str, value: &str) -> anyhow::Result<i64> {
    promql::parser::parse_duration(value).with_context(|| format!("invalid --{name} {value:?}"))
}

/// Parses a byte size with Prometheus's units (`B`, `KB`, `MB`, ... powers of 1024).
pub(super) fn parse_bytes(s: &str) -> anyhow::Result<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    let shift = match unit {
        "" | "B" => 0,
        "KB" | "KiB" => 10,
        "MB" | "MiB" => 20,
        "GB" | "GiB" => 30,
        "TB" | "TiB" => 40,
        "PB" | "PiB" => 50,
        "EB" | "EiB" => 60,
        _ => bail!("invalid size {s:?}: unknown unit {unit:?}"),
    };
    n.checked_mul(1u64 << shift)
        .with_context(|| format!("size {s:?} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("1XB").is_err());
        assert!(parse_bytes("MB").is_err());
    }

    fn server_args(flags: &[&str]) -> ServerArgs {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServerArgs,
        }
        let argv = std::iter::once("server").chain(flags.iter().copied());
        <Wrapper as clap::Parser>::try_parse_from(argv)
            .unwrap()
            .args
    }

    #[test]
    fn block_duration_flags() {
        let opts = server_args(&[]).db_options().unwrap();
        assert_eq!(opts.min_block_duration, 2 * 3_600_000);
        assert_eq!(opts.max_block_duration, 36 * 3_600_000, "10% of 15d");
        let opts = server_args(&[
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
        ])
        .db_options()
        .unwrap();
        assert_eq!(
            (opts.min_block_duration, opts.max_block_duration),
            (7_200_000, 7_200_000)
        );
        let err = server_args(&[
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=1h",
        ])
        .db_options()
        .unwrap_err();
        assert!(err.to_string().contains("max-block-duration (1h)"), "{err}");
    }
}
