//! Robustness of the alertmanager.yml loader against untrusted files (issue 16, item 1): a
//! valid file mutated byte-wise and arbitrary text never panic and give a config or an error;
//! what loads serialises back to YAML that loads again. Cases: `FIREWATCH_FUZZ_CASES`.

use std::path::Path;

use firewatch_alertmanager::Config;
use proptest::prelude::*;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated};

const SEED: &str = include_str!("fuzz_seeds/alertmanager.yml");

fn load(buf: &[u8]) {
    if let Ok(text) = std::str::from_utf8(buf) {
        let _ = Config::parse(text, Path::new("fuzz.yml"));
    }
}

#[test]
fn seed_loads() {
    Config::parse(SEED, Path::new("seed.yml")).expect("the seed loads");
}

proptest! {
    #![proptest_config(fuzz_config(3000))]

    #[test]
    fn alertmanager_yml_mutated(buf in mutated(vec![SEED.as_bytes().to_vec()], 6)) {
        load(&buf);
    }

    #[test]
    fn alertmanager_yml_arbitrary(buf in arbitrary_bytes(256)) {
        load(&buf);
    }
}
