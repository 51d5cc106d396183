//! AKS-006: the Defender for Cloud recommendations on each cluster are reviewed, and none of High
//! severity is left unhealthy.
//!
//! It decides per cluster from the assessments read at the cluster's scope
//! (`GET {cluster}/providers/Microsoft.Security/assessments`): an `Unhealthy` assessment of
//! severity `High` fails; only `Medium` or `Low` unhealthy assessments warn; none unhealthy
//! passes. The message lists the display names. It is a Rust evaluator because it joins the
//! cluster with two separate collections, and because its missing-data rules do not fit a
//! single-resource rule: the assessment list not read is `unknown`; so is a list with no
//! assessment about the cluster at all (the catalogue's "no data" case: Defender for Cloud has
//! not assessed it, so nothing can be said).
//!
//! The severity of an assessment is its own `properties.metadata.severity` when present (the
//! service returns `metadata` only with `$expand=metadata`; the list the collector reads carries
//! none, as `ListAssessments_example.json` shows), else `properties.severity` of the item of the
//! tenant's assessment metadata list (`GET /providers/Microsoft.Security/assessmentMetadata`,
//! `ListAssessmentsMetadata_example.json`) whose `name` is the assessment's key. An unhealthy
//! assessment whose severity is neither (the metadata list not read, or no entry for its key) or
//! unrecognised, or whose status code is absent or unrecognised, could be a High one, so it
//! makes the verdict `unknown` unless a certain High failure already stands; the message says
//! when the metadata list could not be read. `resourceDetails.id` is an unverified path
//! (catalogue U): assessments whose `resourceDetails.id` names a resource other than the cluster
//! (or something beneath it) are left out, and the evidence says so.

use crate::json::Value;
use serde_json::json;

use super::assessments::{
    Code, assessments_of, code_of, display_name, is_about, key_of, metadata_for, metadata_list,
    status_evidence,
};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

/// Where the severity of an assessment type is listed.
const METADATA_LIST: &str =
    "the assessment metadata list (GET /providers/Microsoft.Security/assessmentMetadata)";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, cluster)
    })
}

/// The severity of an unhealthy assessment, as far as the payloads tell.
enum Severity {
    High,
    Lower(String),
    Unknown(Option<String>),
}

fn classify(severity: Option<&str>) -> Severity {
    match severity {
        Some(s) if arm::eq_ci(s, "High") => Severity::High,
        Some(s) if arm::eq_ci(s, "Medium") || arm::eq_ci(s, "Low") => {
            Severity::Lower(s.to_string())
        }
        other => Severity::Unknown(other.map(str::to_string)),
    }
}

/// Where an assessment's severity was read.
enum Source<'a> {
    /// The assessment's own `properties.metadata.severity`.
    Inline,
    /// `properties.severity` of this item of the assessment metadata list.
    Metadata(&'a Value),
    /// Neither: why, and whether it is because the metadata list was not read.
    Missing { why: String, unread: bool },
}

