//! A test double for the storage boundary that stores nothing: an [`Appender`] that hands out
//! a new series reference for each unknown series and returns known references unchanged,
//! like a head appender's fast path without the chunks. Scrape's memory test and benchmark
//! use it so that what they measure is the scrape loop's own work.

use std::hint::black_box;

use model::{Labels, Sample, Timestamp};
use storage::{Appender, SeriesRef, StorageError};

/// Hands out references 1, 2, 3… for samples without one and counts the samples; commits and
/// rollbacks do nothing.
#[derive(Debug, Default)]
pub struct RefAppender {
    next: SeriesRef,
    samples: u64,
}

impl RefAppender {
    /// Samples appended so far.
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Series references handed out so far.
    #[must_use]
    pub fn series(&self) -> SeriesRef {
        self.next
    }
}

impl Appender for RefAppender {
    // Inlined into callers in other crates (a benchmark's inner loop), as a local type was.
    #[inline]
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        // Kept observable, so that a benchmark does not skip building what it is given.
        black_box((labels, t, &sample));
        self.samples += 1;
        if series_ref != 0 {
            return Ok(series_ref);
        }
        self.next += 1;
        Ok(self.next)
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_series_get_new_references_and_known_ones_keep_theirs() {
        let mut app = RefAppender::default();
        let l = Labels::from_pairs([("__name__", "up")]);
        let a = app.append(0, &l, 1, Sample::Float(1.0)).unwrap();
        let b = app.append(0, &l, 1, Sample::Float(1.0)).unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(app.append(a, &l, 2, Sample::Float(2.0)).unwrap(), a);
        app.commit().unwrap();
        assert_eq!((app.samples(), app.series()), (3, 2));
    }
}
