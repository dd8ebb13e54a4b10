//! High availability over gossip (chitchat), with in-process peers on 127.0.0.1: peers that
//! know only the first learn each other; silences and the notification log spread within
//! seconds; peers fed the same alerts notify once per group; with one peer killed the other
//! notifies; a peer restarted with no data gets the state back from the others; the first
//! notifications wait for the cluster to settle.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Instance, Recorder, at, request};
use serde_json::{Value, json};

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: 'RECORDER'}]
"#;

/// Gossip interval of the peers here: settle polls every 10 of them (1 s).
const GOSSIP: Duration = Duration::from_millis(100);

fn alert(name: &str) -> Value {
    json!({"labels": {"alertname": name, "job": "ha"}, "startsAt": at(-5.0), "endsAt": at(3600.0)})
}

fn post(port: u16, alerts: &[Value]) {
    let (code, body) = request(
        port,
        "POST",
        "/api/v2/alerts",
        Some(&json!(alerts).to_string()),
    );
    assert_eq!(code, 200, "{body}");
}

fn get(port: u16, path: &str) -> Value {
    let (code, body) = request(port, "GET", path, None);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// How many notifications were received for the alert named `name`.
fn count(rec: &Recorder, name: &str) -> usize {
    rec.under("/hook")
        .iter()
        .filter(|(_, b)| b["groupLabels"]["alertname"] == name)
        .count()
}

/// A free UDP port on 127.0.0.1 (the gossip is UDP only).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .unwrap()
        .port()
}

