//! Blocks: immutable directories of a time range's data, in Prometheus's layout
//! (`<ulid>/meta.json`, `index`, `chunks/000001...`, `tombstones`).
//!
//! - [`BlockMeta`] and [`Ulid`]: the metadata file and block names.
//! - [`BlockWriter`]: writes a block from series (float samples or encoded chunks), atomically.
//! - [`tool`]: `tsdb list` and `tsdb analyze` as promtool prints them.
//! - [`BlockReader`]: opens a block; implements [`storage::Queryable`], its
//!   [`BlockQuerier`] implements [`storage::Querier`].

mod meta;
mod reader;
pub mod tool;
mod writer;

pub use meta::{BlockDesc, BlockMeta, BlockMetaCompaction, BlockStats, META_FILENAME, Ulid};
pub use reader::{BlockQuerier, BlockReader};
pub use writer::{BlockWriter, TMP_FOR_CREATION_SUFFIX};

#[cfg(test)]
mod tests;
