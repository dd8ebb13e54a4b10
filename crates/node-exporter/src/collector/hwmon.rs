//! Hardware monitoring chips from /sys/class/hwmon (node_exporter's `collector/hwmon_linux.go`):
//! sensors named `<type><n>_<property>`, values scaled to volts, celsius, amps, watts, joules.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::util::DeviceFilter;
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

static FILENAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$").expect("regex")
});
static INVALID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[^a-z0-9:_]").expect("regex"));

const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    "freq",
];

/// The hwmon collector.
pub struct Hwmon {
    chips: DeviceFilter,
    sensors: DeviceFilter,
}

/// Builds the collector from `--collector.hwmon.{chip,sensor}-{include,exclude}`.
///
/// # Errors
/// A bad pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Hwmon {
        chips: DeviceFilter::from_flags(
            opts,
            "collector.hwmon.chip-exclude",
            "collector.hwmon.chip-include",
            "",
        )?,
        sensors: DeviceFilter::from_flags(
            opts,
            "collector.hwmon.sensor-exclude",
            "collector.hwmon.sensor-include",
            "",
        )?,
    }))
}

fn clean(name: &str) -> String {
    INVALID
        .replace_all(&name.to_lowercase(), "_")
        .trim_matches('_')
        .to_owned()
}

/// (type, number, property) of a sensor file name.
fn explode(name: &str) -> Option<(String, u32, String)> {
    let c = FILENAME.captures(name)?;
    let ty = c.name("type").map_or("", |m| m.as_str()).to_owned();
    let id = c.name("id").map_or("", |m| m.as_str());
    let num = if id.is_empty() { 0 } else { id.parse().ok()? };
    let prop = c.name("property").map_or("", |m| m.as_str()).to_owned();
    Some((ty, num, prop))
}

/// The first 128 bytes of a sysfs file, as node_exporter reads them.
fn read_small(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 128];
    let n = f.read(&mut buf).ok()?;
    Some(
        String::from_utf8_lossy(&buf[..n])
            .trim_matches('\n')
            .to_owned(),
    )
}

type SensorData = BTreeMap<String, BTreeMap<String, String>>;

fn collect_sensors(dir: &Path, data: &mut SensorData) -> Result<(), CollectorError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CollectorError::io(dir, e))?;
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((ty, num, prop)) = explode(&name) else {
            continue;
        };
        if !SENSOR_TYPES.contains(&ty.as_str()) {
            continue;
        }
        if let Some(v) = read_small(&e.path()) {
            data.entry(format!("{ty}{num}"))
                .or_default()
                .insert(prop, v);
        }
    }
    Ok(())
}

