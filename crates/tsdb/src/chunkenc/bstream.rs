//! Bit streams: the MSB-first bit writer and reader the chunk encodings are built on, with
//! the exact byte layout of Prometheus's `bstream` (a byte written on a byte boundary leaves a
//! fully free zero byte behind it, which is part of the chunk's bytes).

/// An append-only stream of bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitWriter {
    stream: Vec<u8>,
    /// How many right-most bits of the last byte are still free.
    free: u8,
}

impl BitWriter {
    /// A writer continuing `stream`, whose last byte has `free` right-most bits unused.
    #[must_use]
    pub fn from_parts(stream: Vec<u8>, free: u8) -> Self {
        debug_assert!(free <= 8);
        Self { stream, free }
    }

    /// The bytes written so far.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.stream
    }

    /// Mutable access to the bytes (for chunk headers).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.stream
    }

    /// Splits into the bytes and the number of free bits in the last byte.
    #[must_use]
    pub fn into_parts(self) -> (Vec<u8>, u8) {
        (self.stream, self.free)
    }

    /// Makes room for at least `min_spare` more bytes, growing to `min_spare + step` spare
    /// bytes when short of it (a vector that is pushed to doubles instead).
    pub fn reserve_spare(&mut self, min_spare: usize, step: usize) {
        if self.stream.capacity() - self.stream.len() < min_spare {
            self.stream.reserve_exact(min_spare + step);
        }
    }

    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.stream.shrink_to_fit();
    }

    /// Appends one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.stream.push(0);
            self.free = 8;
        }
        if bit {
            let last = self.stream.len() - 1;
            self.stream[last] |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Appends eight bits.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        if self.free == 0 {
            self.stream.push(0);
            self.free = 8;
        }
        let last = self.stream.len() - 1;
        self.stream[last] |= byte >> (8 - self.free);
        // The remainder goes into a new byte; when `free` is 8 it is empty but still appended.
        self.stream
            .push(byte.checked_shl(u32::from(self.free)).unwrap_or(0));
    }

    /// Appends the `nbits` (0..=64) right-most bits of `u`, most significant first.
    #[inline]
    pub fn write_bits(&mut self, u: u64, nbits: u32) {
        if nbits == 0 {
            return;
        }
        let mut u = u << (64 - nbits);
        let mut n = nbits;
        while n >= 8 {
            self.write_byte((u >> 56) as u8);
            u <<= 8;
            n -= 8;
        }
        // The remaining bits go into the last byte (and one more), as successive single-bit
        // writes would put them.
        while n > 0 {
            if self.free == 0 {
                self.stream.push(0);
                self.free = 8;
            }
            let take = n.min(u32::from(self.free));
            let bits = (u >> (64 - take)) as u8;
            let last = self.stream.len() - 1;
            self.stream[last] |= bits << (u32::from(self.free) - take);
            self.free -= take as u8;
            u <<= take;
            n -= take;
        }
    }
}

/// Error of a [`BitReader`]: the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndOfStream;

/// Reads bits MSB-first from a byte slice, buffering 64 bits at a time.
#[derive(Debug, Clone)]
pub struct BitReader {
    /// Next byte to load into the buffer.
    offset: usize,
    buffer: u64,
    /// Number of right-most bits of `buffer` not yet read.
    valid: u32,
}

