//! Checkpoints: `checkpoint.N/` condenses the previous checkpoint and segments up to `N` into
//! a small log holding only the series still alive and the samples at or after a cut-off
//! time, so those segments can be deleted. Replay reads the newest checkpoint, then the
//! segments after `N`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::encoding::{Decbuf, Encbuf};
use crate::error::TsdbError;
use crate::wal::record::{self, Record, RefMetadata, RefSample};
use crate::wal::{Wal, WalOptions, WalReader};

const PREFIX: &str = "checkpoint.";

/// A checkpoint directory and the last segment it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The directory.
    pub dir: PathBuf,
    /// The last segment it covers: replay continues with segment `index + 1`.
    pub index: u32,
}

/// Counts of what a checkpoint dropped and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series records entries dropped.
    pub dropped_series: usize,
    /// Samples dropped.
    pub dropped_samples: usize,
    /// Series kept.
    pub total_series: usize,
    /// Samples kept.
    pub total_samples: usize,
}

fn parse_checkpoint_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn list_checkpoints(dir: &Path) -> Result<Vec<Checkpoint>, TsdbError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| TsdbError::io("read dir", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TsdbError::io("read dir", dir, e))?;
        let name = entry.file_name();
        let Some(index) = name.to_str().and_then(parse_checkpoint_name) else {
            continue;
        };
        if entry.path().is_dir() {
            out.push(Checkpoint {
                dir: entry.path(),
                index,
            });
        }
    }
    out.sort_by_key(|c| c.index);
    Ok(out)
}

/// The newest checkpoint in the log directory `dir`, if any.
///
/// # Errors
/// I/O errors listing the directory.
pub fn last_checkpoint(dir: &Path) -> Result<Option<Checkpoint>, TsdbError> {
    Ok(list_checkpoints(dir)?.pop())
}

/// Deletes the checkpoints of `dir` older than `max_index` (and stale `.tmp` directories).
///
/// # Errors
/// I/O errors.
pub fn delete_checkpoints(dir: &Path, max_index: u32) -> Result<(), TsdbError> {
    for c in list_checkpoints(dir)? {
        if c.index < max_index {
            std::fs::remove_dir_all(&c.dir).map_err(|e| TsdbError::io("remove", &c.dir, e))?;
        }
    }
    Ok(())
}

/// Writes `checkpoint.<to>` from the newest existing checkpoint and segments `from..=to` of the
/// log in `dir`, keeping series for which `keep(id)` is true and samples, exemplars and
/// tombstones at or after `mint`; the newest metadata of each kept series is kept.
/// Segments are not deleted here: call [`Wal::truncate`] and [`delete_checkpoints`] after.
///
/// # Errors
/// I/O errors and corruption in what is read.
pub fn checkpoint(
    dir: &Path,
    from: u32,
    to: u32,
    keep: impl Fn(u64) -> bool,
    mint: i64,
    compress: bool,
) -> Result<(Checkpoint, CheckpointStats), TsdbError> {
    let mut segments = Vec::new();
    let mut from = from;
    if let Some(last) = last_checkpoint(dir)? {
        if last.index + 1 < from {
            return Err(TsdbError::corruption(
                dir.display().to_string(),
                format!(
                    "unexpected gap to last checkpoint: expected {}, requested {from}",
                    last.index + 1
                ),
            ));
        }
        from = from.max(last.index + 1);
        segments.extend(crate::wal::list_segments(&last.dir)?);
    }
    segments.extend(
        crate::wal::list_segments(dir)?
            .into_iter()
            .filter(|s| s.index >= from && s.index <= to),
    );

    let final_dir = dir.join(format!("{PREFIX}{to:08}"));
    let tmp_dir = dir.join(format!("{PREFIX}{to:08}.tmp"));
    if tmp_dir.exists() {
        std::fs::remove_dir_all(&tmp_dir).map_err(|e| TsdbError::io("remove", &tmp_dir, e))?;
    }
    let res = write_checkpoint(&tmp_dir, segments, keep, mint, compress);
    let stats = match res {
        Ok(stats) => stats,
        Err(e) => {
            // A half-written checkpoint would keep taking the space a full disk needs back.
            if let Err(rm) = std::fs::remove_dir_all(&tmp_dir)
                && rm.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %tmp_dir.display(), error = %rm, "removing the unfinished checkpoint");
            }
            return Err(e);
        }
    };
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| TsdbError::io("remove", &final_dir, e))?;
    }
    std::fs::rename(&tmp_dir, &final_dir).map_err(|e| TsdbError::io("rename", &tmp_dir, e))?;
    crate::chunks::sync_dir(dir)?;
    Ok((
        Checkpoint {
            dir: final_dir,
            index: to,
        },
        stats,
    ))
}

