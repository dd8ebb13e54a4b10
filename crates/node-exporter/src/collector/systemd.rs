//! systemd's units, sockets, timers and manager state over the system D-Bus (node_exporter
//! 1.9.1's `systemd_linux.go`, which uses go-systemd's D-Bus client).
//!
//! One connection per scrape (the system bus from `DBUS_SYSTEM_BUS_ADDRESS`, or systemd's
//! private socket with `--collector.systemd.private`): the manager's `Version` and
//! `Virtualization`, `ListUnits` (all units summarized by active state, then the units that
//! pass `--collector.systemd.unit-include`/`-exclude` and are loaded), each unit's properties
//! through `org.freedesktop.DBus.Properties.Get` on `/org/freedesktop/systemd1/unit/<escaped>`,
//! and `SystemState`. As upstream, a property that cannot be read only leaves its series out;
//! the collector fails when there is no bus, `ListUnits` fails, or (systemd ≥ 212)
//! `SystemState` cannot be read.

use regex::Regex;

use super::dbus::{Conn, Value, socket_path};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

const SYSTEMD1: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const STATES: &[&str] = &["active", "activating", "deactivating", "inactive", "failed"];
/// The first version with the manager's `SystemState` and timers' `LastTriggerUSec`.
const MIN_VERSION_SYSTEM_STATE: f64 = 212.0;
const DEFAULT_EXCLUDE: &str = r".+\.(automount|device|mount|scope|slice)";

/// The systemd collector and its flags.
pub struct Systemd {
    /// The bus address (`unix:path=…`), or the private socket's path when `private`.
    address: String,
    private: bool,
    include: Regex,
    exclude: Regex,
    tasks: bool,
    restarts: bool,
    start_time: bool,
}

/// A unit as `ListUnits` lists it (the fields the collector uses).
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    name: String,
    load_state: String,
    active_state: String,
}

impl Systemd {
    /// Builds the collector from `--collector.systemd.*` (and the deprecated
    /// `unit-whitelist`/`unit-blacklist`) on the system bus.
    ///
    /// # Errors
    /// A pattern does not compile, or an old and a new flag are both given.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let address = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .unwrap_or_else(|_| "unix:path=/var/run/dbus/system_bus_socket".into());
        Ok(Box::new(Self::new(opts, &address)?))
    }

    /// The collector on the bus at `address` (a `unix:path=` address; tests use a private
    /// bus). `--collector.systemd.private` connects to `/run/systemd/private` instead.
    ///
    /// # Errors
    /// As [`Systemd::factory`].
    pub fn new(opts: &Options, address: &str) -> Result<Self, crate::Error> {
        let pattern = |flag: &str, old: &str, default: &str| -> Result<Regex, crate::Error> {
            let value = match (opts.get(flag), opts.get(old).filter(|v| !v.is_empty())) {
                (Some(_), Some(_)) => {
                    return Err(crate::Error::Flag(format!(
                        "--{old} and --{flag} are mutually exclusive"
                    )));
                }
                (None, Some(v)) => {
                    tracing::warn!(
                        "--{old} is DEPRECATED and will be removed in 2.0.0, use --{flag}"
                    );
                    v
                }
                (Some(v), None) => v,
                (None, None) => default,
            };
            crate::options::compile(&format!("^(?:{value})$"))
                .map_err(|e| crate::Error::Flag(format!("--{flag}: {e}")))
        };
        let private = opts.flag("collector.systemd.private", false);
        Ok(Self {
            address: if private {
                "/run/systemd/private".into()
            } else {
                address.to_owned()
            },
            private,
            include: pattern(
                "collector.systemd.unit-include",
                "collector.systemd.unit-whitelist",
                ".+",
            )?,
            exclude: pattern(
                "collector.systemd.unit-exclude",
                "collector.systemd.unit-blacklist",
                DEFAULT_EXCLUDE,
            )?,
            tasks: opts.flag("collector.systemd.enable-task-metrics", false),
            restarts: opts.flag("collector.systemd.enable-restarts-metrics", false),
            start_time: opts.flag("collector.systemd.enable-start-time-metrics", false),
        })
    }

    fn connect(&self) -> Result<Conn, String> {
        if self.private {
            Conn::connect_direct(&self.address)
        } else {
            Conn::connect(&socket_path(&self.address)?)
        }
    }
}

/// A unit's object path: go-systemd's `PathBusEscape` (every byte but ASCII letters and
/// digits, and a leading digit, as `_` and its hex).
#[must_use]
pub fn unit_path(name: &str) -> String {
    let mut p = String::from("/org/freedesktop/systemd1/unit/");
    if name.is_empty() {
        p.push('_');
    }
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphabetic() || (b.is_ascii_digit() && i > 0) {
            p.push(char::from(b));
        } else {
            p.push_str(&format!("_{b:x}"));
        }
    }
    p
}

