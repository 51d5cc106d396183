//! AKS-025: a Pod Security Standards initiative is assigned at or above the cluster, with Deny.
//!
//! The built-in initiatives "pod security baseline standards" (a8640138: privileged, host
//! network and ports, host namespaces, capabilities, hostPath) and "pod security restricted
//! standards" (42b8ef37: baseline plus privilege escalation, volume types, users and groups,
//! seccomp) turn the CAF's "least number of permissions, avoid root or privileged escalation"
//! into admission rules. The unit here is the initiative, not one member: per cluster, every
//! assignment of either set whose scope contains the cluster is judged member by member with
//! catalogue §1.1 (`policy::coverage`), and an assignment counts as enforced only when all its
//! members are delivered with `Deny` and `enforcementMode` `Default`. One whose members are all
//! removed (`Disabled`, `notScopes`, a whole-assignment exemption) is inert; anything in between
//! (`Audit` — aks-baseline assigns the restricted set in Audit —, `DoNotEnforce`, or some members
//! exempted) is weaker. The strongest assignment decides: enforced passes, weaker warns, inert
//! or none fails, and policy data that cannot be read is unknown. The finding reports the
//! deciding assignment's `excludedNamespaces` (the assignment's value, else the set's default),
//! because namespaces listed there are outside every member's reach.

use std::collections::BTreeSet;

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Candidate, Control, Coverage, Issue, Level};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

use super::aks_001::{PSS_BASELINE, PSS_RESTRICTED};
use super::guardrails;

const ASSIGN: &str = "assign the restricted pod security initiative 42b8ef37 (or baseline a8640138) with effect Deny at the landing zones management group: az policy assignment create --policy-set-definition 42b8ef37-b724-4e24-bbc8-7a7708edfe00 --scope <scope> --params '{\"effect\":{\"value\":\"Deny\"}}'";

/// Every member of either initiative delivers the control.
pub fn control() -> Control {
    Control::new("pod security standards", &["Deny"])
        .member_definition(PSS_RESTRICTED, "*")
        .member_definition(PSS_BASELINE, "*")
}

/// One assignment of a pod security initiative, with its members' candidates.
struct Initiative<'c, 'a> {
    members: Vec<&'c Candidate<'a>>,
}

impl<'c, 'a> Initiative<'c, 'a> {
    fn first(&self) -> &'c Candidate<'a> {
        self.members[0]
    }

    /// Enforced only when every member is; inert only when every member is; unknown when any
    /// member is undecidable; otherwise weaker.
    fn level(&self) -> Level {
        let levels: Vec<Level> = self.members.iter().map(|c| c.level()).collect();
        if levels.contains(&Level::Unknown) {
            Level::Unknown
        } else if levels.iter().all(|l| *l == Level::Enforced) {
            Level::Enforced
        } else if levels.iter().all(|l| *l == Level::Inert) {
            Level::Inert
        } else {
            Level::Weaker
        }
    }

    fn kind(&self) -> &'static str {
        if arm::eq_ci(
            arm::last_segment(self.first().policy_definition_id()),
            PSS_RESTRICTED,
        ) {
            "restricted"
        } else {
            "baseline"
        }
    }

    /// The distinct issues of the members that are not enforced, with the references they
    /// concern when only some members have them.
    fn issues(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let total = self.members.len();
        let mut seen: Vec<(String, Vec<String>)> = Vec::new();
        for member in &self.members {
            for issue in &member.issues {
                let text = issue.describe();
                let reference = member.reference.clone().unwrap_or_default();
                match seen.iter_mut().find(|(t, _)| *t == text) {
                    Some((_, refs)) => refs.push(reference),
                    None => seen.push((text, vec![reference])),
                }
            }
        }
        for (text, refs) in seen {
            if refs.len() == total {
                out.push(text);
            } else {
                out.push(format!("{text} for {}", refs.join(", ")));
            }
        }
        out
    }

    /// The fix steps for the members that are not enforced.
    fn remedy(&self) -> String {
        let name = self.first().name();
        let mut steps: Vec<String> = Vec::new();
        for member in &self.members {
            for issue in &member.issues {
                let step = match issue {
                    Issue::NotEnforced(_) => format!("set enforcementMode Default on {name}"),
                    Issue::WeakEffect(_) | Issue::Disabled => match &member.effect_parameter {
                        Some(parameter) => format!("set parameter {parameter} to Deny on {name}"),
                        None => format!("assign the initiative with effect Deny instead of {name}"),
                    },
                    Issue::Excluded(entry) => {
                        format!("remove {entry} from the notScopes of {name}")
                    }
                    Issue::Exempted { id, .. } => {
                        format!("remove exemption {}", arm::last_segment(id))
                    }
                    Issue::Unknown(_) => continue,
                };
                if !steps.contains(&step) {
                    steps.push(step);
                }
            }
        }
        steps.join(", ")
    }
}

/// The assignments of the coverage, grouped, in candidate order.
fn initiatives<'c, 'a>(coverage: &'c Coverage<'a>) -> Vec<Initiative<'c, 'a>> {
    let mut out: Vec<Initiative> = Vec::new();
    for candidate in &coverage.candidates {
        match out
            .iter_mut()
            .find(|i| arm::eq_ci(i.first().id(), candidate.id()))
        {
            Some(initiative) => initiative.members.push(candidate),
            None => out.push(Initiative {
                members: vec![candidate],
            }),
        }
    }
    out
}

