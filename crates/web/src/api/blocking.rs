//! Storage and engine work off the async workers, for every handler that reads the querier
//! (queries, labels, label values, series): on the blocking pool, canceled when the client
//! goes away (the handler's future is dropped) or when the time limit passes, as Prometheus
//! cancels a request's context.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::WebState;
use crate::api::{ApiError, ErrorType};

/// Sets the flag when dropped, which cancels the work on the blocking pool.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The error of work stopped by its cancel flag.
#[must_use]
pub fn canceled() -> ApiError {
    ApiError {
        kind: ErrorType::Canceled,
        message: "query was canceled".to_owned(),
    }
}

/// `Err(canceled())` once `cancel` is set.
///
/// # Errors
/// The work was canceled.
pub fn check(cancel: &AtomicBool) -> Result<(), ApiError> {
    if cancel.load(Ordering::Acquire) {
        Err(canceled())
    } else {
        Ok(())
    }
}

/// Runs `f` on the blocking pool with a cancel flag that is set when the caller's future is
/// dropped or after `timeout` (none or zero: no limit), which then answers `timeout`.
///
/// # Errors
/// What `f` returns; `timeout`; `internal` when `f` panicked.
pub async fn off_workers<T, F>(
    state: &Arc<WebState>,
    timeout: Option<Duration>,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&WebState, &AtomicBool) -> Result<T, ApiError> + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop(cancel.clone());
    let state = state.clone();
    let handle = tokio::task::spawn_blocking(move || f(&state, &cancel));
    let joined = match timeout.filter(|t| !t.is_zero()) {
        Some(limit) => match tokio::time::timeout(limit, handle).await {
            Ok(joined) => joined,
            Err(_) => {
                return Err(ApiError {
                    kind: ErrorType::Timeout,
                    message: format!("query timed out after {}s", limit.as_secs_f64()),
                });
            }
        },
        None => handle.await,
    };
    drop(guard);
    joined.map_err(|e| ApiError::internal(format!("request panicked: {e}")))?
}

/// The first `limit` (0: all) distinct values of sorted lists, read only as far as needed:
/// at most `limit + 1` are kept at any time. The warning tells when more existed.
pub struct Limited<T: Ord> {
    limit: usize,
    kept: BTreeSet<T>,
}

impl<T: Ord> Limited<T> {
    /// An empty collection keeping `limit` values (0: all).
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: BTreeSet::new(),
        }
    }

    /// Adds a value, dropping the largest beyond `limit + 1`.
    pub fn push(&mut self, v: T) {
        self.kept.insert(v);
        if self.limit > 0 && self.kept.len() > self.limit + 1 {
            self.kept.pop_last();
        }
    }

    /// Adds the values of a sorted list, stopping once `limit + 1` of them were taken.
    pub fn extend_sorted(&mut self, values: impl IntoIterator<Item = T>) {
        let room = if self.limit == 0 {
            usize::MAX
        } else {
            self.limit + 1
        };
        for v in values.into_iter().take(room) {
            self.push(v);
        }
    }

    /// The values, and Prometheus's warning when the limit cut some.
    #[must_use]
    pub fn finish(self) -> (Vec<T>, Vec<String>) {
        let truncated = self.limit > 0 && self.kept.len() > self.limit;
        let values: Vec<T> = self
            .kept
            .into_iter()
            .take(if self.limit == 0 {
                usize::MAX
            } else {
                self.limit
            })
            .collect();
        let warnings = if truncated {
            vec!["results truncated due to limit".to_owned()]
        } else {
            Vec::new()
        };
        (values, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted lists, the limit, the values kept and whether the limit cut some.
    type Case = (&'static [&'static [u32]], usize, &'static [u32], bool);

    #[test]
    fn limited_keeps_the_smallest_of_several_sorted_lists() {
        let cases: &[Case] = &[
            (&[&[1, 3, 5], &[2, 3, 4]], 0, &[1, 2, 3, 4, 5], false),
            (&[&[1, 3, 5], &[2, 3, 4]], 3, &[1, 2, 3], true),
            (&[&[1, 3, 5], &[2, 3, 4]], 5, &[1, 2, 3, 4, 5], false),
            (&[&[5, 6, 7, 8], &[1]], 2, &[1, 5], true),
            (&[&[1, 2], &[1, 2]], 2, &[1, 2], false),
        ];
        for (lists, limit, want, warned) in cases {
            let mut l = Limited::new(*limit);
            for list in *lists {
                l.extend_sorted(list.iter().copied());
            }
            let (got, warnings) = l.finish();
            assert_eq!(&got, want, "{lists:?} limit {limit}");
            assert_eq!(!warnings.is_empty(), *warned, "{lists:?} limit {limit}");
        }
    }
}
