//! Rules, alerts, alertmanagers, TSDB status, admin API, exemplars, federation, route prefix,
//! gzip and CORS, over a real TSDB in a temporary directory.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use firewatch_web::api::{AlertState, AlertView, RuleCommon, RuleGroupView, RuleHealth, RuleView};
use firewatch_web::sources::{HeadStats, TsdbStats, WalReplayStatus};
use firewatch_web::{
    self as web, AlertmanagerRetriever, LifecycleHooks, RulesRetriever, TsdbAdminStats, WebState,
};
use model::{Sample, labels};
use promql::{Engine, EngineOptions};

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
    fn quit(&self) {}
}

struct Rules;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

impl RulesRetriever for Rules {
    fn rule_groups(&self) -> Vec<RuleGroupView> {
        let alert = AlertView {
            labels: labels!("alertname" => "InstanceDown", "instance" => "a:1", "severity" => "page"),
            annotations: labels!("summary" => "a:1 down"),
            state: AlertState::Firing,
            active_at: Some(at(1_700_000_000)),
            keep_firing_since: None,
            value: 0.0,
        };
        vec![
            RuleGroupView {
                name: "node".into(),
                file: "/etc/rules/node.yml".into(),
                interval_seconds: 15.0,
                limit: 0,
                evaluation_seconds: 0.001,
                last_evaluation: Some(at(1_700_000_100)),
                rules: vec![
                    RuleView::Alerting {
                        common: RuleCommon {
                            name: "InstanceDown".into(),
                            query: "up == 0".into(),
                            labels: labels!("severity" => "page"),
                            health: RuleHealth::Ok,
                            ..RuleCommon::default()
                        },
                        state: AlertState::Firing,
                        duration_seconds: 300.0,
                        keep_firing_for_seconds: 0.0,
                        annotations: labels!("summary" => "{{ $labels.instance }} down"),
                        alerts: vec![alert],
                    },
                    RuleView::Recording(RuleCommon {
                        name: "job:up:sum".into(),
                        query: "sum by (job) (up)".into(),
                        health: RuleHealth::Err,
                        last_error: "boom".into(),
                        ..RuleCommon::default()
                    }),
                ],
            },
            RuleGroupView {
                name: "other".into(),
                file: "/etc/rules/other.yml".into(),
                interval_seconds: 60.0,
                rules: vec![RuleView::Recording(RuleCommon {
                    name: "x:y".into(),
                    query: "vector(1)".into(),
                    ..RuleCommon::default()
                })],
                ..RuleGroupView::default()
            },
        ]
    }
}

struct Ams;

impl AlertmanagerRetriever for Ams {
    fn active_alertmanagers(&self) -> Vec<String> {
        vec!["http://127.0.0.1:9093/api/v2/alerts".into()]
    }
    fn dropped_alertmanagers(&self) -> Vec<String> {
        Vec::new()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Arc<tsdb::Db>,
}

/// The admin operations on a real TSDB; statistics as a fake reports them (the binary's
/// `TsdbView` is tested against the TSDB itself).
struct Tsdb {
    db: Arc<tsdb::Db>,
}

impl TsdbAdminStats for Tsdb {
    fn delete_series(&self, start: i64, end: i64, m: &[model::Matcher]) -> Result<(), String> {
        self.db.delete(start, end, m).map_err(|e| e.to_string())
    }
    fn clean_tombstones(&self) -> Result<(), String> {
        self.db.clean_tombstones().map_err(|e| e.to_string())
    }
    fn snapshot(&self, name: &str, with_head: bool) -> Result<(), String> {
        let dir = self.db.dir().join("snapshots").join(name);
        self.db.snapshot(&dir, with_head).map_err(|e| e.to_string())
    }
    fn stats(&self, limit: usize) -> TsdbStats {
        assert!((1..=10_000).contains(&limit), "{limit}");
        TsdbStats {
            head: HeadStats {
                num_series: 3,
                num_label_pairs: 7,
                chunk_count: 3,
                min_time: 1000,
                max_time: 2000,
            },
            series_count_by_metric_name: vec![("up".into(), 2)],
            label_value_count_by_label_name: vec![("instance".into(), 2)],
            memory_in_bytes_by_label_name: vec![("instance".into(), 6)],
            series_count_by_label_value_pair: vec![("job=api".into(), 2)],
        }
    }
    fn wal_replay_status(&self) -> WalReplayStatus {
        WalReplayStatus {
            min: 0,
            max: 4,
            current: 4,
        }
    }
}

/// A TSDB with `up` for two instances and a counter, samples every 15 s ending now.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path(), tsdb::DbOptions::default()).unwrap());
    let now = jiff::Timestamp::now().as_millisecond();
    let mut app = db.appender();
    for i in (0..20).rev() {
        let t = now - i * 15_000;
        app.append(
            0,
            &labels!("__name__" => "up", "job" => "api", "instance" => "a:1"),
            t,
            Sample::Float(1.0),
        )
        .unwrap();
        app.append(
            0,
            &labels!("__name__" => "up", "job" => "db", "instance" => "b:2"),
            t,
            Sample::Float(0.0),
        )
        .unwrap();
        app.append(
            0,
            &labels!("__name__" => "requests_total", "job" => "api"),
            t,
            Sample::Float(i as f64),
        )
        .unwrap();
    }
    app.commit().unwrap();
    Fixture { _dir: dir, db }
}