/// One sample of `/metrics` (no labels), or `None`.
fn metric(port: u16, name: &str) -> Option<f64> {
    let body = request(port, "GET", "/metrics", None).1;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The member names in the status API, in its order.
fn members(port: u16) -> Vec<String> {
    get(port, "/api/v2/status")["cluster"]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A peer gossiping on `gossip` (127.0.0.1), with `seeds` as its `--cluster.peer`s.
fn peer(dir: &Path, cfg: &str, gossip: u16, seeds: &[u16], peer_timeout: Duration) -> Instance {
    let seeds: Vec<String> = seeds.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    common::firewatch_with(dir, cfg, |o| {
        o.cluster_listen_address = format!("127.0.0.1:{gossip}");
        o.cluster_peers = seeds;
        o.peer_timeout = peer_timeout;
        o.gossip_interval = GOSSIP;
        o.settle_timeout = Duration::from_secs(10);
    })
}

fn silence_body(name: &str, comment: &str) -> String {
    json!({"matchers": [{"name": "alertname", "value": name, "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "ha-test", "comment": comment})
    .to_string()
}

/// The state of silence `id` on the peer at `port` (`None`: unknown there).
fn silence_state(port: u16, id: &str) -> Option<String> {
    get(port, "/api/v2/silences")
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["status"]["state"].as_str().unwrap().to_owned())
}

fn wait_members(insts: &[&Instance], want: &[String], limit: Duration) {
    for inst in insts {
        testkit::wait_for(
            &format!("the peer on {} to list the members {want:?}", inst.port),
            limit,
            || members(inst.port) == want,
        );
    }
}

#[test]
fn three_peers_knowing_only_the_first_learn_each_other_and_share_silences() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (ga, gb, gc) = (free_udp_port(), free_udp_port(), free_udp_port());
    let t = Duration::from_secs(2);
    let a = peer(&dir.path().join("a"), &cfg, ga, &[], t);
    let b = peer(&dir.path().join("b"), &cfg, gb, &[ga], t);
    let c = peer(&dir.path().join("c"), &cfg, gc, &[ga], t);
    let mut names: Vec<String> = [ga, gb, gc]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    names.sort();
    // B and C know only A: they learn each other through it.
    wait_members(&[&a, &b, &c], &names, Duration::from_secs(20));
    for (inst, me) in [(&a, ga), (&b, gb), (&c, gc)] {
        let st = get(inst.port, "/api/v2/status");
        assert_eq!(st["cluster"]["name"], format!("127.0.0.1:{me}"));
        let pos = names
            .iter()
            .position(|n| *n == format!("127.0.0.1:{me}"))
            .unwrap();
        testkit::wait_for("the position metric", Duration::from_secs(5), || {
            metric(inst.port, "alertmanager_cluster_members") == Some(3.0)
                && metric(inst.port, "alertmanager_peer_position") == Some(pos as f64)
        });
        assert_eq!(
            metric(inst.port, "alertmanager_cluster_failed_peers"),
            Some(0.0)
        );
        assert!(metric(inst.port, "alertmanager_cluster_peers_joined_total").unwrap() >= 2.0);
    }
    assert!(
        metric(
            b.port,
            "alertmanager_cluster_messages_received_total{msg_type=\"update\"}"
        )
        .unwrap()
            > 0.0
    );

    // A silence created on B holds on A and C within seconds.
    let started = Instant::now();
    let id = common::post_silence(b.port, &silence_body("Muted", "from b"));
    for inst in [&a, &c] {
        testkit::wait_for("the silence on every peer", Duration::from_secs(5), || {
            silence_state(inst.port, &id).as_deref() == Some("active")
        });
    }
    eprintln!("silence spread to two peers in {:?}", started.elapsed());
    post(c.port, &[alert("Muted")]);
    testkit::wait_for("the alert silenced on C", Duration::from_secs(5), || {
        let got = get(c.port, "/api/v2/alerts?filter=alertname%3D%22Muted%22");
        got[0]["status"]["silencedBy"][0] == id.as_str()
    });
    // Expired on C: expired on A and B.
    let (code, body) = request(c.port, "DELETE", &format!("/api/v2/silence/{id}"), None);
    assert_eq!(code, 200, "{body}");
    for inst in [&a, &b] {
        testkit::wait_for("the expiry on every peer", Duration::from_secs(5), || {
            silence_state(inst.port, &id).as_deref() == Some("expired")
        });
    }
    // C leaves: A and B drop it at once, well before a failure detection (5 s), and do not
    // count it as failed.
    c.stop();
    let two: Vec<String> = names
        .iter()
        .filter(|n| **n != format!("127.0.0.1:{gc}"))
        .cloned()
        .collect();
    wait_members(&[&a, &b], &two, Duration::from_secs(3));
    for inst in [&a, &b] {
        testkit::wait_for("the member count", Duration::from_secs(3), || {
            metric(inst.port, "alertmanager_cluster_members") == Some(2.0)
        });
        assert_eq!(
            metric(inst.port, "alertmanager_cluster_failed_peers"),
            Some(0.0)
        );
        assert_eq!(
            metric(inst.port, "alertmanager_cluster_peers_left_total"),
            Some(1.0)
        );
    }
    b.stop();
    a.stop();
}

#[test]
fn two_peers_notify_once_per_group_and_the_survivor_notifies_alone() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (ga, gb) = (free_udp_port(), free_udp_port());
    let t = Duration::from_secs(3);
    let a = peer(&dir.path().join("a"), &cfg, ga, &[], t);
    let b = peer(&dir.path().join("b"), &cfg, gb, &[ga], t);
    let mut names = vec![format!("127.0.0.1:{ga}"), format!("127.0.0.1:{gb}")];
    names.sort();
    wait_members(&[&a, &b], &names, Duration::from_secs(20));
    // The second in name order waits 3 s and finds the first's log entries.
    let second = if names[1] == format!("127.0.0.1:{ga}") {
        &a
    } else {
        &b
    };
    let groups = ["One", "Two", "Three"];
    let alerts: Vec<Value> = groups.iter().map(|g| alert(g)).collect();
    post(a.port, &alerts);
    post(b.port, &alerts);
    testkit::wait_for("a notification per group", Duration::from_secs(20), || {
        groups.iter().all(|g| count(&rec, g) >= 1)
    });
    // The second peer's dedup stage (after its wait) looked each group up in its log.
    testkit::wait_for(
        "the second peer's pipeline past its wait",
        Duration::from_secs(20),
        || metric(second.port, "alertmanager_nflog_queries_total").unwrap_or(0.0) >= 3.0,
    );
    for g in groups {
        assert_eq!(count(&rec, g), 1, "{g}: {:?}", rec.under("/hook"));
    }

    // A is killed (no shutdown): B holds it dead, moves to position 0 and notifies alone.
    a.crash();
    testkit::wait_for("B to hold A dead", Duration::from_secs(20), || {
        members(b.port) == [format!("127.0.0.1:{gb}")]
    });
    testkit::wait_for("the failed peer counted", Duration::from_secs(5), || {
        metric(b.port, "alertmanager_cluster_failed_peers") == Some(1.0)
            && metric(b.port, "alertmanager_peer_position") == Some(0.0)
    });
    post(b.port, &[alert("Alone")]);
    testkit::wait_for("the survivor to notify", Duration::from_secs(15), || {
        count(&rec, "Alone") == 1
    });
    b.stop();
}

#[test]
fn a_peer_restarted_without_data_gets_the_state_back() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (ga, gb) = (free_udp_port(), free_udp_port());
    let t = Duration::from_secs(2);
    let a = peer(&dir.path().join("a"), &cfg, ga, &[], t);
    let b = peer(&dir.path().join("b"), &cfg, gb, &[ga], t);
    let mut names = vec![format!("127.0.0.1:{ga}"), format!("127.0.0.1:{gb}")];
    names.sort();
    wait_members(&[&a, &b], &names, Duration::from_secs(20));
    let before = common::post_silence(a.port, &silence_body("Before", "made before"));
    post(a.port, &[alert("Logged")]);
    testkit::wait_for(
        "the silence and a notification on B",
        Duration::from_secs(10),
        || silence_state(b.port, &before).is_some() && count(&rec, "Logged") == 1,
    );
    // B is killed and its data removed; a silence is made while it is away.
    b.crash();
    std::fs::remove_dir_all(dir.path().join("b").join("data")).unwrap();
    let during = common::post_silence(a.port, &silence_body("During", "made while b was down"));

    // Restarted on the same address, B knows only A: it gets both silences back, and the
    // notification log (the alert A notified is not notified again by B).
    testkit::wait_for("the gossip port released", Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", gb)).is_ok()
    });
    let b = peer(&dir.path().join("b"), &cfg, gb, &[ga], t);
    testkit::wait_for(
        "both silences on the restarted peer",
        Duration::from_secs(10),
        || {
            silence_state(b.port, &before).as_deref() == Some("active")
                && silence_state(b.port, &during).as_deref() == Some("active")
        },
    );
    wait_members(&[&a, &b], &names, Duration::from_secs(20));
    testkit::wait_for(
        "the log entry on the restarted peer",
        Duration::from_secs(10),
        || {
            metric(
                b.port,
                "alertmanager_nflog_gossip_messages_propagated_total",
            )
            .unwrap_or(0.0)
                >= 1.0
        },
    );
    post(b.port, &[alert("Logged"), alert("During")]);
    testkit::wait_for(
        "B's pipeline past its settle and wait",
        Duration::from_secs(25),
        || metric(b.port, "alertmanager_nflog_queries_total").unwrap_or(0.0) >= 1.0,
    );
    let got = get(b.port, "/api/v2/alerts?filter=alertname%3D%22During%22");
    assert_eq!(got[0]["status"]["silencedBy"][0], during.as_str(), "{got}");
    assert_eq!(count(&rec, "Logged"), 1, "{:?}", rec.under("/hook"));
    assert_eq!(count(&rec, "During"), 0, "{:?}", rec.under("/hook"));
    b.stop();
    a.stop();
}

/// `--cluster.label`: a peer with another label is refused by the seed, one with the same
/// label joins (both gossip with the same seed at the same rate).
#[test]
fn peers_with_another_cluster_label_stay_apart() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (ga, gb, gc) = (free_udp_port(), free_udp_port(), free_udp_port());
    let labelled = |gossip: u16, seeds: Vec<String>, label: &'static str| {
        move |o: &mut firewatch_alertmanager::Options| {
            o.cluster_listen_address = format!("127.0.0.1:{gossip}");
            o.cluster_peers = seeds;
            o.gossip_interval = GOSSIP;
            o.cluster_label = label.to_owned();
        }
    };
    let seed = vec![format!("127.0.0.1:{ga}")];
    let a = common::firewatch_with(&dir.path().join("a"), &cfg, labelled(ga, vec![], "prod"));
    let b = common::firewatch_with(
        &dir.path().join("b"),
        &cfg,
        labelled(gb, seed.clone(), "staging"),
    );
    let c = common::firewatch_with(&dir.path().join("c"), &cfg, labelled(gc, seed, "prod"));
    let mut prod = vec![format!("127.0.0.1:{ga}"), format!("127.0.0.1:{gc}")];
    prod.sort();
    wait_members(&[&a, &c], &prod, Duration::from_secs(20));
    assert_eq!(members(b.port), [format!("127.0.0.1:{gb}")]);
    assert!(!members(a.port).contains(&format!("127.0.0.1:{gb}")));
    c.stop();
    b.stop();
    a.stop();
}

