//! Writes an index file in format v2, section by section, as Prometheus's index writer does
//! (same alignment, padding, section order and checksums).

use foldhash::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use model::Labels;

use super::{FORMAT_V2, MAGIC_INDEX, SERIES_BYTE_ALIGN, Toc};
use crate::chunks::ChunkMeta;
use crate::encoding::{Encbuf, crc32c};
use crate::error::TsdbError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Symbols,
    Series,
}

/// Writes one index file. Call [`IndexWriter::add_symbol`] for every string of every label
/// (sorted, no duplicates), then [`IndexWriter::add_series`] for each series sorted by labels,
/// then [`IndexWriter::close`].
pub struct IndexWriter {
    path: PathBuf,
    f: BufWriter<File>,
    pos: u64,
    stage: Stage,
    toc: Toc,
    /// Symbol strings by index, sorted (added in order).
    symbol_list: Vec<String>,
    /// A symbol's reference by a hash of its string (the first symbol of a hash; another
    /// one is found by binary search): a lookup per changed label value of a series, where a
    /// binary search compared a dozen strings at random places in memory.
    symbol_refs: HashMap<u64, u32>,
    last_series: Option<Labels>,
    /// The symbol references of `last_series`' names and values, with the index of their
    /// postings in `postings`: the next series (in label order) mostly repeats them, and
    /// reuses them without a binary search or a hash lookup.
    last_refs: Vec<(u32, u32, u32)>,
    /// (name symbol, value symbol) -> index in `postings`.
    pairs: HashMap<(u32, u32), u32>,
    /// Series references of each label pair.
    postings: Vec<PostingsBuf>,
    all_series: PostingsBuf,
    buf: Encbuf,
    /// A series entry being encoded (kept from one series to the next).
    series_buf: Encbuf,
}

/// Increasing series references of one label pair, held as varint deltas until written:
/// about a byte per reference instead of four (the postings of a compaction are its largest
/// structure in memory).
#[derive(Debug, Default)]
struct PostingsBuf {
    deltas: Vec<u8>,
    last: u32,
    len: u32,
}

impl PostingsBuf {
    fn push(&mut self, id: u32) {
        let mut d = id - self.last;
        while d >= 0x80 {
            self.deltas.push((d as u8) | 0x80);
            d >>= 7;
        }
        self.deltas.push(d as u8);
        self.last = id;
        self.len += 1;
    }

    fn refs(&self) -> impl Iterator<Item = u32> + '_ {
        let mut rest = self.deltas.as_slice();
        let mut id = 0u32;
        std::iter::from_fn(move || {
            let (mut d, mut shift) = (0u32, 0);
            loop {
                let (&b, tail) = rest.split_first()?;
                rest = tail;
                d |= u32::from(b & 0x7f) << shift;
                if b < 0x80 {
                    break;
                }
                shift += 7;
            }
            id += d;
            Some(id)
        })
    }
}

/// The error of a series added out of label order.
fn out_of_order(labels: &Labels) -> TsdbError {
    TsdbError::OutOfOrder(format!(
        "out-of-order series added with label set \"{labels}\""
    ))
}

/// The hash [`IndexWriter`] finds symbols by.
fn symbol_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(s)
}

/// Writes `x` as a uvarint into `buf`; returns the bytes written.
fn uvarint_into(buf: &mut [u8; 10], mut x: u64) -> &[u8] {
    let mut i = 0;
    while x >= 0x80 {
        buf[i] = (x as u8) | 0x80;
        x >>= 7;
        i += 1;
    }
    buf[i] = x as u8;
    &buf[..=i]
}

