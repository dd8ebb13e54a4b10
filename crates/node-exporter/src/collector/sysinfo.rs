//! Facts about the system (node_exporter's `os_release.go`, `dmi.go`, `time.go`): OS release
//! labels, DMI identifiers and clock sources.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::util::{attr, dir_entries};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The os collector: /etc/os-release (or /usr/lib/os-release) under the root filesystem.
pub struct Os;
impl Os {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Os))
    }
}

/// `KEY=value` lines with shell quoting removed.
#[must_use]
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v[1..v.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\$", "$")
                .replace("\\`", "`")
                .replace("\\\\", "\\")
        } else {
            v.to_owned()
        };
        m.insert(k.to_owned(), v);
    }
    m
}

static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]+\.?[0-9]*").expect("regex"));

impl Collector for Os {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut text = None;
        for f in ["etc/os-release", "usr/lib/os-release"] {
            let path = paths.root(f);
            match super::util::read_string(&path) {
                Ok(t) => {
                    text = Some(t);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CollectorError::io(&path, e)),
            }
        }
        let Some(text) = text else {
            return Err(CollectorError::NoData("no os-release file found".into()));
        };
        let m = parse_os_release(&text);
        let g = |k: &str| m.get(k).map_or("", String::as_str);
        out.gauge(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
            &[
                ("build_id", g("BUILD_ID")),
                ("id", g("ID")),
                ("id_like", g("ID_LIKE")),
                ("image_id", g("IMAGE_ID")),
                ("image_version", g("IMAGE_VERSION")),
                ("name", g("NAME")),
                ("pretty_name", g("PRETTY_NAME")),
                ("variant", g("VARIANT")),
                ("variant_id", g("VARIANT_ID")),
                ("version", g("VERSION")),
                ("version_codename", g("VERSION_CODENAME")),
                ("version_id", g("VERSION_ID")),
            ],
            1.0,
        );
        if let Some(mm) = VERSION.find(g("VERSION_ID"))
            && let Ok(v) = mm.as_str().parse::<f64>()
            && v > 0.0
        {
            out.gauge(
                "node_os_version",
                "Metric containing the major.minor part of the OS version.",
                &[
                    ("id", g("ID")),
                    ("id_like", g("ID_LIKE")),
                    ("name", g("NAME")),
                ],
                v,
            );
        }
        if let Some(end) = m.get("SUPPORT_END")
            && let Ok(d) = end.parse::<jiff::civil::Date>()
        {
            let days = d
                .since(jiff::civil::date(1970, 1, 1))
                .map(|s| s.get_days())
                .unwrap_or(0);
            out.gauge(
                "node_os_support_end_timestamp_seconds",
                "Metric containing the end-of-life date timestamp of the OS.",
                &[],
                f64::from(days) * 86400.0,
            );
        }
        Ok(())
    }
}

/// Replaces each run of invalid UTF-8 bytes with one U+FFFD, as Go's `strings.ToValidUTF8`.
#[must_use]
pub fn to_valid_utf8(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    let mut last_bad = false;
    for chunk in b.utf8_chunks() {
        if !chunk.valid().is_empty() {
            s.push_str(chunk.valid());
            last_bad = false;
        }
        if !chunk.invalid().is_empty() {
            if !last_bad {
                s.push('\u{FFFD}');
            }
            last_bad = true;
        }
    }
    s
}

const DMI: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// The dmi collector: /sys/class/dmi/id.
pub struct Dmi {
    /// The labels read at start-up (node_exporter reads DMI once, when the collector is
    /// built): DMI does not change while the machine runs.
    labels: Vec<(&'static str, String)>,
}
impl Dmi {
    /// Builds the collector, reading /sys/class/dmi/id.
    ///
    /// # Errors
    /// A DMI file exists but cannot be read.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let dir = opts.paths().sys("class/dmi/id");
        let mut labels = Vec::new();
        for (label, file) in DMI {
            let path = dir.join(file);
            match super::util::read_bytes(&path) {
                Ok(b) => labels.push((*label, to_valid_utf8(b.trim_ascii()))),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                    ) => {}
                Err(e) => {
                    return Err(crate::Error::Collector {
                        collector: "dmi".into(),
                        message: format!(
                            "failed to read Desktop Management Interface (DMI) information: {}: {e}",
                            path.display()
                        ),
                    });
                }
            }
        }
        Ok(Box::new(Dmi { labels }))
    }
}
impl Collector for Dmi {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        if self.labels.is_empty() {
            return Err(CollectorError::NoData("no DMI information".into()));
        }
        let l: Vec<(&str, &str)> = self.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        out.gauge(
            "node_dmi_info",
            "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, product_sku, product_uuid, product_version, system_vendor if provided by DMI.",
            &l,
            1.0,
        );
        Ok(())
    }
}

