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
