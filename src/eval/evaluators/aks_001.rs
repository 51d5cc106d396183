//! AKS-001: the three ALZ AKS guardrails are enforced on every AKS subscription.
//!
//! ALZ assigns `Deny-Privileged-AKS` (95edb821), `Deny-Priv-Esc-AKS` (1c6e92c9) and
//! `Enforce-AKS-HTTPS` (1a5b4dca) with effect `Deny` at the Landing Zones management group; the
//! ESLZ "Audit only" option deploys them `DoNotEnforce`. This evaluator decides, per
//! subscription holding at least one cluster, whether each of the three controls is covered
//! (catalogue §1.1, through `policy::coverage`) by an enforced `Deny` assignment — directly, or
//! through the ALZ guardrail set (`Deny-Aks-Priv-Containers` / `Deny-Aks-Priv-Escalation`) or
//! the built-in pod security initiatives (baseline for privileged containers, restricted for
//! both). All three enforced passes; audit-only or `DoNotEnforce` warns; an uncovered,
//! disabled, excluded or exempted control fails; missing policy data is unknown. The finding
//! goes on the subscription and reports, per control, the deciding assignment with its scope
//! and `definitionVersion`, plus the ALZ guardrail assignments listed in `info_assignments`
//! (informational: their ALZ default is `DoNotEnforce`).

use serde_json::json;

use crate::catalogue::Check;
use crate::eval::policy::{self, Applies, Control, Coverage};
use crate::eval::targets::{self, AksSubscription};
use crate::eval::{Archetype, EvalContext, Evidence, Finding, Status};
use crate::inventory::arm;

pub const PRIVILEGED: &str = "95edb821-ddaf-4404-9732-666045e056b4";
pub const ESCALATION: &str = "1c6e92c9-99f0-4e55-9cf2-0c234dc48f99";
pub const HTTPS: &str = "1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d";
/// Built-in "pod security baseline standards" initiative (has privileged containers).
pub const PSS_BASELINE: &str = "a8640138-9b0a-4a28-b8cb-1666c838647d";
/// Built-in "pod security restricted standards" initiative (has both).
pub const PSS_RESTRICTED: &str = "42b8ef37-b724-4e24-bbc8-7a7708edfe00";

/// The three controls, with the guardrail set names from the `guardrail_sets` parameter.
pub fn controls(guardrail_sets: &[String]) -> Vec<Control> {
    let mut privileged = Control::new("privileged containers", &["Deny"]).definition(PRIVILEGED);
    let mut escalation = Control::new("privilege escalation", &["Deny"]).definition(ESCALATION);
    for set in guardrail_sets {
        privileged = privileged.member(set, "Deny-Aks-Priv-Containers");
        escalation = escalation.member(set, "Deny-Aks-Priv-Escalation");
    }
    privileged = privileged
        .member_definition(PSS_BASELINE, PRIVILEGED)
        .member_definition(PSS_RESTRICTED, PRIVILEGED);
    escalation = escalation.member_definition(PSS_RESTRICTED, ESCALATION);
    let https = Control::new("https-only ingress", &["Deny"]).definition(HTTPS);
    vec![privileged, escalation, https]
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let inventory = ctx.inventory;
    let controls = controls(&ctx.param_strings("guardrail_sets"));
    let info_names = ctx.param_strings("info_assignments");
    let mut findings = Vec::new();
    for sub in &inventory.subscriptions {
        let clusters = match targets::aks_subscription(inventory, sub) {
            AksSubscription::NoClusters => {
                findings.push(Finding::new(
                    check.id(),
                    &sub.id,
                    Status::NotApplicable,
                    "no AKS clusters in this subscription",
                ));
                continue;
            }
            AksSubscription::Unknown(reason) => {
                findings.push(Finding::new(
                    check.id(),
                    &sub.id,
                    Status::Unknown,
                    format!("cannot tell whether this is an AKS subscription: {reason}"),
                ));
                continue;
            }
            AksSubscription::Clusters(clusters) => clusters,
        };
        let coverages: Vec<Coverage> = controls
            .iter()
            .map(|c| policy::coverage(inventory, &sub.id, c, ctx.today))
            .collect();
        let status = policy::guardrail_status(&coverages);
        let message = message(status, clusters.len(), &coverages);
        let mut evidence = Vec::new();
        for coverage in &coverages {
            evidence.extend(with_scope_note(coverage, ctx));
        }
        evidence.extend(informational(ctx, &sub.id, &info_names));
        findings.push(Finding::new(check.id(), &sub.id, status, message).with_evidence(evidence));
    }
    findings
}

