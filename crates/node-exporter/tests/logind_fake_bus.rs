//! The logind collector against a fake system bus on a private Unix socket (there is no
//! system D-Bus in the sandbox): the EXTERNAL handshake, Hello, ListSeats, ListSessions and
//! each session's Remote/Type/Class properties, answered as systemd-logind does; the counts
//! by seat, remote, type and class as node_exporter 1.9.1 reports them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;

use firewatch_node_exporter::collector::dbus::{Message, Value};
use firewatch_node_exporter::collector::logind::Logind;
use firewatch_node_exporter::collector::{Collector, Out};
use firewatch_node_exporter::{NodeCollector, Options, all_collector_names};

const SESSION: &str = "/org/freedesktop/login1/session/_3";

/// (id, seat, remote, type, class).
const SESSIONS: &[(&str, &str, bool, &str, &str)] = &[
    ("1", "seat0", false, "x11", "user"),
    ("2", "", true, "tty", "user"),
    ("3", "", true, "tty", "user"),
    ("c1", "seat0", false, "wayland", "greeter"),
    ("5", "", false, "weird", "manager"),
];

fn reply(to: &Message, serial: u32, body: Vec<Value>) -> Message {
    Message {
        kind: 2,
        serial,
        fields: vec![(5, Value::U32(to.serial))],
        body,
    }
}

/// Serves one connection: the handshake, then method calls until the client hangs up.
fn serve(listener: &UnixListener) {
    let (stream, _) = listener.accept().unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).unwrap();
    assert!(
        line.starts_with(b"\0AUTH EXTERNAL "),
        "{}",
        String::from_utf8_lossy(&line)
    );
    w.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
        .unwrap();
    line.clear();
    r.read_until(b'\n', &mut line).unwrap();
    assert_eq!(line, b"BEGIN\r\n");
    let mut serial = 100;
    while let Ok(m) = Message::read(&mut r) {
        serial += 1;
        let member = m.field(3).unwrap_or("").to_owned();
        let path = m.field(1).unwrap_or("").to_owned();
        let body = match member.as_str() {
            "Hello" => vec![Value::Str(":1.42".into())],
            "ListSeats" => vec![Value::Array(
                "(so)".into(),
                vec![Value::Struct(vec![
                    Value::Str("seat0".into()),
                    Value::Path("/org/freedesktop/login1/seat/seat0".into()),
                ])],
            )],
            "ListSessions" => vec![Value::Array(
                "(susso)".into(),
                SESSIONS
                    .iter()
                    .map(|(id, seat, ..)| {
                        Value::Struct(vec![
                            Value::Str((*id).into()),
                            Value::U32(1000),
                            Value::Str("user".into()),
                            Value::Str((*seat).into()),
                            Value::Path(format!("{SESSION}{id}")),
                        ])
                    })
                    .collect(),
            )],
            "Get" => {
                let s = SESSIONS
                    .iter()
                    .find(|s| path == format!("{SESSION}{}", s.0))
                    .expect("a known session");
                let v = match &m.body[1] {
                    Value::Str(p) if p == "Remote" => Value::Bool(s.2),
                    Value::Str(p) if p == "Type" => Value::Str(s.3.into()),
                    Value::Str(p) if p == "Class" => Value::Str(s.4.into()),
                    other => panic!("unexpected property {other:?}"),
                };
                vec![Value::Variant(Box::new(v))]
            }
            other => panic!("unexpected call {other}"),
        };
        w.write_all(&reply(&m, serial, body).encode()).unwrap();
    }
}

#[test]
fn logind_sessions_from_a_fake_system_bus() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("system_bus_socket");
    let listener = UnixListener::bind(&sock).unwrap();
    let server = std::thread::spawn(move || serve(&listener));
    let c = Logind::with_address(&format!("unix:path={}", sock.display()));
    let mut out = Out::default();
    c.update(&Options::default().paths(), &mut out).unwrap();
    server.join().unwrap();
    let fams = out.into_families();
    assert_eq!(fams.len(), 1);
    let f = &fams[0];
    assert_eq!(f.name, "node_logind_sessions");
    assert_eq!(
        f.help.as_deref(),
        Some("Number of sessions registered in logind.")
    );
    // 2 remote values x 7 types x 5 classes x (seat0 and the empty seat).
    assert_eq!(f.samples.len(), 140);
    let nonzero: BTreeMap<String, f64> = f
        .samples
        .iter()
        .filter(|s| s.value != 0.0)
        .map(|s| {
            let l = |n: &str| s.labels.get(n).unwrap().to_owned();
            (
                format!("{}/{}/{}/{}", l("seat"), l("remote"), l("type"), l("class")),
                s.value,
            )
        })
        .collect();
    let want: BTreeMap<String, f64> = [
        ("seat0/false/x11/user", 1.0),
        ("/true/tty/user", 2.0),
        ("seat0/false/wayland/greeter", 1.0),
        ("/false/other/other", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(nonzero, want);
}

#[test]
fn logind_without_a_bus_fails_the_collector_only() {
    let dir = tempfile::tempdir().unwrap();
    let c = Logind::with_address(&format!(
        "unix:path={}",
        dir.path().join("absent").display()
    ));
    let err = c
        .update(&Options::default().paths(), &mut Out::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unable to connect to dbus: dial unix"),
        "{err}"
    );
    // Through the registry: success 0 for logind, the others go on.
    let args = [
        "--collector.disable-defaults",
        "--collector.logind",
        "--collector.loadavg",
    ]
    .map(String::from);
    let opts = Options::parse(args, &all_collector_names()).unwrap();
    let fams = NodeCollector::new(&opts).unwrap().collect(&[]).unwrap();
    let success: BTreeMap<String, f64> = fams
        .iter()
        .find(|f| f.name == "node_scrape_collector_success")
        .unwrap()
        .samples
        .iter()
        .map(|s| (s.labels.get("collector").unwrap().to_owned(), s.value))
        .collect();
    assert_eq!(success.get("loadavg"), Some(&1.0));
    assert!(success.contains_key("logind"));
}
