//! A generated tenant (`lzaudit_emulator::Spec`, 20 landing-zone subscriptions, seed 1)
//! collected through the emulator the way `lzaudit audit` does — the example's service
//! principal signs in over HTTPS, the default profile's plan is collected over HTTP — must come
//! back complete (no coverage gap, no request refused), at issue 8's request budget, and audit
//! with every check passing and failing somewhere: the generator's variation is what makes it
//! a test bed for scale work, and this keeps it one.

use std::collections::{BTreeMap, BTreeSet};

use lzaudit::azure::{AuthMethod, Environment, connect_with};
use lzaudit::catalogue::Catalogue;
use lzaudit::collect::{self, Plan};
use lzaudit::inventory::{Inventory, RequestedScope};
use lzaudit::profile::Profile;
use lzaudit::report::Origin;
use lzaudit_emulator::{Emulator, Options, Spec, TOKEN_API, Tenant};

use crate::support::tenants::{ca_file, fast_buckets, fast_retries, options};

/// Checks whose catalogue row has no FAIL: they fail only under `caf-aks-strict`.
const WARN_ONLY: &[&str] = &[
    "AKS-007", "AKS-015", "AKS-029", "AKS-037", "AKS-038", "AKS-039", "AKS-045",
];

const LANDING_ZONES: usize = 20;

fn spec() -> Spec {
    Spec {
        seed: 1,
        subscriptions: LANDING_ZONES,
        ..Spec::default()
    }
}

/// Check → statuses of its findings.
fn statuses(
    inventory: &Inventory,
    catalogue: &Catalogue,
    profile: &Profile,
) -> BTreeMap<String, BTreeSet<&'static str>> {
    let report = lzaudit::audit::run(
        inventory,
        catalogue,
        profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "live",
            fail_on: "high",
            generated_at: String::new(),
        },
    );
    let mut out: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for finding in &report.findings {
        out.entry(finding.check.to_string())
            .or_default()
            .insert(finding.status.as_str());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_tenant_is_collected_completely_and_every_check_passes_and_fails() {
    let tenant = Tenant::generate(&spec()).expect("the spec generates");
    let client_entry = tenant.clients()[0].clone();
    let emulator = Emulator::start(tenant, Options::default())
        .await
        .expect("the emulator starts");
    let ca = ca_file(&emulator);
    let env = Environment::from_vars([
        ("AZURE_TENANT_ID", emulator.tenant().tenant_id().to_string()),
        ("AZURE_CLIENT_ID", client_entry.client_id.clone()),
        (
            "AZURE_CLIENT_SECRET",
            client_entry.client_secret.clone().expect("a secret"),
        ),
    ]);
    let client = connect_with(&options(&emulator, &ca.path, AuthMethod::Env), &env)
        .await
        .expect("the example's service principal signs in")
        .with_retry_policy(fast_retries(2))
        .with_buckets(fast_buckets());
    let catalogue = Catalogue::builtin().expect("catalogue");
    let default = Profile::load("caf-aks", &catalogue).expect("default profile");
    let (apis, policy_guids) = lzaudit::audit::needs(&catalogue, &default);
    let inventory = collect::run(
        &client,
        RequestedScope::default(),
        &Plan { apis, policy_guids },
        None,
    )
    .await
    .expect("collection succeeds");

    // Complete: nothing unread, nothing refused, the retired subscription skipped.
    assert_eq!(
        inventory.gaps().count(),
        0,
        "{:#?}",
        inventory.gaps().collect::<Vec<_>>()
    );
    let log = emulator.requests();
    let refused: Vec<_> = log.iter().filter(|r| r.status >= 400).collect();
    assert!(refused.is_empty(), "{refused:#?}");
    assert!(!inventory.skipped_subscriptions.is_empty());
    assert_eq!(
        inventory.subscriptions.len() + inventory.skipped_subscriptions.len(),
        LANDING_ZONES + 2
    );
    assert!(inventory.clusters.len() >= 2 * LANDING_ZONES);
    assert!(inventory.registries.len() >= LANDING_ZONES);

    // Issue 8's budget: about 43 ARM requests per subscription, most of them per resource.
    let arm: Vec<_> = log
        .iter()
        .filter(|r| r.api.as_deref() != Some(TOKEN_API))
        .collect();
    let per_subscription = arm.len() as f64 / inventory.subscriptions.len() as f64;
    assert!(
        (30.0..=55.0).contains(&per_subscription),
        "{} ARM requests for {} subscriptions",
        arm.len(),
        inventory.subscriptions.len()
    );
    let per_cluster = |api: &str| arm.iter().filter(|r| r.api.as_deref() == Some(api)).count();
    assert_eq!(
        per_cluster("Microsoft.PolicyInsights/policyStates"),
        inventory.clusters.len(),
        "one policy-state query per cluster"
    );

    // Every check passes and fails somewhere (the warn-only ones under caf-aks-strict).
    let found = statuses(&inventory, &catalogue, &default);
    let strict = Profile::parse(
        &format!(
            "extends = \"caf-aks-strict\"\n[checks]\nselect = {:?}\n",
            WARN_ONLY
        ),
        "warn-only-strict.toml",
        &catalogue,
        0,
    )
    .expect("profile parses");
    let strict_found = statuses(&inventory, &catalogue, &strict);
    let mut missing = Vec::new();
    for check in catalogue.checks() {
        let id = check.id();
        let none = BTreeSet::new();
        let seen = found.get(id).unwrap_or(&none);
        if !seen.contains("pass") {
            missing.push(format!("{id} has no pass: {seen:?}"));
        }
        let fails = if WARN_ONLY.contains(&id) {
            strict_found.get(id).unwrap_or(&none)
        } else {
            seen
        };
        if !fails.contains("fail") {
            missing.push(format!("{id} has no fail: {seen:?}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
