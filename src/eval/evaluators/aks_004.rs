//! AKS-004: no exemption or `notScopes` entry quietly removes AKS or ACR resources from the
//! guardrails.
//!
//! The guardrail assignments are those the policy checks accept: AKS-001 (privileged
//! containers, privilege escalation, HTTPS ingress), AKS-003 (public cluster and public
//! registry deny), AKS-025 (pod security initiatives), AKS-044 (allowed images), AKS-046
//! (seccomp, AppArmor) and AKS-047 (non-root, read-only root filesystem) — the same controls,
//! built by the same functions. Per subscription holding clusters or registries, each control
//! is evaluated with catalogue §1.1 (`policy::coverage`) on the subscription and on each of its
//! clusters (registries: on the registry-relevant control), and for every delivering assignment
//! `policy::removals` names the `notScopes` entry and the unexpired exemptions (for the whole
//! assignment, or for the delivering member) that take that target out. Each distinct removal
//! is listed once. An exemption of category `Mitigated` is accepted (pass); a `Waiver` with an
//! `expiresOn` warns; a `Waiver` without one fails. A `notScopes` entry fails when the
//! assignment delivers the control with effect `Deny` and `enforcementMode` `Default` — a Deny
//! guardrail silently lifted — and warns otherwise (an audit or a mutation lifted); when that
//! effect cannot be resolved it is unknown. Exemptions that have expired no longer weaken
//! anything and are not listed. The Defender for Servers exemption of reference `defenderForVM`
//! belongs to AKS-040: it sits on the `Deploy-MDFC-Config` assignment, which delivers none of
//! these controls, so it never appears here. Policy data that cannot be read (assignments,
//! exemptions, the management-group chain, an initiative whose members are needed) makes the
//! finding unknown unless a certain fail was found.

use std::collections::BTreeMap;

use crate::json::Value;
use serde_json::json;

use crate::catalogue::Check;
use crate::eval::policy::{self, Candidate, Control, Issue};
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription, api, arm};

use super::{aks_001, aks_003, aks_025, aks_044, aks_046, aks_047};

/// The guardrail controls on clusters (and their subscriptions), and on registries.
fn controls(ctx: &EvalContext) -> (Vec<Control>, Vec<Control>) {
    let guardrail_sets = ctx.param_strings("guardrail_sets");
    let public_sets = ctx.param_strings("public_endpoint_sets");
    let mut clusters = aks_001::controls(&guardrail_sets);
    let mut public_cluster =
        Control::new("public cluster deny", &["Deny"]).definition(aks_003::AKS_PRIVATE);
    let mut public_registry =
        Control::new("public registry deny", &["Deny"]).definition(aks_003::ACR_PUBLIC);
    for set in &public_sets {
        public_cluster = public_cluster.member(set, "AKSDenyPaasPublicIP");
        public_registry = public_registry.member(set, "ACRDenyPaasPublicIP");
    }
    for set in &guardrail_sets {
        public_cluster = public_cluster.member(set, "Deny-Aks-Private-Cluster");
    }
    clusters.push(public_cluster);
    clusters.push(aks_025::control());
    clusters.push(aks_044::control());
    clusters.extend(aks_046::controls());
    clusters.extend(aks_047::controls());
    (clusters, vec![public_registry])
}

/// One distinct removal: a `notScopes` entry or an exemption of one assignment.
#[derive(Clone)]
struct Removal {
    assignment: String,
    assignment_id: String,
    /// `notScopes entry …` or `exemption …`.
    what: String,
    /// The exemption or `notScopes` entry, for the evidence's resource.
    on: String,
    status: Status,
    /// Why the status: `Waiver, no expiry`, `effect Deny, enforced`, ...
    why: String,
    controls: Vec<String>,
    targets: Vec<String>,
    facts: serde_json::Map<String, serde_json::Value>,
}

impl Removal {
    fn text(&self) -> String {
        format!(
            "{} of {} ({}; {})",
            self.what,
            self.assignment,
            self.why,
            self.controls.join(", ")
        )
    }
}

/// Collects the removals and undecidable points of one subscription.
#[derive(Default)]
struct Findings {
    removals: BTreeMap<(String, String), Removal>,
    /// Each undecidable point once, with the assignments it concerns.
    undecided: Vec<(String, Vec<String>)>,
}

