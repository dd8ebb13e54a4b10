//! Appending expositions: label conflicts, honor_labels, metric relabeling, limits, staleness.

use storage::memory::MemoryStorage;
use storage::{Appendable, Queryable, ValueType};

use super::*;
use crate::ScrapeError;
use crate::http::BodyFormat;
use config::RelabelConfig;
use model::Labels;
use model::exposition::Format;

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

/// Options whose metric relabeling drops every `go_*` series.
fn dropping_go_metrics() -> LoopOptions {
    let rule: RelabelConfig =
        serde_saphyr::from_str("{source_labels: [__name__], regex: 'go_.*', action: drop}")
            .unwrap();
    LoopOptions {
        metric_relabel: vec![rule],
        ..opts()
    }
}

#[test]
fn metric_relabeling_drops() {
    let db = MemoryStorage::new();
    let o = dropping_go_metrics();
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
fn a_failed_scrape_leaves_the_previous_scrapes_series_tracked_for_staleness() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    scrape(&db, &mut cache, "a 1\nb 2\n", &opts(), 1000).unwrap();
    scrape(&db, &mut cache, "b 3\n", &opts(), 2000).unwrap();
    // b (appended by the previous scrape) and a (marked stale by it) are appended, then
    // c is over the limit: the scrape is rolled back.
    let limited = LoopOptions {
        sample_limit: 2,
        ..opts()
    };
    let err = scrape(&db, &mut cache, "b 5\na 4\nc 7\n", &limited, 3000).unwrap_err();
    assert_eq!(err.to_string(), "sample limit exceeded");
    scrape(&db, &mut cache, "c 8\n", &opts(), 4000).unwrap();
    let got: Vec<String> = dump(&db)
        .into_iter()
        .map(|(l, t, v)| format!("{l} {t} {v}"))
        .collect();
    let s = |n: &str| format!(r#"{{__name__="{n}", instance="h:1", job="app"}}"#);
    assert_eq!(
        got,
        [
            format!("{} 1000 1", s("a")),
            format!("{} 2000 NaN", s("a")),
            format!("{} 1000 2", s("b")),
            format!("{} 2000 3", s("b")),
            format!("{} 4000 NaN", s("b")),
            format!("{} 4000 8", s("c")),
        ]
    );
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

/// Scrapes like the loop does: on failure, rolls back and marks the previous series stale.
fn scrape_or_stale(
    db: &MemoryStorage,
    cache: &mut ScrapeCache,
    body: &str,
    format: Format,
    opts: &LoopOptions,
    ts: i64,
) -> (ScrapeCounts, Result<(), ScrapeError>) {
    let mut app = db.appender();
    let (counts, r) = cache.append_counted(
        app.as_mut(),
        body.as_bytes(),
        BodyFormat::Text(format),
        &target(),
        opts,
        ts,
    );
    if r.is_err() {
        app.rollback().unwrap();
        cache.mark_stale(app.as_mut(), ts).unwrap();
    }
    app.commit().unwrap();
    (counts, r)
}

/// The samples of the series whose labels contain `needle`, as `(t, value or "stale")`.
fn samples_of(db: &MemoryStorage, needle: &str) -> Vec<(i64, String)> {
    dump(db)
        .into_iter()
        .filter(|(l, _, _)| l.contains(needle))
        .map(|(_, t, v)| {
            let v = if model::is_stale_nan(v) {
                "stale".to_owned()
            } else {
                v.to_string()
            };
            (t, v)
        })
        .collect()
}

#[test]
fn known_series_read_like_new_ones() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    let body = |v: i32| {
        format!(
            "# TYPE a counter\na{{x=\"q\\\"}}\"}} {v}\nb {v}\n  c {{y=\"1\"}}\t{v} 9000\n\
             {{\"d.e\",z=\"\\\\\"}} {v}\n"
        )
    };
    for (i, ts) in [1000, 2000, 3000].into_iter().enumerate() {
        let counts = scrape(&db, &mut cache, &body(i as i32), &opts(), ts).unwrap();
        assert_eq!(counts.scraped, 4);
        assert_eq!(counts.added, if i == 0 { 4 } else { 0 }, "scrape {i}");
    }
    assert_eq!(cache.len(), 4);
    let got: Vec<String> = dump(&db)
        .into_iter()
        .map(|(l, t, v)| format!("{l} {t} {v}"))
        .collect();
    assert_eq!(
        got,
        [
            r#"{__name__="a", instance="h:1", job="app", x="q\"}"} 1000 0"#,
            r#"{__name__="a", instance="h:1", job="app", x="q\"}"} 2000 1"#,
            r#"{__name__="a", instance="h:1", job="app", x="q\"}"} 3000 2"#,
            r#"{__name__="b", instance="h:1", job="app"} 1000 0"#,
            r#"{__name__="b", instance="h:1", job="app"} 2000 1"#,
            r#"{__name__="b", instance="h:1", job="app"} 3000 2"#,
            r#"{__name__="c", instance="h:1", job="app", y="1"} 9000 2"#,
            r#"{__name__="d.e", instance="h:1", job="app", z="\\"} 1000 0"#,
            r#"{__name__="d.e", instance="h:1", job="app", z="\\"} 2000 1"#,
            r#"{__name__="d.e", instance="h:1", job="app", z="\\"} 3000 2"#,
        ],
        "c keeps its own timestamp (the memory storage keeps the last value written at 9000)"
    );
}

#[test]
fn dropped_series_stay_dropped_from_the_cache() {
    let db = MemoryStorage::new();
    let o = dropping_go_metrics();
    let mut cache = ScrapeCache::default();
    for ts in [1000, 2000] {
        let counts = scrape(&db, &mut cache, "go_x 1\ngo_y 2\nkeep 3\n", &o, ts).unwrap();
        assert_eq!((counts.scraped, counts.post_relabel), (3, 1));
    }
    assert_eq!(dump(&db).len(), 2);
}

#[test]
fn a_failed_scrape_marks_the_previous_series_stale() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    let text = Format::Text;
    scrape_or_stale(&db, &mut cache, "a 1\nb 2\n", text, &opts(), 1000)
        .1
        .unwrap();
    let (counts, r) = scrape_or_stale(&db, &mut cache, "a 3\nb{ 4\n", text, &opts(), 2000);
    assert!(r.is_err());
    assert_eq!(counts.scraped, 1, "counted up to the malformed line");
    scrape_or_stale(&db, &mut cache, "a 5\n", text, &opts(), 3000)
        .1
        .unwrap();
    assert_eq!(
        samples_of(&db, "\"a\""),
        [
            (1000, "1".into()),
            (2000, "stale".into()),
            (3000, "5".into())
        ]
    );
    assert_eq!(
        samples_of(&db, "\"b\""),
        [(1000, "2".into()), (2000, "stale".into())],
        "b is not marked stale twice"
    );
}

