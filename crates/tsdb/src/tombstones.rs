//! Tombstones: deleted time ranges per series of a block, and the block's `tombstones` file
//! (magic `0x0130BA30`, version 1, then `series ref uvarint | mint varint | maxt varint`
//! entries, then the CRC32C of the entries).

use std::collections::BTreeMap;
use std::path::Path;

use model::Timestamp;

use crate::encoding::{Decbuf, Encbuf, crc32c};
use crate::error::TsdbError;

/// Name of the tombstones file in a block directory.
pub const TOMBSTONES_FILENAME: &str = "tombstones";

/// Magic number of the tombstones file.
pub const MAGIC_TOMBSTONES: u32 = 0x0130_BA30;

const FORMAT_V1: u8 = 1;

/// A closed time range `[mint, maxt]` of deleted samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// First deleted timestamp.
    pub mint: Timestamp,
    /// Last deleted timestamp.
    pub maxt: Timestamp,
}

impl Interval {
    /// Whether `t` lies in the interval.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.mint <= t && t <= self.maxt
    }
}

/// Whether `t` lies in any of the sorted, disjoint `intervals`.
#[must_use]
pub fn is_deleted(t: Timestamp, intervals: &[Interval]) -> bool {
    let i = intervals.partition_point(|iv| iv.maxt < t);
    intervals.get(i).is_some_and(|iv| iv.contains(t))
}

/// Deleted intervals by series reference; intervals of a series are kept sorted and merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    map: BTreeMap<u64, Vec<Interval>>,
}

impl Tombstones {
    /// No tombstones.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `iv` of series `series` deleted, merging it with overlapping or adjacent intervals.
    pub fn add_interval(&mut self, series: u64, iv: Interval) {
        let ivs = self.map.entry(series).or_default();
        ivs.push(iv);
        ivs.sort_unstable();
        let mut merged: Vec<Interval> = Vec::with_capacity(ivs.len());
        for iv in ivs.drain(..) {
            match merged.last_mut() {
                Some(last) if iv.mint <= last.maxt.saturating_add(1) => {
                    last.maxt = last.maxt.max(iv.maxt);
                }
                _ => merged.push(iv),
            }
        }
        *ivs = merged;
    }

    /// The deleted intervals of `series` (sorted, disjoint).
    #[must_use]
    pub fn get(&self, series: u64) -> &[Interval] {
        self.map.get(&series).map_or(&[], Vec::as_slice)
    }

    /// Series and their intervals, by series reference.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[Interval])> {
        self.map.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Number of intervals over all series (Prometheus's `numTombstones`).
    #[must_use]
    pub fn num_intervals(&self) -> usize {
        self.map.values().map(Vec::len).sum()
    }

    /// Whether nothing is deleted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Encodes the file content.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encbuf::new();
        e.put_be32(MAGIC_TOMBSTONES);
        e.put_byte(FORMAT_V1);
        for (r, ivs) in &self.map {
            for iv in ivs {
                e.put_uvarint(*r);
                e.put_varint(iv.mint);
                e.put_varint(iv.maxt);
            }
        }
        let crc = crc32c(&e.get()[5..]);
        e.put_be32(crc);
        e.buf
    }

