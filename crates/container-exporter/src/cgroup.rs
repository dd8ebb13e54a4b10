//! Reading cgroups: which hierarchy is mounted (v2 unified or v1 controllers), the cgroups in
//! it, and one cgroup's CPU, memory, pids and spec values, as cAdvisor's
//! `container/libcontainer/handler.go` gets them through runc's `fs` / `fs2` packages.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::blkio::{self, DiskIo};

/// Nanoseconds per `USER_HZ` tick (Linux reports `cpuacct.stat` in ticks of 1/100 s).
const NANOS_PER_TICK: u64 = 10_000_000;

/// The mounted cgroup hierarchy.
#[derive(Debug, Clone)]
pub enum Layout {
    /// cgroup v2: one tree, `cgroup.controllers` at its root.
    V2(PathBuf),
    /// cgroup v1: one tree per controller (a missing controller is `None`).
    V1 {
        /// `cpu` (or `cpu,cpuacct`).
        cpu: Option<PathBuf>,
        /// `cpuacct` (or `cpu,cpuacct`).
        cpuacct: Option<PathBuf>,
        /// `memory`.
        memory: Option<PathBuf>,
        /// `pids`.
        pids: Option<PathBuf>,
        /// `blkio`.
        blkio: Option<PathBuf>,
    },
}

impl Layout {
    /// Finds the hierarchy under `root` (`/sys/fs/cgroup`): v2 if `cgroup.controllers` is
    /// there, else the v1 controller directories; `None` when neither is.
    #[must_use]
    pub fn detect(root: &Path) -> Option<Layout> {
        if root.join("cgroup.controllers").is_file() {
            return Some(Layout::V2(root.to_path_buf()));
        }
        let find = |names: &[&str]| {
            names
                .iter()
                .map(|n| root.join(n))
                .find(|p| p.is_dir() && has_entries(p))
        };
        let cpu = find(&["cpu", "cpu,cpuacct", "cpuacct,cpu"]);
        let cpuacct = find(&["cpuacct", "cpu,cpuacct", "cpuacct,cpu"]);
        let memory = find(&["memory"]);
        let pids = find(&["pids"]);
        let blkio = find(&["blkio"]);
        if cpu.is_none() && cpuacct.is_none() && memory.is_none() {
            return None;
        }
        Some(Layout::V1 {
            cpu,
            cpuacct,
            memory,
            pids,
            blkio,
        })
    }

    /// Every cgroup as a path from the hierarchy's root (`/`, `/system.slice/x.service`),
    /// sorted; for v1 the union of the cpu, cpuacct and memory trees.
    #[must_use]
    pub fn cgroups(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        let roots: Vec<&PathBuf> = match self {
            Layout::V2(root) => vec![root],
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                ..
            } => [cpu, cpuacct, memory].into_iter().flatten().collect(),
        };
        for root in roots {
            out.insert("/".to_owned());
            walk(root, "", &mut out);
        }
        out.into_iter().collect()
    }

    /// The statistics of the cgroup at `path` (from [`Layout::cgroups`]).
    #[must_use]
    pub fn read(&self, path: &str) -> Stats {
        let rel = path.trim_start_matches('/');
        match self {
            Layout::V2(root) => read_v2(&root.join(rel)),
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                pids,
                blkio,
            } => {
                let mut s = read_v1(
                    cpu.as_ref().map(|p| p.join(rel)),
                    cpuacct.as_ref().map(|p| p.join(rel)),
                    memory.as_ref().map(|p| p.join(rel)),
                    pids.as_ref().map(|p| p.join(rel)),
                );
                s.disk_io = blkio.as_ref().and_then(|p| blkio::read_v1(&p.join(rel)));
                s
            }
        }
    }
}

fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}/{name}");
        walk(&entry.path(), &path, out);
        out.insert(path);
    }
}

