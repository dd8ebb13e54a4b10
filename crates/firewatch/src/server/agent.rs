//! Agent mode's storage (the agent branch of Prometheus's `cmd/prometheus/main.go`): the
//! agent's series + WAL storage (`tsdb::agent`) under `--storage.agent.path`, its WAL held
//! for the remote write queues, and its truncation loop, driven by what the queues sent.

use std::sync::Arc;
use std::time::Duration;

use tracing::error;
use tsdb::agent::AgentDb;

use super::ServerArgs;
use super::args::duration_flag;

/// How the agent keeps its WAL.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retention {
    /// Samples older than this (ms) leave the WAL even when unsent
    /// (`--storage.agent.retention.max-time`).
    pub max_ms: i64,
    /// What stays past the oldest sample the queues sent (ms)
    /// (`--storage.agent.retention.min-time`).
    pub min_ms: i64,
    /// How often the WAL is truncated (ms) (`--storage.agent.wal-truncate-frequency`).
    pub every_ms: i64,
}

impl Retention {
    pub(super) fn from_args(args: &ServerArgs) -> anyhow::Result<Self> {
        Ok(Self {
            max_ms: duration_flag(
                "storage.agent.retention.max-time",
                args.agent_retention_max_time.as_deref().unwrap_or("4h"),
            )?,
            min_ms: duration_flag(
                "storage.agent.retention.min-time",
                args.agent_retention_min_time.as_deref().unwrap_or("5m"),
            )?,
            every_ms: duration_flag(
                "storage.agent.wal-truncate-frequency",
                &args.agent_wal_truncate_frequency,
            )?,
        })
    }
}

/// Opens the agent's storage in `path`.
pub(super) async fn open(path: std::path::PathBuf) -> anyhow::Result<Arc<AgentDb>> {
    let defaults = tsdb::DbOptions::default();
    let opts = tsdb::wal::WalOptions {
        segment_size: defaults.wal_segment_size,
        compress: defaults.wal_compression,
        sync_on_log: defaults.wal_sync_on_commit,
    };
    let db = tokio::task::spawn_blocking(move || AgentDb::open(&path, opts)).await??;
    Ok(Arc::new(db))
}

/// Holds the WAL segments the remote write queues still read from (for at most the
/// maximum retention: a receiver down longer loses what is older).
pub(super) fn hold_for_queues(db: &AgentDb, queues: &Arc<remote::WriteStorage>, r: Retention) {
    let queues = Arc::downgrade(queues);
    let max_age = Duration::from_millis(u64::try_from(r.max_ms).unwrap_or(0));
    db.set_wal_hold(Some(tsdb::head::WalHold(Arc::new(move || {
        queues.upgrade()?.wal_hold(Some(max_age))
    }))));
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

/// The agent's truncation loop (Prometheus's agent `truncateLoop`): every `every_ms`,
/// series idle since `min_ms` before the oldest sample the queues sent (at most `max_ms`
/// before now) are forgotten and the WAL is cut there, except what the queues hold.
pub(super) async fn truncate_loop(
    db: Arc<AgentDb>,
    queues: Arc<remote::WriteStorage>,
    r: Retention,
) {
    let every = Duration::from_millis(u64::try_from(r.every_ms.max(1000)).unwrap_or(1000));
    loop {
        tokio::time::sleep(every).await;
        let db = db.clone();
        let queues = queues.clone();
        let done = tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let sent = queues.lowest_sent_timestamp().unwrap_or(now).min(now);
            let mint = (sent - r.min_ms).max(now - r.max_ms);
            db.truncate(mint)
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => error!(error = %e, "agent WAL truncation failed"),
            Err(e) => error!(error = %e, "agent WAL truncation task failed"),
        }
    }
}
