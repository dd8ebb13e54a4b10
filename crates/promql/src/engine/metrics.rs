//! The engine's own metrics (`promql/engine.go`'s `engineMetrics`): queries in flight, the
//! concurrency limit, and how long queries wait, prepare, evaluate and sort, by `slice`.

use metrics::{DEFAULT_OBJECTIVES, Gauge, Registry, Summary};

/// The engine's metrics; an engine built without a registry counts into a private one.
#[derive(Debug, Clone)]
pub(crate) struct EngineMetrics {
    /// `prometheus_engine_queries`: queries executing or waiting for a turn.
    pub(crate) queries: Gauge,
    /// Time waiting for a turn (`slice="queue_time"`).
    pub(crate) queue_time: Summary,
    /// Time preparing: rewriting the expression and opening the querier (`prepare_time`).
    pub(crate) prepare_time: Summary,
    /// Time evaluating (`inner_eval`).
    pub(crate) inner_eval: Summary,
    /// Time sorting a range query's result (`result_sort`).
    pub(crate) result_sort: Summary,
}

impl EngineMetrics {
    /// Registers (or finds) the families in `registry`.
    pub(crate) fn new(registry: &Registry, max_concurrency: usize) -> Self {
        let durations = registry.summary_vec(
            "prometheus_engine_query_duration_seconds",
            "Query timings",
            &["slice"],
            DEFAULT_OBJECTIVES,
        );
        #[allow(clippy::cast_precision_loss)]
        registry
            .gauge(
                "prometheus_engine_queries_concurrent_max",
                "The max number of concurrent queries.",
            )
            .set(if max_concurrency == 0 {
                -1.0
            } else {
                max_concurrency as f64
            });
        // No query log: enabled 0, never failing.
        registry
            .gauge(
                "prometheus_engine_query_log_enabled",
                "State of the query log.",
            )
            .set(0.0);
        let _ = registry.counter(
            "prometheus_engine_query_log_failures_total",
            "The number of query log failures.",
        );
        Self {
            queries: registry.gauge(
                "prometheus_engine_queries",
                "The current number of queries being executed or waiting.",
            ),
            queue_time: durations.with_label_values(&["queue_time"]),
            prepare_time: durations.with_label_values(&["prepare_time"]),
            inner_eval: durations.with_label_values(&["inner_eval"]),
            result_sort: durations.with_label_values(&["result_sort"]),
        }
    }
}

/// Counts a query in flight until dropped.
pub(crate) struct InFlight(Gauge);

impl InFlight {
    pub(crate) fn new(g: &Gauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use metrics::{Format, Registry};
    use model::{Sample, labels};
    use storage::memory::MemoryStorage;

    use crate::{Engine, EngineOptions};

    fn line_value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn queries_are_timed_by_slice() {
        let registry = Registry::new();
        let engine = Engine::with_registry(EngineOptions::default(), &registry);
        let db = MemoryStorage::new();
        db.add(&labels!("__name__" => "up"), 0, Sample::Float(1.0));
        engine.instant_query(&db, "up", 0).unwrap();
        engine.range_query(&db, "up", 0, 60_000, 15_000).unwrap();
        assert!(engine.instant_query(&db, "up +", 0).is_err());
        let text = registry.encode(Format::Text);
        let count = |slice: &str| {
            line_value(
                &text,
                &format!("prometheus_engine_query_duration_seconds_count{{slice=\"{slice}\"}}"),
            )
        };
        // The parse error never reached the engine; the range query alone sorts.
        assert!((count("queue_time") - 2.0).abs() < f64::EPSILON);
        assert!((count("prepare_time") - 2.0).abs() < f64::EPSILON);
        assert!((count("inner_eval") - 2.0).abs() < f64::EPSILON);
        assert!((count("result_sort") - 1.0).abs() < f64::EPSILON);
        assert!(text.contains(
            "prometheus_engine_query_duration_seconds{quantile=\"0.99\",slice=\"inner_eval\"} "
        ));
        assert!(line_value(&text, "prometheus_engine_queries").abs() < f64::EPSILON);
        assert!(
            (line_value(&text, "prometheus_engine_queries_concurrent_max") - 20.0).abs() < 1e-9
        );
        assert!(line_value(&text, "prometheus_engine_query_log_enabled").abs() < f64::EPSILON);
        assert!(text.contains("# TYPE prometheus_engine_query_log_failures_total counter\n"));
    }
}
