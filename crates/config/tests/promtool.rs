//! `firewatch tool check config` (the library function the binary calls) against the real
//! `promtool check config` (Debian's Prometheus 2.42): same exit code on Prometheus's test
//! files, except the differences listed with their reasons (2.42 predates fields that
//! Firewatch, following Prometheus 3, accepts; Debian's build lacks most discovery
//! mechanisms; Firewatch refuses the mechanisms it does not run).

use std::path::{Path, PathBuf};
use std::process::Command;

use firewatch_config::check::{CheckOptions, check_config, check_config_with, check_rule_files};
use firewatch_config::rules::promql_check;

/// Prometheus's `config/testdata` under the conformance data directory (`testkit::shared_dir`).
fn testdata() -> String {
    testkit::shared_dir()
        .join("prometheus-config-testdata")
        .display()
        .to_string()
}

/// Whether the test data and promtool are there; each missing one is reported as a skip.
fn ready(test: &str) -> bool {
    let data = testkit::shared_path(test, "prometheus-config-testdata").is_some();
    testkit::peers(test, &["promtool"]) && data
}

/// Files whose exit code differs from promtool 2.42's, grouped by reason.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "fields added after Prometheus 2.42 (native histogram and extra-metrics switches, \
         name validation/escaping schemes, enable_compression, scrape_config_files, otlp, \
         storage.tsdb retention and chunk_encoding): 2.42 refuses them as unknown",
        &[
            "global_convert_classic_hist_to_nhcb.good.yml",
            "global_disable_always_scrape_classic_hist.good.yml",
            "global_disable_extra_scrape_metrics.good.yml",
            "global_enable_always_scrape_classic_hist.good.yml",
            "global_enable_extra_scrape_metrics.good.yml",
            "global_enable_scrape_native_hist.good.yml",
            "global_enable_scrape_native_hist_and_scrape_protocols.good.yml",
            "global_scrape_protocols_and_local_disable_scrape_native_hist.good.yml",
            "local_convert_classic_hist_to_nhcb.good.yml",
            "local_disable_always_scrape_classic_hist.good.yml",
            "local_disable_convert_classic_hist_to_nhcb.good.yml",
            "local_disable_extra_scrape_metrics.good.yml",
            "local_disable_scrape_native_hist.good.yml",
            "local_enable_always_scrape_classic_hist.good.yml",
            "local_enable_extra_scrape_metrics.good.yml",
            "local_enable_scrape_native_hist.good.yml",
            "local_enable_scrape_native_hist_and_scrape_protocols.good.yml",
            "otlp_allow_keep_identifying_resource_attributes.good.yml",
            "otlp_allow_utf8.good.yml",
            "otlp_convert_histograms_to_nhcb.good.yml",
            "otlp_label_underscore_sanitization_defaults.good.yml",
            "otlp_label_underscore_sanitization_disabled.good.yml",
            "otlp_label_underscore_sanitization_enabled.good.yml",
            "otlp_no_translation.good.yml",
            "otlp_promote_scope_metadata.good.yml",
            "otlp_sanitize_default_resource_attributes.good.yml",
            "otlp_sanitize_ignore_resource_attributes.good.yml",
            "otlp_sanitize_promote_resource_attributes.good.yml",
            "otlp_sanitize_resource_attributes_promote_all.good.yml",
            "scrape_config_disable_compression.good.yml",
            "scrape_config_files_combined.good.yml",
            "scrape_config_files_only.good.yml",
            "scrape_config_global_validation_mode.yml",
            "scrape_config_local_global_validation_mode.yml",
            "scrape_config_local_infer_escaping.yml",
            "scrape_config_local_validation_mode.yml",
            "tsdb_chunk_encoding_floats_xor.good.yml",
            "tsdb_chunk_encoding_floats_xor2.good.yml",
            "tsdb_retention_percentage_float.good.yml",
        ],
    ),
    (
        "Debian's promtool 2.42 is built without Kubernetes discovery, which Firewatch runs",
        &[
            "kubernetes_empty_apiserver.good.yml",
            "kubernetes_kubeconfig_without_apiserver.good.yml",
            "kubernetes_selectors_endpoints.good.yml",
            "kubernetes_selectors_ingress.good.yml",
            "kubernetes_selectors_node.good.yml",
            "kubernetes_selectors_pod.good.yml",
            "kubernetes_selectors_service.good.yml",
        ],
    ),
    (
        "checks added after 2.42 that Prometheus 3 makes (remote-write queue bounds, bearer \
         token vs file in HTTP SD, Alertmanager API v1 removed)",
        &[
            "remote_write_queue_capacity_zero.bad.yml",
            "remote_write_queue_max_backoff_less_than_min.bad.yml",
            "remote_write_queue_max_samples_per_send_zero.bad.yml",
            "remote_write_queue_max_shards_zero.bad.yml",
            "remote_write_queue_min_shards_greater_than_max.bad.yml",
            "remote_write_queue_min_shards_zero.bad.yml",
            "http_token_file.bad.yml",
            "config_with_deprecated_am_api_config.yml",
        ],
    ),
    (
        "discovery mechanisms Firewatch does not run are refused; 2.42 did not yet check these \
         files' token settings",
        &[
            "azure_bearertoken_basicauth.bad.yml",
            "ec2_token_file.bad.yml",
            "lightsail_token_file.bad.yml",
            "puppetdb_token_file.bad.yml",
            "uyuni_token_file.bad.yml",
        ],
    ),
];

