//! Firewatch's self-metrics: one [`Registry`] per process where every component registers
//! typed metrics ([`Counter`], [`Gauge`], [`Histogram`], [`Summary`] and their label vectors)
//! or a [`Collector`] computing values at scrape time, and one encoder for `/metrics` (text
//! 0.0.4 and OpenMetrics 1.0, through `model::exposition::encode`). Mirrors client_golang's
//! `prometheus/registry.go` and metric types, so names, help texts, types and sample order
//! match what Prometheus 2.42 serves.
//!
//! Registering a name again with the same type, label names and buckets or objectives
//! returns the existing metric (so a component built twice on one registry shares its
//! counters); registering it with a different shape or help text panics, naming the metric:
//! that is a programming error, as client_golang's `MustRegister` treats it.
//!
//! ```
//! use firewatch_metrics::{Registry, Format};
//! let r = Registry::new();
//! let reqs = r.counter_vec("http_requests_total", "Requests served.", &["code"]);
//! reqs.with_label_values(&["200"]).inc();
//! let text = r.encode(Format::Text);
//! assert!(text.ends_with("counter\nhttp_requests_total{code=\"200\"} 1\n"));
//! ```
//!
//! One difference from client_golang's bytes: a sample's labels are written in name order,
//! so a label sorting after `le` or `quantile` comes after it (`{quantile="0.5",slice="x"}`
//! where client_golang writes `{slice="x",quantile="0.5"}`); parsers read both alike.

mod atomic;
mod counter;
pub mod family;
mod gauge;
mod histogram;
mod process;
mod quantile;
mod summary;
mod vec;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use model::exposition::FamilySample;
use parking_lot::Mutex;

pub use counter::{Counter, CounterVec};
pub use gauge::{Gauge, GaugeVec};
pub use histogram::{
    DEFAULT_BUCKETS, Histogram, HistogramVec, Timer, exponential_buckets, linear_buckets,
};
pub use model::exposition::{Format, MetricFamily, MetricType};
pub use process::ProcessCollector;
pub use summary::{DEFAULT_OBJECTIVES, Summary, SummaryOpts, SummaryVec};

pub use vec::MetricVec;
use vec::{Child, Children};

/// Computes metric families at scrape time (head statistics, process figures, exporter
/// collectors). Families appended with a name already registered are merged into it when
/// the types agree and dropped otherwise; counter and gauge samples are sorted by labels,
/// histogram and summary samples kept in the order given (see [`family`] for builders).
pub trait Collector: Send + Sync {
    /// Appends this collector's families to `out`.
    fn collect(&self, out: &mut Vec<MetricFamily>);
}

impl<F: Fn(&mut Vec<MetricFamily>) + Send + Sync> Collector for F {
    fn collect(&self, out: &mut Vec<MetricFamily>) {
        self(out);
    }
}

/// Writes the samples of a registered family.
trait Gather: Send + Sync {
    fn write(&self, out: &mut Vec<FamilySample>);
}

impl<M: Child> Gather for Children<M> {
    fn write(&self, out: &mut Vec<FamilySample>) {
        Children::write(self, out);
    }
}

