//! Container registries and what hangs off each one.
//!
//! Per subscription the registry list; then, per registry, its `privateEndpointConnections`
//! and `tokens` child lists and the role assignments at or above it (`$filter=atScope()`,
//! which includes those inherited from the resource group, subscription and management
//! groups: what AcrPull wiring checks need). Child lists are stored keyed by the registry ID,
//! lower-cased, and each has its own coverage entry scoped to the registry.

use serde_json::Value;

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api, arm};

/// The registry list is read when it, or any of its children, is wanted.
const FAMILY: &[&str] = &[
    api::REGISTRIES,
    api::REGISTRY_PE_CONNECTIONS,
    api::REGISTRY_TOKENS,
    api::ROLE_ASSIGNMENTS,
];

pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    if !ctx.plan.wants_any(FAMILY) {
        return Ok(());
    }
    let url = route::registries(ctx.base(), &sub.subscription_id);
    let Some(registries) = ctx.list(url, &sub.id, api::REGISTRIES).await? else {
        return Ok(());
    };
    ctx.update(|inv| inv.registries.extend(registries.iter().cloned()));
    futures::future::try_join_all(registries.iter().map(|r| children(ctx, r))).await?;
    Ok(())
}

async fn children(ctx: &Ctx<'_>, registry: &Value) -> Result<(), CollectError> {
    let id = arm::id(registry);
    if id.is_empty() {
        return Ok(());
    }
    let key = id.to_ascii_lowercase();
    let base = ctx.base();
    let connections = async {
        if ctx.plan.wants(api::REGISTRY_PE_CONNECTIONS) {
            let url = route::registry_private_endpoint_connections(base, id);
            if let Some(items) = ctx.list(url, id, api::REGISTRY_PE_CONNECTIONS).await? {
                ctx.update(|inv| {
                    inv.registry_private_endpoint_connections
                        .insert(key.clone(), items)
                });
            }
        }
        Ok::<(), CollectError>(())
    };
    let tokens = async {
        if ctx.plan.wants(api::REGISTRY_TOKENS) {
            let url = route::registry_tokens(base, id);
            if let Some(items) = ctx.list(url, id, api::REGISTRY_TOKENS).await? {
                ctx.update(|inv| inv.registry_tokens.insert(key.clone(), items));
            }
        }
        Ok::<(), CollectError>(())
    };
    let roles = async {
        if ctx.plan.wants(api::ROLE_ASSIGNMENTS) {
            let url = route::role_assignments_at(base, id);
            if let Some(items) = ctx.list(url, id, api::ROLE_ASSIGNMENTS).await? {
                ctx.update(|inv| inv.role_assignments.extend(items));
            }
        }
        Ok::<(), CollectError>(())
    };
    futures::try_join!(connections, tokens, roles)?;
    Ok(())
}
