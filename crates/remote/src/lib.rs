//! Firewatch's remote storage protocols: the `/api/v1/write` receiver (remote write 1.0 and
//! 2.0) over any [`storage::Appendable`], the `/api/v1/read` endpoint over any
//! [`storage::Queryable`], and the protobuf messages of remote write and read.
//!
//! Mirrors Prometheus's `storage/remote/write_handler.go` (receiver side) and
//! `prompb/types.proto`, `prompb/remote.proto`, `prompb/io/prometheus/write/v2/types.proto`
//! (messages, written by hand with prost derives).

pub mod codec;
pub mod error;
pub mod proto;
pub mod read;
pub mod receiver;
pub mod write;

pub use error::RemoteError;
pub use read::{ReadAnswer, handle_read};
pub use receiver::{WriteResponse, handle_write};
pub use write::{Fanout, WriteStorage};
