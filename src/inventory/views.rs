//! Typed questions about the raw inventory that more than one check (or the collector) asks.
//!
//! Each answer is computed from the raw ARM JSON with the case rules of `arm`, so checks share
//! one definition of "the subscription of a resource" or "an AKS-managed machine" instead of
//! re-deriving it with subtly different casing rules.

use crate::json::Value;

use std::collections::HashMap;

use super::arm::{self, eq_ci};
use super::{Inventory, Subscription, index};

/// The positions listed under a subscription GUID (any casing) in one of the index's maps.
fn positions(map: &HashMap<String, Vec<usize>>, subscription: &str) -> Vec<usize> {
    map.get(&subscription.to_ascii_lowercase())
        .cloned()
        .unwrap_or_default()
}

/// Tags AKS stamps on the node VMSS / VMs it manages; built-in Guest Configuration policies use
/// the same two keys to exclude AKS nodes.
pub const AKS_MANAGED_TAGS: &[&str] = &["aks-managed-poolName", "aks-managed-orchestrator"];

impl Inventory {
    /// Clusters in one subscription (GUID, any casing).
    pub fn clusters_in<'a>(
        &'a self,
        subscription: &str,
    ) -> impl Iterator<Item = &'a Value> + use<'a> {
        let positions = positions(&self.index().clusters_by_subscription, subscription);
        positions.into_iter().map(move |i| &self.clusters[i])
    }

    /// Registries in one subscription.
    pub fn registries_in<'a>(
        &'a self,
        subscription: &str,
    ) -> impl Iterator<Item = &'a Value> + use<'a> {
        let positions = positions(&self.index().registries_by_subscription, subscription);
        positions.into_iter().map(move |i| &self.registries[i])
    }

    /// Machines (VMs, VMSS, Arc) in one subscription.
    pub fn machines_in<'a>(
        &'a self,
        subscription: &str,
    ) -> impl Iterator<Item = &'a Value> + use<'a> {
        let positions = positions(&self.index().machines_by_subscription, subscription);
        positions.into_iter().map(move |i| &self.machines[i])
    }

    /// The audited subscription that holds a resource.
    pub fn subscription_of(&self, resource: &Value) -> Option<&Subscription> {
        let guid = arm::subscription_of(arm::id(resource))?;
        self.subscription(&guid)
    }

    /// Subscription-level Defender pricings of a subscription, if they were read.
    pub fn subscription_pricings(&self, subscription: &str) -> Option<&Vec<Value>> {
        self.pricings.get(&subscription.to_ascii_lowercase())
    }

    /// One subscription-level Defender plan (`Containers`, `VirtualMachines`, ...).
    pub fn subscription_pricing(&self, subscription: &str, plan: &str) -> Option<&Value> {
        self.subscription_pricings(subscription)?
            .iter()
            .find(|p| eq_ci(arm::name(p), plan))
    }

    /// Whether a machine is AKS node infrastructure: it sits in some cluster's node resource
    /// group, or carries an `aks-managed-*` tag (catalogue AKS-040).
    pub fn is_aks_machine(&self, machine: &Value) -> bool {
        is_aks_machine_among(machine, &self.index().node_resource_groups)
    }

    /// Why the management-group ancestors of a subscription are unknown, naming the read of the
    /// hierarchy that failed (the tenant root group's descendants, or a group's `$expand=path`)
    /// when one did, so the finding points at the coverage gap to fix.
    pub fn ancestry_unknown(&self, subscription_id: &str) -> String {
        format!(
            "the management-group ancestors of {subscription_id} are unknown{}",
            self.index().hierarchy_note
        )
    }

    /// Private endpoint connections of a registry: the child list when it was read, else `None`.
    pub fn registry_connections(&self, registry: &Value) -> Option<&Vec<Value>> {
        self.registry_private_endpoint_connections
            .get(&arm::id(registry).to_ascii_lowercase())
    }

    /// Tokens of a registry, when they were read.
    pub fn registry_tokens_of(&self, registry: &Value) -> Option<&Vec<Value>> {
        self.registry_tokens
            .get(&arm::id(registry).to_ascii_lowercase())
    }

    /// A private endpoint by ID (any casing), if collected.
    pub fn private_endpoint(&self, id: &str) -> Option<&Value> {
        let i = *self.index().private_endpoints.get(&index::key(id))?;
        self.private_endpoints.get(i)
    }

    /// A policy definition or set definition by ID (any casing).
    pub fn policy_definition(&self, id: &str) -> Option<&Value> {
        match self.index().policy_definitions.get(&index::key(id)) {
            Some((false, i)) => self.policy_definitions.get(*i),
            Some((true, i)) => self.policy_set_definitions.get(*i),
            None => None,
        }
    }
}

