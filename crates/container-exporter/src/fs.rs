//! The machine's filesystems, reported for the root cgroup as cAdvisor's `fs/fs.go`
//! (`processMounts`, `GetFsInfoForPath`, `getDiskStatsMap`) and `container/raw/handler.go`
//! (`fsToFsStats`) do: the mounts cAdvisor's filesystem plugins handle (block filesystems,
//! tmpfs, overlay), their `statfs` sizes and inodes, and their device's `/proc/diskstats` line;
//! and the device names that the per-device I/O series carry.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Block filesystems cAdvisor's `vfs` plugin handles (besides `ext*`).
const VFS_TYPES: &[&str] = &[
    "xfs", "squashfs", "f2fs", "jfs", "reiserfs", "hfs", "hfsplus", "ntfs", "vfat", "fat", "msdos",
    "exfat", "udf", "iso9660",
];

/// A mount cAdvisor reports, keyed by its (made unique) device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The `device` label: the mount source (`/dev/vda1`); tmpfs its mount point; overlay
    /// `source_major-minor`.
    pub device: String,
    /// The mount point.
    pub mountpoint: String,
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
}

fn handled(fs_type: &str) -> bool {
    fs_type.starts_with("ext")
        || VFS_TYPES.contains(&fs_type)
        || fs_type == "tmpfs"
        || fs_type == "overlay"
}

/// Decodes mountinfo's octal escapes (`\040` for a space).
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = (b[i] == b'\\' && i + 3 < b.len())
            .then(|| &b[i + 1..i + 4])
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                u8::try_from(v).ok()
            });
        if let Some(byte) = octal {
            out.push(byte);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The partitions of a `mountinfo` text, as cAdvisor's `processMounts`: handled types only,
/// the first mount of each source (bind mounts skipped; each tmpfs mount counts on its own).
#[must_use]
pub fn partitions(mountinfo: &str) -> Vec<Partition> {
    let mut by_device: BTreeMap<String, Partition> = BTreeMap::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        let (Some(dev), Some(mountpoint), Some(fs_type), Some(source)) =
            (left.get(2), left.get(4), right.first(), right.get(1))
        else {
            continue;
        };
        let Some((major, minor)) = dev
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            continue;
        };
        if !handled(fs_type) {
            continue;
        }
        let source = unescape(source);
        let mountpoint = unescape(mountpoint);
        if by_device.contains_key(&source) && *fs_type != "tmpfs" {
            continue;
        }
        let device = match *fs_type {
            "tmpfs" => mountpoint.clone(),
            "overlay" => format!("{source}_{major}-{minor}"),
            _ => source,
        };
        by_device.insert(
            device.clone(),
            Partition {
                device,
                mountpoint,
                major,
                minor,
            },
        );
    }
    by_device.into_values().collect()
}

/// One `/proc/diskstats` line's counters (times in milliseconds, as the kernel gives them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Reads completed.
    pub reads_completed: u64,
    /// Reads merged.
    pub reads_merged: u64,
    /// Sectors read.
    pub sectors_read: u64,
    /// Milliseconds spent reading.
    pub read_time: u64,
    /// Writes completed.
    pub writes_completed: u64,
    /// Writes merged.
    pub writes_merged: u64,
    /// Sectors written.
    pub sectors_written: u64,
    /// Milliseconds spent writing.
    pub write_time: u64,
    /// I/Os in progress.
    pub io_in_progress: u64,
    /// Milliseconds spent doing I/Os.
    pub io_time: u64,
    /// Weighted milliseconds spent doing I/Os.
    pub weighted_io_time: u64,
}

/// `/proc/diskstats` lines of the devices cAdvisor keeps (`sd*`, `vd*`, `xvd*`, `dm-*`), by
/// `/dev/<name>` and by `(major, minor)`.
#[must_use]
pub fn diskstats(text: &str) -> Vec<(String, (u64, u64), DiskStats)> {
    let kept = |name: &str| {
        let rest = ["xvd", "sd", "vd"]
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .map(|r| r.trim_end_matches(|c: char| c.is_ascii_digit()));
        match rest {
            Some(letters) => !letters.is_empty() && letters.bytes().all(|b| b.is_ascii_lowercase()),
            None => name
                .strip_prefix("dm-")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        }
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 14 || !kept(w[2]) {
            continue;
        }
        let n: Vec<u64> = w.iter().map(|v| v.parse().unwrap_or(0)).collect();
        let (Ok(major), Ok(minor)) = (w[0].parse(), w[1].parse()) else {
            continue;
        };
        out.push((
            format!("/dev/{}", w[2]),
            (major, minor),
            DiskStats {
                reads_completed: n[3],
                reads_merged: n[4],
                sectors_read: n[5],
                read_time: n[6],
                writes_completed: n[7],
                writes_merged: n[8],
                sectors_written: n[9],
                write_time: n[10],
                io_in_progress: n[11],
                io_time: n[12],
                weighted_io_time: n[13],
            },
        ));
    }
    out
}

/// One filesystem of the root cgroup, or a container's writable layer on one (cAdvisor's
/// `FsStats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FsStats {
    /// The `device` label.
    pub device: String,
    /// Device major number (of the mount, as mountinfo gives it).
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Size in bytes.
    pub limit: u64,
    /// Used bytes (size minus free).
    pub usage: u64,
    /// Inodes.
    pub inodes: u64,
    /// Free inodes.
    pub inodes_free: u64,
    /// The device's `/proc/diskstats` counters (zero when it has no line).
    pub disk: DiskStats,
}

