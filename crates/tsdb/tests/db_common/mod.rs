//! Helpers shared by the integration tests: running the real Prometheus 2.42 on loopback.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `prometheus`, killed when dropped.
pub struct Prometheus {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its data directory.
    pub data: PathBuf,
    log: PathBuf,
}

impl Prometheus {
    /// Starts `prometheus` on a free loopback port over `data`, scraping itself every second
    /// when `scrape_self`, with `extra` flags.
    pub fn start(data: &Path, scrape_self: bool, extra: &[&str]) -> Self {
        Self::start_with(data, extra, |port| {
            let mut yml =
                String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
            if scrape_self {
                yml.push_str(&format!(
                    "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
                ));
            }
            yml
        })
    }

    /// Starts `prometheus` over `data` with the configuration `config(port)` and `extra`
    /// flags.
    pub fn start_with(data: &Path, extra: &[&str], config: impl FnOnce(u16) -> String) -> Self {
        let port = free_port();
        let cfg_dir = data.parent().unwrap().join(format!("prom-cfg-{port}"));
        std::fs::create_dir_all(&cfg_dir).unwrap();
        let cfg = cfg_dir.join("prometheus.yml");
        std::fs::write(&cfg, config(port)).unwrap();
        let log = cfg_dir.join("prometheus.log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the `prometheus` 2.42 binary must be installed (apt-get install prometheus)");
        let p = Self {
            child: Some(child),
            port,
            data: data.to_path_buf(),
            log,
        };
        p.wait_ready();
        p
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.get("/-/ready").is_ok_and(|b| b.contains("Ready")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready; log:\n{}", self.log_text());
    }

    /// Waits (at most 30 s) until the self-scrape has produced `up`, then `then` more.
    pub fn wait_first_scrape(&self, then: Duration) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self
                .get("/api/v1/query?query=up")
                .is_ok_and(|b| b.contains("\"value\""))
            {
                std::thread::sleep(then);
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("prometheus never scraped itself; log:\n{}", self.log_text());
    }

    /// Prometheus's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.0 GET on the server; the body.
    pub fn get(&self, path_and_query: &str) -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )?;
        let mut resp = String::new();
        s.read_to_string(&mut resp)?;
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok(body.to_owned())
    }

    /// Stops it with SIGTERM and waits (at most 30 s) for a clean exit.
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(
                    st.success(),
                    "prometheus exited with {st}; log:\n{}",
                    self.log_text()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("prometheus did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A tiny HTTP server on 127.0.0.1 answering every request with `body(n)` (n counts requests
/// from 0) as `content_type`; stopped when dropped.
pub struct Target {
    /// Its port.
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Target {
    /// Starts serving.
    pub fn start(
        content_type: &'static str,
        body: impl Fn(usize) -> String + Send + 'static,
    ) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(Ordering::Acquire) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => req.extend_from_slice(&buf[..k]),
                    }
                }
                let b = body(n);
                n += 1;
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                    b.len()
                );
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Every float sample of the series of `db` whose `job` label is `job`, by series.
pub fn dump_floats(
    db: &firewatch_tsdb::Db,
    job: &str,
) -> std::collections::BTreeMap<String, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for s in q
        .select(true, None, &[model::Matcher::equal("job", job)])
        .unwrap()
    {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == storage::ValueType::Float {
            v.push(it.at());
        }
        out.insert(s.labels().to_string(), v);
    }
    out
}
