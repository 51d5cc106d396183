//! Defender for Cloud pricings: the subscription's plans, and AKS machines' own plan.
//!
//! `GET /subscriptions/{s}/providers/Microsoft.Security/pricings` is not paged per its
//! swagger, but goes through the pager anyway, so a `nextLink` would be followed rather than
//! silently dropped. After every subscription is read, each machine the inventory identifies
//! as AKS node infrastructure (`Inventory::is_aks_machine`) gets its resource-level
//! `VirtualMachines` pricing read: that is where an exclusion of AKS nodes from Defender for
//! Servers shows (AKS-040). Those reads are scoped to the machine ID.

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api, arm};

pub(super) async fn subscription_pricings(
    ctx: &Ctx<'_>,
    sub: &Subscription,
) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::PRICINGS) {
        return Ok(());
    }
    let url = route::pricings(ctx.base(), &sub.subscription_id);
    if let Some(items) = ctx.list(url, &sub.id, api::PRICINGS).await? {
        ctx.update(|inv| {
            inv.pricings
                .insert(sub.subscription_id.to_ascii_lowercase(), items)
        });
    }
    Ok(())
}

/// Resource-level pricings of the AKS machines found; runs after every subscription.
pub(super) async fn machine_pricings(ctx: &Ctx<'_>) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::PRICINGS) {
        return Ok(());
    }
    let ids: Vec<String> = ctx.view(|inv| {
        let mut ids: Vec<String> = inv
            .machines
            .iter()
            .filter(|m| inv.is_aks_machine(m))
            .map(|m| arm::id(m).to_string())
            .filter(|id| !id.is_empty())
            .collect();
        ids.sort_by_key(|id| id.to_ascii_lowercase());
        ids.dedup_by(|a, b| arm::eq_ci(a, b));
        ids
    });
    let base = ctx.base();
    futures::future::try_join_all(ids.iter().map(|id| async move {
        let url = route::machine_pricing(base, id);
        if let Some(pricing) = ctx.get(url, id, api::PRICINGS).await? {
            ctx.update(|inv| {
                inv.resource_pricings
                    .insert(id.to_ascii_lowercase(), pricing)
            });
        }
        Ok::<(), CollectError>(())
    }))
    .await?;
    Ok(())
}
