//! Relabeling against the real Prometheus (Debian's 2.42): one scrape job with static targets
//! and a rule of every action; `/api/v1/targets` shows each target's labels after relabeling
//! (`labels`) and which targets were dropped. Firewatch must produce the same labels and drop
//! the same targets, and the hashmod shards must equal an md5 computed here; the `t*` labels
//! exercise Go's `Expand` on odd templates. Needs the `prometheus` binary (fails without it).

use std::time::{Duration, Instant};

use firewatch_model::Labels;
use firewatch_model::relabel::{RelabelConfig, process};
use md5::{Digest, Md5};
use serde_json::Value;
use testkit::Server;

const RULES: &str = r#"
- source_labels: [__address__]
  modulus: 7
  target_label: shard
  action: hashmod
- source_labels: [__address__, env]
  modulus: 1000
  target_label: shard_wide
  action: hashmod
- source_labels: [__address__]
  regex: '([^:]+):(\d+)'
  target_label: host
  replacement: '$1'
- source_labels: [__address__]
  regex: '([^:]+):(\d+)'
  target_label: 'port_${2}'
  replacement: 'p${2}x[$2x]'
- source_labels: [env]
  target_label: env_lower
  action: lowercase
- source_labels: [env]
  target_label: env_upper
  action: uppercase
- regex: 'meta_(.+)'
  replacement: 'm_$1'
  action: labelmap
- regex: 'meta_.*'
  action: labeldrop
- source_labels: [__address__]
  regex: '.*:13'
  action: drop
- source_labels: [team]
  target_label: team_copy
  action: keepequal
- source_labels: [env]
  target_label: env_shadow
  action: dropequal
- source_labels: [env]
  regex: '(?i)prod|staging|dev'
  action: keep
- target_label: fixed
  replacement: value
- source_labels: [env]
  regex: '(?P<n>.)(?P<n>.*)'
  target_label: dup
  replacement: '$n|${n}'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t0
  replacement: '${1'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t1
  replacement: '$}'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t2
  replacement: '${}'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t3
  replacement: '$01'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t4
  replacement: '$first_'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t5
  replacement: '${first}_'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t6
  replacement: '[$2]'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t7
  replacement: '$3$1'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t8
  replacement: '${3}${first}'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t9
  replacement: '$$first'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t10
  replacement: '$1$'
- source_labels: [env]
  regex: '(?P<first>.)(x)?(.*)'
  target_label: t11
  replacement: '${first}${ 1}'
- source_labels: [nothing]
  regex: '(.*)'
  target_label: team_copy
"#;

/// One static target group: addresses and the group's labels.
type Group = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// The static target groups.
const GROUPS: &[Group] = &[
    (
        &[
            "127.0.0.1:11",
            "127.0.0.2:12",
            "127.0.0.3:13",
            "127.0.0.4:14",
            "127.0.0.5:9100",
        ],
        &[
            ("env", "Prod"),
            ("team", "a"),
            ("team_copy", "a"),
            ("meta_zone", "z1"),
            ("meta_rack", "r7"),
        ],
    ),
    (
        &["127.0.0.6:15", "127.0.0.7:16"],
        &[("env", "staging"), ("team", "b"), ("team_copy", "c")],
    ),
    (
        &["127.0.0.8:17", "127.0.0.9:18"],
        &[("env", "test"), ("team", "d"), ("team_copy", "d")],
    ),
    (
        &["127.0.0.10:19"],
        &[
            ("env", "dev"),
            ("env_shadow", "dev"),
            ("team", "e"),
            ("team_copy", "e"),
        ],
    ),
    (
        &["127.0.0.11:20", "127.0.0.12:21", "127.0.0.13:22"],
        &[
            ("env", "DEV"),
            ("env_shadow", "x"),
            ("team", "f"),
            ("team_copy", "f"),
            ("meta_a", "1"),
        ],
    ),
];

