//! AFL++ target: loading a prometheus.yml. The harness is
//! `firewatch_fuzz_targets::prometheus_yml` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/prometheus_yml/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::prometheus_yml(data));
}
