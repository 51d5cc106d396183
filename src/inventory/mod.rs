//! The `Inventory`: everything collection read from a tenant, and everything it could not read.
//!
//! This is the one boundary between collecting and evaluating. Collectors fill it and never
//! judge; checks read it and never touch the network. Resources are kept as the raw ARM JSON
//! they arrived as, so a finding can cite the exact property it read, and so a snapshot can be
//! replayed offline (`lzaudit audit --snapshot`). Alongside the data sits `reads`: one entry
//! per scope × API that collection attempted, successful or not. A check asks `read_state`
//! before trusting an empty list, because "nothing there" and "could not look" must never be
//! confused: the second one is `unknown`, never `pass`.

pub mod arm;
pub mod coverage;
pub mod index;
pub mod snapshot;
pub mod views;

use std::collections::BTreeMap;

use crate::json::Value;
use serde::{Deserialize, Serialize};

pub use coverage::{Read, ReadState, ReadStatus, api};

/// The schema identifier written into every snapshot. Bump the suffix on any breaking change.
pub const SCHEMA: &str = "lzaudit.inventory/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Inventory {
    pub schema: String,
    pub tool: Tool,
    /// RFC 3339 time the collection finished.
    pub collected_at: String,
    /// Where the data came from: `--source` of the collection, `arm` (REST), `arg` or `auto`
    /// (Resource Graph with ARM for the rest); each `Read` says which service answered it.
    pub source: String,
    /// The ARM endpoint collected from (never credentials).
    pub arm_endpoint: String,
    pub tenant_id: Option<String>,
    /// What the user asked to audit.
    pub scope: RequestedScope,
    /// The management-group tree as far as it could be read (the tenant root group included).
    pub management_groups: Vec<ManagementGroup>,
    /// Subscriptions in scope whose state is `Enabled`: these are audited.
    pub subscriptions: Vec<Subscription>,
    /// Subscriptions in scope that were not audited, with the reason (state not `Enabled`).
    pub skipped_subscriptions: Vec<SkippedSubscription>,
    pub clusters: Vec<Value>,
    pub registries: Vec<Value>,
    /// `registries/privateEndpointConnections` lists, keyed by registry ID (lower-cased).
    pub registry_private_endpoint_connections: BTreeMap<String, Vec<Value>>,
    /// `registries/tokens` lists, keyed by registry ID (lower-cased).
    pub registry_tokens: BTreeMap<String, Vec<Value>>,
    /// Virtual machines, VM scale sets and Arc machines.
    pub machines: Vec<Value>,
    /// Subscription-level Defender pricings, keyed by subscription GUID (lower-cased).
    pub pricings: BTreeMap<String, Vec<Value>>,
    /// Resource-level `VirtualMachines` pricings of AKS machines, keyed by machine ID (lower-cased).
    pub resource_pricings: BTreeMap<String, Value>,
    /// Policy assignments of the audited subscriptions: at, above (inherited from management
    /// groups) or below them (resource groups, resources), deduplicated by ID.
    pub policy_assignments: Vec<Value>,
    /// Policy definitions and set definitions referenced by those assignments.
    pub policy_definitions: Vec<Value>,
    pub policy_set_definitions: Vec<Value>,
    /// Policy exemptions at, above or below the audited subscriptions (deduplicated by ID).
    pub policy_exemptions: Vec<Value>,
    /// Role assignments at or above each registry (deduplicated by ID).
    pub role_assignments: Vec<Value>,
    /// Role assignments at or above each cluster (AKS-023), deduplicated by ID; read per cluster
    /// scope with `$filter=atScope()`.
    #[serde(default)]
    pub cluster_role_assignments: Vec<Value>,
    /// Private endpoints of the audited subscriptions.
    #[serde(default)]
    pub private_endpoints: Vec<Value>,
    /// `privateEndpoints/privateDnsZoneGroups` lists, keyed by private endpoint ID (lower-cased).
    #[serde(default)]
    pub private_dns_zone_groups: BTreeMap<String, Vec<Value>>,
    /// Private DNS zones of the audited subscriptions.
    #[serde(default)]
    pub private_dns_zones: Vec<Value>,
    /// `privateDnsZones/virtualNetworkLinks` lists, keyed by zone ID (lower-cased).
    #[serde(default)]
    pub private_dns_zone_links: BTreeMap<String, Vec<Value>>,
    /// Virtual networks (with their subnets, peerings and DNS servers).
    #[serde(default)]
    pub virtual_networks: Vec<Value>,
    #[serde(default)]
    pub route_tables: Vec<Value>,
    #[serde(default)]
    pub network_security_groups: Vec<Value>,
    /// `Microsoft.Insights/diagnosticSettings` of clusters and registries, keyed by resource ID
    /// (lower-cased).
    #[serde(default)]
    pub diagnostic_settings: BTreeMap<String, Vec<Value>>,
    /// Defender for Cloud assessments of clusters and registries, keyed by resource ID (lower-cased).
    #[serde(default)]
    pub assessments: BTreeMap<String, Vec<Value>>,
    /// The tenant-level Defender for Cloud assessment metadata list
    /// (`GET /providers/Microsoft.Security/assessmentMetadata`): one object per assessment type,
    /// named by its assessment key, carrying the severity the assessment lists omit.
    #[serde(default)]
    pub assessment_metadata: Vec<Value>,
    /// Latest policy states of each cluster (`Microsoft.PolicyInsights/policyStates`), keyed by
    /// cluster ID (lower-cased).
    #[serde(default)]
    pub policy_states: BTreeMap<String, Vec<Value>>,
    /// `locations/{location}/kubernetesVersions` per location in use, keyed by location
    /// (lower-cased, spaces removed).
    #[serde(default)]
    pub kubernetes_versions: BTreeMap<String, Value>,
    /// Every scope × API that collection attempted, with its outcome.
    pub reads: Vec<Read>,
    /// Lookups over the above, built on first use (see `index`); never serialised.
    #[serde(skip)]
    pub index: index::IndexCell,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn current() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RequestedScope {
    /// `--management-group NAME`, if given.
    pub management_group: Option<String>,
    /// `--subscription ID` values, if given (empty means "every subscription the identity can list").
    pub subscriptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManagementGroup {
    /// The MG's name (the last segment of its ID).
    pub name: String,
    pub display_name: Option<String>,
    /// The parent MG's name; `None` for the tenant root group (or when the parent is not visible).
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    /// `/subscriptions/{guid}`.
    pub id: String,
    /// The GUID, lower-cased.
    pub subscription_id: String,
    pub display_name: String,
    pub state: String,
    /// Management-group names from the nearest parent up to the tenant root group, or `None`
    /// when the hierarchy could not be read (then archetype and inheritance questions are unknown).
    pub management_group_ancestors: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SkippedSubscription {
    pub id: String,
    pub display_name: String,
    pub state: String,
    pub reason: String,
}

impl Inventory {
    /// An empty inventory, stamped with the schema and tool version.
    pub fn new(arm_endpoint: &str, source: &str, scope: RequestedScope) -> Self {
        Inventory {
            schema: SCHEMA.to_string(),
            tool: Tool::current(),
            collected_at: String::new(),
            source: source.to_string(),
            arm_endpoint: arm_endpoint.to_string(),
            tenant_id: None,
            scope,
            management_groups: Vec::new(),
            subscriptions: Vec::new(),
            skipped_subscriptions: Vec::new(),
            clusters: Vec::new(),
            registries: Vec::new(),
            registry_private_endpoint_connections: Default::default(),
            registry_tokens: Default::default(),
            machines: Vec::new(),
            pricings: Default::default(),
            resource_pricings: Default::default(),
            policy_assignments: Vec::new(),
            policy_definitions: Vec::new(),
            policy_set_definitions: Vec::new(),
            policy_exemptions: Vec::new(),
            role_assignments: Vec::new(),
            cluster_role_assignments: Vec::new(),
            private_endpoints: Vec::new(),
            private_dns_zone_groups: BTreeMap::new(),
            private_dns_zones: Vec::new(),
            private_dns_zone_links: BTreeMap::new(),
            virtual_networks: Vec::new(),
            route_tables: Vec::new(),
            network_security_groups: Vec::new(),
            diagnostic_settings: BTreeMap::new(),
            assessments: BTreeMap::new(),
            assessment_metadata: Vec::new(),
            policy_states: BTreeMap::new(),
            kubernetes_versions: BTreeMap::new(),
            reads: Vec::new(),
            index: Default::default(),
        }
    }

    /// Whether `scope` × `api` was read successfully; see [`ReadState`]. When several reads
    /// of the same scope × API exist, any failure wins.
    pub fn read_state(&self, scope: &str, api: &str) -> ReadState<'_> {
        let index = self.index();
        match index
            .reads
            .get(&(index::key(scope), api.to_ascii_lowercase()))
        {
            None => ReadState::NotCollected,
            Some(index::ReadSlot::Ok) => ReadState::Ok,
            Some(index::ReadSlot::Failed(i)) => ReadState::Failed(&self.reads[*i]),
        }
    }

    /// Why `api` may be incomplete across the audited subscriptions: the reason of each one
    /// at which it was not read. Checks that look for something anywhere in the tenant (a
    /// registry another cluster pulls from, a shared zone) ask this for every resource, so a
    /// healthy tenant is answered from the index without a pass over the subscriptions.
    pub fn subscription_gaps(&self, api: &str) -> Vec<String> {
        let ok = self
            .index()
            .ok_subscription_reads
            .get(&api.to_ascii_lowercase())
            .copied()
            .unwrap_or(0);
        if ok >= self.subscriptions.len() {
            return Vec::new();
        }
        self.subscriptions
            .iter()
            .filter_map(|s| self.read_state(&s.id, api).missing_reason(&s.id, api))
            .collect()
    }

    /// The audited subscription with this GUID (any casing).
    pub fn subscription(&self, guid: &str) -> Option<&Subscription> {
        let i = *self.index().subscriptions.get(&guid.to_ascii_lowercase())?;
        self.subscriptions.get(i)
    }

    /// The reads that failed: what the report lists as coverage gaps.
    pub fn gaps(&self) -> impl Iterator<Item = &Read> {
        self.reads.iter().filter(|r| r.status != ReadStatus::Ok)
    }

    /// Sorts every collection so that two collections of the same tenant serialise identically,
    /// whatever order concurrent requests completed in.
    pub fn normalise_order(&mut self) {
        fn by_id(list: &mut [Value]) {
            list.sort_by_cached_key(|v| arm::id(v).to_ascii_lowercase());
        }
        by_id(&mut self.clusters);
        by_id(&mut self.registries);
        by_id(&mut self.machines);
        by_id(&mut self.policy_assignments);
        by_id(&mut self.policy_definitions);
        by_id(&mut self.policy_set_definitions);
        by_id(&mut self.policy_exemptions);
        by_id(&mut self.role_assignments);
        by_id(&mut self.cluster_role_assignments);
        by_id(&mut self.private_endpoints);
        by_id(&mut self.private_dns_zones);
        by_id(&mut self.virtual_networks);
        by_id(&mut self.route_tables);
        by_id(&mut self.network_security_groups);
        by_id(&mut self.assessment_metadata);
        // Policy-state records have no `id`: sort them by what they say, so that the order the
        // service listed them in (PolicyInsights and Resource Graph differ) cannot change a
        // finding.
        for list in self.policy_states.values_mut() {
            list.sort_by_cached_key(|v| {
                let field = |k: &str| arm::str_at(v, k).unwrap_or("").to_ascii_lowercase();
                (
                    field("policyAssignmentId"),
                    field("policyDefinitionReferenceId"),
                    field("policyDefinitionId"),
                    v.to_string(),
                )
            });
        }
        for map in [
            &mut self.private_dns_zone_groups,
            &mut self.private_dns_zone_links,
            &mut self.diagnostic_settings,
            &mut self.assessments,
        ] {
            for list in map.values_mut() {
                by_id(list);
            }
        }
        for list in self.registry_private_endpoint_connections.values_mut() {
            by_id(list);
        }
        for list in self.registry_tokens.values_mut() {
            by_id(list);
        }
        for list in self.pricings.values_mut() {
            by_id(list);
        }
        self.management_groups.sort_by(|a, b| a.name.cmp(&b.name));
        self.subscriptions
            .sort_by(|a, b| a.subscription_id.cmp(&b.subscription_id));
        self.skipped_subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
        self.reads.sort_by(|a, b| {
            (a.scope.to_ascii_lowercase(), &a.api).cmp(&(b.scope.to_ascii_lowercase(), &b.api))
        });
    }
}
