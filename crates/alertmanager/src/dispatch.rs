//! The dispatcher: routes each alert from the store's feed, keeps one aggregation group per
//! route and group labels, and flushes each group through the pipeline after `group_wait`,
//! then every `group_interval` (mirrors Alertmanager's `dispatch/dispatch.go`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::alert::{Alert, compare};
use crate::labels::{LabelSet, fingerprint, label_set_string};
use crate::metrics::Metrics;
use crate::notify::{NotifyCtx, StageRef};
use crate::route::Route;
use crate::stop::Stop;
use crate::store::Alerts;

/// The shortest time a flush may take before it is canceled (`notify.MinTimeout`).
const MIN_TIMEOUT: Duration = Duration::from_secs(10);

/// One aggregation group: the alerts of one route with the same group labels.
pub struct AggrGroup {
    /// The group labels.
    pub labels: LabelSet,
    /// The route.
    pub route: Arc<Route>,
    /// `route key:labels`.
    pub key: String,
    alerts: Mutex<HashMap<u64, Arc<Alert>>>,
    state: Mutex<(Instant, bool)>,
    wake: Notify,
    done: Stop,
}

impl AggrGroup {
    fn new(route: Arc<Route>, labels: LabelSet) -> Self {
        let key = format!("{}:{}", route.key, label_set_string(&labels));
        let first = Instant::now() + route.opts.group_wait;
        Self {
            labels,
            route,
            key,
            alerts: Mutex::new(HashMap::new()),
            state: Mutex::new((first, false)),
            wake: Notify::new(),
            done: Stop::default(),
        }
    }

    fn insert(&self, a: Arc<Alert>) {
        let old_start = a.starts_at;
        self.alerts.lock().insert(a.fingerprint(), a);
        let mut st = self.state.lock();
        let wait =
            SignedDuration::try_from(self.route.opts.group_wait).unwrap_or(SignedDuration::MAX);
        if !st.1
            && old_start
                .checked_add(wait)
                .is_ok_and(|t| t < Timestamp::now())
        {
            st.0 = Instant::now();
            self.wake.notify_one();
        }
    }

    /// The group's alerts (the store's shared copies).
    #[must_use]
    pub fn alerts(&self) -> Vec<Arc<Alert>> {
        let mut v: Vec<Arc<Alert>> = self.alerts.lock().values().cloned().collect();
        v.sort_by(|a, b| compare(a, b));
        v
    }

    fn is_empty(&self) -> bool {
        self.alerts.lock().is_empty()
    }

    async fn run(
        self: Arc<Self>,
        stage: StageRef,
        wait: Arc<dyn Fn() -> Duration + Send + Sync>,
        stop: Stop,
    ) {
        loop {
            let next = self.state.lock().0;
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.wake.notified() => continue,
                () = stop.wait() => return,
                () = self.done.wait() => return,
            }
            {
                let mut st = self.state.lock();
                if Instant::now() < st.0 {
                    continue;
                }
                st.0 = Instant::now() + self.route.opts.group_interval;
                st.1 = true;
            }
            let timeout = self.route.opts.group_interval.max(MIN_TIMEOUT) + wait();
            // Boxed: the flush's state lives on the heap only while it runs, so a waiting
            // group's task stays small (thousands of groups wait at once).
            tokio::select! {
                () = Box::pin(self.flush(&stage, timeout)) => {}
                () = stop.wait() => return,
            }
        }
    }

    async fn flush(&self, stage: &StageRef, timeout: Duration) {
        let now = Timestamp::now();
        // The store's shared copies: the stages tell firing from resolved by `ctx.now`
        // (an alert firing at the flush is sent without its end time), so nothing is copied.
        let mut list: Vec<Arc<Alert>> = self.alerts.lock().values().cloned().collect();
        list.sort_by(|a, b| compare(a, b));
        let mut ctx = NotifyCtx {
            now,
            group_key: self.key.clone(),
            group_labels: self.labels.clone(),
            receiver: self.route.opts.receiver.clone(),
            repeat_interval: self.route.opts.repeat_interval,
            mute_time_intervals: self.route.opts.mute_time_intervals.clone(),
            active_time_intervals: self.route.opts.active_time_intervals.clone(),
            firing: Vec::new(),
            resolved: Vec::new(),
            deadline: Instant::now() + timeout,
        };
        // The stages get their own list; the resolved alerts are kept aside (by fingerprint
        // and update time) to be removed after a successful notification.
        let resolved: Vec<(u64, Timestamp)> = list
            .iter()
            .filter(|a| a.resolved_at(now))
            .map(|a| (a.fingerprint(), a.updated_at))
            .collect();
        match stage.exec(&mut ctx, list).await {
            Ok(_) => {
                let mut alerts = self.alerts.lock();
                for (fp, updated_at) in resolved {
                    if alerts.get(&fp).is_some_and(|g| g.updated_at == updated_at) {
                        alerts.remove(&fp);
                    }
                }
            }
            Err(e) => {
                tracing::error!(aggrGroup = %self.key, err = %e, "Notify for alerts failed");
            }
        }
    }
}

