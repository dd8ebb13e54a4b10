//! Reading the head: series selected through the postings, their chunks snapshotted under
//! the isolation lock (so a commit is seen whole or not at all), samples clipped to the
//! querier's time range.

use std::collections::HashMap;
use std::sync::Arc;

use model::{Label, Labels, Matcher, Sample, Timestamp};
use storage::{
    FloatBatch, LabelHints, Querier, SampleIterator, SelectHints, Series, SeriesSet, StorageError,
    ValueType, VecSeriesSet,
};

use crate::chunkenc::Encoding;
use crate::error::TsdbError;
use crate::head::Head;
use crate::head::chunk::FullChunk;
use crate::head::series::MemSeries;
use crate::start::{Runs, WithStarts};

/// A querier over the head for `[mint, maxt]`.
#[derive(Debug)]
pub struct HeadQuerier {
    head: Arc<Head>,
    mint: i64,
    maxt: i64,
}

/// The encoding and bytes of one chunk, shared with the head (or copied from its open chunk).
type ChunkSamples = (Encoding, Arc<[u8]>);

/// A chunk taken at select time: a full chunk to read, or the copied open chunk.
enum FullOrBytes {
    Full(FullChunk),
    Bytes(ChunkSamples),
}

/// A head series as a querier returns it: the chunks overlapping the range, at select time.
#[derive(Debug, Clone)]
pub struct HeadSeries {
    labels: Labels,
    chunks: Vec<ChunkSamples>,
    mint: i64,
    maxt: i64,
    /// Start timestamp runs over the range, when a sample there has one.
    starts: Option<Arc<Runs>>,
}

impl HeadQuerier {
    pub(crate) fn new(head: Arc<Head>, mint: i64, maxt: i64) -> Self {
        Self { head, mint, maxt }
    }

    /// The series matching `matchers` with samples in range, without their samples (the
    /// `series` select hint: `/api/v1/series` needs labels only), sorted by labels; only the
    /// first `limit` of them when given.
    #[must_use]
    pub fn select_labels_only(
        &self,
        matchers: &[Matcher],
        limit: Option<usize>,
    ) -> Vec<HeadSeries> {
        let mut found = self.in_range(matchers);
        first_by_labels(&mut found, limit, |s| &s.labels);
        found
            .into_iter()
            .map(|s| HeadSeries {
                labels: s.labels.clone(),
                chunks: Vec::new(),
                mint: self.mint,
                maxt: self.maxt,
                starts: None,
            })
            .collect()
    }

    /// The series matching `matchers` with samples in the querier's range, unordered.
    fn in_range(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let ids = self.head.postings.read().for_matchers(matchers);
        ids.into_iter()
            .filter_map(|id| self.head.series_by_id(id))
            .filter(|s| {
                let st = s.state.lock();
                st.min_time()
                    .is_some_and(|min| min <= self.maxt && st.max_t() >= self.mint)
            })
            .collect()
    }

