//! Reads an index file (format v2) through a memory map: the postings offset table and symbol
//! offsets are loaded at open; symbols, series and postings lists are decoded on demand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use model::Labels;

use super::postings::{PostingsSource, merge};
use super::{FORMAT_V2, HEADER_LEN, MAGIC_INDEX, SERIES_BYTE_ALIGN, Toc};
use crate::chunks::{ChunkMeta, mmap_file};
use crate::encoding::{Decbuf, crc32c};
use crate::error::{DecodeError, TsdbError};

/// A reader of one index file.
pub struct IndexReader {
    path: PathBuf,
    data: Mmap,
    toc: Toc,
    /// Byte range (start, length) of every symbol's text, by symbol index; every one was
    /// checked to be UTF-8 at open.
    symbols: Vec<(u32, u32)>,
    /// Label name -> sorted (value, postings offset); the all-postings key under "".
    postings: HashMap<String, Vec<(String, u64)>>,
    /// Sorted label names (without the all-postings key).
    names: Vec<String>,
}

impl std::fmt::Debug for IndexReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexReader")
            .field("path", &self.path)
            .field("toc", &self.toc)
            .finish()
    }
}

impl IndexReader {
    /// Maps and validates the index file at `path`.
    ///
    /// # Errors
    /// I/O failures, a wrong magic number or version, or corrupt tables.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TsdbError> {
        let path = path.as_ref().to_path_buf();
        let len = std::fs::metadata(&path)
            .map_err(|e| TsdbError::io("stat", &path, e))?
            .len();
        if len < (HEADER_LEN + super::TOC_LEN) as u64 {
            return Err(TsdbError::corruption(
                path.display().to_string(),
                "index header: invalid size",
            ));
        }
        let data = mmap_file(&path)?;
        let corrupt = |reason: String| TsdbError::corruption(path.display().to_string(), reason);
        let magic = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if magic != MAGIC_INDEX {
            return Err(corrupt(format!("invalid magic number {magic:x}")));
        }
        if data[4] != FORMAT_V2 {
            return Err(corrupt(format!("unknown index file version {}", data[4])));
        }
        let toc = Toc::decode(&data).map_err(|e| corrupt(format!("read TOC: {e}")))?;
        let symbols =
            read_symbols(&data, toc.symbols).map_err(|e| corrupt(format!("read symbols: {e}")))?;
        let mut postings: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        if toc.postings_table != 0 {
            let mut d = section(&data, toc.postings_table)
                .map_err(|e| corrupt(format!("read postings table: {e}")))?;
            let n = d.be32().map_err(|e| corrupt(e.to_string()))?;
            for _ in 0..n {
                let entry = (|| -> Result<(String, String, u64), DecodeError> {
                    if d.uvarint()? != 2 {
                        return Err(DecodeError::Invalid(
                            "unexpected number of keys for postings offset table".into(),
                        ));
                    }
                    let name = d.uvarint_str()?.to_owned();
                    let value = d.uvarint_str()?.to_owned();
                    Ok((name, value, d.uvarint()?))
                })()
                .map_err(|e| corrupt(format!("read postings table: {e}")))?;
                postings
                    .entry(entry.0)
                    .or_default()
                    .push((entry.1, entry.2));
            }
        }
        let mut names: Vec<String> = postings.keys().filter(|k| !k.is_empty()).cloned().collect();
        names.sort_unstable();
        Ok(Self {
            path,
            data,
            toc,
            symbols,
            postings,
            names,
        })
    }

    fn corrupt(&self, reason: impl std::fmt::Display) -> TsdbError {
        TsdbError::corruption(self.path.display().to_string(), reason.to_string())
    }

    /// The table of contents.
    #[must_use]
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Size of the index file in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Number of symbols.
    #[must_use]
    pub fn num_symbols(&self) -> usize {
        self.symbols.len()
    }

    /// The symbol with index `i`.
    ///
    /// # Errors
    /// An index out of range or corrupt data.
    pub fn symbol(&self, i: u32) -> Result<&str, TsdbError> {
        let &(start, len) = self
            .symbols
            .get(i as usize)
            .ok_or_else(|| self.corrupt(format!("unknown symbol offset {i}")))?;
        let bytes = &self.data[start as usize..start as usize + len as usize];
        // SAFETY: `read_symbols` checked at open that these bytes are UTF-8, and the mapped
        // file does not change while it is mapped (see `mmap_file`). Reading symbols is most
        // of reading a series' labels, so they are not checked again on every read.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// All symbols in order.
    ///
    /// # Errors
    /// Corrupt data.
    pub fn symbols(&self) -> Result<Vec<&str>, TsdbError> {
        (0..self.symbols.len() as u32)
            .map(|i| self.symbol(i))
            .collect()
    }

    /// Sorted label names of all series.
    #[must_use]
    pub fn label_names(&self) -> &[String] {
        &self.names
    }

    /// Sorted values of label `name` (empty when no series has it).
    #[must_use]
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.first_label_values(name, usize::MAX)
    }

    /// The first `limit` sorted values of label `name`: only those are copied.
    #[must_use]
    pub fn first_label_values(&self, name: &str, limit: usize) -> Vec<String> {
        self.postings
            .get(name)
            .map(|v| v.iter().take(limit).map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }

    /// Sorted series references of the postings list at `off`.
    fn postings_at(&self, off: u64) -> Result<Vec<u64>, TsdbError> {
        let mut d = section(&self.data, off)
            .map_err(|e| self.corrupt(format!("postings at {off}: {e}")))?;
        let n = d.be32().map_err(|e| self.corrupt(e))? as usize;
        if d.len() != 4 * n {
            return Err(self.corrupt(format!(
                "unexpected postings length, should be {} bytes for {n} postings, got {} bytes",
                4 * n,
                d.len()
            )));
        }
        (0..n)
            .map(|_| d.be32().map(u64::from).map_err(|e| self.corrupt(e)))
            .collect()
    }

    /// Series references having label `name` with one of `values`, sorted.
    ///
    /// # Errors
    /// Corrupt postings.
    pub fn postings(&self, name: &str, values: &[&str]) -> Result<Vec<u64>, TsdbError> {
        let Some(entries) = self.postings.get(name) else {
            return Ok(Vec::new());
        };
        let mut lists = Vec::with_capacity(values.len());
        for v in values {
            if let Ok(i) = entries.binary_search_by(|(x, _)| x.as_str().cmp(v)) {
                lists.push(self.postings_at(entries[i].1)?);
            }
        }
        Ok(merge(lists))
    }

    /// Every series reference, sorted.
    ///
    /// # Errors
    /// Corrupt postings.
    pub fn all_postings(&self) -> Result<Vec<u64>, TsdbError> {
        self.postings("", &[""])
    }

    /// The labels and chunk metadata of series `id`.
    ///
    /// # Errors
    /// A reference outside the file, checksum mismatch, unknown symbols.
    pub fn series(&self, id: u64) -> Result<(Labels, Vec<ChunkMeta>), TsdbError> {
        self.series_like(id, None)
    }

    /// [`IndexReader::series`], returning a clone of `like` (which shares its buffer) when
    /// series `id` has exactly those labels: a series read from several blocks in turn then
    /// has one label buffer, built by the first block, instead of one per block.
    ///
    /// # Errors
    /// A reference outside the file, checksum mismatch, unknown symbols.
    pub fn series_like(
        &self,
        id: u64,
        like: Option<&Labels>,
    ) -> Result<(Labels, Vec<ChunkMeta>), TsdbError> {
        let mut d = self.series_entry(id)?;
        let err = |e: DecodeError| self.corrupt(format!("series {id}: {e}"));
        let k = d.uvarint_usize().map_err(err)?;
        // Counts come from the file: cap what is reserved up front.
        let mut pairs = Vec::with_capacity(k.min(64));
        for _ in 0..k {
            let n = d.uvarint32().map_err(err)?;
            let v = d.uvarint32().map_err(err)?;
            let name = self.symbol(n)?;
            if name.is_empty() {
                return Err(self.corrupt(format!("series {id}: empty label name")));
            }
            pairs.push((name, self.symbol(v)?));
        }
        let labels = match like {
            Some(l) if same_labels(l, &pairs) => l.clone(),
            _ => Labels::from_sorted_slice(&pairs),
        };
        let n = d.uvarint_usize().map_err(err)?;
        let mut chunks = Vec::with_capacity(n.min(1024));
        if n > 0 {
            let mut mint = d.varint().map_err(err)?;
            let mut maxt = mint.wrapping_add(d.uvarint().map_err(err)? as i64);
            let mut r = d.uvarint().map_err(err)?;
            chunks.push(ChunkMeta {
                r#ref: r,
                min_time: mint,
                max_time: maxt,
                chunk: None,
            });
            for _ in 1..n {
                mint = maxt.wrapping_add(d.uvarint().map_err(err)? as i64);
                maxt = mint.wrapping_add(d.uvarint().map_err(err)? as i64);
                r = (r as i64).wrapping_add(d.varint().map_err(err)?) as u64;
                chunks.push(ChunkMeta {
                    r#ref: r,
                    min_time: mint,
                    max_time: maxt,
                    chunk: None,
                });
            }
        }
        Ok((labels, chunks))
    }

    /// The checksummed entry of series `id`, positioned at its label count.
    fn series_entry(&self, id: u64) -> Result<Decbuf<'_>, TsdbError> {
        let off = id
            .checked_mul(SERIES_BYTE_ALIGN)
            .filter(|o| *o < self.data.len() as u64);
        let Some(off) = off else {
            return Err(TsdbError::NotFound {
                kind: "series",
                reference: id,
            });
        };
        Decbuf::new_uvarint_crc(&self.data[off as usize..])
            .map_err(|e| self.corrupt(format!("series {id}: {e}")))
    }

    /// Calls `f` with the (name, value) symbol indexes of series `id`'s labels, in label
    /// order, without resolving symbols or decoding chunks: the cheap path for label names
    /// and values of matched series.
    ///
    /// # Errors
    /// An unknown series reference or corrupt data.
    pub fn series_label_refs(&self, id: u64, mut f: impl FnMut(u32, u32)) -> Result<(), TsdbError> {
        let mut d = self.series_entry(id)?;
        let err = |e: DecodeError| self.corrupt(format!("series {id}: {e}"));
        let k = d.uvarint_usize().map_err(err)?;
        for _ in 0..k {
            let n = d.uvarint32().map_err(err)?;
            let v = d.uvarint32().map_err(err)?;
            f(n, v);
        }
        Ok(())
    }

    /// The index of symbol `s`, found by binary search (the symbol table is sorted).
    ///
    /// # Errors
    /// Corrupt data.
    pub fn symbol_index(&self, s: &str) -> Result<Option<u32>, TsdbError> {
        let (mut lo, mut hi) = (0u32, self.symbols.len() as u32);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid)?.cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid)),
            }
        }
        Ok(None)
    }
}

