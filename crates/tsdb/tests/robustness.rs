//! Robustness of the TSDB's on-disk readers against corrupt files (issue 16, item 1): WAL
//! records and segments, head chunk files, and a block's index and chunk files, written
//! valid and then mutated (flipped, truncated, duplicated, inserted bytes), never panic and
//! give data or an error. Each case writes the mutated file to a fresh temporary directory.
//! Cases: `FIREWATCH_FUZZ_CASES`.

use std::path::Path;
use std::sync::OnceLock;

use firewatch_tsdb::block::{BlockReader, BlockWriter};
use firewatch_tsdb::chunkenc::{self, Encoding, XorChunk};
use firewatch_tsdb::chunks::HeadChunkFiles;
use firewatch_tsdb::encoding::Encbuf;
use firewatch_tsdb::wal::record::{
    self, RefExemplar, RefMetadata, RefMmapMarker, RefSample, RefSeries, RefTombstone,
};
use firewatch_tsdb::wal::{Wal, WalOptions, WalReader};
use model::labels;
use proptest::prelude::*;
use storage::{SampleIterator, ValueType};
use testkit::fuzz::{fuzz_config, mutated};

/// At most this many samples are read from one chunk (a corrupt count cannot loop forever).
const MAX_SAMPLES: usize = 100_000;

fn drain(it: &mut dyn SampleIterator) -> usize {
    let mut n = 0;
    while n < MAX_SAMPLES {
        match it.next() {
            ValueType::None => break,
            ValueType::Float => {
                let _ = it.at();
            }
            ValueType::Histogram => {
                let _ = it.at_histogram();
            }
            ValueType::FloatHistogram => {
                let _ = it.at_float_histogram();
            }
        }
        n += 1;
    }
    n
}

fn read_chunk(enc: Encoding, data: &[u8]) -> usize {
    match chunkenc::iterator(enc, data) {
        Ok(mut it) => drain(it.as_mut()),
        Err(_) => 0,
    }
}

fn wal_records() -> Vec<Vec<u8>> {
    let mut b = Encbuf::default();
    let mut out = Vec::new();
    record::encode_series(
        &[
            RefSeries {
                id: 1,
                labels: labels!("__name__" => "up", "job" => "node"),
            },
            RefSeries {
                id: 2,
                labels: labels!("__name__" => "http_requests_total", "code" => "200"),
            },
        ],
        &mut b,
    );
    out.push(b.get().to_vec());
    record::encode_samples(
        &[
            RefSample {
                id: 1,
                t: 1_700_000_000_000,
                v: 1.0,
            },
            RefSample {
                id: 2,
                t: 1_700_000_015_000,
                v: f64::NAN,
            },
        ],
        &mut b,
    );
    out.push(b.get().to_vec());
    record::encode_tombstones(
        &[RefTombstone {
            id: 1,
            mint: 0,
            maxt: 1000,
        }],
        &mut b,
    );
    out.push(b.get().to_vec());
    record::encode_exemplars(
        &[RefExemplar {
            id: 2,
            t: 1_700_000_000_000,
            v: 0.5,
            labels: labels!("trace_id" => "abc"),
        }],
        &mut b,
    );
    out.push(b.get().to_vec());
    record::encode_mmap_markers(&[RefMmapMarker { id: 1, mmap_ref: 8 }], &mut b);
    out.push(b.get().to_vec());
    record::encode_metadata(
        &[RefMetadata {
            id: 2,
            typ: 1,
            unit: "requests".into(),
            help: "Requests.".into(),
        }],
        &mut b,
    );
    out.push(b.get().to_vec());
    out
}

/// Valid WAL segments (uncompressed and snappy) holding the seed records.
fn wal_segments() -> &'static Vec<Vec<u8>> {
    static SEGMENTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEGMENTS.get_or_init(|| {
        [false, true]
            .into_iter()
            .map(|compress| {
                let dir = tempfile::tempdir().unwrap();
                let mut w = Wal::open(
                    dir.path(),
                    WalOptions {
                        segment_size: 128 * 1024,
                        compress,
                        sync_on_log: false,
                    },
                )
                .unwrap();
                let recs = wal_records();
                // Records bigger than a page exercise first/middle/last fragments.
                let big: Vec<u8> = recs
                    .iter()
                    .flatten()
                    .copied()
                    .cycle()
                    .take(40_000)
                    .collect();
                let mut refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
                refs.push(&big);
                w.log(&refs).unwrap();
                w.close().unwrap();
                std::fs::read(dir.path().join("00000000")).unwrap()
            })
            .collect()
    })
}

