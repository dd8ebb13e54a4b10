//! Collectors that are off by default or need system calls (timex, tcpstat, network_route,
//! runit, drm, ntp, supervisord, ethtool, perf), checked against Debian's `prometheus-node-exporter` on this machine or on the
//! same fixture tree: the same family names, types and help texts, the same label names, and
//! equal values for what is stable (every value, for fixtures).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use firewatch_node_exporter::{NodeCollector, Options, all_collector_names};
use model::exposition::{Format, MetricFamily, parse_families};
use testkit::{Process, free_port, get_ok, wait_for};

/// Runs the peer with only `collectors` and returns one scrape, with ours at the same moment.
fn both(test: &str, collectors: &[&str]) -> Option<(Vec<MetricFamily>, Vec<MetricFamily>)> {
    both_with(test, collectors, &[])
}

/// [`both`] with extra flags for both exporters.
fn both_with(
    test: &str,
    collectors: &[&str],
    extra: &[String],
) -> Option<(Vec<MetricFamily>, Vec<MetricFamily>)> {
    let peer = testkit::peer_binary(test, "prometheus-node-exporter")?;
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut args = vec!["--collector.disable-defaults".to_owned()];
    args.extend(collectors.iter().map(|c| format!("--collector.{c}")));
    args.extend(extra.iter().cloned());
    let mut cmd = Command::new(peer);
    cmd.args(&args)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let _ne = Process::spawn("prometheus-node-exporter", cmd, &work.path().join("ne.log"));
    wait_for("node exporter", Duration::from_secs(30), || {
        get_ok(port, "/metrics").is_some()
    });
    let theirs = get_ok(port, "/metrics").expect("scrape");
    let theirs = parse_families(theirs.as_bytes(), Format::Text).expect("exposition");
    let opts = Options::parse(args, &all_collector_names()).unwrap();
    let ours = NodeCollector::new(&opts).unwrap().collect(&[]).unwrap();
    let keep = |f: &Vec<MetricFamily>| {
        f.iter()
            .filter(|f| f.name.starts_with("node_") && !f.name.starts_with("node_exporter"))
            .cloned()
            .collect()
    };
    Some((keep(&ours), keep(&theirs)))
}

fn by_name(f: &[MetricFamily]) -> BTreeMap<&str, &MetricFamily> {
    f.iter().map(|f| (f.name.as_str(), f)).collect()
}

fn label_names(f: &MetricFamily) -> BTreeSet<&str> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name))
        .filter(|n| *n != "__name__")
        .collect()
}

fn label_sets(f: &MetricFamily) -> BTreeSet<Vec<(String, String)>> {
    f.samples
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value.to_owned()))
                .collect()
        })
        .collect()
}

/// Same families (but `allow_missing`), types, help texts and label names.
fn same_shape(ours: &[MetricFamily], theirs: &[MetricFamily], allow_missing: &[&str]) {
    let (a, b) = (by_name(ours), by_name(theirs));
    for (name, fb) in &b {
        if name.starts_with("node_scrape_") {
            continue;
        }
        let Some(fa) = a.get(name) else {
            assert!(allow_missing.contains(name), "{name} missing in ours");
            continue;
        };
        assert_eq!(fa.metric_type, fb.metric_type, "type of {name}");
        assert_eq!(fa.help, fb.help, "help of {name}");
        if !fa.samples.is_empty() && !fb.samples.is_empty() {
            assert_eq!(label_names(fa), label_names(fb), "labels of {name}");
        }
    }
    for name in a.keys() {
        assert!(
            b.contains_key(name) || name.starts_with("node_scrape_"),
            "{name} only in ours"
        );
    }
}

#[test]
fn timex_matches_node_exporter() {
    let Some((ours, theirs)) = both("timex_matches_node_exporter", &["timex"]) else {
        return;
    };
    assert_eq!(
        by_name(&ours).len(),
        19,
        "17 timex families and 2 scrape ones"
    );
    same_shape(&ours, &theirs, &[]);
    let (a, b) = (by_name(&ours), by_name(&theirs));
    // What does not move between two readings a few milliseconds apart.
    for name in [
        "node_timex_sync_status",
        "node_timex_status",
        "node_timex_loop_time_constant",
        "node_timex_tick_seconds",
        "node_timex_tai_offset_seconds",
        "node_timex_pps_shift_seconds",
        "node_timex_pps_calibration_total",
        "node_timex_pps_error_total",
        "node_timex_pps_jitter_total",
        "node_timex_pps_stability_exceeded_total",
    ] {
        assert_eq!(
            a[name].samples[0].value, b[name].samples[0].value,
            "value of {name}"
        );
    }
    assert_eq!(
        a["node_scrape_collector_success"].samples[0].value, 1.0,
        "timex succeeded"
    );
}

