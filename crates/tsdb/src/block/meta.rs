//! A block's `meta.json` (Prometheus's `BlockMeta`, version 1) and ULIDs, which name blocks.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::TsdbError;

/// Name of the metadata file in a block directory.
pub const META_FILENAME: &str = "meta.json";

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48 bits of milliseconds since the epoch, then 80 random bits; written as 26
/// characters of Crockford's base32, so that names sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ulid(pub u128);

impl Ulid {
    /// A new ULID for the current time.
    #[must_use]
    pub fn new() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self::with_time(ms)
    }

    /// A new ULID with timestamp `ms` and fresh random bits.
    #[must_use]
    pub fn with_time(ms: u64) -> Self {
        let rand = random_u128() & ((1u128 << 80) - 1);
        Self((u128::from(ms & ((1 << 48) - 1)) << 80) | rand)
    }

    /// The timestamp part, in milliseconds since the epoch.
    #[must_use]
    pub fn timestamp_ms(&self) -> u64 {
        (self.0 >> 80) as u64
    }
}

/// Random bits from the standard library's randomly keyed hasher, a clock and a counter (no
/// cryptographic quality needed: ULIDs only have to be unique).
fn random_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = 0u128;
    for half in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(half);
        out = (out << 64) | u128::from(h.finish());
    }
    out
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = [0u8; 26];
        for (i, c) in s.iter_mut().enumerate() {
            let shift = 125 - 5 * i as u32;
            *c = CROCKFORD[((self.0 >> shift) & 0x1f) as usize];
        }
        f.write_str(std::str::from_utf8(&s).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Ulid {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() != 26 {
            return Err(format!("invalid ULID {s:?}: length {}", s.len()));
        }
        let mut v = 0u128;
        for (i, b) in s.bytes().enumerate() {
            let d = match b.to_ascii_uppercase() {
                b'O' => 0,
                b'I' | b'L' => 1,
                c => CROCKFORD
                    .iter()
                    .position(|&x| x == c)
                    .ok_or_else(|| format!("invalid ULID {s:?}"))? as u128,
            };
            if i == 0 && d > 7 {
                return Err(format!("invalid ULID {s:?}: overflow"));
            }
            v = (v << 5) | d;
        }
        Ok(Self(v))
    }
}

impl Serialize for Ulid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ulid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_false(x: &bool) -> bool {
    !*x
}

/// Counts of a block's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    /// Series.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    /// Chunks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    /// Tombstone intervals.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
    /// Float samples (newer Prometheus versions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_float_samples: u64,
    /// Histogram samples (newer Prometheus versions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_histogram_samples: u64,
}

/// A block a compacted block was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// Its ULID.
    pub ulid: Ulid,
    /// Its minimum time.
    pub min_time: i64,
    /// Its maximum time.
    pub max_time: i64,
}

/// How a block came to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMetaCompaction {
    /// 1 for blocks cut from the head; one more per compaction.
    pub level: u32,
    /// ULIDs of the level-1 blocks this block contains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Ulid>,
    /// Marked for deletion (empty after compaction).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletable: bool,
    /// The blocks it was compacted from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// A compaction of this block failed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// Hints for the compactor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// The content of `meta.json`. `min_time` is inclusive, `max_time` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's ULID (also its directory name).
    pub ulid: Ulid,
    /// Earliest timestamp (inclusive).
    pub min_time: i64,
    /// End of the time range (exclusive).
    pub max_time: i64,
    /// Counts.
    #[serde(default)]
    pub stats: BlockStats,
    /// Compaction history.
    #[serde(default)]
    pub compaction: BlockMetaCompaction,
    /// Format version (1).
    pub version: u32,
    /// Thanos's section (`thanos`), written when the server has external labels, read back
    /// and kept; Prometheus ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanos: Option<ThanosMeta>,
}

/// The `thanos` section Thanos adds to `meta.json` (`pkg/block/metadata/meta.go`): the
/// external labels identifying the producer, the downsampling resolution (0: raw data) and
/// the component the block comes from. Firewatch writes what Thanos's sidecar would upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanosMeta {
    /// Version of the section; Thanos reads a missing one as 1.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub version: u32,
    /// External labels (sorted by name).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Downsampling.
    #[serde(default)]
    pub downsample: ThanosDownsample,
    /// Where the block was made (`sidecar`, `receive`, `compactor`, ...).
    #[serde(default)]
    pub source: String,
}

impl ThanosMeta {
    /// The section of a raw block from a server with these external labels, as the sidecar
    /// uploads it (source `sidecar`, resolution 0); `None` without external labels.
    #[must_use]
    pub fn sidecar<'a>(
        external_labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<Self> {
        let labels: std::collections::BTreeMap<String, String> = external_labels
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        (!labels.is_empty()).then(|| Self {
            version: 0,
            labels,
            downsample: ThanosDownsample::default(),
            source: "sidecar".to_string(),
        })
    }
}

/// Thanos's downsampling of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanosDownsample {
    /// Resolution in milliseconds; 0 for raw samples.
    pub resolution: i64,
}

