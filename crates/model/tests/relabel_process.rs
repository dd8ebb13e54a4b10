//! Relabeling behaviour, action by action: a table of (rules as YAML, input labels, expected
//! output or drop), plus hashmod shards checked against an md5 computed here.

use firewatch_model::Labels;
use firewatch_model::relabel::{RelabelConfig, hashmod, process};
use md5::{Digest, Md5};

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// (what it checks, rules, input, expected output; `None` = dropped).
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static [(&'static str, &'static str)]>,
);

const CASES: &[Case] = &[
    (
        "replace with a capture group",
        "- {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo"), ("b", "bar"), ("d", "choo-choo")]),
    ),
    (
        "replace: no match leaves the labels alone",
        "- {source_labels: [a], regex: 'x(.*)', target_label: d}",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    ),
    (
        "replace joins several sources with the separator",
        "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: '$1$2'}",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "ooba"), ("b", "bar")]),
    ),
    (
        "replace with a custom separator",
        "- {source_labels: [a, b], separator: '|', target_label: c}",
        &[("a", "x"), ("b", "y")],
        Some(&[("a", "x"), ("b", "y"), ("c", "x|y")]),
    ),
    (
        "missing source labels read as empty",
        "- {source_labels: [a, missing, b], target_label: c}",
        &[("a", "x"), ("b", "y")],
        Some(&[("a", "x"), ("b", "y"), ("c", "x;;y")]),
    ),
    (
        "defaults: the whole input goes to the target",
        "- {source_labels: [a], target_label: b}",
        &[("a", "v")],
        Some(&[("a", "v"), ("b", "v")]),
    ),
    (
        "empty input with the default regex sets a literal replacement",
        "- {target_label: team, replacement: infra}",
        &[("a", "v")],
        Some(&[("a", "v"), ("team", "infra")]),
    ),
    (
        "an empty expansion deletes the target label",
        "- {source_labels: [missing], target_label: a}",
        &[("a", "v"), ("b", "w")],
        Some(&[("b", "w")]),
    ),
    (
        "regex matching only part of the input does not match",
        "- {source_labels: [a], regex: 'o', target_label: b, replacement: hit}",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    ),
    (
        "target label built from groups",
        "- {source_labels: [a], regex: '(\\w+)-(\\w+)', target_label: 'k_${1}', replacement: '$2'}",
        &[("a", "env-prod")],
        Some(&[("a", "env-prod"), ("k_env", "prod")]),
    ),
    (
        "an expanded target that is empty changes nothing",
        "- {source_labels: [a], regex: '(x?)(.*)', target_label: '${1}', replacement: '$2'}",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    ),
    (
        "Go's Expand: $1x names group 1x (empty), ${1}x is group 1 then x, $$ is $",
        "- {source_labels: [a], regex: '(.*)', target_label: b, replacement: '[$1x][${1}x][$$1][$9][$]'}",
        &[("a", "v")],
        Some(&[("a", "v"), ("b", "[][vx][$1][][$]")]),
    ),
    (
        "named groups",
        "- {source_labels: [a], regex: '(?P<host>[^:]+):(?<port>\\d+)', target_label: b, replacement: '$port@${host}'}",
        &[("a", "db:5432")],
        Some(&[("a", "db:5432"), ("b", "5432@db")]),
    ),
    (
        "`.` matches a newline in values",
        "- {source_labels: [a], regex: 'x.(.*)', target_label: b}",
        &[("a", "x\nyz")],
        Some(&[("a", "x\nyz"), ("b", "yz")]),
    ),
    (
        "UTF-8 target label names",
        "- {source_labels: [a], target_label: 'service.name'}",
        &[("a", "api")],
        Some(&[("a", "api"), ("service.name", "api")]),
    ),
    (
        "keep: match keeps",
        "- {source_labels: [a], regex: 'f.*', action: keep}",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    ),
    (
        "keep: no match drops",
        "- {source_labels: [a], regex: 'f.*', action: keep}",
        &[("a", "boo")],
        None,
    ),
    (
        "keep: a missing label is the empty string",
        "- {source_labels: [missing], regex: '', action: keep}",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    ),
    (
        "drop: match drops",
        "- {source_labels: [a], regex: 'f.*', action: drop}",
        &[("a", "foo")],
        None,
    ),
    (
        "drop: no match keeps",
        "- {source_labels: [a], regex: 'f.*', action: drop}",
        &[("a", "boo")],
        Some(&[("a", "boo")]),
    ),
    (
        "drop on joined values",
        "- {source_labels: [a, b], regex: 'x;y', action: drop}",
        &[("a", "x"), ("b", "y")],
        None,
    ),
    (
        "keepequal keeps when equal",
        "- {source_labels: [a], target_label: b, action: keepequal}",
        &[("a", "1"), ("b", "1")],
        Some(&[("a", "1"), ("b", "1")]),
    ),
    (
        "keepequal drops when different",
        "- {source_labels: [a], target_label: b, action: keepequal}",
        &[("a", "1"), ("b", "2")],
        None,
    ),
    (
        "dropequal drops when equal",
        "- {source_labels: [a], target_label: b, action: dropequal}",
        &[("a", "1"), ("b", "1")],
        None,
    ),
    (
        "dropequal keeps when different, and compares a missing target as empty",
        "- {source_labels: [a], target_label: missing, action: dropequal}",
        &[("a", "1")],
        Some(&[("a", "1")]),
    ),
    (
        "labelmap copies matching labels",
        "- {regex: '__meta_(.+)', action: labelmap}",
        &[("__meta_zone", "a"), ("__meta_rack", "r1"), ("job", "j")],
        Some(&[
            ("__meta_rack", "r1"),
            ("__meta_zone", "a"),
            ("job", "j"),
            ("rack", "r1"),
            ("zone", "a"),
        ]),
    ),
    (
        "labelmap with a templated replacement",
        "- {regex: 'meta_(\\w+)', replacement: 'x_${1}_y', action: labelmap}",
        &[("meta_a", "1"), ("other", "2")],
        Some(&[("meta_a", "1"), ("other", "2"), ("x_a_y", "1")]),
    ),
    (
        "labeldrop removes matching names",
        "- {regex: 'tmp_.*', action: labeldrop}",
        &[("tmp_a", "1"), ("tmp_b", "2"), ("keep", "3")],
        Some(&[("keep", "3")]),
    ),
    (
        "labelkeep removes names that do not match",
        "- {regex: 'job|instance', action: labelkeep}",
        &[("job", "j"), ("instance", "i"), ("other", "o")],
        Some(&[("instance", "i"), ("job", "j")]),
    ),
    (
        "lowercase",
        "- {source_labels: [a, b], target_label: c, action: lowercase}",
        &[("a", "FoO"), ("b", "ÄB")],
        Some(&[("a", "FoO"), ("b", "ÄB"), ("c", "foo;äb")]),
    ),
    (
        "uppercase (ß has no one-character upper case and stays)",
        "- {source_labels: [a], target_label: c, action: uppercase}",
        &[("a", "straße")],
        Some(&[("a", "straße"), ("c", "STRAßE")]),
    ),
    (
        "lowercase of an empty input deletes the target",
        "- {source_labels: [missing], target_label: a, action: lowercase}",
        &[("a", "x")],
        Some(&[]),
    ),
    (
        "rules apply in order and a drop stops the chain",
        "- {source_labels: [a], target_label: b}\n- {source_labels: [b], regex: v, action: drop}\n- {target_label: c, replacement: never}",
        &[("a", "v")],
        None,
    ),
    (
        "later rules see earlier results",
        "- {source_labels: [a], target_label: b, replacement: 'x$1'}\n- {source_labels: [b], target_label: c, action: uppercase}",
        &[("a", "v")],
        Some(&[("a", "v"), ("b", "xv"), ("c", "XV")]),
    ),
    (
        "case-insensitive regex",
        "- {source_labels: [a], regex: '(?i)PROD', action: keep}",
        &[("a", "prod")],
        Some(&[("a", "prod")]),
    ),
];

