//! AFL++ target: a head chunk file (`chunks_head/`). The harness is
//! `firewatch_fuzz_targets::head_chunks` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/head_chunks/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::head_chunks(data));
}
