//! Never a verdict on data that could not be read: answers that are not what the API promises
//! (wrong shapes, broken JSON, loops) are failed reads, scope discovery that fails ends the run
//! with exit 2, and an empty scope is an error unless asked for. Each test injects one fault
//! through the emulator and compares with a clean run.

use lzaudit::audit;
use lzaudit::azure::{AuthMethod, Environment, connect_with};
use lzaudit::catalogue::Catalogue;
use lzaudit::collect::CollectError;
use lzaudit::inventory::{Inventory, ReadState, api};
use lzaudit::profile::Profile;
use lzaudit::report::{Origin, Report, ReportStatus};
use lzaudit_emulator::{Chaos, ChaosKind, Emulator, Fail, Options, Shape, Tenant};

use crate::support::bin::{command, run};
use crate::support::fixture::repo;
use crate::support::tenants::{
    self, CaFile, ca_file, collect_everything, connect_secret, fast_retries, small,
};

/// Every API, every kind of request: what a chaos run may fault.
fn chaos(kind: ChaosKind, apis: &[&str], rate: f64, persistent: f64, seed: u64) -> Options {
    Options {
        chaos: Some(Chaos {
            seed,
            rate,
            persistent,
            kinds: vec![kind],
            apis: apis.iter().map(|a| a.to_string()).collect(),
        }),
        ..Options::default()
    }
}

async fn collect_small(options: Options) -> (Result<Inventory, CollectError>, Emulator) {
    let emulator = tenants::start("small", options).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let result = collect_everything(&client).await;
    (result, emulator)
}

fn audit_of(inventory: &Inventory) -> Report {
    let catalogue = Catalogue::builtin().unwrap();
    let profile = Profile::load("caf-aks", &catalogue).unwrap();
    audit::run(
        inventory,
        &catalogue,
        &profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "live",
            fail_on: "none",
            generated_at: String::new(),
        },
    )
}

