//! `/api/v1/targets/metadata` and `/api/v1/metadata` over a target retriever (the binary's
//! over the scrape manager is exercised end to end in `crates/firewatch/tests/server_e2e.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use firewatch_web::sources::{
    ActiveTarget, DroppedTarget, MetricMetadata, TargetMetadata, TargetRetriever,
};
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

/// Two targets that exposed the same two families.
struct Targets;

fn family(name: &str, kind: &'static str, help: &str) -> MetricMetadata {
    MetricMetadata {
        metric_family: name.to_owned(),
        metric_type: kind,
        help: help.to_owned(),
        unit: String::new(),
    }
}

impl TargetRetriever for Targets {
    fn active_targets(&self) -> Vec<ActiveTarget> {
        Vec::new()
    }
    fn dropped_targets(&self) -> Vec<DroppedTarget> {
        Vec::new()
    }
    fn targets_metadata(&self) -> Vec<TargetMetadata> {
        [A, B]
            .iter()
            .map(|addr| TargetMetadata {
                scrape_pool: "app".to_owned(),
                labels: model::labels!("instance" => *addr, "job" => "app"),
                metadata: vec![
                    family("http_requests_total", "counter", "Requests served."),
                    family("temperature_celsius", "gauge", "Temperature."),
                ],
            })
            .collect()
    }
}

const A: &str = "10.0.0.1:9100";
const B: &str = "10.0.0.2:9100";

async fn get(app: &axum::Router, uri: &str) -> Value {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn metadata_of_targets() {
    let (a, b) = (A.to_owned(), B.to_owned());
    let mut state = WebState::new(
        Arc::new(MemoryStorage::new()),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    state.targets = Some(Arc::new(Targets));
    let app = web::router(Arc::new(state));

    let all = get(&app, "/api/v1/targets/metadata").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 4, "{all}");
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
}
