//! Appending expositions: label conflicts, honor_labels, metric relabeling, limits, staleness.

use storage::memory::MemoryStorage;
use storage::{Appendable, Queryable, ValueType};

use super::*;

fn target() -> Labels {
    model::labels!("job" => "app", "instance" => "h:1")
}

fn opts() -> LoopOptions {
    LoopOptions {
        honor_timestamps: true,
        ..LoopOptions::default()
    }
}

/// Every sample stored, as `(labels, t, value)` strings.
fn dump(db: &MemoryStorage) -> Vec<(String, i64, f64)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let m = model::Matcher::new(model::MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let mut out = Vec::new();
    for s in q.select(true, None, &[m]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            out.push((s.labels().to_string(), t, v));
        }
    }
    out
}

fn scrape(
    db: &MemoryStorage,
    cache: &mut ScrapeCache,
    body: &str,
    opts: &LoopOptions,
    ts: i64,
) -> Result<ScrapeCounts, ScrapeError> {
    let mut app = db.appender();
    let r = append_exposition(
        app.as_mut(),
        cache,
        body.as_bytes(),
        Format::Text,
        &target(),
        opts,
        ts,
    );
    match &r {
        Ok(_) => app.commit().unwrap(),
        Err(_) => app.rollback().unwrap(),
    }
    r
}

#[test]
fn target_labels_win_and_conflicts_are_exported() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    let counts = scrape(&db, &mut cache, "a{job=\"x\"} 1\nb 2 5000\n", &opts(), 1000).unwrap();
    assert_eq!(
        (counts.scraped, counts.post_relabel, counts.added),
        (2, 2, 2)
    );
    assert_eq!(
        dump(&db),
        [
            (
                r#"{__name__="a", exported_job="x", instance="h:1", job="app"}"#.to_owned(),
                1000,
                1.0
            ),
            (
                r#"{__name__="b", instance="h:1", job="app"}"#.to_owned(),
                5000,
                2.0
            ),
        ]
    );
}

#[test]
fn honor_labels_keeps_exposed_values() {
    let db = MemoryStorage::new();
    let o = LoopOptions {
        honor_labels: true,
        honor_timestamps: false,
        ..opts()
    };
    scrape(
        &db,
        &mut ScrapeCache::default(),
        "a{job=\"x\"} 1 5000\n",
        &o,
        1000,
    )
    .unwrap();
    assert_eq!(
        dump(&db),
        [(
            r#"{__name__="a", instance="h:1", job="x"}"#.to_owned(),
            1000,
            1.0
        )]
    );
}

#[test]
fn metric_relabeling_drops() {
    let db = MemoryStorage::new();
    let rule: RelabelConfig =
        serde_saphyr::from_str("{source_labels: [__name__], regex: 'go_.*', action: drop}")
            .unwrap();
    let o = LoopOptions {
        metric_relabel: vec![rule],
        ..opts()
    };
    let counts = scrape(
        &db,
        &mut ScrapeCache::default(),
        "go_x 1\ngo_y 2\nkeep 3\n",
        &o,
        1000,
    )
    .unwrap();
    assert_eq!((counts.scraped, counts.post_relabel), (3, 1));
    assert_eq!(dump(&db).len(), 1);
}

#[test]
fn sample_limit_fails_the_whole_scrape() {
    let db = MemoryStorage::new();
    let o = LoopOptions {
        sample_limit: 2,
        ..opts()
    };
    let err = scrape(
        &db,
        &mut ScrapeCache::default(),
        "a 1\nb 2\nc 3\n",
        &o,
        1000,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "sample limit exceeded");
    assert!(dump(&db).is_empty(), "nothing of a failed scrape is stored");
}

#[test]
fn label_limit_names_the_metric() {
    let db = MemoryStorage::new();
    let o = LoopOptions {
        label_limit: 3,
        ..opts()
    };
    let err = scrape(
        &db,
        &mut ScrapeCache::default(),
        "a{x=\"1\",y=\"2\"} 1\n",
        &o,
        1000,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "label_limit exceeded (metric: a, number of labels: 5, limit: 3)"
    );
}

