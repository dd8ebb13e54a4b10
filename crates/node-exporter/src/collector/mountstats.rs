//! NFS client statistics from /proc/self/mountstats, with the server address from
//! /proc/self/mountinfo (node_exporter's `collector/mountstats_linux.go`, parsed as procfs's
//! `mountstats.go`).

use std::collections::HashSet;
use std::path::Path;

use super::util::proc_self;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The mountstats collector.
pub struct Mountstats;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Mountstats))
}

const MANTISSA: u64 = 1 << 53;

const BYTES: &[(&str, &str)] = &[
    (
        "read_bytes_total",
        "Number of bytes read using the read() syscall.",
    ),
    (
        "write_bytes_total",
        "Number of bytes written using the write() syscall.",
    ),
    (
        "direct_read_bytes_total",
        "Number of bytes read using the read() syscall in O_DIRECT mode.",
    ),
    (
        "direct_write_bytes_total",
        "Number of bytes written using the write() syscall in O_DIRECT mode.",
    ),
    (
        "total_read_bytes_total",
        "Number of bytes read from the NFS server, in total.",
    ),
    (
        "total_write_bytes_total",
        "Number of bytes written to the NFS server, in total.",
    ),
    (
        "read_pages_total",
        "Number of pages read directly via mmap()'d files.",
    ),
    (
        "write_pages_total",
        "Number of pages written directly via mmap()'d files.",
    ),
];

/// Events by their index in the `events:` line (18, congestion wait, is not exported).
const EVENTS: &[(usize, &str, &str)] = &[
    (
        0,
        "inode_revalidate_total",
        "Number of times cached inode attributes are re-validated from the server.",
    ),
    (
        1,
        "dnode_revalidate_total",
        "Number of times cached dentry nodes are re-validated from the server.",
    ),
    (
        2,
        "data_invalidate_total",
        "Number of times an inode cache is cleared.",
    ),
    (
        3,
        "attribute_invalidate_total",
        "Number of times cached inode attributes are invalidated.",
    ),
    (
        4,
        "vfs_open_total",
        "Number of times cached inode attributes are invalidated.",
    ),
    (
        5,
        "vfs_lookup_total",
        "Number of times a directory lookup has occurred.",
    ),
    (
        6,
        "vfs_access_total",
        "Number of times permissions have been checked.",
    ),
    (
        7,
        "vfs_update_page_total",
        "Number of updates (and potential writes) to pages.",
    ),
    (
        8,
        "vfs_read_page_total",
        "Number of pages read directly via mmap()'d files.",
    ),
    (
        9,
        "vfs_read_pages_total",
        "Number of times a group of pages have been read.",
    ),
    (
        10,
        "vfs_write_page_total",
        "Number of pages written directly via mmap()'d files.",
    ),
    (
        11,
        "vfs_write_pages_total",
        "Number of times a group of pages have been written.",
    ),
    (
        12,
        "vfs_getdents_total",
        "Number of times directory entries have been read with getdents().",
    ),
    (
        13,
        "vfs_setattr_total",
        "Number of times directory entries have been read with getdents().",
    ),
    (
        14,
        "vfs_flush_total",
        "Number of pending writes that have been forcefully flushed to the server.",
    ),
    (
        15,
        "vfs_fsync_total",
        "Number of times fsync() has been called on directories and files.",
    ),
    (
        16,
        "vfs_lock_total",
        "Number of times locking has been attempted on a file.",
    ),
    (
        17,
        "vfs_file_release_total",
        "Number of times files have been closed and released.",
    ),
    (
        19,
        "truncation_total",
        "Number of times files have been truncated.",
    ),
    (
        20,
        "write_extension_total",
        "Number of times a file has been grown due to writes beyond its existing end.",
    ),
    (
        21,
        "silly_rename_total",
        "Number of times a file was removed while still open by another process.",
    ),
    (
        22,
        "short_read_total",
        "Number of times the NFS server gave less data than expected while reading.",
    ),
    (
        23,
        "short_write_total",
        "Number of times the NFS server wrote less data than expected while writing.",
    ),
    (
        24,
        "jukebox_delay_total",
        "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage.",
    ),
    (25, "pnfs_read_total", "Number of NFS v4.1+ pNFS reads."),
    (26, "pnfs_write_total", "Number of NFS v4.1+ pNFS writes."),
];

