//! AFL++ target: rule files (YAML, expressions, templates). The harness is
//! `firewatch_fuzz_targets::rule_file` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/rule_file/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::rule_file(data));
}
