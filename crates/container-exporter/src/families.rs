//! cAdvisor's container metric families (`metrics/prometheus.go`: names, help texts, types,
//! label sets and the conditions under which a family is written) built from the cgroups.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use model::exposition::{FamilySample, MetricFamily, MetricType};
use model::labels::Labels;

use crate::cgroup::{Layout, Stats};
use crate::disk;
use crate::fs::{self, DeviceNames};
use crate::layer::{Layers, UsageCache};
use crate::runtime::{Meta, RuntimeFiles, parse_path};

/// Interface name prefixes cAdvisor leaves out of `container_network_*`.
const IGNORED_INTERFACES: &[&str] = &["lo", "veth", "docker", "nerdctl"];

/// Where `collect` reads from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The cgroup hierarchy.
    pub layout: Layout,
    /// The proc filesystem (`/proc`).
    pub procfs: std::path::PathBuf,
    /// The container runtimes' files.
    pub runtimes: RuntimeFiles,
    /// The host's root (`/`): `sys/block` names devices, mount points are under it.
    pub rootfs: std::path::PathBuf,
    /// Writable layers' usage, walked once a minute.
    pub usage: std::sync::Arc<UsageCache>,
}

/// The families being built, by name.
#[derive(Default)]
pub(crate) struct Families {
    by_name: BTreeMap<&'static str, MetricFamily>,
}

impl Families {
    /// Adds one sample: `base` labels then `extra`, under family `name`.
    pub(crate) fn add(
        &mut self,
        name: &'static str,
        help: &str,
        metric_type: MetricType,
        base: &[(&str, &str)],
        extra: &[(&str, &str)],
        value: f64,
    ) {
        let fam = self.by_name.entry(name).or_insert_with(|| MetricFamily {
            help: Some(help.to_owned()),
            ..MetricFamily::new(name, metric_type)
        });
        let labels = Labels::from_pairs(
            std::iter::once(("__name__", name))
                .chain(base.iter().copied())
                .chain(extra.iter().copied()),
        );
        fam.samples.push(FamilySample {
            labels,
            value,
            timestamp: None,
            exemplar: None,
        });
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.by_name
            .into_values()
            .map(|mut f| {
                // client_golang orders a family's series by their label values.
                f.samples.sort_by_cached_key(|s| {
                    s.labels
                        .iter()
                        .map(|l| l.value.to_owned())
                        .collect::<Vec<_>>()
                });
                // A series collected twice (a whole-disk filesystem that also has blkio
                // counters on the root cgroup) is kept once, as client_golang's gatherer
                // keeps the first and reports the second.
                f.samples.dedup_by(|b, a| a.labels == b.labels);
                f
            })
            .collect()
    }
}

const NANOS: f64 = 1e9;

/// Every cgroup's families, `now` (Unix seconds) as `container_last_seen`.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn collect(src: &Sources, now: f64) -> Vec<MetricFamily> {
    let mut out = Families::default();
    let host_netns = netns(&src.procfs, 1);
    let names = DeviceNames::read(&src.rootfs.join("sys"), &src.procfs);
    let machine = fs::machine(&src.procfs, &src.rootfs);
    let mountinfo = ["1/mountinfo", "self/mountinfo"]
        .iter()
        .find_map(|f| std::fs::read_to_string(src.procfs.join(f)).ok())
        .unwrap_or_default();
    let layers = Layers {
        rootfs: &src.rootfs,
        mountinfo: &mountinfo,
    };
    for path in src.layout.cgroups() {
        let stats = src.layout.read(&path);
        let container = parse_path(&path);
        let meta = container
            .as_ref()
            .map_or_else(Meta::default, |c| src.runtimes.meta(c));
        let base = [
            ("container", meta.container.as_str()),
            ("id", path.as_str()),
            ("image", meta.image.as_str()),
            ("name", meta.name.as_str()),
            ("namespace", meta.namespace.as_str()),
            ("pod", meta.pod.as_str()),
        ];
        cpu(&mut out, &base, &stats);
        memory(&mut out, &base, &stats);
        misc(&mut out, &base, &stats, now);
        // cAdvisor's raw handler reports the machine's filesystems for the root cgroup; a
        // container reports its writable layer's.
        let filesystems = if path == "/" {
            machine.clone()
        } else {
            container
                .as_ref()
                .and_then(|c| layers.find(c))
                .and_then(|l| crate::layer::fs_stats(&l, &machine, &src.usage))
                .into_iter()
                .collect()
        };
        disk::disk(
            &mut out,
            &base,
            stats.disk_io.as_ref(),
            &filesystems,
            &names,
        );
        let pid = if path == "/" {
            Some(1)
        } else {
            stats.pids.first().copied()
        };
        if let Some(pid) = pid
            && (path == "/"
                || netns(&src.procfs, pid).is_some_and(|ns| Some(&ns) != host_netns.as_ref()))
        {
            network(
                &mut out,
                &base,
                &src.procfs.join(pid.to_string()).join("net/dev"),
            );
        }
    }
    out.finish()
}

