//! A bound on the notifications one integration has in flight at once: a [`Notifier`] that
//! wraps another and waits for one of [`MAX_IN_FLIGHT`] permits before each send.
//!
//! When a thousand aggregation groups flush together (Alertmanager's pipeline runs each
//! group's notification as soon as it flushes), an unbounded integration opens a thousand
//! connections to one receiver, each with its request body, connection buffers and request
//! state: most of a flush's memory. Alertmanager's Go transport sets no per-host bound either;
//! here the sends beyond the bound wait for a permit, within the same deadline as the send
//! (the retry stage's), so a receiver that hangs fails them as it would fail them unbounded,
//! and other integrations (each with its own permits) are never delayed.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::alert::Data;
use crate::notify::{Notifier, NotifyContext, NotifyFuture};

/// The most notifications of one integration sent at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// A notifier whose sends wait for one of its permits.
pub struct Limited {
    inner: Arc<dyn Notifier>,
    permits: Semaphore,
}

impl Limited {
    /// `inner` with at most `max` sends at once (at least one).
    #[must_use]
    pub fn new(inner: Arc<dyn Notifier>, max: usize) -> Self {
        Self {
            inner,
            permits: Semaphore::new(max.max(1)),
        }
    }
}

impl Notifier for Limited {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            // Never closed: an error cannot happen, and would only mean sending unbounded.
            let _permit = self.permits.acquire().await;
            self.inner.notify(ctx, data).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::alert::Kv;
    use crate::error::NotifyError;

    /// Counts the sends under way and the most seen at once; each send waits for `go`.
    #[derive(Default)]
    struct Gate {
        now: AtomicUsize,
        most: AtomicUsize,
        go: tokio::sync::Notify,
    }

    impl Notifier for Gate {
        fn notify<'a>(&'a self, _: &'a NotifyContext, _: &'a Data) -> NotifyFuture<'a> {
            Box::pin(async move {
                let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(n, Ordering::SeqCst);
                self.go.notified().await;
                self.now.fetch_sub(1, Ordering::SeqCst);
                Ok::<(), NotifyError>(())
            })
        }
    }

    #[test]
    fn at_most_max_sends_run_at_once_and_all_complete() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let gate = Arc::new(Gate::default());
            let limited = Arc::new(Limited::new(gate.clone(), 3));
            let data = Data::new("r", Kv::new(), Vec::new(), "");
            let ctx = NotifyContext::default();
            let sends: Vec<_> = (0..10)
                .map(|_| {
                    let (l, d, c) = (limited.clone(), data.clone(), ctx.clone());
                    tokio::spawn(async move { l.notify(&c, &d).await })
                })
                .collect();
            let mut done = 0;
            let mut pending = sends;
            while !pending.is_empty() {
                // Let every send that can start run up to its gate, then open it for one.
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
                assert!(gate.now.load(Ordering::SeqCst) <= 3);
                gate.go.notify_one();
                let (finished, rest): (Vec<_>, Vec<_>) = pending
                    .into_iter()
                    .partition(tokio::task::JoinHandle::is_finished);
                for f in finished {
                    f.await.unwrap().unwrap();
                    done += 1;
                }
                pending = rest;
            }
            assert_eq!(done, 10);
            assert_eq!(gate.most.load(Ordering::SeqCst), 3);
        });
    }
}
