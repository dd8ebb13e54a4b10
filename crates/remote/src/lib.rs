//! Firewatch's remote storage protocols: the `/api/v1/write` receiver (remote write 1.0 and
//! 2.0) over any [`storage::Appendable`], and the protobuf messages of remote write and read.
//!
//! Mirrors Prometheus's `storage/remote/write_handler.go` (receiver side) and
//! `prompb/types.proto`, `prompb/remote.proto`, `prompb/io/prometheus/write/v2/types.proto`
//! (messages, written by hand with prost derives).

pub mod error;
pub mod proto;
pub mod receiver;

pub use error::RemoteError;
pub use receiver::{WriteResponse, handle_write};
