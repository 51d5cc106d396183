//! Machines: VMs, VM scale sets and Arc machines per subscription.
//!
//! They matter for Defender for Servers cost (AKS-040): a subscription-level P1/P2 plan also
//! bills AKS nodes unless they are excluded. Each type is its own API and its own coverage
//! entry, because a principal may read compute but not Arc, or the reverse.

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api};

pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    let base = ctx.base();
    let guid = sub.subscription_id.as_str();
    let one = |api: &'static str, url| async move {
        if !ctx.plan.wants(api) {
            return Ok(());
        }
        if let Some(items) = ctx.list(url, &sub.id, api).await? {
            ctx.update(|inv| inv.machines.extend(items));
        }
        Ok::<(), CollectError>(())
    };
    futures::try_join!(
        one(api::VIRTUAL_MACHINES, route::virtual_machines(base, guid)),
        one(api::SCALE_SETS, route::scale_sets(base, guid)),
        one(api::ARC_MACHINES, route::arc_machines(base, guid)),
    )?;
    Ok(())
}
