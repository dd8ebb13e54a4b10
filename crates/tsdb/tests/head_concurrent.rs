//! Concurrency: several appenders commit in parallel while queriers read; every commit is
//! seen whole or not at all, and nothing is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use firewatch_tsdb::head::{Head, HeadOptions};
use model::{Matcher, Sample, labels};
use storage::{Appender, Querier, ValueType};

#[test]
fn parallel_commits_are_atomic_and_complete() {
    let head = Arc::new(Head::new(
        HeadOptions {
            stripe_size: 16,
            ..HeadOptions::default()
        },
        None,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    const WRITERS: usize = 4;
    // Writers and the reader start together, so reads overlap the commits.
    let start = Arc::new(std::sync::Barrier::new(WRITERS + 1));
    const COMMITS: i64 = 300;
    // Each writer owns a pair of series and writes the same timestamp to both in one commit.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let head = head.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let a = labels!("__name__" => "pair", "w" => w.to_string().as_str(), "side" => "a");
                let b = labels!("__name__" => "pair", "w" => w.to_string().as_str(), "side" => "b");
                for t in 0..COMMITS {
                    let mut app = head.appender();
                    app.append(0, &a, t, Sample::Float(t as f64)).unwrap();
                    app.append(0, &b, t, Sample::Float(t as f64)).unwrap();
                    app.commit().unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let head = head.clone();
        let stop = stop.clone();
        let start = start.clone();
        std::thread::spawn(move || {
            let mut checks = 0;
            start.wait();
            loop {
                let q = head.querier(0, i64::MAX);
                let mut counts = std::collections::HashMap::new();
                for s in q
                    .select(true, None, &[Matcher::equal("__name__", "pair")])
                    .unwrap()
                {
                    let s = s.unwrap();
                    let mut it = s.iter();
                    let mut n = 0;
                    while it.next() == ValueType::Float {
                        n += 1;
                    }
                    counts
                        .entry(s.labels().get("w").unwrap().to_owned())
                        .or_insert_with(Vec::new)
                        .push(n);
                }
                for (w, c) in counts {
                    assert!(
                        c.len() != 2 || c[0] == c[1],
                        "writer {w}: half a commit visible: {c:?}"
                    );
                }
                checks += 1;
                if stop.load(Ordering::Acquire) {
                    break;
                }
            }
            checks
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let got = head
        .querier(0, i64::MAX)
        .select_series(&[Matcher::equal("__name__", "pair")], None)
        .unwrap();
    assert_eq!(got.len(), WRITERS * 2);
    for s in got {
        assert_eq!(s.samples().len(), COMMITS as usize);
    }
}
