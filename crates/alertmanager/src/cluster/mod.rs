//! High availability: peers form a cluster by gossip, replicate their silences and
//! notification log, and each peer's position among the live members delays its
//! notifications (mirrors Alertmanager's `cluster/cluster.go`, `cluster/delegate.go` and
//! `clusterWait` in `cmd/alertmanager/main.go`).
//!
//! # Design: chitchat (scuttlebutt gossip) in place of memberlist
//!
//! Membership, failure detection and state spread come from the `chitchat` crate: every
//! gossip interval each peer exchanges digests and deltas over UDP with up to three live
//! members (plus, now and then, a seed and a member held dead), so a peer started with one
//! `--cluster.peer` learns every member through that one, and a member that stops sending
//! heartbeats is held dead by a phi-accrual detector after about five
//! `--cluster.probe-interval`s (or eight gossip intervals when longer); a peer that stops gracefully sets a `left` key first, and
//! the members drop it at the next exchange (memberlist's leave). Members are named by their
//! advertised address; a restarted peer keeps its name and comes back with a newer
//! generation (the newest generation of a name is the member).
//!
//! Replicated state ([`Replicated`]: silences, notification log) is published item by item
//! under each peer's own gossip keys (`sil:<id>`, `nfl:<receiver>:<group key>`): every gossip
//! interval a peer whose state changed puts the changed items (and tombstones for collected
//! ones) in its key space and gossips at once with the live members; chitchat sends every
//! member the keys it has not seen yet (deltas), a peer that joins late gets every key of
//! every member. Received items are merged into the local stores, newest update wins (merges
//! are idempotent and commutative), and since every peer republishes what it merged, the
//! state survives any member. Every `--cluster.pushpull-interval` each peer also merges every
//! member's items again (a full-state reconciliation, as memberlist's push-pull).
//!
//! Flags map as follows: `--cluster.listen-address` (the UDP address; empty: no cluster),
//! `--cluster.advertise-address` (the name and gossip address; default the listen address,
//! a host name's address when unspecified), `--cluster.peer` (seeds, names re-resolved by
//! chitchat), `--cluster.gossip-interval` (chitchat's gossip interval and the publication of
//! local changes), `--cluster.pushpull-interval` (the reconciliation above),
//! `--cluster.reconnect-timeout` (how long a dead member is remembered and gossiped to now
//! and then), `--cluster.probe-interval` (failure detection after about five of them),
//! `--cluster.label` (part of chitchat's cluster id: peers with another label are refused),
//! `--cluster.peer-timeout` (the wait per position), `--cluster.settle-timeout`; memberlist's
//! `--cluster.probe-timeout`, `--cluster.tcp-timeout`, `--cluster.reconnect-interval` and
//! `--cluster.allow-insecure-public-advertise-address-discovery` are accepted and have no
//! counterpart; `--cluster.tls-config` is refused (the gossip is plain UDP).
//!
//! Costs and limits: every member holds every member's copy of the items (memory and a
//! late joiner's transfer grow with members × state; only changes travel afterwards); an item
//! above [`MAX_ITEM_BYTES`] is not gossiped (counted in
//! `alertmanager_oversized_gossip_message_dropped_total`); the message metrics count
//! chitchat's datagrams under `msg_type="update"`; the start waits for the member count to
//! settle (polled every ten gossip intervals, Alertmanager's `Settle`).
//!
//! Not wire-compatible with Alertmanager's memberlist cluster: a Firewatch peer cannot join
//! an Alertmanager cluster, and it needs UDP only (no TCP stream on the cluster port).

mod metrics;
mod replicated;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chitchat::{
    Chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, NodeState,
    ProtocolVersion,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use self::metrics::{CountingTransport, Metrics};
use self::replicated::Published;
pub use self::replicated::{MAX_ITEM_BYTES, Merged, Replicated};
use crate::stop::Stop;

/// The cluster id in every gossip message (with `/label` after it when `--cluster.label` is
/// set): peers of other clusters are refused.
const CLUSTER_ID: &str = "firewatch-alertmanager";

/// The key a leaving peer sets: members holding it are no longer live.
const LEFT_KEY: &str = "left";

/// A member as the status API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerStatus {
    /// Its name (its advertised address).
    pub name: String,
    /// Its gossip address.
    pub address: String,
}

