//! Parses the real `/metrics` output of Debian's node exporter, Prometheus 2.42 and a Python
//! `prometheus_client` app (text and OpenMetrics), each started here on 127.0.0.1, and checks
//! the sample count against an independent line count. Also compares `model::lint` with the
//! real `promtool check metrics` on node exporter's output.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use firewatch_model::exposition::{Entry, Format, Parser, parse_families};
use firewatch_model::lint::lint_exposition;

/// Kills and reaps the process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(cmd: &mut Command) -> Guard {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    Guard(child)
}

/// `GET /metrics` over HTTP/1.0 (no chunking, no compression): (content type, body).
fn get(port: u16, accept: &str) -> std::io::Result<(String, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n\r\n"
    )?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(head));
    }
    let ct = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    Ok((ct, resp[split + 4..].to_vec()))
}

/// Polls until the endpoint answers (at most 30 s).
fn scrape(port: u16, accept: &str, guard: &mut Guard) -> (String, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match get(port, accept) {
            Ok(r) if !r.1.is_empty() => return r,
            other => {
                if let Ok(Some(status)) = guard.0.try_wait() {
                    panic!("peer exited early with {status}");
                }
                assert!(
                    Instant::now() < deadline,
                    "no answer on port {port}: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Independent count: lines that are neither empty nor comments.
fn count_sample_lines(body: &[u8]) -> usize {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .count()
}

/// Parses with the pull API and the family collector; returns the number of samples.
fn parse_all(body: &[u8], format: Format) -> usize {
    let mut p = Parser::new(body, format);
    let mut n = 0;
    let mut saw_eof = false;
    while let Some(e) = p.next_entry().unwrap_or_else(|e| panic!("{e}")) {
        match e {
            Entry::Series(s) => {
                assert!(!s.name.is_empty());
                n += 1;
            }
            Entry::Eof => saw_eof = true,
            _ => {}
        }
    }
    assert_eq!(saw_eof, format == Format::OpenMetrics);
    let families = parse_families(body, format).unwrap();
    assert_eq!(families.iter().map(|f| f.samples.len()).sum::<usize>(), n);
    n
}

const TEXT: &str = "text/plain; version=0.0.4";
const OM: &str = "application/openmetrics-text; version=1.0.0";

#[test]
fn node_exporter_output_parses_and_lints_like_promtool() {
    if !testkit::peers(
        "model::exposition_peers::node_exporter_output_parses_and_lints_like_promtool",
        &["prometheus-node-exporter", "promtool"],
    ) {
        return;
    }
    let port = free_port();
    let mut g = spawn(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
    );
    let (ct, body) = scrape(port, TEXT, &mut g);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let n = parse_all(&body, Format::Text);
    assert_eq!(n, count_sample_lines(&body));
    assert!(n > 100, "only {n} samples");

    assert_lint_like_promtool(&body);
}

/// `promtool check metrics` on the same bytes: the same exit code and problem lines.
fn assert_lint_like_promtool(body: &[u8]) {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    promtool.stdin.take().unwrap().write_all(body).unwrap();
    let out = promtool.wait_with_output().unwrap();
    let problems = lint_exposition(body).unwrap();
    let ours: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let theirs: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(out.status.code(), Some(if ours.is_empty() { 0 } else { 3 }));
    assert_eq!(ours, theirs);
}

#[test]
fn prometheus_self_metrics_parse() {
    if !testkit::peers(
        "model::exposition_peers::prometheus_self_metrics_parse",
        &["prometheus"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\n").unwrap();
    let port = free_port();
    let mut g = spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
    );
    let (_, text) = scrape(port, TEXT, &mut g);
    let n = parse_all(&text, Format::Text);
    assert_eq!(n, count_sample_lines(&text));
    assert!(n > 200, "only {n} samples");
    assert_lint_like_promtool(&text);
    // Prometheus 2.42 does not enable OpenMetrics on its own /metrics: asked for it, it
    // answers text. Parse what the Content-Type says, as a scrape does.
    let (ct, body) = scrape(port, OM, &mut g);
    let n = parse_all(&body, Format::from_content_type(&ct));
    assert_eq!(n, count_sample_lines(&body));
}

const PY_APP: &str = r#"
import sys, time
from prometheus_client import Counter, Gauge, Histogram, Summary, Info, Enum, start_http_server
c = Counter("app_requests", "Requests served.\nSecond \\ line", ["path", "code"])
c.labels(path='/a"b\\c', code="200").inc(3)
c.labels(path="/\u00e9t\u00e9\nx", code="500").inc(0.5)
g = Gauge("app_temperature_celsius", "Temperature.")
g.set(float("nan"))
g2 = Gauge("app_inf", "Infinity.", ["sign"])
g2.labels(sign="+").set(float("inf"))
g2.labels(sign="-").set(float("-inf"))
h = Histogram("app_latency_seconds", "Latency.", buckets=[0.005, 0.1, 1.5])
for v in (0.001, 0.05, 0.2, 3.0):
    h.observe(v)
s = Summary("app_payload_bytes", "Payload.")
s.observe(1024)
Info("app_build", "Build.").info({"version": "1.2.3", "revision": "abc"})
Enum("app_state", "State.", states=["up", "down"]).state("down")
start_http_server(int(sys.argv[1]), addr="127.0.0.1")
time.sleep(120)
"#;

#[test]
fn python_client_text_and_openmetrics_parse() {
    if !testkit::python_module(
        "model::exposition_peers::python_client_text_and_openmetrics_parse",
        "prometheus_client",
    ) {
        return;
    }
    let port = free_port();
    let mut g = spawn(Command::new("python3").args(["-c", PY_APP, &port.to_string()]));
    let (ct, text) = scrape(port, TEXT, &mut g);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let n = parse_all(&text, Format::Text);
    assert_eq!(n, count_sample_lines(&text));

    let (ct, om) = scrape(port, OM, &mut g);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let n_om = parse_all(&om, Format::OpenMetrics);
    assert_eq!(n_om, count_sample_lines(&om));

    // The escaped label values and special floats come back as written by the client.
    for (body, format) in [(&text, Format::Text), (&om, Format::OpenMetrics)] {
        let fams = parse_families(body, format).unwrap();
        let req = fams
            .iter()
            .find(|f| f.name.starts_with("app_requests"))
            .unwrap();
        assert!(
            req.help
                .as_deref()
                .unwrap()
                .contains("Requests served.\nSecond \\ line")
        );
        let paths: Vec<&str> = req
            .samples
            .iter()
            .filter_map(|s| s.labels.get("path"))
            .collect();
        assert!(paths.contains(&"/a\"b\\c"), "{paths:?}");
        assert!(paths.contains(&"/\u{e9}t\u{e9}\nx"), "{paths:?}");
        let temp = fams
            .iter()
            .find(|f| f.name == "app_temperature_celsius")
            .unwrap();
        assert!(temp.samples[0].value.is_nan());
        let inf = fams.iter().find(|f| f.name == "app_inf").unwrap();
        let vals: Vec<f64> = inf.samples.iter().map(|s| s.value).collect();
        assert!(vals.contains(&f64::INFINITY) && vals.contains(&f64::NEG_INFINITY));
        let hist = fams
            .iter()
            .find(|f| f.name == "app_latency_seconds")
            .unwrap();
        // 4 buckets (+Inf included), _count, _sum, and _created in both formats.
        assert!(hist.samples.len() >= 6, "{:?}", hist.samples);
    }
}
