//! The notifier against the real Alertmanager 0.25 (Debian `prometheus-alertmanager`) and
//! `amtool`: alerts arrive with external labels and relabeling applied, with their annotations,
//! and a resolved alert leaves the list of active alerts; over HTTPS, `tls_config.ca_file` is
//! what makes the Alertmanager's certificate trusted.

mod notifier_common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use firewatch_rules::alert::AlertSender;
use notifier_common::{alert, options, running, wait_for};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// A running Alertmanager on 127.0.0.1, killed when dropped.
struct Alertmanager {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
    tls: bool,
    client: reqwest::Client,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    /// Starts Alertmanager, serving HTTPS with a test CA's certificate when `tls`.
    async fn start(tls: bool) -> Self {
        http_client::ensure_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(
            &cfg,
            "route:\n  receiver: blackhole\nreceivers:\n- name: blackhole\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = dir.path().join("alertmanager.log");
        let mut cmd = Command::new(ALERTMANAGER);
        cmd.arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=");
        let mut client = reqwest::Client::builder();
        if tls {
            testkit::tls::make_certificates(dir.path());
            let web = dir.path().join("web.yml");
            std::fs::write(
                &web,
                "tls_server_config:\n  cert_file: srv.pem\n  key_file: srv.key\n",
            )
            .unwrap();
            cmd.arg(format!("--web.config.file={}", web.display()));
            let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
            client = client.add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {ALERTMANAGER} (scripts/test installs prometheus-alertmanager): {e}"
                )
            });
        let mut am = Self {
            child,
            port,
            dir,
            log,
            tls,
            client: client.build().unwrap(),
        };
        let ready = format!("{}/-/ready", am.base());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = am.client.get(&ready).send().await
                && r.status().is_success()
            {
                break;
            }
            let exited = am.child.try_wait().unwrap().is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "Alertmanager did not become ready; log:\n{}",
                std::fs::read_to_string(&am.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        am
    }

    fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// `GET /api/v2/alerts`.
    async fn alerts(&self) -> Vec<serde_json::Value> {
        self.client
            .get(format!("{}/api/v2/alerts", self.base()))
            .send()
            .await
            .expect("GET /api/v2/alerts")
            .json()
            .await
            .expect("a JSON list of alerts")
    }

    async fn find(&self, name: &str) -> Option<serde_json::Value> {
        self.alerts()
            .await
            .into_iter()
            .find(|a| a["labels"]["alertname"] == name)
    }
}

/// Polls `f` until it gives `Some`, for up to 30 s.
async fn poll<T, F: Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_alertmanager_and_resolve() {
    if !testkit::peers(
        "rules::notifier_alertmanager::alerts_reach_alertmanager_and_resolve",
        &["prometheus-alertmanager", "amtool"],
    ) {
        return;
    }
    let am = Alertmanager::start(false).await;
    let yaml = format!(
        "global:\n  external_labels: {{cluster: test-eu, instance: ext}}\n\
         alerting:\n  alert_relabel_configs:\n\
         \x20 - {{source_labels: [severity], regex: info, action: drop}}\n\
         \x20 - {{target_label: relabeled, replacement: 'yes'}}\n\
         \x20 alertmanagers:\n  - static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
        am.port
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    let url = format!("{}/api/v2/alerts", am.base());
    assert_eq!(n.alertmanagers(), (vec![url.clone()], vec![]));

    let high = alert(
        "HighLoad",
        &[("instance", "host1"), ("severity", "critical")],
    );
    n.send(vec![
        high.clone(),
        alert("Chatter", &[("severity", "info")]),
    ]);
    wait_for("the batch sent", || {
        n.counts(&url).is_some_and(|(sent, _)| sent == 1)
    })
    .await;
    assert_eq!(
        n.counts(&url),
        Some((1, 0)),
        "Alertmanager accepted the batch"
    );
    let got = poll("HighLoad in Alertmanager", || am.find("HighLoad")).await;
    assert_eq!(
        got["labels"],
        serde_json::json!({
            "alertname": "HighLoad", "instance": "host1", "severity": "critical",
            "cluster": "test-eu", "relabeled": "yes"
        })
    );
    assert_eq!(
        got["annotations"],
        serde_json::json!({"summary": "HighLoad is firing"})
    );
    assert_eq!(
        got["generatorURL"],
        "http://firewatch:9090/graph?g0.expr=HighLoad"
    );
    assert_eq!(got["status"]["state"], "active");
    let starts: jiff::Timestamp = got["startsAt"].as_str().unwrap().parse().unwrap();
    let sent = jiff::Timestamp::try_from(high.starts_at).unwrap();
    assert_eq!(starts.as_millisecond(), sent.as_millisecond());
    // Dropped by relabeling, in the same request as HighLoad.
    assert!(am.find("Chatter").await.is_none());

    // amtool lists it too.
    let base = am.base();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("amtool")
            .arg(format!("--alertmanager.url={base}"))
            .args(["--output=json", "alert", "query", "alertname=HighLoad"])
            .output()
            .expect("running amtool (scripts/test installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "amtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["labels"]["cluster"], "test-eu");
    assert_eq!(listed[0]["labels"]["instance"], "host1");

    // Resolved: the alert ends now (not before it started, which Alertmanager refuses) and
    // leaves the active alerts.
    let mut resolved = high;
    resolved.ends_at = Some(SystemTime::now());
    n.send(vec![resolved]);
    wait_for("resolved alert sent", || {
        n.counts(&url).is_some_and(|(sent, _)| sent == 2)
    })
    .await;
    assert_eq!(
        n.counts(&url),
        Some((2, 0)),
        "Alertmanager accepted the resolved alert"
    );
    poll("HighLoad resolved", || async {
        am.find("HighLoad").await.is_none().then_some(())
    })
    .await;
    n.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_ca_file() {
    if !testkit::peers(
        "rules::notifier_alertmanager::https_with_ca_file",
        &["prometheus-alertmanager", "openssl"],
    ) {
        return;
    }
    let am = Alertmanager::start(true).await;
    let url = format!("{}/api/v2/alerts", am.base());
    let yaml = |tls: &str| {
        format!(
            "alerting:\n  alertmanagers:\n  - scheme: https\n    {tls}\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
            am.port
        )
    };
    let ca = am.dir.path().join("ca.pem");
    let trusted = yaml(&format!("tls_config: {{ca_file: '{}'}}", ca.display()));
    let (n, _task) = running(&trusted, options(), 1).await;
    assert_eq!(n.alertmanagers().0, std::slice::from_ref(&url));
    n.send(vec![alert("OverTls", &[])]);
    let got = poll("OverTls in Alertmanager", || am.find("OverTls")).await;
    assert_eq!(got["labels"]["alertname"], "OverTls");
    wait_for("sent counted", || {
        n.counts(&url).is_some_and(|(s, _)| s == 1)
    })
    .await;
    assert_eq!(n.counts(&url), Some((1, 0)));
    n.stop();

    // Without the CA the certificate is not trusted: an error, and the alert never arrives.
    let (n, _task) = running(&yaml("timeout: 10s"), options(), 1).await;
    n.send(vec![alert("Untrusted", &[])]);
    wait_for("error counted", || n.counts(&url) == Some((1, 1))).await;
    assert_eq!(n.dropped_total(), 1);
    assert!(am.find("Untrusted").await.is_none());
    n.stop();
}
