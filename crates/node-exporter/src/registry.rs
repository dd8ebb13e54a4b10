//! The collector table (names and defaults as node_exporter 1.9.1 registers them) and one
//! scrape over the enabled collectors with `node_scrape_collector_duration_seconds` and
//! `node_scrape_collector_success` (as `collector/collector.go`).

use std::sync::Arc;
use std::time::Instant;

use model::exposition::MetricFamily;

use crate::collector::{self, Collector, Factory, Out};
use crate::error::Error;
use crate::options::{Options, Paths};

/// node_exporter's Linux collectors: name, enabled by default, and the factory where built.
const TABLE: &[(&str, bool, Option<Factory>)] = &[
    ("arp", true, Some(collector::simple::Arp::with_filter)),
    ("bcache", true, Some(collector::bcache::new)),
    ("bonding", true, Some(collector::sysclass::Bonding::factory)),
    ("btrfs", true, Some(collector::btrfs::new)),
    (
        "buddyinfo",
        false,
        Some(collector::tables::Buddyinfo::factory),
    ),
    ("cgroups", false, Some(collector::simple::Cgroups::factory)),
    (
        "conntrack",
        true,
        Some(collector::simple::Conntrack::factory),
    ),
    ("cpu", true, Some(collector::cpu::new)),
    (
        "cpu_vulnerabilities",
        false,
        Some(collector::cpu_vulnerabilities::new),
    ),
    ("cpufreq", true, Some(collector::cpufreq::new)),
    ("diskstats", true, Some(collector::diskstats::new)),
    ("dmi", true, Some(collector::sysinfo::Dmi::factory)),
    ("drbd", false, Some(collector::drbd::new)),
    ("drm", false, Some(collector::drm::Drm::factory)),
    ("edac", true, Some(collector::sysclass::Edac::factory)),
    ("entropy", true, Some(collector::simple::Entropy::factory)),
    ("ethtool", false, Some(collector::ethtool::Ethtool::factory)),
    ("fibrechannel", true, Some(collector::fibrechannel::new)),
    ("filefd", true, Some(collector::simple::Filefd::factory)),
    ("filesystem", true, Some(collector::filesystem::new)),
    ("hwmon", true, Some(collector::hwmon::new)),
    ("infiniband", true, Some(collector::infiniband::new)),
    ("interrupts", false, Some(collector::interrupts::new)),
    ("ipvs", true, Some(collector::ipvs::new)),
    ("ksmd", false, Some(collector::simple::Ksmd::factory)),
    ("lnstat", false, Some(collector::lnstat::new)),
    ("loadavg", true, Some(collector::simple::Loadavg::factory)),
    ("logind", false, Some(collector::logind::Logind::factory)),
    ("mdadm", true, Some(collector::mdadm::new)),
    ("meminfo", true, Some(collector::meminfo::new)),
    ("meminfo_numa", false, Some(collector::meminfo_numa::new)),
    ("mountstats", false, Some(collector::mountstats::new)),
    ("netclass", true, Some(collector::netclass::new)),
    ("netdev", true, Some(collector::netdev::new)),
    ("netstat", true, Some(collector::netstat::new)),
    (
        "network_route",
        false,
        Some(collector::network_route::NetworkRoute::factory),
    ),
    ("nfs", true, Some(collector::nfs::new)),
    ("nfsd", true, Some(collector::nfsd::new)),
    ("ntp", false, Some(collector::ntp::Ntp::factory)),
    ("nvme", true, Some(collector::sysclass::Nvme::factory)),
    ("os", true, Some(collector::sysinfo::Os::factory)),
    ("perf", false, Some(collector::perf::Perf::factory)),
    ("powersupplyclass", true, Some(collector::powersupply::new)),
    ("pressure", true, Some(collector::simple::Pressure::factory)),
    ("processes", false, Some(collector::processes::new)),
    ("qdisc", false, Some(collector::qdisc::new)),
    ("rapl", true, Some(collector::sysclass::Rapl::factory)),
    ("runit", false, Some(collector::runit::Runit::factory)),
    (
        "schedstat",
        true,
        Some(collector::simple::Schedstat::factory),
    ),
    ("selinux", true, Some(collector::sysinfo::Selinux::factory)),
    (
        "slabinfo",
        false,
        Some(collector::tables::Slabinfo::factory),
    ),
    ("sockstat", true, Some(collector::simple::Sockstat::factory)),
    (
        "softirqs",
        false,
        Some(collector::simple::Softirqs::factory),
    ),
    ("softnet", true, Some(collector::tables::Softnet::factory)),
    ("stat", true, Some(collector::simple::Stat::factory)),
    (
        "supervisord",
        false,
        Some(collector::supervisord::Supervisord::factory),
    ),
    ("sysctl", false, Some(collector::tables::Sysctl::factory)),
    ("systemd", false, Some(collector::systemd::Systemd::factory)),
    (
        "tapestats",
        true,
        Some(collector::sysclass::Tapestats::factory),
    ),
    ("tcpstat", false, Some(collector::tcpstat::Tcpstat::factory)),
    ("textfile", true, Some(collector::textfile::new)),
    (
        "thermal_zone",
        true,
        Some(collector::simple::ThermalZone::factory),
    ),
    ("time", true, Some(collector::sysinfo::Time::factory)),
    (
        "timex",
        true,
        Some(collector::timex::TimexCollector::factory),
    ),
    (
        "udp_queues",
        true,
        Some(collector::simple::UdpQueues::factory),
    ),
    ("uname", true, Some(collector::sysinfo::Uname::factory)),
    ("vmstat", true, Some(collector::simple::Vmstat::factory)),
    (
        "watchdog",
        true,
        Some(collector::sysclass::Watchdog::factory),
    ),
    ("wifi", false, Some(collector::wifi::new)),
    ("xfrm", false, Some(collector::tables::Xfrm::factory)),
    ("xfs", true, Some(collector::xfs::new)),
    ("zfs", true, Some(collector::zfs::new)),
    ("zoneinfo", false, Some(collector::zoneinfo::new)),
];

