//! The block index (format v2, as Prometheus writes it): symbols, series with their chunk
//! metadata, label indices, postings, the two offset tables and the table of contents.
//!
//! - [`IndexWriter`] writes an index: symbols first (sorted), then series (sorted by labels),
//!   then [`IndexWriter::close`] writes postings and tables.
//! - [`IndexReader`] maps an index file: symbol lookup, label names and values, postings for a
//!   label pair, series by reference.
//! - [`postings`] holds sorted-list set operations and [`postings_for_matchers`], which
//!   evaluates label matchers over any [`PostingsSource`] with Prometheus's semantics.

pub mod postings;
mod reader;
mod writer;

pub use postings::{PostingsSource, intersect, merge, postings_for_matchers, without};
pub use reader::IndexReader;
pub use writer::IndexWriter;

/// Magic number at the start of an index file.
pub const MAGIC_INDEX: u32 = 0xBAAA_D700;

/// Index format version 2.
pub const FORMAT_V2: u8 = 2;

/// Header bytes: magic and version.
pub const HEADER_LEN: usize = 5;

/// Series entries are aligned to this many bytes; a series reference is its offset divided by it.
pub const SERIES_BYTE_ALIGN: u64 = 16;

/// Bytes of the table of contents: six offsets and a CRC32C.
pub const TOC_LEN: usize = 6 * 8 + 4;

/// The table of contents: where each section starts (0 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Toc {
    /// Symbol table.
    pub symbols: u64,
    /// First series.
    pub series: u64,
    /// First label index.
    pub label_indices: u64,
    /// Label offset table.
    pub label_indices_table: u64,
    /// First postings list.
    pub postings: u64,
    /// Postings offset table.
    pub postings_table: u64,
}

impl Toc {
    /// Encodes the TOC with its checksum.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut e = crate::encoding::Encbuf::with_capacity(TOC_LEN);
        for x in [
            self.symbols,
            self.series,
            self.label_indices,
            self.label_indices_table,
            self.postings,
            self.postings_table,
        ] {
            e.put_be64(x);
        }
        e.put_crc32c_from(0);
        e.buf
    }

    /// Decodes the TOC at the end of an index file.
    ///
    /// # Errors
    /// A file too short or a checksum mismatch.
    pub fn decode(index: &[u8]) -> Result<Self, crate::error::DecodeError> {
        use crate::error::DecodeError;
        if index.len() < TOC_LEN {
            return Err(DecodeError::InvalidSize {
                need: TOC_LEN,
                have: index.len(),
            });
        }
        let b = &index[index.len() - TOC_LEN..];
        let mut d = crate::encoding::Decbuf::new(b);
        let body = d.bytes(TOC_LEN - 4)?;
        let stored = d.be32()?;
        let computed = crate::encoding::crc32c(body);
        if stored != computed {
            return Err(DecodeError::Checksum { stored, computed });
        }
        let mut d = crate::encoding::Decbuf::new(body);
        Ok(Self {
            symbols: d.be64()?,
            series: d.be64()?,
            label_indices: d.be64()?,
            label_indices_table: d.be64()?,
            postings: d.be64()?,
            postings_table: d.be64()?,
        })
    }
}

#[cfg(test)]
mod tests;
