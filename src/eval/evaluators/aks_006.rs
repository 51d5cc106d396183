//! AKS-006: the Defender for Cloud recommendations on each cluster are reviewed, and none of High
//! severity is left unhealthy.
//!
//! It decides per cluster from the assessments read at the cluster's scope
//! (`GET {cluster}/providers/Microsoft.Security/assessments`): an `Unhealthy` assessment whose
//! `properties.metadata.severity` is `High` fails; only `Medium` or `Low` unhealthy assessments
//! warn; none unhealthy passes. The message lists the display names. It is a Rust evaluator
//! because it joins the cluster with a separate collection, and because its missing-data rules do
//! not fit a single-resource rule: the assessment list not read is `unknown`; so is a list with no
//! assessment about the cluster at all (the catalogue's "no data" case: Defender for Cloud has not
//! assessed it, so nothing can be said). Both `metadata.severity` and `resourceDetails.id` are
//! unverified paths (catalogue U): an unhealthy assessment whose severity is absent or
//! unrecognised, or whose status code is absent or unrecognised, could be a High one, so it makes
//! the verdict `unknown` unless a certain High failure already stands. Assessments whose
//! `resourceDetails.id` names a resource other than the cluster (or something beneath it) are
//! left out, and the evidence says so.

use serde_json::{Value, json};

use super::assessments::{Code, assessments_of, code_of, display_name, is_about, status_evidence};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

/// What an evidence note says when a verdict rests on the assessment severity.
const SEVERITY_NOTE: &str =
    "severity read from properties.metadata.severity, an unverified path (catalogue U)";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, cluster)
    })
}

/// The severity of an unhealthy assessment, as far as the payload tells.
enum Severity {
    High,
    Lower(String),
    Unknown(Option<String>),
}