#[test]
fn network_route_matches_node_exporter() {
    let Some((ours, theirs)) = both("network_route_matches_node_exporter", &["network_route"])
    else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    let (a, b) = (by_name(&ours), by_name(&theirs));
    for name in ["node_network_route_info", "node_network_routes"] {
        assert_eq!(label_sets(a[name]), label_sets(b[name]), "series of {name}");
    }
}

#[test]
fn tcpstat_matches_node_exporter() {
    // A listener so that the `listen` state is there for both.
    let _l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let Some((ours, theirs)) = both("tcpstat_matches_node_exporter", &["tcpstat"]) else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    let a = by_name(&ours)["node_tcp_connection_states"];
    let states: BTreeSet<String> = a
        .samples
        .iter()
        .filter_map(|s| s.labels.get("state").map(str::to_owned))
        .collect();
    for s in ["listen", "rx_queued_bytes", "tx_queued_bytes"] {
        assert!(states.contains(s), "{s} in {states:?}");
    }
}

/// Every series and value, for exporters reading the same fixture tree.
fn same_series(ours: &[MetricFamily], theirs: &[MetricFamily]) {
    let flat = |f: &[MetricFamily]| -> BTreeMap<Vec<(String, String)>, f64> {
        f.iter()
            .filter(|f| !f.name.starts_with("node_scrape_collector_duration"))
            .flat_map(|f| f.samples.iter())
            .map(|s| {
                let l = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_owned(), l.value.to_owned()))
                    .collect();
                (l, s.value)
            })
            .collect()
    };
    assert_eq!(flat(ours), flat(theirs));
}

/// A runit status record: TAI64 label, nanoseconds, PID, paused, want, term, state.
fn runit_status(unix: i64, pid: u32, want: u8, state: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(unix + 4_611_686_018_427_387_914).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(&pid.to_le_bytes());
    b.extend_from_slice(&[0, want, 0, state]);
    b
}

#[test]
fn runit_matches_node_exporter_on_a_service_tree() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("service");
    let mk = |name: &str, status: Option<Vec<u8>>, down: bool| {
        let s = svc.join(name).join("supervise");
        std::fs::create_dir_all(&s).unwrap();
        if let Some(st) = status {
            std::fs::write(s.join("status"), st).unwrap();
        }
        if down {
            std::fs::write(s.join("down"), "").unwrap();
        }
    };
    mk(
        "web",
        Some(runit_status(1_700_000_000, 4242, b'u', 1)),
        false,
    );
    mk("batch", Some(runit_status(1_600_000_123, 0, b'd', 0)), true);
    mk(
        "finishing",
        Some(runit_status(1_650_000_000, 7, b'u', 2)),
        false,
    );
    mk("nostatus", None, false);
    std::fs::write(svc.join("README"), "not a service").unwrap();
    std::os::unix::fs::symlink(svc.join("web"), svc.join("web-link")).unwrap();
    let flag = format!("--collector.runit.servicedir={}", svc.display());
    let Some((ours, theirs)) = both_with(
        "runit_matches_node_exporter_on_a_service_tree",
        &["runit"],
        &[flag],
    ) else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    same_series(&ours, &theirs);
    let states = by_name(&ours)["node_service_state"].samples.len();
    assert_eq!(states, 4, "web, web-link, batch and finishing");
}

