//! End-to-end tests of the registry over real loopback connections.

mod client;
mod faults;
mod serving;
