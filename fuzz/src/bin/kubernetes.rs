//! AFL++ target: Kubernetes API objects of the six SD roles (first byte chooses). The harness is
//! `firewatch_fuzz_targets::kubernetes` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/kubernetes/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::kubernetes(data));
}
