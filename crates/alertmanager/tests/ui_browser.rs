//! The Alertmanager UI in Debian's headless Chromium, driven by playwright-core
//! (`crates/alertmanager/ui/browser-test/am.cjs`): alerts grouped and filtered, an HTML label
//! shown as text, a silence previewed, saved, listed with author and comment, edited, expired;
//! the status page; hostile label values and silence fields (markup closing attributes,
//! `<img onerror>`, `<script>`) shown as text; the strict Content-Security-Policy sent and
//! enforced (an injected inline script and handler refused, no violation by the UI itself).
//! Uses playwright-core where the server UI's test installs it
//! (`<target>/ui-node/`, or `$PLAYWRIGHT_CORE`), installing it there with npm when missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{at, request};
use serde_json::json;

const TEST: &str = "firewatch_alertmanager::ui_browser::alertmanager_ui_works_in_chromium";

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// playwright-core at the version the server UI's browser test pins.
fn playwright_core() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PLAYWRIGHT_CORE") {
        return Some(PathBuf::from(dir));
    }
    let prefix = target_dir().join("ui-node");
    let dir = prefix.join("node_modules/playwright-core");
    if dir.join("package.json").exists() {
        return Some(dir);
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/ui/browser-test/package.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pinned).unwrap()).unwrap();
    let version = manifest["dependencies"]["playwright-core"]
        .as_str()
        .unwrap();
    testkit::peer_binary(TEST, "npm")?;
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("playwright-core@{version}"))
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        testkit::skip(TEST, "npm could not install playwright-core");
        return None;
    }
    Some(dir)
}

#[test]
fn alertmanager_ui_works_in_chromium() {
    let chromium = match std::env::var_os("CHROMIUM") {
        Some(p) => PathBuf::from(p),
        None => match testkit::peer_binary(TEST, "chromium") {
            Some(p) => p,
            None => return,
        },
    };
    if !testkit::peers(TEST, &["node"]) {
        return;
    }
    let Some(playwright) = playwright_core() else {
        return;
    };
    let dir = common::tempdir();
    let am = common::firewatch(
        dir.path(),
        "route: {receiver: hook, group_by: [alertname], group_wait: 1h}\n\
         receivers: [{name: hook}]\n",
    );
    let alerts = json!([
        {"labels": {"alertname": "Disk", "severity": "warning"}, "startsAt": at(-60.0)},
        {"labels": {"alertname": "Probe", "note": "<script>window.__xss = 1</script>"}, "startsAt": at(-60.0)},
        {"labels": {"alertname": "Hostile", "attr": "\"><img src=x onerror=\"window.__xss = 4\">"}, "startsAt": at(-60.0)},
    ]);
    let (code, body) = request(am.port, "POST", "/api/v2/alerts", Some(&alerts.to_string()));
    assert_eq!(code, 200, "{body}");

    let shots = target_dir().join("ui-screenshots");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/browser-test");
    let log = dir.path().join("browser.log");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec node am.cjs >&2"])
        .current_dir(&script)
        .env("AM_URL", format!("http://127.0.0.1:{}/", am.port))
        .env("CHROMIUM", &chromium)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("SCREENSHOTS", &shots);
    let mut browser = testkit::Process::spawn("node", cmd, &log);
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
    assert!(out.contains("# all checks passed"), "{out}");
    let passed = out.lines().filter(|l| l.starts_with("ok - ")).count();
    assert!(
        passed >= 24,
        "too few browser checks ran ({passed}):\n{out}"
    );
}