fn message(status: Status, clusters: usize, coverages: &[Coverage]) -> String {
    let here = format!(
        "{clusters} AKS cluster{} here",
        if clusters == 1 { "" } else { "s" }
    );
    if status == Status::Pass {
        let names: Vec<String> = coverages
            .iter()
            .filter_map(|c| c.best().map(|b| b.name().to_string()))
            .collect();
        return format!(
            "{here}: privileged containers, privilege escalation and https-only ingress are denied by enforced assignments ({})",
            names.join(", ")
        );
    }
    format!(
        "{here}; {}; fix: {}",
        policy::problems(coverages),
        policy::remedies(coverages, &ASSIGN)
    )
}

/// How to assign each control (in the order of `controls`), for the fix direction.
const ASSIGN: [&str; 3] = [
    "assign 95edb821 (Deny-Privileged-AKS) with effect Deny at the landing zones management group",
    "assign 1c6e92c9 (Deny-Priv-Esc-AKS) with effect Deny at the landing zones management group",
    "assign 1a5b4dca (Enforce-AKS-HTTPS) with effect Deny at the landing zones management group",
];

/// The coverage evidence, with a note when the deciding assignment is not at (or above) the
/// Landing Zones management group ALZ uses.
fn with_scope_note(coverage: &Coverage, ctx: &EvalContext) -> Vec<Evidence> {
    let mut evidence = coverage.evidence();
    let Some(best) = coverage.best() else {
        return evidence;
    };
    let scope = best.scope();
    let at_lz = arm::management_group_name(&scope).is_some_and(|mg| {
        ctx.archetypes
            .names(Archetype::LandingZones)
            .iter()
            .any(|n| arm::eq_ci(n, mg))
    });
    if !at_lz
        && let Some(item) = evidence
            .iter_mut()
            .find(|e| e.resource.as_deref() == Some(best.id()) && e.note.is_none())
    {
        item.note = Some(format!(
            "assigned at {}; ALZ assigns it at the Landing Zones management group (landingzones / <prefix>-landingzones)",
            policy::short_scope(&scope)
        )
        .into());
    }
    evidence
}

/// The ALZ guardrail assignments reported for information when they apply to the subscription.
fn informational(ctx: &EvalContext, subscription: &str, names: &[String]) -> Vec<Evidence> {
    let mut out = Vec::new();
    for assignment in &ctx.inventory.policy_assignments {
        if !names.iter().any(|n| arm::eq_ci(n, arm::name(assignment))) {
            continue;
        }
        let applies = policy::assignment_applies(ctx.inventory, subscription, assignment);
        if applies == Applies::No {
            continue;
        }
        let mut item = Evidence::new(
            format!("assignment {} (informational)", arm::name(assignment)),
            json!({
                "scope": policy::assignment_scope(assignment),
                "policyDefinitionId": arm::str_at(assignment, "properties.policyDefinitionId"),
                "enforcementMode": arm::str_at(assignment, "properties.enforcementMode").unwrap_or("Default"),
            }),
            "informational: the ALZ library default is DoNotEnforce",
        )
        .on(arm::id(assignment));
        if let Applies::Unknown(reason) = applies {
            item = item.note(format!("whether it applies here: {reason}"));
        }
        out.push(item);
    }
    out
}
