//! Small parsing helpers shared by the collectors (sysfs attribute files, key/value files,
//! Go-compatible number parsing).

use std::path::{Path, PathBuf};

use super::CollectorError;

/// A sysfs attribute: the file's content trimmed, `None` when absent or unreadable.
#[must_use]
pub fn attr(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
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
                regex::Regex::new(default_exclude)
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
    if let Ok(text) = std::fs::read_to_string(udev_data.join(name)) {
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
        && let Ok(pid) = std::fs::read_to_string(&link)
        && !pid.trim().is_empty()
        && pid.trim().bytes().all(|b| b.is_ascii_digit())
    {
        return paths.procfs.join(pid.trim());
    }
    link
}
