//! The head's metrics as a [`metrics::Collector`], under the names, help texts and types
//! Prometheus 2.42 exports them with (`prometheus_tsdb_*`, mirroring `tsdb/head.go`'s
//! `headMetrics` and `tsdb/wlog/wlog.go`'s `wlMetrics`), read at scrape time.
//!
//! Counters Prometheus keeps per sample `type` (`float`, `histogram`) show a child only once
//! it counted something, and the family only once a child exists, as a Go `CounterVec` does.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::family::{self, counter, gauge};
use model::exposition::{MetricFamily, MetricType};

use crate::head::{Head, TypedCounter};
use crate::wal::writer::WalStats;

#[allow(clippy::cast_precision_loss)]
fn value(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

/// A counter family labelled by sample type, leaving out types never counted.
fn typed_counter(out: &mut Vec<MetricFamily>, name: &str, help: &str, c: &TypedCounter) {
    let mut f = family::new(name, help, MetricType::Counter);
    for (t, v) in [("float", &c.float), ("histogram", &c.histogram)] {
        if v.load(Ordering::Relaxed) > 0 {
            family::push(&mut f, &[("type", t)], value(v));
        }
    }
    out.push(f);
}

/// The metrics of a write log under `prefix` (`prometheus_tsdb_wal_` or
/// `prometheus_tsdb_out_of_order_wbl_`), with Prometheus's help texts.
#[allow(clippy::cast_precision_loss)]
fn log_metrics(
    out: &mut Vec<MetricFamily>,
    prefix: &str,
    (st, quantiles): (&WalStats, &[(f64, f64)]),
    segment: u32,
) {
    let mut fsync = family::new(
        &format!("{prefix}fsync_duration_seconds"),
        "Duration of write log fsync.",
        MetricType::Summary,
    );
    family::push_summary(&mut fsync, &[], quantiles, st.fsync_seconds, st.fsyncs);
    out.push(fsync);
    for (name, help, v) in [
        (
            "page_flushes_total",
            "Total number of page flushes.",
            st.page_flushes,
        ),
        (
            "completed_pages_total",
            "Total number of completed pages.",
            st.completed_pages,
        ),
        (
            "truncations_failed_total",
            "Total number of write log truncations that failed.",
            st.truncations_failed,
        ),
        (
            "truncations_total",
            "Total number of write log truncations attempted.",
            st.truncations,
        ),
        (
            "writes_failed_total",
            "Total number of write log writes that failed.",
            st.writes_failed,
        ),
    ] {
        out.push(counter(&format!("{prefix}{name}"), help, v as f64));
    }
    out.push(gauge(
        &format!("{prefix}segment_current"),
        "Write log segment index that TSDB is currently writing to.",
        f64::from(segment),
    ));
}

impl metrics::Collector for Head {
    /// The head's series, time bounds, sample and series counters, exemplar storage, and
    /// the metrics of its WAL and (once the out-of-order window was open) its WBL.
    #[allow(clippy::cast_precision_loss)]
    fn collect(&self, out: &mut Vec<MetricFamily>) {
        out.push(gauge(
            "prometheus_tsdb_head_series",
            "Total number of series in the head block.",
            self.num_series() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_head_min_time",
            "Minimum time bound of the head block. The unit is decided by the library consumer.",
            self.min_time() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_head_max_time",
            "Maximum timestamp of the head block. The unit is decided by the library consumer.",
            self.max_time() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_head_min_time_seconds",
            "Minimum time bound of the head block.",
            self.min_time() as f64 / 1000.0,
        ));
        out.push(gauge(
            "prometheus_tsdb_head_max_time_seconds",
            "Maximum timestamp of the head block.",
            self.max_time() as f64 / 1000.0,
        ));
        let ex = &self.exemplars;
        out.push(gauge(
            "prometheus_tsdb_exemplar_exemplars_in_storage",
            "Number of exemplars currently in circular storage.",
            ex.exemplars_in_storage() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
            "Number of series with exemplars currently in circular storage.",
            ex.series_with_exemplars() as f64,
        ));
        out.push(counter(
            "prometheus_tsdb_exemplar_exemplars_appended_total",
            "Total number of appended exemplars.",
            value(&ex.stats.appended),
        ));
        out.push(gauge(
            "prometheus_tsdb_exemplar_max_exemplars",
            "Total number of exemplars the exemplar storage can store, resizeable.",
            ex.capacity() as f64,
        ));
        let s = &self.stats;
        typed_counter(
            out,
            "prometheus_tsdb_head_samples_appended_total",
            "Total number of appended samples.",
            &s.samples_appended,
        );
        out.push(counter(
            "prometheus_tsdb_head_out_of_order_samples_appended_total",
            "Total number of appended out of order samples.",
            value(&s.ooo_appended),
        ));
        typed_counter(
            out,
            "prometheus_tsdb_out_of_bound_samples_total",
            "Total number of out of bound samples ingestion failed attempts with out of order support disabled.",
            &s.out_of_bounds,
        );
        typed_counter(
            out,
            "prometheus_tsdb_out_of_order_samples_total",
            "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
            &s.out_of_order,
        );
        typed_counter(
            out,
            "prometheus_tsdb_too_old_samples_total",
            "Total number of out of order samples ingestion failed attempts with out of support enabled, but sample outside of time window.",
            &s.too_old,
        );
        out.push(counter(
            "prometheus_tsdb_head_series_created_total",
            "Total number of series created in the head",
            value(&s.series_created),
        ));
        out.push(counter(
            "prometheus_tsdb_head_series_removed_total",
            "Total number of series removed in the head",
            value(&s.series_removed),
        ));
        for (name, help, c) in [
            (
                "prometheus_tsdb_head_truncations_total",
                "Total number of head truncations attempted.",
                &s.truncations,
            ),
            (
                "prometheus_tsdb_head_truncations_failed_total",
                "Total number of head truncations that failed.",
                &s.truncations_failed,
            ),
            (
                "prometheus_tsdb_checkpoint_creations_total",
                "Total number of checkpoint creations attempted.",
                &s.checkpoint_creations,
            ),
            (
                "prometheus_tsdb_checkpoint_creations_failed_total",
                "Total number of checkpoint creations that failed.",
                &s.checkpoint_creations_failed,
            ),
            (
                "prometheus_tsdb_checkpoint_deletions_total",
                "Total number of checkpoint deletions attempted.",
                &s.checkpoint_deletions,
            ),
            (
                "prometheus_tsdb_checkpoint_deletions_failed_total",
                "Total number of checkpoint deletions that failed.",
                &s.checkpoint_deletions_failed,
            ),
        ] {
            out.push(counter(name, help, value(c)));
        }
        for (prefix, log) in [
            ("prometheus_tsdb_wal_", self.wal.as_ref()),
            ("prometheus_tsdb_out_of_order_wbl_", self.wbl.get()),
        ] {
            if let Some(log) = log {
                let (stats, quantiles, segment) = {
                    let w = log.lock();
                    (w.stats().clone(), w.fsync_quantiles(), w.current_segment())
                };
                log_metrics(out, prefix, (&stats, &quantiles), segment);
            }
        }
    }
}

impl metrics::Collector for crate::Db {
    /// The head's metrics (see [`Head`]'s collector), and the blocks': how many, their
    /// bytes, the size limit and the lowest timestamp stored.
    #[allow(clippy::cast_precision_loss)]
    fn collect(&self, out: &mut Vec<MetricFamily>) {
        metrics::Collector::collect(&**self.head(), out);
        for (name, help, v) in self.compaction_stats().counters() {
            out.push(counter(name, help, v as f64));
        }
        let blocks = self.blocks();
        out.push(gauge(
            "prometheus_tsdb_blocks_loaded",
            "Number of currently loaded data blocks",
            blocks.len() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_storage_blocks_bytes",
            "The number of bytes that are currently used for local storage by all blocks.",
            blocks
                .iter()
                .map(crate::block::BlockReader::size)
                .sum::<u64>() as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_retention_limit_bytes",
            "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
            self.options().max_bytes as f64,
        ));
        let lowest = blocks
            .iter()
            .map(|b| b.meta().min_time)
            .chain(std::iter::once(self.head().min_time()))
            .min()
            .unwrap_or(i64::MAX);
        out.push(gauge(
            "prometheus_tsdb_lowest_timestamp",
            "Lowest timestamp value stored in the database. The unit is decided by the library consumer.",
            lowest as f64,
        ));
        out.push(gauge(
            "prometheus_tsdb_lowest_timestamp_seconds",
            "Lowest timestamp value stored in the database.",
            lowest as f64 / 1000.0,
        ));
    }
}

impl Head {
    /// The head's metrics in the text exposition format (tests and tools; the server
    /// registers the head, or its [`Db`](crate::Db), as a collector instead).
    #[must_use]
    pub fn metrics_text(&self) -> String {
        let mut families = Vec::new();
        metrics::Collector::collect(self, &mut families);
        families.retain(|f| !f.samples.is_empty());
        model::exposition::encode_text(&families)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::{Sample, labels};
    use storage::{Appender, StorageError};

    use crate::head::{Head, HeadOptions};

    /// The value of the sample line starting with `series ` in `text`.
    fn value(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    }

    fn hist() -> Sample {
        Sample::Histogram(Arc::new(model::Histogram {
            count: 1,
            sum: 1.0,
            zero_count: 1,
            ..model::Histogram::default()
        }))
    }

    #[test]
    fn counts_samples_by_outcome_and_type() {
        let head = Arc::new(Head::new(
            HeadOptions {
                ooo_window: 10_000,
                ..HeadOptions::default()
            },
            None,
        ));
        let out = head.metrics_text();
        // Typed families appear only once counted; plain counters always.
        assert!(!out.contains("prometheus_tsdb_too_old_samples_total"));
        assert_eq!(
            value(
                &out,
                "prometheus_tsdb_head_out_of_order_samples_appended_total"
            ),
            Some(0)
        );

        let a = labels!("__name__" => "a");
        let h = labels!("__name__" => "h");
        let mut app = head.appender();
        app.append(0, &a, 100_000, Sample::Float(1.0)).unwrap();
        app.append(0, &h, 100_000, hist()).unwrap();
        app.commit().unwrap();
        let mut app = head.appender();
        // Within the window: taken out of order.
        app.append(0, &a, 95_000, Sample::Float(2.0)).unwrap();
        app.append(0, &a, 96_000, Sample::Float(2.0)).unwrap();
        // Behind the window: too old.
        assert!(matches!(
            app.append(0, &a, 80_000, Sample::Float(3.0)),
            Err(StorageError::TooOldSample)
        ));
        // Histograms are never taken out of order.
        assert!(matches!(
            app.append(0, &h, 99_000, hist()),
            Err(StorageError::OutOfOrderSample)
        ));
        app.commit().unwrap();

        let out = head.metrics_text();
        let v = |s: &str| value(&out, s);
        assert_eq!(
            v("prometheus_tsdb_head_samples_appended_total{type=\"float\"}"),
            Some(1)
        );
        assert_eq!(
            v("prometheus_tsdb_head_samples_appended_total{type=\"histogram\"}"),
            Some(1)
        );
        assert_eq!(
            v("prometheus_tsdb_head_out_of_order_samples_appended_total"),
            Some(2)
        );
        assert_eq!(
            v("prometheus_tsdb_too_old_samples_total{type=\"float\"}"),
            Some(1)
        );
        assert_eq!(
            v("prometheus_tsdb_out_of_order_samples_total{type=\"histogram\"}"),
            Some(1)
        );
        assert!(!out.contains("prometheus_tsdb_out_of_order_samples_total{type=\"float\"}"));
        assert!(!out.contains("prometheus_tsdb_out_of_bound_samples_total"));
        assert_eq!(v("prometheus_tsdb_head_series_created_total"), Some(2));
        assert!(out.contains("# TYPE prometheus_tsdb_too_old_samples_total counter\n"));
    }

    #[test]
    fn closed_window_counts_out_of_order_and_out_of_bounds() {
        let head = Arc::new(Head::new(HeadOptions::default(), None));
        let a = labels!("__name__" => "a");
        let mut app = head.appender();
        app.append(0, &a, 10 * 3_600_000, Sample::Float(1.0))
            .unwrap();
        app.commit().unwrap();
        let mut app = head.appender();
        assert!(matches!(
            app.append(0, &a, 10 * 3_600_000 - 1, Sample::Float(1.0)),
            Err(StorageError::OutOfOrderSample)
        ));
        assert!(matches!(
            app.append(0, &a, 3_600_000, Sample::Float(1.0)),
            Err(StorageError::OutOfBounds)
        ));
        let out = head.metrics_text();
        assert_eq!(
            value(
                &out,
                "prometheus_tsdb_out_of_order_samples_total{type=\"float\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value(
                &out,
                "prometheus_tsdb_out_of_bound_samples_total{type=\"float\"}"
            ),
            Some(1)
        );
        assert!(!out.contains("prometheus_tsdb_too_old_samples_total"));
    }

    #[test]
    fn wal_and_wbl_metrics_appear_with_their_logs() {
        let dir = tempfile::tempdir().unwrap();
        let head = Arc::new(
            Head::open(
                HeadOptions::default(),
                dir.path(),
                crate::wal::WalOptions::default(),
                i64::MIN,
            )
            .unwrap(),
        );
        let mut app = head.appender();
        app.append(0, &labels!("__name__" => "a"), 1_000, Sample::Float(1.0))
            .unwrap();
        app.commit().unwrap();
        let out = head.metrics_text();
        assert!(value(&out, "prometheus_tsdb_wal_page_flushes_total").unwrap() >= 1);
        assert_eq!(
            value(&out, "prometheus_tsdb_wal_writes_failed_total"),
            Some(0)
        );
        assert!(out.contains("# TYPE prometheus_tsdb_wal_fsync_duration_seconds summary\n"));
        assert!(out.contains("prometheus_tsdb_wal_fsync_duration_seconds{quantile=\"0.99\"} "));
        assert!(!out.contains("prometheus_tsdb_out_of_order_wbl_"));
        head.apply_config(0, 60_000).unwrap();
        let out = head.metrics_text();
        assert_eq!(
            value(&out, "prometheus_tsdb_out_of_order_wbl_segment_current"),
            Some(0)
        );
    }

    #[test]
    fn db_reports_blocks_limit_and_lowest_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::DbOptions {
            max_bytes: 1 << 30,
            ..crate::DbOptions::default()
        };
        let db = crate::Db::open(dir.path(), opts).unwrap();
        let mut app = db.appender();
        app.append(0, &labels!("__name__" => "a"), 5_000, Sample::Float(1.0))
            .unwrap();
        app.commit().unwrap();
        let text = metrics::encode_collector(&db, metrics::Format::Text);
        for line in [
            "prometheus_tsdb_blocks_loaded 0\n",
            "prometheus_tsdb_storage_blocks_bytes 0\n",
            "prometheus_tsdb_retention_limit_bytes 1.073741824e+09\n",
            "prometheus_tsdb_lowest_timestamp 5000\n",
            "prometheus_tsdb_lowest_timestamp_seconds 5\n",
            "prometheus_tsdb_head_series 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        db.close().unwrap();
    }
}
