//! Which packages can be cloned now: those whose cache entry is ready and
//! whose parent folder is in place. Packages wait in an index by what they
//! wait for, so each event touches only the packages it unblocks. Of those
//! ready, the largest entry goes first, then the earliest ready.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::causes::with_causes;
use crate::messages::{InstallError, StageError};
use crate::plan::{parent_path, CachedEntry, PlannedPackage};

/// What the cache holds for a package's tarball, as the supervisor knows it.
pub(crate) enum EntryStatus<'a> {
    Ready(&'a CachedEntry),
    Failed(&'a Arc<StageError>),
    Pending,
}

/// A package that can be cloned from `entry`, the `order`th to become ready.
struct Ready {
    package: PlannedPackage,
    entry: CachedEntry,
    order: usize,
}

impl Ready {
    fn rank(&self) -> (u64, Reverse<usize>) {
        (self.entry.size_hint, Reverse(self.order))
    }
}

impl PartialEq for Ready {
    fn eq(&self, other: &Ready) -> bool {
        self.rank() == other.rank()
    }
}

impl Eq for Ready {}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Ready) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ready {
    fn cmp(&self, other: &Ready) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

#[derive(Default)]
pub(crate) struct CloneQueue {
    ready: BinaryHeap<Ready>,
    /// How many packages became ready so far.
    readied: usize,
    waiting_for_entry: HashMap<String, Vec<PlannedPackage>>,
    waiting_for_parent: HashMap<String, Vec<PlannedPackage>>,
    placed: HashSet<String>,
    skipped: HashSet<String>,
    /// Packages neither placed, skipped nor failed yet.
    unfinished: usize,
    /// While placing ahead of resolution: packages whose entry failed,
    /// held until the resolution says whether they are wanted at all.
    held_failures: Option<Vec<(PlannedPackage, Arc<StageError>)>>,
    pub warnings: Vec<String>,
}

impl CloneQueue {
    /// A queue where `kept` packages are already in place.
    pub(crate) fn new(kept: impl IntoIterator<Item = String>) -> CloneQueue {
        CloneQueue {
            placed: kept.into_iter().collect(),
            ..CloneQueue::default()
        }
    }

    /// A queue placing what the lockfile promises before resolution has
    /// confirmed it: a failed entry fails nothing until [`CloneQueue::confirm`].
    pub(crate) fn ahead_of_resolution() -> CloneQueue {
        CloneQueue {
            held_failures: Some(Vec::new()),
            ..CloneQueue::default()
        }
    }

    /// The resolution wants every package queued so far: the failures held
    /// back count now, skipping optional packages or failing the install.
    pub(crate) fn confirm(&mut self) -> Result<(), InstallError> {
        for (package, error) in self.held_failures.take().unwrap_or_default() {
            self.fail(package, &error)?;
        }
        Ok(())
    }

    /// Queues a package; parents must be added before the packages nested in them.
    pub(crate) fn add<'a>(
        &mut self,
        package: PlannedPackage,
        entry: impl Fn(&str) -> EntryStatus<'a>,
    ) -> Result<(), InstallError> {
        self.unfinished += 1;
        match parent_path(&package.path) {
            Some(parent) if self.skipped.contains(parent) => {
                self.skip(package.path.clone());
                Ok(())
            }
            Some(parent) if !self.placed.contains(parent) => {
                self.waiting_for_parent
                    .entry(parent.to_string())
                    .or_default()
                    .push(package);
                Ok(())
            }
            _ => self.place_when_entry_ready(package, &entry),
        }
    }

