//! A synthetic scrape load for `scripts/bench-scale`.
//!
//! Each exporter serves the series of a number of pods in the text exposition format. A pod
//! exposes [`SERIES_PER_POD`] series: a request counter by method, route and status, a latency
//! histogram by method and route, and application gauges, with the label sets a Kubernetes
//! service carries (namespace, service, pod, container). Pods are replaced as deployments
//! replace them: every churn interval a fixed fraction of the pods gets a new name, so its
//! series end and new ones begin. Values move on every scrape: counters grow with wall time,
//! gauges oscillate.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Series one pod exposes.
pub const SERIES_PER_POD: usize = 100;

const METHODS: [&str; 2] = ["GET", "POST"];
const ROUTES: [&str; 4] = [
    "/api/v1/items",
    "/api/v1/items/{id}",
    "/api/v1/orders",
    "/healthz",
];
const STATUSES: [&str; 3] = ["200", "404", "500"];
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
/// Histogram series per pod: 2 methods × 2 routes × (10 buckets + sum + count).
const HISTOGRAM_ROUTES: usize = 2;
/// Gauges per pod, the last series of each pod: what is left of [`SERIES_PER_POD`] after
/// counters and histograms.
pub const GAUGES_PER_POD: usize = SERIES_PER_POD
    - METHODS.len() * ROUTES.len() * STATUSES.len()
    - METHODS.len() * HISTOGRAM_ROUTES * (BUCKETS.len() + 2);

/// The shape of one exporter's load.
#[derive(Debug, Clone)]
pub struct Load {
    /// Which exporter this is (it names the namespace and keeps pod names apart).
    pub exporter: usize,
    /// Pods the exporter serves.
    pub pods: usize,
    /// How often a share of the pods is replaced.
    pub churn_interval: Duration,
    /// The share of pods replaced per churn interval (0 turns churn off).
    pub churn_fraction: f64,
    /// When churn epochs are counted from.
    pub epoch_start: SystemTime,
}

impl Load {
    /// The churn epoch at `now`: how many churn intervals have passed since the start.
    #[must_use]
    pub fn epoch(&self, now: SystemTime) -> u64 {
        let elapsed = now.duration_since(self.epoch_start).unwrap_or_default();
        let interval = self.churn_interval.as_millis().max(1);
        u64::try_from(elapsed.as_millis() / interval).unwrap_or(u64::MAX)
    }

    /// How many times pod `p` has been replaced by `epoch`: pods are replaced in a round
    /// robin of `1 / churn_fraction` blocks, one block per epoch.
    #[must_use]
    pub fn pod_generation(&self, p: usize, epoch: u64) -> u64 {
        if self.churn_fraction <= 0.0 {
            return 0;
        }
        let blocks = (1.0 / self.churn_fraction).round().max(1.0) as u64;
        let block = p as u64 % blocks;
        (epoch + blocks - 1 - block) / blocks
    }

    /// The exposition at `now`, appended to `out`.
    pub fn render(&self, now: SystemTime, out: &mut String) {
        let epoch = self.epoch(now);
        let secs = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let prefixes: Vec<String> = (0..self.pods)
            .map(|p| self.pod_labels(p, self.pod_generation(p, epoch)))
            .collect();

        out.push_str("# HELP bench_http_requests_total Requests served.\n");
        out.push_str("# TYPE bench_http_requests_total counter\n");
        for (p, labels) in prefixes.iter().enumerate() {
            let mut k = 0;
            for method in METHODS {
                for route in ROUTES {
                    for status in STATUSES {
                        k += 1;
                        let rate = ((p + k) % 7 + 1) as f64;
                        let _ = writeln!(
                            out,
                            "bench_http_requests_total{{{labels},method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                            (secs * rate).floor()
                        );
                    }
                }
            }
        }

        out.push_str("# HELP bench_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE bench_http_request_duration_seconds histogram\n");
        for labels in &prefixes {
            for method in METHODS {
                for route in &ROUTES[..HISTOGRAM_ROUTES] {
                    let count = (secs * 3.0).floor();
                    for (b, le) in BUCKETS.iter().enumerate() {
                        let share = (b + 1) as f64 / BUCKETS.len() as f64;
                        let _ = writeln!(
                            out,
                            "bench_http_request_duration_seconds_bucket{{{labels},method=\"{method}\",route=\"{route}\",le=\"{le}\"}} {}",
                            (count * share).floor()
                        );
                    }
                    let _ = writeln!(
                        out,
                        "bench_http_request_duration_seconds_sum{{{labels},method=\"{method}\",route=\"{route}\"}} {}",
                        count * 0.042
                    );
                    let _ = writeln!(
                        out,
                        "bench_http_request_duration_seconds_count{{{labels},method=\"{method}\",route=\"{route}\"}} {count}"
                    );
                }
            }
        }

        out.push_str("# HELP bench_app_gauge Application state.\n");
        out.push_str("# TYPE bench_app_gauge gauge\n");
        for (p, labels) in prefixes.iter().enumerate() {
            for g in 0..GAUGES_PER_POD {
                let phase = (p * GAUGES_PER_POD + g) as f64;
                let value = (1000.0 * ((secs / 60.0) + phase).sin()).round();
                let _ = writeln!(out, "bench_app_gauge{{{labels},area=\"area-{g}\"}} {value}");
            }
        }
    }