/// The (subscription, node resource group) pairs of `clusters`, lower-cased: where AKS puts
/// each cluster's node infrastructure.
pub fn node_resource_groups<T: arm::Tree>(
    clusters: impl IntoIterator<Item = T>,
) -> std::collections::HashSet<(String, String)> {
    clusters
        .into_iter()
        .filter_map(|c| {
            let sub = arm::subscription_of(arm::id(&c))?;
            let rg = arm::str_at(&c, "properties.nodeResourceGroup")?;
            Some((sub, rg.to_ascii_lowercase()))
        })
        .collect()
}

/// Whether a machine is AKS node infrastructure, given the clusters' node resource groups
/// (`node_resource_groups`): a VM or scale set in one of them, or carrying an `aks-managed-*`
/// tag (catalogue AKS-040).
pub fn is_aks_machine_among<V: arm::Tree + ?Sized>(
    machine: &V,
    node_groups: &std::collections::HashSet<(String, String)>,
) -> bool {
    let is_vm_like = arm::is_type(machine, "Microsoft.Compute/virtualMachines")
        || arm::is_type(machine, "Microsoft.Compute/virtualMachineScaleSets");
    if !is_vm_like {
        return false;
    }
    let tagged = AKS_MANAGED_TAGS.iter().any(|tag| {
        arm::path(machine, "tags")
            .and_then(|t| arm::key(t, tag))
            .is_some()
    });
    if tagged {
        return true;
    }
    let id = arm::id(machine);
    let (Some(sub), Some(rg)) = (arm::subscription_of(id), arm::resource_group_of(id)) else {
        return false;
    };
    node_groups.contains(&(sub, rg.to_ascii_lowercase()))
}

impl Inventory {
    /// The management-group ancestors of the audited subscription holding `id`, when known.
    pub fn chain_of(&self, id: &str) -> Option<&[String]> {
        let guid = arm::subscription_of(id)?;
        self.subscription(&guid)?
            .management_group_ancestors
            .as_deref()
    }

    /// The policy assignments made at `target` or above it (any assignment whose scope can
    /// contain the target; see `index::ScopeIndex::at_or_above`), in inventory order.
    pub fn policy_assignments_at_or_above(&self, target: &str) -> Vec<&Value> {
        self.index()
            .policy_assignments
            .at_or_above(target, self.chain_of(target))
            .into_iter()
            .map(|i| &self.policy_assignments[i])
            .collect()
    }

    /// The exemptions that name this assignment (by ID, any casing), in inventory order.
    pub fn exemptions_of(&self, assignment_id: &str) -> Vec<&Value> {
        self.index()
            .exemptions_by_assignment
            .get(&index::key(assignment_id))
            .map(|ps| ps.iter().map(|&i| &self.policy_exemptions[i]).collect())
            .unwrap_or_default()
    }
}

/// Role assignments that grant some role on a resource, split by how sure the answer is.
#[derive(Debug, Default)]
pub struct RoleGrants<'a> {
    /// Assignments whose scope certainly covers the resource.
    pub covering: Vec<&'a Value>,
    /// Assignments at a management group whose relation to the resource is unknown, because the
    /// ancestry of the resource's subscription could not be read.
    pub undetermined: Vec<&'a Value>,
}

