//! Where a queue stands in the WAL, kept across restarts (Prometheus keeps nothing: a
//! restarted Prometheus sends only what is written after it started).
//!
//! Every item sent carries the position of the WAL record it came from. The queue's
//! *watermark* is the start of the oldest record with items not yet acknowledged (sent, or
//! refused for good, or dropped as too old), or the end of the last record read when none is
//! outstanding: everything before it is done. Shards send in parallel, so records after the
//! watermark may be partly done: for those, the last acknowledged (record, timestamp) of each
//! series is kept too, and a restart that reads again from the watermark skips what a series
//! already had acknowledged. Without a crash between a send and the next save (every second)
//! nothing is sent twice; nothing the WAL still holds is lost.
//!
//! The file (`<data dir>/remote_write/<queue>.position`) is text, written to a temporary file
//! and renamed, with a CRC32C of its content on the last line.

use std::collections::{BTreeMap, HashMap};

/// The acknowledged series, by key (foldhash: the map is updated for every item sent).
type AckedMap = HashMap<SeriesKey, Acked, foldhash::fast::RandomState>;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

/// A record's place in the WAL: segment and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Pos {
    pub segment: u32,
    pub offset: u64,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08}:{}", self.segment, self.offset)
    }
}

/// What a series has acknowledged last: the record and the timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Acked {
    pub pos: Pos,
    pub t: i64,
}

/// A series and kind of data (sample, histogram, exemplar) as the position file names it:
/// the hash of the series' labels as the WAL holds them, and the kind.
pub(crate) type SeriesKey = (u64, u8);

/// A saved position: the watermark and the series acknowledged after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Saved {
    pub watermark: Pos,
    pub after: AckedMap,
}

impl Saved {
    /// Whether an item of `key` at `(pos, t)` was acknowledged before the restart.
    pub fn done(&self, key: SeriesKey, pos: Pos, t: i64) -> bool {
        pos < self.watermark
            || self
                .after
                .get(&key)
                .is_some_and(|a| (pos, t) <= (a.pos, a.t))
    }

    /// The last position any series acknowledged (after it nothing was sent).
    pub fn last(&self) -> Pos {
        self.after
            .values()
            .map(|a| a.pos)
            .max()
            .unwrap_or(self.watermark)
    }

    fn decode(text: &str) -> Result<Self, String> {
        let body_end = text.rfind("crc ").ok_or("no crc line")?;
        let (body, crc_line) = text.split_at(body_end);
        let want = u32::from_str_radix(crc_line.trim_start_matches("crc ").trim(), 16)
            .map_err(|e| format!("crc line: {e}"))?;
        if crc32c::crc32c(body.as_bytes()) != want {
            return Err("checksum mismatch".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some("firewatch remote write position 1") {
            return Err("unknown header".into());
        }
        let mut out = Self::default();
        for (n, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(' ').collect();
            let bad = || format!("line {}: {line:?}", n + 2);
            match f.as_slice() {
                ["watermark", s, o] => {
                    out.watermark = Pos {
                        segment: s.parse().map_err(|_| bad())?,
                        offset: o.parse().map_err(|_| bad())?,
                    };
                }
                ["series", h, k, s, o, t] => {
                    let key = (
                        u64::from_str_radix(h, 16).map_err(|_| bad())?,
                        k.parse().map_err(|_| bad())?,
                    );
                    let pos = Pos {
                        segment: s.parse().map_err(|_| bad())?,
                        offset: o.parse().map_err(|_| bad())?,
                    };
                    out.after.insert(
                        key,
                        Acked {
                            pos,
                            t: t.parse().map_err(|_| bad())?,
                        },
                    );
                }
                _ => return Err(bad()),
            }
        }
        Ok(out)
    }
}

/// Loads the position saved at `path`; `None` when there is none or it is unreadable
/// (logged: the queue then starts at the WAL's end, as Prometheus does).
pub(crate) fn load(path: &Path) -> Option<Saved> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read the remote write position; starting at the WAL's end");
            return None;
        }
    };
    match Saved::decode(&text) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "damaged remote write position; starting at the WAL's end");
            None
        }
    }
}