    /// Decodes the file content.
    ///
    /// # Errors
    /// Short data, a wrong magic number or version, a checksum mismatch, bad varints.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() < 9 {
            return Err("tombstones header: invalid size".into());
        }
        let (body, crc) = b.split_at(b.len() - 4);
        let mut d = Decbuf::new(body);
        let magic = d.be32().map_err(|e| e.to_string())?;
        if magic != MAGIC_TOMBSTONES {
            return Err(format!("invalid magic number {magic:x}"));
        }
        let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if stored != crc32c(&body[5..]) {
            return Err("checksum did not match".into());
        }
        let v = d.byte().map_err(|e| e.to_string())?;
        if v != FORMAT_V1 {
            return Err(format!("invalid tombstone format {v:x}"));
        }
        let mut t = Self::new();
        while !d.is_empty() {
            let r = d.uvarint().map_err(|e| e.to_string())?;
            let mint = d.varint().map_err(|e| e.to_string())?;
            let maxt = d.varint().map_err(|e| e.to_string())?;
            t.add_interval(r, Interval { mint, maxt });
        }
        Ok(t)
    }

    /// Reads `dir/tombstones`; a missing file means no tombstones.
    ///
    /// # Errors
    /// I/O failures or a corrupt file.
    pub fn read(dir: &Path) -> Result<Self, TsdbError> {
        let path = dir.join(TOMBSTONES_FILENAME);
        match std::fs::read(&path) {
            Ok(b) => {
                Self::decode(&b).map_err(|e| TsdbError::corruption(path.display().to_string(), e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(e) => Err(TsdbError::io("read", path, e)),
        }
    }

    /// Writes `dir/tombstones` atomically (temporary file, fsync, rename); returns its size.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write(&self, dir: &Path) -> Result<u64, TsdbError> {
        let path = dir.join(TOMBSTONES_FILENAME);
        let tmp = dir.join(format!("{TOMBSTONES_FILENAME}.tmp"));
        let b = self.encode();
        crate::chunks::write_atomically(&tmp, &path, &b)?;
        Ok(b.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(mint: i64, maxt: i64) -> Interval {
        Interval { mint, maxt }
    }

    #[test]
    fn intervals_merge() {
        let mut t = Tombstones::new();
        t.add_interval(1, iv(10, 20));
        t.add_interval(1, iv(30, 40));
        t.add_interval(1, iv(21, 25));
        assert_eq!(t.get(1), [iv(10, 25), iv(30, 40)]);
        t.add_interval(1, iv(0, 35));
        assert_eq!(t.get(1), [iv(0, 40)]);
        t.add_interval(1, iv(i64::MIN, i64::MAX));
        assert_eq!(t.get(1), [iv(i64::MIN, i64::MAX)]);
        assert!(t.get(2).is_empty());
        assert!(is_deleted(5, t.get(1)));
    }

    #[test]
    fn is_deleted_bounds() {
        let ivs = [iv(10, 20), iv(30, 40)];
        for (t, want) in [
            (9, false),
            (10, true),
            (20, true),
            (25, false),
            (30, true),
            (40, true),
            (41, false),
        ] {
            assert_eq!(is_deleted(t, &ivs), want, "t={t}");
        }
    }

    #[test]
    fn file_roundtrip_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let empty = Tombstones::new();
        assert_eq!(empty.write(dir.path()).unwrap(), 9);
        let raw = std::fs::read(dir.path().join("tombstones")).unwrap();
        // Magic, version, and the CRC32C of no entries (0).
        assert_eq!(raw, [0x01, 0x30, 0xba, 0x30, 1, 0, 0, 0, 0]);
        assert_eq!(Tombstones::read(dir.path()).unwrap(), empty);

        let mut t = Tombstones::new();
        t.add_interval(16, iv(-5, 100));
        t.add_interval(32, iv(1000, 2000));
        t.add_interval(32, iv(3000, 4000));
        t.write(dir.path()).unwrap();
        let back = Tombstones::read(dir.path()).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.num_intervals(), 3);
        let raw = std::fs::read(dir.path().join("tombstones")).unwrap();
        assert_eq!(
            &raw[5..8],
            [16, 9, 200],
            "uvarint ref, zig-zag mint -5, maxt 100"
        );
        let mut bad = raw.clone();
        bad[6] ^= 1;
        std::fs::write(dir.path().join("tombstones"), &bad).unwrap();
        assert!(
            Tombstones::read(dir.path())
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        let missing = tempfile::tempdir().unwrap();
        assert!(Tombstones::read(missing.path()).unwrap().is_empty());
    }
}
