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
//! Missing data: an assessment list that was not read, an assessment whose status code is absent
//! or unrecognised, or — when no assessment exists — a pricing list that was not read (or a tier
//! this check does not know), is `unknown`.

use serde_json::Value;

use super::assessments::{self, Code, assessments_of, code_of, status_evidence};
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
    let sub = arm::subscription_of(id).unwrap_or_default();
    let plan = containers_plan(inv, &sub);
    let (status, message) = match &plan.verdict {
        PlanVerdict::Pass => (
            Status::Warn,
            format!(
                "no running-image vulnerability assessment for the cluster yet, while {}: not assessed yet",
                plan.describe()
            ),
        ),
        PlanVerdict::Warn(_) => (
            Status::Warn,
            format!(
                "no running-image vulnerability assessment for the cluster, and {}: runtime vulnerability assessment may not cover it",
                plan.describe()
            ),
        ),
        PlanVerdict::Fail(why) => (
            Status::Fail,
            format!(
                "no running-image vulnerability assessment for the cluster, and {why}: no runtime vulnerability assessment runs"
            ),
        ),
        PlanVerdict::Unknown(why) => (
            Status::Unknown,
            format!(
                "no running-image vulnerability assessment for the cluster, and whether Defender for Containers would assess it cannot be told: {why}"
            ),
        ),
    };
    Finding::new(check, id, status, message)
        .evidence(missing)
        .with_evidence(plan.evidence)
}
