//! Fibre Channel hosts from /sys/class/fc_host (node_exporter's
//! `collector/fibrechannel_linux.go`, read as procfs's `sysfs/class_fibrechannel.go`).

use super::util::{attr, dir_entries};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The fibrechannel collector.
pub struct Fibrechannel;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Fibrechannel))
}

const COUNTERS: &[(&str, &str, &str)] = &[
    (
        "dumped_frames",
        "dumped_frames_total",
        "Number of dumped frames",
    ),
    (
        "error_frames",
        "error_frames_total",
        "Number of errors in frames",
    ),
    (
        "fcp_packet_aborts",
        "fcp_packet_aborts_total",
        "Number of aborted packets",
    ),
    (
        "invalid_crc_count",
        "invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
    ),
    (
        "invalid_tx_word_count",
        "invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
    ),
    (
        "link_failure_count",
        "link_failure_total",
        "Number of times the host port link has failed",
    ),
    (
        "loss_of_signal_count",
        "loss_of_signal_total",
        "Number of times signal has been lost",
    ),
    (
        "loss_of_sync_count",
        "loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
    ),
    (
        "nos_count",
        "nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
    ),
    ("rx_frames", "rx_frames_total", "Number of frames received"),
    (
        "rx_words",
        "rx_words_total",
        "Number of words received by host port",
    ),
    (
        "seconds_since_last_reset",
        "seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
    ),
    (
        "tx_frames",
        "tx_frames_total",
        "Number of frames transmitted by host port",
    ),
    (
        "tx_words",
        "tx_words_total",
        "Number of words transmitted by host port",
    ),
];

impl Collector for Fibrechannel {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let hosts = match dir_entries(&paths.sys("class/fc_host")) {
            Ok(h) => h,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData(
                    "fibrechannel statistics not found".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        for (host, dir) in hosts {
            let a = |f: &str| attr(&dir.join(f)).unwrap_or_default();
            let hex = |f: &str| {
                let v = a(f);
                v.strip_prefix("0x").map(str::to_owned).unwrap_or(v)
            };
            out.gauge(
                "node_fibrechannel_info",
                "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
                &[
                    ("fc_host", &host),
                    ("speed", &a("speed")),
                    ("port_state", &a("port_state")),
                    ("port_type", &a("port_type")),
                    ("port_id", &hex("port_id")),
                    ("port_name", &hex("port_name")),
                    ("fabric_name", &hex("fabric_name")),
                    ("symbolic_name", &a("symbolic_name")),
                    ("supported_classes", &a("supported_classes")),
                    ("supported_speeds", &a("supported_speeds")),
                    ("dev_loss_tmo", &a("dev_loss_tmo")),
                ],
                1.0,
            );
            for (file, metric, help) in COUNTERS {
                let Some(raw) = attr(&dir.join("statistics").join(file)) else {
                    continue;
                };
                let v = match raw.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None => raw.parse().ok(),
                };
                let Some(v) = v.filter(|v| *v != u64::MAX) else {
                    continue;
                };
                out.counter(
                    &format!("node_fibrechannel_{metric}"),
                    help,
                    &[("fc_host", &host)],
                    v as f64,
                );
            }
        }
        Ok(())
    }
}
