//! Network statistics from /proc/net/netstat, /proc/net/snmp and /proc/net/snmp6
//! (node_exporter's `collector/netstat_linux.go`), fields chosen by `--collector.netstat.fields`.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

const DEFAULT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";

type Stats = BTreeMap<String, BTreeMap<String, String>>;

/// The netstat collector.
pub struct Netstat {
    fields: Regex,
    /// Whether `fields` matches a `Proto_Field` key, remembered: the keys are the same at
    /// every scrape.
    matched: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

/// Builds the collector.
///
/// # Errors
/// A bad `--collector.netstat.fields` pattern.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    let p = opts.string("collector.netstat.fields", DEFAULT_FIELDS);
    Ok(Box::new(Netstat {
        fields: Regex::new(&p)
            .map_err(|e| crate::Error::Flag(format!("--collector.netstat.fields: {e}")))?,
        matched: std::sync::Mutex::default(),
    }))
}

/// Pairs of header and value lines (`TcpExt: A B` / `TcpExt: 1 2`).
fn parse_pairs(path: &Path, text: &str, stats: &mut Stats) -> Result<(), CollectorError> {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next().unwrap_or("");
        let names: Vec<&str> = names.split(' ').collect();
        let values: Vec<&str> = values.split(' ').collect();
        let protocol = names[0].strip_suffix(':').unwrap_or(names[0]).to_owned();
        if names.len() != values.len() {
            return Err(CollectorError::parse(
                path,
                format!("field count mismatch for {protocol}"),
            ));
        }
        let m = stats.entry(protocol).or_default();
        m.clear();
        for (n, v) in names.iter().zip(&values).skip(1) {
            m.insert((*n).to_owned(), (*v).to_owned());
        }
    }
    Ok(())
}

impl Collector for Netstat {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut stats = Stats::new();
        for file in ["net/netstat", "net/snmp"] {
            let path = paths.proc(file);
            parse_pairs(&path, &read(&path)?, &mut stats)?;
        }
        let path6 = paths.proc("net/snmp6");
        match super::util::read_string(&path6) {
            Ok(text) => {
                let mut six = Stats::new();
                for line in text.lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() < 2 {
                        continue;
                    }
                    if let Some(i) = f[0].find('6') {
                        six.entry(f[0][..=i].to_owned())
                            .or_default()
                            .insert(f[0][i + 1..].to_owned(), f[1].to_owned());
                    }
                }
                stats.extend(six);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CollectorError::io(&path6, e)),
        }
        let mut matched = self
            .matched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (proto, m) in &stats {
            for (name, value) in m {
                let key = format!("{proto}_{name}");
                let v: f64 = value.parse().map_err(|_| {
                    CollectorError::parse(
                        &paths.proc("net/netstat"),
                        format!("invalid value {value} in netstats"),
                    )
                })?;
                let is_match = match matched.get(&key) {
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
        }
        Ok(())
    }
}
