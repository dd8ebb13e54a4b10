//! AFL++ target: a WAL segment read by replay's reader or remote write's live reader (first
//! byte chooses), every record decoded. The harness is `firewatch_fuzz_targets::wal_segment`
//! (crates/fuzz-targets), which the suite also runs over `fuzz/corpus/wal_segment/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::wal_segment(data));
}
