//! Machines: VMs, VM scale sets and Arc machines per subscription.
//!
//! They matter for Defender for Servers cost (AKS-040): a subscription-level P1/P2 plan also
//! bills AKS nodes unless they are excluded. Each type is its own API and its own coverage
//! entry, because a principal may read compute but not Arc, or the reverse.

use serde_json::Value;

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api};

/// Lists the subscription's machines; returns those read (for `defender::aks_machine_ids`).
pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<Vec<Value>, CollectError> {
    let base = ctx.base();
    let guid = sub.subscription_id.as_str();
    let one = |api: &'static str, url| async move {
        if !ctx.plan.wants(api) {
            return Ok(Vec::new());
        }
        let items = ctx.list(url, &sub.id, api).await?.unwrap_or_default();
        Ok::<Vec<Value>, CollectError>(ctx.store_listed(items, |inv| &mut inv.machines))
    };
    let (vms, scale_sets, arc) = futures::try_join!(
        one(api::VIRTUAL_MACHINES, route::virtual_machines(base, guid)),
        one(api::SCALE_SETS, route::scale_sets(base, guid)),
        one(api::ARC_MACHINES, route::arc_machines(base, guid)),
    )?;
    Ok([vms, scale_sets, arc].concat())
}
