//! The fault soak: the example tenant collected and audited again and again through an
//! emulator that injects one kind of fault per series (seeded, so every run is reproducible),
//! each run held to the promise that unreadable data is never a verdict: every finding equals
//! the clean run's or is `unknown` with a failed read in the coverage, no finding vanishes
//! without an `unknown` in its place, the exit status says incomplete (3) when the coverage
//! has gaps, and a run that cannot resolve its scope ends with exit 2 and says which call
//! failed. Runs per kind: `LZAUDIT_SOAK_RUNS` (default 10). The figures print with
//! `cargo test --locked --test it soak -- --nocapture`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lzaudit::audit;
use lzaudit::catalogue::Catalogue;
use lzaudit::collect::{self, CollectError, Plan};
use lzaudit::exit::ExitStatus;
use lzaudit::inventory::RequestedScope;
use lzaudit::profile::Profile;
use lzaudit::report::{Origin, Report, ReportStatus};
use lzaudit_emulator::{Chaos, ChaosKind, Emulator, Options};

use crate::faults::{assert_no_divergence, connect_first_client, contoso};
use crate::support::tenants::ca_file;

/// The client's per-request timeout in the soak; `slow` answers come after `SLOW`.
const TIMEOUT: Duration = Duration::from_millis(500);
const SLOW: Duration = Duration::from_millis(800);
/// Each run's deadline: a read throttled on every attempt is retried until then (throttling
/// is never given up for a retry count), and then becomes a coverage gap.
const DEADLINE: Duration = Duration::from_millis(1500);

#[derive(Default)]
struct Tally {
    runs: usize,
    faults: usize,
    requests: usize,
    with_gaps: usize,
    nothing_audited: usize,
    unknown: usize,
}

/// A stable number per fault kind, mixed into the seed.
fn kind_salt(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

async fn audit_once(
    emulator: &Emulator,
    ca: &crate::support::tenants::CaFile,
    plan: &Plan,
    catalogue: &Catalogue,
    profile: &Profile,
) -> Result<Report, CollectError> {
    let client = connect_first_client(emulator, ca, TIMEOUT)
        .await
        .with_deadline(std::time::Instant::now() + DEADLINE);
    let inventory = collect::run(&client, RequestedScope::default(), plan, None).await?;
    if let Some(empty) = collect::empty_scope(&inventory) {
        return Err(empty);
    }
    Ok(audit::run(
        &inventory,
        catalogue,
        profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "live",
            fail_on: "none",
            generated_at: String::new(),
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_leaves_findings_equal_or_unknown_with_coverage() {
    let runs: u64 = std::env::var("LZAUDIT_SOAK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let catalogue = Catalogue::builtin().unwrap();
    let profile = Profile::load("caf-aks", &catalogue).unwrap();
    let (apis, policy_guids) = audit::needs(&catalogue, &profile);
    let plan = Plan { apis, policy_guids };
    let emulator = Emulator::start(contoso(), Options::default())
        .await
        .expect("the emulator starts");
    let ca = ca_file(&emulator);
    let clean = audit_once(&emulator, &ca, &plan, &catalogue, &profile)
        .await
        .expect("the clean run");
    let clean_requests = emulator.request_count();
    let started = Instant::now();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for kind in ChaosKind::catalogue(SLOW) {
        let tally = tallies.entry(kind.name()).or_default();
        // Every faulted request of the token kinds revokes the token in use: at the rate of the
        // other kinds that is a revocation storm, which ends every run at sign-in.
        let rate = match kind {
            ChaosKind::RevokeToken | ChaosKind::RotateTokens => 0.02,
            _ => 0.15,
        };
        for seed in 0..runs {
            emulator.set_options(Options {
                chaos: Some(Chaos {
                    // The kind in the seed: otherwise every kind faults the same requests.
                    seed: seed ^ kind_salt(&kind.name()),
                    rate,
                    persistent: 0.3,
                    kinds: vec![kind.clone()],
                    apis: Vec::new(),
                }),
                ..Options::default()
            });
            let before = emulator.request_count();
            let context = format!("{} seed {seed}", kind.name());
            let outcome = audit_once(&emulator, &ca, &plan, &catalogue, &profile).await;
            tally.runs += 1;
            tally.faults += emulator.chaos_injected().values().sum::<usize>();
            tally.requests += emulator.request_count() - before;
            match outcome {
                Ok(report) => {
                    tally.unknown += assert_no_divergence(&clean, &report, &context);
                    let expected = if report.coverage.is_empty() {
                        ExitStatus::Clean
                    } else {
                        ExitStatus::Incomplete
                    };
                    assert_eq!(ExitStatus::of(&report, None), expected, "{context}");
                    if report.coverage.len() > clean.coverage.len() {
                        tally.with_gaps += 1;
                    }
                    assert!(
                        report
                            .findings
                            .iter()
                            .all(|f| f.status != ReportStatus::Unknown || !f.message.is_empty()),
                        "{context}"
                    );
                }
                Err(err) => {
                    // Nothing could be audited (exit 2): only scope discovery or sign-in may
                    // end a run, and the message must say which call failed and why.
                    let text = err.to_string();
                    match &err {
                        CollectError::Discovery { call, cause } => {
                            assert!(call.contains("subscriptions"), "{context}: {text}");
                            assert!(!cause.is_empty(), "{context}: {text}");
                        }
                        CollectError::SignIn { .. } => assert!(
                            matches!(kind, ChaosKind::RevokeToken | ChaosKind::RotateTokens),
                            "{context}: {text}"
                        ),
                        CollectError::Unreachable { .. } => assert!(
                            matches!(
                                kind,
                                ChaosKind::Slow { .. }
                                    | ChaosKind::DropBeforeHeaders
                                    | ChaosKind::DropMidBody
                            ),
                            "{context}: {text}"
                        ),
                        CollectError::EmptyScope(_) => panic!("{context}: {text}"),
                    }
                    tally.nothing_audited += 1;
                }
            }
        }
    }
    eprintln!(
        "fault soak on examples/contoso: {} runs in {:.1?} (clean run: {} requests, {} findings, {} gaps)",
        tallies.values().map(|t| t.runs).sum::<usize>(),
        started.elapsed(),
        clean_requests,
        clean.findings.len(),
        clean.coverage.len()
    );
    eprintln!(
        "{:<24} {:>5} {:>7} {:>9} {:>10} {:>9} {:>13} {:>10}",
        "fault kind",
        "runs",
        "faults",
        "requests",
        "runs+gaps",
        "exit 2",
        "became unkn.",
        "divergent"
    );
    for (name, t) in &tallies {
        eprintln!(
            "{name:<24} {:>5} {:>7} {:>9} {:>10} {:>9} {:>13} {:>10}",
            t.runs, t.faults, t.requests, t.with_gaps, t.nothing_audited, t.unknown, 0
        );
    }
    eprintln!(
        "reproduce: LZAUDIT_SOAK_RUNS={runs} cargo test --locked --test it soak -- --nocapture"
    );
    let injected: usize = tallies.values().map(|t| t.faults).sum();
    assert!(injected > 0, "the soak injected no fault");
}
