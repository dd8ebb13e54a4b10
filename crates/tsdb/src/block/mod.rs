//! Blocks: immutable directories of a time range's data, in Prometheus's layout
//! (`<ulid>/meta.json`, `index`, `chunks/000001...`, `tombstones`).
//!
//! - [`BlockMeta`] and [`Ulid`]: the metadata file and block names.
//! - [`BlockWriter`]: writes a block from series (float samples or encoded chunks), atomically.
//! - [`StreamWriter`]: writes a block series by series in label order (compaction).
//! - [`tool`]: `tsdb list` and `tsdb analyze` as promtool prints them.
//! - [`BlockReader`]: opens a block; implements [`storage::Queryable`], its
//!   [`BlockQuerier`] implements [`storage::Querier`]; [`BlockReader::verify`] checks its
//!   files against each other when the database opens it.

mod meta;
mod reader;
mod stream;
pub mod tool;
mod verify;
mod writer;

pub use meta::{
    BlockDesc, BlockMeta, BlockMetaCompaction, BlockStats, META_FILENAME, ThanosDownsample,
    ThanosMeta, Ulid,
};
pub use reader::{BlockQuerier, BlockReader, RecentLabels};
pub use stream::StreamWriter;
pub(crate) use writer::encode_samples;
pub use writer::{BlockWriter, TMP_FOR_CREATION_SUFFIX};

#[cfg(test)]
mod tests;
