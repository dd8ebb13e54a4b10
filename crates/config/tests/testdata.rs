//! Data-driven conformance over Prometheus's own `config/testdata` (copied to
//! `shared/prometheus-config-testdata/`): good files load, bad files are refused at the
//! stage Prometheus refuses them, with Prometheus's text where the expectations give one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use firewatch_config::{Config, StaticConfig};

/// Prometheus's `config/testdata` under the conformance data directory (`testkit::shared_dir`).
fn testdata() -> String {
    testkit::shared_dir()
        .join("prometheus-config-testdata")
        .display()
        .to_string()
}

/// Discovery mechanisms Firewatch runs (`static_configs` has no `_sd_` in its name).
const SUPPORTED_SD: &[&str] = &["file", "http", "dns", "kubernetes"];

fn dir() -> PathBuf {
    PathBuf::from(testdata())
}

/// `(file, expected substring, stage)` rows of `expected_errors.tsv`.
fn expectations() -> Vec<(String, String, String)> {
    let text =
        std::fs::read_to_string(dir().join("expected_errors.tsv")).expect("expected_errors.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// The `*_sd_configs` mechanisms a file names.
fn sd_mechanisms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some((key, _)) = t.split_once(':')
            && let Some(name) = key.trim().strip_suffix("_sd_configs")
        {
            out.push(name.to_string());
        }
    }
    out
}

/// The `scrape_config_files` patterns of a file (a simple reading of the list).
fn included_patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("scrape_config_files:") {
            inside = true;
        } else if inside && line.trim_start().starts_with("- ") {
            out.push(
                line.trim_start()[2..]
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_string(),
            );
        } else if !line.starts_with(' ') {
            inside = false;
        }
    }
    out
}