fn known(name: &str) -> bool {
    KNOWN.iter().any(|(_, files)| files.contains(&name))
}

fn promtool(args: &[&str], file: &Path) -> i32 {
    let out = Command::new("promtool")
        .args(args)
        .arg(file)
        .output()
        .expect("promtool must be installed (apt-get install prometheus)");
    out.status.code().unwrap_or(-1)
}

fn ours(file: &Path) -> (i32, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = i32::from(check_config(
        &[file.to_path_buf()],
        &promql_check,
        &mut out,
        &mut err,
    ));
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// promtool's exit code and standard output.
fn promtool_output(args: &[&str], file: &Path) -> (i32, String) {
    let out = Command::new("promtool")
        .args(args)
        .arg(file)
        .output()
        .expect("promtool must be installed (apt-get install prometheus)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn yml_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    v
}

#[test]
fn check_config_exit_codes_match_promtool() {
    if !ready("config::promtool::check_config_exit_codes_match_promtool") {
        return;
    }
    let files = yml_files();
    // promtool takes ~0.1s a file: run it on two threads.
    let (a, b) = files.split_at(files.len() / 2);
    let run = |part: &[PathBuf]| -> Vec<(String, (i32, String))> {
        part.iter()
            .map(|f| {
                (
                    f.file_name().unwrap().to_string_lossy().to_string(),
                    promtool_output(&["check", "config"], f),
                )
            })
            .collect()
    };
    let theirs: Vec<(String, (i32, String))> = std::thread::scope(|s| {
        let h = s.spawn(|| run(a));
        let mut v = run(b);
        let mut first = h.join().unwrap();
        first.append(&mut v);
        first
    });
    let mut same = 0;
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    let mut same_output = 0;
    for (f, (name, (theirs, their_out))) in files.iter().zip(theirs) {
        let (mine, my_out) = ours(f);
        // Where both accept the file, the report is the same text.
        if theirs == 0 && mine == 0 {
            if my_out == their_out {
                same_output += 1;
            } else {
                unexpected.push(format!("{name}: output differs:\n{my_out}---\n{their_out}"));
            }
        }
        match (theirs == mine, known(&name)) {
            (true, false) => same += 1,
            (true, true) => {
                unexpected.push(format!("{name}: listed as different but both exit {mine}"));
            }
            (false, true) => known_seen.push(name),
            (false, false) => {
                unexpected.push(format!("{name}: promtool {theirs}, firewatch {mine}"));
            }
        }
    }
    println!(
        "{same} files with the same exit code, {} known differences",
        known_seen.len()
    );
    for u in &unexpected {
        println!("  UNEXPECTED {u}");
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected differences",
        unexpected.len()
    );
    assert!(same >= 150, "only {same} files agree");
    assert!(same_output >= 14, "only {same_output} identical reports");
}

#[test]
fn check_rules_matches_promtool() {
    if !ready("config::promtool::check_rules_matches_promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "good.rules",
            "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n",
        ),
        (
            "dup.rules",
            "groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n",
        ),
        ("none.rules", "groups:\n- name: a\n  rules:\n  - expr: up\n"),
        ("unknown.rules", "groups:\n- name: a\n  foo: 1\n"),
        (
            "for.rules",
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    for: 1m\n",
        ),
        ("empty.rules", ""),
        (
            "expr.rules",
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: sum(\n",
        ),
        (
            "tmpl.rules",
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    annotations:\n      d: '{{ $value'\n",
        ),
        (
            "multidoc.rules",
            "groups:\n- name: a\n  rules: []\n---\ngroups: 1\n",
        ),
        (
            "badfn.rules",
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: no_such_function(up)\n",
        ),
    ];
    for (name, text) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mine = i32::from(check_rule_files(
            std::slice::from_ref(&p),
            &promql_check,
            &mut out,
            &mut err,
        ));
        let run = Command::new("promtool")
            .args(["check", "rules"])
            .arg(&p)
            .output()
            .unwrap();
        let theirs = run.status.code().unwrap_or(-1);
        assert_eq!(mine, theirs, "{name}: {}", String::from_utf8_lossy(&err));
        // Same text too, except where Firewatch gives a position Prometheus cannot (`0:0`
        // for the missing record/alert field).
        if name != "none.rules" {
            assert_eq!(
                String::from_utf8_lossy(&err),
                String::from_utf8_lossy(&run.stderr),
                "{name}"
            );
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&run.stdout),
                "{name}"
            );
        }
        if name == "good.rules" {
            assert!(String::from_utf8_lossy(&out).contains("  SUCCESS: 2 rules found"));
        }
    }
    // The testdata's rule file.
    let first = Path::new(&testdata()).join("first.rules");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(
        check_rule_files(
            std::slice::from_ref(&first),
            &promql_check,
            &mut out,
            &mut err
        ),
        0
    );
    assert_eq!(promtool(&["check", "rules"], &first), 0);
}