fn netns(procfs: &Path, pid: u32) -> Option<String> {
    std::fs::read_link(procfs.join(pid.to_string()).join("ns/net"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

#[allow(clippy::cast_precision_loss)]
fn cpu(out: &mut Families, base: &[(&str, &str)], s: &Stats) {
    use MetricType::Counter;
    if let Some(v) = s.cpu_usage_ns {
        let help = "Cumulative cpu time consumed in seconds.";
        out.add(
            "container_cpu_usage_seconds_total",
            help,
            Counter,
            base,
            &[("cpu", "total")],
            v as f64 / NANOS,
        );
    }
    if let Some(v) = s.cpu_user_ns {
        let help = "Cumulative user cpu time consumed in seconds.";
        out.add(
            "container_cpu_user_seconds_total",
            help,
            Counter,
            base,
            &[],
            v as f64 / NANOS,
        );
    }
    if let Some(v) = s.cpu_system_ns {
        let help = "Cumulative system cpu time consumed in seconds.";
        out.add(
            "container_cpu_system_seconds_total",
            help,
            Counter,
            base,
            &[],
            v as f64 / NANOS,
        );
    }
    // cAdvisor writes the CFS families only for containers with a quota.
    if let (Some((periods, throttled, ns)), Some(q)) = (s.cfs, s.cpu_quota)
        && q > 0
    {
        let help = "Number of elapsed enforcement period intervals.";
        out.add(
            "container_cpu_cfs_periods_total",
            help,
            Counter,
            base,
            &[],
            periods as f64,
        );
        let help = "Number of throttled period intervals.";
        out.add(
            "container_cpu_cfs_throttled_periods_total",
            help,
            Counter,
            base,
            &[],
            throttled as f64,
        );
        let help = "Total time duration the container has been throttled.";
        out.add(
            "container_cpu_cfs_throttled_seconds_total",
            help,
            Counter,
            base,
            &[],
            ns as f64 / NANOS,
        );
        // cAdvisor writes the burst counters beside them, 0 on kernels without them.
        let (bursts, burst_ns) = s.cfs_burst.unwrap_or_default();
        out.add(
            "container_cpu_cfs_burst_periods_total",
            "Number of periods when burst occurs.",
            Counter,
            base,
            &[],
            bursts as f64,
        );
        out.add(
            "container_cpu_cfs_burst_seconds_total",
            "Total time duration the container has been bursted.",
            Counter,
            base,
            &[],
            burst_ns as f64 / NANOS,
        );
    }
}

#[allow(clippy::cast_precision_loss)]
fn memory(out: &mut Families, base: &[(&str, &str)], s: &Stats) {
    use MetricType::{Counter, Gauge};
    if let Some(v) = s.memory_usage {
        let help = "Current memory usage in bytes, including all memory regardless of when it was accessed";
        out.add(
            "container_memory_usage_bytes",
            help,
            Gauge,
            base,
            &[],
            v as f64,
        );
    }
    if let Some(v) = s.memory_max_usage {
        let help = "Maximum memory usage recorded in bytes";
        out.add(
            "container_memory_max_usage_bytes",
            help,
            Gauge,
            base,
            &[],
            v as f64,
        );
    }
    let Some(m) = &s.memory else { return };
    out.add(
        "container_memory_cache",
        "Number of bytes of page cache memory.",
        Gauge,
        base,
        &[],
        m.cache as f64,
    );
    out.add(
        "container_memory_rss",
        "Size of RSS in bytes.",
        Gauge,
        base,
        &[],
        m.rss as f64,
    );
    out.add(
        "container_memory_swap",
        "Container swap usage in bytes.",
        Gauge,
        base,
        &[],
        m.swap as f64,
    );
    out.add(
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        Gauge,
        base,
        &[],
        m.working_set as f64,
    );
    out.add(
        "container_memory_failcnt",
        "Number of memory usage hits limits",
        Counter,
        base,
        &[],
        m.failcnt as f64,
    );
    let help = "Cumulative count of memory allocation failures.";
    for (kind, scope, v) in [
        ("pgfault", "container", m.container_faults.0),
        ("pgmajfault", "container", m.container_faults.1),
        ("pgfault", "hierarchy", m.hierarchy_faults.0),
        ("pgmajfault", "hierarchy", m.hierarchy_faults.1),
    ] {
        let extra = [("failure_type", kind), ("scope", scope)];
        out.add(
            "container_memory_failures_total",
            help,
            Counter,
            base,
            &extra,
            v as f64,
        );
    }
}

#[allow(clippy::cast_precision_loss)]
fn misc(out: &mut Families, base: &[(&str, &str)], s: &Stats, now: f64) {
    use MetricType::Gauge;
    out.add(
        "container_last_seen",
        "Last time a container was seen by the exporter",
        Gauge,
        base,
        &[],
        now,
    );
    if let Some(ctime) = s
        .dir
        .as_ref()
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| m.ctime())
    {
        // cAdvisor's spec creation time is the cgroup's; its start time the same unless the
        // runtime reports a later one, which the cgroup files do not tell.
        out.add(
            "container_creation_time_seconds",
            "Container creation time since unix epoch in seconds.",
            Gauge,
            base,
            &[],
            ctime as f64,
        );
        let help = "Start time of the container since unix epoch in seconds.";
        out.add(
            "container_start_time_seconds",
            help,
            Gauge,
            base,
            &[],
            ctime as f64,
        );
    }
    if s.dir.is_some() {
        let help = "Number of processes running inside the container.";
        out.add(
            "container_processes",
            help,
            Gauge,
            base,
            &[],
            s.pids.len() as f64,
        );
    }
    if s.dir.is_some() {
        out.add(
            "container_oom_events_total",
            "Count of out of memory events observed for the container",
            MetricType::Counter,
            base,
            &[],
            s.oom_kills.unwrap_or(0) as f64,
        );
    }
    if let Some(t) = s.threads {
        out.add(
            "container_threads",
            "Number of threads running inside the container",
            Gauge,
            base,
            &[],
            t as f64,
        );
    }
    if let Some(p) = s.cpu_period.filter(|p| *p > 0) {
        out.add(
            "container_spec_cpu_period",
            "CPU period of the container.",
            Gauge,
            base,
            &[],
            p as f64,
        );
    }
    if let Some(q) = s.cpu_quota.filter(|q| *q > 0) {
        out.add(
            "container_spec_cpu_quota",
            "CPU quota of the container.",
            Gauge,
            base,
            &[],
            q as f64,
        );
    }
    if let Some(v) = s.cpu_shares {
        out.add(
            "container_spec_cpu_shares",
            "CPU share of the container.",
            Gauge,
            base,
            &[],
            v as f64,
        );
    }
    if let Some(l) = s.memory_limit {
        // cAdvisor's `specMemoryValue`: unlimited (above 2^62) is 0; its spec reads a
        // missing file as 0.
        let spec = |v: Option<u64>| match v.unwrap_or(0) {
            u64::MAX => 0.0,
            v => v as f64,
        };
        for (name, help, v) in [
            (
                "container_spec_memory_limit_bytes",
                "Memory limit for the container.",
                Some(l),
            ),
            (
                "container_spec_memory_swap_limit_bytes",
                "Memory swap limit for the container.",
                s.memory_swap_limit,
            ),
            (
                "container_spec_memory_reservation_limit_bytes",
                "Memory reservation limit for the container.",
                s.memory_reservation,
            ),
        ] {
            out.add(name, help, Gauge, base, &[], spec(v));
        }
    }
}

/// `/proc/<pid>/net/dev`: the receive and transmit columns cAdvisor exports.
#[allow(clippy::cast_precision_loss)]
fn network(out: &mut Families, base: &[(&str, &str)], dev: &Path) {
    use MetricType::Counter;
    let Ok(text) = std::fs::read_to_string(dev) else {
        return;
    };
    // Column indexes after the interface name: rx bytes, packets, errs, drop (0..3),
    // tx bytes, packets, errs, drop (8..11).
    let columns: [(&'static str, &str, usize); 8] = [
        (
            "container_network_receive_bytes_total",
            "Cumulative count of bytes received",
            0,
        ),
        (
            "container_network_receive_packets_total",
            "Cumulative count of packets received",
            1,
        ),
        (
            "container_network_receive_errors_total",
            "Cumulative count of errors encountered while receiving",
            2,
        ),
        (
            "container_network_receive_packets_dropped_total",
            "Cumulative count of packets dropped while receiving",
            3,
        ),
        (
            "container_network_transmit_bytes_total",
            "Cumulative count of bytes transmitted",
            8,
        ),
        (
            "container_network_transmit_packets_total",
            "Cumulative count of packets transmitted",
            9,
        ),
        (
            "container_network_transmit_errors_total",
            "Cumulative count of errors encountered while transmitting",
            10,
        ),
        (
            "container_network_transmit_packets_dropped_total",
            "Cumulative count of packets dropped while transmitting",
            11,
        ),
    ];
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        let iface = iface.trim();
        if IGNORED_INTERFACES.iter().any(|p| iface.starts_with(p)) {
            continue;
        }
        let values: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if values.len() < 16 {
            tracing::debug!(file = %dev.display(), interface = iface, "short net/dev line");
            continue;
        }
        for (name, help, col) in columns {
            out.add(
                name,
                help,
                Counter,
                base,
                &[("interface", iface)],
                values[col] as f64,
            );
        }
    }
}
