//! Fuzz target: the scrape body parsers (issue 16): the first byte chooses the text format,
//! OpenMetrics or the protobuf (delimited `MetricFamily`) format, the rest is the body.

use firewatch_model::exposition::{Format, ProtobufOptions, ProtobufParser, parse_families};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&first, body)) = data.split_first() else {
            return;
        };
        match first % 3 {
            0 => drop(parse_families(body, Format::Text)),
            1 => drop(parse_families(body, Format::OpenMetrics)),
            _ => {
                let mut p = ProtobufParser::new(body, ProtobufOptions::default());
                while let Ok(Some(_)) = p.next_entry() {}
            }
        }
    });
}