#[inline]
fn mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl BitReader {
    /// A reader at the first bit (of the slice passed to each call).
    #[must_use]
    pub fn new() -> Self {
        Self {
            offset: 0,
            buffer: 0,
            valid: 0,
        }
    }

    /// Bits consumed so far.
    #[must_use]
    pub fn bits_read(&self) -> usize {
        self.offset * 8 - self.valid as usize
    }

    #[inline]
    fn load(&mut self, b: &[u8]) -> bool {
        let rest = b.len().saturating_sub(self.offset);
        if rest == 0 {
            return false;
        }
        if rest >= 8 {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[self.offset..self.offset + 8]);
            self.buffer = u64::from_be_bytes(a);
            self.offset += 8;
            self.valid = 64;
        } else {
            let mut x = 0u64;
            for &byte in &b[self.offset..] {
                x = (x << 8) | u64::from(byte);
            }
            self.buffer = x;
            self.offset += rest;
            self.valid = rest as u32 * 8;
        }
        true
    }

    /// Reads one bit of `b`.
    ///
    /// # Errors
    /// [`EndOfStream`] when `b` is exhausted.
    #[inline]
    pub fn read_bit(&mut self, b: &[u8]) -> Result<bool, EndOfStream> {
        if self.valid == 0 && !self.load(b) {
            return Err(EndOfStream);
        }
        self.valid -= 1;
        Ok(self.buffer >> self.valid & 1 == 1)
    }

    /// Reads `nbits` (0..=64) bits of `b` into the right-most bits of the result.
    ///
    /// # Errors
    /// [`EndOfStream`] when `b` has fewer bits left.
    #[inline]
    pub fn read_bits(&mut self, b: &[u8], nbits: u32) -> Result<u64, EndOfStream> {
        if nbits <= self.valid {
            self.valid -= nbits;
            return Ok(self.buffer.checked_shr(self.valid).unwrap_or(0) & mask(nbits));
        }
        let hi_bits = self.valid;
        let hi = self.buffer & mask(hi_bits);
        let rest = nbits - hi_bits;
        self.valid = 0;
        if !self.load(b) || rest > self.valid {
            return Err(EndOfStream);
        }
        self.valid -= rest;
        let lo = self.buffer.checked_shr(self.valid).unwrap_or(0) & mask(rest);
        Ok(hi.checked_shl(rest).unwrap_or(0) | lo)
    }

    /// Reads a Go `binary.Uvarint` byte by byte from the bit stream.
    ///
    /// # Errors
    /// [`EndOfStream`] when the stream ends or the varint overflows.
    pub fn read_uvarint(&mut self, b: &[u8]) -> Result<u64, EndOfStream> {
        let mut x = 0u64;
        let mut shift = 0u32;
        for i in 0..10 {
            let byte = self.read_bits(b, 8)? as u8;
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return Err(EndOfStream);
                }
                return Ok(x | u64::from(byte) << shift);
            }
            x |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        Err(EndOfStream)
    }

    /// Reads a Go `binary.Varint` (zig-zag) from the bit stream.
    ///
    /// # Errors
    /// As [`BitReader::read_uvarint`].
    pub fn read_varint(&mut self, b: &[u8]) -> Result<i64, EndOfStream> {
        self.read_uvarint(b).map(crate::encoding::unzigzag)
    }
}

impl Default for BitReader {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_on_boundary_leaves_free_byte() {
        let mut w = BitWriter::default();
        w.write_byte(0xab);
        assert_eq!(w.bytes(), [0xab, 0x00]);
        w.write_bit(true);
        assert_eq!(w.bytes(), [0xab, 0x80]);
        w.write_byte(0xff);
        assert_eq!(w.bytes(), [0xab, 0xff, 0x80]);
    }

    /// Prometheus's `writeBits`: whole bytes through `writeByte`, the rest bit by bit.
    fn reference_write_bits(w: &mut BitWriter, u: u64, nbits: u32) {
        if nbits == 0 {
            return;
        }
        let mut u = u << (64 - nbits);
        let mut n = nbits;
        while n >= 8 {
            w.write_byte((u >> 56) as u8);
            u <<= 8;
            n -= 8;
        }
        while n > 0 {
            w.write_bit(u >> 63 == 1);
            u <<= 1;
            n -= 1;
        }
    }

    proptest! {
        #[test]
        fn bulk_writes_lay_out_like_prometheus(fields in proptest::collection::vec((any::<u64>(), 0u32..=64, any::<bool>()), 0..60)) {
            let (mut a, mut b) = (BitWriter::default(), BitWriter::default());
            for &(v, n, single) in &fields {
                if single {
                    a.write_bit(v & 1 == 1);
                    b.write_bit(v & 1 == 1);
                } else {
                    a.write_bits(v, n);
                    reference_write_bits(&mut b, v, n);
                }
            }
            prop_assert_eq!(a, b);
        }

        #[test]
        fn bits_roundtrip(fields in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..60)) {
            let mut w = BitWriter::default();
            for &(v, n) in &fields {
                w.write_bits(v, n);
            }
            let b = w.bytes().to_vec();
            let mut r = BitReader::new();
            let mut total = 0;
            for &(v, n) in &fields {
                prop_assert_eq!(r.read_bits(&b, n).unwrap(), v & mask(n));
                total += n as usize;
                prop_assert_eq!(r.bits_read(), total);
            }
        }
    }
}
