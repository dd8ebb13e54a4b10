//! Chunk encodings: compressed runs of samples of one series, bit-compatible with
//! Prometheus's `tsdb/chunkenc`.
//!
//! - [`Encoding`] is the byte stored before each chunk in chunk files (`1` = XOR).
//! - [`XorChunk`] holds float samples (Gorilla-style XOR compression with Prometheus's
//!   millisecond delta-of-delta buckets). Append with [`XorChunk::append`] (or the
//!   [`ChunkAppender`] trait); re-open stored bytes for appending with
//!   [`XorChunk::from_bytes`].
//! - [`XorIterator`] reads XOR bytes from any container (borrowed, mmapped, owned) and
//!   implements [`storage::SampleIterator`].
//! - [`HistogramChunk`] holds integer native histograms (`EncHistogram`);
//!   [`HistogramIterator`] reads them.
//! - [`FloatHistogramChunk`] holds float native histograms (`EncFloatHistogram`).
//! - [`iterator`] picks the iterator for an encoding byte, for readers of chunk files.
//!
//! ```
//! use firewatch_tsdb::chunkenc::{Chunk, XorChunk};
//! use storage::{SampleIterator, ValueType};
//!
//! let mut c = XorChunk::new();
//! c.append(1000, 1.0).unwrap();
//! c.append(16000, 2.5).unwrap();
//! let mut it = c.iter();
//! assert_eq!(it.next(), ValueType::Float);
//! assert_eq!(it.at(), (1000, 1.0));
//! assert_eq!(c.num_samples(), 2);
//! ```

pub mod bstream;
mod float_histogram;
mod histogram;
pub mod varbit;
mod xor;

use std::fmt;

use model::Timestamp;
use storage::SampleIterator;

pub use float_histogram::{FloatHistogramChunk, FloatHistogramIterator};
pub use histogram::{CounterResetHeader, HistogramAppend, HistogramChunk, HistogramIterator};
pub use xor::{XorChunk, XorIterator};

use crate::error::TsdbError;

/// Samples Prometheus puts in one chunk before cutting a new one.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// The encoding of a chunk, as stored in its encoding byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// No encoding (never valid for a stored chunk).
    None,
    /// Float samples, XOR-compressed.
    Xor,
    /// Integer native histograms.
    Histogram,
    /// Float native histograms.
    FloatHistogram,
}

impl Encoding {
    /// The encoding byte.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Encoding::None => 0,
            Encoding::Xor => 1,
            Encoding::Histogram => 2,
            Encoding::FloatHistogram => 3,
        }
    }

    /// The encoding of an encoding byte, if known. Head chunk files set the high bit of the
    /// byte for out-of-order chunks; it is ignored here.
    #[must_use]
    pub fn from_u8(b: u8) -> Option<Self> {
        match b & 0x7f {
            0 => Some(Encoding::None),
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Histogram),
            3 => Some(Encoding::FloatHistogram),
            _ => None,
        }
    }
}

impl fmt::Display for Encoding {
    /// Prometheus's names: `none`, `XOR`, `histogram`, `floathistogram`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::None => "none",
            Encoding::Xor => "XOR",
            Encoding::Histogram => "histogram",
            Encoding::FloatHistogram => "floathistogram",
        })
    }
}

/// A chunk of samples in some encoding.
pub trait Chunk: Send + Sync {
    /// The encoding.
    fn encoding(&self) -> Encoding;
    /// The encoded bytes, as written to chunk files.
    fn bytes(&self) -> &[u8];
    /// Number of samples.
    fn num_samples(&self) -> usize;
    /// An iterator over the samples.
    fn iterator(&self) -> Box<dyn SampleIterator + '_>;
}

/// Appends float samples to a chunk.
pub trait ChunkAppender {
    /// Appends the sample `(t, v)`.
    ///
    /// # Errors
    /// When the chunk cannot hold more samples.
    fn append(&mut self, t: Timestamp, v: f64) -> Result<(), TsdbError>;
}

/// An iterator over chunk bytes `data` of encoding `enc`.
///
/// # Errors
/// [`TsdbError::Chunk`] for encodings this build cannot read.
pub fn iterator<'a>(
    enc: Encoding,
    data: &'a [u8],
) -> Result<Box<dyn SampleIterator + 'a>, TsdbError> {
    match enc {
        Encoding::Xor => Ok(Box::new(XorIterator::new(data))),
        Encoding::Histogram => Ok(Box::new(HistogramIterator::new(data))),
        Encoding::FloatHistogram => Ok(Box::new(FloatHistogramIterator::new(data))),
        other => Err(TsdbError::Chunk(format!(
            "unsupported chunk encoding {other}"
        ))),
    }
}

#[cfg(test)]
mod histogram_tests;
#[cfg(test)]
mod tests;
