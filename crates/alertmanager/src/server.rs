//! The running Alertmanager: state stores, configuration (load and reload), the inhibitor,
//! pipeline and dispatcher built from it, maintenance (snapshots, garbage collection), and the
//! HTTP server (mirrors Alertmanager's `cmd/alertmanager/main.go` wiring).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::error::ConfigError;
use crate::inhibit::Inhibitor;
use crate::marker::Marker;
use crate::metrics::Metrics;
use crate::nflog::Nflog;
use crate::notify::mute::Silencer;
use crate::notify::pipeline;
use crate::route::Route;
use crate::silence::Silences;
use crate::stop::Stop;
use crate::store::Alerts;

/// Log bytes after which a snapshot (alerts, notification log, silences) is written and its log
/// compacted.
const LOG_COMPACT_BYTES: u64 = 16 << 20;

/// Flags of `firewatch alertmanager`.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--config.file`.
    pub config_file: PathBuf,
    /// `--storage.path`.
    pub storage_path: PathBuf,
    /// `--web.listen-address`.
    pub listen_address: String,
    /// `--web.external-url` (derived from the listen address when empty).
    pub external_url: String,
    /// `--data.retention`.
    pub retention: Duration,
    /// `--cluster.listen-address` (empty: no cluster).
    pub cluster_listen_address: String,
    /// `--cluster.peer`.
    pub cluster_peers: Vec<String>,
    /// `--cluster.advertise-address`.
    pub cluster_advertise_address: String,
    /// `--cluster.peer-timeout`.
    pub peer_timeout: Duration,
    /// How often snapshots are written and old state collected.
    pub maintenance_interval: Duration,
    /// `--cluster.gossip-interval`: how often gossip runs and local changes are published.
    pub gossip_interval: Duration,
    /// `--cluster.pushpull-interval`: how often every member's state is merged again.
    pub pushpull_interval: Duration,
    /// `--cluster.reconnect-timeout`: how long a dead member is remembered.
    pub reconnect_timeout: Duration,
    /// `--cluster.probe-interval`: a silent member is held dead after about five of them.
    pub probe_interval: Duration,
    /// `--cluster.label`: peers with another label are refused (empty: no label).
    pub cluster_label: String,
    /// `--web.config.file`, read: TLS, basic authentication and headers on the listener
    /// (none: plain HTTP).
    pub web_config: Option<web::webconfig::WebConfig>,
    /// `--web.get-concurrency`: GET requests served at once (0: CPUs or 8, the larger).
    pub get_concurrency: usize,
    /// `--cluster.settle-timeout`: how long the first notifications wait for the cluster to
    /// settle.
    pub settle_timeout: Duration,
    /// `--storage.alerts-fsync`: every accepted POST of alerts is fsynced before the answer
    /// (true); false (the default): written to the alerts log before the answer and synced
    /// in the background within a second, so a crash of the process loses none and a crash
    /// of the machine at most the last second of accepted alerts.
    pub alerts_fsync: bool,
    /// Rewrites the configuration file's text before it is parsed, and asks for reloads (the
    /// Kubernetes AlertmanagerConfig objects merged in; none: the file as written).
    pub config_hook: Option<ConfigHook>,
}

/// Makes the text to parse from the configuration file's.
pub type ConfigTransform = dyn Fn(&str) -> Result<String, String> + Send + Sync;

/// The text the configuration is parsed from, made from the file's, and a signal that it
/// changed (the configuration is then reloaded).
#[derive(Clone)]
pub struct ConfigHook {
    /// The text to parse, from the file's; an error fails the (re)load with it.
    pub transform: Arc<ConfigTransform>,
    /// Notified when `transform` would give another text.
    pub changed: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for ConfigHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigHook")
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config_file: PathBuf::from("alertmanager.yml"),
            storage_path: PathBuf::from("data/"),
            listen_address: ":9093".to_owned(),
            external_url: String::new(),
            retention: Duration::from_secs(120 * 3600),
            cluster_listen_address: String::new(),
            cluster_peers: Vec::new(),
            cluster_advertise_address: String::new(),
            peer_timeout: Duration::from_secs(15),
            maintenance_interval: Duration::from_secs(15 * 60),
            gossip_interval: Duration::from_millis(200),
            pushpull_interval: Duration::from_secs(60),
            reconnect_timeout: Duration::from_secs(6 * 3600),
            probe_interval: Duration::from_secs(1),
            cluster_label: String::new(),
            web_config: None,
            get_concurrency: 0,
            settle_timeout: Duration::from_secs(60),
            alerts_fsync: false,
            config_hook: None,
        }
    }
}

/// What the running configuration built.
struct Running {
    config: Arc<Config>,
    dispatcher: Arc<Dispatcher>,
    inhibitor: Arc<Inhibitor>,
    inhibitor_stop: Stop,
}

