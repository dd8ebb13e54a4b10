//! IPVS statistics from /proc/net/ip_vs_stats and /proc/net/ip_vs (node_exporter's
//! `collector/ipvs_linux.go`, parsed as procfs's `ipvs.go`), backends summed over the labels
//! chosen by `--collector.ipvs.backend-labels`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

const ALL_LABELS: &[&str] = &[
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
];

/// The ipvs collector.
pub struct Ipvs {
    labels: Vec<String>,
}

/// Builds the collector from `--collector.ipvs.backend-labels`.
///
/// # Errors
/// An unknown label name.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let spec = opts.string("collector.ipvs.backend-labels", &ALL_LABELS.join(","));
    let mut labels: Vec<String> = Vec::new();
    for l in spec.split(',').filter(|l| !l.is_empty()) {
        if !ALL_LABELS.contains(&l) {
            return Err(crate::Error::Flag(format!(
                "unknown IPVS backend labels: {l:?}"
            )));
        }
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_owned());
        }
    }
    Ok(Box::new(Ipvs { labels }))
}

fn ip_port(path: &Path, s: &str) -> Result<(String, u16), CollectorError> {
    let bad = || CollectorError::parse(path, format!("unexpected IP:Port {s}"));
    let ip = match s.len() {
        13 => {
            let v = u32::from_str_radix(&s[..8], 16).map_err(|_| bad())?;
            IpAddr::V4(Ipv4Addr::from(v)).to_string()
        }
        46 => s[1..40].parse::<Ipv6Addr>().map_err(|_| bad())?.to_string(),
        _ => return Err(bad()),
    };
    let port = u16::from_str_radix(&s[s.len() - 4..], 16).map_err(|_| bad())?;
    Ok((ip, port))
}

impl Collector for Ipvs {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let spath = paths.proc("net/ip_vs_stats");
        let stats = match super::util::read_string(&spath) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CollectorError::NoData(
                    "ipvs collector metrics are not available for this system".into(),
                ));
            }
            Err(e) => return Err(CollectorError::io(&spath, e)),
        };
        let line = stats
            .lines()
            .nth(2)
            .ok_or_else(|| CollectorError::parse(&spath, "too few lines"))?;
        let f: Vec<u64> = line
            .split_whitespace()
            .map(|v| u64::from_str_radix(v, 16))
            .collect::<Result<_, _>>()
            .map_err(|_| CollectorError::parse(&spath, format!("invalid line {line:?}")))?;
        if f.len() != 5 {
            return Err(CollectorError::parse(
                &spath,
                format!("unexpected number of fields in {line:?}"),
            ));
        }
        out.counter(
            "node_ipvs_connections_total",
            "The total number of connections made.",
            &[],
            f[0] as f64,
        );
        out.counter(
            "node_ipvs_incoming_packets_total",
            "The total number of incoming packets.",
            &[],
            f[1] as f64,
        );
        out.counter(
            "node_ipvs_outgoing_packets_total",
            "The total number of outgoing packets.",
            &[],
            f[2] as f64,
        );
        out.counter(
            "node_ipvs_incoming_bytes_total",
            "The total amount of incoming data.",
            &[],
            f[3] as f64,
        );
        out.counter(
            "node_ipvs_outgoing_bytes_total",
            "The total amount of outgoing data.",
            &[],
            f[4] as f64,
        );

        let bpath = paths.proc("net/ip_vs");
        let text = read(&bpath)?;
        let (mut proto, mut mark, mut laddr, mut lport) =
            (String::new(), String::new(), String::new(), 0u16);
        let mut sums: BTreeMap<Vec<String>, [u64; 3]> = BTreeMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.is_empty()
                || f[0] == "IP"
                || f[0] == "Prot"
                || f.get(1) == Some(&"RemoteAddress:Port")
            {
                continue;
            }
            match f[0] {
                "TCP" | "UDP" if f.len() >= 2 => {
                    proto = f[0].to_owned();
                    mark.clear();
                    (laddr, lport) = ip_port(&bpath, f[1])?;
                }
                "FWM" if f.len() >= 2 => {
                    proto = "FWM".into();
                    mark = f[1].to_owned();
                    laddr.clear();
                    lport = 0;
                }
                "->" if f.len() >= 6 => {
                    let (raddr, rport) = ip_port(&bpath, f[1])?;
                    let n = |i: usize| {
                        f[i].parse::<u64>().map_err(|_| {
                            CollectorError::parse(&bpath, format!("invalid number {:?}", f[i]))
                        })
                    };
                    let (weight, active, inact) = (n(3)?, n(4)?, n(5)?);
                    let key: Vec<String> = self
                        .labels
                        .iter()
                        .map(|l| match l.as_str() {
                            "local_address" => laddr.clone(),
                            "local_port" => lport.to_string(),
                            "remote_address" => raddr.clone(),
                            "remote_port" => rport.to_string(),
                            "proto" => proto.clone(),
                            _ => mark.clone(),
                        })
                        .collect();
                    let s = sums.entry(key).or_default();
                    s[0] += active;
                    s[1] += inact;
                    s[2] += weight;
                }
                _ => {}
            }
        }
        for (key, s) in sums {
            let l: Vec<(&str, &str)> = self
                .labels
                .iter()
                .map(String::as_str)
                .zip(key.iter().map(String::as_str))
                .collect();
            out.gauge(
                "node_ipvs_backend_connections_active",
                "The current active connections by local and remote address.",
                &l,
                s[0] as f64,
            );
            out.gauge(
                "node_ipvs_backend_connections_inactive",
                "The current inactive connections by local and remote address.",
                &l,
                s[1] as f64,
            );
            out.gauge(
                "node_ipvs_backend_weight",
                "The current backend weight by local and remote address.",
                &l,
                s[2] as f64,
            );
        }
        Ok(())
    }
}
