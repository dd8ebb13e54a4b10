//! InfiniBand devices from /sys/class/infiniband (node_exporter's
//! `collector/infiniband_linux.go`, read as procfs's `sysfs/class_infiniband.go`).

use std::path::Path;

use super::util::{attr, dir_entries, dir_entries_opt};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The infiniband collector.
pub struct Infiniband;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Infiniband))
}

/// (directory, file, metric, help, multiplier).
const COUNTERS: &[(&str, &str, &str, &str, u64)] = &[
    (
        "counters_ext",
        "port_multicast_rcv_packets",
        "legacy_multicast_packets_received_total",
        "Number of multicast packets received",
        1,
    ),
    (
        "counters_ext",
        "port_multicast_xmit_packets",
        "legacy_multicast_packets_transmitted_total",
        "Number of multicast packets transmitted",
        1,
    ),
    (
        "counters_ext",
        "port_rcv_data_64",
        "legacy_data_received_bytes_total",
        "Number of data octets received on all links",
        4,
    ),
    (
        "counters_ext",
        "port_rcv_packets_64",
        "legacy_packets_received_total",
        "Number of data packets received on all links",
        1,
    ),
    (
        "counters_ext",
        "port_unicast_rcv_packets",
        "legacy_unicast_packets_received_total",
        "Number of unicast packets received",
        1,
    ),
    (
        "counters_ext",
        "port_unicast_xmit_packets",
        "legacy_unicast_packets_transmitted_total",
        "Number of unicast packets transmitted",
        1,
    ),
    (
        "counters_ext",
        "port_xmit_data_64",
        "legacy_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        4,
    ),
    (
        "counters_ext",
        "port_xmit_packets_64",
        "legacy_packets_transmitted_total",
        "Number of data packets received on all links",
        1,
    ),
    (
        "counters",
        "excessive_buffer_overrun_errors",
        "excessive_buffer_overrun_errors_total",
        "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
        1,
    ),
    (
        "counters",
        "link_downed",
        "link_downed_total",
        "Number of times the link failed to recover from an error state and went down",
        1,
    ),
    (
        "counters",
        "link_error_recovery",
        "link_error_recovery_total",
        "Number of times the link successfully recovered from an error state",
        1,
    ),
    (
        "counters",
        "local_link_integrity_errors",
        "local_link_integrity_errors_total",
        "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
        1,
    ),
    (
        "counters",
        "multicast_rcv_packets",
        "multicast_packets_received_total",
        "Number of multicast packets received (including errors)",
        1,
    ),
    (
        "counters",
        "multicast_xmit_packets",
        "multicast_packets_transmitted_total",
        "Number of multicast packets transmitted (including errors)",
        1,
    ),
    (
        "counters",
        "port_rcv_constraint_errors",
        "port_constraint_errors_received_total",
        "Number of packets received on the switch physical port that are discarded",
        1,
    ),
    (
        "counters",
        "port_xmit_constraint_errors",
        "port_constraint_errors_transmitted_total",
        "Number of packets not transmitted from the switch physical port",
        1,
    ),
    (
        "counters",
        "port_rcv_data",
        "port_data_received_bytes_total",
        "Number of data octets received on all links",
        4,
    ),
    (
        "counters",
        "port_xmit_data",
        "port_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        4,
    ),
    (
        "counters",
        "port_rcv_discards",
        "port_discards_received_total",
        "Number of inbound packets discarded by the port because the port is down or congested",
        1,
    ),
    (
        "counters",
        "port_xmit_discards",
        "port_discards_transmitted_total",
        "Number of outbound packets discarded by the port because the port is down or congested",
        1,
    ),
    (
        "counters",
        "port_rcv_errors",
        "port_errors_received_total",
        "Number of packets containing an error that were received on this port",
        1,
    ),
    (
        "counters",
        "port_rcv_packets",
        "port_packets_received_total",
        "Number of packets received on all VLs by this port (including errors)",
        1,
    ),
    (
        "counters",
        "port_xmit_packets",
        "port_packets_transmitted_total",
        "Number of packets transmitted on all VLs from this port (including errors)",
        1,
    ),
    (
        "counters",
        "port_xmit_wait",
        "port_transmit_wait_total",
        "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
        1,
    ),
    (
        "counters",
        "unicast_rcv_packets",
        "unicast_packets_received_total",
        "Number of unicast packets received (including errors)",
        1,
    ),
    (
        "counters",
        "unicast_xmit_packets",
        "unicast_packets_transmitted_total",
        "Number of unicast packets transmitted (including errors)",
        1,
    ),
    (
        "counters",
        "port_rcv_remote_physical_errors",
        "port_receive_remote_physical_errors_total",
        "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
        1,
    ),
    (
        "counters",
        "port_rcv_switch_relay_errors",
        "port_receive_switch_relay_errors_total",
        "Number of packets that could not be forwarded by the switch.",
        1,
    ),
    (
        "counters",
        "symbol_error",
        "symbol_error_total",
        "Number of minor link errors detected on one or more physical lanes.",
        1,
    ),
    (
        "counters",
        "VL15_dropped",
        "vl15_dropped_total",
        "Number of incoming VL15 packets dropped due to resource limitations.",
        1,
    ),
];

