//! `firewatch container-exporter` end to end: flags, `/metrics` over HTTP from a fixture
//! cgroup tree and from this machine's cgroups, a clear error for a path without cgroups; and
//! `firewatch kube-state-exporter`'s flag check.

use std::fs;
use std::process::Command;
use std::time::Duration;

use testkit::{Process, free_port, get_ok, wait_for};

const ID: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn serve(args: &[String], log: &std::path::Path) -> (Process, u16) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("container-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(args);
    let p = Process::spawn("firewatch container-exporter", cmd, log);
    wait_for("container exporter", Duration::from_secs(30), || {
        get_ok(port, "/metrics").is_some()
    });
    (p, port)
}

#[test]
fn serves_fixture_cgroups_with_flags() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let c = root.join(format!("cgroup/system.slice/docker-{ID}.scope"));
    fs::create_dir_all(&c).unwrap();
    fs::write(root.join("cgroup/cgroup.controllers"), "cpu memory\n").unwrap();
    fs::write(
        c.join("cpu.stat"),
        "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    )
    .unwrap();
    fs::write(c.join("memory.current"), "2048\n").unwrap();
    fs::write(c.join("memory.max"), "4096\n").unwrap();
    let d = root.join(format!("var/lib/docker/containers/{ID}"));
    fs::create_dir_all(&d).unwrap();
    fs::write(
        d.join("config.v2.json"),
        r#"{"Name":"/db","Config":{"Image":"postgres:17"}}"#,
    )
    .unwrap();
    let args = [
        format!("--path.cgroup={}", root.join("cgroup").display()),
        format!("--path.procfs={}", root.join("proc").display()),
        format!("--path.rootfs={}", root.display()),
    ];
    let (_p, port) = serve(&args, &work.path().join("log"));
    let body = get_ok(port, "/metrics").unwrap();
    let labels = format!(
        "container=\"\",id=\"/system.slice/docker-{ID}.scope\",image=\"postgres:17\",name=\"db\",namespace=\"\",pod=\"\""
    );
    for want in [
        format!(
            "container_cpu_usage_seconds_total{{{}}} 1.5",
            labels.replacen(",id=", ",cpu=\"total\",id=", 1)
        ),
        format!("container_memory_usage_bytes{{{labels}}} 2048"),
        format!("container_spec_memory_limit_bytes{{{labels}}} 4096"),
        "# TYPE container_cpu_usage_seconds_total counter".to_owned(),
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want} in\n{body}");
    }
}

#[test]
fn serves_this_machines_cgroups() {
    let work = tempfile::tempdir().unwrap();
    let (_p, port) = serve(&[], &work.path().join("log"));
    let body = get_ok(port, "/metrics").unwrap();
    let root = body
        .lines()
        .find(|l| l.starts_with("container_cpu_usage_seconds_total{") && l.contains("id=\"/\""))
        .unwrap_or_else(|| panic!("no root cpu usage in\n{body}"));
    let v: f64 = root.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(v > 0.0, "{root}");
}

#[test]
fn path_without_cgroups_is_an_error_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_firewatch"))
        .args(["container-exporter", "--web.listen-address=127.0.0.1:0"])
        .arg(format!("--path.cgroup={}", work.path().display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&work.path().display().to_string()), "{err}");
}

#[test]
fn kube_state_exporter_names_an_unsupported_resource() {
    let out = Command::new(env!("CARGO_BIN_EXE_firewatch"))
        .args(["kube-state-exporter", "--resources=pods,widgets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--resources: \"widgets\" is not supported"),
        "{err}"
    );
}
