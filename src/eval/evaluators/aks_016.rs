//! AKS-016: each landing-zone subscription that runs AKS has its own registry, and its clusters
//! pull from it.
//!
//! It decides per subscription by joining its clusters' kubelet identities with the role
//! assignments collected at or above every registry, using the pull role that matches each
//! registry's mode (AcrPull on legacy registries, Container Registry Repository Reader on ABAC
//! ones; the grant logic is AKS-017's, shared through `super::aks_017`). Every cluster holding a
//! pull grant on a registry of its own subscription passes, unless a registry of the subscription
//! is also pulled by a cluster of another audited subscription (a shared registry: warn); a
//! cluster without such a grant fails the subscription.
//!
//! Missing data: a subscription whose cluster list was not read is `unknown` (it may or may not
//! run AKS); a registry whose role-assignment read failed, or whose management-group grants
//! cannot be placed because the ancestry was not read, makes every conclusion that depends on it
//! `unknown`. Sharing is judged from the registry's own role assignments: a principal holding
//! pull there is matched against the kubelet identities of every audited cluster; when it matches
//! none and some audited subscription's cluster list could not be read, whether the registry is
//! shared cannot be told, so a would-be pass becomes `unknown`. Clusters outside the audited
//! scope are invisible; principals that match no audited cluster are listed in the evidence.
//! Clusters without a kubelet identity (service principal) cannot be tied to any grant and are
//! left out, with a note; a subscription with only such clusters is `not_applicable`.

use std::collections::{BTreeSet, HashMap};

use crate::json::Value;
use serde_json::json;

use super::pull::{
    self, ABAC_GUID_NOTE, Pull, PullRoles, pull, pull_evidence, undetermined_reason,
};
use crate::catalogue::Check;
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::views::{kubelet_object_id, registry_uses_abac};
use crate::inventory::{Subscription, api, arm};

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let roles = PullRoles::from_params(ctx);
    let tenant = Tenant::of(ctx);
    ctx.inventory
        .subscriptions
        .iter()
        .map(|sub| evaluate_subscription(check.id(), ctx, &roles, &tenant, sub))
        .collect()
}

/// What every subscription's sharing test needs from the whole audited tenant, worked out
/// once: per subscription it would be a pass over every cluster and every subscription, which
/// is quadratic in a tenant of a thousand subscriptions.
struct Tenant<'a> {
    /// Every audited cluster with a kubelet identity, by its lower-cased object ID, with the
    /// ID of its subscription.
    by_kubelet: HashMap<String, (&'a Value, &'a str)>,
    /// The subscriptions whose cluster list was not read: (subscription ID, why).
    unlisted: Vec<(&'a str, String)>,
}

impl<'a> Tenant<'a> {
    fn of(ctx: &EvalContext<'a>) -> Tenant<'a> {
        let inv = ctx.inventory;
        let by_kubelet = inv
            .clusters
            .iter()
            .filter_map(|c| {
                let sub = inv.subscription_of(c)?;
                let kubelet = kubelet_object_id(c)?;
                Some((
                    kubelet.to_ascii_lowercase(),
                    (c, sub.subscription_id.as_str()),
                ))
            })
            .collect();
        let unlisted = inv
            .subscriptions
            .iter()
            .filter_map(|s| {
                inv.read_state(&s.id, api::CLUSTERS)
                    .missing_reason(&s.id, api::CLUSTERS)
                    .map(|reason| (s.subscription_id.as_str(), reason))
            })
            .collect();
        Tenant {
            by_kubelet,
            unlisted,
        }
    }

    /// The audited cluster of another subscription than `own` whose kubelet is `principal`.
    fn foreign(&self, principal: &str, own: &str) -> Option<&'a Value> {
        self.by_kubelet
            .get(principal)
            .filter(|(_, sub)| !arm::eq_ci(sub, own))
            .map(|(cluster, _)| *cluster)
    }
}

