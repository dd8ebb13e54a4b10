//! `firewatch server`: the wiring of the server's parts (its flags are in `server/args.rs`).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use parking_lot::{Mutex, RwLock};
use tracing::{error, info};

use promql::Engine;
use tsdb::Db;
use web::{WebOptions, WebState};

use crate::alerting::Alerting;

mod agent;
mod args;

pub use args::ServerArgs;
use args::duration_flag;

/// Loads configuration files and applies them to discovery and scraping.
struct Reloader {
    config_file: PathBuf,
    discovery: discovery::Manager,
    scrape: Arc<scrape::Manager>,
    /// The loaded configuration, redacted, as `/api/v1/status/config` shows it.
    config_yaml: Arc<RwLock<String>>,
    /// `global.external_labels`, as `/federate` adds them.
    external_labels: Arc<RwLock<model::Labels>>,
    /// Rule evaluation and the notifier.
    alerting: Arc<Alerting>,
    /// The storage, for its reloadable settings (exemplar buffer, out-of-order window);
    /// none in agent mode.
    db: Option<Arc<Db>>,
    /// The `remote_write` queues.
    remote_write: Arc<remote::WriteStorage>,
    /// The `remote_read` endpoints merged into queries.
    remote_read: Arc<remote::ReadStorage>,
    /// `prometheus_config_last_reload_successful`.
    reload_successful: metrics::Gauge,
    /// `prometheus_config_last_reload_success_timestamp_seconds`.
    reload_success_time: metrics::Gauge,
    /// Agent mode: configurations with rules, alerting or remote read are refused.
    agent: bool,
    /// The Operator's resources (`kubernetes_operator`), watched through the API.
    operator: crate::operator::OperatorWatch,
    /// The configuration last applied, to apply the operator's changes with.
    applied: Mutex<Option<config::Config>>,
}

impl Reloader {
    /// Loads the configuration file and applies it; on error the running one stays. The
    /// outcome is counted as Prometheus counts it.
    fn reload(&self) -> anyhow::Result<()> {
        let done = self.apply();
        self.reload_successful
            .set(if done.is_ok() { 1.0 } else { 0.0 });
        if done.is_ok() {
            self.reload_success_time.set_to_current_time();
        }
        done
    }

    fn apply(&self) -> anyhow::Result<()> {
        let cfg = config::Config::load(&self.config_file).with_context(|| {
            format!("loading configuration file {}", self.config_file.display())
        })?;
        if self.agent {
            cfg.check_agent_mode().with_context(|| {
                format!("loading configuration file {}", self.config_file.display())
            })?;
        }
        if let Some(db) = &self.db {
            db.apply_config(
                usize::try_from(cfg.storage.exemplars.max_exemplars).unwrap_or(0),
                i64::try_from(cfg.storage.tsdb.out_of_order_time_window.as_millis()).unwrap_or(0),
            )
            .context("applying the storage settings")?;
        }
        let mut applied = self.applied.lock();
        let generated = self.operator.sync(&cfg);
        let jobs = self.scrape_jobs(&cfg, &generated)?;
        self.scrape.apply_config(&jobs);
        let failed = self
            .discovery
            .apply_config(&discovery::from_config::scrape_jobs(&jobs));
        if failed > 0 {
            bail!("{failed} service discovery configuration(s) could not be started");
        }
        self.alerting
            .apply_config(&cfg, &self.operator_rules(&generated))?;
        self.remote_write
            .apply_config(&cfg)
            .context("starting remote write")?;
        self.remote_read
            .apply_config(&cfg)
            .context("starting remote read")?;
        *self.config_yaml.write() = cfg.to_yaml();
        *self.external_labels.write() = model::Labels::from_pairs(&cfg.global.external_labels);
        // Blocks written from now on carry them in meta.json's `thanos` section.
        if let Some(db) = &self.db {
            db.set_external_labels(
                cfg.global
                    .external_labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            );
        }
        *applied = Some(cfg);
        info!(file = %self.config_file.display(), "completed loading of configuration file");
        Ok(())
    }

    /// The file's jobs, then those generated from the Operator's resources.
    fn scrape_jobs(
        &self,
        cfg: &config::Config,
        generated: &operator::Generated,
    ) -> anyhow::Result<Vec<config::ScrapeConfig>> {
        let mut jobs = cfg.all_scrape_configs()?;
        let taken = jobs.iter().map(|j| j.job_name.clone()).collect();
        jobs.extend(operator::server::scrape_jobs(cfg, generated, &taken));
        Ok(jobs)
    }

