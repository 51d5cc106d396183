//! `lzaudit-emulator`: serves a fixture tenant — a file, or one generated from a seed at any
//! size with `--generate N` — over ARM, Entra ID and Resource Graph on loopback until interrupted, for poking at the auditor by
//! hand (`lzaudit --arm-url … --authority-host …`). `--write-tenant FILE` writes the generated
//! fixture instead of serving it, so it can be read, diffed or served later. It prints where it
//! listens and which credentials it accepts, and can write its CA certificate to a file so
//! a client can be told to trust it. Ctrl-C ends it: the process holds nothing that needs
//! cleaning up, so the default signal disposition is the shutdown.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lzaudit_emulator::{
    BucketMode, Chaos, ChaosKind, Deny, Emulator, Options, ReadBuckets, Spec, Tenant, generate,
};

/// Serve a fixture tenant as a loopback ARM / Entra ID emulator.
#[derive(Debug, Parser)]
#[command(name = "lzaudit-emulator", version)]
struct Args {
    /// Tenant fixture (JSON).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "generate",
        conflicts_with = "generate"
    )]
    tenant: Option<PathBuf>,
    /// Serve a generated ALZ tenant with N landing-zone subscriptions (plus the two platform
    /// ones) instead of a fixture file.
    #[arg(long, value_name = "N")]
    generate: Option<usize>,
    /// Seed of the generated tenant: the same seed gives the same tenant.
    #[arg(long, value_name = "S", default_value_t = Spec::default().seed, requires = "generate")]
    seed: u64,
    /// Mean AKS clusters per generated subscription.
    #[arg(long, value_name = "M", default_value_t = Spec::default().clusters_per_subscription, requires = "generate")]
    clusters: f64,
    /// Mean container registries per generated subscription.
    #[arg(long, value_name = "R", default_value_t = Spec::default().registries_per_subscription, requires = "generate")]
    registries: f64,
    /// Mean node pools (AKS-tagged scale sets) per generated cluster.
    #[arg(long, value_name = "P", default_value_t = Spec::default().node_pools_per_cluster, requires = "generate")]
    node_pools: f64,
    /// Write the generated fixture (the `--tenant` format, compact JSON) to FILE and exit
    /// without serving; `--tenant FILE` serves it later.
    #[arg(long, value_name = "FILE", requires = "generate")]
    write_tenant: Option<PathBuf>,
    /// Port of the plain-HTTP ARM listener (0 picks a free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,
    /// Port of the HTTPS listener (ARM and the Entra token endpoint; 0 picks a free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    https_port: u16,
    /// Items per page on list routes (default: everything in one page).
    #[arg(long, value_name = "N")]
    page_size: Option<usize>,
    /// End the last page with `"nextLink": null` instead of omitting it.
    #[arg(long)]
    null_next_link: bool,
    /// Answer 403 for API at or below SCOPE (repeatable), e.g.
    /// `/subscriptions/…=Microsoft.Security/pricings`.
    #[arg(long, value_name = "SCOPE=API")]
    deny: Vec<Deny>,
    /// Seeded faults drawn per request (repeatable), by name: throttle, status-500, status-502,
    /// status-503, status-504, drop-before-headers, drop-mid-body, truncated-json,
    /// malformed-json, shape-emptyobject, shape-nullvalue, shape-nullproperties, shape-array,
    /// shape-string, slow, next-link-loop, next-link-foreign, duplicate-items, revoke-token,
    /// rotate-tokens.
    #[arg(long, value_name = "KIND")]
    chaos: Vec<ChaosKind>,
    /// Probability that a request is faulted (with --chaos).
    #[arg(long, value_name = "P", default_value_t = 0.1)]
    chaos_rate: f64,
    /// Probability that a faulted request stays faulted on every retry (with --chaos).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    chaos_persistent: f64,
    /// Seed of the fault draw (with --chaos): the same seed faults the same requests.
    #[arg(long, value_name = "N", default_value_t = 1)]
    chaos_seed: u64,
    /// Delay every ARM answer by this many milliseconds (a region's round trip).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Throttle reads like ARM: `per-subscription` (a bucket per subscription and one for
    /// tenant-level calls, 250 requests refilled 25 a second) or `shared` (one such bucket for
    /// every request, the strictest reading of ARM's limits).
    #[arg(long, value_name = "MODE", value_parser = ["per-subscription", "shared"])]
    read_buckets: Option<String>,
    /// Write the PEM of the emulator's CA certificate here.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let loaded = match (&args.tenant, args.generate) {
        (Some(path), _) => Tenant::load(path),
        (None, Some(subscriptions)) => {
            let spec = Spec {
                seed: args.seed,
                subscriptions,
                clusters_per_subscription: args.clusters,
                registries_per_subscription: args.registries,
                node_pools_per_cluster: args.node_pools,
            };
            if let Some(path) = &args.write_tenant {
                return write_fixture(&spec, path);
            }
            Tenant::generate(&spec).map_err(|e| format!("--generate: {e}"))
        }
        (None, None) => Err("pass --tenant FILE or --generate N".to_string()),
    };
    let tenant = match loaded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lzaudit-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let cli_deny = args.deny.clone();
    let options = Options {
        page_size: args.page_size,
        null_next_link: args.null_next_link,
        deny: args.deny,
        latency: std::time::Duration::from_millis(args.latency_ms),
        read_buckets: args.read_buckets.as_deref().map(|mode| {
            ReadBuckets::arm(if mode == "shared" {
                BucketMode::Shared
            } else {
                BucketMode::PerSubscription
            })
        }),
        chaos: (!args.chaos.is_empty()).then(|| Chaos {
            seed: args.chaos_seed,
            rate: args.chaos_rate,
            persistent: args.chaos_persistent,
            kinds: args.chaos.clone(),
            apis: Vec::new(),
        }),
        ..Options::default()
    };
    let options_quota = options.graph_quota.map_or_else(
        || "off".to_string(),
        |q| format!("{} queries per {} s", q.queries, q.window.as_secs_f64()),
    );
    let emulator = match Emulator::start_on_ports(tenant, options, args.port, args.https_port).await
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("lzaudit-emulator: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &args.ca_out
        && let Err(e) = std::fs::write(path, emulator.ca_pem())
    {
        eprintln!("lzaudit-emulator: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    let tenant = emulator.tenant();
    println!("tenant          {}", tenant.tenant_id());
    println!("ARM (http)      {}", emulator.http_url());
    println!("ARM (https)     {}", emulator.https_url());
    println!("authority host  {}", emulator.https_url());
    println!(
        "token endpoint  {}/{}/oauth2/v2.0/token",
        emulator.https_url(),
        tenant.tenant_id()
    );
    let rows: Vec<String> = tenant
        .resource_graph_rows()
        .iter()
        .map(|(table, n)| format!("{table} {n}"))
        .collect();
    println!(
        "Resource Graph  POST {}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01 (both listeners; quota {}); rows: {}",
        emulator.http_url(),
        options_quota,
        rows.join(", ")
    );
    for client in tenant.clients() {
        let mut ways = Vec::new();
        if let Some(secret) = &client.client_secret {
            ways.push(format!("secret {secret}"));
        }
        if !client.certificates.is_empty() {
            ways.push(format!("{} certificate(s)", client.certificates.len()));
        }
        for fic in &client.federated_credentials {
            ways.push(format!("federated {} {}", fic.issuer, fic.subject));
        }
        if ways.is_empty() {
            ways.push("no credential: add a certificate or a federated credential".into());
        }
        println!("client          {} {}", client.client_id, ways.join("; "));
    }
    if let Some(devops) = tenant.azure_devops() {
        println!("pipelines OIDC  {}", emulator.pipelines_oidc_url());
        for connection in &devops.service_connections {
            println!(
                "service conn.   {} ({})",
                connection.id,
                devops.subject(connection)
            );
        }
    }
    if !tenant.managed_identities().is_empty() {
        println!(
            "managed id. env IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
            emulator.identity_endpoint(),
            emulator.identity_header()
        );
        for identity in tenant.managed_identities() {
            let kind = if identity.system_assigned {
                "system-assigned"
            } else {
                "user-assigned"
            };
            println!("managed id.     {} {kind}", identity.client_id);
        }
    }
    for token in tenant.static_tokens() {
        println!("static token    {token}");
    }
    for deny in tenant.denials().iter().chain(&cli_deny) {
        println!("denied          {} at {}", deny.api, deny.scope);
    }
    match &args.ca_out {
        Some(path) => println!("CA certificate  {}", path.display()),
        None => println!("CA certificate  (not written; pass --ca-out FILE)"),
    }
    println!("serving until interrupted (Ctrl-C)");
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

/// Writes a generated fixture; exit 2 for a spec that cannot be generated, 1 for I/O.
fn write_fixture(spec: &Spec, path: &std::path::Path) -> ExitCode {
    let fixture = match generate::fixture(spec) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lzaudit-emulator: --generate: {e}");
            return ExitCode::from(2);
        }
    };
    let written = std::fs::File::create(path).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut out, &fixture)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)
    });
    match written {
        Ok(()) => {
            let count = |key: &str| fixture[key].as_array().map_or(0, Vec::len);
            println!(
                "wrote {}: {} subscriptions, {} resources",
                path.display(),
                count("subscriptions"),
                count("resources")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lzaudit-emulator: cannot write {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}
