//! The scrape cache's storage: one entry per series as its bytes are written, in slots of one
//! vector (in the order a target first exposed them). A sample is looked for first in the
//! slot after the previous sample's (an exposition that keeps its order meets its slots one
//! after the other), else through a hash table of slot numbers.
//!
//! An entry keeps a 96-bit hash of the series' bytes, not the bytes (Prometheus keeps the
//! bytes as its map key): about 150 bytes less per series on Kubernetes-shaped label sets, the
//! largest share of the cache. Two distinct series of one target would have to share that
//! hash under a per-process random seed to be mixed up (about 6·10^-18 for a million series
//! in one target: n²/2^97); the cache is per target, so a target can only ever collide with
//! itself.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use model::Labels;
use model::exposition::Format;
use storage::SeriesRef;

/// 96 bits of the 128-bit hash of a series' bytes as written (`name{label="value",...}` in
/// the text formats; name and label pairs separated by `0xff` bytes, never found in text, for
/// protobuf), as three 4-byte words: with the entry's other fields it fills 48 bytes, a
/// size class of its own, where 128 bits made entries of 56.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyHash([u32; 3]);

impl KeyHash {
    fn of(key: &[u8], seed: u64) -> Self {
        let h = xxhash_rust::xxh3::xxh3_128_with_seed(key, seed);
        KeyHash([h as u32, (h >> 32) as u32, (h >> 64) as u32])
    }

    /// The word the hash table of slots is keyed by.
    fn short(self) -> u64 {
        u64::from(self.0[0]) | (u64::from(self.0[1]) << 32)
    }
}

/// A scrape's number in its target's sequence (2^32 scrapes are 136 years at 1 s), kept on
/// each entry as 4 bytes instead of 8.
pub(super) type Generation = u32;

/// [`CacheEntry::flags`]: the slot holds a series (else it is free).
const IN_USE: u8 = 1;
/// [`CacheEntry::flags`]: before the scrape in progress appended to the series, it was
/// appended by the previous successful scrape (what a failed scrape restores).
const APPENDED_BY_PREVIOUS: u8 = 2;

/// A series as exposed, remembered between scrapes (48 bytes).
#[derive(Debug, Default)]
pub(super) struct CacheEntry {
    /// The hash of the series' bytes as written.
    pub key: KeyHash,
    /// Its labels after target labels and metric relabeling, and its series reference;
    /// `None` when metric relabeling dropped it.
    pub kept: Option<(Labels, SeriesRef)>,
    /// The scrape that last saw it.
    pub seen: Generation,
    /// The last scrape that appended to it a sample that staleness tracks (only compared
    /// with the scrape in progress and the previous successful one).
    appended: Generation,
    /// The text format in which the key's bytes were once parsed in full: in that format
    /// they are trusted without parsing their labels again. `None` for protobuf keys.
    pub checked: Option<Format>,
    /// The length of the key's bytes when they were a text sample line's series (0 for
    /// protobuf keys, or over `u16::MAX`): where the series ends on its line next time, if
    /// the line starts with the same bytes (it fills padding).
    pub key_len: u16,
    /// [`IN_USE`], [`APPENDED_BY_PREVIOUS`].
    flags: u8,
}

impl CacheEntry {
    /// A series not yet stored in a slot: its labels and reference (see
    /// [`CacheEntry::kept`]), and the text format its bytes were parsed in, if any.
    pub fn new(kept: Option<(Labels, SeriesRef)>, checked: Option<Format>) -> Self {
        Self {
            kept,
            checked,
            ..Self::default()
        }
    }

    fn in_use(&self) -> bool {
        self.flags & IN_USE != 0
    }

    /// Whether the scrape `iteration` appended to the series a sample that staleness tracks.
    pub fn appended_in(&self, iteration: Generation) -> bool {
        self.appended == iteration
    }

    /// Records that the scrape `iteration` appended to the series a sample that staleness
    /// tracks; `previous` is the last successful scrape (0: none).
    pub fn mark_appended(&mut self, iteration: Generation, previous: Generation) {
        if self.appended != iteration {
            let by_previous = previous != 0 && self.appended == previous;
            self.flags = (self.flags & !APPENDED_BY_PREVIOUS)
                | if by_previous { APPENDED_BY_PREVIOUS } else { 0 };
            self.appended = iteration;
        }
    }

