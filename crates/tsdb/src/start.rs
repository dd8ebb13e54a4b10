//! Start timestamps (created timestamps) kept beside Prometheus 2.42's formats, never inside
//! them: the sample start of Prometheus 3's `AppenderV2` (the protobuf `created_timestamp`,
//! OTLP's start time, remote write 2.0's `created_timestamp`), which `start_timestamp()` and
//! start-aware `rate`/`increase` read back through `SampleIterator::at_st`.
//!
//! # Format choice
//! Prometheus main stores them in new formats (WAL record `SamplesV2` = 11, chunk encoding
//! `XOR2`) that Prometheus 2.42 cannot read: its WAL replay would skip those records and lose
//! their samples, and a block with an unknown chunk encoding fails its queries. Firewatch must
//! keep every data directory readable by 2.42, so it writes samples exactly as before and
//! keeps the start timestamps in side structures 2.42 ignores:
//!
//! - **WAL**: a record of Firewatch's own type [`START_TIMESTAMPS`] (`0xF1`) holding
//!   `(series ref, t, st)` for each sample of a commit that has a start timestamp, written
//!   just before that commit's sample records. Prometheus 2.42 (and main) decode any type they
//!   do not know as `Unknown` and skip it in replay and checkpointing (`tsdb/head_wal.go`
//!   `default: // Noop`, `tsdb/wlog/checkpoint.go` "probably from a future Prometheus
//!   version"). The type is far from Prometheus's own numbers (1–13 today). Firewatch's
//!   checkpoints keep the entries of the samples they keep. Payload: base ref `be64`, base t
//!   `be64`, then per entry `varint(ref − base)`, `varint(t − base t)`, `varint(t − st)`.
//! - **Head**: each series holds its start timestamps as runs `(first t, st)` — a run lasts
//!   until the next one, `st = 0` meaning none — so a counter scraped with the same created
//!   timestamp for hours costs one run, and a series that never had one costs a null pointer.
//!   Head chunks (`chunks_head/`) are unchanged; a replay rebuilds the runs from the WAL records
//!   (also for samples already in memory-mapped chunks).
//! - **Blocks**: a file [`BLOCK_FILE`] in the block directory with the runs of the series that
//!   have any, by series reference. Prometheus 2.42 opens a block by reading `meta.json`,
//!   `index`, `chunks/` and `tombstones` only (`tsdb/block.go` `OpenBlock`), so the file is
//!   ignored there; its own compactions drop it (the samples stay). File: magic `FWST`,
//!   version 1, `uvarint` number of series, per series (increasing references)
//!   `uvarint(ref − previous ref)`, `uvarint` number of runs, per run `varint(t − previous
//!   t)` and `varint(t − st)` (or `st = 0` written as `t − 0`), then a big-endian CRC32C
//!   (Castagnoli) of everything before. A directory that never saw a start timestamp has no
//!   such record or file: it stays byte for byte what Prometheus 2.42 writes.
//!
//! Not kept: start timestamps of out-of-order samples, of blocks written by `tsdb
//! create-blocks-from` and of the out-of-order head's blocks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use model::{FloatHistogram, Histogram, Timestamp};
use storage::{SampleIterator, StorageError, ValueType};

use crate::encoding::{Decbuf, Encbuf, crc32c};
use crate::error::{DecodeError, TsdbError};

/// WAL record type of start timestamps (Firewatch's own; Prometheus skips unknown types).
pub const START_TIMESTAMPS: u8 = 0xF1;

/// Name of a block's start timestamps file (absent when none of its samples has one).
pub const BLOCK_FILE: &str = "firewatch_start_timestamps";

const MAGIC: &[u8; 4] = b"FWST";
const VERSION: u8 = 1;

/// One sample's start timestamp in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefStart {
    /// The series reference.
    pub id: u64,
    /// The sample's timestamp.
    pub t: i64,
    /// Its start timestamp (non-zero).
    pub st: i64,
}