#[test]
fn drm_matches_node_exporter_on_a_sysfs_tree() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    let card = |name: &str, driver: &str, files: &[(&str, &str)]| {
        let dev = sys.join("class/drm").join(name).join("device");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(
            dev.join("uevent"),
            format!("DRIVER={driver}\nPCI_ID=1002:67DF\n"),
        )
        .unwrap();
        for (f, v) in files {
            std::fs::write(dev.join(f), format!("{v}\n")).unwrap();
        }
    };
    card(
        "card0",
        "amdgpu",
        &[
            ("gpu_busy_percent", "4"),
            ("mem_info_gtt_total", "8573157376"),
            ("mem_info_gtt_used", "144560128"),
            ("mem_info_vis_vram_total", "8573157376"),
            ("mem_info_vis_vram_used", "1490378752"),
            ("mem_info_vram_total", "8573157376"),
            ("mem_info_vram_used", "1490378752"),
            ("mem_info_vram_vendor", "samsung"),
            ("power_dpm_force_performance_level", "manual"),
            ("unique_id", "0123456789abcdef"),
        ],
    );
    card("card1", "i915", &[("gpu_busy_percent", "50")]);
    card("card2", "amdgpu", &[("gpu_busy_percent", "99")]);
    std::fs::create_dir_all(sys.join("class/drm/card0-DP-1")).unwrap();
    let flag = format!("--path.sysfs={}", sys.display());
    let Some((ours, theirs)) = both_with(
        "drm_matches_node_exporter_on_a_sysfs_tree",
        &["drm"],
        &[flag],
    ) else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    same_series(&ours, &theirs);
    // 1.9.1 lists the i915 card too, with zeros (its procfs 0.15 does so).
    assert_eq!(by_name(&ours)["node_drm_card_info"].samples.len(), 3);
    let busy = by_name(&ours)["node_drm_gpu_busy_percent"];
    assert_eq!(busy.samples[1].value, 0.0, "{busy:?}");
}

/// A tiny SNTP server on 127.0.0.1 answering every request as stratum-2 server with `leap`,
/// a reference time of `reference` (NTP seconds) and fixed root delay and dispersion.
struct FakeNtp {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeNtp {
    fn start(leap: u8, reference: u64) -> Self {
        use std::sync::atomic::Ordering;
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 128];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n < 48 {
                    continue;
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                let ts = ((now.as_secs() + 2_208_988_800) << 32)
                    | ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000);
                let mut r = [0u8; 48];
                r[0] = (leap << 6) | (4 << 3) | 4;
                r[1] = 2;
                r[2] = 6;
                r[3] = 0xec;
                r[4..8].copy_from_slice(&0x0000_0800u32.to_be_bytes());
                r[8..12].copy_from_slice(&0x0000_0400u32.to_be_bytes());
                r[12..16].copy_from_slice(b"GPS\0");
                r[16..24].copy_from_slice(&(reference << 32).to_be_bytes());
                r[24..32].copy_from_slice(&buf[40..48]);
                r[32..40].copy_from_slice(&ts.to_be_bytes());
                r[40..48].copy_from_slice(&ts.to_be_bytes());
                let _ = sock.send_to(&r, from);
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeNtp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn ntp_matches_node_exporter_against_a_local_sntp_server() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (leap, sane) in [(0, 1.0), (3, 0.0)] {
        let server = FakeNtp::start(leap, now - 10 + 2_208_988_800);
        let flag = format!("--collector.ntp.server-port={}", server.port);
        let Some((ours, theirs)) = both_with(
            "ntp_matches_node_exporter_against_a_local_sntp_server",
            &["ntp"],
            &[flag],
        ) else {
            return;
        };
        same_shape(&ours, &theirs, &[]);
        let (a, b) = (by_name(&ours), by_name(&theirs));
        assert_eq!(
            a.len(),
            10,
            "8 ntp families and 2 scrape ones: {:?}",
            a.keys()
        );
        for name in [
            "node_ntp_stratum",
            "node_ntp_leap",
            "node_ntp_reference_timestamp_seconds",
            "node_ntp_root_delay_seconds",
            "node_ntp_root_dispersion_seconds",
            "node_ntp_sanity",
        ] {
            assert_eq!(
                a[name].samples[0].value, b[name].samples[0].value,
                "value of {name}"
            );
        }
        assert_eq!(a["node_ntp_sanity"].samples[0].value, sane, "leap {leap}");
        assert_eq!(
            a["node_ntp_reference_timestamp_seconds"].samples[0].value,
            (now - 10) as f64
        );
        let offset = a["node_ntp_offset_seconds"].samples[0].value;
        assert!(offset.abs() < 0.5, "offset {offset}");
    }
}

#[test]
fn ntp_without_a_server_fails_the_collector_only() {
    // A bound UDP port that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let args = [
        "--collector.disable-defaults".to_owned(),
        "--collector.ntp".to_owned(),
        "--collector.loadavg".to_owned(),
        format!("--collector.ntp.server-port={port}"),
    ];
    let opts = Options::parse(args, &all_collector_names()).unwrap();
    let fams = NodeCollector::new(&opts).unwrap().collect(&[]).unwrap();
    let success = by_name(&fams)["node_scrape_collector_success"]
        .samples
        .iter()
        .map(|s| (s.labels.get("collector").unwrap().to_owned(), s.value))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(success["ntp"], 0.0);
    assert_eq!(success["loadavg"], 1.0);
}