/// The Alertmanager's state, shared by the API and the background tasks.
pub struct Alertmanager {
    /// The flags.
    pub opts: Options,
    /// The alerts.
    pub alerts: Arc<Alerts>,
    /// Alert statuses.
    pub marker: Arc<Marker>,
    /// The silences.
    pub silences: Arc<Silences>,
    /// The notification log.
    pub nflog: Arc<Nflog>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// When it started.
    pub started: Timestamp,
    /// This instance in the cluster (`None`: clustering off).
    pub cluster: Option<Arc<crate::cluster::Peer>>,
    running: RwLock<Option<Running>>,
    reload_lock: Mutex<()>,
}

impl Alertmanager {
    /// Opens the state under the storage path and applies the configuration file.
    ///
    /// # Errors
    /// An invalid configuration or unreadable state, as text.
    pub fn open(opts: Options, registry: &metrics::Registry) -> Result<Arc<Self>, String> {
        std::fs::create_dir_all(&opts.storage_path)
            .map_err(|e| format!("{}: {e}", opts.storage_path.display()))?;
        let marker = Arc::new(Marker::default());
        let alerts = Arc::new(Alerts::new(
            marker.clone(),
            Some(opts.storage_path.join("alerts")),
        ));
        let silences = Arc::new(Silences::new(
            Some(opts.storage_path.join("silences")),
            opts.retention,
        ));
        let nflog = Arc::new(Nflog::new(
            Some(opts.storage_path.join("nflog")),
            opts.retention,
        ));
        silences.load().map_err(|e| e.to_string())?;
        nflog.load().map_err(|e| e.to_string())?;
        alerts.set_fsync(opts.alerts_fsync);
        alerts.load().map_err(|e| e.to_string())?;
        let metrics = Metrics::new(registry);
        silences.instrument(metrics.silences_state.clone());
        nflog.instrument(metrics.nflog.clone());
        let cluster = open_cluster(&opts, &silences, &nflog, registry)?;
        metrics
            .cluster_enabled
            .set(if cluster.is_some() { 1.0 } else { 0.0 });
        let am = Arc::new(Self {
            opts,
            alerts,
            marker,
            silences,
            nflog,
            metrics,
            started: Timestamp::now(),
            cluster,
            running: RwLock::new(None),
            reload_lock: Mutex::new(()),
        });
        am.reload().map_err(|e| e.to_string())?;
        Ok(am)
    }

    /// The external URL put in notifications.
    #[must_use]
    pub fn external_url(&self) -> String {
        if !self.opts.external_url.is_empty() {
            return self.opts.external_url.trim_end_matches('/').to_owned();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        let port = self
            .opts
            .listen_address
            .rsplit(':')
            .next()
            .unwrap_or("9093");
        format!("http://{host}:{port}")
    }

    /// Reads the configuration file again and applies it; on error the running one stays.
    ///
    /// # Errors
    /// The configuration's error.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let _guard = self.reload_lock.lock();
        let result = self.load_config().and_then(|c| self.apply(c));
        let ok = result.is_ok();
        self.metrics
            .config_last_reload_successful
            .set(if ok { 1.0 } else { 0.0 });
        if ok {
            self.metrics
                .config_last_reload_success_time
                .set(Timestamp::now().as_second() as f64);
        }
        result
    }

    /// The configuration file, through the hook's transform when there is one.
    fn load_config(&self) -> Result<Config, ConfigError> {
        let file = &self.opts.config_file;
        let Some(hook) = &self.opts.config_hook else {
            return Config::load_file(file);
        };
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        let text = (hook.transform)(&text).map_err(ConfigError::Invalid)?;
        let mut c = Config::parse(&text, file)?;
        let dir = file.parent().unwrap_or(std::path::Path::new("."));
        for t in &mut c.templates {
            if !std::path::Path::new(t).is_absolute() {
                *t = dir.join(&*t).display().to_string();
            }
        }
        c.file.clone_from(file);
        Ok(c)
    }

