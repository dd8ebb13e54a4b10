//! The real Prometheus 2.42 scrapes Firewatch's `/federate` (it asks for OpenMetrics first)
//! with `honor_labels: true`: the federated series arrive with their own labels, the external
//! labels, and no instance of the federating server.

use std::future::Future;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use firewatch_web::{self as web, LifecycleHooks, WebState};
use model::{Sample, labels};
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
    fn quit(&self) {}
}

/// Kills the process when dropped.
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn query(client: &reqwest::Client, base: &str, q: &str) -> Option<serde_json::Value> {
    let r = client
        .get(format!(
            "{base}/api/v1/query?query={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = r.json().await.ok()?;
    Some(v["data"]["result"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_federate() {
    if !testkit::peers(
        "web::federate_prometheus::prometheus_scrapes_federate",
        &["prometheus"],
    ) {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = MemoryStorage::new();
    let now = jiff::Timestamp::now().as_millisecond();
    for i in 0..10 {
        let t = now - 60_000 + i * 5_000;
        db.add(
            &labels!("__name__" => "requests_total", "job" => "api", "instance" => "a:1", "code" => "200"),
            t,
            Sample::Float((i * 10) as f64),
        );
        db.add(
            &labels!("__name__" => "job:requests:rate5m", "job" => "api"),
            t,
            Sample::Float(0.5),
        );
        db.add(
            &labels!("__name__" => "other", "job" => "batch"),
            t,
            Sample::Float(3.0),
        );
    }
    let state = WebState::new(
        Arc::new(db),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    *state.external_labels.write() = labels!("cluster" => "eu1");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fw = listener.local_addr().unwrap().to_string();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve::serve(
        listener,
        web::router(Arc::new(state)),
        None,
        async {
            let _ = stop_rx.await;
        },
    ));

    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n\
         \x20   params:\n      'match[]': ['{{job=\"api\"}}']\n\
         \x20   static_configs:\n      - targets: ['{fw}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), cfg).unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus 2.42 is installed (Debian package prometheus)");
    let _guard = Killer(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
        if let Some(r) = query(&client, &base, "requests_total").await
            && r.as_array().is_some_and(|a| !a.is_empty())
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never ingested the federated series"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        result[0]["metric"],
        serde_json::json!({"__name__": "requests_total", "cluster": "eu1", "code": "200",
                           "instance": "a:1", "job": "api"})
    );
    assert_eq!(result[0]["value"][1], "90", "the latest sample");
    let rate = query(&client, &base, "job:requests:rate5m").await.unwrap();
    assert_eq!(
        rate[0]["metric"],
        serde_json::json!({"__name__": "job:requests:rate5m", "cluster": "eu1", "job": "api"}),
        "instance=\"\" keeps the federating server's instance off the series"
    );
    let up = query(&client, &base, "up{job=\"federate\"}").await.unwrap();
    assert_eq!(up[0]["value"][1], "1");
    let other = query(&client, &base, "other").await.unwrap();
    assert_eq!(other.as_array().unwrap().len(), 0, "not matched by match[]");
    let scraped = query(&client, &base, "scrape_samples_scraped{job=\"federate\"}")
        .await
        .unwrap();
    assert_eq!(scraped[0]["value"][1], "2");
    let _ = stop_tx.send(());
}
