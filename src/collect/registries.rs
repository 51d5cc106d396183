//! Container registries and what hangs off each one.
//!
//! Per subscription the registry list; then, per registry and as the plan says, its
//! `privateEndpointConnections` and `tokens` child lists, its diagnostic settings, its
//! Defender assessments, and the role assignments at or above it (`$filter=atScope()`, which
//! includes those inherited from the resource group, subscription and management groups: what
//! AcrPull wiring checks need). Child lists are stored keyed by the registry ID, lower-cased
//! (role assignments go into one list, deduplicated later), and each has its own coverage
//! entry scoped to the registry.

use serde_json::Value;

use super::follow::{self, RoleTarget};
use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api, arm};

pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    if !ctx.plan.wants_registries() {
        return Ok(());
    }
    let url = route::registries(ctx.base(), &sub.subscription_id);
    let Some(registries) = ctx.list(url, &sub.id, api::REGISTRIES).await? else {
        return Ok(());
    };
    let registries = ctx.store_listed(registries, |inv| &mut inv.registries);
    futures::future::try_join_all(registries.iter().map(|r| children(ctx, r))).await?;
    Ok(())
}

async fn children(ctx: &Ctx<'_>, registry: &Value) -> Result<(), CollectError> {
    let id = arm::id(registry);
    if id.is_empty() {
        return Ok(());
    }
    let plan = ctx.plan;
    let connections = async {
        if plan.wants(api::REGISTRY_PE_CONNECTIONS) {
            follow::registry_connections(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let tokens = async {
        if plan.wants(api::REGISTRY_TOKENS) {
            follow::registry_tokens(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let roles = async {
        if plan.wants_on_registries(api::ROLE_ASSIGNMENTS) {
            follow::role_assignments(ctx, id, RoleTarget::Registry).await?;
        }
        Ok::<(), CollectError>(())
    };
    let diagnostics = async {
        if plan.wants_on_registries(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    let assessments = async {
        if plan.wants_on_registries(api::ASSESSMENTS) {
            follow::assessments(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    };
    futures::try_join!(connections, tokens, roles, diagnostics, assessments)?;
    Ok(())
}