    /// The label sets of the series the exposition at churn epoch `epoch` holds, in its
    /// order (the counters of every pod, then their histograms, then their gauges), each with
    /// its metric name as `__name__`, without the labels a scrape adds (`job`, `instance`).
    #[must_use]
    pub fn label_sets(&self, epoch: u64) -> Vec<Vec<(&'static str, String)>> {
        let pods: Vec<[(&'static str, String); 4]> = (0..self.pods)
            .map(|p| self.pod_label_pairs(p, self.pod_generation(p, epoch)))
            .collect();
        let mut out = Vec::with_capacity(self.pods * SERIES_PER_POD);
        let mut push =
            |pod: &[(&'static str, String); 4], name: &str, rest: &[(&'static str, &str)]| {
                let mut set = vec![("__name__", name.to_owned())];
                set.extend(pod.iter().cloned());
                set.extend(rest.iter().map(|&(n, v)| (n, v.to_owned())));
                out.push(set);
            };
        for pod in &pods {
            for method in METHODS {
                for route in ROUTES {
                    for status in STATUSES {
                        let rest = [("method", method), ("route", route), ("status", status)];
                        push(pod, "bench_http_requests_total", &rest);
                    }
                }
            }
        }
        for pod in &pods {
            for method in METHODS {
                for route in &ROUTES[..HISTOGRAM_ROUTES] {
                    let rest = [("method", method), ("route", route)];
                    for le in BUCKETS {
                        let bucket = [rest[0], rest[1], ("le", le)];
                        push(pod, "bench_http_request_duration_seconds_bucket", &bucket);
                    }
                    push(pod, "bench_http_request_duration_seconds_sum", &rest);
                    push(pod, "bench_http_request_duration_seconds_count", &rest);
                }
            }
        }
        for pod in &pods {
            for g in 0..GAUGES_PER_POD {
                push(pod, "bench_app_gauge", &[("area", &format!("area-{g}"))]);
            }
        }
        out
    }

    /// The labels of pod `p` in generation `generation`: namespace, service, pod, container.
    fn pod_label_pairs(&self, p: usize, generation: u64) -> [(&'static str, String); 4] {
        let service = p / 10;
        let hash = generation.wrapping_mul(0x9e37_79b9).wrapping_add(p as u64) & 0xffff_ffff;
        [
            ("namespace", format!("team-{}", self.exporter)),
            ("service", format!("svc-{service}")),
            ("pod", format!("svc-{service}-{hash:08x}-{p}")),
            ("container", "app".to_owned()),
        ]
    }

    /// The pod's labels as the exposition writes them, `name="value"` joined by commas.
    fn pod_labels(&self, p: usize, generation: u64) -> String {
        let pairs = self.pod_label_pairs(p, generation);
        let written: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
        written.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pods: usize, fraction: f64) -> Load {
        Load {
            exporter: 3,
            pods,
            churn_interval: Duration::from_secs(600),
            churn_fraction: fraction,
            epoch_start: UNIX_EPOCH,
        }
    }

    fn series(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect()
    }

    #[test]
    fn each_pod_exposes_its_share_of_distinct_series() {
        let mut out = String::new();
        load(20, 0.01).render(UNIX_EPOCH + Duration::from_secs(30), &mut out);
        let mut names = series(&out);
        assert_eq!(names.len(), 20 * SERIES_PER_POD);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 20 * SERIES_PER_POD, "series repeat");
    }

    /// The label pairs of an exposition line, sorted by name.
    fn parsed_labels(line: &str) -> Vec<(String, String)> {
        let (series, _value) = line.rsplit_once(' ').unwrap();
        let (name, rest) = series.split_once('{').unwrap();
        let inner = rest.strip_suffix("\"}").unwrap();
        let mut pairs = vec![("__name__".to_owned(), name.to_owned())];
        for pair in inner.split("\",") {
            let (n, v) = pair.split_once("=\"").unwrap();
            pairs.push((n.to_owned(), v.to_owned()));
        }
        pairs.sort();
        pairs
    }

    #[test]
    fn the_label_sets_are_those_the_exposition_renders_in_its_order() {
        let l = load(30, 0.1);
        let epoch = 3;
        let mut out = String::new();
        l.render(UNIX_EPOCH + Duration::from_secs(600 * epoch + 1), &mut out);
        let rendered: Vec<_> = out
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(parsed_labels)
            .collect();
        let sets: Vec<_> = l
            .label_sets(epoch)
            .into_iter()
            .map(|set| {
                let mut set: Vec<_> = set.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
                set.sort();
                set
            })
            .collect();
        assert_eq!(sets.len(), 30 * SERIES_PER_POD);
        assert_eq!(sets, rendered);
        // Some pods were replaced by epoch 3: their generation shows in the pod name.
        assert!((0..30).any(|p| l.pod_generation(p, epoch) > 0));
    }

    #[test]
    fn churn_replaces_the_fraction_per_epoch() {
        let l = load(1000, 0.01);
        let at = |epoch: u64| UNIX_EPOCH + Duration::from_secs(600 * epoch + 1);
        let render = |epoch| {
            let mut out = String::new();
            l.render(at(epoch), &mut out);
            out
        };
        let (a, b) = (render(4), render(5));
        let (a, b) = (series(&a), series(&b));
        let old: std::collections::HashSet<_> = a.iter().collect();
        let replaced = b.iter().filter(|s| !old.contains(s)).count();
        assert_eq!(replaced, 10 * SERIES_PER_POD, "1% of 1000 pods");
        // After a whole round every pod has a new generation exactly once more.
        assert!((0..1000).all(|p| l.pod_generation(p, 100) == 1));
        assert!((0..1000).all(|p| l.pod_generation(p, 0) == 0));
    }

    #[test]
    fn values_move_between_scrapes() {
        let l = load(2, 0.0);
        let mut a = String::new();
        let mut b = String::new();
        l.render(UNIX_EPOCH + Duration::from_secs(100), &mut a);
        l.render(UNIX_EPOCH + Duration::from_secs(115), &mut b);
        assert_eq!(series(&a), series(&b));
        assert_ne!(a, b);
    }
}
