//! Harnesses for the TSDB's files, which a damaged or hostile disk can hold anything in:
//! WAL records and segments, head chunk files (`chunks_head/`) and a block's files (index,
//! chunk segment, meta.json, tombstones).

use std::path::Path;
use std::sync::OnceLock;

use storage::{SampleIterator, ValueType};
use tsdb::block::{BlockReader, BlockWriter};
use tsdb::chunkenc::{self, Encoding};
use tsdb::chunks::HeadChunkFiles;
use tsdb::encoding::Encbuf;
use tsdb::wal::record::{self, RefSample, RefSeries, RefTombstone};
use tsdb::wal::{LiveReader, Wal, WalOptions, WalReader};

use crate::scratch_dir;

/// Samples read from one chunk at most (a corrupt header may claim many).
const MAX_SAMPLES: usize = 100_000;

fn drain(it: &mut dyn SampleIterator) -> usize {
    let mut n = 0;
    while n < MAX_SAMPLES {
        match it.next() {
            ValueType::None => break,
            ValueType::Float => drop(it.at()),
            ValueType::Histogram => drop(it.at_histogram()),
            ValueType::FloatHistogram => drop(it.at_float_histogram()),
        }
        n += 1;
    }
    n
}

fn read_chunk(enc: Encoding, data: &[u8]) -> usize {
    chunkenc::iterator(enc, data).map_or(0, |mut it| drain(it.as_mut()))
}

/// Decoding one WAL record (series, samples, tombstones, exemplars, metadata, histograms),
/// as replay does for every record of a segment.
pub fn wal_record(data: &[u8]) {
    let _ = record::decode(data);
}

/// A WAL segment file (`wal/00000000`): the first byte chooses the reader, replay's
/// [`WalReader`] (even) or remote write's tailing [`LiveReader`] (odd); the rest is the
/// segment, whose records are read (pages, fragments, CRCs, snappy) and decoded.
pub fn wal_segment(data: &[u8]) {
    if let Some((&first, segment)) = data.split_first() {
        let _ = wal_segment_records(first % 2 == 1, segment);
    }
}

/// Records at most read from one segment (a valid segment of 1-byte records cannot hold
/// more than this in what AFL++ hands over).
const MAX_RECORDS: usize = 1 << 20;

/// How many records of `segment` decode, as [`wal_segment`] reads them with the live reader
/// or the replay reader; tests check that the seeds reach the record decoding.
#[must_use]
pub fn wal_segment_records(live: bool, segment: &[u8]) -> usize {
    let Ok(dir) = scratch_dir() else {
        return 0;
    };
    let path = dir.path().join("00000000");
    if std::fs::write(&path, segment).is_err() {
        return 0;
    }
    let mut decoded = 0;
    if live {
        let Ok(mut r) = LiveReader::open(&path, 0) else {
            return 0;
        };
        for _ in 0..MAX_RECORDS {
            let Ok(Some(rec)) = r.next_record() else {
                break;
            };
            decoded += usize::from(record::decode(rec.data).is_ok());
        }
    } else {
        let Ok(mut r) = WalReader::open_dir(dir.path()) else {
            return 0;
        };
        for _ in 0..MAX_RECORDS {
            let Ok(Some(rec)) = r.next_record() else {
                break;
            };
            decoded += usize::from(record::decode(rec).is_ok());
        }
    }
    decoded
}

/// Valid WAL segments, each the seed of [`wal_segment`] (without its first byte): three
/// records uncompressed, the same snappy-compressed, and three records of which the middle
/// one spans two pages (first and last fragments), uncompressed; without the last page's
/// zero padding.
#[must_use]
pub fn seed_wal_segments() -> Vec<(&'static str, Vec<u8>)> {
    let mut b = Encbuf::default();
    record::encode_series(
        &[RefSeries {
            id: 1,
            labels: model::labels!("__name__" => "up", "job" => "node"),
        }],
        &mut b,
    );
    let series = b.get().to_vec();
    let samples: Vec<RefSample> = (0..2)
        .map(|i| RefSample {
            id: 1,
            t: 1_700_000_000_000 + i * 15_000,
            v: 1.0,
        })
        .collect();
    record::encode_samples(&samples, &mut b);
    let small = b.get().to_vec();
    // 2 600 samples of 13 bytes: more than a 32 KiB page.
    let many: Vec<RefSample> = (0..2_600)
        .map(|i| RefSample {
            id: 1,
            t: 1_700_000_000_000 + i * 15_000,
            v: f64::from(u32::try_from(i).unwrap_or(0)),
        })
        .collect();
    record::encode_samples(&many, &mut b);
    let big = b.get().to_vec();
    record::encode_tombstones(
        &[RefTombstone {
            id: 1,
            mint: 0,
            maxt: 1000,
        }],
        &mut b,
    );
    let stones = b.get().to_vec();
    let segment = |compress: bool, recs: &[&[u8]]| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let opts = WalOptions {
            segment_size: 128 * 1024,
            compress,
            sync_on_log: false,
        };
        let mut w = Wal::open(dir.path(), opts).expect("WAL");
        w.log(recs).expect("logging the seed records");
        w.close().expect("closing the WAL");
        let mut bytes = std::fs::read(dir.path().join("00000000")).expect("reading the segment");
        // The zeros padding the last page: a segment still being written ends without them,
        // and AFL++ mutates short inputs better.
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        bytes.truncate(end);
        bytes
    };
    vec![
        ("plain", segment(false, &[&series, &small, &stones])),
        ("snappy", segment(true, &[&series, &small, &stones])),
        ("fragments", segment(false, &[&series, &big, &stones])),
    ]
}

