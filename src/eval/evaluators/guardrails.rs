//! Shared by the cluster checks built on Kubernetes-mode policy assignments (AKS-008, AKS-025,
//! AKS-044, AKS-045, AKS-046, AKS-047), and reused by AKS-004 to know which assignments are
//! guardrails.
//!
//! These checks ask the same question with catalogue §1.1 — is this cluster covered by an
//! enforced assignment of a definition, directly or through any initiative holding it — and some
//! of them add a condition on a parameter the assignment passes (the seccomp profiles it allows,
//! the user rule, the image regex). `control` builds the accepted ways, `screen` removes the
//! assignments whose parameters defeat the control (so they neither pass nor hide a fail) and
//! marks those whose parameters cannot be read as undecidable, and `addon_note` states in the
//! evidence that Kubernetes-mode assignments are inert while the Azure Policy add-on is off —
//! AKS-024 judges that, so it never changes these checks' status. `joint_finding` and
//! `joint_message` assemble the finding of a check made of several such controls.

use crate::json::Value;

use crate::eval::policy::{self, Candidate, Control, Coverage, Issue, Level};
use crate::eval::{Evidence, Finding, Status};
use crate::inventory::arm;

/// The built-in mutation definitions (effect `Mutate`) the guardrail checks accept: seccomp
/// `RuntimeDefault` (6f87d474), `runAsNonRoot` (2fe7ba7d), `readOnlyRootFileSystem` (8e875f96).
pub const MUTATIONS: &[&str] = &[
    "6f87d474-38a9-46c9-bdfe-d7fa3b9836bf",
    "2fe7ba7d-f670-41f5-8b70-b61dc7dfbe18",
    "8e875f96-2c56-40ca-86db-b9f6a0be7347",
];

/// The add-on flag (the key is matched case-insensitively).
pub const ADDON: &str = "properties.addonProfiles.azurepolicy.enabled";

/// A control delivered by a direct assignment of any of `definitions`, or by any assigned
/// initiative that holds one of them as a member (§1.1: a direct or an initiative assignment).
pub fn control(label: &str, effects: &[&str], definitions: &[&str]) -> Control {
    let mut control = Control::new(label, effects);
    for definition in definitions {
        control = control
            .definition(definition)
            .member_definition("*", definition);
    }
    control
}

/// Whether the candidate delivers one of these definitions (GUIDs, any casing).
pub fn delivers(candidate: &Candidate, definitions: &[&str]) -> bool {
    let delivered = policy::delivered_definition(candidate);
    definitions
        .iter()
        .any(|d| arm::eq_ci(arm::last_segment(&delivered), d))
}

/// An informational evidence item when the Azure Policy add-on is not enabled on the cluster;
/// `None` when it is.
pub fn addon_note(cluster: &Value) -> Option<Evidence> {
    if arm::bool_at(cluster, ADDON) == Some(true) {
        return None;
    }
    Some(
        Evidence::new(
            ADDON,
            arm::path(cluster, ADDON).cloned().unwrap_or(Value::Null),
            "true (informational here; AKS-024 judges the add-on)",
        )
        .note(
            "kubernetes-mode assignments have no effect in this cluster while the azure policy add-on is off (AKS-024); the status above is about the assignments only",
        ),
    )
}

/// What a check-specific rule says about one candidate assignment.
pub enum Screen {
    /// It delivers the control as far as the rule is concerned.
    Keep,
    /// Its parameters defeat the control (the reason, for messages and evidence).
    Reject(String),
    /// Its parameters cannot be read (the reason): it may or may not deliver the control.
    Undecided(String),
}

/// A coverage after a parameter rule: the candidates that deliver the control, and those
/// removed because their parameters defeat it.
pub struct Screened<'a> {
    pub coverage: Coverage<'a>,
    pub rejected: Vec<(Candidate<'a>, String)>,
}

