//! TCP connections by state and their queued bytes, from the kernel's sock_diag netlink dump
//! for IPv4 and (where /proc/net/tcp6 exists) IPv6 (node_exporter's `tcpstat_linux.go`).

use std::collections::BTreeMap;

use super::netlink::{self, Family, u32_at};
use super::{Collector, CollectorError, Out, unit_collector};
use crate::options::{Options, Paths};

/// `SOCK_DIAG_BY_FAMILY`.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `IPPROTO_TCP`.
const IPPROTO_TCP: u8 = 6;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The label of a state number (`TCP_*` in the kernel), and the two queue pseudo-states.
#[must_use]
pub fn state_name(state: u8) -> &'static str {
    match state {
        1 => "established",
        2 => "syn_sent",
        3 => "syn_recv",
        4 => "fin_wait1",
        5 => "fin_wait2",
        6 => "time_wait",
        7 => "close",
        8 => "close_wait",
        9 => "last_ack",
        10 => "listen",
        11 => "closing",
        12 => "rx_queued_bytes",
        13 => "tx_queued_bytes",
        _ => "unknown",
    }
}

unit_collector!(Tcpstat, "TCP connection states over sock_diag netlink.");

/// Counts per state (keys as in [`state_name`], 12 and 13 the queue byte sums) of one family.
///
/// # Errors
/// The netlink request fails.
pub fn tcp_stats(family: u8) -> std::io::Result<BTreeMap<u8, f64>> {
    let mut req = [0u8; 56];
    req[0] = family;
    req[1] = IPPROTO_TCP;
    req[2] = 1 << 1; // INET_DIAG_INFO
    req[4..8].copy_from_slice(&0xfffu32.to_ne_bytes());
    let msgs = netlink::dump(Family::SockDiag, SOCK_DIAG_BY_FAMILY, &req)?;
    Ok(count(&msgs))
}

/// Sums `inet_diag_msg` replies by state.
#[must_use]
pub fn count(msgs: &[netlink::Message]) -> BTreeMap<u8, f64> {
    let mut stats = BTreeMap::new();
    for m in msgs {
        if m.data.len() < 64 {
            continue;
        }
        *stats.entry(13).or_insert(0.0) += f64::from(u32_at(&m.data, 60));
        *stats.entry(12).or_insert(0.0) += f64::from(u32_at(&m.data, 56));
        *stats.entry(m.data[1]).or_insert(0.0) += 1.0;
    }
    stats
}

impl Collector for Tcpstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut stats = tcp_stats(AF_INET)
            .map_err(|e| CollectorError::Other(format!("couldn't get tcpstats: {e}")))?;
        if paths.proc("net/tcp6").exists() {
            let six = tcp_stats(AF_INET6)
                .map_err(|e| CollectorError::Other(format!("couldn't get tcp6stats: {e}")))?;
            for (k, v) in six {
                *stats.entry(k).or_insert(0.0) += v;
            }
        }
        for (state, v) in stats {
            out.gauge(
                "node_tcp_connection_states",
                "Number of connection states.",
                &[("state", state_name(state))],
                v,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(state: u8, rq: u32, wq: u32) -> netlink::Message {
        let mut data = vec![0u8; 72];
        data[0] = AF_INET;
        data[1] = state;
        data[56..60].copy_from_slice(&rq.to_ne_bytes());
        data[60..64].copy_from_slice(&wq.to_ne_bytes());
        netlink::Message { kind: 20, data }
    }

    #[test]
    fn counts_states_and_sums_queues() {
        let s = count(&[msg(1, 5, 7), msg(1, 0, 1), msg(10, 0, 128), msg(42, 0, 0)]);
        let named: Vec<(&str, f64)> = s.iter().map(|(k, v)| (state_name(*k), *v)).collect();
        assert_eq!(
            named,
            [
                ("established", 2.0),
                ("listen", 1.0),
                ("rx_queued_bytes", 5.0),
                ("tx_queued_bytes", 136.0),
                ("unknown", 1.0),
            ]
        );
    }

    /// The live dump agrees with /proc/net/tcp on the sockets this test opens.
    #[test]
    fn live_dump_sees_a_listener_and_its_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let _c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_s, _) = l.accept().unwrap();
        let from_proc = |st: &str| {
            std::fs::read_to_string("/proc/net/tcp")
                .unwrap()
                .lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some(st))
                .count()
        };
        // Other tests open sockets too: retry until two readings agree.
        let mut last = None;
        for _ in 0..20 {
            let before = (from_proc("01"), from_proc("0A"));
            let s = tcp_stats(AF_INET).unwrap();
            let after = (from_proc("01"), from_proc("0A"));
            #[allow(clippy::cast_precision_loss)]
            let ours = (
                s.get(&1).copied().unwrap_or(0.0) as usize,
                s.get(&10).copied().unwrap_or(0.0) as usize,
            );
            if before == after && ours == before {
                assert!(ours.0 >= 2 && ours.1 >= 1, "{ours:?}");
                return;
            }
            last = Some((before, ours, after));
        }
        panic!("sock_diag and /proc/net/tcp never agreed: {last:?}");
    }
}
