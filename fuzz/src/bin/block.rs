//! AFL++ target: a block's index, chunk segment, meta.json or tombstones (first byte chooses). The harness is
//! `firewatch_fuzz_targets::block` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/block/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::block(data));
}
