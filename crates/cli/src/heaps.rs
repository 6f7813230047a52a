//! How many heaps glibc's allocator keeps.
//!
//! By default glibc gives threads up to eight heaps per core, and memory a
//! thread frees stays in its own heap for its next allocations. An install
//! runs many short-lived threads (blocking tasks, the extract and clone
//! actors), so the process ended up holding several heaps' worth of freed
//! memory: on ant-design's warm link the heap's own peak was 51 MB
//! (heaptrack) while the process's resident memory peaked at 110–120 MB.
//! One heap per core keeps the parallelism and brings that to 80–90 MB.

/// Limits glibc to one heap per core; call before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn one_per_core() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets an allocator parameter; it is called from
    // main before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn one_per_core() {}
