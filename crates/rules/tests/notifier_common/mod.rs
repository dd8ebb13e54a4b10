//! Helpers of the notifier tests: an in-process fake Alertmanager, alerts, condition polling.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use firewatch_rules::alert::Alert;
use firewatch_rules::notifier::{Notifier, NotifierOptions};
use parking_lot::Mutex;

/// One POST the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, parsed.
    pub alerts: Vec<serde_json::Value>,
    /// Every header.
    pub headers: HeaderMap,
}

/// An Alertmanager stand-in on 127.0.0.1 that records every POST and answers with `status`.
pub struct FakeAm {
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAm {
    /// Starts a fake answering 200.
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (r, s) = (Arc::clone(&received), Arc::clone(&status));
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (r, s) = (Arc::clone(&r), Arc::clone(&s));
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let alerts: Vec<serde_json::Value> =
                    serde_json::from_slice(&body).unwrap_or_default();
                r.lock().push(Received {
                    path: uri.path().to_owned(),
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    alerts,
                    headers: headers.clone(),
                });
                StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            received,
            status,
            task,
        }
    }

    /// Makes every later request answer `code`.
    pub fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().clone()
    }

    /// Every alert received so far, in order.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.received().into_iter().flat_map(|r| r.alerts).collect()
    }

    /// The default alerts endpoint URL of this fake.
    pub fn url(&self) -> String {
        format!("http://{}/api/v2/alerts", self.addr)
    }
}

/// Polls `cond` every 20 ms until it is true; panics after 30 s with `what`.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A firing alert named `name` with extra labels and a summary annotation.
pub fn alert(name: &str, labels: &[(&str, &str)]) -> Alert {
    let mut pairs: Vec<(&str, &str)> = vec![("alertname", name)];
    pairs.extend_from_slice(labels);
    Alert {
        labels: model::Labels::from_pairs(pairs),
        annotations: model::Labels::from_pairs([("summary", format!("{name} is firing"))]),
        starts_at: SystemTime::now(),
        ends_at: Some(SystemTime::now() + Duration::from_secs(600)),
        generator_url: format!("http://firewatch:9090/graph?g0.expr={name}"),
    }
}

/// The names of alerts as a fake received them.
pub fn names(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A configuration from `prometheus.yml` text.
pub fn config(yaml: &str) -> config::Config {
    config::Config::from_yaml_str(yaml, std::env::temp_dir()).expect("valid config")
}

/// Options for tests: prompt discovery updates.
pub fn options() -> NotifierOptions {
    NotifierOptions {
        discovery_update_interval: Duration::from_millis(100),
        ..NotifierOptions::default()
    }
}

/// A running notifier with `yaml` applied, its run task, once it has discovered `expected`
/// active Alertmanagers.
pub async fn running(
    yaml: &str,
    opts: NotifierOptions,
    expected: usize,
) -> (Notifier, tokio::task::JoinHandle<()>) {
    let n = Notifier::new(opts);
    n.apply_config(&config(yaml)).expect("config applies");
    let runner = n.clone();
    let task = tokio::spawn(async move { runner.run().await });
    wait_for("alertmanagers discovered", || {
        n.alertmanagers().0.len() == expected
    })
    .await;
    (n, task)
}
