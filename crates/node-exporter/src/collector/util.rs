//! Small parsing helpers shared by the collectors (sysfs attribute files, key/value files,
//! Go-compatible number parsing).

use std::path::{Path, PathBuf};

use super::CollectorError;
use super::fdcache;

thread_local! {
    /// The read buffer of this thread's scrapes (kept between files and scrapes).
    static BUF: std::cell::RefCell<Buf> = std::cell::RefCell::new(Buf::default());
}

/// A read buffer: its first `len` bytes are filled, the rest is room for the next read.
#[derive(Debug)]
pub struct Buf {
    data: Vec<u8>,
    len: usize,
}

impl Default for Buf {
    fn default() -> Self {
        Self {
            data: vec![0; 16 * 1024],
            len: 0,
        }
    }
}

impl Buf {
    /// Empties the buffer (its room stays).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The number of bytes filled.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is filled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The room after the filled bytes, doubled first when there is none.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.len == self.data.len() {
            self.data.resize(self.data.len() * 2, 0);
        }
        &mut self.data[self.len..]
    }

    /// Counts `n` more bytes of the room as filled.
    pub fn advance(&mut self, n: usize) {
        self.len = (self.len + n).min(self.data.len());
    }

    /// The filled bytes.
    #[must_use]
    pub fn filled(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// Calls `f` with this thread's read buffer (a new one when it is in use further up the
/// stack, by a reader reading another file).
pub fn with_buf<T>(f: impl FnOnce(&mut Buf) -> T) -> T {
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        Err(_) => f(&mut Buf::default()),
    })
}

/// Calls `f` with a file's whole content, read without the `statx` that `std::fs::read`
/// makes for a size hint, into a buffer kept between files and scrapes.
///
/// # Errors
/// The file cannot be opened or read.
pub fn with_file<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
    use std::os::unix::ffi::OsStrExt;
    fdcache::read(
        path.as_os_str().as_bytes(),
        || std::fs::File::open(path),
        false,
        f,
    )
}

/// [`with_file`] for a file already open. With `single_read`, a read that leaves more than
/// half the buffer free is taken as the whole file (a sysfs attribute comes in one read of at
/// most a page); otherwise reading goes on until end of file (procfs's `seq_file` returns
/// about a page per read, whatever the buffer).
///
/// # Errors
/// The file cannot be read.
pub fn with_open<T>(
    mut file: std::fs::File,
    single_read: bool,
    f: impl FnOnce(&[u8]) -> T,
) -> std::io::Result<T> {
    use std::io::Read;
    with_buf(|buf| {
        buf.clear();
        loop {
            let spare = buf.spare();
            let room = spare.len();
            let n = match file.read(spare) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            buf.advance(n);
            if n == 0 || (single_read && n < room / 2) {
                break;
            }
        }
        Ok(f(buf.filled()))
    })
}

/// A whole file as bytes (see [`with_file`]).
///
/// # Errors
/// The file cannot be opened or read.
pub fn read_bytes(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    with_file(path.as_ref(), <[u8]>::to_vec)
}

/// A whole file as text (see [`with_file`]); not UTF-8 is an `InvalidData` error, as with
/// `std::fs::read_to_string`.
///
/// # Errors
/// The file cannot be opened or read, or is not UTF-8.
pub fn read_string(path: impl AsRef<Path>) -> std::io::Result<String> {
    with_file(path.as_ref(), |b| {
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })
    })?
}

/// A sysfs attribute: the file's content trimmed, `None` when absent or unreadable.
#[must_use]
pub fn attr(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    fdcache::read(
        path.as_os_str().as_bytes(),
        || std::fs::File::open(path),
        true,
        |b| std::str::from_utf8(b).ok().map(|s| s.trim().to_owned()),
    )
    .ok()
    .flatten()
}

/// A sysfs attribute parsed as an integer (decimal, or hex with `0x`).
#[must_use]
pub fn attr_u64(path: &Path) -> Option<u64> {
    let s = attr(path)?;
    parse_u64(&s)
}

/// A sysfs attribute parsed as a float.
#[must_use]
pub fn attr_f64(path: &Path) -> Option<f64> {
    attr(path)?.parse().ok()
}

/// A directory held open, its files opened relative to it: the kernel walks one path
/// component per file instead of the whole /sys path (and its symlinks) each time.
#[derive(Debug)]
pub struct DirAt {
    fd: std::os::fd::OwnedFd,
    /// The path given to [`DirAt::open`] and a `/`, the prefix of its files' cache keys.
    prefix: Vec<u8>,
}

impl DirAt {
    /// Opens `path` as a directory (following symlinks).
    ///
    /// # Errors
    /// Not a directory, or absent.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        use std::os::unix::ffi::OsStrExt;
        let mut prefix = path.as_os_str().as_bytes().to_vec();
        prefix.push(b'/');
        Ok(Self { fd, prefix })
    }

    /// Calls `f` with the whole content of the sysfs attribute `name` in this directory (one
    /// read, see [`with_open`]).
    ///
    /// # Errors
    /// The file cannot be opened or read.
    pub fn with_file<T>(&self, name: &str, f: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
        use rustix::fs::{Mode, OFlags};
        let mut key = [0u8; 512];
        let open = || {
            rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map(std::fs::File::from)
            .map_err(std::io::Error::from)
        };
        let len = self.prefix.len() + name.len();
        if len > key.len() {
            return with_open(open()?, true, f);
        }
        key[..self.prefix.len()].copy_from_slice(&self.prefix);
        key[self.prefix.len()..len].copy_from_slice(name.as_bytes());
        fdcache::read(&key[..len], open, true, f)
    }

    /// A sysfs attribute of this directory, trimmed; `None` when absent or unreadable.
    #[must_use]
    pub fn attr(&self, name: &str) -> Option<String> {
        self.with_file(name, |b| {
            std::str::from_utf8(b).ok().map(|s| s.trim().to_owned())
        })
        .ok()
        .flatten()
    }
}

