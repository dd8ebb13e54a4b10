//! Small /sys class collectors (node_exporter's `edac_linux.go`, `bonding_linux.go`,
//! `watchdog.go`, `nvme_linux.go`, `rapl_linux.go`).

use super::util::{attr, attr_u64, dir_entries, dir_entries_opt};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

fn uint(path: &std::path::Path) -> Result<f64, CollectorError> {
    let s = read(path)?;
    #[allow(clippy::cast_precision_loss)]
    super::util::parse_u64(&s).map(|v| v as f64).ok_or_else(|| {
        CollectorError::parse(path, format!("invalid unsigned integer {:?}", s.trim()))
    })
}

use super::unit_collector;

unit_collector!(
    Edac,
    "Memory controller error counts from /sys/devices/system/edac/mc."
);
impl Collector for Edac {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (name, dir) in dir_entries_opt(&paths.sys("devices/system/edac/mc")) {
            let Some(mc) = name
                .strip_prefix("mc")
                .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
            else {
                continue;
            };
            let l = [("controller", mc)];
            out.counter(
                "node_edac_correctable_errors_total",
                "Total correctable memory errors.",
                &l,
                uint(&dir.join("ce_count"))?,
            );
            out.counter(
                "node_edac_csrow_correctable_errors_total",
                "Total correctable memory errors for this csrow.",
                &[("controller", mc), ("csrow", "unknown")],
                uint(&dir.join("ce_noinfo_count"))?,
            );
            out.counter(
                "node_edac_uncorrectable_errors_total",
                "Total uncorrectable memory errors.",
                &l,
                uint(&dir.join("ue_count"))?,
            );
            out.counter(
                "node_edac_csrow_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this csrow.",
                &[("controller", mc), ("csrow", "unknown")],
                uint(&dir.join("ue_noinfo_count"))?,
            );
            for (row, rdir) in dir_entries_opt(&dir) {
                let Some(n) = row
                    .strip_prefix("csrow")
                    .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                else {
                    continue;
                };
                let l = [("controller", mc), ("csrow", n)];
                out.counter(
                    "node_edac_csrow_correctable_errors_total",
                    "Total correctable memory errors for this csrow.",
                    &l,
                    uint(&rdir.join("ce_count"))?,
                );
                out.counter(
                    "node_edac_csrow_uncorrectable_errors_total",
                    "Total uncorrectable memory errors for this csrow.",
                    &l,
                    uint(&rdir.join("ue_count"))?,
                );
            }
        }
        Ok(())
    }
}

unit_collector!(
    Bonding,
    "Bonding interfaces and their slaves from /sys/class/net."
);
impl Collector for Bonding {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let root = paths.sys("class/net");
        let masters_path = root.join("bonding_masters");
        let masters = match super::util::read_string(&masters_path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CollectorError::NoData("bonding_masters not found".into()));
            }
            Err(e) => return Err(CollectorError::io(&masters_path, e)),
        };
        for master in masters.split_whitespace() {
            let slaves = read(&root.join(master).join("bonding/slaves"))?;
            let (mut total, mut up) = (0u32, 0u32);
            for slave in slaves.split_whitespace() {
                let lower = root
                    .join(master)
                    .join(format!("lower_{slave}"))
                    .join("bonding_slave/mii_status");
                let state = match super::util::read_string(&lower) {
                    Ok(s) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => read(
                        &root
                            .join(master)
                            .join(format!("slave_{slave}"))
                            .join("bonding_slave/mii_status"),
                    )?,
                    Err(e) => return Err(CollectorError::io(&lower, e)),
                };
                total += 1;
                if state.trim() == "up" {
                    up += 1;
                }
            }
            out.gauge(
                "node_bonding_slaves",
                "Number of configured slaves per bonding interface.",
                &[("master", master)],
                f64::from(total),
            );
            out.gauge(
                "node_bonding_active",
                "Number of active slaves per bonding interface.",
                &[("master", master)],
                f64::from(up),
            );
        }
        Ok(())
    }
}

unit_collector!(Watchdog, "Watchdog devices from /sys/class/watchdog.");
impl Collector for Watchdog {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (name, dir) in dir_entries_opt(&paths.sys("class/watchdog")) {
            for (file, metric) in [
                ("bootstatus", "bootstatus"),
                ("fw_version", "fw_version"),
                ("nowayout", "nowayout"),
                ("timeleft", "timeleft_seconds"),
                ("timeout", "timeout_seconds"),
                ("pretimeout", "pretimeout_seconds"),
                ("access_cs0", "access_cs0"),
            ] {
                if let Some(v) = attr(&dir.join(file)).and_then(|s| s.parse::<i64>().ok()) {
                    out.gauge(
                        &format!("node_watchdog_{metric}"),
                        &format!("Value of /sys/class/watchdog/<watchdog>/{file}"),
                        &[("name", &name)],
                        v as f64,
                    );
                }
            }
            let a = |f: &str| attr(&dir.join(f)).unwrap_or_default();
            out.gauge(
                "node_watchdog_info",
                "Info of /sys/class/watchdog/<watchdog>",
                &[
                    ("name", &name),
                    ("options", &a("options")),
                    ("identity", &a("identity")),
                    ("state", &a("state")),
                    ("status", &a("status")),
                    ("pretimeout_governor", &a("pretimeout_governor")),
                ],
                1.0,
            );
        }
        Ok(())
    }
}

