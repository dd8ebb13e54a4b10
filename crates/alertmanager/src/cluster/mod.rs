//! High availability: peers exchange their replicated state (silences, notification log)
//! so that instances fed the same alerts notify once, and each instance's position among
//! the live peers delays its notifications (mirrors Alertmanager's `cluster/cluster.go` and
//! `clusterWait` in `cmd/alertmanager/main.go`).
//!
//! # Design: full-state exchange over HTTP instead of memberlist gossip
//!
//! Every gossip interval (1 s) each peer sends `POST /gossip` to every `--cluster.peer` on
//! its cluster listen address, with its name, address and whole replicated state (silences,
//! notification log); the answer carries the receiver's. Both sides merge what they get
//! (per silence id and per receiver/group entry, the newest update wins), so merges are
//! idempotent and commutative (CRDT-like) and a lost or repeated exchange costs nothing.
//! A peer is live while heard from within three intervals; its position among the live peers
//! (sorted by name) times `--cluster.peer-timeout` delays its notifications, so the first
//! peer notifies and the others find its log entry. At start the pipeline holds
//! notifications until the cluster settled (the live peer count unchanged for three polls,
//! or `--cluster.settle-timeout`), as Alertmanager's `Settle` does.
//!
//! Why not memberlist (or chitchat/foca): the replicated state is a few hundred silences and
//! a log entry per group and receiver, small enough to send whole; full-state exchange needs
//! no delta encoding, no UDP size limit and no failure detector beyond "heard from lately",
//! and it is tested end to end (two peers in one process and as two processes: one
//! notification per group, a silence created on one holding on the other, a peer killed). The price: traffic grows with peers × state each interval, and peers only learn of
//! each other through the `--cluster.peer` lists (every peer should list the others), where
//! memberlist would spread membership. Not wire-compatible with Alertmanager's cluster: a
//! Firewatch peer cannot join an Alertmanager cluster.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::nflog::Nflog;
use crate::silence::Silences;
use crate::stop::Stop;

/// State replicated between peers: marshalled whole, merged idempotently (newest wins).
pub trait Replicated: Send + Sync {
    /// The state's name in a gossip message.
    fn key(&self) -> &'static str;
    /// The whole state.
    fn marshal(&self) -> Value;
    /// Merges a peer's state; returns how many items changed.
    ///
    /// # Errors
    /// A state that does not decode.
    fn merge(&self, v: Value) -> Result<usize, String>;
}

impl Replicated for Silences {
    fn key(&self) -> &'static str {
        "sil"
    }
    fn marshal(&self) -> Value {
        serde_json::to_value(self.list()).unwrap_or(Value::Null)
    }
    fn merge(&self, v: Value) -> Result<usize, String> {
        Ok(Silences::merge(
            self,
            serde_json::from_value(v).map_err(|e| e.to_string())?,
        ))
    }
}

impl Replicated for Nflog {
    fn key(&self) -> &'static str {
        "nfl"
    }
    fn marshal(&self) -> Value {
        serde_json::to_value(self.entries()).unwrap_or(Value::Null)
    }
    fn merge(&self, v: Value) -> Result<usize, String> {
        Ok(Nflog::merge(
            self,
            serde_json::from_value(v).map_err(|e| e.to_string())?,
        ))
    }
}

/// One gossip message: who sends it and its whole state.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    name: String,
    address: String,
    states: BTreeMap<String, Value>,
}

/// Another peer as the status API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    /// Its name.
    pub name: String,
    /// Its cluster address.
    pub address: String,
}

/// How the cluster is configured.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the cluster endpoint listens on.
    pub listen: SocketAddr,
    /// Address advertised to the other peers (and this peer's name).
    pub advertise: String,
    /// The other peers' cluster addresses.
    pub peers: Vec<String>,
    /// How long to wait between peers' notifications.
    pub peer_timeout: Duration,
    /// How often the state is exchanged.
    pub gossip_interval: Duration,
}

struct Metrics {
    members: metrics::Gauge,
    health: metrics::Gauge,
    failed_peers: metrics::Gauge,
    received: metrics::Counter,
    received_bytes: metrics::Counter,
    sent: metrics::Counter,
    sent_bytes: metrics::Counter,
    position: metrics::Gauge,
    alive: metrics::CounterVec,
    joined: metrics::Counter,
    left: metrics::Counter,
    updated: metrics::Counter,
    reconnections: metrics::Counter,
    reconnections_failed: metrics::Counter,
}