/// Every collector name node_exporter knows on Linux.
#[must_use]
pub fn all_collector_names() -> Vec<&'static str> {
    TABLE.iter().map(|t| t.0).collect()
}

/// The enabled collectors and where the filesystems are.
pub struct NodeCollector {
    collectors: Vec<(String, Arc<dyn Collector>)>,
    paths: Paths,
}

impl NodeCollector {
    /// Builds the collectors enabled by the flags (defaults unless
    /// `--collector.disable-defaults`, then `--collector.X` / `--no-collector.X`).
    ///
    /// # Errors
    /// A collector's options are invalid (a bad regular expression, say).
    pub fn new(opts: &Options) -> Result<Self, Error> {
        let no_defaults = opts.flag("collector.disable-defaults", false);
        let mut collectors = Vec::new();
        for &(name, default, factory) in TABLE {
            let enabled = opts.flag(&format!("collector.{name}"), default && !no_defaults);
            if !enabled {
                continue;
            }
            match factory {
                Some(f) => collectors.push((name.to_owned(), Arc::from(f(opts)?))),
                None => tracing::warn!(collector = name, "collector not available in Firewatch"),
            }
        }
        Ok(Self {
            collectors,
            paths: opts.paths(),
        })
    }

    /// The enabled collectors' names, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.collectors.iter().map(|c| c.0.as_str()).collect()
    }

    /// Runs the collectors named in `filter` (all when empty) and returns their families with
    /// the scrape duration and success of each.
    ///
    /// # Errors
    /// `filter` names a collector that is not enabled (`missing collector: X`).
    pub fn collect(&self, filter: &[String]) -> Result<Vec<MetricFamily>, String> {
        self.gather(filter).map(Out::into_families)
    }

    /// As [`NodeCollector::collect`], appending the families to `body` in the text exposition
    /// format (what `/metrics` serves), written straight from the collected samples.
    ///
    /// # Errors
    /// `filter` names a collector that is not enabled (`missing collector: X`).
    pub fn collect_text(&self, filter: &[String], body: &mut String) -> Result<(), String> {
        self.gather(filter)?.write_text(body);
        Ok(())
    }

    /// One scrape of the collectors named in `filter` (all when empty), with the duration and
    /// success of each.
    fn gather(&self, filter: &[String]) -> Result<Out, String> {
        for f in filter {
            if !self.collectors.iter().any(|c| &c.0 == f) {
                return Err(format!("missing collector: {f}"));
            }
        }
        let mut out = Out::default();
        out.gauge(
            "node_exporter_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build.",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", ""),
                ("branch", ""),
                ("goversion", "rust"),
                ("goos", std::env::consts::OS),
                ("goarch", std::env::consts::ARCH),
                ("tags", "firewatch"),
            ],
            1.0,
        );
        for (name, c) in &self.collectors {
            if !filter.is_empty() && !filter.contains(name) {
                continue;
            }
            let start = Instant::now();
            // Straight into the scrape's families (what a failing collector emitted before
            // its error stays, as in node_exporter, whose collectors send as they go).
            let result = c.update(&self.paths, &mut out);
            let elapsed = start.elapsed().as_secs_f64();
            let success = match result {
                Ok(()) => 1.0,
                Err(e @ collector::CollectorError::NoData(_)) => {
                    tracing::debug!(name = name.as_str(), err = %e, "collector returned no data");
                    0.0
                }
                Err(e) => {
                    tracing::error!(name = name.as_str(), duration_seconds = elapsed, err = %e, "collector failed");
                    0.0
                }
            };
            out.gauge(
                "node_scrape_collector_duration_seconds",
                "node_exporter: Duration of a collector scrape.",
                &[("collector", name)],
                elapsed,
            );
            out.gauge(
                "node_scrape_collector_success",
                "node_exporter: Whether a collector succeeded.",
                &[("collector", name)],
                success,
            );
        }
        collector::fdcache::end_scrape();
        Ok(out)
    }
}
