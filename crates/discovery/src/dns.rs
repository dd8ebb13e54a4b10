//! DNS-based discovery (`dns_sd_configs`): A, AAAA, SRV, MX and NS lookups, refreshed
//! periodically.
//!
//! Each name is one group whose source is the name. Targets carry `__meta_dns_name` and the
//! record labels Prometheus sets (`__meta_dns_srv_record_target` / `_port`,
//! `__meta_dns_mx_record_target`, `__meta_dns_ns_record_target`; empty when not applicable).
//! SRV targets use the record's port; other types use the configured port. A name that does
//! not exist yields an empty group; a failed lookup keeps the name's previous group.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use config::DnsSdConfig;

use crate::discoverer::Discoverer;
use crate::error::DiscoveryError;
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup};

/// `__meta_dns_name`: the name that was looked up.
pub const NAME_LABEL: &str = "__meta_dns_name";
/// `__meta_dns_srv_record_target`: an SRV record's target, as returned (with final dot).
pub const SRV_TARGET_LABEL: &str = "__meta_dns_srv_record_target";
/// `__meta_dns_srv_record_port`: an SRV record's port.
pub const SRV_PORT_LABEL: &str = "__meta_dns_srv_record_port";
/// `__meta_dns_mx_record_target`: an MX record's exchange host.
pub const MX_TARGET_LABEL: &str = "__meta_dns_mx_record_target";
/// `__meta_dns_ns_record_target`: an NS record's name server.
pub const NS_TARGET_LABEL: &str = "__meta_dns_ns_record_target";

/// The record type to query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsRecordType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Service records (the default): host and port.
    #[default]
    Srv,
    /// Mail exchangers.
    Mx,
    /// Name servers.
    Ns,
}

impl DnsRecordType {
    /// Parses `A`, `AAAA`, `SRV`, `MX` or `NS` (any case).
    ///
    /// # Errors
    /// For other types, with Prometheus's message.
    pub fn parse(s: &str) -> Result<Self, DiscoveryError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "A" => Self::A,
            "AAAA" => Self::Aaaa,
            "SRV" => Self::Srv,
            "MX" => Self::Mx,
            "NS" => Self::Ns,
            _ => {
                return Err(DiscoveryError::Config {
                    mechanism: "dns",
                    message: format!("invalid DNS-SD records type {s}"),
                });
            }
        })
    }

    fn record_type(self) -> RecordType {
        match self {
            Self::A => RecordType::A,
            Self::Aaaa => RecordType::AAAA,
            Self::Srv => RecordType::SRV,
            Self::Mx => RecordType::MX,
            Self::Ns => RecordType::NS,
        }
    }
}

/// Discovers targets through DNS lookups.
pub struct DnsDiscovery {
    options: DnsSdConfig,
    record_type: DnsRecordType,
    /// Name servers to ask instead of those of `/etc/resolv.conf` (not a Prometheus setting:
    /// for embedding and tests).
    nameservers: Vec<SocketAddr>,
    resolver: Option<TokioResolver>,
}

