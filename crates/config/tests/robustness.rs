//! Robustness of the prometheus.yml and rule-file loaders against untrusted files (issue 16,
//! item 1): valid files mutated byte-wise and arbitrary text never panic and give a config or
//! an error. Cases: `FIREWATCH_FUZZ_CASES`.

use std::path::Path;

use firewatch_config::rules::{RuleFile, promql_check};
use firewatch_config::{Config, ValidationScheme};
use proptest::prelude::*;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated, seed_files};

fn seeds(dir: &str) -> Vec<Vec<u8>> {
    seed_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_seeds")
            .join(dir),
    )
}

const BASE: &str = "/nonexistent-firewatch-fuzz";

fn load_config(buf: &[u8]) {
    if let Ok(text) = std::str::from_utf8(buf)
        && let Ok(c) = Config::from_yaml_str(text, BASE)
    {
        let _ = c.all_scrape_configs();
        let _ = c.to_yaml();
    }
}

fn load_rules(buf: &[u8]) {
    if let Ok(text) = std::str::from_utf8(buf) {
        let _ = RuleFile::parse(
            text,
            Path::new("fuzz.yml"),
            &promql_check,
            ValidationScheme::Utf8,
        );
    }
}

#[test]
fn seeds_load() {
    for s in seeds("prometheus") {
        let text = std::str::from_utf8(&s).unwrap();
        Config::from_yaml_str(text, BASE).unwrap_or_else(|e| panic!("seed: {e}\n{text}"));
    }
    for s in seeds("rules") {
        let text = std::str::from_utf8(&s).unwrap();
        RuleFile::parse(
            text,
            Path::new("r.yml"),
            &promql_check,
            ValidationScheme::Utf8,
        )
        .unwrap_or_else(|e| panic!("seed: {e}\n{text}"));
    }
}

proptest! {
    #![proptest_config(fuzz_config(10000))]

    #[test]
    fn prometheus_yml_mutated(buf in mutated(seeds("prometheus"), 6)) {
        load_config(&buf);
    }

    #[test]
    fn rule_files_mutated(buf in mutated(seeds("rules"), 6)) {
        load_rules(&buf);
    }

    #[test]
    fn yaml_arbitrary(buf in arbitrary_bytes(256)) {
        load_config(&buf);
        load_rules(&buf);
    }
}
