//! `/api/v1/targets/metadata` and `/api/v1/metadata` over a real scrape: an exporter on
//! 127.0.0.1 scraped every second by the scrape manager.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use discovery::TargetGroup;
use firewatch_web::{self as web, LifecycleHooks, WebState};
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
    fn quit(&self) {}
}

const EXPOSITION: &str = "# HELP http_requests_total Requests served.\n\
# TYPE http_requests_total counter\n\
http_requests_total{code=\"200\"} 7\n\
# HELP temperature_celsius Temperature.\n\
# TYPE temperature_celsius gauge\n\
temperature_celsius 21.5\n";

/// Starts an exporter on a free port; returns its address.
async fn exporter(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app =
        axum::Router::new().route("/metrics", axum::routing::get(move || async move { body }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn get(app: &axum::Router, uri: &str) -> Value {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_of_scraped_targets() {
    let (a, b) = (exporter(EXPOSITION).await, exporter(EXPOSITION).await);
    let yaml =
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    scrape_timeout: 1s\n";
    let cfg = config::Config::from_yaml_str(yaml, ".").unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let scrape = Arc::new(scrape::Manager::new(storage.clone()));
    scrape.apply_config(&cfg.all_scrape_configs().unwrap());
    let targets = [&a, &b]
        .iter()
        .map(|addr| std::collections::BTreeMap::from([("__address__".to_owned(), (*addr).clone())]))
        .collect();
    scrape.sync(HashMap::from([(
        "app".to_owned(),
        vec![TargetGroup {
            source: "test".into(),
            targets,
            labels: Default::default(),
        }],
    )]));
    let mut state = WebState::new(
        storage,
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    state.scrape = Some(scrape.clone());
    let app = web::router(Arc::new(state));

    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let body = get(&app, "/api/v1/targets/metadata").await;
        if body["data"].as_array().is_some_and(|d| d.len() == 4) {
            break body;
        }
        assert!(Instant::now() < deadline, "both targets scraped: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Targets are listed by scrape URL.
    let first = a.clone().min(b.clone());
    assert_eq!(
        all["data"][0],
        json!({"target": {"instance": first, "job": "app"}, "metric": "http_requests_total",
               "type": "counter", "help": "Requests served.", "unit": ""})
    );
    let one = get(
        &app,
        "/api/v1/targets/metadata?metric=temperature_celsius&limit=1",
    )
    .await;
    assert_eq!(
        one["data"],
        json!([{"target": {"instance": first, "job": "app"}, "type": "gauge", "help": "Temperature.", "unit": ""}])
    );
    let matched = get(
        &app,
        &format!("/api/v1/targets/metadata?match_target=%7Binstance%3D%22{b}%22%7D"),
    )
    .await;
    assert_eq!(matched["data"].as_array().unwrap().len(), 2);
    assert!(
        matched["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"]["instance"] == b.as_str())
    );
    let bad = get(&app, "/api/v1/targets/metadata?limit=x").await;
    assert_eq!(bad["error"], "limit must be a number");
    let bad = get(&app, "/api/v1/targets/metadata?match_target=%7B").await;
    assert_eq!(bad["errorType"], "bad_data");

    let md = get(&app, "/api/v1/metadata").await;
    assert_eq!(
        md["data"],
        json!({"http_requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}],
               "temperature_celsius": [{"type": "gauge", "help": "Temperature.", "unit": ""}]}),
        "the same metadata of two targets is listed once"
    );
    let md = get(&app, "/api/v1/metadata?limit=1").await;
    assert_eq!(md["data"].as_object().unwrap().len(), 1);
    let md = get(&app, "/api/v1/metadata?metric=temperature_celsius").await;
    assert_eq!(
        md["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["temperature_celsius"]
    );
    let bad = get(&app, "/api/v1/metadata?limit_per_metric=x").await;
    assert_eq!(bad["error"], "limit_per_metric must be a number");
    scrape.stop().await;
}
