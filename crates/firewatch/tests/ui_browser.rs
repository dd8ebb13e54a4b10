//! The web UI in a real browser: `firewatch server` scrapes itself and the real node exporter and
//! evaluates a rule file whose label and annotation hold HTML; Debian's `chromium`, driven
//! headless by playwright-core (`crates/web/ui/browser-test/ui.cjs`), types a query with
//! completion, sees the table and the graph drawn, both targets up, the alerts and rules with the
//! HTML shown as text, a series whose label values hold markup shown as text in the table and
//! the legend, the page served with a strict Content-Security-Policy that stops an injected
//! inline script, and the status pages load. Screenshots land in `<target>/ui-screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` (or `$CHROMIUM`) and playwright-core (`scripts/test`
//! installs all three; playwright-core goes to `<target>/ui-node/`, and this test installs it
//! there with npm when it is missing). A missing one fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Process, Server, free_port, get_ok, http, urlencode, wait_for};

/// Must match what `ui.cjs` checks.
const RULES: &str = r#"groups:
  - name: ui
    interval: 1s
    rules:
      - record: ui:up:count
        expr: count(up)
      - record: ui_hostile
        expr: vector(1)
        labels:
          xss: "<script>window.__xss = 3</script>"
          attr: '"><img src=x onerror="window.__xss = 4">'
      - alert: UiProbe
        expr: vector(1)
        labels:
          probe: "<script>window.__xss = 1</script>"
        annotations:
          summary: '<img src=x onerror="window.__xss = 2"> value {{ $value }}'
      - alert: UiWaiting
        expr: vector(1)
        for: 1h
"#;

const SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/ui/browser-test");

/// The cargo target directory (the parent of this test's scratch directory).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .to_path_buf()
}

/// This test's name in skip reports.
const TEST: &str = "firewatch::ui_browser::ui_works_in_chromium";

/// playwright-core's directory: `$PLAYWRIGHT_CORE`, else `<target>/ui-node/`, installed there
/// with npm (the version `package.json` pins) when missing; `None` (a reported skip) when it
/// is missing and npm cannot install it.
fn playwright_core() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PLAYWRIGHT_CORE") {
        return Some(PathBuf::from(dir));
    }
    let prefix = target_dir().join("ui-node");
    let dir = prefix.join("node_modules/playwright-core");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SCRIPT_DIR).join("package.json")).unwrap(),
    )
    .unwrap();
    let version = manifest["dependencies"]["playwright-core"]
        .as_str()
        .unwrap();
    let installed = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .is_some_and(|v| v["version"] == version);
    if !installed {
        testkit::peer_binary(TEST, "npm")?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("playwright-core@{version}"))
            .status();
        if !status.is_ok_and(|s| s.success()) {
            testkit::skip(
                TEST,
                &format!("npm could not install playwright-core@{version}"),
            );
            return None;
        }
    }
    Some(dir)
}

/// `$CHROMIUM`, else `chromium` on the path (Debian's package; scripts/test installs it).
fn chromium() -> Option<PathBuf> {
    match std::env::var_os("CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)),
        None => testkit::peer_binary(TEST, "chromium"),
    }
}

fn query(port: u16, q: &str) -> Value {
    let body = get_ok(port, &format!("/api/v1/query?query={}", urlencode(q)))
        .unwrap_or_else(|| panic!("query {q} failed"));
    serde_json::from_str(&body).unwrap()
}

/// Whether `q` answers exactly `n` series.
fn has_series(port: u16, q: &str, n: usize) -> bool {
    query(port, q)["data"]["result"]
        .as_array()
        .is_some_and(|r| r.len() == n)
}

#[test]
fn ui_works_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    if !testkit::peers(TEST, &["node", "prometheus-node-exporter"]) {
        return;
    }
    let Some(playwright) = playwright_core() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    let node_port = free_port();
    let mut cmd = Command::new("prometheus-node-exporter");
    cmd.arg(format!("--web.listen-address=127.0.0.1:{node_port}"));
    let _node = Process::spawn("prometheus-node-exporter", cmd, &work.join("node.log"));
    wait_for("the node exporter", Duration::from_secs(30), || {
        get_ok(node_port, "/metrics").is_some()
    });

    std::fs::write(work.join("rules.yml"), RULES).unwrap();
    let config = |own: &str| {
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [rules.yml]\n\
             scrape_configs:\n\
             \x20 - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n{own}"
        )
    };
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &dir.path().join("data"),
        &config(""),
        &["--web.enable-lifecycle"],
    );
    // Its own port is known only now: add the self-scrape and reload.
    let own = format!(
        "  - job_name: firewatch\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
        fw.port
    );
    std::fs::write(
        work.join(format!("firewatch-{}.yml", fw.port)),
        config(&own),
    )
    .unwrap();
    let reload = http(fw.port, "POST", "/-/reload", None).unwrap();
    assert_eq!(reload.status, 200, "reload: {}", reload.body);

    wait_for("both targets up", Duration::from_secs(30), || {
        has_series(fw.port, "up == 1", 2)
    });
    wait_for("five node_load1 samples", Duration::from_secs(30), || {
        has_series(fw.port, "count_over_time(node_load1[1m]) >= 5", 1)
    });
    wait_for(
        "the hostile series recorded",
        Duration::from_secs(30),
        || has_series(fw.port, "ui_hostile", 1),
    );
    wait_for("UiProbe firing", Duration::from_secs(30), || {
        has_series(
            fw.port,
            r#"ALERTS{alertname="UiProbe", alertstate="firing"}"#,
            1,
        )
    });

    let shots = target_dir().join("ui-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: apt-get install nodejs (scripts/test installs it)"
    );
    // Its report goes to standard error, which Process keeps in a log.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec node ui.cjs >&2"])
        .current_dir(SCRIPT_DIR)
        .env("FIREWATCH_URL", format!("http://127.0.0.1:{}/", fw.port))
        .env("CHROMIUM", &chromium)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("SCREENSHOTS", &shots);
    let mut browser = Process::spawn("node", cmd, &work.join("browser.log"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while browser.is_running() {
        assert!(
            Instant::now() < deadline,
            "the browser script did not finish in 120 s:\n{}",
            browser.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = browser.log_text();
    println!("{out}");
    assert!(
        out.contains("# all checks passed"),
        "the browser checks failed (screenshots in {}):\n{out}\nfirewatch log:\n{}",
        shots.display(),
        fw.process.log_text()
    );
    let passed = out.lines().filter(|l| l.starts_with("ok - ")).count();
    assert!(
        passed >= 25,
        "too few browser checks ran ({passed}):\n{out}"
    );
    for page in [
        "graph-completion",
        "graph-table",
        "graph",
        "targets",
        "alerts",
        "rules",
    ] {
        let size = std::fs::metadata(shots.join(format!("{page}.png")))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(
            size > 10_000,
            "screenshot {page}.png missing or blank ({size} bytes)"
        );
    }
}
