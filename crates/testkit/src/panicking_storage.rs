//! A test double for the storage boundary: an [`Appendable`] whose appenders panic in
//! `commit` a set number of times (with the message "storage exploded"), then write through
//! to a real storage. The rules and scrape tests use it to check that a panicking commit
//! fails that one evaluation or scrape only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use model::{Labels, Sample, Timestamp};
use storage::{Appendable, Appender, Exemplar, Metadata, SeriesRef, StorageError};

/// Panics in `commit` while `panics_left` is above zero (counting it down); otherwise
/// writes to `inner`.
pub struct PanickingStorage {
    inner: Arc<dyn Appendable>,
    panics_left: Arc<AtomicUsize>,
}

impl PanickingStorage {
    /// A storage over `inner` that panics on the next `panics_left` commits; keep a clone of
    /// the counter to see how many are left.
    #[must_use]
    pub fn new(inner: Arc<dyn Appendable>, panics_left: Arc<AtomicUsize>) -> Self {
        Self { inner, panics_left }
    }
}

struct PanickingAppender {
    inner: Box<dyn Appender>,
    panics_left: Arc<AtomicUsize>,
}

impl Appendable for PanickingStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(PanickingAppender {
            inner: self.inner.appender(),
            panics_left: self.panics_left.clone(),
        })
    }
}

impl Appender for PanickingAppender {
    fn append(
        &mut self,
        r: SeriesRef,
        l: &Labels,
        t: Timestamp,
        s: Sample,
    ) -> Result<SeriesRef, StorageError> {
        self.inner.append(r, l, t, s)
    }
    fn append_exemplar(
        &mut self,
        r: SeriesRef,
        l: &Labels,
        e: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        self.inner.append_exemplar(r, l, e)
    }
    fn update_metadata(
        &mut self,
        r: SeriesRef,
        l: &Labels,
        m: &Metadata,
    ) -> Result<SeriesRef, StorageError> {
        self.inner.update_metadata(r, l, m)
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        let left = self.panics_left.load(Ordering::SeqCst);
        if left > 0 {
            self.panics_left.store(left - 1, Ordering::SeqCst);
            panic!("storage exploded");
        }
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), StorageError> {
        self.inner.rollback()
    }
}
