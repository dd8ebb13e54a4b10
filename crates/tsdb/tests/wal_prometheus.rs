//! Compatibility with the real Prometheus 2.42: its WAL (snappy-compressed by default) is
//! read by our reader and its records decode.

mod db_common;

use std::collections::HashMap;
use std::time::Duration;

use firewatch_tsdb::wal::WalReader;
use firewatch_tsdb::wal::record::{self, Record};

#[test]
fn reads_the_wal_prometheus_wrote() {
    if !testkit::peers(
        "tsdb::wal_prometheus::reads_the_wal_prometheus_wrote",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prom = db_common::Prometheus::start(&data, true, &[]);
    let port = prom.port;
    prom.wait_first_scrape(Duration::from_secs(8));
    prom.stop();

    let mut reader = WalReader::open_dir(&data.join("wal")).unwrap();
    let mut series = HashMap::new();
    let mut samples = Vec::new();
    let mut n_records = 0;
    while let Some(rec) = reader.next_record().unwrap() {
        n_records += 1;
        match record::decode(rec).unwrap() {
            Record::Series(s) => {
                for s in s {
                    assert!(
                        series.insert(s.id, s.labels).is_none(),
                        "series ref {} twice",
                        s.id
                    );
                }
            }
            Record::Samples(s) => samples.extend(s),
            _ => {}
        }
    }
    assert!(n_records >= 4, "only {n_records} records");
    let instance = format!("127.0.0.1:{port}");
    let up =
        model::labels!("__name__" => "up", "instance" => instance.as_str(), "job" => "prometheus");
    let up_ref = *series
        .iter()
        .find(|(_, l)| **l == up)
        .map(|(r, _)| r)
        .unwrap_or_else(|| {
            panic!("no series {up} among {} series", series.len());
        });
    assert!(
        series
            .values()
            .any(|l| l.metric_name() == Some("prometheus_build_info"))
    );
    for s in &samples {
        assert!(
            series.contains_key(&s.id),
            "sample for unknown series {}",
            s.id
        );
    }
    let up_samples: Vec<_> = samples.iter().filter(|s| s.id == up_ref).collect();
    let live: Vec<_> = up_samples
        .iter()
        .filter(|s| !model::is_stale_nan(s.v))
        .collect();
    assert!(live.len() >= 5, "only {} samples of up", live.len());
    assert!(live.iter().all(|s| s.v == 1.0));
    // Scrapes run every second; Prometheus aligns timestamps to the schedule, so most gaps
    // are exactly 1000 ms (a loaded machine may delay one scrape past the alignment tolerance).
    let gaps: Vec<i64> = live.windows(2).map(|w| w[1].t - w[0].t).collect();
    assert!(
        gaps.iter().all(|d| (500..=1500).contains(d)),
        "up sample gaps {gaps:?}"
    );
    let exact = gaps.iter().filter(|d| (990..=1010).contains(*d)).count();
    assert!(exact * 2 >= gaps.len(), "up sample gaps {gaps:?}, want 1s");
}
