//! AKS-010: a container registry is not reachable from the internet, and cannot export images.
//!
//! It decides per registry from `publicNetworkAccess` (ARM default `Enabled`) and
//! `networkRuleSet.defaultAction` (ARM default `Allow`): `Disabled` passes; `Enabled` behind a
//! firewall (`defaultAction Deny`) warns; `Enabled` and open fails. The warn becomes a fail when
//! the registry's subscription sits under a Corp management group, whose intent is "no public
//! endpoints". That escalation joins the registry with the management-group hierarchy, which is
//! why this is a Rust evaluator. When the Corp question has no answer (`Archetypes::ancestor_of`:
//! the subscription's hierarchy could not be read, or the heuristic would need the
//! `Deny-Public-Endpoints` hallmark at an ancestor whose policy assignments no successful read
//! lists), the escalation is a main part of the verdict, and by the catalogue's combine rule
//! (`fail` > `unknown` > `warn` > `pass`) a possible fail that cannot be ruled out makes a
//! would-be warn `unknown`, naming the cause. Pass and fail do not depend on the hierarchy and
//! stand. A `publicNetworkAccess` or `defaultAction` value outside the swagger's enums is
//! `unknown`, never read as public or private. The export policy (`policies.exportPolicy.status`, ARM default `enabled`) is a
//! sub-result: enabled exports turn a pass into a warn; the export state is in every evidence.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{Archetype, EvalContext, Evidence, Finding, Membership, Status, targets};
use crate::inventory::arm;

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx, registry)
    })
}

fn evaluate_registry(check: &str, ctx: &EvalContext, registry: &Value) -> Finding {
    let id = arm::id(registry);
    let access = arm::str_at(registry, "properties.publicNetworkAccess");
    let default_action = arm::str_at(registry, "properties.networkRuleSet.defaultAction");
    let export = arm::str_at(registry, "properties.policies.exportPolicy.status");
    let public = !access.is_some_and(|a| arm::eq_ci(a, "Disabled"));
    let firewalled = default_action.is_some_and(|a| arm::eq_ci(a, "Deny"));
    let exports_on = !export.is_some_and(|e| arm::eq_ci(e, "disabled"));

    let mut evidence = vec![observed(
        "properties.publicNetworkAccess",
        access,
        "Disabled",
        "Enabled",
    )];
    if public {
        evidence.push(observed(
            "properties.networkRuleSet.defaultAction",
            default_action,
            "Deny (firewall) when public access is enabled",
            "Allow",
        ));
        if firewalled {
            let rules =
                arm::array_at(registry, "properties.networkRuleSet.ipRules").unwrap_or_default();
            evidence.push(Evidence::new(
                "properties.networkRuleSet.ipRules",
                serde_json::Value::Array(rules.iter().map(Value::to_serde).collect()),
                "only the networks that must reach the registry (informational)",
            ));
        }
    }
    evidence.push(observed(
        "properties.policies.exportPolicy.status",
        export,
        "disabled",
        "enabled",
    ));

    let unrecognised: Vec<String> = [
        ("publicNetworkAccess", access, ["Enabled", "Disabled"]),
        (
            "networkRuleSet.defaultAction",
            default_action,
            ["Allow", "Deny"],
        ),
    ]
    .into_iter()
    .filter_map(|(name, value, known)| {
        value
            .filter(|v| !known.iter().any(|k| arm::eq_ci(k, v)))
            .map(|v| format!("{name} is {v}"))
    })
    .collect();

    let (mut status, mut message) = if !public {
        (
            Status::Pass,
            "public network access is disabled".to_string(),
        )
    } else if !unrecognised.is_empty() {
        (
            Status::Unknown,
            format!(
                "cannot tell whether the registry is reachable from the internet: {}, a value this check does not know",
                unrecognised.join(" and ")
            ),
        )
    } else if !firewalled {
        (
            Status::Fail,
            format!(
                "public network access is enabled and the firewall default action is {}: the registry is open to the internet",
                default_action.unwrap_or("absent (Allow)")
            ),
        )
    } else {
        let corp = match ctx.inventory.subscription_of(registry) {
            Some(sub) => ctx.archetypes.ancestor_of(sub, Archetype::Corp),
            None => Membership::Unknown(
                "the registry's subscription is not among the audited subscriptions".to_string(),
            ),
        };
        let sub = ctx.inventory.subscription_of(registry);
        let chain = sub
            .and_then(|s| s.management_group_ancestors.clone())
            .map_or(serde_json::Value::Null, |c| json!(c));
        let hierarchy = Evidence::new(
            "management-group ancestors of the subscription",
            chain,
            "not under a Corp management group, for a firewalled public registry to be a warn",
        )
        .on(sub.map(|s| s.id.clone()).unwrap_or_default());
        match corp {
            Membership::Under(mg) => {
                evidence.push(hierarchy.note(format!("under Corp management group {mg}")));
                (
                    Status::Fail,
                    format!(
                        "public network access is enabled behind a firewall (default action Deny), but the subscription is under Corp management group {mg}, where registries must not be public"
                    ),
                )
            }
            Membership::NotUnder => {
                evidence.push(hierarchy.note("not under a Corp management group"));
                (
                    Status::Warn,
                    "public network access is enabled but restricted by the firewall (default action Deny)"
                        .to_string(),
                )
            }
            Membership::Unknown(reason) => {
                evidence.push(hierarchy.note(format!(
                    "Corp membership (which turns this warn into a fail) is unknown: {reason}"
                )));
                (
                    Status::Unknown,
                    format!(
                        "public network access is enabled behind a firewall (default action Deny); whether the subscription is under a Corp management group, which would make this a fail, cannot be told: {reason}"
                    ),
                )
            }
        }
    };
    if exports_on {
        status = status.with_sub_result(true);
        message.push_str(&format!(
            "; exports are {} (an exfiltration path; policy 524b0254 needs them disabled)",
            export.unwrap_or("enabled by default")
        ));
    }
    Finding::new(check, id, status, message).with_evidence(evidence)
}

/// Evidence for a string property, noting ARM's default when it was absent.
fn observed(property: &str, value: Option<&str>, expected: &str, default: &str) -> Evidence {
    let item = Evidence::new(
        property,
        value.map_or(serde_json::Value::Null, |v| json!(v)),
        expected,
    );
    if value.is_none() {
        item.note(format!(
            "absent in the ARM payload; ARM's default {default} applies"
        ))
    } else {
        item
    }
}