impl IndexWriter {
    /// Creates the index file at `path` and writes its header.
    ///
    /// # Errors
    /// I/O failures.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, TsdbError> {
        let path = path.as_ref().to_path_buf();
        let f = File::create(&path).map_err(|e| TsdbError::io("create", &path, e))?;
        let mut w = Self {
            path,
            f: BufWriter::with_capacity(1 << 20, f),
            pos: 0,
            stage: Stage::Symbols,
            toc: Toc::default(),
            symbol_list: Vec::new(),
            symbol_refs: HashMap::default(),
            last_series: None,
            last_refs: Vec::new(),
            pairs: HashMap::default(),
            postings: Vec::new(),
            series_buf: Encbuf::new(),
            all_series: PostingsBuf::default(),
            buf: Encbuf::new(),
        };
        let mut h = Vec::with_capacity(5);
        h.extend_from_slice(&MAGIC_INDEX.to_be_bytes());
        h.push(FORMAT_V2);
        w.write(&h)?;
        w.toc.symbols = w.pos;
        // Placeholders for length and count, filled in when the symbols are finished.
        w.write(&[0; 8])?;
        Ok(w)
    }

    fn write(&mut self, b: &[u8]) -> Result<(), TsdbError> {
        self.f
            .write_all(b)
            .map_err(|e| TsdbError::io("write", &self.path, e))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn write_at(&mut self, b: &[u8], pos: u64) -> Result<(), TsdbError> {
        let io = |e| TsdbError::io("write", &self.path, e);
        self.f.flush().map_err(io)?;
        let file = self.f.get_mut();
        file.seek(SeekFrom::Start(pos)).map_err(io)?;
        file.write_all(b).map_err(io)?;
        file.seek(SeekFrom::Start(self.pos)).map_err(io)?;
        Ok(())
    }

    fn add_padding(&mut self, align: u64) -> Result<(), TsdbError> {
        const ZEROS: [u8; SERIES_BYTE_ALIGN as usize] = [0; SERIES_BYTE_ALIGN as usize];
        let mut p = self.pos % align;
        while p != 0 {
            let n = (align - p).min(ZEROS.len() as u64);
            self.write(&ZEROS[..n as usize])?;
            p = self.pos % align;
        }
        Ok(())
    }

    /// Adds the next symbol; symbols must be added in strictly increasing order.
    ///
    /// # Errors
    /// [`TsdbError::OutOfOrder`] when not after the previous symbol, or after series were added.
    pub fn add_symbol(&mut self, sym: &str) -> Result<(), TsdbError> {
        if self.stage != Stage::Symbols {
            return Err(TsdbError::OutOfOrder(format!(
                "symbol {sym:?} added after series"
            )));
        }
        if self
            .symbol_list
            .last()
            .is_some_and(|last| sym <= last.as_str())
        {
            return Err(TsdbError::OutOfOrder(format!(
                "symbol {sym:?} out-of-order"
            )));
        }
        self.buf.reset();
        self.buf.put_uvarint_str(sym);
        let b = std::mem::take(&mut self.buf);
        self.write(b.get())?;
        self.buf = b;
        let r = self.symbol_list.len() as u32;
        self.symbol_refs.entry(symbol_hash(sym)).or_insert(r);
        self.symbol_list.push(sym.to_owned());
        Ok(())
    }

    fn finish_symbols(&mut self) -> Result<(), TsdbError> {
        let len = self.pos - self.toc.symbols - 4;
        let len = u32::try_from(len)
            .map_err(|_| TsdbError::Chunk(format!("symbol table size exceeds 4 GiB: {len}")))?;
        let mut head = Vec::with_capacity(8);
        head.extend_from_slice(&len.to_be_bytes());
        head.extend_from_slice(&(self.symbol_list.len() as u32).to_be_bytes());
        self.write_at(&head, self.toc.symbols)?;
        // The checksum covers the count and the entries: recompute it from the strings.
        let mut body = Encbuf::with_capacity(len as usize);
        body.put_be32(self.symbol_list.len() as u32);
        for s in &self.symbol_list {
            body.put_uvarint_str(s);
        }
        let crc = crc32c(body.get());
        self.write(&crc.to_be_bytes())?;
        self.stage = Stage::Series;
        self.toc.series = self.pos;
        Ok(())
    }

    /// The label pair `(n, v)` with the index of its postings (created empty if new).
    fn pair(&mut self, n: u32, v: u32) -> (u32, u32, u32) {
        let next = self.postings.len() as u32;
        let p = *self.pairs.entry((n, v)).or_insert(next);
        if p == next {
            self.postings.push(PostingsBuf::default());
        }
        (n, v, p)
    }

    /// Fills `refs` with the (name, value, postings index) of each pair of `labels` and
    /// returns their count, checking that `labels` sorts after `last` (the previous series,
    /// whose pairs `refs` holds, if it holds any). A pair equal to the previous series' pair
    /// at the same place reuses its references; the first pair that differs decides the
    /// order (Prometheus's: by name, then value, a prefix first) before anything is created
    /// for it, so an out-of-order series changes nothing.
    fn label_refs(
        &mut self,
        labels: &Labels,
        last: Option<&Labels>,
        refs: &mut Vec<(u32, u32, u32)>,
    ) -> Result<usize, TsdbError> {
        let mut prev = last.map(Labels::iter);
        let mut ordered = last.is_none();
        let mut count = 0;
        for (i, l) in labels.iter().enumerate() {
            let p = prev.as_mut().and_then(Iterator::next);
            let same_name = p.is_some_and(|p| p.name == l.name);
            let same = same_name && p.is_some_and(|p| p.value == l.value);
            if !same && !ordered {
                // The first pair that differs: one sorting before the previous series' pair
                // would be out of order (a series ending first is caught after the loop).
                if p.is_some_and(|p| (l.name, l.value) < (p.name, p.value)) {
                    return Err(out_of_order(labels));
                }
                ordered = true;
            }
            let entry = match refs.get(i).copied() {
                Some(pair) if same => pair,
                Some((n, _, _)) if same_name => self.pair(n, self.symbol(l.value)?),
                _ => self.pair(self.symbol(l.name)?, self.symbol(l.value)?),
            };
            if i < refs.len() {
                refs[i] = entry;
            } else {
                refs.push(entry);
            }
            count += 1;
        }
        if !ordered {
            // Equal to the previous series, or a prefix of it.
            return Err(out_of_order(labels));
        }
        Ok(count)
    }

    fn symbol(&self, s: &str) -> Result<u32, TsdbError> {
        if let Some(&r) = self.symbol_refs.get(&symbol_hash(s))
            && self.symbol_list[r as usize] == s
        {
            return Ok(r);
        }
        self.symbol_list
            .binary_search_by(|x| x.as_str().cmp(s))
            .map(|i| i as u32)
            .map_err(|_| TsdbError::Chunk(format!("symbol entry for {s:?} does not exist")))
    }

    /// Adds a series with its chunks (references already assigned); series must be added in
    /// increasing label order.
    ///
    /// # Errors
    /// [`TsdbError::OutOfOrder`] for unsorted series, a label string that is not a symbol, I/O.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<u64, TsdbError> {
        if self.stage == Stage::Symbols {
            self.finish_symbols()?;
        }
        let mut refs = std::mem::take(&mut self.last_refs);
        let last = self.last_series.take();
        let found = self.label_refs(labels, last.as_ref(), &mut refs);
        let count = match found {
            Ok(count) => count,
            Err(e) => {
                // `refs` may hold some of this series' pairs now: the next series looks its
                // pairs up again.
                refs.clear();
                self.last_series = last;
                self.last_refs = refs;
                return Err(e);
            }
        };
        refs.truncate(count);
        self.add_padding(SERIES_BYTE_ALIGN)?;
        let id64 = self.pos / SERIES_BYTE_ALIGN;
        let id = u32::try_from(id64)
            .map_err(|_| TsdbError::Chunk(format!("series offset {} exceeds 4 bytes", self.pos)))?;
        let mut b = std::mem::take(&mut self.series_buf);
        b.reset();
        b.put_uvarint(count as u64);
        for &(n, v, p) in &refs {
            b.put_uvarint(u64::from(n));
            b.put_uvarint(u64::from(v));
            self.postings[p as usize].push(id);
        }
        self.last_refs = refs;
        b.put_uvarint(chunks.len() as u64);
        if let Some(first) = chunks.first() {
            b.put_varint(first.min_time);
            b.put_uvarint(first.max_time.wrapping_sub(first.min_time) as u64);
            b.put_uvarint(first.r#ref);
            let mut t0 = first.max_time;
            let mut ref0 = first.r#ref as i64;
            for c in &chunks[1..] {
                b.put_uvarint(c.min_time.wrapping_sub(t0) as u64);
                b.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
                t0 = c.max_time;
                b.put_varint((c.r#ref as i64).wrapping_sub(ref0));
                ref0 = c.r#ref as i64;
            }
        }
        let mut len = [0u8; 10];
        let len = uvarint_into(&mut len, b.len() as u64);
        let written = self
            .write(len)
            .and_then(|()| self.write(b.get()))
            .and_then(|()| self.write(&crc32c(b.get()).to_be_bytes()));
        self.series_buf = b;
        written?;
        self.all_series.push(id);
        self.last_series = Some(labels.clone());
        Ok(id64)
    }

    /// Writes label indices, postings, the offset tables and the TOC, then syncs the file.
    ///
    /// # Errors
    /// I/O failures.
    pub fn close(mut self) -> Result<(), TsdbError> {
        if self.stage == Stage::Symbols {
            self.finish_symbols()?;
        }
        let mut pairs: Vec<((u32, u32), u32)> =
            std::mem::take(&mut self.pairs).into_iter().collect();
        pairs.sort_unstable();
        // Values (with their postings' index) of each name, both sorted.
        let mut values_of: Vec<(u32, Vec<(u32, u32)>)> = Vec::new();
        for ((n, v), p) in pairs {
            match values_of.last_mut() {
                Some((last, vs)) if *last == n => vs.push((v, p)),
                _ => values_of.push((n, vec![(v, p)])),
            }
        }

        // Label indices: one per label name, values as symbol references.
        self.toc.label_indices = self.pos;
        let mut label_index_offsets = Vec::with_capacity(values_of.len());
        for (n, vs) in &values_of {
            self.add_padding(4)?;
            label_index_offsets.push((*n, self.pos));
            let mut body = Encbuf::with_capacity(8 + 4 * vs.len());
            body.put_be32(1);
            body.put_be32(vs.len() as u32);
            for (v, _) in vs {
                body.put_be32(*v);
            }
            self.write_section(body.get())?;
        }

        // Postings: all series first (under the empty label pair), then by name and value.
        self.toc.postings = self.pos;
        self.add_padding(4)?;
        let mut postings_offsets: Vec<(u32, u32, u64)> = Vec::new();
        let all = std::mem::take(&mut self.all_series);
        postings_offsets.push((u32::MAX, u32::MAX, self.pos));
        self.write_postings(&all)?;
        drop(all);
        for (n, vs) in &values_of {
            for &(v, p) in vs {
                self.add_padding(4)?;
                postings_offsets.push((*n, v, self.pos));
                let list = std::mem::take(self.postings.get_mut(p as usize).expect("listed"));
                self.write_postings(&list)?;
            }
        }

        // Label offset table.
        self.toc.label_indices_table = self.pos;
        let mut body = Encbuf::new();
        body.put_be32(label_index_offsets.len() as u32);
        for (n, off) in &label_index_offsets {
            body.put_uvarint(1);
            body.put_uvarint_str(&self.symbol_list[*n as usize]);
            body.put_uvarint(*off);
        }
        self.write_section(body.get())?;

        // Postings offset table.
        self.toc.postings_table = self.pos;
        let mut body = Encbuf::new();
        body.put_be32(postings_offsets.len() as u32);
        for (n, v, off) in &postings_offsets {
            body.put_uvarint(2);
            let name = if *n == u32::MAX {
                ""
            } else {
                &self.symbol_list[*n as usize]
            };
            let value = if *v == u32::MAX {
                ""
            } else {
                &self.symbol_list[*v as usize]
            };
            body.put_uvarint_str(name);
            body.put_uvarint_str(value);
            body.put_uvarint(*off);
        }
        self.write_section(body.get())?;

        let toc = self.toc.encode();
        self.write(&toc)?;
        let io = |e| TsdbError::io("write", &self.path, e);
        self.f.flush().map_err(io)?;
        self.f
            .get_ref()
            .sync_all()
            .map_err(|e| TsdbError::io("fsync", &self.path, e))?;
        Ok(())
    }

    /// Writes `len(4) | body | crc32c(body)`.
    fn write_section(&mut self, body: &[u8]) -> Result<(), TsdbError> {
        let len = u32::try_from(body.len()).map_err(|_| {
            TsdbError::Chunk(format!(
                "index section of {} bytes exceeds 4 bytes",
                body.len()
            ))
        })?;
        self.write(&len.to_be_bytes())?;
        self.write(body)?;
        self.write(&crc32c(body).to_be_bytes())
    }

    fn write_postings(&mut self, refs: &PostingsBuf) -> Result<(), TsdbError> {
        let mut body = Encbuf::with_capacity(4 + 4 * refs.len as usize);
        body.put_be32(refs.len);
        for r in refs.refs() {
            body.put_be32(r);
        }
        self.write_section(body.get())
    }
}

#[cfg(test)]
mod tests {
    use super::PostingsBuf;

    #[test]
    fn postings_keep_their_references_as_deltas() {
        let refs = [0u32, 1, 2, 130, 131, 20_000, 20_001, 3_000_000, u32::MAX];
        let mut p = PostingsBuf::default();
        refs.iter().for_each(|&r| p.push(r));
        assert_eq!(p.refs().collect::<Vec<_>>(), refs);
        assert_eq!(p.len as usize, refs.len());
        // Small steps take a byte each.
        assert!(p.deltas.len() < 4 * refs.len());
    }
}
