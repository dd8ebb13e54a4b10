//! The remote write sender over the real TSDB and its WAL, into Firewatch's own receiver
//! (`handle_write` into a second TSDB) behind a loopback HTTP server whose answers each test
//! chooses: protocol 2.0 with interned symbols and metadata, the fall back to 1.0 on 415,
//! exemplars, native histograms and metadata in 1.0, `sample_age_limit`, a restart that
//! resumes from the saved position, and resharding under a slow receiver.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use firewatch_remote::proto;
use firewatch_remote::{Fanout, WriteStorage, handle_write};
use model::{Labels, Sample};
use parking_lot::Mutex;
use prost::Message;
use storage::Appendable;
use tsdb::{Db, DbOptions};

fn open(dir: &Path) -> Arc<Db> {
    open_with(dir, DbOptions::default().wal_segment_size)
}

fn open_with(dir: &Path, wal_segment_size: usize) -> Arc<Db> {
    Arc::new(
        Db::open(
            dir,
            DbOptions {
                max_exemplars: 1000,
                wal_segment_size,
                ..DbOptions::default()
            },
        )
        .expect("opening the TSDB"),
    )
}

/// Every series of `db` with its samples as text, sorted.
fn dump(db: &Db) -> Vec<String> {
    let mut out = common::dump(db);
    out.sort();
    out
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
struct Seen {
    content_type: String,
    status: u16,
    metadata: usize,
    /// 2.0: symbols in the table, and whether each string appears once.
    symbols: usize,
    symbols_unique: bool,
    /// 2.0: series carrying metadata with a help text.
    series_with_help: usize,
    exemplars: usize,
    /// 2.0: the created timestamps of the series that carry one.
    created: Vec<i64>,
}

type Answer = dyn Fn(&str) -> (u16, Duration) + Send + Sync;

/// A loopback receiver storing into its own TSDB through `handle_write` when `answer` says
/// 2xx, otherwise answering the status it gives.
struct Receiver {
    port: u16,
    db: Arc<Db>,
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Mutex<Arc<Answer>>>,
}

type Inspected = (usize, usize, bool, usize, usize, Vec<i64>);

fn inspect(content_type: &str, body: &[u8]) -> Inspected {
    let Ok(raw) = snap::raw::Decoder::new().decompress_vec(body) else {
        return (0, 0, false, 0, 0, vec![]);
    };
    if content_type.contains("io.prometheus.write.v2.Request") {
        let Ok(r) = proto::v2::Request::decode(raw.as_slice()) else {
            return (0, 0, false, 0, 0, vec![]);
        };
        let mut s = r.symbols.clone();
        s.sort();
        s.dedup();
        let with_help = r
            .timeseries
            .iter()
            .filter(|t| t.metadata.as_ref().is_some_and(|m| m.help_ref != 0))
            .count();
        let ex = r.timeseries.iter().map(|t| t.exemplars.len()).sum();
        let created = r
            .timeseries
            .iter()
            .map(|t| t.created_timestamp)
            .filter(|c| *c != 0)
            .collect();
        (
            0,
            r.symbols.len(),
            s.len() == r.symbols.len(),
            with_help,
            ex,
            created,
        )
    } else {
        let Ok(r) = proto::WriteRequest::decode(raw.as_slice()) else {
            return (0, 0, false, 0, 0, vec![]);
        };
        let ex = r.timeseries.iter().map(|t| t.exemplars.len()).sum();
        (r.metadata.len(), 0, false, 0, ex, vec![])
    }
}

impl Receiver {
    fn start(dir: &Path, answer: Arc<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let db = open(dir);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(answer));
        let (db2, seen2, answer2) = (db.clone(), seen.clone(), answer.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (db, seen, answer) = (db2.clone(), seen2.clone(), answer2.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let (mut len, mut ct, mut ce) = (0usize, String::new(), String::new());
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (k, v) = h.split_once(':').unwrap_or((h, ""));
                            match k.to_ascii_lowercase().as_str() {
                                "content-length" => len = v.trim().parse().unwrap_or(0),
                                "content-type" => ct = v.trim().to_owned(),
                                "content-encoding" => ce = v.trim().to_owned(),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        let f = answer.lock().clone();
                        let (mut status, delay) = f(&ct);
                        std::thread::sleep(delay);
                        let mut headers = String::new();
                        if (200..300).contains(&status) {
                            let resp = handle_write(&*db, Some(&ct), Some(&ce), &body);
                            status = resp.status;
                            for (k, v) in resp.headers {
                                headers.push_str(&format!("{k}: {v}\r\n"));
                            }
                        }
                        let (
                            metadata,
                            symbols,
                            symbols_unique,
                            series_with_help,
                            exemplars,
                            created,
                        ) = inspect(&ct, &body);
                        seen.lock().push(Seen {
                            content_type: ct,
                            status,
                            metadata,
                            symbols,
                            symbols_unique,
                            series_with_help,
                            exemplars,
                            created,
                        });
                        let _ = write!(
                            w,
                            "HTTP/1.1 {status} X\r\n{headers}Content-Length: 0\r\n\r\n"
                        );
                    }
                });
            }
        });
        Self {
            port,
            db,
            seen,
            answer,
        }
    }

    fn set_answer(&self, answer: Arc<Answer>) {
        *self.answer.lock() = answer;
    }
}