impl Inventory {
    /// Whether an assignment made at `scope` applies to `resource_id`: the resource itself, a
    /// resource group or subscription containing it, a management group on its subscription's
    /// ancestor chain, or the root `/` (catalogue §1 role-assignment matching). `None` when
    /// `scope` is a management group and the subscription's ancestry is unknown.
    pub fn scope_covers(&self, scope: &str, resource_id: &str) -> Option<bool> {
        let is_mg_scope = arm::management_group_name(scope).is_some_and(|mg| {
            arm::eq_ci(scope.trim_end_matches('/'), &arm::management_group_id(mg))
        });
        if !is_mg_scope {
            return Some(arm::is_scope_prefix(scope, resource_id));
        }
        let mg = arm::management_group_name(scope)?;
        let guid = arm::subscription_of(resource_id)?;
        let chain = self
            .subscription(&guid)?
            .management_group_ancestors
            .as_ref()?;
        Some(chain.iter().any(|a| eq_ci(a, mg)))
    }

    /// The role assignments of `inventory.role_assignments` granting one of `roles` (role
    /// definition GUIDs, any casing) on `resource_id`, optionally only those of one principal.
    /// This answers from the assignments collected; whether that list is complete for the
    /// resource is a separate question (`read_state(resource, api::ROLE_ASSIGNMENTS)`).
    pub fn role_grants<'a>(
        &'a self,
        resource_id: &str,
        roles: &[String],
        principal: Option<&str>,
    ) -> RoleGrants<'a> {
        let index = &self.index().role_assignments;
        // A principal holds few assignments; without one, those made at or above the resource
        // are far fewer than those of the roles across the tenant.
        let candidates = match principal {
            Some(_) => index.candidates(roles, principal),
            None => index
                .by_scope
                .at_or_above(resource_id, self.chain_of(resource_id)),
        };
        self.grants_among(
            &self.role_assignments,
            &candidates,
            resource_id,
            roles,
            principal,
        )
    }

    /// `role_grants` over the assignments at `candidates` (positions into `assignments`, in
    /// order: the index narrows them to those of the principal or the roles).
    fn grants_among<'a>(
        &self,
        assignments: &'a [Value],
        candidates: &[usize],
        resource_id: &str,
        roles: &[String],
        principal: Option<&str>,
    ) -> RoleGrants<'a> {
        let mut grants = RoleGrants::default();
        for assignment in candidates.iter().map(|&i| &assignments[i]) {
            let Some(role) = role_definition_guid(assignment) else {
                continue;
            };
            if !roles.iter().any(|r| eq_ci(r, role)) {
                continue;
            }
            if let Some(principal) = principal
                && !arm::str_at(assignment, "properties.principalId")
                    .is_some_and(|p| eq_ci(p, principal))
            {
                continue;
            }
            let Some(scope) = role_assignment_scope(assignment) else {
                continue;
            };
            match self.scope_covers(scope, resource_id) {
                Some(true) => grants.covering.push(assignment),
                Some(false) => {}
                None => grants.undetermined.push(assignment),
            }
        }
        grants
    }
}

/// The scope of a role assignment: `properties.scope`, or else the part of its ID before
/// `/providers/Microsoft.Authorization/roleAssignments/` (empty, i.e. `/`, for the root).
pub fn role_assignment_scope(assignment: &Value) -> Option<&str> {
    if let Some(scope) = arm::str_at(assignment, "properties.scope") {
        return Some(scope);
    }
    let id = arm::id(assignment);
    let marker = "/providers/microsoft.authorization/roleassignments/";
    let at = arm::find_ci(id, marker)?;
    Some(if at == 0 { "/" } else { &id[..at] })
}

/// The GUID of the role an assignment grants: the last segment of `properties.roleDefinitionId`,
/// whatever its scope prefix (catalogue §1).
pub fn role_definition_guid(assignment: &Value) -> Option<&str> {
    arm::str_at(assignment, "properties.roleDefinitionId")
        .map(arm::last_segment)
        .filter(|g| !g.is_empty())
}

/// Whether a registry uses ABAC repository permissions (`properties.roleAssignmentMode ==
/// AbacRepositoryPermissions`); absent means the legacy registry-wide roles, the only mode before
/// API 2025-11-01.
pub fn registry_uses_abac(registry: &Value) -> bool {
    arm::str_at(registry, "properties.roleAssignmentMode")
        .is_some_and(|m| eq_ci(m, "AbacRepositoryPermissions"))
}

