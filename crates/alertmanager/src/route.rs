//! The compiled routing tree: options inherited from the parent, matching with `continue`,
//! group labels, and the route keys that name aggregation groups (mirrors Alertmanager's
//! `dispatch/route.go`).

use std::time::Duration;

use crate::config::RouteConfig;
use crate::config::route::combine;
use crate::labels::LabelSet;
use crate::matcher::Matchers;

/// Options of a route, inherited by its children unless they set their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    /// The receiver's name.
    pub receiver: String,
    /// Labels to group by.
    pub group_by: Vec<String>,
    /// Group by all labels (`...`).
    pub group_by_all: bool,
    /// Wait before the first notification of a group.
    pub group_wait: Duration,
    /// Wait between notifications of a group with new alerts.
    pub group_interval: Duration,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Duration,
    /// Names of time intervals that mute the route.
    pub mute_time_intervals: Vec<String>,
    /// Names of time intervals outside which the route is muted.
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        Self {
            receiver: String::new(),
            group_by: Vec::new(),
            group_by_all: false,
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Route {
    /// The effective options.
    pub opts: RouteOpts,
    /// Matchers, sorted.
    pub matchers: Matchers,
    /// Whether matching goes on to the next sibling after this one matched.
    pub continue_: bool,
    /// Children.
    pub routes: Vec<Route>,
    /// `Key()`: the parent's key, `/`, this node's matchers.
    pub key: String,
    /// `ID()`: the key plus the position among siblings.
    pub id: String,
    /// A number unique in the tree (depth-first order).
    pub index: usize,
}

impl Route {
    /// Compiles the tree from its configuration.
    ///
    /// # Errors
    /// A matcher that does not compile.
    pub fn new(cfg: &RouteConfig) -> Result<Self, String> {
        let mut next = 0;
        Self::build(cfg, &RouteOpts::default(), None, &mut next)
    }

    fn build(
        cfg: &RouteConfig,
        parent: &RouteOpts,
        parent_key: Option<(&str, usize)>,
        next: &mut usize,
    ) -> Result<Self, String> {
        let mut opts = parent.clone();
        opts.mute_time_intervals
            .clone_from(&cfg.mute_time_intervals);
        opts.active_time_intervals
            .clone_from(&cfg.active_time_intervals);
        if !cfg.receiver.is_empty() {
            opts.receiver.clone_from(&cfg.receiver);
        }
        if !cfg.group_by.is_empty() {
            opts.group_by_all = cfg.group_by.iter().any(|g| g == "...");
            opts.group_by = cfg
                .group_by
                .iter()
                .filter(|g| *g != "...")
                .cloned()
                .collect();
        }
        if let Some(d) = cfg.group_wait {
            opts.group_wait = d.to_std();
        }
        if let Some(d) = cfg.group_interval {
            opts.group_interval = d.to_std();
        }
        if let Some(d) = cfg.repeat_interval {
            opts.repeat_interval = d.to_std();
        }
        let matchers = combine(&cfg.match_, &cfg.match_re, &cfg.matchers)?;
        let key = match parent_key {
            Some((p, _)) => format!("{p}/{matchers}"),
            None => matchers.to_string(),
        };
        let id = match parent_key {
            Some((_, pos)) => format!("{key}/{pos}"),
            None => key.clone(),
        };
        let index = *next;
        *next += 1;
        let routes = cfg
            .routes
            .iter()
            .enumerate()
            .map(|(i, c)| Self::build(c, &opts, Some((&key, i)), next))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            opts,
            matchers,
            continue_: cfg.continue_,
            routes,
            key,
            id,
            index,
        })
    }

    /// The routes an alert with `labels` goes to: the deepest matching nodes, stopping at the
    /// first matching child unless it has `continue`.
    #[must_use]
    pub fn matches<'a>(&'a self, labels: &LabelSet) -> Vec<&'a Route> {
        if !self.matchers.matches(labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for c in &self.routes {
            let m = c.matches(labels);
            let hit = !m.is_empty();
            all.extend(m);
            if hit && !c.continue_ {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The labels that name an alert's group on this route.
    #[must_use]
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        if self.opts.group_by_all {
            return labels.clone();
        }
        self.opts
            .group_by
            .iter()
            .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
            .collect()
    }

    /// Every node, depth first.
    pub fn walk(&self, f: &mut impl FnMut(&Route)) {
        f(self);
        for c in &self.routes {
            c.walk(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::ls;

    fn tree(yaml: &str) -> Route {
        let cfg: RouteConfig = serde_saphyr::from_str(yaml).unwrap();
        Route::new(&cfg).unwrap()
    }

    #[test]
    fn matches_with_continue_and_inheritance() {
        let r = tree(
            r#"
receiver: default
group_by: [alertname]
group_wait: 1s
routes:
  - matchers: ['team="a"']
    receiver: a
    continue: true
    routes:
      - match: {severity: critical}
        receiver: a-pager
        group_by: ['...']
  - match_re: {team: "a|b"}
    receiver: ab
  - matchers: [team=c]
    receiver: c
"#,
        );
        let names = |l: &LabelSet| -> Vec<String> {
            r.matches(l)
                .iter()
                .map(|x| x.opts.receiver.clone())
                .collect()
        };
        assert_eq!(names(&ls(&[("team", "a")])), ["a", "ab"]);
        assert_eq!(
            names(&ls(&[("team", "a"), ("severity", "critical")])),
            ["a-pager", "ab"]
        );
        assert_eq!(names(&ls(&[("team", "b")])), ["ab"]);
        assert_eq!(names(&ls(&[("team", "x")])), ["default"]);
        let pager = &r.routes[0].routes[0];
        assert_eq!(pager.key, r#"{}/{team="a"}/{severity="critical"}"#);
        assert_eq!(pager.id, r#"{}/{team="a"}/{severity="critical"}/0"#);
        assert_eq!(pager.opts.group_wait, Duration::from_secs(1));
        assert!(pager.opts.group_by_all);
        assert_eq!(r.routes[1].key, r#"{}/{team=~"a|b"}"#);
        let l = ls(&[("alertname", "x"), ("team", "a")]);
        assert_eq!(r.group_labels(&l), ls(&[("alertname", "x")]));
        assert_eq!(pager.group_labels(&l), l);
    }
}
