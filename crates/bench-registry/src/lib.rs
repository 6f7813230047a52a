//! A loopback snapshot registry for benchmarks: [`snapshot::take_snapshot`]
//! stores the packuments (full and abbreviated) and tarballs of a fixture's
//! whole dependency closure ([`closure`]) in a folder, and
//! [`source::SnapshotSource`] serves that folder through
//! `utoo-test-registry`'s server, so every installer reads the same bytes
//! and the network is out of the picture.

pub mod closure;
pub mod corgi;
pub mod layout;
pub mod model;
pub mod snapshot;
pub mod source;
