//! A cgroup's block I/O counters per device, as runc's `fs2/io.go` (cgroup v2 `io.stat`) and
//! `fs/blkio.go` (cgroup v1 `blkio.*` files: BFQ, then CFQ, then the throttle files) read them
//! and cAdvisor's `container/libcontainer/helpers.go` (`diskStatsCopy`) groups them by device.

use std::collections::BTreeMap;
use std::path::Path;

/// One device's values of one table, by operation (`Read`, `Write`, `Total`, `Count`...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerDisk {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Value by operation; a line without one is `Count`.
    pub stats: BTreeMap<String, u64>,
}

impl PerDisk {
    /// The value of `op`, 0 when the table has none (as a Go map lookup).
    #[must_use]
    pub fn get(&self, op: &str) -> u64 {
        self.stats.get(op).copied().unwrap_or(0)
    }
}

/// One cgroup's block I/O tables (runc's `BlkioStats`, recursive variants).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskIo {
    /// Bytes transferred (`rbytes`/`wbytes`, `io_service_bytes`).
    pub service_bytes: Vec<PerDisk>,
    /// Operations completed (`rios`/`wios`, `io_serviced`).
    pub serviced: Vec<PerDisk>,
    /// Operations merged (v1 BFQ/CFQ `io_merged`).
    pub merged: Vec<PerDisk>,
    /// Service time in nanoseconds (v1 BFQ/CFQ `io_service_time`).
    pub service_time: Vec<PerDisk>,
    /// Operations queued (v1 BFQ/CFQ `io_queued`).
    pub queued: Vec<PerDisk>,
    /// Sectors (v1 BFQ/CFQ `sectors`).
    pub sectors: Vec<PerDisk>,
    /// IOCost usage in microseconds (`cost.usage`).
    pub cost_usage: Vec<PerDisk>,
    /// IOCost wait in microseconds (`cost.wait`).
    pub cost_wait: Vec<PerDisk>,
    /// IOCost debt in microseconds (`cost.indebt`).
    pub cost_indebt: Vec<PerDisk>,
    /// IOCost delay in microseconds (`cost.indelay`).
    pub cost_indelay: Vec<PerDisk>,
}

/// Adds `value` for `op` of device `major:minor` to `table`.
fn put(table: &mut Vec<PerDisk>, major: u64, minor: u64, op: &str, value: u64) {
    let i = if let Some(i) = table
        .iter()
        .position(|d| d.major == major && d.minor == minor)
    {
        i
    } else {
        table.push(PerDisk {
            major,
            minor,
            stats: BTreeMap::new(),
        });
        table.len() - 1
    };
    table[i].stats.insert(op.to_owned(), value);
}

fn parse_dev(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// cgroup v2 `io.stat`: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..` and,
/// with the io.cost controller, `cost.usage=..` etc. `None` when the file is missing; a
/// malformed line is skipped (logged).
#[must_use]
pub fn read_v2(dir: &Path) -> Option<DiskIo> {
    let path = dir.join("io.stat");
    let text = std::fs::read_to_string(&path).ok()?;
    let mut io = DiskIo::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(parse_dev) else {
            if !line.trim().is_empty() {
                tracing::debug!(file = %path.display(), line, "malformed io.stat line");
            }
            continue;
        };
        for item in fields {
            let Some((key, value)) = item.split_once('=') else {
                continue;
            };
            let (table, op) = match key {
                "rbytes" => (&mut io.service_bytes, "Read"),
                "wbytes" => (&mut io.service_bytes, "Write"),
                "rios" => (&mut io.serviced, "Read"),
                "wios" => (&mut io.serviced, "Write"),
                "cost.usage" => (&mut io.cost_usage, "Count"),
                "cost.wait" => (&mut io.cost_wait, "Count"),
                "cost.indebt" => (&mut io.cost_indebt, "Count"),
                "cost.indelay" => (&mut io.cost_indelay, "Count"),
                _ => continue,
            };
            match value.parse() {
                Ok(v) => put(table, major, minor, op, v),
                Err(_) => tracing::debug!(file = %path.display(), item, "malformed io.stat value"),
            }
        }
    }
    Some(io)
}

