//! Test tenants for collection: loading `tests/fixtures/tenants/*.json`, starting the emulator
//! on them, and signing lzaudit in against it the way the CLI would (service principal over
//! HTTPS with the emulator's CA, ARM over plain HTTP on loopback), with the retry delays
//! scaled down so fault-injection tests take milliseconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lzaudit::azure::pacing::Buckets;
use lzaudit::azure::{
    ArmClient, AuthMethod, ConnectOptions, Environment, RetryPolicy, connect_with,
};
use lzaudit_emulator::{Emulator, Options, Tenant};

use super::fixture::repo;

/// The small tenant's identifiers (`tests/fixtures/tenants/small.json`).
pub mod small {
    pub const TENANT: &str = "6c1d7f4e-2b9a-4c3d-8e5f-0a1b2c3d4e5f";
    /// `corp-aks-01` under corp → landingzones → alz → root: a cluster, a registry, machines.
    pub const S1: &str = "a1a1a1a1-0000-4000-8000-000000000001";
    /// `platform-management` under platform → alz → root: an Arc machine.
    pub const S2: &str = "b2b2b2b2-0000-4000-8000-000000000002";
    /// `retired-sandbox` under landingzones, `Disabled`.
    pub const S3: &str = "c3c3c3c3-0000-4000-8000-000000000003";
    pub const CLIENT_ID: &str = "3a5e7c9b-0000-4000-8000-00000000c001";
    pub const CLIENT_SECRET: &str = "emulator-client-secret";
    /// A client without a secret: signs in with a federated assertion (workload identity)
    /// from `WI_ISSUER` about `WI_SUBJECT`.
    pub const FEDERATED_CLIENT_ID: &str = "3a5e7c9b-0000-4000-8000-00000000c002";
    /// The AKS OIDC issuer and service account `FEDERATED_CLIENT_ID`'s federated credential
    /// trusts.
    pub const WI_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/6c1d7f4e-2b9a-4c3d-8e5f-0a1b2c3d4e5f/5e1f7a3c-0000-4000-8000-00000000a0c5/";
    pub const WI_SUBJECT: &str = "system:serviceaccount:lzaudit:lzaudit";
    /// The client behind the `lzaudit-reader` Azure DevOps service connection (its
    /// federated credential trusts `sc://contoso/landing-zones/lzaudit-reader`).
    pub const PIPELINES_CLIENT_ID: &str = "3a5e7c9b-0000-4000-8000-00000000c003";
    /// `lzaudit-reader`: the service connection `PIPELINES_CLIENT_ID` trusts.
    pub const SERVICE_CONNECTION: &str = "7a1c9e52-0000-4000-8000-0000000050c1";
    /// `app-team-deployer`: a service connection of the same project no client trusts.
    pub const OTHER_SERVICE_CONNECTION: &str = "7a1c9e52-0000-4000-8000-0000000050c2";
    /// A client with no credential in the fixture: tests register a generated certificate.
    pub const CERTIFICATE_CLIENT_ID: &str = "3a5e7c9b-0000-4000-8000-00000000c004";
    /// The host's system-assigned managed identity.
    pub const MI_SYSTEM: &str = "3a5e7c9b-0000-4000-8000-00000000c005";
    /// A user-assigned managed identity of the host.
    pub const MI_USER: &str = "3a5e7c9b-0000-4000-8000-00000000c006";
    /// Accepted by ARM without a sign-in: what a stand-in `az` prints.
    pub const STATIC_TOKEN: &str = "static-cli-token-7f3a";
    pub const CLUSTER: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-corp-01";
    pub const REGISTRY: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrcorp01";
    pub const NODE_VMSS: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/MC_rg-aks_aks-corp-01_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-31337-vmss";
    pub const NODE_VM: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/MC_rg-aks_aks-corp-01_westeurope/providers/Microsoft.Compute/virtualMachines/aks-system-31337-vm0";
    pub const SET: &str = "/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policySetDefinitions/Deploy-MDFC-Config_20240319";
    /// Member of `SET` (reference `azurePolicyForKubernetes`).
    pub const MEMBER_GUID: &str = "a8eff44f-8c92-45c3-a3fb-9880802d67a7";
    /// The registry's private endpoint (in S1), with one `privateDnsZoneGroups` child.
    pub const PRIVATE_ENDPOINT: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/acrcorp01-pe";
    /// `privatelink.azurecr.io` in the platform subscription (S2), linked to both VNets.
    pub const DNS_ZONE: &str = "/subscriptions/b2b2b2b2-0000-4000-8000-000000000002/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io";
    /// The corp spoke (S1): AKS subnet behind `ROUTE_TABLE` and `NSG`, peered to `HUB_VNET`.
    pub const SPOKE_VNET: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-corp01";
    pub const HUB_VNET: &str = "/subscriptions/b2b2b2b2-0000-4000-8000-000000000002/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub";
    pub const ROUTE_TABLE: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-aks-egress";
    pub const NSG: &str = "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-aks";
    /// Policy-state records stored for `CLUSTER` (one more is stored for `REGISTRY`).
    pub const CLUSTER_POLICY_STATES: usize = 3;
    /// The one location in use.
    pub const LOCATION: &str = "westeurope";
}

