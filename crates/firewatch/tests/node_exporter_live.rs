//! Live on this machine: `firewatch node-exporter` beside Debian's `prometheus-node-exporter`
//! (1.5). For the collectors both run, the same metric families with the same label names
//! (apart from what node_exporter changed between 1.5 and 1.9.1), and equal values for
//! stable series: memory total, boot time, CPU count, filesystem sizes, network devices.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use model::exposition::{Format, MetricFamily, parse_families};
use testkit::{Process, free_port, get_ok, wait_for};

const TEST: &str = "node_exporter_live";

/// Collectors both run by default whose families are compared.
const COMMON: &[&str] = &[
    "cpu",
    "diskstats",
    "filefd",
    "filesystem",
    "loadavg",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "sockstat",
    "stat",
    "vmstat",
    "uname",
    "os",
    "entropy",
    "pressure",
    "schedstat",
    "softnet",
    "conntrack",
    "time",
    "udp_queues",
];

/// Families 1.5 has that 1.9.1 dropped or changed (meminfo: 1.9.1 keeps procfs's fields).
fn known_difference(name: &str) -> bool {
    name.starts_with("node_memory_")
        || matches!(
            name,
            "node_netstat_TcpExt_TCPOFOQueue" | "node_netstat_TcpExt_TCPRcvQDrop"
        )
        || name.starts_with("node_softnet_")
        || name.starts_with("node_scrape_collector_")
}

fn scrape(port: u16, collectors: &[&str]) -> Vec<MetricFamily> {
    let q: Vec<String> = collectors
        .iter()
        .map(|c| format!("collect[]={c}"))
        .collect();
    let body = get_ok(port, &format!("/metrics?{}", q.join("&"))).expect("scrape");
    parse_families(body.as_bytes(), Format::Text).expect("text exposition")
}

fn by_name(f: &[MetricFamily]) -> BTreeMap<&str, &MetricFamily> {
    f.iter().map(|f| (f.name.as_str(), f)).collect()
}

fn label_names(f: &MetricFamily) -> BTreeSet<String> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name.to_owned()))
        .filter(|n| n != "__name__" && n != "device_error")
        .collect()
}

fn values(f: &MetricFamily, key: &str) -> BTreeMap<String, f64> {
    f.samples
        .iter()
        .map(|s| (s.labels.get(key).unwrap_or_default().to_owned(), s.value))
        .collect()
}

#[test]
fn same_families_labels_and_stable_values_as_debian_node_exporter() {
    let Some(peer) = testkit::peer_binary(TEST, "prometheus-node-exporter") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (ours, theirs) = (free_port(), free_port());
    // Debian patches two defaults (lo and /run, /mnt, /media left out): both get them as flags.
    let same = [
        "--collector.netdev.device-exclude=^lo$",
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("node-exporter")
        .args(same)
        .arg(format!("--web.listen-address=127.0.0.1:{ours}"));
    let _fw = Process::spawn("firewatch node-exporter", cmd, &work.path().join("fw.log"));
    let mut cmd = Command::new(peer);
    cmd.args(same)
        .arg(format!("--web.listen-address=127.0.0.1:{theirs}"));
    let _ne = Process::spawn("prometheus-node-exporter", cmd, &work.path().join("ne.log"));
    for port in [ours, theirs] {
        wait_for("node exporter", Duration::from_secs(30), || {
            get_ok(port, "/metrics").is_some()
        });
    }
    let (a, b) = (scrape(ours, COMMON), scrape(theirs, COMMON));
    let (a, b) = (by_name(&a), by_name(&b));

    // Families: everything Debian's exporter has for these collectors, Firewatch has too.
    let missing: Vec<&&str> = b
        .keys()
        .filter(|n| n.starts_with("node_") && !known_difference(n) && !a.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "families only the real node_exporter has: {missing:?}"
    );
    // Same label names and types for the families both have.
    for (name, fb) in &b {
        let Some(fa) = a.get(name) else { continue };
        if fb.samples.is_empty() || name.starts_with("node_scrape_") {
            continue;
        }
        // 1.9.1 added labels to some families (node_disk_info); none were removed.
        let (la, lb) = (label_names(fa), label_names(fb));
        assert!(
            lb.is_subset(&la),
            "labels of {name}: ours {la:?}, theirs {lb:?}"
        );
        assert_eq!(fa.metric_type, fb.metric_type, "type of {name}");
        assert_eq!(fa.help, fb.help, "help of {name}");
    }
    // Stable values.
    for name in [
        "node_memory_MemTotal_bytes",
        "node_boot_time_seconds",
        "node_memory_SwapTotal_bytes",
        "node_filefd_maximum",
    ] {
        assert_eq!(values(a[name], ""), values(b[name], ""), "{name}");
    }
    let cpus = |m: &BTreeMap<&str, &MetricFamily>| -> BTreeSet<String> {
        m["node_cpu_seconds_total"]
            .samples
            .iter()
            .filter_map(|s| s.labels.get("cpu").map(str::to_owned))
            .collect()
    };
    assert_eq!(cpus(&a), cpus(&b), "CPU count");
    let by_mount =
        |m: &BTreeMap<&str, &MetricFamily>| values(m["node_filesystem_size_bytes"], "mountpoint");
    let (fa, fb) = (by_mount(&a), by_mount(&b));
    assert!(!fb.is_empty(), "the real exporter sees filesystems");
    for (mount, size) in &fb {
        assert_eq!(fa.get(mount), Some(size), "size of {mount}");
    }
    for name in [
        "node_network_up",
        "node_network_mtu_bytes",
        "node_network_receive_errs_total",
    ] {
        let devs = |m: &BTreeMap<&str, &MetricFamily>| -> BTreeSet<String> {
            values(m[name], "device").into_keys().collect()
        };
        assert_eq!(devs(&a), devs(&b), "devices of {name}");
    }
    assert_eq!(
        values(a["node_uname_info"], "nodename"),
        values(b["node_uname_info"], "nodename")
    );
}
