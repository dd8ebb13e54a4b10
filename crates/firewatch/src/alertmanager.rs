//! `firewatch alertmanager` flags (Alertmanager's names) mapped to the alertmanager crate's
//! options, and `firewatch tool check-config`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Flags of `firewatch alertmanager`.
#[derive(Debug, Args)]
pub struct AlertmanagerArgs {
    /// Alertmanager configuration file name.
    #[arg(long = "config.file", default_value = "alertmanager.yml")]
    pub config_file: PathBuf,
    /// Base path for data storage.
    #[arg(long = "storage.path", default_value = "data/")]
    pub storage_path: PathBuf,
    /// How long to keep data for.
    #[arg(long = "data.retention", default_value = "120h")]
    pub retention: String,
    /// Address to listen on for the web interface and API.
    #[arg(long = "web.listen-address", default_value = ":9093")]
    pub listen_address: String,
    /// The URL under which the Alertmanager is externally reachable.
    #[arg(long = "web.external-url", default_value = "")]
    pub external_url: String,
    /// Listen address for cluster (empty: clustering off).
    #[arg(long = "cluster.listen-address", default_value = "0.0.0.0:9094")]
    pub cluster_listen_address: String,
    /// Explicit address to advertise in cluster.
    #[arg(long = "cluster.advertise-address", default_value = "")]
    pub cluster_advertise_address: String,
    /// Initial peers (may be repeated).
    #[arg(long = "cluster.peer")]
    pub cluster_peer: Vec<String>,
    /// Time to wait between peers to send notifications.
    #[arg(long = "cluster.peer-timeout", default_value = "15s")]
    pub peer_timeout: String,
    /// Maximum time to wait for cluster connections to settle before evaluating
    /// notifications.
    #[arg(long = "cluster.settle-timeout", default_value = "1m")]
    pub settle_timeout: String,
    /// Interval between gossip rounds (and the publication of local changes). Lower: faster
    /// spread, more bandwidth.
    #[arg(long = "cluster.gossip-interval", default_value = "200ms")]
    pub gossip_interval: String,
    /// Interval between full-state reconciliations with every member.
    #[arg(long = "cluster.pushpull-interval", default_value = "1m0s")]
    pub pushpull_interval: String,
    /// Length of time a lost peer is remembered and gossiped to now and then.
    #[arg(long = "cluster.reconnect-timeout", default_value = "6h0m0s")]
    pub reconnect_timeout: String,
    /// Interval between heartbeat checks: a silent peer is held dead after about five.
    #[arg(long = "cluster.probe-interval", default_value = "1s")]
    pub probe_interval: String,
    /// The label of this cluster: peers with another label are refused.
    #[arg(long = "cluster.label", default_value = "")]
    pub cluster_label: String,
    /// Accepted for Alertmanager's command lines; no counterpart in Firewatch's gossip.
    #[arg(long = "cluster.probe-timeout", default_value = "500ms", hide = true)]
    pub probe_timeout: String,
    /// Accepted for Alertmanager's command lines; no counterpart in Firewatch's gossip.
    #[arg(long = "cluster.tcp-timeout", default_value = "10s", hide = true)]
    pub tcp_timeout: String,
    /// Accepted for Alertmanager's command lines; no counterpart in Firewatch's gossip.
    #[arg(
        long = "cluster.reconnect-interval",
        default_value = "10s",
        hide = true
    )]
    pub reconnect_interval: String,
    /// Accepted for Alertmanager's command lines; no counterpart in Firewatch's gossip.
    #[arg(
        long = "cluster.allow-insecure-public-advertise-address-discovery",
        hide = true
    )]
    pub allow_insecure_public_advertise: bool,
    /// Refused: Firewatch's gossip is plain UDP, with no TLS.
    #[arg(long = "cluster.tls-config", default_value = "", hide = true)]
    pub cluster_tls_config: String,
    /// Fsync every accepted POST of alerts to the alerts log under --storage.path before
    /// answering: an alert answered 200 survives a crash of the machine, and each POST waits
    /// for the disk. Off (the default, --no-storage.alerts-fsync) every accepted POST is still
    /// written to the log before the answer, so a crash or kill -9 of the process loses
    /// nothing, and the log is fsynced in the background within a second (and when a segment
    /// is closed), as Prometheus's WAL does: a power loss or kernel crash can lose about the
    /// last second of alerts, which Prometheus re-sends every evaluation anyway.
    #[arg(long = "storage.alerts-fsync", overrides_with = "no_alerts_fsync")]
    pub alerts_fsync: bool,
    /// Turns --storage.alerts-fsync off.
    #[arg(long = "no-storage.alerts-fsync", overrides_with = "alerts_fsync")]
    pub no_alerts_fsync: bool,
    /// Maximum number of GET requests processed concurrently (0: the number of CPUs or 8,
    /// whichever is larger).
    #[arg(long = "web.get-concurrency", default_value_t = 0)]
    pub get_concurrency: usize,
    /// Path to a web configuration file (TLS, client certificates, basic authentication,
    /// headers), as the exporter toolkit reads it.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Output format of log messages (logfmt or json).
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
    /// A prometheus.yml whose `kubernetes_operator` section (`alertmanagerConfigSelector`,
    /// `alertmanagerConfigNamespaceSelector`, the API connection) selects AlertmanagerConfig
    /// objects to merge into the configuration, as the Prometheus Operator does.
    #[arg(long = "operator.config.file")]
    pub operator_config_file: Option<PathBuf>,
}

