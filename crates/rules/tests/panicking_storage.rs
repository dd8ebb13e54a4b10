//! A storage that panics when a rule group commits its results fails those evaluations
//! only: the panics are counted on the manager's metrics
//! (`firewatch_rule_group_evaluation_panics_total`) and the group keeps running on its
//! interval, writing results again once the storage stops panicking.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{MIN, Recorder, manager_over, named};
use firewatch_rules::UpdateOptions;
use model::Sample;
use storage::memory::MemoryStorage;
use testkit::panicking_storage::PanickingStorage;

#[test]
fn a_panicking_evaluation_fails_that_evaluation_only() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let storage = MemoryStorage::new();
    let now = jiff::Timestamp::now().as_millisecond();
    let mut t = now - 10 * MIN;
    while t <= now + 10 * MIN {
        storage.add(&common::labels(&[("__name__", "m")]), t, Sample::Float(3.0));
        t += MIN;
    }
    let panics_left = Arc::new(AtomicUsize::new(2));
    let appendable = Arc::new(PanickingStorage::new(
        Arc::new(storage.clone()),
        panics_left.clone(),
    ));
    let manager = manager_over(
        Arc::new(storage.clone()),
        appendable,
        Arc::new(Recorder::default()),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    std::fs::write(
        &file,
        "groups:\n  - name: fast\n    interval: 1s\n    rules:\n      - record: r\n        expr: m\n",
    )
    .unwrap();
    manager
        .update(std::slice::from_ref(&file), &UpdateOptions::default())
        .unwrap();
    let m = manager.clone();
    rt.block_on(async move {
        manager.start();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let got = named(&storage, "r");
            if got.first().is_some_and(|(_, v)| !v.is_empty()) {
                assert_eq!(got[0].1[0].1, 3.0);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the group never wrote after its panics"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        manager.stop();
    });
    assert_eq!(panics_left.load(Ordering::SeqCst), 0);
    let text = metrics::encode_collector(m.as_ref(), metrics::Format::Text);
    let line = format!(
        "firewatch_rule_group_evaluation_panics_total{{rule_group=\"{};fast\"}} 2",
        file.display()
    );
    assert!(text.contains(&line), "no `{line}` in\n{text}");
    assert!(text.contains("# TYPE firewatch_rule_group_evaluation_panics_total counter"));
}
