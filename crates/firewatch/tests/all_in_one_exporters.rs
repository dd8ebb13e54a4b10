//! The all-in-one start: `firewatch` without arguments in an empty directory runs the server
//! (:9090), the Alertmanager (:9093), the node exporter (:9100) and, where cgroups are
//! readable, the container exporter (:8080), and its written default configuration scrapes
//! them. Those ports are fixed, so every all-in-one test holds one lock file while it runs
//! (see [`AllInOne::start`]); put further all-in-one tests in this file and start them the
//! same way (the lock: `firewatch-all-in-one.lock` in the temporary directory).

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Process, get_ok, urlencode, wait_for};

/// The fixed ports of the all-in-one start.
const PORTS: [u16; 4] = [9090, 9093, 9100, 8080];

/// A running all-in-one `firewatch`, holding the lock on the fixed ports.
struct AllInOne {
    process: Process,
    _lock: std::fs::File,
}

impl AllInOne {
    /// Starts `firewatch` without arguments in `dir`, once no other all-in-one test of any
    /// test binary holds the lock, and waits until the server is ready.
    fn start(dir: &Path) -> AllInOne {
        let lock = std::fs::File::create(std::env::temp_dir().join("firewatch-all-in-one.lock"))
            .expect("lock file");
        lock.lock().expect("all-in-one lock");
        for port in PORTS {
            // A port held by something else would make the all-in-one fail in ways that look
            // like bugs; say so plainly instead.
            wait_for(
                &format!("port {port} free for the all-in-one start"),
                Duration::from_secs(30),
                || TcpListener::bind(("0.0.0.0", port)).is_ok(),
            );
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
        cmd.current_dir(dir);
        let process = Process::spawn("firewatch", cmd, &dir.join("firewatch.log"));
        wait_for("all-in-one server ready", Duration::from_secs(60), || {
            get_ok(9090, "/-/ready").is_some()
        });
        AllInOne {
            process,
            _lock: lock,
        }
    }
}

fn query(q: &str) -> Value {
    let path = format!("/api/v1/query?query={}", urlencode(q));
    let body = get_ok(9090, &path).unwrap_or_else(|| panic!("query {q} failed"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"].clone()
}

fn first_value(q: &str) -> Option<f64> {
    query(q).get(0)?["value"][1].as_str()?.parse().ok()
}

/// The container exporter serves cAdvisor's families on :8080, the written configuration has
/// its `cadvisor` job beside `node`, and the server scrapes it (`up` 1, container series,
/// the root cgroup's filesystems) as it scrapes the node exporter.
#[test]
fn all_in_one_runs_and_scrapes_the_container_exporter() {
    assert!(
        Path::new("/sys/fs/cgroup").is_dir(),
        "this test needs a cgroup hierarchy under /sys/fs/cgroup"
    );
    let dir = tempfile::tempdir().unwrap();
    let fw = AllInOne::start(dir.path());
    wait_for(
        "container exporter on :8080",
        Duration::from_secs(30),
        || {
            get_ok(8080, "/metrics")
                .is_some_and(|b| b.contains("container_cpu_usage_seconds_total{"))
        },
    );
    let config = std::fs::read_to_string(dir.path().join("data/firewatch.yml"))
        .expect("the all-in-one configuration is written under data/");
    for job in ["job_name: node", "job_name: cadvisor", "localhost:8080"] {
        assert!(config.contains(job), "{job} missing from:\n{config}");
    }
    // The default scrape interval is 15s: allow a few.
    wait_for("cadvisor and node jobs up", Duration::from_secs(90), || {
        first_value(r#"min(up{job=~"cadvisor|node"})"#) == Some(1.0)
            && first_value(r#"count(up{job=~"cadvisor|node"})"#) == Some(2.0)
    });
    let root_cpu = first_value(r#"container_cpu_usage_seconds_total{job="cadvisor",id="/"}"#)
        .expect("the root cgroup's CPU scraped");
    assert!(root_cpu > 0.0, "root cgroup cpu {root_cpu}");
    let filesystems = first_value(r#"count(container_fs_limit_bytes{job="cadvisor",id="/"})"#)
        .expect("the root cgroup's filesystems scraped");
    assert!(filesystems >= 1.0);
    assert!(
        first_value(r#"count(container_oom_events_total{job="cadvisor"})"#).is_some(),
        "container_oom_events_total scraped"
    );
    let mut process = fw.process;
    assert!(process.is_running(), "{}", process.log_text());
    process.terminate();
}