/// Routes alerts to aggregation groups and runs them.
pub struct Dispatcher {
    route: Arc<Route>,
    routes: Vec<Arc<Route>>,
    stage: StageRef,
    metrics: Arc<Metrics>,
    wait: Arc<dyn Fn() -> Duration + Send + Sync>,
    groups: Mutex<HashMap<(usize, u64), Arc<AggrGroup>>>,
    stop: Stop,
}

impl Dispatcher {
    /// A dispatcher for the tree rooted at `route`.
    #[must_use]
    pub fn new(
        route: Route,
        stage: StageRef,
        metrics: Arc<Metrics>,
        wait: Arc<dyn Fn() -> Duration + Send + Sync>,
    ) -> Arc<Self> {
        let mut routes = Vec::new();
        route.walk(&mut |r| routes.push(Arc::new(r.clone())));
        Arc::new(Self {
            route: Arc::new(route),
            routes,
            stage,
            metrics,
            wait,
            groups: Mutex::new(HashMap::new()),
            stop: Stop::default(),
        })
    }

    /// The routing tree.
    #[must_use]
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Stops the dispatcher and all its groups.
    pub fn stop(&self) {
        self.stop.fire();
        let n = self.groups.lock().drain().count();
        self.metrics.aggregation_groups.sub(n as f64);
    }

    /// Takes alerts from the store's feed until stopped.
    pub async fn run(self: Arc<Self>, alerts: Arc<Alerts>) {
        let mut rx = alerts.subscribe();
        let mut cleanup = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                a = rx.recv() => match a {
                    Some(a) => {
                        let started = std::time::Instant::now();
                        self.process(&a);
                        self.metrics
                            .alert_processing
                            .observe(started.elapsed().as_secs_f64());
                    }
                    None => return,
                },
                _ = cleanup.tick() => self.cleanup(),
                () = self.stop.wait() => return,
            }
        }
    }

    fn process(&self, a: &Arc<Alert>) {
        for r in self.route.matches(&a.labels) {
            let route = self.routes[r.index].clone();
            let labels = route.group_labels(&a.labels);
            let key = (route.index, fingerprint(&labels));
            let mut groups = self.groups.lock();
            if let Some(g) = groups.get(&key) {
                g.insert(a.clone());
                continue;
            }
            let g = Arc::new(AggrGroup::new(route, labels));
            g.insert(a.clone());
            groups.insert(key, g.clone());
            self.metrics.aggregation_groups.inc();
            tokio::spawn(g.run(self.stage.clone(), self.wait.clone(), self.stop.clone()));
        }
    }

    fn cleanup(&self) {
        let mut groups = self.groups.lock();
        let before = groups.len();
        groups.retain(|_, g| {
            let keep = !g.is_empty();
            if !keep {
                g.done.fire();
            }
            keep
        });
        let gone = before - groups.len();
        self.metrics.aggregation_groups.sub(gone as f64);
    }

    /// The current groups.
    #[must_use]
    pub fn groups(&self) -> Vec<Arc<AggrGroup>> {
        self.groups.lock().values().cloned().collect()
    }
}
