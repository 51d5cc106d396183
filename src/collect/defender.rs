//! Defender for Cloud pricings: the subscription's plans, and AKS machines' own plan.
//!
//! `GET /subscriptions/{s}/providers/Microsoft.Security/pricings` is not paged per its
//! swagger, but goes through the pager anyway, so a `nextLink` would be followed rather than
//! silently dropped. Once a subscription's clusters and machines are listed, each machine
//! identified as AKS node infrastructure (`aks_machine_ids`, the rule of
//! `Inventory::is_aks_machine`) gets its resource-level `VirtualMachines` pricing read: that
//! is where an exclusion of AKS nodes from Defender for Servers shows (AKS-040). Those reads
//! are scoped to the machine ID.
//!
//! The tenant-level assessment metadata list (`GET /providers/Microsoft.Security/
//! assessmentMetadata`, paged by `nextLink`) is read once per run: the assessment lists read at
//! each resource carry no `metadata` (`ListAssessments_example.json`), so the severity of an
//! assessment type comes from here (AKS-006). Its read is scoped to
//! `views::ASSESSMENT_METADATA_SCOPE`.

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::views::{self, ASSESSMENT_METADATA_SCOPE};
use crate::inventory::{Subscription, api, arm};
use crate::json;

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
                .insert(sub.subscription_id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// The machines among `machines` that are AKS node infrastructure, by their own tags or by
/// the node resource group of one of `clusters` (both of one subscription, as listed): IDs
/// sorted and distinct, case-insensitively. Computed from the lists a collector has just
/// read, not from the inventory, which a scan per subscription would make quadratic.
pub(super) fn aks_machine_ids<'a>(
    clusters: impl IntoIterator<Item = &'a serde_json::Value>,
    machines: impl IntoIterator<Item = &'a serde_json::Value>,
) -> Vec<String> {
    let node_groups = views::node_resource_groups(clusters);
    let mut ids: Vec<String> = machines
        .into_iter()
        .filter(|m| views::is_aks_machine_among(m, &node_groups))
        .map(|m| arm::id(m).to_string())
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort_by_key(|id| id.to_ascii_lowercase());
    ids.dedup_by(|a, b| arm::eq_ci(a, b));
    ids
}

/// Resource-level pricings of a subscription's AKS machines (`aks_machine_ids`); runs once its
/// cluster and machine lists are read.
pub(super) async fn machine_pricings(ctx: &Ctx<'_>, ids: &[String]) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::PRICINGS) {
        return Ok(());
    }
    let base = ctx.base();
    futures::future::try_join_all(ids.iter().map(|id| async move {
        let url = route::machine_pricing(base, id);
        if let Some(pricing) = ctx.get(url, id, api::PRICINGS).await? {
            ctx.update(|inv| {
                inv.resource_pricings
                    .insert(id.to_ascii_lowercase(), json::one(pricing))
            });
        }
        Ok::<(), CollectError>(())
    }))
    .await?;
    Ok(())
}

/// The tenant-level assessment metadata list, once per run.
pub(super) async fn assessment_metadata(ctx: &Ctx<'_>) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::ASSESSMENT_METADATA) {
        return Ok(());
    }
    let url = route::assessment_metadata(ctx.base());
    if let Some(items) = ctx
        .list(url, ASSESSMENT_METADATA_SCOPE, api::ASSESSMENT_METADATA)
        .await?
    {
        ctx.update(|inv| inv.assessment_metadata = json::list(items));
    }
    Ok(())
}
