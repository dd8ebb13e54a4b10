//! runit services' states from each service's `supervise/status` record under
//! `--collector.runit.servicedir` (node_exporter's `runit.go` with `go-runit`).

use std::path::PathBuf;

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The TAI64 label's offset from Unix seconds (2^62 + 10).
const TAI_OFFSET: i64 = 4_611_686_018_427_387_914;

/// runit's services under one directory.
pub struct Runit {
    dir: PathBuf,
}

impl Runit {
    /// Builds the collector from `--collector.runit.servicedir`.
    ///
    /// # Errors
    /// Never.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        tracing::warn!(
            collector = "runit",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Box::new(Self {
            dir: opts
                .string("collector.runit.servicedir", "/etc/service")
                .into(),
        }))
    }
}

/// A service's state from its 20-byte `supervise/status` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// 0 down, 1 run, 2 finish.
    pub state: u8,
    /// 1 when `want` is `u`, else 0.
    pub want: u8,
    /// When the state last changed, Unix seconds.
    pub timestamp: i64,
}

/// Decodes a status record (a short one is padded with zeros, as runit's reader does).
#[must_use]
pub fn decode(record: &[u8]) -> Status {
    let mut b = [0u8; 20];
    let n = record.len().min(20);
    b[..n].copy_from_slice(&record[..n]);
    let tai = b[..8].iter().fold(0i64, |acc, &x| {
        acc.wrapping_shl(8).wrapping_add(i64::from(x))
    });
    Status {
        state: b[19],
        want: u8::from(b[17] == b'u'),
        timestamp: tai.wrapping_sub(TAI_OFFSET),
    }
}

impl Collector for Runit {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let rd = std::fs::read_dir(&self.dir).map_err(|e| CollectorError::io(&self.dir, e))?;
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let supervise = self.dir.join(&name).join("supervise");
            let record = match super::util::read_bytes(supervise.join("status")) {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => {
                    tracing::debug!(service = name, "Couldn't get status: empty record");
                    continue;
                }
                Err(e) => {
                    tracing::debug!(service = name, err = %e, "Couldn't get status");
                    continue;
                }
            };
            let s = decode(&record);
            let normally_up = !supervise.join("down").exists();
            let l = [("service", name.as_str()), ("supervisor", "runit")];
            out.gauge(
                "node_service_state",
                "State of runit service.",
                &l,
                f64::from(s.state),
            );
            out.gauge(
                "node_service_desired_state",
                "Desired state of runit service.",
                &l,
                f64::from(s.want),
            );
            #[allow(clippy::cast_precision_loss)]
            out.gauge(
                "node_service_state_last_change_timestamp_seconds",
                "Unix timestamp of the last runit service state change.",
                &l,
                s.timestamp as f64,
            );
            out.gauge(
                "node_service_normal_state",
                "Normal state of runit service.",
                &l,
                if normally_up { 1.0 } else { 0.0 },
            );
        }
        Ok(())
    }
}