/// A sender: the source TSDB, the fanout appendable and the queues, on a runtime.
struct Sender {
    db: Arc<Db>,
    fanout: Fanout,
    storage: Arc<WriteStorage>,
    registry: metrics::Registry,
    _rt: tokio::runtime::Runtime,
}

impl Sender {
    fn start(dir: &Path, remote_write_yaml: &str) -> Self {
        Self::start_with(open(dir), dir, remote_write_yaml)
    }

    fn start_with(db: Arc<Db>, dir: &Path, remote_write_yaml: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let registry = metrics::Registry::new();
        let storage = Arc::new(WriteStorage::new(&registry, rt.handle().clone(), dir));
        let cfg = config::Config::from_yaml_str(
            &format!("global:\n  external_labels:\n    origin: src\n{remote_write_yaml}"),
            dir,
        )
        .expect("configuration");
        storage.apply_config(&cfg).expect("starting the queues");
        let fanout = Fanout::new(db.clone(), storage.clone());
        Self {
            db,
            fanout,
            storage,
            registry,
            _rt: rt,
        }
    }

    /// The value of the metric line starting with `prefix`.
    fn metric(&self, prefix: &str) -> f64 {
        let text = self.registry.encode(metrics::Format::Text);
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn stop(self) -> Arc<Db> {
        self.storage.stop();
        self.db
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Appends `rounds` commits of `series` float series (with metadata and an exemplar each) and
/// one native histogram series, one commit per millisecond step from `t0`.
fn write(app: &dyn Appendable, t0: i64, rounds: i64, series: usize) {
    let meta = storage::Metadata {
        typ: model::exposition::MetricType::Counter,
        unit: String::new(),
        help: "Requests served.".into(),
    };
    for r in 0..rounds {
        let mut a = app.appender();
        let t = t0 + r * 1000;
        for s in 0..series {
            let l = Labels::from_pairs([("__name__", "req_total"), ("i", &s.to_string())]);
            let sref = a.append(0, &l, t, Sample::Float(r as f64)).unwrap();
            if r == 0 {
                a.update_metadata(sref, &l, &meta).unwrap();
            }
            a.append_exemplar(
                sref,
                &l,
                &storage::Exemplar {
                    labels: Labels::from_pairs([("trace_id", &format!("t{r}"))]),
                    value: r as f64,
                    ts: t,
                    has_ts: true,
                },
            )
            .unwrap();
        }
        let h = model::Histogram {
            schema: 0,
            count: u64::try_from(r).unwrap() + 1,
            sum: 1.0,
            zero_count: u64::try_from(r).unwrap() + 1,
            ..Default::default()
        };
        let l = Labels::from_pairs([("__name__", "lat_seconds")]);
        a.append(0, &l, t, Sample::Histogram(Arc::new(h))).unwrap();
        a.commit().unwrap();
    }
}

/// The source's dump as the receiver should hold it (with the external label).
fn expected(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = dump(db)
        .into_iter()
        .map(|l| l.replacen('}', ", origin=\"src\"}", 1))
        .collect();
    v.sort();
    v
}

fn wait_equal(src: &Db, recv: &Receiver, what: &str) {
    let want = expected(src);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = dump(&recv.db);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the receiver holds\n{got:#?}\nwanted\n{want:#?}\nrequests: {:?}",
            recv.seen.lock()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ok() -> Arc<Answer> {
    Arc::new(|_: &str| (204, Duration::ZERO))
}

/// The `remote_write` section for the receiver on `port`, the queue's other lines (`queue`,
/// indented under the list item) after its URL.
fn remote_write(port: u16, queue: &str) -> String {
    format!("remote_write:\n  - url: http://127.0.0.1:{port}/api/v1/write\n{queue}")
}

/// A receiver answering `answer` (in `dir/recv`) and a sender to it (in `dir/src`) with the
/// queue lines `queue`, given half a second to start: the queue starts at the WAL's end, and
/// what comes after is sent.
fn start_pair(dir: &Path, answer: Arc<Answer>, queue: &str) -> (Receiver, Sender) {
    let recv = Receiver::start(&dir.join("recv"), answer);
    let s = Sender::start(&dir.join("src"), &remote_write(recv.port, queue));
    std::thread::sleep(Duration::from_millis(500));
    (recv, s)
}

/// Waits (up to `timeout`) until the sender's metric `prefix` reaches `at_least`.
fn wait_metric(s: &Sender, prefix: &str, at_least: f64, timeout: Duration, what: &str) {
    let deadline = Instant::now() + timeout;
    while s.metric(prefix) < at_least {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn protocol_2_0_sends_interned_symbols_metadata_exemplars_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let (recv, s) = start_pair(
        dir.path(),
        ok(),
        "    name: v2\n    protobuf_message: io.prometheus.write.v2.Request\n    send_exemplars: true\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 100ms\n",
    );
    let t0 = now_ms();
    write(&s.fanout, t0, 5, 3);
    // A counter with its start (created) timestamp.
    let mut a = s.fanout.appender();
    let l = Labels::from_pairs([("__name__", "jobs_total")]);
    a.append_with_start(0, &l, t0 - 60_000, t0, Sample::Float(3.0))
        .unwrap();
    a.commit().unwrap();
    wait_equal(&s.db, &recv, "2.0");
    let seen = recv.seen.lock().clone();
    assert!(
        seen.iter().all(|r| r
            .content_type
            .contains("proto=io.prometheus.write.v2.Request")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|r| r.symbols > 0 && r.symbols_unique),
        "{seen:?}"
    );
    assert!(seen.iter().any(|r| r.series_with_help > 0), "{seen:?}");
    assert_eq!(seen.iter().map(|r| r.exemplars).sum::<usize>(), 15);
    let created: Vec<i64> = seen.iter().flat_map(|r| r.created.clone()).collect();
    assert_eq!(created, [t0 - 60_000], "{seen:?}");
    assert_eq!(s.metric("prometheus_remote_storage_samples_total{"), 16.0);
    assert_eq!(s.metric("prometheus_remote_storage_histograms_total{"), 5.0);
    assert_eq!(s.metric("prometheus_remote_storage_exemplars_total{"), 15.0);
    assert_eq!(s.metric("prometheus_remote_storage_samples_in_total"), 16.0);
    assert_eq!(s.metric("prometheus_remote_storage_samples_pending{"), 0.0);
    s.stop();
}

#[test]
fn protocol_2_0_falls_back_to_1_0_on_415() {
    let dir = tempfile::tempdir().unwrap();
    let (recv, s) = start_pair(
        dir.path(),
        Arc::new(|ct: &str| {
            if ct.contains("v2") {
                (415, Duration::ZERO)
            } else {
                (204, Duration::ZERO)
            }
        }),
        "    protobuf_message: io.prometheus.write.v2.Request\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 100ms\n",
    );
    write(&s.fanout, now_ms(), 4, 2);
    wait_equal(&s.db, &recv, "fallback");
    let seen = recv.seen.lock().clone();
    let refused = seen.iter().filter(|r| r.status == 415).count();
    assert_eq!(refused, 1, "one 2.0 request refused, then 1.0: {seen:?}");
    assert!(
        seen.iter()
            .any(|r| r.content_type == "application/x-protobuf")
    );
    assert_eq!(
        s.metric("prometheus_remote_storage_samples_failed_total{"),
        0.0
    );
    s.stop();
}

#[test]
fn protocol_1_0_sends_exemplars_histograms_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (recv, s) = start_pair(
        dir.path(),
        ok(),
        "    send_exemplars: true\n    send_native_histograms: true\n    metadata_config:\n      send_interval: 1s\n    queue_config:\n      batch_send_deadline: 100ms\n",
    );
    write(&s.fanout, now_ms(), 3, 2);
    wait_equal(&s.db, &recv, "1.0");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !recv.seen.lock().iter().any(|r| r.metadata > 0) {
        assert!(Instant::now() < deadline, "no metadata request");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        recv.seen.lock().iter().map(|r| r.exemplars).sum::<usize>(),
        6
    );
    assert!(s.metric("prometheus_remote_storage_metadata_total{") >= 1.0);
    s.stop();
}

#[test]
fn without_send_native_histograms_and_send_exemplars_only_floats_go() {
    let dir = tempfile::tempdir().unwrap();
    let (recv, s) = start_pair(
        dir.path(),
        ok(),
        "    queue_config:\n      batch_send_deadline: 100ms\n",
    );
    write(&s.fanout, now_ms(), 3, 2);
    wait_metric(
        &s,
        "prometheus_remote_storage_samples_total{",
        6.0,
        Duration::from_secs(30),
        "samples not sent",
    );
    std::thread::sleep(Duration::from_millis(500));
    let got = dump(&recv.db);
    assert!(
        got.iter().all(|l| l.starts_with("{__name__=\"req_total\"")),
        "{got:?}"
    );
    assert_eq!(
        recv.seen.lock().iter().map(|r| r.exemplars).sum::<usize>(),
        0
    );
    s.stop();
}

#[test]
fn sample_age_limit_drops_what_waited_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let (recv, s) = start_pair(
        dir.path(),
        ok(),
        "    queue_config:\n      batch_send_deadline: 100ms\n      sample_age_limit: 10m\n",
    );
    let now = now_ms();
    // An hour old (dropped), then fresh (sent).
    write(&s.fanout, now - 3_600_000, 2, 1);
    write(&s.fanout, now, 2, 1);
    wait_metric(
        &s,
        "prometheus_remote_storage_samples_total{",
        2.0,
        Duration::from_secs(30),
        "fresh samples not sent",
    );
    assert_eq!(
        s.metric("prometheus_remote_storage_samples_dropped_total{"),
        2.0
    );
    let got = dump(&recv.db);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains(&format!(" {now}=0 ")), "{got:?}");
    assert!(
        !got[0].contains(&format!("{}=", now - 3_600_000)),
        "{got:?}"
    );
    s.stop();
}

#[test]
fn a_stopped_queue_resumes_from_its_saved_position_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let recv = Receiver::start(&dir.path().join("recv"), ok());
    let rw = remote_write(
        recv.port,
        "    name: q\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 100ms\n      min_backoff: 50ms\n      max_backoff: 200ms\n",
    );
    let src = dir.path().join("src");
    let s = Sender::start(&src, &rw);
    std::thread::sleep(Duration::from_millis(500));
    let t0 = now_ms();
    write(&s.fanout, t0, 3, 2);
    wait_equal(&s.db, &recv, "before the outage");
    // The receiver fails; more is written; the queue stops while it retries.
    recv.set_answer(Arc::new(|_: &str| (503, Duration::ZERO)));
    write(&s.fanout, t0 + 3000, 3, 2);
    std::thread::sleep(Duration::from_millis(800));
    let db = s.stop();
    drop(db);
    assert!(src.join("remote_write/q.position").exists());
    // A new sender on the same directory (the TSDB replays its WAL), the receiver back.
    recv.set_answer(ok());
    let s = Sender::start(&src, &rw);
    write(&s.fanout, t0 + 6000, 2, 2);
    wait_equal(&s.db, &recv, "after the restart");
    // Nothing twice: each request's samples were new to the receiver (a duplicate sample
    // is accepted silently by the TSDB, so count what was sent instead).
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.metric("prometheus_remote_storage_samples_total{") < 6.0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let ok_requests: Vec<Seen> = recv
        .seen
        .lock()
        .iter()
        .filter(|r| r.status < 300)
        .cloned()
        .collect();
    assert!(!ok_requests.is_empty());
    // Sent after the restart: the 6 float samples of the outage and the 4 new ones, once.
    assert_eq!(s.metric("prometheus_remote_storage_samples_total{"), 10.0);
    s.stop();
}

#[test]
fn shards_grow_with_the_load_of_a_slow_receiver() {
    let dir = tempfile::tempdir().unwrap();
    // 100 ms per request of at most 50 samples: one shard sends ~500 samples/s, well below
    // what the loop below appends even when a loaded machine slows it to a third.
    let recv = Receiver::start(
        &dir.path().join("recv"),
        Arc::new(|_: &str| (204, Duration::from_millis(100))),
    );
    let s = Sender::start(
        &dir.path().join("src"),
        &remote_write(
            recv.port,
            "    name: slow\n    queue_config:\n      min_shards: 1\n      max_shards: 6\n      max_samples_per_send: 50\n      capacity: 200\n      batch_send_deadline: 50ms\n",
        ),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.metric("prometheus_remote_storage_shards{"), 1.0);
    assert_eq!(s.metric("prometheus_remote_storage_shards_max{"), 6.0);
    assert_eq!(s.metric("prometheus_remote_storage_shards_min{"), 1.0);
    // ~4000 samples/s for up to 25 s, until the queue reshards.
    let t0 = now_ms();
    let started = Instant::now();
    let mut round = 0i64;
    let labels: Vec<Labels> = (0..200)
        .map(|i| Labels::from_pairs([("__name__", "load"), ("i", &i.to_string())]))
        .collect();
    while s.metric("prometheus_remote_storage_shards{") <= 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "no resharding: desired {}",
            s.metric("prometheus_remote_storage_shards_desired{")
        );
        let mut a = s.fanout.appender();
        for l in &labels {
            a.append(0, l, t0 + round, Sample::Float(1.0)).unwrap();
        }
        a.commit().unwrap();
        round += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = s.metric("prometheus_remote_storage_shards{");
    assert!((2.0..=6.0).contains(&n), "{n}");
    assert!(s.metric("prometheus_remote_storage_shards_desired{") > 1.0);
    s.stop();
}

#[test]
fn segments_cut_checkpointed_and_deleted_while_sending_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let recv = Receiver::start(&dir.path().join("recv"), ok());
    let src = dir.path().join("src");
    // 64 KiB segments: the writes below span many.
    let s = Sender::start_with(
        open_with(&src, 64 * 1024),
        &src,
        &remote_write(
            recv.port,
            "    name: cp\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 50ms\n",
        ),
    );
    std::thread::sleep(Duration::from_millis(500));
    let t0 = now_ms();
    for round in 0..6 {
        write(&s.fanout, t0 + round * 40_000, 40, 20);
        // Head truncation: a checkpoint of the older segments, which are deleted.
        s.db.head().truncate_wal(t0).unwrap();
    }
    wait_equal(&s.db, &recv, "across checkpoints");
    let segments = tsdb::wal::segment_range(&src.join("wal")).unwrap().unwrap();
    assert!(segments.0 > 0, "no segment was deleted: {segments:?}");
    assert!(
        tsdb::wal::last_checkpoint(&src.join("wal"))
            .unwrap()
            .is_some()
    );
    assert!(s.metric("prometheus_wal_watcher_current_segment{") >= 3.0);
    assert_eq!(
        s.metric("prometheus_remote_storage_samples_dropped_total{"),
        0.0
    );
    s.stop();
}