/// Encodes a start timestamps record into `b` (cleared first).
pub fn encode_record(starts: &[RefStart], b: &mut Encbuf) {
    b.reset();
    b.put_byte(START_TIMESTAMPS);
    let Some(first) = starts.first() else { return };
    b.put_be64(first.id);
    b.put_be64_i64(first.t);
    for s in starts {
        b.put_varint(s.id.wrapping_sub(first.id) as i64);
        b.put_varint(s.t.wrapping_sub(first.t));
        b.put_varint(s.t.wrapping_sub(s.st));
    }
}

/// Decodes the payload of a start timestamps record (after its type byte).
///
/// # Errors
/// A truncated payload.
pub fn decode_record(d: &mut Decbuf<'_>) -> Result<Vec<RefStart>, DecodeError> {
    let mut out = Vec::with_capacity(d.len() / 4);
    if d.is_empty() {
        return Ok(out);
    }
    let base_ref = d.be64()?;
    let base_t = d.be64_i64()?;
    while !d.is_empty() {
        let id = base_ref.wrapping_add(d.varint()? as u64);
        let t = base_t.wrapping_add(d.varint()?);
        let st = t.wrapping_sub(d.varint()?);
        out.push(RefStart { id, t, st });
    }
    Ok(out)
}

/// Start timestamp runs: `(first t, st)`, increasing `t`; each lasts until the next.
pub type Runs = [(i64, i64)];

/// The start timestamp of the sample at `t` under `runs` (0: none).
#[must_use]
pub fn start_at(runs: &Runs, t: i64) -> i64 {
    match runs.partition_point(|&(from, _)| from <= t) {
        0 => 0,
        i => runs[i - 1].1,
    }
}

/// The runs of `runs` that cover `mint..=maxt`, the first starting at `mint` at the earliest,
/// without runs of nothing at the start; `None` when no sample there has a start timestamp.
#[must_use]
pub fn clip(runs: &Runs, mint: i64, maxt: i64) -> Option<Vec<(i64, i64)>> {
    let first = runs
        .partition_point(|&(from, _)| from <= mint)
        .saturating_sub(1);
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(from, st) in &runs[first..] {
        if from > maxt {
            break;
        }
        push_run(&mut out, from.max(mint), st);
    }
    out.iter().any(|&(_, st)| st != 0).then_some(out)
}

/// Appends a run, merging it into the last one when it starts at the same time or carries
/// the same start timestamp; a first run of nothing is not kept.
fn push_run(runs: &mut Vec<(i64, i64)>, t: i64, st: i64) {
    match runs.last_mut() {
        None if st == 0 => {}
        Some(last) if last.1 == st => {}
        Some(last) if last.0 == t => last.1 = st,
        _ => runs.push((t, st)),
    }
}

/// Merges the runs of one series from several inputs (blocks of different times, each
/// already clipped to its range) into one list.
#[must_use]
pub fn merge(inputs: Vec<&Runs>) -> Option<Vec<(i64, i64)>> {
    let mut all: Vec<(i64, i64)> = inputs.into_iter().flatten().copied().collect();
    all.sort_by_key(|&(t, _)| t);
    let mut out = Vec::with_capacity(all.len());
    for (t, st) in all {
        push_run(&mut out, t, st);
    }
    out.iter().any(|&(_, st)| st != 0).then_some(out)
}

/// A head series' start timestamps, in the series' state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeadStarts {
    runs: Vec<(i64, i64)>,
}

impl HeadStarts {
    /// Records that the sample at `t` (newer than every sample noted before) has start
    /// timestamp `st` (0: none). An older `t` is ignored.
    pub fn note(starts: &mut Option<Box<Self>>, t: i64, st: i64) {
        match starts {
            None if st == 0 => {}
            None => {
                *starts = Some(Box::new(Self {
                    runs: vec![(t, st)],
                }));
            }
            Some(s) => {
                if s.runs.last().is_some_and(|&(from, _)| t < from) {
                    return;
                }
                push_run(&mut s.runs, t, st);
            }
        }
    }

