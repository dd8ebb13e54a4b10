//! Robustness of the Alertmanager's untrusted inputs (issue 16, item 1): alertmanager.yml
//! mutated byte-wise and arbitrary text never panic and give a config or an error; alert and
//! silence bodies posted to a running API v2 (valid JSON mutated byte-wise) are answered 200
//! or 400, never a failed request, and the server stays up. Cases: `FIREWATCH_FUZZ_CASES`.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use firewatch_alertmanager::Config;
use proptest::prelude::*;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated};

const SEED: &str = include_str!("fuzz_seeds/alertmanager.yml");

fn load(buf: &[u8]) {
    if let Ok(text) = std::str::from_utf8(buf) {
        let _ = Config::parse(text, Path::new("fuzz.yml"));
    }
}

/// One Firewatch Alertmanager for the API cases of this test binary (never stopped: the
/// process ends with the tests).
fn api_port() -> u16 {
    static INSTANCE: OnceLock<(common::Instance, tempfile::TempDir)> = OnceLock::new();
    let (am, _) = INSTANCE.get_or_init(|| {
        let dir = common::tempdir();
        let am = common::firewatch(
            &dir.path().join("fw"),
            "route: {receiver: a, group_wait: 1h}\nreceivers: [{name: a}]\n",
        );
        (am, dir)
    });
    am.port
}

fn alerts_seed() -> Vec<u8> {
    format!(
        r#"[{{"labels":{{"alertname":"Down","job":"node"}},"annotations":{{"summary":"x"}},"startsAt":"{}","endsAt":"{}","generatorURL":"http://p/graph"}},{{"labels":{{"a":"b"}}}}]"#,
        common::at(-60.0),
        common::at(3600.0)
    )
    .into_bytes()
}

fn silence_seed() -> Vec<u8> {
    format!(
        r#"{{"matchers":[{{"name":"job","value":"no.*","isRegex":true,"isEqual":true}},{{"name":"a","value":"b","isRegex":false}}],"startsAt":"{}","endsAt":"{}","createdBy":"fuzz","comment":"c"}}"#,
        common::at(0.0),
        common::at(3600.0)
    )
    .into_bytes()
}

fn post(path: &str, body: &[u8]) -> Result<(), TestCaseError> {
    let body = String::from_utf8_lossy(body);
    let (code, text) = common::request(api_port(), "POST", path, Some(&body));
    prop_assert!(
        code == 200 || code == 400,
        "POST {} answered {} {:?} for {:?}",
        path,
        code,
        text,
        body
    );
    Ok(())
}

#[test]
fn api_seeds_accepted() {
    let (code, text) = common::request(
        api_port(),
        "POST",
        "/api/v2/alerts",
        Some(std::str::from_utf8(&alerts_seed()).unwrap()),
    );
    assert_eq!(code, 200, "{text}");
    let (code, text) = common::request(
        api_port(),
        "POST",
        "/api/v2/silences",
        Some(std::str::from_utf8(&silence_seed()).unwrap()),
    );
    assert_eq!(code, 200, "{text}");
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
    fn api_alerts_mutated(body in mutated(vec![alerts_seed()], 6)) {
        post("/api/v2/alerts", &body)?;
    }

    #[test]
    fn api_silences_mutated(body in mutated(vec![silence_seed()], 6)) {
        post("/api/v2/silences", &body)?;
    }

    #[test]
    fn alertmanager_yml_arbitrary(buf in arbitrary_bytes(256)) {
        load(&buf);
    }
}