    /// The series matching `matchers` with samples in range, sorted by labels.
    ///
    /// # Errors
    /// A full chunk that cannot be read from `chunks_head/`.
    pub fn select_series(
        &self,
        matchers: &[Matcher],
        limit: Option<usize>,
    ) -> Result<Vec<HeadSeries>, TsdbError> {
        let ids = self.head.postings.read().for_matchers(matchers);
        // The series are looked up and sorted by labels before the isolation lock is taken
        // (without a limit; under one, only the first series with samples in range are
        // sorted, after the lock).
        let mut found: Vec<Arc<MemSeries>> = ids
            .into_iter()
            .filter_map(|id| self.head.series_by_id(id))
            .collect();
        if limit.is_none() {
            sort_by_labels(&mut found, |s| &s.labels);
        }
        // Files under `chunks_head/` stay while this guard is held.
        let _no_truncation = self.head.truncation.read();
        // Under the isolation lock (which blocks commits) only the chunk list is taken: open
        // chunks are copied, full chunks on disk are read after it is released.
        let mut pending: Vec<Pending> = Vec::with_capacity(found.len());
        {
            let _iso = self.head.isolation.write();
            for s in &found {
                let st = s.state.lock();
                let full: Vec<FullChunk> = st
                    .full
                    .iter()
                    .filter(|c| c.max_t >= self.mint && c.min_t <= self.maxt)
                    .cloned()
                    .collect();
                let open = st.head.as_ref().filter(|h| {
                    h.data.num_samples() > 0 && h.max_t() >= self.mint && h.min_t <= self.maxt
                });
                if full.is_empty() && open.is_none() {
                    continue;
                }
                let mut chunks = Vec::with_capacity(usize::from(open.is_some()));
                if let Some(h) = open {
                    chunks.push((h.data.encoding(), Arc::from(h.data.bytes())));
                }
                let starts = st
                    .starts()
                    .and_then(|r| r.clip(self.mint, self.maxt))
                    .map(Arc::from);
                pending.push(Pending {
                    labels: s.labels.clone(),
                    full,
                    chunks,
                    starts,
                });
            }
        }
        drop(found);
        // Under a limit only the first series by labels have their full chunks read.
        if limit.is_some() {
            first_by_labels(&mut pending, limit, |p| &p.labels);
        }
        let files = self.head.chunk_files.as_ref();
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            // Full chunks come before the open one.
            let chunks = if p.full.is_empty() {
                p.chunks
            } else {
                let mut chunks = Vec::with_capacity(p.full.len() + p.chunks.len());
                for c in &p.full {
                    chunks.push((c.encoding(), c.bytes(files)?));
                }
                chunks.extend(p.chunks);
                chunks
            };
            out.push(HeadSeries {
                labels: p.labels,
                chunks,
                mint: self.mint,
                maxt: self.maxt,
                starts: p.starts,
            });
        }
        Ok(out)
    }
}

/// A selected series between the isolation lock and the reading of its full chunks.
struct Pending {
    labels: Labels,
    /// Full chunks overlapping the range, oldest first.
    full: Vec<FullChunk>,
    /// The copied open chunk, when it overlaps the range.
    chunks: Vec<ChunkSamples>,
    starts: Option<Arc<Runs>>,
}

/// Sorts `items` by their labels, keeping only the first `limit` when given (a partial
/// selection first, so a small limit does not sort every match).
fn first_by_labels<T>(items: &mut Vec<T>, limit: Option<usize>, labels: impl Fn(&T) -> &Labels) {
    if let Some(limit) = limit.filter(|&l| l < items.len()) {
        if limit == 0 {
            items.clear();
            return;
        }
        items.select_nth_unstable_by(limit - 1, |a, b| labels(a).cmp(labels(b)));
        items.truncate(limit);
    }
    sort_by_labels(items, labels);
}

/// Fewest label sets sorted through the ranks of their pairs (see [`sort_by_labels`]).
const RANKED_SORT_MIN: usize = 1024;
/// Most pairs of a label set sorted through ranks (each set takes as many slots as the
/// longest one).
const RANKED_SORT_MAX_PAIRS: usize = 32;

/// Sorts `items` by their labels, in [`Labels`]' order (pairwise by name, then value; a
/// prefix first). Many label sets are not compared directly, which decodes both sets pair
/// by pair on every comparison (most of an instant query over a million head series): each
/// distinct pair gets its rank among all distinct pairs, and each set becomes a row of its
/// pairs' ranks plus one, padded with zeros to the longest set's length, so that rows
/// compare as their label sets do (a shorter set's padding sorts before any pair). The
/// rows sit in one array, and rows with equal labels compare equal (unstable, as before).
pub(crate) fn sort_by_labels<T>(items: &mut Vec<T>, labels: impl Fn(&T) -> &Labels) {
    if items.len() < RANKED_SORT_MIN {
        items.sort_unstable_by(|a, b| labels(a).cmp(labels(b)));
        return;
    }
    let Some(order) = ranked_order(items, &labels) else {
        items.sort_unstable_by(|a, b| labels(a).cmp(labels(b)));
        return;
    };
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .map(|i| slots[i as usize].take().expect("each item once")),
    );
}

