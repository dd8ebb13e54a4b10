//! Manager semantics: merging per job, shared providers, restarts only on change, throttling.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use firewatch_discovery::manager::TargetSets;
use firewatch_discovery::{LabelSet, Manager, ManagerOptions, SdConfig, TargetGroup};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn opts(ms: u64) -> ManagerOptions {
    ManagerOptions {
        name: "test".into(),
        update_interval: Duration::from_millis(ms),
    }
}

fn static_cfg(addrs: &[&str]) -> SdConfig {
    SdConfig::Static(vec![TargetGroup::from_addresses(
        "",
        addrs.iter().copied(),
        LabelSet::from([("env".to_owned(), "test".to_owned())]),
    )])
}

/// Receives until `pred` holds for a received map, within 5 s.
async fn wait_for(
    rx: &mut mpsc::Receiver<TargetSets>,
    pred: impl Fn(&TargetSets) -> bool,
) -> TargetSets {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, rx.recv())
            .await
            .expect("timed out waiting for target sets")
            .expect("manager channel closed");
        if pred(&m) {
            return m;
        }
    }
}

fn addrs(m: &TargetSets, job: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .get(job)
        .map(|gs| {
            gs.iter()
                .flat_map(|g| g.addresses())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn static_groups_per_job_and_selective_restart() {
    let (mgr, mut rx) = Manager::new(opts(50));
    let mut cfg = HashMap::new();
    cfg.insert("a".to_owned(), vec![static_cfg(&["a1:80", "a2:80"])]);
    cfg.insert("b".to_owned(), vec![static_cfg(&["b1:80"])]);
    cfg.insert("empty".to_owned(), vec![]);
    assert_eq!(mgr.apply_config(&cfg), 0);
    let m = wait_for(&mut rx, |m| {
        addrs(m, "a").len() == 2 && addrs(m, "b").len() == 1
    })
    .await;
    assert_eq!(addrs(&m, "a"), ["a1:80", "a2:80"]);
    let g = &m["a"][0];
    assert_eq!(g.source, "0");
    assert_eq!(g.labels["env"], "test");
    assert!(
        m["empty"].is_empty(),
        "a job without SD configs is present with no groups"
    );
    let before = mgr.providers();
    assert_eq!(before.len(), 3);

    // Change b only: a's provider keeps its name (not restarted), b gets a new one.
    cfg.insert("b".to_owned(), vec![static_cfg(&["b2:80"])]);
    cfg.remove("empty");
    mgr.apply_config(&cfg);
    let m = wait_for(&mut rx, |m| addrs(m, "b") == ["b2:80"]).await;
    assert_eq!(addrs(&m, "a"), ["a1:80", "a2:80"]);
    assert!(!m.contains_key("empty"), "a removed job is no longer sent");
    let after = mgr.providers();
    assert!(
        after.contains(&before[0]),
        "unchanged provider kept: {before:?} -> {after:?}"
    );
    assert_eq!(after.len(), 2);
    assert!(!after.contains(&before[1]));
}

#[tokio::test]
async fn identical_configs_share_one_provider() {
    let (mgr, mut rx) = Manager::new(opts(50));
    let mut cfg = HashMap::new();
    cfg.insert("x".to_owned(), vec![static_cfg(&["h:1"])]);
    cfg.insert("y".to_owned(), vec![static_cfg(&["h:1"])]);
    mgr.apply_config(&cfg);
    let m = wait_for(&mut rx, |m| {
        addrs(m, "x").len() == 1 && addrs(m, "y").len() == 1
    })
    .await;
    assert_eq!(addrs(&m, "y"), ["h:1"]);
    assert_eq!(mgr.providers().len(), 1);

    // A third job with the same configuration joins the running provider and gets its groups.
    cfg.insert("z".to_owned(), vec![static_cfg(&["h:1"])]);
    mgr.apply_config(&cfg);
    let m = wait_for(&mut rx, |m| addrs(m, "z").len() == 1).await;
    assert_eq!(addrs(&m, "x"), ["h:1"]);
    assert_eq!(mgr.providers().len(), 1);
}

#[tokio::test]
async fn updates_are_merged_by_source_and_throttled() {
    let interval = Duration::from_millis(300);
    let (mgr, mut rx) = Manager::new(opts(300));
    let (dtx, drx) = tokio::sync::oneshot::channel::<mpsc::Sender<Vec<TargetGroup>>>();
    let mut dtx = Some(dtx);
    mgr.start_custom_provider(
        "custom",
        Box::new(move |tx, cancel: CancellationToken| {
            let _ = dtx.take().unwrap().send(tx);
            Box::pin(async move { cancel.cancelled().await })
        }),
    );
    let tx = drx.await.unwrap();
    let g = |src: &str, addr: &str| TargetGroup::from_addresses(src, [addr], LabelSet::new());
    tx.send(vec![g("s1", "one:1"), g("s2", "two:1")])
        .await
        .unwrap();
    let m = wait_for(&mut rx, |m| addrs(m, "custom").len() == 2).await;
    assert_eq!(addrs(&m, "custom"), ["one:1", "two:1"]);
    let first = Instant::now();

    // Replace s1, remove s2 (empty group), in a burst of updates.
    for i in 0..20 {
        tx.send(vec![g("s1", &format!("one:{i}"))]).await.unwrap();
    }
    tx.send(vec![TargetGroup::empty("s2")]).await.unwrap();
    let m = wait_for(&mut rx, |m| addrs(m, "custom") == ["one:19"]).await;
    assert!(
        first.elapsed() >= interval / 2,
        "second send came too early: {:?}",
        first.elapsed()
    );
    assert_eq!(m["custom"].len(), 1);
    // Nothing new is pending: a further send within two intervals (possible when the last
    // update raced the snapshot) can only repeat the final state.
    if let Ok(more) = tokio::time::timeout(interval * 2, rx.recv()).await {
        let more = more.expect("manager channel closed");
        assert_eq!(addrs(&more, "custom"), ["one:19"], "unexpected extra send");
    }
}
