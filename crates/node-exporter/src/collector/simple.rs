//! Small collectors of one file each (node_exporter's `loadavg.go`, `stat_linux.go`,
//! `vmstat_linux.go`, `filefd_linux.go`, `entropy_linux.go`, `ksmd_linux.go`,
//! `schedstat_linux.go`, `pressure_linux.go`, `conntrack_linux.go`, `sockstat_linux.go`,
//! `udp_queues_linux.go`).

use regex::Regex;

use super::util::{attr, dir_entries};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The page size used for `_mem_bytes` (node_exporter uses `os.Getpagesize()`).
pub const PAGE_SIZE: u64 = 4096;

fn not_found_is_no_data(e: CollectorError, what: &str) -> CollectorError {
    if e.is_not_found() {
        CollectorError::NoData(format!("{what}: {e}"))
    } else {
        e
    }
}

use super::unit_collector;

unit_collector!(Loadavg, "Load averages from /proc/loadavg.");
impl Collector for Loadavg {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("loadavg");
        let text = read(&path)?;
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() < 3 {
            return Err(CollectorError::parse(
                &path,
                format!("unexpected content {text:?}"),
            ));
        }
        for (i, (name, help)) in [
            ("node_load1", "1m load average."),
            ("node_load5", "5m load average."),
            ("node_load15", "15m load average."),
        ]
        .iter()
        .enumerate()
        {
            let v = super::util::num(&path, f[i])?;
            out.gauge(name, help, &[], v);
        }
        Ok(())
    }
}

/// Kernel and system statistics from /proc/stat.
pub struct Stat {
    softirq: bool,
}
impl Stat {
    /// Builds the collector from `--collector.stat.softirq`.
    ///
    /// # Errors
    /// Never.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Stat {
            softirq: opts.flag("collector.stat.softirq", false),
        }))
    }
}
impl Collector for Stat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("stat");
        let text = read(&path)?;
        let mut vals = std::collections::HashMap::new();
        let mut softirq: Vec<f64> = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 2 {
                continue;
            }
            match f[0] {
                "intr" | "ctxt" | "btime" | "processes" | "procs_running" | "procs_blocked" => {
                    vals.insert(f[0], super::util::num(&path, f[1])?);
                }
                "softirq" => {
                    softirq = f[1..]
                        .iter()
                        .map(|s| super::util::num(&path, s))
                        .collect::<Result<_, _>>()?;
                }
                _ => {}
            }
        }
        let g = |k: &str| vals.get(k).copied().unwrap_or(0.0);
        out.counter(
            "node_intr_total",
            "Total number of interrupts serviced.",
            &[],
            g("intr"),
        );
        out.counter(
            "node_context_switches_total",
            "Total number of context switches.",
            &[],
            g("ctxt"),
        );
        out.counter(
            "node_forks_total",
            "Total number of forks.",
            &[],
            g("processes"),
        );
        out.gauge(
            "node_boot_time_seconds",
            "Node boot time, in unixtime.",
            &[],
            g("btime"),
        );
        out.gauge(
            "node_procs_running",
            "Number of processes in runnable state.",
            &[],
            g("procs_running"),
        );
        out.gauge(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            &[],
            g("procs_blocked"),
        );
        if self.softirq {
            let names = [
                "hi",
                "timer",
                "net_tx",
                "net_rx",
                "block",
                "block_iopoll",
                "tasklet",
                "sched",
                "hrtimer",
                "rcu",
            ];
            for (i, n) in names.iter().enumerate() {
                out.counter(
                    "node_softirqs_total",
                    "Number of softirq calls.",
                    &[("vector", n)],
                    softirq.get(i + 1).copied().unwrap_or(0.0),
                );
            }
        }
        Ok(())
    }
}

