//! Process and thread counts and states from /proc/[pid]/stat and /proc/[pid]/task
//! (node_exporter's `collector/processes_linux.go`).

use std::collections::BTreeMap;
use std::path::Path;

use super::util::dir_entries;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The processes collector.
pub struct Processes;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Processes))
}

/// (state, number of threads) of a `stat` file; `None` when the process is gone.
fn stat(path: &Path) -> Result<Option<(String, u64)>, CollectorError> {
    let text = match super::util::read_string(path) {
        Ok(t) => t,
        Err(e)
            if matches!(e.kind(), std::io::ErrorKind::NotFound) || e.raw_os_error() == Some(3) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(CollectorError::io(path, e)),
    };
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| CollectorError::parse(path, "no command name in parentheses"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let threads = f
        .get(17)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| CollectorError::parse(path, format!("too few fields: {}", f.len())))?;
    Ok(Some((f[0].to_owned(), threads)))
}

fn pids(dir: &Path) -> Result<Vec<(u64, std::path::PathBuf)>, CollectorError> {
    Ok(dir_entries(dir)?
        .into_iter()
        .filter_map(|(n, p)| n.parse::<u64>().ok().map(|n| (n, p)))
        .collect())
}

fn uint(path: &Path) -> Result<f64, CollectorError> {
    super::util::num(path, &read(path)?)
}

impl Collector for Processes {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let (mut count, mut threads) = (0u64, 0u64);
        let mut states: BTreeMap<String, u64> = BTreeMap::new();
        let mut thread_states: BTreeMap<String, u64> = BTreeMap::new();
        for (pid, dir) in pids(&paths.procfs)? {
            let Some((state, n)) = stat(&dir.join("stat"))? else {
                continue;
            };
            count += 1;
            threads += n;
            *states.entry(state.clone()).or_default() += 1;
            let Ok(tasks) = pids(&dir.join("task")) else {
                continue;
            };
            for (tid, tdir) in tasks {
                if tid == pid {
                    *thread_states.entry(state.clone()).or_default() += 1;
                } else if let Some((s, _)) = stat(&tdir.join("stat"))? {
                    *thread_states.entry(s).or_default() += 1;
                }
            }
        }
        out.gauge(
            "node_processes_threads",
            "Allocated threads in system",
            &[],
            threads as f64,
        );
        out.gauge(
            "node_processes_max_threads",
            "Limit of threads in the system",
            &[],
            uint(&paths.proc("sys/kernel/threads-max"))?,
        );
        for (s, n) in &states {
            out.gauge(
                "node_processes_state",
                "Number of processes in each state.",
                &[("state", s)],
                *n as f64,
            );
        }
        for (s, n) in &thread_states {
            out.gauge(
                "node_processes_threads_state",
                "Number of threads in each state.",
                &[("thread_state", s)],
                *n as f64,
            );
        }
        out.gauge("node_processes_pids", "Number of PIDs", &[], count as f64);
        out.gauge(
            "node_processes_max_processes",
            "Number of max PIDs limit",
            &[],
            uint(&paths.proc("sys/kernel/pid_max"))?,
        );
        Ok(())
    }
}
