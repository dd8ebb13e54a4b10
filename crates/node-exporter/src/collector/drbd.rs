//! DRBD devices from /proc/drbd (node_exporter's `collector/drbd_linux.go`): `key:value`
//! words after each `N:` device marker.

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The drbd collector.
pub struct Drbd;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Drbd))
}

/// (key, metric, help, counter, multiplier).
const NUMERICAL: &[(&str, &str, &str, bool, f64)] = &[
    (
        "ns",
        "network_sent_bytes_total",
        "Total number of bytes sent via the network.",
        true,
        1024.0,
    ),
    (
        "nr",
        "network_received_bytes_total",
        "Total number of bytes received via the network.",
        true,
        1.0,
    ),
    (
        "dw",
        "disk_written_bytes_total",
        "Net data written on local hard disk; in bytes.",
        true,
        1024.0,
    ),
    (
        "dr",
        "disk_read_bytes_total",
        "Net data read from local hard disk; in bytes.",
        true,
        1024.0,
    ),
    (
        "al",
        "activitylog_writes_total",
        "Number of updates of the activity log area of the meta data.",
        true,
        1.0,
    ),
    (
        "bm",
        "bitmap_writes_total",
        "Number of updates of the bitmap area of the meta data.",
        true,
        1.0,
    ),
    (
        "lo",
        "local_pending",
        "Number of open requests to the local I/O sub-system.",
        false,
        1.0,
    ),
    (
        "pe",
        "remote_pending",
        "Number of requests sent to the peer, but that have not yet been answered by the latter.",
        false,
        1.0,
    ),
    (
        "ua",
        "remote_unacknowledged",
        "Number of requests received by the peer via the network connection, but that have not yet been answered.",
        false,
        1.0,
    ),
    (
        "ap",
        "application_pending",
        "Number of block I/O requests forwarded to DRBD, but not yet answered by DRBD.",
        false,
        1.0,
    ),
    (
        "ep",
        "epochs",
        "Number of Epochs currently on the fly.",
        false,
        1.0,
    ),
    (
        "oos",
        "out_of_sync_bytes",
        "Amount of data known to be out of sync; in bytes.",
        false,
        1024.0,
    ),
];

impl Collector for Drbd {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("drbd");
        let text = super::read_or_no_data(&path)?;
        let mut device = "unknown".to_owned();
        for word in text.split_whitespace() {
            let kv: Vec<&str> = word.split(':').collect();
            if kv.len() != 2 {
                continue;
            }
            let (k, v) = (kv[0], kv[1]);
            if v.is_empty()
                && let Ok(id) = k.parse::<u64>()
            {
                device = format!("drbd{id}");
                continue;
            }
            let d = [("device", device.as_str())];
            if let Some((_, metric, help, counter, mul)) = NUMERICAL.iter().find(|n| n.0 == k) {
                let x = super::util::num(&path, v)? * mul;
                let m = format!("node_drbd_{metric}");
                if *counter {
                    out.counter(&m, help, &d, x);
                } else {
                    out.gauge(&m, help, &d, x);
                }
                continue;
            }
            let pair = match k {
                "ro" => Some((
                    "node_drbd_node_role_is_primary",
                    "Whether the role of the node is in the primary state.",
                    "Primary",
                )),
                "ds" => Some((
                    "node_drbd_disk_state_is_up_to_date",
                    "Whether the disk of the node is up to date.",
                    "UpToDate",
                )),
                _ => None,
            };
            if let Some((metric, help, ok)) = pair {
                let vals: Vec<&str> = v.split('/').collect();
                for (i, node) in ["local", "remote"].iter().enumerate() {
                    let is = vals.get(i).is_some_and(|x| *x == ok);
                    out.gauge(
                        metric,
                        help,
                        &[("device", &device), ("node", node)],
                        if is { 1.0 } else { 0.0 },
                    );
                }
                continue;
            }
            if k == "cs" {
                out.gauge(
                    "node_drbd_connected",
                    "Whether DRBD is connected to the peer.",
                    &d,
                    if v == "Connected" { 1.0 } else { 0.0 },
                );
            }
        }
        Ok(())
    }
}
