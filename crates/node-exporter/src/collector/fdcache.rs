//! Open procfs and sysfs files kept between scrapes (no upstream counterpart: node_exporter
//! opens every file at every scrape).
//!
//! Opening a file was the largest single cost of a scrape (the kernel's path walk, then the
//! close). A procfs `seq_file` or a sysfs attribute read again from offset 0 produces its
//! content afresh (`seq_read_iter` restarts its iterator at position 0; kernfs calls the
//! attribute's `show` again), so such files are kept open and re-read with `pread`. Only
//! files on procfs or sysfs are kept (a regular file replaced by a rename must be opened
//! again to be seen), not under a process directory (`/proc/<pid>`, `/proc/self`), and at
//! most [`cap`] of them. A sysfs file whose device went away reads `ENODEV`: its path is
//! opened again (the device may be back under the same name), and files not read for a few
//! scrapes are closed by [`end_scrape`].

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::util::with_buf;

/// procfs's and sysfs's `statfs` magic numbers.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const SYSFS_MAGIC: i64 = 0x6265_6572;
/// Scrapes a kept file may go unread before it is closed.
const IDLE_SCRAPES: u64 = 3;

struct Entry {
    /// The open file; `None` while a reader holds it (or for a file not to be kept).
    file: Option<File>,
    /// Whether the file is kept at all (on procfs/sysfs, not a process directory).
    keep: bool,
    /// The scrape that last read it.
    used: u64,
}

static CACHE: Mutex<Option<HashMap<Vec<u8>, Entry, foldhash::fast::RandomState>>> =
    Mutex::new(None);
static SCRAPE: AtomicU64 = AtomicU64::new(0);

/// How many files may be kept open: an eighth of the open-file limit (the rest is the
/// process's, e.g. the all-in-one server's), at most 1024.
#[must_use]
pub fn cap() -> usize {
    static CAP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(1024);
        usize::try_from(soft / 8).unwrap_or(1024).min(1024)
    })
}

fn lock()
-> std::sync::MutexGuard<'static, Option<HashMap<Vec<u8>, Entry, foldhash::fast::RandomState>>> {
    CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Calls `f` with the whole content of the file at `key` (its path), from the kept file
/// when there is one, else opened with `open` (and kept when it qualifies). `single_read` as
/// in [`super::util::with_open`].
///
/// # Errors
/// The file cannot be opened or read.
pub fn read<T>(
    key: &[u8],
    open: impl Fn() -> io::Result<File>,
    single_read: bool,
    f: impl FnOnce(&[u8]) -> T,
) -> io::Result<T> {
    let scrape = SCRAPE.load(Ordering::Relaxed);
    let taken = {
        let mut guard = lock();
        match guard.as_mut().and_then(|m| m.get_mut(key)) {
            Some(e) => {
                e.used = scrape;
                if e.keep { Some(e.file.take()) } else { None }
            }
            None => Some(None),
        }
    };
    let Some(held) = taken else {
        // Known not to qualify: an ordinary open and read.
        return super::util::with_open(open()?, single_read, f);
    };
    let (file, fresh) = match held {
        Some(file) => (file, false),
        None => (open()?, true),
    };
    let keep = !fresh || qualifies(key, &file);
    with_buf(|buf| {
        let (file, read) = match read_at_zero(&file, buf, single_read) {
            Err(e) if !fresh && e.raw_os_error() == Some(libc::ENODEV) => {
                // The device behind a kept sysfs file went away: open the path again.
                drop(file);
                let file = match open() {
                    Ok(file) => file,
                    Err(e) => {
                        forget(key);
                        return Err(e);
                    }
                };
                let read = read_at_zero(&file, buf, single_read);
                (file, read)
            }
            other => (file, other),
        };
        put_back(key, file, keep, scrape);
        read.map(|()| f(buf.filled()))
    })
}

/// Whether a newly opened file may be kept: on procfs or sysfs, not a process's directory.
fn qualifies(key: &[u8], file: &File) -> bool {
    let on_kernel_fs = rustix::fs::fstatfs(file).is_ok_and(|s| {
        #[allow(clippy::unnecessary_cast, clippy::cast_lossless)]
        let t = s.f_type as i64;
        t == PROC_SUPER_MAGIC || t == SYSFS_MAGIC
    });
    on_kernel_fs
        && !key.split(|&b| b == b'/').any(|c| {
            c == b"self"
                || c == b"thread-self"
                || (!c.is_empty() && c.iter().all(u8::is_ascii_digit))
        })
}