/// A property through `org.freedesktop.DBus.Properties.Get`.
fn property(c: &mut Conn, path: &str, iface: &str, name: &str) -> Result<Value, String> {
    let reply = c.call(
        SYSTEMD1,
        path,
        "org.freedesktop.DBus.Properties",
        "Get",
        vec![Value::Str(iface.into()), Value::Str(name.into())],
    )?;
    match reply.into_iter().next() {
        Some(Value::Variant(v)) => Ok(*v),
        other => Err(format!("unexpected reply to Get {iface}.{name}: {other:?}")),
    }
}

fn manager_property(c: &mut Conn, name: &str) -> Result<Value, String> {
    property(c, MANAGER_PATH, "org.freedesktop.systemd1.Manager", name)
}

/// A property of a unit's type-specific interface (`Service`, `Socket`, `Timer`, `Mount`),
/// or of `Unit` itself.
fn unit_property(c: &mut Conn, unit: &str, kind: &str, name: &str) -> Option<Value> {
    match property(c, &unit_path(unit), &format!("{SYSTEMD1}.{kind}"), name) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(unit, property = name, err = %e, "couldn't get unit property");
            None
        }
    }
}

fn as_u32(v: Option<Value>) -> Option<f64> {
    match v? {
        Value::U32(n) => Some(f64::from(n)),
        _ => None,
    }
}

fn as_u64(v: Option<Value>) -> Option<u64> {
    match v? {
        Value::U64(n) => Some(n),
        _ => None,
    }
}

/// The version as a number (the first `[0-9]{3,}(\.[0-9]+)?` of the `Version` property) and
/// the property itself; `0` and empty when it cannot be read or parsed.
fn version(c: &mut Conn) -> (f64, String) {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"[0-9]{3,}(\.[0-9]+)?").expect("valid pattern"));
    let Ok(Value::Str(full)) = manager_property(c, "Version") else {
        return (0.0, String::new());
    };
    match re.find(&full).and_then(|m| m.as_str().parse::<f64>().ok()) {
        Some(v) => (v, full),
        None => (0.0, String::new()),
    }
}

