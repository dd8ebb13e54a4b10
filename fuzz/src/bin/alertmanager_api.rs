//! AFL++ target: the Alertmanager's API v2 alert and silence bodies (first byte chooses). The harness is
//! `firewatch_fuzz_targets::alertmanager_api` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/alertmanager_api/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::alertmanager_api(data));
}