#[test]
fn a_rolled_back_scrape_leaves_staleness_tracking_as_it_was() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    scrape(&db, &mut cache, "a 1\nb 2\n", &opts(), 1000).unwrap();
    // The scrape fails after appending `a`: nothing of it is stored...
    scrape(&db, &mut cache, "a 3\nc 1\nb{ 4\n", &opts(), 2000).unwrap_err();
    // ...so `a`, gone now, was last in the scrape at 1000 and gets its marker.
    scrape(&db, &mut cache, "b 5\n", &opts(), 3000).unwrap();
    assert_eq!(
        samples_of(&db, "\"a\""),
        [(1000, "1".into()), (3000, "stale".into())]
    );
    assert_eq!(
        samples_of(&db, "\"b\""),
        [(1000, "2".into()), (3000, "5".into())]
    );
    assert!(samples_of(&db, "\"c\"").is_empty());
}

#[test]
fn own_timestamps_are_tracked_for_staleness_only_when_asked() {
    for track in [false, true] {
        let db = MemoryStorage::new();
        let mut cache = ScrapeCache::default();
        let o = LoopOptions {
            track_timestamps_staleness: track,
            ..opts()
        };
        scrape(&db, &mut cache, "a 1 500\nb 2\n", &o, 1000).unwrap();
        scrape(&db, &mut cache, "", &o, 2000).unwrap();
        let a = samples_of(&db, "\"a\"");
        if track {
            assert_eq!(a, [(500, "1".into()), (2000, "stale".into())]);
        } else {
            assert_eq!(a, [(500, "1".into())]);
        }
        assert_eq!(
            samples_of(&db, "\"b\""),
            [(1000, "2".into()), (2000, "stale".into())]
        );
    }
}

