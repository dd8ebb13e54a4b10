//! Churn (issue 15 item 7): a deploy replaces every pod's series; once the head is compacted
//! past the old series' last samples they are garbage-collected from the head (series map,
//! postings, `prometheus_tsdb_head_series`) as Prometheus does after head truncation, the
//! head returns to its steady size, and the old samples still answer from the blocks.

use std::collections::BTreeMap;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::ValueType;

const HOUR: i64 = 3_600_000;
/// Series per deploy generation.
const N: usize = 200;
const STEP: i64 = 60_000;

fn pods(generation: usize) -> Vec<Labels> {
    (0..N)
        .map(|i| {
            let pod = format!("app-{generation}-{i}");
            labels!("__name__" => "http_requests_total", "job" => "app", "pod" => pod.as_str())
        })
        .collect()
}

/// Appends one sample per series of `generation` every minute in `[from, to)`.
fn scrape(db: &Db, generation: usize, from: i64, to: i64) {
    let series = pods(generation);
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, s) in series.iter().enumerate() {
            app.append(0, s, t, Sample::Float((t / STEP) as f64 + i as f64))
                .unwrap();
        }
        app.commit().unwrap();
        t += STEP;
    }
}

fn select(db: &Db, m: Matcher) -> BTreeMap<String, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[m]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        out.insert(s.labels().get("pod").unwrap().to_owned(), v);
    }
    out
}

/// The value of `prometheus_tsdb_head_series` in the head's exposition.
fn head_series_metric(db: &Db) -> u64 {
    db.head()
        .metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix("prometheus_tsdb_head_series "))
        .expect("prometheus_tsdb_head_series exposed")
        .parse()
        .unwrap()
}

/// Pods the head alone lists (postings / label index).
fn head_pods(db: &Db) -> Vec<String> {
    let q = db.head().querier(i64::MIN, i64::MAX);
    storage::Querier::label_values(&q, "pod", None, &[]).unwrap()
}

#[test]
fn deploys_replace_series_and_the_head_returns_to_steady_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            wal_segment_size: 64 * 1024,
            ..DbOptions::default()
        },
    )
    .unwrap();

    // Generation g runs for the two hours [2h*g, 2h*(g+1)): every deploy replaces all pods.
    scrape(&db, 0, 0, 2 * HOUR);
    assert_eq!(db.head().num_series(), N);
    let steady_pairs = db.head().summary().num_label_pairs;
    let mut steady_chunks = None;
    for generation in 1..=3usize {
        let start = 2 * HOUR * generation as i64;
        scrape(&db, generation, start, start + 2 * HOUR);
        // Both generations are in the head until it is compacted.
        assert_eq!(db.head().num_series(), 2 * N, "generation {generation}");
        db.compact().unwrap();

        // The head holds the new generation only: series, metric, postings, label pairs.
        assert_eq!(db.head().num_series(), N, "generation {generation}");
        assert_eq!(head_series_metric(&db), N as u64);
        let listed = head_pods(&db);
        assert_eq!(listed.len(), N, "generation {generation}: {listed:?}");
        let prefix = format!("app-{generation}-");
        assert!(
            listed.iter().all(|p| p.starts_with(&prefix)),
            "old pods still in the head's label index: {listed:?}"
        );
        assert_eq!(db.head().summary().num_label_pairs, steady_pairs);
        let head_only = db
            .head()
            .querier(i64::MIN, i64::MAX)
            .select_pods(&format!("app-{}-.*", generation - 1));
        assert!(head_only.is_empty(), "old series answer from the head");
        // Head chunks do not grow from one deploy to the next.
        let chunks = db.head().summary().chunk_count;
        if let Some(s) = steady_chunks {
            assert_eq!(chunks, s, "generation {generation}");
        }
        steady_chunks = Some(chunks);

        // Every sample of the old generations still answers, from the blocks.
        for old in 0..generation {
            let (from, to) = (2 * HOUR * old as i64, 2 * HOUR * (old as i64 + 1));
            let got = select(&db, re("pod", &format!("app-{old}-.*")));
            assert_eq!(got.len(), N, "generation {old} after deploy {generation}");
            for (i, s) in pods(old).iter().enumerate() {
                let want: Vec<(i64, f64)> = (from / STEP..to / STEP)
                    .map(|k| (k * STEP, k as f64 + i as f64))
                    .collect();
                assert_eq!(got[s.get("pod").unwrap()], want, "{s}");
            }
        }
    }
    assert!(!db.blocks().is_empty());
    let removed: u64 = db
        .head()
        .metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix("prometheus_tsdb_head_series_removed_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(removed, 3 * N as u64);
    db.close().unwrap();

    // After a restart the WAL checkpoint holds only the live generation.
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(db.head().num_series(), N);
    assert!(head_pods(&db).iter().all(|p| p.starts_with("app-3-")));
    db.close().unwrap();
}