/// The severity of an assessment: its own metadata's, else its type's in the metadata list.
fn severity_of<'a>(
    assessment: &Value,
    metadata: &Result<&'a [Value], String>,
) -> (Severity, Value, Source<'a>) {
    if let Some(own) = arm::path(assessment, "properties.metadata.severity") {
        return (classify(own.as_str()), own.clone(), Source::Inline);
    }
    let key = key_of(assessment);
    match metadata {
        Err(reason) => (
            Severity::Unknown(None),
            Value::Null,
            Source::Missing {
                why: format!(
                    "the assessment carries no metadata and {METADATA_LIST} was not read ({reason})"
                ),
                unread: true,
            },
        ),
        Ok(list) => match metadata_for(list, assessment) {
            Some(item) => match arm::path(item, "properties.severity") {
                Some(severity) => (
                    classify(severity.as_str()),
                    severity.clone(),
                    Source::Metadata(item),
                ),
                None => (
                    Severity::Unknown(None),
                    Value::Null,
                    Source::Missing {
                        why: format!(
                            "the assessment carries no metadata and the entry {key} of {METADATA_LIST} has no severity"
                        ),
                        unread: false,
                    },
                ),
            },
            None => (
                Severity::Unknown(None),
                Value::Null,
                Source::Missing {
                    why: format!(
                        "the assessment carries no metadata and {METADATA_LIST} has no entry named {key}"
                    ),
                    unread: false,
                },
            ),
        },
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
    let metadata = metadata_list(inv);
    let mut metadata_unread = false;
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
                let (severity, observed, source) = severity_of(assessment, &metadata);
                let name = display_name(assessment).to_string();
                let expected = "no Unhealthy assessment of severity High (Medium or Low warn)";
                let problem = match &severity {
                    Severity::Unknown(None) => "; the severity is absent, so it may be High",
                    Severity::Unknown(Some(_)) => {
                        "; the severity is not one of High, Medium, Low, so it may be High"
                    }
                    _ => "",
                };
                let item = match source {
                    Source::Inline => Evidence::new("properties.metadata.severity", observed, expected)
                        .on(arm::id(assessment))
                        .note(format!(
                            "Unhealthy: {name}{problem}; severity read from the assessment's own properties.metadata.severity"
                        )),
                    Source::Metadata(entry) => Evidence::new("properties.severity", observed, expected)
                        .on(arm::id(entry))
                        .note(format!(
                            "Unhealthy: {name} ({}){problem}; the assessment carries no metadata, so the severity is its type's in {METADATA_LIST}",
                            arm::id(assessment)
                        )),
                    Source::Missing { why, unread } => {
                        metadata_unread |= unread;
                        Evidence::new("properties.metadata.severity", observed, expected)
                            .on(arm::id(assessment))
                            .note(format!("Unhealthy: {name}{problem}; {why}"))
                    }
                };
                evidence.push(item);
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
        if let (true, Err(reason)) = (metadata_unread, &metadata) {
            message.push_str(&format!(
                "; the severities come from {METADATA_LIST}, which was not read ({reason})"
            ));
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
    use crate::tree as json;

    #[test]
    fn codes_and_keys_are_case_insensitive() {
        let a = json!({"id": "/subscriptions/s/x/providers/Microsoft.Security/assessments/C609CF0F-71AB-41E9-A3C6-9A1F7FE1B8D5",
            "properties": {"status": {"code": "unhealthy"}, "metadata": {"severity": "HIGH"}}});
        assert_eq!(code_of(&a), Code::Unhealthy);
        assert!(has_key(&a, "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"));
        assert!(matches!(severity_of(&a, &Ok(&[])).0, Severity::High));
        let b = json!({"properties": {"status": {"code": "Skipped"}}});
        assert_eq!(code_of(&b), Code::Other(Some("Skipped".into())));
        assert_eq!(code_of(&json!({})), Code::Other(None));
    }

    #[test]
    fn severity_falls_back_to_the_metadata_list_by_key() {
        let a = json!({"id": "/subscriptions/s/x/providers/Microsoft.Security/assessments/21300918-B2E3-0346-785F-C77FF57D243B",
            "name": "21300918-B2E3-0346-785F-C77FF57D243B",
            "properties": {"status": {"code": "Unhealthy"}}});
        let list = [
            json!({"id": "/providers/Microsoft.Security/assessmentMetadata/21300918-b2e3-0346-785f-c77ff57d243b",
            "name": "21300918-b2e3-0346-785f-c77ff57d243b",
            "type": "Microsoft.Security/assessmentMetadata",
            "properties": {"severity": "High"}}),
        ];
        let (severity, observed, source) = severity_of(&a, &Ok(&list));
        assert!(matches!(severity, Severity::High));
        assert_eq!(observed, json!("High"));
        assert!(matches!(source, Source::Metadata(_)));
        let (severity, _, source) = severity_of(&a, &Ok(&[]));
        assert!(matches!(severity, Severity::Unknown(None)));
        assert!(matches!(source, Source::Missing { unread: false, .. }));
        let (_, _, source) = severity_of(&a, &Err("denied".into()));
        assert!(matches!(source, Source::Missing { unread: true, .. }));
        // The assessment's own metadata wins over the list.
        let own = json!({"name": "21300918-b2e3-0346-785f-c77ff57d243b",
            "properties": {"metadata": {"severity": "Low"}}});
        assert!(matches!(
            severity_of(&own, &Ok(&list)).0,
            Severity::Lower(_)
        ));
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
