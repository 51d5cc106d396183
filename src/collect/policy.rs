//! Azure Policy: assignments, exemptions, and the definitions the assignments reference.
//!
//! Per subscription, its assignments and its exemptions, both without a filter: at the
//! subscription, inherited from every management group above, and at its resource groups and
//! resources (which `$filter=atScope()` would leave out, though they cover the clusters and
//! registries there, so a successful read of a subscription answers for every target in it).
//! Both are deduplicated by ID, since every
//! subscription under a group sees that group's assignments. Once all subscriptions are read,
//! each distinct `policyDefinitionId` is fetched once — a definition or a set definition,
//! decided by the ID's type segment — and, for sets, the member definitions whose GUID a check
//! asked for. Each of those reads is scoped to the definition ID.

use std::collections::HashSet;

use serde_json::Value;

use super::{CollectError, Ctx, Plan};
use crate::azure::endpoints::route;
use crate::inventory::{Subscription, api, arm};
use crate::json;

/// Assignments are read for themselves and as the parents of definitions.
pub(super) const ASSIGNMENT_FAMILY: &[&str] = &[
    api::POLICY_ASSIGNMENTS,
    api::POLICY_DEFINITIONS,
    api::POLICY_SET_DEFINITIONS,
];

pub(super) async fn assignments(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    if !ctx.plan.wants_any(ASSIGNMENT_FAMILY) {
        return Ok(());
    }
    let url = route::policy_assignments(ctx.base(), &sub.subscription_id);
    if let Some(items) = ctx.list(url, &sub.id, api::POLICY_ASSIGNMENTS).await? {
        ctx.update(|inv| inv.policy_assignments.extend(json::list(items)));
    }
    Ok(())
}

pub(super) async fn exemptions(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    if !ctx.plan.wants(api::POLICY_EXEMPTIONS) {
        return Ok(());
    }
    let url = route::policy_exemptions(ctx.base(), &sub.subscription_id);
    if let Some(items) = ctx.list(url, &sub.id, api::POLICY_EXEMPTIONS).await? {
        ctx.update(|inv| inv.policy_exemptions.extend(json::list(items)));
    }
    Ok(())
}

/// What a policy definition ID names, by its type segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefinitionKind {
    Definition,
    Set,
}

pub(crate) fn definition_kind(id: &str) -> Option<DefinitionKind> {
    let mut segments = id.trim_end_matches('/').rsplit('/');
    let _name = segments.next().filter(|n| !n.is_empty())?;
    let kind = segments.next()?;
    let namespace = segments.next()?;
    if !arm::eq_ci(namespace, "Microsoft.Authorization") {
        return None;
    }
    if arm::eq_ci(kind, "policyDefinitions") {
        Some(DefinitionKind::Definition)
    } else if arm::eq_ci(kind, "policySetDefinitions") {
        Some(DefinitionKind::Set)
    } else {
        None
    }
}

/// Distinct IDs (first spelling kept), compared case-insensitively.
fn distinct<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| !id.is_empty() && seen.insert(id.to_ascii_lowercase()))
        .map(str::to_string)
        .collect()
}

/// The definitions (`.0`) and set definitions (`.1`) the collected assignments reference that
/// the plan wants read.
pub(super) fn referenced(ctx: &Ctx<'_>) -> (Vec<String>, Vec<String>) {
    let plan = ctx.plan;
    let referenced: Vec<String> = ctx.view(|inv| {
        distinct(
            inv.policy_assignments
                .iter()
                .filter_map(|a| arm::str_at(a, "properties.policyDefinitionId")),
        )
    });
    let mut direct = Vec::new();
    let mut sets = Vec::new();
    for id in referenced {
        match definition_kind(&id) {
            Some(DefinitionKind::Definition)
                if plan.wants(api::POLICY_DEFINITIONS)
                    && (plan.policy_guids.is_empty() || plan.wants_policy(&id)) =>
            {
                direct.push(id)
            }
            Some(DefinitionKind::Set) if plan.wants(api::POLICY_SET_DEFINITIONS) => sets.push(id),
            Some(_) => {}
            None => tracing::debug!("not a policy definition ID, not read: {id}"),
        }
    }
    (direct, sets)
}

/// The members of the read `sets` whose GUID a check asked for, not already in `direct`.
pub(super) fn members(plan: &Plan, sets: &[Value], direct: &[String]) -> Vec<String> {
    distinct(
        sets.iter()
            .filter_map(|set| arm::array_at(set, "properties.policyDefinitions"))
            .flatten()
            .filter_map(|member| arm::str_at(member, "policyDefinitionId"))
            .filter(|id| plan.wants(api::POLICY_DEFINITIONS) && plan.wants_policy(id))
            .filter(|id| definition_kind(id) == Some(DefinitionKind::Definition))
            .filter(|id| !direct.iter().any(|d| arm::eq_ci(d, id))),
    )
}

/// Reads the definitions and set definitions referenced by the collected assignments, then
/// the wanted members of those sets.
pub(super) async fn definitions(ctx: &Ctx<'_>) -> Result<(), CollectError> {
    let (direct, sets) = referenced(ctx);
    let read_sets = futures::future::try_join_all(
        sets.iter()
            .map(|id| fetch(ctx, id, api::POLICY_SET_DEFINITIONS)),
    );
    let read_direct = futures::future::try_join_all(
        direct
            .iter()
            .map(|id| fetch(ctx, id, api::POLICY_DEFINITIONS)),
    );
    let (read_sets, _) = futures::try_join!(read_sets, read_direct)?;
    let read_sets: Vec<Value> = read_sets.into_iter().flatten().collect();
    let members = members(ctx.plan, &read_sets, &direct);
    futures::future::try_join_all(
        members
            .iter()
            .map(|id| fetch(ctx, id, api::POLICY_DEFINITIONS)),
    )
    .await?;
    Ok(())
}

/// GETs one definition or set definition and stores it.
pub(super) async fn fetch(
    ctx: &Ctx<'_>,
    id: &str,
    api_name: &str,
) -> Result<Option<Value>, CollectError> {
    let url = route::policy_definition(ctx.base(), id);
    let found = ctx.get(url, id, api_name).await?;
    if let Some(value) = &found {
        let value = value.clone();
        ctx.update(|inv| {
            if api_name == api::POLICY_SET_DEFINITIONS {
                inv.policy_set_definitions.push(json::one(value));
            } else {
                inv.policy_definitions.push(json::one(value));
            }
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_type_segment() {
        assert_eq!(
            definition_kind(
                "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4"
            ),
            Some(DefinitionKind::Definition)
        );
        assert_eq!(
            definition_kind(
                "/providers/Microsoft.Management/managementGroups/alz/providers/microsoft.authorization/POLICYSETDEFINITIONS/Deploy-MDFC-Config_20240319"
            ),
            Some(DefinitionKind::Set)
        );
        assert_eq!(
            definition_kind("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/x"),
            None
        );
        assert_eq!(definition_kind("policyDefinitions/x"), None);
        assert_eq!(definition_kind(""), None);
    }

    #[test]
    fn distinct_ignores_case_and_keeps_first_spelling() {
        assert_eq!(distinct(["/A/b", "/a/B", "", "/c"]), vec!["/A/b", "/c"]);
    }
}
