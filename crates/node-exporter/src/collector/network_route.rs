//! The kernel's unicast routes over rtnetlink, one info series per route (and per next hop of
//! a multipath route) and a count per device (node_exporter's `network_route_linux.go`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::{self, Family, attributes, u32_at};
use super::{Collector, CollectorError, Out, unit_collector};
use crate::options::{Options, Paths};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const IFLA_IFNAME: u16 = 3;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
/// `RTN_UNICAST` (node_exporter compares with `RTA_DST`, the same number).
const RTN_UNICAST: u8 = 1;

unit_collector!(NetworkRoute, "Routes from rtnetlink.");

/// One series of `node_network_route_info`: its labels in node_exporter's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteInfo {
    /// Output device.
    pub device: String,
    /// Preferred source address.
    pub src: String,
    /// Destination with prefix length, or `default`.
    pub dest: String,
    /// Gateway.
    pub gw: String,
    /// Route metric.
    pub priority: String,
    /// Who installed the route (`kernel`, `boot`, `static`, `dhcp`...).
    pub proto: String,
    /// Next hop weight (multipath only).
    pub weight: String,
}

/// rtnetlink's protocol numbers as node_exporter names them.
#[must_use]
pub fn protocol_name(p: u8) -> &'static str {
    match p {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        17 => "mrouted",
        42 => "babel",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        _ => "unknown",
    }
}

/// An address attribute as Go's `net.IP.String` prints it (IPv4-mapped IPv6 as IPv4).
fn ip(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let a: [u8; 16] = b.try_into().ok()?;
            let v6 = Ipv6Addr::from(a);
            Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
        }
        _ => None,
    }
}

fn ip_string(b: Option<&[u8]>) -> String {
    b.and_then(ip).map(|a| a.to_string()).unwrap_or_default()
}

fn dest_string(b: Option<&[u8]>, len: u8) -> String {
    if len == 0 {
        return "default".into();
    }
    // An absent address is Go's nil IP, printed "<nil>".
    match b.and_then(ip) {
        Some(a) => format!("{a}/{len}"),
        None => format!("<nil>/{len}"),
    }
}

