//! AKS-026: no workload is non-compliant with the in-cluster guardrails.
//!
//! Where AKS-001/025/044/046/047 ask whether the guardrails are assigned, this check reads what
//! they found: the latest Azure Policy compliance states of the cluster
//! (`Microsoft.PolicyInsights/policyStates`, rows keyed by the cluster's ID). Only the states of
//! the Kubernetes-mode guardrails those checks use count: a row whose `policyDefinitionId` ends
//! with a GUID of `guardrail_definitions`, or whose `policySetDefinitionId` ends with one of
//! `guardrail_initiatives`. Every counted row `Compliant` (or `Exempt`) passes; a `NonCompliant`
//! row of a guardrail evaluated with effect `deny` (`policyDefinitionAction`) fails — Deny only
//! blocks new pods, so pods that predate the assignment keep running — and one evaluated with
//! any other effect warns. A row whose compliance state or effect is missing or unrecognised
//! is unknown, and so is a cluster whose states could not be read. Without the Azure Policy
//! add-on (`addonProfiles.azurepolicy.enabled` not true, which is AKS-024's fail) there is no
//! in-cluster compliance data and the check does not apply; it does not apply either when no
//! guardrail reports a state for the cluster (none assigned, or not evaluated yet). Which pods
//! are non-compliant is only in component-level states (catalogue U), which are not read.

use std::collections::BTreeMap;

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{api, arm};

use super::guardrails::ADDON;

const COMPONENT_NOTE: &str = "which pods are non-compliant is only available as component-level states (catalogue U), which lzaudit does not read";

/// How one compliance state row stands.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Compliant,
    /// Non-compliant, and whether the guardrail denies (`true`) or only audits.
    NonCompliant(bool),
    Undecided(String),
}

fn classify(state: &Value) -> Row {
    let compliance = arm::str_at(state, "complianceState")
        .map(str::to_string)
        .or_else(|| {
            arm::bool_at(state, "isCompliant")
                .map(|c| if c { "Compliant" } else { "NonCompliant" }.to_string())
        });
    match compliance.as_deref() {
        Some(c) if arm::eq_ci(c, "Compliant") || arm::eq_ci(c, "Exempt") => Row::Compliant,
        Some(c) if arm::eq_ci(c, "NonCompliant") => {
            match arm::str_at(state, "policyDefinitionAction") {
                Some(action) => Row::NonCompliant(arm::eq_ci(action, "deny")),
                None => Row::Undecided(
                    "non-compliant, and policyDefinitionAction (the effect) is absent".to_string(),
                ),
            }
        }
        Some(other) => Row::Undecided(format!("complianceState {other}")),
        None => Row::Undecided("no complianceState".to_string()),
    }
}

/// `Deny-Privileged-AKS/NoPrivilegedContainers (deny)`: the assignment, the reference or
/// definition, and the effect. The 2019-10-01 rows of a direct assignment carry
/// `policyDefinitionReferenceId` (and `policySetDefinitionId`) as `""`, not absent, so an empty
/// string falls back like an absent one: to the definition's GUID, which is what a direct
/// assignment's row is about.
fn label(state: &Value) -> String {
    let text = |path: &str| arm::str_at(state, path).filter(|s| !s.trim().is_empty());
    let assignment = text("policyAssignmentName")
        .or_else(|| text("policyAssignmentId").map(arm::last_segment))
        .unwrap_or("?");
    let what = text("policyDefinitionReferenceId")
        .or_else(|| text("policyDefinitionId").map(arm::last_segment))
        .or_else(|| text("policyDefinitionName"))
        .unwrap_or("?");
    let action = text("policyDefinitionAction").unwrap_or("?");
    format!("{assignment}/{what} ({action})")
}