#[test]
fn agent_and_syntax_only_options_match_promtool() {
    if !ready("config::promtool::agent_and_syntax_only_options_match_promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A client certificate that does not exist: refused normally, fine with --syntax-only.
    let missing = dir.path().join("missing_cert.yml");
    std::fs::write(
        &missing,
        "scrape_configs:\n  - job_name: x\n    tls_config: {cert_file: nope.crt, key_file: nope.key}\n",
    )
    .unwrap();
    let unpaired = dir.path().join("unpaired.yml");
    std::fs::write(
        &unpaired,
        "scrape_configs:\n  - job_name: x\n    tls_config: {cert_file: c.crt}\n",
    )
    .unwrap();
    let syntax = CheckOptions {
        syntax_only: true,
        ..CheckOptions::default()
    };
    let mut cases: Vec<(PathBuf, CheckOptions, Vec<&str>, i32)> = vec![
        (missing.clone(), CheckOptions::default(), vec![], 1),
        (missing, syntax, vec!["--syntax-only"], 0),
        (unpaired.clone(), syntax, vec!["--syntax-only"], 1),
        (unpaired, CheckOptions::default(), vec![], 1),
    ];
    for (f, code) in [
        ("agent_mode.good.yml", 0),
        ("agent_mode.with_alert_manager.yml", 1),
        ("agent_mode.with_rule_files.yml", 1),
        ("agent_mode.with_remote_reads.yml", 1),
        ("agent_mode.without_remote_writes.yml", 0),
    ] {
        let agent = CheckOptions {
            agent: true,
            ..CheckOptions::default()
        };
        cases.push((Path::new(&testdata()).join(f), agent, vec!["--agent"], code));
    }
    for (file, opts, flags, expected) in cases {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mine = i32::from(check_config_with(
            std::slice::from_ref(&file),
            opts,
            &promql_check,
            &mut out,
            &mut err,
        ));
        let mut args = vec!["check", "config"];
        args.extend(flags);
        let theirs = promtool(&args, &file);
        assert_eq!(
            mine,
            theirs,
            "{} {opts:?}: {}",
            file.display(),
            String::from_utf8_lossy(&err)
        );
        assert_eq!(mine, expected, "{} {opts:?}", file.display());
    }
}

#[test]
fn duplicate_rules_lint_matches_promtool() {
    if !ready("config::promtool::duplicate_rules_lint_matches_promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dup.rules");
    std::fs::write(
        &p,
        "groups:\n- name: a\n  rules:\n  - record: job:up\n    expr: up\n    labels: {a: b}\n  - record: job:up\n    expr: up\n    labels: {a: b}\n  - alert: A\n    expr: up\n  - alert: A\n    expr: up\n  - alert: A\n    expr: up\n",
    )
    .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mine = check_rule_files(std::slice::from_ref(&p), &promql_check, &mut out, &mut err);
    let theirs = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(i32::from(mine), theirs.status.code().unwrap());
    assert_eq!(
        String::from_utf8_lossy(&err),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&theirs.stdout)
    );
}
