//! Limit hints (`LabelHints`, `SelectHints::limit`): the head, a block and the database
//! merging both answer exactly the first `limit` sorted label names, label values and series
//! of what they answer without a hint, with and without matchers.

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample};
use storage::{LabelHints, Querier, SelectHints};

const HOUR: i64 = 3_600_000;
const SERIES: usize = 20;

/// Series `i`: `m{job="vNN", xNN="1"}`.
fn series(i: usize) -> Labels {
    let v = format!("v{i:02}");
    let x = format!("x{i:02}");
    Labels::from_pairs([("__name__", "m"), ("job", v.as_str()), (x.as_str(), "1")])
}

/// A database whose one block holds the even series and whose head holds the odd ones.
fn db(dir: &std::path::Path) -> Db {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    let mut t = 0;
    while t < 5 * HOUR {
        let mut app = db.appender();
        for i in 0..SERIES {
            let in_block = i % 2 == 0;
            if in_block == (t < 2 * HOUR) {
                app.append(0, &series(i), t, Sample::Float(1.0)).unwrap();
            }
        }
        app.commit().unwrap();
        t += 60_000;
    }
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1, "one block cut from the head");
    db
}

fn matcher_sets() -> Vec<Vec<Matcher>> {
    vec![
        Vec::new(),
        vec![Matcher::equal("__name__", "m")],
        vec![Matcher::new(MatchOp::RegexMatch, "job", "v0.|v1[5-9]").unwrap()],
        vec![Matcher::new(MatchOp::NotEqual, "job", "v03").unwrap()],
    ]
}

fn series_names(q: &dyn Querier, hints: &SelectHints, ms: &[Matcher]) -> Vec<String> {
    let ms = if ms.is_empty() {
        vec![Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap()]
    } else {
        ms.to_vec()
    };
    q.select(true, Some(hints), &ms)
        .unwrap()
        .map(|s| s.unwrap().labels().to_string())
        .collect()
}

/// Checks that each limited answer of `q` is the first `limit` of its unlimited answer.
fn check(what: &str, q: &dyn Querier, expect_values: usize) {
    for ms in matcher_sets() {
        let all_values = q.label_values("job", None, &ms).unwrap();
        let all_names = q.label_names(None, &ms).unwrap();
        let all_series = series_names(q, &SelectHints::default(), &ms);
        let series_only = SelectHints {
            func: Some("series".to_owned()),
            ..SelectHints::default()
        };
        let all_labels_only = series_names(q, &series_only, &ms);
        if ms.is_empty() {
            assert_eq!(all_values.len(), expect_values, "{what}: {all_values:?}");
        }
        assert!(
            !all_values.is_empty() && !all_series.is_empty(),
            "{what} {ms:?}"
        );
        assert_eq!(all_series, all_labels_only, "{what} {ms:?}");
        for limit in [1, 2, 3, 7, 10, 11, 19, 20, 21, 100] {
            let hints = LabelHints::limited(limit);
            let ctx = format!("{what} {ms:?} limit {limit}");
            let first = |all: &[String]| all[..limit.min(all.len())].to_vec();
            assert_eq!(
                q.label_values("job", Some(&hints), &ms).unwrap(),
                first(&all_values),
                "values, {ctx}"
            );
            assert_eq!(
                q.label_names(Some(&hints), &ms).unwrap(),
                first(&all_names),
                "names, {ctx}"
            );
            for base in [SelectHints::default(), series_only.clone()] {
                let hints = SelectHints { limit, ..base };
                let got = series_names(q, &hints, &ms);
                assert_eq!(got, first(&all_series), "series {:?}, {ctx}", hints.func);
            }
        }
    }
}

#[test]
fn limit_hints_keep_the_first_sorted_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let block = db.blocks()[0].block_querier(i64::MIN, i64::MAX);
    check("block", &block, SERIES / 2);
    let head = db.head().querier(i64::MIN, i64::MAX);
    check("head", &head, SERIES / 2);
    let merged = db.querier(i64::MIN, i64::MAX).unwrap();
    check("db", merged.as_ref(), SERIES);
    // The merged answer interleaves the block's and the head's.
    assert_eq!(
        merged
            .label_values("job", Some(&LabelHints::limited(3)), &[])
            .unwrap(),
        ["v00", "v01", "v02"]
    );
    db.close().unwrap();
}