/// Transport fields: (index in the normalised row, name, help, is counter).
const TRANSPORT: &[(usize, &str, &str, bool)] = &[
    (
        1,
        "bind_total",
        "Number of times the client has had to establish a connection from scratch to the NFS server.",
        true,
    ),
    (
        2,
        "connect_total",
        "Number of times the client has made a TCP connection to the NFS server.",
        true,
    ),
    (
        4,
        "idle_time_seconds",
        "Duration since the NFS mount last saw any RPC traffic, in seconds.",
        false,
    ),
    (
        5,
        "sends_total",
        "Number of RPC requests for this mount sent to the NFS server.",
        true,
    ),
    (
        6,
        "receives_total",
        "Number of RPC responses for this mount received from the NFS server.",
        true,
    ),
    (
        7,
        "bad_transaction_ids_total",
        "Number of times the NFS server sent a response with a transaction ID unknown to this client.",
        true,
    ),
    (
        9,
        "backlog_queue_total",
        "Total number of items added to the RPC backlog queue.",
        true,
    ),
    (
        10,
        "maximum_rpc_slots",
        "Maximum number of simultaneously active RPC requests ever used.",
        false,
    ),
    (
        11,
        "sending_queue_total",
        "Total number of items added to the RPC transmission sending queue.",
        true,
    ),
    (
        12,
        "pending_queue_total",
        "Total number of items added to the RPC transmission pending queue.",
        true,
    ),
];

/// Per-operation fields: (index, name, help, milliseconds).
const OPS: &[(usize, &str, &str, bool)] = &[
    (
        0,
        "requests_total",
        "Number of requests performed for a given operation.",
        false,
    ),
    (
        1,
        "transmissions_total",
        "Number of times an actual RPC request has been transmitted for a given operation.",
        false,
    ),
    (
        2,
        "major_timeouts_total",
        "Number of times a request has had a major timeout for a given operation.",
        false,
    ),
    (
        3,
        "sent_bytes_total",
        "Number of bytes sent for a given operation, including RPC headers and payload.",
        false,
    ),
    (
        4,
        "received_bytes_total",
        "Number of bytes received for a given operation, including RPC headers and payload.",
        false,
    ),
    (
        5,
        "queue_time_seconds_total",
        "Duration all requests spent queued for transmission for a given operation before they were sent, in seconds.",
        true,
    ),
    (
        6,
        "response_time_seconds_total",
        "Duration all requests took to get a reply back after a request for a given operation was transmitted, in seconds.",
        true,
    ),
    (
        7,
        "request_time_seconds_total",
        "Duration all requests took from when a request was enqueued to when it was completely handled for a given operation, in seconds.",
        true,
    ),
];

/// One mount's NFS statistics.
#[derive(Debug, Default)]
pub struct NfsStats {
    age: f64,
    bytes: Vec<u64>,
    events: Vec<u64>,
    /// (protocol, 13 normalised transport fields).
    transports: Vec<(String, Vec<u64>)>,
    ops: Vec<(String, Vec<u64>)>,
}

/// A `device ... mounted on ... with fstype ...` entry, with NFS statistics where given.
#[derive(Debug)]
pub struct Mount {
    device: String,
    stats: Option<NfsStats>,
}

fn nums(path: &Path, ss: &[&str]) -> Result<Vec<u64>, CollectorError> {
    ss.iter()
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| CollectorError::parse(path, format!("invalid number {s:?}")))
        })
        .collect()
}

fn transport(
    path: &Path,
    ss: &[&str],
    version: &str,
) -> Result<(String, Vec<u64>), CollectorError> {
    let proto = ss[0];
    let rest = &ss[1..];
    let bad = || {
        CollectorError::parse(
            path,
            format!("invalid NFS transport stats {version}: {ss:?}"),
        )
    };
    let want = match (version, proto) {
        ("1.0", "tcp") => 10,
        ("1.0", "udp") => 7,
        ("1.1", "tcp") => 13,
        ("1.1", "udp") => 10,
        ("1.1", "rdma") => 20,
        _ => return Err(bad()),
    };
    if (proto == "rdma" && rest.len() < want) || (proto != "rdma" && rest.len() != want) {
        return Err(bad());
    }
    let mut ns = nums(path, rest)?;
    ns.resize(ns.len().max(13), 0);
    let ns = match proto {
        // udp has no connect, connect idle time or idle time.
        "udp" => {
            let mut v = ns[..2].to_vec();
            v.extend([0, 0, 0]);
            v.extend_from_slice(&ns[2..]);
            v
        }
        "rdma" => {
            let mut v = ns[..10].to_vec();
            v.extend([0, 0, 0]);
            v.extend_from_slice(&ns[10..]);
            v
        }
        _ => ns,
    };
    Ok((proto.to_owned(), ns))
}

