//! The supervisor's mailbox under a flood: it holds at most
//! `SUPERVISOR_MAILBOX` messages, and a sender past that is refused (with
//! `send().await`, as the resolver sends, it waits) until the supervisor
//! has taken some.

use actix::prelude::*;
use utoo_clone_actor::{CloneActor, SharedStrategy};
use utoo_extract_actor::ExtractActor;
use utoo_fetch_actor::FetchActor;
use utoo_npm_types::Manifest;
use utoo_package_cache::CacheLayout;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::{PackagePlaced, ResolverActor};
use utoo_supervisor::{Actors, Limits, Supervisor, SUPERVISOR_MAILBOX};

fn placed(i: usize) -> PackagePlaced {
    let manifest = Manifest {
        name: format!("p{i}"),
        version: "1.0.0".into(),
        ..Manifest::default()
    };
    PackagePlaced {
        manifest: manifest.into(),
    }
}

#[actix::test]
async fn supervisor_mailbox_holds_its_bound_and_then_refuses() {
    const FLOOD: usize = 10_000;
    let scratch = tempfile::tempdir().unwrap();
    let cache = CacheLayout::new(scratch.path());
    let client = RegistryClient::new(&ClientConfig::default()).unwrap();
    let extract = {
        let cache = cache.clone();
        SyncArbiter::start(1, move || ExtractActor::new(cache.clone()))
    };
    let clone = SyncArbiter::start(1, || CloneActor::new(SharedStrategy::default()));
    let actors = Actors {
        resolver: ResolverActor::new(client.clone(), 1).start().recipient(),
        fetch: FetchActor::new(client, 1).start().recipient(),
        extract: extract.recipient(),
        clone: clone.clone().recipient(),
        link_bins: clone.recipient(),
    };
    let limits = Limits {
        extract_capacity: 1,
        clone_capacity: 1,
        network_concurrency: 1,
    };
    let supervisor = Supervisor::new(actors, cache, limits).start();
    // Let it start, so its mailbox capacity is set.
    tokio::task::yield_now().await;

    // Offered without yielding: the supervisor gets no turn meanwhile.
    let accepted = (0..FLOOD)
        .take_while(|&i| supervisor.try_send(placed(i)).is_ok())
        .count();
    assert_eq!(
        accepted, SUPERVISOR_MAILBOX,
        "{accepted} of {FLOOD} accepted"
    );

    // Once it has had a turn, the mailbox has room again.
    actix::clock::sleep(std::time::Duration::from_millis(50)).await;
    assert!(supervisor.try_send(placed(FLOOD)).is_ok());
}