/// Fields of /proc/vmstat selected by `--collector.vmstat.fields`.
pub struct Vmstat {
    fields: Regex,
    /// Whether `fields` matches a field name, remembered between scrapes.
    matched: std::sync::Mutex<std::collections::HashMap<String, bool, foldhash::fast::RandomState>>,
}
impl Vmstat {
    /// Builds the collector.
    ///
    /// # Errors
    /// A bad pattern.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let fields = opts.pattern(
            "collector.vmstat.fields",
            "^(oom_kill|pgpg|pswp|pg.*fault).*",
        )?;
        Ok(Box::new(Vmstat {
            fields,
            matched: std::sync::Mutex::default(),
        }))
    }
}
impl Collector for Vmstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("vmstat");
        let mut matched = self
            .matched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for line in read(&path)?.lines() {
            let mut f = line.split_whitespace();
            let (Some(field), Some(value)) = (f.next(), f.next()) else {
                continue;
            };
            let is_match = match matched.get(field) {
                Some(&m) => m,
                None => {
                    let m = self.fields.is_match(field);
                    matched.insert(field.to_owned(), m);
                    m
                }
            };
            if !is_match {
                continue;
            }
            let v = super::util::num(&path, value)?;
            out.untyped(
                &format!("node_vmstat_{field}"),
                &format!("/proc/vmstat information field {field}."),
                &[],
                v,
            );
        }
        Ok(())
    }
}

unit_collector!(
    Filefd,
    "File descriptor statistics from /proc/sys/fs/file-nr."
);
impl Collector for Filefd {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("sys/fs/file-nr");
        let text = read(&path)?;
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() != 3 {
            return Err(CollectorError::parse(
                &path,
                format!("unexpected number of fields: {}", f.len()),
            ));
        }
        out.gauge(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
            &[],
            super::util::num(&path, f[0])?,
        );
        out.gauge(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
            &[],
            super::util::num(&path, f[2])?,
        );
        Ok(())
    }
}

unit_collector!(Entropy, "Available entropy from /proc/sys/kernel/random.");
impl Collector for Entropy {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (file, name, help) in [
            (
                "entropy_avail",
                "node_entropy_available_bits",
                "Bits of available entropy.",
            ),
            (
                "poolsize",
                "node_entropy_pool_size_bits",
                "Bits of entropy pool.",
            ),
        ] {
            let path = paths.proc(&format!("sys/kernel/random/{file}"));
            let text = read(&path)?;
            out.gauge(name, help, &[], super::util::num(&path, &text)?);
        }
        Ok(())
    }
}

unit_collector!(
    Ksmd,
    "Kernel same-page merging statistics from /sys/kernel/mm/ksm."
);
impl Collector for Ksmd {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for file in [
            "full_scans",
            "merge_across_nodes",
            "pages_shared",
            "pages_sharing",
            "pages_to_scan",
            "pages_unshared",
            "pages_volatile",
            "run",
            "sleep_millisecs",
        ] {
            let path = paths.sys(&format!("kernel/mm/ksm/{file}"));
            let v = super::util::num(&path, &read(&path)?)?;
            let help = format!("ksmd '{file}' file.");
            match file {
                "full_scans" => out.counter("node_ksmd_full_scans_total", &help, &[], v),
                "sleep_millisecs" => out.gauge("node_ksmd_sleep_seconds", &help, &[], v / 1000.0),
                _ => out.gauge(&format!("node_ksmd_{file}"), &help, &[], v),
            }
        }
        Ok(())
    }
}

unit_collector!(Schedstat, "Scheduler statistics from /proc/schedstat.");
impl Collector for Schedstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("schedstat");
        let text = read(&path).map_err(|e| not_found_is_no_data(e, "schedstat"))?;
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(cpu) = f.first().and_then(|c| c.strip_prefix("cpu")) else {
                continue;
            };
            if f.len() < 10 {
                return Err(CollectorError::parse(
                    &path,
                    format!("short cpu line {line:?}"),
                ));
            }
            let n = |i: usize| super::util::num(&path, f[i]);
            out.counter(
                "node_schedstat_running_seconds_total",
                "Number of seconds CPU spent running a process.",
                &[("cpu", cpu)],
                n(7)? / 1e9,
            );
            out.counter(
                "node_schedstat_waiting_seconds_total",
                "Number of seconds spent by processing waiting for this CPU.",
                &[("cpu", cpu)],
                n(8)? / 1e9,
            );
            out.counter(
                "node_schedstat_timeslices_total",
                "Number of timeslices executed by CPU.",
                &[("cpu", cpu)],
                n(9)?,
            );
        }
        Ok(())
    }
}

