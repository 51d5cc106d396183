//! `lzaudit-emulator`: serves a fixture tenant on loopback until interrupted, for poking at
//! the auditor by hand (`lzaudit --arm-url … --authority-host …`). It prints where it
//! listens and which credentials it accepts, and can write its CA certificate to a file so
//! a client can be told to trust it. Ctrl-C ends it: the process holds nothing that needs
//! cleaning up, so the default signal disposition is the shutdown.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lzaudit_emulator::{Deny, Emulator, Options, Tenant};

/// Serve a fixture tenant as a loopback ARM / Entra ID emulator.
#[derive(Debug, Parser)]
#[command(name = "lzaudit-emulator", version)]
struct Args {
    /// Tenant fixture (JSON).
    #[arg(long, value_name = "FILE")]
    tenant: PathBuf,
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
    let tenant = match Tenant::load(&args.tenant) {
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
        ..Options::default()
    };
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
