//! `limit=` on labels, label values and series applied across `match[]` sets with
//! Prometheus's warning, and metadata requests cut by the time limit while the storage is
//! still reading (off the async workers: the server stays responsive meanwhile).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use firewatch_web::{self as web, LifecycleHooks, WebState};
use model::{Matcher, Sample, labels};
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;
use storage::{Querier, Queryable, SelectHints, SeriesSet, StorageError};

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
    fn quit(&self) {}
}

fn app(queryable: storage::QueryableRef, timeout: Duration) -> axum::Router {
    let state = WebState::new(
        queryable,
        Arc::new(Engine::new(EngineOptions {
            timeout,
            ..EngineOptions::default()
        })),
        Arc::new(NoHooks),
    );
    web::router(Arc::new(state))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `up` and `node_load1` of instances `a`…`e` (jobs `x` for a–c, `y` for d–e).
fn storage() -> storage::QueryableRef {
    let db = MemoryStorage::new();
    for (inst, job) in [("a", "x"), ("b", "x"), ("c", "x"), ("d", "y"), ("e", "y")] {
        for name in ["up", "node_load1"] {
            db.add(
                &labels!("__name__" => name, "instance" => inst, "job" => job),
                0,
                Sample::Float(1.0),
            );
        }
    }
    Arc::new(db)
}

#[tokio::test]
async fn limits_cut_the_union_of_match_sets_with_a_warning() {
    let app = app(storage(), Duration::from_secs(60));
    let truncated = json!(["results truncated due to limit"]);
    // (request, expected data, truncated?)
    let cases: Vec<(&str, Value, bool)> = vec![
        (
            "/api/v1/label/instance/values?match[]=up{job=\"y\"}&match[]=up{job=\"x\"}&limit=4",
            json!(["a", "b", "c", "d"]),
            true,
        ),
        (
            "/api/v1/label/instance/values?match[]=up{job=\"y\"}&match[]=up{job=\"x\"}&limit=5",
            json!(["a", "b", "c", "d", "e"]),
            false,
        ),
        (
            "/api/v1/label/instance/values?limit=2",
            json!(["a", "b"]),
            true,
        ),
        (
            "/api/v1/labels?limit=2",
            json!(["__name__", "instance"]),
            true,
        ),
        (
            "/api/v1/labels?limit=3",
            json!(["__name__", "instance", "job"]),
            false,
        ),
        (
            "/api/v1/series?match[]=node_load1{job=\"y\"}&match[]=up{instance=\"a\"}&limit=2",
            json!([
                {"__name__": "node_load1", "instance": "d", "job": "y"},
                {"__name__": "node_load1", "instance": "e", "job": "y"},
            ]),
            true,
        ),
        (
            "/api/v1/series?match[]=node_load1{job=\"y\"}&match[]=up{instance=\"a\"}&limit=3",
            json!([
                {"__name__": "node_load1", "instance": "d", "job": "y"},
                {"__name__": "node_load1", "instance": "e", "job": "y"},
                {"__name__": "up", "instance": "a", "job": "x"},
            ]),
            false,
        ),
    ];
    for (uri, data, cut) in cases {
        let uri = uri
            .replace('"', "%22")
            .replace('{', "%7B")
            .replace('}', "%7D");
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(body["data"], data, "{uri}");
        if cut {
            assert_eq!(body["warnings"], truncated, "{uri}");
        } else {
            assert!(body.get("warnings").is_none(), "{uri}: {body}");
        }
    }
    let (status, body) = get(&app, "/api/v1/labels?limit=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorType"], "bad_data");
}

