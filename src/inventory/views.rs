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