/// `tests/fixtures/tenants/regions.json`: the small tenant's identity (tenant, clients,
/// tokens) over two subscriptions under `landingzones`, with four clusters in two locations.
/// West Europe's supported versions are stored once for every subscription; North Europe's
/// only at `R1`'s path.
pub mod regions {
    pub const R1: &str = "d4d4d4d4-0000-4000-8000-000000000004";
    pub const R2: &str = "e5e5e5e5-0000-4000-8000-000000000005";
    pub const CLUSTERS: usize = 4;
}

/// A Kubernetes-style projected service account token (unsigned: the emulator matches
/// federated assertions of foreign issuers on their claims), valid for an hour.
pub fn service_account_token(issuer: &str, subject: &str) -> String {
    use azure_core::base64::encode_url_safe;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "aud": ["api://AzureADTokenExchange"],
        "exp": now + 3600,
        "iat": now,
        "iss": issuer,
        "nbf": now,
        "sub": subject,
    });
    format!(
        "{}.{}.{}",
        encode_url_safe(r#"{"alg":"RS256","kid":"test"}"#),
        encode_url_safe(claims.to_string()),
        encode_url_safe(b"not-verified")
    )
}

/// Loads a tenant fixture by name.
pub fn tenant(name: &str) -> Tenant {
    let path = repo()
        .join("tests/fixtures/tenants")
        .join(format!("{name}.json"));
    Tenant::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts the emulator on a tenant fixture.
pub async fn start(name: &str, options: Options) -> Emulator {
    Emulator::start(tenant(name), options)
        .await
        .expect("the emulator starts")
}

/// A temporary directory holding the emulator's CA certificate as PEM.
pub struct CaFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn ca_file(emulator: &Emulator) -> CaFile {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("emulator-ca.pem");
    std::fs::write(&path, emulator.ca_pem()).expect("write the CA");
    CaFile { _dir: dir, path }
}

/// Retry delays scaled by 1/1000: a `Retry-After: 1` waits 1 ms.
pub fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        delay_scale: 0.001,
        ..RetryPolicy::default()
    }
}

/// Connect options pointing at the emulator: ARM over http, Entra over https.
pub fn options(emulator: &Emulator, ca: &Path, auth: AuthMethod) -> ConnectOptions {
    ConnectOptions {
        auth,
        tenant: None,
        arm_endpoint: Some(emulator.http_url()),
        authority_host: Some(emulator.https_url()),
        ca_cert: Some(ca.to_path_buf()),
        timeout: Duration::from_secs(10),
        ..ConnectOptions::default()
    }
}

/// The service principal of the small tenant, as `--auth env` reads it.
pub fn service_principal_env(secret: &str) -> Environment {
    Environment::from_vars([
        ("AZURE_TENANT_ID", small::TENANT),
        ("AZURE_CLIENT_ID", small::CLIENT_ID),
        ("AZURE_CLIENT_SECRET", secret),
    ])
}

/// Signs in with the small tenant's service principal over HTTPS (the real token exchange)
/// and returns a client with fast retries.
pub async fn connect_secret(emulator: &Emulator, ca: &CaFile) -> ArmClient {
    let options = options(emulator, &ca.path, AuthMethod::Env);
    connect_with(&options, &service_principal_env(small::CLIENT_SECRET))
        .await
        .expect("sign-in with the emulator's service principal")
        .with_retry_policy(fast_retries(4))
        .with_buckets(fast_buckets())
}

/// ARM's read buckets with time scaled like `fast_retries`: 250 requests, refilled 25,000 per
/// second, so a throttled key's refill takes microseconds in tests.
pub fn fast_buckets() -> Buckets {
    Buckets::new(250.0, 25_000.0)
}

/// Writes a stand-in `az` into `dir` that prints, on its n-th run, the n-th of `tokens`
/// (repeating the last one) in the shape of `az account get-access-token -o json`, and logs
/// its arguments to `dir/az.log`.
#[cfg(unix)]
pub fn stand_in_az(dir: &Path, tokens: &[&str]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let expires_on = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut cases = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let n = if i + 1 == tokens.len() {
            "*".to_string()
        } else {
            (i + 1).to_string()
        };
        cases.push_str(&format!("  {n}) token='{token}' ;;\n"));
    }
    let script = format!(
        r#"#!/bin/sh
dir='{dir}'
echo "$@" >> "$dir/az.log"
n=$(( $(cat "$dir/az.count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$dir/az.count"
case "$n" in
{cases}esac
cat <<EOF
{{"accessToken": "$token", "expiresOn": "2030-01-01 00:00:00.000000", "expires_on": {unix}, "subscription": "{sub}", "tenant": "{tenant}", "tokenType": "Bearer"}}
EOF
"#,
        dir = dir.display(),
        unix = expires_on.unix_timestamp(),
        sub = small::S1,
        tenant = small::TENANT,
    );
    let path = dir.join("az");
    std::fs::write(&path, script).expect("write az");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod az");
    path
}

/// Collects everything the collector can read over the whole visible scope, as an audit with
/// every check selected would.
pub async fn collect_everything(
    client: &ArmClient,
) -> Result<lzaudit::inventory::Inventory, lzaudit::collect::CollectError> {
    lzaudit::collect::run(
        client,
        lzaudit::inventory::RequestedScope::default(),
        &lzaudit::collect::Plan::everything(),
        None,
    )
    .await
}
