//! NFS server statistics from /proc/net/rpc/nfsd (node_exporter's `collector/nfsd_linux.go`,
//! parsed as procfs's `nfs/parse_nfsd.go`).

use super::nfs::{V2, V3, fixed, parse_lines, proc_values};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// `proc4ops` names in order (procfs's `V4Ops`), `None` for those not exported.
const V4_OPS: &[Option<&str>] = &[
    None,
    None,
    None,
    Some("Access"),
    Some("Close"),
    Some("Commit"),
    Some("Create"),
    Some("DelegPurge"),
    Some("DelegReturn"),
    Some("GetAttr"),
    Some("GetFH"),
    Some("Link"),
    Some("Lock"),
    Some("Lockt"),
    Some("Locku"),
    Some("Lookup"),
    Some("LookupRoot"),
    Some("Nverify"),
    Some("Open"),
    Some("OpenAttr"),
    Some("OpenConfirm"),
    Some("OpenDgrd"),
    Some("PutFH"),
    None,
    None,
    Some("Read"),
    Some("ReadDir"),
    Some("ReadLink"),
    Some("Remove"),
    Some("Rename"),
    Some("Renew"),
    Some("RestoreFH"),
    Some("SaveFH"),
    Some("SecInfo"),
    Some("SetAttr"),
    Some("SetClientID"),
    Some("SetClientIDConfirm"),
    Some("Verify"),
    Some("Write"),
    Some("RelLockOwner"),
];

const KNOWN: &[&str] = &[
    "rc",
    "fh",
    "io",
    "th",
    "ra",
    "net",
    "rpc",
    "proc2",
    "proc3",
    "proc4",
    "proc4ops",
    "wdeleg_getattr",
];

/// The nfsd collector.
pub struct Nfsd;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Nfsd))
}

impl Collector for Nfsd {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("net/rpc/nfsd");
        let text = super::read_or_no_data(&path)?;
        let m = parse_lines(&path, &text)?;
        if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(CollectorError::parse(
                &path,
                format!("unknown NFSd metric line {k:?}"),
            ));
        }
        let get = |label: &str, len: usize| -> Result<Vec<u64>, CollectorError> {
            Ok(fixed(&path, &m, label, len)?.map_or_else(|| vec![0; len], <[u64]>::to_vec))
        };
        let rc = get("rc", 3)?;
        let fh = get("fh", 5)?;
        let io = get("io", 2)?;
        let th = get("th", 2)?;
        let ra = get("ra", 12)?;
        let net = get("net", 4)?;
        let rpc = get("rpc", 5)?;
        let c =
            |out: &mut Out, name: &str, help: &str, v: u64| out.counter(name, help, &[], v as f64);
        c(
            out,
            "node_nfsd_reply_cache_hits_total",
            "Total number of NFSd Reply Cache hits (client lost server response).",
            rc[0],
        );
        c(
            out,
            "node_nfsd_reply_cache_misses_total",
            "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
            rc[1],
        );
        c(
            out,
            "node_nfsd_reply_cache_nocache_total",
            "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
            rc[2],
        );
        c(
            out,
            "node_nfsd_file_handles_stale_total",
            "Total number of NFSd stale file handles",
            fh[0],
        );
        c(
            out,
            "node_nfsd_disk_bytes_read_total",
            "Total NFSd bytes read.",
            io[0],
        );
        c(
            out,
            "node_nfsd_disk_bytes_written_total",
            "Total NFSd bytes written.",
            io[1],
        );
        out.gauge(
            "node_nfsd_server_threads",
            "Total number of NFSd kernel threads that are running.",
            &[],
            th[0] as f64,
        );
        out.gauge(
            "node_nfsd_read_ahead_cache_size_blocks",
            "How large the read ahead cache is in blocks.",
            &[],
            ra[0] as f64,
        );
        c(
            out,
            "node_nfsd_read_ahead_cache_not_found_total",
            "Total number of NFSd read ahead cache not found.",
            ra[11],
        );
        let help = "Total NFSd network packets (sent+received) by protocol type.";
        out.counter(
            "node_nfsd_packets_total",
            help,
            &[("proto", "udp")],
            net[1] as f64,
        );
        out.counter(
            "node_nfsd_packets_total",
            help,
            &[("proto", "tcp")],
            net[2] as f64,
        );
        c(
            out,
            "node_nfsd_connections_total",
            "Total number of NFSd TCP connections.",
            net[3],
        );
        let help = "Total number of NFSd RPC errors by error type.";
        for (i, e) in [(2, "fmt"), (3, "auth"), (4, "cInt")] {
            out.counter(
                "node_nfsd_rpc_errors_total",
                help,
                &[("error", e)],
                rpc[i] as f64,
            );
        }
        c(
            out,
            "node_nfsd_server_rpcs_total",
            "Total number of NFSd RPCs.",
            rpc[0],
        );
        let req = |out: &mut Out, proto: &str, method: &str, v: u64| {
            out.counter(
                "node_nfsd_requests_total",
                "Total number NFSd Requests by method and protocol.",
                &[("proto", proto), ("method", method)],
                v as f64,
            );
        };
        let v2 = m
            .get("proc2")
            .map(|v| proc_values(&path, "V2Stats", v, 18, false))
            .transpose()?
            .unwrap_or_else(|| vec![0; 18]);
        for (name, v) in V2.iter().zip(&v2).skip(1) {
            req(out, "2", name, *v);
        }
        let v3 = m
            .get("proc3")
            .map(|v| proc_values(&path, "V3Stats", v, 22, false))
            .transpose()?
            .unwrap_or_else(|| vec![0; 22]);
        for (name, v) in V3.iter().zip(&v3).skip(1) {
            req(out, "3", name, *v);
        }
        if let Some(v) = m.get("proc4") {
            proc_values(&path, "ServerV4Stats", v, 2, false)?;
        }
        let ops = m
            .get("proc4ops")
            .map(|v| proc_values(&path, "V4Ops", v, 39, false))
            .transpose()?
            .unwrap_or_else(|| vec![0; 40]);
        for (i, name) in V4_OPS.iter().enumerate() {
            if let Some(name) = name {
                req(out, "4", name, ops.get(i).copied().unwrap_or(0));
            }
        }
        req(
            out,
            "4",
            "WdelegGetattr",
            m.get("wdeleg_getattr")
                .and_then(|v| v.first())
                .copied()
                .unwrap_or(0),
        );
        Ok(())
    }
}