/// One cgroup's values; `None` where the file is missing or unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// The cgroup directory (the first controller's), for its creation time.
    pub dir: Option<PathBuf>,
    /// Total CPU time, nanoseconds.
    pub cpu_usage_ns: Option<u64>,
    /// User CPU time, nanoseconds.
    pub cpu_user_ns: Option<u64>,
    /// System CPU time, nanoseconds.
    pub cpu_system_ns: Option<u64>,
    /// CFS periods, throttled periods, throttled nanoseconds.
    pub cfs: Option<(u64, u64, u64)>,
    /// CFS burst periods and burst nanoseconds (`nr_bursts`, `burst_usec` / `burst_time`,
    /// kernels since 5.14).
    pub cfs_burst: Option<(u64, u64)>,
    /// CFS period in microseconds.
    pub cpu_period: Option<u64>,
    /// CFS quota in microseconds (`None` when unlimited).
    pub cpu_quota: Option<u64>,
    /// CPU shares (v2: converted from `cpu.weight`).
    pub cpu_shares: Option<u64>,
    /// Memory usage in bytes.
    pub memory_usage: Option<u64>,
    /// Memory limit in bytes (`max` / unlimited as `u64::MAX`).
    pub memory_limit: Option<u64>,
    /// Memory plus swap limit (`memory.swap.max`, v1 `memory.memsw.limit_in_bytes`; unlimited
    /// as `u64::MAX`), read where the memory limit is.
    pub memory_swap_limit: Option<u64>,
    /// Memory reservation (`memory.min`, v1 `memory.soft_limit_in_bytes`).
    pub memory_reservation: Option<u64>,
    /// The highest memory usage recorded (`memory.peak` / `memory.max_usage_in_bytes`).
    pub memory_max_usage: Option<u64>,
    /// Memory values derived from `memory.stat` and friends.
    pub memory: Option<Memory>,
    /// PIDs in `cgroup.procs`.
    pub pids: Vec<u32>,
    /// Threads (`pids.current`, else the lines of `tasks` / `cgroup.threads`).
    pub threads: Option<u64>,
    /// OOM kills of the cgroup's own processes (`memory.events.local` / `memory.events`
    /// `oom_kill`, v1 `memory.oom_control` `oom_kill`).
    pub oom_kills: Option<u64>,
    /// Block I/O per device (`io.stat`, v1 `blkio.*`).
    pub disk_io: Option<DiskIo>,
}

/// Memory details of one cgroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// Anonymous and swap cache memory (`rss` / `anon`).
    pub rss: u64,
    /// Page cache (`cache` / `file`).
    pub cache: u64,
    /// Swap in use.
    pub swap: u64,
    /// Working set: usage minus inactive file pages.
    pub working_set: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
    /// Page faults and major faults of the cgroup itself.
    pub container_faults: (u64, u64),
    /// Page faults and major faults of the cgroup and its descendants.
    pub hierarchy_faults: (u64, u64),
}

fn read_trim(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn read_u64(path: &Path) -> Option<u64> {
    read_trim(path)?.parse().ok()
}

/// `key value` lines (`cpu.stat`, `memory.stat`, `memory.events`).
fn read_kv(path: &Path) -> Option<Vec<(String, u64)>> {
    let text = fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_owned(), v.trim().parse().ok()?))
            })
            .collect(),
    )
}

fn get(kv: &[(String, u64)], key: &str) -> Option<u64> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