fn evaluate_subscription(
    check: &str,
    ctx: &EvalContext,
    roles: &PullRoles,
    tenant: &Tenant,
    sub: &Subscription,
) -> Finding {
    let inv = ctx.inventory;
    if let Some(reason) = inv
        .read_state(&sub.id, api::CLUSTERS)
        .missing_reason(&sub.id, api::CLUSTERS)
    {
        return Finding::new(
            check,
            &sub.id,
            Status::Unknown,
            format!("cannot tell whether this subscription runs AKS ({reason})"),
        );
    }
    let clusters: Vec<&Value> = inv.clusters_in(&sub.subscription_id).collect();
    if clusters.is_empty() {
        return Finding::new(
            check,
            &sub.id,
            Status::NotApplicable,
            "no AKS clusters in this subscription",
        );
    }
    let (with_kubelet, without_kubelet): (Vec<&Value>, Vec<&Value>) = clusters
        .iter()
        .partition(|c| kubelet_object_id(c).is_some());
    let service_principal_clusters: Vec<&str> = without_kubelet.iter().map(arm::name).collect();
    let mut evidence: Vec<Evidence> = without_kubelet
        .iter()
        .map(|c| {
            pull::no_kubelet_evidence()
                .on(arm::id(c))
                .note("absent: the cluster pulls with a service principal and is left out")
        })
        .collect();
    if with_kubelet.is_empty() {
        return Finding::new(
            check,
            &sub.id,
            Status::NotApplicable,
            format!(
                "every cluster of this subscription pulls with a service principal, whose grants ARM cannot tie to it: {}",
                service_principal_clusters.join(", ")
            ),
        )
        .with_evidence(evidence);
    }

    let registries_missing = inv
        .read_state(&sub.id, api::REGISTRIES)
        .missing_reason(&sub.id, api::REGISTRIES);
    let registries: Vec<&Value> = inv.registries_in(&sub.subscription_id).collect();
    let mut item = Evidence::new(
        "container registries in the subscription",
        json!(registries.iter().map(arm::id).collect::<Vec<_>>()),
        "at least one, pulled by the subscription's clusters",
    );
    if registries.iter().any(|r| registry_uses_abac(r)) {
        item = item.note(ABAC_GUID_NOTE);
    }
    evidence.push(item);

    // Main part: every cluster holds a pull grant on a registry of its own subscription.
    let mut without_grant = Vec::new();
    let mut main_unknown = Vec::new();
    for cluster in &with_kubelet {
        let kubelet = kubelet_object_id(cluster).unwrap_or_default();
        let mut granted = false;
        let mut reasons = Vec::new();
        for registry in &registries {
            match pull(inv, roles, registry, kubelet) {
                Pull::Granted(assignments) => {
                    granted = true;
                    for a in assignments {
                        evidence.push(pull_evidence(
                            a,
                            registry,
                            "a pull grant for the kubelet identity of a cluster of this subscription",
                        ));
                    }
                }
                Pull::Unknown(why) => reasons.push(why),
                Pull::NotGranted => {}
            }
        }
        if granted {
            continue;
        }
        if let Some(reason) = &registries_missing {
            reasons.push(format!("the registries of the subscription: {reason}"));
        }
        if reasons.is_empty() {
            without_grant.push(arm::name(cluster).to_string());
        } else {
            main_unknown.push(format!(
                "cluster {}: {}",
                arm::name(cluster),
                reasons.join("; ")
            ));
        }
    }

    // Sharing: is a registry of this subscription pulled by clusters of other subscriptions?
    let own: BTreeSet<String> = with_kubelet
        .iter()
        .filter_map(|c| kubelet_object_id(c))
        .map(str::to_ascii_lowercase)
        .collect();
    let unlisted: Vec<&str> = tenant
        .unlisted
        .iter()
        .filter(|(s, _)| !arm::eq_ci(s, &sub.subscription_id))
        .map(|(_, reason)| reason.as_str())
        .collect();
    let mut shared = Vec::new();
    let mut sharing_unknown = Vec::new();
    for registry in &registries {
        let id = arm::id(registry);
        let grants = inv.role_grants(id, roles.for_registry(registry), None);
        let principal = |a: &Value| {
            arm::str_at(a, "properties.principalId")
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        let mut pullers = Vec::new();
        let mut unidentified = BTreeSet::new();
        for a in &grants.covering {
            let p = principal(a);
            if own.contains(&p) {
                continue;
            }
            match tenant.foreign(&p, &sub.subscription_id) {
                Some(cluster) => {
                    evidence.push(pull_evidence(
                        a,
                        registry,
                        "pull grants on this subscription's registries only for its own clusters",
                    ));
                    pullers.push(format!(
                        "{} (subscription {})",
                        arm::name(cluster),
                        arm::subscription_of(arm::id(cluster)).unwrap_or_default()
                    ));
                }
                None => {
                    unidentified.insert(p);
                }
            }
        }
        if !pullers.is_empty() {
            pullers.sort();
            pullers.dedup();
            shared.push(format!("{} by {}", arm::name(registry), pullers.join(", ")));
        }
        if !unidentified.is_empty() {
            evidence.push(
                Evidence::new(
                    "principalId of pull grants covering the registry",
                    json!(unidentified),
                    "informational",
                )
                .on(id)
                .note("not the kubelet identity of any audited cluster: a pipeline or user identity, or a cluster outside the audited scope"),
            );
            if !unlisted.is_empty() {
                sharing_unknown.push(format!(
                    "registry {} grants pull to principals that match no audited cluster, and clusters of other subscriptions could not be listed ({})",
                    arm::name(registry),
                    unlisted.join("; ")
                ));
            }
        }
        let undetermined: Vec<&Value> = grants
            .undetermined
            .iter()
            .copied()
            .filter(|a| !own.contains(&principal(a)))
            .collect();
        if !undetermined.is_empty() {
            sharing_unknown.push(undetermined_reason(registry, &undetermined));
        }
        if let Some(reason) = inv
            .read_state(id, api::ROLE_ASSIGNMENTS)
            .missing_reason(id, api::ROLE_ASSIGNMENTS)
        {
            sharing_unknown.push(format!("registry {}: {reason}", arm::name(registry)));
        }
    }

    let count = with_kubelet.len();
    let (status, mut message) = if !without_grant.is_empty() {
        let mut m = format!(
            "{} of {count} cluster(s) have no pull grant on any registry of this subscription: {}",
            without_grant.len(),
            without_grant.join(", ")
        );
        if registries.is_empty() {
            m.push_str(" (the subscription has no container registry)");
        }
        (Status::Fail, m)
    } else if !main_unknown.is_empty() {
        (
            Status::Unknown,
            format!(
                "cannot tell whether every cluster pulls from a registry of this subscription ({})",
                main_unknown.join("; ")
            ),
        )
    } else if !shared.is_empty() {
        (
            Status::Warn,
            format!(
                "every cluster ({count}) pulls from a registry of this subscription, but its registries are shared with other subscriptions' clusters: {}",
                shared.join("; ")
            ),
        )
    } else if !sharing_unknown.is_empty() {
        (
            Status::Unknown,
            format!(
                "every cluster ({count}) pulls from a registry of this subscription, but whether clusters of other subscriptions pull from its registries cannot be told ({})",
                sharing_unknown.join("; ")
            ),
        )
    } else {
        (
            Status::Pass,
            format!(
                "every cluster ({count}) pulls from a registry of this subscription, and no cluster of another audited subscription pulls from its registries"
            ),
        )
    };
    if !service_principal_clusters.is_empty() {
        message.push_str(&format!(
            "; left out (service-principal clusters): {}",
            service_principal_clusters.join(", ")
        ));
    }
    Finding::new(check, &sub.id, status, message).with_evidence(evidence)
}
