//! AFL++ target: decoding one WAL record. The harness is
//! `firewatch_fuzz_targets::wal_record` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/wal_record/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::wal_record(data));
}
