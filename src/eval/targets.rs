//! What a check is about: the clusters, registries or subscriptions in scope.
//!
//! When a subscription's cluster (or registry) list could not be read, its resources are not in
//! the inventory at all; rather than silently producing no findings there, every resource check
//! reports one `unknown` finding on that subscription naming the failed read.

use serde_json::Value;

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