/// Selecting from the head's own querier by a pod regex.
trait SelectPods {
    fn select_pods(&self, pattern: &str) -> Vec<String>;
}

impl<Q: storage::Querier> SelectPods for Q {
    fn select_pods(&self, pattern: &str) -> Vec<String> {
        self.select(false, None, &[re("pod", pattern)])
            .unwrap()
            .map(|s| s.unwrap().labels().to_string())
            .collect()
    }
}

/// A `name=~"pattern"` matcher.
fn re(name: &str, pattern: &str) -> Matcher {
    Matcher::new(MatchOp::RegexMatch, name, pattern).unwrap()
}

/// A head truncation removes the series left without samples, except one an appender holds
/// (its sample waits for commit and lands after it), keeps the others with their samples
/// from the cut on, and a truncation that leaves every series some samples removes none.
#[test]
fn truncation_removes_emptied_series_but_not_one_an_appender_holds() {
    use firewatch_tsdb::head::{Head, HeadOptions};
    use storage::Appender;
    let head = std::sync::Arc::new(Head::new(
        HeadOptions {
            chunk_range: HOUR,
            ..HeadOptions::default()
        },
        None,
    ));
    let set = |name: &str| labels!("__name__" => "m", "s" => name);
    let mut app = head.appender();
    for name in ["gone", "held", "kept"] {
        app.append(0, &set(name), 0, Sample::Float(1.0)).unwrap();
    }
    app.append(0, &set("kept"), 2 * HOUR, Sample::Float(2.0))
        .unwrap();
    app.commit().unwrap();
    drop(app);
    // Nothing is left empty by a cut before every sample.
    head.truncate_memory(-1);
    assert_eq!(head.num_series(), 3);

    let mut holder = head.appender();
    holder
        .append(0, &set("held"), 2 * HOUR + 1, Sample::Float(3.0))
        .unwrap();
    head.truncate_memory(HOUR);
    assert_eq!(head.series_ref(&set("gone")), None);
    assert!(head.series_ref(&set("held")).is_some());
    assert!(head.series_ref(&set("kept")).is_some());
    assert_eq!(head.min_time(), 2 * HOUR);
    holder.commit().unwrap();
    let q = head.querier(i64::MIN, i64::MAX);
    let all = Matcher::new(MatchOp::Equal, "__name__", "m").unwrap();
    let mut got = Vec::new();
    for s in storage::Querier::select(&q, true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            got.push((s.labels().get("s").unwrap().to_owned(), it.at()));
        }
    }
    assert_eq!(
        got,
        [
            ("held".to_owned(), (2 * HOUR + 1, 3.0)),
            ("kept".to_owned(), (2 * HOUR, 2.0))
        ]
    );
    assert_eq!(
        storage::Querier::label_values(&head.querier(i64::MIN, i64::MAX), "s", None, &[]).unwrap(),
        ["held", "kept"],
        "postings of the removed series"
    );
}
