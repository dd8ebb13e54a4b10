//! Targets: turning discovered label sets into scrape targets (Prometheus's
//! `PopulateLabels`), and the health a target reports to the API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use config::ScrapeConfig;
use discovery::TargetGroup;
use model::relabel;
use model::{Labels, LabelsBuilder};

use crate::metadata::MetricMetadata;

/// A target's health after its last scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl Health {
    /// As the API writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// What the last scrape of a target did.
#[derive(Debug, Clone)]
pub struct LastScrape {
    /// Health after it.
    pub health: Health,
    /// Its error, empty when it succeeded.
    pub error: String,
    /// When it started.
    pub time: Option<SystemTime>,
    /// How long it took.
    pub duration: Duration,
}

/// One scrape target.
#[derive(Debug)]
pub struct Target {
    /// Labels after relabeling, including the internal `__` ones.
    labels: Labels,
    /// Labels as discovered, before relabeling.
    discovered: Labels,
    /// Scrape interval of this target (`__scrape_interval__`).
    pub interval: Duration,
    /// Scrape timeout of this target (`__scrape_timeout__`).
    pub timeout: Duration,
    last: Mutex<LastScrape>,
    metadata: Mutex<Arc<Vec<MetricMetadata>>>,
}

impl Target {
    /// All labels after relabeling, including `__address__`, `__scheme__`...
    #[must_use]
    pub fn all_labels(&self) -> &Labels {
        &self.labels
    }

    /// Labels before relabeling.
    #[must_use]
    pub fn discovered_labels(&self) -> &Labels {
        &self.discovered
    }

    /// The labels attached to the target's series: those not starting with `__`.
    #[must_use]
    pub fn labels(&self) -> Labels {
        Labels::from_sorted(
            self.labels
                .iter()
                .filter(|l| !l.name.starts_with("__"))
                .map(|l| (l.name, l.value)),
        )
    }

    /// The URL to scrape: `__scheme__://__address____metrics_path__?__param_*`.
    #[must_use]
    pub fn url(&self) -> String {
        let get = |n| self.labels.get(n).unwrap_or_default();
        let mut url = format!(
            "{}://{}{}",
            get("__scheme__"),
            get("__address__"),
            get("__metrics_path__")
        );
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for l in self
            .labels
            .iter()
            .filter(|l| l.name.starts_with("__param_"))
        {
            url.push(sep);
            url.push_str(&encode_query(&l.name["__param_".len()..]));
            url.push('=');
            url.push_str(&encode_query(l.value));
            sep = '&';
        }
        url
    }

    /// What the last scrape did.
    #[must_use]
    pub fn last_scrape(&self) -> LastScrape {
        self.last.lock().clone()
    }

    /// Records the outcome of a scrape.
    pub fn report(&self, time: SystemTime, duration: Duration, error: Option<String>) {
        *self.last.lock() = LastScrape {
            health: if error.is_some() {
                Health::Down
            } else {
                Health::Up
            },
            error: error.unwrap_or_default(),
            time: Some(time),
            duration,
        };
    }

    /// The metadata of the families of the last scrapes, sorted by family name.
    #[must_use]
    pub fn metadata(&self) -> Arc<Vec<MetricMetadata>> {
        self.metadata.lock().clone()
    }

    /// Replaces the metadata (the scrape loop calls this when it changed).
    pub fn set_metadata(&self, metadata: Vec<MetricMetadata>) {
        *self.metadata.lock() = Arc::new(metadata);
    }

    /// A stable hash of the target's identity, for jitter and de-duplication.
    #[must_use]
    pub fn hash(&self) -> u64 {
        self.labels.hash64()
    }
}

fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The outcome of turning one discovered label set into a target.
#[derive(Debug)]
pub enum Populated {
    /// A target to scrape.
    Target(Target),
    /// Relabeling dropped it; the API lists its discovered labels.
    Dropped(Labels),
}

fn format_duration(d: Duration) -> String {
    config::Duration::from_millis(d.as_millis() as u64).to_string()
}

/// Builds the targets of one group for `cfg`, as Prometheus's `TargetsFromGroup`.
///
/// # Errors
/// A target without address, or with unparsable interval/timeout labels; the text names it.
pub fn targets_from_group(
    group: &TargetGroup,
    cfg: &ScrapeConfig,
) -> Vec<Result<Populated, String>> {
    group
        .targets
        .iter()
        .map(|t| {
            let mut b = LabelsBuilder::default();
            for (k, v) in &group.labels {
                b.set(k, v);
            }
            for (k, v) in t {
                b.set(k, v);
            }
            populate(&mut b, cfg)
        })
        .collect()
}

