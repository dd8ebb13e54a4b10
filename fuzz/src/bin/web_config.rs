//! AFL++ target: `--web.config.file`. The harness is
//! `firewatch_fuzz_targets::web_config` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/web_config/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::web_config(data));
}