fn list_units(c: &mut Conn) -> Result<Vec<Unit>, String> {
    let reply = c.call(
        SYSTEMD1,
        MANAGER_PATH,
        "org.freedesktop.systemd1.Manager",
        "ListUnits",
        Vec::new(),
    )?;
    let Some(Value::Array(_, items)) = reply.first() else {
        return Err(format!("unexpected reply to ListUnits: {reply:?}"));
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(items
        .iter()
        .filter_map(|i| match i {
            Value::Struct(f) => Some(Unit {
                name: text(f.first()),
                load_state: text(f.get(2)),
                active_state: text(f.get(3)),
            }),
            _ => None,
        })
        .collect())
}

impl Collector for Systemd {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut c = self
            .connect()
            .map_err(|e| CollectorError::Other(format!("couldn't get dbus connection: {e}")))?;
        let (version, full) = version(&mut c);
        out.gauge(
            "node_systemd_version",
            "Detected systemd version",
            &[("version", &full)],
            version,
        );
        let virt = match manager_property(&mut c, "Virtualization") {
            Ok(Value::Str(s)) if s.is_empty() => "none".to_owned(),
            Ok(Value::Str(s)) => s,
            _ => "unknown".to_owned(),
        };
        out.gauge(
            "node_systemd_virtualization_info",
            "Detected virtualization technology",
            &[("virtualization_type", &virt)],
            1.0,
        );
        let all = list_units(&mut c)
            .map_err(|e| CollectorError::Other(format!("couldn't get units: {e}")))?;
        let mut summary: Vec<(&str, f64)> = STATES.iter().map(|s| (*s, 0.0)).collect();
        for u in &all {
            match summary.iter_mut().find(|(s, _)| *s == u.active_state) {
                Some(e) => e.1 += 1.0,
                None => summary.push((&u.active_state, 1.0)),
            }
        }
        for (state, n) in &summary {
            out.gauge(
                "node_systemd_units",
                "Summary of systemd unit states",
                &[("state", state)],
                *n,
            );
        }
        let units: Vec<&Unit> = all
            .iter()
            .filter(|u| {
                self.include.is_match(&u.name)
                    && !self.exclude.is_match(&u.name)
                    && u.load_state == "loaded"
            })
            .collect();
        for u in &units {
            let name = u.name.as_str();
            let kind = if name.ends_with(".service") {
                Some("Service")
            } else if name.ends_with(".mount") {
                Some("Mount")
            } else {
                None
            };
            let unit_type = match kind.and_then(|k| unit_property(&mut c, name, k, "Type")) {
                Some(Value::Str(t)) => t,
                _ => String::new(),
            };
            for state in STATES {
                out.gauge(
                    "node_systemd_unit_state",
                    "Systemd unit",
                    &[("name", name), ("state", state), ("type", &unit_type)],
                    if *state == u.active_state { 1.0 } else { 0.0 },
                );
            }
            if self.restarts
                && kind == Some("Service")
                && let Some(n) = as_u32(unit_property(&mut c, name, "Service", "NRestarts"))
            {
                out.counter(
                    "node_systemd_service_restart_total",
                    "Service unit count of Restart triggers",
                    &[("name", name)],
                    n,
                );
            }
        }
        if self.start_time {
            for u in &units {
                let start = if u.active_state == "active" {
                    match as_u64(unit_property(
                        &mut c,
                        &u.name,
                        "Unit",
                        "ActiveEnterTimestamp",
                    )) {
                        Some(us) => us as f64 / 1e6,
                        None => continue,
                    }
                } else {
                    0.0
                };
                out.gauge(
                    "node_systemd_unit_start_time_seconds",
                    "Start time of the unit since unix epoch in seconds.",
                    &[("name", &u.name)],
                    start,
                );
            }
        }
        if self.tasks {
            for u in units.iter().filter(|u| u.name.ends_with(".service")) {
                for (prop, family, help) in [
                    (
                        "TasksCurrent",
                        "node_systemd_unit_tasks_current",
                        "Current number of tasks per Systemd unit",
                    ),
                    (
                        "TasksMax",
                        "node_systemd_unit_tasks_max",
                        "Maximum number of tasks per Systemd unit",
                    ),
                ] {
                    if let Some(n) = as_u64(unit_property(&mut c, &u.name, "Service", prop))
                        && n != u64::MAX
                    {
                        out.gauge(family, help, &[("name", &u.name)], n as f64);
                    }
                }
            }
        }
        if version >= MIN_VERSION_SYSTEM_STATE {
            for u in units.iter().filter(|u| u.name.ends_with(".timer")) {
                if let Some(us) = as_u64(unit_property(&mut c, &u.name, "Timer", "LastTriggerUSec"))
                {
                    out.gauge(
                        "node_systemd_timer_last_trigger_seconds",
                        "Seconds since epoch of last trigger.",
                        &[("name", &u.name)],
                        us as f64 / 1e6,
                    );
                }
            }
        }
        for u in units.iter().filter(|u| u.name.ends_with(".socket")) {
            let name = u.name.as_str();
            let Some(accepted) = as_u32(unit_property(&mut c, name, "Socket", "NAccepted")) else {
                continue;
            };
            out.counter(
                "node_systemd_socket_accepted_connections_total",
                "Total number of accepted socket connections",
                &[("name", name)],
                accepted,
            );
            let Some(current) = as_u32(unit_property(&mut c, name, "Socket", "NConnections"))
            else {
                continue;
            };
            out.gauge(
                "node_systemd_socket_current_connections",
                "Current number of socket connections",
                &[("name", name)],
                current,
            );
            // NRefused arrived in systemd 239; upstream reports it as a gauge.
            if let Some(refused) = as_u32(unit_property(&mut c, name, "Socket", "NRefused")) {
                out.gauge(
                    "node_systemd_socket_refused_connections_total",
                    "Total number of refused socket connections",
                    &[("name", name)],
                    refused,
                );
            }
        }
        if version >= MIN_VERSION_SYSTEM_STATE {
            let state = manager_property(&mut c, "SystemState")
                .map_err(|e| CollectorError::Other(format!("couldn't get system state: {e}")))?;
            out.gauge(
                "node_systemd_system_running",
                "Whether the system is operational (see 'systemctl is-system-running')",
                &[],
                if state == Value::Str("running".into()) {
                    1.0
                } else {
                    0.0
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_paths_as_go_systemd_escapes_them() {
        for (name, path) in [
            ("ssh.service", "ssh_2eservice"),
            ("dbus-broker.service", "dbus_2dbroker_2eservice"),
            ("1password.timer", "_31password_2etimer"),
            ("a@b\t", "a_40b_9"),
            ("", "_"),
        ] {
            assert_eq!(
                unit_path(name),
                format!("/org/freedesktop/systemd1/unit/{path}")
            );
        }
    }

    #[test]
    fn flags_build_anchored_patterns_and_refuse_old_with_new() {
        let names = crate::all_collector_names();
        let parse = |a: &[&str]| Options::parse(a.iter().map(|s| (*s).to_owned()), &names).unwrap();
        let s = Systemd::new(&parse(&[]), "unix:path=/nowhere").unwrap();
        assert!(s.include.is_match("ssh.service"));
        assert!(s.exclude.is_match("dev-sda.device") && s.exclude.is_match("-.mount"));
        assert!(!s.exclude.is_match("ssh.service") && !s.exclude.is_match("x.mountpoint"));
        let s = Systemd::new(
            &parse(&["--collector.systemd.unit-include=ssh.*|cron.service"]),
            "unix:path=/nowhere",
        )
        .unwrap();
        assert!(s.include.is_match("cron.service") && !s.include.is_match("xcron.service"));
        let s = Systemd::new(
            &parse(&["--collector.systemd.unit-blacklist=cron.*"]),
            "unix:path=/nowhere",
        )
        .unwrap();
        assert!(s.exclude.is_match("cron.service") && !s.exclude.is_match("x.slice"));
        assert!(
            Systemd::new(
                &parse(&[
                    "--collector.systemd.unit-exclude=a",
                    "--collector.systemd.unit-blacklist=b"
                ]),
                "unix:path=/nowhere"
            )
            .is_err()
        );
        assert!(
            Systemd::new(
                &parse(&["--collector.systemd.unit-include=("]),
                "unix:path=/x"
            )
            .is_err()
        );
    }
}