    /// The PrometheusRules' rule files (none in agent mode).
    fn operator_rules(
        &self,
        generated: &operator::Generated,
    ) -> Vec<(PathBuf, config::rules::RuleFile)> {
        if self.agent {
            return Vec::new();
        }
        operator::server::rule_files(generated)
    }

    /// Applies what the Operator's resources generate now, with the configuration last
    /// applied: their scrape pools and rule groups change, the rest stays.
    fn apply_operator(&self) {
        let applied = self.applied.lock();
        let Some(cfg) = applied.as_ref() else { return };
        let generated = self.operator.current();
        let jobs = match self.scrape_jobs(cfg, &generated) {
            Ok(jobs) => jobs,
            Err(e) => {
                error!("applying the Operator's resources: {e:#}");
                return;
            }
        };
        self.scrape.apply_config(&jobs);
        self.discovery
            .apply_config(&discovery::from_config::scrape_jobs(&jobs));
        if let Err(e) = self
            .alerting
            .update_rules(cfg, &self.operator_rules(&generated))
        {
            error!("applying the PrometheusRules: {e:#}");
        }
        info!(
            scrape_configs = generated.scrape_configs.len(),
            rule_files = generated.rules.files.len(),
            "applied the Operator's resources"
        );
    }
}

/// Lets the lifecycle endpoints reload and stop the server.
struct Hooks {
    shutdown: tokio::sync::watch::Sender<bool>,
    reloader: Arc<Reloader>,
}