/// How the cluster is configured.
#[derive(Debug, Clone)]
pub struct Settings {
    /// UDP address the gossip listens on.
    pub listen: SocketAddr,
    /// This peer's name and the address advertised to the others (`host:port`).
    pub advertise: String,
    /// Seeds: other peers' addresses (`host:port`), at least one of a running cluster.
    pub peers: Vec<String>,
    /// How long to wait between peers' notifications.
    pub peer_timeout: Duration,
    /// How often gossip runs and local changes are published.
    pub gossip_interval: Duration,
    /// How often every member's items are merged again.
    pub pushpull_interval: Duration,
    /// How long a dead member is remembered (and gossiped to now and then).
    pub reconnect_timeout: Duration,
    /// About how long a member may stay silent before it is held dead (at least eight
    /// gossip intervals).
    pub dead_after: Duration,
    /// Peers with another label are refused (empty: no label).
    pub label: String,
}

/// This instance in the cluster.
pub struct Peer {
    settings: Settings,
    id: ChitchatId,
    states: Vec<Arc<dyn Replicated>>,
    /// Fired once the cluster settled (or the settle timeout passed).
    settled: Stop,
    metrics: Arc<Metrics>,
    /// Chitchat's live members with their state (set by [`Peer::start`]).
    live: OnceLock<watch::Receiver<BTreeMap<ChitchatId, NodeState>>>,
    /// Fired to leave the cluster.
    pub stop: Stop,
    /// Fired once the peer left (gossip ended).
    done: Stop,
}

impl Peer {
    /// Checks the listen address, resolves the advertised one and registers the
    /// `alertmanager_cluster_*` metrics; [`Peer::start`] joins.
    ///
    /// # Errors
    /// The UDP address cannot be bound, or the advertised address does not resolve.
    pub fn new(
        settings: Settings,
        states: Vec<Arc<dyn Replicated>>,
        registry: &::metrics::Registry,
    ) -> Result<Arc<Self>, String> {
        // Bound again by chitchat at start: this reports a taken address right away.
        std::net::UdpSocket::bind(settings.listen)
            .map_err(|e| format!("cluster: listen udp {}: {e}", settings.listen))?;
        let gossip_addr = gossip_address(&settings.advertise, settings.listen, &settings.peers)?;
        let generation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let id = ChitchatId::new(settings.advertise.as_str(), generation, gossip_addr);
        let metrics = Arc::new(Metrics::new(registry, &settings.advertise));
        Ok(Arc::new(Self {
            settings,
            id,
            states,
            settled: Stop::default(),
            metrics,
            live: OnceLock::new(),
            stop: Stop::default(),
            done: Stop::default(),
        }))
    }