/// Outstanding items per record and acknowledgements per series.
#[derive(Default)]
struct State {
    /// Record sequence number → (record position, items not yet acknowledged).
    outstanding: BTreeMap<u64, (Pos, usize)>,
    /// End of the last record read and fully handed to the shards.
    read: Pos,
    acked: AckedMap,
    dirty: bool,
}

impl State {
    /// `n` items of record `seq` are done.
    fn release(&mut self, seq: u64, n: usize) {
        if let std::collections::btree_map::Entry::Occupied(mut e) = self.outstanding.entry(seq) {
            let left = e.get().1.saturating_sub(n);
            if left == 0 {
                e.remove();
            } else {
                e.get_mut().1 = left;
            }
        }
    }
}

/// Tracks acknowledgements of one queue and saves its position.
pub(crate) struct Tracker {
    state: Mutex<State>,
    path: PathBuf,
}

/// The acknowledgement data an item carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ack {
    pub seq: u64,
    pub pos: Pos,
    pub key: SeriesKey,
    pub t: i64,
}

impl Tracker {
    /// A tracker saving to `path`, starting at `start`.
    pub fn new(path: PathBuf, start: Pos) -> Self {
        Self {
            state: Mutex::new(State {
                read: start,
                dirty: true,
                ..State::default()
            }),
            path,
        }
    }

    /// A record (sequence `seq`, at `pos`, ending at `end`) was read: `items` of it are
    /// queued for sending.
    pub fn record_read(&self, seq: u64, pos: Pos, end: Pos, items: usize) {
        let mut s = self.state.lock();
        if items > 0 {
            s.outstanding.insert(seq, (pos, items));
        }
        if end > s.read {
            s.read = end;
            s.dirty = true;
        }
    }

    /// Everything before `end` was read (records with nothing to send, or a skipped span).
    pub fn advance(&self, end: Pos) {
        let mut s = self.state.lock();
        if end > s.read {
            s.read = end;
            s.dirty = true;
        }
    }

    /// Items are done (sent, refused for good, or dropped).
    pub fn ack(&self, acks: impl IntoIterator<Item = Ack>) {
        let mut s = self.state.lock();
        // A batch holds runs of items of one record: released a run at a time.
        let mut run: Option<(u64, usize)> = None;
        for a in acks {
            match &mut run {
                Some((seq, n)) if *seq == a.seq => *n += 1,
                _ => {
                    if let Some((seq, n)) = run.replace((a.seq, 1)) {
                        s.release(seq, n);
                    }
                }
            }
            let new = Acked { pos: a.pos, t: a.t };
            s.acked
                .entry(a.key)
                .and_modify(|old| *old = (*old).max(new))
                .or_insert(new);
        }
        if let Some((seq, n)) = run {
            s.release(seq, n);
        }
        s.dirty = true;
    }

    /// The current watermark.
    pub fn watermark(&self) -> Pos {
        let s = self.state.lock();
        s.outstanding.values().next().map_or(s.read, |(p, _)| *p)
    }

    /// Saves the position if it changed since the last save.
    pub fn save(&self) {
        let (watermark, after) = {
            let mut s = self.state.lock();
            if !s.dirty {
                return;
            }
            s.dirty = false;
            let watermark = s.outstanding.values().next().map_or(s.read, |(p, _)| *p);
            // What lies before the watermark is covered by it.
            s.acked.retain(|_, a| a.pos >= watermark);
            let after: Vec<(SeriesKey, Acked)> = s.acked.iter().map(|(k, a)| (*k, *a)).collect();
            (watermark, after)
        };
        if let Err(e) = write_atomic(&self.path, &encode(watermark, after)) {
            tracing::warn!(file = %self.path.display(), error = %e, "cannot save the remote write position");
            self.state.lock().dirty = true;
        }
    }
}

