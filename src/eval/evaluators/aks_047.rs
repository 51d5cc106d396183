//! AKS-047: containers are kept from running as root and from writing their root filesystem.
//!
//! Two Kubernetes-mode controls, each checked per cluster with catalogue §1.1 (through
//! `policy::coverage`), directly assigned or through any initiative:
//!
//! * non-root: f06ddb64 ("…only run with approved user and group IDs"; a member of the
//!   restricted pod security set 42b8ef37) with `Deny`, or the mutation 2fe7ba7d (sets
//!   `runAsNonRoot`) with `Mutate`;
//! * read-only root filesystem: df49d893 ("…should run with a read only root file system",
//!   default `Audit`) with `Deny`, or the mutation 8e875f96 with `Mutate`.
//!
//! f06ddb64 only keeps containers off root through the `runAsUserRule` it is given (resolved
//! with `policy::candidate_parameter`): `MustRunAsNonRoot` (its default, and the restricted
//! set's literal) does, `MustRunAs` does when every `runAsUserRanges` range starts at 1 or
//! above, `RunAsAny` does not — such an assignment is left out of the coverage, as if absent.
//! Both controls enforced passes; a control covered only by `Audit` or `DoNotEnforce` warns
//! (aks-baseline audits df49d893); either control uncovered fails. The two controls are the
//! check's main parts: fail > unknown > warn > pass.

use crate::json::Value;

use crate::catalogue::{Check, Target};
use crate::eval::policy;
use crate::eval::{EvalContext, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

use super::guardrails::{self, Screen, Screened};

/// "Kubernetes cluster pods and containers should only run with approved user and group IDs".
pub const USERS: &str = "f06ddb64-5fa3-4b77-b166-acb36f7f6042";
/// "Prevents containers from being ran as root by setting runAsNotRoot to true".
pub const NON_ROOT_MUTATION: &str = "2fe7ba7d-f670-41f5-8b70-b61dc7dfbe18";
/// "Kubernetes cluster containers should run with a read only root file system".
pub const READ_ONLY_ROOT: &str = "df49d893-a74c-421d-bc95-c663042e5b80";
/// "Sets readOnlyRootFileSystem in the Pod spec to true if it is not set".
pub const READ_ONLY_ROOT_MUTATION: &str = "8e875f96-2c56-40ca-86db-b9f6a0be7347";

const ASSIGN: [&str; 2] = [
    "assign the restricted pod security initiative 42b8ef37 with effect Deny (f06ddb64 with runAsUserRule MustRunAsNonRoot), or the mutation 2fe7ba7d",
    "assign df49d893 (read only root file system) with effect Deny once workloads are ready, or the mutation 8e875f96",
];

pub fn controls() -> [policy::Control; 2] {
    [
        guardrails::control(
            "non-root containers",
            &["Deny", "Mutate"],
            &[USERS, NON_ROOT_MUTATION],
        ),
        guardrails::control(
            "read-only root filesystem",
            &["Deny", "Mutate"],
            &[READ_ONLY_ROOT, READ_ONLY_ROOT_MUTATION],
        ),
    ]
}

/// Whether a `runAsUserRule` (with its `runAsUserRanges`) keeps containers off UID 0.
pub fn user_rule(rule: &Value, ranges: Option<&Value>) -> Screen {
    let Some(text) = rule.as_str() else {
        return Screen::Undecided(format!("runAsUserRule is {rule}, not a string"));
    };
    if text.eq_ignore_ascii_case("MustRunAsNonRoot") {
        return Screen::Keep;
    }
    if text.eq_ignore_ascii_case("RunAsAny") {
        return Screen::Reject("allows root (runAsUserRule RunAsAny)".to_string());
    }
    if !text.eq_ignore_ascii_case("MustRunAs") {
        return Screen::Undecided(format!("runAsUserRule `{text}` is not a known rule"));
    }
    let list = ranges
        .and_then(|r| arm::key(r, "ranges"))
        .and_then(Value::as_array);
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Screen::Undecided(
            "runAsUserRule MustRunAs without readable runAsUserRanges".to_string(),
        );
    };
    let mins: Vec<Option<i64>> = list
        .iter()
        .map(|r| arm::key(r, "min").and_then(Value::as_i64))
        .collect();
    if mins.iter().any(Option::is_none) {
        return Screen::Undecided(format!(
            "runAsUserRanges {} has no numeric min",
            json_text(ranges)
        ));
    }
    if mins.iter().flatten().any(|m| *m < 1) {
        Screen::Reject(format!(
            "allows root (runAsUserRule MustRunAs with runAsUserRanges {})",
            json_text(ranges)
        ))
    } else {
        Screen::Keep
    }
}

fn json_text(value: Option<&Value>) -> String {
    value.map(Value::to_string).unwrap_or_default()
}

fn screen_users<'a>(inventory: &Inventory, coverage: policy::Coverage<'a>) -> Screened<'a> {
    guardrails::screen(coverage, |candidate| {
        if !guardrails::delivers(candidate, &[USERS]) {
            return Screen::Keep;
        }
        let rule = match policy::candidate_parameter(inventory, candidate, "runAsUserRule") {
            Ok(Some(found)) => found.value,
            Ok(None) => {
                return Screen::Undecided(
                    "runAsUserRule is set by neither the assignment nor a default".to_string(),
                );
            }
            Err(reason) => return Screen::Undecided(format!("runAsUserRule: {reason}")),
        };
        let ranges = match policy::candidate_parameter(inventory, candidate, "runAsUserRanges") {
            Ok(found) => found.map(|f| f.value),
            Err(reason)
                if rule
                    .as_str()
                    .is_some_and(|r| r.eq_ignore_ascii_case("MustRunAs")) =>
            {
                return Screen::Undecided(format!("runAsUserRanges: {reason}"));
            }
            Err(_) => None,
        };
        user_rule(&rule, ranges.as_ref())
    })
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let [non_root, read_only] = controls();
    for cluster in clusters {
        let id = arm::id(cluster);
        let screened = [
            screen_users(
                ctx.inventory,
                policy::coverage(ctx.inventory, id, &non_root, ctx.today),
            ),
            Screened::all(policy::coverage(ctx.inventory, id, &read_only, ctx.today)),
        ];
        let status = screened
            .iter()
            .map(|s| s.level().guardrail_status())
            .fold(Status::Pass, Status::combine);
        let message = guardrails::joint_message(
            status,
            &screened,
            "non-root containers and read-only root filesystems",
            &ASSIGN,
            "set runAsUserRule MustRunAsNonRoot",
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
    fn only_rules_that_exclude_uid_0_keep_containers_off_root() {
        assert!(matches!(
            user_rule(&json!("MustRunAsNonRoot"), None),
            Screen::Keep
        ));
        assert!(matches!(
            user_rule(&json!("RunAsAny"), None),
            Screen::Reject(_)
        ));
        let ok = json!({"ranges": [{"min": 1000, "max": 2000}, {"min": 1, "max": 10}]});
        assert!(matches!(
            user_rule(&json!("MustRunAs"), Some(&ok)),
            Screen::Keep
        ));
        let root = json!({"ranges": [{"min": 0, "max": 65535}]});
        let Screen::Reject(why) = user_rule(&json!("mustrunas"), Some(&root)) else {
            panic!()
        };
        assert!(why.contains("\"min\":0"), "{why}");
        assert!(matches!(
            user_rule(&json!("MustRunAs"), Some(&json!({"ranges": []}))),
            Screen::Undecided(_)
        ));
        assert!(matches!(
            user_rule(&json!("Sometimes"), None),
            Screen::Undecided(_)
        ));
    }
}
