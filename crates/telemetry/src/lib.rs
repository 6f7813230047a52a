//! The telemetry contract between utoo's actors and `utoo-install-trace`:
//! the target of queue-depth samples, the queue and span names, and which
//! crate's spans are drawn on which actor's track. Both sides use these
//! names, so a trace and a timings page never miss a renamed one.
//!
//! ```
//! use utoo_telemetry::{queue, sample_queue};
//!
//! sample_queue(queue::EXTRACT_BACKLOG, 3);
//! assert_eq!(utoo_telemetry::actor_of("utoo_fetch_actor::x").0, "fetch");
//! ```

/// Events with this target are queue-depth samples, with fields `queue`
/// (one of [`queue::ALL`]) and `depth`.
pub const QUEUE_TARGET: &str = "utoo::queue";

/// The queues whose depth is sampled.
pub mod queue {
    /// Packument requests in flight (resolver).
    pub const PACKUMENTS_IN_FLIGHT: &str = "packuments_in_flight";
    /// Tarball downloads in flight (supervisor).
    pub const DOWNLOADS_IN_FLIGHT: &str = "downloads_in_flight";
    /// Tarballs downloaded and not yet extracted (supervisor).
    pub const EXTRACT_BACKLOG: &str = "extract_backlog";
    /// Extractions running (extract workers).
    pub const EXTRACTS_ACTIVE: &str = "extracts_active";
    /// Clones sent to the clone workers and not finished (supervisor).
    pub const CLONES_QUEUED: &str = "clones_queued";

    pub const ALL: [&str; 5] = [
        PACKUMENTS_IN_FLIGHT,
        DOWNLOADS_IN_FLIGHT,
        EXTRACT_BACKLOG,
        EXTRACTS_ACTIVE,
        CLONES_QUEUED,
    ];
}

/// The names of the spans that make up an install, one per piece of work.
pub mod span {
    pub const INSTALL: &str = "install";
    pub const RESOLVE: &str = "resolve";
    pub const PACKUMENT: &str = "packument";
    pub const FETCH: &str = "fetch";
    pub const EXTRACT: &str = "extract";
    pub const CLONE: &str = "clone";
    pub const LINK_BINS: &str = "link_bins";
    /// The supervisor writing the lockfile text.
    pub const LOCKFILE: &str = "lockfile";
    /// The supervisor comparing `node_modules` with the plan.
    pub const CHECK_NODE_MODULES: &str = "check node_modules";
}

/// Reports a queue's new depth (drawn as a counter track).
pub fn sample_queue(queue: &'static str, depth: u64) {
    tracing::info!(target: QUEUE_TARGET, queue, depth);
}

/// The actor a crate's spans belong to (by the crate part of a `tracing`
/// target), and the order of its tracks.
pub fn actor_of(target: &str) -> (&'static str, u32) {
    let krate = target.split("::").next().unwrap_or(target);
    match krate {
        "utoo_supervisor" | "utoo" => ("supervisor", 0),
        "utoo_resolver_actor" => ("resolver", 1),
        "utoo_fetch_actor" | "utoo_registry_client" => ("fetch", 2),
        "utoo_extract_actor" => ("extract", 3),
        "utoo_clone_actor" => ("clone", 4),
        _ => ("other", 5),
    }
}