/// Interface names by index from an `RTM_NEWLINK` dump.
#[must_use]
pub fn link_names(msgs: &[netlink::Message]) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    for msg in msgs
        .iter()
        .filter(|m| m.kind == RTM_NEWLINK && m.data.len() >= 16)
    {
        let index = u32_at(&msg.data, 4);
        for (kind, v) in attributes(&msg.data[16..]) {
            if kind == IFLA_IFNAME {
                let name = v.split(|&b| b == 0).next().unwrap_or_default();
                m.insert(index, String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    m
}

/// The info series of an `RTM_NEWROUTE` dump.
#[must_use]
pub fn routes(msgs: &[netlink::Message], links: &HashMap<u32, String>) -> Vec<RouteInfo> {
    let name = |i: u32| links.get(&i).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for msg in msgs
        .iter()
        .filter(|m| m.kind == RTM_NEWROUTE && m.data.len() >= 12)
    {
        let d = &msg.data;
        if d[7] != RTN_UNICAST {
            continue;
        }
        let attrs = attributes(&d[12..]);
        let get = |k: u16| attrs.iter().find(|a| a.0 == k).map(|a| a.1);
        let src = ip_string(get(RTA_PREFSRC));
        let dest = dest_string(get(RTA_DST), d[1]);
        let priority = get(RTA_PRIORITY).map_or(0, |v| u32_at(v, 0)).to_string();
        let proto = protocol_name(d[5]).to_owned();
        match get(RTA_MULTIPATH) {
            Some(mut hops) if !hops.is_empty() => {
                // rtnexthop: len u16, flags u8, hops u8, ifindex i32, then attributes.
                while hops.len() >= 8 {
                    let len = usize::from(u16::from_ne_bytes([hops[0], hops[1]]));
                    if len < 8 || len > hops.len() {
                        break;
                    }
                    let hop_attrs = attributes(&hops[8..len]);
                    let gw = hop_attrs.iter().find(|a| a.0 == RTA_GATEWAY).map(|a| a.1);
                    out.push(RouteInfo {
                        device: name(u32_at(hops, 4)),
                        src: src.clone(),
                        dest: dest.clone(),
                        gw: ip_string(gw),
                        priority: priority.clone(),
                        proto: proto.clone(),
                        weight: (u32::from(hops[3]) + 1).to_string(),
                    });
                    hops = &hops[netlink::align(len).min(hops.len())..];
                }
            }
            _ => out.push(RouteInfo {
                device: name(get(RTA_OIF).map_or(0, |v| u32_at(v, 0))),
                src,
                dest,
                gw: ip_string(get(RTA_GATEWAY)),
                priority,
                proto,
                weight: String::new(),
            }),
        }
    }
    out
}

impl Collector for NetworkRoute {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let err = |what: &str, e: std::io::Error| CollectorError::Other(format!("{what}: {e}"));
        let links = netlink::dump(Family::Route, RTM_GETLINK, &[0u8; 16])
            .map_err(|e| err("couldn't get links", e))?;
        let msgs = netlink::dump(Family::Route, RTM_GETROUTE, &[0u8; 12])
            .map_err(|e| err("couldn't get routes", e))?;
        let mut per_device: BTreeMap<String, f64> = BTreeMap::new();
        for r in routes(&msgs, &link_names(&links)) {
            *per_device.entry(r.device.clone()).or_insert(0.0) += 1.0;
            out.gauge(
                "node_network_route_info",
                "network routing table information",
                &[
                    ("device", &r.device),
                    ("src", &r.src),
                    ("dest", &r.dest),
                    ("gw", &r.gw),
                    ("priority", &r.priority),
                    ("proto", &r.proto),
                    ("weight", &r.weight),
                ],
                1.0,
            );
        }
        for (dev, n) in per_device {
            out.gauge(
                "node_network_routes",
                "network routes by interface",
                &[("device", &dev)],
                n,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&u16::try_from(4 + v.len()).unwrap().to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(v);
        a.resize(netlink::align(a.len()), 0);
        a
    }

    fn route(dst_len: u8, proto: u8, kind: u8, attrs: &[Vec<u8>]) -> netlink::Message {
        let mut data = vec![2, dst_len, 0, 0, 254, proto, 0, kind, 0, 0, 0, 0];
        for a in attrs {
            data.extend_from_slice(a);
        }
        netlink::Message {
            kind: RTM_NEWROUTE,
            data,
        }
    }

    #[test]
    fn decodes_plain_multipath_and_skips_non_unicast_routes() {
        let links: HashMap<u32, String> = [(2, "eth0".to_owned()), (3, "eth1".to_owned())].into();
        let hop = |ifindex: u32, hops: u8, gw: [u8; 4]| {
            let a = attr(RTA_GATEWAY, &gw);
            let mut h = Vec::new();
            h.extend_from_slice(&u16::try_from(8 + a.len()).unwrap().to_ne_bytes());
            h.push(0);
            h.push(hops);
            h.extend_from_slice(&ifindex.to_ne_bytes());
            h.extend_from_slice(&a);
            h
        };
        let multipath = [hop(2, 0, [10, 0, 0, 1]), hop(3, 4, [10, 0, 1, 1])].concat();
        let msgs = [
            route(
                24,
                2,
                RTN_UNICAST,
                &[
                    attr(RTA_DST, &[192, 0, 2, 0]),
                    attr(RTA_PREFSRC, &[192, 0, 2, 2]),
                    attr(RTA_OIF, &2u32.to_ne_bytes()),
                ],
            ),
            route(
                0,
                16,
                RTN_UNICAST,
                &[
                    attr(RTA_PRIORITY, &100u32.to_ne_bytes()),
                    attr(RTA_MULTIPATH, &multipath),
                ],
            ),
            route(32, 2, 2, &[attr(RTA_DST, &[127, 0, 0, 1])]), // RTN_LOCAL
        ];
        let got = routes(&msgs, &links);
        let s = |v: &str| v.to_owned();
        assert_eq!(
            got,
            [
                RouteInfo {
                    device: s("eth0"),
                    src: s("192.0.2.2"),
                    dest: s("192.0.2.0/24"),
                    gw: s(""),
                    priority: s("0"),
                    proto: s("kernel"),
                    weight: s(""),
                },
                RouteInfo {
                    device: s("eth0"),
                    src: s(""),
                    dest: s("default"),
                    gw: s("10.0.0.1"),
                    priority: s("100"),
                    proto: s("dhcp"),
                    weight: s("1"),
                },
                RouteInfo {
                    device: s("eth1"),
                    src: s(""),
                    dest: s("default"),
                    gw: s("10.0.1.1"),
                    priority: s("100"),
                    proto: s("dhcp"),
                    weight: s("5"),
                },
            ]
        );
    }

    /// The live dump names every device that has a route in /proc/net/route.
    #[test]
    fn live_routes_cover_proc_net_route() {
        let mut out = Out::default();
        NetworkRoute
            .update(&Options::default().paths(), &mut out)
            .unwrap();
        let fams = out.into_families();
        let devices: std::collections::BTreeSet<String> = fams
            .iter()
            .filter(|f| f.name == "node_network_routes")
            .flat_map(|f| f.samples.iter())
            .filter_map(|s| s.labels.get("device").map(str::to_owned))
            .collect();
        let text = std::fs::read_to_string("/proc/net/route").unwrap();
        for line in text.lines().skip(1) {
            let dev = line.split_whitespace().next().unwrap();
            assert!(devices.contains(dev), "{dev} missing from {devices:?}");
        }
    }
}
