//! A seeded generator of large tenants, for tests and benchmarks at the scale of issue 8 (a
//! thousand subscriptions, three clusters and one and a half registries each): the emulator
//! has to serve what lzaudit meets in a real enterprise landing zone, not only the six
//! subscriptions of the hand-built example.
//!
//! Shapes are never invented here. Every object starts as a copy of an object of the bundled
//! example tenant (`examples/contoso/tenant.json`, itself built from the official ARM example
//! payloads) and is re-homed and patched (JSON merge patch). The management-group tree is the
//! ALZ one: tenant root → `alz` → `alz-platform` (`alz-connectivity`: the hub subscription with
//! the hub VNet and the `privatelink.azurecr.io` zone; `alz-management`: a jumpbox) and
//! `alz-landingzones` → `alz-corp` / `alz-online`, with the landing-zone subscriptions spread
//! under corp and online and a few of them `Disabled`. The ALZ assignments sit where the example
//! puts them (same names and definitions), the example's clients sign in, and the example's
//! policy definitions, set definitions, assessment metadata and supported versions are served.
//!
//! Per landing-zone subscription the security-relevant properties are drawn from the seed so
//! that every check both passes and fails somewhere once there are a few dozen clusters:
//! private or restricted or open API servers, local accounts, Azure RBAC, add-ons, workload
//! identity, network policy, outbound type, upgrade channels, pool modes, taints and OS SKUs,
//! versions; Premium registries behind private endpoints or public Standard/Basic ones; pull
//! grants that are right, missing, too wide or on another subscription's registry; Defender
//! plans on and off; diagnostic settings, assessments and policy states present or not.
//!
//! Determinism: the same [`Spec`] gives the same fixture, byte for byte. Each subscription
//! draws from its own stream (the seed and its index), so subscription `i` of a tenant of `n`
//! is the same in a tenant of `n + 1`; only what spans subscriptions (the hub's peerings and
//! zone links, `notScopes`, a registry shared with the next subscription) grows with `n`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::random::guid_from;
use crate::tenant::Tenant;

/// The example tenant every generated object is copied from.
const EXAMPLE: &str = include_str!("../../../examples/contoso/tenant.json");

/// The example's management-group prefix, and the generated tree's.
const EXAMPLE_PREFIX: &str = "managementGroups/contoso";
const PREFIX: &str = "alz";

/// Built-in role definition GUIDs used in grants.
const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const ACR_PUSH: &str = "8311e382-0749-4cb8-b61a-304f252e45ec";
const REPO_READER: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const AKS_CLUSTER_ADMIN: &str = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8";
const AKS_RBAC_CLUSTER_ADMIN: &str = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";

/// Defender assessment keys the example's metadata list describes.
const RUNNING_IMAGES_VA: &str = "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5";
const REGISTRY_IMAGES_VA: &str = "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5";
const CLUSTER_ASSESSMENTS: &[&str] = &[
    "1a2b3c4d-0006-4000-8000-000000000001",
    "1a2b3c4d-0006-4000-8000-000000000002",
    "1a2b3c4d-0006-4000-8000-000000000003",
    "1a2b3c4d-0006-4000-8000-000000000004",
];

const LOCATIONS: &[(&str, f64)] = &[("westeurope", 0.8), ("northeurope", 0.2)];
const FIREWALL_IP: &str = "10.0.1.4";
const HUB_RESOLVER_IP: &str = "10.0.1.68";

/// What to generate. Counts per subscription are means: each subscription draws its own
/// (Poisson), so some have none, as in real estates.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Seed of every draw: the same spec gives the same fixture.
    pub seed: u64,
    /// Landing-zone subscriptions (spread under corp and online); the two platform
    /// subscriptions (connectivity, management) come on top.
    pub subscriptions: usize,
    /// Mean AKS clusters per landing-zone subscription.
    pub clusters_per_subscription: f64,
    /// Mean container registries per landing-zone subscription.
    pub registries_per_subscription: f64,
    /// Mean node pools per cluster (at least one, the system pool); each is one AKS-tagged
    /// VM scale set, whose Defender pricing lzaudit reads.
    pub node_pools_per_cluster: f64,
}

impl Default for Spec {
    /// The shape of issue 8's measured tenant: about three clusters and one and a half
    /// registries per subscription, which makes lzaudit's default profile send about 43
    /// ARM requests per subscription.
    fn default() -> Spec {
        Spec {
            seed: 1,
            subscriptions: 100,
            clusters_per_subscription: 3.0,
            registries_per_subscription: 1.5,
            node_pools_per_cluster: 3.0,
        }
    }
}

/// Largest number of landing-zone subscriptions: the address plan gives each one a /20 of
/// 10.0.0.0/8 (the hub keeps the first).
pub const MAX_SUBSCRIPTIONS: usize = 4_000;
/// Largest mean of any per-subscription or per-cluster count: far beyond any real estate,
/// and small enough for the Poisson draw to stay exact in floating point.
pub const MAX_MEAN: f64 = 50.0;

impl Spec {
    /// Why the spec cannot be generated, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.subscriptions == 0 || self.subscriptions > MAX_SUBSCRIPTIONS {
            return Err(format!(
                "subscriptions must be between 1 and {MAX_SUBSCRIPTIONS}, not {}",
                self.subscriptions
            ));
        }
        for (name, value, min) in [
            (
                "clusters per subscription",
                self.clusters_per_subscription,
                0.0,
            ),
            (
                "registries per subscription",
                self.registries_per_subscription,
                0.0,
            ),
            ("node pools per cluster", self.node_pools_per_cluster, 1.0),
        ] {
            if !value.is_finite() || value < min || value > MAX_MEAN {
                return Err(format!(
                    "{name} must be a number between {min} and {MAX_MEAN}, not {value}"
                ));
            }
        }
        Ok(())
    }
}

impl Tenant {
    /// A generated tenant (see the `generate` module); the error says what is wrong with the
    /// spec.
    pub fn generate(spec: &Spec) -> Result<Tenant, String> {
        Tenant::from_value(fixture(spec)?)
            .map_err(|e| format!("the generated fixture is invalid (a generator bug): {e}"))
    }
}

/// The generated fixture, in the format [`Tenant::from_json`] reads (what
/// `lzaudit-emulator --write-tenant` writes).
pub fn fixture(spec: &Spec) -> Result<Value, String> {
    spec.validate()?;
    let templates = Templates::load()?;
    Ok(Builder::new(spec, &templates)?.build())
}

