//! AFL++ target: file_sd target files (JSON or YAML; first byte chooses). The harness is
//! `firewatch_fuzz_targets::file_sd` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/file_sd/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::file_sd(data));
}
