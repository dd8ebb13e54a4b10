//! An append-only log beside a state's snapshot under `--storage.path` (the alerts', the
//! notification log's, the silences'): each change is written to the file before it is
//! acknowledged (an accepted POST or DELETE, a sent notification), so nothing acknowledged
//! before a `kill -9` is lost; the snapshot compacts it. Alertmanager keeps alerts only in
//! memory and snapshots its notification log and silences periodically; this is Firewatch's
//! addition.
//!
//! Two sync policies, as Prometheus's WAL has: with fsync on (the default of a new log) each
//! batch is `fdatasync`ed before it is acknowledged, so it survives a crash of the machine too;
//! with fsync off a batch is acknowledged once written (in the page cache: a crash of the
//! process loses nothing) and the writer syncs in the background at most
//! [`BACKGROUND_SYNC_INTERVAL`] after the first unsynced write, when a segment is closed and
//! when the log stops, so a power loss can lose at most about that interval.
//!
//! One writer thread owns the open segment. Requests queue on a channel; the writer takes all
//! that are waiting, writes them, calls `fdatasync` once (fsync on) and then answers them all
//! (group commit), so concurrent posts share one sync. Segments are numbered files
//! `<dir>/<n>.jsonl`, one JSON record per line. A compaction closes the open segment
//! (in order with the appends), the caller writes the snapshot, and the closed segments are
//! removed. On start the snapshot is read and then every segment is replayed in order; a torn
//! last line (a crash mid-write, never acknowledged) ends that segment's replay.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::error::StateError;

enum Msg {
    Append(Vec<u8>, oneshot::Sender<Result<(), String>>),
    Rotate(mpsc::Sender<Result<u64, String>>),
    /// Tests: the writer waits for the receiver before it takes the next messages.
    #[cfg(test)]
    Hold(mpsc::Receiver<()>),
    /// Tests: answered once the writer has handled everything queued before (and run the
    /// background sync that was due).
    #[cfg(test)]
    Ping(mpsc::Sender<()>),
    /// Tests: sets the background sync interval.
    #[cfg(test)]
    SyncInterval(Duration),
}

/// With fsync off, the longest a written record waits for its background `fdatasync`.
pub const BACKGROUND_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// The writer's handle: append records, close the open segment, know the bytes since the last
/// compaction.
pub struct StateLog {
    dir: PathBuf,
    tx: parking_lot::Mutex<mpsc::Sender<Msg>>,
    bytes: Arc<AtomicU64>,
    fsync: Arc<AtomicBool>,
    syncs: Arc<AtomicU64>,
}

/// An acknowledgement to wait for: resolved once the record is on disk.
pub struct Durable(Option<oneshot::Receiver<Result<(), String>>>);

impl Durable {
    /// Nothing to wait for (no log).
    #[must_use]
    pub fn done() -> Self {
        Self(None)
    }

    /// Waits until the record is synced.
    ///
    /// # Errors
    /// The write or the sync failed, or the writer is gone.
    pub async fn wait(self) -> Result<(), String> {
        match self.0 {
            None => Ok(()),
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the state log writer stopped".to_owned())),
        }
    }
}

/// The log directory beside a snapshot file: `<storage>/alerts` logs in
/// `<storage>/alerts-log`.
#[must_use]
pub fn dir_beside(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.file_name().unwrap_or_default().to_os_string();
    name.push("-log");
    snapshot.with_file_name(name)
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}.jsonl"))
}