unit_collector!(Nvme, "NVMe controllers from /sys/class/nvme.");
impl Collector for Nvme {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/nvme");
        let devices = match dir_entries(&base) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData("nvme statistics not found".into()));
            }
            Err(e) => return Err(e),
        };
        for (dev, dir) in devices {
            let a = |f: &str| read(&dir.join(f)).map(|s| s.trim().to_owned());
            out.gauge(
                "node_nvme_info",
                "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
                &[
                    ("device", &dev),
                    ("firmware_revision", &a("firmware_rev")?),
                    ("model", &a("model")?),
                    ("serial", &a("serial")?),
                    ("state", &a("state")?),
                ],
                1.0,
            );
        }
        Ok(())
    }
}

/// RAPL energy counters from /sys/class/powercap.
pub struct Rapl {
    zone_label: bool,
}
impl Rapl {
    /// Builds the collector from `--collector.rapl.enable-zone-label`.
    ///
    /// # Errors
    /// Never.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Rapl {
            zone_label: opts.flag("collector.rapl.enable-zone-label", false),
        }))
    }
}
impl Collector for Rapl {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/powercap");
        let zones = match dir_entries(&base) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData("no powercap files".into()));
            }
            Err(e) => return Err(e),
        };
        for (dir_name, dir) in zones {
            if !dir_name.contains(':') {
                continue;
            }
            let Some(raw) = attr(&dir.join("name")) else {
                continue;
            };
            let (name, index) = match raw.rsplit_once('-') {
                Some((n, i)) if i.parse::<u32>().is_ok() => (n.to_owned(), i.to_owned()),
                _ => (
                    raw.clone(),
                    dir_name.rsplit(':').next().unwrap_or("0").to_owned(),
                ),
            };
            let energy = dir.join("energy_uj");
            let Some(uj) = attr_u64(&energy) else {
                return Err(CollectorError::parse(&energy, "cannot read energy_uj"));
            };
            let joules = uj as f64 / 1_000_000.0;
            let path = dir.to_string_lossy().into_owned();
            if self.zone_label {
                out.counter(
                    "node_rapl_joules_total",
                    "Current RAPL value in joules",
                    &[("index", &index), ("path", &path), ("rapl_zone", &name)],
                    joules,
                );
            } else {
                let metric = name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
                out.counter(
                    &format!("node_rapl_{metric}_joules_total"),
                    &format!("Current RAPL {name} value in joules"),
                    &[("index", &index), ("path", &path)],
                    joules,
                );
            }
        }
        Ok(())
    }
}

/// SCSI tape statistics from /sys/class/scsi_tape/st*/stats.
pub struct Tapestats {
    ignored: regex::Regex,
}
impl Tapestats {
    /// Builds the collector from `--collector.tapestats.ignored-devices`.
    ///
    /// # Errors
    /// A bad pattern.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Tapestats {
            ignored: opts.pattern("collector.tapestats.ignored-devices", "^$")?,
        }))
    }
}

const TAPE: &[(&str, &str, &str, f64, bool)] = &[
    (
        "in_flight",
        "io_now",
        "The number of I/Os currently outstanding to this device.",
        1.0,
        false,
    ),
    (
        "io_ns",
        "io_time_seconds_total",
        "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.",
        1e-9,
        true,
    ),
    (
        "other_cnt",
        "io_others_total",
        "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
        1.0,
        true,
    ),
    (
        "read_byte_cnt",
        "read_bytes_total",
        "The number of bytes read from the tape drive.",
        1.0,
        true,
    ),
    (
        "read_cnt",
        "reads_completed_total",
        "The number of read requests issued to the tape drive.",
        1.0,
        true,
    ),
    (
        "read_ns",
        "read_time_seconds_total",
        "The amount of time spent waiting for read requests to complete.",
        1e-9,
        true,
    ),
    (
        "resid_cnt",
        "residual_total",
        "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.",
        1.0,
        true,
    ),
    (
        "write_byte_cnt",
        "written_bytes_total",
        "The number of bytes written to the tape drive.",
        1.0,
        true,
    ),
    (
        "write_cnt",
        "writes_completed_total",
        "The number of write requests issued to the tape drive.",
        1.0,
        true,
    ),
    (
        "write_ns",
        "write_time_seconds_total",
        "The amount of time spent waiting for write requests to complete.",
        1e-9,
        true,
    ),
];

impl Collector for Tapestats {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let tapes = match dir_entries(&paths.sys("class/scsi_tape")) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData("scsi_tape stats not found".into()));
            }
            Err(e) => return Err(e),
        };
        for (name, dir) in tapes {
            let valid = name
                .strip_prefix("st")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !valid || self.ignored.is_match(&name) {
                continue;
            }
            for (file, metric, help, scale, counter) in TAPE {
                let v = uint(&dir.join("stats").join(file))? * scale;
                let m = format!("node_tape_{metric}");
                if *counter {
                    out.counter(&m, help, &[("device", &name)], v);
                } else {
                    out.gauge(&m, help, &[("device", &name)], v);
                }
            }
        }
        Ok(())
    }
}
