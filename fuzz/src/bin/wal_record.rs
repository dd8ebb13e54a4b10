//! Fuzz target: decoding one WAL record (series, samples, tombstones, exemplars, metadata,
//! histograms), as replay does for every record of a segment.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = firewatch_tsdb::wal::record::decode(data);
    });
}
