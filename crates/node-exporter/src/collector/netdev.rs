//! Network device counters (node_exporter's `collector/netdev_linux.go` and
//! `netdev_common.go`). With `--collector.netdev.netlink` (the default) the kernel's
//! `rtnl_link_stats64` counters come from one rtnetlink link dump (as node_exporter asks,
//! whatever `--path.procfs` says), or from /sys/class/net/<dev>/statistics where netlink is
//! refused. Without it, `<procfs>/net/dev` is parsed. Names are the legacy ones unless
//! `--collector.netdev.enable-detailed-metrics`.

use std::collections::BTreeMap;
use std::path::Path;

use super::util::{DeviceFilter, dir_entries};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The netdev collector.
pub struct Netdev {
    filter: DeviceFilter,
    netlink: bool,
    detailed: bool,
}

/// Builds the collector from its flags.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let mut o = opts.clone();
    if let Some(v) = opts.get("collector.netdev.device-whitelist") {
        o.set("collector.netdev.device-include", v);
    }
    if let Some(v) = opts.get("collector.netdev.device-blacklist") {
        o.set("collector.netdev.device-exclude", v);
    }
    Ok(Box::new(Netdev {
        filter: DeviceFilter::from_flags(
            &o,
            "collector.netdev.device-exclude",
            "collector.netdev.device-include",
            "",
        )?,
        netlink: opts.flag("collector.netdev.netlink", true),
        detailed: opts.flag("collector.netdev.enable-detailed-metrics", false),
    }))
}

/// (sysfs statistics file, netlink key).
const STATS64: &[(&str, &str)] = &[
    ("rx_packets", "receive_packets"),
    ("tx_packets", "transmit_packets"),
    ("rx_bytes", "receive_bytes"),
    ("tx_bytes", "transmit_bytes"),
    ("rx_errors", "receive_errors"),
    ("tx_errors", "transmit_errors"),
    ("rx_dropped", "receive_dropped"),
    ("tx_dropped", "transmit_dropped"),
    ("multicast", "multicast"),
    ("collisions", "collisions"),
    ("rx_length_errors", "receive_length_errors"),
    ("rx_over_errors", "receive_over_errors"),
    ("rx_crc_errors", "receive_crc_errors"),
    ("rx_frame_errors", "receive_frame_errors"),
    ("rx_fifo_errors", "receive_fifo_errors"),
    ("rx_missed_errors", "receive_missed_errors"),
    ("tx_aborted_errors", "transmit_aborted_errors"),
    ("tx_carrier_errors", "transmit_carrier_errors"),
    ("tx_fifo_errors", "transmit_fifo_errors"),
    ("tx_heartbeat_errors", "transmit_heartbeat_errors"),
    ("tx_window_errors", "transmit_window_errors"),
    ("rx_compressed", "receive_compressed"),
    ("tx_compressed", "transmit_compressed"),
    ("rx_nohandler", "receive_nohandler"),
];

type DevStats = BTreeMap<String, BTreeMap<String, u64>>;

/// `IFLA_IFNAME`, `IFLA_STATS64`.
const IFLA_IFNAME: u16 = 3;
const IFLA_STATS64: u16 = 23;

/// The counters of every link from an `RTM_GETLINK` dump (`rtnl_link_stats64` holds the
/// fields in [`STATS64`]'s order).
fn netlink_stats(filter: &DeviceFilter) -> std::io::Result<DevStats> {
    use super::netlink::{Family, attributes, dump};
    let msgs = dump(Family::Route, 18, &[0u8; 16])?;
    let mut all = DevStats::new();
    for m in msgs.iter().filter(|m| m.kind == 16 && m.data.len() >= 16) {
        let attrs = attributes(&m.data[16..]);
        let Some(name) = attrs.iter().find(|a| a.0 == IFLA_IFNAME).map(|a| {
            let n = a.1.split(|&b| b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(n).into_owned()
        }) else {
            continue;
        };
        let Some(stats) = attrs.iter().find(|a| a.0 == IFLA_STATS64).map(|a| a.1) else {
            continue;
        };
        if filter.ignored(&name) {
            continue;
        }
        let mut dev = BTreeMap::new();
        for (i, (_, key)) in STATS64.iter().enumerate() {
            let v = stats
                .get(i * 8..i * 8 + 8)
                .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or_default()));
            dev.insert((*key).to_owned(), v);
        }
        all.insert(name, dev);
    }
    Ok(all)
}

