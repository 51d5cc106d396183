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
//! rules (see `defender::containers_plan`, shared with AKS-048), never by calling that check.
//!
//! An assessment list that holds only the retired Qualys-based assessment
//! (`dbd0cb49-b563-45e7-9724-889e799fa648`, which MDVM replaced) is judged like one without the
//! assessment, since the retired scanner no longer scans; the message says the registry carries
//! only the retired assessment, and the evidence shows its status.
//!
//! Missing data: an assessment list that was not read, an assessment whose status code is absent
//! or unrecognised, or — when no assessment exists — a pricing list that was not read, is
//! `unknown`, never a pass and never a fail.

use crate::json::Value;

use super::assessments::{
    self, Code, RETIRED_REGISTRY_QUALYS, assessments_of, code_of, status_evidence,
};
use super::defender::{PlanVerdict, REGISTRY_VA, containers_plan};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

/// The MDVM registry-image assessment key (catalogue §8.4).
const ASSESSMENT_KEY: &str = "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx.inventory, registry)
    })
}

fn evaluate_registry(check: &str, inv: &Inventory, registry: &Value) -> Finding {
    let id = arm::id(registry);
    let list = match assessments_of(inv, id) {
        Ok(list) => list,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the registry's Defender for Cloud assessments ({reason})"),
            )
            .evidence(assessments::not_read_evidence(id, ASSESSMENT_KEY));
        }
    };
    let assessment = assessments::find(list, ASSESSMENT_KEY, id);
    if let Some(assessment) = assessment {
        let item = status_evidence(assessment, "Healthy or NotApplicable");
        let description = assessments::status_text(assessment);
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

    let missing = assessments::missing_evidence(
        id,
        ASSESSMENT_KEY,
        list.len(),
        "registry image vulnerability assessment",
    );
    // A registry scanned before the Qualys scanner was retired still lists its assessment; it
    // is not today's scan, so the verdict is the one for a missing assessment, but the message
    // must not claim there is no assessment at all.
    let retired = assessments::find(list, RETIRED_REGISTRY_QUALYS, id);
    let subject = match retired {
        Some(_) => format!(
            "the registry carries only the retired Qualys-based image assessment ({RETIRED_REGISTRY_QUALYS}), not its Microsoft Defender Vulnerability Management replacement ({ASSESSMENT_KEY})"
        ),
        None => "no image vulnerability assessment for the registry".to_string(),
    };
    let sub = arm::subscription_of(id).unwrap_or_default();
    let plan = containers_plan(inv, &sub);
    let (status, message) = match plan.extension_on(REGISTRY_VA) {
        Some(true) => (
            Status::Warn,
            format!(
                "{subject}{}, while registry vulnerability assessment is on ({}): not scanned yet",
                if retired.is_none() { " yet" } else { "" },
                plan.describe()
            ),
        ),
        Some(false) => (
            Status::Fail,
            format!(
                "{subject}, and {}: image scanning is not running",
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
                "{subject}, and whether registry scanning is on cannot be told: {}",
                plan.describe()
            ),
        ),
    };
    let mut finding = Finding::new(check, id, status, message).evidence(missing);
    if let Some(retired) = retired {
        finding = finding.evidence(assessments::retired_evidence(retired, ASSESSMENT_KEY));
    }
    finding.with_evidence(plan.evidence)
}
