//! Hardware, software and cache event counters per CPU from `perf_event_open(2)`
//! (node_exporter's `perf_linux.go` with `hodgesds/perf-utils` 0.7). As there, an event the
//! kernel refuses is left out silently, so a machine or container without perf access gets
//! a successful collector with no series. `--collector.perf.tracepoint=subsystem:event`
//! opens the tracepoints (their ids from tracefs) as one event group per CPU, read together
//! at each scrape; a tracepoint that cannot be opened stops the collector from being built.

use std::io::Read;
use std::sync::Mutex;

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_TYPE_HW_CACHE: u32 = 3;

/// One event: its `--collector.perf.*-profilers` name (empty: not selectable), type,
/// config, and the family it feeds (`None`: opened but not exposed, as perf-utils does).
struct Event {
    flag: &'static str,
    kind: u32,
    config: u64,
    family: Option<(&'static str, &'static str)>,
}

const fn ev(
    flag: &'static str,
    kind: u32,
    config: u64,
    family: Option<(&'static str, &'static str)>,
) -> Event {
    Event {
        flag,
        kind,
        config,
        family,
    }
}

/// perf-utils' hardware profilers (all by default).
const HARDWARE: &[Event] = &[
    ev(
        "CpuCycles",
        PERF_TYPE_HARDWARE,
        0,
        Some((
            "node_perf_cpucycles_total",
            "Number of CPU cycles (frequency scaled)",
        )),
    ),
    ev(
        "CpuInstr",
        PERF_TYPE_HARDWARE,
        1,
        Some(("node_perf_instructions_total", "Number of CPU instructions")),
    ),
    ev(
        "CacheRef",
        PERF_TYPE_HARDWARE,
        2,
        Some((
            "node_perf_cache_refs_total",
            "Number of cache references (non frequency scaled)",
        )),
    ),
    ev(
        "CacheMisses",
        PERF_TYPE_HARDWARE,
        3,
        Some(("node_perf_cache_misses_total", "Number of cache misses")),
    ),
    ev(
        "BranchInstr",
        PERF_TYPE_HARDWARE,
        4,
        Some((
            "node_perf_branch_instructions_total",
            "Number of CPU branch instructions",
        )),
    ),
    ev(
        "BranchMisses",
        PERF_TYPE_HARDWARE,
        5,
        Some((
            "node_perf_branch_misses_total",
            "Number of CPU branch misses",
        )),
    ),
    ev("", PERF_TYPE_HARDWARE, 6, None), // bus cycles
    ev(
        "StalledCyclesFrontend",
        PERF_TYPE_HARDWARE,
        7,
        Some((
            "node_perf_stalled_cycles_frontend_total",
            "Number of stalled frontend CPU cycles",
        )),
    ),
    ev(
        "StalledCyclesBackend",
        PERF_TYPE_HARDWARE,
        8,
        Some((
            "node_perf_stalled_cycles_backend_total",
            "Number of stalled backend CPU cycles",
        )),
    ),
    ev(
        "RefCpuCycles",
        PERF_TYPE_HARDWARE,
        9,
        Some(("node_perf_ref_cpucycles_total", "Number of CPU cycles")),
    ),
];

/// perf-utils' software profilers (all by default).
const SOFTWARE: &[Event] = &[
    ev("", PERF_TYPE_SOFTWARE, 0, None), // cpu clock
    ev("", PERF_TYPE_SOFTWARE, 1, None), // task clock
    ev(
        "PageFault",
        PERF_TYPE_SOFTWARE,
        2,
        Some(("node_perf_page_faults_total", "Number of page faults")),
    ),
    ev(
        "ContextSwitch",
        PERF_TYPE_SOFTWARE,
        3,
        Some((
            "node_perf_context_switches_total",
            "Number of context switches",
        )),
    ),
    ev(
        "CpuMigration",
        PERF_TYPE_SOFTWARE,
        4,
        Some((
            "node_perf_cpu_migrations_total",
            "Number of CPU process migrations",
        )),
    ),
    ev(
        "MinorFault",
        PERF_TYPE_SOFTWARE,
        5,
        Some((
            "node_perf_minor_faults_total",
            "Number of minor page faults",
        )),
    ),
    ev(
        "MajorFault",
        PERF_TYPE_SOFTWARE,
        6,
        Some((
            "node_perf_major_faults_total",
            "Number of major page faults",
        )),
    ),
    ev("", PERF_TYPE_SOFTWARE, 7, None), // alignment faults
    ev("", PERF_TYPE_SOFTWARE, 8, None), // emulation faults
];

