//! A container's writable layer and what it uses, for its `container_fs_*` series, as
//! cAdvisor's Docker and CRI-O handlers report them (`container/docker/handler.go`
//! `getRwLayerID` / `DetermineDeviceStorage`, `container/docker/fs.go` `FsStats`,
//! `lib/container/crio/handler.go` `getFsStats`, `lib/container/common/fsHandler.go`,
//! `lib/fs/fs.go` `GetDirUsage` / `GetDirFsDevice`): the layer directory's filesystem names
//! the `device` and gives the limit (its capacity) and disk counters; usage is the `du` of the
//! layer (blocks × 512, hard links once, not crossing into other filesystems) plus the
//! runtime's extra files (Docker's container directory, CRI-O's log file); `inodes_total` is
//! the layer's inode count and `inodes_free` 0, as cAdvisor writes them.
//!
//! - Docker (overlay2, overlay): `<docker root>/image/<driver>/layerdb/mounts/<id>/mount-id`
//!   names the layer, `<docker root>/<driver>/<layer>/diff` (`upper` for overlay).
//! - CRI-O: the OCI bundle's `root.path` (`.../overlay/<layer>/merged`) with `/merged` turned
//!   into `/diff`; the log file from the `io.kubernetes.cri-o.LogPath` annotation.
//! - containerd (overlayfs snapshotter): the `upperdir=` of the overlay mounted on the task's
//!   `rootfs` in the host's mountinfo. cAdvisor's containerd handler reports no filesystem
//!   for containers (kubelet takes it from the CRI instead); Firewatch reports the writable
//!   layer the same way as for the other runtimes, so dashboards see one shape.
//!
//! Walking a layer costs as much as `du`, so each directory's usage is kept for a minute
//! (cAdvisor's `DefaultPeriod`) by a [`UsageCache`].

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fs::FsStats;
use crate::runtime::{ContainerRef, Runtime};

/// How long a directory's usage is reused (cAdvisor's `common.DefaultPeriod`).
pub const USAGE_PERIOD: Duration = Duration::from_secs(60);

/// Where a container's writable layer is (host paths, as the runtime wrote them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The layer's upper directory.
    pub root: PathBuf,
    /// Other files of the container counted in its usage, not in its inodes.
    pub extra: Option<PathBuf>,
}

/// What a directory tree uses: bytes allocated (`st_blocks` × 512) and inodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes allocated.
    pub bytes: u64,
    /// Inodes (hard-linked files once).
    pub inodes: u64,
}

/// The usage of `dir` (a file counts alone), as `du -sx --block-size=1` and `du -sx --inodes`:
/// symbolic links not followed, directories on other filesystems skipped, files with several
/// links counted once, entries vanishing during the walk ignored.
///
/// # Errors
/// `dir` cannot be read, or a directory in it cannot.
pub fn dir_usage(dir: &Path) -> std::io::Result<Usage> {
    let top = std::fs::symlink_metadata(dir)?;
    let top_dev = top.dev();
    let mut usage = Usage::default();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(dir.to_path_buf(), top)];
    while let Some((path, meta)) = stack.pop() {
        if meta.dev() != top_dev {
            continue;
        }
        if meta.nlink() <= 1 || meta.is_dir() || seen.insert(meta.ino()) {
            usage.bytes += meta.blocks() * 512;
            usage.inodes += 1;
        }
        if !meta.is_dir() {
            continue;
        }
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            match entry.metadata() {
                Ok(m) => stack.push((entry.path(), m)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(usage)
}

/// Directory usages kept for [`USAGE_PERIOD`]; entries not asked for in ten periods go.
#[derive(Debug, Default)]
pub struct UsageCache {
    entries: Mutex<HashMap<PathBuf, (Instant, Usage)>>,
}

impl UsageCache {
    /// The usage of `dir`, walked at most once a period; a failed walk keeps the last
    /// value (none before the first success), as cAdvisor's fsHandler does.
    pub fn usage(&self, dir: &Path) -> Option<Usage> {
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, (t, _)| now.duration_since(*t) < USAGE_PERIOD * 10);
        if let Some((t, u)) = entries.get(dir)
            && now.duration_since(*t) < USAGE_PERIOD
        {
            return Some(*u);
        }
        drop(entries);
        let walked = dir_usage(dir);
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match walked {
            Ok(u) => {
                entries.insert(dir.to_path_buf(), (now, u));
                Some(u)
            }
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "writable layer usage");
                entries.get(dir).map(|(_, u)| *u)
            }
        }
    }
}

/// Finds containers' writable layers in the runtimes' files under a root.
#[derive(Debug, Clone)]
pub struct Layers<'a> {
    /// The host's root (`/` live).
    pub rootfs: &'a Path,
    /// The host's mountinfo text (`/proc/1/mountinfo`).
    pub mountinfo: &'a str,
}

