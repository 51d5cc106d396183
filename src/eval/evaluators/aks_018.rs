//! AKS-018: only automation identities can push to a registry.
//!
//! It decides per registry from the role assignments collected at or above it: an assignment
//! counts when its role (the trailing GUID of `roleDefinitionId`) is one of `push_roles` (AcrPush,
//! Contributor, Owner) and its scope covers the registry (the registry, its resource group or
//! subscription, a management group above it, or `/`). Each such principal is judged by
//! `principalType`: `ServicePrincipal` (pipelines, managed identities) is fine; a `Group` or
//! `ForeignGroup` warns; an individual `User` fails on a production registry and warns elsewhere
//! (the catalogue names the fail only for production; a user holding push on a non-production
//! registry is still not automation, so it is at least a warn). No push-capable principal at all
//! passes: nobody but automation can push.
//!
//! Which registries are production is configuration, not ARM (catalogue §9): a registry is
//! production when it carries the tag `production_tag_name` (tag names compared
//! case-insensitively, as Azure does) with one of `production_tag_values`, or sits in a
//! subscription of `production_subscriptions`, or under a management group of
//! `production_management_groups`.
//!
//! Missing data is resolved by bounding the verdict. The best case leaves out what is uncertain
//! (grants at a management group whose relation to the registry cannot be placed, principals of
//! unknown type read as service principals, production unknown read as not production, no hidden
//! assignment); the worst case assumes it (those grants count, unknown types are users, the
//! registry is production, and a failed role-assignment read hides a user). When both agree, that
//! is the verdict; when the best case already fails, the fail is certain; otherwise `unknown`.

use crate::json::Value;
use serde_json::json;

use super::pull::role_name;
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{role_assignment_scope, role_definition_guid};
use crate::inventory::{api, arm};

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let roles = ctx.param_strings("push_roles");
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx, &roles, registry)
    })
}

/// Whether the registry is production-scoped, and why.
enum Production {
    Yes(String),
    No,
    Unknown(String),
}

fn production(ctx: &EvalContext, registry: &Value) -> Production {
    let tag_name = ctx.param_str("production_tag_name").unwrap_or_default();
    let tag_values = ctx.param_strings("production_tag_values");
    if !tag_name.trim().is_empty()
        && let Some(tags) = arm::path(registry, "tags").and_then(Value::as_object)
        && let Some((name, value)) = tags
            .iter()
            .find(|(k, _)| arm::eq_ci(k, tag_name))
            .and_then(|(k, v)| v.as_str().map(|v| (k, v)))
        && tag_values.iter().any(|t| arm::eq_ci(t, value))
    {
        return Production::Yes(format!("tag {name}={value}"));
    }
    let sub = arm::subscription_of(arm::id(registry)).unwrap_or_default();
    if ctx
        .param_strings("production_subscriptions")
        .iter()
        .any(|s| arm::eq_ci(s.trim_start_matches("/subscriptions/"), &sub))
    {
        return Production::Yes(format!("subscription {sub} is in production_subscriptions"));
    }
    let mgs = ctx.param_strings("production_management_groups");
    if mgs.is_empty() {
        return Production::No;
    }
    match ctx
        .inventory
        .subscription(&sub)
        .and_then(|s| s.management_group_ancestors.as_ref())
    {
        Some(chain) => match chain.iter().find(|a| mgs.iter().any(|m| arm::eq_ci(m, a))) {
            Some(mg) => Production::Yes(format!(
                "management group {mg} is in production_management_groups"
            )),
            None => Production::No,
        },
        None => Production::Unknown(format!(
            "the management-group ancestry of subscription {sub} was not read, so production_management_groups cannot be matched"
        )),
    }
}

/// The kind of principal behind a push-capable assignment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Automation,
    Group,
    User,
    Unknown,
}

fn kind_of(assignment: &Value) -> Kind {
    match arm::str_at(assignment, "properties.principalType") {
        Some(t) if arm::eq_ci(t, "ServicePrincipal") => Kind::Automation,
        Some(t) if arm::eq_ci(t, "Group") || arm::eq_ci(t, "ForeignGroup") => Kind::Group,
        Some(t) if arm::eq_ci(t, "User") => Kind::User,
        _ => Kind::Unknown,
    }
}

/// The verdict for a set of principal kinds on a registry of known production-ness.
fn verdict(users: bool, groups: bool, production: bool) -> Status {
    if users && production {
        Status::Fail
    } else if users || groups {
        Status::Warn
    } else {
        Status::Pass
    }
}

fn describe(assignment: &Value) -> String {
    format!(
        "{} {} ({} at {})",
        arm::str_at(assignment, "properties.principalType").unwrap_or("principal of unknown type"),
        arm::str_at(assignment, "properties.principalId").unwrap_or("?"),
        role_name(role_definition_guid(assignment).unwrap_or_default()),
        role_assignment_scope(assignment).unwrap_or_default()
    )
}

