//! The fanout appendable: appends to the local storage (whose WAL the remote write queues
//! read), and after a successful commit counts what came in and wakes the queues
//! (Prometheus's `storage/fanout.go` with remote write as the secondary, and the head's
//! write notification of its WAL watchers).

use std::sync::Arc;

use model::{Labels, Sample, Timestamp};
use storage::{Appendable, AppendableRef, Appender, Exemplar, Metadata, SeriesRef, StorageError};

use super::{Committed, WriteStorage};

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
            pending: Committed::default(),
        })
    }
}

struct FanoutAppender {
    inner: Box<dyn Appender>,
    remote: Arc<WriteStorage>,
    pending: Committed,
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
        let float = matches!(sample, Sample::Float(_));
        let r = self
            .inner
            .append_with_start(series_ref, labels, st, t, sample)?;
        if float {
            self.pending.samples += 1;
        } else {
            self.pending.histograms += 1;
        }
        self.pending.max_t = Some(self.pending.max_t.map_or(t, |m| m.max(t)));
        Ok(r)
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        let res = self.inner.commit();
        let done = std::mem::take(&mut self.pending);
        if res.is_ok() && self.remote.is_active() {
            self.remote.committed(done);
        }
        res
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.pending = Committed::default();
        self.inner.rollback()
    }

    fn append_exemplar(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        exemplar: &Exemplar,
    ) -> Result<SeriesRef, StorageError> {
        let r = self.inner.append_exemplar(series_ref, labels, exemplar)?;
        self.pending.exemplars += 1;
        Ok(r)
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
