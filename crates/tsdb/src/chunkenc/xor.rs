//! The XOR float chunk (Prometheus's `EncXOR`), byte for byte as Prometheus writes it.
//!
//! Layout: a 2-byte big-endian sample count, then a bit stream: the first sample as a
//! zig-zag varint timestamp and the raw 64 bits of its value; the second as a uvarint
//! timestamp delta and an XOR-encoded value; every later one as a delta-of-delta timestamp in
//! one of five buckets (`0`, `10`+14 bits, `110`+17, `1110`+20, `1111`+64) and an XOR-encoded
//! value (`0` same value; `10` reuse the previous leading/trailing zero window; `11` + 5 bits
//! leading zeros + 6 bits significant bits + the significant bits).

use model::Timestamp;
use storage::{FloatBatch, SampleIterator, StorageError, ValueType};

use super::bstream::{BitReader, BitWriter, EndOfStream};
use super::{Chunk, ChunkAppender, Encoding};
use crate::error::TsdbError;

/// Bytes of the sample-count header.
const HEADER: usize = 2;

/// A chunk of float samples in XOR encoding, with the state to append more.
///
/// Appending keeps the encoder state in the chunk, so a chunk can be appended to at any time,
/// and a chunk decoded from bytes ([`XorChunk::from_bytes`]) continues exactly where the
/// writer stopped.
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    t: Timestamp,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `x` fits the signed `nbits` bucket as Prometheus defines it: `-(2^(n-1)-1)
/// ..= 2^(n-1)`.
fn bit_range(x: i64, nbits: u32) -> bool {
    -((1 << (nbits - 1)) - 1) <= x && x <= 1 << (nbits - 1)
}

impl XorChunk {
    /// An empty chunk.
    #[must_use]
    pub fn new() -> Self {
        let mut stream = Vec::with_capacity(128);
        stream.extend_from_slice(&[0, 0]);
        Self {
            w: BitWriter::from_parts(stream, 0),
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Opens the encoded bytes of a chunk, decoding them once to restore the appender state
    /// so that more samples can be appended.
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when the bytes are not a valid XOR chunk.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TsdbError> {
        if bytes.len() < HEADER {
            return Err(TsdbError::Chunk(format!(
                "XOR chunk of {} bytes has no header",
                bytes.len()
            )));
        }
        let mut dec = XorDecoder::new(&bytes);
        loop {
            match dec.next(&bytes[HEADER..]) {
                Ok(true) => {}
                Ok(false) => break,
                Err(EndOfStream) => {
                    return Err(TsdbError::Chunk(format!(
                        "XOR chunk ends after {} of {} samples",
                        dec.read, dec.total
                    )));
                }
            }
        }
        let free = ((bytes.len() - HEADER) * 8).saturating_sub(dec.r.bits_read());
        if free > 8 {
            return Err(TsdbError::Chunk(format!(
                "XOR chunk has {free} unused bits after its {} samples",
                dec.total
            )));
        }
        // Until a value with a new zero window is written, a continuous appender has no
        // window (0xff). Prometheus re-opens with the decoder's 0/0 window instead, which
        // decodes the same but differs from continuous appending; this matches continuous
        // appending byte for byte.
        let leading = if dec.window_set { dec.leading } else { 0xff };
        Ok(Self {
            w: BitWriter::from_parts(bytes, free as u8),
            t: dec.t,
            v: dec.v,
            t_delta: dec.t_delta,
            leading,
            trailing: dec.trailing,
        })
    }

    /// Number of samples in the chunk.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        let b = self.w.bytes();
        usize::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The encoded bytes (header included), as stored on disk.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Takes the encoded bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_parts().0
    }

    /// The last sample appended, if any.
    #[must_use]
    pub fn last(&self) -> Option<(Timestamp, f64)> {
        (self.num_samples() > 0).then(|| (self.t, f64::from_bits(self.v)))
    }

    /// The timestamp of the newest sample, without reading the chunk's bytes as
    /// [`Self::last`] does (meaningless while the chunk is empty).
    #[must_use]
    pub fn newest_t(&self) -> Timestamp {
        self.t
    }

    /// Makes room for the largest sample before one is appended, growing the buffer by
    /// `step` bytes more when short of it: the buffer then follows the chunk's length (within
    /// `step` and the largest sample) instead of doubling.
    pub fn reserve_sample(&mut self, step: usize) {
        // A first sample: a varint timestamp (at most 10 bytes) and 64 bits; a later one at
        // most 4 + 64 bits of timestamp and 2 + 5 + 6 + 64 bits of value, 145 bits, which
        // can take 20 bytes (a byte written leaves a free byte behind it).
        const MAX_SAMPLE_BYTES: usize = 20;
        self.w.reserve_spare(MAX_SAMPLE_BYTES, step);
    }

    /// Releases spare capacity (for chunks that are full).
    pub fn compact(&mut self) {
        self.w.shrink_to_fit();
    }

    /// An iterator over the samples, borrowing the chunk.
    #[must_use]
    pub fn iter(&self) -> XorIterator<&[u8]> {
        XorIterator::new(self.w.bytes())
    }

    /// Appends a sample. Timestamps should increase; the encoding itself accepts any order.
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when the chunk already holds 65535 samples (the header's limit).
    pub fn append(&mut self, t: Timestamp, v: f64) -> Result<(), TsdbError> {
        let num = self.num_samples();
        if num == usize::from(u16::MAX) {
            return Err(TsdbError::Chunk("XOR chunk is full (65535 samples)".into()));
        }
        let vbits = v.to_bits();
        let mut t_delta = 0u64;
        match num {
            0 => {
                let mut buf = Vec::with_capacity(10);
                crate::encoding::put_varint(&mut buf, t);
                for b in buf {
                    self.w.write_byte(b);
                }
                self.w.write_bits(vbits, 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let mut buf = Vec::with_capacity(10);
                crate::encoding::put_uvarint(&mut buf, t_delta);
                for b in buf {
                    self.w.write_byte(b);
                }
                self.write_value(vbits);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bit(false);
                } else if bit_range(dod, 14) {
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64, 20);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_value(vbits);
            }
        }
        self.t = t;
        self.v = vbits;
        self.t_delta = t_delta;
        let n = (num as u16 + 1).to_be_bytes();
        self.w.bytes_mut()[..HEADER].copy_from_slice(&n);
        Ok(())
    }

    fn write_value(&mut self, vbits: u64) {
        let delta = vbits ^ self.v;
        if delta == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        // Leading zeros are written in 5 bits, so at most 31.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write_bits(delta >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.write_bit(true);
            self.w.write_bits(u64::from(leading), 5);
            // 64 significant bits do not fit 6 bits: they are written as 0 (0 cannot occur).
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            self.w.write_bits(u64::from(sig), 6);
            self.w.write_bits(delta >> trailing, sig);
        }
    }
}

impl Chunk for XorChunk {
    fn encoding(&self) -> Encoding {
        Encoding::Xor
    }

    fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    fn num_samples(&self) -> usize {
        XorChunk::num_samples(self)
    }

    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(self.iter())
    }
}

impl ChunkAppender for XorChunk {
    fn append(&mut self, t: Timestamp, v: f64) -> Result<(), TsdbError> {
        XorChunk::append(self, t, v)
    }
}

/// The decoding state, shared by the iterator and by re-opening a chunk for appending.
#[derive(Debug, Clone)]
struct XorDecoder {
    r: BitReader,
    total: u16,
    read: u16,
    t: Timestamp,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    /// Whether a zero window was ever read (`11` control bits).
    window_set: bool,
}

impl XorDecoder {
    fn new(chunk: &[u8]) -> Self {
        let total = match chunk {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        };
        Self {
            r: BitReader::new(),
            total,
            read: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            window_set: false,
        }
    }

    /// Decodes the next sample from `b` (the bytes after the header); `Ok(false)` at the end.
    #[inline]
    fn next(&mut self, b: &[u8]) -> Result<bool, EndOfStream> {
        if self.read >= self.total {
            return Ok(false);
        }
        match self.read {
            0 => {
                self.t = self.r.read_varint(b)?;
                self.v = self.r.read_bits(b, 64)?;
                self.read = 1;
                return Ok(true);
            }
            1 => {
                self.t_delta = self.r.read_uvarint(b)?;
                self.t = self.t.wrapping_add(self.t_delta as i64);
            }
            _ => {
                let mut prefix = 0u8;
                for _ in 0..4 {
                    prefix <<= 1;
                    if !self.r.read_bit(b)? {
                        break;
                    }
                    prefix |= 1;
                }
                let dod = match prefix {
                    0b0 => 0,
                    0b10 => self.read_signed(b, 14)?,
                    0b110 => self.read_signed(b, 17)?,
                    0b1110 => self.read_signed(b, 20)?,
                    _ => self.r.read_bits(b, 64)? as i64,
                };
                self.t_delta = self.t_delta.wrapping_add(dod as u64);
                self.t = self.t.wrapping_add(self.t_delta as i64);
            }
        }
        self.read_value(b)?;
        self.read += 1;
        Ok(true)
    }