fn chip_name(dir: &Path) -> Option<String> {
    if let Ok(dev) = std::fs::canonicalize(dir.join("device")) {
        let name = clean(
            &dev.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let ty = clean(
            &dev.parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        if !ty.is_empty() && !name.is_empty() {
            return Some(format!("{ty}_{name}"));
        }
        if !name.is_empty() {
            return Some(name);
        }
    }
    if let Ok(raw) = super::util::read_string(dir.join("name")) {
        let n = clean(&raw);
        if !n.is_empty() {
            return Some(n);
        }
    }
    let real = std::fs::canonicalize(dir).ok()?;
    let n = clean(&real.file_name()?.to_string_lossy());
    (!n.is_empty()).then_some(n)
}

impl Hwmon {
    fn update_chip(&self, dir: &Path, out: &mut Out) -> Result<(), CollectorError> {
        let chip = chip_name(dir).ok_or_else(|| {
            CollectorError::Other(format!(
                "could not derive a monitoring name for {}",
                dir.display()
            ))
        })?;
        if self.chips.ignored(&chip) {
            return Ok(());
        }
        let mut data = SensorData::new();
        collect_sensors(dir, &mut data)?;
        if dir.join("device").exists() {
            collect_sensors(&dir.join("device"), &mut data)?;
        }
        if let Ok(raw) = super::util::read_string(dir.join("name")) {
            let n = clean(&raw);
            if !n.is_empty() {
                out.gauge(
                    "node_hwmon_chip_names",
                    "Annotation metric for human-readable chip names",
                    &[("chip", &chip), ("chip_name", &n)],
                    1.0,
                );
            }
        }
        for (sensor, props) in &data {
            if self.sensors.ignored(&format!("{chip};{sensor}")) {
                continue;
            }
            let ty = explode(sensor).map(|e| e.0).unwrap_or_default();
            let labels = [("chip", chip.as_str()), ("sensor", sensor.as_str())];
            if let Some(label) = props.get("label") {
                out.gauge(
                    "node_hwmon_sensor_label",
                    "Label for given chip and sensor",
                    &[("chip", &chip), ("sensor", sensor), ("label", label)],
                    1.0,
                );
            }
            let bare = props.get("").map(String::as_str);
            match ty.as_str() {
                "beep_enable" => {
                    out.gauge(
                        "node_hwmon_beep_enabled",
                        "Hardware beep enabled",
                        &labels,
                        if bare == Some("1") { 1.0 } else { 0.0 },
                    );
                    continue;
                }
                "vrm" => {
                    if let Some(v) = bare.and_then(|s| s.parse::<f64>().ok()) {
                        out.gauge(
                            "node_hwmon_voltage_regulator_version",
                            "Hardware voltage regulator",
                            &labels,
                            v,
                        );
                    }
                    continue;
                }
                "update_interval" => {
                    if let Some(v) = bare.and_then(|s| s.parse::<f64>().ok()) {
                        out.gauge(
                            "node_hwmon_update_interval_seconds",
                            "Hardware monitor update interval",
                            &labels,
                            v * 0.001,
                        );
                    }
                    continue;
                }
                _ => {}
            }
            let prefix = format!("node_hwmon_{ty}");
            for (element, value) in props {
                if element == "label" {
                    continue;
                }
                let mut name = prefix.clone();
                if element == "input" {
                    if props.contains_key("") {
                        name.push_str("_input");
                    }
                } else if !element.is_empty() {
                    name.push('_');
                    name.push_str(&clean(element));
                }
                let Ok(v) = value.trim().parse::<f64>() else {
                    continue;
                };
                let el = element.as_str();
                let t = ty.as_str();
                if el == "fault" || el == "alarm" {
                    out.gauge(
                        &name,
                        &format!("Hardware sensor {el} status ({t})"),
                        &labels,
                        v,
                    );
                } else if el == "beep" {
                    out.gauge(
                        &format!("{name}_enabled"),
                        "Hardware monitor sensor has beeping enabled",
                        &labels,
                        v,
                    );
                } else if t == "in" || t == "cpu" {
                    out.gauge(
                        &format!("{name}_volts"),
                        &format!("Hardware monitor for voltage ({el})"),
                        &labels,
                        v * 0.001,
                    );
                } else if t == "temp" && el != "type" {
                    let el = if el.is_empty() { "input" } else { el };
                    out.gauge(
                        &format!("{name}_celsius"),
                        &format!("Hardware monitor for temperature ({el})"),
                        &labels,
                        v * 0.001,
                    );
                } else if t == "curr" {
                    out.gauge(
                        &format!("{name}_amps"),
                        &format!("Hardware monitor for current ({el})"),
                        &labels,
                        v * 0.001,
                    );
                } else if t == "energy" {
                    out.counter(
                        &format!("{name}_joule_total"),
                        &format!("Hardware monitor for joules used so far ({el})"),
                        &labels,
                        v / 1_000_000.0,
                    );
                } else if t == "power" && el == "accuracy" {
                    out.gauge(
                        &name,
                        "Hardware monitor power meter accuracy, as a ratio",
                        &labels,
                        v / 1_000_000.0,
                    );
                } else if t == "power"
                    && matches!(
                        el,
                        "average_interval" | "average_interval_min" | "average_interval_max"
                    )
                {
                    out.gauge(
                        &format!("{name}_seconds"),
                        &format!("Hardware monitor power usage update interval ({el})"),
                        &labels,
                        v * 0.001,
                    );
                } else if t == "power" {
                    out.gauge(
                        &format!("{name}_watt"),
                        &format!("Hardware monitor for power usage in watts ({el})"),
                        &labels,
                        v / 1_000_000.0,
                    );
                } else if t == "humidity" {
                    out.gauge(&name, &format!("Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({el})"), &labels, v / 1_000_000.0);
                } else if t == "fan" && matches!(el, "input" | "min" | "max" | "target") {
                    out.gauge(
                        &format!("{name}_rpm"),
                        &format!("Hardware monitor for fan revolutions per minute ({el})"),
                        &labels,
                        v,
                    );
                } else if t == "freq" && el == "input" {
                    if let Some(label) = props.get("label") {
                        out.gauge(
                            &format!("{name}_freq_mhz"),
                            "Hardware monitor for GPU frequency in MHz",
                            &[("chip", &chip), ("sensor", &clean(label))],
                            v / 1_000_000.0,
                        );
                    }
                } else {
                    out.gauge(
                        &name,
                        &format!("Hardware monitor {t} element {el}"),
                        &labels,
                        v,
                    );
                }
            }
        }
        Ok(())
    }
}

impl Collector for Hwmon {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("class/hwmon");
        let entries = match std::fs::read_dir(&base) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CollectorError::NoData("hwmon is not available".into()));
            }
            Err(e) => return Err(CollectorError::io(&base, e)),
        };
        let mut last = Ok(());
        let mut dirs: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            if !dir.is_dir() {
                continue;
            }
            if let Err(e) = self.update_chip(&dir, out) {
                last = Err(e);
            }
        }
        last
    }
}
