//! Network interface properties from /sys/class/net (node_exporter's
//! `collector/netclass_linux.go`, read as procfs's `sysfs/net_class.go`).

use regex::Regex;

use super::util::{DirAt, dir_entries};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The netclass collector.
pub struct Netclass {
    ignored: Regex,
    ignore_invalid_speed: bool,
}

/// Builds the collector from `--collector.netclass.ignored-devices` and
/// `--collector.netclass.ignore-invalid-speed`.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Netclass {
        ignored: opts.pattern("collector.netclass.ignored-devices", "^$")?,
        ignore_invalid_speed: opts.flag("collector.netclass.ignore-invalid-speed", false),
    }))
}

fn int(dir: &DirAt, file: &str) -> Option<i64> {
    let s = dir.attr(file)?;
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// (file, metric, is counter) of the numeric properties.
const FIELDS: &[(&str, &str, bool)] = &[
    ("addr_assign_type", "address_assign_type", false),
    ("carrier", "carrier", false),
    ("carrier_changes", "carrier_changes_total", true),
    ("carrier_up_count", "carrier_up_changes_total", true),
    ("carrier_down_count", "carrier_down_changes_total", true),
    ("dev_id", "device_id", false),
    ("dormant", "dormant", false),
    ("flags", "flags", false),
    ("ifindex", "iface_id", false),
    ("iflink", "iface_link", false),
    ("link_mode", "iface_link_mode", false),
    ("mtu", "mtu_bytes", false),
    ("name_assign_type", "name_assign_type", false),
    ("netdev_group", "net_dev_group", false),
];

impl Collector for Netclass {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/net");
        let entries = match dir_entries(&base) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => return Err(CollectorError::NoData(e.to_string())),
            Err(e) => return Err(e),
        };
        for (dev, path) in entries {
            if self.ignored.is_match(&dev) {
                continue;
            }
            // Opening it is the directory test (a file such as bonding_masters fails).
            let Ok(dir) = DirAt::open(&path) else {
                continue;
            };
            let d = [("device", dev.as_str())];
            let oper = dir.attr("operstate").unwrap_or_default();
            out.gauge(
                "node_network_up",
                "Value is 1 if operstate is 'up', 0 otherwise.",
                &d,
                if oper == "up" { 1.0 } else { 0.0 },
            );
            let flags = int(&dir, "flags");
            let admin = match flags {
                None => "unknown",
                Some(f) if f & 1 == 1 => "up",
                Some(_) => "down",
            };
            let a = |f: &str| dir.attr(f).unwrap_or_default();
            out.gauge(
                "node_network_info",
                "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
                &[
                    ("device", &dev),
                    ("address", &a("address")),
                    ("broadcast", &a("broadcast")),
                    ("duplex", &a("duplex")),
                    ("operstate", &oper),
                    ("adminstate", admin),
                    ("ifalias", &a("ifalias")),
                ],
                1.0,
            );
            let prop = |out: &mut Out, name: &str, v: i64, counter: bool| {
                let metric = format!("node_network_{name}");
                let help = format!("Network device property: {name}");
                if counter {
                    out.counter(&metric, &help, &d, v as f64);
                } else {
                    out.gauge(&metric, &help, &d, v as f64);
                }
            };
            for (file, name, counter) in FIELDS {
                let v = if *file == "flags" {
                    flags
                } else {
                    int(&dir, file)
                };
                if let Some(v) = v {
                    prop(out, name, v, *counter);
                }
            }
            if let Some(speed) = int(&dir, "speed")
                && (speed >= 0 || !self.ignore_invalid_speed)
            {
                prop(out, "speed_bytes", speed * 1000 * 1000 / 8, false);
            }
            if let Some(v) = int(&dir, "tx_queue_len") {
                prop(out, "transmit_queue_length", v, false);
            }
            if let Some(v) = int(&dir, "type") {
                prop(out, "protocol_type", v, false);
            }
        }
        Ok(())
    }
}