fn populate(b: &mut LabelsBuilder, cfg: &ScrapeConfig) -> Result<Populated, String> {
    let interval = Duration::from_millis(cfg.scrape_interval.as_millis());
    let timeout = Duration::from_millis(cfg.scrape_timeout.as_millis());
    let defaults = [
        ("job", cfg.job_name.clone()),
        ("__scrape_interval__", format_duration(interval)),
        ("__scrape_timeout__", format_duration(timeout)),
        ("__metrics_path__", cfg.metrics_path.clone()),
        ("__scheme__", cfg.scheme.clone()),
    ];
    for (name, value) in defaults {
        if b.get(name).is_none() {
            b.set(name, &value);
        }
    }
    for (name, values) in &cfg.params {
        let label = format!("__param_{name}");
        if b.get(&label).is_none()
            && let Some(v) = values.first()
        {
            b.set(&label, v);
        }
    }
    let discovered = b.labels();
    let rules: Vec<_> = cfg.relabel_configs.iter().flatten().cloned().collect();
    if !relabel::process_builder(b, &rules) {
        return Ok(Populated::Dropped(discovered));
    }
    let address = b.get("__address__").unwrap_or_default().to_owned();
    if address.is_empty() {
        return Err("no address".to_owned());
    }
    if address.contains('/') {
        return Err(format!("invalid address {address:?}"));
    }
    let parse = |name: &str| -> Result<Duration, String> {
        let v = b.get(name).unwrap_or_default();
        config::Duration::parse(v)
            .map(|d| Duration::from_millis(d.as_millis()))
            .map_err(|e| {
                format!(
                    "error parsing {}: {e}",
                    name.trim_matches('_').replace('_', " ")
                )
            })
    };
    let interval = parse("__scrape_interval__")?;
    let timeout = parse("__scrape_timeout__")?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".to_owned());
    }
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".to_owned());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({} > {})",
            format_duration(timeout),
            format_duration(interval)
        ));
    }
    b.retain(|n| !n.starts_with("__meta_"));
    if b.get("instance").is_none() {
        b.set("instance", &address);
    }
    Ok(Populated::Target(Target {
        labels: b.labels(),
        discovered,
        interval,
        timeout,
        last: Mutex::new(LastScrape {
            health: Health::Unknown,
            error: String::new(),
            time: None,
            duration: Duration::ZERO,
        }),
        metadata: Mutex::new(Arc::new(Vec::new())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape_config(yaml: &str) -> ScrapeConfig {
        let cfg = config::Config::from_yaml_str(yaml, ".").expect("valid config");
        cfg.scrape_jobs().next().expect("one job").clone()
    }

    fn group(targets: &[&[(&str, &str)]], labels: &[(&str, &str)]) -> TargetGroup {
        TargetGroup {
            source: "0".to_owned(),
            targets: targets
                .iter()
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect()
                })
                .collect(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn defaults_and_instance() {
        let cfg = scrape_config(
            "scrape_configs: [{job_name: node, scrape_interval: 15s, params: {module: [a, b]}}]",
        );
        let g = group(
            &[&[("__address__", "host:9100"), ("__meta_x", "y")]],
            &[("env", "prod")],
        );
        let Ok(Populated::Target(t)) = targets_from_group(&g, &cfg).remove(0) else {
            panic!("not a target")
        };
        assert_eq!(
            t.labels(),
            model::labels!("env" => "prod", "instance" => "host:9100", "job" => "node")
        );
        assert_eq!(t.url(), "http://host:9100/metrics?module=a");
        assert_eq!(t.interval, Duration::from_secs(15));
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.discovered_labels().get("__meta_x"), Some("y"));
        assert_eq!(
            t.all_labels().get("__meta_x"),
            None,
            "meta labels go after relabeling"
        );
    }

    #[test]
    fn relabeling_drops_and_rewrites() {
        let cfg = scrape_config(
            r#"
scrape_configs:
  - job_name: k
    relabel_configs:
      - source_labels: [__meta_scrape]
        regex: "true"
        action: keep
      - source_labels: [__address__, __meta_port]
        regex: "([^:]+)(?::\\d+)?;(\\d+)"
        replacement: "$1:$2"
        target_label: __address__
"#,
        );
        let g = group(
            &[
                &[
                    ("__address__", "10.0.0.1:80"),
                    ("__meta_scrape", "true"),
                    ("__meta_port", "9102"),
                ],
                &[("__address__", "10.0.0.2"), ("__meta_scrape", "false")],
            ],
            &[],
        );
        let mut out = targets_from_group(&g, &cfg);
        let Ok(Populated::Dropped(d)) = out.remove(1) else {
            panic!("second target kept")
        };
        assert_eq!(d.get("__address__"), Some("10.0.0.2"));
        let Ok(Populated::Target(t)) = out.remove(0) else {
            panic!("first target dropped")
        };
        assert_eq!(t.url(), "http://10.0.0.1:9102/metrics");
        assert_eq!(t.labels().get("instance"), Some("10.0.0.1:9102"));
    }

    #[test]
    fn errors_name_the_problem() {
        let cfg = scrape_config("scrape_configs: [{job_name: a}]");
        let g = group(
            &[
                &[("foo", "bar")],
                &[("__address__", "h:1"), ("__scrape_timeout__", "2m")],
            ],
            &[],
        );
        let out = targets_from_group(&g, &cfg);
        assert_eq!(out[0].as_ref().unwrap_err(), "no address");
        assert_eq!(
            out[1].as_ref().unwrap_err(),
            "scrape timeout cannot be greater than scrape interval (2m > 1m)"
        );
    }
}