/// Asserts that `faulty` says nothing `clean` would not: every finding of `clean` is in
/// `faulty` with the same status and message, or `unknown` there, or replaced by a finding of
/// the same check on its subscription (when the resource list itself could not be read) that
/// is `unknown` — or `fail` where the replaced finding failed too, since by the catalogue's
/// combine rule a certain fail of another part stands; every other finding of `faulty` is
/// `unknown`; and every `unknown` that `clean` does not have names, in its message or evidence,
/// the API and scope of a read the coverage lists as failed (a cause nobody can act on is not
/// an honest unknown). Returns how many findings became unknown or were replaced.
pub fn assert_no_divergence(clean: &Report, faulty: &Report, context: &str) -> usize {
    use std::collections::BTreeMap;
    let key =
        |f: &lzaudit::report::ReportFinding| (f.check.clone(), f.resource.to_ascii_lowercase());
    let faulty_by_key: BTreeMap<_, _> = faulty.findings.iter().map(|f| (key(f), f)).collect();
    let clean_by_key: BTreeMap<_, _> = clean.findings.iter().map(|f| (key(f), f)).collect();
    let new_gaps = faulty.coverage.len() > clean.coverage.len();
    let mut unknown = 0;
    for (k, expected) in &clean_by_key {
        match faulty_by_key.get(k) {
            // A part of a finding may become unreadable without changing its status (a certain
            // fail of another part stands); then its message changes, and a gap explains it.
            Some(seen) if seen.status == expected.status => assert!(
                seen.message == expected.message || new_gaps,
                "{context}: {} on {} kept its status but changed its message with no new gap:\n  clean:  {}\n  faulty: {}",
                k.0,
                k.1,
                expected.message,
                seen.message
            ),
            Some(seen) => {
                assert_eq!(
                    seen.status,
                    ReportStatus::Unknown,
                    "{context}: {} on {} was {:?} ({}) and became {:?}: {}",
                    k.0,
                    k.1,
                    expected.status,
                    expected.message,
                    seen.status,
                    seen.message
                );
                unknown += 1;
            }
            None => {
                let subscription = format!("/subscriptions/{}", expected.subscription);
                let covered = faulty_by_key
                    .get(&(k.0.clone(), subscription.to_ascii_lowercase()))
                    .is_some_and(|f| {
                        f.status == ReportStatus::Unknown
                            || (f.status == ReportStatus::Fail
                                && expected.status == ReportStatus::Fail)
                    });
                assert!(
                    covered,
                    "{context}: the finding {} on {} ({:?}) vanished without an unknown finding on its subscription",
                    k.0, k.1, expected.status
                );
                unknown += 1;
            }
        }
    }
    for (k, seen) in &faulty_by_key {
        let replaces_fails = || {
            let replaced: Vec<_> = clean
                .findings
                .iter()
                .filter(|f| {
                    f.check == k.0
                        && format!("/subscriptions/{}", f.subscription).eq_ignore_ascii_case(&k.1)
                })
                .collect();
            !replaced.is_empty() && replaced.iter().all(|f| f.status == ReportStatus::Fail)
        };
        let replacement = seen.status == ReportStatus::Fail && replaces_fails();
        if !clean_by_key.contains_key(k) && !replacement {
            assert_eq!(
                seen.status,
                ReportStatus::Unknown,
                "{context}: a finding {} on {} appeared with status {:?}: {}",
                k.0,
                k.1,
                seen.status,
                seen.message
            );
        }
    }
    let new_unknowns = faulty
        .findings
        .iter()
        .filter(|f| f.status == ReportStatus::Unknown)
        .count()
        > clean
            .findings
            .iter()
            .filter(|f| f.status == ReportStatus::Unknown)
            .count();
    if new_unknowns {
        assert!(
            faulty.coverage.len() > clean.coverage.len(),
            "{context}: findings became unknown but the coverage names no new failed read"
        );
    }
    for (k, seen) in &faulty_by_key {
        let was_unknown = clean_by_key
            .get(k)
            .is_some_and(|f| f.status == ReportStatus::Unknown);
        if seen.status != ReportStatus::Unknown || was_unknown {
            continue;
        }
        let text = format!(
            "{} {}",
            seen.message,
            serde_json::to_string(&seen.evidence).unwrap()
        )
        .to_ascii_lowercase();
        let named = faulty.coverage.iter().any(|read| {
            text.contains(&read.api.to_ascii_lowercase())
                && text.contains(&read.scope.to_ascii_lowercase())
        });
        assert!(
            named,
            "{context}: {} on {} became unknown without naming a failed read of the coverage: {}",
            k.0, k.1, seen.message
        );
    }
    unknown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_answer_that_is_not_a_list_envelope_is_a_failed_read() {
    let (clean, _) = collect_small(Options::default()).await;
    let clean = audit_of(&clean.unwrap());
    for shape in Shape::ALL {
        let (inventory, emulator) = collect_small(chaos(
            ChaosKind::WrongShape(shape),
            &[api::CLUSTERS],
            1.0,
            1.0,
            1,
        ))
        .await;
        let inventory = inventory.expect("a failed cluster list is a gap, not the end");
        let scope = format!("/subscriptions/{}", small::S1);
        let ReadState::Failed(read) = inventory.read_state(&scope, api::CLUSTERS) else {
            panic!("{shape:?}: the cluster list must be a failed read");
        };
        assert!(
            read.message
                .as_deref()
                .unwrap_or_default()
                .contains("malformed")
                || read
                    .message
                    .as_deref()
                    .unwrap_or_default()
                    .contains("not a JSON object"),
            "{shape:?}: {read:?}"
        );
        assert!(inventory.clusters.is_empty());
        // Retried like a 5xx: the first attempt and every retry got the same wrong shape.
        let attempts = emulator
            .requests()
            .iter()
            .filter(|r| {
                r.api.as_deref() == Some(api::CLUSTERS) && r.path_and_query.contains(small::S1)
            })
            .count();
        assert_eq!(attempts, 5, "{shape:?}: 1 + 4 retries");
        let faulty = audit_of(&inventory);
        let unknown = assert_no_divergence(&clean, &faulty, &format!("{shape:?}"));
        assert!(
            unknown > 0,
            "{shape:?}: the cluster findings must become unknown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_answer_without_an_id_is_a_failed_read() {
    for shape in [Shape::EmptyObject, Shape::NullProperties, Shape::String] {
        let (inventory, _) = collect_small(chaos(
            ChaosKind::WrongShape(shape),
            &[api::POLICY_SET_DEFINITIONS],
            1.0,
            1.0,
            1,
        ))
        .await;
        let inventory = inventory.unwrap();
        assert!(inventory.policy_set_definitions.is_empty(), "{shape:?}");
        assert!(
            matches!(
                inventory.read_state(small::SET, api::POLICY_SET_DEFINITIONS),
                ReadState::Failed(_)
            ),
            "{shape:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_json_is_retried_once_then_a_failed_read() {
    for kind in [ChaosKind::TruncatedJson, ChaosKind::MalformedJson] {
        // Transient: the retry heals it and the inventory is complete.
        let (inventory, emulator) =
            collect_small(chaos(kind.clone(), &[api::REGISTRIES], 1.0, 0.0, 3)).await;
        let inventory = inventory.unwrap();
        assert_eq!(inventory.gaps().count(), 0, "{kind:?}");
        assert_eq!(inventory.registries.len(), 1, "{kind:?}");
        assert!(emulator.chaos_injected().values().sum::<usize>() > 0);
        // Persistent: one retry, then the read is failed, not empty.
        let (inventory, emulator) =
            collect_small(chaos(kind.clone(), &[api::REGISTRIES], 1.0, 1.0, 3)).await;
        let inventory = inventory.unwrap();
        let scope = format!("/subscriptions/{}", small::S1);
        let ReadState::Failed(read) = inventory.read_state(&scope, api::REGISTRIES) else {
            panic!("{kind:?}: the registry list must be a failed read");
        };
        assert!(
            read.message
                .as_deref()
                .unwrap_or_default()
                .contains("not JSON"),
            "{read:?}"
        );
        let attempts = emulator
            .requests()
            .iter()
            .filter(|r| {
                r.api.as_deref() == Some(api::REGISTRIES) && r.path_and_query.contains(small::S1)
            })
            .count();
        assert_eq!(attempts, 2, "{kind:?}: one retry of unparsable JSON");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_discovery_that_fails_is_fatal_and_names_the_call() {
    let cases: Vec<(&str, Options)> = vec![
        (
            "503",
            Options {
                fail: vec![Fail {
                    api: api::SUBSCRIPTIONS.into(),
                    times: 100,
                    status: 503,
                }],
                ..Options::default()
            },
        ),
        (
            "malformed list response",
            chaos(
                ChaosKind::WrongShape(Shape::NullValue),
                &[api::SUBSCRIPTIONS],
                1.0,
                1.0,
                1,
            ),
        ),
        (
            "already followed",
            chaos(ChaosKind::NextLinkLoop, &[api::SUBSCRIPTIONS], 1.0, 1.0, 1),
        ),
        (
            "not sent",
            chaos(
                ChaosKind::NextLinkForeign,
                &[api::SUBSCRIPTIONS],
                1.0,
                1.0,
                1,
            ),
        ),
    ];
    for (cause, options) in cases {
        let (result, _) = collect_small(options).await;
        let err = result.expect_err(cause);
        let CollectError::Discovery { call, cause: why } = &err else {
            panic!("{cause}: {err:?}");
        };
        assert_eq!(call, "listing the subscriptions this identity can read");
        assert!(why.contains(cause), "{cause}: {why}");
        assert!(
            err.to_string()
                .starts_with("cannot resolve the audit scope"),
            "{err}"
        );
    }
}

/// Runs the binary against the emulator as the small tenant's service principal.
fn audit_binary(emulator: &Emulator, ca: &CaFile, extra: &[&str]) -> crate::support::bin::Output {
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", small::TENANT)
        .env("AZURE_CLIENT_ID", small::CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", small::CLIENT_SECRET);
    let http = emulator.http_url();
    let https = emulator.https_url();
    let mut args = vec![
        "audit",
        "--auth",
        "env",
        "--authority-host",
        &https,
        "--arm-endpoint",
        &http,
        "--ca-cert",
        ca.path.to_str().unwrap(),
        "--max-retries",
        "1",
        "--fail-on",
        "none",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run(cmd, &args)
}

#[test]
fn the_binary_exits_2_when_the_scope_cannot_be_resolved() {
    let emulator = Emulator::start_in_thread(
        tenants::tenant("small"),
        Options {
            fail: vec![Fail {
                api: api::MG_DESCENDANTS.into(),
                times: 100,
                status: 500,
            }],
            ..Options::default()
        },
    );
    let ca = ca_file(&emulator);
    let out = audit_binary(&emulator, &ca, &["--management-group", "landingzones"]).code(2);
    assert!(
        out.stderr.contains(
            "cannot resolve the audit scope: listing the descendants of management group 'landingzones' failed"
        ) && out.stderr.contains("HTTP 500"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no report for an unresolved scope");
}

#[test]
fn an_empty_scope_is_an_error_unless_allowed() {
    let emulator = Emulator::start_in_thread(tenants::tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    let out = audit_binary(&emulator, &ca, &["--subscription", small::S3]).code(2);
    assert!(
        out.stderr.contains(
            "none of the requested subscriptions is Enabled and readable by this identity"
        ) && out.stderr.contains("Disabled")
            && out.stderr.contains("--allow-empty"),
        "{}",
        out.stderr
    );
    let out = audit_binary(
        &emulator,
        &ca,
        &["--subscription", small::S3, "--allow-empty"],
    )
    .success();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["skipped_subscriptions"][0]["state"], "Disabled");
}

/// Signs in to an arbitrary fixture tenant as its first client (secret), with fast retries.
pub async fn connect_first_client(
    emulator: &Emulator,
    ca: &CaFile,
    timeout: std::time::Duration,
) -> lzaudit::azure::ArmClient {
    connect_first_client_with(
        emulator,
        ca,
        timeout,
        lzaudit::azure::auth::DEFAULT_CONCURRENCY,
    )
    .await
}

/// `connect_first_client` allowing at most `concurrency` ARM requests in flight.
pub async fn connect_first_client_with(
    emulator: &Emulator,
    ca: &CaFile,
    timeout: std::time::Duration,
    concurrency: usize,
) -> lzaudit::azure::ArmClient {
    let tenant = emulator.tenant();
    let client = tenant.clients()[0].clone();
    let mut options = tenants::options(emulator, &ca.path, AuthMethod::Env);
    options.timeout = timeout;
    options.concurrency = concurrency;
    let env = Environment::from_vars([
        ("AZURE_TENANT_ID", tenant.tenant_id().to_string()),
        ("AZURE_CLIENT_ID", client.client_id.clone()),
        (
            "AZURE_CLIENT_SECRET",
            client.client_secret.clone().unwrap_or_default(),
        ),
    ]);
    connect_with(&options, &env)
        .await
        .expect("sign-in")
        .with_retry_policy(fast_retries(4))
        .with_buckets(tenants::fast_buckets())
}

/// The bundled example tenant.
pub fn contoso() -> Tenant {
    Tenant::load(&repo().join("examples/contoso/tenant.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// The findings of a report as (check, resource, status, message), for comparisons.
fn verdicts(report: &Report) -> Vec<(String, String, ReportStatus, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.check.to_string(),
                f.resource.to_ascii_lowercase(),
                f.status,
                f.message.to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_of_every_kind_heal_into_the_clean_report() {
    let emulator = Emulator::start(contoso(), Options::default())
        .await
        .expect("the emulator starts");
    let ca = ca_file(&emulator);
    let timeout = std::time::Duration::from_millis(500);
    let client = connect_first_client(&emulator, &ca, timeout).await;
    let clean = collect_everything(&client).await.unwrap();
    let clean = audit_of(&clean);
    // A next link that loops or leaves the endpoint is refused on sight, not retried: those
    // two kinds fail their read even once (the soak covers them).
    let healing = ChaosKind::catalogue(std::time::Duration::from_millis(800))
        .into_iter()
        .filter(|k| !matches!(k, ChaosKind::NextLinkLoop | ChaosKind::NextLinkForeign));
    for kind in healing {
        // Every faulted request revokes the token in use; at 30 % that is a revocation storm
        // no real tenant sees, and three in a row for one request is a sign-in failure.
        let rate = match kind {
            ChaosKind::RevokeToken | ChaosKind::RotateTokens => 0.02,
            _ => 0.3,
        };
        emulator.set_options(chaos(kind.clone(), &[], rate, 0.0, 11));
        let client = connect_first_client(&emulator, &ca, timeout).await;
        let inventory = collect_everything(&client)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert!(
            emulator.chaos_injected().values().sum::<usize>() > 0,
            "{}: nothing injected",
            kind.name()
        );
        let report = audit_of(&inventory);
        assert_eq!(
            report.coverage.len(),
            clean.coverage.len(),
            "{}: {:#?}",
            kind.name(),
            report.coverage
        );
        let (seen, expected) = (verdicts(&report), verdicts(&clean));
        let differ: Vec<_> = seen.iter().filter(|v| !expected.contains(v)).collect();
        let lost: Vec<_> = expected.iter().filter(|v| !seen.contains(v)).collect();
        assert!(
            differ.is_empty() && lost.is_empty(),
            "{}: findings differ from the clean run\n  now:    {differ:#?}\n  before: {lost:#?}",
            kind.name()
        );
    }
}