/// SplitMix64 over a stream seeded from the spec's seed and a label, so independent parts of
/// the tenant draw independently and reproducibly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, label: &str) -> Rng {
        let mixed = label.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |acc, b| {
            (acc ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Rng(mixed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// One of the choices, by weight (weights need not sum to 1).
    fn weighted<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (value, weight) in choices {
            if x < *weight {
                return *value;
            }
            x -= weight;
        }
        choices[choices.len() - 1].0
    }

    /// A Poisson draw (Knuth's method; exact for the means `Spec::validate` admits).
    fn poisson(&mut self, mean: f64) -> usize {
        if mean <= 0.0 {
            return 0;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit {
            count += 1;
            product *= self.unit();
        }
        count
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut out = String::with_capacity(digits);
        while out.len() < digits {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(digits);
        out
    }
}

/// RFC 7386 merge patch: objects merge key by key, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(entries) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(map) = target {
                for (key, value) in entries {
                    if value.is_null() {
                        map.remove(&key);
                    } else {
                        merge(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

fn patched(mut target: Value, patch: Value) -> Value {
    merge(&mut target, patch);
    target
}

/// The example tenant's objects, by lower-cased ID, with its management groups renamed to
/// the generated tree's.
struct Templates {
    tenant_id: String,
    subscription: Value,
    clients: Value,
    static_tokens: Value,
    by_id: HashMap<String, Value>,
    /// In example order: definitions, sets, assessment metadata.
    shared: Vec<Value>,
    assignments: Vec<Value>,
    pricings: Vec<Value>,
    policy_states: Vec<Value>,
}

impl Templates {
    fn load() -> Result<Templates, String> {
        let text = EXAMPLE.replace(EXAMPLE_PREFIX, &format!("managementGroups/{PREFIX}"));
        let root: Value =
            serde_json::from_str(&text).map_err(|e| format!("the example tenant: {e}"))?;
        let missing = |what: &str| format!("the example tenant has no {what}");
        let resources = root["resources"]
            .as_array()
            .ok_or_else(|| missing("resources"))?;
        let of_type = |t: &str| -> Vec<Value> {
            resources
                .iter()
                .filter(|r| r["type"].as_str() == Some(t))
                .cloned()
                .collect()
        };
        let mut shared = of_type("Microsoft.Authorization/policyDefinitions");
        shared.extend(of_type("Microsoft.Authorization/policySetDefinitions"));
        shared.extend(of_type("Microsoft.Security/assessmentMetadata"));
        let pricings: Vec<Value> = of_type("Microsoft.Security/pricings")
            .into_iter()
            .filter(|p| {
                p["id"].as_str().is_some_and(|id| {
                    id.starts_with("/subscriptions/11111111-1111-4111-8111-111111111111/providers/")
                })
            })
            .collect();
        if pricings.is_empty() {
            return Err(missing("subscription-level pricings of contoso-corp-prod"));
        }
        let by_id = resources
            .iter()
            .filter_map(|r| Some((r["id"].as_str()?.to_ascii_lowercase(), r.clone())))
            .collect();
        Ok(Templates {
            tenant_id: root["tenant_id"]
                .as_str()
                .ok_or_else(|| missing("tenant_id"))?
                .to_string(),
            subscription: root["subscriptions"][0]["subscription"].clone(),
            clients: root["clients"].clone(),
            static_tokens: root["static_tokens"].clone(),
            by_id,
            shared,
            assignments: of_type("Microsoft.Authorization/policyAssignments"),
            pricings,
            policy_states: of_type("Microsoft.PolicyInsights/policyStates"),
        })
    }

    /// The example object whose ID ends with `suffix` (case-insensitive), as a fresh copy.
    fn ending(&self, suffix: &str) -> Result<Value, String> {
        let suffix = suffix.to_ascii_lowercase();
        let mut found: Vec<(&String, &Value)> = self
            .by_id
            .iter()
            .filter(|(id, _)| id.ends_with(&suffix))
            .collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        found
            .first()
            .map(|(_, v)| (*v).clone())
            .ok_or_else(|| format!("the example tenant has no object ending '{suffix}'"))
    }

    fn assignment(&self, name: &str) -> Result<Value, String> {
        self.assignments
            .iter()
            .find(|a| a["name"].as_str() == Some(name))
            .cloned()
            .ok_or_else(|| format!("the example tenant has no policy assignment '{name}'"))
    }
}

/// Copies of the example objects the builder clones per generated object, looked up once.
struct Shapes {
    cluster: Value,
    registry: Value,
    connection: Value,
    token: Value,
    scale_set: Value,
    machine: Value,
    resource_pricing: Value,
    role: Value,
    exemption: Value,
    vnet: Value,
    route_table: Value,
    nsg: Value,
    private_endpoint: Value,
    zone_group: Value,
    zone: Value,
    zone_link: Value,
    diagnostic: Value,
    assessment: Value,
    versions: Value,
}

impl Shapes {
    fn new(t: &Templates) -> Result<Shapes, String> {
        Ok(Shapes {
            cluster: t.ending("/managedClusters/aks-corp-prod")?,
            registry: t.ending("/registries/acrcontosocorpprod")?,
            connection: t.ending("/privateEndpointConnections/pe-acrcontosocorpprod.1f2e3d")?,
            token: t.ending("/tokens/ci-pull")?,
            scale_set: t.ending("MC_rg-aks-prod_aks-corp-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-system-12345678-vmss")?,
            machine: t.ending("/virtualMachines/vm-jumpbox-01")?,
            resource_pricing: t.ending("aks-corp-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-system-12345678-vmss/providers/Microsoft.Security/pricings/VirtualMachines")?,
            role: t.ending("/roleAssignments/e5e5e5e5-0000-4000-8000-000000000001")?,
            exemption: t.ending("/policyExemptions/dfs-aks-only")?,
            vnet: t.ending("/virtualNetworks/vnet-aks-corp-prod")?,
            route_table: t.ending("/routeTables/rt-aks-corp-prod")?,
            nsg: t.ending("/networkSecurityGroups/nsg-aks-corp-prod")?,
            private_endpoint: t.ending("/privateEndpoints/pe-acrcontosocorpprod")?,
            zone_group: t.ending("/privateEndpoints/pe-acrcontosocorpprod/privateDnsZoneGroups/default")?,
            zone: t.ending("/privateDnsZones/privatelink.azurecr.io")?,
            zone_link: t.ending("/virtualNetworkLinks/link-aks-corp-prod")?,
            diagnostic: t.ending("/managedClusters/aks-corp-prod/providers/microsoft.insights/diagnosticSettings/aks-audit")?,
            assessment: t.ending(&format!("/managedClusters/aks-corp-prod/providers/Microsoft.Security/assessments/{RUNNING_IMAGES_VA}"))?,
            versions: t.ending("/locations/westeurope/kubernetesVersions")?,
        })
    }
}

fn mg_id(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

fn group(suffix: &str) -> String {
    format!("{PREFIX}-{suffix}")
}

/// A registry a cluster may be granted pull on.
#[derive(Clone, Debug)]
struct Registry {
    id: String,
    rg_id: String,
    abac: bool,
}

/// A landing-zone subscription as the tenant-wide parts need it.
struct Landing {
    id: String,
    corp: bool,
    disabled: bool,
}

struct Builder<'a> {
    spec: &'a Spec,
    t: &'a Templates,
    shapes: Shapes,
    resources: Vec<Value>,
    subscriptions: Vec<Value>,
    connectivity: String,
    management: String,
    hub_vnet: String,
    zone: String,
    workspace: String,
    pipeline: String,
    admins_group: String,
    /// Spoke VNets peered with the hub, for the hub's peerings.
    spokes: Vec<String>,
    landings: Vec<Landing>,
    /// Metadata display names, by assessment key.
    severities: HashMap<String, String>,
    /// AKS-only subscriptions so far, which deals their Defender scenarios.
    aks_only_dealt: usize,
}

impl<'a> Builder<'a> {
    fn new(spec: &'a Spec, t: &'a Templates) -> Result<Builder<'a>, String> {
        let seed = spec.seed;
        let connectivity = guid_from(&format!("{seed}/subscription/connectivity"));
        let management = guid_from(&format!("{seed}/subscription/management"));
        let hub_vnet = format!(
            "/subscriptions/{connectivity}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"
        );
        let zone = format!(
            "/subscriptions/{connectivity}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
        );
        let workspace = format!(
            "/subscriptions/{management}/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law-{PREFIX}"
        );
        let severities = t
            .shared
            .iter()
            .filter(|m| m["type"] == "Microsoft.Security/assessmentMetadata")
            .filter_map(|m| {
                Some((
                    m["name"].as_str()?.to_string(),
                    m["properties"]["displayName"].as_str()?.to_string(),
                ))
            })
            .collect();
        Ok(Builder {
            spec,
            t,
            shapes: Shapes::new(t)?,
            resources: Vec::new(),
            subscriptions: Vec::new(),
            connectivity,
            management,
            hub_vnet,
            zone,
            workspace,
            pipeline: guid_from(&format!("{seed}/principal/pipeline")),
            admins_group: guid_from(&format!("{seed}/principal/aks-admins")),
            spokes: Vec::new(),
            landings: Vec::new(),
            severities,
            aks_only_dealt: seed as usize % 4,
        })
    }

    fn build(mut self) -> Value {
        let groups = vec![
            json!({"name": PREFIX, "display_name": "Azure Landing Zones", "parent": self.t.tenant_id}),
            json!({"name": group("platform"), "display_name": "Platform", "parent": PREFIX}),
            json!({"name": group("connectivity"), "display_name": "Connectivity", "parent": group("platform")}),
            json!({"name": group("management"), "display_name": "Management", "parent": group("platform")}),
            json!({"name": group("landingzones"), "display_name": "Landing Zones", "parent": PREFIX}),
            json!({"name": group("corp"), "display_name": "Corp", "parent": group("landingzones")}),
            json!({"name": group("online"), "display_name": "Online", "parent": group("landingzones")}),
        ];
        let connectivity = self.connectivity.clone();
        let management = self.management.clone();
        self.subscription(
            &connectivity,
            "platform-connectivity",
            &group("connectivity"),
            false,
        );
        self.subscription(
            &management,
            "platform-management",
            &group("management"),
            false,
        );
        self.platform();

        let mut previous: Option<Registry> = None;
        for index in 0..self.spec.subscriptions {
            previous = self.landing_zone(index, previous);
        }
        self.hub();
        self.tenant_wide();

        let mut shared = self.t.shared.clone();
        shared.append(&mut self.resources);
        json!({
            "tenant_id": self.t.tenant_id,
            "management_groups": groups,
            "subscriptions": self.subscriptions,
            "resources": shared,
            "clients": self.t.clients,
            "static_tokens": self.t.static_tokens,
        })
    }

    fn subscription(&mut self, guid: &str, name: &str, group: &str, disabled: bool) {
        let body = patched(
            self.t.subscription.clone(),
            json!({
                "id": format!("/subscriptions/{guid}"),
                "subscriptionId": guid,
                "tenantId": self.t.tenant_id,
                "displayName": name,
                "state": if disabled { "Disabled" } else { "Enabled" },
            }),
        );
        self.subscriptions
            .push(json!({"management_group": group, "subscription": body}));
    }

    /// The management subscription's jumpbox and both platform subscriptions' Defender plans.
    fn platform(&mut self) {
        let management = self.management.clone();
        let connectivity = self.connectivity.clone();
        self.vm(&management, "rg-jumpbox", "vm-jumpbox-01");
        let servers = json!({"pricingTier": "Standard", "subPlan": "P2"});
        self.pricings(&management, Containers::Off, &servers);
        self.pricings(&connectivity, Containers::Off, &servers);
    }

    /// The hub VNet (peered with every spoke) and the registry zone, written once the spokes
    /// are known.
    fn hub(&mut self) {
        let peerings: Vec<Value> = self
            .spokes
            .iter()
            .enumerate()
            .map(|(i, spoke)| {
                json!({
                    "name": format!("to-spoke-{:04}", i + 1),
                    "id": format!("{}/virtualNetworkPeerings/to-spoke-{:04}", self.hub_vnet, i + 1),
                    "properties": {"provisioningState": "Succeeded", "peeringState": "Connected",
                        "remoteVirtualNetwork": {"id": spoke}, "allowVirtualNetworkAccess": true,
                        "allowForwardedTraffic": true, "useRemoteGateways": false}
                })
            })
            .collect();
        let hub = self.hub_vnet.clone();
        let subnet = |name: &str, prefix: &str| {
            json!({"name": name, "id": format!("{hub}/subnets/{name}"),
                   "type": "Microsoft.Network/virtualNetworks/subnets",
                   "properties": {"provisioningState": "Succeeded", "addressPrefix": prefix}})
        };
        let vnet = patched(
            self.shapes.vnet.clone(),
            json!({
                "id": hub, "name": "vnet-hub",
                "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/20"]},
                    "dhcpOptions": {"dnsServers": []},
                    "subnets": [subnet("AzureFirewallSubnet", "10.0.1.0/26"),
                                subnet("snet-dns-resolver", "10.0.1.64/28")],
                    "virtualNetworkPeerings": peerings}
            }),
        );
        self.resources.push(vnet);
        let zone = patched(
            self.shapes.zone.clone(),
            json!({"id": self.zone, "properties": {"numberOfVirtualNetworkLinks": self.spokes.len() + 1}}),
        );
        self.resources.push(zone);
        self.zone_link("hub", &self.hub_vnet.clone());
    }

    fn zone_link(&mut self, name: &str, vnet: &str) {
        let link = patched(
            self.shapes.zone_link.clone(),
            json!({
                "id": format!("{}/virtualNetworkLinks/link-{name}", self.zone),
                "name": format!("link-{name}"),
                "properties": {"virtualNetwork": {"id": vnet}}
            }),
        );
        self.resources.push(link);
    }

    /// What spans the landing zones: the ALZ assignments at management groups (with
    /// `notScopes` drawn over them), the audit-only re-assignments of an excluded guardrail,
    /// and the supported Kubernetes versions of every location clusters are put in.
    fn tenant_wide(&mut self) {
        let mut rng = Rng::new(self.spec.seed, "tenant");
        let enabled: Vec<&Landing> = self.landings.iter().filter(|l| !l.disabled).collect();
        // Each exclusion list takes a share of the candidates, and at least one of five or
        // more, so that every tenant of a useful size shows the "excluded" outcome.
        let mut pick = |p: f64, corp_only: Option<bool>| -> Vec<String> {
            let candidates: Vec<&&Landing> = enabled
                .iter()
                .filter(|l| corp_only.is_none_or(|c| l.corp == c))
                .collect();
            let mut chosen: Vec<String> = candidates
                .iter()
                .filter(|_| rng.chance(p))
                .map(|l| l.id.clone())
                .collect();
            if chosen.is_empty() && candidates.len() >= 5 {
                chosen.push(candidates[rng.below(candidates.len())].id.clone());
            }
            chosen
        };
        let mdfc = pick(0.05, None);
        let https = pick(0.08, None);
        let baseline = pick(0.15, Some(false));
        for mut assignment in self.t.assignments.clone() {
            let scope = assignment["properties"]["scope"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !scope.starts_with("/providers/") {
                continue;
            }
            let not_scopes = match assignment["name"].as_str().unwrap_or_default() {
                "Deploy-MDFC-Config-H224" => mdfc.clone(),
                "Enforce-AKS-HTTPS" => https.clone(),
                "Audit-Pod-Baseline" => baseline.clone(),
                _ => Vec::new(),
            };
            merge(
                &mut assignment,
                json!({"properties": {"notScopes": not_scopes}}),
            );
            self.resources.push(assignment);
        }
        // The HTTPS guardrail re-assigned, audit-only, by every other team it excludes (as
        // contoso-corp-dev does); the first stays unguarded.
        for (i, sub) in https.iter().enumerate() {
            if i % 2 == 1
                && let Ok(a) = self.sub_assignment("Enforce-AKS-HTTPS-dev", sub)
            {
                self.resources.push(a);
            }
        }
        let versions = self.shapes.versions.clone();
        for (location, _) in LOCATIONS {
            self.resources.push(patched(
                versions.clone(),
                json!({"id": format!("/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions")}),
            ));
        }
    }

    /// The example's subscription-level assignment `name`, re-homed at `sub`.
    fn sub_assignment(&self, name: &str, sub: &str) -> Result<Value, String> {
        let template = self.t.assignment(name)?;
        Ok(patched(
            template,
            json!({
                "id": format!("{sub}/providers/Microsoft.Authorization/policyAssignments/{name}"),
                "properties": {"scope": sub, "notScopes": []}
            }),
        ))
    }

    fn vm(&mut self, sub: &str, rg: &str, name: &str) {
        let vm = patched(
            self.shapes.machine.clone(),
            json!({
                "id": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"),
                "name": name,
            }),
        );
        self.resources.push(vm);
    }

    /// The subscription's Defender plans: the example's list with `Containers` and
    /// `VirtualMachines` set as drawn.
    fn pricings(&mut self, sub: &str, containers: Containers, servers: &Value) {
        for template in &self.t.pricings {
            let name = template["name"].as_str().unwrap_or_default().to_string();
            let mut body = patched(
                template.clone(),
                json!({"id": format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}")}),
            );
            match name.as_str() {
                "Containers" => containers.apply(&mut body),
                "VirtualMachines" => {
                    if servers["pricingTier"] == "Free" {
                        merge(
                            &mut body,
                            json!({"properties": {"subPlan": null, "enablementTime": null}}),
                        );
                    } else {
                        merge(
                            &mut body,
                            json!({"properties": {"enablementTime": "2025-01-01T00:00:00Z"}}),
                        );
                    }
                    merge(&mut body, json!({"properties": servers}));
                }
                _ => {}
            }
            self.resources.push(body);
        }
    }

    fn role(&mut self, scope: &str, role: &str, principal: &str, principal_type: &str) {
        let sub = scope
            .strip_prefix("/subscriptions/")
            .and_then(|s| s.split('/').next())
            .unwrap_or(&self.management)
            .to_string();
        let name = guid_from(&format!("{scope}|{role}|{principal}"));
        let body = patched(
            self.shapes.role.clone(),
            json!({
                "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                "name": name,
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": principal, "principalType": principal_type, "scope": scope
                }
            }),
        );
        self.resources.push(body);
    }

    fn diagnostic(&mut self, resource: &str, name: &str, logs: &[(&str, bool)]) {
        let logs: Vec<Value> = logs
            .iter()
            .map(|(value, is_group)| {
                let key = if *is_group {
                    "categoryGroup"
                } else {
                    "category"
                };
                let mut log =
                    json!({"enabled": true, "retentionPolicy": {"enabled": false, "days": 0}});
                log[key] = json!(value);
                log
            })
            .collect();
        let body = patched(
            self.shapes.diagnostic.clone(),
            json!({
                "id": format!("{resource}/providers/microsoft.insights/diagnosticSettings/{name}"),
                "name": name,
                "properties": {"workspaceId": self.workspace, "logs": logs}
            }),
        );
        self.resources.push(body);
    }

    fn assessment(&mut self, resource: &str, key: &str, code: &str) {
        let display = self.severities.get(key).cloned().unwrap_or_default();
        let body = patched(
            self.shapes.assessment.clone(),
            json!({
                "id": format!("{resource}/providers/Microsoft.Security/assessments/{key}"),
                "name": key,
                "properties": {"resourceDetails": {"Id": resource}, "displayName": display,
                               "status": {"code": code}}
            }),
        );
        self.resources.push(body);
    }

    /// One landing-zone subscription and everything in it. `previous` is the previous
    /// subscription's first registry, which some of this subscription's clusters pull from
    /// (a registry shared across subscriptions); returns this subscription's.
    fn landing_zone(&mut self, index: usize, previous: Option<Registry>) -> Option<Registry> {
        let seed = self.spec.seed;
        let mut rng = Rng::new(seed, &format!("subscription/{index}"));
        let guid = guid_from(&format!("{seed}/subscription/{index}"));
        let sub = format!("/subscriptions/{guid}");
        let corp = rng.chance(0.5);
        let archetype = if corp { "corp" } else { "online" };
        // A few are retired; the last one of a tenant of ten or more always is, so every
        // generated tenant of that size shows lzaudit skipping one.
        let disabled = rng.chance(0.03) || (self.spec.subscriptions >= 10 && index == 9);
        let name = format!("{archetype}-lz-{:04}", index + 1);
        self.subscription(&guid, &name, &group(archetype), disabled);
        self.landings.push(Landing {
            id: sub.clone(),
            corp,
            disabled,
        });
        if disabled {
            return previous;
        }
        let short = format!("{:04}", index + 1);

        // Network: one spoke per subscription, a node subnet per cluster.
        let clusters = rng.poisson(self.spec.clusters_per_subscription);
        let registries = rng.poisson(self.spec.registries_per_subscription);
        let net = Net::draw(&mut rng, &sub, index);
        self.spokes.push(net.vnet.clone());
        if net.linked {
            self.zone_link(&format!("spoke-{short}"), &net.vnet.clone());
        }
        self.network(&net, clusters);

        // Defender plans. An AKS-only subscription (no VM of its own) is where Defender
        // for Servers on the nodes is a cost question (AKS-040).
        let aks_only = clusters > 0 && rng.chance(0.3);
        // AKS-only subscriptions are few; their Defender for Servers scenarios are dealt in
        // turn (billed nodes, drift, exempted, nodes excluded) rather than drawn, so that a
        // small tenant shows each of them.
        let scenario = if aks_only {
            self.aks_only_dealt += 1;
            Some(self.aks_only_dealt % 4)
        } else {
            None
        };
        let containers = rng.weighted(&[
            (Containers::Gated, 0.3),
            (Containers::On, 0.3),
            (Containers::NoSensor, 0.15),
            (Containers::Off, 0.25),
        ]);
        let servers_standard = match scenario {
            Some(n) => n == 0 || n == 3,
            None => rng.chance(0.5),
        };
        let servers = if servers_standard {
            json!({"pricingTier": "Standard", "subPlan": "P2"})
        } else {
            json!({"pricingTier": "Free"})
        };
        self.pricings(&guid, containers, &servers);
        // Node scale sets inherit the subscription plan unless excluded.
        let nodes_excluded = scenario == Some(3);
        if scenario == Some(2) {
            let body = patched(
                self.shapes.exemption.clone(),
                json!({
                    "id": format!("{sub}/providers/Microsoft.Authorization/policyExemptions/dfs-aks-only"),
                    "properties": {"policyAssignmentId": mg_id(PREFIX) + "/providers/Microsoft.Authorization/policyAssignments/Deploy-MDFC-Config-H224"}
                }),
            );
            self.resources.push(body);
        }
        if rng.chance(0.04) {
            // A waiver of a guardrail without an expiry date (AKS-004's fail).
            let body = patched(
                self.shapes.exemption.clone(),
                json!({
                    "id": format!("{sub}/providers/Microsoft.Authorization/policyExemptions/privileged-waiver"),
                    "name": "privileged-waiver",
                    "properties": {
                        "policyAssignmentId": mg_id(&group("landingzones")) + "/providers/Microsoft.Authorization/policyAssignments/Deny-Privileged-AKS",
                        "policyDefinitionReferenceIds": [], "expiresOn": null,
                        "displayName": "Legacy workloads need privileged containers",
                        "description": "Waiver requested by the application team",
                        "metadata": {"reason": "legacy"}
                    }
                }),
            );
            self.resources.push(body);
        }
        if !aks_only {
            for n in 0..1 + rng.below(2) {
                self.vm(&guid, "rg-app", &format!("vm-app-{:02}", n + 1));
            }
        }

        // Subscription-level policy and role assignments.
        let extra: &[&str] = if corp {
            &[
                "Deny-AppArmor-Unconfined",
                "Deny-Writable-RootFS",
                "Audit-Image-Signatures",
            ]
        } else {
            &["AKS-Deployment-Safeguards", "Enforce-Image-Source-Api"]
        };
        for name in extra {
            if rng.chance(0.3)
                && let Ok(a) = self.sub_assignment(name, &sub)
            {
                self.resources.push(a);
            }
        }
        if rng.chance(0.5) {
            let group_id = self.admins_group.clone();
            self.role(&sub, CONTRIBUTOR, &group_id, "Group");
        }
        if rng.chance(0.1) {
            let user = guid_from(&format!("{seed}/user/{index}/owner"));
            self.role(&sub, OWNER, &user, "User");
        }

        // Registries, then clusters pulling from them.
        let mut own: Vec<Registry> = Vec::new();
        for r in 0..registries {
            own.push(self.registry(&mut rng, &guid, &short, archetype, r, &net, containers));
        }
        for k in 0..clusters {
            self.cluster(
                &mut rng,
                ClusterCtx {
                    guid: &guid,
                    short: &short,
                    corp,
                    index: k,
                    net: &net,
                    own: &own,
                    previous: previous.as_ref(),
                    servers_standard,
                    nodes_excluded,
                    containers,
                },
            );
        }
        own.into_iter().next().or(previous)
    }

    fn network(&mut self, net: &Net, clusters: usize) {
        let subnet = |name: &str, prefix: String, extra: Value| {
            patched(
                json!({"name": name, "id": format!("{}/subnets/{name}", net.vnet),
                       "type": "Microsoft.Network/virtualNetworks/subnets",
                       "properties": {"provisioningState": "Succeeded", "addressPrefix": prefix}}),
                json!({"properties": extra}),
            )
        };
        let mut subnets: Vec<Value> = (0..clusters.min(Net::NODE_SUBNETS))
            .map(|k| {
                let mut extra = json!({"networkSecurityGroup": {"id": net.nsg}});
                if net.routed.get(k).copied().unwrap_or(true) {
                    extra["routeTable"] = json!({"id": net.route_table});
                }
                subnet(&Net::node_subnet_name(k), net.prefix(k as u32), extra)
            })
            .collect();
        subnets.push(subnet(
            "snet-pe",
            net.prefix(Net::NODE_SUBNETS as u32),
            json!({"privateEndpointNetworkPolicies": "Disabled"}),
        ));
        let dns: Vec<&str> = if net.custom_dns {
            vec![HUB_RESOLVER_IP]
        } else {
            Vec::new()
        };
        let vnet = patched(
            self.shapes.vnet.clone(),
            json!({
                "id": net.vnet, "name": "vnet-spoke",
                "properties": {
                    "addressSpace": {"addressPrefixes": [net.space()]},
                    "dhcpOptions": {"dnsServers": dns},
                    "subnets": subnets,
                    "virtualNetworkPeerings": [{
                        "name": "to-hub", "id": format!("{}/virtualNetworkPeerings/to-hub", net.vnet),
                        "properties": {"provisioningState": "Succeeded", "peeringState": "Connected",
                            "remoteVirtualNetwork": {"id": self.hub_vnet}, "allowVirtualNetworkAccess": true,
                            "allowForwardedTraffic": true, "useRemoteGateways": false}
                    }]
                }
            }),
        );
        self.resources.push(vnet);
        let (hop, ip) = if net.via_firewall {
            ("VirtualAppliance", json!(FIREWALL_IP))
        } else {
            ("Internet", Value::Null)
        };
        let route_id = format!("{}/routes/default", net.route_table);
        self.resources.push(patched(
            self.shapes.route_table.clone(),
            json!({
                "id": net.route_table, "name": "rt-spoke",
                "properties": {"routes": [{"name": "default", "id": route_id, "properties": {
                    "provisioningState": "Succeeded", "addressPrefix": "0.0.0.0/0",
                    "nextHopType": hop, "nextHopIpAddress": ip}}]}
            }),
        ));
        let rule = |name: &str, priority: u32, port: &str, source: &str| {
            json!({"name": name, "id": format!("{}/securityRules/{name}", net.nsg),
                   "properties": {"provisioningState": "Succeeded", "protocol": "Tcp",
                       "sourcePortRange": "*", "destinationAddressPrefix": "*", "access": "Allow",
                       "priority": priority, "direction": "Inbound",
                       "destinationPortRange": port, "sourceAddressPrefix": source}})
        };
        let mut rules = vec![rule("allow-https-from-hub", 200, "443", "10.0.0.0/20")];
        if net.ssh_open {
            rules.push(rule("allow-ssh-anywhere", 300, "22", "Internet"));
        }
        self.resources.push(patched(
            self.shapes.nsg.clone(),
            json!({"id": net.nsg, "name": "nsg-spoke", "properties": {"securityRules": rules}}),
        ));
    }

    #[allow(clippy::too_many_arguments)]
    fn registry(
        &mut self,
        rng: &mut Rng,
        guid: &str,
        short: &str,
        archetype: &str,
        r: usize,
        net: &Net,
        containers: Containers,
    ) -> Registry {
        let name = format!("acr{archetype}{short}r{}", r + 1);
        let rg = format!("/subscriptions/{guid}/resourceGroups/rg-acr");
        let id = format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{name}");
        let premium = rng.chance(0.6);
        let status = |on: bool| if on { "enabled" } else { "disabled" };
        let mut body = patched(
            self.shapes.registry.clone(),
            json!({
                "id": id, "name": name,
                "tags": {"key": null, "environment": if rng.chance(0.5) { "prod" } else { "nonprod" }},
                "properties": {
                    "loginServer": format!("{name}.azurecr.io"),
                    "privateEndpointConnections": [],
                    "policies": {
                        "exportPolicy": {"status": status(rng.chance(0.4))},
                        "azureADAuthenticationAsArmPolicy": {"status": status(rng.chance(0.4))},
                    }
                }
            }),
        );
        let abac = premium && rng.chance(0.12);
        if premium {
            let public = rng.chance(0.4);
            merge(
                &mut body,
                json!({"properties": {
                    "publicNetworkAccess": if public { "Enabled" } else { "Disabled" },
                    "networkRuleSet": {"defaultAction": if public && rng.chance(0.3) { "Allow" } else { "Deny" }},
                    "networkRuleBypassOptions": if rng.chance(0.8) { "AzureServices" } else { "None" },
                    "policies": {"retentionPolicy": {"status": status(rng.chance(0.6))}},
                    "roleAssignmentMode": if abac { json!("AbacRepositoryPermissions") } else { Value::Null },
                }}),
            );
            if rng.chance(0.85) {
                let connection = self.private_endpoint(rng, &id, &name, net);
                body["properties"]["privateEndpointConnections"] = json!([connection]);
            }
        } else {
            let sku = if rng.chance(0.6) { "Standard" } else { "Basic" };
            merge(
                &mut body,
                json!({
                    "sku": {"name": sku, "tier": sku},
                    "properties": {
                        "networkRuleSet": null, "networkRuleBypassOptions": null,
                        "publicNetworkAccess": "Enabled",
                        "adminUserEnabled": rng.chance(0.25),
                        "anonymousPullEnabled": if rng.chance(0.1) { json!(true) } else { Value::Null },
                        "policies": {"retentionPolicy": {"status": "disabled", "days": 7}},
                    }
                }),
            );
        }
        self.resources.push(body);

        if rng.chance(0.3) {
            let token = patched(
                self.shapes.token.clone(),
                json!({
                    "id": format!("{id}/tokens/ci-pull"),
                    "properties": {"scopeMapId": format!("{id}/scopeMaps/_repositories_pull"),
                                   "status": status(rng.chance(0.6))}
                }),
            );
            self.resources.push(token);
        }
        match rng.weighted(&[(0, 0.3), (1, 0.3), (2, 0.2), (3, 0.2)]) {
            0 => self.diagnostic(&id, "acr-audit", &[("allLogs", true)]),
            1 => self.diagnostic(
                &id,
                "acr-events",
                &[
                    ("ContainerRegistryLoginEvents", false),
                    ("ContainerRegistryRepositoryEvents", false),
                ],
            ),
            2 => self.diagnostic(
                &id,
                "acr-logins",
                &[("ContainerRegistryLoginEvents", false)],
            ),
            _ => {}
        }
        // Defender scans registries only under a Containers plan with registry assessment.
        if containers.scans_registries() || rng.chance(0.2) {
            let code = if rng.chance(0.6) {
                "Healthy"
            } else {
                "Unhealthy"
            };
            self.assessment(&id, REGISTRY_IMAGES_VA, code);
        }
        let pipeline = self.pipeline.clone();
        self.role(&id, ACR_PUSH, &pipeline, "ServicePrincipal");
        if rng.chance(0.2) {
            let user = guid_from(&format!("{id}/developer"));
            self.role(&id, ACR_PUSH, &user, "User");
        }
        if rng.chance(0.1) {
            let team = guid_from(&format!("{id}/team"));
            self.role(&id, ACR_PUSH, &team, "Group");
        }
        Registry {
            id,
            rg_id: rg,
            abac,
        }
    }

    /// A Premium registry's private endpoint in the spoke's `snet-pe`, its DNS zone group
    /// (usually), and the registry's connection to it; returns the connection as the
    /// registry embeds it.
    fn private_endpoint(&mut self, rng: &mut Rng, registry: &str, name: &str, net: &Net) -> Value {
        let pe = format!(
            "{}/providers/Microsoft.Network/privateEndpoints/pe-{name}",
            net.rg
        );
        let connection_name = format!("pe-{name}.{}", rng.hex(6));
        let approved = rng.chance(0.85);
        let state = if approved { "Approved" } else { "Pending" };
        let ip = format!("{}.{}", net.pe_base(), 4 + rng.below(200));
        let connection = patched(
            self.shapes.connection.clone(),
            json!({
                "id": format!("{registry}/privateEndpointConnections/{connection_name}"),
                "name": connection_name,
                "properties": {"privateEndpoint": {"id": pe},
                    "privateLinkServiceConnectionState": {"status": state, "description": state}}
            }),
        );
        self.resources.push(connection.clone());
        let endpoint = patched(
            self.shapes.private_endpoint.clone(),
            json!({
                "id": pe, "name": format!("pe-{name}"),
                "properties": {
                    "subnet": {"id": format!("{}/subnets/snet-pe", net.vnet)},
                    "privateLinkServiceConnections": [{
                        "id": format!("{pe}/privateLinkServiceConnections/{connection_name}"),
                        "properties": {"privateLinkServiceId": registry, "groupIds": ["registry"],
                            "privateLinkServiceConnectionState": {"status": state, "description": state, "actionsRequired": "None"}}
                    }],
                    "networkInterfaces": [{"id": format!("{}/providers/Microsoft.Network/networkInterfaces/pe-{name}.nic", net.rg)}],
                    "customDnsConfigs": [{"fqdn": format!("{name}.azurecr.io"), "ipAddresses": [ip]}],
                }
            }),
        );
        self.resources.push(endpoint);
        if rng.chance(0.9) {
            let zone_group = patched(
                self.shapes.zone_group.clone(),
                json!({
                    "id": format!("{pe}/privateDnsZoneGroups/default"),
                    "properties": {"privateDnsZoneConfigs": [{
                        "name": "privatelink-azurecr-io",
                        "properties": {"privateDnsZoneId": self.zone, "recordSets": [{
                            "recordType": "A", "recordSetName": name,
                            "fqdn": format!("{name}.privatelink.azurecr.io"), "ttl": 10,
                            "ipAddresses": [ip]}]}
                    }]}
                }),
            );
            self.resources.push(zone_group);
        }
        connection
    }

    fn cluster(&mut self, rng: &mut Rng, c: ClusterCtx<'_>) {
        let seed = self.spec.seed;
        let name = format!("aks-{}-{:02}", c.short, c.index + 1);
        let rg_name = format!("rg-aks-{:02}", c.index + 1);
        let rg = format!("/subscriptions/{}/resourceGroups/{rg_name}", c.guid);
        let id = format!("{rg}/providers/Microsoft.ContainerService/managedClusters/{name}");
        let location = rng.weighted(LOCATIONS);
        let node_rg = format!("MC_{rg_name}_{name}_{location}");
        let node_rg_id = format!("/subscriptions/{}/resourceGroups/{node_rg}", c.guid);
        let subnet = format!(
            "{}/subnets/{}",
            c.net.vnet,
            Net::node_subnet_name(c.index % Net::NODE_SUBNETS)
        );
        let kubelet = guid_from(&format!("{seed}/kubelet/{id}"));
        let tenant = &self.t.tenant_id;

        // API server exposure: private in most corp clusters.
        let exposure = if c.corp {
            rng.weighted(&[("private", 0.65), ("ranges", 0.2), ("open", 0.15)])
        } else {
            rng.weighted(&[
                ("private", 0.15),
                ("ranges", 0.45),
                ("anywhere", 0.1),
                ("open", 0.3),
            ])
        };
        let api_server = match exposure {
            "private" => {
                json!({"enablePrivateCluster": true, "privateDNSZone": "system", "enablePrivateClusterPublicFQDN": false, "disableRunCommand": rng.chance(0.6)})
            }
            "ranges" => {
                json!({"authorizedIPRanges": ["203.0.113.0/24", "198.51.100.16/28"], "disableRunCommand": rng.chance(0.4)})
            }
            "anywhere" => json!({"authorizedIPRanges": ["0.0.0.0/0"]}),
            _ => json!({}),
        };
        let entra = rng.chance(0.85);
        let azure_rbac = entra && rng.chance(0.65);
        let enable_rbac = !rng.chance(0.06);
        let version = rng.weighted(&[
            (("1.33", "1.33.3", "KubernetesOfficial"), 0.3),
            (("1.33", "1.33.2", "KubernetesOfficial"), 0.2),
            (("1.32", "1.32.7", "KubernetesOfficial"), 0.2),
            (("1.31", "1.31.11", "KubernetesOfficial"), 0.12),
            (("1.30", "1.30.14", "AKSLongTermSupport"), 0.06),
            (("1.29", "1.29.15", "KubernetesOfficial"), 0.12),
        ]);
        let outbound = rng.weighted(&[
            ("userDefinedRouting", if c.corp { 0.6 } else { 0.25 }),
            ("loadBalancer", 0.35),
            ("managedNATGateway", 0.1),
            ("none", 0.03),
        ]);
        let network_policy = rng.weighted(&[
            (Some("cilium"), 0.4),
            (Some("azure"), 0.2),
            (Some("calico"), 0.1),
            (Some("none"), 0.1),
            (None, 0.2),
        ]);
        let (upgrade, node_os) = (
            rng.weighted(&[
                ("stable", 0.35),
                ("patch", 0.25),
                ("rapid", 0.05),
                ("node-image", 0.1),
                ("none", 0.25),
            ]),
            rng.weighted(&[
                (Some("NodeImage"), 0.4),
                (Some("SecurityPatch"), 0.2),
                (Some("Unmanaged"), 0.15),
                (Some("None"), 0.1),
                (None, 0.15),
            ]),
        );
        let policy_addon = rng.chance(0.75);
        let service_principal = rng.chance(0.05);
        let mut addons = json!({"azurepolicy": {"enabled": policy_addon, "config": if policy_addon { json!({"version": "v2"}) } else { Value::Null }}});
        if rng.chance(0.6) {
            addons["azureKeyvaultSecretsProvider"] = json!({"enabled": true, "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"}});
        }
        if rng.chance(0.3) {
            addons["omsagent"] = json!({"enabled": true, "config": {"logAnalyticsWorkspaceResourceID": self.workspace}});
        }
        let workload_identity = rng.chance(0.6);
        let defender_on = rng.chance(0.6);
        let kms = rng.chance(0.35);
        let security = json!({
            "defender": if defender_on { json!({"logAnalyticsWorkspaceResourceId": self.workspace, "securityMonitoring": {"enabled": true}}) } else { Value::Null },
            "workloadIdentity": {"enabled": workload_identity},
            "imageCleaner": if rng.chance(0.5) { json!({"enabled": true, "intervalHours": 48}) } else { Value::Null },
            "azureKeyVaultKms": if kms { json!({"enabled": true, "keyVaultNetworkAccess": "Private",
                "keyId": format!("https://kv-{}.vault.azure.net/keys/etcd/0123456789abcdef", c.short),
                "keyVaultResourceId": format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-{}", c.short)}) } else { Value::Null },
            "imageIntegrity": if rng.chance(0.25) { json!({"enabled": true}) } else { Value::Null },
        });

        // Node pools: a system pool and user pools, each one VM scale set.
        let pools = 1 + rng.poisson(self.spec.node_pools_per_cluster - 1.0);
        let encrypt_all = rng.chance(0.6);
        let ssh = rng.weighted(&[
            (Some("Disabled"), 0.4),
            (Some("EntraId"), 0.1),
            (Some("LocalUser"), 0.2),
            (None, 0.3),
        ]);
        let taint_system = rng.chance(0.6);
        let mut profiles = Vec::new();
        let mut pool_names = Vec::new();
        for p in 0..pools {
            let system = p == 0;
            let pool = if system {
                "system".to_string()
            } else {
                format!("user{p}")
            };
            let windows = !system && rng.chance(0.1);
            let os_sku = if windows {
                "Windows2022"
            } else {
                rng.weighted(&[("AzureLinux", 0.6), ("Ubuntu", 0.4)])
            };
            let vm_size = if system {
                "Standard_D4ds_v5"
            } else {
                "Standard_D8ds_v5"
            };
            let mut profile = json!({
                "name": pool, "mode": if system { "System" } else { "User" },
                "count": 3, "vmSize": vm_size, "type": "VirtualMachineScaleSets",
                "osType": if windows { "Windows" } else { "Linux" }, "osSKU": os_sku,
                "orchestratorVersion": version.1, "currentOrchestratorVersion": version.1,
                "maxPods": 110, "availabilityZones": ["1", "2", "3"], "provisioningState": "Succeeded",
                "enableEncryptionAtHost": encrypt_all || rng.chance(0.5),
                "enableNodePublicIP": rng.chance(0.04),
                "vnetSubnetID": subnet,
            });
            if system && taint_system {
                profile["nodeTaints"] = json!(["CriticalAddonsOnly=true:NoSchedule"]);
            }
            if let Some(ssh) = ssh {
                profile["securityProfile"] = json!({"sshAccess": ssh});
            }
            profiles.push(profile);
            pool_names.push((pool, vm_size));
        }

        let mut body = patched(
            self.shapes.cluster.clone(),
            json!({
                "id": id, "name": name, "location": location,
                "tags": {"environment": if rng.chance(0.5) { "prod" } else { "nonprod" }},
                "identity": {"principalId": guid_from(&format!("{seed}/identity/{id}")), "tenantId": tenant},
                "properties": {
                    "agentPoolProfiles": profiles,
                    "kubernetesVersion": version.0, "currentKubernetesVersion": version.1,
                    "supportPlan": version.2,
                    "nodeResourceGroup": node_rg,
                    "dnsPrefix": name,
                    "fqdn": if exposure == "private" { Value::Null } else { json!(format!("{name}-{}.hcp.{location}.azmk8s.io", rng.hex(8))) },
                    "privateFQDN": if exposure == "private" { json!(format!("{name}-{}.privatelink.{location}.azmk8s.io", rng.hex(8))) } else { Value::Null },
                    "azurePortalFQDN": format!("{name}-{}.portal.hcp.{location}.azmk8s.io", rng.hex(8)),
                    "enableRBAC": enable_rbac,
                    "disableLocalAccounts": entra && rng.chance(0.6),
                    "aadProfile": if entra { json!({"managed": true, "enableAzureRBAC": azure_rbac, "tenantID": tenant, "adminGroupObjectIDs": [self.admins_group]}) } else { Value::Null },
                    "apiServerAccessProfile": Value::Null,
                    "addonProfiles": Value::Null,
                    "securityProfile": Value::Null,
                    "oidcIssuerProfile": {"enabled": workload_identity || rng.chance(0.3),
                        "issuerURL": format!("https://{location}.oic.prod-aks.azure.com/{tenant}/{}/", rng.hex(12))},
                    "autoUpgradeProfile": {"upgradeChannel": upgrade, "nodeOSUpgradeChannel": node_os},
                    "networkProfile": {"outboundType": outbound, "networkPolicy": network_policy,
                                       "networkDataplane": if network_policy == Some("cilium") { json!("cilium") } else { Value::Null }},
                    "nodeResourceGroupProfile": rng.weighted(&[
                        (Some("ReadOnly"), 0.4), (Some("Unrestricted"), 0.3), (None, 0.3)
                    ]).map(|level| json!({"restrictionLevel": level})),
                    "podIdentityProfile": if rng.chance(0.08) { json!({"enabled": true, "allowNetworkPluginKubenet": false}) } else { Value::Null },
                    "identityProfile": {"kubeletidentity": {
                        "resourceId": format!("{node_rg_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"),
                        "clientId": guid_from(&format!("{seed}/kubelet-client/{id}")),
                        "objectId": kubelet}},
                }
            }),
        );
        // Objects replaced as a whole, not merged into the template's.
        body["properties"]["apiServerAccessProfile"] = api_server;
        body["properties"]["addonProfiles"] = addons;
        merge(&mut body["properties"]["securityProfile"], security);
        if body["properties"]["securityProfile"]
            .as_object()
            .is_some_and(Map::is_empty)
        {
            body["properties"]
                .as_object_mut()
                .map(|p| p.remove("securityProfile"));
        }
        if service_principal {
            // A cluster deployed with a service principal: no managed identity, no kubelet
            // identity to grant pull to.
            merge(
                &mut body,
                json!({"identity": null, "properties": {"identityProfile": null,
                    "servicePrincipalProfile": {"clientId": guid_from(&format!("{seed}/sp/{id}"))}}}),
            );
        }
        if rng.chance(0.05) {
            // Some payloads spell the type this way (the official AKS examples do).
            body["type"] = json!("Microsoft.ContainerService/ManagedClusters");
        }
        self.resources.push(body);

        // Node infrastructure: one AKS-tagged scale set per pool, with its Defender plan.
        for (pool, vm_size) in &pool_names {
            let vmss = format!(
                "{node_rg_id}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{pool}-{}-vmss",
                &kubelet[..8]
            );
            self.resources.push(patched(
                self.shapes.scale_set.clone(),
                json!({
                    "id": vmss, "name": format!("aks-{pool}-{}-vmss", &kubelet[..8]), "location": location,
                    "tags": {"aks-managed-poolName": pool, "aks-managed-orchestrator": format!("Kubernetes:{}", version.1),
                             "aks-managed-createOperationID": guid_from(&format!("{vmss}/op"))},
                    "sku": {"name": vm_size},
                }),
            ));
            let standard = c.servers_standard && !c.nodes_excluded;
            let mut pricing = patched(
                self.shapes.resource_pricing.clone(),
                json!({
                    "id": format!("{vmss}/providers/Microsoft.Security/pricings/VirtualMachines"),
                    "properties": {
                        "pricingTier": if standard { "Standard" } else { "Free" },
                        "inherited": if c.nodes_excluded { "False" } else { "True" },
                        "inheritedFrom": if c.nodes_excluded { Value::Null } else { json!(format!("/subscriptions/{}", c.guid)) },
                    }
                }),
            );
            if !standard {
                merge(
                    &mut pricing,
                    json!({"properties": {"subPlan": null, "enablementTime": null}}),
                );
            }
            self.resources.push(pricing);
        }

        // Monitoring, Defender recommendations, policy compliance.
        match rng.weighted(&[(0, 0.45), (1, 0.15), (2, 0.1), (3, 0.3)]) {
            0 => self.diagnostic(
                &id,
                "aks-audit",
                &[("kube-audit-admin", false), ("guard", false)],
            ),
            1 => self.diagnostic(&id, "aks-audit", &[("kube-audit", false)]),
            2 => self.diagnostic(&id, "aks-all", &[("allLogs", true)]),
            _ => {}
        }
        if c.containers.assesses_clusters() || rng.chance(0.3) {
            let code = if rng.chance(0.6) {
                "Healthy"
            } else {
                "Unhealthy"
            };
            self.assessment(&id, RUNNING_IMAGES_VA, code);
            let mut assessed = Vec::new();
            for _ in 0..rng.below(3) {
                let key = CLUSTER_ASSESSMENTS[rng.below(CLUSTER_ASSESSMENTS.len())];
                if !assessed.contains(&key) {
                    assessed.push(key);
                    let code = if rng.chance(0.5) {
                        "Healthy"
                    } else {
                        "Unhealthy"
                    };
                    self.assessment(&id, key, code);
                }
            }
        }
        if policy_addon {
            self.policy_states(rng, &id, c.guid, &rg_name, c.corp);
        }

        // Who may pull and who may administer.
        if !service_principal {
            self.pull_grants(rng, &kubelet, &c);
        }
        if rng.chance(0.5) {
            let admins = self.admins_group.clone();
            self.role(&id, AKS_RBAC_CLUSTER_ADMIN, &admins, "Group");
        }
        if rng.chance(0.08) {
            let user = guid_from(&format!("{id}/admin-user"));
            self.role(&id, AKS_RBAC_CLUSTER_ADMIN, &user, "User");
        }
        if rng.chance(0.1) {
            let pipeline = self.pipeline.clone();
            self.role(&id, AKS_CLUSTER_ADMIN, &pipeline, "ServicePrincipal");
        }
        if rng.chance(0.08) {
            let user = guid_from(&format!("{id}/contributor"));
            self.role(&rg, CONTRIBUTOR, &user, "User");
        }
    }

    /// The kubelet identity's grants: pull on one of its subscription's registries (usually at
    /// the registry, sometimes wider; the wrong role on an ABAC registry now and then), on the
    /// previous subscription's registry (sharing), and rarely push (over-privileged).
    fn pull_grants(&mut self, rng: &mut Rng, kubelet: &str, c: &ClusterCtx<'_>) {
        if !c.own.is_empty() && rng.chance(0.85) {
            let registry = &c.own[rng.below(c.own.len())];
            let role = if registry.abac && rng.chance(0.7) {
                REPO_READER
            } else {
                ACR_PULL
            };
            let scope = match rng.weighted(&[(0, 0.8), (1, 0.1), (2, 0.1)]) {
                0 => registry.id.clone(),
                1 => registry.rg_id.clone(),
                _ => format!("/subscriptions/{}", c.guid),
            };
            self.role(&scope, role, kubelet, "ServicePrincipal");
            if rng.chance(0.05) {
                self.role(&registry.id, ACR_PUSH, kubelet, "ServicePrincipal");
            }
        }
        if let Some(shared) = c.previous
            && rng.chance(0.1)
        {
            let role = if shared.abac { REPO_READER } else { ACR_PULL };
            self.role(&shared.id, role, kubelet, "ServicePrincipal");
        }
    }

    /// Latest policy states of a cluster running the policy add-on, for the guardrails
    /// assigned above it: the example's rows re-homed, compliant or not as drawn.
    fn policy_states(&mut self, rng: &mut Rng, cluster: &str, guid: &str, rg: &str, corp: bool) {
        // The example's rows: 0 Deny-Privileged-AKS (landingzones), 1 Deny-Pod-Restricted
        // (corp), 3 Audit-Pod-Baseline (online).
        let rows: &[usize] = if corp { &[0, 1] } else { &[0, 3] };
        for (n, &row) in rows.iter().enumerate() {
            let Some(template) = self.t.policy_states.get(row) else {
                continue;
            };
            if n > 0 && rng.chance(0.3) {
                continue;
            }
            let compliant = rng.chance(0.75);
            let state = patched(
                template.clone(),
                json!({
                    "id": format!("{cluster}/providers/Microsoft.PolicyInsights/policyStates/{}", guid_from(&format!("{cluster}/state/{n}"))),
                    "@odata.context": format!("https://management.azure.com/subscriptions/{guid}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest/$entity"),
                    "resourceId": cluster, "subscriptionId": guid, "resourceGroup": rg,
                    "isCompliant": compliant,
                    "complianceState": if compliant { "Compliant" } else { "NonCompliant" },
                }),
            );
            self.resources.push(state);
        }
    }
}

/// What a cluster needs to know about its subscription.
struct ClusterCtx<'c> {
    guid: &'c str,
    short: &'c str,
    corp: bool,
    index: usize,
    net: &'c Net,
    own: &'c [Registry],
    previous: Option<&'c Registry>,
    servers_standard: bool,
    nodes_excluded: bool,
    containers: Containers,
}

/// A subscription's Defender for Containers plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Containers {
    /// Standard, every extension on, deploy-time gating on.
    Gated,
    /// Standard, every extension on.
    On,
    /// Standard without the sensor.
    NoSensor,
    /// Free.
    Off,
}

impl Containers {
    fn apply(self, body: &mut Value) {
        let flag = |on: bool| if on { "True" } else { "False" };
        match self {
            Containers::Off => merge(
                body,
                json!({"properties": {"pricingTier": "Free", "extensions": null, "enablementTime": null,
                                      "resourcesCoverageStatus": "NotCovered"}}),
            ),
            _ => {
                let sensor = self != Containers::NoSensor;
                let gating = self == Containers::Gated;
                merge(
                    body,
                    json!({"properties": {"pricingTier": "Standard", "extensions": [
                        {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"},
                        {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
                        {"name": "AgentlessVmScanning", "isEnabled": "True"},
                        {"name": "ContainerSensor", "isEnabled": flag(sensor),
                         "additionalExtensionProperties": {"SecurityGatingEnabled": flag(gating)}},
                    ]}}),
                );
            }
        }
    }

    fn scans_registries(self) -> bool {
        self != Containers::Off
    }

    fn assesses_clusters(self) -> bool {
        matches!(self, Containers::Gated | Containers::On)
    }
}

/// A landing zone's spoke network, as drawn.
struct Net {
    index: usize,
    rg: String,
    vnet: String,
    route_table: String,
    nsg: String,
    /// Linked to the hub's `privatelink.azurecr.io` zone.
    linked: bool,
    /// Resolves through the hub's DNS resolver instead of Azure DNS.
    custom_dns: bool,
    /// The route table sends 0.0.0.0/0 to the hub firewall (else straight to the Internet).
    via_firewall: bool,
    /// The NSG lets SSH in from the Internet.
    ssh_open: bool,
    /// Per node subnet, whether the route table is attached.
    routed: Vec<bool>,
}

impl Net {
    /// Node subnets per spoke (one /24 each); clusters beyond share them round robin.
    const NODE_SUBNETS: usize = 15;

    fn draw(rng: &mut Rng, sub: &str, index: usize) -> Net {
        let rg = format!("{sub}/resourceGroups/rg-network");
        Net {
            index,
            vnet: format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"),
            route_table: format!("{rg}/providers/Microsoft.Network/routeTables/rt-spoke"),
            nsg: format!("{rg}/providers/Microsoft.Network/networkSecurityGroups/nsg-spoke"),
            rg,
            linked: rng.chance(0.8),
            custom_dns: rng.chance(0.2),
            via_firewall: rng.chance(0.85),
            ssh_open: rng.chance(0.12),
            routed: (0..Net::NODE_SUBNETS).map(|_| rng.chance(0.9)).collect(),
        }
    }

    fn node_subnet_name(k: usize) -> String {
        format!("snet-aks-{:02}", k + 1)
    }

    /// The spoke's /20: 10.x.y.0 after the hub's 10.0.0.0/20.
    fn base(&self) -> u32 {
        0x0A00_0000 + (((self.index as u32) + 1) << 12)
    }

    fn dotted(address: u32) -> String {
        let [a, b, c, d] = address.to_be_bytes();
        format!("{a}.{b}.{c}.{d}")
    }

    fn space(&self) -> String {
        format!("{}/20", Net::dotted(self.base()))
    }

    /// The k-th /24 of the spoke.
    fn prefix(&self, k: u32) -> String {
        format!("{}/24", Net::dotted(self.base() + (k << 8)))
    }

    /// The first three octets of the private-endpoint subnet.
    fn pe_base(&self) -> String {
        let address = Net::dotted(self.base() + ((Net::NODE_SUBNETS as u32) << 8));
        address
            .rsplit_once('.')
            .map_or(address.clone(), |(head, _)| head.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> Spec {
        Spec {
            seed,
            subscriptions: 12,
            ..Spec::default()
        }
    }

    #[test]
    fn same_seed_same_fixture_other_seed_other_fixture() {
        let a = fixture(&small(7)).expect("generates");
        let b = fixture(&small(7)).expect("generates");
        assert_eq!(a, b);
        let c = fixture(&small(8)).expect("generates");
        assert_ne!(a, c);
        assert_ne!(a["subscriptions"], c["subscriptions"]);
    }

    #[test]
    fn a_subscription_does_not_depend_on_how_many_follow() {
        let first = |n: usize| {
            let spec = Spec {
                subscriptions: n,
                ..small(3)
            };
            let tenant = fixture(&spec).expect("generates");
            tenant["subscriptions"][2].clone()
        };
        assert_eq!(first(12), first(30));
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let err = |spec: Spec| fixture(&spec).expect_err("refused");
        assert!(
            err(Spec {
                subscriptions: 0,
                ..Spec::default()
            })
            .contains("subscriptions must be between 1 and")
        );
        assert!(
            err(Spec {
                clusters_per_subscription: f64::NAN,
                ..Spec::default()
            })
            .contains("clusters per subscription must be a number")
        );
        assert!(
            err(Spec {
                registries_per_subscription: -1.0,
                ..Spec::default()
            })
            .contains("registries per subscription")
        );
        assert!(
            err(Spec {
                node_pools_per_cluster: 0.5,
                ..Spec::default()
            })
            .contains("node pools per cluster must be a number between 1")
        );
    }

    #[test]
    fn poisson_draws_have_the_asked_mean() {
        let mut rng = Rng::new(1, "poisson");
        let n = 20_000;
        let total: usize = (0..n).map(|_| rng.poisson(3.0)).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 3.0).abs() < 0.1, "{mean}");
        assert_eq!(rng.poisson(0.0), 0);
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(
            &mut target,
            json!({"a": {"b": null, "e": 3}, "d": {"x": 1}}),
        );
        assert_eq!(target, json!({"a": {"c": 2, "e": 3}, "d": {"x": 1}}));
    }

    #[test]
    fn the_tree_and_platform_are_alz_shaped() {
        let tenant = Tenant::generate(&small(5)).expect("loads");
        let fixture = fixture(&small(5)).expect("generates");
        let groups: Vec<(&str, &str)> = fixture["management_groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().unwrap_or(""),
                    g["parent"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert!(groups.contains(&("alz-corp", "alz-landingzones")));
        assert!(groups.contains(&("alz-connectivity", "alz-platform")));
        assert!(groups.contains(&("alz", tenant.tenant_id())));
        let subs = fixture["subscriptions"].as_array().expect("subscriptions");
        assert_eq!(subs.len(), 12 + 2);
        assert!(
            subs.iter()
                .any(|s| s["subscription"]["state"] == "Disabled")
        );
        for s in &subs[2..] {
            let group = s["management_group"].as_str().unwrap_or("");
            assert!(group == "alz-corp" || group == "alz-online", "{group}");
        }
        assert_eq!(tenant.clients().len(), 1);
    }
}
