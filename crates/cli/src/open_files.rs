//! How many connections an install may open at once: each request in
//! flight holds a socket, and the process's open-file limit also has to
//! cover the files being extracted and linked.

use rustix::process::{getrlimit, setrlimit, Resource};

/// Open files kept for everything but sockets: extract and clone workers,
/// cache indexes, stdio and the runtime's own.
const RESERVED: u64 = 64;

/// Raises the soft open-file limit to the hard one (as Node.js does when
/// it starts), then gives how many requests in flight each of the two
/// kinds (packuments, tarballs) has room for.
pub(crate) fn requests_room_per_kind() -> usize {
    let limit = raise_open_file_limit();
    let room = limit.saturating_sub(RESERVED) / 2;
    usize::try_from(room).unwrap_or(usize::MAX).max(1)
}

/// The soft limit on open files after raising it as far as allowed.
fn raise_open_file_limit() -> u64 {
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        // Refused, the old limit stays and the answer below says so.
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}