    /// This peer's name (its advertised address).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.settings.advertise
    }

    /// The live members, this peer included, sorted by name (one entry per name: the newest
    /// generation of a restarted peer).
    #[must_use]
    pub fn members(&self) -> Vec<PeerStatus> {
        let mut by_name: BTreeMap<String, (u64, SocketAddr)> = BTreeMap::new();
        if let Some(live) = self.live.get() {
            for id in live.borrow().keys() {
                let e = by_name
                    .entry(id.node_id.to_string())
                    .or_insert((id.generation_id, id.gossip_advertise_addr));
                if id.generation_id > e.0 {
                    *e = (id.generation_id, id.gossip_advertise_addr);
                }
            }
        }
        by_name.insert(
            self.name().to_owned(),
            (self.id.generation_id, self.id.gossip_advertise_addr),
        );
        by_name
            .into_iter()
            .map(|(name, (_, addr))| PeerStatus {
                name,
                address: addr.to_string(),
            })
            .collect()
    }

    /// The other live members, sorted by name.
    #[must_use]
    pub fn peers(&self) -> Vec<PeerStatus> {
        let mut all = self.members();
        all.retain(|p| p.name != self.name());
        all
    }

    /// This peer's index among the live members (itself included) sorted by name.
    #[must_use]
    pub fn position(&self) -> usize {
        position(self.name(), &self.members())
    }

    /// How long this peer's notifications wait: `peer_timeout` × position.
    #[must_use]
    pub fn wait(&self) -> Duration {
        self.settings.peer_timeout * u32::try_from(self.position()).unwrap_or(u32::MAX)
    }

    /// `ready` once the cluster settled, `settling` before.
    #[must_use]
    pub fn status(&self) -> &'static str {
        if self.settled.is_fired() {
            "ready"
        } else {
            "settling"
        }
    }

    /// Joins the cluster: starts chitchat on the listen address with the seeds, and the
    /// tasks that publish local changes and merge the peers' items, until `stop` fires.
    ///
    /// # Errors
    /// Chitchat cannot start (the UDP address cannot be bound).
    pub async fn start(self: &Arc<Self>) -> Result<(), String> {
        let s = &self.settings;
        let phi_threshold =
            (s.dead_after.as_secs_f64() / s.gossip_interval.as_secs_f64().max(0.001)).max(8.0);
        let config = ChitchatConfig {
            chitchat_id: self.id.clone(),
            cluster_id: if s.label.is_empty() {
                CLUSTER_ID.to_owned()
            } else {
                format!("{CLUSTER_ID}/{}", s.label)
            },
            gossip_interval: s.gossip_interval,
            listen_addr: s.listen,
            seed_nodes: s
                .peers
                .iter()
                .filter(|p| **p != s.advertise)
                .cloned()
                .collect(),
            failure_detector_config: FailureDetectorConfig {
                phi_threshold,
                sampling_window_size: 1000,
                max_interval: Duration::from_secs(10).max(s.gossip_interval * 10),
                initial_interval: s.gossip_interval,
                dead_node_grace_period: s.reconnect_timeout,
            },
            marked_for_deletion_grace_period: Duration::from_secs(3600),
            catchup_callback: None,
            extra_liveness_predicate: Some(Box::new(|n: &NodeState| n.get(LEFT_KEY).is_none())),
            protocol_version: ProtocolVersion::V0,
        };
        let handle =
            chitchat::spawn_chitchat(config, Vec::new(), &CountingTransport(self.metrics.clone()))
                .await
                .map_err(|e| format!("cluster: {e:#}"))?;
        let chitchat = handle.chitchat();
        let (tx, rx) = mpsc::unbounded_channel::<(usize, String)>();
        let live = {
            let cc = chitchat.lock().await;
            for (i, state) in self.states.iter().enumerate() {
                let (tx, me) = (tx.clone(), self.id.clone());
                cc.subscribe_event(format!("{}:", state.key()), move |ev| {
                    if *ev.node != me {
                        let _ = tx.send((i, ev.value.to_owned()));
                    }
                })
                .forever();
            }
            cc.live_nodes_watcher()
        };
        let _ = self.live.set(live);
        tokio::spawn(self.clone().receive(rx));
        tokio::spawn(self.clone().run(handle, chitchat));
        Ok(())
    }

    /// Merges the items other members publish, in batches, as they arrive.
    async fn receive(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<(usize, String)>) {
        loop {
            let first = tokio::select! {
                m = rx.recv() => m,
                () = self.stop.wait() => None,
            };
            let Some((i, item)) = first else { return };
            let mut batches = vec![Vec::new(); self.states.len()];
            batches[i].push(item);
            while let Ok((i, item)) = rx.try_recv() {
                batches[i].push(item);
            }
            self.merge(batches);
        }
    }

    fn merge(&self, batches: Vec<Vec<String>>) {
        for (state, items) in self.states.iter().zip(batches) {
            if items.is_empty() {
                continue;
            }
            let m = state.merge(&items);
            if let Some(first) = m.invalid.first() {
                tracing::warn!(state = state.key(), invalid = m.invalid.len(), err = %first, "cannot merge gossiped items");
            }
        }
    }

    /// Every gossip interval: publishes what changed locally (and gossips at once if
    /// anything did), merges every member's items every pushpull interval, and updates the
    /// membership metrics; leaves the cluster when `stop` fires.
    async fn run(
        self: Arc<Self>,
        handle: ChitchatHandle,
        chitchat: Arc<tokio::sync::Mutex<Chitchat>>,
    ) {
        let mut published: Vec<Published> =
            self.states.iter().map(|_| Published::default()).collect();
        let mut tick = tokio::time::interval(self.settings.gossip_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_pull = tokio::time::Instant::now() + self.settings.pushpull_interval;
        let mut view = View::default();
        let ended = handle.termination_watcher();
        tokio::pin!(ended);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.stop.wait() => break,
                r = &mut ended => {
                    tracing::error!(err = ?r.err(), "cluster: gossip stopped; this peer is alone from now on");
                    self.done.fire();
                    return;
                }
            }
            let diffs: Vec<_> = self
                .states
                .iter()
                .zip(&mut published)
                .map(|(s, p)| {
                    let v = s.version();
                    (p.version != Some(v)).then(|| p.update(v, s.items()))
                })
                .collect();
            let pull = tokio::time::Instant::now() >= next_pull;
            if pull {
                next_pull = tokio::time::Instant::now() + self.settings.pushpull_interval;
            }
            let mut pulled = vec![Vec::new(); self.states.len()];
            let (changed, live, dead) = {
                let mut cc = chitchat.lock().await;
                let mut changed = false;
                let node = cc.self_node_state();
                for (state, diff) in self.states.iter().zip(&diffs) {
                    let Some(diff) = diff else { continue };
                    for (id, value) in &diff.set {
                        node.set(format!("{}:{id}", state.key()), value);
                    }
                    for id in &diff.delete {
                        node.delete(&format!("{}:{id}", state.key()));
                    }
                    for id in &diff.oversized {
                        tracing::warn!(state = state.key(), %id, max = MAX_ITEM_BYTES, "item too large to gossip");
                        self.metrics
                            .oversized_dropped
                            .with_label_values(&[state.key()])
                            .inc();
                    }
                    changed |= !diff.is_empty();
                }
                if pull {
                    for (id, ns) in cc.node_states() {
                        if *id == self.id {
                            continue;
                        }
                        for (i, state) in self.states.iter().enumerate() {
                            let prefix = format!("{}:", state.key());
                            pulled[i].extend(ns.iter_prefix(&prefix).map(|(_, v)| v.value.clone()));
                        }
                    }
                }
                let live: Vec<(ChitchatId, u64)> = cc
                    .live_nodes()
                    .filter(|id| **id != self.id)
                    .filter_map(|id| {
                        let n = cc.node_state(id)?;
                        n.get(LEFT_KEY)
                            .is_none()
                            .then(|| (id.clone(), u64::from(n.heartbeat())))
                    })
                    .collect();
                // A member that left is gone, not failed.
                let dead: Vec<ChitchatId> = cc
                    .dead_nodes()
                    .filter(|id| cc.node_state(id).is_none_or(|n| n.get(LEFT_KEY).is_none()))
                    .cloned()
                    .collect();
                (changed, live, dead)
            };
            if changed {
                for (id, _) in &live {
                    let _ = handle.gossip(id.gossip_advertise_addr);
                }
            }
            if pull {
                self.merge(pulled);
            }
            view.update(&self.metrics, &live, &dead);
            self.metrics.position.set(self.position() as f64);
        }
        self.leave(&handle, &chitchat).await;
        if let Err(e) = handle.shutdown().await {
            tracing::warn!(err = %e, "cluster: gossip ended with an error");
        }
        self.done.fire();
    }

    /// Leaves the cluster: fires `stop` and waits (at most 3 s) until the members were told
    /// and the gossip ended.
    pub async fn shutdown(&self) {
        self.stop.fire();
        if self.live.get().is_some() {
            let _ = tokio::time::timeout(Duration::from_secs(3), self.done.wait()).await;
        }
    }

    /// Tells the live members this peer leaves (a `left` key they see in the next exchange,
    /// so they drop it at once instead of after the failure detection), as memberlist's
    /// `Leave`: waits two gossip intervals (half a second to a second) for the exchanges.
    async fn leave(&self, handle: &ChitchatHandle, chitchat: &tokio::sync::Mutex<Chitchat>) {
        let live: Vec<SocketAddr> = {
            let mut cc = chitchat.lock().await;
            cc.self_node_state().set(LEFT_KEY, "1");
            cc.live_nodes()
                .filter(|id| **id != self.id)
                .map(|id| id.gossip_advertise_addr)
                .collect()
        };
        if live.is_empty() {
            return;
        }
        for addr in &live {
            let _ = handle.gossip(*addr);
        }
        let exchanges = (self.settings.gossip_interval * 2)
            .clamp(Duration::from_millis(500), Duration::from_secs(1));
        tokio::time::sleep(exchanges).await;
    }

    /// A handle fired once the cluster settled.
    #[must_use]
    pub fn settled(&self) -> Stop {
        self.settled.clone()
    }

    /// Starts waiting for the cluster to settle, as Alertmanager's `Settle`: polls the
    /// number of live members every `interval`; settled once it stayed the same for three
    /// polls in a row; `timeout` ends the wait regardless.
    pub fn settle(self: &Arc<Self>, timeout: Duration, interval: Duration) {
        let peer = self.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            tracing::info!(?interval, "Waiting for gossip to settle...");
            let (mut last, mut okay, mut polls) = (0usize, 0u32, 0u32);
            let settled = async {
                loop {
                    tokio::time::sleep(interval).await;
                    if okay >= 3 {
                        tracing::info!(elapsed = ?started.elapsed(), "gossip settled; proceeding");
                        return;
                    }
                    let n = peer.members().len();
                    if n == last {
                        okay += 1;
                    } else {
                        okay = 0;
                        tracing::info!(polls, before = last, now = n, elapsed = ?started.elapsed(), "gossip not settled");
                    }
                    last = n;
                    polls += 1;
                }
            };
            tokio::select! {
                () = settled => {}
                () = tokio::time::sleep(timeout) => {
                    tracing::info!(elapsed = ?started.elapsed(), "gossip not settled but continuing anyway");
                }
                () = peer.stop.wait() => {}
            }
            peer.settled.fire();
        });
    }
}