    fn apply(&self, cfg: Config) -> Result<(), ConfigError> {
        let route = Route::new(
            cfg.route
                .as_ref()
                .ok_or_else(|| ConfigError::Invalid("no routes provided".to_owned()))?,
        )
        .map_err(ConfigError::Invalid)?;
        let inhibitor = Arc::new(
            Inhibitor::new(&cfg.inhibit_rules, self.marker.clone())
                .map_err(ConfigError::Invalid)?,
        );
        let deps = pipeline::Deps {
            inhibitor: inhibitor.clone(),
            silencer: Arc::new(Silencer {
                silences: self.silences.clone(),
                marker: self.marker.clone(),
            }),
            nflog: self.nflog.clone(),
            metrics: self.metrics.clone(),
            wait: match &self.cluster {
                Some(c) => {
                    let c = c.clone();
                    Arc::new(move || c.wait())
                }
                None => Arc::new(|| Duration::ZERO),
            },
            external_url: self.external_url(),
            settled: self.cluster.as_ref().map(|c| c.settled()),
        };
        let tmpl = Arc::new(
            notifiers::Template::from_globs(&cfg.templates)
                .map_err(|e| ConfigError::Invalid(e.to_string()))?,
        );
        let receivers = pipeline::integrations(&cfg, &tmpl).map_err(ConfigError::Invalid)?;
        self.metrics.receivers.set(receivers.len() as f64);
        self.metrics
            .integrations
            .set(receivers.values().map(Vec::len).sum::<usize>() as f64);
        let stage = pipeline::build(&cfg, receivers, &deps);
        let hash = crate::labels::fingerprint(
            &std::iter::once((String::new(), cfg.original.clone())).collect(),
        );
        self.metrics.config_hash.set((hash >> 11) as f64);
        let dispatcher = Dispatcher::new(route, stage, self.metrics.clone(), deps.wait.clone());
        // The inhibitor first takes every stored alert so the first flushes see inhibitions.
        for a in self.alerts.list() {
            inhibitor.observe(&a);
        }
        let inhibitor_stop = Stop::default();
        tokio::spawn(
            inhibitor
                .clone()
                .run(self.alerts.clone(), inhibitor_stop.clone()),
        );
        tokio::spawn(dispatcher.clone().run(self.alerts.clone()));
        let old = self.running.write().replace(Running {
            config: Arc::new(cfg),
            dispatcher,
            inhibitor,
            inhibitor_stop,
        });
        if let Some(old) = old {
            old.dispatcher.stop();
            old.inhibitor_stop.fire();
        }
        Ok(())
    }

    /// The running configuration.
    ///
    /// # Panics
    /// Before the first configuration was applied (never after `open`).
    #[must_use]
    pub fn config(&self) -> Arc<Config> {
        self.running
            .read()
            .as_ref()
            .expect("configured")
            .config
            .clone()
    }

    /// The running dispatcher.
    ///
    /// # Panics
    /// Before the first configuration was applied (never after `open`).
    #[must_use]
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        self.running
            .read()
            .as_ref()
            .expect("configured")
            .dispatcher
            .clone()
    }

    /// The running inhibitor.
    ///
    /// # Panics
    /// Before the first configuration was applied (never after `open`).
    #[must_use]
    pub fn inhibitor(&self) -> Arc<Inhibitor> {
        self.running
            .read()
            .as_ref()
            .expect("configured")
            .inhibitor
            .clone()
    }

    /// Snapshots and garbage collection.
    pub fn maintenance(&self) {
        let now = Timestamp::now();
        self.alerts.gc(now);
        self.inhibitor().gc(now);
        let started = std::time::Instant::now();
        self.silences.gc(now);
        self.metrics
            .silences_state
            .gc_duration
            .observe(started.elapsed().as_secs_f64());
        let started = std::time::Instant::now();
        self.nflog.gc(now);
        self.metrics
            .nflog
            .gc_duration
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = self.alerts.snapshot() {
            tracing::error!(err = %e, "writing the alerts snapshot");
        }
        if let Err(e) = self.nflog.snapshot() {
            tracing::error!(err = %e, "writing the notification log snapshot");
        }
        if let Err(e) = self.silences.snapshot() {
            tracing::error!(err = %e, "writing the silences snapshot");
        }
    }

    /// Updates the state gauges (alerts and silences by state).
    pub fn update_gauges(&self) {
        let now = Timestamp::now();
        let (mut active, mut suppressed, mut unprocessed) = (0, 0, 0);
        for a in self.alerts.list() {
            if a.resolved_at(now) {
                continue;
            }
            match self.marker.status(a.fingerprint()).state {
                crate::marker::AlertState::Active => active += 1,
                crate::marker::AlertState::Suppressed => suppressed += 1,
                crate::marker::AlertState::Unprocessed => unprocessed += 1,
            }
        }
        for (s, n) in [
            ("active", active),
            ("suppressed", suppressed),
            ("unprocessed", unprocessed),
        ] {
            self.metrics
                .alerts
                .with_label_values(&[s])
                .set(f64::from(n));
        }
        for (st, n) in self.marker.counts() {
            self.metrics
                .marked_alerts
                .with_label_values(&[st.as_str()])
                .set(n as f64);
        }
        for (st, n) in self.silences.counts(now) {
            self.metrics
                .silences
                .with_label_values(&[st.as_str()])
                .set(n as f64);
        }
    }
}

/// Runs the Alertmanager until SIGTERM or SIGINT: the API on the listen address, reload on
/// SIGHUP, maintenance on its interval.
///
/// # Errors
/// An invalid configuration, unreadable state, or an address that cannot be bound.
pub async fn run(opts: Options) -> Result<(), String> {
    let stop = Stop::default();
    run_until(opts, stop, true).await
}