impl std::fmt::Debug for DnsDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsDiscovery")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DnsDiscovery {
    /// Validates the section (the `config` crate's checks). The resolver is built when
    /// discovery starts.
    ///
    /// # Errors
    /// With Prometheus's messages: no names, an unknown record type, or no port for a type
    /// other than SRV.
    pub fn new(options: DnsSdConfig) -> Result<Self, DiscoveryError> {
        options
            .validate()
            .map_err(|e| DiscoveryError::config("dns", e))?;
        Ok(Self {
            record_type: DnsRecordType::parse(&options.kind)?,
            options,
            nameservers: Vec::new(),
            resolver: None,
        })
    }

    /// Asks `nameservers` instead of those of `/etc/resolv.conf`.
    #[must_use]
    pub fn with_nameservers(mut self, nameservers: Vec<SocketAddr>) -> Self {
        self.nameservers = nameservers;
        self
    }

    fn build_resolver(&self) -> Result<TokioResolver, DiscoveryError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if self.nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(|e| DiscoveryError::Config {
                mechanism: "dns",
                message: format!("could not load resolv.conf: {e}"),
            })?
        } else {
            let servers = self
                .nameservers
                .iter()
                .map(|sa| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = sa.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = sa.port();
                    NameServerConfig::new(sa.ip(), true, vec![udp, tcp])
                })
                .collect();
            let cfg = ResolverConfig::from_parts(None, Vec::new(), servers);
            TokioResolver::builder_with_config(cfg, provider)
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        // Discovery wants fresh answers every refresh, as Prometheus (no cache) gets them.
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        if !self.nameservers.is_empty() {
            opts.timeout = Duration::from_secs(2);
            opts.attempts = 1;
        }
        builder.build().map_err(|e| DiscoveryError::Config {
            mechanism: "dns",
            message: e.to_string(),
        })
    }

    /// Looks every name up once.
    ///
    /// # Errors
    /// Only when the resolver cannot be set up; per-name failures are logged and skipped.
    pub async fn lookup_all(&mut self) -> Result<Vec<TargetGroup>, DiscoveryError> {
        if self.resolver.is_none() {
            self.resolver = Some(self.build_resolver()?);
        }
        let resolver = self.resolver.as_ref().expect("resolver just built");
        let lookups = self
            .options
            .names
            .iter()
            .map(|name| lookup_one(resolver, self.record_type, self.options.port, name));
        let results = futures::future::join_all(lookups).await;
        let mut out = Vec::new();
        for r in results {
            match r {
                Ok(g) => out.push(g),
                Err(err) => tracing::error!(%err, "Error refreshing DNS targets"),
            }
        }
        Ok(out)
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn lookup_one(
    resolver: &TokioResolver,
    record_type: DnsRecordType,
    port: u16,
    name: &str,
) -> Result<TargetGroup, DiscoveryError> {
    let mut group = TargetGroup::empty(name);
    crate::metrics::SD.dns_lookups.inc();
    let lookup = match resolver.lookup(name, record_type.record_type()).await {
        Ok(l) => l,
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(group),
        Err(e) => {
            crate::metrics::SD.dns_lookup_failures.inc();
            return Err(DiscoveryError::Dns {
                name: name.to_owned(),
                message: e.to_string(),
            });
        }
    };
    for record in lookup.answers() {
        let (mut srv_target, mut srv_port, mut mx_target, mut ns_target) =
            (String::new(), String::new(), String::new(), String::new());
        let address = match &record.data {
            RData::SRV(srv) => {
                srv_target = srv.target.to_string();
                srv_port = srv.port.to_string();
                host_port(srv_target.trim_end_matches('.'), srv.port)
            }
            RData::MX(mx) => {
                mx_target = mx.exchange.to_string();
                host_port(mx_target.trim_end_matches('.'), port)
            }
            RData::NS(ns) => {
                ns_target = ns.0.to_string();
                host_port(ns_target.trim_end_matches('.'), port)
            }
            RData::A(a) => host_port(&IpAddr::V4(a.0).to_string(), port),
            RData::AAAA(a) => host_port(&IpAddr::V6(a.0).to_string(), port),
            RData::CNAME(_) => continue,
            other => {
                tracing::warn!(record = ?other, "Invalid record");
                continue;
            }
        };
        group.targets.push(LabelSet::from([
            (ADDRESS_LABEL.to_owned(), address),
            (NAME_LABEL.to_owned(), name.to_owned()),
            (SRV_TARGET_LABEL.to_owned(), srv_target),
            (SRV_PORT_LABEL.to_owned(), srv_port),
            (MX_TARGET_LABEL.to_owned(), mx_target),
            (NS_TARGET_LABEL.to_owned(), ns_target),
        ]));
    }
    Ok(group)
}

impl crate::refresh::Refresh for DnsDiscovery {
    async fn refresh(&mut self) -> Result<Vec<TargetGroup>, DiscoveryError> {
        self.lookup_all().await
    }
}

impl Discoverer for DnsDiscovery {
    async fn run(self, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
        let interval = self.options.refresh_interval.to_std();
        crate::refresh::run("dns", interval, tx, cancel, self).await;
    }
}
