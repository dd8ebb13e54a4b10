//! HTTP SD against an axum server on 127.0.0.1: content, shrinking lists, error responses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use config::HttpSdConfig;
use firewatch_discovery::http::HttpDiscovery;
use firewatch_discovery::{Discoverer, TargetGroup};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

#[derive(Clone, Default)]
struct Server {
    reply: Arc<Mutex<Option<Reply>>>,
    seen_headers: Arc<Mutex<Vec<HeaderMap>>>,
}

async fn sd(
    State(s): State<Server>,
    headers: HeaderMap,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    s.seen_headers.lock().push(headers);
    let r = s.reply.lock().clone().expect("reply set");
    (r.status, [(header::CONTENT_TYPE, r.content_type)], r.body)
}

async fn start() -> (Server, String, tokio::task::JoinHandle<()>) {
    let s = Server::default();
    let app = Router::new().route("/sd", get(sd)).with_state(s.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sd", l.local_addr().unwrap());
    let h = tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (s, url, h)
}

fn set(s: &Server, status: StatusCode, ct: &'static str, body: &str) {
    *s.reply.lock() = Some(Reply {
        status,
        content_type: ct,
        body: body.to_owned(),
    });
}

async fn next(rx: &mut mpsc::Receiver<Vec<TargetGroup>>) -> Vec<TargetGroup> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("timed out")
        .expect("closed")
}

#[tokio::test]
async fn fetches_groups_and_follows_changes() {
    let (srv, url, server) = start().await;
    set(
        &srv,
        StatusCode::OK,
        "application/json",
        r#"[{"targets":["a:1","b:1"],"labels":{"dc":"x"}},{"targets":["c:1"]}]"#,
    );
    let mut opts = HttpSdConfig::new(url.clone());
    opts.refresh_interval = config::Duration::from_millis(100);
    opts.bearer_token = config::Secret::new("s3cret");
    let d = HttpDiscovery::new(opts).unwrap();
    let (tx, mut rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));

    let first = next(&mut rx).await;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].source, format!("{url}:0"));
    assert_eq!(first[0].addresses(), ["a:1", "b:1"]);
    assert_eq!(first[0].labels["dc"], "x");
    assert_eq!(first[0].labels["__meta_url"], url);
    assert_eq!(first[1].addresses(), ["c:1"]);
    {
        let h = &srv.seen_headers.lock()[0];
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["authorization"], "Bearer s3cret");
        assert_eq!(h["x-prometheus-refresh-interval-seconds"], "0.1");
    }

    // The list shrinks: the vanished index comes back as an empty group.
    set(
        &srv,
        StatusCode::OK,
        "application/json; charset=utf-8",
        r#"[{"targets":["z:9"]}]"#,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let u = next(&mut rx).await;
        if u.len() == 2 && u[0].addresses() == ["z:9"] {
            assert_eq!(u[1].source, format!("{url}:1"));
            assert!(u[1].targets.is_empty());
            break;
        }
        assert!(Instant::now() < deadline, "no shrink seen");
    }

    // Errors send nothing (the previous groups stay): wrong status, wrong content type.
    set(
        &srv,
        StatusCode::INTERNAL_SERVER_ERROR,
        "application/json",
        "[]",
    );
    let n = srv.seen_headers.lock().len();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(srv.seen_headers.lock().len() > n + 1, "kept polling");
    set(
        &srv,
        StatusCode::OK,
        "text/plain",
        r#"[{"targets":["bad:1"]}]"#,
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    while let Ok(u) = rx.try_recv() {
        // Only updates fetched before the error replies may still be queued.
        assert!(
            u.iter().all(|g| g.addresses() != ["bad:1"]),
            "error reply was used: {u:?}"
        );
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
    server.abort();
}

#[tokio::test]
async fn refresh_reports_prometheus_errors() {
    let (srv, url, server) = start().await;
    let mut d = HttpDiscovery::new(HttpSdConfig::new(url.clone())).unwrap();
    set(&srv, StatusCode::NOT_FOUND, "application/json", "[]");
    let e = d.fetch().await.unwrap_err().to_string();
    assert!(
        e.contains("server returned HTTP status 404 Not Found"),
        "{e}"
    );
    set(&srv, StatusCode::OK, "text/html", "[]");
    let e = d.fetch().await.unwrap_err().to_string();
    assert!(e.contains("unsupported content type \"text/html\""), "{e}");
    set(
        &srv,
        StatusCode::OK,
        "application/json",
        r#"{"targets":[]}"#,
    );
    assert!(
        d.fetch().await.is_err(),
        "an object instead of an array is rejected"
    );
    set(&srv, StatusCode::OK, "application/json", r#"[null]"#);
    let e = d.fetch().await.unwrap_err().to_string();
    assert!(e.contains("nil target group"), "{e}");
    server.abort();
}

/// A `password_file` that cannot be read fails the refresh with the file's name: no request
/// goes out with an empty password.
#[tokio::test]
async fn unreadable_password_file_is_an_error_naming_it() {
    let (srv, url, server) = start().await;
    set(&srv, StatusCode::OK, "application/json", "[]");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("password").display().to_string();
    let mut opts = HttpSdConfig::new(url.clone());
    opts.basic_auth = Some(config::BasicAuth {
        username: "user".into(),
        password_file: missing.clone(),
        ..config::BasicAuth::default()
    });
    let mut d = HttpDiscovery::new(opts).unwrap();
    let e = d.fetch().await.unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "unable to read basic auth password file {missing}"
        )),
        "{e}"
    );
    std::fs::write(&missing, "pw\n").unwrap();
    assert!(
        d.fetch().await.is_ok(),
        "readable again: the next refresh succeeds"
    );
    server.abort();
}
