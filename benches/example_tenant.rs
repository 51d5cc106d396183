//! Benchmark: auditing the bundled example tenant end to end through the emulator.
//!
//! Run with `cargo bench --bench example_tenant`. Each round signs in (a real client-credentials
//! exchange over HTTPS), collects `examples/contoso/tenant.json` over loopback HTTP with the
//! default profile's collection plan, evaluates every check and builds the report. It prints the
//! wall time (min / median / max over the rounds), the requests per audit (token + ARM), and the
//! same for a profile that selects three checks, to show what the plan saves.

use std::time::{Duration, Instant};

use lzaudit::azure::{AuthMethod, ConnectOptions, Environment, connect_with};
use lzaudit::catalogue::Catalogue;
use lzaudit::collect::Plan;
use lzaudit::inventory::RequestedScope;
use lzaudit::profile::Profile;
use lzaudit::report::Origin;
use lzaudit_emulator::{Emulator, Options, Tenant};

const ROUNDS: usize = 15;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tenant = Tenant::load(&root.join("examples/contoso/tenant.json")).expect("example tenant");
    let client = tenant.clients()[0].clone();
    let catalogue = Catalogue::builtin().expect("catalogue");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime
        .block_on(Emulator::start(tenant, Options::default()))
        .expect("emulator");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).unwrap();
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
        ("AZURE_CLIENT_SECRET", client.client_secret.clone().unwrap()),
    ]);
    println!(
        "lzaudit example-tenant benchmark (cargo bench --bench example_tenant), {ROUNDS} rounds each"
    );
    let three = Profile::parse(
        "[checks]\nselect = [\"AKS-020\", \"AKS-021\", \"AKS-022\"]\n",
        "three-checks.toml",
        &catalogue,
        0,
    )
    .unwrap();
    let default = Profile::load("caf-aks", &catalogue).unwrap();
    for (label, profile) in [
        ("caf-aks (all checks)", &default),
        ("AKS-020/021/022 only", &three),
    ] {
        let (apis, policy_guids) = lzaudit::audit::needs(&catalogue, profile);
        let plan = Plan { apis, policy_guids };
        let mut times = Vec::new();
        let mut requests = 0;
        let mut findings = 0;
        for _ in 0..ROUNDS {
            let before = emulator.request_count();
            let started = Instant::now();
            let inventory = runtime.block_on(async {
                let client = connect_with(&options, &env).await.expect("sign-in");
                lzaudit::collect::run(&client, RequestedScope::default(), &plan, None)
                    .await
                    .expect("collect")
            });
            let report = lzaudit::audit::run(
                &inventory,
                &catalogue,
                profile,
                time::macros::date!(2026 - 11 - 26),
                Origin {
                    source: "live",
                    fail_on: "high",
                    generated_at: String::new(),
                },
            );
            times.push(started.elapsed());
            requests = emulator.request_count() - before;
            findings = report.findings.len();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {label:<22} {requests:>4} requests/audit, {findings:>3} findings, wall time min {:.1} ms / median {:.1} ms / max {:.1} ms",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
}