impl web::LifecycleHooks for Hooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move { self.reloader.reload().map_err(|e| format!("{e:#}")) })
    }

    fn quit(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Runs the server until SIGINT, SIGTERM or `/-/quit`.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let mut db_opts = args.db_options()?;
    // Storage settings of the configuration file that the TSDB needs when it opens (a bad
    // file is reported by the first reload below).
    if let Ok(cfg) = config::Config::load(&args.config_file) {
        db_opts.max_exemplars = usize::try_from(cfg.storage.exemplars.max_exemplars).unwrap_or(0);
        db_opts.out_of_order_time_window =
            i64::try_from(cfg.storage.tsdb.out_of_order_time_window.as_millis()).unwrap_or(0);
    }
    let web_config = args
        .web_config_file
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| web::webconfig::WebConfig::load(std::path::Path::new(p)))
        .transpose()
        .context("invalid --web.config.file")?;
    web::cors::CorsOrigin::new(&args.cors_origin)
        .map_err(anyhow::Error::msg)
        .context("invalid --web.cors.origin")?;
    let registry = metrics::Registry::new();
    let engine = Engine::with_registry(args.engine_options()?, &registry);
    let agent = args.agent_mode();
    // Agent mode keeps series and the WAL only (`tsdb::agent`), a server the whole TSDB.
    let (db, agent_db) = if agent {
        info!("running in agent mode: scraping and remote write only");
        let path = PathBuf::from(&args.agent_path);
        info!(path = %path.display(), "opening agent storage");
        let a = agent::open(path).await.context("opening agent storage")?;
        (None, Some(a))
    } else {
        let path = PathBuf::from(&args.tsdb_path);
        info!(path = %path.display(), "opening storage");
        let db = tokio::task::spawn_blocking(move || Db::open(&path, db_opts))
            .await?
            .context("opening storage")?;
        info!("TSDB started");
        (Some(Arc::new(db)), None)
    };
    let agent_retention = agent_db
        .is_some()
        .then(|| agent::Retention::from_args(&args))
        .transpose()?;
    let data_dir = match (&db, &agent_db) {
        (Some(db), _) => db.dir().to_path_buf(),
        (None, Some(a)) => a.dir().to_path_buf(),
        (None, None) => unreachable!("one storage is open"),
    };
    // What scraping, rules and the receiver append to, and what queries read.
    let (local, queryable): (storage::AppendableRef, storage::QueryableRef) = match &db {
        Some(db) => (db.clone(), db.clone()),
        None => {
            let none = Arc::new(storage::memory::MemoryStorage::new());
            let agent_db = agent_db.clone().expect("agent storage");
            (agent_db, none)
        }
    };

    let (shutdown_tx, mut shutdown_rx) = tokio::sync::watch::channel(false);
    // Scraped samples go to the TSDB and, once committed, to the remote write queues.
    // The queues follow the TSDB's WAL (in agent mode, the agent's).
    let remote_write = Arc::new(remote::WriteStorage::new(
        &registry,
        tokio::runtime::Handle::current(),
        &data_dir,
    ));
    if let (Some(a), Some(r)) = (&agent_db, agent_retention) {
        // As Prometheus's agent: WAL truncation keeps what the queues have not sent.
        agent::hold_for_queues(a, &remote_write, r);
    }
    let fanout: storage::AppendableRef =
        Arc::new(remote::Fanout::new(local.clone(), remote_write.clone()));
    let scrape = Arc::new(scrape::Manager::with_registry(fanout.clone(), &registry));
    let (discovery, mut target_sets) =
        discovery::Manager::with_registry(discovery::ManagerOptions::default(), &registry);
    let config_yaml = Arc::new(RwLock::new(String::new()));
    let external_labels = Arc::new(RwLock::new(model::Labels::default()));
    // Queries (and rules) read the TSDB merged with the remote_read endpoints.
    let local_db = db.clone();
    let remote_read = Arc::new(remote::ReadStorage::new(
        queryable.clone(),
        Arc::new(move || {
            let Some(local) = &local_db else {
                return i64::MAX;
            };
            let blocks = local.blocks().iter().map(|b| b.meta().min_time).min();
            blocks.unwrap_or(i64::MAX).min(local.head().min_time())
        }),
        tokio::runtime::Handle::current(),
        &registry,
    ));
    let alerting = Arc::new(Alerting::start(
        rules::ManagerOptions {
            // Recording rules' results are remote-written too, as in Prometheus.
            appendable: fanout,
            queryable: remote_read.clone(),
            ..args.rules_options(engine.clone(), queryable, local.clone())?
        },
        args.notification_queue_capacity,
        &registry,
    ));
    let storage_metrics: Arc<dyn metrics::Collector> = match (&db, &agent_db) {
        (Some(db), _) => db.clone(),
        (None, Some(a)) => a.clone(),
        (None, None) => unreachable!("one storage is open"),
    };
    register_own_metrics(&registry, storage_metrics, &alerting);
    let reloader = Arc::new(Reloader {
        config_file: PathBuf::from(&args.config_file),
        discovery,
        scrape: scrape.clone(),
        config_yaml: config_yaml.clone(),
        external_labels: external_labels.clone(),
        alerting: alerting.clone(),
        db: db.clone(),
        remote_write,
        remote_read: remote_read.clone(),
        reload_successful: registry.gauge(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
        ),
        reload_success_time: registry.gauge(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        ),
        agent,
        operator: crate::operator::OperatorWatch::default(),
        applied: Mutex::new(None),
    });
    reloader.reload()?;
    let operator_reloader = reloader.clone();
    let operator_changes = tokio::spawn(async move {
        let changed = operator_reloader.operator.changed.clone();
        loop {
            changed.notified().await;
            let r = operator_reloader.clone();
            let _ = tokio::task::spawn_blocking(move || r.apply_operator()).await;
        }
    });
    let retention = args
        .retention_time
        .clone()
        .unwrap_or_else(|| "15d".to_owned());
    let state = Arc::new(WebState {
        queryable: remote_read,
        engine: Arc::new(engine),
        options: WebOptions {
            enable_lifecycle: args.enable_lifecycle,
            enable_admin_api: args.enable_admin_api,
            flags: args.flag_map(),
            start_time: jiff::Timestamp::now().to_string(),
            storage_retention: retention,
            external_url: args.computed_external_url(),
            route_prefix: args.computed_route_prefix(),
            cors_origin: args.cors_origin.clone(),
            lookback_delta: Duration::from_millis(
                duration_flag("query.lookback-delta", &args.lookback_delta)?.unsigned_abs(),
            ),
            agent,
        },
        ready: AtomicBool::new(true),
        hooks: Arc::new(Hooks {
            shutdown: shutdown_tx.clone(),
            reloader: reloader.clone(),
        }),
        targets: Some(Arc::new(crate::web_sources::TargetsView(scrape.clone()))),
        config_yaml,
        metrics: Some(registry.clone()),
        tsdb: db.clone().map(|db| {
            Arc::new(crate::web_sources::TsdbView(db)) as web::sources::TsdbAdminStatsRef
        }),
        exemplars: db
            .clone()
            .map(|db| db as Arc<dyn storage::ExemplarQueryable>),
        rules: (!agent).then(|| alerting.rules_view()),
        alertmanagers: (!agent).then(|| alerting.alertmanagers_view()),
        external_labels,
        remote_write: args.enable_remote_write_receiver.then(|| local.clone()),
    });
    let scrape_for_sync = scrape.clone();
    let syncer = tokio::spawn(async move {
        while let Some(sets) = target_sets.recv().await {
            scrape_for_sync.sync(sets);
        }
    });
    let hup_reloader = reloader.clone();
    let sighup = tokio::spawn(async move {
        #[cfg(unix)]
        {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                if let Err(e) = hup_reloader.reload() {
                    error!("error reloading config: {e:#}");
                }
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(&args.listen_address)
        .await
        .with_context(|| format!("listening on {}", args.listen_address))?;
    info!(address = %listener.local_addr()?, "listening");

    let maintenance = db.clone().map(|db| tokio::spawn(maintain(db)));
    let agent_truncation = match (&agent_db, agent_retention) {
        (Some(a), Some(r)) => Some(tokio::spawn(agent::truncate_loop(
            a.clone(),
            reloader.remote_write.clone(),
            r,
        ))),
        _ => None,
    };
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = shutdown_tx.send(true);
    });
    let limits = web::serve::Limits {
        read_timeout: Duration::from_millis(
            duration_flag("web.read-timeout", &args.read_timeout)?.unsigned_abs(),
        ),
        max_connections: args.max_connections,
    };
    let shutdown = async move {
        let _ = shutdown_rx.wait_for(|stop| *stop).await;
        info!("received shutdown request");
    };
    web::serve::serve_with_limits(listener, web::router(state), web_config, shutdown, limits)
        .await?;
    if let Some(t) = maintenance {
        t.abort();
    }
    if let Some(t) = agent_truncation {
        t.abort();
    }
    signals.abort();
    sighup.abort();
    syncer.abort();
    operator_changes.abort();
    reloader.operator.stop();
    reloader.discovery.stop();
    scrape.stop().await;
    alerting.stop().await;
    // The remote write queues save their positions (what is unsent is sent after a restart).
    let rw = reloader.remote_write.clone();
    tokio::task::spawn_blocking(move || rw.stop()).await?;
    tokio::task::spawn_blocking(move || match (db, agent_db) {
        (Some(db), _) => db.close(),
        (None, Some(a)) => a.close(),
        (None, None) => Ok(()),
    })
    .await?
    .context("closing storage")?;
    info!("see you next time");
    Ok(())
}

