//! The systemd collector against a real `dbus-daemon` on a private socket, where a fake
//! systemd (this test, through the crate's D-Bus client) owns `org.freedesktop.systemd1` and
//! answers `ListUnits` and `Properties.Get` for the manager and its units as systemd 252 does.
//! Ours is checked series by series; Debian's node_exporter, pointed at the same bus with
//! `DBUS_SYSTEM_BUS_ADDRESS`, must report the same series and values for the families both
//! versions have.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use firewatch_node_exporter::collector::dbus::{Conn, Message, Value};
use firewatch_node_exporter::collector::systemd::{Systemd, unit_path};
use firewatch_node_exporter::collector::{Collector, Out};
use firewatch_node_exporter::{Options, all_collector_names};
use model::exposition::{Format, encode, parse_families};
use testkit::{Process, free_port, get_ok, wait_for};

/// (name, load state, active state).
const UNITS: &[(&str, &str, &str)] = &[
    ("ssh.service", "loaded", "active"),
    ("cron.service", "loaded", "failed"),
    ("getty@tty1.service", "loaded", "activating"),
    ("weird.service", "loaded", "reloading"),
    ("missing.service", "not-found", "inactive"),
    ("apt-daily.timer", "loaded", "active"),
    ("docker.socket", "loaded", "active"),
    ("old.socket", "loaded", "inactive"),
    ("home.mount", "loaded", "active"),
    ("-.slice", "loaded", "active"),
];

/// A unit's property as systemd 252 has it (`None`: not there).
fn unit_property(unit: &str, iface: &str, name: &str) -> Option<Value> {
    let iface = iface.strip_prefix("org.freedesktop.systemd1.")?;
    Some(match (unit, iface, name) {
        ("ssh.service", "Service", "Type") => Value::Str("notify".into()),
        ("ssh.service", "Service", "NRestarts") => Value::U32(2),
        ("ssh.service", "Service", "TasksCurrent") => Value::U64(3),
        ("ssh.service", "Service", "TasksMax") => Value::U64(4915),
        ("ssh.service", "Unit", "ActiveEnterTimestamp") => Value::U64(1_700_000_000_250_000),
        ("cron.service", "Service", "Type") => Value::Str("simple".into()),
        ("cron.service", "Service", "NRestarts") => Value::U32(0),
        ("cron.service", "Service", "TasksCurrent" | "TasksMax") => Value::U64(u64::MAX),
        ("getty@tty1.service", "Service", "Type") => Value::Str("idle".into()),
        ("getty@tty1.service", "Service", "NRestarts") => Value::U32(1),
        ("getty@tty1.service", "Service", "TasksCurrent") => Value::U64(1),
        ("getty@tty1.service", "Service", "TasksMax") => Value::U64(u64::MAX),
        ("weird.service", "Service", "Type") => Value::Str("oneshot".into()),
        ("apt-daily.timer", "Timer", "LastTriggerUSec") => Value::U64(1_700_000_100_500_000),
        ("apt-daily.timer", "Unit", "ActiveEnterTimestamp") => Value::U64(1_699_999_000_000_000),
        ("docker.socket", "Socket", "NAccepted") => Value::U32(5),
        ("docker.socket", "Socket", "NConnections") => Value::U32(1),
        ("docker.socket", "Socket", "NRefused") => Value::U32(7),
        ("docker.socket", "Unit", "ActiveEnterTimestamp") => Value::U64(1_699_999_500_000_000),
        // An older socket unit without NConnections: its current/refused series are skipped.
        ("old.socket", "Socket", "NAccepted") => Value::U32(1),
        ("home.mount", "Mount", "Type") => Value::Str("ext4".into()),
        _ => return None,
    })
}

fn manager_property(name: &str) -> Option<Value> {
    Some(match name {
        "Version" => Value::Str("252.30-1~deb12u2".into()),
        "Virtualization" => Value::Str("kvm".into()),
        "SystemState" => Value::Str("degraded".into()),
        _ => return None,
    })
}