#[test]
fn known_bytes_are_checked_again_in_another_format() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    // A blank before the brace is fine in the text format, not in OpenMetrics.
    let (_, r) = scrape_or_stale(
        &db,
        &mut cache,
        "a {x=\"1\"} 1\n",
        Format::Text,
        &opts(),
        1000,
    );
    r.unwrap();
    let om = "a {x=\"1\"} 2\n# EOF\n";
    let (_, r) = scrape_or_stale(&db, &mut cache, om, Format::OpenMetrics, &opts(), 2000);
    assert!(r.unwrap_err().to_string().contains("line 1"));
    let (_, r) = scrape_or_stale(
        &db,
        &mut cache,
        "a{x=\"1\"} 3\n# EOF\n",
        Format::OpenMetrics,
        &opts(),
        3000,
    );
    r.unwrap();
    assert_eq!(
        samples_of(&db, "x=\"1\""),
        [
            (1000, "1".into()),
            (2000, "stale".into()),
            (3000, "3".into())
        ]
    );
}

#[test]
fn sample_limit_still_counts_the_whole_exposition() {
    let db = MemoryStorage::new();
    let o = LoopOptions {
        sample_limit: 2,
        ..opts()
    };
    let mut cache = ScrapeCache::default();
    let (counts, r) = scrape_or_stale(
        &db,
        &mut cache,
        "a 1\nb 2\nc 3\nd 4\n",
        Format::Text,
        &o,
        1000,
    );
    assert_eq!(r.unwrap_err().to_string(), "sample limit exceeded");
    assert_eq!(counts.scraped, 4);
    assert!(dump(&db).is_empty());
}

#[test]
fn series_unseen_for_two_scrapes_leave_the_cache() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    scrape(&db, &mut cache, "a 1\nb 2\n", &opts(), 1000).unwrap();
    scrape(&db, &mut cache, "a 1\n", &opts(), 2000).unwrap();
    assert_eq!(cache.len(), 2, "b is kept one more scrape");
    scrape(&db, &mut cache, "a 1\n", &opts(), 3000).unwrap();
    assert_eq!(cache.len(), 1);
    let counts = scrape(&db, &mut cache, "a 1\nb 7\n", &opts(), 4000).unwrap();
    assert_eq!(counts.added, 1, "b is new to the cache again");
    assert_eq!(
        samples_of(&db, "\"b\""),
        [
            (1000, "2".into()),
            (2000, "stale".into()),
            (4000, "7".into())
        ]
    );
}

/// A scrape whose lines moved, changed value bytes at the same length, or whose first
/// bytes (as many as the series the previous scrape had there, the last a quoted `}`) are
/// another series', reads each series as a scrape without a cache would: the guess from the
/// previous scrape's order is taken only when the line starts with that series' very bytes.
#[test]
fn series_guessed_from_the_previous_order_are_the_lines_own() {
    let db = MemoryStorage::new();
    let mut cache = ScrapeCache::default();
    let first = "m{v=\"ab\"} 1\nm{v=\"bb\"} 2\nn{w=\"1\"} 3\no 4\n";
    // Line 1's first 9 bytes end in a `}` but are not `m{v="ab"}`; line 2 keeps the length
    // with another value; n and o swap places.
    let second = "m{v=\"}}}}\"} 5\nm{v=\"bc\"} 6\no 7\nn{w=\"1\"} 8\n";
    let third = "m{v=\"}}}}\"} 9\nm{v=\"bc\"} 10\no 11\nn{w=\"1\"} 12\n";
    scrape(&db, &mut cache, first, &opts(), 1000).unwrap();
    let counts = scrape(&db, &mut cache, second, &opts(), 2000).unwrap();
    assert_eq!((counts.scraped, counts.added), (4, 2));
    let counts = scrape(&db, &mut cache, third, &opts(), 3000).unwrap();
    assert_eq!((counts.scraped, counts.added), (4, 0));
    let got: Vec<String> = dump(&db)
        .into_iter()
        .map(|(l, t, v)| format!("{l} {t} {v}"))
        .collect();
    let m = |v: &str| format!(r#"{{__name__="m", instance="h:1", job="app", v="{v}"}}"#);
    let n = r#"{__name__="n", instance="h:1", job="app", w="1"}"#;
    let o = r#"{__name__="o", instance="h:1", job="app"}"#;
    assert_eq!(
        got,
        [
            format!("{} 1000 1", m("ab")),
            format!("{} 2000 NaN", m("ab")),
            format!("{} 1000 2", m("bb")),
            format!("{} 2000 NaN", m("bb")),
            format!("{} 2000 6", m("bc")),
            format!("{} 3000 10", m("bc")),
            format!("{} 2000 5", m("}}}}")),
            format!("{} 3000 9", m("}}}}")),
            format!("{n} 1000 3"),
            format!("{n} 2000 8"),
            format!("{n} 3000 12"),
            format!("{o} 1000 4"),
            format!("{o} 2000 7"),
            format!("{o} 3000 11"),
        ]
    );
}