fn kernel_stats(filter: &DeviceFilter) -> Result<DevStats, CollectorError> {
    match netlink_stats(filter) {
        Ok(s) if !s.is_empty() => return Ok(s),
        Ok(_) => {}
        Err(e) => tracing::debug!(err = %e, "netdev: rtnetlink refused, reading sysfs"),
    }
    let mut all = DevStats::new();
    for (dev, dir) in dir_entries(Path::new("/sys/class/net"))? {
        if filter.ignored(&dev) {
            continue;
        }
        let st = dir.join("statistics");
        if !st.is_dir() {
            continue;
        }
        let m = all.entry(dev).or_default();
        for (file, key) in STATS64 {
            m.insert(
                (*key).to_owned(),
                super::util::attr_u64(&st.join(file)).unwrap_or(0),
            );
        }
    }
    Ok(all)
}

fn proc_stats(path: &Path, filter: &DeviceFilter) -> Result<DevStats, CollectorError> {
    let text = read(path)?;
    let mut lines = text.lines();
    let _ = lines.next();
    let header = lines.next().unwrap_or("");
    let parts: Vec<&str> = header.split('|').collect();
    if parts.len() < 3 {
        return Err(CollectorError::parse(path, "invalid header line"));
    }
    let rx: Vec<&str> = parts[1].split_whitespace().collect();
    let tx: Vec<&str> = parts[2].split_whitespace().collect();
    let mut all = DevStats::new();
    for line in lines {
        let Some((dev, rest)) = line.split_once(':') else {
            continue;
        };
        let dev = dev.trim();
        if filter.ignored(dev) {
            continue;
        }
        let vals: Vec<&str> = rest.split_whitespace().collect();
        if vals.len() != rx.len() + tx.len() {
            return Err(CollectorError::parse(
                path,
                format!("invalid line for {dev}"),
            ));
        }
        let m = all.entry(dev.to_owned()).or_default();
        for (i, name) in rx.iter().chain(tx.iter()).enumerate() {
            let dir = if i < rx.len() { "receive" } else { "transmit" };
            let v = vals[i]
                .parse()
                .map_err(|_| CollectorError::parse(path, format!("invalid value {:?}", vals[i])))?;
            m.insert(format!("{dir}_{name}"), v);
        }
    }
    Ok(all)
}

fn pop(m: &mut BTreeMap<String, u64>, k: &str) -> Option<u64> {
    m.remove(k)
}

/// node_exporter's `legacy`: netlink names folded into /proc/net/dev's.
fn legacy(m: &mut BTreeMap<String, u64>) {
    let z = |m: &mut BTreeMap<String, u64>, k: &str| m.remove(k).unwrap_or(0);
    if let Some(v) = pop(m, "receive_errors") {
        m.insert("receive_errs".into(), v);
    }
    if let Some(v) = pop(m, "receive_dropped") {
        let x = v + z(m, "receive_missed_errors");
        m.insert("receive_drop".into(), x);
    }
    if let Some(v) = pop(m, "receive_fifo_errors") {
        m.insert("receive_fifo".into(), v);
    }
    if let Some(v) = pop(m, "receive_frame_errors") {
        let x = v
            + z(m, "receive_length_errors")
            + z(m, "receive_over_errors")
            + z(m, "receive_crc_errors");
        m.insert("receive_frame".into(), x);
    }
    if let Some(v) = pop(m, "multicast") {
        m.insert("receive_multicast".into(), v);
    }
    if let Some(v) = pop(m, "transmit_errors") {
        m.insert("transmit_errs".into(), v);
    }
    if let Some(v) = pop(m, "transmit_dropped") {
        m.insert("transmit_drop".into(), v);
    }
    if let Some(v) = pop(m, "transmit_fifo_errors") {
        m.insert("transmit_fifo".into(), v);
    }
    if let Some(v) = pop(m, "collisions") {
        m.insert("transmit_colls".into(), v);
    }
    if let Some(v) = pop(m, "transmit_carrier_errors") {
        let x = v
            + z(m, "transmit_aborted_errors")
            + z(m, "transmit_heartbeat_errors")
            + z(m, "transmit_window_errors");
        m.insert("transmit_carrier".into(), x);
    }
}

impl Collector for Netdev {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut stats = if self.netlink {
            kernel_stats(&self.filter)?
        } else {
            proc_stats(&paths.proc("net/dev"), &self.filter)?
        };
        for (dev, m) in &mut stats {
            if !self.detailed {
                legacy(m);
            }
            for (k, v) in m.iter() {
                out.counter(
                    &format!("node_network_{k}_total"),
                    &format!("Network device statistic {k}."),
                    &[("device", dev)],
                    *v as f64,
                );
            }
        }
        Ok(())
    }
}
