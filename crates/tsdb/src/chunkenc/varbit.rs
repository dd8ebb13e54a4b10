//! Variable bit-width integers and XOR-compressed floats inside a bit stream, as Prometheus's
//! histogram chunks use them (`varbit.go`, `xorWrite`/`xorRead`).
//!
//! A varbit value is a unary prefix of 1 bits ended by a 0 (at most 8 bits) selecting the
//! width: 0 (value 0), 3, 6, 9, 12, 18, 25, 56 or 64 bits.

use super::bstream::{BitReader, BitWriter, EndOfStream};

/// Value widths for prefixes of 1..=7 ones followed by a zero (then 8 ones: 56, 9 ones: 64).
const WIDTHS: [u32; 8] = [3, 6, 9, 12, 18, 25, 56, 64];

/// Whether `x` fits the signed `nbits` range `-(2^(n-1)-1) ..= 2^(n-1)`.
fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

fn put_prefix(w: &mut BitWriter, ones: u32) {
    // `ones` 1 bits, then a 0 unless the prefix is the 8-ones maximum.
    if ones == 8 {
        w.write_bits(0xff, 8);
    } else {
        w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
    }
}

/// Writes a signed varbit integer.
pub fn put_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &n) in WIDTHS[..7].iter().enumerate() {
        if bit_range(v, n) {
            put_prefix(w, i as u32 + 1);
            w.write_bits(v as u64, n);
            return;
        }
    }
    put_prefix(w, 8);
    w.write_bits(v as u64, 64);
}

/// Writes an unsigned varbit integer.
pub fn put_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &n) in WIDTHS[..7].iter().enumerate() {
        if v.leading_zeros() >= 64 - n {
            put_prefix(w, i as u32 + 1);
            w.write_bits(v, n);
            return;
        }
    }
    put_prefix(w, 8);
    w.write_bits(v, 64);
}

/// Reads the width prefix: `None` for the value 0, else the width in bits.
fn read_width(r: &mut BitReader, b: &[u8]) -> Result<Option<u32>, EndOfStream> {
    let mut ones = 0;
    while ones < 8 {
        if !r.read_bit(b)? {
            break;
        }
        ones += 1;
    }
    Ok(if ones == 0 {
        None
    } else {
        Some(WIDTHS[ones - 1])
    })
}

/// Reads a signed varbit integer.
///
/// # Errors
/// [`EndOfStream`] when the stream ends.
pub fn read_varbit_int(r: &mut BitReader, b: &[u8]) -> Result<i64, EndOfStream> {
    let Some(n) = read_width(r, b)? else {
        return Ok(0);
    };
    let bits = r.read_bits(b, n)?;
    if n == 64 {
        return Ok(bits as i64);
    }
    // Values above 2^(n-1) are negative in n-bit two's complement.
    if bits > 1 << (n - 1) {
        Ok(bits as i64 - (1i64 << n))
    } else {
        Ok(bits as i64)
    }
}

/// Reads an unsigned varbit integer.
///
/// # Errors
/// [`EndOfStream`] when the stream ends.
pub fn read_varbit_uint(r: &mut BitReader, b: &[u8]) -> Result<u64, EndOfStream> {
    match read_width(r, b)? {
        None => Ok(0),
        Some(n) => r.read_bits(b, n),
    }
}

/// Writes `new` XOR `cur` (float bit patterns) with the leading/trailing-zero window scheme;
/// `leading == 0xff` means no window yet.
pub fn xor_write(w: &mut BitWriter, new: u64, cur: u64, leading: &mut u8, trailing: &mut u8) {
    let delta = new ^ cur;
    if delta == 0 {
        w.write_bit(false);
        return;
    }
    w.write_bit(true);
    let new_leading = (delta.leading_zeros() as u8).min(31);
    let new_trailing = delta.trailing_zeros() as u8;
    if *leading != 0xff && new_leading >= *leading && new_trailing >= *trailing {
        w.write_bit(false);
        w.write_bits(
            delta >> *trailing,
            64 - u32::from(*leading) - u32::from(*trailing),
        );
        return;
    }
    *leading = new_leading;
    *trailing = new_trailing;
    w.write_bit(true);
    w.write_bits(u64::from(new_leading), 5);
    let sig = 64 - u32::from(new_leading) - u32::from(new_trailing);
    w.write_bits(u64::from(sig), 6);
    w.write_bits(delta >> new_trailing, sig);
}