#[test]
fn wal_truncation_during_an_outage_keeps_what_the_queue_has_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down (503, retried) while the WAL is cut and truncated.
    let recv = Receiver::start(
        &dir.path().join("recv"),
        Arc::new(|_: &str| (503, Duration::ZERO)),
    );
    let src = dir.path().join("src");
    let s = Sender::start_with(
        open_with(&src, 64 * 1024),
        &src,
        &remote_write(
            recv.port,
            "    name: hold\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 50ms\n      min_backoff: 10ms\n      max_backoff: 200ms\n",
        ),
    );
    // Wired as the agent wires it: truncation keeps the queue's oldest unsent segment.
    let storage = Arc::downgrade(&s.storage);
    s.db.head()
        .set_wal_hold(Some(tsdb::head::WalHold(Arc::new(move || {
            storage.upgrade()?.wal_hold(Some(Duration::from_secs(3600)))
        }))));
    std::thread::sleep(Duration::from_millis(500));
    let wal = src.join("wal");
    let first = tsdb::wal::segment_range(&wal).unwrap().unwrap().0;
    let t0 = now_ms();
    for round in 0..6 {
        write(&s.fanout, t0 + round * 40_000, 40, 20);
        s.db.head().truncate_wal(t0 + (round + 1) * 40_000).unwrap();
    }
    let (lo, hi) = tsdb::wal::segment_range(&wal).unwrap().unwrap();
    assert!(
        hi >= first + 4,
        "the writes should span segments: {first}..{hi}"
    );
    let hold = s.storage.wal_hold(None).expect("the queue holds the WAL");
    assert!(
        hold <= first,
        "nothing was sent, yet the hold moved: {hold} > {first}"
    );
    assert!(
        lo <= hold,
        "a segment the queue had not sent was deleted: WAL {lo}..{hi}, hold {hold}"
    );
    assert!(dump(&recv.db).is_empty(), "the receiver was down");
    // A receiver down longer than the cap no longer holds the WAL.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(s.storage.wal_hold(Some(Duration::ZERO)), None);
    // The receiver comes back: everything arrives, nothing was dropped.
    recv.set_answer(ok());
    wait_equal(&s.db, &recv, "after the outage");
    assert_eq!(
        s.metric("prometheus_remote_storage_samples_dropped_total{"),
        0.0
    );
    // Once sent, the hold follows the queue and truncation deletes segments again.
    let hold_after = s.storage.wal_hold(None).unwrap();
    assert!(
        hold_after > hold,
        "the hold did not move after sending: {hold_after}"
    );
    s.db.head().truncate_wal(now_ms() + 300_000).unwrap();
    let lo_after = tsdb::wal::segment_range(&wal).unwrap().unwrap().0;
    assert!(
        lo_after > lo,
        "truncation stayed held after sending: {lo_after}"
    );
    s.stop();
}