fn list_units() -> Value {
    Value::Array(
        "(ssssssouso)".into(),
        UNITS
            .iter()
            .map(|(name, load, active)| {
                Value::Struct(vec![
                    Value::Str((*name).into()),
                    Value::Str(format!("The {name} unit")),
                    Value::Str((*load).into()),
                    Value::Str((*active).into()),
                    Value::Str("running".into()),
                    Value::Str(String::new()),
                    Value::Path(unit_path(name)),
                    Value::U32(0),
                    Value::Str(String::new()),
                    Value::Path("/".into()),
                ])
            })
            .collect(),
    )
}

/// The answer to one method call: a reply body or an error (name, text).
fn answer(m: &Message) -> Result<Vec<Value>, (&'static str, String)> {
    let path = m.field(1).unwrap_or("");
    let member = m.field(3).unwrap_or("");
    match (m.field(2).unwrap_or(""), member) {
        ("org.freedesktop.systemd1.Manager", "ListUnits") => Ok(vec![list_units()]),
        ("org.freedesktop.DBus.Properties", "Get") => {
            let (Some(Value::Str(iface)), Some(Value::Str(name))) = (m.body.first(), m.body.get(1))
            else {
                return Err(("org.freedesktop.DBus.Error.InvalidArgs", "Get(ss)".into()));
            };
            let value = if path == "/org/freedesktop/systemd1" {
                manager_property(name)
            } else {
                UNITS
                    .iter()
                    .find(|u| unit_path(u.0) == path)
                    .and_then(|u| unit_property(u.0, iface, name))
            };
            value
                .map(|v| vec![Value::Variant(Box::new(v))])
                .ok_or_else(|| {
                    (
                        "org.freedesktop.DBus.Error.UnknownProperty",
                        format!("Unknown property {iface}.{name} on {path}"),
                    )
                })
        }
        _ => Err((
            "org.freedesktop.DBus.Error.UnknownMethod",
            format!("Unknown method {member} on {path}"),
        )),
    }
}

/// Owns `org.freedesktop.systemd1` on the bus and answers until the bus goes away.
fn fake_systemd(socket: &str) {
    let mut c = Conn::connect(socket).expect("fake systemd connects");
    let r = c
        .call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            vec![Value::Str("org.freedesktop.systemd1".into()), Value::U32(4)],
        )
        .expect("RequestName");
    assert_eq!(r, vec![Value::U32(1)], "primary owner of the name");
    c.set_timeout(None).unwrap();
    std::thread::spawn(move || {
        while let Ok(m) = c.receive() {
            if m.kind != 1 {
                continue;
            }
            let Some(sender) = m.field(7).map(str::to_owned) else {
                continue;
            };
            let mut fields = vec![(5, Value::U32(m.serial)), (6, Value::Str(sender))];
            let reply = match answer(&m) {
                Ok(body) => Message {
                    kind: 2,
                    serial: 0,
                    fields,
                    body,
                },
                Err((name, text)) => {
                    fields.push((4, Value::Str(name.into())));
                    Message {
                        kind: 3,
                        serial: 0,
                        fields,
                        body: vec![Value::Str(text)],
                    }
                }
            };
            if c.send(reply).is_err() {
                break;
            }
        }
    });
}

/// A private bus (dbus-daemon with its own configuration) with the fake systemd on it.
struct Bus {
    _daemon: Process,
    _dir: tempfile::TempDir,
    address: String,
}

