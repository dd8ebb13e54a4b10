//! Software RAID state from /proc/mdstat (node_exporter's `collector/mdadm_linux.go`, parsed
//! as procfs's `mdstat.go` does).

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

static STATUS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]+) blocks .*\[([0-9]+)/([0-9]+)\] \[([U_]+)\]").expect("regex")
});
static BLOCKS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(([0-9]+/[0-9]+)\)").expect("regex"));
static PCT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"= (.+)%").expect("regex"));
static FINISH_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"finish=(.+)min").expect("regex"));
static SPEED_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"speed=(.+)[A-Z]").expect("regex"));

/// The mdadm collector.
pub struct Mdadm;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Mdadm))
}

/// One md device.
#[derive(Debug, Default, PartialEq)]
pub struct MdStat {
    /// `md0`.
    pub name: String,
    /// active, inactive, recovering, resyncing, checking.
    pub state: String,
    /// Active disks.
    pub active: i64,
    /// Disks the array needs.
    pub total: i64,
    /// `(F)` disks.
    pub failed: i64,
    /// `(S)` disks.
    pub spare: i64,
    /// Size in blocks.
    pub blocks: i64,
    /// Blocks synced.
    pub synced: i64,
}

/// Parses /proc/mdstat.
///
/// # Errors
/// A device's lines are not as the kernel writes them.
pub fn parse(path: &Path, text: &str) -> Result<Vec<MdStat>, CollectorError> {
    let err = |m: String| CollectorError::parse(path, m);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(err(format!("expected 3+ fields, got {line:?}")));
        }
        let name = fields[0];
        let mut state = fields[2].to_owned();
        if lines.len() <= i + 3 {
            return Err(err(format!("too few lines for md device {name:?}")));
        }
        let failed = i64::try_from(line.matches("(F)").count()).unwrap_or(0);
        let spare = i64::try_from(line.matches("(S)").count()).unwrap_or(0);
        let status = lines[i + 1];
        let size: i64 = status
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| err(format!("unexpected status line {status:?}")))?;
        let (active, total) = if line.contains("raid0") || line.contains("linear") {
            let t = i64::try_from(line.matches('[').count()).unwrap_or(0);
            (t, t)
        } else if line.contains("inactive") {
            (0, 0)
        } else {
            let c = STATUS_RE
                .captures(status)
                .ok_or_else(|| err(format!("unexpected status line {status:?}")))?;
            (
                c[3].parse()
                    .map_err(|_| err(format!("bad active count in {status:?}")))?,
                c[2].parse()
                    .map_err(|_| err(format!("bad total count in {status:?}")))?,
            )
        };
        let mut sync_idx = i + 2;
        if lines[i + 2].contains("bitmap") {
            sync_idx += 1;
        }
        let sync = lines.get(sync_idx).copied().unwrap_or("");
        let mut synced = size;
        let (recovering, resyncing, checking) = (
            sync.contains("recovery"),
            sync.contains("resync"),
            sync.contains("check"),
        );
        if recovering || resyncing || checking {
            state = if recovering {
                "recovering"
            } else if checking {
                "checking"
            } else {
                "resyncing"
            }
            .to_owned();
            if sync.contains("PENDING") || sync.contains("DELAYED") {
                synced = 0;
            } else {
                let bad = || err(format!("cannot parse sync line of {name:?}: {sync:?}"));
                let c = BLOCKS_RE.captures(sync).ok_or_else(bad)?;
                synced = c[1]
                    .split('/')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(bad)?;
                for re in [&*PCT_RE, &*FINISH_RE, &*SPEED_RE] {
                    let c = re.captures(sync).ok_or_else(bad)?;
                    c[1].trim().parse::<f64>().map_err(|_| bad())?;
                }
            }
        }
        out.push(MdStat {
            name: name.to_owned(),
            state,
            active,
            total,
            failed,
            spare,
            blocks: size,
            synced,
        });
    }
    Ok(out)
}

impl Collector for Mdadm {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("mdstat");
        let text = super::read_or_no_data(&path)?;
        for md in parse(&path, &text)? {
            let dev = md.name.as_str();
            out.gauge(
                "node_md_disks_required",
                "Total number of disks of device.",
                &[("device", dev)],
                md.total as f64,
            );
            for (s, v) in [
                ("active", md.active),
                ("failed", md.failed),
                ("spare", md.spare),
            ] {
                out.gauge(
                    "node_md_disks",
                    "Number of active/failed/spare disks of device.",
                    &[("device", dev), ("state", s)],
                    v as f64,
                );
            }
            for (label, st) in [
                ("active", "active"),
                ("inactive", "inactive"),
                ("recovering", "recovering"),
                ("resync", "resyncing"),
                ("check", "checking"),
            ] {
                out.gauge(
                    "node_md_state",
                    "Indicates the state of md-device.",
                    &[("device", dev), ("state", label)],
                    if md.state == st { 1.0 } else { 0.0 },
                );
            }
            out.gauge(
                "node_md_blocks",
                "Total number of blocks on device.",
                &[("device", dev)],
                md.blocks as f64,
            );
            out.gauge(
                "node_md_blocks_synced",
                "Number of blocks synced on device.",
                &[("device", dev)],
                md.synced as f64,
            );
        }
        Ok(())
    }
}
