//! Gives the memory of connections that have closed back to the operating system.
//!
//! glibc's allocator keeps what is freed in its arenas (one per thread, up to eight per core)
//! and returns to the system only the free top of each heap. A burst of sessions interleaves
//! their allocations, so once they close the arenas are mostly free but seldom free at the
//! top: measured on this server, 10,000 idle TLS sessions (72 KiB each) closed left the
//! process at 817 MB resident; `malloc_trim(0)`, which hands every free page of every arena
//! back, brought it to 73 MB (from 18 MB at start, the rest being the workers kept for the
//! next burst). mimalloc, measured against it in BENCHMARKS.md ("Another allocator"), runs
//! fewer instructions but holds more than twice the memory when idle and after a burst.
//!
//! Trimming walks every arena with its lock held, so it is done only when the number of open
//! connections has fallen well below its peak since the last trim: after a burst, not on
//! every close.

use std::time::Duration;

/// How often the open connections are compared with their peak.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Connections that must have closed since the peak before memory is trimmed: below this
/// (a few MiB) the allocator reuses what it keeps soon enough.
const MIN_CLOSED: u64 = 256;

/// Decides when to trim from the open connections seen at each check.
#[derive(Debug, Default)]
pub(crate) struct Trimmer {
    peak: u64,
}

impl Trimmer {
    /// Records the connections open now; true when memory should be trimmed: at least
    /// [`MIN_CLOSED`] connections, and at least half of the peak, have closed since the
    /// last trim.
    pub(crate) fn observe(&mut self, open: u64) -> bool {
        self.peak = self.peak.max(open);
        let closed = self.peak - open;
        if closed >= MIN_CLOSED && closed >= self.peak / 2 {
            self.peak = open;
            return true;
        }
        false
    }
}

/// Returns free memory of every allocator arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn trim() {
    // SAFETY: malloc_trim takes no pointer and only reorganises the allocator's own free
    // lists under its locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_burst_closed_not_on_every_close() {
        let mut t = Trimmer::default();
        assert!(!t.observe(0));
        assert!(!t.observe(5000));
        // A few hundred closed out of 5000: not yet.
        assert!(!t.observe(4500));
        assert!(t.observe(2000));
        // The peak restarts from what is open after the trim.
        assert!(!t.observe(1900));
        assert!(t.observe(1000));
        assert!(!t.observe(900));
        // Small servers never trim: a hundred connections coming and going.
        let mut small = Trimmer::default();
        for _ in 0..10 {
            assert!(!small.observe(100));
            assert!(!small.observe(0));
        }
    }

    #[test]
    fn trimming_runs() {
        let kept: Vec<Vec<u8>> = (0..1000).map(|i| vec![1; 1000 + i]).collect();
        drop(kept);
        trim();
    }
}
