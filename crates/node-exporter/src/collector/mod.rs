//! The collectors (one module each, as node_exporter's `collector/*_linux.go`), the table of
//! their names and defaults, and what they share: [`Out`] to emit samples and file helpers.

use std::path::Path;

pub use crate::error::CollectorError;
use crate::error::Error;
use crate::options::{Options, Paths};
pub use out::Out;

pub mod bcache;
pub mod btrfs;
pub mod cpu;
pub mod cpu_vulnerabilities;
pub mod cpufreq;
pub mod dbus;
pub mod diskstats;
pub mod drbd;
pub mod drm;
pub mod ethtool;
pub mod fdcache;
pub mod fibrechannel;
pub mod filesystem;
pub mod hwmon;
pub mod infiniband;
pub mod interrupts;
pub mod ipvs;
pub mod lnstat;
pub mod localtime;
pub mod logind;
pub mod mdadm;
pub mod meminfo;
pub mod meminfo_numa;
pub mod mountstats;
pub mod netclass;
pub mod netdev;
pub mod netlink;
pub mod netstat;
pub mod network_route;
pub mod nfs;
pub mod nfsd;
pub mod ntp;
mod out;
pub mod perf;
pub mod powersupply;
pub mod processes;
pub mod qdisc;
pub mod runit;
pub mod simple;
pub mod supervisord;
pub mod sysclass;
pub mod sysinfo;
pub mod systemd;
pub mod tables;
pub mod tcpstat;
pub mod textfile;
pub mod timex;
pub mod util;
pub mod wifi;
pub mod xfs;
pub mod zfs;
pub mod zoneinfo;

/// One source of metrics, read at each scrape.
pub trait Collector: Send + Sync {
    /// Appends this collector's samples to `out`.
    ///
    /// # Errors
    /// A source file missing or malformed: the collector reports failure, others go on.
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError>;
}

/// Builds a collector from the flags.
pub type Factory = fn(&Options) -> Result<Box<dyn Collector>, Error>;

/// Reads a whole file; a missing one is node_exporter's `ErrNoData` (the source is absent on
/// this machine), other errors name the file.
///
/// # Errors
/// The file is missing or cannot be read.
pub fn read_or_no_data(path: &Path) -> Result<String, CollectorError> {
    match util::read_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CollectorError::NoData(format!(
            "{} does not exist",
            path.display()
        ))),
        Err(e) => Err(CollectorError::io(path, e)),
    }
}

/// A collector without options: the struct and its factory.
macro_rules! unit_collector {
    ($ty:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $ty;
        impl $ty {
            /// Builds the collector.
            ///
            /// # Errors
            /// Never.
            pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
                Ok(Box::new($ty))
            }
        }
    };
}
pub(crate) use unit_collector;

/// Reads a whole file, the error naming it.
///
/// # Errors
/// The file cannot be read.
pub fn read(path: &Path) -> Result<String, CollectorError> {
    util::read_string(path).map_err(|e| CollectorError::io(path, e))
}
