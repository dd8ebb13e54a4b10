//! The fanout appendable: appends to the local storage, and on a successful commit tees the
//! float samples to the remote write queues (Prometheus's `storage/fanout.go`, with remote
//! write as the secondary).

use std::sync::Arc;

use model::{Labels, Sample, Timestamp};
use storage::{Appendable, AppendableRef, Appender, Exemplar, Metadata, SeriesRef, StorageError};

use super::{Pending, WriteStorage};

/// Local storage first, remote write queues after each commit.
#[derive(Clone)]
pub struct Fanout {
    local: AppendableRef,
    remote: Arc<WriteStorage>,
}

impl Fanout {
    /// Wraps `local`; committed samples also go to `remote`.
    #[must_use]
    pub fn new(local: AppendableRef, remote: Arc<WriteStorage>) -> Self {
        Self { local, remote }
    }
}

impl Appendable for Fanout {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(FanoutAppender {
            inner: self.local.appender(),
            remote: self.remote.clone(),
            pending: Vec::new(),
        })
    }
}

struct FanoutAppender {
    inner: Box<dyn Appender>,
    remote: Arc<WriteStorage>,
    pending: Vec<Pending>,
}

impl Appender for FanoutAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        self.append_with_start(series_ref, labels, 0, t, sample)
    }

    fn append_with_start(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        st: Timestamp,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        let v = match &sample {
            Sample::Float(v) if self.remote.is_active() => Some(*v),
            _ => None,
        };
        let r = self
            .inner
            .append_with_start(series_ref, labels, st, t, sample)?;
        if let Some(v) = v {
            self.pending.push((labels.clone(), t, v));
        }
        Ok(r)
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        let res = self.inner.commit();
        if res.is_ok() {
            self.remote.push(&self.pending);
        }
        self.pending.clear();
        res
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.pending.clear();
        self.inner.rollback()
    }

    fn append_exemplar(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        exemplar: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        self.inner.append_exemplar(series_ref, labels, exemplar)
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, StorageError> {
        self.inner.update_metadata(series_ref, labels, metadata)
    }
}
