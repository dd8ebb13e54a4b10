//! Crash safety: a child process appends and commits in a loop, printing each committed
//! timestamp; it is killed with SIGKILL at arbitrary points, and after reopening every
//! committed sample is there.
//!
//! The child is this same test binary, re-run with an environment variable naming the data
//! directory (so no extra binary is needed).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Matcher, Sample, labels};
use storage::ValueType;

const CHILD_ENV: &str = "FIREWATCH_TSDB_CRASH_CHILD_DIR";
const SERIES: usize = 10;

fn series() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| labels!("__name__" => "crash", "i" => i.to_string().as_str()))
        .collect()
}

fn read_all(db: &Db) -> Vec<Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = vec![Vec::new(); SERIES];
    for s in q
        .select(true, None, &[Matcher::equal("__name__", "crash")])
        .unwrap()
    {
        let s = s.unwrap();
        let i: usize = s.labels().get("i").unwrap().parse().unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            out[i].push(it.at());
        }
    }
    out
}

/// The child: continue after the newest committed sample, forever.
fn child(dir: &str) -> ! {
    let db = Db::open(
        dir.as_ref(),
        DbOptions {
            wal_segment_size: 64 * 1024,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let mut t = read_all(&db)
        .iter()
        .filter_map(|s| s.last().map(|x| x.0))
        .max()
        .map_or(0, |t| t + 1000);
    let series = series();
    let mut refs = [0u64; SERIES];
    loop {
        let mut app = db.appender();
        for (i, s) in series.iter().enumerate() {
            refs[i] = app
                .append(refs[i], s, t, Sample::Float((t / 1000) as f64 + i as f64))
                .unwrap();
        }
        app.commit().unwrap();
        println!("committed {t}");
        t += 1000;
    }
}

#[test]
fn committed_samples_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut committed: Vec<i64> = Vec::new();
    let exe = std::env::current_exe().unwrap();
    for (iteration, delay_ms) in [150u64, 420, 70, 300].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "committed_samples_survive_sigkill",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut ts = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = line.strip_prefix("committed ") {
                    ts.push(t.parse::<i64>().unwrap());
                    let _ = tx.send(());
                }
            }
            ts
        });
        // Wait for the child's first commit, let it run a little, and kill it mid-loop.
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("iteration {iteration}: child never committed");
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let printed = reader.join().unwrap();
        assert!(
            !printed.is_empty(),
            "iteration {iteration}: child committed nothing"
        );
        committed.extend(printed);

        let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
        let got = read_all(&db);
        for (i, samples) in got.iter().enumerate() {
            let times: std::collections::HashSet<i64> = samples.iter().map(|s| s.0).collect();
            for t in &committed {
                assert!(
                    times.contains(t),
                    "iteration {iteration}: series {i} lost committed sample at {t}"
                );
            }
            for &(t, v) in samples {
                assert_eq!(
                    v,
                    (t / 1000) as f64 + i as f64,
                    "series {i} sample at {t} has a wrong value"
                );
            }
        }
        db.close().unwrap();
    }
    assert!(
        committed.windows(2).all(|w| w[0] < w[1]),
        "children continue after each other"
    );
}