/// The kubelet identity's object ID of a cluster: the principal that pulls images.
pub fn kubelet_object_id(cluster: &Value) -> Option<&str> {
    arm::str_at(
        cluster,
        "properties.identityProfile.kubeletidentity.objectId",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    #[test]
    fn role_grants_follow_scope_ancestry_and_match_the_role_guid() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.subscriptions.push(Subscription {
            id: "/subscriptions/s1".into(),
            subscription_id: "s1".into(),
            display_name: "s1".into(),
            state: "Enabled".into(),
            management_group_ancestors: Some(vec!["Corp".into(), "root".into()]),
        });
        let registry = "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r";
        let grant = |id: &str, scope: &str, role: &str, principal: &str| {
            json!({"id": id, "properties": {"scope": scope, "principalId": principal,
                "roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role}")}})
        };
        inv.role_assignments = vec![
            grant(
                "a1",
                "/subscriptions/s1/resourcegroups/RG",
                "7F951DDA",
                "k1",
            ),
            grant(
                "a2",
                "/providers/Microsoft.Management/managementGroups/corp",
                "7f951dda",
                "k2",
            ),
            grant(
                "a3",
                "/providers/Microsoft.Management/managementGroups/other",
                "7f951dda",
                "k3",
            ),
            grant(
                "a4",
                "/subscriptions/s1/resourceGroups/rg2",
                "7f951dda",
                "k4",
            ),
            grant("a5", "/", "7f951dda", "k5"),
            grant("a6", registry, "8311e382", "k1"),
            json!({"id": "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a7",
                   "properties": {"principalId": "k7",
                   "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/7f951dda"}}),
        ];
        let roles = vec!["7f951dda".to_string()];
        let ids = |g: &RoleGrants| {
            g.covering
                .iter()
                .map(|a| arm::id(a).to_string())
                .collect::<Vec<_>>()
        };
        let all = inv.role_grants(registry, &roles, None);
        assert_eq!(
            ids(&all),
            [
                "a1",
                "a2",
                "a5",
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a7"
            ]
        );
        assert!(all.undetermined.is_empty());
        assert_eq!(ids(&inv.role_grants(registry, &roles, Some("K1"))), ["a1"]);
        inv.subscriptions[0].management_group_ancestors = None;
        let unknown = inv.role_grants(registry, &roles, None);
        assert_eq!(
            unknown.undetermined.len(),
            2,
            "both MG-scoped grants are undetermined"
        );
        assert!(registry_uses_abac(
            &json!({"properties": {"roleAssignmentMode": "abacRepositoryPermissions"}})
        ));
        assert!(!registry_uses_abac(&json!({"properties": {}})));
    }

    #[test]
    fn aks_machines_by_node_resource_group_or_tag() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.clusters.push(json!({"id": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            "properties": {"nodeResourceGroup": "MC_rg_c_westeurope"}}));
        let node = json!({"id": "/subscriptions/s1/resourceGroups/mc_RG_c_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np",
            "type": "Microsoft.Compute/virtualMachineScaleSets"});
        let tagged = json!({"id": "/subscriptions/s1/resourceGroups/other/providers/Microsoft.Compute/virtualMachineScaleSets/x",
            "type": "microsoft.compute/virtualmachinescalesets", "tags": {"aks-managed-poolName": "np"}});
        let plain = json!({"id": "/subscriptions/s1/resourceGroups/other/providers/Microsoft.Compute/virtualMachines/jump",
            "type": "Microsoft.Compute/virtualMachines"});
        let arc = json!({"id": "/subscriptions/s1/resourceGroups/mc_rg_c_westeurope/providers/Microsoft.HybridCompute/machines/m",
            "type": "Microsoft.HybridCompute/machines"});
        assert!(inv.is_aks_machine(&node));
        assert!(inv.is_aks_machine(&tagged));
        assert!(!inv.is_aks_machine(&plain));
        assert!(!inv.is_aks_machine(&arc));
    }
}

