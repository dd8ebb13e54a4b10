//! Native histogram chunks written by Firewatch are read by the real Prometheus 2.42 (with
//! `--enable-feature=native-histograms`): every sample's count, sum and buckets match.

mod db_common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use firewatch_tsdb::block::BlockWriter;
use model::histogram::{Histogram, Span};
use model::{Labels, Sample};

#[test]
fn prometheus_reads_firewatch_histogram_chunks() {
    if !testkit::peers(
        "tsdb::format_histograms::prometheus_reads_firewatch_histogram_chunks",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now_s - 1800) * 1000;
    // 150 samples of a growing histogram (schema 1, zero bucket, two positive spans, one
    // negative bucket), a counter reset at sample 130, 15 s apart.
    let mut samples = Vec::new();
    let mut want = Vec::new();
    for i in 0..150i64 {
        let k = if i < 130 { i } else { i - 130 };
        let pos_abs = [k + 1, 2 * k + 1, 3, k * k + 1];
        let mut prev = 0;
        let positive_buckets: Vec<i64> = pos_abs
            .iter()
            .map(|a| {
                let d = a - prev;
                prev = *a;
                d
            })
            .collect();
        let zero_count = k as u64;
        let neg = 1u64;
        let count = pos_abs.iter().sum::<i64>() as u64 + zero_count + neg;
        let h = Histogram {
            schema: 1,
            zero_threshold: 2f64.powi(-10),
            zero_count,
            count,
            sum: k as f64 * 3.25,
            positive_spans: vec![
                Span {
                    offset: 0,
                    length: 2,
                },
                Span {
                    offset: 2,
                    length: 2,
                },
            ],
            positive_buckets,
            negative_spans: vec![Span {
                offset: 1,
                length: 1,
            }],
            negative_buckets: vec![neg as i64],
            ..Histogram::default()
        };
        let t = start + i * 15_000;
        want.push((t, count, h.sum, pos_abs));
        samples.push((t, Sample::Histogram(Arc::new(h))));
    }
    let mut w = BlockWriter::new(&data);
    w.add_series_samples(Labels::from_pairs([("__name__", "fw_native")]), &samples)
        .unwrap();
    let meta = w.write().unwrap();
    assert_eq!(
        meta.stats.num_chunks, 3,
        "a 120-sample cut and the reset make 3 chunks"
    );

    let prom = db_common::Prometheus::start(&data, false, &["--enable-feature=native-histograms"]);
    let url = format!(
        "/api/v1/query_range?query=fw_native&start={}&end={}&step=15",
        start / 1000,
        (start + 149 * 15_000) / 1000
    );
    let body = prom.get(&url).unwrap();
    let log = prom.log_text();
    prom.stop();
    let resp: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}\n{log}"));
    assert_eq!(resp["status"], "success", "{body}");
    let hs = resp["data"]["result"][0]["histograms"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(hs.len(), want.len(), "{body}");
    for (got, (t, count, sum, pos_abs)) in hs.iter().zip(&want) {
        assert_eq!(got[0].as_f64().unwrap() as i64 * 1000, *t);
        let h = &got[1];
        assert_eq!(h["count"].as_str().unwrap(), count.to_string(), "{h}");
        assert_eq!(
            h["sum"].as_str().unwrap().parse::<f64>().unwrap(),
            *sum,
            "{h}"
        );
        // Positive buckets (upper bound > 1 for index >= 1) in order, with absolute counts.
        let buckets = h["buckets"].as_array().unwrap();
        let positive: Vec<i64> = buckets
            .iter()
            .filter(|b| b[1].as_str().unwrap().parse::<f64>().unwrap() > 0.0)
            .map(|b| b[3].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(positive, pos_abs.to_vec(), "{h}");
    }
}