fn evaluate_registry(
    check: &str,
    ctx: &EvalContext,
    roles: &[String],
    registry: &Value,
) -> Finding {
    let inv = ctx.inventory;
    let id = arm::id(registry);
    let grants = inv.role_grants(id, roles, None);
    let read_gap = inv
        .read_state(id, api::ROLE_ASSIGNMENTS)
        .missing_reason(id, api::ROLE_ASSIGNMENTS);
    let prod = production(ctx, registry);

    let mut evidence = Vec::new();
    let tag_name = ctx.param_str("production_tag_name").unwrap_or_default();
    evidence.push(
        Evidence::new(
            if tag_name.trim().is_empty() {
                "tags".to_string()
            } else {
                format!("tags.{tag_name}")
            },
            arm::path(registry, "tags")
                .and_then(Value::as_object)
                .and_then(|t| t.iter().find(|(k, _)| arm::eq_ci(k, tag_name)))
                .map_or(Value::Null, |(_, v)| v.clone()),
            "decides, with production_subscriptions and production_management_groups, whether the registry is production",
        )
        .note(match &prod {
            Production::Yes(why) => format!("production: {why}"),
            Production::No => "not production-scoped".to_string(),
            Production::Unknown(why) => format!("production scope unknown: {why}"),
        }),
    );

    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut automation = 0usize;
    let mut unknown_kind = Vec::new();
    for a in &grants.covering {
        let kind = kind_of(a);
        evidence.push(
            Evidence::new(
                "properties.principalType",
                arm::path(a, "properties.principalType")
                    .cloned()
                    .unwrap_or(Value::Null),
                "ServicePrincipal",
            )
            .on(arm::id(a))
            .note(describe(a)),
        );
        match kind {
            Kind::Automation => automation += 1,
            Kind::Group => groups.push(describe(a)),
            Kind::User => users.push(describe(a)),
            Kind::Unknown => unknown_kind.push(describe(a)),
        }
    }
    let undetermined: Vec<String> = grants.undetermined.iter().map(|a| describe(a)).collect();
    for a in &grants.undetermined {
        evidence.push(
            Evidence::new(
                "properties.scope",
                json!(role_assignment_scope(a)),
                "a scope known to cover the registry, or not",
            )
            .on(arm::id(a))
            .note(format!(
                "{}: the management-group ancestry of the registry's subscription was not read, so this grant may or may not cover it",
                describe(a)
            )),
        );
    }
    if let Some(reason) = &read_gap {
        evidence.push(
            Evidence::new(
                "role assignments at or above the registry",
                Value::Null,
                "the complete list",
            )
            .on(id)
            .note(format!("incomplete: {reason}")),
        );
    }

    let is_prod_best = matches!(prod, Production::Yes(_));
    let is_prod_worst = !matches!(prod, Production::No);
    let best = verdict(!users.is_empty(), !groups.is_empty(), is_prod_best);
    let worst_users = !users.is_empty()
        || !unknown_kind.is_empty()
        || !undetermined.is_empty()
        || read_gap.is_some();
    let worst = verdict(worst_users, !groups.is_empty(), is_prod_worst);

    let status = if best == worst || best == Status::Fail {
        best
    } else {
        Status::Unknown
    };
    let scope_phrase = match &prod {
        Production::Yes(why) => format!("production registry ({why})"),
        Production::No => "registry not in the production scope".to_string(),
        Production::Unknown(_) => "registry of unknown production scope".to_string(),
    };
    let mut message = match status {
        Status::Fail => format!(
            "individual users can push to this {scope_phrase}: {}",
            users.join("; ")
        ),
        Status::Warn => {
            let mut parts = Vec::new();
            if !users.is_empty() {
                parts.push(format!("users {}", users.join("; ")));
            }
            if !groups.is_empty() {
                parts.push(format!("groups {}", groups.join("; ")));
            }
            format!(
                "push rights are held by principals other than automation identities on this {scope_phrase}: {}",
                parts.join("; ")
            )
        }
        Status::Pass if grants.covering.is_empty() => format!(
            "no principal holds a push-capable role (AcrPush, Contributor, Owner) on this {scope_phrase}"
        ),
        Status::Pass => format!(
            "only service principals ({automation}) hold push-capable roles on this {scope_phrase}"
        ),
        _ => {
            let mut why = Vec::new();
            if let Some(reason) = &read_gap {
                why.push(format!("the role assignments are incomplete ({reason})"));
            }
            if !unknown_kind.is_empty() {
                why.push(format!(
                    "principals of unknown type hold push: {}",
                    unknown_kind.join("; ")
                ));
            }
            if !undetermined.is_empty() {
                why.push(format!(
                    "management-group grants may cover the registry: {}",
                    undetermined.join("; ")
                ));
            }
            if let Production::Unknown(reason) = &prod {
                why.push(reason.clone());
            }
            format!(
                "cannot tell whether only automation identities can push ({})",
                why.join("; ")
            )
        }
    };
    if status == Status::Unknown && !users.is_empty() {
        message.push_str(&format!("; users holding push: {}", users.join("; ")));
    }
    Finding::new(check, id, status, message).with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_table() {
        assert_eq!(verdict(true, false, true), Status::Fail);
        assert_eq!(verdict(true, false, false), Status::Warn);
        assert_eq!(verdict(false, true, true), Status::Warn);
        assert_eq!(verdict(false, false, true), Status::Pass);
    }
}