/// The overall level (the strongest assignment, §1.1 "Several assignments") and the deciding
/// assignment.
fn decide<'i, 'c, 'a>(
    coverage: &Coverage<'a>,
    initiatives: &'i [Initiative<'c, 'a>],
) -> (Level, Option<&'i Initiative<'c, 'a>>) {
    if let Some(enforced) = initiatives.iter().find(|i| i.level() == Level::Enforced) {
        return (Level::Enforced, Some(enforced));
    }
    let undecided = initiatives.iter().find(|i| i.level() == Level::Unknown);
    if !coverage.blockers.is_empty() || undecided.is_some() {
        return (Level::Unknown, undecided);
    }
    match initiatives.iter().min_by_key(|i| i.level()) {
        Some(best) => (best.level(), Some(best)),
        None => (Level::Uncovered, None),
    }
}

/// The deciding assignment's `excludedNamespaces`, as evidence and as message text.
fn excluded_namespaces(inventory: &Inventory, initiative: &Initiative) -> (Evidence, String) {
    let candidate = initiative.first();
    let property = "excludedNamespaces (pod security initiative parameter)";
    let expected = "reported only: namespaces listed here are not evaluated by any member";
    match policy::candidate_parameter(inventory, candidate, "excludedNamespaces") {
        Ok(Some(found)) => {
            let names: Vec<&str> = found
                .value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let text = if names.is_empty() {
                "excluded namespaces: none".to_string()
            } else {
                format!("excluded namespaces: {}", names.join(", "))
            };
            (
                Evidence::new(property, found.value.clone(), expected)
                    .on(candidate.id())
                    .note(format!("from {}", found.source)),
                text,
            )
        }
        Ok(None) => (
            Evidence::new(property, Value::Null, expected)
                .on(candidate.id())
                .note("neither the assignment nor the initiative sets it"),
            "excluded namespaces: none set".to_string(),
        ),
        Err(reason) => (
            Evidence::new(property, Value::Null, expected)
                .on(candidate.id())
                .note(format!(
                    "could not be resolved (informational only): {reason}"
                )),
            "excluded namespaces: not resolved".to_string(),
        ),
    }
}

/// One evidence item per assignment: its facts, with the members that are not in force.
fn assignment_evidence(coverage: &Coverage, initiatives: &[Initiative]) -> Vec<Evidence> {
    if initiatives.is_empty() {
        return coverage.evidence();
    }
    let blockers = (!coverage.blockers.is_empty()).then(|| coverage.blockers.join("; "));
    initiatives
        .iter()
        .map(|initiative| {
            let first = initiative.first();
            let mut facts = first.facts();
            if let Some(map) = facts.as_object_mut() {
                map.remove("policyDefinitionReferenceId");
                map.remove("issues");
                map.insert("initiative".into(), json!(initiative.kind()));
                map.insert("members".into(), json!(initiative.members.len()));
                let effects: BTreeSet<String> = initiative
                    .members
                    .iter()
                    .filter_map(|m| m.effect.clone())
                    .collect();
                map.insert("effect".into(), json!(effects));
                let issues = initiative.issues();
                if !issues.is_empty() {
                    map.insert("issues".into(), json!(issues));
                }
            }
            let mut item = Evidence::new(
                "policy coverage of pod security standards",
                facts,
                "an assignment of the restricted or baseline initiative covering the cluster with effect Deny on every member and enforcementMode Default, not excluded by notScopes and not exempted",
            )
            .on(first.id());
            if let Some(b) = &blockers {
                item = item.note(format!("the list of assignments may be incomplete: {b}"));
            }
            item
        })
        .collect()
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let control = control();
    for cluster in clusters {
        let id = arm::id(cluster);
        let coverage = policy::coverage(ctx.inventory, id, &control, ctx.today);
        let groups = initiatives(&coverage);
        let (level, deciding) = decide(&coverage, &groups);
        let status = level.guardrail_status();
        let mut evidence = assignment_evidence(&coverage, &groups);
        let namespaces = deciding.map(|d| excluded_namespaces(ctx.inventory, d));
        if let Some((item, _)) = &namespaces {
            evidence.push(item.clone());
        }
        evidence.extend(guardrails::addon_note(cluster));
        let namespaces_text = namespaces.map(|(_, t)| t);
        let message = match (status, deciding) {
            (Status::Pass, Some(d)) => format!(
                "the pod security {} standards are denied on this cluster by {} at {} (effect Deny, enforcementMode Default); {}",
                d.kind(),
                d.first().name(),
                policy::short_scope(&d.first().scope()),
                namespaces_text.unwrap_or_default()
            ),
            (Status::Unknown, _) => format!(
                "pod security standards: cannot be decided ({})",
                coverage.unknown_reasons().join("; ")
            ),
            (_, Some(d)) => format!(
                "the pod security {} standards are not enforced: {} at {}: {}; {}; fix: {}",
                d.kind(),
                d.first().name(),
                policy::short_scope(&d.first().scope()),
                d.issues().join(", "),
                namespaces_text.unwrap_or_default(),
                d.remedy()
            ),
            (_, None) => format!(
                "no pod security standards initiative (restricted 42b8ef37 or baseline a8640138) covers this cluster; fix: {ASSIGN}"
            ),
        };
        findings.push(Finding::new(check.id(), id, status, message).with_evidence(evidence));
    }
    findings
}
