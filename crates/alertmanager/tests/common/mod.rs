//! Test harness: a webhook recorder, JSON requests, the real Alertmanager 0.25 and
//! Firewatch's Alertmanager (in-process) on loopback ports.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firewatch_alertmanager::{Options, Stop};
use serde_json::Value;

/// One received webhook: path, body, when.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: Value,
    pub at: Instant,
}

/// An HTTP server recording every POST body.
pub struct Recorder {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    pub fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let log = log2.clone();
                std::thread::spawn(move || serve(s, &log));
            }
        });
        Self { port, log }
    }

    /// The bodies received under `prefix`, with the path after it.
    pub fn under(&self, prefix: &str) -> Vec<(String, Value)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| {
                r.path
                    .strip_prefix(prefix)
                    .map(|p| (p.to_owned(), r.body.clone()))
            })
            .collect()
    }
}

fn serve(s: TcpStream, log: &Mutex<Vec<Received>>) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut s = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut len = 0;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        log.lock().unwrap().push(Received {
            path,
            body,
            at: Instant::now(),
        });
        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// Sends a request with a JSON body; returns status and body.
pub fn request(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let b = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
        b.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_owned())
}

/// Creates a silence; returns its id.
pub fn post_silence(port: u16, body: &str) -> String {
    let (code, text) = request(port, "POST", "/api/v2/silences", Some(body));
    assert_eq!(code, 200, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An Alertmanager under test: its port and how to stop it.
pub struct Instance {
    pub port: u16,
    pub name: &'static str,
    stop: Option<Stop>,
    thread: Option<std::thread::JoinHandle<()>>,
    _process: Option<testkit::Process>,
    crash: Option<std::sync::mpsc::Sender<()>>,
}

impl Instance {
    /// Stops gracefully (Firewatch) or kills (the real one).
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            s.fire();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Ends Firewatch's runtime without any shutdown work, as `kill -9` would.
    pub fn crash(mut self) {
        if let Some(c) = self.crash.take() {
            let _ = c.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.stop = None;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            s.fire();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_ready(port: u16) {
    testkit::wait_for(
        "the Alertmanager to be ready",
        Duration::from_secs(30),
        || testkit::get_ok(port, "/-/ready").is_some(),
    );
}

/// Firewatch's Alertmanager in this process with `config` and data under `dir`.
pub fn firewatch(dir: &Path, config: &str) -> Instance {
    firewatch_with(dir, config, |_| {})
}

/// Firewatch's Alertmanager in this process, its options changed by `f` before it starts.
pub fn firewatch_with(dir: &Path, config: &str, f: impl FnOnce(&mut Options)) -> Instance {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let port = testkit::free_port();
    let opts = Options {
        config_file: file,
        storage_path: dir.join("data"),
        listen_address: format!("127.0.0.1:{port}"),
        external_url: "http://am.example:9093".to_owned(),
        ..Options::default()
    };
    let mut opts = opts;
    f(&mut opts);
    let stop = Stop::default();
    let (crash_tx, crash_rx) = std::sync::mpsc::channel::<()>();
    let s2 = stop.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let handle = rt.spawn(async move {
            if let Err(e) = firewatch_alertmanager::run_until(opts, s2, false).await {
                eprintln!("firewatch alertmanager: {e}");
            }
        });
        loop {
            if handle.is_finished() {
                break;
            }
            if crash_rx.recv_timeout(Duration::from_millis(50)).is_ok() {
                rt.shutdown_background();
                return;
            }
        }
        rt.shutdown_timeout(Duration::from_secs(5));
    });
    wait_ready(port);
    Instance {
        port,
        name: "firewatch",
        stop: Some(stop),
        thread: Some(thread),
        _process: None,
        crash: Some(crash_tx),
    }
}

/// The real Alertmanager 0.25 with `config` and data under `dir`; `None` (a recorded skip)
/// when it is not installed.
pub fn real(test: &str, dir: &Path, config: &str) -> Option<Instance> {
    real_with(test, dir, config, &["--cluster.listen-address=".to_owned()])
}

/// The real Alertmanager 0.25 with `config`, data under `dir` and `args` (which must set
/// `--cluster.listen-address`).
pub fn real_with(test: &str, dir: &Path, config: &str, args: &[String]) -> Option<Instance> {
    let bin = testkit::peer_binary(test, "prometheus-alertmanager")?;
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let port = testkit::free_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.external-url=http://am.example:9093")
        .args(args);
    let p = testkit::Process::spawn("alertmanager", cmd, &dir.join("am.log"));
    wait_ready(port);
    Some(Instance {
        port,
        name: "alertmanager",
        stop: None,
        thread: None,
        _process: Some(p),
        crash: None,
    })
}

/// An RFC 3339 time `secs` from now, with milliseconds.
pub fn at(secs: f64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(secs);
    t.round(jiff::Unit::Millisecond).unwrap().to_string()
}

/// A temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `amtool` from the Debian package, or `None` (a recorded skip).
pub fn amtool(test: &str) -> Option<PathBuf> {
    testkit::peer_binary(test, "amtool")
}

/// Runs amtool against `port`; returns (exit code, stdout, stderr).
pub fn run_amtool(bin: &Path, port: u16, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .arg(format!("--alertmanager.url=http://127.0.0.1:{port}"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
