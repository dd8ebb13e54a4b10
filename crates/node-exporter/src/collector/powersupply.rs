//! Power supplies from /sys/class/power_supply (node_exporter's
//! `collector/powersupplyclass_linux.go`, read as procfs's `sysfs/class_power_supply.go`).

use super::sysinfo::to_valid_utf8;
use super::util::dir_entries;
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The powersupplyclass collector.
pub struct PowerSupply {
    ignored: regex::Regex,
}

/// Builds the collector from `--collector.powersupply.ignored-supplies`.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(PowerSupply {
        ignored: opts.pattern("collector.powersupply.ignored-supplies", "^$")?,
    }))
}

/// (sysfs file, metric, divisor).
const NUMERIC: &[(&str, &str, f64)] = &[
    ("authentic", "authentic", 1.0),
    ("calibrate", "calibrate", 1.0),
    ("capacity", "capacity", 1.0),
    ("capacity_alert_max", "capacity_alert_max", 1.0),
    ("capacity_alert_min", "capacity_alert_min", 1.0),
    ("cycle_count", "cyclecount", 1.0),
    ("online", "online", 1.0),
    ("present", "present", 1.0),
    ("time_to_empty_now", "time_to_empty_seconds", 1.0),
    ("time_to_full_now", "time_to_full_seconds", 1.0),
    ("current_boot", "current_boot", 1e6),
    ("current_max", "current_max", 1e6),
    ("current_now", "current_ampere", 1e6),
    ("energy_empty", "energy_empty", 1e6),
    ("energy_empty_design", "energy_empty_design", 1e6),
    ("energy_full", "energy_full", 1e6),
    ("energy_full_design", "energy_full_design", 1e6),
    ("energy_now", "energy_watthour", 1e6),
    ("voltage_boot", "voltage_boot", 1e6),
    ("voltage_max", "voltage_max", 1e6),
    ("voltage_max_design", "voltage_max_design", 1e6),
    ("voltage_min", "voltage_min", 1e6),
    ("voltage_min_design", "voltage_min_design", 1e6),
    ("voltage_now", "voltage_volt", 1e6),
    ("voltage_ocv", "voltage_ocv", 1e6),
    ("charge_control_limit", "charge_control_limit", 1e6),
    ("charge_control_limit_max", "charge_control_limit_max", 1e6),
    ("charge_counter", "charge_counter", 1e6),
    ("charge_empty", "charge_empty", 1e6),
    ("charge_empty_design", "charge_empty_design", 1e6),
    ("charge_full", "charge_full", 1e6),
    ("charge_full_design", "charge_full_design", 1e6),
    ("charge_now", "charge_ampere", 1e6),
    ("charge_term_current", "charge_term_current", 1e6),
    ("constant_charge_current", "constant_charge_current", 1e6),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    ("constant_charge_voltage", "constant_charge_voltage", 1e6),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    ("precharge_current", "precharge_current", 1e6),
    ("input_current_limit", "input_current_limit", 1e6),
    ("power_now", "power_watt", 1e6),
    ("temp", "temp_celsius", 10.0),
    ("temp_alert_max", "temp_alert_max_celsius", 10.0),
    ("temp_alert_min", "temp_alert_min_celsius", 10.0),
    ("temp_ambient", "temp_ambient_celsius", 10.0),
    ("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    ("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    ("temp_max", "temp_max_celsius", 10.0),
    ("temp_min", "temp_min_celsius", 10.0),
];

const INFO: &[&str] = &[
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

impl Collector for PowerSupply {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let supplies = match dir_entries(&paths.sys("class/power_supply")) {
            Ok(s) => s,
            Err(e) if e.is_not_found() => {
                return Err(CollectorError::NoData("no power supplies".into()));
            }
            Err(e) => return Err(e),
        };
        for (name, dir) in supplies {
            if self.ignored.is_match(&name) {
                continue;
            }
            let raw = |f: &str| {
                super::util::read_bytes(dir.join(f))
                    .ok()
                    .map(|b| b.trim_ascii().to_vec())
            };
            let l = [("power_supply", name.as_str())];
            for (file, metric, div) in NUMERIC {
                let Some(v) = raw(file)
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                else {
                    continue;
                };
                out.gauge(
                    &format!("node_power_supply_{metric}"),
                    &format!("{metric} value of /sys/class/power_supply/<power_supply>."),
                    &l,
                    v as f64 / div,
                );
            }
            let mut info: Vec<(&str, String)> = vec![("power_supply", name.clone())];
            for key in INFO {
                if let Some(b) = raw(key).filter(|b| !b.is_empty()) {
                    info.push((key, to_valid_utf8(&b)));
                }
            }
            let labels: Vec<(&str, &str)> = info.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.gauge(
                "node_power_supply_info",
                "info of /sys/class/power_supply/<power_supply>.",
                &labels,
                1.0,
            );
        }
        Ok(())
    }
}