/// Parses /proc/self/mountstats.
///
/// # Errors
/// A malformed device entry or statistics line.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Mount>, CollectorError> {
    let mut mounts = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        if ss.first() != Some(&"device") {
            continue;
        }
        if ss.len() < 8
            || ss[2] != "mounted"
            || ss[3] != "on"
            || ss[5] != "with"
            || ss[6] != "fstype"
        {
            return Err(CollectorError::parse(
                path,
                format!("invalid device {line:?}"),
            ));
        }
        let mut m = Mount {
            device: ss[1].to_owned(),
            stats: None,
        };
        if ss.len() > 8 {
            if ss[7] != "nfs" && ss[7] != "nfs4" {
                return Err(CollectorError::parse(
                    path,
                    format!("cannot parse MountStats for {:?}", ss[7]),
                ));
            }
            let version = ss[8].trim_start_matches("statvers=");
            let mut st = NfsStats::default();
            let mut per_op = false;
            for line in lines.by_ref() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.is_empty() {
                    break;
                }
                if per_op {
                    if f.len() < 9 {
                        return Err(CollectorError::parse(
                            path,
                            format!("invalid NFS per-operations stats: {line:?}"),
                        ));
                    }
                    st.ops
                        .push((f[0].trim_end_matches(':').to_owned(), nums(path, &f[1..])?));
                    continue;
                }
                let incomplete = || {
                    CollectorError::parse(
                        path,
                        format!("incomplete information for NFS stats: {line:?}"),
                    )
                };
                match f[0] {
                    "age:" => {
                        st.age = f
                            .get(1)
                            .and_then(|s| s.parse().ok())
                            .ok_or_else(incomplete)?;
                    }
                    "bytes:" => {
                        if f.len() != 9 {
                            return Err(CollectorError::parse(
                                path,
                                format!("invalid NFS bytes stats: {line:?}"),
                            ));
                        }
                        st.bytes = nums(path, &f[1..])?;
                    }
                    "events:" => {
                        if f.len() != 28 {
                            return Err(CollectorError::parse(
                                path,
                                format!("invalid NFS events stats: {line:?}"),
                            ));
                        }
                        st.events = nums(path, &f[1..])?;
                    }
                    "xprt:" => {
                        if f.len() < 3 {
                            return Err(incomplete());
                        }
                        st.transports.push(transport(path, &f[1..], version)?);
                    }
                    "per-op" => per_op = true,
                    _ => {}
                }
            }
            m.stats = Some(st);
        }
        mounts.push(m);
    }
    Ok(mounts)
}

/// The `addr=` super option of each mountinfo line, in order.
fn mount_addrs(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let after = l.split(" - ").nth(1).unwrap_or("");
            let opts = after.split_whitespace().nth(2).unwrap_or("");
            opts.split(',')
                .find_map(|o| o.strip_prefix("addr="))
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

impl Collector for Mountstats {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let dir = proc_self(paths);
        let path = dir.join("mountstats");
        let mounts = parse(&path, &read(&path)?)?;
        let addrs = mount_addrs(&read(&dir.join("mountinfo"))?);
        let mut seen = HashSet::new();
        for (i, m) in mounts.iter().enumerate() {
            let Some(st) = &m.stats else { continue };
            let addr = addrs.get(i).map_or("", String::as_str);
            for (proto, _) in &st.transports {
                if !seen.insert((m.device.clone(), proto.clone(), addr.to_owned())) {
                    break;
                }
                emit(out, st, &m.device, proto, addr);
            }
        }
        Ok(())
    }
}

#[allow(clippy::cast_precision_loss)]
fn emit(out: &mut Out, st: &NfsStats, export: &str, proto: &str, addr: &str) {
    let l = [("export", export), ("protocol", proto), ("mountaddr", addr)];
    let name = |n: &str| format!("node_mountstats_nfs_{n}");
    out.counter(
        &name("age_seconds_total"),
        "The age of the NFS mount in seconds.",
        &l,
        st.age,
    );
    for (i, (n, help)) in BYTES.iter().enumerate() {
        out.counter(
            &name(n),
            help,
            &l,
            st.bytes.get(i).copied().unwrap_or(0) as f64,
        );
    }
    for (_, t) in &st.transports {
        for (i, n, help, counter) in TRANSPORT {
            let mut v = t.get(*i).copied().unwrap_or(0);
            if *n == "idle_time_seconds" {
                v %= MANTISSA;
            }
            let n = name(&format!("transport_{n}"));
            if *counter {
                out.counter(&n, help, &l, v as f64);
            } else {
                out.gauge(&n, help, &l, v as f64);
            }
        }
    }
    for (op, v) in &st.ops {
        let ol = [
            ("export", export),
            ("protocol", proto),
            ("mountaddr", addr),
            ("operation", op.as_str()),
        ];
        for (i, n, help, ms) in OPS {
            let x = v.get(*i).copied().unwrap_or(0);
            let value = if *ms {
                (x % MANTISSA) as f64 / 1000.0
            } else {
                x as f64
            };
            out.counter(&name(&format!("operations_{n}")), help, &ol, value);
        }
    }
    for (i, n, help) in EVENTS {
        out.counter(
            &name(&format!("event_{n}")),
            help,
            &l,
            st.events.get(*i).copied().unwrap_or(0) as f64,
        );
    }
}
