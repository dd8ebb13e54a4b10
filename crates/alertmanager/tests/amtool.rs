//! Debian's `amtool` against the real Alertmanager 0.25 and Firewatch's: the same commands
//! print the same (times and ids masked), and `check-config` prints what amtool prints.

mod common;

use common::{amtool, run_amtool};

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - match_re: {team: "db|storage"}
      receiver: db
      group_by: ['...']
receivers:
  - name: default
  - name: pager
  - name: db
"#;

/// Masks timestamps, durations and UUIDs so outputs taken seconds apart compare.
fn mask(s: &str) -> String {
    let t = regex::Regex::new(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( ?[+-]\d{4} \w+|Z)?")
        .unwrap();
    let id =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let spaces = regex::Regex::new(r" {2,}").unwrap();
    let s = t.replace_all(s, "<time>");
    let s = id.replace_all(&s, "<id>");
    spaces.replace_all(&s, "  ").into_owned()
}

#[test]
fn amtool_commands_print_the_same_against_both() {
    let test = "amtool_commands_print_the_same_against_both";
    let Some(bin) = amtool(test) else { return };
    let dir = common::tempdir();
    let Some(real) = common::real(test, &dir.path().join("am"), CONFIG) else {
        return;
    };
    let fw = common::firewatch(&dir.path().join("fw"), CONFIG);
    let both = |args: &[&str]| -> (String, String) {
        let a = run_amtool(&bin, real.port, args);
        let b = run_amtool(&bin, fw.port, args);
        assert_eq!(
            a.0, b.0,
            "exit code of {args:?}: alertmanager {a:?} firewatch {b:?}"
        );
        (mask(&a.1), mask(&b.1))
    };
    let same = |args: &[&str]| {
        let (a, b) = both(args);
        assert_eq!(b, a, "amtool {args:?}");
        a
    };
    same(&[
        "alert",
        "add",
        "alertname=Disk",
        "severity=critical",
        "team=db",
        "--annotation=summary=full",
    ]);
    same(&[
        "alert",
        "add",
        "alertname=Cpu",
        "severity=warning",
        "instance=a",
    ]);
    let q = same(&["alert", "query"]);
    assert!(q.contains("Disk") && q.contains("Cpu"), "{q}");
    same(&["alert", "query", "severity=critical"]);
    same(&["alert", "query", "-o", "extended", "alertname=~C.*"]);
    same(&["alert", "query", "--receiver=db"]);

    // Silences: add, query, update (extend keeps the id), expire, import.
    let (a_id, f_id) = {
        let a = run_amtool(
            &bin,
            real.port,
            &[
                "silence",
                "add",
                "alertname=Cpu",
                "-c",
                "maintenance",
                "-a",
                "ops",
                "-d",
                "1h",
            ],
        );
        let b = run_amtool(
            &bin,
            fw.port,
            &[
                "silence",
                "add",
                "alertname=Cpu",
                "-c",
                "maintenance",
                "-a",
                "ops",
                "-d",
                "1h",
            ],
        );
        assert_eq!((a.0, mask(&a.1)), (b.0, mask(&b.1)));
        (a.1.trim().to_owned(), b.1.trim().to_owned())
    };
    same(&["silence", "query"]);
    same(&["silence", "query", "alertname=Cpu"]);
    same(&["alert", "query"]);
    same(&["alert", "query", "--silenced"]);
    let ua = run_amtool(
        &bin,
        real.port,
        &["silence", "update", &a_id, "--duration=2h"],
    );
    let ub = run_amtool(
        &bin,
        fw.port,
        &["silence", "update", &f_id, "--duration=2h"],
    );
    assert_eq!((ua.0, mask(&ua.1)), (ub.0, mask(&ub.1)));
    // Whether the update kept the id, both agree; the new ids are in the printed table.
    assert_eq!(ua.1.contains(&a_id), ub.1.contains(&f_id), "{ua:?} {ub:?}");
    let new_id = |out: &str| {
        out.lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_owned()
    };
    let (a_id, f_id) = (new_id(&ua.1), new_id(&ub.1));
    let ea = run_amtool(&bin, real.port, &["silence", "expire", &a_id]);
    let eb = run_amtool(&bin, fw.port, &["silence", "expire", &f_id]);
    assert_eq!((ea.0, ea.1), (eb.0, eb.1));
    same(&["silence", "query", "--expired"]);
    same(&["silence", "query"]);
    // Import (of active silences: amtool counts refused expired ones racily).
    let (a, b) = both(&[
        "silence",
        "add",
        "alertname=Disk",
        "-c",
        "disk",
        "-a",
        "ops",
        "-d",
        "30m",
    ]);
    assert_eq!(b, a);
    // Each instance re-imports its own export: existing ids are updated in place.
    let mut outs = Vec::new();
    for (port, name) in [(real.port, "am"), (fw.port, "fw")] {
        let export = dir.path().join(format!("silences-{name}.json"));
        let json = run_amtool(&bin, port, &["silence", "query", "-o", "json"]).1;
        std::fs::write(&export, json).unwrap();
        let out = run_amtool(&bin, port, &["silence", "import", export.to_str().unwrap()]);
        outs.push((out.0, mask(&out.1)));
    }
    assert_eq!(outs[1], outs[0], "silence import");
    same(&["silence", "query"]);
    same(&["silence", "query", "-q"]);

    // config show: the same YAML values (Go quotes `'...'`, serde-saphyr `"..."`); the
    // global section may hold the newer settings the notifiers crate knows.
    let show = |port| {
        let out = run_amtool(&bin, port, &["config", "show"]).1;
        serde_saphyr::from_str::<serde_json::Value>(&out).unwrap()
    };
    let (mut a, mut b) = (show(real.port), show(fw.port));
    let (ga, gb) = (a["global"].take(), b["global"].take());
    for (k, v) in ga.as_object().unwrap() {
        assert_eq!(gb.get(k), Some(v), "global.{k}");
    }
    assert_eq!(b, a, "config show");
    same(&["config", "routes"]);
    same(&["config", "routes", "test", "severity=critical", "team=db"]);
    same(&[
        "config",
        "routes",
        "test",
        "--verify.receivers=default",
        "alertname=x",
    ]);
    same(&["config", "routes", "test", "--tree", "team=storage"]);
    fw.stop();
}

#[test]
fn check_config_prints_what_amtool_prints() {
    let test = "check_config_prints_what_amtool_prints";
    let Some(bin) = amtool(test) else { return };
    let Some(cli) = testkit::shared_path(test, "alertmanager-testdata/cli/testdata") else {
        return;
    };
    let dir = common::tempdir();
    let own = dir.path().join("routes-only.yml");
    std::fs::write(&own, CONFIG).unwrap();
    let bad_route = dir.path().join("bad-route.yml");
    std::fs::write(
        &bad_route,
        "route: {receiver: nope}\nreceivers: [{name: a}]\n",
    )
    .unwrap();
    let files = [
        cli.join("conf.good.yml"),
        cli.join("conf.bad.yml"),
        own,
        bad_route,
    ];
    for f in &files {
        let out = std::process::Command::new(&bin)
            .arg("check-config")
            .arg(f)
            .output()
            .unwrap();
        let want = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut got = Vec::new();
        let failed =
            firewatch_alertmanager::check::check_config(std::slice::from_ref(f), &mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), want, "{}", f.display());
        assert_eq!(failed > 0, !out.status.success(), "{}", f.display());
    }
}
