//! Small tmpfs mounts for disk-fault tests (tests run as root in CI): a file system of a few
//! MiB that a test fills to make writes fail with "no space left on device", then frees.
//! A machine that refuses the mount records a named skip ([`crate::skip`]), so the test
//! never passes silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a directory; unmounted (lazily, so open files do not block it) when
/// dropped.
#[derive(Debug)]
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` bytes on `path` (created if missing). On failure records a
    /// skip for `test` naming the reason and returns `None`.
    #[must_use]
    pub fn mount(test: &str, path: &Path, size: u64) -> Option<Self> {
        match Self::try_mount(path, size) {
            Ok(fs) => Some(fs),
            Err(reason) => {
                crate::skip(test, &reason);
                None
            }
        }
    }

    fn try_mount(path: &Path, size: u64) -> Result<Self, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs refused (the disk-fault test needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The mount point.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes still free for an unprivileged-looking writer (`statfs` available blocks).
    ///
    /// # Panics
    /// When `stat -f` fails.
    #[must_use]
    pub fn available(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.path)
            .output()
            .expect("running stat -f");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text
            .split_whitespace()
            .map(|s| s.parse::<u64>().unwrap_or(0));
        it.next().unwrap_or(0) * it.next().unwrap_or(0)
    }

    /// Fills the file system with one file until only about `leave` bytes are free; the
    /// space returns when the [`Filler`] is released or dropped.
    ///
    /// # Panics
    /// On an I/O error other than "no space left".
    #[must_use]
    pub fn fill(&self, leave: u64) -> Filler {
        let path = self.path.join(format!(
            "filler-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let mut f = std::fs::File::create(&path).expect("creating the filler file");
        let block = vec![0xa5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // Whatever the last write left is free too; give back up to `leave`.
        let free = self.available();
        let give_back = leave.saturating_sub(free).min(written);
        f.set_len(written - give_back)
            .expect("shrinking the filler");
        Filler { path: Some(path) }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A file taking the free space of a [`Tmpfs`]; removed when released or dropped.
#[derive(Debug)]
pub struct Filler {
    path: Option<PathBuf>,
}

impl Filler {
    /// Frees the space.
    ///
    /// # Panics
    /// When the file cannot be removed.
    pub fn release(mut self) {
        if let Some(p) = self.path.take() {
            std::fs::remove_file(&p).expect("removing the filler file");
        }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// An ext4 file system on a loop device whose sparse image lives on a [`Tmpfs`]: filling
/// the tmpfs makes the kernel's writeback fail, so `fsync` returns an error (EIO, ENOSPC)
/// while plain writes still succeed, the way a failing or thin-provisioned disk behaves.
#[derive(Debug)]
pub struct FailingDisk {
    mount: PathBuf,
    device: String,
}

impl FailingDisk {
    /// Creates an image of `size` bytes in `backing`, formats it ext4 and mounts it on
    /// `path`. On failure records a skip for `test` naming the reason and returns `None`.
    #[must_use]
    pub fn mount(test: &str, backing: &Tmpfs, path: &Path, size: u64) -> Option<Self> {
        match Self::try_mount(backing, path, size) {
            Ok(d) => Some(d),
            Err(reason) => {
                crate::skip(test, &reason);
                None
            }
        }
    }

    fn try_mount(backing: &Tmpfs, path: &Path, size: u64) -> Result<Self, String> {
        let run = |cmd: &mut Command| -> Result<String, String> {
            let out = cmd
                .output()
                .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            } else {
                Err(format!(
                    "{cmd:?} failed (the fsync-fault test needs root, loop devices and mkfs.ext4): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        let image = backing.path().join("disk.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(size))
            .map_err(|e| format!("creating {}: {e}", image.display()))?;
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
            .arg(&image))?;
        let device = run(Command::new("losetup").args(["-f", "--show"]).arg(&image))?;
        std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        if let Err(e) = run(Command::new("mount").arg(&device).arg(path)) {
            let _ = Command::new("losetup").args(["-d", &device]).status();
            return Err(e);
        }
        Ok(Self {
            mount: path.to_path_buf(),
            device,
        })
    }

    /// The mount point.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.mount
    }
}

impl Drop for FailingDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}
