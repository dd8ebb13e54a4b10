//! Network statistics from /proc/net/netstat, /proc/net/snmp and /proc/net/snmp6
//! (node_exporter's `collector/netstat_linux.go`), fields chosen by `--collector.netstat.fields`.

use std::collections::HashMap;
use std::path::Path;

use regex::Regex;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

const DEFAULT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";

/// One statistic: protocol, field name and value as written (`TcpExt`, `ListenDrops`, `3`).
type Stat<'t> = (&'t str, &'t str, &'t str);

/// The netstat collector.
pub struct Netstat {
    fields: Regex,
    /// Whether `fields` matches a `Proto_Field` key, remembered: the keys are the same at
    /// every scrape.
    matched: std::sync::Mutex<HashMap<String, bool, foldhash::fast::RandomState>>,
}

/// Builds the collector.
///
/// # Errors
/// A bad `--collector.netstat.fields` pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Netstat {
        fields: opts.pattern("collector.netstat.fields", DEFAULT_FIELDS)?,
        matched: std::sync::Mutex::default(),
    }))
}

/// Pairs of header and value lines (`TcpExt: A B` / `TcpExt: 1 2`), appended to `stats`; a
/// protocol met again replaces what its earlier lines gave (node_exporter keeps a map of them).
fn parse_pairs<'t>(
    path: &Path,
    text: &'t str,
    stats: &mut Vec<Stat<'t>>,
) -> Result<(), CollectorError> {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next().unwrap_or("");
        let (mut names, mut values) = (names.split(' '), values.split(' '));
        let head = names.next().unwrap_or("");
        let protocol = head.strip_suffix(':').unwrap_or(head);
        let _ = values.next();
        if names.clone().count() != values.clone().count() {
            return Err(CollectorError::parse(
                path,
                format!("field count mismatch for {protocol}"),
            ));
        }
        stats.retain(|s| s.0 != protocol);
        stats.extend(names.zip(values).map(|(n, v)| (protocol, n, v)));
    }
    Ok(())
}

/// `/proc/net/snmp6`'s `Ip6InReceives 12` lines, split after the protocol's `6`.
fn parse_snmp6(text: &str) -> Vec<Stat<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (key, value) = (f.next()?, f.next()?);
            let i = key.find('6')?;
            Some((&key[..=i], &key[i + 1..], value))
        })
        .collect()
}

impl Collector for Netstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let netstat_path = paths.proc("net/netstat");
        let netstat = read(&netstat_path)?;
        let snmp_path = paths.proc("net/snmp");
        let snmp = read(&snmp_path)?;
        let path6 = paths.proc("net/snmp6");
        let snmp6 = match super::util::read_string(&path6) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CollectorError::io(&path6, e)),
        };
        let mut stats = Vec::with_capacity(512);
        parse_pairs(&netstat_path, &netstat, &mut stats)?;
        parse_pairs(&snmp_path, &snmp, &mut stats)?;
        if let Some(text) = &snmp6 {
            let six = parse_snmp6(text);
            stats.retain(|s| !six.iter().any(|t| t.0 == s.0));
            stats.extend(six);
        }
        let mut matched = self
            .matched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut key = String::with_capacity(64);
        // Last first: of a field written twice the later value is kept (the scrape keeps the
        // first sample of a series), as node_exporter's map keeps the later one.
        for &(proto, name, value) in stats.iter().rev() {
            let v: f64 = value.parse().map_err(|_| {
                CollectorError::parse(&netstat_path, format!("invalid value {value} in netstats"))
            })?;
            key.clear();
            key.push_str(proto);
            key.push('_');
            key.push_str(name);
            let is_match = match matched.get(key.as_str()) {
                Some(&m) => m,
                None => {
                    let m = self.fields.is_match(&key);
                    matched.insert(key.clone(), m);
                    m
                }
            };
            if !is_match {
                continue;
            }
            out.untyped(
                &format!("node_netstat_{key}"),
                &format!("Statistic {proto}{name}."),
                &[],
                v,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_met_again_replaces_its_earlier_fields() {
        let path = Path::new("netstat");
        let mut stats = Vec::new();
        parse_pairs(path, "Tcp: A B\nTcp: 1 2\nUdp: C\nUdp: 3\n", &mut stats).unwrap();
        parse_pairs(path, "Tcp: D\nTcp: 4\n", &mut stats).unwrap();
        assert_eq!(stats, [("Udp", "C", "3"), ("Tcp", "D", "4")]);
        assert!(parse_pairs(path, "Ip: A B\nIp: 1\n", &mut stats).is_err());
    }

    #[test]
    fn snmp6_lines_split_after_the_protocol_six() {
        let six = parse_snmp6("Ip6InReceives 12\nUdpLite6InErrors 0\nbad\nNoDigitHere 1\n");
        assert_eq!(
            six,
            [("Ip6", "InReceives", "12"), ("UdpLite6", "InErrors", "0")]
        );
    }
}
