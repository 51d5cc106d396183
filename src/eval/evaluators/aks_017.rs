//! AKS-017: the cluster's kubelet identity can pull from a registry of its own subscription, with
//! the pull role that registry honours, and with nothing more.
//!
//! It decides per cluster by joining the kubelet identity (`identityProfile.kubeletidentity
//! .objectId`) with the role assignments collected at or above each registry: an assignment
//! covers a registry when its scope is the registry, its resource group, its subscription, a
//! management group on the subscription's ancestor chain, or `/`. The pull role that counts
//! depends on the registry's `roleAssignmentMode`: AcrPull on a legacy registry, Container
//! Registry Repository Reader on an ABAC registry (GUID unverified, catalogue U; both are
//! parameters). A pull grant on a same-subscription registry passes; none fails. AcrPull assigned
//! at an ABAC registry of the subscription, without a Repository Reader grant, fails too: ABAC
//! registries do not honour AcrPull, so that wiring (what `--attach-acr` creates) breaks pulls.
//! AcrPull at a wider scope that merely also covers an ABAC registry shows no intent to pull from
//! it and is only noted in the evidence. AcrPush, Contributor or Owner on any registry is an
//! over-privilege sub-result that turns a pass into a warn.
//!
//! Missing data: a registry whose role-assignment read failed, or a management-group grant whose
//! relation to the registry is unknown because the ancestry was not read, makes every
//! conclusion that depends on it `unknown` (a would-be fail, or a pass that such a registry could
//! overturn). The over-privilege sub-result reads the role assignments of every audited
//! registry: when one of those reads failed, or an audited subscription's registry list could
//! not be read (its registries, and grants on them or their scopes, are then invisible), an
//! over-privileged grant may be hiding there and would make a pass a warn, so a would-be pass is
//! `unknown` naming the gap (`Status::with_unread_sub_result`); a warn or fail stands.
//! A cluster without a kubelet identity (service-principal cluster) is `not_applicable`.

use std::collections::BTreeMap;

use crate::json::Value;
use serde_json::json;

use super::pull::{
    self, ABAC_GUID_NOTE, Pull, PullRoles, grant_evidence, mode_of, pull, pull_evidence, role_of,
    undetermined_reason,
};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{kubelet_object_id, registry_uses_abac, role_assignment_scope};
use crate::inventory::{Inventory, api, arm};

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let roles = PullRoles::from_params(ctx);
    let over = ctx.param_strings("over_privileged_roles");
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx, &roles, &over, cluster)
    })
}

/// What AcrPull on an ABAC registry means for one registry.
enum Misgrant<'a> {
    None,
    /// AcrPull assigned at the ABAC registry itself, and no Repository Reader grant covers it.
    Definite(Vec<&'a Value>),
    Unknown(String),
}

/// AcrPull assigned at an ABAC registry's own scope is the unhonoured `--attach-acr` wiring the
/// catalogue fails. AcrPull at a wider scope (resource group, subscription, management group)
/// that merely also covers an ABAC registry shows no intent to pull from it: it is returned as
/// `wide` for the evidence and does not fail the cluster.
fn misgrant<'a>(
    inv: &'a Inventory,
    roles: &PullRoles,
    registry: &Value,
    principal: &str,
    pull: &Pull,
) -> (Misgrant<'a>, Vec<&'a Value>) {
    if !registry_uses_abac(registry) || matches!(pull, Pull::Granted(_)) {
        return (Misgrant::None, Vec::new());
    }
    let id = arm::id(registry);
    let legacy = inv.role_grants(id, &roles.legacy, Some(principal));
    let (at_registry, wide): (Vec<&Value>, Vec<&Value>) =
        legacy.covering.into_iter().partition(|a| {
            role_assignment_scope(a).is_some_and(|s| arm::eq_ci(s.trim_end_matches('/'), id))
        });
    let verdict = match pull {
        Pull::NotGranted if !at_registry.is_empty() => Misgrant::Definite(at_registry),
        Pull::Unknown(reason)
            if !at_registry.is_empty() || !inv.read_state(id, api::ROLE_ASSIGNMENTS).is_ok() =>
        {
            Misgrant::Unknown(reason.clone())
        }
        _ => Misgrant::None,
    };
    (verdict, wide)
}