#[tokio::test]
async fn bad_limits_are_refused_with_prometheus_texts() {
    let app = app(storage(), Duration::from_secs(60));
    let cases = [
        ("x", "strconv.Atoi: parsing \"x\": invalid syntax"),
        ("1.5", "strconv.Atoi: parsing \"1.5\": invalid syntax"),
        ("-1", "limit must be non-negative"),
        (
            "99999999999999999999",
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
    ];
    for path in [
        "/api/v1/labels?",
        "/api/v1/label/job/values?",
        "/api/v1/series?match[]=up&",
    ] {
        for (limit, reason) in cases {
            let (status, body) = get(&app, &format!("{path}limit={limit}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}{limit}");
            assert_eq!(body["errorType"], "bad_data");
            assert_eq!(
                body["error"],
                format!("invalid parameter \"limit\": {reason}"),
                "{path}{limit}"
            );
        }
        // 0 means no limit.
        let (status, body) = get(&app, &format!("{path}limit=0")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.get("warnings").is_none(), "{path}: {body}");
    }
}

/// The hints each call received.
#[derive(Default)]
struct Seen {
    label_hints: Vec<Option<storage::LabelHints>>,
    select_hints: Vec<Option<SelectHints>>,
}

/// A storage recording the hints it is given and answering ten values, names and series
/// whatever the hints say (so the API's own cut is exercised too).
#[derive(Clone, Default)]
struct Recording(Arc<std::sync::Mutex<Seen>>);

impl Queryable for Recording {
    fn querier(&self, _: i64, _: i64) -> Result<Box<dyn Querier>, StorageError> {
        Ok(Box::new(self.clone()))
    }
}

fn ten(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{prefix}{i}")).collect()
}

impl Querier for Recording {
    fn select(
        &self,
        _: bool,
        hints: Option<&SelectHints>,
        _: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        self.0.lock().unwrap().select_hints.push(hints.cloned());
        let series = ten("s")
            .iter()
            .map(|v| {
                Box::new(storage::ListSeries::new(
                    labels!("__name__" => "up", "i" => v.as_str()),
                    vec![(0, Sample::Float(1.0))],
                )) as Box<dyn storage::Series>
            })
            .collect();
        Ok(Box::new(storage::VecSeriesSet::new(series)))
    }
    fn label_values(
        &self,
        _: &str,
        hints: Option<&storage::LabelHints>,
        _: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        self.0.lock().unwrap().label_hints.push(hints.copied());
        Ok(ten("v"))
    }
    fn label_names(
        &self,
        hints: Option<&storage::LabelHints>,
        _: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        self.0.lock().unwrap().label_hints.push(hints.copied());
        Ok(ten("n"))
    }
}

#[tokio::test]
async fn the_limit_reaches_the_storage_as_a_hint() {
    let storage = Recording::default();
    let app = app(Arc::new(storage.clone()), Duration::from_secs(60));
    let truncated = json!(["results truncated due to limit"]);
    // (request, hint limit the storage must see, values shown)
    let cases = [
        ("/api/v1/labels?limit=3", 4, 3),
        ("/api/v1/labels", 0, 10),
        ("/api/v1/label/job/values?limit=1", 2, 1),
        ("/api/v1/label/job/values?limit=0", 0, 10),
        ("/api/v1/label/job/values?limit=10", 11, 10),
        ("/api/v1/series?match[]=up&limit=4", 5, 4),
        ("/api/v1/series?match[]=up&limit=9", 10, 9),
        ("/api/v1/series?match[]=up", 0, 10),
    ];
    for (uri, hint, shown) in cases {
        *storage.0.lock().unwrap() = Seen::default();
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(body["data"].as_array().unwrap().len(), shown, "{uri}");
        if shown < 10 {
            assert_eq!(body["warnings"], truncated, "{uri}");
        } else {
            assert!(body.get("warnings").is_none(), "{uri}: {body}");
        }
        let seen = storage.0.lock().unwrap();
        if uri.contains("series") {
            assert_eq!(seen.select_hints.len(), 1, "{uri}");
            let h = seen.select_hints[0].as_ref().expect("select hints");
            assert_eq!(h.limit, hint, "{uri}");
            assert_eq!(h.func.as_deref(), Some("series"), "{uri}");
        } else {
            assert_eq!(
                seen.label_hints,
                [Some(storage::LabelHints::limited(hint))],
                "{uri}"
            );
        }
    }
}

/// A storage whose index reads take `delay`.
struct Slow {
    delay: Duration,
}

struct SlowQuerier(Duration);

impl Queryable for Slow {
    fn querier(&self, _: i64, _: i64) -> Result<Box<dyn Querier>, StorageError> {
        Ok(Box::new(SlowQuerier(self.delay)))
    }
}

impl Querier for SlowQuerier {
    fn select(
        &self,
        _: bool,
        _: Option<&SelectHints>,
        _: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        std::thread::sleep(self.0);
        Ok(Box::new(storage::VecSeriesSet::new(Vec::new())))
    }
    fn label_values(
        &self,
        _: &str,
        _: Option<&storage::LabelHints>,
        _: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        std::thread::sleep(self.0);
        Ok(vec!["v".to_owned()])
    }
    fn label_names(
        &self,
        _: Option<&storage::LabelHints>,
        _: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        std::thread::sleep(self.0);
        Ok(vec!["n".to_owned()])
    }
}

#[tokio::test]
async fn slow_index_reads_time_out_without_blocking_the_server() {
    let app = app(
        Arc::new(Slow {
            delay: Duration::from_secs(2),
        }),
        Duration::from_millis(200),
    );
    for uri in [
        "/api/v1/labels",
        "/api/v1/label/job/values",
        "/api/v1/series?match[]=up",
    ] {
        let started = Instant::now();
        // The single-threaded test runtime answers another request while the read sleeps.
        let (slow, fast) = tokio::join!(get(&app, uri), get(&app, "/api/v1/format_query?query=up"));
        assert_eq!(fast.0, StatusCode::OK);
        let (status, body) = slow;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        assert_eq!(body["errorType"], "timeout", "{uri}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{uri} answered after {:?}",
            started.elapsed()
        );
    }
}