/// Applies `rule` to every candidate: rejected ones leave the coverage (they deliver nothing),
/// undecided ones become undecidable (`Level::Unknown` unless something else makes them inert).
pub fn screen<'a>(
    mut coverage: Coverage<'a>,
    mut rule: impl FnMut(&Candidate<'a>) -> Screen,
) -> Screened<'a> {
    let mut rejected = Vec::new();
    let mut kept = Vec::new();
    for mut candidate in coverage.candidates.drain(..) {
        match rule(&candidate) {
            Screen::Keep => kept.push(candidate),
            Screen::Reject(reason) => rejected.push((candidate, reason)),
            Screen::Undecided(reason) => {
                candidate.issues.push(Issue::Unknown(reason));
                kept.push(candidate);
            }
        }
    }
    coverage.candidates = kept;
    Screened { coverage, rejected }
}

impl Screened<'_> {
    /// An unscreened coverage.
    pub fn all(coverage: Coverage<'_>) -> Screened<'_> {
        Screened {
            coverage,
            rejected: Vec::new(),
        }
    }

    pub fn level(&self) -> Level {
        self.coverage.level()
    }

    /// The coverage summary, naming the rejected assignments when they leave the control
    /// uncovered or not enforced.
    pub fn summary(&self) -> String {
        let label = &self.coverage.control.label;
        let rejected: Vec<String> = self
            .rejected
            .iter()
            .map(|(c, why)| format!("{} at {} {why}", c.name(), policy::short_scope(&c.scope())))
            .collect();
        match self.level() {
            Level::Uncovered if !rejected.is_empty() => {
                format!("{label}: {}", rejected.join("; "))
            }
            Level::Enforced => self.coverage.summary(),
            _ if !rejected.is_empty() => format!(
                "{} (not counted: {})",
                self.coverage.summary(),
                rejected.join("; ")
            ),
            _ => self.coverage.summary(),
        }
    }

    /// The fix direction; `assign` when nothing delivers the control, or `fix_rejected` on the
    /// rejected assignments when they are all there is.
    pub fn remedy(&self, assign: &str, fix_rejected: &str) -> Option<String> {
        match self.level() {
            Level::Uncovered if !self.rejected.is_empty() => {
                let mut names: Vec<&str> = self.rejected.iter().map(|(c, _)| c.name()).collect();
                names.dedup();
                Some(format!("{fix_rejected} on {}", names.join(", ")))
            }
            _ => {
                // Name the effect the deciding assignment can take: Mutate for a mutation, the
                // validating effects otherwise.
                let mut coverage = self.coverage.clone();
                if let Some(best) = self.coverage.best() {
                    let mutation = delivers(best, MUTATIONS);
                    coverage
                        .control
                        .effects
                        .retain(|e| arm::eq_ci(e, "Mutate") == mutation);
                    if coverage.control.effects.is_empty() {
                        coverage.control.effects = self.coverage.control.effects.clone();
                    }
                }
                coverage.remedy(assign)
            }
        }
    }

    /// The coverage evidence plus one item per rejected assignment.
    pub fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = if self.coverage.candidates.is_empty() && !self.rejected.is_empty() {
            Vec::new()
        } else {
            self.coverage.evidence()
        };
        for (candidate, why) in &self.rejected {
            evidence.push(
                Evidence::new(
                    format!("policy coverage of {}", self.coverage.control.label),
                    candidate.facts(),
                    self.coverage.control.expected(),
                )
                .on(candidate.id())
                .note(format!("not counted: it {why}")),
            );
        }
        evidence
    }
}

/// The finding on `cluster` for a check made of several screened controls: each control's
/// evidence in order, then the add-on note.
pub fn joint_finding(
    check: &str,
    cluster: &Value,
    status: Status,
    message: String,
    screened: &[Screened],
) -> Finding {
    let mut evidence = Vec::new();
    for s in screened {
        evidence.extend(s.evidence());
    }
    evidence.extend(addon_note(cluster));
    Finding::new(check, arm::id(cluster), status, message).with_evidence(evidence)
}