fn files_with_suffix(suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// The text an error is compared with: Prometheus names files as `testdata/NAME`.
fn expected_text(expected: &str) -> String {
    expected.replace("testdata/", &format!("{}/", testdata()))
}

#[test]
fn good_files_with_supported_discovery_load() {
    if testkit::shared_path(
        "config::testdata::good_files_with_supported_discovery_load",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    let mut loaded = 0;
    let mut refused_unsupported = 0;
    for path in files_with_suffix(".good.yml") {
        let mut text = std::fs::read_to_string(&path).unwrap();
        // Included scrape config files count too.
        for pattern in included_patterns(&text) {
            for f in firewatch_config::glob::glob(&format!("{}/{pattern}", testdata())).unwrap() {
                text.push_str(&std::fs::read_to_string(f).unwrap_or_default());
            }
        }
        let unsupported: Vec<String> = sd_mechanisms(&text)
            .into_iter()
            .filter(|m| !SUPPORTED_SD.contains(&m.as_str()))
            .collect();
        let result = Config::load(&path).and_then(|c| c.all_scrape_configs().map(|_| c));
        if unsupported.is_empty() {
            if let Err(e) = result {
                panic!("{} should load: {e}", path.display());
            }
            loaded += 1;
        } else {
            let e = result.expect_err("unsupported discovery must be refused");
            let msg = e.to_string();
            assert!(
                unsupported.iter().any(|m| msg.contains(&format!("{m}_sd_configs is not supported by Firewatch"))),
                "{}: {msg}",
                path.display()
            );
            refused_unsupported += 1;
        }
    }
    println!("{loaded} good files loaded, {refused_unsupported} refused for unsupported discovery");
    assert!(loaded >= 45, "only {loaded} good files loaded");
}

#[test]
fn bad_files_are_refused_with_prometheus_texts() {
    if testkit::shared_path(
        "config::testdata::bad_files_are_refused_with_prometheus_texts",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    // Rows grouped by file: a file may have several expected substrings.
    let mut by_file: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (file, text, stage) in expectations() {
        by_file
            .entry(file)
            .or_insert_with(|| (stage.clone(), Vec::new()))
            .1
            .push(text);
    }
    let (mut refused, mut matched, mut total_texts) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for (file, (stage, texts)) in &by_file {
        let path = dir().join(file);
        let err = match stage.as_str() {
            "load" => Config::load(&path).err(),
            "get_scrape_configs" => {
                let cfg =
                    Config::load(&path).unwrap_or_else(|e| panic!("{file} itself must load: {e}"));
                cfg.all_scrape_configs().err()
            }
            "load_agent_mode" => {
                let cfg =
                    Config::load(&path).unwrap_or_else(|e| panic!("{file} itself must load: {e}"));
                cfg.check_agent_mode().err()
            }
            "strict_unmarshal_as_targetgroup" => {
                let text = std::fs::read_to_string(&path).unwrap();
                let r: Result<StaticConfig, _> = serde_saphyr::from_str(&text);
                assert!(r.is_err(), "{file} must not parse as a target group");
                continue;
            }
            other => panic!("unknown stage {other}"),
        };
        let Some(err) = err else {
            panic!("{file} must be refused at stage {stage}");
        };
        refused += 1;
        let msg = err.to_string();
        for t in texts {
            total_texts += 1;
            if msg.contains(&expected_text(t)) {
                matched += 1;
            } else {
                mismatches.push(format!("{file}: want {t:?}\n    got  {msg:?}"));
            }
        }
    }
    println!("{refused} bad files refused; {matched}/{total_texts} upstream texts matched");
    for m in &mismatches {
        println!("  MISMATCH {m}");
    }
    // Raised as texts are matched; mismatches left are mostly unsupported discovery
    // mechanisms, refused with Firewatch's own text.
    assert!(
        matched >= 115,
        "only {matched} of {total_texts} texts matched"
    );
}

#[test]
fn every_bad_file_is_refused_somewhere() {
    if testkit::shared_path(
        "config::testdata::every_bad_file_is_refused_somewhere",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    // Bad files without an expectation row still must not pass every stage.
    for path in files_with_suffix(".bad.yml") {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "static_config.bad.yml" {
            continue; // a target group, not a prometheus.yml (checked above)
        }
        let refused = match Config::load(&path) {
            Err(_) => true,
            Ok(c) => c.all_scrape_configs().is_err() || c.check_agent_mode().is_err(),
        };
        assert!(refused, "{name} was accepted");
    }
}

#[test]
fn errors_carry_file_line_and_column() {
    if testkit::shared_path(
        "config::testdata::errors_carry_file_line_and_column",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    let e = Config::load(dir().join("jobname_dup.bad.yml")).unwrap_err();
    let (line, _col) = e.position().expect("position");
    let text = std::fs::read_to_string(dir().join("jobname_dup.bad.yml")).unwrap();
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("job_name: prometheus"))
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert_eq!(line as usize, second, "{e}");
    assert!(e.to_string().contains("jobname_dup.bad.yml"));

    let e = Config::load(dir().join("unknown_attr.bad.yml")).unwrap_err();
    assert_eq!(e.position().map(|p| p.0), Some(19), "{e}");
    assert!(
        e.to_string()
            .contains("field consult_sd_configs not found in type config.ScrapeConfig"),
        "{e}"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    if testkit::shared_path(
        "config::testdata::relative_paths_resolve_against_the_config_directory",
        "prometheus-config-testdata",
    )
    .is_none()
    {
        return;
    }
    let c = Config::load(
        dir()
            .join("conf.good.yml")
            .with_file_name("scrape_config_files_combined.good.yml"),
    )
    .unwrap();
    assert_eq!(
        c.scrape_config_files[0],
        firewatch_config::clean_path(&format!("{}/scrape_config_files.good.yml", testdata()))
    );
    let jobs: Vec<String> = c
        .all_scrape_configs()
        .unwrap()
        .into_iter()
        .map(|s| s.job_name)
        .collect();
    assert_eq!(jobs, vec!["node", "prometheus", "alertmanager"]);
}
