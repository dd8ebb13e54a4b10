//! Linux network cache statistics from /proc/net/stat/* (node_exporter's
//! `collector/lnstat_linux.go`): one counter per column, per CPU row, values in hex.

use super::util::dir_entries;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The lnstat collector.
pub struct Lnstat;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Lnstat))
}

impl Collector for Lnstat {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (file, path) in dir_entries(&paths.proc("net/stat"))? {
            let text = read(&path)?;
            let mut lines = text.lines();
            let Some(header) = lines.next() else { continue };
            let headers: Vec<&str> = header.split_whitespace().collect();
            for (cpu, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
                let vals: Vec<&str> = line.split_whitespace().collect();
                if vals.len() != headers.len() {
                    return Err(CollectorError::parse(
                        &path,
                        format!(
                            "row {} has {} fields, header {}",
                            cpu + 1,
                            vals.len(),
                            headers.len()
                        ),
                    ));
                }
                for (h, v) in headers.iter().zip(vals) {
                    let v = u64::from_str_radix(v, 16).map_err(|_| {
                        CollectorError::parse(&path, format!("invalid hex value {v:?}"))
                    })?;
                    out.counter(
                        &format!("node_lnstat_{h}_total"),
                        "linux network cache stats",
                        &[("subsystem", &file), ("cpu", &cpu.to_string())],
                        v as f64,
                    );
                }
            }
        }
        Ok(())
    }
}
