//! Interrupt counts per CPU from /proc/interrupts (node_exporter's
//! `collector/interrupts_linux.go`).

use std::collections::BTreeMap;

use super::util::DeviceFilter;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The interrupts collector.
pub struct Interrupts {
    names: DeviceFilter,
    include_zeros: bool,
}

/// Builds the collector from `--collector.interrupts.name-{include,exclude}` and
/// `--collector.interrupts.include-zeros`.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Interrupts {
        names: DeviceFilter::from_flags(
            opts,
            "collector.interrupts.name-exclude",
            "collector.interrupts.name-include",
            "",
        )?,
        include_zeros: opts.flag("collector.interrupts.include-zeros", true),
    }))
}

struct Interrupt<'a> {
    info: String,
    devices: String,
    values: Vec<&'a str>,
}

impl Collector for Interrupts {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("interrupts");
        let text = read(&path)?;
        let mut lines = text.lines();
        let cpus = lines
            .next()
            .ok_or_else(|| CollectorError::parse(&path, "interrupts empty"))?
            .split_whitespace()
            .count();
        let mut all: BTreeMap<String, Interrupt<'_>> = BTreeMap::new();
        for line in lines {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if parts.len() < cpus + 1 {
                continue;
            }
            let name = name.trim_start_matches(' ').to_owned();
            let intr = if name.parse::<i64>().is_ok() {
                Interrupt {
                    info: parts[cpus].to_owned(),
                    devices: parts[cpus + 1..].join(" "),
                    values: parts[..cpus].to_vec(),
                }
            } else {
                Interrupt {
                    info: parts[cpus..].join(" "),
                    devices: String::new(),
                    values: parts[..cpus].to_vec(),
                }
            };
            all.insert(name, intr);
        }
        for (name, intr) in &all {
            let filter_name = format!("{name};{};{}", intr.info, intr.devices);
            if self.names.ignored(&filter_name) {
                continue;
            }
            for (cpu, v) in intr.values.iter().enumerate() {
                let fv: f64 = v.parse().map_err(|_| {
                    CollectorError::parse(&path, format!("invalid value {v} in interrupts"))
                })?;
                if !self.include_zeros && fv == 0.0 {
                    continue;
                }
                out.counter(
                    "node_interrupts_total",
                    "Interrupt details.",
                    &[
                        ("cpu", &cpu.to_string()),
                        ("type", name),
                        ("info", &intr.info),
                        ("devices", &intr.devices),
                    ],
                    fv,
                );
            }
        }
        Ok(())
    }
}
