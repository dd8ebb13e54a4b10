//! Giving freed heap memory back to the system. glibc's allocator keeps freed memory in
//! per-thread arenas; after the large short-lived allocations of this service (a GET of
//! every alert, a snapshot, a flush of a thousand groups) the pages of one arena are not
//! reused by the next burst in another, so the resident size ratchets up. Firewatch's
//! addition (Go's runtime returns memory on its own).

/// The arenas glibc may create ([`limit_arenas`]): two, as many as the busy threads of a
/// small Alertmanager (the runtime's workers and the state-log writers share them).
const ARENAS: i32 = 2;

/// Limits glibc's malloc arenas to [`ARENAS`] (call before the runtime starts its threads);
/// elsewhere a no-op.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; M_ARENA_MAX takes any positive
    // count, and it is called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Returns the free pages of every arena to the system (glibc's `malloc_trim`); elsewhere
/// a no-op.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
