//! The agent's metrics as a [`metrics::Collector`], under Prometheus 2.42's
//! `prometheus_agent_*` names and help texts (`dbMetrics` in `tsdb/agent/db.go`), read at
//! scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::family::{self, counter, gauge};
use model::exposition::{MetricFamily, MetricType};

use super::AgentDb;

#[allow(clippy::cast_precision_loss)]
fn value(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

impl metrics::Collector for AgentDb {
    #[allow(clippy::cast_precision_loss)]
    fn collect(&self, out: &mut Vec<MetricFamily>) {
        let st = self.stats();
        out.push(gauge(
            "prometheus_agent_active_series",
            "Number of active series being tracked by the WAL storage",
            self.series().len() as f64,
        ));
        out.push(gauge(
            "prometheus_agent_deleted_series",
            "Number of series pending deletion from the WAL",
            self.deleted.lock().len() as f64,
        ));
        // By sample type, as Prometheus's vector: a type appears once appended.
        let mut f = family::new(
            "prometheus_agent_samples_appended_total",
            "Total number of samples appended to the storage",
            MetricType::Counter,
        );
        for (kind, c) in [
            ("float", &st.floats_appended),
            ("histogram", &st.histograms_appended),
        ] {
            if c.load(Ordering::Relaxed) > 0 {
                family::push(&mut f, &[("type", kind)], value(c));
            }
        }
        out.push(f);
        for (name, help, c) in [
            (
                "prometheus_agent_exemplars_appended_total",
                "Total number of exemplars appended to the storage",
                &st.exemplars_appended,
            ),
            (
                "prometheus_agent_out_of_order_samples_total",
                "Total number of out of order samples ingestion failed attempts.",
                &st.out_of_order,
            ),
            (
                "prometheus_agent_corruptions_total",
                "Total number of WAL corruptions.",
                &st.corruptions,
            ),
            (
                "prometheus_agent_checkpoint_creations_total",
                "Total number of checkpoint creations attempted.",
                &st.checkpoint_creations,
            ),
            (
                "prometheus_agent_checkpoint_creations_failed_total",
                "Total number of checkpoint creations that failed.",
                &st.checkpoint_creations_failed,
            ),
            (
                "prometheus_agent_truncate_total",
                "Total number of WAL truncations attempted.",
                &st.truncations,
            ),
            (
                "prometheus_agent_truncate_failed_total",
                "Total number of WAL truncations that failed.",
                &st.truncations_failed,
            ),
        ] {
            out.push(counter(name, help, value(c)));
        }
        out.push(gauge(
            "prometheus_agent_data_replay_duration_seconds",
            "Time taken to replay the data on disk.",
            value(&st.replay_ms) / 1000.0,
        ));
    }
}
