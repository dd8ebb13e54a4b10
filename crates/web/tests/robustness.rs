//! Robustness of the web config (`--web.config.file`) loader against untrusted files
//! (issue 16, item 1): a valid file mutated byte-wise and arbitrary text never panic and give
//! a config or an error. Cases: `FIREWATCH_FUZZ_CASES`.

use firewatch_web::webconfig::WebConfig;
use proptest::prelude::*;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated};

const SEED: &str = include_str!("fuzz_seeds/web.yml");

fn load(buf: &[u8]) {
    if let Ok(text) = std::str::from_utf8(buf) {
        let _ = WebConfig::parse(text);
    }
}

#[test]
fn seed_parses() {
    WebConfig::parse(SEED).expect("the seed parses");
}

proptest! {
    #![proptest_config(fuzz_config(20000))]

    #[test]
    fn web_config_mutated(buf in mutated(vec![SEED.as_bytes().to_vec()], 6)) {
        load(&buf);
    }

    #[test]
    fn web_config_arbitrary(buf in arbitrary_bytes(256)) {
        load(&buf);
    }
}