fn read_pids(dir: &Path) -> Vec<u32> {
    read_trim(&dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn count_lines(path: &Path) -> Option<u64> {
    read_trim(path).map(|s| s.lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

fn read_v2(dir: &Path) -> Stats {
    let mut s = Stats {
        dir: dir.is_dir().then(|| dir.to_path_buf()),
        ..Stats::default()
    };
    if let Some(cpu) = read_kv(&dir.join("cpu.stat")) {
        s.cpu_usage_ns = get(&cpu, "usage_usec").map(|v| v * 1000);
        s.cpu_user_ns = get(&cpu, "user_usec").map(|v| v * 1000);
        s.cpu_system_ns = get(&cpu, "system_usec").map(|v| v * 1000);
        if let (Some(p), Some(t), Some(us)) = (
            get(&cpu, "nr_periods"),
            get(&cpu, "nr_throttled"),
            get(&cpu, "throttled_usec"),
        ) {
            s.cfs = Some((p, t, us * 1000));
        }
        if let (Some(n), Some(us)) = (get(&cpu, "nr_bursts"), get(&cpu, "burst_usec")) {
            s.cfs_burst = Some((n, us * 1000));
        }
    }
    if let Some(max) = read_trim(&dir.join("cpu.max")) {
        let mut it = max.split_whitespace();
        let quota = it.next();
        s.cpu_period = it.next().and_then(|p| p.parse().ok());
        s.cpu_quota = quota.and_then(|q| q.parse().ok());
    }
    // runc's conversion of cpu.weight (1..10000) back to shares (2..262144).
    s.cpu_shares = read_u64(&dir.join("cpu.weight")).map(|w| 2 + (w.max(1) - 1) * 262_142 / 9999);
    s.memory_usage = read_u64(&dir.join("memory.current"));
    s.memory_limit = read_trim(&dir.join("memory.max")).and_then(|m| parse_limit(&m));
    if s.memory_limit.is_some() {
        s.memory_swap_limit = read_trim(&dir.join("memory.swap.max")).and_then(|m| parse_limit(&m));
        s.memory_reservation = read_trim(&dir.join("memory.min")).and_then(|m| parse_limit(&m));
    }
    s.memory_max_usage = read_u64(&dir.join("memory.peak"));
    if let (Some(usage), Some(stat)) = (s.memory_usage, read_kv(&dir.join("memory.stat"))) {
        let faults = (
            get(&stat, "pgfault").unwrap_or(0),
            get(&stat, "pgmajfault").unwrap_or(0),
        );
        let events = read_kv(&dir.join("memory.events")).unwrap_or_default();
        s.memory = Some(Memory {
            rss: get(&stat, "anon").unwrap_or(0),
            cache: get(&stat, "file").unwrap_or(0),
            swap: read_u64(&dir.join("memory.swap.current")).unwrap_or(0),
            working_set: usage.saturating_sub(get(&stat, "inactive_file").unwrap_or(0)),
            failcnt: get(&events, "max").unwrap_or(0),
            container_faults: faults,
            hierarchy_faults: faults,
        });
    }
    s.oom_kills = ["memory.events.local", "memory.events"]
        .iter()
        .find_map(|f| read_kv(&dir.join(f)))
        .and_then(|kv| get(&kv, "oom_kill"));
    s.disk_io = blkio::read_v2(dir);
    s.pids = read_pids(dir);
    s.threads =
        read_u64(&dir.join("pids.current")).or_else(|| count_lines(&dir.join("cgroup.threads")));
    s
}

fn read_v1(
    cpu: Option<PathBuf>,
    cpuacct: Option<PathBuf>,
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
) -> Stats {
    let exists = |p: Option<PathBuf>| p.filter(|d| d.is_dir());
    let (cpu, cpuacct, memory, pids) = (exists(cpu), exists(cpuacct), exists(memory), exists(pids));
    let mut s = Stats {
        dir: cpu
            .clone()
            .or_else(|| cpuacct.clone())
            .or_else(|| memory.clone()),
        ..Stats::default()
    };
    if let Some(d) = &cpuacct {
        s.cpu_usage_ns = read_u64(&d.join("cpuacct.usage"));
        if let Some(stat) = read_kv(&d.join("cpuacct.stat")) {
            s.cpu_user_ns = get(&stat, "user").map(|t| t * NANOS_PER_TICK);
            s.cpu_system_ns = get(&stat, "system").map(|t| t * NANOS_PER_TICK);
        }
    }
    if let Some(d) = &cpu {
        if let Some(stat) = read_kv(&d.join("cpu.stat"))
            && let (Some(p), Some(t), Some(ns)) = (
                get(&stat, "nr_periods"),
                get(&stat, "nr_throttled"),
                get(&stat, "throttled_time"),
            )
        {
            s.cfs = Some((p, t, ns));
        }
        if let Some(stat) = read_kv(&d.join("cpu.stat"))
            && let (Some(n), Some(ns)) = (get(&stat, "nr_bursts"), get(&stat, "burst_time"))
        {
            s.cfs_burst = Some((n, ns));
        }
        s.cpu_period = read_u64(&d.join("cpu.cfs_period_us"));
        // -1 is unlimited.
        s.cpu_quota = read_u64(&d.join("cpu.cfs_quota_us"));
        s.cpu_shares = read_u64(&d.join("cpu.shares"));
    }
    if let Some(d) = &memory {
        s.memory_usage = read_u64(&d.join("memory.usage_in_bytes"));
        s.memory_limit = read_trim(&d.join("memory.limit_in_bytes")).and_then(|m| parse_limit(&m));
        s.memory_swap_limit =
            read_trim(&d.join("memory.memsw.limit_in_bytes")).and_then(|m| parse_limit(&m));
        s.memory_reservation =
            read_trim(&d.join("memory.soft_limit_in_bytes")).and_then(|m| parse_limit(&m));
        s.memory_max_usage = read_u64(&d.join("memory.max_usage_in_bytes"));
        if let (Some(usage), Some(stat)) = (s.memory_usage, read_kv(&d.join("memory.stat"))) {
            let total = |k: &str| {
                get(&stat, &format!("total_{k}"))
                    .or_else(|| get(&stat, k))
                    .unwrap_or(0)
            };
            let swap = read_u64(&d.join("memory.memsw.usage_in_bytes"))
                .map_or(0, |memsw| memsw.saturating_sub(usage));
            s.memory = Some(Memory {
                rss: total("rss"),
                cache: total("cache"),
                swap,
                working_set: usage.saturating_sub(total("inactive_file")),
                failcnt: read_u64(&d.join("memory.failcnt")).unwrap_or(0),
                container_faults: (
                    get(&stat, "pgfault").unwrap_or(0),
                    get(&stat, "pgmajfault").unwrap_or(0),
                ),
                hierarchy_faults: (total("pgfault"), total("pgmajfault")),
            });
        }
        s.oom_kills = read_kv(&d.join("memory.oom_control")).and_then(|kv| get(&kv, "oom_kill"));
    }
    // The processes from the first controller that lists them (the root of a controller
    // mounted only for its children may have none).
    let listed = [&cpu, &cpuacct, &memory, &pids]
        .into_iter()
        .flatten()
        .find(|d| d.join("cgroup.procs").is_file());
    if let Some(d) = listed {
        s.pids = read_pids(d);
        s.threads = pids
            .as_ref()
            .and_then(|p| read_u64(&p.join("pids.current")))
            .or_else(|| count_lines(&d.join("tasks")));
    }
    s
}

/// A memory limit: `max` (v2) or a value above 2^62 (v1's page-rounded `i64::MAX`) is
/// unlimited (`u64::MAX`).
fn parse_limit(text: &str) -> Option<u64> {
    if text == "max" {
        return Some(u64::MAX);
    }
    let v: u64 = text.parse().ok()?;
    Some(if v > 1 << 62 { u64::MAX } else { v })
}

#[cfg(test)]
mod tests {
    use super::parse_limit;

    #[test]
    fn limits() {
        for (text, want) in [
            ("max", Some(u64::MAX)),
            ("9223372036854771712", Some(u64::MAX)),
            ("536870912", Some(536_870_912)),
            ("bad", None),
        ] {
            assert_eq!(parse_limit(text), want, "{text}");
        }
    }
}
