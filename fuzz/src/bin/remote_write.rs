//! AFL++ target: remote-write 1.0/2.0 and remote-read request bodies (first byte chooses). The harness is
//! `firewatch_fuzz_targets::remote_write` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/remote_write/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::remote_write(data));
}
