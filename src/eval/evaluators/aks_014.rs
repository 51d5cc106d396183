//! AKS-014: the registry's images are scanned for vulnerabilities, and none is left vulnerable.
//!
//! It decides per registry from the Defender for Cloud assessment with key
//! `c0b7cfc6-3172-465a-b378-53c7ff2cc0d5` ("Azure registry container images should have
//! vulnerabilities resolved", the key policy 090c7b07 audits) read at the registry's scope:
//! `Healthy` or `NotApplicable` passes, `Unhealthy` warns. Without the assessment the verdict
//! depends on the subscription's Defender for Containers plan, which is why this is a Rust
//! evaluator: when the plan is `Standard` with the `ContainerRegistriesVulnerabilityAssessments`
//! extension on, the registry has simply not been scanned yet (warn); when the plan is `Free`,
//! absent, or has that extension off, nothing scans it (fail). The plan is read with AKS-005's
//! rules (see `containers_plan`, shared with AKS-048), never by calling that check.
//!
//! Missing data: an assessment list that was not read, an assessment whose status code is absent
//! or unrecognised, or — when no assessment exists — a pricing list that was not read, is
//! `unknown`, never a pass and never a fail.

use serde_json::{Value, json};

use super::aks_006::{Code, assessments_of, code_of, has_key, is_about, status_evidence};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, api, arm};

/// The MDVM registry-image assessment key (catalogue §8.4).
const ASSESSMENT_KEY: &str = "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5";

/// The two extensions AKS-005 requires on the `Containers` plan.
pub(super) const SENSOR: &str = "ContainerSensor";
pub(super) const REGISTRY_VA: &str = "ContainerRegistriesVulnerabilityAssessments";

/// AKS-005's verdict on a subscription's `Containers` plan, computed from the pricing data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PlanVerdict {
    /// `Standard` with both extensions on.
    Pass,
    /// `Standard` with these extensions off (or unlisted).
    Warn(Vec<&'static str>),
    /// `Free`, or no `Containers` record in a pricing list that was read.
    Fail(String),
    /// The pricing list was not read, or the tier is absent or unrecognised.
    Unknown(String),
}

/// The `Containers` plan of a subscription, judged with AKS-005's rules.
pub(super) struct ContainersPlan {
    pub verdict: PlanVerdict,
    pub evidence: Vec<Evidence>,
}

impl ContainersPlan {
    /// Whether the plan is `Standard` with `extension` on; `None` when that cannot be told.
    pub fn extension_on(&self, extension: &str) -> Option<bool> {
        match &self.verdict {
            PlanVerdict::Pass => Some(true),
            PlanVerdict::Warn(off) => Some(!off.iter().any(|e| arm::eq_ci(e, extension))),
            PlanVerdict::Fail(_) => Some(false),
            PlanVerdict::Unknown(_) => None,
        }
    }

    /// A phrase describing the plan, for messages.
    pub fn describe(&self) -> String {
        match &self.verdict {
            PlanVerdict::Pass => "the Defender for Containers plan is Standard with ContainerSensor and ContainerRegistriesVulnerabilityAssessments on".to_string(),
            PlanVerdict::Warn(off) => format!(
                "the Defender for Containers plan is Standard but {} is off",
                off.join(" and ")
            ),
            PlanVerdict::Fail(why) | PlanVerdict::Unknown(why) => why.clone(),
        }
    }
}