/// Parses an unsigned integer, accepting `0x` hex.
#[must_use]
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Parses a float as Go's `strconv.ParseFloat` (integers included), with a file for errors.
///
/// # Errors
/// Not a number.
pub fn num(path: &Path, s: &str) -> Result<f64, CollectorError> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| CollectorError::parse(path, format!("invalid number {s:?}")))
}

/// The entries of a directory, sorted by name; an error names the directory.
///
/// # Errors
/// The directory cannot be read.
pub fn dir_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, CollectorError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CollectorError::io(dir, e))?;
    let mut v: Vec<(String, PathBuf)> = rd
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// Like [`dir_entries`], empty when the directory is absent.
#[must_use]
pub fn dir_entries_opt(dir: &Path) -> Vec<(String, PathBuf)> {
    dir_entries(dir).unwrap_or_default()
}

/// Formats a float as Go's `%g`-less `strconv.FormatFloat(v, 'f', -1, 64)` would for label
/// values that are integers or decimals.
#[must_use]
pub fn fmt_f64(v: f64) -> String {
    let mut s = String::new();
    model::exposition::write_float(&mut s, v);
    s
}

/// node_exporter's `deviceFilter`: a device is ignored when it matches the exclude pattern
/// or does not match the include pattern.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    exclude: Option<regex::Regex>,
    include: Option<regex::Regex>,
}

impl DeviceFilter {
    /// From `--collector.<c>.<exclude>` / `<include>`; the exclude default applies only when
    /// no include pattern is given.
    ///
    /// # Errors
    /// A pattern does not compile, or both are given.
    pub fn from_flags(
        opts: &crate::options::Options,
        exclude_flag: &str,
        include_flag: &str,
        default_exclude: &str,
    ) -> Result<Self, crate::Error> {
        let include = opts.regex(include_flag)?;
        let exclude = match opts.get(exclude_flag) {
            Some(_) => opts.regex(exclude_flag)?,
            None if include.is_none() && !default_exclude.is_empty() => Some(
                crate::options::compile(default_exclude)
                    .map_err(|e| crate::Error::Flag(e.to_string()))?,
            ),
            None => None,
        };
        if exclude.is_some() && include.is_some() {
            return Err(crate::Error::Flag(format!(
                "--{exclude_flag} and --{include_flag} are mutually exclusive"
            )));
        }
        Ok(Self { exclude, include })
    }

    /// Whether `name` is left out.
    #[must_use]
    pub fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

/// udev's properties of a device (`E:KEY=VALUE` lines of `<udev data>/<kind><major>:<minor>`).
#[must_use]
pub fn udev_properties(udev_data: &Path, name: &str) -> std::collections::HashMap<String, String> {
    let mut m = std::collections::HashMap::new();
    if let Ok(text) = read_string(udev_data.join(name)) {
        for line in text.lines() {
            if let Some((k, v)) = line.strip_prefix("E:").and_then(|l| l.split_once('=')) {
                m.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    m
}

/// The directory of this process under the proc root: `<procfs>/self`, resolved through the
/// link (or, where a fixture tree flattened the link to a file holding the PID, that PID).
#[must_use]
pub fn proc_self(paths: &crate::options::Paths) -> PathBuf {
    let link = paths.proc("self");
    if let Ok(target) = std::fs::read_link(&link) {
        return paths.procfs.join(target);
    }
    if link.is_file()
        && let Ok(pid) = read_string(&link)
        && !pid.trim().is_empty()
        && pid.trim().bytes().all(|b| b.is_ascii_digit())
    {
        return paths.procfs.join(pid.trim());
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_files_whatever_their_size() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 4095, 40_000, 70_000, 300_000] {
            let p = dir.path().join(format!("f{len}"));
            let text: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            std::fs::write(&p, &text).unwrap();
            assert_eq!(read_string(&p).unwrap(), text, "{len} bytes");
        }
        // A seq_file larger than the buffer, read in several calls.
        let big = std::fs::read_to_string("/proc/kallsyms").unwrap();
        assert!(big.len() > 128 * 1024, "{}", big.len());
        assert_eq!(read_string("/proc/kallsyms").unwrap(), big);
        // Relative to a directory held open, through /sys's symlinks.
        let lo = DirAt::open(Path::new("/sys/class/net/lo")).unwrap();
        assert_eq!(lo.attr("ifindex").as_deref(), Some("1"));
        assert_eq!(lo.attr("nonexistent"), None);
        assert!(DirAt::open(Path::new("/proc/loadavg")).is_err());
        assert!(read_string(dir.path().join("absent")).is_err());
    }
}