/// `name`'s index among `members` sorted by name (0 when absent).
fn position(name: &str, members: &[PeerStatus]) -> usize {
    members.iter().filter(|p| p.name.as_str() < name).count()
}

/// What the last gossip round saw of the other members, for the membership metrics.
#[derive(Default)]
struct View {
    /// Live members by name: address and heartbeat.
    live: HashMap<String, (SocketAddr, u64)>,
    /// Names seen live before (a member back with another address is an update).
    known: HashMap<String, SocketAddr>,
}

impl View {
    fn update(&mut self, m: &Metrics, live: &[(ChitchatId, u64)], dead: &[ChitchatId]) {
        let mut now: HashMap<String, (SocketAddr, u64)> = HashMap::new();
        for (id, hb) in live {
            let e = now
                .entry(id.node_id.to_string())
                .or_insert((id.gossip_advertise_addr, *hb));
            if *hb > e.1 {
                *e = (id.gossip_advertise_addr, *hb);
            }
        }
        for (name, (addr, hb)) in &now {
            match self.live.get(name) {
                None => {
                    m.joined.inc();
                    if self.known.get(name).is_some_and(|a| a != addr) {
                        m.updated.inc();
                    }
                    m.alive.with_label_values(&[name]).inc();
                }
                Some((_, old)) if hb != old => m.alive.with_label_values(&[name]).inc(),
                Some(_) => {}
            }
            self.known.insert(name.clone(), *addr);
        }
        let left = self.live.keys().filter(|n| !now.contains_key(*n)).count();
        m.left.inc_by(left as f64);
        // Only members once seen live count as failed: chitchat holds a member dead until its
        // second heartbeat, which is not a failure.
        let dead_names: HashSet<String> = dead
            .iter()
            .map(|id| id.node_id.to_string())
            .filter(|n| !now.contains_key(n) && self.known.contains_key(n))
            .collect();
        *m.dead_addrs.lock() = dead
            .iter()
            .filter(|id| dead_names.contains(&*id.node_id))
            .map(|id| id.gossip_advertise_addr)
            .collect();
        m.members.set((now.len() + 1) as f64);
        m.failed_peers.set(dead_names.len() as f64);
        m.health.set(dead_names.len() as f64);
        self.live = now;
    }
}