fn start_bus(test: &str) -> Option<Bus> {
    let daemon = testkit::peer_binary(test, "dbus-daemon")?;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("system_bus_socket");
    let config = dir.path().join("bus.conf");
    std::fs::write(
        &config,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n\
             <type>system</type>\n<listen>unix:path={}</listen>\n<auth>EXTERNAL</auth>\n\
             <policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\
             <allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy>\n</busconfig>\n",
            socket.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(daemon);
    cmd.arg(format!("--config-file={}", config.display()))
        .arg("--nofork")
        .arg("--nopidfile");
    let mut process = Process::spawn("dbus-daemon", cmd, &dir.path().join("dbus.log"));
    wait_for("the bus socket", Duration::from_secs(30), || {
        assert!(process.is_running(), "dbus-daemon: {}", process.log_text());
        socket.exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    let path = socket.display().to_string();
    fake_systemd(&path);
    Some(Bus {
        _daemon: process,
        _dir: dir,
        address: format!("unix:path={path}"),
    })
}

fn opts(extra: &[&str]) -> Options {
    let mut args = vec!["--collector.disable-defaults", "--collector.systemd"];
    args.extend_from_slice(extra);
    Options::parse(args.iter().map(|s| (*s).to_owned()), &all_collector_names()).unwrap()
}

/// Our collector's series as exposition lines.
fn ours(bus: &Bus, extra: &[&str]) -> BTreeSet<String> {
    let c = Systemd::new(&opts(extra), &bus.address).unwrap();
    let mut out = Out::default();
    c.update(&opts(&[]).paths(), &mut out)
        .expect("systemd collector");
    series(&encode(&out.into_families(), Format::Text))
}

fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("node_systemd_"))
        .map(str::to_owned)
        .collect()
}

const ALL_FLAGS: &[&str] = &[
    "--collector.systemd.enable-task-metrics",
    "--collector.systemd.enable-restarts-metrics",
    "--collector.systemd.enable-start-time-metrics",
];

#[test]
fn systemd_units_from_a_real_bus() {
    let Some(bus) = start_bus("systemd_units_from_a_real_bus") else {
        return;
    };
    let got = ours(&bus, ALL_FLAGS);
    let mut want: BTreeSet<String> = [
        r#"node_systemd_version{version="252.30-1~deb12u2"} 252.3"#,
        r#"node_systemd_virtualization_info{virtualization_type="kvm"} 1"#,
        "node_systemd_system_running 0",
        r#"node_systemd_units{state="active"} 5"#,
        r#"node_systemd_units{state="activating"} 1"#,
        r#"node_systemd_units{state="deactivating"} 0"#,
        r#"node_systemd_units{state="failed"} 1"#,
        r#"node_systemd_units{state="inactive"} 2"#,
        r#"node_systemd_units{state="reloading"} 1"#,
        r#"node_systemd_service_restart_total{name="ssh.service"} 2"#,
        r#"node_systemd_service_restart_total{name="cron.service"} 0"#,
        r#"node_systemd_service_restart_total{name="getty@tty1.service"} 1"#,
        r#"node_systemd_unit_tasks_current{name="ssh.service"} 3"#,
        r#"node_systemd_unit_tasks_max{name="ssh.service"} 4915"#,
        r#"node_systemd_unit_tasks_current{name="getty@tty1.service"} 1"#,
        r#"node_systemd_unit_start_time_seconds{name="ssh.service"} 1.70000000025e+09"#,
        r#"node_systemd_unit_start_time_seconds{name="apt-daily.timer"} 1.699999e+09"#,
        r#"node_systemd_unit_start_time_seconds{name="docker.socket"} 1.6999995e+09"#,
        r#"node_systemd_unit_start_time_seconds{name="cron.service"} 0"#,
        r#"node_systemd_unit_start_time_seconds{name="getty@tty1.service"} 0"#,
        r#"node_systemd_unit_start_time_seconds{name="weird.service"} 0"#,
        r#"node_systemd_unit_start_time_seconds{name="old.socket"} 0"#,
        r#"node_systemd_timer_last_trigger_seconds{name="apt-daily.timer"} 1.7000001005e+09"#,
        r#"node_systemd_socket_accepted_connections_total{name="docker.socket"} 5"#,
        r#"node_systemd_socket_current_connections{name="docker.socket"} 1"#,
        r#"node_systemd_socket_refused_connections_total{name="docker.socket"} 7"#,
        r#"node_systemd_socket_accepted_connections_total{name="old.socket"} 1"#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // Every loaded unit the default exclude lets through, in each of the five states.
    for (name, kind, active) in [
        ("ssh.service", "notify", "active"),
        ("cron.service", "simple", "failed"),
        ("getty@tty1.service", "idle", "activating"),
        ("weird.service", "oneshot", "reloading"),
        ("apt-daily.timer", "", "active"),
        ("docker.socket", "", "active"),
        ("old.socket", "", "inactive"),
    ] {
        for state in ["active", "activating", "deactivating", "inactive", "failed"] {
            want.insert(format!(
                "node_systemd_unit_state{{name=\"{name}\",state=\"{state}\",type=\"{kind}\"}} {}",
                u8::from(state == active)
            ));
        }
    }
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    // The include/exclude patterns: only the mount, by its type.
    let got = ours(
        &bus,
        &[
            "--collector.systemd.unit-include=.+\\.mount",
            "--collector.systemd.unit-exclude=",
        ],
    );
    let states: Vec<_> = got
        .iter()
        .filter(|l| l.starts_with("node_systemd_unit_state"))
        .collect();
    assert_eq!(states.len(), 5, "{states:?}");
    assert!(
        got.contains(r#"node_systemd_unit_state{name="home.mount",state="active",type="ext4"} 1"#)
    );
    // Without the flags, the optional families are absent.
    let got = ours(&bus, &[]);
    assert!(
        !got.iter().any(|l| l.starts_with("node_systemd_unit_tasks")
            || l.starts_with("node_systemd_service_restart")
            || l.starts_with("node_systemd_unit_start_time")),
        "{got:#?}"
    );
}

#[test]
fn systemd_matches_node_exporter_on_the_same_bus() {
    let test = "systemd_matches_node_exporter_on_the_same_bus";
    let Some(bus) = start_bus(test) else { return };
    let Some(peer) = testkit::peer_binary(test, "prometheus-node-exporter") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(peer);
    cmd.args(["--collector.disable-defaults", "--collector.systemd"])
        .args(ALL_FLAGS)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let _ne = Process::spawn("prometheus-node-exporter", cmd, &work.path().join("ne.log"));
    wait_for("node exporter", Duration::from_secs(30), || {
        get_ok(port, "/metrics").is_some()
    });
    let text = get_ok(port, "/metrics").expect("scrape");
    assert!(
        text.contains("node_scrape_collector_success{collector=\"systemd\"} 1"),
        "node_exporter's systemd collector failed on the bus: {}",
        std::fs::read_to_string(work.path().join("ne.log")).unwrap_or_default()
    );
    let theirs = series(&text);
    let got = ours(&bus, ALL_FLAGS);
    // Families and help texts: theirs must all be ours, with the same type and help.
    let fams = |t: &str| parse_families(t.as_bytes(), Format::Text).unwrap();
    let their_fams = fams(&text);
    let ours_text = {
        let c = Systemd::new(&opts(ALL_FLAGS), &bus.address).unwrap();
        let mut out = Out::default();
        c.update(&opts(&[]).paths(), &mut out).unwrap();
        encode(&out.into_families(), Format::Text)
    };
    let our_fams = fams(&ours_text);
    let mut shared = 0;
    for f in their_fams
        .iter()
        .filter(|f| f.name.starts_with("node_systemd_"))
    {
        let o = our_fams
            .iter()
            .find(|o| o.name == f.name)
            .unwrap_or_else(|| panic!("{} missing in ours", f.name));
        assert_eq!(
            (o.metric_type, &o.help),
            (f.metric_type, &f.help),
            "{}",
            f.name
        );
        shared += 1;
        let a: BTreeSet<_> = got.iter().filter(|l| family_of(l) == f.name).collect();
        let b: BTreeSet<_> = theirs.iter().filter(|l| family_of(l) == f.name).collect();
        assert_eq!(a, b, "series of {}", f.name);
    }
    assert!(shared >= 10, "only {shared} systemd families in common");
    // What 1.9.1 has that Debian's 1.5 may lack.
    for f in &our_fams {
        if !their_fams.iter().any(|t| t.name == f.name) {
            assert!(
                ["node_systemd_virtualization_info"].contains(&f.name.as_str()),
                "{} only in ours",
                f.name
            );
        }
    }
}

fn family_of(line: &str) -> &str {
    line.split(['{', ' ']).next().unwrap_or("")
}