fn facts(state: &Value) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for key in [
        "complianceState",
        "policyDefinitionAction",
        "policyAssignmentId",
        "policyDefinitionId",
        "policyDefinitionReferenceId",
        "policySetDefinitionId",
        "timestamp",
    ] {
        map.insert(
            key.to_string(),
            arm::path(state, key).map_or(serde_json::Value::Null, Value::to_serde),
        );
    }
    serde_json::Value::Object(map)
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let definitions = ctx.param_strings("guardrail_definitions");
    let initiatives = ctx.param_strings("guardrail_initiatives");
    let counts = |id: Option<&str>, list: &[String]| {
        id.is_some_and(|id| list.iter().any(|g| arm::eq_ci(arm::last_segment(id), g)))
    };
    for cluster in clusters {
        let id = arm::id(cluster);
        let raw = arm::path(cluster, ADDON).cloned();
        let addon = Evidence::new(
            ADDON,
            raw.clone().unwrap_or(Value::Null),
            "true: the add-on reports in-cluster compliance",
        );
        match arm::bool_at(cluster, ADDON) {
            Some(true) => {}
            None if raw.is_some() => {
                findings.push(
                    Finding::new(
                        check.id(),
                        id,
                        Status::Unknown,
                        format!(
                            "addonProfiles.azurepolicy.enabled is {}, not a boolean, so whether compliance data exists cannot be told",
                            raw.unwrap_or(Value::Null)
                        ),
                    )
                    .evidence(addon),
                );
                continue;
            }
            _ => {
                findings.push(
                    Finding::new(
                        check.id(),
                        id,
                        Status::NotApplicable,
                        "azure policy add-on not enabled (AKS-024 fails): there is no in-cluster compliance data",
                    )
                    .evidence(addon),
                );
                continue;
            }
        }
        if let Some(reason) = ctx
            .inventory
            .read_state(id, api::POLICY_STATES)
            .missing_reason(id, api::POLICY_STATES)
        {
            findings.push(
                Finding::new(
                    check.id(),
                    id,
                    Status::Unknown,
                    format!("cannot read the cluster's policy compliance states: {reason}"),
                )
                .evidence(addon),
            );
            continue;
        }
        let rows: Vec<&Value> = ctx
            .inventory
            .policy_states
            .get(&id.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .filter(|s| arm::str_at(s, "resourceId").is_none_or(|r| arm::eq_ci(r, id)))
            .filter(|s| {
                counts(arm::str_at(s, "policyDefinitionId"), &definitions)
                    || counts(arm::str_at(s, "policySetDefinitionId"), &initiatives)
            })
            .collect();
        let mut tally: BTreeMap<String, usize> = BTreeMap::new();
        for row in &rows {
            let state = arm::str_at(row, "complianceState").unwrap_or("(absent)");
            *tally.entry(state.to_string()).or_default() += 1;
        }
        let summary = Evidence::new(
            "policy states of the kubernetes-mode guardrails (complianceState: count)",
            json!(tally),
            "every state Compliant",
        )
        .note(COMPONENT_NOTE);
        if rows.is_empty() {
            findings.push(
                Finding::new(
                    check.id(),
                    id,
                    Status::NotApplicable,
                    "no compliance states of kubernetes-mode guardrails for this cluster: none is assigned to it, or none has been evaluated yet",
                )
                .evidence(addon)
                .evidence(summary),
            );
            continue;
        }
        let mut deny = Vec::new();
        let mut audit = Vec::new();
        let mut undecided = Vec::new();
        let mut evidence = vec![addon, summary];
        for row in &rows {
            let verdict = classify(row);
            let (list, note) = match &verdict {
                Row::Compliant => continue,
                Row::NonCompliant(true) => (&mut deny, "non-compliant with a deny guardrail"),
                Row::NonCompliant(false) => (&mut audit, "non-compliant with an audit guardrail"),
                Row::Undecided(_) => (&mut undecided, "cannot be classified"),
            };
            let text = match &verdict {
                Row::Undecided(reason) => format!("{}: {reason}", label(row)),
                _ => label(row),
            };
            if !list.contains(&text) {
                list.push(text);
            }
            let mut item = Evidence::new("policy state", facts(row), "complianceState Compliant")
                .note(note.to_string());
            if let Some(assignment) = arm::str_at(row, "policyAssignmentId") {
                item = item.on(assignment);
            }
            evidence.push(item);
        }
        let status = if !deny.is_empty() {
            Status::Fail
        } else if !undecided.is_empty() {
            Status::Unknown
        } else if !audit.is_empty() {
            Status::Warn
        } else {
            Status::Pass
        };
        let fix = format!(
            "fix the workloads, then re-evaluate with az policy state trigger-scan --resource-group {}",
            arm::resource_group_of(id).unwrap_or("<rg>")
        );
        let mut parts = Vec::new();
        if !deny.is_empty() {
            parts.push(format!(
                "non-compliant workloads against deny guardrails: {} (deny only blocks new pods, so pods that predate the assignment keep running)",
                deny.join(", ")
            ));
        }
        if !audit.is_empty() {
            parts.push(format!(
                "non-compliant workloads against audit guardrails: {}",
                audit.join(", ")
            ));
        }
        if !undecided.is_empty() {
            parts.push(format!(
                "states that cannot be classified: {}",
                undecided.join(", ")
            ));
        }
        let message = match status {
            Status::Pass => format!(
                "all {} compliance states of the kubernetes-mode guardrails are compliant (or exempt)",
                rows.len()
            ),
            Status::Unknown => parts.join("; "),
            _ => format!("{}; {fix}", parts.join("; ")),
        };
        findings.push(Finding::new(check.id(), id, status, message).with_evidence(evidence));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    #[test]
    fn rows_are_classified_by_state_and_effect() {
        let row = |state: &str, action: Option<&str>| {
            let mut v = json!({"complianceState": state});
            if let Some(a) = action {
                v["policyDefinitionAction"] = json!(a);
            }
            v
        };
        assert_eq!(classify(&row("Compliant", None)), Row::Compliant);
        assert_eq!(classify(&row("Exempt", Some("deny"))), Row::Compliant);
        assert_eq!(
            classify(&row("NonCompliant", Some("Deny"))),
            Row::NonCompliant(true)
        );
        assert_eq!(
            classify(&row("noncompliant", Some("audit"))),
            Row::NonCompliant(false)
        );
        assert!(matches!(
            classify(&row("NonCompliant", None)),
            Row::Undecided(_)
        ));
        assert!(matches!(
            classify(&row("Conflict", None)),
            Row::Undecided(_)
        ));
        assert_eq!(
            classify(&json!({"isCompliant": false, "policyDefinitionAction": "audit"})),
            Row::NonCompliant(false)
        );
    }
}
