//! The metadata cache: per target, the `# HELP`, `# TYPE` and `# UNIT` of each metric family
//! seen in its last scrapes, for `/api/v1/targets/metadata` and `/api/v1/metadata`.

use std::collections::HashMap;

use model::exposition::{Format, MetricType};

/// The metadata of one metric family, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricMetadata {
    /// The family name (OpenMetrics counters without `_total`, as exposed).
    pub metric_family: String,
    /// The type as Prometheus writes it: `counter`, `gauge`, `histogram`, `gaugehistogram`,
    /// `summary`, `info`, `stateset` or `unknown` (also for the text format's `untyped`).
    pub metric_type: &'static str,
    /// The help text, empty when none was given.
    pub help: String,
    /// The unit, empty when none was given.
    pub unit: String,
}

impl MetricMetadata {
    fn new(name: &str) -> Self {
        Self {
            metric_family: name.to_owned(),
            metric_type: "unknown",
            help: String::new(),
            unit: String::new(),
        }
    }
}

/// The API's name of a metric type.
#[must_use]
pub fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Unknown => "unknown",
        other => other.as_str(Format::OpenMetrics),
    }
}

/// Metadata entries of one target, each remembering the scrape that last saw it.
#[derive(Debug, Default)]
pub struct MetadataCache {
    entries: HashMap<String, (MetricMetadata, u64)>,
    changed: bool,
}

impl MetadataCache {
    fn entry(&mut self, name: &str, iteration: u64) -> &mut MetricMetadata {
        let e = self
            .entries
            .entry(name.to_owned())
            .or_insert_with(|| (MetricMetadata::new(name), iteration));
        e.1 = iteration;
        &mut e.0
    }

    /// Records a `# TYPE` line seen in scrape `iteration`.
    pub fn set_type(&mut self, name: &str, t: MetricType, iteration: u64) {
        let t = type_name(t);
        let e = self.entry(name, iteration);
        if e.metric_type != t {
            e.metric_type = t;
            self.changed = true;
        }
    }

    /// Records a `# HELP` line seen in scrape `iteration`.
    pub fn set_help(&mut self, name: &str, help: &str, iteration: u64) {
        let e = self.entry(name, iteration);
        if e.help != help {
            e.help = help.to_owned();
            self.changed = true;
        }
    }

    /// Records a `# UNIT` line seen in scrape `iteration`.
    pub fn set_unit(&mut self, name: &str, unit: &str, iteration: u64) {
        let e = self.entry(name, iteration);
        if e.unit != unit {
            e.unit = unit.to_owned();
            self.changed = true;
        }
    }

    /// Ends scrape `iteration`: forgets the families not seen in it nor in the one before.
    pub fn iteration_done(&mut self, iteration: u64) {
        let before = self.entries.len();
        self.entries.retain(|_, (_, seen)| *seen + 1 >= iteration);
        if self.entries.len() != before {
            self.changed = true;
        }
    }

    /// The entries if they changed since the last call, sorted by family name.
    pub fn take_changed(&mut self) -> Option<Vec<MetricMetadata>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let mut v: Vec<MetricMetadata> = self.entries.values().map(|(m, _)| m.clone()).collect();
        v.sort_by(|a, b| a.metric_family.cmp(&b.metric_family));
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_follow_the_last_scrapes() {
        let mut c = MetadataCache::default();
        c.set_type("a", MetricType::Counter, 1);
        c.set_help("a", "A things.", 1);
        c.set_type("b", MetricType::Unknown, 1);
        c.iteration_done(1);
        let v = c.take_changed().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].metric_type, v[0].help.as_str()),
            ("counter", "A things.")
        );
        assert_eq!(v[1].metric_type, "unknown");
        assert_eq!(c.take_changed(), None, "unchanged since");
        c.set_type("a", MetricType::Counter, 2);
        c.iteration_done(2);
        assert_eq!(c.take_changed(), None, "b kept one more scrape");
        c.set_type("a", MetricType::Counter, 3);
        c.iteration_done(3);
        let v = c.take_changed().unwrap();
        assert_eq!(v.len(), 1, "b gone after two scrapes without it");
        assert_eq!(v[0].metric_family, "a");
    }
}