fn duration(flag: &str, s: &str) -> Result<Duration, String> {
    config::Duration::parse(s)
        .map(config::Duration::to_std)
        .map_err(|e| format!("--{flag}: {e}"))
}

/// A duration flag that must be above zero (an interval).
fn positive(flag: &str, s: &str) -> Result<Duration, String> {
    let d = duration(flag, s)?;
    if d.is_zero() {
        return Err(format!("--{flag}: must be greater than 0"));
    }
    Ok(d)
}

/// Runs the Alertmanager until it is stopped.
pub fn run(args: &AlertmanagerArgs) -> ExitCode {
    crate::init_logging(&args.log_level, &args.log_format);
    let opts = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("firewatch alertmanager: {e}");
            return ExitCode::from(2);
        }
    };
    alertmanager::memory::limit_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firewatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let section = match operator_section(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("firewatch alertmanager: {e}");
            return ExitCode::from(2);
        }
    };
    let run = async move {
        let mut opts = opts;
        // The AlertmanagerConfig objects, watched while the Alertmanager runs.
        let _watch = section.map(|s| {
            let (hook, running) = crate::operator::alertmanager_hook(&s);
            opts.config_hook = Some(hook);
            running
        });
        alertmanager::run(opts).await
    };
    match runtime.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The `kubernetes_operator` section of `--operator.config.file`, if given.
fn operator_section(a: &AlertmanagerArgs) -> Result<Option<config::OperatorConfig>, String> {
    let Some(file) = &a.operator_config_file else {
        return Ok(None);
    };
    let cfg = config::Config::load(file).map_err(|e| format!("--operator.config.file: {e}"))?;
    cfg.kubernetes_operator.map(Some).ok_or_else(|| {
        format!(
            "--operator.config.file: {} has no kubernetes_operator section",
            file.display()
        )
    })
}

fn options(a: &AlertmanagerArgs) -> Result<alertmanager::Options, String> {
    if !a.cluster_tls_config.is_empty() {
        return Err(
            "--cluster.tls-config is not supported: Firewatch's cluster gossip is plain UDP"
                .to_owned(),
        );
    }
    for (flag, v) in [
        ("cluster.probe-timeout", &a.probe_timeout),
        ("cluster.tcp-timeout", &a.tcp_timeout),
        ("cluster.reconnect-interval", &a.reconnect_interval),
    ] {
        duration(flag, v)?;
    }
    Ok(alertmanager::Options {
        config_file: a.config_file.clone(),
        storage_path: a.storage_path.clone(),
        listen_address: a.listen_address.clone(),
        external_url: a.external_url.clone(),
        retention: duration("data.retention", &a.retention)?,
        cluster_listen_address: a.cluster_listen_address.clone(),
        cluster_peers: a.cluster_peer.clone(),
        cluster_advertise_address: a.cluster_advertise_address.clone(),
        peer_timeout: duration("cluster.peer-timeout", &a.peer_timeout)?,
        settle_timeout: duration("cluster.settle-timeout", &a.settle_timeout)?,
        gossip_interval: positive("cluster.gossip-interval", &a.gossip_interval)?,
        pushpull_interval: positive("cluster.pushpull-interval", &a.pushpull_interval)?,
        reconnect_timeout: duration("cluster.reconnect-timeout", &a.reconnect_timeout)?,
        probe_interval: positive("cluster.probe-interval", &a.probe_interval)?,
        cluster_label: a.cluster_label.clone(),
        get_concurrency: a.get_concurrency,
        alerts_fsync: a.alerts_fsync && !a.no_alerts_fsync,
        web_config: crate::web_config(a.web_config_file.as_deref())?,
        ..alertmanager::Options::default()
    })
}

/// `firewatch tool check-config FILE...`: amtool's report; exit code 1 when a file fails.
pub fn check_config(files: &[PathBuf]) -> ExitCode {
    match alertmanager::check::check_config(files, &mut std::io::stdout()) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            // kingpin ends its error with an empty line.
            eprintln!("amtool: error: failed to validate {n} file(s)\n");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("amtool: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The all-in-one Alertmanager: `:9093`, state under `<data>/alertmanager`, configuration
/// `<data>/firewatch-alertmanager.yml` (written with the defaults when missing).
///
/// # Errors
/// The default configuration cannot be written.
pub fn all_in_one(data: &std::path::Path) -> Result<alertmanager::Options, String> {
    let file = data.join("firewatch-alertmanager.yml");
    if !file.exists() {
        std::fs::create_dir_all(data)
            .and_then(|()| std::fs::write(&file, include_str!("default-alertmanager.yml")))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(alertmanager::Options {
        config_file: file,
        storage_path: data.join("alertmanager"),
        listen_address: ":9093".to_owned(),
        ..alertmanager::Options::default()
    })
}
