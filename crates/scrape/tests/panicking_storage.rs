//! A storage that panics on commit fails those scrapes only: the target is down with the
//! panic's message, the panics are counted in `firewatch_target_scrape_panics_total`, and
//! the same loop scrapes again afterwards
//! (the target comes back up once the storage stops panicking).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::{Health, Manager};
use storage::memory::MemoryStorage;
use testkit::panicking_storage::PanickingStorage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_commit_fails_that_scrape_only() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().route("/metrics", get(|| async { "requests_total 7\n" }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let yaml =
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    scrape_timeout: 1s\n";
    let cfg = config::Config::from_yaml_str(yaml, ".").unwrap();
    let inner = Arc::new(MemoryStorage::new());
    let panics_left = Arc::new(AtomicUsize::new(2));
    let storage = Arc::new(PanickingStorage::new(inner, panics_left.clone()));
    let registry = metrics::Registry::new();
    let manager = Manager::with_registry(storage, &registry);
    manager.apply_config(&cfg.all_scrape_configs().unwrap());
    manager.sync(HashMap::from([(
        "app".to_owned(),
        vec![TargetGroup {
            source: "test".into(),
            targets: vec![BTreeMap::from([("__address__".to_owned(), addr.clone())])],
            labels: BTreeMap::default(),
        }],
    )]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_panic = false;
    loop {
        let t = manager.active_targets();
        if let Some(t) = t.first() {
            if t.health == Health::Down {
                assert!(
                    t.last_error.contains("scrape panicked: storage exploded"),
                    "{}",
                    t.last_error
                );
                saw_panic = true;
            }
            if saw_panic && t.health == Health::Up {
                break;
            }
        }
        assert!(Instant::now() < deadline, "target never recovered: {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(panics_left.load(Ordering::SeqCst), 0);
    let text = registry.encode(metrics::Format::Text);
    assert!(
        text.contains("\nfirewatch_target_scrape_panics_total 2\n"),
        "{text}"
    );
    manager.stop().await;
}
