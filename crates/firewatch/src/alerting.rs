//! Rule evaluation and alert delivery in the server: the rules manager and the notifier, set
//! up from the configuration, and their state as the web API shows it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use config::rules::RuleFile;
use rules::notifier::{Notifier, NotifierOptions};
use rules::{Manager, ManagerOptions, UpdateOptions};
use web::api::rules::{
    AlertState, AlertView, AlertmanagerRetriever, RuleCommon, RuleGroupView, RuleHealth, RuleView,
    RulesRetriever,
};

/// The rules manager and the notifier it sends to.
pub struct Alerting {
    /// Evaluates the rule groups.
    pub rules: Arc<Manager>,
    /// Sends alerts to the Alertmanagers.
    pub notifier: Notifier,
    notifier_task: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Alerting {
    /// Starts a notifier (queue of `queue_capacity` alerts) and a rules manager over the
    /// server's storage and engine; rule files come with the first [`Alerting::apply_config`].
    /// The Alertmanager discovery counts into `registry` (`prometheus_sd_*{name="notify"}`).
    pub fn start(
        mut options: ManagerOptions,
        queue_capacity: usize,
        registry: &metrics::Registry,
    ) -> Alerting {
        let notifier = Notifier::new(NotifierOptions {
            queue_capacity,
            registry: registry.clone(),
            ..NotifierOptions::default()
        });
        let task = {
            let n = notifier.clone();
            tokio::spawn(async move { n.run().await })
        };
        options.sender = Some(Arc::new(notifier.clone()));
        let rules = Manager::new(options);
        rules.start();
        Alerting {
            rules,
            notifier,
            notifier_task: parking_lot::Mutex::new(Some(task)),
        }
    }

    /// Applies `cfg`: Alertmanagers first, then the rule files (their paths resolved against
    /// the configuration file's directory when it was loaded).
    ///
    /// # Errors
    /// Invalid Alertmanager settings or rule files; what ran before keeps running.
    pub fn apply_config(
        &self,
        cfg: &config::Config,
        in_memory: &[(PathBuf, RuleFile)],
    ) -> anyhow::Result<()> {
        self.notifier.apply_config(cfg)?;
        self.update_rules(cfg, in_memory)
    }

    /// Loads the rule files of `cfg`, then the rule files held in memory (the Operator's
    /// PrometheusRules), replacing the running groups.
    ///
    /// # Errors
    /// An invalid rule file; the running groups stay.
    pub fn update_rules(
        &self,
        cfg: &config::Config,
        in_memory: &[(PathBuf, RuleFile)],
    ) -> anyhow::Result<()> {
        let files = cfg.rule_file_paths()?;
        let options = UpdateOptions {
            interval: cfg.global.evaluation_interval.to_std(),
            query_offset: cfg.global.rule_query_offset.to_std(),
            external_labels: model::Labels::from_pairs(&cfg.global.external_labels),
        };
        self.rules.update_with(&files, in_memory, &options)?;
        Ok(())
    }

    /// Stops evaluating, then sends what is queued and stops the notifier.
    pub async fn stop(&self) {
        self.rules.stop();
        self.notifier.stop();
        let task = self.notifier_task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Registers the rule group and notification metrics (Prometheus's names) in `registry`.
    pub fn register_metrics(&self, registry: &metrics::Registry) {
        registry.register_collector(self.rules.clone());
        registry.register_collector(Arc::new(self.notifier.clone()));
    }

    /// The rule groups, for `/api/v1/rules` and `/api/v1/alerts`.
    pub fn rules_view(&self) -> Arc<dyn RulesRetriever> {
        Arc::new(RulesOf(self.rules.clone()))
    }

    /// The Alertmanagers, for `/api/v1/alertmanagers`.
    pub fn alertmanagers_view(&self) -> Arc<dyn AlertmanagerRetriever> {
        Arc::new(AlertmanagersOf(self.notifier.clone()))
    }
}

struct RulesOf(Arc<Manager>);

fn time_of(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
}

fn state_of(s: rules::AlertState) -> AlertState {
    match s {
        rules::AlertState::Inactive => AlertState::Inactive,
        rules::AlertState::Pending => AlertState::Pending,
        rules::AlertState::Firing => AlertState::Firing,
    }
}

fn alert_of(a: &rules::AlertView) -> AlertView {
    AlertView {
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        state: state_of(a.state),
        active_at: Some(time_of(a.active_at)),
        keep_firing_since: a.keep_firing_since.map(time_of),
        value: a.value,
    }
}

fn rule_of(r: &rules::RuleView) -> RuleView {
    let common = RuleCommon {
        name: r.name.clone(),
        query: r.query.clone(),
        labels: r.labels.clone(),
        health: match r.health {
            rules::Health::Unknown => RuleHealth::Unknown,
            rules::Health::Good => RuleHealth::Ok,
            rules::Health::Bad => RuleHealth::Err,
        },
        last_error: r.last_error.clone().unwrap_or_default(),
        evaluation_seconds: r.evaluation_time.as_secs_f64(),
        last_evaluation: r.last_evaluation.map(time_of),
    };
    match r.kind {
        rules::RuleKind::Recording => RuleView::Recording(common),
        rules::RuleKind::Alerting => RuleView::Alerting {
            common,
            state: r.state.map_or(AlertState::Inactive, state_of),
            duration_seconds: r.duration.as_secs_f64(),
            keep_firing_for_seconds: r.keep_firing_for.as_secs_f64(),
            annotations: r.annotations.clone(),
            alerts: r.alerts.iter().map(alert_of).collect(),
        },
    }
}

impl RulesRetriever for RulesOf {
    fn rule_groups(&self) -> Vec<RuleGroupView> {
        self.0
            .groups()
            .iter()
            .map(|g| RuleGroupView {
                name: g.name.clone(),
                file: g.file.display().to_string(),
                interval_seconds: g.interval.as_secs_f64(),
                limit: g.limit as u64,
                evaluation_seconds: g.evaluation_time.as_secs_f64(),
                last_evaluation: g.last_evaluation.map(time_of),
                rules: g.rules.iter().map(rule_of).collect(),
            })
            .collect()
    }
}

struct AlertmanagersOf(Notifier);

impl AlertmanagerRetriever for AlertmanagersOf {
    fn active_alertmanagers(&self) -> Vec<String> {
        self.0.alertmanagers().0
    }

    fn dropped_alertmanagers(&self) -> Vec<String> {
        self.0.alertmanagers().1
    }
}