fn read_wal(segment: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("00000000"), segment).unwrap();
    let Ok(mut r) = WalReader::open_dir(dir.path()) else {
        return;
    };
    while let Ok(Some(rec)) = r.next_record() {
        let _ = record::decode(rec);
    }
}

/// A valid head chunk file with a few chunks.
fn head_chunk_file() -> &'static Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut f = HeadChunkFiles::open(dir.path()).unwrap();
        for s in 0..4u64 {
            let mut c = XorChunk::new();
            for i in 0..30 {
                c.append(i * 15_000, (i as f64) * 1.5 + s as f64).unwrap();
            }
            f.write_chunk(s + 1, 0, 29 * 15_000, Encoding::Xor, &c.into_bytes())
                .unwrap();
        }
        f.close().unwrap();
        let seqs: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(seqs.len(), 1, "one head chunk file");
        std::fs::read(seqs[0].as_ref().unwrap().path()).unwrap()
    })
}

fn read_head_chunks(file: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("000001"), file).unwrap();
    let Ok(mut f) = HeadChunkFiles::open(dir.path()) else {
        return;
    };
    let mut metas = Vec::new();
    let _ = f.iterate_all_chunks(|m| {
        metas.push(m.chunk_ref);
        Ok(())
    });
    for r in metas {
        if let Ok((enc, data)) = f.chunk(r) {
            read_chunk(enc, &data);
        }
    }
}

/// A valid block's directory name and its files (relative path, bytes).
fn block_files() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::new(dir.path()).with_samples_per_chunk(20);
        for s in 0..5i32 {
            let samples: Vec<(i64, f64)> = (0..50i32)
                .map(|i| (i64::from(i) * 1000, f64::from(i + s)))
                .collect();
            w.add_series(
                labels!("__name__" => "m", "series" => s.to_string().as_str(), "job" => "fuzz"),
                &samples,
            )
            .unwrap();
        }
        let meta = w.write().unwrap();
        let block = dir.path().join(meta.ulid.to_string());
        ["meta.json", "index", "chunks/000001", "tombstones"]
            .iter()
            .filter(|f| block.join(f).exists())
            .map(|f| ((*f).to_string(), std::fs::read(block.join(f)).unwrap()))
            .collect()
    })
}

/// Writes the seed block with `file` replaced by `bytes`, opens it and reads every series
/// and chunk.
fn read_block(file: &str, bytes: &[u8]) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let block = dir.path().join("01HZZZZZZZZZZZZZZZZZZZZZZZ");
    std::fs::create_dir_all(block.join("chunks")).unwrap();
    for (name, data) in block_files() {
        let data = if name == file { bytes } else { data };
        std::fs::write(block.join(name), data).unwrap();
    }
    read_block_dir(&block)
}

fn read_block_dir(block: &Path) -> Result<usize, String> {
    let r = BlockReader::open(block).map_err(|e| e.to_string())?;
    let ids = r.index().all_postings().map_err(|e| e.to_string())?;
    let mut samples = 0;
    for name in r.index().label_names().to_vec() {
        let _ = r.index().label_values(&name);
    }
    for id in ids {
        let (_, metas) = r.index().series(id).map_err(|e| e.to_string())?;
        for m in metas {
            let (enc, data) = r.chunks().chunk(m.r#ref).map_err(|e| e.to_string())?;
            samples += read_chunk(enc, data);
        }
    }
    Ok(samples)
}

#[test]
fn seeds_are_valid() {
    for rec in wal_records() {
        record::decode(&rec).expect("seed record decodes");
    }
    for seg in wal_segments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00000000"), seg).unwrap();
        let mut r = WalReader::open_dir(dir.path()).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            if n < 6 {
                record::decode(rec).unwrap();
            }
            n += 1;
        }
        assert_eq!(n, 7);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("000001"), head_chunk_file()).unwrap();
    let mut f = HeadChunkFiles::open(dir.path()).unwrap();
    let mut n = 0;
    f.iterate_all_chunks(|_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 4);
    let index = &block_files().iter().find(|(n, _)| n == "index").unwrap().1;
    assert_eq!(read_block("index", index), Ok(250));
}

