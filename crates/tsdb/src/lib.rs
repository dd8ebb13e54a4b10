//! The time-series database: head, WAL, chunks, blocks and compaction in Prometheus's format.