fn severity_of(assessment: &Value) -> Severity {
    match arm::str_at(assessment, "properties.metadata.severity") {
        Some(s) if arm::eq_ci(s, "High") => Severity::High,
        Some(s) if arm::eq_ci(s, "Medium") || arm::eq_ci(s, "Low") => {
            Severity::Lower(s.to_string())
        }
        other => Severity::Unknown(other.map(str::to_string)),
    }
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
                format!("cannot read the Defender for Cloud assessments of the cluster ({reason})"),
            )
            .evidence(
                Evidence::new(
                    "Microsoft.Security/assessments",
                    Value::Null,
                    "the cluster's assessments, none Unhealthy with severity High",
                )
                .on(format!("{id}/providers/Microsoft.Security/assessments"))
                .note("the assessment list was not read"),
            );
        }
    };
    let (about, elsewhere): (Vec<&Value>, Vec<&Value>) = list.iter().partition(|a| is_about(a, id));
    let mut evidence = Vec::new();
    if !elsewhere.is_empty() {
        let others: Vec<&str> = elsewhere
            .iter()
            .filter_map(|a| arm::str_at(a, "properties.resourceDetails.id"))
            .collect();
        evidence.push(
            Evidence::new(
                "properties.resourceDetails.id",
                json!(others),
                "the cluster or a resource beneath it",
            )
            .note(format!(
                "{} assessment(s) listed at the cluster's scope name another resource and were left out; resourceDetails.id is an unverified path (catalogue U)",
                elsewhere.len()
            )),
        );
    }
    if about.is_empty() {
        return Finding::new(
            check,
            id,
            Status::Unknown,
            "no Defender for Cloud assessment exists for the cluster: it has not been assessed, so its recommendations cannot be reviewed",
        )
        .with_evidence(evidence)
        .evidence(
            Evidence::new(
                "Microsoft.Security/assessments",
                json!([]),
                "at least one assessment of the cluster",
            )
            .on(format!("{id}/providers/Microsoft.Security/assessments"))
            .note("the assessment list was read and holds no assessment of the cluster"),
        );
    }

    let mut counts = (0usize, 0usize, 0usize, 0usize);
    let mut high = Vec::new();
    let mut lower = Vec::new();
    let mut undetermined = Vec::new();
    for assessment in &about {
        match code_of(assessment) {
            Code::Healthy => counts.0 += 1,
            Code::NotApplicable => counts.2 += 1,
            Code::Other(code) => {
                counts.3 += 1;
                undetermined.push(format!(
                    "{} (status code {})",
                    display_name(assessment),
                    code.as_deref().unwrap_or("absent")
                ));
                evidence.push(status_evidence(
                    assessment,
                    "Healthy or NotApplicable; Unhealthy is judged by severity",
                ));
            }
            Code::Unhealthy => {
                counts.1 += 1;
                let severity = severity_of(assessment);
                let observed = arm::path(assessment, "properties.metadata.severity")
                    .cloned()
                    .unwrap_or(Value::Null);
                let name = display_name(assessment).to_string();
                let note = match &severity {
                    Severity::Unknown(None) => format!(
                        "Unhealthy: {name}; the severity is absent, so it may be High; {SEVERITY_NOTE}"
                    ),
                    Severity::Unknown(Some(s)) => format!(
                        "Unhealthy: {name}; the severity {s} is not one of High, Medium, Low; {SEVERITY_NOTE}"
                    ),
                    _ => format!("Unhealthy: {name}; {SEVERITY_NOTE}"),
                };
                evidence.push(
                    Evidence::new(
                        "properties.metadata.severity",
                        observed,
                        "no Unhealthy assessment of severity High (Medium or Low warn)",
                    )
                    .on(arm::id(assessment))
                    .note(note),
                );
                match severity {
                    Severity::High => high.push(name),
                    Severity::Lower(s) => lower.push(format!("{name} ({s})")),
                    Severity::Unknown(s) => undetermined.push(format!(
                        "{name} (Unhealthy, severity {})",
                        s.as_deref().unwrap_or("absent")
                    )),
                }
            }
        }
    }
    evidence.insert(
        0,
        Evidence::new(
            "properties.status.code of the cluster's assessments",
            json!({"Healthy": counts.0, "Unhealthy": counts.1, "NotApplicable": counts.2, "other": counts.3}),
            "no Unhealthy assessment",
        )
        .on(format!("{id}/providers/Microsoft.Security/assessments")),
    );

    let (status, message) = if !high.is_empty() {
        let mut message = format!(
            "{} unhealthy Defender for Cloud recommendation(s) of High severity: {}",
            high.len(),
            high.join("; ")
        );
        if !lower.is_empty() {
            message.push_str(&format!("; also unhealthy: {}", lower.join("; ")));
        }
        (Status::Fail, message)
    } else if !undetermined.is_empty() {
        let mut message = format!(
            "cannot tell whether a High-severity recommendation is unhealthy: {}",
            undetermined.join("; ")
        );
        if !lower.is_empty() {
            message.push_str(&format!("; also unhealthy: {}", lower.join("; ")));
        }
        (Status::Unknown, message)
    } else if !lower.is_empty() {
        (
            Status::Warn,
            format!(
                "{} unhealthy Defender for Cloud recommendation(s), none of High severity: {}",
                lower.len(),
                lower.join("; ")
            ),
        )
    } else {
        (
            Status::Pass,
            format!(
                "no unhealthy Defender for Cloud recommendation on the cluster ({} healthy, {} not applicable)",
                counts.0, counts.2
            ),
        )
    };
    Finding::new(check, id, status, message).with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::super::assessments::has_key;
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_keys_are_case_insensitive() {
        let a = json!({"id": "/subscriptions/s/x/providers/Microsoft.Security/assessments/C609CF0F-71AB-41E9-A3C6-9A1F7FE1B8D5",
            "properties": {"status": {"code": "unhealthy"}, "metadata": {"severity": "HIGH"}}});
        assert_eq!(code_of(&a), Code::Unhealthy);
        assert!(has_key(&a, "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"));
        assert!(matches!(severity_of(&a), Severity::High));
        let b = json!({"properties": {"status": {"code": "Skipped"}}});
        assert_eq!(code_of(&b), Code::Other(Some("Skipped".into())));
        assert_eq!(code_of(&json!({})), Code::Other(None));
    }

    #[test]
    fn resource_details_outside_the_resource_are_not_about_it() {
        let cluster = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        let own = json!({"properties": {"resourceDetails": {"source": "Azure", "id": cluster.to_uppercase()}}});
        let other = json!({"properties": {"resourceDetails": {"Source": "Azure", "Id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c2"}}});
        assert!(is_about(&own, cluster));
        assert!(!is_about(&other, cluster));
        assert!(is_about(&json!({"properties": {}}), cluster));
    }
}