/// The machine's filesystems: the partitions of `procfs/1/mountinfo` (else `self`), sized by
/// `statfs` on their mount points under `rootfs`; a mount that cannot be stat'ed is left out.
#[must_use]
pub fn machine(procfs: &Path, rootfs: &Path) -> Vec<FsStats> {
    let Some(mountinfo) = ["1/mountinfo", "self/mountinfo"]
        .iter()
        .find_map(|f| std::fs::read_to_string(procfs.join(f)).ok())
    else {
        return Vec::new();
    };
    let stats = diskstats(&std::fs::read_to_string(procfs.join("diskstats")).unwrap_or_default());
    let mut out = Vec::new();
    for p in partitions(&mountinfo) {
        let target = rootfs.join(p.mountpoint.trim_start_matches('/'));
        let st = match rustix::fs::statvfs(&target) {
            Ok(st) => st,
            Err(e) => {
                tracing::debug!(mountpoint = %target.display(), error = %e, "statfs failed");
                continue;
            }
        };
        let disk = stats
            .iter()
            .find(|(name, _, _)| *name == p.device)
            .or_else(|| stats.iter().find(|(_, mm, _)| *mm == (p.major, p.minor)))
            .map(|(_, _, d)| *d)
            .unwrap_or_default();
        out.push(FsStats {
            device: p.device,
            major: p.major,
            minor: p.minor,
            limit: st.f_frsize * st.f_blocks,
            usage: st.f_frsize * st.f_blocks.saturating_sub(st.f_bfree),
            inodes: st.f_files,
            inodes_free: st.f_ffree,
            disk,
        });
    }
    out
}

/// Names of block devices by `(major, minor)`, as cAdvisor's `MachineInfoNamer`: `/dev/<name>`
/// for the disks in `sysfs/block` (not `loop*`, `ram*`, `sr*` or hidden ones), else the device
/// of a mounted filesystem with those numbers; unknown devices are named `""`.
#[derive(Debug, Clone, Default)]
pub struct DeviceNames {
    disks: HashMap<(u64, u64), String>,
    mounts: HashMap<(u64, u64), String>,
}

impl DeviceNames {
    /// Reads `sysfs/block/*/dev` and the partitions of `procfs/1/mountinfo`.
    #[must_use]
    pub fn read(sysfs: &Path, procfs: &Path) -> Self {
        let mut names = Self::default();
        if let Ok(entries) = std::fs::read_dir(sysfs.join("block")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if ["loop", "ram", "sr"].iter().any(|p| name.starts_with(p)) {
                    continue;
                }
                let dir = e.path();
                let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
                if read("hidden").is_some_and(|h| h.trim() == "1") {
                    continue;
                }
                let Some(dev) = read("dev") else { continue };
                if let Some((a, b)) = dev.trim().split_once(':')
                    && let (Ok(a), Ok(b)) = (a.parse(), b.parse())
                {
                    names.disks.insert((a, b), format!("/dev/{name}"));
                }
            }
        }
        if let Some(mountinfo) = ["1/mountinfo", "self/mountinfo"]
            .iter()
            .find_map(|f| std::fs::read_to_string(procfs.join(f)).ok())
        {
            for p in partitions(&mountinfo) {
                names.mounts.entry((p.major, p.minor)).or_insert(p.device);
            }
        }
        names
    }

    /// The name of device `major:minor`.
    #[must_use]
    pub fn name(&self, major: u64, minor: u64) -> &str {
        self.disks
            .get(&(major, minor))
            .or_else(|| self.mounts.get(&(major, minor)))
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_partitions() {
        let text = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
28 27 254:0 /srv /srv rw,relatime - ext4 /dev/vda rw
22 27 0:21 / /proc rw,relatime - proc proc rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
30 25 0:27 / /run/a\\040b rw,relatime - tmpfs tmpfs rw
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:50 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=a
51 27 8:17 / /data rw - xfs /dev/sdb1 rw
bad line
";
        let got: Vec<(String, String)> = partitions(text)
            .into_iter()
            .map(|p| (p.device, p.mountpoint))
            .collect();
        let want = [
            ("/dev/sdb1", "/data"),
            ("/dev/shm", "/dev/shm"),
            ("/dev/vda", "/"),
            ("/run/a b", "/run/a b"),
            ("overlay_0-50", "/var/lib/docker/overlay2/x/merged"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn diskstats_lines() {
        let text = "\
   8       0 sda 10 1 200 30 40 2 300 50 0 60 70 0 0 0 0
   8       1 sda1 1 2 3 4 5 6 7 8 9 10 11
   7       0 loop0 1 2 3 4 5 6 7 8 9 10 11
 253       0 dm-0 1 2 3 4 5 6 7 8 9 10 11
 254       0 vda 1 2 3
";
        let got: Vec<String> = diskstats(text).into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(got, ["/dev/sda", "/dev/sda1", "/dev/dm-0"]);
        let sda = diskstats(text)[0].2;
        assert_eq!(
            (sda.reads_completed, sda.write_time, sda.weighted_io_time),
            (10, 50, 70)
        );
    }
}