/// Regression (found by `wal_segments_mutated`): a series record whose label name is empty
/// panicked in `Labels` (debug builds); it is now a decode error.
#[test]
fn wal_series_label_with_empty_name_is_an_error() {
    // Type 1 (series), ref 7, one label: name "" value "x".
    let rec = [1u8, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0, 1, b'x'];
    let err = record::decode(&rec).unwrap_err();
    assert!(
        err.to_string().contains("label with an empty name"),
        "{err}"
    );
}

/// Regression: a snappy WAL record whose (checksummed) header claims 4 GiB is a corruption
/// error, not a 4 GiB allocation.
#[test]
fn wal_snappy_record_claiming_4_gib_is_corruption() {
    // Snappy varint length 0xFFFF_FFFF, then one literal byte.
    let data = [0xffu8, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
    let mut seg = vec![1u8 | (1 << 3)];
    seg.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
    seg.extend_from_slice(&firewatch_tsdb::encoding::crc32c(&data).to_be_bytes());
    seg.extend_from_slice(&data);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("00000000"), &seg).unwrap();
    let mut r = WalReader::open_dir(dir.path()).unwrap();
    let err = r.next_record().unwrap_err();
    assert!(
        err.to_string().contains("header claims 4294967295 bytes"),
        "{err}"
    );
}

/// Regression (found by AFL++, target `head_chunks`; the input is also in
/// `fuzz/regressions/head_chunks/`): a chunk whose length varint says 2^64 - 1 overflowed the
/// end offset (a panic with overflow checks, a wrong bounds check without); it is a corruption
/// error naming the bytes required.
#[test]
fn head_chunk_length_of_2_pow_64_is_corruption() {
    // File header (magic, version 1, padding), a chunk header of ASCII zeros (series ref, min
    // and max time, encoding), then the length uvarint u64::MAX.
    let mut file = vec![0x01, 0x30, 0xbc, 0x91, 0x01, b'0', b'0', b'0'];
    file.extend_from_slice(&[b'0'; 25]);
    file.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("000001"), &file).unwrap();
    let err = HeadChunkFiles::open(dir.path())
        .and_then(|mut f| f.iterate_all_chunks(|_| Ok(())))
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "doesn't include enough bytes to read the chunk - required:18446744073709551615"
        ),
        "{err}"
    );
}

proptest! {
    #![proptest_config(fuzz_config(1500))]

    #[test]
    fn wal_records_mutated(rec in mutated(wal_records(), 6)) {
        let _ = record::decode(&rec);
    }

    #[test]
    fn wal_segments_mutated(seg in mutated(wal_segments().clone(), 6)) {
        read_wal(&seg);
    }

    #[test]
    fn head_chunk_files_mutated(file in mutated(vec![head_chunk_file().clone()], 6)) {
        read_head_chunks(&file);
    }

    #[test]
    fn block_index_mutated(
        index in mutated(vec![block_files().iter().find(|(n, _)| n == "index").unwrap().1.clone()], 6)
    ) {
        let _ = read_block("index", &index);
    }

    #[test]
    fn block_chunks_mutated(
        chunks in mutated(vec![block_files().iter().find(|(n, _)| n == "chunks/000001").unwrap().1.clone()], 6)
    ) {
        let _ = read_block("chunks/000001", &chunks);
    }

    #[test]
    fn block_meta_and_tombstones_mutated(
        meta in mutated(vec![block_files().iter().find(|(n, _)| n == "meta.json").unwrap().1.clone()], 4),
        stones in mutated(vec![block_files().iter().find(|(n, _)| n == "tombstones").map_or_else(Vec::new, |f| f.1.clone()), vec![0; 9]], 4),
    ) {
        let _ = read_block("meta.json", &meta);
        let _ = read_block("tombstones", &stones);
    }
}
