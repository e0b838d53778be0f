//! CPU time of the calling thread, for benches that report it beside criterion's wall time.

/// Nanoseconds this thread has run on a CPU (`CLOCK_THREAD_CPUTIME_ID`): unlike wall time it
/// does not grow when other builds share the cores, and unlike schedstat it does not move in
/// scheduler ticks (too coarse for batches of a few milliseconds).
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(secs * 1_000_000_000 + nanos)
}
