//! Alertmanager's configuration test files (`../shared/alertmanager-testdata/`): each file
//! loads or fails with the text `config_expectations.tsv` gives.

use std::path::Path;

use firewatch_alertmanager::Config;

#[test]
fn config_files_load_or_fail_as_alertmanager() {
    let test = "config_files_load_or_fail_as_alertmanager";
    let Some(dir) = testkit::shared_path(test, "alertmanager-testdata") else {
        return;
    };
    let tsv = std::fs::read_to_string(dir.join("config_expectations.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, expectation, want) = (cols[0], cols[1], cols[2].replace("\\n", "\n"));
        n += 1;
        let got = Config::load_file(&dir.join(file))
            .map(|_| ())
            .map_err(|e| e.to_string());
        let ok = match (expectation, &got) {
            ("ok", Ok(())) => true,
            ("error", Err(e)) => *e == want,
            ("error(contains)", Err(e)) => e.contains(&want),
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: want {expectation} {want:?}, got {got:?}"));
        }
    }
    assert!(n >= 46, "only {n} rows");
    assert!(
        failures.is_empty(),
        "{} of {n} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn routing_fixtures_of_amtool_load() {
    let test = "routing_fixtures_of_amtool_load";
    let Some(dir) = testkit::shared_path(test, "alertmanager-testdata/cli/testdata") else {
        return;
    };
    for f in [
        "conf.good.yml",
        "conf.routing.yml",
        "conf.routing-reverted.yml",
    ] {
        Config::load_file(&dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    assert!(Config::load_file(&dir.join("conf.bad.yml")).is_err());
}

/// Route-level checks with Alertmanager's texts.
#[test]
fn route_and_interval_errors_have_alertmanager_texts() {
    let cases: &[(&str, &str)] = &[
        ("receivers: [{name: a}]", "no routes provided"),
        (
            "route: {}\nreceivers: [{name: a}]",
            "root route must specify a default receiver",
        ),
        (
            "route: {receiver: a, matchers: ['x=y']}\nreceivers: [{name: a}]",
            "root route must not have any matchers",
        ),
        (
            "route: {receiver: b}\nreceivers: [{name: a}]",
            "undefined receiver \"b\" used in route",
        ),
        (
            "route: {receiver: a, routes: [{group_by: ['...', x]}]}\nreceivers: [{name: a}]",
            "cannot have wildcard group_by (`...`) and other other labels at the same time",
        ),
        (
            "route: {receiver: a, group_by: [x, x]}\nreceivers: [{name: a}]",
            "duplicated label \"x\" in group_by",
        ),
        (
            "route: {receiver: a, group_interval: 0s}\nreceivers: [{name: a}]",
            "group_interval cannot be zero",
        ),
        (
            "route: {receiver: a, routes: [{mute_time_intervals: [never]}]}\nreceivers: [{name: a}]",
            "undefined time interval \"never\" used in route",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a}, {name: a}]",
            "notification config name \"a\" is not unique",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: t}, {name: t}]",
            "time interval \"t\" is not unique",
        ),
    ];
    for (yaml, want) in cases {
        let got = Config::parse(yaml, Path::new("x.yml"))
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(got, Err((*want).to_owned()), "{yaml}");
    }
}