/// A head chunk file (`chunks_head/000001`): opened as at start-up, every chunk listed and
/// read back and its samples decoded.
pub fn head_chunks(data: &[u8]) {
    let _ = head_chunk_samples(data);
}

/// The files of a block: the first byte chooses which file of a valid seed block the rest
/// replaces (index, chunk segment, meta.json, tombstones); the block is opened (verified as
/// at start-up) and every series and chunk read.
pub fn block(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let replaced = BLOCK_FILES[usize::from(first) % BLOCK_FILES.len()];
    let _ = block_samples(replaced, bytes);
}

/// The samples a block made of the seed block's files with `replaced` swapped for `bytes`
/// holds, as [`block`] reads them; an error when it does not open or read.
///
/// # Errors
/// The block does not open, or a series or chunk does not read.
pub fn block_samples(replaced: &str, bytes: &[u8]) -> Result<usize, String> {
    let dir = scratch_dir().map_err(|e| e.to_string())?;
    let block = dir.path().join("01HZZZZZZZZZZZZZZZZZZZZZZZ");
    std::fs::create_dir_all(block.join("chunks")).map_err(|e| e.to_string())?;
    for (name, seed) in seed_block() {
        let content = if *name == replaced { bytes } else { seed };
        std::fs::write(block.join(name), content).map_err(|e| e.to_string())?;
    }
    read_block(&block)
}

/// The files [`block`] can replace, in the order its first byte selects them.
pub const BLOCK_FILES: [&str; 4] = ["index", "chunks/000001", "meta.json", "tombstones"];

/// The files of the seed block: five series of 50 samples, chunks of 20.
#[must_use]
pub fn seed_block() -> &'static [(&'static str, Vec<u8>)] {
    static FILES: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut w = BlockWriter::new(dir.path()).with_samples_per_chunk(20);
        for s in 0..5i32 {
            let samples: Vec<(i64, f64)> = (0..50i32)
                .map(|i| (i64::from(i) * 1000, f64::from(i + s)))
                .collect();
            let series = s.to_string();
            w.add_series(
                model::labels!("__name__" => "m", "series" => series.as_str(), "job" => "fuzz"),
                &samples,
            )
            .expect("seed series");
        }
        let meta = w.write().expect("seed block");
        let block = dir.path().join(meta.ulid.to_string());
        BLOCK_FILES
            .iter()
            .map(|f| (*f, std::fs::read(block.join(f)).unwrap_or_default()))
            .collect()
    })
}

fn read_block(block: &Path) -> Result<usize, String> {
    let r = BlockReader::open(block).map_err(|e| e.to_string())?;
    let ids = r.index().all_postings().map_err(|e| e.to_string())?;
    for name in r.index().label_names().to_vec() {
        let _ = r.index().label_values(&name);
    }
    let mut samples = 0;
    for id in ids {
        let (_, metas) = r.index().series(id).map_err(|e| e.to_string())?;
        for m in metas {
            let (enc, data) = r.chunks().chunk(m.r#ref).map_err(|e| e.to_string())?;
            samples += read_chunk(enc, data);
        }
    }
    Ok(samples)
}

/// A valid head chunk file holding four chunks of 30 samples (the `head_chunks` seed).
#[must_use]
pub fn seed_head_chunk_file() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut f = HeadChunkFiles::open(dir.path()).expect("head chunk files");
    for s in 0..4u32 {
        let mut c = chunkenc::XorChunk::new();
        for i in 0..30u32 {
            c.append(i64::from(i) * 15_000, f64::from(i) * 1.5 + f64::from(s))
                .expect("appending to a fresh chunk");
        }
        f.write_chunk(
            u64::from(s) + 1,
            0,
            29 * 15_000,
            Encoding::Xor,
            &c.into_bytes(),
        )
        .expect("writing a chunk");
    }
    f.close().expect("closing");
    let file = std::fs::read_dir(dir.path())
        .expect("listing")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("one head chunk file");
    std::fs::read(file).expect("reading the file")
}

/// How many samples a head chunk file holds as [`head_chunks`] reads it (tests check that
/// the seed reaches the chunk decoding).
#[must_use]
pub fn head_chunk_samples(data: &[u8]) -> usize {
    let Ok(dir) = scratch_dir() else {
        return 0;
    };
    if std::fs::write(dir.path().join("000001"), data).is_err() {
        return 0;
    }
    let Ok(mut files) = HeadChunkFiles::open(dir.path()) else {
        return 0;
    };
    let mut refs = Vec::new();
    let _ = files.iterate_all_chunks(|m| {
        refs.push(m.chunk_ref);
        Ok(())
    });
    refs.into_iter()
        .filter_map(|r| files.chunk(r).ok())
        .map(|(enc, bytes)| read_chunk(enc, &bytes))
        .sum()
}
