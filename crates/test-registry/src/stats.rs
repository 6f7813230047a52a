//! Request counting, for assertions in tests and totals in benchmark reports.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::canonical_path;

/// Totals since the server started or since the last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    /// Response body bytes sent, including partial bodies of faults.
    pub bytes_served: u64,
}

#[derive(Debug, Default)]
pub(crate) struct RequestStats {
    state: Mutex<StatsState>,
}

#[derive(Debug, Default)]
struct StatsState {
    log: Vec<String>,
    authorizations: Vec<(String, String)>,
    proxied: Vec<String>,
    proxy_authorizations: Vec<String>,
    not_found: Vec<String>,
    conditional: Vec<(String, Option<String>, Option<String>)>,
    not_modified: Vec<String>,
    per_path: HashMap<String, usize>,
    packument_requests: usize,
    tarball_requests: usize,
    traffic: Traffic,
}

impl RequestStats {
    /// `target` is logged as sent; counts are kept per canonical path.
    pub(crate) fn record_request(&self, target: &str, path: &str) {
        let mut state = self.lock();
        state.log.push(target.to_owned());
        *state.per_path.entry(path.to_owned()).or_default() += 1;
        if is_tarball_path(path) {
            state.tarball_requests += 1;
        } else {
            state.packument_requests += 1;
        }
        state.traffic.requests += 1;
    }

    pub(crate) fn record_authorization(&self, path: &str, header: &str) {
        self.lock()
            .authorizations
            .push((path.to_owned(), header.to_owned()));
    }

    pub(crate) fn authorizations(&self) -> Vec<(String, String)> {
        self.lock().authorizations.clone()
    }

    /// A request that came in absolute form, as clients send them to a proxy.
    pub(crate) fn record_proxied(&self, target: &str, proxy_authorization: Option<&str>) {
        let mut state = self.lock();
        state.proxied.push(target.to_owned());
        if let Some(header) = proxy_authorization {
            state.proxy_authorizations.push(header.to_owned());
        }
    }

    pub(crate) fn proxied(&self) -> Vec<String> {
        self.lock().proxied.clone()
    }

    pub(crate) fn proxy_authorizations(&self) -> Vec<String> {
        self.lock().proxy_authorizations.clone()
    }

    pub(crate) fn record_not_found(&self, target: &str) {
        self.lock().not_found.push(target.to_owned());
    }

    pub(crate) fn not_found_log(&self) -> Vec<String> {
        self.lock().not_found.clone()
    }

    pub(crate) fn record_conditional(
        &self,
        path: &str,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) {
        self.lock().conditional.push((
            path.to_owned(),
            if_none_match.map(str::to_owned),
            if_modified_since.map(str::to_owned),
        ));
    }

    pub(crate) fn conditional(&self) -> Vec<(String, Option<String>, Option<String>)> {
        self.lock().conditional.clone()
    }

    pub(crate) fn record_not_modified(&self, path: &str) {
        self.lock().not_modified.push(path.to_owned());
    }

    pub(crate) fn not_modified_log(&self) -> Vec<String> {
        self.lock().not_modified.clone()
    }

    pub(crate) fn record_bytes_served(&self, bytes: usize) {
        self.lock().traffic.bytes_served += bytes as u64;
    }

    pub(crate) fn requests(&self, path: &str) -> usize {
        self.lock()
            .per_path
            .get(&canonical_path(path))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn packument_requests(&self) -> usize {
        self.lock().packument_requests
    }

    pub(crate) fn tarball_requests(&self) -> usize {
        self.lock().tarball_requests
    }

    pub(crate) fn request_log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    pub(crate) fn traffic(&self) -> Traffic {
        self.lock().traffic
    }

    pub(crate) fn reset(&self) {
        *self.lock() = StatsState::default();
    }

    fn lock(&self) -> MutexGuard<'_, StatsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_tarball_path(path: &str) -> bool {
    path.contains("/-/") && path.ends_with(".tgz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_canonical_path_and_kind() {
        let stats = RequestStats::default();
        stats.record_request("/@s%2fp", "/@s/p");
        stats.record_request("/@s/p", "/@s/p");
        stats.record_request("/@s/p/-/p-1.0.0.tgz", "/@s/p/-/p-1.0.0.tgz");
        stats.record_bytes_served(10);
        stats.record_not_found("/missing");
        assert_eq!(stats.not_found_log(), ["/missing"]);
        assert_eq!(stats.requests("/@s%2Fp"), 2);
        assert_eq!(stats.packument_requests(), 2);
        assert_eq!(stats.tarball_requests(), 1);
        assert_eq!(
            stats.request_log(),
            ["/@s%2fp", "/@s/p", "/@s/p/-/p-1.0.0.tgz"]
        );
        assert_eq!(
            stats.traffic(),
            Traffic {
                requests: 3,
                bytes_served: 10
            }
        );
        stats.reset();
        assert_eq!(stats.requests("/@s/p"), 0);
        assert!(stats.request_log().is_empty());
        assert!(stats.not_found_log().is_empty());
        assert_eq!(stats.traffic(), Traffic::default());
    }
}