impl Findings {
    fn undecided(&mut self, reason: String, assignment: Option<&str>) {
        let index = match self.undecided.iter().position(|(r, _)| *r == reason) {
            Some(i) => i,
            None => {
                self.undecided.push((reason, Vec::new()));
                self.undecided.len() - 1
            }
        };
        let names = &mut self.undecided[index].1;
        if let Some(name) = assignment
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }

    fn undecided_text(&self) -> String {
        self.undecided
            .iter()
            .map(|(reason, names)| match names.is_empty() {
                true => reason.clone(),
                false => format!("{reason} ({})", names.join(", ")),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Records one removal (`key` distinguishes it within its assignment) of `target` from the
    /// guardrail `label`, keeping the strongest verdict when it is seen through several members.
    fn add(&mut self, key: String, removal: Removal, label: &str, target: &str) {
        let entry = self
            .removals
            .entry((removal.assignment_id.to_ascii_lowercase(), key))
            .or_insert_with(|| Removal {
                controls: Vec::new(),
                targets: Vec::new(),
                ..removal.clone()
            });
        if entry.status != removal.status && removal.status.combine(entry.status) == removal.status
        {
            entry.status = removal.status;
            entry.why = removal.why;
        }
        if !entry.controls.iter().any(|c| c == label) {
            entry.controls.push(label.to_string());
        }
        if !entry.targets.iter().any(|t| arm::eq_ci(t, target)) {
            entry.targets.push(target.to_string());
        }
    }
}

/// How a `notScopes` entry on this candidate weighs: a lifted enforced Deny fails.
fn exclusion_status(candidate: &Candidate) -> (Status, String) {
    let enforced = arm::eq_ci(&candidate.enforcement_mode, "Default");
    match &candidate.effect {
        None => (
            Status::Unknown,
            "effect cannot be resolved, so whether a Deny guardrail is lifted is unknown"
                .to_string(),
        ),
        Some(effect) if arm::eq_ci(effect, "Deny") && enforced => {
            (Status::Fail, "lifts an enforced Deny guardrail".to_string())
        }
        Some(effect) => (
            Status::Warn,
            format!(
                "lifts a guardrail with effect {effect} and enforcementMode {}",
                candidate.enforcement_mode
            ),
        ),
    }
}

/// How an exemption weighs: `Mitigated` is accepted, a time-boxed `Waiver` warns, an open-ended
/// one fails.
fn exemption_status(category: Option<&str>, expires_on: Option<&str>) -> (Status, String) {
    match (category, expires_on) {
        (Some(c), _) if arm::eq_ci(c, "Mitigated") => {
            (Status::Pass, "Mitigated: accepted".to_string())
        }
        (Some(c), Some(date)) if arm::eq_ci(c, "Waiver") => {
            (Status::Warn, format!("Waiver, expires {date}"))
        }
        (Some(c), None) if arm::eq_ci(c, "Waiver") => {
            (Status::Fail, "Waiver without expiresOn".to_string())
        }
        (other, _) => (
            Status::Unknown,
            format!(
                "exemptionCategory {} is neither Waiver nor Mitigated",
                other.unwrap_or("absent")
            ),
        ),
    }
}

fn scan(
    inventory: &Inventory,
    ctx: &EvalContext,
    target: &str,
    controls: &[Control],
    out: &mut Findings,
) {
    for control in controls {
        let coverage = policy::coverage(inventory, target, control, ctx.today);
        for blocker in &coverage.blockers {
            out.undecided(blocker.clone(), None);
        }
        for candidate in &coverage.candidates {
            // An initiative whose definition is missing: its first issue says why, and which
            // member exemptions apply cannot be told.
            if candidate.set.is_some()
                && candidate.reference.is_none()
                && let Some(Issue::Unknown(reason)) = candidate.issues.first()
            {
                out.undecided(
                    format!("which member exemptions apply cannot be told: {reason}"),
                    Some(candidate.name()),
                );
            }
            let removals = policy::removals(
                inventory,
                target,
                candidate.assignment,
                candidate.reference.as_deref(),
                ctx.today,
            );
            for reason in removals.undecided {
                out.undecided(reason, Some(candidate.name()));
            }
            let base = |extra: serde_json::Value| {
                let mut facts = serde_json::Map::new();
                facts.insert("assignment".into(), json!(candidate.name()));
                facts.insert("assignmentScope".into(), json!(candidate.scope()));
                facts.insert(
                    "policyDefinitionId".into(),
                    json!(candidate.policy_definition_id()),
                );
                if let serde_json::Value::Object(extra) = extra {
                    facts.extend(extra);
                }
                facts
            };
            if let Some(entry) = removals.excluded {
                let (status, why) = exclusion_status(candidate);
                let removal = Removal {
                    assignment: candidate.name().to_string(),
                    assignment_id: candidate.id().to_string(),
                    what: format!("notScopes entry {entry}"),
                    on: candidate.id().to_string(),
                    status,
                    why,
                    controls: Vec::new(),
                    targets: Vec::new(),
                    facts: base(json!({"notScopesEntry": entry, "effect": candidate.effect,
                                       "enforcementMode": candidate.enforcement_mode})),
                };
                out.add(
                    format!("notscopes {}", entry.to_ascii_lowercase()),
                    removal,
                    &control.label,
                    target,
                );
            }
            for issue in removals.exemptions {
                let Issue::Exempted {
                    id,
                    category,
                    expires_on,
                } = issue
                else {
                    continue;
                };
                let (status, why) = exemption_status(category.as_deref(), expires_on.as_deref());
                let exemption = inventory
                    .policy_exemptions
                    .iter()
                    .find(|e| arm::eq_ci(arm::id(e), &id));
                let references = exemption
                    .and_then(|e| arm::path(e, "properties.policyDefinitionReferenceIds"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let removal = Removal {
                    assignment: candidate.name().to_string(),
                    assignment_id: candidate.id().to_string(),
                    what: format!("exemption {}", arm::last_segment(&id)),
                    on: id.clone(),
                    status,
                    why,
                    controls: Vec::new(),
                    targets: Vec::new(),
                    facts: base(json!({"exemption": id,
                                       "exemptionScope": policy::exemption_scope(exemption.unwrap_or(&Value::Null)),
                                       "exemptionCategory": category, "expiresOn": expires_on,
                                       "policyDefinitionReferenceIds": references})),
                };
                out.add(
                    format!("exemption {}", id.to_ascii_lowercase()),
                    removal,
                    &control.label,
                    target,
                );
            }
        }
    }
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (cluster_controls, registry_controls) = controls(ctx);
    ctx.inventory
        .subscriptions
        .iter()
        .map(|sub| judge(check, ctx, sub, &cluster_controls, &registry_controls))
        .collect()
}

fn judge(
    check: &Check,
    ctx: &EvalContext,
    sub: &Subscription,
    cluster_controls: &[Control],
    registry_controls: &[Control],
) -> Finding {
    let inventory = ctx.inventory;
    let clusters: Vec<&Value> = inventory.clusters_in(&sub.subscription_id).collect();
    let registries: Vec<&Value> = inventory.registries_in(&sub.subscription_id).collect();
    let scope = Evidence::new(
        "AKS clusters and container registries in the subscription",
        json!({"clusters": clusters.len(), "registries": registries.len()}),
        "at least one, for the guardrails to matter",
    );
    let missing: Vec<String> = [api::CLUSTERS, api::REGISTRIES]
        .into_iter()
        .filter_map(|a| inventory.read_state(&sub.id, a).missing_reason(&sub.id, a))
        .collect();
    if clusters.is_empty() && registries.is_empty() {
        return if missing.is_empty() {
            Finding::new(
                check.id(),
                &sub.id,
                Status::NotApplicable,
                "no AKS clusters or container registries in this subscription",
            )
            .evidence(scope)
        } else {
            Finding::new(
                check.id(),
                &sub.id,
                Status::Unknown,
                format!(
                    "cannot tell whether this subscription holds AKS clusters or container registries ({})",
                    missing.join("; ")
                ),
            )
            .evidence(scope)
        };
    }
    let mut found = Findings::default();
    let mut all = cluster_controls.to_vec();
    all.extend(registry_controls.iter().cloned());
    scan(inventory, ctx, &sub.id, &all, &mut found);
    for cluster in &clusters {
        scan(
            inventory,
            ctx,
            arm::id(cluster),
            cluster_controls,
            &mut found,
        );
    }
    for registry in &registries {
        scan(
            inventory,
            ctx,
            arm::id(registry),
            registry_controls,
            &mut found,
        );
    }
    for reason in missing {
        found.undecided(
            format!("resources of the subscription may be missing: {reason}"),
            None,
        );
    }

    let removals: Vec<&Removal> = found.removals.values().collect();
    let mut status = removals
        .iter()
        .map(|r| r.status)
        .fold(Status::Pass, Status::combine);
    if !found.undecided.is_empty() {
        status = status.combine(Status::Unknown);
    }
    let mut evidence = vec![scope];
    for removal in &removals {
        let mut facts = removal.facts.clone();
        facts.insert("assignmentId".into(), json!(removal.assignment_id));
        facts.insert("removes".into(), json!(removal.targets));
        facts.insert("guardrails".into(), json!(removal.controls));
        facts.insert("verdict".into(), json!(removal.why));
        evidence.push(
            Evidence::new(
                removal
                    .what
                    .split(' ')
                    .next()
                    .unwrap_or("removal")
                    .to_string()
                    + " of an AKS/ACR guardrail assignment",
                serde_json::Value::Object(facts),
                "none, a Mitigated exemption, or a Waiver with expiresOn",
            )
            .on(removal.on.clone()),
        );
    }
    if !found.undecided.is_empty() {
        evidence.push(
            Evidence::new(
                "exemptions and notScopes of the guardrail assignments",
                Value::Null,
                "readable",
            )
            .note(format!("not fully decided: {}", found.undecided_text())),
        );
    }
    let listed = |wanted: &[Status]| -> Vec<String> {
        removals
            .iter()
            .filter(|r| wanted.contains(&r.status))
            .map(|r| r.text())
            .collect()
    };
    let weakening = listed(&[Status::Fail, Status::Warn, Status::Unknown]);
    let mitigated = listed(&[Status::Pass]);
    const REVIEW: &str = "review them: a time-boxed waiver lapses on its expiresOn, and an exclusion from an audit or mutation guardrail hides workloads from it; remove them once no longer needed";
    const FIX: &str = "fix: remove the exclusion, or turn it into a time-boxed Waiver (az policy exemption create -n <name> --scope <scope> --policy-assignment <assignment id> --exemption-category Waiver --expires-on <date>; flags unverified)";
    let message = match status {
        Status::Pass if mitigated.is_empty() => {
            "no exemption or notScopes entry removes this subscription's clusters or registries from the AKS/ACR guardrails".to_string()
        }
        Status::Pass => format!(
            "only Mitigated exemptions remove resources of this subscription from the AKS/ACR guardrails: {}",
            mitigated.join("; ")
        ),
        Status::Unknown if weakening.is_empty() => format!(
            "exemptions and exclusions of the AKS/ACR guardrails cannot be fully decided: {}",
            found.undecided_text()
        ),
        Status::Unknown => format!(
            "{}; and not fully decided: {}",
            weakening.join("; "),
            found.undecided_text()
        ),
        _ => format!(
            "{} the AKS/ACR guardrails here: {}; {}",
            if weakening.len() == 1 {
                "1 exemption or exclusion weakens".to_string()
            } else {
                format!("{} exemptions or exclusions weaken", weakening.len())
            },
            weakening.join("; "),
            if status == Status::Fail { FIX } else { REVIEW }
        ),
    };
    Finding::new(check.id(), &sub.id, status, message).with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemption_categories_and_expiry_decide_the_weight() {
        assert_eq!(exemption_status(Some("mitigated"), None).0, Status::Pass);
        assert_eq!(
            exemption_status(Some("Waiver"), Some("2027-01-01T00:00:00Z")).0,
            Status::Warn
        );
        assert_eq!(exemption_status(Some("Waiver"), None).0, Status::Fail);
        assert_eq!(exemption_status(None, None).0, Status::Unknown);
    }
}
