//! Reading the head: series selected through the postings, their chunks snapshotted under
//! the isolation lock (so a commit is seen whole or not at all), samples clipped to the
//! querier's time range.

use std::sync::Arc;

use model::{Labels, Matcher, Timestamp};
use storage::{
    Querier, SampleIterator, SelectHints, Series, SeriesSet, StorageError, ValueType, VecSeriesSet,
};

use crate::head::Head;

/// A querier over the head for `[mint, maxt]`.
#[derive(Debug)]
pub struct HeadQuerier {
    head: Arc<Head>,
    mint: i64,
    maxt: i64,
}

/// Samples of one chunk, shared with the head.
type ChunkSamples = Arc<[(i64, f64)]>;

/// A head series as a querier returns it: the chunks overlapping the range, at select time.
#[derive(Debug, Clone)]
pub struct HeadSeries {
    labels: Labels,
    chunks: Vec<ChunkSamples>,
    mint: i64,
    maxt: i64,
}

impl HeadQuerier {
    pub(crate) fn new(head: Arc<Head>, mint: i64, maxt: i64) -> Self {
        Self { head, mint, maxt }
    }

    /// The series matching `matchers` with samples in range, sorted by labels.
    #[must_use]
    pub fn select_series(&self, matchers: &[Matcher]) -> Vec<HeadSeries> {
        let ids = self.head.postings.read().for_matchers(matchers);
        let mut out = Vec::with_capacity(ids.len());
        {
            let _iso = self.head.isolation.write();
            for id in ids {
                let Some(s) = self.head.series_by_id(id) else {
                    continue;
                };
                let st = s.state.lock();
                let mut chunks: Vec<ChunkSamples> = Vec::new();
                for c in &st.full {
                    if c.max_t >= self.mint && c.min_t <= self.maxt {
                        chunks.push(Arc::from(clip(c.samples(), self.mint, self.maxt)));
                    }
                }
                if let Some(h) = &st.head
                    && h.max_t >= self.mint
                    && h.min_t <= self.maxt
                {
                    let part = clip(h.data.samples(), self.mint, self.maxt);
                    if !part.is_empty() {
                        chunks.push(Arc::from(part));
                    }
                }
                chunks.retain(|c| !c.is_empty());
                if !chunks.is_empty() {
                    out.push(HeadSeries {
                        labels: s.labels.clone(),
                        chunks,
                        mint: self.mint,
                        maxt: self.maxt,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

fn clip(samples: &[(i64, f64)], mint: i64, maxt: i64) -> &[(i64, f64)] {
    let from = samples.partition_point(|s| s.0 < mint);
    let to = samples.partition_point(|s| s.0 <= maxt);
    &samples[from..to.max(from)]
}

impl Querier for HeadQuerier {
    fn select(
        &self,
        _sorted: bool,
        _hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        let series = self.select_series(matchers);
        Ok(Box::new(VecSeriesSet::new(
            series
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Series>)
                .collect(),
        )))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_values(name));
        }
        let mut v: Vec<String> = self
            .select_series(matchers)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_owned))
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_names());
        }
        let mut v: Vec<String> = self
            .select_series(matchers)
            .iter()
            .flat_map(|s| {
                s.labels
                    .iter()
                    .map(|l| l.name.to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }
}

impl HeadSeries {
    /// The samples, in order.
    #[must_use]
    pub fn samples(&self) -> Vec<(i64, f64)> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
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
        Box::new(ChunksIterator {
            chunks: &self.chunks,
            chunk: 0,
            pos: None,
        })
    }
}

/// Iterates the samples of a list of chunks.
struct ChunksIterator<'a> {
    chunks: &'a [ChunkSamples],
    chunk: usize,
    /// Position in `chunks[chunk]`; `None` before the first sample.
    pos: Option<usize>,
}

impl ChunksIterator<'_> {
    fn cur(&self) -> Option<(i64, f64)> {
        let p = self.pos?;
        self.chunks.get(self.chunk).and_then(|c| c.get(p)).copied()
    }
}

impl SampleIterator for ChunksIterator<'_> {
    fn next(&mut self) -> ValueType {
        match self.pos {
            None => self.pos = Some(0),
            Some(p) => {
                if self.chunk >= self.chunks.len() {
                    return ValueType::None;
                }
                if p + 1 < self.chunks[self.chunk].len() {
                    self.pos = Some(p + 1);
                } else {
                    self.chunk += 1;
                    self.pos = Some(0);
                }
            }
        }
        self.current()
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        if self.pos.is_none() {
            self.pos = Some(0);
        }
        if self.cur().is_some_and(|(ts, _)| ts >= t) {
            return ValueType::Float;
        }
        while self.chunk < self.chunks.len() {
            let c = &self.chunks[self.chunk];
            if c.last().is_some_and(|s| s.0 >= t) {
                let from = self.pos.unwrap_or(0);
                self.pos = Some(from + c[from..].partition_point(|s| s.0 < t));
                return ValueType::Float;
            }
            self.chunk += 1;
            self.pos = Some(0);
        }
        ValueType::None
    }

    fn current(&self) -> ValueType {
        if self.cur().is_some() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }

    fn at(&self) -> (Timestamp, f64) {
        self.cur().expect("iterator is positioned on a sample")
    }

    fn at_t(&self) -> Timestamp {
        self.at().0
    }
}

impl Head {
    /// Every series with its samples in `[mint, maxt]`, sorted by labels (for compaction).
    #[must_use]
    pub fn series_in_range(self: &Arc<Self>, mint: i64, maxt: i64) -> Vec<HeadSeries> {
        HeadQuerier::new(self.clone(), mint, maxt).select_series(&[])
    }
}