    #[inline]
    fn read_signed(&mut self, b: &[u8], n: u32) -> Result<i64, EndOfStream> {
        let bits = self.r.read_bits(b, n)?;
        // Values above 2^(n-1) are negative numbers in n-bit two's complement.
        if bits > 1 << (n - 1) {
            Ok(bits as i64 - (1i64 << n))
        } else {
            Ok(bits as i64)
        }
    }

    #[inline]
    fn read_value(&mut self, b: &[u8]) -> Result<(), EndOfStream> {
        if !self.r.read_bit(b)? {
            return Ok(());
        }
        if self.r.read_bit(b)? {
            self.window_set = true;
            self.leading = self.r.read_bits(b, 5)? as u8;
            let mut sig = self.r.read_bits(b, 6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64u8.wrapping_sub(self.leading).wrapping_sub(sig);
            if self.trailing >= 64 {
                return Err(EndOfStream);
            }
        }
        let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
        let bits = self.r.read_bits(b, sig)?;
        self.v ^= bits << self.trailing;
        Ok(())
    }
}

/// Iterates the samples of XOR chunk bytes (header included) held in any byte container:
/// `&[u8]` borrowed from a chunk or an mmapped file, or an owned `Vec<u8>` / `Arc<[u8]>`.
#[derive(Debug)]
pub struct XorIterator<B> {
    data: B,
    dec: XorDecoder,
    cur: ValueType,
    err: Option<StorageError>,
}

impl<B: AsRef<[u8]>> XorIterator<B> {
    /// An iterator positioned before the first sample of `data`.
    pub fn new(data: B) -> Self {
        let dec = XorDecoder::new(data.as_ref());
        Self {
            data,
            dec,
            cur: ValueType::None,
            err: None,
        }
    }

    /// The number of samples the chunk header announces.
    pub fn num_samples(&self) -> usize {
        usize::from(self.dec.total)
    }

    /// Records that the data ended before the announced number of samples.
    fn truncated(&mut self) -> ValueType {
        self.err = Some(StorageError::Corruption {
            file: "XOR chunk".into(),
            reason: format!(
                "data ends after {} of {} samples",
                self.dec.read, self.dec.total
            ),
        });
        self.cur = ValueType::None;
        self.cur
    }
}

impl<B: AsRef<[u8]> + Send> SampleIterator for XorIterator<B> {
    #[inline]
    fn next(&mut self) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        let b = self.data.as_ref();
        let body = b.get(HEADER..).unwrap_or_default();
        self.cur = match self.dec.next(body) {
            Ok(true) => ValueType::Float,
            Ok(false) => ValueType::None,
            Err(EndOfStream) => return self.truncated(),
        };
        self.cur
    }

    /// Decodes the rest of the chunk (up to `maxt`) in one loop.
    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        let body = self.data.as_ref().get(HEADER..).unwrap_or_default();
        out.samples
            .reserve(usize::from(self.dec.total.saturating_sub(self.dec.read)));
        loop {
            match self.dec.next(body) {
                Ok(true) if self.dec.t > maxt => {
                    self.cur = ValueType::Float;
                    return self.cur;
                }
                Ok(true) => out.samples.push((self.dec.t, f64::from_bits(self.dec.v))),
                Ok(false) => {
                    self.cur = ValueType::None;
                    return self.cur;
                }
                Err(EndOfStream) => return self.truncated(),
            }
        }
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        if self.cur == ValueType::None && self.dec.read > 0 {
            return ValueType::None;
        }
        while self.cur == ValueType::None || self.dec.t < t {
            if self.next() == ValueType::None {
                return ValueType::None;
            }
        }
        self.cur
    }

    fn current(&self) -> ValueType {
        self.cur
    }

    fn at(&self) -> (Timestamp, f64) {
        (self.dec.t, f64::from_bits(self.dec.v))
    }

    fn at_t(&self) -> Timestamp {
        self.dec.t
    }

    fn err(&self) -> Option<&StorageError> {
        self.err.as_ref()
    }
}