/// The numbers of the segments in `dir`, ascending.
fn segments(dir: &Path) -> Result<Vec<u64>, StateError> {
    let io = |source| StateError::Io {
        file: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl StateLog {
    /// Opens the log directory: calls `replay` with the records of every segment in order,
    /// then starts a new segment after them for the appends.
    ///
    /// # Errors
    /// The directory or a segment cannot be read, or the new segment cannot be created.
    pub fn open<T: DeserializeOwned>(
        dir: &Path,
        mut replay: impl FnMut(T),
    ) -> Result<Self, StateError> {
        let io = |file: &Path| {
            let file = file.to_path_buf();
            move |source| StateError::Io { file, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let existing = segments(dir)?;
        for &n in &existing {
            let path = segment_path(dir, n);
            let f = std::fs::File::open(&path).map_err(io(&path))?;
            for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                let line = line.map_err(io(&path))?;
                match serde_json::from_str::<T>(&line) {
                    Ok(record) => replay(record),
                    Err(e) => {
                        tracing::warn!(file = %path.display(), line = i + 1, err = %e,
                            "state log: torn or corrupt record, the rest of the segment is skipped");
                        break;
                    }
                }
            }
        }
        let next = existing.last().map_or(1, |n| n + 1);
        let file = open_segment(dir, next)?;
        let (tx, rx) = mpsc::channel();
        let bytes = Arc::new(AtomicU64::new(0));
        let fsync = Arc::new(AtomicBool::new(true));
        let syncs = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            dir: dir.to_path_buf(),
            n: next,
            file,
            len: 0,
            cut_back: false,
            unsynced_since: None,
            sync_interval: BACKGROUND_SYNC_INTERVAL,
            bytes: bytes.clone(),
            fsync: fsync.clone(),
            syncs: syncs.clone(),
        };
        std::thread::Builder::new()
            .name("state-log".to_owned())
            .spawn(move || writer.run(&rx))
            .map_err(io(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            tx: parking_lot::Mutex::new(tx),
            bytes,
            fsync,
            syncs,
        })
    }

    /// How many times the writer synced the log to disk.
    #[must_use]
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Whether each batch of records is fsynced before it is acknowledged (the default of a
    /// new log). Off, a record is acknowledged once written to the file: it survives a crash
    /// of the process (`kill -9`); the writer syncs it in the background within
    /// [`BACKGROUND_SYNC_INTERVAL`], so a crash of the machine (power loss, kernel panic) can
    /// lose about the last second of records.
    pub fn set_fsync(&self, on: bool) {
        self.fsync.store(on, Ordering::Relaxed);
    }

    /// Queues `record` as one line; the answer resolves once it is synced.
    #[must_use]
    pub fn append<T: Serialize + ?Sized>(&self, record: &T) -> Durable {
        let (ack, rx) = oneshot::channel();
        match serde_json::to_vec(record) {
            Ok(mut line) => {
                line.push(b'\n');
                if self.tx.lock().send(Msg::Append(line, ack)).is_err() {
                    // The receiver is dropped with the writer; `rx` then answers an error.
                }
            }
            Err(e) => {
                let _ = ack.send(Err(e.to_string()));
            }
        }
        Durable(Some(rx))
    }

    /// Asks the writer to close the open segment after everything queued before; returns a
    /// receiver of the closed segment's number (to pass to [`StateLog::remove_through`] once
    /// a snapshot covering it is written).
    #[must_use]
    pub fn rotate(&self) -> mpsc::Receiver<Result<u64, String>> {
        let (tx, rx) = mpsc::channel();
        let _ = self.tx.lock().send(Msg::Rotate(tx));
        rx
    }

    /// Starts a compaction: closes the open segment in order with the appends (call it under
    /// the state's lock, with the state copied for the snapshot under the same lock).
    #[must_use]
    pub fn begin_compaction(&self) -> Compaction<'_> {
        Compaction {
            log: self,
            rx: self.rotate(),
        }
    }

    /// Removes the segments numbered up to `n`.
    ///
    /// # Errors
    /// A segment cannot be removed.
    pub fn remove_through(&self, n: u64) -> Result<(), StateError> {
        for m in segments(&self.dir)? {
            if m <= n {
                let path = segment_path(&self.dir, m);
                std::fs::remove_file(&path).map_err(|source| StateError::Io {
                    file: path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Bytes appended since the last rotation.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Reads the snapshot at `path` (a JSON list) and replays the log beside it (records that
/// are lists too), passing every item to `apply` in order; returns the log, open for appends.
///
/// # Errors
/// An unreadable or corrupt snapshot, an unreadable log directory.
pub fn load_beside<T: DeserializeOwned>(
    path: &Path,
    mut apply: impl FnMut(T),
) -> Result<StateLog, StateError> {
    let list: Vec<T> = crate::state_file::read(path)?.unwrap_or_default();
    for item in list {
        apply(item);
    }
    StateLog::open(&dir_beside(path), |list: Vec<T>| {
        for item in list {
            apply(item);
        }
    })
}

/// Writes a snapshot to `path` and compacts `log` with it: under the state's lock (`lock`),
/// `take` returns the list to write (none when nothing changed since the last snapshot) and
/// the compaction begins; the list is written after the lock is released, `written` is told
/// its size, then the segments it covers are removed (`what` names the state in errors).
///
/// # Errors
/// The file cannot be written, a segment cannot be removed.
pub fn write_snapshot<G, T: Serialize>(
    path: &Path,
    log: Option<&StateLog>,
    what: &str,
    lock: impl FnOnce() -> G,
    take: impl FnOnce(&mut G) -> Option<Vec<T>>,
    written: impl FnOnce(usize),
) -> Result<(), StateError> {
    let (list, compaction) = {
        let mut state = lock();
        let Some(list) = take(&mut state) else {
            return Ok(());
        };
        // Closed in order with the appends: every record in the closed segments is in the
        // list.
        (list, log.map(StateLog::begin_compaction))
    };
    let bytes = crate::state_file::write(path, &list)?;
    written(bytes);
    compaction.map_or(Ok(()), |c| c.finish(what))
}

/// A compaction under way: once a snapshot holding everything up to
/// [`StateLog::begin_compaction`] is written, [`Compaction::finish`] removes the closed
/// segments.
pub struct Compaction<'a> {
    log: &'a StateLog,
    rx: mpsc::Receiver<Result<u64, String>>,
}

impl Compaction<'_> {
    /// Removes the segments the snapshot covers; `what` names the state in the errors logged
    /// when the segment could not be closed (then the segments stay, replayed harmlessly).
    ///
    /// # Errors
    /// A segment cannot be removed.
    pub fn finish(self, what: &str) -> Result<(), StateError> {
        match self.rx.recv() {
            Ok(Ok(n)) => self.log.remove_through(n),
            Ok(Err(e)) => {
                tracing::error!(err = %e, "closing the {what} log segment");
                Ok(())
            }
            Err(_) => {
                tracing::error!("the {what} log writer stopped");
                Ok(())
            }
        }
    }
}

fn open_segment(dir: &Path, n: u64) -> Result<std::fs::File, StateError> {
    let path = segment_path(dir, n);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| StateError::Io {
            file: path.clone(),
            source,
        })?;
    // The new name must survive a crash too: a directory that cannot be synced is an error.
    crate::state_file::sync_dir(dir)?;
    Ok(f)
}

struct Writer {
    dir: PathBuf,
    n: u64,
    file: std::fs::File,
    /// Bytes of the open segment holding whole, acknowledged records.
    len: u64,
    /// A failed write could not be cut back yet: retried before the next write.
    cut_back: bool,
    /// When the first record not synced yet was written (fsync off).
    unsynced_since: Option<Instant>,
    /// How long a written record may wait for its background sync.
    sync_interval: Duration,
    bytes: Arc<AtomicU64>,
    fsync: Arc<AtomicBool>,
    syncs: Arc<AtomicU64>,
}

impl Writer {
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        while let Some(first) = self.next(rx) {
            #[cfg(test)]
            if let Msg::Hold(release) = first {
                let _ = release.recv();
                continue;
            }
            let mut batch = vec![first];
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            let mut acks = Vec::new();
            let mut pending = Vec::new();
            for m in batch {
                match m {
                    Msg::Append(line, ack) => {
                        pending.extend_from_slice(&line);
                        acks.push(ack);
                    }
                    Msg::Rotate(reply) => {
                        let r = self.write_sync(&pending);
                        pending.clear();
                        answer(&mut acks, &r);
                        let _ = reply.send(r.and_then(|()| self.rotate()));
                    }
                    #[cfg(test)]
                    Msg::Hold(release) => {
                        let _ = release.recv();
                    }
                    #[cfg(test)]
                    Msg::SyncInterval(d) => self.sync_interval = d,
                    #[cfg(test)]
                    Msg::Ping(reply) => {
                        let r = self.write_sync(&pending);
                        pending.clear();
                        answer(&mut acks, &r);
                        self.sync_if_due();
                        let _ = reply.send(());
                    }
                }
            }
            let r = self.write_sync(&pending);
            answer(&mut acks, &r);
            self.sync_if_due();
        }
        // The log is gone (the process stops): what was written is synced before the end.
        self.background_sync();
    }

    /// The next message; with records waiting for their background sync, the sync runs when
    /// it is due while no message comes. `None` once every sender is gone.
    fn next(&mut self, rx: &mpsc::Receiver<Msg>) -> Option<Msg> {
        loop {
            let Some(since) = self.unsynced_since else {
                return rx.recv().ok();
            };
            let due = (since + self.sync_interval).saturating_duration_since(Instant::now());
            match rx.recv_timeout(due) {
                Ok(m) => return Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => self.background_sync(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Runs the background sync when the oldest unsynced record waited its interval.
    fn sync_if_due(&mut self) {
        if self
            .unsynced_since
            .is_some_and(|t| t.elapsed() >= self.sync_interval)
        {
            self.background_sync();
        }
    }

    /// Syncs the records written without a sync (fsync off). A failure is logged: those
    /// records were acknowledged already and stay in the file for a later sync or replay.
    fn background_sync(&mut self) {
        if self.unsynced_since.take().is_none() {
            return;
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.file.sync_data() {
            tracing::error!(file = %segment_path(&self.dir, self.n).display(), err = %e,
                "state log background sync failed");
        }
    }

    /// Appends `bytes` and syncs them. A write or sync that fails (a full disk) is cut back
    /// to the last acknowledged record, so no torn line sits before the records written once
    /// space returns (replay stops at a torn line) and nothing refused comes back at replay.
    fn write_sync(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        let path = segment_path(&self.dir, self.n);
        if self.cut_back {
            self.file
                .set_len(self.len)
                .map_err(|e| format!("{}: cutting back a failed write: {e}", path.display()))?;
            self.cut_back = false;
        }
        let fsync = self.fsync.load(Ordering::Relaxed);
        let res = self.file.write_all(bytes).and_then(|()| {
            if !fsync {
                return Ok(());
            }
            self.syncs.fetch_add(1, Ordering::Relaxed);
            self.file.sync_data()
        });
        match res {
            Ok(()) => {
                self.len += bytes.len() as u64;
                self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if fsync {
                    self.unsynced_since = None;
                } else if self.unsynced_since.is_none() {
                    self.unsynced_since = Some(Instant::now());
                }
                Ok(())
            }
            Err(e) => {
                self.cut_back = self.file.set_len(self.len).is_err();
                tracing::error!(file = %path.display(), err = %e,
                    "state log write failed; the change is refused and later writes are retried");
                Err(format!("{}: {e}", path.display()))
            }
        }
    }

    /// Starts the next segment (the closed one synced first); returns the closed one's
    /// number.
    fn rotate(&mut self) -> Result<u64, String> {
        self.background_sync();
        let closed = self.n;
        self.file = open_segment(&self.dir, closed + 1).map_err(|e| e.to_string())?;
        self.n = closed + 1;
        self.len = 0;
        self.cut_back = false;
        self.bytes.store(0, Ordering::Relaxed);
        Ok(closed)
    }
}

fn answer(acks: &mut Vec<oneshot::Sender<Result<(), String>>>, r: &Result<(), String>) {
    for ack in acks.drain(..) {
        let _ = ack.send(r.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until the writer has handled everything queued before.
    fn ping(log: &StateLog) {
        let (tx, rx) = mpsc::channel();
        log.tx.lock().send(Msg::Ping(tx)).unwrap();
        rx.recv().unwrap();
    }

    #[test]
    fn records_are_synced_before_the_answer_only_with_fsync_on_and_replayed_either_way() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join("x-log");
        for (i, fsync) in [true, false].into_iter().enumerate() {
            let log = StateLog::open(&log_dir, |_: Vec<u32>| {}).unwrap();
            log.set_fsync(fsync);
            // No background sync comes due during the test.
            let _ = log
                .tx
                .lock()
                .send(Msg::SyncInterval(Duration::from_secs(3600)));
            for n in 0..3u32 {
                futures::executor::block_on(log.append(&vec![n + 10 * i as u32]).wait()).unwrap();
            }
            ping(&log);
            assert_eq!(log.syncs(), if fsync { 3 } else { 0 }, "fsync {fsync}");
            // Closing the segment syncs what was written without a sync.
            let closed = log.rotate().recv().unwrap();
            assert!(closed.is_ok());
            assert_eq!(log.syncs(), if fsync { 3 } else { 1 }, "fsync {fsync}");
        }
        let mut seen = Vec::new();
        let _log = StateLog::open(&log_dir, |v: Vec<u32>| seen.extend(v)).unwrap();
        assert_eq!(seen, [0, 1, 2, 10, 11, 12]);
    }

    #[test]
    fn without_fsync_written_records_get_one_background_sync_once_due() {
        let dir = tempfile::tempdir().unwrap();
        let log = StateLog::open(&dir.path().join("x-log"), |_: Vec<u32>| {}).unwrap();
        log.set_fsync(false);
        // Due at once: the writer syncs right after answering the batch.
        let _ = log.tx.lock().send(Msg::SyncInterval(Duration::ZERO));
        // The writer idle, then held while the five appends queue: they are one batch.
        ping(&log);
        let (release, held) = mpsc::channel();
        log.tx.lock().send(Msg::Hold(held)).unwrap();
        let acks: Vec<Durable> = (0..5u32).map(|n| log.append(&vec![n])).collect();
        release.send(()).unwrap();
        futures::executor::block_on(async {
            for a in acks {
                a.wait().await.unwrap();
            }
        });
        ping(&log);
        assert_eq!(log.syncs(), 1, "one background sync for the batch");
        // Nothing written since: nothing more to sync.
        ping(&log);
        assert_eq!(log.syncs(), 1);
    }

    #[test]
    fn appends_waiting_together_share_one_sync_and_are_acknowledged_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = StateLog::open(&dir.path().join("x-log"), |_: Vec<u32>| {}).unwrap();
        // The writer is held while twenty appends queue (as concurrent POSTs do).
        let (release, held) = mpsc::channel();
        log.tx.lock().send(Msg::Hold(held)).unwrap();
        let mut acks: Vec<Durable> = (0..20u32).map(|n| log.append(&vec![n])).collect();
        let mut first = acks.remove(0).0.unwrap();
        assert!(
            first.try_recv().is_err(),
            "not acknowledged before the write"
        );
        release.send(()).unwrap();
        futures::executor::block_on(async {
            first.await.unwrap().unwrap();
            for a in acks {
                a.wait().await.unwrap();
            }
        });
        assert_eq!(log.syncs(), 1, "one fdatasync for the twenty records");
        let mut seen = Vec::new();
        drop(log);
        let _log = StateLog::open(&dir.path().join("x-log"), |v: Vec<u32>| seen.extend(v)).unwrap();
        assert_eq!(seen, (0..20).collect::<Vec<u32>>());
    }
}