#[test]
fn vanished_series_get_a_staleness_marker() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    scrape(&db, &mut cache, "a 1\nb 2\n", &opts(), 1000).unwrap();
    let counts = scrape(&db, &mut cache, "a 3\n", &opts(), 2000).unwrap();
    assert_eq!(counts.added, 0);
    let b: Vec<_> = dump(&db)
        .into_iter()
        .filter(|(l, _, _)| l.contains("\"b\""))
        .collect();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].1, 1000);
    assert_eq!((b[1].1, model::is_stale_nan(b[1].2)), (2000, true));
}

#[test]
fn parse_errors_name_the_line() {
    let db = MemoryStorage::new();
    let err = scrape(
        &db,
        &mut ScrapeCache::default(),
        "a 1\nb{ 2\n",
        &opts(),
        1000,
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn metadata_of_the_exposition_is_cached() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    let body = "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n\
                http_requests_total 3\n# TYPE temp untyped\ntemp 1\nbare 2\n";
    scrape(&db, &mut cache, body, &opts(), 1000).unwrap();
    let md = cache.metadata.take_changed().unwrap();
    let got: Vec<(&str, &str, &str)> = md
        .iter()
        .map(|m| (m.metric_family.as_str(), m.metric_type, m.help.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("http_requests_total", "counter", "Requests served."),
            ("temp", "unknown", ""),
        ],
        "families without HELP/TYPE have no entry; untyped is unknown"
    );
    let mut app = db.appender();
    let om = "# TYPE req_seconds counter\n# UNIT req_seconds seconds\nreq_seconds_total 1\n# EOF\n";
    append_exposition(
        app.as_mut(),
        &mut cache,
        om.as_bytes(),
        Format::OpenMetrics,
        &target(),
        &opts(),
        2000,
    )
    .unwrap();
    app.commit().unwrap();
    let md = cache.metadata.take_changed().unwrap();
    let req = md
        .iter()
        .find(|m| m.metric_family == "req_seconds")
        .unwrap();
    assert_eq!((req.metric_type, req.unit.as_str()), ("counter", "seconds"));
    assert_eq!(
        md.len(),
        3,
        "the text scrape's families stay one more scrape"
    );
}

#[test]
fn openmetrics_exemplars_reach_the_exemplar_storage() {
    use storage::ExemplarQueryable;
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(
        dir.path(),
        tsdb::DbOptions {
            max_exemplars: 10,
            ..tsdb::DbOptions::default()
        },
    )
    .unwrap();
    let body = "# TYPE req counter\n\
                req_total{path=\"/\"} 3 # {trace_id=\"abc\"} 0.5 1.5\n\
                req_total{path=\"/x\"} 1 # {trace_id=\"def\"} 2\n\
                # EOF\n";
    let mut app = db.appender();
    let counts = append_exposition(
        app.as_mut(),
        &mut ScrapeCache::default(),
        body.as_bytes(),
        Format::OpenMetrics,
        &target(),
        &opts(),
        2000,
    )
    .unwrap();
    app.commit().unwrap();
    assert_eq!(counts.scraped, 2);
    let m = model::Matcher::new(model::MatchOp::Equal, "__name__", "req_total").unwrap();
    let found = db.select_exemplars(0, 10_000, &[vec![m]]).unwrap();
    let got: Vec<(String, String, f64, i64, bool)> = found
        .iter()
        .flat_map(|s| {
            s.exemplars.iter().map(|e| {
                (
                    s.series_labels.get("path").unwrap_or_default().to_owned(),
                    e.labels.to_string(),
                    e.value,
                    e.ts,
                    e.has_ts,
                )
            })
        })
        .collect();
    assert_eq!(
        got,
        [
            ("/".into(), "{trace_id=\"abc\"}".into(), 0.5, 1500, true),
            ("/x".into(), "{trace_id=\"def\"}".into(), 2.0, 2000, false),
        ]
    );
}