unit_collector!(Pressure, "Pressure stall information from /proc/pressure.");
impl Collector for Pressure {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for res in ["cpu", "io", "memory", "irq"] {
            let path = paths.proc(&format!("pressure/{res}"));
            let text = match super::util::read_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && res == "irq" => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(CollectorError::NoData(format!(
                        "pressure information is unavailable: {}",
                        path.display()
                    )));
                }
                Err(e) => return Err(CollectorError::io(&path, e)),
            };
            let mut some = None;
            let mut full = None;
            for line in text.lines() {
                let total = line
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix("total="))
                    .map(|v| super::util::num(&path, v))
                    .transpose()?;
                if line.starts_with("some") {
                    some = total;
                } else if line.starts_with("full") {
                    full = total;
                }
            }
            let us = |v: Option<f64>| v.unwrap_or(0.0) / 1000.0 / 1000.0;
            match res {
                "cpu" => {
                    out.counter(
                        "node_pressure_cpu_waiting_seconds_total",
                        "Total time in seconds that processes have waited for CPU time",
                        &[],
                        us(some),
                    );
                }
                "io" => {
                    out.counter(
                        "node_pressure_io_waiting_seconds_total",
                        "Total time in seconds that processes have waited due to IO congestion",
                        &[],
                        us(some),
                    );
                    out.counter(
                        "node_pressure_io_stalled_seconds_total",
                        "Total time in seconds no process could make progress due to IO congestion",
                        &[],
                        us(full),
                    );
                }
                "memory" => {
                    out.counter(
                        "node_pressure_memory_waiting_seconds_total",
                        "Total time in seconds that processes have waited for memory",
                        &[],
                        us(some),
                    );
                    out.counter("node_pressure_memory_stalled_seconds_total", "Total time in seconds no process could make progress due to memory congestion", &[], us(full));
                }
                _ => {
                    if full.is_some() {
                        out.counter("node_pressure_irq_stalled_seconds_total", "Total time in seconds no process could make progress due to IRQ congestion", &[], us(full));
                    }
                }
            }
        }
        Ok(())
    }
}

unit_collector!(
    Conntrack,
    "Connection tracking from /proc/sys/net/netfilter and /proc/net/stat/nf_conntrack."
);
impl Collector for Conntrack {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let nd = |e: CollectorError| not_found_is_no_data(e, "conntrack probably not loaded");
        let p = paths.proc("sys/net/netfilter/nf_conntrack_count");
        let count = super::util::num(&p, &read(&p).map_err(nd)?)?;
        out.gauge(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            &[],
            count,
        );
        let p = paths.proc("sys/net/netfilter/nf_conntrack_max");
        let max = super::util::num(&p, &read(&p).map_err(nd)?)?;
        out.gauge(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
            &[],
            max,
        );
        let p = paths.proc("net/stat/nf_conntrack");
        let text = read(&p).map_err(nd)?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        let mut sums = std::collections::HashMap::<&str, u64>::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            for (h, v) in header.iter().zip(line.split_whitespace()) {
                let v = u64::from_str_radix(v, 16)
                    .map_err(|_| CollectorError::parse(&p, format!("invalid hex {v:?}")))?;
                *sums.entry(h).or_default() += v;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let s = |k: &str| sums.get(k).copied().unwrap_or(0) as f64;
        for (k, help) in [
            ("found", "Number of searched entries which were successful."),
            (
                "invalid",
                "Number of packets seen which can not be tracked.",
            ),
            (
                "ignore",
                "Number of packets seen which are already connected to a conntrack entry.",
            ),
            ("insert", "Number of entries inserted into the list."),
            (
                "insert_failed",
                "Number of entries for which list insertion was attempted but failed.",
            ),
            (
                "drop",
                "Number of packets dropped due to conntrack failure.",
            ),
            (
                "early_drop",
                "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
            ),
            (
                "search_restart",
                "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
            ),
        ] {
            out.gauge(&format!("node_nf_conntrack_stat_{k}"), help, &[], s(k));
        }
        Ok(())
    }
}

