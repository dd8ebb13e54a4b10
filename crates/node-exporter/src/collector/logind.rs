//! Sessions registered in systemd-logind, by seat, remote, type and class, over the system
//! D-Bus (node_exporter's `logind_linux.go`).

use std::collections::HashMap;

use super::dbus::{Conn, Value, socket_path};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

const LOGIN1: &str = "org.freedesktop.login1";
const REMOTE: &[&str] = &["true", "false"];
const TYPES: &[&str] = &[
    "other",
    "unspecified",
    "tty",
    "x11",
    "wayland",
    "mir",
    "web",
];
const CLASSES: &[&str] = &["other", "user", "greeter", "lock-screen", "background"];

/// The logind collector: the system bus address (`DBUS_SYSTEM_BUS_ADDRESS` or the default).
pub struct Logind {
    address: String,
}

impl Logind {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Self::with_address(
            &std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
                .unwrap_or_else(|_| "unix:path=/var/run/dbus/system_bus_socket".into()),
        )))
    }

    /// The collector for a given bus address (tests use a private bus).
    #[must_use]
    pub fn with_address(address: &str) -> Self {
        Self {
            address: address.to_owned(),
        }
    }
}

fn known_or_other(v: &str, known: &[&str]) -> String {
    if known.contains(&v) { v } else { "other" }.to_owned()
}

fn structs(v: Option<&Value>) -> Vec<&[Value]> {
    match v {
        Some(Value::Array(_, items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::Struct(f) => Some(f.as_slice()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::Str(s) | Value::Path(s)) => Some(s),
        _ => None,
    }
}

/// A session's property through `org.freedesktop.DBus.Properties.Get`.
fn property(c: &mut Conn, path: &str, name: &str) -> Option<Value> {
    let r = c
        .call(
            LOGIN1,
            path,
            "org.freedesktop.DBus.Properties",
            "Get",
            vec![
                Value::Str(format!("{LOGIN1}.Session")),
                Value::Str(name.into()),
            ],
        )
        .ok()?;
    match r.into_iter().next()? {
        Value::Variant(v) => Some(*v),
        _ => None,
    }
}

impl Collector for Logind {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let other = |m: String| CollectorError::Other(m);
        let path = socket_path(&self.address)
            .map_err(|e| other(format!("unable to connect to dbus: {e}")))?;
        let mut c =
            Conn::connect(&path).map_err(|e| other(format!("unable to connect to dbus: {e}")))?;
        let manager = "/org/freedesktop/login1";
        let iface = "org.freedesktop.login1.Manager";
        let seats = c
            .call(LOGIN1, manager, iface, "ListSeats", Vec::new())
            .map_err(|e| other(format!("unable to get seats: {e}")))?;
        let mut seat_ids: Vec<String> = structs(seats.first())
            .iter()
            .filter_map(|s| text(s.first()).map(str::to_owned))
            .collect();
        // The empty seat: remote sessions such as SSH.
        seat_ids.push(String::new());
        let sessions = c
            .call(LOGIN1, manager, iface, "ListSessions", Vec::new())
            .map_err(|e| other(format!("unable to get sessions: {e}")))?;
        let mut counts: HashMap<(String, String, String, String), f64> = HashMap::new();
        for s in structs(sessions.first()) {
            let (Some(seat), Some(path)) = (text(s.get(3)), text(s.get(4))) else {
                continue;
            };
            let remote = match property(&mut c, path, "Remote") {
                Some(Value::Bool(b)) => b.to_string(),
                Some(_) | None => continue,
            };
            let Some(Value::Str(kind)) = property(&mut c, path, "Type") else {
                continue;
            };
            let Some(Value::Str(class)) = property(&mut c, path, "Class") else {
                continue;
            };
            *counts
                .entry((
                    seat.to_owned(),
                    remote,
                    known_or_other(&kind, TYPES),
                    known_or_other(&class, CLASSES),
                ))
                .or_insert(0.0) += 1.0;
        }
        for remote in REMOTE {
            for kind in TYPES {
                for class in CLASSES {
                    for seat in &seat_ids {
                        let key = (
                            seat.clone(),
                            (*remote).to_owned(),
                            (*kind).to_owned(),
                            (*class).to_owned(),
                        );
                        out.gauge(
                            "node_logind_sessions",
                            "Number of sessions registered in logind.",
                            &[
                                ("seat", seat),
                                ("remote", remote),
                                ("type", kind),
                                ("class", class),
                            ],
                            counts.get(&key).copied().unwrap_or(0.0),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