/// The positions of `items` in label order, through the ranks of their pairs (see
/// [`sort_by_labels`]); `None` when a set has more than [`RANKED_SORT_MAX_PAIRS`] pairs.
fn ranked_order<T>(items: &[T], labels: &impl Fn(&T) -> &Labels) -> Option<Vec<u32>> {
    let n = u32::try_from(items.len()).ok()?;
    // Each distinct pair's id in order of first appearance, plus one (0 pads rows); the
    // ids of each set one after the other, and where each set's ids end. Neighbours
    // usually share most pairs, so a pair equal to the previous set's at the same position
    // reuses its id without hashing.
    let mut ids: HashMap<Label<'_>, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut pairs: Vec<Label<'_>> = Vec::new();
    let mut seq: Vec<u32> = Vec::with_capacity(items.len() * 12);
    let mut ends: Vec<usize> = Vec::with_capacity(items.len());
    let mut prev: Vec<(Label<'_>, u32)> = Vec::new();
    let mut width = 0;
    for item in items {
        let start = seq.len();
        for (j, l) in labels(item).iter().enumerate() {
            let id = match prev.get(j) {
                Some(&(p, id)) if p == l => id,
                _ => {
                    let next = u32::try_from(pairs.len() + 1).ok()?;
                    let id = *ids.entry(l).or_insert_with(|| {
                        pairs.push(l);
                        next
                    });
                    if j < prev.len() {
                        prev[j] = (l, id);
                    } else {
                        prev.push((l, id));
                    }
                    id
                }
            };
            seq.push(id);
        }
        width = width.max(seq.len() - start);
        if width > RANKED_SORT_MAX_PAIRS {
            return None;
        }
        ends.push(seq.len());
    }
    if width == 0 {
        return Some((0..n).collect());
    }
    // Ids to ranks (plus one) in the order of the pairs.
    let mut by_pair: Vec<usize> = (0..pairs.len()).collect();
    by_pair.sort_unstable_by(|&a, &b| pairs[a].cmp(&pairs[b]));
    let mut rank = vec![0u32; pairs.len() + 1];
    for (r, &id) in by_pair.iter().enumerate() {
        rank[id + 1] = u32::try_from(r + 1).ok()?;
    }
    // One row of `width` ranks per set, padded with zeros.
    let mut rows = vec![0u32; items.len() * width];
    let mut start = 0;
    for (row, &end) in rows.chunks_exact_mut(width).zip(&ends) {
        for (slot, &id) in row.iter_mut().zip(&seq[start..end]) {
            *slot = rank[id as usize];
        }
        start = end;
    }
    drop(seq);
    let mut order: Vec<u32> = (0..n).collect();
    let row = |i: u32| &rows[i as usize * width..][..width];
    order.sort_unstable_by(|&a, &b| row(a).cmp(row(b)));
    Some(order)
}

/// The smallest distinct strings offered, at most `limit` of them (all when `None`); a string
/// is copied only when kept.
struct FirstStrings {
    limit: Option<usize>,
    kept: std::collections::BTreeSet<String>,
}

impl FirstStrings {
    fn new(limit: Option<usize>) -> Self {
        Self {
            limit,
            kept: std::collections::BTreeSet::new(),
        }
    }

    fn offer(&mut self, v: &str) {
        let full = self.limit.is_some_and(|l| self.kept.len() >= l);
        if self.kept.contains(v) || (full && self.kept.last().is_none_or(|last| v > last.as_str()))
        {
            return;
        }
        self.kept.insert(v.to_owned());
        if let Some(limit) = self.limit
            && self.kept.len() > limit
        {
            self.kept.pop_last();
        }
    }

    fn finish(self) -> Vec<String> {
        self.kept.into_iter().collect()
    }
}

impl Querier for HeadQuerier {
    fn select(
        &self,
        _sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        let limit = hints.map(|h| h.limit).filter(|&l| l > 0);
        let series = if hints.is_some_and(|h| h.func.as_deref() == Some("series")) {
            self.select_labels_only(matchers, limit)
        } else {
            self.select_series(matchers, limit)?
        };
        Ok(Box::new(VecSeriesSet::new(
            series
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Series>)
                .collect(),
        )))
    }

    fn label_values(
        &self,
        name: &str,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let limit = LabelHints::limit_of(hints);
        if matchers.is_empty() {
            return Ok(self.head.postings.read().first_label_values(name, limit));
        }
        let mut values = FirstStrings::new(limit);
        for s in self.in_range(matchers) {
            if let Some(v) = s.labels.get(name) {
                values.offer(v);
            }
        }
        Ok(values.finish())
    }

    fn label_names(
        &self,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let limit = LabelHints::limit_of(hints);
        if matchers.is_empty() {
            return Ok(self.head.postings.read().first_label_names(limit));
        }
        let mut names = FirstStrings::new(limit);
        for s in self.in_range(matchers) {
            for l in &s.labels {
                names.offer(l.name);
            }
        }
        Ok(names.finish())
    }
}