/// Registers the `alertmanager_cluster_*` and gossip families that this design has no
/// counterpart for, so dashboards find them: the broadcast queue (no queue: each exchange
/// sends the whole state), oversized messages (every state goes over HTTP, none over UDP)
/// and DNS refreshes of the peer list (peer names are resolved at every exchange).
fn register_fixed(r: &metrics::Registry) {
    let _ = r.counter(
        "alertmanager_cluster_messages_pruned_total",
        "Total number of cluster messages pruned.",
    );
    let _ = r.gauge(
        "alertmanager_cluster_messages_queued",
        "Number of cluster messages which are queued.",
    );
    let _ = r.counter(
        "alertmanager_cluster_refresh_join_total",
        "A counter of the number of cluster peer joined via refresh.",
    );
    let _ = r.counter(
        "alertmanager_cluster_refresh_join_failed_total",
        "A counter of the number of failed cluster peer joined attempts via refresh.",
    );
    let duration = r.histogram_vec(
        "alertmanager_oversize_gossip_message_duration_seconds",
        "Duration of oversized gossip message requests.",
        &["key"],
        metrics::DEFAULT_BUCKETS,
    );
    let dropped = r.counter_vec(
        "alertmanager_oversized_gossip_message_dropped_total",
        "Number of oversized gossip messages that were dropped due to a full message queue.",
        &["key"],
    );
    let failed = r.counter_vec(
        "alertmanager_oversized_gossip_message_failure_total",
        "Number of oversized gossip message sends that failed.",
        &["key"],
    );
    let sent = r.counter_vec(
        "alertmanager_oversized_gossip_message_sent_total",
        "Number of oversized gossip message sent.",
        &["key"],
    );
    for key in ["nfl", "sil"] {
        duration.with_label_values(&[key]);
        dropped.with_label_values(&[key]);
        failed.with_label_values(&[key]);
        sent.with_label_values(&[key]);
    }
}

/// This instance in the cluster.
pub struct Peer {
    settings: Settings,
    states: Vec<Arc<dyn Replicated>>,
    /// Other peers' names with their address and when they were last heard from.
    members: Mutex<HashMap<String, (String, Instant)>>,
    /// Fired once the cluster settled (or the settle timeout passed).
    settled: Stop,
    /// Peers that failed their last exchange (for reconnection counts).
    failing: Mutex<std::collections::HashSet<String>>,
    metrics: Metrics,
    listener: Mutex<Option<std::net::TcpListener>>,
    /// Fired to end the exchange and the endpoint.
    pub stop: Stop,
}

