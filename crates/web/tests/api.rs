//! The API v1 over an in-memory storage: response shapes, parameters and error classes as
//! Prometheus answers them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use firewatch_web::{self as web, LifecycleHooks, WebOptions, WebState};
use model::{Sample, labels};
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Err("reload refused in test".to_owned()) })
    }
    fn quit(&self) {}
}

/// `up` for two jobs and a counter, one sample every 15 s over 10 minutes.
fn app(lifecycle: bool) -> axum::Router {
    let db = MemoryStorage::new();
    for i in 0..=40 {
        let t = i * 15_000;
        db.add(
            &labels!("__name__" => "up", "job" => "api", "instance" => "a:1"),
            t,
            Sample::Float(1.0),
        );
        db.add(
            &labels!("__name__" => "up", "job" => "db", "instance" => "b:2"),
            t,
            Sample::Float(0.0),
        );
        db.add(
            &labels!("__name__" => "http_requests_total", "job" => "api", "code" => "200"),
            t,
            Sample::Float((i * 30) as f64),
        );
    }
    let mut state = WebState::new(
        Arc::new(db),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    state.options = WebOptions {
        enable_lifecycle: lifecycle,
        ..WebOptions::default()
    };
    let registry = metrics::Registry::new();
    registry
        .gauge("firewatch_test_metric", "A test gauge.")
        .set(1.0);
    state.metrics = Some(registry);
    *state.config_yaml.write() = "global: {}\n".to_owned();
    web::router(Arc::new(state))
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

async fn get(uri: &str) -> (StatusCode, Value) {
    call(app(false), Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn instant_query_vector() {
    let (status, body) = get("/api/v1/query?query=up&time=600").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "instance": "a:1", "job": "api"}, "value": [600, "1"]},
            {"metric": {"__name__": "up", "instance": "b:2", "job": "db"}, "value": [600, "0"]},
        ]}})
    );
}

#[tokio::test]
async fn instant_query_by_post_form() {
    let req = Request::post("/api/v1/query")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "query=sum(rate(http_requests_total[1m]))&time=300.5",
        ))
        .unwrap();
    let (status, body) = call(app(false), req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = &body["data"]["result"][0];
    assert_eq!(result["metric"], json!({}));
    assert_eq!(result["value"][0], json!(300.5));
    let rate: f64 = result["value"][1].as_str().unwrap().parse().unwrap();
    assert!(
        (rate - 2.0).abs() < 1e-9,
        "30 per 15 s is 2 per second, got {rate}"
    );
}

#[tokio::test]
async fn range_query_matrix() {
    let (status, body) =
        get("/api/v1/query_range?query=up%7Bjob%3D%22api%22%7D&start=0&end=60&step=30").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "up", "instance": "a:1", "job": "api"}, "values": [[0, "1"], [30, "1"], [60, "1"]]},
        ]})
    );
}

#[tokio::test]
async fn scalar_and_string_results() {
    let (_, body) = get("/api/v1/query?query=1%2B1&time=10").await;
    assert_eq!(
        body["data"],
        json!({"resultType": "scalar", "result": [10, "2"]})
    );
    let (_, body) = get("/api/v1/query?query=%22hi%22&time=10").await;
    assert_eq!(
        body["data"],
        json!({"resultType": "string", "result": [10, "hi"]})
    );
}