/// `N: NAME` of the state files.
fn state_id(path: &Path) -> Result<u64, CollectorError> {
    let s = read(path)?;
    let (id, _) = s.split_once(':').ok_or_else(|| {
        CollectorError::parse(path, format!("failed to split {s:?} into 'ID: NAME'"))
    })?;
    id.trim()
        .parse()
        .map_err(|_| CollectorError::parse(path, format!("failed to convert {id:?} into uint")))
}

impl Collector for Infiniband {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/infiniband");
        let devices = match dir_entries(&base) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData(
                    "infiniband statistics not found".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        for (dev, dir) in devices {
            let a = |f: &str| attr(&dir.join(f)).unwrap_or_default();
            out.gauge(
                "node_infiniband_info",
                "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
                &[
                    ("device", &dev),
                    ("board_id", &a("board_id")),
                    ("firmware_version", &a("fw_ver")),
                    ("hca_type", &a("hca_type")),
                ],
                1.0,
            );
            for (port, pdir) in dir_entries_opt(&dir.join("ports")) {
                let l = [("device", dev.as_str()), ("port", port.as_str())];
                let state = state_id(&pdir.join("state"))?;
                let phys = state_id(&pdir.join("phys_state"))?;
                let rate_path = pdir.join("rate");
                let rate_s = read(&rate_path)?;
                let rate = rate_s
                    .split_once(' ')
                    .and_then(|(n, _)| n.trim().parse::<f32>().ok())
                    .map(|v| (f64::from(v) * 125_000_000.0) as u64)
                    .ok_or_else(|| {
                        CollectorError::parse(
                            &rate_path,
                            format!("failed to parse rate {rate_s:?}"),
                        )
                    })?;
                out.gauge("node_infiniband_state_id", "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)", &l, state as f64);
                out.gauge("node_infiniband_physical_state_id", "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)", &l, phys as f64);
                out.gauge(
                    "node_infiniband_rate_bytes_per_second",
                    "Maximum signal transfer rate",
                    &l,
                    rate as f64,
                );
                if dev.starts_with("irdma") {
                    continue;
                }
                for (sub, file, metric, help, mul) in COUNTERS {
                    let Some(s) = attr(&pdir.join(sub).join(file)) else {
                        continue;
                    };
                    let Ok(v) = s.parse::<u64>() else { continue };
                    out.counter(
                        &format!("node_infiniband_{metric}"),
                        help,
                        &l,
                        v.wrapping_mul(*mul) as f64,
                    );
                }
            }
        }
        Ok(())
    }
}
