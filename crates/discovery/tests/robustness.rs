//! Robustness of file_sd target files against untrusted content (issue 16, item 1): valid
//! JSON and YAML target lists mutated byte-wise never panic and give target groups or an
//! error. Each case writes the file to a fresh temporary directory. Cases:
//! `FIREWATCH_FUZZ_CASES`.

use firewatch_discovery::file::read_file;
use proptest::prelude::*;
use testkit::fuzz::{fuzz_config, mutated};

const JSON: &str = include_str!("fuzz_seeds/targets.json");
const YAML: &str = include_str!("fuzz_seeds/targets.yml");

fn read(name: &str, buf: &[u8]) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, buf).unwrap();
    read_file(path.to_str().unwrap())
        .map(|g| g.len())
        .map_err(|e| e.to_string())
}

#[test]
fn seeds_read() {
    assert_eq!(read("t.json", JSON.as_bytes()), Ok(3));
    assert_eq!(read("t.yml", YAML.as_bytes()), Ok(3));
}

proptest! {
    #![proptest_config(fuzz_config(3000))]

    #[test]
    fn file_sd_json_mutated(buf in mutated(vec![JSON.as_bytes().to_vec()], 6)) {
        let _ = read("t.json", &buf);
    }

    #[test]
    fn file_sd_yaml_mutated(buf in mutated(vec![YAML.as_bytes().to_vec()], 6)) {
        let _ = read("t.yaml", &buf);
    }
}