fn put_back(key: &[u8], file: File, keep: bool, scrape: u64) {
    let mut guard = lock();
    let map = guard.get_or_insert_with(HashMap::default);
    if let Some(e) = map.get_mut(key) {
        if keep && e.file.is_none() {
            e.file = Some(file);
        }
        return;
    }
    if map.len() < cap() {
        map.insert(
            key.to_vec(),
            Entry {
                file: keep.then_some(file),
                keep,
                used: scrape,
            },
        );
    }
}

fn forget(key: &[u8]) {
    if let Some(m) = lock().as_mut() {
        m.remove(key);
    }
}

/// Reads the whole file from offset 0 into `buf` (see [`super::util::with_open`] for
/// `single_read`).
fn read_at_zero(file: &File, buf: &mut super::util::Buf, single_read: bool) -> io::Result<()> {
    buf.clear();
    loop {
        let offset = buf.len() as u64;
        let spare = buf.spare();
        let room = spare.len();
        let n = match file.read_at(spare, offset) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.advance(n);
        if n == 0 || (single_read && n < room / 2) {
            return Ok(());
        }
    }
}

/// Marks the end of a scrape: files not read in the last few scrapes are closed.
pub fn end_scrape() {
    let scrape = SCRAPE.fetch_add(1, Ordering::Relaxed) + 1;
    if scrape.is_multiple_of(IDLE_SCRAPES)
        && let Some(m) = lock().as_mut()
    {
        m.retain(|_, e| e.used + IDLE_SCRAPES >= scrape);
    }
}

/// How many paths the cache knows (kept open or known not to qualify).
#[must_use]
pub fn len() -> usize {
    lock().as_ref().map_or(0, HashMap::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_path(p: &std::path::Path) -> String {
        use std::os::unix::ffi::OsStrExt;
        read(
            p.as_os_str().as_bytes(),
            || File::open(p),
            false,
            |b| String::from_utf8_lossy(b).into_owned(),
        )
        .unwrap()
    }

    /// The cache is global: its tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn kept_proc_files_read_afresh_and_regular_files_are_opened_again() {
        let _turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // /proc/uptime changes every 10 ms: a kept file read again shows the new value.
        let p = std::path::Path::new("/proc/uptime");
        let first = read_path(p);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let again = read_path(p);
            if again != first {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "/proc/uptime never changed"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        {
            let g = lock();
            let e = g.as_ref().unwrap().get(b"/proc/uptime".as_slice()).unwrap();
            assert!(e.keep && e.file.is_some(), "/proc/uptime is kept open");
        }
        // A regular file replaced by a rename is seen: it is not kept open.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "one").unwrap();
        assert_eq!(read_path(&f), "one");
        let tmp = dir.path().join("t");
        std::fs::write(&tmp, "two").unwrap();
        std::fs::rename(&tmp, &f).unwrap();
        assert_eq!(read_path(&f), "two");
        // A process's directory is not kept either.
        let own = format!("/proc/{}/stat", std::process::id());
        let _ = read_path(std::path::Path::new(&own));
        let g = lock();
        let m = g.as_ref().unwrap();
        use std::os::unix::ffi::OsStrExt;
        assert!(!m[f.as_os_str().as_bytes()].keep);
        assert!(!m[own.as_bytes()].keep);
    }

    #[test]
    fn sysfs_attributes_are_kept_and_idle_ones_closed() {
        let _turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let p = std::path::Path::new("/sys/class/net/lo/mtu");
        assert_eq!(read_path(p).trim(), "65536");
        assert_eq!(read_path(p).trim(), "65536");
        let held = |k: &[u8]| lock().as_ref().is_some_and(|m| m.contains_key(k));
        assert!(held(b"/sys/class/net/lo/mtu"));
        for _ in 0..=2 * IDLE_SCRAPES {
            end_scrape();
        }
        assert!(!held(b"/sys/class/net/lo/mtu"), "closed after idle scrapes");
        let missing = std::path::Path::new("/proc/no-such-file");
        assert!(read(b"/proc/no-such-file", || File::open(missing), false, |_| ()).is_err());
    }
}
