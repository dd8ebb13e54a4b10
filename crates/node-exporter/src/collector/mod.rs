//! The collectors (one module each, as node_exporter's `collector/*_linux.go`), the table of
//! their names and defaults, and what they share: [`Out`] to emit samples and file helpers.

use std::collections::HashMap;
use std::path::Path;

use model::exposition::{FamilySample, MetricFamily, MetricType};
use model::labels::Labels;

pub use crate::error::CollectorError;
use crate::error::Error;
use crate::options::{Options, Paths};

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

/// Samples of one scrape, grouped into families by name (first help text wins, as in
/// client_golang's registry).
#[derive(Debug, Default)]
pub struct Out {
    families: Vec<MetricFamily>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl Out {
    /// Appends a gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Gauge, labels, value);
    }

    /// Appends a counter sample.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Counter, labels, value);
    }

    /// Appends an untyped sample.
    pub fn untyped(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Unknown, labels, value);
    }

    /// Appends a sample of `metric_type`.
    pub fn push(
        &mut self,
        name: &str,
        help: &str,
        metric_type: MetricType,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                let mut f = MetricFamily::new(name, metric_type);
                f.help = Some(help.to_owned());
                self.families.push(f);
                self.index.insert(name.to_owned(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        let labels = sample_labels(name, labels);
        self.families[i].samples.push(FamilySample {
            labels,
            value,
            timestamp: None,
            exemplar: None,
        });
    }

    /// Appends whole families (the textfile collector's).
    pub fn extend(&mut self, families: Vec<MetricFamily>) {
        for f in families {
            match self.index.get(&f.name) {
                Some(&i) => self.families[i].samples.extend(f.samples),
                None => {
                    self.index.insert(f.name.clone(), self.families.len());
                    self.families.push(f);
                }
            }
        }
    }

    /// Whether a family of that name exists.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The families as emitted, unsorted (to merge into another [`Out`], which sorts once).
    #[must_use]
    pub fn into_unsorted(self) -> Vec<MetricFamily> {
        self.families
    }

    /// The families, sorted by name with samples sorted by label values (client_golang's
    /// order), duplicates of a series dropped.
    #[must_use]
    pub fn into_families(self) -> Vec<MetricFamily> {
        let mut fams = self.families;
        fams.sort_by(|a, b| a.name.cmp(&b.name));
        for f in &mut fams {
            f.samples.sort_by(|a, b| {
                a.labels
                    .iter()
                    .map(|l| (l.name, l.value))
                    .cmp(b.labels.iter().map(|l| (l.name, l.value)))
            });
            f.samples.dedup_by(|a, b| a.labels == b.labels);
        }
        fams
    }

    /// Number of families so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.families.len()
    }

    /// Whether nothing was emitted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }
}

/// The label set of a sample: `__name__` and `labels`, sorted on the stack for the usual
/// handful (no intermediate vectors), through [`Labels::from_pairs`] otherwise.
fn sample_labels(name: &str, labels: &[(&str, &str)]) -> Labels {
    const MAX: usize = 12;
    if labels.len() >= MAX {
        return Labels::from_pairs(
            std::iter::once(("__name__", name)).chain(labels.iter().copied()),
        );
    }
    let mut buf = [("", ""); MAX];
    buf[0] = ("__name__", name);
    buf[1..=labels.len()].copy_from_slice(labels);
    let pairs = &mut buf[..=labels.len()];
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        return Labels::from_pairs(
            std::iter::once(("__name__", name)).chain(labels.iter().copied()),
        );
    }
    Labels::from_sorted(pairs.iter().copied())
}

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
