//! Reading head chunks through the maps of `chunks_head/` leaves few file pages resident
//! (issue 15 item 2: a head compaction reads every series' newest full chunk, in label order,
//! and at 1M series the pages it touched, ~100 MiB, counted in the peak resident memory).
//! One test in this file: resident file memory (`RssFile`) is the whole process's.

use firewatch_tsdb::chunkenc::Encoding;
use firewatch_tsdb::chunks::HeadChunkFiles;

/// `RssFile` of the process in KiB, if `/proc` tells.
fn rss_file_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssFile:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[test]
fn reading_chunks_through_the_maps_leaves_few_pages_resident() {
    // 32 MiB of chunks of 120 bytes (20 samples), written pod by pod (100 series a pod, as a
    // scrape commits them), half in a closed file and half in the file being written.
    const CHUNK_BYTES: usize = 120;
    const POD_SERIES: usize = 100;
    const PODS: usize = (32 << 20) / (CHUNK_BYTES * POD_SERIES);
    let dir = tempfile::tempdir().unwrap();
    let mut files = HeadChunkFiles::open(dir.path()).unwrap();
    let mut refs = Vec::new();
    for i in 0..PODS * POD_SERIES {
        let mut data = vec![(i % 251) as u8; CHUNK_BYTES];
        data[..2].copy_from_slice(&20u16.to_be_bytes());
        let t = i as i64;
        refs.push(
            files
                .write_chunk(i as u64 + 1, t, t, Encoding::Xor, &data)
                .unwrap(),
        );
        if i == PODS * POD_SERIES / 2 {
            files.cut_new_file().unwrap();
        }
    }
    files.flush().unwrap();
    let Some(before) = rss_file_kib() else {
        eprintln!("skipped: no /proc/self/status");
        return;
    };
    // Read back in a compaction's label order: one label (say `method`, two values) before
    // the pod, so each value sweeps every pod, reading its 50 series of that value.
    let mut max_growth = 0;
    let mut reads = 0;
    for method in 0..2 {
        for pod in 0..PODS {
            for j in 0..POD_SERIES / 2 {
                let i = pod * POD_SERIES + method * POD_SERIES / 2 + j;
                let (enc, data) = files.chunk(refs[i]).unwrap();
                assert_eq!(
                    (enc, data.len(), data[2]),
                    (Encoding::Xor, CHUNK_BYTES, (i % 251) as u8)
                );
                reads += 1;
                if reads % 2048 == 0 {
                    max_growth = max_growth.max(rss_file_kib().unwrap() - before);
                }
            }
        }
    }
    println!("32 MiB of head chunks read: resident file pages grew by at most {max_growth} KiB");
    // All 32 MiB stayed resident before the pages were dropped every few thousand reads.
    assert!(max_growth < 8 * 1024, "{max_growth} KiB resident");
    files.release_mapped_pages();
    let after = rss_file_kib().unwrap() - before;
    assert!(
        after < 1024,
        "{after} KiB resident after releasing the pages"
    );
}