/// A cache event's config: cache | op << 8 | result << 16.
const fn cache(id: u64, write: bool, miss: bool) -> u64 {
    id | ((write as u64) << 8) | ((miss as u64) << 16)
}

/// The cache profilers node_exporter enables by default.
const CACHE: &[Event] = &[
    ev(
        "L1DataReadHit",
        PERF_TYPE_HW_CACHE,
        cache(0, false, false),
        Some((
            "node_perf_cache_l1d_read_hits_total",
            "Number L1 data cache read hits",
        )),
    ),
    ev(
        "L1DataReadMiss",
        PERF_TYPE_HW_CACHE,
        cache(0, false, true),
        Some((
            "node_perf_cache_l1d_read_misses_total",
            "Number L1 data cache read misses",
        )),
    ),
    ev(
        "L1DataWriteHit",
        PERF_TYPE_HW_CACHE,
        cache(0, true, false),
        Some((
            "node_perf_cache_l1d_write_hits_total",
            "Number L1 data cache write hits",
        )),
    ),
    ev(
        "L1InstrReadMiss",
        PERF_TYPE_HW_CACHE,
        cache(1, false, true),
        Some((
            "node_perf_cache_l1_instr_read_misses_total",
            "Number instruction L1 instruction read misses",
        )),
    ),
    ev(
        "LLReadHit",
        PERF_TYPE_HW_CACHE,
        cache(2, false, false),
        Some((
            "node_perf_cache_ll_read_hits_total",
            "Number last level read hits",
        )),
    ),
    ev(
        "LLReadMiss",
        PERF_TYPE_HW_CACHE,
        cache(2, false, true),
        Some((
            "node_perf_cache_ll_read_misses_total",
            "Number last level read misses",
        )),
    ),
    ev(
        "LLWriteHit",
        PERF_TYPE_HW_CACHE,
        cache(2, true, false),
        Some((
            "node_perf_cache_ll_write_hits_total",
            "Number last level write hits",
        )),
    ),
    ev(
        "LLWriteMiss",
        PERF_TYPE_HW_CACHE,
        cache(2, true, true),
        Some((
            "node_perf_cache_ll_write_misses_total",
            "Number last level write misses",
        )),
    ),
    ev(
        "InstrTLBReadHit",
        PERF_TYPE_HW_CACHE,
        cache(4, false, false),
        Some((
            "node_perf_cache_tlb_instr_read_hits_total",
            "Number instruction TLB read hits",
        )),
    ),
    ev(
        "InstrTLBReadMiss",
        PERF_TYPE_HW_CACHE,
        cache(4, false, true),
        Some((
            "node_perf_cache_tlb_instr_read_misses_total",
            "Number instruction TLB read misses",
        )),
    ),
    ev(
        "BPUReadHit",
        PERF_TYPE_HW_CACHE,
        cache(5, false, false),
        Some((
            "node_perf_cache_bpu_read_hits_total",
            "Number BPU read hits",
        )),
    ),
    ev(
        "BPUReadMiss",
        PERF_TYPE_HW_CACHE,
        cache(5, false, true),
        Some((
            "node_perf_cache_bpu_read_misses_total",
            "Number BPU read misses",
        )),
    ),
];

/// The perf collector: open counters per CPU, and the tracepoint groups.
pub struct Perf {
    counters: Mutex<Vec<(String, &'static Event, std::fs::File)>>,
    tracepoints: Option<Tracepoints>,
}

/// `--collector.perf.tracepoint`s: one perf event group per CPU (perf-utils'
/// `GroupProfiler`), its values read together, each a `node_perf_<subsystem>_<event>` counter.
struct Tracepoints {
    /// (family, help) per event, in the groups' order.
    families: Vec<(String, String)>,
    /// Per CPU: its label and the group's files (the leader first).
    groups: Mutex<Vec<(String, Vec<std::fs::File>)>>,
}

/// `PERF_TYPE_TRACEPOINT`.
const PERF_TYPE_TRACEPOINT: u32 = 2;

/// Splits `subsystem:event` flags as node_exporter does.
///
/// # Errors
/// A flag without exactly one `:`.
pub fn parse_tracepoints(flags: &[String]) -> Result<Vec<(String, String)>, String> {
    flags
        .iter()
        .map(|t| {
            let parts: Vec<&str> = t.split(':').collect();
            match parts.as_slice() {
                [subsystem, event] => Ok(((*subsystem).to_owned(), (*event).to_owned())),
                _ => Err(format!("invalid tracepoint config {t}")),
            }
        })
        .collect()
}

/// Where the tracing filesystem is, from `/proc/mounts`' text: the first `tracefs` mount
/// (perf-utils 0.7's `TraceFSMount`, which 1.9.1 uses; older releases read
/// `/sys/kernel/debug/tracing`).
#[must_use]
pub fn tracefs_root(mounts: &str) -> Option<std::path::PathBuf> {
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() > 3 && f[2] == "tracefs").then(|| std::path::PathBuf::from(f[1]))
    })
}