/// Registers the server's own metrics (served at `/metrics`): the process, the TSDB, rules
/// and notifier, and the build info; the other components register theirs when built.
fn register_own_metrics(
    registry: &metrics::Registry,
    db: Arc<dyn metrics::Collector>,
    alerting: &Alerting,
) {
    registry.register_collector(Arc::new(metrics::ProcessCollector::new()));
    registry.register_collector(db);
    alerting.register_metrics(registry);
    discovery::register_sd_metrics(registry);
    // Firewatch answers ready once it serves.
    registry
        .gauge(
            "prometheus_ready",
            "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
        )
        .set(1.0);
    registry
        .gauge_vec(
            "firewatch_build_info",
            "A metric with a constant '1' value labeled by version.",
            &["version"],
        )
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1.0);
}

/// Compacts the head into blocks and applies retention, once a minute as Prometheus does, and
/// as soon as the head spans more than 1.5 block ranges (Prometheus checks that after every
/// commit; here every second).
async fn maintain(db: Arc<Db>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = tokio::time::Instant::now();
    // After a failure (a full disk) the next attempt waits 1 s, 2 s, 4 s ... up to a minute,
    // as Prometheus's db.run backs off, instead of failing and logging every second.
    let mut backoff = Duration::ZERO;
    loop {
        tick.tick().await;
        if last.elapsed() < Duration::from_secs(60)
            && (last.elapsed() < backoff || !tsdb::db::compact::head_compactable(db.head()))
        {
            continue;
        }
        last = tokio::time::Instant::now();
        let db = db.clone();
        let done = tokio::task::spawn_blocking(move || {
            db.compact()?;
            db.apply_retention()
        })
        .await;
        match done {
            Ok(Ok(())) => backoff = Duration::ZERO,
            Ok(Err(e)) => {
                backoff = (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
                error!(error = %e, retry_in_s = backoff.as_secs(), "compaction failed");
            }
            Err(e) => error!(error = %e, "compaction task failed"),
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
