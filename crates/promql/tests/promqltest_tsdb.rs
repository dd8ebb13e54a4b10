//! The start timestamps conformance script (`start_timestamps.test`: `start_timestamp()` and
//! start-aware `rate`/`increase`/`irate`/`resets`) run over a real TSDB (`tsdb::Db`, a fresh
//! database per `load` group) instead of the in-memory storage: every eval passes.

use std::sync::Arc;

use firewatch_promql::promqltest::{ScriptStorage, run_script_with};
use storage::{Appendable, Appender, Querier, Queryable, StorageError};
use tsdb::{Db, DbOptions};

/// A database in its own temporary directory (removed when dropped).
struct TempDb {
    db: Arc<Db>,
    _dir: tempfile::TempDir,
}

impl TempDb {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), DbOptions::default()).unwrap());
        Self { db, _dir: dir }
    }
}

impl Appendable for TempDb {
    fn appender(&self) -> Box<dyn Appender> {
        self.db.appender()
    }
}

impl Queryable for TempDb {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, StorageError> {
        self.db.querier(mint, maxt)
    }
}

#[test]
fn start_timestamps_script_passes_over_the_tsdb() {
    let Some(path) = testkit::shared_path(
        "promqltest_tsdb::start_timestamps",
        "promqltest/start_timestamps.test",
    ) else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let report = run_script_with("start_timestamps.test", &text, &|| {
        Box::new(TempDb::new()) as Box<dyn ScriptStorage>
    });
    for f in &report.failures {
        println!("  {f}");
    }
    println!("{report}");
    assert!(report.passed > 20, "{report}");
    assert_eq!(report.failed, 0, "{report}");
}
