//! AKS-024: the Azure Policy add-on is enabled on the cluster.
//!
//! Kubernetes-mode policies (`Microsoft.Kubernetes.Data`: privileged containers, privilege
//! escalation, allowed images, seccomp, ...) are enforced inside the cluster by the add-on's
//! Gatekeeper; without it, every such assignment — ALZ's `Deny-Privileged-AKS` included — is
//! inert. The verdict is the add-on flag alone (`properties.addonProfiles.azurepolicy.enabled`,
//! key matched case-insensitively): `true` passes, `false` or absent fails. When it fails, the
//! message is escalated if Kubernetes-mode assignments cover the cluster (catalogue §1.1 through
//! `policy::coverage`, effect not `Disabled`, not excluded or exempted), naming them, because
//! the organisation then believes guardrails are in force that are not. Which policies are
//! Kubernetes-mode comes from the `kubernetes_mode_policies` parameter plus every collected
//! definition whose `mode` is `Microsoft.Kubernetes.Data`; policy data that cannot be read only
//! leaves a note in the evidence, since the status does not depend on it.

use std::collections::BTreeSet;

use crate::json::Value;

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Control, Level};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::arm;

const ENABLED: &str = "properties.addonProfiles.azurepolicy.enabled";

/// Every accepted way a Kubernetes-mode policy reaches a cluster: a direct assignment of one of
/// the definitions, or any assigned set with one of them as a member.
fn kubernetes_mode(ctx: &EvalContext) -> Control {
    let mut guids: BTreeSet<String> = ctx
        .param_strings("kubernetes_mode_policies")
        .into_iter()
        .map(|g| g.to_ascii_lowercase())
        .collect();
    for definition in &ctx.inventory.policy_definitions {
        if arm::str_at(definition, "properties.mode")
            .is_some_and(|m| arm::eq_ci(m, "Microsoft.Kubernetes.Data"))
        {
            guids.insert(arm::last_segment(arm::id(definition)).to_ascii_lowercase());
        }
    }
    let mut control = Control::new("kubernetes-mode policies", &["Deny", "Audit", "Mutate"]);
    for guid in &guids {
        control = control.definition(guid).member_definition("*", guid);
    }
    control
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let control = kubernetes_mode(ctx);
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        judge(check, ctx, &control, cluster)
    })
}

fn judge(check: &Check, ctx: &EvalContext, control: &Control, cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let raw = arm::path(cluster, ENABLED).cloned();
    let mut flag = Evidence::new(ENABLED, raw.clone().unwrap_or(Value::Null), "true");
    match arm::bool_at(cluster, ENABLED) {
        Some(true) => {
            return Finding::new(
                check.id(),
                id,
                Status::Pass,
                "azure policy add-on enabled: kubernetes-mode policies assigned to this cluster are enforced in it",
            )
            .evidence(flag);
        }
        None if raw.is_some() => {
            return Finding::new(
                check.id(),
                id,
                Status::Unknown,
                format!(
                    "addonProfiles.azurepolicy.enabled is {}, not a boolean",
                    raw.unwrap_or(Value::Null)
                ),
            )
            .evidence(flag);
        }
        None => flag = flag.note("absent in the ARM payload: the add-on is not installed"),
        Some(false) => {}
    }
    let state = if raw.is_some() {
        "disabled"
    } else {
        "not installed"
    };
    let fix = format!(
        "fix: az aks enable-addons --addons azure-policy -g {} -n {}, or remediate the AKS-002 DeployIfNotExists assignment",
        arm::resource_group_of(id).unwrap_or("<rg>"),
        arm::name(cluster)
    );
    let coverage = policy::coverage(ctx.inventory, id, control, ctx.today);
    let mut evidence = vec![flag];
    let mut covering: Vec<&str> = Vec::new();
    for candidate in &coverage.candidates {
        if matches!(candidate.level(), Level::Enforced | Level::Weaker) {
            if covering.contains(&candidate.name()) {
                continue;
            }
            covering.push(candidate.name());
            evidence.push(
                Evidence::new(
                    "kubernetes-mode assignment covering the cluster",
                    candidate.facts(),
                    "enforced in the cluster by the azure policy add-on",
                )
                .on(candidate.id())
                .note("inert while the add-on is off"),
            );
        }
    }
    let undecided = coverage.unknown_reasons();
    if !undecided.is_empty() {
        evidence.push(
            Evidence::new(
                "kubernetes-mode assignments covering the cluster",
                Value::Null,
                "informational: escalates the message",
            )
            .note(format!(
                "not fully decided, which does not change the status: {}",
                undecided.join("; ")
            )),
        );
    }
    let message = if covering.is_empty() {
        format!(
            "azure policy add-on {state}: kubernetes-mode guardrails cannot be enforced in this cluster; {fix}"
        )
    } else {
        format!(
            "azure policy add-on {state}, so the kubernetes-mode assignments covering this cluster ({}) have no effect in it; {fix}",
            covering.join(", ")
        )
    };
    Finding::new(check.id(), id, Status::Fail, message).with_evidence(evidence)
}