    /// Undoes [`CacheEntry::mark_appended`] of the failed scrape `iteration`: the series is
    /// tracked as appended by `previous` again if it was.
    pub fn unmark_appended(&mut self, iteration: Generation, previous: Generation) {
        if self.appended == iteration {
            self.appended = if self.flags & APPENDED_BY_PREVIOUS != 0 {
                previous
            } else {
                0
            };
        }
    }
}

/// The entries of one target's series.
pub(super) struct Entries {
    slots: Vec<CacheEntry>,
    free: Vec<u32>,
    index: HashTable<u32>,
    /// The seed of the key hashes.
    seed: u64,
    /// The slot after the one of the scrape's previous sample: where its next sample is
    /// looked for first.
    next: u32,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for Entries {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            seed: foldhash::fast::RandomState::default().hash_one(0x5eed_u64),
            next: 0,
        }
    }
}

impl Entries {
    /// Number of series remembered.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot of `key`, the scrape's next sample; `None` when the key is new.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = KeyHash::of(key, self.seed);
        // Expositions mostly keep their order: the slot after the previous sample's.
        if let Some(e) = self.slots.get(self.next as usize)
            && e.in_use()
            && e.key == hash
        {
            return Some(self.next);
        }
        self.index
            .find(hash.short(), |&s| self.slots[s as usize].key == hash)
            .copied()
    }

    /// The slot of the series expected at the scrape's next sample (the slot after the
    /// previous sample's), with the length of its bytes, if they were a sample line's series
    /// in `format` (a scan in another format may end elsewhere: a blank before the brace ends
    /// the series in OpenMetrics).
    #[inline]
    pub fn expected(&self, format: Format) -> Option<(u32, usize)> {
        let e = self.slots.get(self.next as usize)?;
        (e.in_use() && e.key_len > 0 && e.checked == Some(format))
            .then_some((self.next, usize::from(e.key_len)))
    }

    /// Whether `key` is the key of the entry in `slot`.
    #[inline]
    pub fn is_key(&self, slot: u32, key: &[u8]) -> bool {
        let e = &self.slots[slot as usize];
        e.in_use() && e.key == KeyHash::of(key, self.seed)
    }

    /// Records that the scrape's next sample is the series in `slot`.
    #[inline]
    pub fn met(&mut self, slot: u32) {
        self.next = slot + 1;
    }

    /// The entry in `slot`.
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut CacheEntry {
        &mut self.slots[slot as usize]
    }

    /// Stores `entry` under `key` (which must be new); returns its slot. A key checked in a
    /// text format (`entry.checked`) must be a sample line's whole series.
    pub fn insert(&mut self, key: &[u8], mut entry: CacheEntry) -> u32 {
        let hash = KeyHash::of(key, self.seed);
        entry.key = hash;
        if entry.checked.is_some() {
            entry.key_len = u16::try_from(key.len()).unwrap_or(0);
        }
        entry.flags |= IN_USE;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = entry;
                s
            }
            None => {
                self.slots.push(entry);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 series per target")
            }
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash.short(), slot, |&s| slots[s as usize].key.short());
        slot
    }

    /// Every entry in use.
    pub fn iter(&self) -> impl Iterator<Item = &CacheEntry> {
        self.slots.iter().filter(|e| e.in_use())
    }

    /// Every entry in use, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut CacheEntry> {
        self.slots.iter_mut().filter(|e| e.in_use())
    }

    /// Ends a successful scrape: series not seen in `iteration` or the one before are
    /// forgotten.
    pub fn scrape_done(&mut self, iteration: Generation) {
        self.next = 0;
        let (slots, free) = (&mut self.slots, &mut self.free);
        self.index.retain(|&mut s| {
            let e = &mut slots[s as usize];
            if e.seen + 1 >= iteration {
                return true;
            }
            *e = CacheEntry::default();
            free.push(s);
            false
        });
        // Give memory back when many series went away (a third of the slots or more: a
        // deploy that renamed the target's pods held both generations for two scrapes, half
        // of the slots when every series is a pod's), and the growth room of a vector that
        // doubled for new series (half of it after a first scrape of 100k series). Churn of
        // less than half of the series at a time reuses the free slots and never gets here.
        if self.slots.len() > 64 && 3 * self.free.len() >= self.slots.len() {
            self.compact();
        }
        let room = self.slots.len() / 16 + 64;
        if self.slots.capacity() > self.slots.len() + 2 * room {
            self.slots.shrink_to(self.slots.len() + room);
        }
    }

    /// Ends a failed scrape: the next one starts looking at the first slot again.
    pub fn scrape_failed(&mut self) {
        self.next = 0;
    }

    /// Moves the entries in use to the front, in their order (entries that followed each
    /// other still do), with a hash table and a free list of their size (not of the peak).
    fn compact(&mut self) {
        self.slots.retain(CacheEntry::in_use);
        self.free = Vec::new();
        self.index = HashTable::with_capacity(self.slots.len());
        let slots = &self.slots;
        for (s, e) in slots.iter().enumerate() {
            self.index
                .insert_unique(e.key.short(), s as u32, |&x| slots[x as usize].key.short());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seen: Generation) -> CacheEntry {
        CacheEntry {
            seen,
            ..CacheEntry::default()
        }
    }

    /// The keys of `candidates` the cache holds, checked against its count of entries.
    fn keys<'k>(e: &Entries, candidates: &[&'k str]) -> Vec<&'k str> {
        let found: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|k| e.find(k.as_bytes()).is_some())
            .collect();
        assert_eq!(found.len(), e.len());
        assert_eq!(e.iter().count(), e.len());
        found
    }

    #[test]
    fn found_in_order_and_out_of_order() {
        let mut e = Entries::default();
        let a = e.insert(b"a", entry(1));
        e.met(a);
        let b = e.insert(b"b", entry(1));
        e.met(b);
        e.scrape_done(1);
        // Same order: found by position; swapped: found by hash.
        assert_eq!(e.find(b"a"), Some(a));
        e.met(a);
        assert_eq!(e.find(b"b"), Some(b));
        e.met(b);
        e.scrape_done(2);
        assert_eq!(e.find(b"b"), Some(b));
        e.met(b);
        assert_eq!(e.find(b"a"), Some(a));
        e.met(a);
        assert_eq!(e.find(b"c"), None);
    }

    #[test]
    fn unseen_entries_are_forgotten_and_slots_reused() {
        let mut e = Entries::default();
        for (i, k) in [b"a", b"b", b"c"].iter().enumerate() {
            let s = e.insert(*k, entry(if i == 1 { 1 } else { 3 }));
            e.met(s);
        }
        e.scrape_done(3);
        assert_eq!(keys(&e, &["a", "b", "c"]), ["a", "c"]);
        assert_eq!(e.find(b"b"), None);
        let d = e.insert(b"d", entry(3));
        assert_eq!(d, 1, "b's slot is reused");
        assert_eq!(e.find(b"d"), Some(d));
    }

    #[test]
    fn entries_keep_a_hash_of_their_bytes_not_the_bytes() {
        // The entry is the cache's whole cost per series besides the shared labels.
        assert!(size_of::<CacheEntry>() <= 48, "{}", size_of::<CacheEntry>());
        let mut e = Entries::default();
        let line = b"http_requests_total{pod=\"api-7d9f8b6c4d-x2x5z\",route=\"/api/v1/items\"}";
        let s = e.insert(line, entry(1));
        assert_eq!(e.find(line), Some(s));
        // One byte apart, or a prefix: another series.
        assert_eq!(e.find(&line[..line.len() - 1]), None);
        let mut other = line.to_vec();
        other[25] = b'b';
        assert_eq!(e.find(&other), None);
        // Another cache (another target) hashes with another seed.
        assert_ne!(Entries::default().seed, e.seed);
    }

    #[test]
    fn a_first_scrape_leaves_little_growth_room() {
        let mut e = Entries::default();
        for i in 0..10_000 {
            let s = e.insert(format!("s{i}").as_bytes(), entry(1));
            e.met(s);
        }
        assert_eq!(e.slots.capacity(), 16_384, "doubled while growing");
        e.scrape_done(1);
        assert!(e.slots.capacity() <= 10_000 + 10_000 / 16 + 64);
        assert_eq!(e.find(b"s9999").map(|s| e.slots[s as usize].seen), Some(1));
    }

    /// One scrape `iteration` of a target exposing `keys`: found or new, each is seen.
    fn scrape(e: &mut Entries, keys: &[String], iteration: Generation) {
        for k in keys {
            let s = match e.find(k.as_bytes()) {
                Some(s) => s,
                None => e.insert(k.as_bytes(), entry(iteration)),
            };
            e.get_mut(s).seen = iteration;
            e.met(s);
        }
        e.scrape_done(iteration);
    }

    /// A deploy renames every pod of a target (`N` series) but not its own series (a
    /// tenth as many): once the old pods are forgotten, the cache is the size it was before.
    #[test]
    fn a_deploy_that_renames_every_pod_gives_the_peaks_room_back() {
        const N: usize = 10_000;
        const FIXED: usize = N / 10;
        let generation = |g: usize| -> Vec<String> {
            (0..FIXED)
                .map(|i| format!("up{{i=\"{i}\"}}"))
                .chain((0..N).map(|i| format!("m{{pod=\"p{g}-{i}\"}}")))
                .collect()
        };
        let mut e = Entries::default();
        let mut iteration = 0;
        for _ in 0..3 {
            iteration += 1;
            scrape(&mut e, &generation(0), iteration);
        }
        let steady = (e.slots.capacity(), e.index.capacity());
        for g in 1..=3 {
            let names = generation(g);
            iteration += 1;
            scrape(&mut e, &names, iteration);
            // The deploy's scrape and the next one hold both generations.
            assert_eq!(e.len(), 2 * N + FIXED);
            for _ in 0..3 {
                iteration += 1;
                scrape(&mut e, &names, iteration);
            }
            assert_eq!(e.len(), N + FIXED);
            // Before: the slots of both generations, the old ones free, and the hash table
            // of the peak, kept.
            assert_eq!((e.slots.len(), e.free.len()), (N + FIXED, 0), "deploy {g}");
            assert!(
                e.slots.capacity() <= steady.0 && e.index.capacity() <= steady.1,
                "deploy {g}: slots {} index {} vs steady {steady:?}",
                e.slots.capacity(),
                e.index.capacity()
            );
            let all: Vec<&str> = names.iter().map(String::as_str).collect();
            assert_eq!(keys(&e, &all).len(), N + FIXED);
        }
    }

    #[test]
    fn compaction_keeps_every_entry_findable() {
        let mut e = Entries::default();
        let names: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        for n in &names {
            let s = e.insert(n.as_bytes(), entry(1));
            e.met(s);
        }
        e.scrape_done(1);
        // Only every third series is seen again: most slots free up and are compacted.
        for (i, n) in names.iter().enumerate() {
            if i % 3 == 0 {
                let s = e.find(n.as_bytes()).unwrap();
                e.get_mut(s).seen = 3;
                e.met(s);
            }
        }
        e.scrape_done(3);
        assert_eq!(e.len(), 67);
        assert!(e.slots.len() == 67 && e.free.is_empty(), "compacted");
        for (i, n) in names.iter().enumerate() {
            let found = e.find(n.as_bytes());
            assert_eq!(found.is_some(), i % 3 == 0, "{n}");
            if let Some(s) = found {
                assert_eq!(e.slots[s as usize].key, KeyHash::of(n.as_bytes(), e.seed));
            }
        }
        // Entries kept their order: s3 follows s0.
        assert_eq!(e.slots[1].key, KeyHash::of(b"s3", e.seed));
        let s0 = e.find(b"s0").unwrap();
        e.met(s0);
        assert_eq!(e.next, s0 + 1);
        assert_eq!(e.find(b"s3"), Some(s0 + 1));
    }
}
