//! The rules manager: loads rule files into groups, keeps the state of unchanged rules across
//! reloads, runs each group on its interval, and offers a read-only view of groups and alerts.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use model::Labels;
use parking_lot::{Mutex, RwLock};
use storage::{AppendableRef, QueryableRef};
use tokio_util::sync::CancellationToken;

use crate::alert::AlertSender;
use crate::alerting::AlertingRule;
use crate::error::RulesError;
use crate::group::{Group, GroupSettings, Rule, Shared};
use crate::recording::RecordingRule;
use crate::rule::Status;
use crate::view::{AlertView, GroupView, group_view};

/// How the manager evaluates and where results go.
pub struct ManagerOptions {
    /// The PromQL engine rules run through.
    pub engine: promql::Engine,
    /// Where rules read.
    pub queryable: QueryableRef,
    /// Where recording rules and `ALERTS` series are written.
    pub appendable: AppendableRef,
    /// Where alerts go (the notifier); none: alerts are only kept and shown.
    pub sender: Option<Arc<dyn AlertSender>>,
    /// `--web.external-url`, for `$externalURL` and alerts' generator URLs (no trailing `/`).
    pub external_url: String,
    /// `--rules.alert.for-outage-tolerance` (1h).
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period` (10m).
    pub for_grace_period: Duration,
    /// `--rules.alert.resend-delay` (1m).
    pub resend_delay: Duration,
}

impl ManagerOptions {
    /// Options with Prometheus's defaults, no sender and no external URL.
    #[must_use]
    pub fn new(engine: promql::Engine, queryable: QueryableRef, appendable: AppendableRef) -> Self {
        Self {
            engine,
            queryable,
            appendable,
            sender: None,
            external_url: String::new(),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            resend_delay: Duration::from_secs(60),
        }
    }
}

/// Settings from `prometheus.yml` that apply to every group of an update.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOptions {
    /// `global.evaluation_interval`: the interval of groups that set none.
    pub interval: Duration,
    /// `global.rule_query_offset`: the offset of groups that set none.
    pub query_offset: Duration,
    /// `global.external_labels`, for `$externalLabels`.
    pub external_labels: Labels,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            query_offset: Duration::ZERO,
            external_labels: Labels::empty(),
        }
    }
}

#[derive(Default)]
struct Runner {
    handle: Option<tokio::runtime::Handle>,
    tasks: HashMap<usize, CancellationToken>,
}

/// Loads, runs and shows rule groups.
pub struct Manager {
    shared: Arc<Shared>,
    groups: RwLock<Vec<Arc<Group>>>,
    loaded_once: AtomicBool,
    runner: Mutex<Runner>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[allow(clippy::cast_possible_truncation)]
fn millis(d: Duration) -> i64 {
    d.as_millis() as i64
}

fn key(g: &Arc<Group>) -> usize {
    Arc::as_ptr(g) as usize
}

impl Manager {
    /// A manager with no groups.
    #[must_use]
    pub fn new(opts: ManagerOptions) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::new(Shared {
                engine: opts.engine,
                queryable: opts.queryable,
                appendable: opts.appendable,
                sender: opts.sender,
                external_url: opts.external_url.trim_end_matches('/').to_owned(),
                resend_delay: millis(opts.resend_delay),
                outage_tolerance: millis(opts.outage_tolerance),
                grace_period: millis(opts.for_grace_period),
                rule_duration: metrics::Summary::new(&metrics::SummaryOpts::new(
                    metrics::DEFAULT_OBJECTIVES,
                )),
                group_duration: metrics::Summary::new(&metrics::SummaryOpts::new(
                    crate::metrics::GROUP_DURATION_OBJECTIVES,
                )),
            }),
            groups: RwLock::new(Vec::new()),
            loaded_once: AtomicBool::new(false),
            runner: Mutex::new(Runner::default()),
        })
    }

    /// Loads `files` (paths, already expanded from `rule_files` globs) and replaces the groups:
    /// unchanged groups keep running untouched; changed groups take over the state of their
    /// rules that kept kind, name and labels; removed groups stop and their series are marked
    /// stale. On error nothing changes.
    ///
    /// # Errors
    /// An unreadable or invalid rule file (Prometheus's messages, with positions).
    pub fn update(&self, files: &[PathBuf], opts: &UpdateOptions) -> Result<(), RulesError> {
        self.update_with(files, &[], opts)
    }

    /// As [`Manager::update`], with rule files held in memory (already parsed, named by
    /// their path: rules generated from Kubernetes objects) after those read from `files`.
    ///
    /// # Errors
    /// As [`Manager::update`]; an invalid expression in `in_memory` too.
    pub fn update_with(
        &self,
        files: &[PathBuf],
        in_memory: &[(PathBuf, config::rules::RuleFile)],
        opts: &UpdateOptions,
    ) -> Result<(), RulesError> {
        let mut loaded = load_groups(files, opts)?;
        for (file, rf) in in_memory {
            loaded.extend(groups_of(file, rf.clone(), opts)?);
        }
        let first = !self.loaded_once.load(Ordering::Acquire);
        let old: Vec<Arc<Group>> = self.groups.read().clone();
        let mut old_by_key: HashMap<(PathBuf, String), Arc<Group>> = old
            .iter()
            .map(|g| {
                (
                    (g.settings.file.clone(), g.settings.name.clone()),
                    g.clone(),
                )
            })
            .collect();
        let mut new_groups = Vec::with_capacity(loaded.len());
        for (settings, mut rules) in loaded {
            let k = (settings.file.clone(), settings.name.clone());
            for r in &mut rules {
                if let Rule::Alerting(a) = r {
                    a.restored = !first;
                }
            }
            match old_by_key.remove(&k) {
                Some(og) if og.settings == settings => new_groups.push(og),
                Some(og) => {
                    let g = Group::new(settings, rules, false);
                    g.copy_state(&og);
                    new_groups.push(Arc::new(g));
                }
                None => new_groups.push(Arc::new(Group::new(settings, rules, first))),
            }
        }
        *self.groups.write() = new_groups.clone();
        self.loaded_once.store(true, Ordering::Release);
        let removed: Vec<Arc<Group>> = old_by_key.into_values().collect();
        {
            let mut runner = self.runner.lock();
            for g in &old {
                if !new_groups.iter().any(|n| Arc::ptr_eq(n, g))
                    && let Some(t) = runner.tasks.remove(&key(g))
                {
                    t.cancel();
                }
            }
            if let Some(handle) = runner.handle.clone() {
                for g in &new_groups {
                    runner
                        .tasks
                        .entry(key(g))
                        .or_insert_with(|| spawn_group(&handle, g.clone(), self.shared.clone()));
                }
            }
        }
        let now = now_ms();
        for g in removed {
            g.mark_stale(now, &self.shared);
        }
        Ok(())
    }

    /// Starts evaluating every group on its interval, and the groups of later updates.
    /// Must be called within a Tokio runtime.
    pub fn start(&self) {
        let handle = tokio::runtime::Handle::current();
        let mut runner = self.runner.lock();
        runner.handle = Some(handle.clone());
        for g in self.groups.read().iter() {
            runner
                .tasks
                .entry(key(g))
                .or_insert_with(|| spawn_group(&handle, g.clone(), self.shared.clone()));
        }
    }

    /// Stops all evaluation (groups keep their state).
    pub fn stop(&self) {
        let mut runner = self.runner.lock();
        runner.handle = None;
        for (_, t) in runner.tasks.drain() {
            t.cancel();
        }
    }

    /// Evaluates every group once at `ts` (ms), in file order, on the calling thread. Tests
    /// and `tool test rules` drive evaluation with it.
    pub fn eval_at(&self, ts: i64) {
        let groups = self.groups.read().clone();
        for g in groups {
            g.eval(ts, &self.shared);
        }
    }

    /// The groups with their rules and alerts.
    #[must_use]
    pub fn groups(&self) -> Vec<GroupView> {
        self.groups.read().iter().map(|g| group_view(g)).collect()
    }

    /// Every pending and firing alert of every alerting rule.
    #[must_use]
    pub fn alerts(&self) -> Vec<AlertView> {
        self.groups()
            .into_iter()
            .flat_map(|g| g.rules)
            .flat_map(|r| r.alerts)
            .collect()
    }
}

impl Manager {
    /// Marks every alerting rule's `for` state as restored (no restore at the first
    /// evaluation), as promtool's unit tests do.
    pub(crate) fn mark_restored(&self) {
        for g in self.groups.read().iter() {
            let mut st = g.state.lock();
            st.should_restore = false;
            for r in &mut st.rules {
                if let Rule::Alerting(a) = r {
                    a.restored = true;
                }
            }
        }
    }

    /// The groups themselves, in file order.
    pub(crate) fn group_handles(&self) -> Vec<Arc<Group>> {
        self.groups.read().clone()
    }

    /// Evaluates one group at `ts` (ms).
    pub(crate) fn eval_group(&self, g: &Group, ts: i64) {
        g.eval(ts, &self.shared);
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        for (_, t) in self.runner.get_mut().tasks.drain() {
            t.cancel();
        }
    }
}

/// Runs `group` at each of its aligned slots until cancelled.
fn spawn_group(
    handle: &tokio::runtime::Handle,
    group: Arc<Group>,
    shared: Arc<Shared>,
) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    handle.spawn(async move {
        let interval = group.settings.interval.max(1);
        let mut next = group.eval_timestamp(now_ms()) + interval;
        loop {
            let wait = u64::try_from(next - now_ms()).unwrap_or(0);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            let (g, sh) = (group.clone(), shared.clone());
            let ts = next;
            // A panic fails this evaluation only: the group runs again at its next slot.
            let eval = AssertUnwindSafe(tokio::task::spawn_blocking(move || g.eval(ts, &sh)))
                .catch_unwind()
                .await;
            if !matches!(eval, Ok(Ok(()))) {
                group.state.lock().panics += 1;
                tracing::error!(group = %group.settings.name, "rule group evaluation panicked");
            }
            // Skip slots missed while evaluating, as Prometheus does.
            let now = now_ms();
            next += interval;
            if next <= now {
                next = group.eval_timestamp(now) + interval;
            }
        }
    });
    token
}

/// The files named by `rule_files` patterns (globs; relative ones against `base`, the
/// configuration file's directory), in pattern order, each pattern's matches sorted.
///
/// # Errors
/// A malformed pattern.
pub fn expand_rule_files(patterns: &[String], base: &Path) -> Result<Vec<PathBuf>, RulesError> {
    let mut out = Vec::new();
    for p in patterns {
        let full = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            base.join(p)
        };
        let matched =
            config::glob::glob(&full.to_string_lossy()).map_err(|message| RulesError::Pattern {
                pattern: full.clone(),
                message,
            })?;
        for m in matched {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Reads the rule files into group settings and rules.
fn load_groups(
    files: &[PathBuf],
    opts: &UpdateOptions,
) -> Result<Vec<(GroupSettings, Vec<Rule>)>, RulesError> {
    let mut out = Vec::new();
    for file in files {
        let rf = config::rules::RuleFile::load(file)?;
        out.extend(groups_of(file, rf, opts)?);
    }
    Ok(out)
}

/// The group settings and rules of one parsed rule file.
fn groups_of(
    file: &Path,
    rf: config::rules::RuleFile,
    opts: &UpdateOptions,
) -> Result<Vec<(GroupSettings, Vec<Rule>)>, RulesError> {
    let mut out = Vec::new();
    let file = &file.to_path_buf();
    for g in rf.groups {
        let rules = g
            .rules
            .iter()
            .map(|r| build_rule(file, &g, r))
            .collect::<Result<Vec<_>, _>>()?;
        let interval = if g.interval.is_zero() {
            millis(opts.interval)
        } else {
            i64::try_from(g.interval.as_millis()).unwrap_or(i64::MAX)
        };
        let query_offset = g.query_offset.map_or_else(
            || millis(opts.query_offset),
            |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        );
        out.push((
            GroupSettings {
                file: file.clone(),
                name: g.name.clone(),
                interval,
                query_offset,
                limit: usize::try_from(g.limit).unwrap_or(0),
                source: g,
                external_labels: opts.external_labels.clone(),
            },
            rules,
        ));
    }
    Ok(out)
}

fn build_rule(
    file: &Path,
    g: &config::rules::RuleGroup,
    r: &config::rules::Rule,
) -> Result<Rule, RulesError> {
    let expr = promql::parser::parse(&r.expr).map_err(|e| RulesError::Expr {
        file: file.to_path_buf(),
        group: g.name.clone(),
        rule: r.name().to_owned(),
        message: e.to_string(),
    })?;
    let query = expr.to_string();
    let mut labels: BTreeMap<String, String> = g.labels.clone();
    labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(if r.is_alert() {
        Rule::Alerting(AlertingRule {
            name: r.alert.clone(),
            expr,
            query,
            hold: i64::try_from(r.for_.as_millis()).unwrap_or(i64::MAX),
            keep_firing_for: i64::try_from(r.keep_firing_for.as_millis()).unwrap_or(i64::MAX),
            labels,
            annotations: r.annotations.clone(),
            active: HashMap::new(),
            restored: true,
            status: Status::default(),
        })
    } else {
        Rule::Recording(RecordingRule {
            name: r.record.clone(),
            expr,
            query,
            labels,
            status: Status::default(),
        })
    })
}

impl metrics::Collector for Manager {
    /// The rule manager's metrics with Prometheus's names
    /// (`prometheus_rule_evaluations_total`, `prometheus_rule_group_last_duration_seconds`...),
    /// labelled `rule_group="<file>;<group>"`.
    fn collect(&self, out: &mut Vec<model::exposition::MetricFamily>) {
        crate::metrics::collect(&self.groups.read(), out);
        crate::metrics::collect_durations(&self.shared, out);
    }
}