fn config() -> String {
    let mut groups = String::new();
    for (targets, labels) in GROUPS {
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: '{v}'")).collect();
        groups += &format!(
            "      - targets: [{}]\n        labels: {{{}}}\n",
            list.join(", "),
            labels.join(", ")
        );
    }
    let rules: String = RULES.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "global:\n  scrape_interval: 1h\nscrape_configs:\n  - job_name: oracle\n    scrape_interval: 1h\n    static_configs:\n{groups}    relabel_configs:\n{rules}"
    )
}

/// The labels Prometheus hands to relabeling for a static target of the job above. (Its API's
/// `discoveredLabels` cannot be used: 2.42 shows them partly rewritten by the rules.)
fn discovered(addr: &str, group: &[(&str, &str)]) -> Labels {
    let mut pairs = vec![
        ("__address__", addr),
        ("__metrics_path__", "/metrics"),
        ("__scheme__", "http"),
        ("__scrape_interval__", "1h"),
        ("__scrape_timeout__", "10s"),
        ("job", "oracle"),
    ];
    pairs.extend_from_slice(group);
    Labels::from_pairs(pairs)
}

fn to_labels(v: &Value) -> Labels {
    let obj = v.as_object().expect("a label object");
    Labels::from_pairs(
        obj.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
    )
}

fn shard_by_hand(value: &str, modulus: u64) -> String {
    let d = Md5::digest(value.as_bytes());
    let n = d[8..].iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    (n % modulus).to_string()
}

/// What Prometheus does after relabeling: `instance` defaults to the address, and labels
/// starting with `__` are not target labels.
fn target_labels(relabeled: &Labels) -> Labels {
    let mut b = relabeled.builder();
    if relabeled.get("instance").is_none() {
        b.set("instance", relabeled.get("__address__").unwrap_or(""));
    }
    b.retain(|n| !n.starts_with("__"));
    b.labels()
}

#[test]
fn matches_real_prometheus() {
    if !testkit::peers(
        "model::relabel_prometheus::matches_real_prometheus",
        &["prometheus"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prometheus = Server::start(
        "prometheus",
        &[],
        dir.path(),
        &dir.path().join("data"),
        &config(),
        &[],
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let data = loop {
        assert!(
            Instant::now() < deadline,
            "prometheus did not report all 13 targets in time"
        );
        if let Ok(r) = prometheus.get("/api/v1/targets")
            && r.status == 200
        {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            let data = v["data"].clone();
            let n = |k: &str| data[k].as_array().map_or(0, Vec::len);
            if n("activeTargets") + n("droppedTargets") == 13 {
                break data;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    let rules: Vec<RelabelConfig> = serde_saphyr::from_str(RULES).unwrap();
    let active = data["activeTargets"].as_array().unwrap();
    let dropped: Vec<&str> = data["droppedTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["discoveredLabels"]["__address__"].as_str().unwrap())
        .collect();
    let mut kept = 0;
    for (targets, group) in GROUPS {
        for addr in *targets {
            let input = discovered(addr, group);
            let Some(ours) = process(&input, &rules) else {
                assert!(
                    dropped.contains(addr),
                    "we dropped {addr}, Prometheus did not"
                );
                continue;
            };
            kept += 1;
            let theirs = active
                .iter()
                .map(|t| to_labels(&t["labels"]))
                .find(|l| l.get("instance") == Some(addr))
                .unwrap_or_else(|| panic!("Prometheus dropped {addr}, we did not"));
            assert_eq!(target_labels(&ours), theirs, "labels of {addr}");
            assert_eq!(
                theirs.get("shard"),
                Some(shard_by_hand(addr, 7).as_str()),
                "shard of {addr}"
            );
            let wide = format!("{addr};{}", input.get("env").unwrap());
            assert_eq!(
                theirs.get("shard_wide"),
                Some(shard_by_hand(&wide, 1000).as_str()),
                "wide shard of {addr}"
            );
        }
    }
    assert_eq!(kept, active.len());
    assert!(
        kept >= 5 && dropped.len() >= 5,
        "{kept} kept, {} dropped",
        dropped.len()
    );
}
