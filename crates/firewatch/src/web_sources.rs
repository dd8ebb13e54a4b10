//! The TSDB and the scrape manager as the web API sees them: `web`'s `TsdbAdminStats` and
//! `TargetRetriever` implemented over `tsdb::Db` and `scrape::Manager` (as Prometheus's
//! `cmd/prometheus/main.go` hands its `readyStorage` and scrape manager to the API).

use std::sync::Arc;

use model::Matcher;
use web::sources::{
    ActiveTarget, DroppedTarget, HeadStats, MetricMetadata, TargetMetadata, TargetRetriever,
    TsdbAdminStats, TsdbStats, WalReplayStatus,
};

/// The TSDB for the admin and status endpoints.
pub struct TsdbView(pub Arc<tsdb::Db>);

impl TsdbAdminStats for TsdbView {
    fn delete_series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<(), String> {
        self.0
            .delete(start, end, matchers)
            .map_err(|e| e.to_string())
    }

    fn clean_tombstones(&self) -> Result<(), String> {
        self.0.clean_tombstones().map_err(|e| e.to_string())
    }

    fn snapshot(&self, name: &str, with_head: bool) -> Result<(), String> {
        let dir = self.0.dir().join("snapshots").join(name);
        self.0.snapshot(&dir, with_head).map_err(|e| e.to_string())
    }

    fn stats(&self, limit: usize) -> TsdbStats {
        let head = self.0.head();
        let (s, card) = (head.summary(), head.cardinality(limit));
        TsdbStats {
            head: HeadStats {
                num_series: s.num_series,
                num_label_pairs: s.num_label_pairs,
                chunk_count: s.chunk_count,
                min_time: s.min_time,
                max_time: s.max_time,
            },
            series_count_by_metric_name: card.series_count_by_metric_name,
            label_value_count_by_label_name: card.label_value_count_by_label_name,
            memory_in_bytes_by_label_name: card.memory_in_bytes_by_label_name,
            series_count_by_label_value_pair: card.series_count_by_label_value_pair,
        }
    }

    /// The WAL segments on disk; replay finishes before the API serves, so `current` is the
    /// last one.
    fn wal_replay_status(&self) -> WalReplayStatus {
        let segments: Vec<u64> = std::fs::read_dir(self.0.dir().join("wal"))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
                    .collect()
            })
            .unwrap_or_default();
        let max = segments.iter().copied().max().unwrap_or(0);
        WalReplayStatus {
            min: segments.iter().copied().min().unwrap_or(0),
            max,
            current: max,
        }
    }
}

/// The scrape manager for the targets and metadata endpoints.
pub struct TargetsView(pub Arc<scrape::Manager>);

impl TargetRetriever for TargetsView {
    fn active_targets(&self) -> Vec<ActiveTarget> {
        self.0
            .active_targets()
            .into_iter()
            .map(|t| ActiveTarget {
                scrape_pool: t.scrape_pool,
                labels: t.labels,
                discovered_labels: t.discovered_labels,
                scrape_url: t.scrape_url,
                last_error: t.last_error,
                last_scrape: t.last_scrape,
                last_scrape_duration: t.last_scrape_duration,
                health: t.health.as_str(),
                scrape_interval: t.scrape_interval,
                scrape_timeout: t.scrape_timeout,
            })
            .collect()
    }

    fn dropped_targets(&self) -> Vec<DroppedTarget> {
        self.0
            .dropped_targets()
            .into_iter()
            .map(|(scrape_pool, discovered_labels)| DroppedTarget {
                scrape_pool,
                discovered_labels,
            })
            .collect()
    }

    fn targets_metadata(&self) -> Vec<TargetMetadata> {
        self.0
            .targets_metadata()
            .into_iter()
            .map(|t| TargetMetadata {
                scrape_pool: t.scrape_pool,
                labels: t.labels,
                metadata: t
                    .metadata
                    .iter()
                    .map(|m| MetricMetadata {
                        metric_family: m.metric_family.clone(),
                        metric_type: m.metric_type,
                        help: m.help.clone(),
                        unit: m.unit.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Sample, labels};

    #[test]
    fn tsdb_view_reports_stats_deletes_and_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(tsdb::Db::open(dir.path(), tsdb::DbOptions::default()).unwrap());
        let mut app = db.appender();
        for i in 0..10 {
            for inst in ["a:1", "b:2"] {
                let l = labels!("__name__" => "up", "instance" => inst);
                app.append(0, &l, i * 15_000, Sample::Float(1.0)).unwrap();
            }
        }
        app.commit().unwrap();
        let view = TsdbView(db.clone());

        let stats = view.stats(1);
        assert_eq!(stats.head.num_series, 2);
        assert_eq!((stats.head.min_time, stats.head.max_time), (0, 135_000));
        assert_eq!(
            stats.series_count_by_metric_name,
            vec![("up".to_owned(), 2)]
        );
        assert_eq!(stats.series_count_by_label_value_pair.len(), 1);
        let wal = view.wal_replay_status();
        assert_eq!(wal.current, wal.max);

        view.snapshot("snap", true).unwrap();
        let up = [Matcher::equal("__name__", "up")];
        let copy = tsdb::Db::open(
            &dir.path().join("snapshots/snap"),
            tsdb::DbOptions::default(),
        )
        .unwrap();
        assert_eq!(
            samples(&copy, &up),
            20,
            "the snapshot holds the head's samples"
        );
        copy.close().unwrap();

        let a = [Matcher::equal("instance", "a:1")];
        view.delete_series(0, 60_000, &a).unwrap();
        view.clean_tombstones().unwrap();
        assert_eq!(samples(&db, &a), 5, "samples at 75 s..135 s of a:1 remain");
        assert_eq!(samples(&db, &up), 15);
        db.close().unwrap();
    }

    /// How many float samples the series matching `matchers` hold.
    fn samples(db: &tsdb::Db, matchers: &[Matcher]) -> usize {
        let q = storage::Queryable::querier(db, 0, 1_000_000).unwrap();
        let mut n = 0;
        for s in q.select(false, None, matchers).unwrap() {
            let s = s.unwrap();
            let mut it = s.iter();
            while it.next() == storage::ValueType::Float {
                n += 1;
            }
        }
        n
    }
}
