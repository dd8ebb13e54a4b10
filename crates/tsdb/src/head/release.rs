//! Giving memory back to the system after a head truncation removed series. The series,
//! labels and chunks a truncation frees were allocated by the threads that appended them
//! (scrapes), and an allocator that keeps memory per thread (mimalloc, the server's) returns
//! the pages of another thread's frees only when their owner collects them: after a deploy
//! that replaced every series, about 10% of the head's memory stayed resident until then.
//! The truncation opens a new epoch; each appending thread, at its next commit, calls the
//! hook the binary installed ([`set_release_hook`], e.g. `mi_collect`) once for that epoch.
//! Without a hook nothing is called; the cost of a commit is one atomic load.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static HOOK: OnceLock<fn()> = OnceLock::new();
static EPOCH: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The epoch this thread last called the hook in.
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

/// Installs `hook`, called on a thread that appends (or truncates) once after each head
/// truncation that removed series, to give the memory they held back (the first hook
/// installed stays).
pub fn set_release_hook(hook: fn()) {
    let _ = HOOK.set(hook);
}

/// A truncation removed series: every appending thread releases at its next commit, and the
/// calling thread (which freed them) now.
pub(crate) fn series_removed() {
    if HOOK.get().is_some() {
        EPOCH.fetch_add(1, Ordering::Relaxed);
        release_if_due();
    }
}

/// Calls the hook if a truncation removed series since this thread last did.
#[inline]
pub(crate) fn release_if_due() {
    let epoch = EPOCH.load(Ordering::Relaxed);
    if epoch != 0 && SEEN.with(Cell::get) != epoch {
        SEEN.with(|s| s.set(epoch));
        if let Some(hook) = HOOK.get() {
            hook();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn each_thread_releases_once_per_truncation() {
        // Before a hook is installed, or before any truncation, nothing is called.
        release_if_due();
        set_release_hook(|| {
            CALLS.fetch_add(1, Ordering::Relaxed);
        });
        release_if_due();
        assert_eq!(CALLS.load(Ordering::Relaxed), 0);
        series_removed();
        assert_eq!(CALLS.load(Ordering::Relaxed), 1, "the truncating thread");
        release_if_due();
        assert_eq!(CALLS.load(Ordering::Relaxed), 1, "once per epoch");
        std::thread::spawn(|| {
            release_if_due();
            release_if_due();
        })
        .join()
        .unwrap();
        assert_eq!(CALLS.load(Ordering::Relaxed), 2, "another thread, once");
        series_removed();
        release_if_due();
        assert_eq!(CALLS.load(Ordering::Relaxed), 3);
    }
}
