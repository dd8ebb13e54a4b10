//! AFL++ target: the scrape body parsers (text, OpenMetrics, protobuf; first byte chooses). The harness is
//! `firewatch_fuzz_targets::exposition` (crates/fuzz-targets), which the suite also runs over
//! `fuzz/corpus/exposition/`.

fn main() {
    afl::fuzz!(|data: &[u8]| firewatch_fuzz_targets::exposition(data));
}