fn app(f: &Fixture, tweak: impl FnOnce(&mut WebState)) -> axum::Router {
    let mut state = WebState::new(
        f.db.clone(),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    state.tsdb = Some(Arc::new(Tsdb { db: f.db.clone() }));
    state.exemplars = Some(f.db.clone());
    tweak(&mut state);
    web::router(Arc::new(state))
}

async fn call(
    app: axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

async fn get_json(app: axum::Router, uri: &str) -> (StatusCode, Value) {
    let (s, _, b) = call(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn rules_with_filters() {
    let f = fixture();
    let mk = || app(&f, |s| s.rules = Some(Arc::new(Rules)));
    let (status, body) = get_json(mk(), "/api/v1/rules").await;
    assert_eq!(status, StatusCode::OK);
    let groups = body["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let g = &groups[0];
    assert_eq!(g["name"], "node");
    assert_eq!(g["file"], "/etc/rules/node.yml");
    assert_eq!(g["interval"], json!(15.0));
    assert_eq!(g["limit"], json!(0));
    assert_eq!(g["lastEvaluation"], "2023-11-14T22:15:00Z");
    let alerting = &g["rules"][0];
    assert_eq!(alerting["type"], "alerting");
    assert_eq!(alerting["state"], "firing");
    assert_eq!(alerting["duration"], json!(300.0));
    assert_eq!(alerting["health"], "ok");
    assert!(
        alerting.get("lastError").is_none(),
        "lastError omitted when empty"
    );
    assert_eq!(
        alerting["alerts"][0],
        json!({"labels": {"alertname": "InstanceDown", "instance": "a:1", "severity": "page"},
               "annotations": {"summary": "a:1 down"}, "state": "firing",
               "activeAt": "2023-11-14T22:13:20Z", "value": "0e+00"})
    );
    let recording = &g["rules"][1];
    assert_eq!(recording["type"], "recording");
    assert_eq!(recording["lastError"], "boom");
    assert_eq!(recording["health"], "err");
    assert_eq!(recording["lastEvaluation"], "0001-01-01T00:00:00Z");
    assert!(recording.get("alerts").is_none());

    let (_, body) = get_json(mk(), "/api/v1/rules?type=alert").await;
    assert_eq!(
        body["data"]["groups"].as_array().unwrap().len(),
        1,
        "other has no alerting rule"
    );
    let (_, body) = get_json(mk(), "/api/v1/rules?type=record&rule_group[]=other").await;
    assert_eq!(body["data"]["groups"][0]["rules"][0]["name"], "x:y");
    let (_, body) = get_json(
        mk(),
        "/api/v1/rules?rule_name[]=job:up:sum&file[]=/etc/rules/node.yml",
    )
    .await;
    assert_eq!(
        body["data"]["groups"][0]["rules"].as_array().unwrap().len(),
        1
    );
    let (_, body) = get_json(mk(), "/api/v1/rules?exclude_alerts=true").await;
    assert_eq!(body["data"]["groups"][0]["rules"][0]["alerts"], Value::Null);
    let (_, body) = get_json(mk(), "/api/v1/rules?match[]=%7Bseverity%3D%22page%22%7D").await;
    assert_eq!(body["data"]["groups"].as_array().unwrap().len(), 1);
    let (status, body) = get_json(mk(), "/api/v1/rules?type=foo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "invalid parameter \"type\": not supported value \"foo\""
    );

    let (_, body) = get_json(mk(), "/api/v1/alerts").await;
    assert_eq!(body["data"]["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["data"]["alerts"][0]["labels"]["alertname"],
        "InstanceDown"
    );
}

#[tokio::test]
async fn empty_rules_alerts_and_alertmanagers_without_providers() {
    let f = fixture();
    let (_, body) = get_json(app(&f, |_| {}), "/api/v1/rules").await;
    assert_eq!(body, json!({"status": "success", "data": {"groups": []}}));
    let (_, body) = get_json(app(&f, |_| {}), "/api/v1/alerts").await;
    assert_eq!(body["data"], json!({"alerts": []}));
    let (_, body) = get_json(app(&f, |_| {}), "/api/v1/alertmanagers").await;
    assert_eq!(
        body["data"],
        json!({"activeAlertmanagers": [], "droppedAlertmanagers": []})
    );
    let (_, body) = get_json(
        app(&f, |s| s.alertmanagers = Some(Arc::new(Ams))),
        "/api/v1/alertmanagers",
    )
    .await;
    assert_eq!(
        body["data"]["activeAlertmanagers"],
        json!([{"url": "http://127.0.0.1:9093/api/v2/alerts"}])
    );
}

#[tokio::test]
async fn tsdb_status_and_wal_replay() {
    let f = fixture();
    let (status, body) = get_json(app(&f, |_| {}), "/api/v1/status/tsdb?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({
            "headStats": {"numSeries": 3, "numLabelPairs": 7, "chunkCount": 3,
                          "minTime": 1000, "maxTime": 2000},
            "seriesCountByMetricName": [{"name": "up", "value": 2}],
            "labelValueCountByLabelName": [{"name": "instance", "value": 2}],
            "memoryInBytesByLabelName": [{"name": "instance", "value": 6}],
            "seriesCountByLabelValuePair": [{"name": "job=api", "value": 2}],
        })
    );
    let (status, body) = get_json(app(&f, |_| {}), "/api/v1/status/tsdb?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "limit must be a positive number");
    let (_, body) = get_json(app(&f, |_| {}), "/api/v1/status/tsdb?limit=10001").await;
    assert_eq!(body["error"], "limit must not exceed 10000");
    let (status, body) = get_json(app(&f, |_| {}), "/api/v1/status/walreplay").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({"min": 0, "max": 4, "current": 4}));
}

#[tokio::test]
async fn exemplars_are_empty_and_params_checked() {
    let f = fixture();
    let (status, body) = get_json(
        app(&f, |_| {}),
        "/api/v1/query_exemplars?query=up&start=0&end=10",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "success", "data": []}));
    let (status, body) = get_json(
        app(&f, |_| {}),
        "/api/v1/query_exemplars?query=up&start=10&end=0",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "end timestamp must not be before start timestamp"
    );
    let (status, body) =
        get_json(app(&f, |_| {}), "/api/v1/query_exemplars?query=up&start=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "invalid parameter \"start\": invalid time value for 'start': cannot parse \"x\" to a valid timestamp"
    );
    let (status, body) = get_json(app(&f, |_| {}), "/api/v1/query_exemplars?query=sum(").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorType"], "bad_data");
    let (status, _, body) = call(
        app(&f, |_| {}),
        Request::get("/api/v1/query_exemplars?query=1%2B1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "no selector: no content");
    assert!(body.is_empty());
}

fn post(uri: &str) -> Request<Body> {
    Request::post(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn admin_api_refused_without_flag() {
    let f = fixture();
    for path in ["delete_series?match[]=up", "clean_tombstones", "snapshot"] {
        let (status, _, body) =
            call(app(&f, |_| {}), post(&format!("/api/v1/admin/tsdb/{path}"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"status": "error", "errorType": "unavailable", "error": "admin APIs disabled"})
        );
    }
}

#[tokio::test]
async fn admin_delete_snapshot_clean() {
    let f = fixture();
    let admin = |f: &Fixture| app(f, |s| s.options.enable_admin_api = true);
    let (status, body) = get_json(admin(&f), "/api/v1/query?query=count(up)").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["result"][0]["value"][1], "2");

    let (status, _, body) = call(admin(&f), post("/api/v1/admin/tsdb/delete_series")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("no match[] parameter provided"));
    let req = Request::put("/api/v1/admin/tsdb/delete_series")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("match[]=up%7Bjob%3D%22db%22%7D"))
        .unwrap();
    let (status, _, body) = call(admin(&f), req).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(body.is_empty());
    let (_, body) = get_json(admin(&f), "/api/v1/query?query=count(up)").await;
    assert_eq!(
        body["data"]["result"][0]["value"][1], "1",
        "the db series is gone"
    );

    let (status, _, body) = call(
        admin(&f),
        post("/api/v1/admin/tsdb/snapshot?skip_head=false"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let name = body["data"]["name"].as_str().unwrap().to_owned();
    assert_eq!(name.len(), "20231114T221320Z-".len() + 16, "{name}");
    let snap = f.db.dir().join("snapshots").join(&name);
    let blocks = std::fs::read_dir(&snap).unwrap().count();
    assert_eq!(blocks, 1, "the head became one block in the snapshot");
    let (status, _, body) = call(
        admin(&f),
        post("/api/v1/admin/tsdb/snapshot?skip_head=maybe"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("invalid parameter \\\"skip_head\\\""));

    let (status, _, _) = call(admin(&f), post("/api/v1/admin/tsdb/clean_tombstones")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(
        admin(&f),
        Request::get("/api/v1/admin/tsdb/snapshot")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn federate_text_and_openmetrics() {
    let f = fixture();
    let mk = |f: &Fixture| {
        app(f, |s| {
            *s.external_labels.write() = labels!("cluster" => "eu1", "job" => "ignored");
        })
    };
    let (status, headers, body) = call(
        mk(&f),
        Request::get("/federate?match[]=up&match[]=%7Bjob%3D%22api%22%7D")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "# TYPE requests_total untyped");
    assert!(
        lines[1].starts_with("requests_total{cluster=\"eu1\",instance=\"\",job=\"api\"} 0 "),
        "{text}"
    );
    assert_eq!(lines[2], "# TYPE up untyped");
    assert!(
        lines[3].starts_with("up{cluster=\"eu1\",instance=\"a:1\",job=\"api\"} 1 "),
        "{text}"
    );
    assert!(
        lines[4].starts_with("up{cluster=\"eu1\",instance=\"b:2\",job=\"db\"} 0 "),
        "{text}"
    );
    let ts: i64 = lines[3].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        (jiff::Timestamp::now().as_millisecond() - ts) < 60_000,
        "the latest sample"
    );

    let req = Request::get("/federate?match[]=up%7Bjob%3D%22api%22%7D")
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .body(Body::empty())
        .unwrap();
    let (_, headers, body) = call(mk(&f), req).await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(
            "# TYPE up unknown\nup{cluster=\"eu1\",instance=\"a:1\",job=\"api\"} 1.0 "
        ),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));

    let (status, _, body) = call(
        mk(&f),
        Request::get("/federate").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty(), "no match[]: nothing");
    let (status, _, _) = call(
        mk(&f),
        Request::get("/federate?match[]=up%7B")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn route_prefix_gzip_and_cors() {
    let f = fixture();
    let mk = |f: &Fixture, origin: &str| {
        let origin = origin.to_owned();
        app(f, move |s| {
            s.options.route_prefix = "/prom".into();
            s.options.cors_origin = origin;
        })
    };
    let (status, _) = get_json(mk(&f, ".*"), "/api/v1/query?query=1").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "routes live under the prefix"
    );
    let (status, body) = get_json(mk(&f, ".*"), "/prom/api/v1/query?query=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["resultType"], "scalar");
    let (status, _, _) = call(
        mk(&f, ".*"),
        Request::get("/prom/-/healthy").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) =
        call(mk(&f, ".*"), Request::get("/").body(Body::empty()).unwrap()).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers["location"], "/prom");
    for path in ["/prom/", "/prom"] {
        let (status, _, _) = call(
            mk(&f, ".*"),
            Request::get(path).body(Body::empty()).unwrap(),
        )
        .await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{path} leads to the UI");
    }

    let req = Request::get("/prom/api/v1/label/__name__/values")
        .header("accept-encoding", "gzip")
        .header("origin", "https://grafana.example")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = call(mk(&f, ".*"), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
        .unwrap();
    let v: Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(v["data"], json!(["requests_total", "up"]));

    let req = |origin: &str| {
        Request::options("/prom/api/v1/query")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = call(mk(&f, r"https://.*\.example"), req("https://g.example")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-allow-origin"], "https://g.example");
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    let (_, headers, _) = call(
        mk(&f, r"https://.*\.example"),
        req("https://evil.example.com"),
    )
    .await;
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "anchored regex"
    );
}