/// Reads a value written by [`xor_write`], updating `value` (a float bit pattern) in place;
/// returns whether a new leading/trailing-zero window was read.
///
/// # Errors
/// [`EndOfStream`] when the stream ends or the window is invalid.
pub fn xor_read(
    r: &mut BitReader,
    b: &[u8],
    value: &mut u64,
    leading: &mut u8,
    trailing: &mut u8,
) -> Result<bool, EndOfStream> {
    if !r.read_bit(b)? {
        return Ok(false);
    }
    let new_window = r.read_bit(b)?;
    if new_window {
        let l = r.read_bits(b, 5)? as u8;
        let mut sig = r.read_bits(b, 6)? as u8;
        if sig == 0 {
            sig = 64;
        }
        let t = 64u8
            .checked_sub(l)
            .and_then(|x| x.checked_sub(sig))
            .ok_or(EndOfStream)?;
        *leading = l;
        *trailing = t;
    }
    let sig = 64 - u32::from(*leading) - u32::from(*trailing);
    let bits = r.read_bits(b, sig)?;
    *value ^= bits.checked_shl(u32::from(*trailing)).unwrap_or(0);
    Ok(new_window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn widths_match_prometheus() {
        // (value, bits written): 1 bit for 0, prefix + payload otherwise.
        for (v, bits) in [
            (0i64, 1usize),
            (4, 5),
            (-3, 5),
            (5, 9),
            (32, 9),
            (-31, 9),
            (256, 13),
            (2048, 17),
            (131_072, 24),
            (16_777_216, 32),
            (1 << 55, 64),
            (i64::MIN, 72),
        ] {
            let mut w = BitWriter::default();
            put_varbit_int(&mut w, v);
            // Bits used: the bytes minus the free bits of the last byte.
            let (bytes, free) = w.clone().into_parts();
            assert_eq!(bytes.len() * 8 - usize::from(free), bits, "value {v}");
            let mut r = BitReader::new();
            assert_eq!(read_varbit_int(&mut r, w.bytes()).unwrap(), v);
        }
        let mut w = BitWriter::default();
        put_varbit_uint(&mut w, 7);
        assert_eq!(w.bytes(), [0b1011_1000]);
    }

    proptest! {
        #[test]
        fn roundtrip(ints in proptest::collection::vec(any::<i64>(), 0..50), uints in proptest::collection::vec(any::<u64>(), 0..50), floats in proptest::collection::vec(any::<u64>(), 1..50)) {
            let mut w = BitWriter::default();
            for &v in &ints { put_varbit_int(&mut w, v); }
            for &v in &uints { put_varbit_uint(&mut w, v); }
            let (mut l, mut t) = (0xff, 0);
            let mut cur = 0u64;
            for &f in &floats { xor_write(&mut w, f, cur, &mut l, &mut t); cur = f; }
            let b = w.bytes().to_vec();
            let mut r = BitReader::new();
            for &v in &ints { prop_assert_eq!(read_varbit_int(&mut r, &b).unwrap(), v); }
            for &v in &uints { prop_assert_eq!(read_varbit_uint(&mut r, &b).unwrap(), v); }
            let (mut l, mut t) = (0, 0);
            let mut val = 0u64;
            for &f in &floats { xor_read(&mut r, &b, &mut val, &mut l, &mut t).unwrap(); prop_assert_eq!(val, f); }
        }
    }
}
