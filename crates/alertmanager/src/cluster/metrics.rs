//! The `alertmanager_cluster_*` self-metrics (Alertmanager's `cluster/cluster.go` and
//! `cluster/delegate.go` names, types and help), and the UDP transport that counts the gossip
//! messages and bytes for them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use chitchat::ChitchatEnvelope;
use chitchat::transport::{RecvOutcome, SendOutcome, Socket, Transport, UdpTransport};

/// The cluster families this peer updates.
pub struct Metrics {
    /// `alertmanager_cluster_members`: live members, this one included.
    pub members: metrics::Gauge,
    /// `alertmanager_cluster_health_score`.
    pub health: metrics::Gauge,
    /// `alertmanager_cluster_failed_peers`: members the failure detector holds dead.
    pub failed_peers: metrics::Gauge,
    received: metrics::Counter,
    received_bytes: metrics::Counter,
    sent: metrics::Counter,
    sent_bytes: metrics::Counter,
    /// `alertmanager_peer_position`.
    pub position: metrics::Gauge,
    /// `alertmanager_cluster_alive_messages_total{peer}`: heartbeats seen per peer.
    pub alive: metrics::CounterVec,
    /// `alertmanager_cluster_peers_joined_total`.
    pub joined: metrics::Counter,
    /// `alertmanager_cluster_peers_left_total`.
    pub left: metrics::Counter,
    /// `alertmanager_cluster_peers_update_total`: a member back with another address.
    pub updated: metrics::Counter,
    /// `alertmanager_cluster_reconnections_total`: gossip sent to a member held dead.
    pub reconnections: metrics::Counter,
    /// `alertmanager_cluster_reconnections_failed_total`: such a send that failed.
    pub reconnections_failed: metrics::Counter,
    /// `alertmanager_oversized_gossip_message_dropped_total{key}`: items too large to gossip.
    pub oversized_dropped: metrics::CounterVec,
    /// Gossip addresses of the members held dead (sends there count as reconnections).
    pub dead_addrs: Mutex<HashSet<SocketAddr>>,
}

impl Metrics {
    /// Registers the families on `r`; `name` labels this peer's `peer_info`.
    #[must_use]
    pub fn new(r: &metrics::Registry, name: &str) -> Self {
        let by_type = |name: &str, help: &str| {
            r.counter_vec(name, help, &["msg_type"])
                .with_label_values(&["update"])
        };
        let m = Self {
            members: r.gauge(
                "alertmanager_cluster_members",
                "Number indicating current number of members in cluster.",
            ),
            health: r.gauge(
                "alertmanager_cluster_health_score",
                "Health score of the cluster. Lower values are better and zero means 'totally healthy'.",
            ),
            failed_peers: r.gauge(
                "alertmanager_cluster_failed_peers",
                "Number indicating the current number of failed peers in the cluster.",
            ),
            received: by_type(
                "alertmanager_cluster_messages_received_total",
                "Total number of cluster messages received.",
            ),
            received_bytes: by_type(
                "alertmanager_cluster_messages_received_size_total",
                "Total size of cluster messages received.",
            ),
            sent: by_type(
                "alertmanager_cluster_messages_sent_total",
                "Total number of cluster messages sent.",
            ),
            sent_bytes: by_type(
                "alertmanager_cluster_messages_sent_size_total",
                "Total size of cluster messages sent.",
            ),
            position: r.gauge(
                "alertmanager_peer_position",
                "Position the Alertmanager instance believes it's in. The position determines a peer's behavior in the cluster.",
            ),
            alive: r.counter_vec(
                "alertmanager_cluster_alive_messages_total",
                "Total number of received alive messages.",
                &["peer"],
            ),
            joined: r.counter(
                "alertmanager_cluster_peers_joined_total",
                "A counter of the number of peers that have joined.",
            ),
            left: r.counter(
                "alertmanager_cluster_peers_left_total",
                "A counter of the number of peers that have left.",
            ),
            updated: r.counter(
                "alertmanager_cluster_peers_update_total",
                "A counter of the number of peers that have updated metadata.",
            ),
            reconnections: r.counter(
                "alertmanager_cluster_reconnections_total",
                "A counter of the number of cluster peer reconnections.",
            ),
            reconnections_failed: r.counter(
                "alertmanager_cluster_reconnections_failed_total",
                "A counter of the number of failed cluster peer reconnection attempts.",
            ),
            oversized_dropped: register_fixed(r),
            dead_addrs: Mutex::default(),
        };
        m.alive.with_label_values(&[name]);
        r.gauge_vec(
            "alertmanager_cluster_peer_info",
            "A metric with a constant '1' value labeled by peer name.",
            &["peer"],
        )
        .with_label_values(&[name])
        .set(1.0);
        m.members.set(1.0);
        m
    }
}

/// Registers the families that have no counterpart in chitchat, so dashboards find them:
/// the broadcast queue (chitchat sends deltas computed at each exchange, nothing is queued),
/// oversized messages sent over TCP (everything goes over UDP; items too large are counted
/// as dropped) and DNS refresh joins (chitchat re-resolves the seed names itself).
fn register_fixed(r: &metrics::Registry) -> metrics::CounterVec {
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
    dropped
}

/// Chitchat's UDP transport, counting messages and bytes in both directions.
pub struct CountingTransport(pub Arc<Metrics>);

#[async_trait::async_trait]
impl Transport for CountingTransport {
    async fn open(&self, listen_addr: SocketAddr) -> anyhow::Result<Box<dyn Socket>> {
        let inner = UdpTransport.open(listen_addr).await?;
        Ok(Box::new(CountingSocket {
            inner,
            metrics: self.0.clone(),
        }))
    }
}

struct CountingSocket {
    inner: Box<dyn Socket>,
    metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl Socket for CountingSocket {
    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.inner.local_addr()
    }

    async fn send(
        &mut self,
        to: SocketAddr,
        envelope: ChitchatEnvelope,
    ) -> anyhow::Result<SendOutcome> {
        let reconnect = self.metrics.dead_addrs.lock().contains(&to);
        if reconnect {
            self.metrics.reconnections.inc();
        }
        let out = match self.inner.send(to, envelope).await {
            Ok(out) => out,
            Err(e) => {
                if reconnect {
                    self.metrics.reconnections_failed.inc();
                }
                return Err(e);
            }
        };
        self.metrics.sent.inc();
        self.metrics.sent_bytes.inc_by(out.num_bytes_sent as f64);
        Ok(out)
    }

    async fn recv(&mut self) -> anyhow::Result<RecvOutcome> {
        let out = self.inner.recv().await?;
        self.metrics.received.inc();
        self.metrics
            .received_bytes
            .inc_by(out.num_bytes_received as f64);
        Ok(out)
    }
}