impl PostingsSource for IndexReader {
    fn all_postings(&self) -> Result<Vec<u64>, TsdbError> {
        IndexReader::all_postings(self)
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>, TsdbError> {
        Ok(IndexReader::label_values(self, name))
    }

    fn postings(&self, name: &str, values: &[&str]) -> Result<Vec<u64>, TsdbError> {
        IndexReader::postings(self, name, values)
    }
}

/// Whether `labels` holds exactly `pairs`, in order.
fn same_labels(labels: &Labels, pairs: &[(&str, &str)]) -> bool {
    let mut it = labels.iter();
    pairs
        .iter()
        .all(|&(n, v)| it.next().is_some_and(|l| l.name == n && l.value == v))
        && it.next().is_none()
}

/// A `len(4) | body | crc32c(body)` section at `off`, checksum verified: the body.
fn section(data: &[u8], off: u64) -> Result<Decbuf<'_>, DecodeError> {
    let rest = data.get(off as usize..).ok_or(DecodeError::InvalidSize {
        need: off as usize,
        have: data.len(),
    })?;
    let mut d = Decbuf::new(rest);
    let len = d.be32()? as usize;
    let body = d.bytes(len)?;
    let stored = d.be32()?;
    let computed = crc32c(body);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    Ok(Decbuf::new(body))
}

/// The byte range (start, length) of every symbol of the symbol table at `off`; each
/// symbol must be valid UTF-8 (checked here once, so [`IndexReader::symbol`] need not).
fn read_symbols(data: &[u8], off: u64) -> Result<Vec<(u32, u32)>, DecodeError> {
    if off == 0 {
        return Ok(Vec::new());
    }
    let mut d = section(data, off)?;
    let n = d.be32()? as usize;
    let base = off as usize + 4;
    let body_len = d.len() + 4;
    // Counts come from the file: cap what is reserved up front.
    let mut ranges = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let s = d.uvarint_str()?;
        let end = u32::try_from(base + body_len - d.len())
            .map_err(|_| DecodeError::Invalid("symbol table beyond 4 GiB".into()))?;
        // `s.len() <= end`: the symbol's bytes lie before `end`.
        ranges.push((end - s.len() as u32, s.len() as u32));
    }
    Ok(ranges)
}
