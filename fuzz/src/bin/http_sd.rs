//! AFL++ target: HTTP SD response bodies. The harness is
//! `firewatch_fuzz_targets::http_sd` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/http_sd/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::http_sd(data));
}
