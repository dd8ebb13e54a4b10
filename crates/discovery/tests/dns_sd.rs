//! DNS SD against a tiny hand-rolled UDP DNS server on 127.0.0.1 (A, AAAA, SRV, MX, NXDOMAIN).

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use firewatch_discovery::dns::DnsDiscovery;
use firewatch_discovery::{Discoverer, TargetGroup};
use parking_lot::Mutex;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
enum Rec {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Srv { port: u16, target: &'static str },
    Mx { exchange: &'static str },
}

impl Rec {
    fn qtype(&self) -> u16 {
        match self {
            Rec::A(_) => 1,
            Rec::Aaaa(_) => 28,
            Rec::Srv { .. } => 33,
            Rec::Mx { .. } => 15,
        }
    }
}

type Zone = Arc<Mutex<HashMap<String, Vec<Rec>>>>;

fn encode_name(out: &mut Vec<u8>, name: &str) {
    for label in name.trim_end_matches('.').split('.') {
        out.push(u8::try_from(label.len()).unwrap());
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// Answers one query: the question is echoed, answers point back at it (0xC00C).
fn answer(query: &[u8], zone: &Zone) -> Option<Vec<u8>> {
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([query[i], query[i + 1]]);
    let question_end = i + 4;
    let name = labels.join(".");
    let zone = zone.lock();
    let records = zone.get(&name);
    let answers: Vec<&Rec> = records
        .into_iter()
        .flatten()
        .filter(|r| r.qtype() == qtype)
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(&query[0..2]);
    let rcode: u16 = if records.is_none() { 3 } else { 0 };
    out.extend_from_slice(&(0x8180u16 | rcode).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::try_from(answers.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..question_end]);
    for r in answers {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&r.qtype().to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let mut rdata = Vec::new();
        match r {
            Rec::A(ip) => rdata.extend_from_slice(&ip.octets()),
            Rec::Aaaa(ip) => rdata.extend_from_slice(&ip.octets()),
            Rec::Srv { port, target } => {
                rdata.extend_from_slice(&[0, 10, 0, 5]);
                rdata.extend_from_slice(&port.to_be_bytes());
                encode_name(&mut rdata, target);
            }
            Rec::Mx { exchange } => {
                rdata.extend_from_slice(&10u16.to_be_bytes());
                encode_name(&mut rdata, exchange);
            }
        }
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

async fn start_dns(zone: Zone) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let h = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return;
            };
            if let Some(resp) = answer(&buf[..n], &zone) {
                let _ = sock.send_to(&resp, peer).await;
            }
        }
    });
    (addr, h)
}

async fn next(rx: &mut mpsc::Receiver<Vec<TargetGroup>>) -> Vec<TargetGroup> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("timed out")
        .expect("closed")
}

/// DNS SD of `names` with records of type `kind` (as written in `dns_sd_configs`), asking `ns`.
fn discovery(
    ns: SocketAddr,
    names: &[&str],
    kind: &str,
    port: u16,
) -> Result<DnsDiscovery, firewatch_discovery::DiscoveryError> {
    let cfg = config::DnsSdConfig {
        names: names.iter().map(|s| (*s).to_owned()).collect(),
        refresh_interval: config::Duration::from_millis(100),
        kind: kind.to_owned(),
        port,
    };
    Ok(DnsDiscovery::new(cfg)?.with_nameservers(vec![ns]))
}

#[tokio::test]
async fn srv_records_follow_the_zone() {
    let zone: Zone = Arc::default();
    zone.lock().insert(
        "_metrics._tcp.example.test".into(),
        vec![
            Rec::Srv {
                port: 9100,
                target: "node1.example.test",
            },
            Rec::Srv {
                port: 9200,
                target: "node2.example.test",
            },
        ],
    );
    let (ns, server) = start_dns(zone.clone()).await;
    let name = "_metrics._tcp.example.test";
    let d = discovery(ns, &[name, "missing.example.test"], "SRV", 0).unwrap();
    let (tx, mut rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));

    let groups = next(&mut rx).await;
    let g = groups
        .iter()
        .find(|g| g.source == name)
        .expect("group for the SRV name");
    let mut addrs = g.addresses();
    addrs.sort_unstable();
    assert_eq!(
        addrs,
        ["node1.example.test:9100", "node2.example.test:9200"]
    );
    let t = g
        .targets
        .iter()
        .find(|t| t["__address__"] == "node1.example.test:9100")
        .unwrap();
    assert_eq!(t["__meta_dns_name"], name);
    assert_eq!(t["__meta_dns_srv_record_target"], "node1.example.test.");
    assert_eq!(t["__meta_dns_srv_record_port"], "9100");
    assert_eq!(t["__meta_dns_mx_record_target"], "");
    let missing = groups
        .iter()
        .find(|g| g.source == "missing.example.test")
        .expect("NXDOMAIN group");
    assert!(
        missing.targets.is_empty(),
        "a name that does not exist has no targets"
    );

    // The zone changes: the next refreshes see it.
    zone.lock().insert(
        name.into(),
        vec![Rec::Srv {
            port: 1234,
            target: "node3.example.test",
        }],
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let groups = next(&mut rx).await;
        let g = groups.iter().find(|g| g.source == name).unwrap();
        if g.addresses() == ["node3.example.test:1234"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "zone change not seen"
        );
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
    server.abort();
}

#[tokio::test]
async fn a_aaaa_and_mx_records() {
    let zone: Zone = Arc::default();
    zone.lock().insert(
        "hosts.example.test".into(),
        vec![
            Rec::A(Ipv4Addr::new(10, 1, 2, 3)),
            Rec::A(Ipv4Addr::new(10, 1, 2, 4)),
            Rec::Aaaa("fd00::1".parse().unwrap()),
            Rec::Mx {
                exchange: "mail.example.test",
            },
        ],
    );
    let (ns, server) = start_dns(zone).await;
    let cases = [
        ("A", vec!["10.1.2.3:9100", "10.1.2.4:9100"]),
        ("AAAA", vec!["[fd00::1]:9100"]),
        ("mx", vec!["mail.example.test:9100"]),
    ];
    for (t, want) in cases {
        let mut d = discovery(ns, &["hosts.example.test"], t, 9100).unwrap();
        let groups = tokio::time::timeout(Duration::from_secs(5), d.lookup_all())
            .await
            .unwrap()
            .unwrap();
        let mut got = groups[0].addresses();
        got.sort_unstable();
        assert_eq!(got, want, "{t}");
        if t == "mx" {
            assert_eq!(
                groups[0].targets[0]["__meta_dns_mx_record_target"],
                "mail.example.test."
            );
        }
    }
    assert!(discovery(ns, &["x"], "A", 0).is_err(), "A needs a port");
    server.abort();
}
