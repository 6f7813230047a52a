//! Faults injected per path, each optionally for the first N matching
//! requests only.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::store::canonical_path;

/// How the server misbehaves for a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Responds with this status and a JSON error body.
    Status(u16),
    /// Responds 429 with `Retry-After: <seconds>`.
    TooManyRequests { retry_after_seconds: u64 },
    /// Waits, then responds normally.
    Delay(Duration),
    /// Announces the full `Content-Length`, sends only the first `bytes` of
    /// the body, then closes the connection.
    Truncate { bytes: usize },
    /// Closes the connection with a TCP reset instead of responding.
    Reset,
    /// Sends the headers and half the body, then resets the connection.
    ResetMidBody,
    /// Never responds; the connection stays open until the server stops.
    Stall,
    /// Responds normally but with one byte of the body flipped, so integrity
    /// checks (and usually JSON or gzip decoding) fail.
    Corrupt,
    /// A hostile registry: a 200 whose chunked body (no `Content-Length`)
    /// is zeros without end. The server itself ends the body after
    /// `give_up_after` bytes, or when the client hangs up, so a client that
    /// keeps reading can't keep a test running.
    Endless { give_up_after: u64 },
}

/// Which request paths a fault applies to; compared after canonicalisation,
/// so `/@scope%2fpkg` matches `/@scope/pkg`. A `&str` converts to `Exact`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    Exact(String),
    Prefix(String),
}

impl PathMatch {
    pub fn exact(path: &str) -> Self {
        Self::Exact(canonical_path(path))
    }

    pub fn prefix(prefix: &str) -> Self {
        Self::Prefix(canonical_path(prefix))
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(exact) => path == exact,
            Self::Prefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

impl From<&str> for PathMatch {
    fn from(path: &str) -> Self {
        Self::exact(path)
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultRules {
    rules: Mutex<Vec<FaultRule>>,
}

#[derive(Debug)]
struct FaultRule {
    target: PathMatch,
    fault: Fault,
    /// `None` applies forever.
    remaining: Option<usize>,
}

impl FaultRules {
    pub(crate) fn add(&self, target: PathMatch, fault: Fault, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        self.lock().push(FaultRule {
            target,
            fault,
            remaining: times,
        });
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The fault for a request to `path`, if any, using up one of its
    /// remaining occurrences. Rules added earlier win.
    pub(crate) fn take(&self, path: &str) -> Option<Fault> {
        let mut rules = self.lock();
        let index = rules.iter().position(|rule| rule.target.matches(path))?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        match &mut rule.remaining {
            Some(1) => {
                rules.remove(index);
            }
            Some(remaining) => *remaining -= 1,
            None => {}
        }
        Some(fault)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_faults_run_out_and_earlier_rules_win() {
        let rules = FaultRules::default();
        rules.add(PathMatch::exact("/aa"), Fault::Status(503), Some(2));
        rules.add(PathMatch::prefix("/a"), Fault::Reset, None);
        assert_eq!(rules.take("/aa"), Some(Fault::Status(503)));
        assert_eq!(rules.take("/aa"), Some(Fault::Status(503)));
        assert_eq!(rules.take("/aa"), Some(Fault::Reset));
        assert_eq!(rules.take("/ab"), Some(Fault::Reset));
        assert_eq!(rules.take("/b"), None);
        rules.clear();
        assert_eq!(rules.take("/aa"), None);
    }

    #[test]
    fn matching_is_canonical_and_zero_times_is_a_no_op() {
        let rules = FaultRules::default();
        rules.add("/@s%2fp".into(), Fault::Stall, None);
        rules.add("/x".into(), Fault::Stall, Some(0));
        assert_eq!(rules.take("/@s/p"), Some(Fault::Stall));
        assert_eq!(rules.take("/x"), None);
    }
}
