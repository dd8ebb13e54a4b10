//! Queueing discipline statistics (node_exporter's `collector/qdisc_linux.go`). node_exporter
//! reads them over rtnetlink; Firewatch reads them from `--collector.qdisc.fixtures`
//! (`results.json`, the end-to-end test hook) and reports the live source as unavailable.

use super::util::DeviceFilter;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The qdisc collector.
pub struct Qdisc {
    fixtures: Option<String>,
    filter: DeviceFilter,
}

/// Builds the collector from `--collector.qdisc.fixtures` and the device filters.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let mut o = opts.clone();
    for (old, new) in [
        (
            "collector.qdisk.device-include",
            "collector.qdisc.device-include",
        ),
        (
            "collector.qdisk.device-exclude",
            "collector.qdisc.device-exclude",
        ),
    ] {
        if let Some(v) = opts.get(old) {
            o.set(new, v);
        }
    }
    Ok(Box::new(Qdisc {
        fixtures: opts
            .get("collector.qdisc.fixtures")
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
        filter: DeviceFilter::from_flags(
            &o,
            "collector.qdisc.device-exclude",
            "collector.qdisc.device-include",
            "",
        )?,
    }))
}

impl Collector for Qdisc {
    fn update(&self, _paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let Some(dir) = &self.fixtures else {
            return Err(CollectorError::Other(
                "qdisc statistics need rtnetlink, which Firewatch does not read yet".into(),
            ));
        };
        let path = std::path::Path::new(dir).join("results.json");
        let v: serde_json::Value = serde_json::from_str(&read(&path)?)
            .map_err(|e| CollectorError::parse(&path, e.to_string()))?;
        let items = v
            .as_array()
            .ok_or_else(|| CollectorError::parse(&path, "not a JSON array"))?;
        for q in items {
            let n = |k: &str| q.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
            let s = |k: &str| {
                q.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            if n("Parent") != 0.0 {
                continue;
            }
            let (dev, kind) = (s("IfaceName"), s("Kind"));
            if self.filter.ignored(&dev) {
                continue;
            }
            let l = [("device", dev.as_str()), ("kind", kind.as_str())];
            out.counter(
                "node_qdisc_bytes_total",
                "Number of bytes sent.",
                &l,
                n("Bytes"),
            );
            out.counter(
                "node_qdisc_packets_total",
                "Number of packets sent.",
                &l,
                n("Packets"),
            );
            out.counter(
                "node_qdisc_drops_total",
                "Number of packets dropped.",
                &l,
                n("Drops"),
            );
            out.counter(
                "node_qdisc_requeues_total",
                "Number of packets dequeued, not transmitted, and requeued.",
                &l,
                n("Requeues"),
            );
            out.counter(
                "node_qdisc_overlimits_total",
                "Number of overlimit packets.",
                &l,
                n("Overlimits"),
            );
            out.gauge(
                "node_qdisc_current_queue_length",
                "Number of packets currently in queue to be sent.",
                &l,
                n("Qlen"),
            );
            out.gauge(
                "node_qdisc_backlog",
                "Number of bytes currently in queue to be sent.",
                &l,
                n("Backlog"),
            );
        }
        Ok(())
    }
}