impl HeadSeries {
    /// The samples, in order.
    #[must_use]
    pub fn samples(&self) -> Vec<(i64, f64)> {
        let mut it = self.iter();
        let mut out = Vec::new();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
        out
    }

    /// All samples, floats and histograms, in order.
    #[must_use]
    pub fn all_samples(&self) -> Vec<(i64, Sample)> {
        let mut it = self.iter();
        let mut out = Vec::new();
        loop {
            match it.next() {
                ValueType::Float => out.push((it.at_t(), Sample::Float(it.at().1))),
                ValueType::Histogram => {
                    let (t, h) = it.at_histogram();
                    out.push((t, Sample::Histogram(Arc::new(h))));
                }
                ValueType::FloatHistogram => {
                    let (t, h) = it.at_float_histogram();
                    out.push((t, Sample::FloatHistogram(Arc::new(h))));
                }
                ValueType::None => return out,
            }
        }
    }

    /// The encoded chunks overlapping the range (samples outside it included).
    #[must_use]
    pub fn chunks(&self) -> &[(Encoding, Arc<[u8]>)] {
        &self.chunks
    }

    /// The series' labels.
    #[must_use]
    pub fn labels_ref(&self) -> &Labels {
        &self.labels
    }

    /// The time range the series was selected for.
    #[must_use]
    pub fn range(&self) -> (i64, i64) {
        (self.mint, self.maxt)
    }
}

impl Series for HeadSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        let it = ChunksIterator::new(&self.chunks, self.mint, self.maxt);
        match &self.starts {
            Some(runs) => Box::new(WithStarts::new(it, runs.clone())),
            None => Box::new(it),
        }
    }
}

/// Iterates the samples of a series' chunks in order, clipped to `[mint, maxt]`.
struct ChunksIterator<'a> {
    chunks: &'a [ChunkSamples],
    next_chunk: usize,
    it: Option<Box<dyn SampleIterator + 'a>>,
    mint: i64,
    maxt: i64,
    cur: ValueType,
    done: bool,
    err: Option<StorageError>,
}

impl<'a> ChunksIterator<'a> {
    fn new(chunks: &'a [ChunkSamples], mint: i64, maxt: i64) -> Self {
        Self {
            chunks,
            next_chunk: 0,
            it: None,
            mint,
            maxt,
            cur: ValueType::None,
            done: false,
            err: None,
        }
    }

