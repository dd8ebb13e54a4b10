//! `firewatch tool test rules` against `promtool test rules` 2.42: the same files give the same
//! report and exit code, for passing and failing tests.

use std::path::Path;
use std::process::{Command, Output};

const RULES: &str = r#"groups:
  - name: example
    rules:
      - record: job:requests:rate5m
        expr: sum by (job) (rate(requests_total[5m]))
      - alert: HighErrorRate
        expr: rate(errors_total[5m]) > 0.5
        for: 2m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} fails {{ $value }} times a second"
"#;

fn tests(expected_rate: &str, expected_severity: &str) -> String {
    format!(
        r#"rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'requests_total{{job="api", instance="a"}}'
        values: '0+60x10'
      - series: 'errors_total{{job="api", instance="a"}}'
        values: '0+60x10'
    promql_expr_test:
      - expr: job:requests:rate5m
        eval_time: 5m
        exp_samples:
          - labels: 'job:requests:rate5m{{job="api"}}'
            value: {expected_rate}
    alert_rule_test:
      - eval_time: 10m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels:
              severity: {expected_severity}
              instance: a
              job: api
            exp_annotations:
              summary: "a fails 1 times a second"
"#
    )
}

fn run(program: &str, dir: &Path, file: &str) -> Output {
    let mut cmd = Command::new(program);
    if program != "promtool" {
        cmd.arg("tool");
    }
    cmd.args(["test", "rules", file])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} (promtool: Debian package prometheus): {e}"))
}

#[test]
fn reports_and_exit_codes_match_promtool() {
    if !testkit::peers(
        "firewatch::tool_test_rules::reports_and_exit_codes_match_promtool",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    std::fs::write(dir.path().join("pass.yml"), tests("1", "page")).unwrap();
    std::fs::write(dir.path().join("fail.yml"), tests("2", "ticket")).unwrap();
    for (file, code) in [("pass.yml", 0), ("fail.yml", 1)] {
        let ours = run(env!("CARGO_BIN_EXE_firewatch"), dir.path(), file);
        let theirs = run("promtool", dir.path(), file);
        assert_eq!(theirs.status.code(), Some(code), "promtool on {file}");
        assert_eq!(ours.status.code(), Some(code), "firewatch on {file}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "reports for {file}"
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr),
            "failures for {file}"
        );
    }
}