    fn place_when_entry_ready<'a>(
        &mut self,
        package: PlannedPackage,
        entry: &impl Fn(&str) -> EntryStatus<'a>,
    ) -> Result<(), InstallError> {
        match entry(&package.download.cache_key()) {
            EntryStatus::Ready(entry) => self.push_ready(package, entry),
            EntryStatus::Failed(error) => self.fail(package, error)?,
            EntryStatus::Pending => {
                let key = package.download.cache_key().to_string();
                self.waiting_for_entry.entry(key).or_default().push(package);
            }
        }
        Ok(())
    }

    /// A package whose entry failed: skipped (with what is nested in it) when optional, else fatal.
    fn fail(
        &mut self,
        package: PlannedPackage,
        error: &Arc<StageError>,
    ) -> Result<(), InstallError> {
        if let Some(held) = self.held_failures.as_mut() {
            held.push((package, Arc::clone(error)));
            return Ok(());
        }
        let label = format!("{}@{}", package.name, package.version);
        if !package.optional {
            return Err(InstallError::Stage {
                package: label,
                source: Arc::clone(error),
            });
        }
        self.warnings.push(format!(
            "skipping optional {label}: {} failed: {}",
            error.stage(),
            with_causes(error)
        ));
        self.skip(package.path);
        Ok(())
    }

    /// Marks `path` skipped, and everything waiting to be nested in it.
    pub(crate) fn skip(&mut self, path: String) {
        let mut stack = vec![path];
        while let Some(path) = stack.pop() {
            self.unfinished -= 1;
            if let Some(children) = self.waiting_for_parent.remove(&path) {
                for child in children {
                    stack.push(child.path);
                }
            }
            self.skipped.insert(path);
        }
    }

    /// Queues again a package whose clone must be redone once its entry is
    /// ready (again).
    pub(crate) fn retry<'a>(
        &mut self,
        package: PlannedPackage,
        entry: impl Fn(&str) -> EntryStatus<'a>,
    ) -> Result<(), InstallError> {
        self.place_when_entry_ready(package, &entry)
    }

    pub(crate) fn entry_ready(&mut self, key: &str, entry: &CachedEntry) {
        for package in self.waiting_for_entry.remove(key).unwrap_or_default() {
            self.push_ready(package, entry);
        }
    }

    fn push_ready(&mut self, package: PlannedPackage, entry: &CachedEntry) {
        self.ready.push(Ready {
            package,
            entry: entry.clone(),
            order: self.readied,
        });
        self.readied += 1;
    }

    pub(crate) fn entry_failed(
        &mut self,
        key: &str,
        error: &Arc<StageError>,
    ) -> Result<(), InstallError> {
        for package in self.waiting_for_entry.remove(key).unwrap_or_default() {
            self.fail(package, error)?;
        }
        Ok(())
    }

    /// A package is in place: what waits to be nested in it can follow.
    pub(crate) fn placed<'a>(
        &mut self,
        path: &str,
        entry: impl Fn(&str) -> EntryStatus<'a>,
    ) -> Result<(), InstallError> {
        self.unfinished -= 1;
        self.placed.insert(path.to_string());
        for child in self.waiting_for_parent.remove(path).unwrap_or_default() {
            self.place_when_entry_ready(child, &entry)?;
        }
        Ok(())
    }

    pub(crate) fn next_ready(&mut self) -> Option<(PlannedPackage, PathBuf)> {
        self.ready
            .pop()
            .map(|ready| (ready.package, ready.entry.dir))
    }

    /// Whether every queued package was placed or skipped.
    pub(crate) fn is_done(&self) -> bool {
        self.unfinished == 0
    }

    pub(crate) fn any_skipped(&self) -> bool {
        !self.skipped.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::Download;

    fn package(path: &str, key: &str, optional: bool) -> PlannedPackage {
        let name = path
            .rsplit("node_modules/")
            .next()
            .unwrap_or(path)
            .to_string();
        PlannedPackage {
            path: path.to_string(),
            name: name.clone(),
            version: "1.0.0".into(),
            download: Download {
                name,
                version: "1.0.0".into(),
                url: String::new(),
                integrity: Some(key.into()),
                prepare: false,
            },
            bins: BTreeMap::new(),
            optional,
            has_install_script: false,
        }
    }

    fn fetch_failed() -> Arc<StageError> {
        Arc::new(StageError::Fetch(utoo_fetch_actor::FetchError::Stopped))
    }

    fn entry(size_hint: u64) -> CachedEntry {
        CachedEntry {
            dir: PathBuf::from("/cache/x"),
            size_hint,
        }
    }

    fn paths(queue: &mut CloneQueue) -> Vec<String> {
        std::iter::from_fn(|| queue.next_ready())
            .map(|(p, _)| p.path)
            .collect()
    }

    #[test]
    fn nested_packages_wait_for_their_parent_and_their_entry() {
        let dir = entry(0);
        let mut queue = CloneQueue::new([]);
        let pending = |_: &str| EntryStatus::Pending;
        queue
            .add(package("node_modules/a", "ka", false), pending)
            .unwrap();
        queue
            .add(
                package("node_modules/a/node_modules/b", "kb", false),
                pending,
            )
            .unwrap();
        queue.entry_ready("kb", &dir);
        assert!(paths(&mut queue).is_empty(), "b waits for a");
        queue.entry_ready("ka", &dir);
        assert_eq!(paths(&mut queue), ["node_modules/a"]);
        queue
            .placed("node_modules/a", |_| EntryStatus::Ready(&dir))
            .unwrap();
        assert_eq!(paths(&mut queue), ["node_modules/a/node_modules/b"]);
        assert!(!queue.is_done());
        queue
            .placed("node_modules/a/node_modules/b", pending)
            .unwrap();
        assert!(queue.is_done());
    }

    #[test]
    fn the_largest_ready_entry_is_cloned_first_and_equals_in_the_order_they_became_ready() {
        let mut queue = CloneQueue::new([]);
        let pending = |_: &str| EntryStatus::Pending;
        for (path, key) in [("a", "ka"), ("b", "kb"), ("c", "kc"), ("d", "kd")] {
            let package = package(&format!("node_modules/{path}"), key, false);
            queue.add(package, pending).unwrap();
        }
        queue.entry_ready("kd", &entry(10));
        queue.entry_ready("kb", &entry(300));
        queue.entry_ready("ka", &entry(10));
        queue.entry_ready("kc", &entry(20));
        assert_eq!(
            paths(&mut queue),
            [
                "node_modules/b",
                "node_modules/c",
                "node_modules/d",
                "node_modules/a"
            ]
        );
    }

    #[test]
    fn an_optional_failure_skips_what_is_nested_in_it_and_others_are_fatal() {
        let mut queue = CloneQueue::new([]);
        let pending = |_: &str| EntryStatus::Pending;
        queue
            .add(package("node_modules/o", "ko", true), pending)
            .unwrap();
        queue
            .add(
                package("node_modules/o/node_modules/c", "kc", false),
                pending,
            )
            .unwrap();
        queue.entry_failed("ko", &fetch_failed()).unwrap();
        assert!(queue.is_done() && queue.any_skipped());
        assert_eq!(queue.warnings.len(), 1);

        queue
            .add(package("node_modules/r", "kr", false), pending)
            .unwrap();
        let err = queue.entry_failed("kr", &fetch_failed()).unwrap_err();
        assert_eq!(err.to_string(), "r@1.0.0: download failed");
        assert!(
            with_causes(&err).contains("the fetch actor stopped"),
            "{err}"
        );
    }
}