    /// Forgets the runs of samples before `mint` (kept: the one covering `mint`).
    pub fn truncate_before(starts: &mut Option<Box<Self>>, mint: i64) {
        let Some(s) = starts else { return };
        let keep_from = s
            .runs
            .partition_point(|&(from, _)| from <= mint)
            .saturating_sub(1);
        s.runs.drain(..keep_from);
        if s.runs.iter().all(|&(_, st)| st == 0) {
            *starts = None;
        }
    }

    /// The runs covering `mint..=maxt`, for a querier or a compaction.
    #[must_use]
    pub fn clip(&self, mint: i64, maxt: i64) -> Option<Vec<(i64, i64)>> {
        clip(&self.runs, mint, maxt)
    }
}

/// A sample iterator that answers `at_st` from runs.
pub struct WithStarts<I> {
    inner: I,
    runs: Arc<Runs>,
}

impl<I: SampleIterator> WithStarts<I> {
    /// `inner` with the start timestamps of `runs`.
    pub fn new(inner: I, runs: Arc<Runs>) -> Self {
        Self { inner, runs }
    }
}

impl<I: SampleIterator> SampleIterator for WithStarts<I> {
    fn next(&mut self) -> ValueType {
        self.inner.next()
    }
    fn seek(&mut self, t: Timestamp) -> ValueType {
        self.inner.seek(t)
    }
    fn current(&self) -> ValueType {
        self.inner.current()
    }
    fn at(&self) -> (Timestamp, f64) {
        self.inner.at()
    }
    fn at_histogram(&self) -> (Timestamp, Histogram) {
        self.inner.at_histogram()
    }
    fn at_float_histogram(&self) -> (Timestamp, FloatHistogram) {
        self.inner.at_float_histogram()
    }
    fn at_t(&self) -> Timestamp {
        self.inner.at_t()
    }
    fn at_st(&self) -> Timestamp {
        start_at(&self.runs, self.inner.at_t())
    }
    fn err(&self) -> Option<&StorageError> {
        self.inner.err()
    }
}

/// Start timestamp runs of a block's series, by series reference.
pub type BlockStarts = HashMap<u64, Arc<Runs>>;

/// Writes a block's start timestamps file into `dir` (nothing when `series` is empty).
/// `series` must be in increasing reference order.
///
/// # Errors
/// I/O errors.
pub fn write_block_file(dir: &Path, series: &[(u64, Vec<(i64, i64)>)]) -> Result<(), TsdbError> {
    if series.is_empty() {
        return Ok(());
    }
    let mut b = Encbuf::new();
    b.put_bytes(MAGIC);
    b.put_byte(VERSION);
    b.put_uvarint(series.len() as u64);
    let mut prev_ref = 0u64;
    for (r, runs) in series {
        b.put_uvarint(r.wrapping_sub(prev_ref));
        prev_ref = *r;
        b.put_uvarint(runs.len() as u64);
        let mut prev_t = 0i64;
        for &(t, st) in runs {
            b.put_varint(t.wrapping_sub(prev_t));
            prev_t = t;
            b.put_varint(t.wrapping_sub(st));
        }
    }
    let crc = crc32c(b.get());
    b.put_be32(crc);
    let path = dir.join(BLOCK_FILE);
    // Synced as the block's other files are: the block's rename must not publish it empty.
    let write = |path: &Path| -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(path)?;
        f.write_all(b.get())?;
        f.sync_all()
    };
    write(&path).map_err(|e| TsdbError::io("write", &path, e))
}

/// Reads the start timestamps file of the block in `dir`; empty when it has none.
///
/// # Errors
/// An unreadable or corrupt file.
pub fn read_block_file(dir: &Path) -> Result<BlockStarts, TsdbError> {
    let path = dir.join(BLOCK_FILE);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(TsdbError::io("read", &path, e)),
    };
    decode_block_file(&data)
        .map_err(|e| TsdbError::corruption(path.display().to_string(), e.to_string()))
}