fn evaluate_cluster(
    check: &str,
    ctx: &EvalContext,
    roles: &PullRoles,
    over: &[String],
    cluster: &Value,
) -> Finding {
    let inv = ctx.inventory;
    let id = arm::id(cluster);
    let Some(kubelet) = kubelet_object_id(cluster) else {
        return Finding::new(
            check,
            id,
            Status::NotApplicable,
            "the cluster has no kubelet identity (identityProfile.kubeletidentity absent): it pulls with a service principal, whose grants ARM cannot tie to it (see AKS-033)",
        )
        .evidence(
            pull::no_kubelet_evidence()
            .note("absent in the ARM payload"),
        );
    };
    let sub = arm::subscription_of(id).unwrap_or_default();
    let sub_id = format!("/subscriptions/{sub}");
    let mut evidence = vec![pull::kubelet_evidence(
        kubelet,
        "the principal holding the pull role",
    )];

    let mut unknown = Vec::new();
    if let Some(reason) = inv
        .read_state(&sub_id, api::REGISTRIES)
        .missing_reason(&sub_id, api::REGISTRIES)
    {
        unknown.push(format!("the registries of the subscription: {reason}"));
    }
    let registries: Vec<&Value> = inv.registries_in(&sub).collect();
    let mut pulls = Vec::new();
    let mut misgrants = Vec::new();
    let mut misgrant_unknown = Vec::new();
    let mut checked = Vec::new();
    for registry in &registries {
        let state = pull(inv, roles, registry, kubelet);
        let (verdict, wide) = misgrant(inv, roles, registry, kubelet, &state);
        for a in wide {
            evidence.push(grant_evidence(
                a,
                registry,
                "Container Registry Repository Reader on an ABAC registry (AcrPull is not honoured there)",
            ).note(format!(
                "AcrPull at {} also covers ABAC registry {}, where it is not honoured; not a fail, because it is not assigned at the registry",
                role_assignment_scope(a).unwrap_or_default(),
                arm::name(registry)
            )));
        }
        match verdict {
            Misgrant::Definite(assignments) => {
                for a in &assignments {
                    let item = grant_evidence(
                        a,
                        registry,
                        "Container Registry Repository Reader on an ABAC registry (AcrPull is not honoured there)",
                    );
                    let note = item.note.clone().unwrap_or_default();
                    evidence.push(item.note(format!(
                        "{note}; no Repository Reader grant covers it; {ABAC_GUID_NOTE}"
                    )));
                }
                misgrants.push(arm::name(registry).to_string());
            }
            Misgrant::Unknown(reason) => misgrant_unknown.push(reason),
            Misgrant::None => {}
        }
        checked.push(
            json!({"registry": arm::id(registry), "roleAssignmentMode": mode_of(registry),
            "pullGrant": matches!(state, Pull::Granted(_))}),
        );
        match state {
            Pull::Granted(assignments) => {
                for a in &assignments {
                    evidence.push(pull_evidence(
                        a,
                        registry,
                        "the pull role matching the registry's mode",
                    ));
                }
                let names: Vec<String> = assignments.iter().map(|a| role_of(a)).collect();
                pulls.push(format!("{} on {}", names.join(", "), arm::name(registry)));
            }
            Pull::Unknown(reason) => unknown.push(reason),
            Pull::NotGranted => {}
        }
    }
    let mut item = Evidence::new(
        "pull grants of the kubelet identity on the registries of the cluster's subscription",
        serde_json::Value::Array(checked),
        "a pull grant matching the registry's mode on at least one registry",
    );
    if registries.iter().any(|r| registry_uses_abac(r)) {
        item = item.note(ABAC_GUID_NOTE);
    }
    evidence.push(item);

    let (status, mut message) = if !misgrants.is_empty() {
        (
            Status::Fail,
            format!(
                "the kubelet identity holds AcrPull on ABAC registry {} without Container Registry Repository Reader: ABAC registries do not honour AcrPull, so pulls fail",
                misgrants.join(", ")
            ),
        )
    } else if !pulls.is_empty() {
        if misgrant_unknown.is_empty() {
            (
                Status::Pass,
                format!(
                    "the kubelet identity can pull from a registry of its subscription: {}",
                    pulls.join("; ")
                ),
            )
        } else {
            (
                Status::Unknown,
                format!(
                    "the kubelet identity can pull ({}), but whether it holds an unhonoured AcrPull grant on an ABAC registry cannot be told ({})",
                    pulls.join("; "),
                    misgrant_unknown.join("; ")
                ),
            )
        }
    } else {
        for reason in misgrant_unknown {
            if !unknown.contains(&reason) {
                unknown.push(reason);
            }
        }
        if !unknown.is_empty() {
            (
                Status::Unknown,
                format!(
                    "no pull grant of the kubelet identity found on a registry of its subscription, but the data is incomplete ({})",
                    unknown.join("; ")
                ),
            )
        } else if registries.is_empty() {
            (
                Status::Fail,
                "the cluster's subscription has no container registry, so the kubelet identity has no same-subscription pull grant".to_string(),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "the kubelet identity has no pull grant on any registry of its subscription ({} checked)",
                    registries.len()
                ),
            )
        }
    };

    let (extra, gaps) = over_privilege(inv, over, kubelet);
    if !extra.is_empty() {
        let described: Vec<String> = extra
            .iter()
            .map(|(a, registry)| {
                format!(
                    "{} at {} (covers {})",
                    role_of(a),
                    role_assignment_scope(a).unwrap_or_default(),
                    arm::name(registry)
                )
            })
            .collect();
        message.push_str(&format!(
            "; it also holds over-privileged roles: {}",
            described.join(", ")
        ));
        for (a, registry) in &extra {
            evidence.push(grant_evidence(
                a,
                registry,
                "no push, Contributor or Owner role for the kubelet identity",
            ));
        }
    }
    if !gaps.is_empty() {
        evidence.push(
            Evidence::new(
                "over-privileged role assignments of the kubelet identity",
                Value::Null,
                "none",
            )
            .note(format!(
                "not fully evaluated, so an over-privileged grant (a warn) cannot be ruled out: {}",
                gaps.join("; ")
            )),
        );
    }
    let before = status.with_sub_result(!extra.is_empty());
    let status = before.with_unread_sub_result(!gaps.is_empty());
    if status != before {
        message.push_str(&format!(
            "; whether it also holds an over-privileged role (AcrPush, Contributor or Owner: a warn) cannot be told ({})",
            gaps.join("; ")
        ));
    }
    Finding::new(check, id, status, message).with_evidence(evidence)
}