/// The advertised address: the flag, or the listen address with an unspecified host
/// replaced by the host name.
#[must_use]
pub fn advertise_address(flag: &str, listen: SocketAddr) -> String {
    if !flag.is_empty() {
        return flag.to_owned();
    }
    if listen.ip().is_unspecified() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        return format!("{host}:{}", listen.port());
    }
    listen.to_string()
}

/// The socket address gossip is advertised at: `advertise` itself when it is one, else its
/// resolution (a non-loopback IPv4 address first). A host name that resolves to loopback
/// only (Debian's `127.0.1.1` for the host's own name) is replaced, when peers are listed, by
/// the local address the system routes to the first of them (no packet is sent), as
/// Alertmanager picks a private address.
fn gossip_address(
    advertise: &str,
    listen: SocketAddr,
    peers: &[String],
) -> Result<SocketAddr, String> {
    if let Ok(a) = advertise.parse::<SocketAddr>() {
        return Ok(a);
    }
    let addrs: Vec<SocketAddr> = advertise
        .to_socket_addrs()
        .map_err(|e| format!("cluster: cannot resolve the advertise address {advertise:?}: {e}"))?
        .collect();
    let mut addr = addrs
        .iter()
        .find(|a| a.is_ipv4() && !a.ip().is_loopback())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("cluster: the advertise address {advertise:?} has no address"))?;
    if addr.ip().is_loopback()
        && let Some(ip) = peers.iter().find_map(|p| route_to(p))
    {
        addr.set_ip(ip);
    }
    if addr.port() == 0 {
        addr.set_port(listen.port());
    }
    Ok(addr)
}

