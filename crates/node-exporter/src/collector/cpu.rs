//! CPU time from /proc/stat, /proc/cpuinfo details, thermal throttles, isolated and online
//! CPUs (node_exporter's `collector/cpu_linux.go`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use regex::Regex;

use super::util::{attr, attr_u64, dir_entries_opt};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// USER_HZ: /proc/stat counts in hundredths of a second.
pub const USER_HZ: f64 = 100.0;
const JUMP_BACK_SECONDS: f64 = 3.0;
const MODES: &[&str] = &[
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// The cpu collector.
pub struct Cpu {
    info: bool,
    guest: bool,
    cpufreq_enabled: bool,
    flags: Option<Regex>,
    bugs: Option<Regex>,
    /// Last values per CPU, kept so counters never go backwards (as node_exporter does).
    stats: Mutex<HashMap<String, [f64; 10]>>,
}

/// Builds the collector from `--collector.cpu.info`, `--collector.cpu.guest` and the
/// flags/bugs include patterns.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let flags = opts.regex("collector.cpu.info.flags-include")?;
    let bugs = opts.regex("collector.cpu.info.bugs-include")?;
    let no_defaults = opts.flag("collector.disable-defaults", false);
    Ok(Box::new(Cpu {
        info: opts.flag("collector.cpu.info", false) || flags.is_some() || bugs.is_some(),
        guest: opts.flag("collector.cpu.guest", true),
        cpufreq_enabled: opts.flag("collector.cpufreq", !no_defaults),
        flags,
        bugs,
        stats: Mutex::new(HashMap::new()),
    }))
}

/// One CPU of /proc/cpuinfo (the fields node_exporter exports).
#[derive(Debug, Default, Clone)]
pub struct CpuInfo {
    processor: String,
    vendor: String,
    family: String,
    model: String,
    model_name: String,
    stepping: String,
    microcode: String,
    mhz: f64,
    cache_size: String,
    physical_id: String,
    core_id: String,
    flags: Vec<String>,
    bugs: Vec<String>,
}

/// Parses /proc/cpuinfo (x86 layout: `key\t: value`).
///
/// # Errors
/// It does not start with a `processor` line, or a number is malformed.
pub fn parse_cpuinfo(path: &std::path::Path, text: &str) -> Result<Vec<CpuInfo>, CollectorError> {
    let mut out: Vec<CpuInfo> = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.strip_prefix(' ').unwrap_or(v);
        let k = k.trim();
        if k == "processor" {
            v.trim()
                .parse::<u32>()
                .map_err(|_| CollectorError::parse(path, format!("invalid processor {v:?}")))?;
            out.push(CpuInfo {
                processor: v.trim().to_owned(),
                ..CpuInfo::default()
            });
            continue;
        }
        let Some(c) = out.last_mut() else {
            return Err(CollectorError::parse(
                path,
                format!("cannot parse line {line:?}"),
            ));
        };
        match k {
            "vendor" | "vendor_id" => c.vendor = v.to_owned(),
            "cpu family" => c.family = v.to_owned(),
            "model" => c.model = v.to_owned(),
            "model name" => c.model_name = v.to_owned(),
            "stepping" => c.stepping = v.to_owned(),
            "microcode" => c.microcode = v.to_owned(),
            "cpu MHz" => {
                c.mhz = v
                    .trim()
                    .parse()
                    .map_err(|_| CollectorError::parse(path, format!("invalid cpu MHz {v:?}")))?;
            }
            "cache size" => c.cache_size = v.to_owned(),
            "physical id" => c.physical_id = v.to_owned(),
            "core id" => c.core_id = v.to_owned(),
            "flags" => c.flags = v.split_whitespace().map(str::to_owned).collect(),
            "bugs" => c.bugs = v.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(CollectorError::parse(path, "no processor line"));
    }
    Ok(out)
}

/// Per-CPU rows of /proc/stat: CPU number and its ten times in seconds.
///
/// # Errors
/// A malformed `cpuN` line.
pub fn parse_stat_cpus(
    path: &std::path::Path,
    text: &str,
) -> Result<Vec<(String, [f64; 10])>, CollectorError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(name) = f.next() else { continue };
        let Some(num) = name.strip_prefix("cpu").filter(|n| !n.is_empty()) else {
            continue;
        };
        let mut v = [0.0; 10];
        for (i, s) in f.take(10).enumerate() {
            v[i] = s.parse::<f64>().map_err(|_| {
                CollectorError::parse(path, format!("invalid value {s:?} in {line:?}"))
            })? / USER_HZ;
        }
        out.push((num.to_owned(), v));
    }
    Ok(out)
}

