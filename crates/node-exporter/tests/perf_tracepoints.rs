//! `--collector.perf.tracepoint` live, as node_exporter 1.9.1 (perf-utils 0.7) does it: the
//! ids from the mounted tracefs (the test mounts one in a temporary directory when the
//! machine has none, and unmounts it after), one event group per CPU read at each scrape.
//! The count is checked against work the test does itself: pinned to CPU 0, it makes 2,000
//! `getpid` calls, and `node_perf_syscalls_sys_enter_getpid{cpu="0"}` must grow by at least
//! that much. (Debian's node_exporter 1.5 reads `/sys/kernel/debug/tracing` only, which needs
//! debugfs mounted system-wide, so it is not run here.)

use std::process::Command;

use firewatch_node_exporter::{NodeCollector, Options, all_collector_names};
use model::exposition::{MetricFamily, MetricType};

/// tracefs mounted for the test's duration when it was not already.
struct Tracefs {
    dir: Option<tempfile::TempDir>,
}

impl Drop for Tracefs {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = Command::new("umount").arg(d.path()).status();
        }
    }
}

fn tracefs(test: &str) -> Option<Tracefs> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    if firewatch_node_exporter::collector::perf::tracefs_root(&mounts).is_some() {
        return Some(Tracefs { dir: None });
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tracefs", "nodev"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        testkit::skip(
            test,
            "tracefs is not mounted and cannot be mounted (not root?)",
        );
        return None;
    }
    Some(Tracefs { dir: Some(dir) })
}

fn args(tracepoints: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--collector.disable-defaults",
        "--collector.perf",
        "--collector.perf.cpus=0",
    ]
    .map(str::to_owned)
    .to_vec();
    a.extend(
        tracepoints
            .iter()
            .map(|t| format!("--collector.perf.tracepoint={t}")),
    );
    a
}

fn value(f: &[MetricFamily], name: &str) -> f64 {
    let fam = f
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(fam.metric_type, MetricType::Counter, "{name}");
    assert!(
        fam.help
            .as_deref()
            .is_some_and(|h| h.starts_with("Perf tracepoint ")),
        "{:?}",
        fam.help
    );
    let cpus: Vec<_> = fam
        .samples
        .iter()
        .map(|s| s.labels.get("cpu").unwrap_or("").to_owned())
        .collect();
    assert_eq!(cpus, ["0"], "{name}");
    fam.samples[0].value
}

#[test]
fn perf_tracepoints_count_what_happens_on_the_cpu() {
    let test = "perf_tracepoints_count_what_happens_on_the_cpu";
    let Some(_tracefs) = tracefs(test) else {
        return;
    };
    let points = ["sched:sched_switch", "syscalls:sys_enter_getpid"];
    let nodes = NodeCollector::new(&Options::parse(args(&points), &all_collector_names()).unwrap())
        .expect("the tracepoints open");
    let getpid = "node_perf_syscalls_sys_enter_getpid";
    let switch = "node_perf_sched_sched_switch";
    let (before, after) = std::thread::spawn(move || {
        let mut cpu0 = rustix::thread::CpuSet::new();
        cpu0.set(0);
        rustix::thread::sched_setaffinity(None, &cpu0).expect("pin to CPU 0");
        let before = nodes.collect(&[]).unwrap();
        for _ in 0..2000 {
            std::hint::black_box(rustix::process::getpid());
        }
        let after = nodes.collect(&[]).unwrap();
        (before, after)
    })
    .join()
    .unwrap();
    let grown = value(&after, getpid) - value(&before, getpid);
    assert!(grown >= 2000.0, "getpid on CPU 0 grew by {grown}");
    assert!(value(&after, switch) >= value(&before, switch));
    let help = after
        .iter()
        .find(|f| f.name == switch)
        .and_then(|f| f.help.clone());
    assert_eq!(help.as_deref(), Some("Perf tracepoint sched:sched_switch"));

    // A tracepoint tracefs does not know: the collector cannot be built.
    let err = NodeCollector::new(
        &Options::parse(args(&["sched:no_such_event"]), &all_collector_names()).unwrap(),
    )
    .err()
    .expect("an unknown tracepoint is refused");
    assert!(err.to_string().contains("sched:no_such_event"), "{err}");
    // A flag without `subsystem:event`.
    assert!(
        NodeCollector::new(&Options::parse(args(&["sched"]), &all_collector_names()).unwrap())
            .is_err()
    );
}