/// A peer that joins late gets a state far larger than one gossip datagram (64 KiB): 300
/// silences with 1 KiB comments that do not compress, spread over several exchanges.
#[test]
fn a_late_peer_gets_a_state_larger_than_a_datagram() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (ga, gb) = (free_udp_port(), free_udp_port());
    let t = Duration::from_secs(2);
    let a = peer(&dir.path().join("a"), &cfg, ga, &[], t);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = || {
        (0..1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b"0123456789abcdef"[(seed % 16) as usize])
            })
            .collect::<String>()
    };
    let n = 300;
    let ids: Vec<String> = (0..n)
        .map(|i| common::post_silence(a.port, &silence_body(&format!("Big{i}"), &noise())))
        .collect();
    let b = peer(&dir.path().join("b"), &cfg, gb, &[ga], t);
    let started = Instant::now();
    testkit::wait_for(
        "every silence on the late peer",
        Duration::from_secs(20),
        || get(b.port, "/api/v2/silences").as_array().unwrap().len() == n,
    );
    eprintln!(
        "{n} silences reached the late peer in {:?}",
        started.elapsed()
    );
    let received = metric(
        b.port,
        "alertmanager_cluster_messages_received_size_total{msg_type=\"update\"}",
    )
    .unwrap();
    assert!(
        received > 2.0 * 65_507.0,
        "{received} bytes: not several datagrams"
    );
    let on_b = get(b.port, "/api/v2/silences");
    for id in &ids {
        assert!(
            on_b.as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == id.as_str()),
            "{id} missing"
        );
    }
    b.stop();
    a.stop();
}