/// One v1 blkio file: `MAJ:MIN Op value` or `MAJ:MIN value` lines (a `Total` line skipped).
/// `None` when missing, malformed or without any device line (runc then tries the next group).
fn read_v1_file(path: &Path) -> Option<Vec<(u64, u64, String, u64)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split([' ', ':']).filter(|f| !f.is_empty()).collect();
        match fields.as_slice() {
            [] | ["Total", _] => {}
            [major, minor, value] | [major, minor, _, value]
                if major.parse::<u64>().is_ok() && minor.parse::<u64>().is_ok() =>
            {
                let op = if fields.len() == 4 {
                    fields[2]
                } else {
                    "Count"
                };
                let Ok(v) = value.parse() else {
                    tracing::debug!(file = %path.display(), line, "malformed blkio line");
                    return None;
                };
                out.push((major.parse().ok()?, minor.parse().ok()?, op.to_owned(), v));
            }
            _ => {
                tracing::debug!(file = %path.display(), line, "malformed blkio line");
                return None;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Which table a v1 file fills.
#[derive(Clone, Copy)]
enum Table {
    Sectors,
    ServiceTime,
    WaitTime,
    Merged,
    Queued,
    Time,
    Serviced,
    ServiceBytes,
}

/// cgroup v1 blkio: the first group (BFQ debug, BFQ, CFQ, throttle recursive, throttle) whose
/// first file has device lines, read until a file of it has none, as runc does.
#[must_use]
pub fn read_v1(dir: &Path) -> Option<DiskIo> {
    use Table::{Merged, Queued, Sectors, ServiceBytes, ServiceTime, Serviced, Time, WaitTime};
    const BFQ_DEBUG: &[(&str, Table)] = &[
        ("blkio.bfq.sectors_recursive", Sectors),
        ("blkio.bfq.io_service_time_recursive", ServiceTime),
        ("blkio.bfq.io_wait_time_recursive", WaitTime),
        ("blkio.bfq.io_merged_recursive", Merged),
        ("blkio.bfq.io_queued_recursive", Queued),
        ("blkio.bfq.time_recursive", Time),
        ("blkio.bfq.io_serviced_recursive", Serviced),
        ("blkio.bfq.io_service_bytes_recursive", ServiceBytes),
    ];
    const BFQ: &[(&str, Table)] = &[
        ("blkio.bfq.io_serviced_recursive", Serviced),
        ("blkio.bfq.io_service_bytes_recursive", ServiceBytes),
    ];
    const CFQ: &[(&str, Table)] = &[
        ("blkio.sectors_recursive", Sectors),
        ("blkio.io_service_time_recursive", ServiceTime),
        ("blkio.io_wait_time_recursive", WaitTime),
        ("blkio.io_merged_recursive", Merged),
        ("blkio.io_queued_recursive", Queued),
        ("blkio.time_recursive", Time),
        ("blkio.io_serviced_recursive", Serviced),
        ("blkio.io_service_bytes_recursive", ServiceBytes),
    ];
    const THROTTLE_RECURSIVE: &[(&str, Table)] = &[
        ("blkio.throttle.io_serviced_recursive", Serviced),
        ("blkio.throttle.io_service_bytes_recursive", ServiceBytes),
    ];
    const THROTTLE: &[(&str, Table)] = &[
        ("blkio.throttle.io_serviced", Serviced),
        ("blkio.throttle.io_service_bytes", ServiceBytes),
    ];
    if !dir.is_dir() {
        return None;
    }
    let mut io = DiskIo::default();
    for group in [BFQ_DEBUG, BFQ, CFQ, THROTTLE_RECURSIVE, THROTTLE] {
        for (i, (file, table)) in group.iter().enumerate() {
            let Some(entries) = read_v1_file(&dir.join(file)) else {
                if i == 0 {
                    break;
                }
                return Some(io);
            };
            let target = match table {
                Sectors => &mut io.sectors,
                ServiceTime => &mut io.service_time,
                Merged => &mut io.merged,
                Queued => &mut io.queued,
                Serviced => &mut io.serviced,
                ServiceBytes => &mut io.service_bytes,
                // cAdvisor exports neither wait time nor `time` per device.
                WaitTime | Time => continue,
            };
            for (major, minor, op, v) in entries {
                put(target, major, minor, &op, v);
            }
            if i == group.len() - 1 {
                return Some(io);
            }
        }
    }
    Some(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        for (text, want) in [
            (
                "8:0 Read 10\n8:0 Write 20\nTotal 30\n",
                Some(vec![(8, 0, "Read", 10), (8, 0, "Write", 20)]),
            ),
            ("8:16 44\n", Some(vec![(8, 16, "Count", 44)])),
            ("Total 0\n", None),
            ("", None),
            ("8:0 Read x\n", None),
            ("garbage\n", None),
        ] {
            std::fs::write(&p, text).unwrap();
            let got = read_v1_file(&p);
            let want = want.map(|v| {
                v.into_iter()
                    .map(|(a, b, op, v)| (a, b, op.to_owned(), v))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, want, "{text:?}");
        }
    }
}