/// The message of a check made of several screened controls (AKS-046, AKS-047): on a pass, that
/// `what` are enforced and by which assignments; on unknown, the coverage problems; otherwise
/// the controls not enforced and a fix per control (`assign`, or `fix_rejected` on rejected
/// assignments; see `Screened::remedy`).
pub fn joint_message(
    status: Status,
    screened: &[Screened],
    what: &str,
    assign: &[&str],
    fix_rejected: &str,
) -> String {
    if status == Status::Pass {
        let names: Vec<String> = screened
            .iter()
            .filter_map(|s| s.coverage.best())
            .map(|b| format!("{} at {}", b.name(), policy::short_scope(&b.scope())))
            .collect();
        return format!("{what} are enforced on this cluster ({})", names.join(", "));
    }
    let problems: Vec<String> = screened
        .iter()
        .filter(|s| s.level() != Level::Enforced)
        .map(Screened::summary)
        .collect();
    if status == Status::Unknown {
        let coverages: Vec<Coverage> = screened.iter().map(|s| s.coverage.clone()).collect();
        return policy::problems(&coverages);
    }
    let mut fixes: Vec<String> = screened
        .iter()
        .zip(assign)
        .filter_map(|(s, assign)| s.remedy(assign, fix_rejected))
        .collect();
    fixes.dedup();
    format!("{}; fix: {}", problems.join("; "), fixes.join("; "))
}

/// The status of controls decided jointly when one or more of them is undecidable: the outcome
/// `decide` gives for every way the unknown ones could turn out (enforced, weaker, inert, not
/// covered), if they all agree; `None` when the missing data could change it.
pub fn settle(levels: &[Level], decide: impl Fn(&[Level]) -> Status) -> Option<Status> {
    const POSSIBLE: [Level; 4] = [
        Level::Enforced,
        Level::Weaker,
        Level::Inert,
        Level::Uncovered,
    ];
    let unknown: Vec<usize> = (0..levels.len())
        .filter(|&i| levels[i] == Level::Unknown)
        .collect();
    let mut outcome = None;
    let combinations = POSSIBLE.len().pow(unknown.len() as u32);
    for mut n in 0..combinations {
        let mut filled = levels.to_vec();
        for &i in &unknown {
            filled[i] = POSSIBLE[n % POSSIBLE.len()];
            n /= POSSIBLE.len();
        }
        let status = decide(&filled);
        match outcome {
            None => outcome = Some(status),
            Some(previous) if previous != status => return None,
            Some(_) => {}
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    fn both_enforced_or_fail(levels: &[Level]) -> Status {
        if levels.iter().all(|l| *l == Level::Enforced) {
            Status::Pass
        } else if levels.contains(&Level::Uncovered) {
            Status::Fail
        } else {
            Status::Warn
        }
    }

    #[test]
    fn settle_keeps_only_outcomes_the_missing_data_cannot_change() {
        use Level::*;
        assert_eq!(
            settle(&[Enforced, Weaker], both_enforced_or_fail),
            Some(Status::Warn)
        );
        assert_eq!(
            settle(&[Unknown, Uncovered], both_enforced_or_fail),
            Some(Status::Fail)
        );
        assert_eq!(settle(&[Unknown, Enforced], both_enforced_or_fail), None);
        assert_eq!(settle(&[Unknown, Unknown], both_enforced_or_fail), None);
    }

    #[test]
    fn the_addon_note_appears_only_when_the_addon_is_off() {
        let on = json!({"properties": {"addonProfiles": {"azurePolicy": {"enabled": true}}}});
        let off = json!({"properties": {"addonProfiles": {"azurepolicy": {"enabled": false}}}});
        let absent = json!({"properties": {}});
        assert!(addon_note(&on).is_none());
        assert_eq!(*addon_note(&off).unwrap().observed, json!(false));
        assert!(addon_note(&absent).unwrap().observed.is_null());
    }
}
