//! Tests of the chunk files.

use super::*;
use crate::chunkenc::XorChunk;

fn chunk(n: i64) -> XorChunk {
    let mut c = XorChunk::new();
    for i in 0..n {
        c.append(i * 15_000, i as f64 * 1.5).unwrap();
    }
    c
}

#[test]
fn segment_roundtrip_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::new(dir.path()).unwrap();
    let c1 = chunk(3);
    let c2 = chunk(120);
    let r1 = w.write_chunk(Encoding::Xor, c1.bytes()).unwrap();
    let r2 = w.write_chunk(Encoding::Xor, c2.bytes()).unwrap();
    w.close().unwrap();
    assert_eq!(r1, chunk_ref(0, 8));
    let len1 = c1.bytes().len();
    assert_eq!(r2, chunk_ref(0, (8 + 1 + 1 + len1 + 4) as u32));

    let raw = std::fs::read(dir.path().join("000001")).unwrap();
    assert_eq!(&raw[..8], [0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0]);
    assert_eq!(raw[8] as usize, len1);
    assert_eq!(raw[9], 1, "XOR encoding byte");
    assert_eq!(&raw[10..10 + len1], c1.bytes());
    let crc = crate::encoding::crc32c(&raw[9..10 + len1]);
    assert_eq!(&raw[10 + len1..14 + len1], crc.to_be_bytes());

    let r = SegmentReader::open(dir.path()).unwrap();
    assert_eq!(r.chunk(r1).unwrap(), (Encoding::Xor, c1.bytes()));
    assert_eq!(r.chunk(r2).unwrap(), (Encoding::Xor, c2.bytes()));
    assert_eq!(r.size(), raw.len() as u64);
    assert!(r.chunk(chunk_ref(1, 8)).is_err());
    assert!(r.chunk(chunk_ref(0, 3)).is_err());
}

#[test]
fn segments_are_cut_at_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::with_segment_size(dir.path(), 300).unwrap();
    let chunks: Vec<XorChunk> = (1..20).map(chunk).collect();
    let refs: Vec<ChunkRef> = chunks
        .iter()
        .map(|c| w.write_chunk(Encoding::Xor, c.bytes()).unwrap())
        .collect();
    w.close().unwrap();
    let files = list_segment_files(dir.path()).unwrap();
    assert!(files.len() > 1, "{files:?}");
    for (_, p) in &files {
        assert!(std::fs::metadata(p).unwrap().len() <= 300);
    }
    let r = SegmentReader::open(dir.path()).unwrap();
    assert_eq!(r.num_segments(), files.len());
    for (c, rf) in chunks.iter().zip(refs) {
        assert_eq!(r.chunk(rf).unwrap().1, c.bytes());
    }
}

#[test]
fn segment_corruption_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::new(dir.path()).unwrap();
    let r1 = w.write_chunk(Encoding::Xor, chunk(5).bytes()).unwrap();
    w.close().unwrap();
    let p = dir.path().join("000001");
    let mut raw = std::fs::read(&p).unwrap();
    raw[12] ^= 0x10;
    std::fs::write(&p, &raw).unwrap();
    let r = SegmentReader::open(dir.path()).unwrap();
    let err = r.chunk(r1).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    raw[0] = 0;
    std::fs::write(&p, &raw).unwrap();
    assert!(
        SegmentReader::open(dir.path())
            .unwrap_err()
            .to_string()
            .contains("invalid magic number")
    );
}

#[test]
fn head_chunks_write_read_iterate() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = HeadChunkFiles::with_max_file_size(dir.path(), 1000).unwrap();
    let mut written = Vec::new();
    for s in 1..=20u64 {
        let c = chunk(s as i64 + 1);
        let maxt = s as i64 * 15_000;
        let r = h.write_chunk(s, 0, maxt, Encoding::Xor, c.bytes()).unwrap();
        // Readable at once, from the pending buffer.
        assert_eq!(h.chunk(r).unwrap(), (Encoding::Xor, c.bytes().to_vec()));
        written.push((s, r, maxt, c));
    }
    assert!(h.file_sequences().len() > 1);
    for (_, r, _, c) in &written {
        assert_eq!(h.chunk(*r).unwrap().1, c.bytes());
    }
    let raw = std::fs::read(dir.path().join("000001")).unwrap();
    assert_eq!(&raw[..8], [0x01, 0x30, 0xbc, 0x91, 1, 0, 0, 0]);
    assert_eq!(&raw[8..16], 1u64.to_be_bytes(), "series ref first");
    h.close().unwrap();

    let mut h = HeadChunkFiles::with_max_file_size(dir.path(), 1000).unwrap();
    let mut seen = Vec::new();
    h.iterate_all_chunks(|m| {
        seen.push(m);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), written.len());
    for (m, (s, r, maxt, c)) in seen.iter().zip(&written) {
        assert_eq!((m.series_ref, m.chunk_ref, m.max_time), (*s, *r, *maxt));
        assert_eq!(usize::from(m.num_samples), c.num_samples());
        assert_eq!(h.chunk(m.chunk_ref).unwrap().1, c.bytes());
    }
    // New chunks go to a new file after the existing ones.
    let before = h.file_sequences();
    let r = h
        .write_chunk(99, 1, 2, Encoding::Xor, chunk(2).bytes())
        .unwrap();
    assert_eq!((r >> 32) as u32, before.last().unwrap() + 1);

    // Truncation drops leading files whose chunks all end before mint.
    let first_maxt_of_second = seen
        .iter()
        .find(|m| (m.chunk_ref >> 32) == 2)
        .unwrap()
        .max_time;
    h.truncate(first_maxt_of_second).unwrap();
    assert!(!dir.path().join("000001").exists());
    assert!(h.chunk(written[0].1).is_err());
    assert!(dir.path().join("000002").exists());
}

#[test]
fn head_chunks_corruption_names_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = HeadChunkFiles::open(dir.path()).unwrap();
    h.write_chunk(1, 0, 10, Encoding::Xor, chunk(3).bytes())
        .unwrap();
    h.close().unwrap();
    let p = dir.path().join("000001");
    let mut raw = std::fs::read(&p).unwrap();
    let n = raw.len();
    raw[n - 6] ^= 0xff;
    std::fs::write(&p, &raw).unwrap();
    let mut h = HeadChunkFiles::open(dir.path()).unwrap();
    let err = h.iterate_all_chunks(|_| Ok(())).unwrap_err();
    assert!(
        matches!(err, TsdbError::HeadChunkCorruption { seq: 1, .. }),
        "{err}"
    );
    h.delete_from(1).unwrap();
    assert!(!p.exists());
}

#[test]
fn head_chunks_preallocated_zeros_end_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = HeadChunkFiles::open(dir.path()).unwrap();
    h.write_chunk(7, 0, 10, Encoding::Xor, chunk(3).bytes())
        .unwrap();
    h.close().unwrap();
    let p = dir.path().join("000001");
    let mut raw = std::fs::read(&p).unwrap();
    raw.resize(raw.len() + 4096, 0);
    std::fs::write(&p, &raw).unwrap();
    // An empty last file is removed on open.
    std::fs::write(dir.path().join("000002"), b"").unwrap();
    let mut h = HeadChunkFiles::open(dir.path()).unwrap();
    assert_eq!(h.file_sequences(), [1]);
    let mut n = 0;
    h.iterate_all_chunks(|m| {
        assert_eq!(m.series_ref, 7);
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 1);
}
