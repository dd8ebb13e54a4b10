//! Byte-level helpers shared by every TSDB format: big-endian integers, Go-compatible varints
//! (`encoding/binary`'s LEB128 `Uvarint` and zig-zag `Varint`), length-prefixed strings and
//! CRC32 with the Castagnoli polynomial, as Prometheus's `tsdb/encoding` package writes them.
//!
//! [`Encbuf`] appends to a `Vec<u8>`; [`Decbuf`] reads from a byte slice and returns
//! [`DecodeError`] instead of panicking on short or malformed input.

use crate::error::DecodeError;

/// CRC32 (Castagnoli) of `data`, as every TSDB format checksums its records.
#[must_use]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Continues a CRC32C over more data (`crc` is the value of the bytes before `data`).
#[must_use]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

/// Appends `x` as an unsigned LEB128 varint (Go's `binary.PutUvarint`).
pub fn put_uvarint(buf: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        buf.push((x as u8) | 0x80);
        x >>= 7;
    }
    buf.push(x as u8);
}

/// Appends `x` zig-zag encoded as a varint (Go's `binary.PutVarint`).
pub fn put_varint(buf: &mut Vec<u8>, x: i64) {
    put_uvarint(buf, zigzag(x));
}

/// Zig-zag maps a signed integer onto an unsigned one (0, -1, 1, -2 ... → 0, 1, 2, 3 ...).
#[must_use]
pub fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[must_use]
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Number of bytes [`put_uvarint`] writes for `x`.
#[must_use]
pub fn uvarint_len(x: u64) -> usize {
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads an unsigned varint from the start of `b`: the value and the bytes it took.
///
/// # Errors
/// [`DecodeError::InvalidSize`] when `b` ends inside the varint, [`DecodeError::InvalidVarint`]
/// when it overflows 64 bits.
pub fn read_uvarint(b: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut x = 0u64;
    let mut shift = 0u32;
    for (i, &byte) in b.iter().enumerate() {
        if i == 10 {
            return Err(DecodeError::InvalidVarint);
        }
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return Err(DecodeError::InvalidVarint);
            }
            return Ok((x | (u64::from(byte) << shift), i + 1));
        }
        x |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    Err(DecodeError::InvalidSize {
        need: b.len() + 1,
        have: b.len(),
    })
}

/// Reads a zig-zag varint from the start of `b`: the value and the bytes it took.
///
/// # Errors
/// As [`read_uvarint`].
pub fn read_varint(b: &[u8]) -> Result<(i64, usize), DecodeError> {
    read_uvarint(b).map(|(u, n)| (unzigzag(u), n))
}

/// A write buffer with the encoders of Prometheus's `encoding.Encbuf`.
#[derive(Debug, Default, Clone)]
pub struct Encbuf {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Encbuf {
    /// An empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer with room for `n` bytes.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }

    /// Bytes written.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Clears the buffer, keeping its allocation.
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// The bytes written.
    #[must_use]
    pub fn get(&self) -> &[u8] {
        &self.buf
    }

    /// Appends one byte.
    pub fn put_byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Appends raw bytes.
    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends a big-endian `u32`.
    pub fn put_be32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_be_bytes());
    }

    /// Appends a big-endian `u64`.
    pub fn put_be64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_be_bytes());
    }

    /// Appends an `i64` as big-endian two's complement.
    pub fn put_be64_i64(&mut self, x: i64) {
        self.put_be64(x as u64);
    }

    /// Appends an unsigned varint.
    pub fn put_uvarint(&mut self, x: u64) {
        put_uvarint(&mut self.buf, x);
    }

    /// Appends a zig-zag varint.
    pub fn put_varint(&mut self, x: i64) {
        put_varint(&mut self.buf, x);
    }

    /// Appends `len(s)` as a uvarint, then the bytes of `s`.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint_bytes(s.as_bytes());
    }

    /// Appends `len(b)` as a uvarint, then `b`.
    pub fn put_uvarint_bytes(&mut self, b: &[u8]) {
        self.put_uvarint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// Appends the big-endian CRC32C of `self.buf[from..]`.
    pub fn put_crc32c_from(&mut self, from: usize) {
        let c = crc32c(&self.buf[from..]);
        self.put_be32(c);
    }
}

/// A read cursor over bytes with the decoders of Prometheus's `encoding.Decbuf`.
#[derive(Debug, Clone, Copy)]
pub struct Decbuf<'a> {
    b: &'a [u8],
}

impl<'a> Decbuf<'a> {
    /// A cursor at the start of `b`.
    #[must_use]
    pub fn new(b: &'a [u8]) -> Self {
        Self { b }
    }

    /// A cursor over `len uvarint | data(len) | crc32c(data) be32` whose checksum is verified.
    ///
    /// # Errors
    /// Short data or a checksum mismatch.
    pub fn new_uvarint_crc(b: &'a [u8]) -> Result<Self, DecodeError> {
        let mut d = Decbuf::new(b);
        let len = d.uvarint_usize()?;
        let data = d.bytes(len)?;
        let stored = d.be32()?;
        let computed = crc32c(data);
        if stored != computed {
            return Err(DecodeError::Checksum { stored, computed });
        }
        Ok(Decbuf::new(data))
    }