unit_collector!(
    Sockstat,
    "Socket statistics from /proc/net/sockstat and sockstat6."
);
impl Collector for Sockstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (file, v6) in [("net/sockstat", false), ("net/sockstat6", true)] {
            let path = paths.proc(file);
            let text = match super::util::read_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectorError::io(&path, e)),
            };
            for line in text.lines() {
                let Some((proto, rest)) = line.split_once(':') else {
                    continue;
                };
                let f: Vec<&str> = rest.split_whitespace().collect();
                if !f.len().is_multiple_of(2) {
                    return Err(CollectorError::parse(
                        &path,
                        format!("odd number of fields in {line:?}"),
                    ));
                }
                for kv in f.chunks(2) {
                    let v = super::util::num(&path, kv[1])?;
                    if proto == "sockets" {
                        if kv[0] == "used" && !v6 {
                            out.gauge(
                                "node_sockstat_sockets_used",
                                "Number of IPv4 sockets in use.",
                                &[],
                                v,
                            );
                        }
                        continue;
                    }
                    let mut emit = |name: &str, v: f64| {
                        out.gauge(
                            &format!("node_sockstat_{proto}_{name}"),
                            &format!("Number of {proto} sockets in state {name}."),
                            &[],
                            v,
                        );
                    };
                    if matches!(
                        kv[0],
                        "inuse" | "orphan" | "tw" | "alloc" | "mem" | "memory"
                    ) {
                        emit(kv[0], v);
                    }
                    if kv[0] == "mem" {
                        #[allow(clippy::cast_precision_loss)]
                        emit("mem_bytes", v * PAGE_SIZE as f64);
                    }
                }
            }
        }
        Ok(())
    }
}

unit_collector!(UdpQueues, "UDP queue lengths from /proc/net/udp and udp6.");
impl Collector for UdpQueues {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut found = false;
        for (file, ip) in [("net/udp", "v4"), ("net/udp6", "v6")] {
            let path = paths.proc(file);
            let text = match super::util::read_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectorError::io(&path, e)),
            };
            found = true;
            let (mut tx, mut rx) = (0u64, 0u64);
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 5 {
                    continue;
                }
                let (t, r) = f[4].split_once(':').ok_or_else(|| {
                    CollectorError::parse(&path, format!("invalid queue field {:?}", f[4]))
                })?;
                let hex = |s: &str| {
                    u64::from_str_radix(s, 16)
                        .map_err(|_| CollectorError::parse(&path, format!("invalid hex {s:?}")))
                };
                tx += hex(t)?;
                rx += hex(r)?;
            }
            let help = "Number of allocated memory in the kernel for UDP datagrams in bytes.";
            #[allow(clippy::cast_precision_loss)]
            {
                out.gauge(
                    "node_udp_queues",
                    help,
                    &[("queue", "tx"), ("ip", ip)],
                    tx as f64,
                );
                out.gauge(
                    "node_udp_queues",
                    help,
                    &[("queue", "rx"), ("ip", ip)],
                    rx as f64,
                );
            }
        }
        if !found {
            return Err(CollectorError::NoData("no UDP queue files".into()));
        }
        Ok(())
    }
}