fn decode_block_file(data: &[u8]) -> Result<BlockStarts, DecodeError> {
    let Some(body_len) = data.len().checked_sub(4) else {
        return Err(DecodeError::Invalid(
            "start timestamps file too short".into(),
        ));
    };
    let (body, crc) = data.split_at(body_len);
    if crc32c(body).to_be_bytes() != crc {
        return Err(DecodeError::Invalid(
            "start timestamps checksum mismatch".into(),
        ));
    }
    let mut d = Decbuf::new(body);
    if d.bytes(4)? != MAGIC {
        return Err(DecodeError::Invalid("bad start timestamps magic".into()));
    }
    let version = d.byte()?;
    if version != VERSION {
        return Err(DecodeError::Invalid(format!(
            "unknown start timestamps version {version}"
        )));
    }
    let n = d.uvarint_usize()?;
    let mut out = HashMap::with_capacity(n.min(d.len()));
    let mut r = 0u64;
    for _ in 0..n {
        r = r.wrapping_add(d.uvarint()?);
        let runs_len = d.uvarint_usize()?;
        let mut runs = Vec::with_capacity(runs_len.min(d.len()));
        let mut t = 0i64;
        for _ in 0..runs_len {
            t = t.wrapping_add(d.varint()?);
            runs.push((t, t.wrapping_sub(d.varint()?)));
        }
        out.insert(r, Arc::from(runs));
    }
    if !d.is_empty() {
        return Err(DecodeError::Invalid(format!(
            "{} bytes after the start timestamps",
            d.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_answer_the_start_of_each_sample() {
        let mut s = None;
        for (t, st) in [
            (10, 0),
            (20, 5),
            (30, 5),
            (40, 35),
            (50, 0),
            (60, 55),
            (55, 1),
        ] {
            HeadStarts::note(&mut s, t, st);
        }
        let runs = s.clone().unwrap().runs;
        assert_eq!(runs, [(20, 5), (40, 35), (50, 0), (60, 55)]);
        let cases = [
            (10, 0),
            (20, 5),
            (39, 5),
            (40, 35),
            (49, 35),
            (50, 0),
            (59, 0),
            (70, 55),
        ];
        for (t, want) in cases {
            assert_eq!(start_at(&runs, t), want, "t={t}");
        }
        assert_eq!(clip(&runs, 30, 45), Some(vec![(30, 5), (40, 35)]));
        assert_eq!(clip(&runs, 50, 59), None);
        assert_eq!(clip(&runs, 52, 100), Some(vec![(60, 55)]));
        HeadStarts::truncate_before(&mut s, 45);
        assert_eq!(s.as_ref().unwrap().runs, [(40, 35), (50, 0), (60, 55)]);
        assert_eq!(
            merge(vec![&[(0, 5), (10, 7)], &[(20, 7), (30, 0)]]),
            Some(vec![(0, 5), (10, 7), (30, 0)])
        );
        assert_eq!(merge(vec![&[(0, 0)]]), None);
    }

    #[test]
    fn records_and_block_files_round_trip() {
        let starts = [
            RefStart {
                id: 7,
                t: 1000,
                st: 400,
            },
            RefStart {
                id: 3,
                t: 1015,
                st: 1015,
            },
            RefStart {
                id: 9,
                t: 990,
                st: -5,
            },
        ];
        let mut b = Encbuf::new();
        encode_record(&starts, &mut b);
        let mut d = Decbuf::new(b.get());
        assert_eq!(d.byte().unwrap(), START_TIMESTAMPS);
        assert_eq!(decode_record(&mut d).unwrap(), starts);

        let dir = tempfile::tempdir().unwrap();
        assert!(read_block_file(dir.path()).unwrap().is_empty());
        let series = vec![(4, vec![(100, 50), (200, 0)]), (9, vec![(-10, -20)])];
        write_block_file(dir.path(), &series).unwrap();
        let got = read_block_file(dir.path()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(&*got[&4], &[(100, 50), (200, 0)]);
        assert_eq!(&*got[&9], &[(-10, -20)]);
        let path = dir.path().join(BLOCK_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[6] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let err = read_block_file(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(BLOCK_FILE) && err.contains("checksum"),
            "{err}"
        );
    }
}
