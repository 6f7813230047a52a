//! The supervisor actor owns one install: it sends the project to the
//! resolver, starts each package's download as soon as the resolver places
//! it, hands downloaded tarballs to the extract actor and cached packages
//! to the clone actor, then links bins and writes `package-lock.json`.
//! With a lockfile and no `node_modules`, it places the lockfile's tree
//! while the resolver checks it, and sorts out what to keep if the
//! resolution differs; a failed install removes the `node_modules` it began.
//!
//! Backpressure: up to the network concurrency, downloads start at once,
//! but each reads its body only holding one of the pipeline's
//! `2 × extract capacity` body permits, given back when its tarball is
//! extracted; so the extract backlog (downloaded, not yet extracted) never
//! exceeds `2 × extract capacity` (reported as
//! [`InstallReport::max_extract_backlog`]) while requests in flight are not
//! capped by it (reported as [`InstallReport::max_downloads_in_flight`]); clones queued for
//! the clone workers are likewise bounded by twice the clone capacity. All
//! work is sent with `send().await`, so bounded mailboxes hold senders back.
//!
//! See `docs/architecture.md` for the whole message flow; the `utoo` CLI
//! (`crates/cli`) shows how the actors are started and wired.

mod actor;
mod causes;
mod clone_queue;
mod messages;
mod node_modules;
pub mod pipeline;
mod plan;
mod published;
mod state;
mod transaction;

pub use actor::{Actors, Supervisor, SUPERVISOR_MAILBOX};
pub use messages::{
    Install, InstallError, InstallReport, LockfileSettings, Omit, PlacedPackage, StageError,
};
pub use pipeline::{Command, Gauges, Limits, Pipeline};
pub use plan::{default_tarball_url, parent_path, CachedEntry, Download, PlannedPackage};
pub use state::{fingerprint, up_to_date};
