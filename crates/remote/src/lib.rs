//! Firewatch's remote storage protocols: the `/api/v1/write` receiver (remote write 1.0 and
//! 2.0) over any [`storage::Appendable`], the `/api/v1/read` endpoint over any
//! [`storage::Queryable`], the remote write sender ([`WriteStorage`], reading the WAL), the
//! `remote_read` client merged with local queries ([`ReadStorage`]), and the protobuf
//! messages of remote write and read.
//!
//! Mirrors Prometheus's `storage/remote/write_handler.go` (receiver side) and
//! `prompb/types.proto`, `prompb/remote.proto`, `prompb/io/prometheus/write/v2/types.proto`
//! (messages, written by hand with prost derives).

pub mod chunked;
pub mod codec;
pub mod error;
pub mod proto;
pub mod read;
pub mod read_client;
pub mod receiver;
pub mod write;

pub use error::RemoteError;
pub use read::{ReadAnswer, handle_read};
pub use read_client::ReadStorage;
pub use receiver::{WriteResponse, handle_write};
pub use write::{Fanout, WriteStorage};
