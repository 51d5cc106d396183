//! What a check is about: the clusters, registries or subscriptions in scope.
//!
//! When a subscription's cluster (or registry) list could not be read, its resources are not in
//! the inventory at all; rather than silently producing no findings there, every resource check
//! reports one `unknown` finding on that subscription naming the failed read.

use crate::json::Value;

use super::{Finding, Status};
use crate::catalogue::Target;
use crate::inventory::{Inventory, api};

/// The resources a check of `target` evaluates, plus `unknown` findings for the subscriptions
/// whose list of that resource type is missing. Subscription targets are handled by callers.
pub fn resources<'a>(
    check_id: &str,
    inventory: &'a Inventory,
    target: Target,
) -> (Vec<&'a Value>, Vec<Finding>) {
    let (list, api, noun) = match target {
        Target::Cluster => (&inventory.clusters, api::CLUSTERS, "AKS clusters"),
        Target::Registry => (
            &inventory.registries,
            api::REGISTRIES,
            "container registries",
        ),
        Target::Subscription => return (Vec::new(), Vec::new()),
    };
    let mut unknown = Vec::new();
    for sub in &inventory.subscriptions {
        if let Some(reason) = inventory
            .read_state(&sub.id, api)
            .missing_reason(&sub.id, api)
        {
            unknown.push(Finding::new(
                check_id,
                &sub.id,
                Status::Unknown,
                format!("cannot evaluate the {noun} of this subscription: {reason}"),
            ));
        }
    }
    let resources = list
        .iter()
        .filter(|r| inventory.subscription_of(r).is_some())
        .collect();
    (resources, unknown)
}

/// The findings of a per-resource check: the `unknown` findings of `resources`, then `judge`'s
/// finding on each resource of `target`, in inventory order.
pub fn judge_each<'a>(
    check_id: &str,
    inventory: &'a Inventory,
    target: Target,
    mut judge: impl FnMut(&'a Value) -> Finding,
) -> Vec<Finding> {
    let (resources, mut findings) = resources(check_id, inventory, target);
    findings.extend(resources.into_iter().map(&mut judge));
    findings
}

/// How a subscription stands for a check scoped to "AKS subscriptions" (catalogue §1: those
/// with at least one cluster).
#[derive(Debug)]
pub enum AksSubscription<'a> {
    /// Its clusters (at least one).
    Clusters(Vec<&'a Value>),
    /// Its cluster list was read and is empty: the check does not apply.
    NoClusters,
    /// Its cluster list could not be read, and why: whether it is in scope is unknown.
    Unknown(String),
}

/// Classifies one audited subscription for a check scoped to AKS subscriptions.
pub fn aks_subscription<'a>(
    inventory: &'a Inventory,
    subscription: &crate::inventory::Subscription,
) -> AksSubscription<'a> {
    if let Some(reason) = inventory
        .read_state(&subscription.id, api::CLUSTERS)
        .missing_reason(&subscription.id, api::CLUSTERS)
    {
        return AksSubscription::Unknown(reason);
    }
    let clusters: Vec<&Value> = inventory
        .clusters_in(&subscription.subscription_id)
        .collect();
    if clusters.is_empty() {
        AksSubscription::NoClusters
    } else {
        AksSubscription::Clusters(clusters)
    }
}