/// The local address the system would send from to `peer` (`host:port`).
fn route_to(peer: &str) -> Option<std::net::IpAddr> {
    let to = peer.to_socket_addrs().ok()?.next()?;
    let bind: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = std::net::UdpSocket::bind(bind).ok()?;
    s.connect(to).ok()?;
    Some(s.local_addr().ok()?.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> PeerStatus {
        PeerStatus {
            name: name.to_owned(),
            address: format!("{name}:9094"),
        }
    }

    #[test]
    fn position_is_the_index_among_the_sorted_member_names() {
        // (this peer, the members, its position)
        let cases: Vec<(&str, Vec<&str>, usize)> = vec![
            ("m", vec!["m"], 0),
            ("m", vec!["m", "z"], 0),
            ("m", vec!["a", "m", "z"], 1),
            ("m", vec!["a", "b", "m"], 2),
            (
                "127.0.0.1:9095",
                vec!["127.0.0.1:9094", "127.0.0.1:9095"],
                1,
            ),
        ];
        for (me, names, want) in cases {
            let members: Vec<PeerStatus> = names.iter().map(|n| member(n)).collect();
            assert_eq!(position(me, &members), want, "{me} in {names:?}");
        }
    }

    #[test]
    fn the_gossip_address_is_the_advertised_one_or_its_resolution() {
        let listen: SocketAddr = "0.0.0.0:9094".parse().unwrap();
        assert_eq!(
            gossip_address("10.1.2.3:9999", listen, &[]).unwrap(),
            "10.1.2.3:9999".parse::<SocketAddr>().unwrap()
        );
        let local = gossip_address("localhost:7946", listen, &[]).unwrap();
        assert!(local.ip().is_loopback() && local.port() == 7946, "{local}");
        // A name on loopback only, with a peer: the address routed to the peer.
        let routed =
            gossip_address("localhost:7946", listen, &["127.0.0.2:9094".to_owned()]).unwrap();
        assert_eq!(routed, "127.0.0.1:7946".parse::<SocketAddr>().unwrap());
        let err = gossip_address("no-such-host.invalid:1", listen, &[]).unwrap_err();
        assert!(err.contains("no-such-host.invalid"), "{err}");
        assert_eq!(
            advertise_address("", "127.0.0.1:9094".parse().unwrap()),
            "127.0.0.1:9094"
        );
        assert_eq!(advertise_address("me:1", listen), "me:1");
        assert!(advertise_address("", listen).ends_with(":9094"));
    }

    #[test]
    fn membership_metrics_follow_the_live_and_dead_members() {
        let r = ::metrics::Registry::new();
        let m = Metrics::new(&r, "me");
        let mut view = View::default();
        let id = |name: &str, generation: u64, port: u16| {
            ChitchatId::new(name, generation, SocketAddr::from(([127, 0, 0, 1], port)))
        };
        // c is not live yet (one heartbeat): not a failed peer.
        view.update(
            &m,
            &[(id("a", 1, 1), 3), (id("b", 1, 2), 3)],
            &[id("c", 1, 4)],
        );
        assert_eq!(
            (m.members.get(), m.joined.get(), m.failed_peers.get()),
            (3.0, 2.0, 0.0)
        );
        assert!(m.dead_addrs.lock().is_empty());
        view.update(&m, &[(id("a", 1, 1), 4), (id("b", 1, 2), 3)], &[]);
        assert_eq!(m.alive.with_label_values(&["a"]).get(), 2.0);
        assert_eq!(m.alive.with_label_values(&["b"]).get(), 1.0);
        // b dies: left, failed, its address gossiped to counts as a reconnection.
        view.update(&m, &[(id("a", 1, 1), 5)], &[id("b", 1, 2)]);
        assert_eq!(
            (m.members.get(), m.left.get(), m.failed_peers.get()),
            (2.0, 1.0, 1.0)
        );
        assert!(
            m.dead_addrs
                .lock()
                .contains(&SocketAddr::from(([127, 0, 0, 1], 2)))
        );
        // b is back (a new generation on another port): joined again, an update, not failed.
        view.update(
            &m,
            &[(id("a", 1, 1), 6), (id("b", 2, 3), 1)],
            &[id("b", 1, 2)],
        );
        assert_eq!(
            (
                m.members.get(),
                m.joined.get(),
                m.updated.get(),
                m.failed_peers.get()
            ),
            (3.0, 3.0, 1.0, 0.0)
        );
        assert!(m.dead_addrs.lock().is_empty());
    }
}