/// Expands a kernel CPU list such as `1,3-5,9`.
#[must_use]
pub fn parse_cpu_list(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

impl Cpu {
    fn update_info(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("cpuinfo");
        let info = parse_cpuinfo(&path, &read(&path)?)?;
        for c in &info {
            out.gauge(
                "node_cpu_info",
                "CPU information from /proc/cpuinfo.",
                &[
                    ("package", &c.physical_id),
                    ("core", &c.core_id),
                    ("cpu", &c.processor),
                    ("vendor", &c.vendor),
                    ("family", &c.family),
                    ("model", &c.model),
                    ("model_name", &c.model_name),
                    ("microcode", &c.microcode),
                    ("stepping", &c.stepping),
                    ("cachesize", &c.cache_size),
                ],
                1.0,
            );
            if !self.cpufreq_enabled {
                out.gauge(
                    "node_cpu_frequency_hertz",
                    "CPU frequency in hertz from /proc/cpuinfo.",
                    &[
                        ("package", &c.physical_id),
                        ("core", &c.core_id),
                        ("cpu", &c.processor),
                    ],
                    c.mhz * 1e6,
                );
            }
        }
        if let Some(first) = info.first() {
            if let Some(re) = &self.flags {
                for f in first.flags.iter().filter(|f| re.is_match(f)) {
                    out.gauge(
                        "node_cpu_flag_info",
                        "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
                        &[("flag", f)],
                        1.0,
                    );
                }
            }
            if let Some(re) = &self.bugs {
                for b in first.bugs.iter().filter(|b| re.is_match(b)) {
                    out.gauge(
                        "node_cpu_bug_info",
                        "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
                        &[("bug", b)],
                        1.0,
                    );
                }
            }
        }
        Ok(())
    }

    fn update_stat(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("stat");
        let rows = parse_stat_cpus(&path, &read(&path)?)?;
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (cpu, new) in &rows {
            let mut old = stats.get(cpu).copied().unwrap_or([0.0; 10]);
            if old[3] - new[3] >= JUMP_BACK_SECONDS {
                tracing::debug!(
                    cpu = cpu.as_str(),
                    "CPU Idle counter jumped backwards more than 3 seconds, resetting"
                );
                old = [0.0; 10];
            }
            for i in 0..10 {
                if new[i] >= old[i] {
                    old[i] = new[i];
                }
            }
            stats.insert(cpu.clone(), old);
        }
        if rows.len() != stats.len() {
            stats.retain(|k, _| rows.iter().any(|r| &r.0 == k));
        }
        for (cpu, v) in stats.iter() {
            for (i, mode) in MODES.iter().enumerate() {
                out.counter(
                    "node_cpu_seconds_total",
                    "Seconds the CPUs spent in each mode.",
                    &[("cpu", cpu), ("mode", mode)],
                    v[i],
                );
            }
            if self.guest {
                for (i, mode) in [(8, "user"), (9, "nice")] {
                    out.counter(
                        "node_cpu_guest_seconds_total",
                        "Seconds the CPUs spent in guests (VMs) for each mode.",
                        &[("cpu", cpu), ("mode", mode)],
                        v[i],
                    );
                }
            }
        }
        Ok(())
    }
}

fn cpu_dirs(paths: &Paths) -> Vec<(String, std::path::PathBuf)> {
    dir_entries_opt(&paths.sys("devices/system/cpu"))
        .into_iter()
        .filter(|(n, _)| {
            n.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect()
}

impl Collector for Cpu {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        if self.info {
            self.update_info(paths, out)?;
        }
        self.update_stat(paths, out)?;
        if let Some(iso) = attr(&paths.sys("devices/system/cpu/isolated")) {
            for c in parse_cpu_list(&iso) {
                out.gauge(
                    "node_cpu_isolated",
                    "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
                    &[("cpu", &c.to_string())],
                    1.0,
                );
            }
        }
        let cpus = cpu_dirs(paths);
        let mut packages: BTreeMap<u64, u64> = BTreeMap::new();
        let mut cores: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut seen_core = std::collections::HashSet::new();
        for (_, dir) in &cpus {
            let (Some(pkg), Some(core)) = (
                attr_u64(&dir.join("topology/physical_package_id")),
                attr_u64(&dir.join("topology/core_id")),
            ) else {
                continue;
            };
            if seen_core.insert((pkg, core))
                && let Some(n) = attr_u64(&dir.join("thermal_throttle/core_throttle_count"))
            {
                cores.insert((pkg, core), n);
            }
            if !packages.contains_key(&pkg)
                && let Some(n) = attr_u64(&dir.join("thermal_throttle/package_throttle_count"))
            {
                packages.insert(pkg, n);
            }
        }
        for (pkg, n) in packages {
            out.counter(
                "node_cpu_package_throttles_total",
                "Number of times this CPU package has been throttled.",
                &[("package", &pkg.to_string())],
                n as f64,
            );
        }
        for ((pkg, core), n) in cores {
            out.counter(
                "node_cpu_core_throttles_total",
                "Number of times this CPU core has been throttled.",
                &[("package", &pkg.to_string()), ("core", &core.to_string())],
                n as f64,
            );
        }
        if let Some((_, first)) = cpus.first()
            && first.join("online").exists()
        {
            for (name, dir) in &cpus {
                let online = attr(&dir.join("online")).is_some_and(|s| s == "1");
                out.gauge(
                    "node_cpu_online",
                    "CPUs that are online and being scheduled.",
                    &[("cpu", name.trim_start_matches("cpu"))],
                    if online { 1.0 } else { 0.0 },
                );
            }
        }
        Ok(())
    }
}