fn is_zero_u32(x: &u32) -> bool {
    *x == 0
}

impl BlockMeta {
    /// Reads `dir/meta.json`.
    ///
    /// # Errors
    /// I/O failures, invalid JSON, or a version other than 1.
    pub fn read(dir: &Path) -> Result<Self, TsdbError> {
        let path = dir.join(META_FILENAME);
        let b = std::fs::read(&path).map_err(|e| TsdbError::io("read", &path, e))?;
        let m: Self = serde_json::from_slice(&b).map_err(|source| TsdbError::Meta {
            path: path.clone(),
            source,
        })?;
        if m.version != 1 {
            return Err(TsdbError::corruption(
                path.display().to_string(),
                format!("unexpected meta file version {}", m.version),
            ));
        }
        Ok(m)
    }

    /// Writes `dir/meta.json` atomically, indented with tabs as Prometheus does; returns its size.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write(&self, dir: &Path) -> Result<u64, TsdbError> {
        let path = dir.join(META_FILENAME);
        let tmp = dir.join(format!("{META_FILENAME}.tmp"));
        let mut b = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut b, fmt);
        self.serialize(&mut ser).map_err(|source| TsdbError::Meta {
            path: path.clone(),
            source,
        })?;
        crate::chunks::write_atomically(&tmp, &path, &b)?;
        Ok(b.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_roundtrip_and_order() {
        let a = Ulid::with_time(1_700_000_000_000);
        let s = a.to_string();
        assert_eq!(s.len(), 26);
        assert_eq!(s.parse::<Ulid>().unwrap(), a);
        assert_eq!(a.timestamp_ms(), 1_700_000_000_000);
        let b = Ulid::with_time(1_700_000_000_001);
        assert!(a.to_string() < b.to_string());
        assert_ne!(Ulid::new(), Ulid::new());
        // A known ULID from the specification's example.
        let u: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        assert_eq!(u.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(u.timestamp_ms(), 1_469_922_850_259);
        assert!("8ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Ulid>().is_err());
        assert!("01ARZ3NDEKTSV4RRFFQ69G5FA".parse::<Ulid>().is_err());
    }

    #[test]
    fn meta_json_like_prometheus() {
        let dir = tempfile::tempdir().unwrap();
        let u: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let m = BlockMeta {
            ulid: u,
            min_time: 0,
            max_time: 7_200_000,
            stats: BlockStats {
                num_samples: 10,
                num_series: 2,
                num_chunks: 2,
                ..Default::default()
            },
            compaction: BlockMetaCompaction {
                level: 1,
                sources: vec![u],
                ..Default::default()
            },
            version: 1,
            thanos: None,
        };
        m.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
        let want = "{\n\t\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\n\t\"minTime\": 0,\n\t\"maxTime\": 7200000,\n\t\"stats\": {\n\t\t\"numSamples\": 10,\n\t\t\"numSeries\": 2,\n\t\t\"numChunks\": 2\n\t},\n\t\"compaction\": {\n\t\t\"level\": 1,\n\t\t\"sources\": [\n\t\t\t\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"\n\t\t]\n\t},\n\t\"version\": 1\n}";
        assert_eq!(text, want);
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
        std::fs::write(
            dir.path().join("meta.json"),
            text.replace("\"version\": 1", "\"version\": 2"),
        )
        .unwrap();
        assert!(BlockMeta::read(dir.path()).is_err());
    }

    #[test]
    fn thanos_section_as_the_sidecar_uploads_it() {
        assert_eq!(ThanosMeta::sidecar([]), None);
        let dir = tempfile::tempdir().unwrap();
        let u: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let m = BlockMeta {
            ulid: u,
            min_time: 0,
            max_time: 7_200_000,
            stats: BlockStats::default(),
            compaction: BlockMetaCompaction {
                level: 1,
                sources: vec![u],
                ..Default::default()
            },
            version: 1,
            thanos: ThanosMeta::sidecar([("replica", "a"), ("cluster", "eu1")]),
        };
        m.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
        let want = "\t\"version\": 1,\n\t\"thanos\": {\n\t\t\"labels\": {\n\t\t\t\"cluster\": \"eu1\",\n\t\t\t\"replica\": \"a\"\n\t\t},\n\t\t\"downsample\": {\n\t\t\t\"resolution\": 0\n\t\t},\n\t\t\"source\": \"sidecar\"\n\t}\n}";
        assert!(text.ends_with(want), "{text}");
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
        // A section written by Thanos itself (version, files) reads; unknown fields are ignored.
        let thanos = text.replace(
            "\"source\": \"sidecar\"",
            "\"source\": \"compactor\", \"version\": 1, \"files\": [{\"rel_path\": \"index\"}]",
        );
        std::fs::write(dir.path().join("meta.json"), thanos).unwrap();
        let back = BlockMeta::read(dir.path()).unwrap();
        let t = back.thanos.unwrap();
        assert_eq!((t.version, t.source.as_str()), (1, "compactor"));
        assert_eq!(t.labels.len(), 2);
    }
}