/// Writes the checkpoint's records from `segments` into the new log `tmp_dir`, closed
/// (synced) when this returns.
fn write_checkpoint(
    tmp_dir: &Path,
    segments: Vec<crate::wal::SegmentRef>,
    keep: impl Fn(u64) -> bool,
    mint: i64,
    compress: bool,
) -> Result<CheckpointStats, TsdbError> {
    let mut w = Wal::open(
        tmp_dir,
        WalOptions {
            compress,
            ..WalOptions::default()
        },
    )?;
    let mut stats = CheckpointStats::default();
    let mut meta: HashMap<u64, RefMetadata> = HashMap::new();
    let mut buf = Encbuf::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut pending_bytes = 0usize;
    let mut reader = WalReader::new(segments);
    let corrupt =
        |e| TsdbError::corruption(tmp_dir.display().to_string(), format!("decode record: {e}"));
    while let Some(rec) = reader.next_record()? {
        // Series and float samples records, nearly all of the log, are filtered in their
        // encoded form: copied whole when all they hold is kept.
        let kept = match rec.first() {
            Some(&record::SERIES) => filter_series(rec, &keep, &mut buf, &mut stats),
            Some(&record::SAMPLES) => filter_samples(rec, mint, &mut buf, &mut stats),
            _ => Ok(Filtered::Decode),
        }
        .map_err(corrupt)?;
        match kept {
            Filtered::All => {
                pending_bytes += rec.len();
                pending.push(rec.to_vec());
            }
            Filtered::Some => {
                pending_bytes += buf.len();
                pending.push(buf.get().to_vec());
            }
            Filtered::None => {}
            Filtered::Decode => {
                let rec = record::decode(rec).map_err(corrupt)?;
                decoded(rec, &keep, mint, &mut stats, &mut meta, &mut buf);
                if !buf.is_empty() {
                    pending_bytes += buf.len();
                    pending.push(buf.get().to_vec());
                }
            }
        }
        buf.reset();
        if pending_bytes > 1 << 20 {
            let refs: Vec<&[u8]> = pending.iter().map(Vec::as_slice).collect();
            w.log(&refs)?;
            pending.clear();
            pending_bytes = 0;
        }
    }
    if !meta.is_empty() {
        let mut m: Vec<RefMetadata> = meta.into_values().collect();
        m.sort_by_key(|m| m.id);
        record::encode_metadata(&m, &mut buf);
        pending.push(buf.get().to_vec());
    }
    let refs: Vec<&[u8]> = pending.iter().map(Vec::as_slice).collect();
    w.log(&refs)?;
    w.close()?;
    Ok(stats)
}

/// What a record filtered in its encoded form keeps.
enum Filtered {
    /// Everything: the record is copied as it is.
    All,
    /// Part of it, encoded in the buffer.
    Some,
    /// Nothing.
    None,
    /// A record of another type: decoded and filtered by [`decoded`].
    Decode,
}

