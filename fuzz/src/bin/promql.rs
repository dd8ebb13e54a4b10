//! AFL++ target: the PromQL parser. The harness is
//! `firewatch_fuzz_targets::promql` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/promql/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::promql(data));
}