impl Tracepoints {
    fn open(flags: &[String], cpus: &[i32]) -> Result<Self, String> {
        let points = parse_tracepoints(flags)?;
        let mounts =
            std::fs::read_to_string("/proc/mounts").map_err(|e| format!("/proc/mounts: {e}"))?;
        let root = tracefs_root(&mounts).ok_or("no such mount (tracefs)")?;
        let mut events = Vec::new();
        let mut families = Vec::new();
        for (subsystem, event) in &points {
            let file = root.join("events").join(subsystem).join(event).join("id");
            let id = std::fs::read_to_string(&file).map_err(|e| {
                format!(
                    "Failed to get tracepoint config for {subsystem}:{event}: {}: {e}",
                    file.display()
                )
            })?;
            let id: u64 = id
                .trim()
                .parse()
                .map_err(|_| format!("{}: not a tracepoint id", file.display()))?;
            events.push((PERF_TYPE_TRACEPOINT, id));
            families.push((
                format!("node_perf_{subsystem}_{event}"),
                format!("Perf tracepoint {subsystem}:{event}"),
            ));
        }
        let mut groups = Vec::new();
        for &cpu in cpus {
            let files = crate::sys::perf_event_open_group(&events, cpu)
                .map_err(|e| format!("tracepoint group on CPU {cpu}: {e}"))?;
            groups.push((cpu.to_string(), files));
        }
        Ok(Self {
            families,
            groups: Mutex::new(groups),
        })
    }

    /// Reads each CPU's group: `nr`, time enabled, time running, then the values.
    fn update(&self, out: &mut Out) -> Result<(), CollectorError> {
        let mut groups = self
            .groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut buf = vec![0u8; 24 + 8 * self.families.len()];
        for (cpu, files) in groups.iter_mut() {
            let Some(leader) = files.first_mut() else {
                continue;
            };
            leader.read_exact(&mut buf).map_err(|e| {
                CollectorError::Other(format!(
                    "failed to read tracepoint profile on CPU {cpu}: {e}"
                ))
            })?;
            let word =
                |i: usize| u64::from_ne_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            let n = usize::try_from(word(0))
                .unwrap_or(0)
                .min(self.families.len());
            for (i, (name, help)) in self.families.iter().take(n).enumerate() {
                #[allow(clippy::cast_precision_loss)]
                out.counter(name, help, &[("cpu", cpu)], word(3 + i) as f64);
            }
        }
        Ok(())
    }
}

/// Parses `--collector.perf.cpus` (`0,2-5,8-16:4`).
///
/// # Errors
/// Not a CPU list.
pub fn parse_cpus(flag: &str) -> Result<Vec<i32>, String> {
    let mut cpus = Vec::new();
    for part in flag.split(',') {
        let num = |s: &str| {
            s.parse::<i32>()
                .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"))
        };
        if !part.contains('-') {
            cpus.push(num(part)?);
            continue;
        }
        let (range, stride) = match part.split_once(':') {
            Some((r, s)) => (r, num(s)?),
            None => (part, 1),
        };
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| format!("invalid flag value {flag:?}"))?;
        if range.matches('-').count() != 1 {
            return Err(format!("invalid flag value {flag:?}"));
        }
        let (a, b) = (num(a)?, num(b)?);
        let mut i = a;
        while i <= b {
            cpus.push(i);
            i += stride.max(1);
        }
    }
    Ok(cpus)
}

/// The selected events of a set: all of it when nothing is named (hardware and software,
/// as perf-utils' `All*Profilers`), else those named.
fn select<'a>(set: &'a [Event], named: &[String]) -> Vec<&'a Event> {
    let chosen: Vec<&Event> = set
        .iter()
        .filter(|e| !e.flag.is_empty() && named.iter().any(|n| n == e.flag))
        .collect();
    if named.is_empty() || chosen.is_empty() {
        set.iter().collect()
    } else {
        chosen
    }
}

