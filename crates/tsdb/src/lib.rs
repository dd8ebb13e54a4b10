//! The time-series database: head, WAL, chunks, blocks and compaction in Prometheus's format.

pub mod agent;
pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod db;
pub mod encoding;
pub mod error;
pub mod head;
pub mod import;
pub mod index;
pub mod start;
pub mod tombstones;
pub mod wal;

pub use db::{Db, DbOptions};
pub use error::{DecodeError, TsdbError};