/// Runs the Alertmanager until `stop` fires (or, with `signals`, SIGTERM/SIGINT).
///
/// # Errors
/// An invalid configuration, unreadable state, or an address that cannot be bound.
pub async fn run_until(opts: Options, stop: Stop, signals: bool) -> Result<(), String> {
    let registry = metrics::Registry::new();
    let am = Alertmanager::open(opts.clone(), &registry)?;
    let addr = listen_addr(&opts.listen_address)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listen tcp {addr}: {e}"))?;
    tracing::info!(address = %addr, "Listening");
    let app = crate::api::router(am.clone(), registry);
    if let Some(c) = &am.cluster {
        c.start().await?;
        // Alertmanager polls the member count every ten gossip intervals.
        c.settle(opts.settle_timeout, opts.gossip_interval * 10);
        tracing::info!(name = %c.name(), peers = ?opts.cluster_peers, "cluster started");
    }
    {
        let am = am.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(am.opts.maintenance_interval);
            let mut fast = tokio::time::interval(Duration::from_secs(1));
            let mut ticks = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick() => am.maintenance(),
                    // Accepted alerts are in the log at once; the snapshot compacts it
                    // when it has grown.
                    _ = fast.tick() => {
                        ticks += 1;
                        if ticks.is_multiple_of(5) {
                            crate::memory::trim();
                        }
                        if am.alerts.log_bytes() > LOG_COMPACT_BYTES
                            && let Err(e) = am.alerts.snapshot()
                        {
                            tracing::error!(err = %e, "writing the alerts snapshot");
                        }
                        if am.nflog.log_bytes() > LOG_COMPACT_BYTES
                            && let Err(e) = am.nflog.snapshot()
                        {
                            tracing::error!(err = %e, "writing the notification log snapshot");
                        }
                        if am.silences.log_bytes() > LOG_COMPACT_BYTES
                            && let Err(e) = am.silences.snapshot()
                        {
                            tracing::error!(err = %e, "writing the silences snapshot");
                        }
                    }
                    () = stop.wait() => return,
                }
            }
        });
    }
    if signals {
        spawn_signals(am.clone(), stop.clone());
    }
    if let Some(hook) = &opts.config_hook {
        let (am, stop, changed) = (am.clone(), stop.clone(), hook.changed.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = changed.notified() => {
                        if let Err(e) = am.reload() {
                            tracing::error!(err = %e, "Loading configuration file failed");
                        }
                    }
                    () = stop.wait() => return,
                }
            }
        });
    }
    let shutdown = {
        let stop = stop.clone();
        async move { stop.wait().await }
    };
    web::serve::serve(listener, app, opts.web_config.clone(), shutdown)
        .await
        .map_err(|e| format!("--web.config.file: {e}"))?;
    if let Some(c) = &am.cluster {
        c.shutdown().await;
    }
    am.dispatcher().stop();
    am.maintenance();
    Ok(())
}

/// The cluster peer when `--cluster.listen-address` is set. A cluster address that cannot be
/// bound is an error when peers are listed, and only a warning (single instance) otherwise.
fn open_cluster(
    opts: &Options,
    silences: &Arc<Silences>,
    nflog: &Arc<Nflog>,
    registry: &metrics::Registry,
) -> Result<Option<Arc<crate::cluster::Peer>>, String> {
    if opts.cluster_listen_address.is_empty() {
        return Ok(None);
    }
    let listen = listen_addr(&opts.cluster_listen_address).map_err(|_| {
        format!(
            "invalid --cluster.listen-address {:?}",
            opts.cluster_listen_address
        )
    })?;
    let settings = crate::cluster::Settings {
        listen,
        advertise: crate::cluster::advertise_address(&opts.cluster_advertise_address, listen),
        peers: opts.cluster_peers.clone(),
        peer_timeout: opts.peer_timeout,
        gossip_interval: opts.gossip_interval,
        pushpull_interval: opts.pushpull_interval,
        reconnect_timeout: opts.reconnect_timeout,
        dead_after: opts.probe_interval * 5,
        label: opts.cluster_label.clone(),
    };
    let states: Vec<Arc<dyn crate::cluster::Replicated>> = vec![silences.clone(), nflog.clone()];
    match crate::cluster::Peer::new(settings, states, registry) {
        Ok(p) => Ok(Some(p)),
        Err(e) if opts.cluster_peers.is_empty() => {
            tracing::warn!(err = %e, "running as a single instance");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .map_err(|_| format!("invalid --web.listen-address {s:?}"))
}

fn spawn_signals(am: Arc<Alertmanager>, stop: Stop) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    if let Err(e) = am.reload() {
                        tracing::error!(err = %e, "Loading configuration file failed");
                    }
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        stop.fire();
    });
}
