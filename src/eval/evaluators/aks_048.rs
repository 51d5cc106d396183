//! AKS-048: the images running on the cluster have no unresolved vulnerabilities.
//!
//! It decides per cluster from the Defender for Cloud assessment with key
//! `c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5` ("Azure running container images should have
//! vulnerabilities resolved", the key policy 17f4b1cc audits) read at the cluster's scope:
//! `Healthy` or `NotApplicable` passes, `Unhealthy` warns. Without the assessment the verdict
//! follows the subscription's Defender for Containers plan judged with AKS-005's rules (computed
//! from the pricing data by `defender::containers_plan`, not by running AKS-005): a plan that
//! passes AKS-005 means the cluster is not assessed yet (warn); a plan that fails it (`Free` or
//! absent) means no runtime vulnerability assessment runs (fail). The catalogue does not name the
//! case of a plan that only warns under AKS-005 (`Standard` with an extension off); it is a warn
//! here, naming the extension that is off, because the plan is on and what it still covers is not
//! decidable from ARM. Joining the cluster with its subscription's pricing is why this is a Rust
//! evaluator.
//!
//! An assessment list that holds only the retired Qualys-based assessment
//! (`41503391-efa5-47ee-9282-4eff6131462c`, which MDVM replaced) is judged like one without the
//! assessment, since the retired scanner no longer assesses; the message says the cluster carries
//! only the retired assessment, and the evidence shows its status.
//!
//! Missing data: an assessment list that was not read, an assessment whose status code is absent
//! or unrecognised, or — when no assessment exists — a pricing list that was not read (or a tier
//! this check does not know), is `unknown`.

use crate::json::Value;

use super::assessments::{
    self, Code, RETIRED_RUNNING_QUALYS, assessments_of, code_of, status_evidence,
};
use super::defender::{PlanVerdict, containers_plan};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

/// The MDVM running-image assessment key (catalogue §8.4).
const ASSESSMENT_KEY: &str = "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, cluster)
    })
}

fn evaluate_cluster(check: &str, inv: &Inventory, cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let list = match assessments_of(inv, id) {
        Ok(list) => list,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the cluster's Defender for Cloud assessments ({reason})"),
            )
            .evidence(assessments::not_read_evidence(id, ASSESSMENT_KEY));
        }
    };
    if let Some(assessment) = assessments::find(list, ASSESSMENT_KEY, id) {
        let description = assessments::status_text(assessment);
        let (status, message) = match code_of(assessment) {
            Code::Healthy => (
                Status::Pass,
                "the images running on the cluster have no unresolved vulnerabilities (assessment Healthy)".to_string(),
            ),
            Code::NotApplicable => (
                Status::Pass,
                format!(
                    "the running-image vulnerability assessment is NotApplicable{}",
                    description.map_or(String::new(), |d| format!(" ({d})"))
                ),
            ),
            Code::Unhealthy => (
                Status::Warn,
                format!(
                    "images running on the cluster have unresolved vulnerabilities (assessment Unhealthy){}",
                    description.map_or(String::new(), |d| format!(": {d}"))
                ),
            ),
            Code::Other(code) => (
                Status::Unknown,
                format!(
                    "the running-image vulnerability assessment has status code {}, which this check does not know",
                    code.as_deref().unwrap_or("absent")
                ),
            ),
        };
        return Finding::new(check, id, status, message)
            .evidence(status_evidence(assessment, "Healthy or NotApplicable"));
    }

    let missing = assessments::missing_evidence(
        id,
        ASSESSMENT_KEY,
        list.len(),
        "running-image vulnerability assessment",
    );
    // A cluster assessed before the Qualys scanner was retired still lists its assessment; it
    // is not today's assessment, so the verdict is the one for a missing assessment, but the
    // message must not claim there is none at all.
    let retired = assessments::find(list, RETIRED_RUNNING_QUALYS, id);
    let subject = match retired {
        Some(_) => format!(
            "the cluster carries only the retired Qualys-based running-image assessment ({RETIRED_RUNNING_QUALYS}), not its Microsoft Defender Vulnerability Management replacement ({ASSESSMENT_KEY})"
        ),
        None => "no running-image vulnerability assessment for the cluster".to_string(),
    };
    let sub = arm::subscription_of(id).unwrap_or_default();
    let plan = containers_plan(inv, &sub);
    let (status, message) = match &plan.verdict {
        PlanVerdict::Pass => (
            Status::Warn,
            format!(
                "{subject}{}, while {}: not assessed yet",
                if retired.is_none() { " yet" } else { "" },
                plan.describe()
            ),
        ),
        PlanVerdict::Warn(_) => (
            Status::Warn,
            format!(
                "{subject}, and {}: runtime vulnerability assessment may not cover it",
                plan.describe()
            ),
        ),
        PlanVerdict::Fail(why) => (
            Status::Fail,
            format!("{subject}, and {why}: no runtime vulnerability assessment runs"),
        ),
        PlanVerdict::Unknown(why) => (
            Status::Unknown,
            format!(
                "{subject}, and whether Defender for Containers would assess it cannot be told: {why}"
            ),
        ),
    };
    let mut finding = Finding::new(check, id, status, message).evidence(missing);
    if let Some(retired) = retired {
        finding = finding.evidence(assessments::retired_evidence(retired, ASSESSMENT_KEY));
    }
    finding.with_evidence(plan.evidence)
}