/// Over-privileged assignments of the kubelet identity covering any registry (each assignment
/// once, with the first registry it covers), and why the answer may be incomplete: a registry
/// whose role assignments were not read, or an audited subscription whose registries were not
/// listed.
fn over_privilege<'a>(
    inv: &'a Inventory,
    over: &[String],
    kubelet: &str,
) -> (Vec<(&'a Value, &'a Value)>, Vec<String>) {
    let mut found: BTreeMap<String, (&Value, &Value)> = BTreeMap::new();
    let mut gaps: Vec<String> = inv
        .subscription_gaps(api::REGISTRIES)
        .into_iter()
        .map(|reason| format!("registries that may hold such a grant: {reason}"))
        .collect();
    // Only registries where the kubelet identity may hold one of `over` can add to the answer.
    for registry in inv.registries_maybe_granted(over, kubelet) {
        if inv.subscription_of(registry).is_none() {
            continue;
        }
        let id = arm::id(registry);
        let grants = inv.role_grants(id, over, Some(kubelet));
        for a in grants.covering {
            found
                .entry(arm::id(a).to_ascii_lowercase())
                .or_insert((a, registry));
        }
        if let Some(reason) = inv
            .read_state(id, api::ROLE_ASSIGNMENTS)
            .missing_reason(id, api::ROLE_ASSIGNMENTS)
        {
            gaps.push(format!("registry {}: {reason}", arm::name(registry)));
        } else if !grants.undetermined.is_empty() {
            gaps.push(undetermined_reason(registry, &grants.undetermined));
        }
    }
    (found.into_values().collect(), gaps)
}
