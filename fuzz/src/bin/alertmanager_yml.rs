//! AFL++ target: the Alertmanager's configuration file. The harness is
//! `firewatch_fuzz_targets::alertmanager_yml` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/alertmanager_yml/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::alertmanager_yml(data));
}
