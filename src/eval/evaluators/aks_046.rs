//! AKS-046: containers run with runtime-default seccomp and AppArmor profiles.
//!
//! Two Kubernetes-mode controls, each checked per cluster with catalogue §1.1 (through
//! `policy::coverage`), directly assigned or through any initiative (the restricted pod
//! security set 42b8ef37 carries seccomp, Deployment Safeguards c047ea8e both):
//!
//! * seccomp: validation 975ce327 ("…only use allowed seccomp profiles") with `Deny`, or the
//!   mutation 6f87d474, which sets `RuntimeDefault` where a pod sets nothing, with `Mutate`;
//! * AppArmor: 511f5417 ("…only use allowed AppArmor profiles") with `Deny`.
//!
//! A validation assignment only counts when the `allowedProfiles` it passes (resolved through
//! the assignment, the initiative and the definition's default with
//! `policy::candidate_parameter`) excludes `unconfined` and `*`: otherwise it lets containers opt
//! out and is left out of the coverage, as if absent. This applies to both definitions, since
//! both take the same parameter. Both controls enforced (`Deny` or the mutation, with
//! `enforcementMode` `Default`) pass; only one covered, or only audited, warns; neither covered
//! fails. An undecidable control makes the finding unknown only when the other control's state
//! leaves the outcome open.

use crate::json::Value;

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Level};
use crate::eval::{EvalContext, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

use super::guardrails::{self, Screen, Screened};

/// "Kubernetes cluster containers should only use allowed seccomp profiles".
pub const SECCOMP: &str = "975ce327-682c-4f2e-aa46-b9598289b86c";
/// "Sets Kubernetes cluster containers' secure computing mode profile type to RuntimeDefault if not present".
pub const SECCOMP_MUTATION: &str = "6f87d474-38a9-46c9-bdfe-d7fa3b9836bf";
/// "Kubernetes cluster containers should only use allowed AppArmor profiles".
pub const APPARMOR: &str = "511f5417-5d12-434d-ab2e-816901e72a5e";

const ASSIGN: [&str; 2] = [
    "assign the restricted pod security initiative 42b8ef37 with effect Deny (seccomp 975ce327), or the seccomp mutation 6f87d474, or enable deployment safeguards",
    "assign 511f5417 (allowed AppArmor profiles) with effect Deny and allowedProfiles [\"runtime/default\"]",
];

pub fn controls() -> [policy::Control; 2] {
    [
        guardrails::control(
            "seccomp profiles",
            &["Deny", "Mutate"],
            &[SECCOMP, SECCOMP_MUTATION],
        ),
        guardrails::control("apparmor profiles", &["Deny"], &[APPARMOR]),
    ]
}

/// Whether an `allowedProfiles` value keeps containers on confined profiles.
pub fn profiles_rule(value: &Value) -> Screen {
    let Some(items) = value.as_array() else {
        return Screen::Undecided(format!("allowedProfiles is {value}, not a list"));
    };
    let open: Vec<&str> = items
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| p.trim() == "*" || p.trim().eq_ignore_ascii_case("unconfined"))
        .collect();
    if open.is_empty() {
        Screen::Keep
    } else {
        Screen::Reject(format!(
            "allows {} (allowedProfiles {value})",
            open.join(" and ")
        ))
    }
}

/// The screen of the validation definitions' `allowedProfiles`; mutations pass untouched.
fn screen_profiles<'a>(inventory: &Inventory, coverage: policy::Coverage<'a>) -> Screened<'a> {
    guardrails::screen(coverage, |candidate| {
        if !guardrails::delivers(candidate, &[SECCOMP, APPARMOR]) {
            return Screen::Keep;
        }
        match policy::candidate_parameter(inventory, candidate, "allowedProfiles") {
            Ok(Some(found)) => profiles_rule(&found.value),
            Ok(None) => Screen::Undecided(
                "allowedProfiles is set by neither the assignment nor a default".to_string(),
            ),
            Err(reason) => Screen::Undecided(format!("allowedProfiles: {reason}")),
        }
    })
}

/// The catalogue's joint rule over known levels.
pub fn decide(levels: &[Level]) -> Status {
    let covered = |l: &Level| matches!(l, Level::Enforced | Level::Weaker);
    if levels.iter().all(|l| *l == Level::Enforced) {
        Status::Pass
    } else if !levels.iter().any(covered) {
        Status::Fail
    } else {
        Status::Warn
    }
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let controls = controls();
    for cluster in clusters {
        let id = arm::id(cluster);
        let screened: Vec<Screened> = controls
            .iter()
            .map(|c| {
                screen_profiles(
                    ctx.inventory,
                    policy::coverage(ctx.inventory, id, c, ctx.today),
                )
            })
            .collect();
        let levels: Vec<Level> = screened.iter().map(Screened::level).collect();
        let status = guardrails::settle(&levels, decide).unwrap_or(Status::Unknown);
        let message = guardrails::joint_message(
            status,
            &screened,
            "runtime-default seccomp and apparmor profiles",
            &ASSIGN,
            "remove unconfined and * from allowedProfiles",
        );
        findings.push(guardrails::joint_finding(
            check.id(),
            cluster,
            status,
            message,
            &screened,
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    #[test]
    fn allowed_profiles_must_exclude_unconfined_and_wildcards() {
        assert!(matches!(
            profiles_rule(&json!(["runtime/default", "docker/default"])),
            Screen::Keep
        ));
        assert!(matches!(profiles_rule(&json!([])), Screen::Keep));
        let Screen::Reject(why) = profiles_rule(&json!(["runtime/default", "Unconfined"])) else {
            panic!()
        };
        assert!(why.contains("Unconfined"), "{why}");
        assert!(matches!(profiles_rule(&json!(["*"])), Screen::Reject(_)));
        assert!(matches!(
            profiles_rule(&json!("runtime/default")),
            Screen::Undecided(_)
        ));
    }

    #[test]
    fn both_enforced_pass_one_warns_neither_fails() {
        use Level::*;
        assert_eq!(decide(&[Enforced, Enforced]), Status::Pass);
        assert_eq!(decide(&[Enforced, Uncovered]), Status::Warn);
        assert_eq!(decide(&[Weaker, Weaker]), Status::Warn);
        assert_eq!(decide(&[Inert, Uncovered]), Status::Fail);
        assert_eq!(
            guardrails::settle(&[Unknown, Weaker], decide),
            Some(Status::Warn)
        );
        assert_eq!(guardrails::settle(&[Unknown, Uncovered], decide), None);
    }
}