/// The location key of `Inventory::kubernetes_versions` (`West Europe` and `westeurope` alike).
pub fn location_key(location: &str) -> String {
    location.replace(' ', "").to_ascii_lowercase()
}

/// The coverage scope under which the tenant-level assessment metadata list
/// (`GET /providers/Microsoft.Security/assessmentMetadata`) is recorded: it is read once per run.
pub const ASSESSMENT_METADATA_SCOPE: &str = "/providers/Microsoft.Security/assessmentMetadata";

/// The coverage scope under which the supported-versions list of a location is recorded. The
/// list is fetched once per location (through any audited subscription), so its read is keyed
/// by location, not by subscription.
pub fn kubernetes_versions_scope(location: &str) -> String {
    format!(
        "/providers/Microsoft.ContainerService/locations/{}",
        location_key(location)
    )
}

impl Inventory {
    /// The role assignments of `inventory.cluster_role_assignments` granting one of `roles` (role
    /// definition GUIDs, any casing) on a cluster: the same scope rules as [`Inventory::role_grants`]
    /// (the cluster, its resource group, subscription, an ancestor management group, or `/`),
    /// over the assignments read at each cluster with `$filter=atScope()` (AKS-023). Whether that
    /// list is complete for the cluster is `read_state(cluster, api::ROLE_ASSIGNMENTS)`.
    pub fn cluster_role_grants<'a>(&'a self, cluster_id: &str, roles: &[String]) -> RoleGrants<'a> {
        let candidates = self
            .index()
            .cluster_role_assignments
            .by_scope
            .at_or_above(cluster_id, self.chain_of(cluster_id));
        self.grants_among(
            &self.cluster_role_assignments,
            &candidates,
            cluster_id,
            roles,
            None,
        )
    }
}

/// A network object (virtual network, subnet, route table, network security group) looked up by
/// ID, telling "not there" from "could not look".
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkLookup<'a> {
    Found(&'a Value),
    /// The list that would hold it was read, and it is not in it: why, phrased for a finding.
    Absent(String),
    /// The list that would hold it was not read (denied, failed, not collected): why.
    Unreadable(String),
}

