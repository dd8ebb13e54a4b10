//! Block device statistics from /proc/diskstats with udev properties and queue attributes
//! (node_exporter's `collector/diskstats_linux.go`, `diskstats_common.go`).

use super::util::{DeviceFilter, udev_properties};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// node_exporter's default, with Go's ASCII `\d` written as `[0-9]` (Rust's `\d` is Unicode's
/// digits, which also made the compiled pattern ten times larger).
const DEFAULT_EXCLUDE: &str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme[0-9]+n[0-9]+p)[0-9]+$";

/// The diskstats collector.
pub struct Diskstats {
    filter: DeviceFilter,
}

/// Builds the collector from `--collector.diskstats.device-exclude/include`.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let mut o = opts.clone();
    if let Some(old) = opts.get("collector.diskstats.ignored-devices") {
        o.set("collector.diskstats.device-exclude", old);
    }
    Ok(Box::new(Diskstats {
        filter: DeviceFilter::from_flags(
            &o,
            "collector.diskstats.device-exclude",
            "collector.diskstats.device-include",
            DEFAULT_EXCLUDE,
        )?,
    }))
}

/// (name, help, is counter, scale) for the fields after major, minor and name.
const FIELDS: &[(&str, &str, bool, f64)] = &[
    (
        "reads_completed_total",
        "The total number of reads completed successfully.",
        true,
        1.0,
    ),
    (
        "reads_merged_total",
        "The total number of reads merged.",
        true,
        1.0,
    ),
    (
        "read_bytes_total",
        "The total number of bytes read successfully.",
        true,
        512.0,
    ),
    (
        "read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        true,
        0.001,
    ),
    (
        "writes_completed_total",
        "The total number of writes completed successfully.",
        true,
        1.0,
    ),
    (
        "writes_merged_total",
        "The number of writes merged.",
        true,
        1.0,
    ),
    (
        "written_bytes_total",
        "The total number of bytes written successfully.",
        true,
        512.0,
    ),
    (
        "write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        true,
        0.001,
    ),
    (
        "io_now",
        "The number of I/Os currently in progress.",
        false,
        1.0,
    ),
    (
        "io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        true,
        0.001,
    ),
    (
        "io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        true,
        0.001,
    ),
    (
        "discards_completed_total",
        "The total number of discards completed successfully.",
        true,
        1.0,
    ),
    (
        "discards_merged_total",
        "The total number of discards merged.",
        true,
        1.0,
    ),
    (
        "discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        true,
        1.0,
    ),
    (
        "discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        true,
        0.001,
    ),
    (
        "flush_requests_total",
        "The total number of flush requests completed successfully",
        true,
        1.0,
    ),
    (
        "flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        true,
        0.001,
    ),
];

impl Collector for Diskstats {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("diskstats");
        let text = read(&path)?;
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.is_empty() {
                continue;
            }
            if f.len() < 14 {
                return Err(CollectorError::parse(
                    &path,
                    format!("line {}: {} fields, want at least 14", n + 1, f.len()),
                ));
            }
            let dev = f[2];
            if self.filter.ignored(dev) {
                continue;
            }
            let (major, minor) = (f[0], f[1]);
            let mut vals = Vec::with_capacity(f.len() - 3);
            for s in &f[3..] {
                vals.push(s.parse::<u64>().map_err(|_| {
                    CollectorError::parse(&path, format!("line {}: invalid number {s:?}", n + 1))
                })?);
            }
            let info = udev_properties(&paths.udev_data, &format!("b{major}:{minor}"));
            let get = |k: &str| info.get(k).map_or("", String::as_str);
            let serial = match get("SCSI_IDENT_SERIAL") {
                "" => get("ID_SERIAL_SHORT"),
                s => s,
            };
            let rotational =
                super::util::attr_u64(&paths.sys(&format!("block/{dev}/queue/rotational")))
                    .unwrap_or(0);
            out.gauge(
                "node_disk_info",
                "Info of /sys/block/<block_device>.",
                &[
                    ("device", dev),
                    ("major", major),
                    ("minor", minor),
                    ("path", get("ID_PATH")),
                    ("wwn", get("ID_WWN")),
                    ("model", get("ID_MODEL")),
                    ("serial", serial),
                    ("revision", get("ID_REVISION")),
                    ("rotational", &format!("{rotational:b}")),
                ],
                1.0,
            );
            for ((name, help, counter, scale), v) in FIELDS.iter().zip(&vals) {
                let name = format!("node_disk_{name}");
                let value = *v as f64 * scale;
                if *counter {
                    out.counter(&name, help, &[("device", dev)], value);
                } else {
                    out.gauge(&name, help, &[("device", dev)], value);
                }
            }
            if !get("ID_FS_TYPE").is_empty() {
                out.gauge(
                    "node_disk_filesystem_info",
                    "Info about disk filesystem.",
                    &[
                        ("device", dev),
                        ("type", get("ID_FS_TYPE")),
                        ("usage", get("ID_FS_USAGE")),
                        ("uuid", get("ID_FS_UUID")),
                        ("version", get("ID_FS_VERSION")),
                    ],
                    1.0,
                );
            }
            if !get("DM_NAME").is_empty() {
                out.gauge(
                    "node_disk_device_mapper_info",
                    "Info about disk device mapper.",
                    &[
                        ("device", dev),
                        ("name", get("DM_NAME")),
                        ("uuid", get("DM_UUID")),
                        ("vg_name", get("DM_VG_NAME")),
                        ("lv_name", get("DM_LV_NAME")),
                        ("lv_layer", get("DM_LV_LAYER")),
                    ],
                    1.0,
                );
            }
            if !get("ID_ATA").is_empty() {
                for (attr, name, help) in [
                    (
                        "ID_ATA_WRITE_CACHE",
                        "node_disk_ata_write_cache",
                        "ATA disk has a write cache.",
                    ),
                    (
                        "ID_ATA_WRITE_CACHE_ENABLED",
                        "node_disk_ata_write_cache_enabled",
                        "ATA disk has its write cache enabled.",
                    ),
                    (
                        "ID_ATA_ROTATION_RATE_RPM",
                        "node_disk_ata_rotation_rate_rpm",
                        "ATA disk rotation rate in RPMs (0 for SSDs).",
                    ),
                ] {
                    if let Some(v) = info.get(attr).and_then(|s| s.parse::<f64>().ok()) {
                        out.gauge(name, help, &[("device", dev)], v);
                    }
                }
            }
        }
        Ok(())
    }
}
