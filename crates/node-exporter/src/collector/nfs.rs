//! NFS client RPC statistics from /proc/net/rpc/nfs (node_exporter's `collector/nfs_linux.go`,
//! parsed as procfs's `nfs/parse_nfs.go`), and the line parsing shared with nfsd.

use std::collections::HashMap;
use std::path::Path;

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// Procedure names of `proc2` in order (procfs's `V2Stats`).
pub const V2: &[&str] = &[
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];
/// Procedure names of `proc3` in order (procfs's `V3Stats`).
pub const V3: &[&str] = &[
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];
/// Client `proc4` names in order (procfs's `ClientV4Stats`).
const CLIENT_V4: &[&str] = &[
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "LayoutGet",
    "GetDeviceInfo",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// The lines of an rpc statistics file: label → numbers (only the first two for `th`).
///
/// # Errors
/// A line with fewer than two fields or a value that is not an unsigned integer.
pub fn parse_lines(path: &Path, text: &str) -> Result<HashMap<String, Vec<u64>>, CollectorError> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 2 {
            return Err(CollectorError::parse(
                path,
                format!("invalid NFS metric line {line:?}"),
            ));
        }
        let vals = if parts[0] == "th" {
            &parts[1..parts.len().min(3)]
        } else {
            &parts[1..]
        };
        let nums = vals
            .iter()
            .map(|s| s.parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                CollectorError::parse(path, format!("error parsing NFS metric line {line:?}"))
            })?;
        m.insert(parts[0].to_owned(), nums);
    }
    Ok(m)
}

/// Checks the count prefix of a `procN` line and returns the values, padded to `min`.
///
/// # Errors
/// The count disagrees with the values, or too few values.
pub fn proc_values(
    path: &Path,
    label: &str,
    v: &[u64],
    min: usize,
    pad: bool,
) -> Result<Vec<u64>, CollectorError> {
    let n = usize::try_from(v.first().copied().unwrap_or(0)).unwrap_or(usize::MAX);
    if v.len().saturating_sub(1) != n || (!pad && n < min) {
        return Err(CollectorError::parse(
            path,
            format!("invalid {label} line {v:?}"),
        ));
    }
    let mut out = v[1..].to_vec();
    if out.len() < min {
        out.resize(min, 0);
    }
    Ok(out)
}

/// Exact length check for fixed lines (`net`, `rpc`, ...).
///
/// # Errors
/// Wrong length.
pub fn fixed<'a>(
    path: &Path,
    m: &'a HashMap<String, Vec<u64>>,
    label: &str,
    len: usize,
) -> Result<Option<&'a [u64]>, CollectorError> {
    match m.get(label) {
        None => Ok(None),
        Some(v) if v.len() == len => Ok(Some(v)),
        Some(v) => Err(CollectorError::parse(
            path,
            format!("invalid {label} line {v:?}"),
        )),
    }
}

/// The nfs collector.
pub struct Nfs;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Nfs))
}

impl Collector for Nfs {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("net/rpc/nfs");
        let text = super::read_or_no_data(&path)?;
        let m = parse_lines(&path, &text)?;
        if let Some(k) = m
            .keys()
            .find(|k| !["net", "rpc", "proc2", "proc3", "proc4"].contains(&k.as_str()))
        {
            return Err(CollectorError::parse(
                &path,
                format!("unknown NFS metric line {k:?}"),
            ));
        }
        let net = fixed(&path, &m, "net", 4)?.map_or([0; 4], |v| [v[0], v[1], v[2], v[3]]);
        let rpc = fixed(&path, &m, "rpc", 3)?.map_or([0; 3], |v| [v[0], v[1], v[2]]);
        let v2 = m
            .get("proc2")
            .map(|v| proc_values(&path, "V2Stats", v, 18, false))
            .transpose()?
            .unwrap_or_else(|| vec![0; 18]);
        let v3 = m
            .get("proc3")
            .map(|v| proc_values(&path, "V3Stats", v, 22, false))
            .transpose()?
            .unwrap_or_else(|| vec![0; 22]);
        let v4 = m
            .get("proc4")
            .map(|v| proc_values(&path, "ClientV4Stats", v, 59, true))
            .transpose()?
            .unwrap_or_else(|| vec![0; 59]);
        let help = "Total NFSd network packets (sent+received) by protocol type.";
        out.counter(
            "node_nfs_packets_total",
            help,
            &[("protocol", "udp")],
            net[1] as f64,
        );
        out.counter(
            "node_nfs_packets_total",
            help,
            &[("protocol", "tcp")],
            net[2] as f64,
        );
        out.counter(
            "node_nfs_connections_total",
            "Total number of NFSd TCP connections.",
            &[],
            net[3] as f64,
        );
        out.counter(
            "node_nfs_rpcs_total",
            "Total number of RPCs performed.",
            &[],
            rpc[0] as f64,
        );
        out.counter(
            "node_nfs_rpc_retransmissions_total",
            "Number of RPC transmissions performed.",
            &[],
            rpc[1] as f64,
        );
        out.counter(
            "node_nfs_rpc_authentication_refreshes_total",
            "Number of RPC authentication refreshes performed.",
            &[],
            rpc[2] as f64,
        );
        for (proto, names, vals) in [("2", V2, &v2), ("3", V3, &v3), ("4", CLIENT_V4, &v4)] {
            for (name, v) in names.iter().zip(vals.iter()) {
                out.counter(
                    "node_nfs_requests_total",
                    "Number of NFS procedures invoked.",
                    &[("proto", proto), ("method", name)],
                    *v as f64,
                );
            }
        }
        Ok(())
    }
}
