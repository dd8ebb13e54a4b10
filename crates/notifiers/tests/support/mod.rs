//! Test support: an HTTP recorder on 127.0.0.1 that stores every request and answers each
//! integration's endpoint as its service does.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firewatch_notifiers::alert::{Alert, AlertStatus, Data};
use serde_json::Value;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {}",
                self.uri,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as `application/x-www-form-urlencoded` pairs.
    pub fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// A recording HTTP server.
pub struct Recorder {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    _task: tokio::task::JoinHandle<()>,
}

/// The answer each endpoint gives, as the real service would.
fn answer(path: &str) -> Response {
    let json = |s: &str| {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            s.to_owned(),
        )
            .into_response()
    };
    if path.contains("/jira-") {
        if path.ends_with("/search") {
            return json(if path.contains("/jira-open/") {
                r#"{"issues":[{"key":"OPS-1","fields":{"status":{"name":"In Progress","statusCategory":{"key":"indeterminate"}}}}]}"#
            } else {
                r#"{"issues":[]}"#
            });
        }
        if path.ends_with("/transitions") {
            return json(
                r#"{"transitions":[{"id":"21","name":"Start"},{"id":"31","name":"Done"}]}"#,
            );
        }
        return json(r#"{"id":"10000","key":"OPS-1"}"#);
    }
    if path.contains("/incidentio-429") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            json(r#"{"message":"rate limited","errors":["slow down","later"]}"#),
        )
            .into_response();
    }
    if path.contains("/incidentio-400") {
        return (
            StatusCode::BAD_REQUEST,
            json(r#"{"error":"invalid payload"}"#),
        )
            .into_response();
    }
    if path.contains("/rc-fail/") {
        return json(r#"{"success":false,"error":"error-invalid-channel"}"#);
    }
    if path.contains("/api/v1/chat.postMessage") {
        return json(r#"{"success":true}"#);
    }
    if path.contains("/gettoken") {
        return json(
            r#"{"errcode":0,"errmsg":"ok","access_token":"wechat-token","expires_in":7200}"#,
        );
    }
    if path.contains("/message/send") {
        return json(r#"{"errcode":0,"errmsg":"ok"}"#);
    }
    if path.contains("/slack") {
        return "ok".into_response();
    }
    if path.contains("/pagerduty") {
        return (
            StatusCode::ACCEPTED,
            json(r#"{"status":"success","message":"Event processed"}"#),
        )
            .into_response();
    }
    if path.contains("/telegram") || path.contains("sendMessage") {
        return json(
            r#"{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":4242,"type":"private"},"text":"x"}}"#,
        );
    }
    if path.contains("/pushover") {
        return json(r#"{"status":1,"request":"r"}"#);
    }
    if path.contains("/victorops") {
        return json(r#"{"result":"success","entity_id":"e"}"#);
    }
    if path.contains("/discord") {
        return StatusCode::NO_CONTENT.into_response();
    }
    if path.contains("/sns") {
        return (
            [(axum::http::header::CONTENT_TYPE, "text/xml")],
            r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"#,
        )
            .into_response();
    }
    if path.contains("/opsgenie") {
        return (
            StatusCode::ACCEPTED,
            json(r#"{"result":"Request will be processed","took":0.1,"requestId":"x"}"#),
        )
            .into_response();
    }
    json("{}")
}

impl Recorder {
    /// Starts a recorder on a free loopback port.
    pub async fn start() -> Recorder {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let store = requests.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let store = store.clone();
                async move {
                    let rec = Recorded {
                        method: method.to_string(),
                        uri: uri.to_string(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect(),
                        body: body.to_vec(),
                    };
                    store.lock().unwrap().push(rec);
                    answer(uri.path())
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Recorder {
            url,
            requests,
            _task: task,
        }
    }

    /// All requests so far.
    pub fn all(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Waits until a request whose URI contains each of `parts` arrived (30 s at most).
    pub async fn wait_for(&self, parts: &[&str]) -> Vec<Recorded> {
        self.try_wait_for(parts)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Recorder::wait_for`], with the failure as an error.
    pub async fn try_wait_for(&self, parts: &[&str]) -> Result<Vec<Recorded>, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.all();
            let missing: Vec<&&str> = parts
                .iter()
                .filter(|p| !all.iter().any(|r| r.uri.contains(**p)))
                .collect();
            if missing.is_empty() {
                return Ok(all);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no request for {missing:?}; got {:?}",
                    all.iter().map(|r| &r.uri).collect::<Vec<_>>()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last request whose URI contains `part`.
    pub fn last(&self, part: &str) -> Recorded {
        self.all()
            .into_iter()
            .rev()
            .find(|r| r.uri.contains(part))
            .unwrap_or_else(|| panic!("no request for {part}"))
    }
}

/// A real SMTP server (Python's aiosmtpd) with STARTTLS and AUTH required, writing each
/// message it accepts as JSON into its directory.
pub struct SmtpServer {
    _process: testkit::Process,
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl SmtpServer {
    /// Starts a server requiring STARTTLS (or, with `implicit`, TLS from the first byte),
    /// offering AUTH PLAIN.
    pub fn start(test: &str, implicit: bool) -> Option<SmtpServer> {
        Self::start_with(test, implicit, "PLAIN", "")
    }

    /// As [`SmtpServer::start`], offering the AUTH mechanisms `mechs` (comma separated;
    /// CRAM-MD5 checks answers against `secret`).
    pub fn start_with(test: &str, implicit: bool, mechs: &str, secret: &str) -> Option<SmtpServer> {
        let python = testkit::peer_binary(test, "python3")?;
        if !testkit::python_module(test, "aiosmtpd") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let port = testkit::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg(&out)
            .arg(port.to_string())
            .arg(&cert_path)
            .arg(&key_path)
            .args(["am-user", "am-pass"])
            .arg(if implicit { "implicit" } else { "starttls" })
            .args([mechs, secret]);
        let mut p = testkit::Process::spawn("smtp server", cmd, &dir.path().join("smtp.log"));
        testkit::wait_for("smtp server ready", Duration::from_secs(20), || {
            assert!(p.is_running(), "smtp server exited: {}", p.log_text());
            out.join("ready").exists()
        });
        Some(SmtpServer {
            _process: p,
            dir,
            port,
        })
    }

    /// The server's log.
    pub fn log(&self) -> String {
        self._process.log_text()
    }

    /// Message number `n` (from 1), waiting for it up to 30 s.
    pub async fn message(&self, n: usize) -> Value {
        let path = self.dir.path().join("mail").join(format!("{n}.json"));
        for _ in 0..600 {
            if let Ok(t) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&t).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no message {n}; server log: {}", self._process.log_text());
    }
}

/// Starts the real Alertmanager (`bin`) on a free loopback port with `yaml` as its
/// configuration, gossip off, and waits until it is ready.
pub fn start_alertmanager(
    bin: &Path,
    dir: &Path,
    yaml: &str,
    external_url: &str,
) -> (testkit::Process, u16) {
    let port = testkit::free_port();
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(&cfg, yaml).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--web.external-url={external_url}"))
        .arg("--cluster.listen-address=");
    let mut p = testkit::Process::spawn("alertmanager", cmd, &dir.join("am.log"));
    testkit::wait_for("alertmanager ready", Duration::from_secs(30), || {
        assert!(p.is_running(), "alertmanager exited: {}", p.log_text());
        testkit::get_ok(port, "/-/ready").is_some()
    });
    (p, port)
}

/// The notification data as Alertmanager sent it to a webhook (same alerts, order, times).
pub fn data_from_webhook(body: &Value) -> Data {
    let kv = |v: &Value| -> firewatch_notifiers::Kv {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    };
    let alerts = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Alert {
            status: if a["status"] == "firing" {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            },
            labels: kv(&a["labels"]),
            annotations: kv(&a["annotations"]),
            starts_at: a["startsAt"].as_str().unwrap().parse().unwrap(),
            ends_at: match a["endsAt"].as_str().unwrap() {
                firewatch_notifiers::alert::GO_ZERO_TIME => None,
                t => Some(t.parse().unwrap()),
            },
            generator_url: a["generatorURL"].as_str().unwrap().to_owned(),
            fingerprint: a["fingerprint"].as_str().unwrap().to_owned(),
        })
        .collect();
    Data::new(
        body["receiver"].as_str().unwrap(),
        kv(&body["groupLabels"]),
        alerts,
        body["externalURL"].as_str().unwrap(),
    )
}