impl Inventory {
    /// A virtual network by ID (any casing), from the per-subscription list.
    pub fn virtual_network_by_id(&self, id: &str) -> NetworkLookup<'_> {
        let found = self.index().virtual_networks.get(&index::key(id)).copied();
        self.network_object(
            found.map(|i| &self.virtual_networks[i]),
            super::api::VIRTUAL_NETWORKS,
            id,
            "virtual network",
        )
    }

    /// A route table by ID (any casing), from the per-subscription list.
    pub fn route_table_by_id(&self, id: &str) -> NetworkLookup<'_> {
        let found = self.index().route_tables.get(&index::key(id)).copied();
        self.network_object(
            found.map(|i| &self.route_tables[i]),
            super::api::ROUTE_TABLES,
            id,
            "route table",
        )
    }

    /// A network security group by ID (any casing), from the per-subscription list.
    pub fn network_security_group_by_id(&self, id: &str) -> NetworkLookup<'_> {
        let found = self
            .index()
            .network_security_groups
            .get(&index::key(id))
            .copied();
        self.network_object(
            found.map(|i| &self.network_security_groups[i]),
            super::api::NETWORK_SECURITY_GROUPS,
            id,
            "network security group",
        )
    }

    /// A subnet by ID: the entry of its virtual network's `properties.subnets[]` (matched by ID,
    /// else by name), which carries `properties.routeTable.id` and
    /// `properties.networkSecurityGroup.id`.
    pub fn subnet_by_id(&self, id: &str) -> NetworkLookup<'_> {
        let Some(vnet_id) = virtual_network_of_subnet(id) else {
            return NetworkLookup::Absent(format!("`{id}` is not a subnet ID"));
        };
        let vnet = match self.virtual_network_by_id(vnet_id) {
            NetworkLookup::Found(vnet) => vnet,
            other => return other,
        };
        let subnets = arm::array_at(vnet, "properties.subnets").unwrap_or_default();
        let name = arm::last_segment(id);
        subnets
            .iter()
            .find(|s| eq_ci(arm::id(s).trim_end_matches('/'), id.trim_end_matches('/')))
            .or_else(|| subnets.iter().find(|s| eq_ci(arm::name(s), name)))
            .map_or_else(
                || {
                    NetworkLookup::Absent(format!(
                        "subnet {name} is not among the subnets of virtual network {}",
                        arm::name(vnet)
                    ))
                },
                NetworkLookup::Found,
            )
    }

    /// The virtual networks in a cluster's node resource group: the AKS-managed network its pools
    /// use when they name no `vnetSubnetID`. `Err` says why they cannot be listed.
    pub fn node_resource_group_networks(&self, cluster: &Value) -> Result<Vec<&Value>, String> {
        let id = arm::id(cluster);
        let (Some(sub), Some(node_rg)) = (
            arm::subscription_of(id),
            arm::str_at(cluster, "properties.nodeResourceGroup"),
        ) else {
            return Err("the cluster payload names no node resource group".into());
        };
        let scope = format!("/subscriptions/{sub}");
        if let Some(reason) = self
            .read_state(&scope, super::api::VIRTUAL_NETWORKS)
            .missing_reason(&scope, super::api::VIRTUAL_NETWORKS)
        {
            return Err(reason);
        }
        Ok(self
            .virtual_networks
            .iter()
            .filter(|v| {
                let vid = arm::id(v);
                arm::subscription_of(vid).as_deref() == Some(sub.as_str())
                    && arm::resource_group_of(vid).is_some_and(|rg| eq_ci(rg, node_rg))
            })
            .collect())
    }

    /// A network object found by ID (`found`), or why it is absent or unreadable.
    fn network_object<'a>(
        &'a self,
        found: Option<&'a Value>,
        api: &str,
        id: &str,
        noun: &str,
    ) -> NetworkLookup<'a> {
        if let Some(found) = found {
            return NetworkLookup::Found(found);
        }
        let Some(sub) = arm::subscription_of(id) else {
            return NetworkLookup::Absent(format!("`{id}` is not a {noun} ID"));
        };
        let scope = format!("/subscriptions/{sub}");
        match self.read_state(&scope, api).missing_reason(&scope, api) {
            Some(reason) => NetworkLookup::Unreadable(reason),
            None => NetworkLookup::Absent(format!(
                "{noun} {} is not in the {api} list of its subscription",
                arm::last_segment(id)
            )),
        }
    }
}

/// The virtual network ID of a subnet ID (`…/virtualNetworks/{vnet}/subnets/{name}`).
pub fn virtual_network_of_subnet(subnet_id: &str) -> Option<&str> {
    let at = subnet_id.to_ascii_lowercase().rfind("/subnets/")?;
    Some(&subnet_id[..at]).filter(|v| !v.is_empty())
}

/// The subnets a cluster's node pools use: each distinct `agentPoolProfiles[].vnetSubnetID`
/// (compared case-insensitively, first spelling kept) with the names of the pools on it, in pool
/// order; plus the names of the pools that set none (they use the AKS-managed network).
pub fn node_subnets(cluster: &Value) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    pool_subnets(cluster, "vnetSubnetID")
}

/// Like [`node_subnets`], for the pods' subnets (`agentPoolProfiles[].podSubnetID`, Azure CNI
/// with dynamic pod IP allocation); pools without one are returned separately.
pub fn pod_subnets(cluster: &Value) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    pool_subnets(cluster, "podSubnetID")
}

fn pool_subnets(cluster: &Value, key: &str) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    let mut subnets: Vec<(String, Vec<String>)> = Vec::new();
    let mut without = Vec::new();
    for pool in arm::array_at(cluster, "properties.agentPoolProfiles").unwrap_or_default() {
        let name = arm::name(pool).to_string();
        match arm::str_at(pool, key).filter(|s| !s.is_empty()) {
            Some(subnet) => match subnets.iter_mut().find(|(s, _)| eq_ci(s, subnet)) {
                Some((_, pools)) => pools.push(name),
                None => subnets.push((subnet.to_string(), vec![name])),
            },
            None => without.push(name),
        }
    }
    (subnets, without)
}

