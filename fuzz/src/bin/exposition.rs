//! Fuzz target: the text and OpenMetrics exposition parsers (scrape bodies), chosen by the
//! first byte.

use firewatch_model::exposition::{Format, parse_families};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&first, body)) = data.split_first() else {
            return;
        };
        let format = if first % 2 == 0 {
            Format::Text
        } else {
            Format::OpenMetrics
        };
        let _ = parse_families(body, format);
    });
}