/// A registered family.
struct Registered {
    help: String,
    metric_type: MetricType,
    /// Type, label names, buckets or objectives: what must agree to share the metric.
    shape: String,
    children: Arc<dyn Gather>,
    any: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct Inner {
    const_labels: Vec<(String, String)>,
    families: Mutex<BTreeMap<String, Registered>>,
    collectors: Mutex<Vec<Arc<dyn Collector>>>,
}

/// The registry: cheap to clone (clones share everything registered).
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("families", &self.inner.families.lock().len())
            .field("collectors", &self.inner.collectors.lock().len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry adding `labels` to every sample it gathers (unless a sample has
    /// the label already).
    #[must_use]
    pub fn with_const_labels(labels: &[(&str, &str)]) -> Self {
        let mut const_labels: Vec<(String, String)> = labels
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        const_labels.sort();
        Self {
            inner: Arc::new(Inner {
                const_labels,
                ..Inner::default()
            }),
        }
    }

    /// Registers (or finds) a family of children of type `M`.
    fn register<M: Child>(
        &self,
        name: &str,
        help: &str,
        metric_type: MetricType,
        label_names: &[&str],
        shape: &str,
        make: impl Fn() -> M + Send + Sync + 'static,
    ) -> Arc<Children<M>> {
        assert!(
            model::labels::is_valid_legacy_metric_name(name),
            "invalid metric name {name:?}"
        );
        for l in label_names {
            assert!(
                model::labels::is_valid_legacy_label_name(l) && !l.starts_with("__"),
                "metric {name}: invalid label name {l:?}"
            );
        }
        let shape = format!("{metric_type:?} {label_names:?} {shape}");
        let mut families = self.inner.families.lock();
        if let Some(r) = families.get(name) {
            assert!(
                r.shape == shape && r.help == help,
                "metric {name} registered twice with different shapes or help texts: \
                 {:?} {:?} then {shape:?} {help:?}",
                r.shape,
                r.help
            );
            return r
                .any
                .clone()
                .downcast::<Children<M>>()
                .unwrap_or_else(|_| panic!("metric {name} registered with another kind"));
        }
        let children = Arc::new(Children::new(name, label_names, Vec::new(), make));
        families.insert(
            name.to_owned(),
            Registered {
                help: help.to_owned(),
                metric_type,
                shape,
                children: children.clone(),
                any: children.clone(),
            },
        );
        children
    }

    /// A counter without labels.
    ///
    /// # Panics
    /// When `name` is invalid or registered with another shape or help text.
    #[must_use]
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.register(name, help, MetricType::Counter, &[], "", Counter::new)
            .get_or_create(&[])
    }

    /// Counters partitioned by `labels`.
    ///
    /// # Panics
    /// When a name is invalid or `name` is registered with another shape or help text.
    #[must_use]
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> CounterVec {
        CounterVec {
            children: self.register(name, help, MetricType::Counter, labels, "", Counter::new),
        }
    }

    /// A gauge without labels.
    ///
    /// # Panics
    /// When `name` is invalid or registered with another shape or help text.
    #[must_use]
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(name, help, MetricType::Gauge, &[], "", Gauge::new)
            .get_or_create(&[])
    }

