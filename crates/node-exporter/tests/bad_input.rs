//! Bad input: a missing, truncated or malformed /proc or /sys file makes that collector report
//! `node_scrape_collector_success 0` and log an error naming the file; the other collectors
//! go on and the scrape succeeds.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use firewatch_node_exporter::{NodeCollector, Options, all_collector_names};
use model::exposition::{MetricFamily, encode_text};

/// A fake /proc and /sys with good loadavg, meminfo and stat files.
fn tree(dir: &Path) {
    let proc = dir.join("proc");
    std::fs::create_dir_all(proc.join("sys/fs")).unwrap();
    std::fs::create_dir_all(dir.join("sys")).unwrap();
    std::fs::write(proc.join("loadavg"), "0.21 0.37 0.39 1/719 19737\n").unwrap();
    std::fs::write(
        proc.join("meminfo"),
        "MemTotal:       16042172 kB\nMemFree:          450104 kB\n",
    )
    .unwrap();
    std::fs::write(
        proc.join("stat"),
        "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 5\nctxt 6\nbtime 1418183276\nprocesses 7\nprocs_running 2\nprocs_blocked 0\n",
    )
    .unwrap();
    std::fs::write(proc.join("sys/fs/file-nr"), "1024\t0\t1631329\n").unwrap();
}

fn options(dir: &Path, collectors: &[&str]) -> Options {
    let mut args = vec![
        "--collector.disable-defaults".to_owned(),
        format!("--path.procfs={}", dir.join("proc").display()),
        format!("--path.sysfs={}", dir.join("sys").display()),
    ];
    args.extend(collectors.iter().map(|c| format!("--collector.{c}")));
    Options::parse(args, &all_collector_names()).unwrap()
}

fn success(fams: &[MetricFamily], collector: &str) -> f64 {
    let f = fams
        .iter()
        .find(|f| f.name == "node_scrape_collector_success")
        .expect("success family");
    f.samples
        .iter()
        .find(|s| s.labels.get("collector") == Some(collector))
        .unwrap_or_else(|| panic!("no success sample for {collector}"))
        .value
}

fn value(fams: &[MetricFamily], name: &str) -> Option<f64> {
    fams.iter()
        .find(|f| f.name == name)
        .and_then(|f| f.samples.first())
        .map(|s| s.value)
}

/// Log lines written while `f` runs.
fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (out, text)
}

/// (collector, file under the tree, content or None to delete, what the log must name).
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("meminfo", "proc/meminfo", None),
    ("meminfo", "proc/meminfo", Some("MemTotal: lots kB\n")),
    ("meminfo", "proc/meminfo", Some("MemTotal: 12 kB extra\n")),
    ("loadavg", "proc/loadavg", Some("0.21\n")),
    ("loadavg", "proc/loadavg", Some("x y z 1/2 3\n")),
    ("filefd", "proc/sys/fs/file-nr", Some("1024\t0\n")),
    ("stat", "proc/stat", None),
    ("cpu", "proc/stat", Some("cpu0 1 2 three 4\n")),
];

#[test]
fn a_bad_file_fails_only_its_collector_and_names_the_file() {
    for (collector, file, content) in CASES {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let path = dir.path().join(file);
        match content {
            None => std::fs::remove_file(&path).unwrap(),
            Some(c) => std::fs::write(&path, c).unwrap(),
        }
        let all = ["meminfo", "loadavg", "filefd", "stat", "cpu"];
        let nodes = NodeCollector::new(&options(dir.path(), &all)).unwrap();
        let (fams, logs) = logs_of(|| nodes.collect(&[]).unwrap());
        assert_eq!(
            success(&fams, collector),
            0.0,
            "{collector} with bad {file}: {content:?}"
        );
        assert!(
            logs.contains("collector failed") && logs.contains(&path.display().to_string()),
            "{collector}: the log names {}:\n{logs}",
            path.display()
        );
        // Collectors that read the same file may fail too; every other one goes on.
        let same_file: &[&str] = if file.ends_with("proc/stat") {
            &["cpu", "stat"]
        } else {
            &[]
        };
        for other in all
            .iter()
            .filter(|c| *c != collector && !same_file.contains(c))
        {
            assert_eq!(
                success(&fams, other),
                1.0,
                "{other} goes on when {file} is bad"
            );
        }
        // The rest of the scrape is still encoded.
        assert!(encode_text(&fams).contains("node_scrape_collector_duration_seconds"));
    }
}

#[test]
fn good_files_give_the_values() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let nodes = NodeCollector::new(&options(
        dir.path(),
        &["meminfo", "loadavg", "filefd", "stat", "cpu"],
    ))
    .unwrap();
    let fams = nodes.collect(&[]).unwrap();
    for c in ["meminfo", "loadavg", "filefd", "stat", "cpu"] {
        assert_eq!(success(&fams, c), 1.0, "{c}");
    }
    assert_eq!(
        value(&fams, "node_memory_MemTotal_bytes"),
        Some(16_042_172.0 * 1024.0)
    );
    assert_eq!(value(&fams, "node_load1"), Some(0.21));
    assert_eq!(value(&fams, "node_filefd_maximum"), Some(1_631_329.0));
    assert_eq!(
        value(&fams, "node_boot_time_seconds"),
        Some(1_418_183_276.0)
    );
}

#[test]
fn collect_filter_names_only_enabled_collectors() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let nodes = NodeCollector::new(&options(dir.path(), &["meminfo", "loadavg"])).unwrap();
    let fams = nodes.collect(&["loadavg".to_owned()]).unwrap();
    assert!(value(&fams, "node_load1").is_some());
    assert!(value(&fams, "node_memory_MemTotal_bytes").is_none());
    assert_eq!(
        nodes.collect(&["cpu".to_owned()]).unwrap_err(),
        "missing collector: cpu"
    );
}