/// Judges the subscription-level `Containers` pricing of `subscription` (GUID) as AKS-005 does:
/// `Standard` with both extensions on passes, `Standard` with either off warns, `Free` or no
/// record fails; a pricing list that was not read, or an absent or unrecognised tier, is unknown.
/// Extension flags are the strings `"True"`/`"False"`, compared case-insensitively; an unlisted
/// extension counts as off.
pub(super) fn containers_plan(inv: &Inventory, subscription: &str) -> ContainersPlan {
    let sub_id = format!("/subscriptions/{subscription}");
    let pricings = format!("{sub_id}/providers/Microsoft.Security/pricings");
    if let Some(reason) = inv
        .read_state(&sub_id, api::PRICINGS)
        .missing_reason(&sub_id, api::PRICINGS)
    {
        return ContainersPlan {
            verdict: PlanVerdict::Unknown(format!(
                "the Defender for Containers plan could not be read ({reason})"
            )),
            evidence: vec![
                Evidence::new(
                    "Microsoft.Security/pricings/Containers: properties.pricingTier",
                    Value::Null,
                    "Standard",
                )
                .on(pricings)
                .note("the pricing list was not read"),
            ],
        };
    }
    let Some(pricing) = inv.subscription_pricing(subscription, "Containers") else {
        return ContainersPlan {
            verdict: PlanVerdict::Fail(
                "the subscription has no Defender for Containers (Containers) plan".to_string(),
            ),
            evidence: vec![
                Evidence::new(
                    "Microsoft.Security/pricings/Containers",
                    Value::Null,
                    "a Containers pricing with pricingTier Standard",
                )
                .on(pricings)
                .note("the pricing list was read and has no Containers record"),
            ],
        };
    };
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
            return ContainersPlan {
                verdict: PlanVerdict::Fail("the Defender for Containers plan is Free".to_string()),
                evidence,
            };
        }
        other => {
            return ContainersPlan {
                verdict: PlanVerdict::Unknown(format!(
                    "the Defender for Containers plan has an unrecognised pricingTier ({})",
                    other.unwrap_or("absent")
                )),
                evidence,
            };
        }
    }
    let mut off = Vec::new();
    for name in [SENSOR, REGISTRY_VA] {
        let extension = arm::array_at(pricing, "properties.extensions")
            .and_then(|list| list.iter().find(|e| arm::eq_ci(arm::name(e), name)));
        let enabled = extension.and_then(|e| arm::bool_at(e, "isEnabled")) == Some(true);
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
        }
        evidence.push(item);
        if !enabled {
            off.push(name);
        }
    }
    let verdict = if off.is_empty() {
        PlanVerdict::Pass
    } else {
        PlanVerdict::Warn(off)
    };
    ContainersPlan { verdict, evidence }
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (registries, mut findings) =
        targets::resources(check.id(), ctx.inventory, Target::Registry);
    for registry in registries {
        findings.push(evaluate_registry(check.id(), ctx.inventory, registry));
    }
    findings
}