/// The file's text: the watermark, then the series acknowledged after it by key (each
/// number written by hand: a save can hold a scrape's worth of series, every second).
fn encode(watermark: Pos, mut after: Vec<(SeriesKey, Acked)>) -> Vec<u8> {
    after.sort_unstable_by_key(|(k, _)| *k);
    let mut s = Vec::with_capacity(64 + after.len() * 56);
    s.extend_from_slice(b"firewatch remote write position 1\nwatermark ");
    decimal(&mut s, u64::from(watermark.segment));
    s.push(b' ');
    decimal(&mut s, watermark.offset);
    s.push(b'\n');
    for ((h, kind), a) in after {
        s.extend_from_slice(b"series ");
        for shift in (0..16).rev() {
            s.push(b"0123456789abcdef"[((h >> (shift * 4)) & 0xf) as usize]);
        }
        s.push(b' ');
        decimal(&mut s, u64::from(kind));
        s.push(b' ');
        decimal(&mut s, u64::from(a.pos.segment));
        s.push(b' ');
        decimal(&mut s, a.pos.offset);
        s.push(b' ');
        if a.t < 0 {
            s.push(b'-');
        }
        decimal(&mut s, a.t.unsigned_abs());
        s.push(b'\n');
    }
    let crc = crc32c::crc32c(&s);
    s.extend_from_slice(format!("crc {crc:08x}\n").as_bytes());
    s
}

/// Appends `v` in decimal.
fn decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u32, offset: u64) -> Pos {
        Pos { segment, offset }
    }

    #[test]
    fn hand_written_file_reads_back_and_matches_the_documented_text() {
        let acked = |segment, offset, t| Acked {
            pos: pos(segment, offset),
            t,
        };
        let after = vec![
            ((u64::MAX, 2), acked(u32::MAX, u64::MAX, i64::MIN)),
            ((0x1f, 0), acked(7, 0, -1)),
            ((0x1f, 1), acked(0, 12_345, 1_700_000_000_123)),
        ];
        let text = String::from_utf8(encode(pos(3, 4096), after.clone())).unwrap();
        let body = "firewatch remote write position 1\nwatermark 3 4096\n\
                    series 000000000000001f 0 7 0 -1\n\
                    series 000000000000001f 1 0 12345 1700000000123\n\
                    series ffffffffffffffff 2 4294967295 18446744073709551615 -9223372036854775808\n";
        assert_eq!(
            text,
            format!("{body}crc {:08x}\n", crc32c::crc32c(body.as_bytes()))
        );
        let back = Saved::decode(&text).unwrap();
        assert_eq!(back.watermark, pos(3, 4096));
        assert_eq!(back.after, after.into_iter().collect::<AckedMap>());
    }

    #[test]
    fn watermark_waits_for_the_oldest_outstanding_record_and_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.position");
        let t = Tracker::new(path.clone(), pos(3, 0));
        // Two records: series a in both, b only in the first.
        t.record_read(1, pos(3, 0), pos(3, 100), 2);
        t.record_read(2, pos(3, 100), pos(3, 200), 1);
        assert_eq!(t.watermark(), pos(3, 0));
        // Record 2's item (series a, t=20) and record 1's item of series a are acknowledged;
        // record 1's item of b is still outstanding.
        let a = (11, 0);
        let b = (22, 0);
        t.ack([
            Ack {
                seq: 1,
                pos: pos(3, 0),
                key: a,
                t: 10,
            },
            Ack {
                seq: 2,
                pos: pos(3, 100),
                key: a,
                t: 20,
            },
        ]);
        assert_eq!(t.watermark(), pos(3, 0));
        t.save();
        let saved = load(&path).unwrap();
        assert_eq!(saved.watermark, pos(3, 0));
        // After a restart from the watermark: a's items are skipped, b's is sent.
        assert!(saved.done(a, pos(3, 0), 10));
        assert!(saved.done(a, pos(3, 100), 20));
        assert!(!saved.done(b, pos(3, 0), 10));
        assert!(!saved.done(a, pos(3, 200), 30));
        // b acknowledged: the watermark moves to the end of what was read.
        t.ack([Ack {
            seq: 1,
            pos: pos(3, 0),
            key: b,
            t: 10,
        }]);
        assert_eq!(t.watermark(), pos(3, 200));
        t.save();
        let saved = load(&path).unwrap();
        assert_eq!(saved.watermark, pos(3, 200));
        assert!(saved.after.is_empty());
        assert!(saved.done(b, pos(3, 0), 10));
        // A damaged file is ignored.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("200", "201");
        std::fs::write(&path, text).unwrap();
        assert!(load(&path).is_none());
    }
}