#[test]
fn actions_table() {
    let mut failures = Vec::new();
    for &(what, yaml, input, want) in CASES {
        let got = process(&labels(input), &rules(yaml));
        let want = want.map(labels);
        if got != want {
            failures.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shard Prometheus assigns: md5 of the value, its last 8 bytes read big-endian, modulo m.
fn shard_by_hand(value: &str, modulus: u64) -> u64 {
    let d = Md5::digest(value.as_bytes());
    let mut n = 0u64;
    for &b in &d[8..] {
        n = (n << 8) | u64::from(b);
    }
    n % modulus
}

#[test]
fn hashmod_matches_md5_by_hand() {
    let values = [
        "",
        "a",
        "localhost:9090",
        "10.0.0.1:9100;node",
        "ünïcode",
        "x".repeat(1000).leak(),
    ];
    for v in values {
        for m in [1, 2, 3, 10, 1000, u64::MAX] {
            assert_eq!(hashmod(v, m), shard_by_hand(v, m), "{v:?} mod {m}");
        }
    }
    let cfg = rules(
        "- {source_labels: [__address__, job], target_label: shard, modulus: 16, action: hashmod}",
    );
    let out = process(
        &labels(&[("__address__", "10.0.0.1:9100"), ("job", "node")]),
        &cfg,
    )
    .unwrap();
    assert_eq!(
        out.get("shard"),
        Some(shard_by_hand("10.0.0.1:9100;node", 16).to_string().as_str())
    );
}

#[test]
fn hashmod_spreads_targets() {
    let mut counts = [0usize; 4];
    for i in 0..400 {
        counts[usize::try_from(hashmod(&format!("host-{i}:9100"), 4)).unwrap()] += 1;
    }
    assert!(counts.iter().all(|&c| c > 60), "uneven shards {counts:?}");
}
