//! The ARM reads that hang off one resource (a cluster, a registry, a private endpoint), one
//! function each, so that the ARM collectors and the Resource Graph path (which reads over ARM
//! what Resource Graph does not hold, and falls back per resource) make them the same way:
//! same URL, same coverage entry scoped to the resource ID, same place in the inventory.

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::api;
use crate::json;

/// The resource's `Microsoft.Insights/diagnosticSettings`.
pub(super) async fn diagnostic_settings(ctx: &Ctx<'_>, id: &str) -> Result<(), CollectError> {
    let url = route::diagnostic_settings(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::DIAGNOSTIC_SETTINGS).await? {
        ctx.update(|inv| {
            inv.diagnostic_settings
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// The resource's Defender for Cloud assessments.
pub(super) async fn assessments(ctx: &Ctx<'_>, id: &str) -> Result<(), CollectError> {
    let url = route::assessments(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::ASSESSMENTS).await? {
        ctx.update(|inv| {
            inv.assessments
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// A cluster's latest policy states (PolicyInsights `queryResults` at its subscription).
pub(super) async fn policy_states(
    ctx: &Ctx<'_>,
    subscription: &str,
    id: &str,
) -> Result<(), CollectError> {
    let url = route::policy_states(ctx.base(), subscription, id);
    if let Some(items) = ctx.query(url, id, api::POLICY_STATES).await? {
        ctx.update(|inv| {
            inv.policy_states
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// Where role assignments at or above a resource go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleTarget {
    Cluster,
    Registry,
}

/// The role assignments at or above the resource (`$filter=atScope()`).
pub(super) async fn role_assignments(
    ctx: &Ctx<'_>,
    id: &str,
    target: RoleTarget,
) -> Result<(), CollectError> {
    let url = route::role_assignments_at(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::ROLE_ASSIGNMENTS).await? {
        ctx.update(|inv| match target {
            RoleTarget::Cluster => inv.cluster_role_assignments.extend(json::list(items)),
            RoleTarget::Registry => inv.role_assignments.extend(json::list(items)),
        });
    }
    Ok(())
}

/// A registry's `privateEndpointConnections` list.
pub(super) async fn registry_connections(ctx: &Ctx<'_>, id: &str) -> Result<(), CollectError> {
    let url = route::registry_private_endpoint_connections(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::REGISTRY_PE_CONNECTIONS).await? {
        ctx.update(|inv| {
            inv.registry_private_endpoint_connections
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// A registry's `tokens` list.
pub(super) async fn registry_tokens(ctx: &Ctx<'_>, id: &str) -> Result<(), CollectError> {
    let url = route::registry_tokens(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::REGISTRY_TOKENS).await? {
        ctx.update(|inv| {
            inv.registry_tokens
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}

/// A private endpoint's `privateDnsZoneGroups` list.
pub(super) async fn zone_groups(ctx: &Ctx<'_>, id: &str) -> Result<(), CollectError> {
    let url = route::private_dns_zone_groups(ctx.base(), id);
    if let Some(items) = ctx.list(url, id, api::PRIVATE_DNS_ZONE_GROUPS).await? {
        ctx.update(|inv| {
            inv.private_dns_zone_groups
                .insert(id.to_ascii_lowercase(), json::list(items))
        });
    }
    Ok(())
}
