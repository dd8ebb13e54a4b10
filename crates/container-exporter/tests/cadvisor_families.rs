//! Every family the exporter writes against cAdvisor's own table (`cadvisor_families.tsv`,
//! written down from its `lib/metrics/prometheus.go`): the same name, type, help text and
//! label names (the base labels plus the family's own). Checked on the fixture expositions
//! (`v1.txt`, `v2.txt`, which `tests/fixtures.rs` proves equal to our output) and on this
//! machine's live cgroups; and every family issue 13 names is among them.

use std::collections::{BTreeMap, BTreeSet};

use firewatch_container_exporter::Options;
use firewatch_container_exporter::families::collect;
use model::exposition::{Format, encode};

const BASE: [&str; 6] = ["container", "id", "image", "name", "namespace", "pod"];

/// The families issue 13 asks for by name (the `_*` groups spelled out as cAdvisor has them;
/// the TCP/UDP socket families are off by default in cAdvisor and kubelet, so not here).
const ISSUE: &[&str] = &[
    "container_cpu_usage_seconds_total",
    "container_cpu_user_seconds_total",
    "container_cpu_system_seconds_total",
    "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total",
    "container_cpu_cfs_throttled_seconds_total",
    "container_cpu_cfs_burst_periods_total",
    "container_cpu_cfs_burst_seconds_total",
    "container_memory_usage_bytes",
    "container_memory_working_set_bytes",
    "container_memory_rss",
    "container_memory_cache",
    "container_memory_swap",
    "container_memory_failcnt",
    "container_memory_failures_total",
    "container_fs_inodes_free",
    "container_fs_inodes_total",
    "container_fs_limit_bytes",
    "container_fs_usage_bytes",
    "container_fs_reads_bytes_total",
    "container_fs_reads_total",
    "container_fs_sector_reads_total",
    "container_fs_reads_merged_total",
    "container_fs_read_seconds_total",
    "container_fs_writes_bytes_total",
    "container_fs_writes_total",
    "container_fs_sector_writes_total",
    "container_fs_writes_merged_total",
    "container_fs_write_seconds_total",
    "container_fs_io_current",
    "container_fs_io_time_seconds_total",
    "container_fs_io_time_weighted_seconds_total",
    "container_network_receive_bytes_total",
    "container_network_receive_packets_total",
    "container_network_receive_packets_dropped_total",
    "container_network_receive_errors_total",
    "container_network_transmit_bytes_total",
    "container_network_transmit_packets_total",
    "container_network_transmit_packets_dropped_total",
    "container_network_transmit_errors_total",
    "container_processes",
    "container_spec_cpu_period",
    "container_spec_cpu_quota",
    "container_spec_cpu_shares",
    "container_spec_memory_limit_bytes",
    "container_spec_memory_swap_limit_bytes",
    "container_spec_memory_reservation_limit_bytes",
    "container_last_seen",
    "container_start_time_seconds",
];

struct Want {
    kind: String,
    labels: BTreeSet<String>,
    help: String,
}

fn table() -> BTreeMap<String, Want> {
    include_str!("cadvisor_families.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l}");
            let labels = BASE
                .iter()
                .copied()
                .chain(f[2].split(',').filter(|s| !s.is_empty()))
                .map(str::to_owned)
                .collect();
            (
                f[0].to_owned(),
                Want {
                    kind: f[1].to_owned(),
                    labels,
                    help: f[3].to_owned(),
                },
            )
        })
        .collect()
}

/// Label names of a series line (values may hold commas and escaped quotes).
fn label_names(line: &str) -> BTreeSet<String> {
    let inner = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
    let mut names = BTreeSet::new();
    let (mut name, mut in_value, mut escaped) = (String::new(), false, false);
    for c in inner.chars() {
        if in_value {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_value = false;
            }
        } else if c == '=' {
            names.insert(std::mem::take(&mut name));
        } else if c == '"' {
            in_value = true;
        } else if c != ',' {
            name.push(c);
        }
    }
    names
}

/// Checks an exposition against the table; returns the families it has.
fn check(what: &str, text: &str, table: &BTreeMap<String, Want>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            let want = table
                .get(name)
                .unwrap_or_else(|| panic!("{what}: {name} is no cAdvisor family"));
            assert_eq!(help, want.help, "{what}: help of {name}");
            seen.insert(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, table[name].kind, "{what}: type of {name}");
        } else if !line.is_empty() && !line.starts_with('#') {
            let name = &line[..line.find('{').unwrap()];
            assert_eq!(
                label_names(line),
                table[name].labels,
                "{what}: labels of {line}"
            );
        }
    }
    seen
}

#[test]
fn families_match_cadvisor() {
    let table = table();
    let mut seen = check("v1.txt", include_str!("v1.txt"), &table);
    seen.extend(check("v2.txt", include_str!("v2.txt"), &table));
    let src = Options::default()
        .sources()
        .expect("a cgroup hierarchy under /sys/fs/cgroup on this machine");
    let live = encode(&collect(&src, 1.0), Format::Text);
    let live_seen = check("live", &live, &table);
    assert!(
        live_seen.contains("container_cpu_usage_seconds_total"),
        "{live}"
    );
    seen.extend(live_seen);
    let missing: Vec<&&str> = ISSUE.iter().filter(|n| !seen.contains(**n)).collect();
    assert!(missing.is_empty(), "families never written: {missing:?}");
}
