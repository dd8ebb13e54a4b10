//! Network drivers' statistics, driver information and link modes through the ethtool
//! ioctl, for each device of /sys/class/net (node_exporter's `ethtool_linux.go` with
//! `safchain/ethtool`).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use rustix::net::{AddressFamily, SocketType, socket};

use super::util::DeviceFilter;
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

const ETHTOOL_GSET: u32 = 0x1;
const ETHTOOL_GDRVINFO: u32 = 0x3;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;
/// safchain/ethtool's limit on the number of statistics.
const MAX_GSTRINGS: u32 = 32_768;

static INVALID: LazyLock<Regex> = LazyLock::new(|| Regex::new("_*[^0-9A-Za-z_]+_*").unwrap());
static RX: LazyLock<Regex> = LazyLock::new(|| Regex::new("(^|_)rx(_|$)").unwrap());
static TX: LazyLock<Regex> = LazyLock::new(|| Regex::new("(^|_)tx(_|$)").unwrap());

/// Statistics with fixed names and help texts instead of the generated ones.
const FIXED: &[(&str, &str, &str)] = &[
    (
        "rx_bytes",
        "node_ethtool_received_bytes_total",
        "Network interface bytes received",
    ),
    (
        "rx_dropped",
        "node_ethtool_received_dropped_total",
        "Number of received frames dropped",
    ),
    (
        "rx_errors",
        "node_ethtool_received_errors_total",
        "Number of received frames with errors",
    ),
    (
        "rx_packets",
        "node_ethtool_received_packets_total",
        "Network interface packets received",
    ),
    (
        "tx_bytes",
        "node_ethtool_transmitted_bytes_total",
        "Network interface bytes sent",
    ),
    (
        "tx_errors",
        "node_ethtool_transmitted_errors_total",
        "Number of sent frames with errors",
    ),
    (
        "tx_packets",
        "node_ethtool_transmitted_packets_total",
        "Network interface packets sent",
    ),
];

/// Link mode bits node_exporter reads (only the first 32 fit its `uint32` masks): bit,
/// speed in Mb/s, duplex, PHY.
const SPEEDS: &[(u32, u32, &str, &str)] = &[
    (0, 10, "half", "T"),
    (1, 10, "full", "T"),
    (2, 100, "half", "T"),
    (3, 100, "full", "T"),
    (4, 1000, "half", "T"),
    (5, 1000, "full", "T"),
    (12, 10000, "full", "T"),
    (17, 1000, "full", "KX"),
    (18, 10000, "full", "KX4"),
    (19, 10000, "full", "KR"),
    (20, 10000, "full", "R_FEC"),
    (21, 20000, "full", "MLD2"),
    (22, 20000, "full", "KR2"),
    (23, 40000, "full", "KR4"),
    (24, 40000, "full", "CR4"),
    (25, 40000, "full", "SR4"),
    (26, 40000, "full", "LR4"),
    (27, 56000, "full", "KR4"),
    (28, 56000, "full", "CR4"),
    (29, 56000, "full", "SR4"),
    (30, 56000, "full", "LR4"),
    (31, 25000, "full", "CR"),
];
const PORTS: &[(u32, &str)] = &[
    (7, "TP"),
    (8, "AUI"),
    (9, "MII"),
    (10, "FIBRE"),
    (11, "BNC"),
    (16, "Backplane"),
];
const AUTONEG_BIT: u32 = 6;
const PAUSE_BIT: u32 = 13;
const ASYM_PAUSE_BIT: u32 = 14;

/// node_exporter's `SanitizeMetricName`.
#[must_use]
pub fn sanitize(name: &str) -> String {
    INVALID.replace_all(name, "_").into_owned()
}

/// The family name of a (sanitized) statistic: lower case, `rx`/`tx` spelled out.
#[must_use]
pub fn fq_name(metric: &str) -> String {
    let lower = metric.to_lowercase();
    let name = lower.trim_start_matches('_');
    let name = RX.replace_all(name, "${1}received${2}");
    let name = TX.replace_all(&name, "${1}transmitted${2}");
    format!("node_ethtool_{name}")
}

/// The ethtool collector.
pub struct Ethtool {
    devices: DeviceFilter,
    metrics: Regex,
}

impl Ethtool {
    /// Builds the collector from `--collector.ethtool.*`.
    ///
    /// # Errors
    /// A bad pattern.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let devices = DeviceFilter::from_flags(
            opts,
            "collector.ethtool.device-exclude",
            "collector.ethtool.device-include",
            "",
        )?;
        let metrics = opts.pattern("collector.ethtool.metrics-include", ".*")?;
        Ok(Box::new(Self { devices, metrics }))
    }
}

/// What the driver tells about one device.
#[derive(Debug, Default, Clone)]
pub struct DeviceInfo {
    /// `ETHTOOL_GSET`: supported and advertised link modes and autonegotiation.
    pub link: Option<(u32, u32, u8)>,
    /// `ETHTOOL_GDRVINFO`: bus_info, driver, expansion_rom_version, firmware_version, version.
    pub driver: Option<[String; 5]>,
    /// The named statistics (a later duplicate name wins).
    pub stats: HashMap<String, u64>,
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn log_err(what: &str, device: &str, e: &std::io::Error) {
    if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
        tracing::debug!(device, err = %e, "ethtool {what} error");
    } else {
        tracing::error!(device, err = %e, "ethtool {what} error");
    }
}