unit_collector!(Softirqs, "Softirq counts per CPU from /proc/softirqs.");
impl Collector for Softirqs {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("softirqs");
        let text = read(&path)?;
        let mut lines = text.lines();
        let cpus = lines.next().unwrap_or("").split_whitespace().count();
        for line in lines {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            let vals: Vec<&str> = rest.split_whitespace().collect();
            for (cpu, v) in vals.iter().take(cpus).enumerate() {
                out.counter(
                    "node_softirqs_functions_total",
                    "Softirq counts per CPU.",
                    &[("cpu", &cpu.to_string()), ("type", name.trim())],
                    super::util::num(&path, v)?,
                );
            }
        }
        Ok(())
    }
}

/// ARP entries per device from /proc/net/arp.
pub struct Arp;
/// The arp collector with its device filter.
pub struct ArpFiltered {
    filter: super::util::DeviceFilter,
}
impl Arp {
    /// Builds the collector from `--collector.arp.device-{include,exclude}`.
    ///
    /// # Errors
    /// A bad pattern.
    pub fn with_filter(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(ArpFiltered {
            filter: super::util::DeviceFilter::from_flags(
                opts,
                "collector.arp.device-exclude",
                "collector.arp.device-include",
                "",
            )?,
        }))
    }
}
impl Collector for ArpFiltered {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("net/arp");
        let text = read(&path)?;
        let mut counts = std::collections::BTreeMap::<&str, u32>::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                continue;
            }
            *counts.entry(f[5]).or_default() += 1;
        }
        for (dev, n) in counts {
            if self.filter.ignored(dev) {
                continue;
            }
            out.gauge(
                "node_arp_entries",
                "ARP entries by device",
                &[("device", dev)],
                f64::from(n),
            );
        }
        Ok(())
    }
}

unit_collector!(
    ThermalZone,
    "Thermal zones and cooling devices from /sys/class/thermal."
);
impl Collector for ThermalZone {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/thermal");
        for (name, dir) in dir_entries(&base)? {
            if let Some(zone) = name.strip_prefix("thermal_zone") {
                let (Some(ty), Some(temp)) = (attr(&dir.join("type")), attr(&dir.join("temp")))
                else {
                    continue;
                };
                let Ok(t) = temp.parse::<f64>() else { continue };
                out.gauge(
                    "node_thermal_zone_temp",
                    "Zone temperature in Celsius",
                    &[("zone", zone), ("type", &ty)],
                    t / 1000.0,
                );
            } else if let Some(dev) = name.strip_prefix("cooling_device") {
                let Some(ty) = attr(&dir.join("type")) else {
                    continue;
                };
                let (Some(cur), Some(max)) = (
                    attr(&dir.join("cur_state")).and_then(|s| s.parse::<f64>().ok()),
                    attr(&dir.join("max_state")).and_then(|s| s.parse::<f64>().ok()),
                ) else {
                    continue;
                };
                out.gauge(
                    "node_cooling_device_cur_state",
                    "Current throttle state of the cooling device",
                    &[("name", dev), ("type", &ty)],
                    cur,
                );
                out.gauge(
                    "node_cooling_device_max_state",
                    "Maximum throttle state of the cooling device",
                    &[("name", dev), ("type", &ty)],
                    max,
                );
            }
        }
        Ok(())
    }
}

/// Cgroup subsystems from /proc/cgroups.
pub struct Cgroups;
impl Cgroups {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Cgroups))
    }
}
impl Collector for Cgroups {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("cgroups");
        let text = read(&path)?;
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 4 {
                return Err(CollectorError::parse(&path, format!("bad line {line:?}")));
            }
            let l = [("subsys_name", f[0])];
            out.gauge(
                "node_cgroups_cgroups",
                "Current cgroup number of the subsystem.",
                &l,
                super::util::num(&path, f[2])?,
            );
            out.gauge(
                "node_cgroups_enabled",
                "Current cgroup number of the subsystem.",
                &l,
                super::util::num(&path, f[3])?,
            );
        }
        Ok(())
    }
}
