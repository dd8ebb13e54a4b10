//! Fuzz target: rule files (YAML, then every expression parsed and checked, templates too).

use std::path::Path;

use firewatch_config::ValidationScheme;
use firewatch_config::rules::{RuleFile, promql_check};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = RuleFile::parse(
                text,
                Path::new("fuzz.yml"),
                &promql_check,
                ValidationScheme::Utf8,
            );
        }
    });
}