/// Filters a series record by `keep` without building label sets: the kept entries' bytes
/// are copied (each checked as decoding would check it: label strings of valid UTF-8, no
/// empty name).
fn filter_series(
    rec: &[u8],
    keep: impl Fn(u64) -> bool,
    buf: &mut Encbuf,
    stats: &mut CheckpointStats,
) -> Result<Filtered, crate::DecodeError> {
    let mut d = Decbuf::new(&rec[1..]);
    let (mut kept, mut dropped) = (0, 0);
    buf.reset();
    buf.put_byte(record::SERIES);
    while !d.is_empty() {
        let entry = d.rest();
        let id = d.be64()?;
        for _ in 0..d.uvarint_usize()? {
            let name = d.uvarint_str()?;
            d.uvarint_str()?;
            if name.is_empty() {
                return Err(crate::DecodeError::Invalid(
                    "label with an empty name".into(),
                ));
            }
        }
        if keep(id) {
            kept += 1;
            buf.put_bytes(&entry[..entry.len() - d.len()]);
        } else {
            dropped += 1;
        }
    }
    stats.total_series += kept;
    stats.dropped_series += dropped;
    Ok(match (kept, dropped) {
        (0, _) => Filtered::None,
        (_, 0) => Filtered::All,
        _ => Filtered::Some,
    })
}

/// Filters a float samples record by time without collecting its samples unless only some
/// are kept (then they are encoded again, as Prometheus does, on the first kept one's base).
fn filter_samples(
    rec: &[u8],
    mint: i64,
    buf: &mut Encbuf,
    stats: &mut CheckpointStats,
) -> Result<Filtered, crate::DecodeError> {
    let (mut kept, mut dropped) = (0, 0);
    for s in record::SampleIter::new(rec)? {
        if s?.t >= mint {
            kept += 1;
        } else {
            dropped += 1;
        }
    }
    stats.total_samples += kept;
    stats.dropped_samples += dropped;
    Ok(match (kept, dropped) {
        (0, _) => Filtered::None,
        (_, 0) => Filtered::All,
        _ => {
            let samples: Vec<RefSample> = record::SampleIter::new(rec)?
                .filter_map(Result::ok)
                .filter(|s| s.t >= mint)
                .collect();
            record::encode_samples(&samples, buf);
            Filtered::Some
        }
    })
}

/// Filters a decoded record of any type into `buf` (left empty when nothing is kept);
/// metadata goes to `meta`, written at the end.
fn decoded(
    rec: Record,
    keep: impl Fn(u64) -> bool,
    mint: i64,
    stats: &mut CheckpointStats,
    meta: &mut HashMap<u64, RefMetadata>,
    buf: &mut Encbuf,
) {
    match rec {
        Record::Series(mut series) => {
            let n = series.len();
            series.retain(|s| keep(s.id));
            stats.dropped_series += n - series.len();
            stats.total_series += series.len();
            if !series.is_empty() {
                record::encode_series(&series, buf);
            }
        }
        Record::Samples(mut samples) => {
            let n = samples.len();
            samples.retain(|s| s.t >= mint);
            stats.dropped_samples += n - samples.len();
            stats.total_samples += samples.len();
            if !samples.is_empty() {
                record::encode_samples(&samples, buf);
            }
        }
        Record::Tombstones(mut stones) => {
            stones.retain(|s| s.maxt >= mint && keep(s.id));
            if !stones.is_empty() {
                record::encode_tombstones(&stones, buf);
            }
        }
        Record::Exemplars(mut ex) => {
            ex.retain(|e| e.t >= mint && keep(e.id));
            if !ex.is_empty() {
                record::encode_exemplars(&ex, buf);
            }
        }
        Record::Metadata(m) => {
            for m in m.into_iter().filter(|m| keep(m.id)) {
                meta.insert(m.id, m);
            }
        }
        Record::HistogramSamples(mut h) => {
            h.retain(|s| s.t >= mint);
            if !h.is_empty() {
                record::encode_histogram_samples(&h, buf);
            }
        }
        Record::FloatHistogramSamples(mut h) => {
            h.retain(|s| s.t >= mint);
            if !h.is_empty() {
                record::encode_float_histogram_samples(&h, buf);
            }
        }
        Record::StartTimestamps(mut starts) => {
            starts.retain(|s| s.t >= mint && keep(s.id));
            if !starts.is_empty() {
                crate::start::encode_record(&starts, buf);
            }
        }
        Record::MmapMarkers(_) => {}
        Record::Unsupported(t) => {
            tracing::debug!(record_type = t, "checkpoint: dropping unsupported record");
        }
    }
}