/// getAllProcessInfo as supervisord 4 (Python's xmlrpc.client) writes it.
fn supervisord_reply() -> String {
    let int = |k: &str, v: i64| {
        format!("<member>\n<name>{k}</name>\n<value><int>{v}</int></value>\n</member>\n")
    };
    let s = |k: &str, v: &str| {
        format!("<member>\n<name>{k}</name>\n<value><string>{v}</string></value>\n</member>\n")
    };
    let proc_ = |name: &str, group: &str, state: i64, statename: &str, start: i64, exit: i64| {
        let members = [
            s("description", "pid 4242, uptime 1:02:03"),
            int("pid", if state == 20 { 4242 } else { 0 }),
            s("stderr_logfile", "/var/log/x.err"),
            int("stop", 0),
            s("logfile", "/var/log/x.log"),
            int("exitstatus", exit),
            s("spawnerr", ""),
            int("now", 1_700_003_723),
            s("group", group),
            s("name", name),
            s("statename", statename),
            int("start", start),
            int("state", state),
        ];
        format!("<value><struct>\n{}</struct></value>\n", members.concat())
    };
    let procs = [
        proc_("web", "web", 20, "RUNNING", 1_700_000_000, 0),
        proc_("worker_00", "workers", 20, "RUNNING", 1_700_000_100, 0),
        proc_("worker_01", "workers", 0, "STOPPED", 1_699_000_000, 0),
        proc_("cron", "cron", 100, "EXITED", 1_699_999_000, 2),
        proc_("bad&amp;name", "misc", 200, "FATAL", 0, 127),
    ];
    format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n{}</data></array></value>\n</param>\n</params>\n</methodResponse>\n",
        procs.concat()
    )
}

/// Serves `body` as the reply to every POST on a loopback port until dropped.
struct FakeSupervisord {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSupervisord {
    fn start(body: String) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and the announced body.
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req);
                    if let Some((head, b)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if b.len() >= len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&req);
                let reply = if text.contains("supervisor.getAllProcessInfo") {
                    body.clone()
                } else {
                    String::from("<methodResponse><fault/></methodResponse>")
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeSupervisord {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn supervisord_matches_node_exporter_against_a_fake_xmlrpc_server() {
    let server = FakeSupervisord::start(supervisord_reply());
    let flag = format!(
        "--collector.supervisord.url=http://127.0.0.1:{}/RPC2",
        server.port
    );
    let Some((ours, theirs)) = both_with(
        "supervisord_matches_node_exporter_against_a_fake_xmlrpc_server",
        &["supervisord"],
        &[flag],
    ) else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    same_series(&ours, &theirs);
    let a = by_name(&ours);
    assert_eq!(a["node_supervisord_state"].samples.len(), 5);
    assert_eq!(a["node_supervisord_start_time_seconds"].samples.len(), 2);
    assert_eq!(
        a["node_scrape_collector_success"].samples[0].value, 1.0,
        "supervisord succeeded"
    );
}

#[test]
fn ethtool_matches_node_exporter() {
    let Some((ours, theirs)) = both("ethtool_matches_node_exporter", &["ethtool"]) else {
        return;
    };
    same_shape(&ours, &theirs, &[]);
    let (a, b) = (by_name(&ours), by_name(&theirs));
    // The same series (devices, drivers, link modes, statistic names); values of the link
    // and driver families are constant.
    for (name, fb) in &b {
        if name.starts_with("node_scrape_") {
            continue;
        }
        assert_eq!(label_sets(a[name]), label_sets(fb), "series of {name}");
        if name.starts_with("node_network_") {
            let v = |f: &MetricFamily| f.samples.iter().map(|s| s.value).collect::<Vec<_>>();
            assert_eq!(v(a[name]), v(fb), "values of {name}");
        }
    }
}

#[test]
fn perf_matches_node_exporter() {
    let Some((ours, theirs)) = both("perf_matches_node_exporter", &["perf"]) else {
        return;
    };
    // Which events the kernel grants is the machine's business; both see the same ones.
    same_shape(&ours, &theirs, &[]);
    let (a, b) = (by_name(&ours), by_name(&theirs));
    for (name, fb) in &b {
        if !name.starts_with("node_scrape_") {
            assert_eq!(label_sets(a[name]), label_sets(fb), "series of {name}");
        }
    }
    assert_eq!(
        a["node_scrape_collector_success"].samples[0].value, 1.0,
        "perf succeeded"
    );
}
