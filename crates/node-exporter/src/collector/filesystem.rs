//! Filesystem space and inodes of the mounted filesystems (node_exporter's
//! `collector/filesystem_linux.go` and `filesystem_common.go`): mounts from
//! /proc/1/mountinfo (or /proc/self/mountinfo), `statfs` on each under `--path.rootfs`.

use std::collections::HashSet;

use super::util::DeviceFilter;
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

const DEF_MOUNT_POINTS_EXCLUDED: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
const DEF_FS_TYPES_EXCLUDED: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";

/// The filesystem collector.
pub struct Filesystem {
    mount_points: DeviceFilter,
    fs_types: DeviceFilter,
}

/// Builds the collector from the mount point and fs type include/exclude flags.
///
/// # Errors
/// A bad pattern or both include and exclude given.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let mut o = opts.clone();
    if let Some(v) = opts.get("collector.filesystem.ignored-mount-points") {
        o.set("collector.filesystem.mount-points-exclude", v);
    }
    if let Some(v) = opts.get("collector.filesystem.ignored-fs-types") {
        o.set("collector.filesystem.fs-types-exclude", v);
    }
    Ok(Box::new(Filesystem {
        mount_points: DeviceFilter::from_flags(
            &o,
            "collector.filesystem.mount-points-exclude",
            "collector.filesystem.mount-points-include",
            DEF_MOUNT_POINTS_EXCLUDED,
        )?,
        fs_types: DeviceFilter::from_flags(
            &o,
            "collector.filesystem.fs-types-exclude",
            "collector.filesystem.fs-types-include",
            DEF_FS_TYPES_EXCLUDED,
        )?,
    }))
}

/// Undoes the kernel's octal escapes in mountinfo (`\040` is a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One mount: device, mount point, fs type, options, major and minor.
struct Mount {
    device: String,
    mount_point: String,
    fs_type: String,
    options: String,
    major: String,
    minor: String,
}

fn mounts(paths: &Paths) -> Result<Vec<Mount>, CollectorError> {
    let mut path = paths.proc("1/mountinfo");
    let text = match super::util::read_string(&path) {
        Ok(t) => t,
        Err(_) => {
            path = paths.proc("self/mountinfo");
            super::util::read_string(&path).map_err(|e| CollectorError::io(&path, e))?
        }
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(sep) = parts.iter().position(|p| *p == "-") else {
            return Err(CollectorError::parse(
                &path,
                format!("malformed mount point information: {line:?}"),
            ));
        };
        if parts.len() < sep + 3 || sep < 6 {
            return Err(CollectorError::parse(
                &path,
                format!("malformed mount point information: {line:?}"),
            ));
        }
        let (major, minor) = parts[2].split_once(':').unwrap_or((parts[2], ""));
        out.push(Mount {
            device: parts[sep + 2].to_owned(),
            mount_point: unescape(parts[4]),
            fs_type: parts[sep + 1].to_owned(),
            options: parts[5].to_owned(),
            major: major.to_owned(),
            minor: minor.to_owned(),
        });
    }
    Ok(out)
}

impl Collector for Filesystem {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut seen = HashSet::new();
        for m in mounts(paths)? {
            if self.mount_points.ignored(&m.mount_point) || self.fs_types.ignored(&m.fs_type) {
                continue;
            }
            if !seen.insert((m.device.clone(), m.mount_point.clone(), m.fs_type.clone())) {
                continue;
            }
            let ro = if m.options.split(',').any(|o| o == "ro") {
                1.0
            } else {
                0.0
            };
            let target = paths.root(&m.mount_point);
            let stat = rustix::fs::statvfs(&target);
            let err_text = match &stat {
                Ok(_) => String::new(),
                Err(e) => e.to_string(),
            };
            let l = [
                ("device", m.device.as_str()),
                ("mountpoint", m.mount_point.as_str()),
                ("fstype", m.fs_type.as_str()),
                ("device_error", err_text.as_str()),
            ];
            out.gauge(
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                &l,
                if stat.is_ok() { 0.0 } else { 1.0 },
            );
            out.gauge(
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                &l,
                ro,
            );
            let Ok(s) = stat else { continue };
            let bsize = s.f_bsize as f64;
            out.gauge(
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                &l,
                s.f_blocks as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                &l,
                s.f_bfree as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                &l,
                s.f_bavail as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_files",
                "Filesystem total file nodes.",
                &l,
                s.f_files as f64,
            );
            out.gauge(
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                &l,
                s.f_ffree as f64,
            );
            out.gauge(
                "node_filesystem_mount_info",
                "Filesystem mount information.",
                &[
                    ("device", &m.device),
                    ("major", &m.major),
                    ("minor", &m.minor),
                    ("mountpoint", &m.mount_point),
                ],
                1.0,
            );
        }
        Ok(())
    }
}
