//! Pacing against ARM's throttling: a read that is throttled is waited out and retried, never
//! given up for a retry count; only the run's deadline ends it, and then as a coverage gap.

use std::time::{Duration, Instant};

use lzaudit::inventory::{ReadState, api};
use lzaudit_emulator::{BucketMode, Emulator, Options, ReadBuckets, Throttle};

use crate::faults::{connect_first_client, contoso};
use crate::support::tenants::{self, ca_file, collect_everything, connect_secret, small};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_read_bucket_throttles_but_no_read_is_abandoned() {
    let emulator = Emulator::start(contoso(), Options::default())
        .await
        .unwrap();
    let ca = ca_file(&emulator);
    let timeout = Duration::from_secs(10);
    let client = connect_first_client(&emulator, &ca, timeout).await;
    let clean = collect_everything(&client).await.unwrap();
    // One small bucket for every request: the run needs several times its capacity.
    emulator.set_options(Options {
        read_buckets: Some(ReadBuckets {
            mode: BucketMode::Shared,
            capacity: 20.0,
            refill_per_sec: 400.0,
        }),
        ..Options::default()
    });
    let client = connect_first_client(&emulator, &ca, timeout).await;
    let throttled = collect_everything(&client).await.unwrap();
    let stats = client.stats();
    assert!(stats.throttled > 0, "the bucket never throttled: {stats:?}");
    assert_eq!(stats.abandoned, 0, "{stats:?}");
    assert_eq!(
        throttled.gaps().count(),
        clean.gaps().count(),
        "{:#?}",
        throttled.gaps().collect::<Vec<_>>()
    );
    assert_eq!(throttled.clusters, clean.clusters);
    assert_eq!(throttled.policy_assignments, clean.policy_assignments);
    let statuses = emulator.requests();
    assert!(statuses.iter().any(|r| r.status == 429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_throttled_past_the_deadline_is_a_gap_and_the_run_ends_on_time() {
    let emulator = tenants::start(
        "small",
        Options {
            throttle: vec![Throttle {
                api: api::REGISTRIES.into(),
                times: usize::MAX,
                retry_after_secs: 1,
            }],
            ..Options::default()
        },
    )
    .await;
    let ca = ca_file(&emulator);
    let started = Instant::now();
    let client = connect_secret(&emulator, &ca)
        .await
        .with_deadline(Instant::now() + Duration::from_millis(400));
    let inventory = collect_everything(&client)
        .await
        .expect("throttling past the deadline is a gap, not the end");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ReadState::Failed(read) =
        inventory.read_state(&format!("/subscriptions/{}", small::S1), api::REGISTRIES)
    else {
        panic!("the registry list must be a failed read");
    };
    assert_eq!(read.http_status, Some(429));
    assert!(
        read.message
            .as_deref()
            .unwrap_or_default()
            .contains("deadline"),
        "{read:?}"
    );
    let stats = client.stats();
    assert!(stats.abandoned >= 1, "{stats:?}");
    assert!(
        stats.throttled > 4,
        "retried past the old retry count: {stats:?}"
    );
    assert!(
        inventory
            .read_state(&format!("/subscriptions/{}", small::S1), api::CLUSTERS)
            .is_ok()
    );
}

/// The adaptive limit grows on the service's latency. A generated tenant queues far more reads
/// than the initial limit allows; if the time a read spends queueing for a slot counted as the
/// service's latency, the queue itself would look like a slowing service and the limit would
/// stop growing far below the ceiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_grows_past_its_start_while_reads_queue_for_a_slot() {
    use lzaudit_emulator::{Spec, Tenant};

    let tenant = Tenant::generate(&Spec {
        seed: 3,
        subscriptions: 30,
        ..Spec::default()
    })
    .expect("the spec generates");
    let latency = Duration::from_millis(100);
    let emulator = Emulator::start(
        tenant,
        Options {
            latency,
            ..Options::default()
        },
    )
    .await
    .expect("the emulator starts");
    let ca = ca_file(&emulator);
    // The default ceiling: 128 in flight.
    let client = connect_first_client(&emulator, &ca, Duration::from_secs(10)).await;
    assert_eq!(client.concurrency(), 128);
    let inventory = collect_everything(&client)
        .await
        .expect("collection succeeds");
    assert_eq!(inventory.gaps().count(), 0);
    let stats = client.stats();
    assert!(
        stats.concurrency >= 100,
        "the limit stopped at {} of 128 after {} requests",
        stats.concurrency,
        stats.requests
    );
}