/// Queries one device; each failed query is logged as node_exporter does and left out.
fn query(fd: std::os::fd::BorrowedFd<'_>, device: &str) -> DeviceInfo {
    let mut info = DeviceInfo::default();
    let mut gset = [0u8; 44];
    gset[..4].copy_from_slice(&ETHTOOL_GSET.to_ne_bytes());
    match crate::sys::ethtool_ioctl(fd, device, &mut gset) {
        Ok(()) => info.link = Some((u32_at(&gset, 4), u32_at(&gset, 8), gset[18])),
        Err(e) => log_err("link info", device, &e),
    }
    let mut drv = [0u8; 196];
    drv[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
    let drv_ok = crate::sys::ethtool_ioctl(fd, device, &mut drv);
    match &drv_ok {
        Ok(()) => {
            info.driver = Some([
                c_string(&drv[100..132]),
                c_string(&drv[4..36]),
                c_string(&drv[132..164]),
                c_string(&drv[68..100]),
                c_string(&drv[36..68]),
            ]);
        }
        Err(e) => log_err("driver info", device, e),
    }
    // Statistics: the count from the driver info, then names and values.
    let stats = drv_ok.and_then(|()| {
        let n = u32_at(&drv, 180);
        if n > MAX_GSTRINGS {
            return Err(std::io::Error::other(format!(
                "ethtool currently doesn't support more than {MAX_GSTRINGS} entries, received {n}"
            )));
        }
        let count = n as usize;
        let mut names = vec![0u8; 12 + count * ETH_GSTRING_LEN];
        names[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
        names[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
        names[8..12].copy_from_slice(&n.to_ne_bytes());
        crate::sys::ethtool_ioctl(fd, device, &mut names)?;
        let mut values = vec![0u8; 8 + count * 8];
        values[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
        values[4..8].copy_from_slice(&n.to_ne_bytes());
        crate::sys::ethtool_ioctl(fd, device, &mut values)?;
        let mut m = HashMap::with_capacity(count);
        for i in 0..count {
            let name = c_string(&names[12 + i * ETH_GSTRING_LEN..12 + (i + 1) * ETH_GSTRING_LEN]);
            let v =
                u64::from_ne_bytes(values[8 + i * 8..16 + i * 8].try_into().unwrap_or_default());
            m.insert(name, v);
        }
        Ok(m)
    });
    match stats {
        Ok(m) => info.stats = m,
        Err(e) => log_err("stats", device, &e),
    }
    info
}

/// The samples for one device.
pub fn emit(metrics: &Regex, device: &str, info: &DeviceInfo, out: &mut Out) {
    let d = [("device", device)];
    if let Some((supported, advertised, autoneg)) = info.link {
        speeds(out, "supported", device, supported);
        for &(bit, port) in PORTS {
            if supported & (1 << bit) != 0 {
                out.gauge(
                    "node_network_supported_port_info",
                    "Type of ports or PHYs supported by network device",
                    &[("device", device), ("type", port)],
                    1.0,
                );
            }
        }
        capabilities(out, "supported", device, supported);
        speeds(out, "advertised", device, advertised);
        capabilities(out, "advertised", device, advertised);
        out.gauge(
            "node_network_autonegotiate",
            "If this port is using autonegotiate",
            &d,
            f64::from(autoneg),
        );
    }
    if let Some([bus, driver, erom, fw, version]) = &info.driver {
        out.gauge(
            "node_ethtool_info",
            "A metric with a constant '1' value labeled by bus_info, device, driver, expansion_rom_version, firmware_version, version.",
            &[
                ("bus_info", bus),
                ("device", device),
                ("driver", driver),
                ("expansion_rom_version", erom),
                ("firmware_version", fw),
                ("version", version),
            ],
            1.0,
        );
    }
    // Family name -> sanitized statistic; a name two statistics map to is dropped.
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    for raw in info.stats.keys() {
        let metric = sanitize(raw);
        if !metrics.is_match(&metric) {
            continue;
        }
        let fq = fq_name(&metric);
        match names.get_mut(&fq) {
            Some(slot) => {
                tracing::debug!(device, fq, "dropping duplicate metric name");
                *slot = None;
            }
            None => {
                names.insert(fq, Some(metric));
            }
        }
    }
    for (fq, metric) in names {
        let Some(metric) = metric else { continue };
        // node_exporter looks the value up by the sanitized name.
        #[allow(clippy::cast_precision_loss)]
        let v = info.stats.get(&metric).copied().unwrap_or(0) as f64;
        match FIXED.iter().find(|f| f.0 == metric) {
            Some(&(_, name, help)) => out.untyped(name, help, &d, v),
            None => out.untyped(&fq, &format!("Network interface {metric}"), &d, v),
        }
    }
}

fn speeds(out: &mut Out, prefix: &str, device: &str, modes: u32) {
    let (name, help) = if prefix == "supported" {
        (
            "node_network_supported_speed_bytes",
            "Combination of speeds and features supported by network device",
        )
    } else {
        (
            "node_network_advertised_speed_bytes",
            "Combination of speeds and features offered by network device",
        )
    };
    for &(bit, speed, duplex, phy) in SPEEDS {
        if modes & (1 << bit) != 0 {
            out.gauge(
                name,
                help,
                &[
                    ("device", device),
                    ("duplex", duplex),
                    ("mode", &format!("{speed}base{phy}")),
                ],
                f64::from(speed) * 125_000.0,
            );
        }
    }
}

fn capabilities(out: &mut Out, prefix: &str, device: &str, modes: u32) {
    let bit = |b: u32| if modes & (1 << b) != 0 { 1.0 } else { 0.0 };
    let d = [("device", device)];
    let supported = prefix == "supported";
    out.gauge(
        &format!("node_network_autonegotiate_{prefix}"),
        if supported {
            "If this port device supports autonegotiate"
        } else {
            "If this port device offers autonegotiate"
        },
        &d,
        bit(AUTONEG_BIT),
    );
    out.gauge(
        &format!("node_network_pause_{prefix}"),
        if supported {
            "If this port device supports pause frames"
        } else {
            "If this port device offers pause capability"
        },
        &d,
        bit(PAUSE_BIT),
    );
    out.gauge(
        &format!("node_network_asymmetricpause_{prefix}"),
        if supported {
            "If this port device supports asymmetric pause frames"
        } else {
            "If this port device offers asymmetric pause capability"
        },
        &d,
        bit(ASYM_PAUSE_BIT),
    );
}

impl Collector for Ethtool {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let dir = paths.sys("class/net");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(CollectorError::NoData(format!(
                    "could not read {}: {e}",
                    dir.display()
                )));
            }
            Err(e) => return Err(CollectorError::io(&dir, e)),
        };
        let mut devices: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| !e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        devices.sort();
        if devices.is_empty() {
            return Err(CollectorError::Other("no network devices found".into()));
        }
        let fd = socket(AddressFamily::INET, SocketType::DGRAM, None)
            .map_err(|e| CollectorError::Other(format!("failed to open an ethtool socket: {e}")))?;
        let fd = std::os::fd::AsFd::as_fd(&fd);
        for device in devices {
            if self.devices.ignored(&device) {
                continue;
            }
            let info = query(fd, &device);
            emit(&self.metrics, &device, &info, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_node_exporter_builds_them() {
        assert_eq!(sanitize("rx-queue-0.bytes"), "rx_queue_0_bytes");
        assert_eq!(sanitize("port.rx_size__64"), "port_rx_size__64");
        assert_eq!(
            fq_name("rx_queue_0_bytes"),
            "node_ethtool_received_queue_0_bytes"
        );
        assert_eq!(fq_name("tx0_kicks"), "node_ethtool_tx0_kicks");
        assert_eq!(fq_name("__Rx_Drops"), "node_ethtool_received_drops");
        assert_eq!(fq_name("rx_rx"), "node_ethtool_received_rx");
    }

    #[test]
    fn emits_link_modes_driver_and_stats() {
        let info = DeviceInfo {
            // 1000baseT/Full, autoneg, TP, pause supported; 100baseT/Full advertised.
            link: Some(((1 << 5) | (1 << 6) | (1 << 7) | (1 << 13), 1 << 3, 1)),
            driver: Some(["0000:00:03.0", "e1000e", "", "0.13-4", "3.2.6-k"].map(String::from)),
            stats: [
                ("rx_bytes", 10),
                ("tx-errors", 3),
                ("port.tx_errors", 4),
                ("rx_missed", 1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        };
        let mut out = Out::default();
        let all = Regex::new(".*").unwrap();
        emit(&all, "eth0", &info, &mut out);
        let fams = out.into_families();
        let get = |n: &str| fams.iter().find(|f| f.name == n).map(|f| f.samples.len());
        assert_eq!(get("node_network_supported_speed_bytes"), Some(1));
        assert_eq!(get("node_network_advertised_speed_bytes"), Some(1));
        assert_eq!(get("node_network_supported_port_info"), Some(1));
        assert_eq!(get("node_ethtool_received_bytes_total"), Some(1));
        assert_eq!(get("node_ethtool_received_missed"), Some(1));
        // tx-errors sanitizes to tx_errors, whose value node_exporter looks up by the
        // sanitized name (absent: 0); port.tx_errors is its own family.
        let tx = fams
            .iter()
            .find(|f| f.name == "node_ethtool_transmitted_errors_total")
            .unwrap();
        assert_eq!(tx.samples[0].value, 0.0);
        assert_eq!(get("node_ethtool_port_transmitted_errors"), Some(1));
        let speed = fams
            .iter()
            .find(|f| f.name == "node_network_supported_speed_bytes")
            .unwrap();
        assert_eq!(speed.samples[0].value, 125_000_000.0);
        assert_eq!(speed.samples[0].labels.get("mode"), Some("1000baseT"));
    }
}