    /// Bytes left.
    #[must_use]
    pub fn len(&self) -> usize {
        self.b.len()
    }

    /// Whether nothing is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    /// The bytes left.
    #[must_use]
    pub fn rest(&self) -> &'a [u8] {
        self.b
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::InvalidSize {
                need: n,
                have: self.b.len(),
            });
        }
        Ok(())
    }

    /// Skips `n` bytes.
    ///
    /// # Errors
    /// Fewer than `n` bytes left.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.bytes(n).map(|_| ())
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// Fewer than `n` bytes left.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.need(n)?;
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// Nothing left.
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// Fewer than 4 bytes left.
    pub fn be32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// Fewer than 8 bytes left.
    pub fn be64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Reads a big-endian two's complement `i64`.
    ///
    /// # Errors
    /// Fewer than 8 bytes left.
    pub fn be64_i64(&mut self) -> Result<i64, DecodeError> {
        self.be64().map(|x| x as i64)
    }

    /// Reads an unsigned varint.
    ///
    /// # Errors
    /// Truncated or overlong varint.
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let (x, n) = read_uvarint(self.b)?;
        self.b = &self.b[n..];
        Ok(x)
    }

    /// Reads an unsigned varint that must fit a `usize` (a length or count).
    ///
    /// # Errors
    /// Truncated or overlong varint, or a value beyond `usize`.
    pub fn uvarint_usize(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.uvarint()?).map_err(|_| DecodeError::InvalidVarint)
    }

    /// Reads an unsigned varint that must fit a `u32`.
    ///
    /// # Errors
    /// Truncated or overlong varint, or a value beyond `u32`.
    pub fn uvarint32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uvarint()?).map_err(|_| DecodeError::InvalidVarint)
    }

    /// Reads a zig-zag varint.
    ///
    /// # Errors
    /// Truncated or overlong varint.
    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let (x, n) = read_varint(self.b)?;
        self.b = &self.b[n..];
        Ok(x)
    }

    /// Reads `len uvarint | bytes`.
    ///
    /// # Errors
    /// Truncated data.
    pub fn uvarint_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.uvarint_usize()?;
        self.bytes(n)
    }

    /// Reads `len uvarint | UTF-8 bytes`.
    ///
    /// # Errors
    /// Truncated data or invalid UTF-8.
    pub fn uvarint_str(&mut self) -> Result<&'a str, DecodeError> {
        let b = self.uvarint_bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varints_match_go_encoding() {
        // Values and encodings from Go's encoding/binary documentation semantics.
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        put_varint(&mut b, -1);
        assert_eq!(b, [0x01]);
        b.clear();
        put_varint(&mut b, 1);
        assert_eq!(b, [0x02]);
        b.clear();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
        assert_eq!(read_uvarint(&b).unwrap(), (u64::MAX, 10));
        assert_eq!(
            read_uvarint(&[0x80]),
            Err(DecodeError::InvalidSize { need: 2, have: 1 })
        );
        let overlong = [0xff; 11];
        assert_eq!(read_uvarint(&overlong), Err(DecodeError::InvalidVarint));
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c_append(crc32c(b"1234"), b"56789"), 0xe306_9283);
    }

    #[test]
    fn uvarint_crc_roundtrip_and_mismatch() {
        let mut e = Encbuf::new();
        let mut body = Encbuf::new();
        body.put_uvarint_str("hello");
        body.put_be64_i64(-5);
        e.put_uvarint(body.len() as u64);
        let start = e.len();
        e.put_bytes(body.get());
        e.put_crc32c_from(start);
        let mut d = Decbuf::new_uvarint_crc(e.get()).unwrap();
        assert_eq!(d.uvarint_str().unwrap(), "hello");
        assert_eq!(d.be64_i64().unwrap(), -5);
        assert!(d.is_empty());
        let mut bad = e.buf.clone();
        bad[2] ^= 1;
        assert!(matches!(
            Decbuf::new_uvarint_crc(&bad),
            Err(DecodeError::Checksum { .. })
        ));
    }

    proptest! {
        #[test]
        fn varint_roundtrip(x in any::<i64>(), u in any::<u64>()) {
            let mut e = Encbuf::new();
            e.put_varint(x);
            e.put_uvarint(u);
            e.put_be64(u);
            e.put_be32(u as u32);
            prop_assert_eq!(e.len(), uvarint_len(zigzag(x)) + uvarint_len(u) + 12);
            let mut d = Decbuf::new(e.get());
            prop_assert_eq!(d.varint().unwrap(), x);
            prop_assert_eq!(d.uvarint().unwrap(), u);
            prop_assert_eq!(d.be64().unwrap(), u);
            prop_assert_eq!(d.be32().unwrap(), u as u32);
            prop_assert!(d.byte().is_err());
        }
    }
}