/// The time collector: system time, zone offset and clock sources.
pub struct Time {
    /// The local zone, read once at start as Go's `time.Local`.
    zone: jiff::tz::TimeZone,
}
impl Time {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Time {
            zone: super::localtime::from_env(),
        }))
    }
}
impl Collector for Time {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let now = jiff::Timestamp::now();
        #[allow(clippy::cast_precision_loss)]
        let secs = now.as_nanosecond() as f64 / 1e9;
        out.gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            &[],
            secs,
        );
        let info = self.zone.to_offset_info(now);
        let zone = info.abbreviation().to_owned();
        out.gauge(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            &[("time_zone", &zone)],
            f64::from(info.offset().seconds()),
        );
        let base = paths.sys("devices/system/clocksource");
        for (i, (_, dir)) in dir_entries(&base)?
            .iter()
            .filter(|(n, _)| n.starts_with("clocksource"))
            .enumerate()
        {
            let dev = i.to_string();
            let avail = super::util::read_string(dir.join("available_clocksource"))
                .map_err(|e| CollectorError::io(&dir.join("available_clocksource"), e))?;
            for cs in avail.split_whitespace() {
                out.gauge(
                    "node_time_clocksource_available_info",
                    "Available clocksources read from '/sys/devices/system/clocksource'.",
                    &[("device", &dev), ("clocksource", cs)],
                    1.0,
                );
            }
            let cur = super::util::read_string(dir.join("current_clocksource"))
                .map_err(|e| CollectorError::io(&dir.join("current_clocksource"), e))?;
            out.gauge(
                "node_time_clocksource_current_info",
                "Current clocksource read from '/sys/devices/system/clocksource'.",
                &[("device", &dev), ("clocksource", cur.trim())],
                1.0,
            );
        }
        Ok(())
    }
}

/// The uname collector: the `uname` system call's fields.
pub struct Uname;
impl Uname {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Uname))
    }
}
impl Collector for Uname {
    fn update(&self, _paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let u = rustix::system::uname();
        let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
        out.gauge(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            &[
                ("sysname", &s(u.sysname())),
                ("release", &s(u.release())),
                ("version", &s(u.version())),
                ("machine", &s(u.machine())),
                ("nodename", &s(u.nodename())),
                ("domainname", &s(u.domainname())),
            ],
            1.0,
        );
        Ok(())
    }
}

/// The selinux collector: whether SELinux is enabled and its modes.
pub struct Selinux;
impl Selinux {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Selinux))
    }
}
impl Collector for Selinux {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let enforce = attr(&paths.sys("fs/selinux/enforce"));
        let Some(current) = enforce.and_then(|s| s.parse::<f64>().ok()) else {
            out.gauge(
                "node_selinux_enabled",
                "SELinux is enabled, 1 is true, 0 is false",
                &[],
                0.0,
            );
            return Ok(());
        };
        out.gauge(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
            &[],
            1.0,
        );
        let config = super::util::read_string(paths.root("etc/selinux/config"))
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.trim().strip_prefix("SELINUX=").map(|v| match v.trim() {
                        "enforcing" => 1.0,
                        "permissive" => 0.0,
                        _ => -1.0,
                    })
                })
            })
            .unwrap_or(-1.0);
        out.gauge(
            "node_selinux_config_mode",
            "Configured SELinux enforcement mode",
            &[],
            config,
        );
        out.gauge(
            "node_selinux_current_mode",
            "Current SELinux enforcement mode",
            &[],
            current,
        );
        Ok(())
    }
}
