//! AKS clusters: `Microsoft.ContainerService/managedClusters` per subscription.
//!
//! The clusters are the centre of most checks and also decide which machines are AKS node
//! infrastructure (their `nodeResourceGroup`), so they are read for every audited subscription
//! whenever the plan names them, and stored exactly as ARM returned them (secrets redacted).

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api};

pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::CLUSTERS) {
        return Ok(());
    }
    let url = route::clusters(ctx.base(), &sub.subscription_id);
    if let Some(items) = ctx.list(url, &sub.id, api::CLUSTERS).await? {
        ctx.update(|inv| inv.clusters.extend(items));
    }
    Ok(())
}