#[tokio::test]
async fn parse_errors_are_bad_data() {
    let (status, body) = get("/api/v1/query?query=sum(up").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(
        body["error"].as_str().unwrap().contains("parse error"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_parameters() {
    let (status, body) = get("/api/v1/query?query=up&time=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "invalid parameter \"time\": invalid time value for 'time': cannot parse \"abc\" to a valid timestamp"
    );
    let (_, body) = get("/api/v1/query_range?query=up&start=10&end=0&step=1").await;
    assert_eq!(
        body["error"],
        "invalid parameter \"end\": end timestamp must not be before start time"
    );
    let (_, body) = get("/api/v1/query_range?query=up&start=0&end=10&step=0").await;
    assert_eq!(
        body["error"],
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"
    );
    let (status, _) = get("/api/v1/query_range?query=up&start=0&end=100000&step=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "more than 11,000 points");
}

#[tokio::test]
async fn execution_errors_are_422() {
    // Both `up` series fall in the one match group `{}`.
    let (status, body) = get("/api/v1/query?query=up%20%2B%20on()%20up&time=600").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errorType"], "execution");
}

#[tokio::test]
async fn labels_values_and_series() {
    let (_, body) = get("/api/v1/labels").await;
    assert_eq!(body["data"], json!(["__name__", "code", "instance", "job"]));
    let (_, body) = get("/api/v1/labels?match[]=up").await;
    assert_eq!(body["data"], json!(["__name__", "instance", "job"]));
    let (_, body) = get("/api/v1/label/job/values").await;
    assert_eq!(body["data"], json!(["api", "db"]));
    let (_, body) = get("/api/v1/label/__name__/values?limit=1").await;
    assert_eq!(body["data"], json!(["http_requests_total"]));
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    let (_, body) = get("/api/v1/series?match[]=up%7Bjob%3D%22db%22%7D").await;
    assert_eq!(
        body["data"],
        json!([{"__name__": "up", "instance": "b:2", "job": "db"}])
    );
    let (status, body) = get("/api/v1/series").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "no match[] parameter provided");
    let (status, body) = get("/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "match[] must contain at least one non-empty matcher"
    );
}

#[tokio::test]
async fn format_query_prettifies() {
    let (_, body) = get("/api/v1/format_query?query=sum%20by(job)(up)").await;
    assert_eq!(body["data"], "sum by (job) (up)");
}

#[tokio::test]
async fn lifecycle() {
    let (status, body) = get("/-/healthy").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.as_str().unwrap().contains("Healthy"));
    let (status, _) = get("/-/ready").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        app(false),
        Request::post("/-/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "lifecycle API disabled by default"
    );
    let (status, body) = call(
        app(true),
        Request::post("/-/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.as_str().unwrap().contains("reload refused in test"));
}

#[tokio::test]
async fn buildinfo() {
    let (_, body) = get("/api/v1/status/buildinfo").await;
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn own_metrics_are_served() {
    let (status, body) = get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let Value::String(body) = body else {
        panic!("not text: {body}")
    };
    // The registry's families, and promhttp's count of this very scrape (in flight).
    assert!(body.starts_with(
        "# HELP firewatch_test_metric A test gauge.\n\
         # TYPE firewatch_test_metric gauge\nfirewatch_test_metric 1\n"
    ));
    assert!(body.contains("\npromhttp_metric_handler_requests_in_flight 1\n"));
    assert!(body.contains("\npromhttp_metric_handler_requests_total{code=\"503\"} 0\n"));
}

/// Handlers are counted by route pattern and status code, timed and sized; `/metrics`
/// answers OpenMetrics when asked for it.
#[tokio::test]
async fn handlers_are_counted_and_metrics_negotiated() {
    let app = app(false);
    for uri in [
        "/api/v1/query?query=up&time=600",
        "/api/v1/query?query=up&time=600",
        "/api/v1/query?query=(",
        "/api/v1/label/job/values",
    ] {
        let resp = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let _ = resp.into_body().collect().await.unwrap();
    }
    let resp = app
        .clone()
        .oneshot(
            Request::get("/metrics")
                .header("accept", "application/openmetrics-text;version=1.0.0")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    for line in [
        "# TYPE prometheus_http_requests counter\n",
        "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 2.0\n",
        "prometheus_http_requests_total{code=\"400\",handler=\"/api/v1/query\"} 1.0\n",
        "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/label/:name/values\"} 1.0\n",
        "prometheus_http_request_duration_seconds_count{handler=\"/api/v1/query\"} 3\n",
        "prometheus_http_response_size_bytes_bucket{handler=\"/api/v1/label/:name/values\",le=\"100.0\"} 1\n",
        "prometheus_http_response_size_bytes_count{handler=\"/api/v1/label/:name/values\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
}