    /// An iterator over the next chunk, `None` after the last (or a chunk it cannot read).
    fn open_next(&mut self) -> Option<Box<dyn SampleIterator + 'a>> {
        let chunks: &'a [ChunkSamples] = self.chunks;
        let (enc, bytes) = chunks.get(self.next_chunk)?;
        self.next_chunk += 1;
        match crate::chunkenc::iterator(*enc, &bytes[..]) {
            Ok(it) => Some(it),
            Err(e) => {
                self.err = Some(e.into());
                None
            }
        }
    }

    /// Positions on the inner iterator's sample `vt`, or ends past `maxt`.
    fn settle(&mut self, vt: ValueType) -> ValueType {
        let at = self.it.as_ref().map_or(i64::MAX, |it| it.at_t());
        if at > self.maxt {
            return self.finish();
        }
        self.cur = vt;
        vt
    }

    /// Moves to the next sample, or to the first `>= t` of a chunk opened on the way.
    fn advance(&mut self, t: i64) -> ValueType {
        loop {
            if let Some(it) = self.it.as_mut() {
                let vt = if it.current() == ValueType::None {
                    it.seek(t)
                } else {
                    it.next()
                };
                if vt != ValueType::None {
                    return self.settle(vt);
                }
                if self.chunk_failed() {
                    return self.finish();
                }
            }
            let Some(it) = self.open_next() else {
                return self.finish();
            };
            self.it = Some(it);
        }
    }

    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.cur = ValueType::None;
        self.cur
    }

    /// Notes the current chunk's decoding error, if it ended on one.
    fn chunk_failed(&mut self) -> bool {
        let Some(e) = self.it.as_ref().and_then(|it| it.err()) else {
            return false;
        };
        self.err = Some(StorageError::Corruption {
            file: "head chunk".into(),
            reason: e.to_string(),
        });
        true
    }
}

impl SampleIterator for ChunksIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        self.advance(self.mint)
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if self.cur != ValueType::None && self.at_t() >= t {
            return self.cur;
        }
        let t = t.max(self.mint);
        if let Some(it) = self.it.as_mut() {
            let vt = it.seek(t);
            if vt != ValueType::None {
                return self.settle(vt);
            }
        }
        loop {
            let Some(mut it) = self.open_next() else {
                return self.finish();
            };
            let vt = it.seek(t);
            self.it = Some(it);
            if vt != ValueType::None {
                return self.settle(vt);
            }
        }
    }

    fn current(&self) -> ValueType {
        self.cur
    }

    fn at(&self) -> (Timestamp, f64) {
        self.it
            .as_ref()
            .expect("iterator is positioned on a sample")
            .at()
    }

    fn at_histogram(&self) -> (Timestamp, model::Histogram) {
        self.it
            .as_ref()
            .expect("iterator is positioned on a sample")
            .at_histogram()
    }

    fn at_float_histogram(&self) -> (Timestamp, model::FloatHistogram) {
        self.it
            .as_ref()
            .expect("iterator is positioned on a sample")
            .at_float_histogram()
    }

    fn at_t(&self) -> Timestamp {
        self.it
            .as_ref()
            .expect("iterator is positioned on a sample")
            .at_t()
    }

    fn err(&self) -> Option<&StorageError> {
        self.err.as_ref()
    }

    /// The rest of each chunk in one call to its decoder; a chunk opened on the way is
    /// first sought to the range's start, as `next` does.
    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if self.cur == ValueType::None {
            let vt = self.next();
            if vt != ValueType::Float || self.at_t() > maxt {
                return vt;
            }
            out.push_current(self);
        }
        let upto = maxt.min(self.maxt);
        loop {
            let Some(it) = self.it.as_mut() else {
                return self.finish();
            };
            let vt = it.read_floats(upto, out);
            if vt != ValueType::None {
                return self.settle(vt);
            }
            if self.chunk_failed() {
                return self.finish();
            }
            let Some(mut it) = self.open_next() else {
                return self.finish();
            };
            let vt = it.seek(self.mint);
            self.it = Some(it);
            if vt == ValueType::None {
                continue;
            }
            let vt = self.settle(vt);
            if vt != ValueType::Float || self.at_t() > maxt {
                return vt;
            }
            out.push_current(self);
        }
    }
}