impl Peer {
    /// Binds the cluster address and registers the `alertmanager_cluster_*` metrics.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn new(
        settings: Settings,
        states: Vec<Arc<dyn Replicated>>,
        registry: &metrics::Registry,
    ) -> Result<Arc<Self>, String> {
        let listener = std::net::TcpListener::bind(settings.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cluster: listen tcp {}: {e}", settings.listen))?;
        let m = Metrics {
            members: registry.gauge(
                "alertmanager_cluster_members",
                "Number indicating current number of members in cluster.",
            ),
            health: registry.gauge(
                "alertmanager_cluster_health_score",
                "Health score of the cluster. Lower values are better and zero means 'totally healthy'.",
            ),
            failed_peers: registry.gauge(
                "alertmanager_cluster_failed_peers",
                "Number indicating the current number of failed peers in the cluster.",
            ),
            received: registry
                .counter_vec(
                    "alertmanager_cluster_messages_received_total",
                    "Total number of cluster messages received.",
                    &["msg_type"],
                )
                .with_label_values(&["full_state"]),
            received_bytes: registry
                .counter_vec(
                    "alertmanager_cluster_messages_received_size_total",
                    "Total size of cluster messages received.",
                    &["msg_type"],
                )
                .with_label_values(&["full_state"]),
            sent: registry
                .counter_vec(
                    "alertmanager_cluster_messages_sent_total",
                    "Total number of cluster messages sent.",
                    &["msg_type"],
                )
                .with_label_values(&["full_state"]),
            sent_bytes: registry
                .counter_vec(
                    "alertmanager_cluster_messages_sent_size_total",
                    "Total size of cluster messages sent.",
                    &["msg_type"],
                )
                .with_label_values(&["full_state"]),
            position: registry.gauge(
                "alertmanager_peer_position",
                "Position the Alertmanager instance believes it's in. The position determines a peer's behavior in the cluster.",
            ),
            alive: registry.counter_vec(
                "alertmanager_cluster_alive_messages_total",
                "Total number of received alive messages.",
                &["peer"],
            ),
            joined: registry.counter(
                "alertmanager_cluster_peers_joined_total",
                "A counter of the number of peers that have joined.",
            ),
            left: registry.counter(
                "alertmanager_cluster_peers_left_total",
                "A counter of the number of peers that have left.",
            ),
            updated: registry.counter(
                "alertmanager_cluster_peers_update_total",
                "A counter of the number of peers that have updated metadata.",
            ),
            reconnections: registry.counter(
                "alertmanager_cluster_reconnections_total",
                "A counter of the number of cluster peer reconnections.",
            ),
            reconnections_failed: registry.counter(
                "alertmanager_cluster_reconnections_failed_total",
                "A counter of the number of failed cluster peer reconnection attempts.",
            ),
        };
        register_fixed(registry);
        m.alive.with_label_values(&[&settings.advertise]);
        registry
            .gauge_vec(
                "alertmanager_cluster_peer_info",
                "A metric with a constant '1' value labeled by peer name.",
                &["peer"],
            )
            .with_label_values(&[&settings.advertise])
            .set(1.0);
        m.members.set(1.0);
        let settled = Stop::default();
        Ok(Arc::new(Self {
            settings,
            states,
            members: Mutex::new(HashMap::new()),
            settled,
            failing: Mutex::default(),
            metrics: m,
            listener: Mutex::new(Some(listener)),
            stop: Stop::default(),
        }))
    }

    /// This peer's name (its advertised address).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.settings.advertise
    }

    /// The peers heard from within the last few gossip intervals (not this one), by name.
    #[must_use]
    pub fn peers(&self) -> Vec<PeerStatus> {
        let dead_after = self.dead_after();
        let mut out: Vec<PeerStatus> = self
            .members
            .lock()
            .iter()
            .filter(|(_, (_, seen))| seen.elapsed() < dead_after)
            .map(|(name, (address, _))| PeerStatus {
                name: name.clone(),
                address: address.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn dead_after(&self) -> Duration {
        self.settings.gossip_interval * 3
    }

    /// This peer's index among the live peers (itself included) sorted by name.
    #[must_use]
    pub fn position(&self) -> usize {
        self.peers()
            .iter()
            .filter(|p| p.name.as_str() < self.name())
            .count()
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

    fn message(&self) -> Message {
        Message {
            name: self.settings.advertise.clone(),
            address: self.settings.advertise.clone(),
            states: self
                .states
                .iter()
                .map(|s| (s.key().to_owned(), s.marshal()))
                .collect(),
        }
    }

    fn receive(&self, m: Message) {
        if m.name == self.settings.advertise {
            return;
        }
        for (k, v) in m.states {
            if let Some(s) = self.states.iter().find(|s| s.key() == k)
                && let Err(e) = s.merge(v)
            {
                tracing::warn!(peer = %m.name, state = %k, err = %e, "cannot merge a peer's state");
            }
        }
        self.metrics.alive.with_label_values(&[&m.name]).inc();
        let dead_after = self.dead_after();
        let old = self
            .members
            .lock()
            .insert(m.name, (m.address.clone(), Instant::now()));
        match old {
            Some((_, seen)) if seen.elapsed() < dead_after => {}
            _ => self.metrics.joined.inc(),
        }
        if old.is_some_and(|(address, _)| address != m.address) {
            self.metrics.updated.inc();
        }
        self.metrics.members.set((self.peers().len() + 1) as f64);
    }

    /// Serves the cluster endpoint and exchanges state with the listed peers every gossip
    /// interval until `stop` fires.
    pub fn start(self: &Arc<Self>) {
        let Some(listener) = self.listener.lock().take() else {
            return;
        };
        let peer = self.clone();
        tokio::spawn(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let app = axum::Router::new()
                .route("/gossip", axum::routing::post(gossip))
                .with_state(peer.clone());
            let stop = peer.stop.clone();
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.wait().await })
                .await;
        });
        let peer = self.clone();
        tokio::spawn(async move { peer.run().await });
    }

    async fn run(self: Arc<Self>) {
        let client = reqwest::Client::builder()
            .timeout(
                self.settings
                    .gossip_interval
                    .max(Duration::from_millis(500))
                    * 2,
            )
            .build()
            .unwrap_or_default();
        let mut tick = tokio::time::interval(self.settings.gossip_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.stop.wait() => return,
            }
            let body = match serde_json::to_vec(&self.message()) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(err = %e, "cannot encode the cluster state");
                    continue;
                }
            };
            let live_before: Vec<String> = self.peers().into_iter().map(|p| p.name).collect();
            let mut failed = 0;
            for addr in &self.settings.peers {
                if *addr == self.settings.advertise {
                    continue;
                }
                let retry = self.failing.lock().contains(addr);
                if retry {
                    self.metrics.reconnections.inc();
                }
                if self.push_pull(&client, addr, body.clone()).await.is_err() {
                    failed += 1;
                    if retry {
                        self.metrics.reconnections_failed.inc();
                    }
                    self.failing.lock().insert(addr.clone());
                } else {
                    self.failing.lock().remove(addr);
                }
            }
            let live_now: Vec<String> = self.peers().into_iter().map(|p| p.name).collect();
            let gone = live_before.iter().filter(|n| !live_now.contains(n)).count();
            self.metrics.left.inc_by(gone as f64);
            self.metrics.position.set(self.position() as f64);
            let live = live_now.len();
            self.metrics.members.set((live + 1) as f64);
            self.metrics.failed_peers.set(f64::from(failed));
            self.metrics.health.set(f64::from(failed));
        }
    }

    /// Resolves once the cluster settled: the number of live peers stayed the same for three
    /// polls `interval` apart (Alertmanager's `Settle`), or `timeout` passed.
    pub async fn wait_settled(&self) {
        self.settled.wait().await;
    }

    /// A handle fired once the cluster settled.
    #[must_use]
    pub fn settled(&self) -> Stop {
        self.settled.clone()
    }

    /// Starts waiting for the cluster to settle: polls the live peers every `interval`; three
    /// polls in a row with the same count settle it; `timeout` ends the wait regardless.
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
                    let n = peer.peers().len();
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

    async fn push_pull(
        &self,
        client: &reqwest::Client,
        addr: &str,
        body: Vec<u8>,
    ) -> Result<(), ()> {
        let len = body.len();
        let resp = client
            .post(format!("http://{addr}/gossip"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| tracing::debug!(peer = %addr, err = %e, "gossip failed"))?;
        self.metrics.sent.inc();
        self.metrics.sent_bytes.inc_by(len as f64);
        let bytes = resp.bytes().await.map_err(|_| ())?;
        let m: Message = serde_json::from_slice(&bytes)
            .map_err(|e| tracing::warn!(peer = %addr, err = %e, "invalid gossip answer"))?;
        self.metrics.received.inc();
        self.metrics.received_bytes.inc_by(bytes.len() as f64);
        self.receive(m);
        Ok(())
    }
}