fn evaluate_registry(check: &str, inv: &Inventory, registry: &Value) -> Finding {
    let id = arm::id(registry);
    let list_scope = format!("{id}/providers/Microsoft.Security/assessments");
    let list = match assessments_of(inv, id) {
        Ok(list) => list,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the registry's Defender for Cloud assessments ({reason})"),
            )
            .evidence(
                Evidence::new(
                    format!("Microsoft.Security/assessments/{ASSESSMENT_KEY}"),
                    Value::Null,
                    "Healthy or NotApplicable",
                )
                .on(list_scope)
                .note("the assessment list was not read"),
            );
        }
    };
    let assessment = list
        .iter()
        .find(|a| has_key(a, ASSESSMENT_KEY) && is_about(a, id));
    if let Some(assessment) = assessment {
        let item = status_evidence(assessment, "Healthy or NotApplicable");
        let description = arm::str_at(assessment, "properties.status.description")
            .or_else(|| arm::str_at(assessment, "properties.status.cause"));
        let (status, message) = match code_of(assessment) {
            Code::Healthy => (
                Status::Pass,
                "the registry's images are scanned and have no unresolved vulnerabilities (assessment Healthy)".to_string(),
            ),
            Code::NotApplicable => (
                Status::Pass,
                format!(
                    "the registry image vulnerability assessment is NotApplicable{}",
                    description.map_or(String::new(), |d| format!(" ({d})"))
                ),
            ),
            Code::Unhealthy => (
                Status::Warn,
                format!(
                    "the registry holds images with unresolved vulnerabilities (assessment Unhealthy){}; the findings are listed per image in the assessment's sub-assessments",
                    description.map_or(String::new(), |d| format!(": {d}"))
                ),
            ),
            Code::Other(code) => (
                Status::Unknown,
                format!(
                    "the registry image vulnerability assessment has status code {}, which this check does not know",
                    code.as_deref().unwrap_or("absent")
                ),
            ),
        };
        let mut finding = Finding::new(check, id, status, message).evidence(item);
        if status == Status::Warn {
            finding = finding.evidence(
                Evidence::new(
                    "properties.additionalData",
                    arm::path(assessment, "properties.additionalData")
                        .cloned()
                        .unwrap_or(Value::Null),
                    "informational: what the assessment reports beyond its status",
                )
                .on(arm::id(assessment))
                .note("the number of vulnerable findings lives in the assessment's subAssessments, which are not collected; it is not in this payload"),
            );
        }
        return finding;
    }

    let missing = Evidence::new(
        format!("Microsoft.Security/assessments/{ASSESSMENT_KEY}"),
        Value::Null,
        "present, Healthy or NotApplicable",
    )
    .on(list_scope)
    .note(format!(
        "the assessment list was read ({} assessment(s)) and holds no registry image vulnerability assessment",
        list.len()
    ));
    let sub = arm::subscription_of(id).unwrap_or_default();
    let plan = containers_plan(inv, &sub);
    let (status, message) = match plan.extension_on(REGISTRY_VA) {
        Some(true) => (
            Status::Warn,
            format!(
                "no image vulnerability assessment for the registry yet, while registry vulnerability assessment is on ({}): not scanned yet",
                plan.describe()
            ),
        ),
        Some(false) => (
            Status::Fail,
            format!(
                "no image vulnerability assessment for the registry, and {}: image scanning is not running",
                match &plan.verdict {
                    PlanVerdict::Warn(_) =>
                        "the Defender for Containers plan has ContainerRegistriesVulnerabilityAssessments off".to_string(),
                    _ => plan.describe(),
                }
            ),
        ),
        None => (
            Status::Unknown,
            format!(
                "no image vulnerability assessment for the registry, and whether registry scanning is on cannot be told: {}",
                plan.describe()
            ),
        ),
    };
    Finding::new(check, id, status, message)
        .evidence(missing)
        .with_evidence(plan.evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Read, Subscription};
    use serde_json::json;

    fn inventory(pricing: Option<Value>) -> Inventory {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.subscriptions.push(Subscription {
            id: "/subscriptions/s1".into(),
            subscription_id: "s1".into(),
            display_name: "s1".into(),
            state: "Enabled".into(),
            management_group_ancestors: None,
        });
        if let Some(p) = pricing {
            inv.pricings.insert("s1".into(), vec![p]);
            inv.reads.push(Read::ok("/subscriptions/s1", api::PRICINGS));
        }
        inv
    }

    #[test]
    fn plan_follows_aks_005() {
        let plan = containers_plan(&inventory(None), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Unknown(_)));
        assert_eq!(plan.extension_on(REGISTRY_VA), None);

        let p = json!({"id": "p", "name": "containers", "properties": {"pricingTier": "standard",
            "extensions": [{"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "true"}]}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert_eq!(plan.verdict, PlanVerdict::Warn(vec![SENSOR]));
        assert_eq!(plan.extension_on(REGISTRY_VA), Some(true));
        assert_eq!(plan.extension_on(SENSOR), Some(false));

        let p = json!({"id": "p", "name": "Containers", "properties": {"pricingTier": "Free"}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Fail(_)));
        assert_eq!(plan.extension_on(REGISTRY_VA), Some(false));

        let p = json!({"id": "p", "name": "VirtualMachines", "properties": {"pricingTier": "Standard"}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Fail(_)));
    }
}