impl Head {
    /// Every series with its samples in `[mint, maxt]`, sorted by labels (for compaction).
    ///
    /// # Errors
    /// A full chunk that cannot be read.
    pub fn series_in_range(
        self: &Arc<Self>,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<HeadSeries>, TsdbError> {
        HeadQuerier::new(self.clone(), mint, maxt).select_series(&[], None)
    }

    /// Every series of the head in label order (compaction writes them in this order).
    pub(crate) fn series_sorted(&self) -> Vec<Arc<MemSeries>> {
        self.series_in_label_order()
    }

    /// The chunks of `s` overlapping `mint..=maxt`, oldest first, each with its bytes and
    /// its first and last timestamps (the open chunk's bytes copied).
    ///
    /// # Errors
    /// A head chunk file that cannot be read.
    pub(crate) fn chunks_in_range(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(ChunkSamples, i64, i64)>, TsdbError> {
        let _no_truncation = self.truncation.read();
        let mut pending = Vec::new();
        {
            let st = s.state.lock();
            for c in st
                .full
                .iter()
                .filter(|c| c.max_t >= mint && c.min_t <= maxt)
            {
                pending.push((FullOrBytes::Full(c.clone()), c.min_t, c.max_t));
            }
            // The start first: it is in the series, the rest in the chunk's buffer (a
            // compaction's range ends before most open chunks start).
            if let Some(h) = &st.head
                && h.min_t <= maxt
                && h.data.num_samples() > 0
                && h.max_t() >= mint
            {
                let bytes = (h.data.encoding(), Arc::from(h.data.bytes()));
                pending.push((FullOrBytes::Bytes(bytes), h.min_t, h.max_t()));
            }
        }
        let files = self.chunk_files.as_ref();
        pending
            .into_iter()
            .map(|(c, lo, hi)| {
                let bytes = match c {
                    FullOrBytes::Full(c) => (c.encoding(), c.bytes(files)?),
                    FullOrBytes::Bytes(b) => b,
                };
                Ok((bytes, lo, hi))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use model::Labels;

    use super::{RANKED_SORT_MIN, sort_by_labels};

    /// Label sets of many shapes: shared and differing names, values that are prefixes of
    /// each other, empty values, sets that are prefixes of others, repeats.
    fn label_sets(n: usize, max_pairs: usize, seed: u64) -> Vec<Labels> {
        let mut x = seed;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let names = ["__name__", "a", "aa", "b", "instance", "job", "le", "z"];
        let values = [
            "", "0", "00", "1", "x", "xy", "xyz", "y", "\u{e9}", "a\0b", "a",
        ];
        (0..n)
            .map(|_| {
                let k = next(max_pairs as u64 + 1) as usize;
                let mut pairs: Vec<(String, String)> = (0..k)
                    .map(|i| {
                        let name = if i < names.len() && next(3) > 0 {
                            names[i].to_owned()
                        } else {
                            format!("n{}", next(40))
                        };
                        (name, values[next(values.len() as u64) as usize].to_owned())
                    })
                    .collect();
                pairs.dedup_by(|a, b| a.0 == b.0);
                Labels::from_pairs(pairs)
            })
            .collect()
    }

    #[test]
    fn ranked_sort_is_the_label_order() {
        for (n, max_pairs, seed) in [
            (RANKED_SORT_MIN * 3, 6, 1),
            (RANKED_SORT_MIN * 5, 12, 2),
            (RANKED_SORT_MIN, 3, 3),
            (RANKED_SORT_MIN * 2, 40, 4),
            (10, 5, 5),
            (RANKED_SORT_MIN, 0, 6),
        ] {
            let sets = label_sets(n, max_pairs, seed);
            let mut want = sets.clone();
            want.sort();
            let mut got = sets;
            sort_by_labels(&mut got, |l| l);
            assert_eq!(got, want, "{n} sets of up to {max_pairs} pairs");
        }
    }
}
