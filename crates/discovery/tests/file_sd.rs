//! File SD against real files changing on disk: add, modify, break, delete.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use config::FileSdConfig;
use firewatch_discovery::file::FileDiscovery;
use firewatch_discovery::{Discoverer, TargetGroup};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Applies updates to a source -> group view, as the manager does.
struct View {
    rx: mpsc::Receiver<Vec<TargetGroup>>,
    groups: BTreeMap<String, TargetGroup>,
}

impl View {
    async fn until(&mut self, what: &str, pred: impl Fn(&BTreeMap<String, TargetGroup>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pred(&self.groups) {
            let left = deadline.saturating_duration_since(Instant::now());
            let update = tokio::time::timeout(left, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; have {:?}", self.groups))
                .expect("discoverer stopped");
            for g in update {
                if g.targets.is_empty() {
                    self.groups.remove(&g.source);
                } else {
                    self.groups.insert(g.source.clone(), g);
                }
            }
        }
    }
}

fn write(path: &Path, content: &str) {
    // Write then rename, as configuration tools do, so no half-written file is read.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn addrs(groups: &BTreeMap<String, TargetGroup>) -> Vec<String> {
    let mut v: Vec<String> = groups
        .values()
        .flat_map(|g| g.addresses())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn follows_files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("a.json");
    let yaml = dir.path().join("b.yml");
    write(
        &json,
        r#"[{"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod"}}]"#,
    );

    let pattern_json = format!("{}/*.json", dir.path().display());
    let pattern_yaml = format!("{}/*.yml", dir.path().display());
    let d = FileDiscovery::new(FileSdConfig {
        files: vec![pattern_json, pattern_yaml],
        ..FileSdConfig::default()
    })
    .unwrap()
    .with_poll_interval(Duration::from_millis(50));
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));
    let mut view = View {
        rx,
        groups: BTreeMap::new(),
    };

    view.until("initial file", |g| addrs(g).len() == 2).await;
    let src = format!("{}:0", json.display());
    let g = &view.groups[&src];
    assert_eq!(g.labels["env"], "prod");
    assert_eq!(g.labels["__meta_filepath"], json.display().to_string());

    // A new YAML file matching the glob appears.
    write(
        &yaml,
        "- targets: ['db:5432']\n  labels:\n    role: db\n- targets: ['cache:6379']\n",
    );
    view.until("yaml file added", |g| addrs(g).len() == 4).await;
    let y0 = &view.groups[&format!("{}:0", yaml.display())];
    assert_eq!(y0.labels["role"], "db");
    assert_eq!(y0.labels["__meta_filepath"], yaml.display().to_string());

    // Modify: the JSON file loses a target and gains a label.
    write(
        &json,
        r#"[{"targets": ["10.0.0.1:9100"], "labels": {"env": "staging"}}]"#,
    );
    view.until("json modified", |g| {
        g.get(&src).is_some_and(|g| g.labels["env"] == "staging")
    })
    .await;
    assert_eq!(
        addrs(&view.groups),
        ["10.0.0.1:9100", "cache:6379", "db:5432"]
    );

    // Shrink the YAML file to one group: its second source is removed.
    write(&yaml, "- targets: ['db:5432']\n");
    view.until("yaml shrunk", |g| addrs(g).len() == 2).await;
    assert!(!view.groups.contains_key(&format!("{}:1", yaml.display())));

    // A broken file is logged and its previous groups are kept.
    write(&json, "[{\"targets\": [\"oops\"");
    write(&yaml, "- targets: ['db:5432', 'db2:5432']\n");
    view.until("yaml changed after json broke", |g| addrs(g).len() == 3)
        .await;
    assert_eq!(
        addrs(&view.groups),
        ["10.0.0.1:9100", "db2:5432", "db:5432"]
    );

    // Deleting a file removes its groups.
    std::fs::remove_file(&json).unwrap();
    view.until("json deleted", |g| !g.contains_key(&src)).await;
    assert_eq!(addrs(&view.groups), ["db2:5432", "db:5432"]);

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn unknown_fields_and_bad_extensions_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.json");
    std::fs::write(&p, r#"[{"targets": ["a:1"], "extra": true}]"#).unwrap();
    let err = firewatch_discovery::file::read_file(p.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains("extra"), "{err}");
    assert!(
        FileDiscovery::new(FileSdConfig {
            files: vec!["/tmp/x.txt".into()],
            ..FileSdConfig::default()
        })
        .is_err()
    );
}
