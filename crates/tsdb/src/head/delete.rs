//! Deleting samples from the head: the series' chunks are rebuilt without the samples in the
//! deleted range (in memory), and a tombstones record in the WAL makes a replay do the same.

use std::sync::Arc;

use model::Matcher;
use storage::ValueType;

use crate::encoding::Encbuf;
use crate::error::TsdbError;
use crate::head::chunk::HeadValue;
use crate::head::{Head, MemSeries};
use crate::wal::record::{self, RefTombstone};

impl Head {
    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers`; returns how
    /// many series were touched. The deletion is logged first, so it survives a crash.
    ///
    /// # Errors
    /// I/O errors writing the WAL or reading head chunks.
    pub fn delete(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<usize, TsdbError> {
        let ids = self.postings.read().for_matchers(matchers);
        if ids.is_empty() {
            return Ok(0);
        }
        if let Some(wal) = &self.wal {
            let stones: Vec<RefTombstone> = ids
                .iter()
                .map(|&id| RefTombstone { id, mint, maxt })
                .collect();
            let mut b = Encbuf::new();
            record::encode_tombstones(&stones, &mut b);
            wal.lock().log(&[b.get()])?;
        }
        let _iso = self.isolation.write();
        {
            let mut stones = self.tombstones.lock();
            for &id in &ids {
                stones.add_interval(id, crate::tombstones::Interval { mint, maxt });
            }
        }
        let mut touched = 0;
        for id in ids {
            if let Some(s) = self.series_by_id(id)
                && self.delete_in_series(&s, mint, maxt)?
            {
                touched += 1;
            }
        }
        Ok(touched)
    }

    /// Rebuilds the chunks of `s` without its samples in `[mint, maxt]`; whether any were
    /// dropped.
    pub(crate) fn delete_in_series(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<bool, TsdbError> {
        let mut st = s.state.lock();
        let Some(first) = st.min_time() else {
            return Ok(false);
        };
        if st.max_t() < mint || first > maxt {
            return Ok(false);
        }
        let files = self.chunk_files.as_ref();
        let mut all: Vec<(i64, HeadValue)> = Vec::new();
        let mut chunks: Vec<(crate::chunkenc::Encoding, Arc<[u8]>)> = Vec::new();
        for c in &st.full {
            chunks.push((c.encoding(), c.bytes(files)?));
        }
        if let Some(h) = &st.head {
            chunks.push((h.data.encoding(), Arc::from(h.data.bytes())));
        }
        for (enc, bytes) in &chunks {
            let mut it = crate::chunkenc::iterator(*enc, bytes)?;
            loop {
                match it.next() {
                    ValueType::Float => all.push((it.at_t(), HeadValue::Float(it.at().1))),
                    ValueType::Histogram => {
                        let (t, h) = it.at_histogram();
                        all.push((t, HeadValue::Histogram(Arc::new(h))));
                    }
                    ValueType::FloatHistogram => {
                        let (t, h) = it.at_float_histogram();
                        all.push((t, HeadValue::FloatHistogram(Arc::new(h))));
                    }
                    ValueType::None => break,
                }
            }
        }
        let before = all.len();
        all.retain(|(t, _)| *t < mint || *t > maxt);
        if all.len() == before {
            return Ok(false);
        }
        st.full.clear();
        st.head = None;
        st.next_at = i64::MIN;
        let range = self.options().chunk_range;
        for (t, v) in &all {
            st.append(s.id, *t, v, range, None);
        }
        Ok(true)
    }
}