    /// Gauges partitioned by `labels`.
    ///
    /// # Panics
    /// When a name is invalid or `name` is registered with another shape or help text.
    #[must_use]
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        GaugeVec {
            children: self.register(name, help, MetricType::Gauge, labels, "", Gauge::new),
        }
    }

    /// A histogram without labels with `buckets` (increasing upper bounds; `+Inf` is added).
    ///
    /// # Panics
    /// When `name` is invalid or registered with another shape, or the buckets are not
    /// increasing.
    #[must_use]
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        self.histogram_vec(name, help, &[], buckets)
            .children
            .get_or_create(&[])
    }

    /// Histograms partitioned by `labels`.
    ///
    /// # Panics
    /// As [`histogram`](Self::histogram), and for invalid label names.
    #[must_use]
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        let bounds = histogram::checked_bounds(name, buckets);
        let shape = format!("{bounds:?}");
        HistogramVec {
            children: self.register(
                name,
                help,
                MetricType::Histogram,
                labels,
                &shape,
                move || Histogram::with_bounds(bounds.clone()),
            ),
        }
    }

    /// A summary without labels with client_golang's window (10 minutes in 5 age buckets);
    /// `objectives` are `(quantile, allowed error)` pairs and may be empty.
    ///
    /// # Panics
    /// When `name` is invalid or registered with another shape, or an objective is outside
    /// `[0, 1]`.
    #[must_use]
    pub fn summary(&self, name: &str, help: &str, objectives: &[(f64, f64)]) -> Summary {
        self.summary_vec_with(name, help, &[], &SummaryOpts::new(objectives))
            .children
            .get_or_create(&[])
    }

    /// Summaries partitioned by `labels`, with client_golang's window.
    ///
    /// # Panics
    /// As [`summary`](Self::summary), and for invalid label names.
    #[must_use]
    pub fn summary_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        objectives: &[(f64, f64)],
    ) -> SummaryVec {
        self.summary_vec_with(name, help, labels, &SummaryOpts::new(objectives))
    }

    /// Summaries partitioned by `labels` with a window of one's own.
    ///
    /// # Panics
    /// As [`summary`](Self::summary), and for invalid label names.
    #[must_use]
    pub fn summary_vec_with(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        opts: &SummaryOpts,
    ) -> SummaryVec {
        opts.check(name);
        let shape = format!("{opts:?}");
        let opts = opts.clone();
        SummaryVec {
            children: self.register(name, help, MetricType::Summary, labels, &shape, move || {
                Summary::new(&opts)
            }),
        }
    }

    /// Adds a collector, asked for its families at each gather.
    pub fn register_collector(&self, collector: Arc<dyn Collector>) {
        self.inner.collectors.lock().push(collector);
    }

    /// Removes the family `name` (its handles keep working but are no longer gathered);
    /// whether it was registered.
    pub fn unregister(&self, name: &str) -> bool {
        self.inner.families.lock().remove(name).is_some()
    }

    /// Every family with at least one sample, sorted by name, children sorted by label
    /// values, as client_golang's `Gather`. `le` and `quantile` values are in `%g` form.
    #[must_use]
    pub fn gather(&self) -> Vec<MetricFamily> {
        let mut out: Vec<MetricFamily> = Vec::new();
        {
            let families = self.inner.families.lock();
            for (name, r) in families.iter() {
                let mut f = family::new(name, &r.help, r.metric_type);
                r.children.write(&mut f.samples);
                out.push(f);
            }
        }
        let collectors: Vec<_> = self.inner.collectors.lock().clone();
        let mut collected = Vec::new();
        for c in collectors {
            c.collect(&mut collected);
        }
        let mut index: BTreeMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        for mut f in collected {
            if matches!(
                f.metric_type,
                MetricType::Counter | MetricType::Gauge | MetricType::Unknown
            ) {
                f.samples.sort_by(|a, b| a.labels.cmp(&b.labels));
            }
            match index.get(&f.name) {
                Some(&i) if out[i].metric_type == f.metric_type => {
                    out[i].samples.append(&mut f.samples);
                }
                Some(_) => {}
                None => {
                    index.insert(f.name.clone(), out.len());
                    out.push(f);
                }
            }
        }
        out.retain(|f| !f.samples.is_empty());
        out.sort_by(|a, b| a.name.cmp(&b.name));
        if !self.inner.const_labels.is_empty() {
            for s in out.iter_mut().flat_map(|f| f.samples.iter_mut()) {
                let mut b = s.labels.builder();
                for (n, v) in &self.inner.const_labels {
                    if !s.labels.has(n) {
                        b.set(n, v);
                    }
                }
                s.labels = b.labels();
            }
        }
        out
    }

    /// Every family in `format`, as client_golang writes it: for OpenMetrics, counter
    /// samples end in `_total`, `le` and `quantile` values are floats (`1.0`), and the
    /// output ends with `# EOF`.
    #[must_use]
    pub fn encode(&self, format: Format) -> String {
        let mut families = self.gather();
        if format == Format::OpenMetrics {
            for f in &mut families {
                to_openmetrics(f);
            }
        }
        model::exposition::encode(&families, format)
    }
}

/// Encodes what one collector collects, as a registry holding only it would (tests, tools).
#[must_use]
pub fn encode_collector(collector: &dyn Collector, format: Format) -> String {
    let mut families = Vec::new();
    collector.collect(&mut families);
    let r = Registry::new();
    let families = std::sync::Mutex::new(Some(families));
    r.register_collector(Arc::new(move |out: &mut Vec<MetricFamily>| {
        if let Some(mut f) = families.lock().ok().and_then(|mut g| g.take()) {
            out.append(&mut f);
        }
    }));
    r.encode(format)
}

/// Rewrites a family gathered in text form to what client_golang writes in OpenMetrics.
fn to_openmetrics(f: &mut MetricFamily) {
    let bound = match f.metric_type {
        MetricType::Histogram => Some("le"),
        MetricType::Summary => Some("quantile"),
        MetricType::Counter if !f.name.ends_with("_total") => {
            let total = format!("{}_total", f.name);
            for s in &mut f.samples {
                if s.labels.metric_name() == Some(f.name.as_str()) {
                    let mut b = s.labels.builder();
                    b.set(model::labels::METRIC_NAME, &total);
                    s.labels = b.labels();
                }
            }
            None
        }
        _ => None,
    };
    let Some(bound) = bound else { return };
    for s in &mut f.samples {
        let Some(v) = s.labels.get(bound) else {
            continue;
        };
        let Some(n) = model::exposition::parse_float(v.as_bytes()) else {
            continue;
        };
        let om = model::exposition::format_openmetrics_float(n);
        if om != v {
            let mut b = s.labels.builder();
            b.set(bound, &om);
            s.labels = b.labels();
        }
    }
}

/// Now as Unix seconds.
pub(crate) fn unix_seconds_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests;