/// A starting peer holds its first notifications until the cluster settled: the member
/// count unchanged for three polls ten gossip intervals apart (Alertmanager's `Settle`, here
/// 5 polls of 1 s), with the status `settling` before and `ready` after; with a short
/// `--cluster.settle-timeout` the wait ends at the timeout instead.
#[test]
fn notifications_wait_for_the_cluster_to_settle() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG
        .replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port))
        .replace("group_wait: 1s", "group_wait: 0s");
    let listen = free_udp_port();
    let started = Instant::now();
    let a = common::firewatch_with(&dir.path().join("a"), &cfg, |o| {
        o.cluster_listen_address = format!("127.0.0.1:{listen}");
        o.gossip_interval = GOSSIP;
        o.settle_timeout = Duration::from_secs(60);
    });
    assert_eq!(
        get(a.port, "/api/v2/status")["cluster"]["status"],
        "settling"
    );
    post(a.port, &[alert("Early")]);
    testkit::wait_for(
        "the notification after settling",
        Duration::from_secs(20),
        || count(&rec, "Early") == 1,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(4500),
        "notified {took:?} after the start, before the cluster settled (5 s)"
    );
    assert_eq!(get(a.port, "/api/v2/status")["cluster"]["status"], "ready");
    a.stop();

    // Polls 100 s apart, a 1 s timeout: ready after about 1 s.
    let listen = free_udp_port();
    let started = Instant::now();
    let b = common::firewatch_with(&dir.path().join("b"), &cfg, |o| {
        o.cluster_listen_address = format!("127.0.0.1:{listen}");
        o.gossip_interval = Duration::from_secs(10);
        o.settle_timeout = Duration::from_secs(1);
    });
    post(b.port, &[alert("Timeout")]);
    testkit::wait_for(
        "the notification after the timeout",
        Duration::from_secs(15),
        || count(&rec, "Timeout") == 1,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "notified {took:?} after the start (settle timeout 1 s)"
    );
    assert_eq!(get(b.port, "/api/v2/status")["cluster"]["status"], "ready");
    b.stop();
}
