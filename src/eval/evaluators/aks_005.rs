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

use crate::json::Value;

use super::defender::{self, Containers, Pricing, REGISTRY_VA, SENSOR, Tier};
use crate::catalogue::Check;
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription};

/// The extensions the catalogue requires on the `Containers` plan, with what each one does.
const REQUIRED_EXTENSIONS: [(&str, &str); 2] = [
    (SENSOR, "the runtime sensor"),
    (REGISTRY_VA, "registry vulnerability assessment"),
];

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    ctx.inventory
        .subscriptions
        .iter()
        .map(|sub| evaluate_subscription(check.id(), ctx.inventory, sub))
        .collect()
}

fn evaluate_subscription(check: &str, inv: &Inventory, sub: &Subscription) -> Finding {
    let scope_evidence = match defender::clusters_or_registries(
        check,
        inv,
        sub,
        "at least one, for the plan to be required",
    ) {
        Ok(scope) => scope,
        Err(finding) => return *finding,
    };
    let pricing = match defender::containers(inv, &sub.id, &sub.subscription_id) {
        Containers::NotRead(reason) => {
            return Finding::new(
                check,
                &sub.id,
                Status::Unknown,
                format!("cannot read the Defender for Containers plan ({reason})"),
            )
            .evidence(scope_evidence)
            .evidence(defender::not_read_evidence(
                &sub.id,
                "Microsoft.Security/pricings/Containers: properties.pricingTier",
                "Standard",
            ));
        }
        Containers::Absent => {
            return Finding::new(
                check,
                &sub.id,
                Status::Fail,
                "no Defender for Containers (Containers) pricing record: the plan is not enabled",
            )
            .evidence(scope_evidence)
            .evidence(defender::absent_evidence(
                &sub.id,
                "a Containers pricing with pricingTier Standard",
            ));
        }
        Containers::Read(pricing) => pricing,
    };
    let (status, message, evidence) = judge_pricing(pricing.record);
    Finding::new(check, &sub.id, status, message)
        .evidence(scope_evidence)
        .with_evidence(evidence)
}

/// The verdict on one `Containers` pricing record.
fn judge_pricing(pricing: &Value) -> (Status, String, Vec<Evidence>) {
    let pricing = Pricing { record: pricing };
    let mut evidence = vec![pricing.tier_evidence("Standard")];
    match pricing.tier() {
        Tier::Standard => {}
        Tier::Free => {
            return (
                Status::Fail,
                "the Defender for Containers plan is Free".to_string(),
                evidence,
            );
        }
        Tier::Other(other) => {
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
        let extension = pricing.extension(name);
        let enabled = extension.enabled();
        let mut item = extension.enabled_evidence_noted("True");
        if extension.record.is_some() && enabled.is_none() {
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
    use crate::tree as json;

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
