//! The process collector (client_golang's `process_collector_procfs.go`): CPU time, file
//! descriptors, memory and start time of this process from `/proc/self`, with the page size
//! and clock ticks asked of the system.

use model::exposition::MetricFamily;

use crate::Collector;
use crate::family::{counter, gauge};

/// Reports `process_*` as Prometheus 2.42 (client_golang 1.14) does. A figure that cannot
/// be read is left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCollector;

impl ProcessCollector {
    /// The collector for this process.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

/// A limit as prometheus/procfs reports it: `unlimited` is the largest `uint64`.
#[allow(clippy::cast_precision_loss)]
fn limit(v: procfs::process::LimitValue) -> f64 {
    match v {
        procfs::process::LimitValue::Unlimited => u64::MAX as f64,
        procfs::process::LimitValue::Value(n) => n as f64,
    }
}

impl Collector for ProcessCollector {
    #[allow(clippy::cast_precision_loss)]
    fn collect(&self, out: &mut Vec<MetricFamily>) {
        let Ok(me) = procfs::process::Process::myself() else {
            return;
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            out.push(counter(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                (stat.utime + stat.stime) as f64 / ticks,
            ));
            out.push(gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stat.vsize as f64,
            ));
            out.push(gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                (stat.rss * procfs::page_size()) as f64,
            ));
            if let Ok(boot) = procfs::boot_time_secs() {
                out.push(gauge(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    boot as f64 + stat.starttime as f64 / ticks,
                ));
            }
        }
        if let Ok(n) = me.fd_count() {
            out.push(gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                n as f64,
            ));
        }
        if let Ok(limits) = me.limits() {
            out.push(gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                limit(limits.max_open_files.soft_limit),
            ));
            out.push(gauge(
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
                limit(limits.max_address_space.soft_limit),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(families: &[MetricFamily], name: &str) -> f64 {
        families
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .samples[0]
            .value
    }

    #[test]
    fn reads_this_process() {
        let mut out = Vec::new();
        ProcessCollector::new().collect(&mut out);
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        let rss = value(&out, "process_resident_memory_bytes");
        // The page size comes from the system: RSS is a whole number of pages of it.
        #[allow(clippy::cast_precision_loss)]
        let page = procfs::page_size() as f64;
        assert!(rss > 0.0 && (rss / page).fract() == 0.0);
        assert!(
            (rss / page - pages).abs() < 2_048.0,
            "rss {rss}, statm pages {pages}"
        );
        let fds = value(&out, "process_open_fds");
        let opened = std::fs::File::open("/proc/self/stat").unwrap();
        let mut more = Vec::new();
        ProcessCollector::new().collect(&mut more);
        assert!(value(&more, "process_open_fds") > fds - 1.0);
        drop(opened);
        let start = value(&out, "process_start_time_seconds");
        let now = crate::unix_seconds_now();
        assert!(
            start > now - 3_600.0 && start <= now + 1.0,
            "start {start}, now {now}"
        );
        assert!(value(&out, "process_max_fds") >= 1.0);
        assert!(value(&out, "process_virtual_memory_bytes") >= rss);
        assert!(value(&out, "process_cpu_seconds_total") >= 0.0);
        assert!(value(&out, "process_virtual_memory_max_bytes") > 0.0);
    }
}