impl Perf {
    /// Opens the counters chosen by `--collector.perf.*` on each CPU.
    ///
    /// # Errors
    /// A bad `--collector.perf.cpus`, or a tracepoint that cannot be opened.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let flag = |m: String| crate::Error::Collector {
            collector: "perf".into(),
            message: m,
        };
        let cpus = match opts.get("collector.perf.cpus") {
            Some(c) if !c.is_empty() => parse_cpus(c).map_err(flag)?,
            _ => {
                let n = std::thread::available_parallelism().map_or(1, usize::from);
                (0..i32::try_from(n).unwrap_or(1)).collect()
            }
        };
        // Tracepoints first, as node_exporter: one that cannot be opened stops the collector.
        let traced = opts.all("collector.perf.tracepoint");
        let tracepoints = if traced.is_empty() {
            None
        } else {
            Some(Tracepoints::open(traced, &cpus).map_err(flag)?)
        };
        let mut events: Vec<&'static Event> = Vec::new();
        if !opts.flag("collector.perf.disable-hardware-profilers", false) {
            events.extend(select(
                HARDWARE,
                opts.all("collector.perf.hardware-profilers"),
            ));
        }
        if !opts.flag("collector.perf.disable-software-profilers", false) {
            events.extend(select(
                SOFTWARE,
                opts.all("collector.perf.software-profilers"),
            ));
        }
        if !opts.flag("collector.perf.disable-cache-profilers", false) {
            let named = opts.all("collector.perf.cache-profilers");
            // A named set replaces the default one (none valid: no cache events).
            events.extend(
                CACHE
                    .iter()
                    .filter(|e| named.is_empty() || named.iter().any(|n| n == e.flag)),
            );
        }
        let mut counters = Vec::new();
        let mut refused = 0usize;
        for cpu in cpus {
            for e in &events {
                match crate::sys::perf_event_open(e.kind, e.config, cpu) {
                    Ok(f) => counters.push((cpu.to_string(), *e, f)),
                    Err(err) => {
                        refused += 1;
                        tracing::debug!(cpu, kind = e.kind, config = e.config, %err, "perf event not available");
                    }
                }
            }
        }
        if refused > 0 {
            tracing::info!(
                collector = "perf",
                opened = counters.len(),
                refused,
                "perf events the kernel refused are left out"
            );
        }
        Ok(Box::new(Self {
            counters: Mutex::new(counters),
            tracepoints,
        }))
    }
}

impl Collector for Perf {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut buf = [0u8; 24];
        for (cpu, e, f) in counters.iter_mut() {
            let Some((name, help)) = e.family else {
                continue;
            };
            // A failed read leaves the series out (perf-utils ignores it too).
            if f.read_exact(&mut buf).is_err() {
                continue;
            }
            let v = u64::from_ne_bytes(buf[..8].try_into().unwrap_or_default());
            #[allow(clippy::cast_precision_loss)]
            out.counter(name, help, &[("cpu", cpu)], v as f64);
        }
        drop(counters);
        match &self.tracepoints {
            Some(t) => t.update(out),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0"), Ok(vec![0]));
        assert_eq!(parse_cpus("0,2-4"), Ok(vec![0, 2, 3, 4]));
        assert_eq!(parse_cpus("1-10:5"), Ok(vec![1, 6]));
        assert!(parse_cpus("a").is_err());
        assert!(parse_cpus("1-2-3").is_err());
    }

    #[test]
    fn profiler_selection() {
        let named = ["ContextSwitch".to_owned()];
        let s = select(SOFTWARE, &named);
        assert_eq!(s.len(), 1);
        assert_eq!(select(SOFTWARE, &[]).len(), SOFTWARE.len());
    }

    #[test]
    fn tracepoint_flags_and_tracefs() {
        let flags = [
            "sched:sched_switch".to_owned(),
            "irq:irq_handler_entry".to_owned(),
        ];
        assert_eq!(
            parse_tracepoints(&flags).unwrap(),
            [
                ("sched".into(), "sched_switch".into()),
                ("irq".into(), "irq_handler_entry".into())
            ]
        );
        assert_eq!(
            parse_tracepoints(&["sched".to_owned()]),
            Err("invalid tracepoint config sched".into())
        );
        assert!(parse_tracepoints(&["a:b:c".to_owned()]).is_err());
        let mounts = "proc /proc proc rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\n";
        assert_eq!(
            tracefs_root(mounts),
            None,
            "debugfs alone is not used (as 1.9.1)"
        );
        let mounts =
            format!("{mounts}nodev /sys/kernel/tracing tracefs rw 0 0\nnone /t tracefs rw 0 0\n");
        assert_eq!(tracefs_root(&mounts), Some("/sys/kernel/tracing".into()));
    }
}
