//! The log of a piece of test code, captured (shared by the tests that check log lines).
//!
//! One process-wide subscriber writes each event into a buffer of the thread that emitted it,
//! while that thread captures. A subscriber scoped to the capturing thread
//! (`tracing::subscriber::with_default`) can lose events: a test on another thread that
//! reaches a log line first, with no subscriber of its own, may leave that line's interest
//! cached as "never" while the scoped one registers (seen as a missing "WAL segment loaded"
//! line once in a dozen runs).

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// The log of the capture running on this thread, if any.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Where the subscriber writes: the emitting thread's capture, or nowhere.
struct ThreadBuffer;

impl std::io::Write for ThreadBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|c| {
            if let Some(buf) = c.borrow_mut().as_mut() {
                buf.extend_from_slice(b);
            }
        });
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with the log it writes on this thread captured; returns its result and the log
/// text.
pub fn with_log<T>(f: impl FnOnce() -> T) -> (T, String) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| ThreadBuffer)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let out = f();
    let bytes = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, String::from_utf8_lossy(&bytes).into_owned())
}