#[cfg(test)]
mod network_tests {
    use super::*;
    use crate::inventory::{Read, Subscription, api};
    use crate::tree as json;

    fn inventory() -> Inventory {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.subscriptions.push(Subscription {
            id: "/subscriptions/s1".into(),
            subscription_id: "s1".into(),
            display_name: "s1".into(),
            state: "Enabled".into(),
            management_group_ancestors: Some(vec!["root".into()]),
        });
        inv.virtual_networks.push(json!({
            "id": "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet",
            "name": "vnet",
            "properties": {"subnets": [{
                "id": "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes",
                "name": "nodes",
                "properties": {"routeTable": {"id": "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt"}}
            }]}
        }));
        inv
    }

    #[test]
    fn subnets_resolve_case_insensitively_and_missing_lists_are_unreadable() {
        let mut inv = inventory();
        let id = "/subscriptions/S1/resourcegroups/RG-NET/providers/Microsoft.Network/virtualNetworks/VNET/subnets/Nodes";
        let elsewhere = "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/other/subnets/nodes";
        assert!(matches!(
            inv.subnet_by_id(elsewhere),
            NetworkLookup::Unreadable(_)
        ));
        inv.reads
            .push(Read::ok("/subscriptions/s1", api::VIRTUAL_NETWORKS));
        assert!(matches!(
            inv.subnet_by_id(elsewhere),
            NetworkLookup::Absent(_)
        ));
        let NetworkLookup::Found(subnet) = inv.subnet_by_id(id) else {
            panic!("subnet not found");
        };
        assert_eq!(arm::name(subnet), "nodes");
        assert!(matches!(
            inv.subnet_by_id(&id.replace("Nodes", "pods")),
            NetworkLookup::Absent(_)
        ));
        assert!(matches!(
            inv.route_table_by_id(
                "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt"
            ),
            NetworkLookup::Unreadable(_)
        ));
        inv.reads
            .push(Read::ok("/subscriptions/s1", api::ROUTE_TABLES));
        assert!(matches!(
            inv.route_table_by_id(
                "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt"
            ),
            NetworkLookup::Absent(_)
        ));
    }

    #[test]
    fn pool_subnets_group_pools_and_list_pools_without_one() {
        let cluster = json!({"properties": {"agentPoolProfiles": [
            {"name": "sys", "vnetSubnetID": "/x/subnets/A"},
            {"name": "user", "vnetSubnetID": "/x/subnets/a", "podSubnetID": "/x/subnets/p"},
            {"name": "managed"}
        ]}});
        let (subnets, without) = node_subnets(&cluster);
        assert_eq!(
            subnets,
            vec![(
                "/x/subnets/A".to_string(),
                vec!["sys".to_string(), "user".to_string()]
            )]
        );
        assert_eq!(without, vec!["managed".to_string()]);
        let (pods, without) = pod_subnets(&cluster);
        assert_eq!(pods.len(), 1);
        assert_eq!(without, vec!["sys".to_string(), "managed".to_string()]);
        assert_eq!(
            virtual_network_of_subnet("/v/virtualNetworks/n/Subnets/s"),
            Some("/v/virtualNetworks/n")
        );
    }

    #[test]
    fn cluster_role_grants_read_the_cluster_list() {
        let mut inv = inventory();
        let cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        inv.cluster_role_assignments = vec![
            json!({"id": "a1", "properties": {"scope": "/subscriptions/S1", "principalId": "p",
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/0AB0B1A8-8aac-4efd-b8c2-3ee1fb270be8"}}),
            json!({"id": "a2", "properties": {"scope": "/subscriptions/s1/resourceGroups/other", "principalId": "p",
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8"}}),
        ];
        let roles = vec!["0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8".to_string()];
        let grants = inv.cluster_role_grants(cluster, &roles);
        assert_eq!(grants.covering.len(), 1);
        assert_eq!(arm::id(grants.covering[0]), "a1");
        assert!(inv.role_grants(cluster, &roles, None).covering.is_empty());
    }
}