impl Layers<'_> {
    /// A host path under the root.
    fn host(&self, p: &str) -> PathBuf {
        self.rootfs.join(p.trim_start_matches('/'))
    }

    /// The writable layer of `c`, if its runtime's files say where it is.
    #[must_use]
    pub fn find(&self, c: &ContainerRef) -> Option<Layer> {
        match c.runtime {
            Runtime::Docker => self.docker(&c.id),
            Runtime::Containerd => self.containerd(&c.id),
            Runtime::Crio => self.crio(&c.id),
            Runtime::Unknown => self
                .containerd(&c.id)
                .or_else(|| self.crio(&c.id))
                .or_else(|| self.docker(&c.id)),
        }
    }

    fn docker(&self, id: &str) -> Option<Layer> {
        let root = self.host("var/lib/docker");
        for (driver, upper) in [("overlay2", "diff"), ("overlay", "upper")] {
            let file = root
                .join("image")
                .join(driver)
                .join("layerdb/mounts")
                .join(id)
                .join("mount-id");
            let Ok(layer) = std::fs::read_to_string(&file) else {
                continue;
            };
            let layer = layer.trim();
            if layer.is_empty() || layer.contains('/') {
                continue;
            }
            return Some(Layer {
                root: root.join(driver).join(layer).join(upper),
                extra: Some(root.join("containers").join(id)),
            });
        }
        None
    }

    fn crio(&self, id: &str) -> Option<Layer> {
        let config = self
            .host("run/containers/storage/overlay-containers")
            .join(id)
            .join("userdata/config.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(config).ok()?).ok()?;
        let merged = v["root"]["path"].as_str()?;
        let dir = merged.strip_suffix("/merged").unwrap_or(merged);
        let extra = v["annotations"]["io.kubernetes.cri-o.LogPath"]
            .as_str()
            .filter(|p| !p.is_empty())
            .map(|p| self.host(p));
        Some(Layer {
            root: self.host(&format!("{dir}/diff")),
            extra,
        })
    }

    fn containerd(&self, id: &str) -> Option<Layer> {
        let targets: Vec<String> = ["k8s.io", "moby", "default"]
            .iter()
            .map(|ns| format!("/run/containerd/io.containerd.runtime.v2.task/{ns}/{id}/rootfs"))
            .collect();
        let upper = overlay_upperdirs(self.mountinfo)
            .into_iter()
            .find(|(mountpoint, _)| targets.contains(mountpoint))?
            .1;
        Some(Layer {
            root: self.host(&upper),
            extra: None,
        })
    }
}

/// Each overlay mount's mount point and `upperdir` in a mountinfo text.
fn overlay_upperdirs(mountinfo: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut right = right.split_whitespace();
        if right.next() != Some("overlay") {
            continue;
        }
        let (Some(mountpoint), Some(options)) = (left.split_whitespace().nth(4), right.nth(1))
        else {
            continue;
        };
        if let Some(upper) = options.split(',').find_map(|o| o.strip_prefix("upperdir=")) {
            out.push((crate::fs::unescape(mountpoint), crate::fs::unescape(upper)));
        }
    }
    out
}

/// The filesystem series of a writable layer: the machine filesystem holding it (matched by
/// the layer directory's device numbers, as `GetDirFsDevice`) gives `device`, the limit and
/// the disk counters; the usage and inodes are the layer's. None when the layer is missing,
/// or on no filesystem the machine reports.
#[must_use]
pub fn fs_stats(layer: &Layer, machine: &[FsStats], cache: &UsageCache) -> Option<FsStats> {
    let dev = std::fs::metadata(&layer.root).ok()?.dev();
    let (major, minor) = (
        u64::from(rustix::fs::major(dev)),
        u64::from(rustix::fs::minor(dev)),
    );
    let Some(on) = machine
        .iter()
        .find(|f| (f.major, f.minor) == (major, minor))
    else {
        tracing::debug!(dir = %layer.root.display(), major, minor, "writable layer on no known filesystem");
        return None;
    };
    let root = cache.usage(&layer.root).unwrap_or_default();
    let extra = layer
        .extra
        .as_deref()
        .and_then(|e| cache.usage(e))
        .unwrap_or_default();
    Some(FsStats {
        usage: root.bytes + extra.bytes,
        inodes: root.inodes,
        inodes_free: 0,
        ..on.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upperdirs() {
        let text = "\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
600 22 0:77 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/12/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/12/work
601 22 0:78 / /var/lib/docker/overlay2/l\\040x/merged rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/var/lib/docker/overlay2/l\\040x/diff,workdir=/w
602 22 0:79 / /mnt rw - overlay overlay ro,lowerdir=/a:/b
";
        assert_eq!(
            overlay_upperdirs(text),
            vec![
                (
                    "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs".to_owned(),
                    "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/12/fs"
                        .to_owned()
                ),
                (
                    "/var/lib/docker/overlay2/l x/merged".to_owned(),
                    "/var/lib/docker/overlay2/l x/diff".to_owned()
                ),
            ]
        );
    }
}
