//! Measurement: collecting a generated tenant end to end through the emulator, counting the
//! ARM requests by API (issue 8's "≈ 43 requests per subscription").
//!
//! Run with `cargo bench --bench generated_tenant -- [SUBSCRIPTIONS] [SEED]` (default 100
//! landing-zone subscriptions, seed 1). It generates the tenant (`lzaudit_emulator::Spec` with
//! its defaults: about 3 clusters and 1.5 registries per subscription), serves it on loopback,
//! signs in as the example's service principal, collects with the default profile's plan and
//! audits, then prints the wall times, what was collected, and the requests per API, in total
//! and per audited subscription.

use std::collections::BTreeMap;
use std::time::Instant;

use lzaudit::azure::{AuthMethod, ConnectOptions, Environment, connect_with};
use lzaudit::catalogue::Catalogue;
use lzaudit::collect::Plan;
use lzaudit::inventory::RequestedScope;
use lzaudit::profile::Profile;
use lzaudit::report::Origin;
use lzaudit_emulator::{Emulator, Options, Spec, TOKEN_API, Tenant, generate};

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let spec = Spec {
        subscriptions: numbers.first().map_or(100, |&n| n as usize),
        seed: numbers.get(1).copied().unwrap_or(1),
        ..Spec::default()
    };
    let started = Instant::now();
    let fixture = generate::fixture(&spec).expect("the spec generates");
    let resources = fixture["resources"].as_array().map_or(0, Vec::len);
    let tenant = Tenant::from_value(fixture).expect("the generated tenant loads");
    let generated = started.elapsed();
    let client = tenant.clients()[0].clone();
    let catalogue = Catalogue::builtin().expect("catalogue");
    let profile = Profile::load("caf-aks", &catalogue).expect("default profile");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime
        .block_on(Emulator::start(tenant, Options::default()))
        .expect("emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).expect("write the CA");
    let options = ConnectOptions {
        auth: AuthMethod::Env,
        arm_endpoint: Some(emulator.http_url()),
        authority_host: Some(emulator.https_url()),
        ca_cert: Some(ca),
        ..ConnectOptions::default()
    };
    let env = Environment::from_vars([
        ("AZURE_TENANT_ID", emulator.tenant().tenant_id().to_string()),
        ("AZURE_CLIENT_ID", client.client_id.clone()),
        (
            "AZURE_CLIENT_SECRET",
            client.client_secret.clone().expect("a secret"),
        ),
    ]);
    let (apis, policy_guids) = lzaudit::audit::needs(&catalogue, &profile);
    let plan = Plan { apis, policy_guids };

    let started = Instant::now();
    let inventory = runtime.block_on(async {
        let client = connect_with(&options, &env).await.expect("sign-in");
        lzaudit::collect::run(&client, RequestedScope::default(), &plan, None)
            .await
            .expect("collect")
    });
    let collected = started.elapsed();
    let started = Instant::now();
    let report = lzaudit::audit::run(
        &inventory,
        &catalogue,
        &profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "live",
            fail_on: "high",
            generated_at: String::new(),
        },
    );
    let audited = started.elapsed();

    let log = emulator.requests();
    let mut by_api: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = 0;
    for entry in log.iter().filter(|e| e.api.as_deref() != Some(TOKEN_API)) {
        *by_api
            .entry(entry.api.clone().unwrap_or_else(|| "(unrouted)".into()))
            .or_default() += 1;
        if entry.status >= 400 {
            errors += 1;
        }
    }
    let arm: usize = by_api.values().sum();
    let subscriptions = inventory.subscriptions.len();
    let per = |n: usize| n as f64 / subscriptions as f64;
    println!(
        "generated tenant: {} landing-zone subscriptions (+2 platform), seed {}, {resources} stored objects, built in {:.0} ms",
        spec.subscriptions,
        spec.seed,
        generated.as_secs_f64() * 1000.0
    );
    println!(
        "collected {subscriptions} subscriptions ({} skipped), {} clusters, {} registries, {} private endpoints, {} machines, {} gaps, in {:.2} s; audit {:.2} s, {} findings",
        inventory.skipped_subscriptions.len(),
        inventory.clusters.len(),
        inventory.registries.len(),
        inventory.private_endpoints.len(),
        inventory.machines.len(),
        inventory.gaps().count(),
        collected.as_secs_f64(),
        audited.as_secs_f64(),
        report.findings.len()
    );
    println!(
        "ARM requests: {arm} ({:.1} per audited subscription), {errors} answered with an error",
        per(arm)
    );
    let mut rows: Vec<(&String, &usize)> = by_api.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (api, count) in rows {
        println!("  {count:>7}  {:>6.2}/sub  {api}", per(*count));
    }
}
