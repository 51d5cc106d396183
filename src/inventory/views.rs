//! Typed questions about the raw inventory that more than one check (or the collector) asks.
//!
//! Each answer is computed from the raw ARM JSON with the case rules of `arm`, so checks share
//! one definition of "the subscription of a resource" or "an AKS-managed machine" instead of
//! re-deriving it with subtly different casing rules.

use serde_json::Value;

use super::arm::{self, eq_ci};
use super::{Inventory, Subscription};

/// Tags AKS stamps on the node VMSS / VMs it manages; built-in Guest Configuration policies use
/// the same two keys to exclude AKS nodes.
pub const AKS_MANAGED_TAGS: &[&str] = &["aks-managed-poolName", "aks-managed-orchestrator"];

impl Inventory {
    /// Clusters in one subscription (GUID, any casing).
    pub fn clusters_in<'a>(
        &'a self,
        subscription: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.clusters
            .iter()
            .filter(move |c| in_subscription(c, subscription))
    }

    /// Registries in one subscription.
    pub fn registries_in<'a>(
        &'a self,
        subscription: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.registries
            .iter()
            .filter(move |r| in_subscription(r, subscription))
    }

    /// Machines (VMs, VMSS, Arc) in one subscription.
    pub fn machines_in<'a>(
        &'a self,
        subscription: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.machines
            .iter()
            .filter(move |m| in_subscription(m, subscription))
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
        self.clusters.iter().any(|c| {
            arm::subscription_of(arm::id(c)).as_deref() == Some(sub.as_str())
                && arm::str_at(c, "properties.nodeResourceGroup").is_some_and(|n| eq_ci(n, rg))
        })
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

    /// A policy definition or set definition by ID (any casing, any scope prefix spelling).
    pub fn policy_definition(&self, id: &str) -> Option<&Value> {
        self.policy_definitions
            .iter()
            .chain(&self.policy_set_definitions)
            .find(|d| eq_ci(arm::id(d), id))
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
        let mut grants = RoleGrants::default();
        for assignment in &self.role_assignments {
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
    let at = id.to_ascii_lowercase().find(marker)?;
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

fn in_subscription(resource: &Value, subscription: &str) -> bool {
    arm::subscription_of(arm::id(resource)).is_some_and(|s| eq_ci(&s, subscription))
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
    use serde_json::json;

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

/// The coverage scope under which the supported-versions list of a location is recorded. The
/// list is fetched once per location (through any audited subscription), so its read is keyed
/// by location, not by subscription.
pub fn kubernetes_versions_scope(location: &str) -> String {
    format!(
        "/providers/Microsoft.ContainerService/locations/{}",
        location_key(location)
    )
}
