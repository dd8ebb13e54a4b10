//! node_exporter's flags: `--collector.<name>` / `--no-collector.<name>` to switch a collector,
//! `--collector.<name>.<option>[=value]` for its options, `--path.*` and `--web.*` (as kingpin
//! parses them: `--flag=value` or `--flag value`, `--no-flag` for a false boolean).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::Error;

/// Every flag given, by name without the leading `--` (repeatable flags keep all values).
#[derive(Debug, Clone, Default)]
pub struct Options {
    values: HashMap<String, Vec<String>>,
}

/// Flags that take no value (booleans); all others take one.
const BOOL_FLAGS: &[&str] = &[
    "collector.disable-defaults",
    "web.disable-exporter-metrics",
    "web.systemd-socket",
    "collector.cpu.guest",
    "collector.cpu.info",
    "collector.arp.netlink",
    "collector.bcache.priorityStats",
    "collector.netclass.ignore-invalid-speed",
    "collector.netclass.netlink",
    "collector.netdev.address-info",
    "collector.netdev.enable-detailed-metrics",
    "collector.netdev.netlink",
    "collector.netdev.label-ifalias",
    "collector.stat.softirq",
    "collector.ethtool.include-info",
    "collector.wifi.nl80211",
    "collector.interrupts.include-zeros",
    "collector.ntp.server-is-local",
    "collector.netclass_rtnl.with-stats",
    "collector.systemd.enable-task-metrics",
    "collector.systemd.enable-restarts-metrics",
    "collector.systemd.enable-start-time-metrics",
    "collector.systemd.private",
    "collector.perf.disable-hardware-profilers",
    "collector.perf.disable-software-profilers",
    "collector.perf.disable-cache-profilers",
    "collector.rapl.enable-zone-label",
    "collector.zfs.enable-pool-metrics",
    "version",
    "help",
];

impl Options {
    /// Parses `args` (without the program name). `collectors` are the known collector names:
    /// `--collector.<name>` takes no value for them.
    ///
    /// # Errors
    /// A flag outside node_exporter's set or one missing its value.
    pub fn parse<I: IntoIterator<Item = String>>(
        args: I,
        collectors: &[&str],
    ) -> Result<Self, Error> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut it = args.into_iter().peekable();
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(Error::Flag(format!("unexpected argument {arg:?}")));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (flag.to_owned(), None),
            };
            let is_bool = |n: &str| {
                BOOL_FLAGS.contains(&n)
                    || n.strip_prefix("collector.")
                        .is_some_and(|c| collectors.contains(&c))
            };
            if let Some(neg) = name.strip_prefix("no-")
                && is_bool(neg)
            {
                values
                    .entry(neg.to_owned())
                    .or_default()
                    .push("false".into());
                continue;
            }
            let known = name.starts_with("collector.")
                || name.starts_with("path.")
                || name.starts_with("web.")
                || name.starts_with("log.")
                || name.starts_with("runtime.")
                || is_bool(&name);
            if !known {
                return Err(Error::Flag(format!("unknown long flag '--{name}'")));
            }
            let value = match inline {
                Some(v) => v,
                None if is_bool(&name) => "true".to_owned(),
                None => it
                    .next()
                    .ok_or_else(|| Error::Flag(format!("expected argument for flag '--{name}'")))?,
            };
            values.entry(name).or_default().push(value);
        }
        Ok(Self { values })
    }

    /// The last value of `name`, if given.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable flag.
    #[must_use]
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// `name`'s value or `default`.
    #[must_use]
    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_owned()
    }

    /// A boolean flag, `default` when absent.
    #[must_use]
    pub fn flag(&self, name: &str, default: bool) -> bool {
        self.get(name)
            .map_or(default, |v| matches!(v, "true" | "1" | "yes"))
    }

    /// Sets a value (tests, and the all-in-one defaults).
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_owned(), vec![value.to_owned()]);
    }

    /// An optional regular expression flag, anchored as Go's `regexp.MustCompile` is not: the
    /// pattern is used as written (unanchored search).
    ///
    /// # Errors
    /// The pattern does not compile.
    pub fn regex(&self, name: &str) -> Result<Option<regex::Regex>, Error> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(p) => compile(p)
                .map(Some)
                .map_err(|e| Error::Flag(format!("--{name}: {e}"))),
        }
    }

    /// A regular expression flag with its default, compiled as [`compile`] does.
    ///
    /// # Errors
    /// The pattern does not compile (the message names the flag).
    pub fn pattern(&self, name: &str, default: &str) -> Result<regex::Regex, Error> {
        compile(self.get(name).unwrap_or(default))
            .map_err(|e| Error::Flag(format!("--{name}: {e}")))
    }

    /// The filesystem roots from `--path.*`.
    #[must_use]
    pub fn paths(&self) -> Paths {
        let rootfs = PathBuf::from(self.string("path.rootfs", "/"));
        Paths {
            procfs: PathBuf::from(self.string("path.procfs", "/proc")),
            sysfs: PathBuf::from(self.string("path.sysfs", "/sys")),
            udev_data: PathBuf::from(self.string("path.udev.data", "/run/udev/data")),
            rootfs,
        }
    }
}

/// Where /proc, /sys, / and udev's data are (node_exporter's `--path.*` flags).
#[derive(Debug, Clone)]
pub struct Paths {
    /// `--path.procfs`.
    pub procfs: PathBuf,
    /// `--path.sysfs`.
    pub sysfs: PathBuf,
    /// `--path.rootfs`.
    pub rootfs: PathBuf,
    /// `--path.udev.data`.
    pub udev_data: PathBuf,
}

impl Paths {
    /// A path under /proc.
    #[must_use]
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.procfs.join(rel)
    }

    /// A path under /sys.
    #[must_use]
    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sysfs.join(rel)
    }

    /// A path under the root filesystem.
    #[must_use]
    pub fn root(&self, rel: &str) -> PathBuf {
        self.rootfs.join(rel.trim_start_matches('/'))
    }
}

/// Compiles a collector's pattern. They match short names (devices, mount points, field keys)
/// a few dozen times a scrape, or once per name where the collector remembers the answer, so
/// they are built without the lazy DFA: its transition cache, grown on first use and never
/// given back, was most of the exporter's heap at rest (hundreds of KiB for a dozen patterns),
/// while the backtracker and PikeVM match such names in microseconds.
///
/// # Errors
/// The pattern does not compile.
pub fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).dfa_size_limit(0).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kingpin_style_flags() {
        let args = [
            "--collector.cpu",
            "--no-collector.wifi",
            "--collector.sysctl.include=a",
            "--collector.sysctl.include",
            "b",
            "--path.procfs=/p",
        ]
        .map(String::from);
        let o = Options::parse(args, &["cpu", "wifi"]).unwrap();
        assert_eq!(o.get("collector.cpu"), Some("true"));
        assert_eq!(o.get("collector.wifi"), Some("false"));
        assert_eq!(o.all("collector.sysctl.include"), ["a", "b"]);
        assert_eq!(o.paths().procfs, PathBuf::from("/p"));
        assert!(Options::parse(["--bogus".to_owned()], &[]).is_err());
        assert!(Options::parse(["--path.sysfs".to_owned()], &[]).is_err());
    }
}
