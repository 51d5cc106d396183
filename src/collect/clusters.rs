//! AKS clusters: `Microsoft.ContainerService/managedClusters` per subscription, what hangs off
//! each cluster, and the Kubernetes versions AKS supports where they run.
//!
//! The clusters are the centre of most checks and also decide which machines are AKS node
//! infrastructure (their `nodeResourceGroup`), so they are read for every audited subscription
//! whenever the plan needs them, and stored exactly as ARM returned them (secrets redacted).
//! Per cluster, as the plan says: its diagnostic settings, its Defender assessments, its
//! latest policy states (PolicyInsights `queryResults`, a POST at the cluster's subscription
//! filtered on `resourceId`, paged by `@odata.nextLink`), and the role assignments at or above
//! it (`$filter=atScope()`: the cluster, its resource group, subscription and management
//! groups — what AKS-023 weighs). Each is stored keyed by the lower-cased cluster ID (role
//! assignments go into one list, deduplicated later) and recorded under the cluster ID.
//!
//! Once every subscription is read, the supported-versions list is fetched once per location
//! the clusters use, through the first audited subscription (by GUID) with a cluster there;
//! a failed read is retried through the next such subscription before it is recorded, because
//! the list belongs to the location, not to the subscription it is asked through; when every
//! such subscription fails, the first failure is the one recorded.

use std::collections::BTreeMap;

use serde_json::Value;
use tracing::debug;

use super::follow::{self, RoleTarget};
use super::{CollectError, Ctx};
use crate::azure::Expect;
use crate::azure::endpoints::route;
use crate::inventory::snapshot::redact_secrets;
use crate::inventory::views::{kubernetes_versions_scope, location_key};
use crate::inventory::{Read, Subscription, api, arm};
use crate::json;

/// Lists the subscription's clusters and reads what hangs off each; returns the clusters read
/// (none when the list failed), which decide the subscription's AKS machines.
pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<Vec<Value>, CollectError> {
    if !ctx.plan.wants_clusters() {
        return Ok(Vec::new());
    }
    let url = route::clusters(ctx.base(), &sub.subscription_id);
    let Some(clusters) = ctx.list(url, &sub.id, api::CLUSTERS).await? else {
        return Ok(Vec::new());
    };
    let clusters = ctx.store_listed(clusters, |inv| &mut inv.clusters);
    futures::future::try_join_all(clusters.iter().map(|c| children(ctx, sub, c))).await?;
    Ok(clusters)
}

async fn children(ctx: &Ctx<'_>, sub: &Subscription, cluster: &Value) -> Result<(), CollectError> {
    let id = arm::id(cluster);
    if id.is_empty() {
        return Ok(());
    }
    let plan = ctx.plan;
    let diagnostics = async {
        if plan.wants_on_clusters(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let assessments = async {
        if plan.wants_on_clusters(api::ASSESSMENTS) {
            follow::assessments(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let states = async {
        if plan.wants(api::POLICY_STATES) {
            follow::policy_states(ctx, &sub.subscription_id, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let roles = async {
        if plan.wants_on_clusters(api::ROLE_ASSIGNMENTS) {
            follow::role_assignments(ctx, id, RoleTarget::Cluster).await?;
        }
        Ok::<(), CollectError>(())
    };
    futures::try_join!(diagnostics, assessments, states, roles)?;
    Ok(())
}

/// Location key → the audited subscriptions (GUIDs, sorted, distinct) with a cluster there.
fn locations_in_use(clusters: &[json::Value]) -> BTreeMap<String, Vec<String>> {
    let mut locations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cluster in clusters {
        let (Some(location), Some(sub)) = (
            arm::str_at(cluster, "location"),
            arm::subscription_of(arm::id(cluster)),
        ) else {
            continue;
        };
        let key = location_key(location);
        if key.is_empty() {
            continue;
        }
        let subs = locations.entry(key).or_default();
        if !subs.contains(&sub) {
            subs.push(sub);
        }
    }
    for subs in locations.values_mut() {
        subs.sort();
    }
    locations
}

/// Supported Kubernetes versions, once per location in use; runs after every subscription.
pub(super) async fn kubernetes_versions(ctx: &Ctx<'_>) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::KUBERNETES_VERSIONS) {
        return Ok(());
    }
    let locations = ctx.view(|inv| locations_in_use(&inv.clusters));
    futures::future::try_join_all(
        locations
            .iter()
            .map(|(location, subs)| versions_of(ctx, location, subs)),
    )
    .await?;
    Ok(())
}

async fn versions_of(ctx: &Ctx<'_>, location: &str, subs: &[String]) -> Result<(), CollectError> {
    let scope = kubernetes_versions_scope(location);
    let mut first_error = None;
    for sub in subs {
        let url = route::kubernetes_versions(ctx.base(), sub, location);
        match ctx.client.get(&url, Expect::ArrayField("values")).await {
            Ok(mut versions) => {
                redact_secrets(&mut versions);
                ctx.update(|inv| {
                    inv.kubernetes_versions
                        .insert(location.to_string(), json::one(versions));
                });
                ctx.record_at(Read::ok(&scope, api::KUBERNETES_VERSIONS), url.as_str());
                return Ok(());
            }
            Err(err) if err.is_sign_in() => {
                return ctx.failed(err, &scope, api::KUBERNETES_VERSIONS, false);
            }
            Err(err) => {
                debug!("supported versions of {location} through subscription {sub}: {err}");
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => ctx.failed(err, &scope, api::KUBERNETES_VERSIONS, false),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    #[test]
    fn locations_are_keyed_and_list_each_subscription_once_in_order() {
        let cluster = |sub: &str, name: &str, location: &str| {
            json!({"id": format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"),
                   "location": location})
        };
        let clusters = vec![
            cluster("BBB", "c1", "West Europe"),
            cluster("aaa", "c2", "westeurope"),
            cluster("bbb", "c3", "westeurope"),
            cluster("ccc", "c4", "eastus2"),
            json!({"id": "/subscriptions/ddd/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/nowhere"}),
            json!({"location": "northeurope"}),
        ];
        let locations = locations_in_use(&clusters);
        assert_eq!(
            locations.into_iter().collect::<Vec<_>>(),
            [
                ("eastus2".to_string(), vec!["ccc".to_string()]),
                (
                    "westeurope".to_string(),
                    vec!["aaa".to_string(), "bbb".to_string()]
                ),
            ]
        );
    }
}