async fn gossip(State(peer): State<Arc<Peer>>, Json(m): Json<Message>) -> Json<Message> {
    peer.metrics.received.inc();
    peer.receive(m);
    let out = peer.message();
    peer.metrics.sent.inc();
    Json(out)
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

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::nflog::{Entry, ReceiverKey};
    use crate::silence::{Silence, SilenceMatcher};

    /// Local state, the peer's, how many change, what is left.
    type SilenceCase = (Vec<Silence>, Vec<Silence>, usize, Vec<&'static str>);
    type NflogCase = (Vec<Entry>, Vec<Entry>, usize, Vec<(String, Vec<u64>)>);

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn silence(id: &str, updated: i64, comment: &str) -> Silence {
        Silence {
            id: id.to_owned(),
            matchers: vec![SilenceMatcher {
                name: "a".to_owned(),
                value: "b".to_owned(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: t(0),
            ends_at: t(3600),
            updated_at: t(updated),
            created_by: "me".to_owned(),
            comment: comment.to_owned(),
        }
    }

    fn entry(group: &str, ts: i64, firing: &[u64]) -> Entry {
        Entry {
            group_key: group.to_owned(),
            receiver: ReceiverKey {
                group_name: "hook".to_owned(),
                integration: "webhook".to_owned(),
                idx: 0,
            },
            firing: firing.to_vec(),
            resolved: Vec::new(),
            timestamp: t(ts),
            expires_at: t(ts + 3600),
        }
    }

    #[test]
    fn silences_merge_by_id_keeping_the_newest_update() {
        // (local, from the peer, how many change, the comments after, sorted by id)
        let cases: Vec<SilenceCase> = vec![
            (vec![], vec![silence("x", 1, "new")], 1, vec!["new"]),
            (
                vec![silence("x", 5, "mine")],
                vec![silence("x", 1, "old")],
                0,
                vec!["mine"],
            ),
            (
                vec![silence("x", 5, "mine")],
                vec![silence("x", 5, "same")],
                0,
                vec!["mine"],
            ),
            (
                vec![silence("x", 1, "old")],
                vec![silence("x", 5, "newer")],
                1,
                vec!["newer"],
            ),
            (
                vec![silence("x", 1, "x")],
                vec![silence("y", 1, "y"), silence("x", 0, "stale")],
                1,
                vec!["x", "y"],
            ),
        ];
        for (local, remote, changed, want) in cases {
            let s = Silences::new(None, Duration::from_secs(3600));
            Silences::merge(&s, local);
            let v0 = s.version();
            let wire = Replicated::marshal(&{
                let peer = Silences::new(None, Duration::from_secs(3600));
                Silences::merge(&peer, remote.clone());
                peer
            });
            assert_eq!(Replicated::merge(&s, wire).unwrap(), changed, "{remote:?}");
            assert_eq!(s.version() != v0, changed > 0);
            let mut got = s.list();
            got.sort_by(|a, b| a.id.cmp(&b.id));
            let got: Vec<&str> = got.iter().map(|s| s.comment.as_str()).collect();
            assert_eq!(got, want, "{remote:?}");
            // Idempotent: the same state again changes nothing.
            assert_eq!(Replicated::merge(&s, Replicated::marshal(&s)).unwrap(), 0);
        }
        let s = Silences::new(None, Duration::from_secs(3600));
        assert!(Replicated::merge(&s, serde_json::json!({"not": "a list"})).is_err());
    }

    #[test]
    fn nflog_merges_by_receiver_and_group_keeping_the_newest() {
        let cases: Vec<NflogCase> = vec![
            (
                vec![],
                vec![entry("g", 1, &[1])],
                1,
                vec![("g".into(), vec![1])],
            ),
            (
                vec![entry("g", 5, &[1, 2])],
                vec![entry("g", 1, &[1])],
                0,
                vec![("g".into(), vec![1, 2])],
            ),
            (
                vec![entry("g", 1, &[1])],
                vec![entry("g", 5, &[3]), entry("h", 2, &[4])],
                2,
                vec![("g".into(), vec![3]), ("h".into(), vec![4])],
            ),
        ];
        for (local, remote, changed, want) in cases {
            let n = Nflog::new(None, Duration::from_secs(3600));
            Nflog::merge(&n, local);
            let wire = serde_json::to_value(&remote).unwrap();
            assert_eq!(Replicated::merge(&n, wire).unwrap(), changed, "{remote:?}");
            let mut got: Vec<(String, Vec<u64>)> = n
                .entries()
                .into_iter()
                .map(|e| (e.group_key, e.firing))
                .collect();
            got.sort();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn position_and_wait_follow_the_sorted_live_peer_names() {
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let peer = Peer::new(
            Settings {
                listen,
                advertise: "m".to_owned(),
                peers: vec!["127.0.0.1:1".to_owned()],
                peer_timeout: Duration::from_secs(15),
                gossip_interval: Duration::from_secs(1),
            },
            Vec::new(),
            &metrics::Registry::new(),
        )
        .unwrap();
        assert_eq!(peer.status(), "settling");
        assert_eq!((peer.position(), peer.wait()), (0, Duration::ZERO));
        for (name, pos) in [("z", 0), ("a", 1), ("b", 2), ("m", 2)] {
            peer.receive(Message {
                name: name.to_owned(),
                address: format!("{name}:9094"),
                states: BTreeMap::new(),
            });
            assert_eq!(peer.position(), pos, "after {name}");
        }
        assert_eq!(peer.wait(), Duration::from_secs(30));
        // Peers not heard from for three gossip intervals no longer count.
        for (_, seen) in peer.members.lock().values_mut() {
            *seen = Instant::now().checked_sub(Duration::from_secs(4)).unwrap();
        }
        assert_eq!(peer.position(), 0);
        assert!(peer.peers().is_empty());
    }
}
