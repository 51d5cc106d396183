//! AKS-005: the Defender for Containers plan is on for every subscription that holds AKS
//! clusters or container registries.
//!
//! It decides per subscription from the subscription-level `Containers` pricing: `Standard` with
//! both the `ContainerSensor` and `ContainerRegistriesVulnerabilityAssessments` extensions on
//! passes, `Standard` with either off warns, `Free` or no `Containers` record fails. It is a Rust
//! evaluator because its scope (clusters or registries in the subscription) joins three
//! collections, and because "no record" only means `Free` when the pricing list was actually
//! read: a denied or uncollected pricing read is `unknown`, never a fail or a pass. A
//! subscription with neither clusters nor registries is `not_applicable`, but only when both
//! lists were read; otherwise its scope itself is unknown. The retired `KubernetesService` and
//! `ContainerRegistry` plans are not consulted (catalogue §8.4).

use serde_json::{Value, json};

use crate::catalogue::Check;
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription, api, arm};

/// The extensions the catalogue requires on the `Containers` plan, with what each one does.
const REQUIRED_EXTENSIONS: [(&str, &str); 2] = [
    ("ContainerSensor", "the runtime sensor"),
    (
        "ContainerRegistriesVulnerabilityAssessments",
        "registry vulnerability assessment",
    ),
];

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    ctx.inventory
        .subscriptions
        .iter()
        .map(|sub| evaluate_subscription(check.id(), ctx.inventory, sub))
        .collect()
}

fn evaluate_subscription(check: &str, inv: &Inventory, sub: &Subscription) -> Finding {
    let clusters = inv.clusters_in(&sub.subscription_id).count();
    let registries = inv.registries_in(&sub.subscription_id).count();
    let scope_evidence = Evidence::new(
        "AKS clusters and container registries in the subscription",
        json!({"clusters": clusters, "registries": registries}),
        "at least one, for the plan to be required",
    );
    if clusters == 0 && registries == 0 {
        let missing: Vec<String> = [api::CLUSTERS, api::REGISTRIES]
            .into_iter()
            .filter_map(|a| inv.read_state(&sub.id, a).missing_reason(&sub.id, a))
            .collect();
        if missing.is_empty() {
            return Finding::new(
                check,
                &sub.id,
                Status::NotApplicable,
                "no AKS clusters or container registries in this subscription",
            )
            .evidence(scope_evidence);
        }
        return Finding::new(
            check,
            &sub.id,
            Status::Unknown,
            format!(
                "cannot tell whether this subscription holds AKS clusters or container registries ({})",
                missing.join("; ")
            ),
        )
        .evidence(scope_evidence);
    }
    if let Some(reason) = inv
        .read_state(&sub.id, api::PRICINGS)
        .missing_reason(&sub.id, api::PRICINGS)
    {
        return Finding::new(
            check,
            &sub.id,
            Status::Unknown,
            format!("cannot read the Defender for Containers plan ({reason})"),
        )
        .evidence(scope_evidence)
        .evidence(
            Evidence::new(
                "Microsoft.Security/pricings/Containers: properties.pricingTier",
                Value::Null,
                "Standard",
            )
            .on(format!("{}/providers/Microsoft.Security/pricings", sub.id))
            .note("the pricing list was not read"),
        );
    }
    let Some(pricing) = inv.subscription_pricing(&sub.subscription_id, "Containers") else {
        return Finding::new(
            check,
            &sub.id,
            Status::Fail,
            "no Defender for Containers (Containers) pricing record: the plan is not enabled",
        )
        .evidence(scope_evidence)
        .evidence(
            Evidence::new(
                "Microsoft.Security/pricings/Containers",
                Value::Null,
                "a Containers pricing with pricingTier Standard",
            )
            .on(format!("{}/providers/Microsoft.Security/pricings", sub.id))
            .note("the pricing list was read and has no Containers record"),
        );
    };
    let (status, message, evidence) = judge_pricing(pricing);
    Finding::new(check, &sub.id, status, message)
        .evidence(scope_evidence)
        .with_evidence(evidence)
}

/// The verdict on one `Containers` pricing record.
fn judge_pricing(pricing: &Value) -> (Status, String, Vec<Evidence>) {
    let pricing_id = arm::id(pricing).to_string();
    let tier = arm::str_at(pricing, "properties.pricingTier");
    let mut evidence = vec![
        Evidence::new(
            "properties.pricingTier",
            tier.map_or(Value::Null, |t| json!(t)),
            "Standard",
        )
        .on(pricing_id.clone()),
    ];
    match tier {
        Some(t) if arm::eq_ci(t, "Standard") => {}
        Some(t) if arm::eq_ci(t, "Free") => {
            return (
                Status::Fail,
                "the Defender for Containers plan is Free".to_string(),
                evidence,
            );
        }
        other => {
            return (
                Status::Unknown,
                format!(
                    "the Defender for Containers pricing has an unrecognised pricingTier ({})",
                    other.unwrap_or("absent")
                ),
                evidence,
            );
        }
    }
    let mut off = Vec::new();
    for (name, what) in REQUIRED_EXTENSIONS {
        let extension = arm::array_at(pricing, "properties.extensions")
            .and_then(|list| list.iter().find(|e| arm::eq_ci(arm::name(e), name)));
        let enabled = extension.and_then(|e| arm::bool_at(e, "isEnabled"));
        let mut item = Evidence::new(
            format!("properties.extensions[name={name}].isEnabled"),
            extension
                .and_then(|e| arm::key(e, "isEnabled"))
                .cloned()
                .unwrap_or(Value::Null),
            "True",
        )
        .on(pricing_id.clone());
        if extension.is_none() {
            item = item.note("the extension is not listed on the plan; read as not enabled");
        } else if enabled.is_none() {
            item = item.note("isEnabled is absent or not a boolean; read as not enabled");
        }
        evidence.push(item);
        if enabled != Some(true) {
            off.push(format!("{what} ({name})"));
        }
    }
    if off.is_empty() {
        (
            Status::Pass,
            "the Defender for Containers plan is Standard with the sensor and registry vulnerability assessment extensions on"
                .to_string(),
            evidence,
        )
    } else {
        (
            Status::Warn,
            format!(
                "the Defender for Containers plan is Standard, but {} is off",
                off.join(" and ")
            ),
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extension_flags_are_read_as_strings_case_insensitively() {
        let pricing = json!({"id": "p", "name": "Containers", "properties": {"pricingTier": "standard",
            "extensions": [{"name": "containersensor", "isEnabled": "true"},
                           {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "False"}]}});
        let (status, message, evidence) = judge_pricing(&pricing);
        assert_eq!(status, Status::Warn, "{message}");
        assert!(
            message.contains("registry vulnerability assessment"),
            "{message}"
        );
        assert!(!message.contains("ContainerSensor"), "{message}");
        assert_eq!(evidence.len(), 3);
    }

    #[test]
    fn an_unlisted_extension_is_off_and_a_missing_tier_is_unknown() {
        let pricing = json!({"id": "p", "properties": {"pricingTier": "Standard",
            "extensions": [{"name": "ContainerSensor", "isEnabled": "True"}]}});
        assert_eq!(judge_pricing(&pricing).0, Status::Warn);
        let pricing = json!({"id": "p", "properties": {}});
        assert_eq!(judge_pricing(&pricing).0, Status::Unknown);
        let pricing = json!({"id": "p", "properties": {"pricingTier": "Free"}});
        assert_eq!(judge_pricing(&pricing).0, Status::Fail);
    }
}
