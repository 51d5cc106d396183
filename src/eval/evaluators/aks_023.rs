//! AKS-023: who can obtain cluster-wide admin access to a cluster, through the static admin
//! kubeconfig or through Azure RBAC, and whether run command opens another way in.
//!
//! It decides per cluster by joining the cluster's `disableLocalAccounts` with the role
//! assignments read at the cluster with `$filter=atScope()` (`cluster_role_assignments`): an
//! assignment counts when its scope covers the cluster (the cluster, its resource group,
//! subscription, an ancestor management group, or `/`) and its role GUID is in a parameter list.
//! Two main parts combine as fail > unknown > warn > pass. The kubeconfig part passes when local
//! accounts are disabled; otherwise it warns and lists the holders of the admin-credential roles
//! (Cluster Admin Role, Owner, Contributor), and fails when one of them is an individual `User`
//! outside the break-glass list. The RBAC part fails when such a user holds AKS RBAC Cluster
//! Admin. Break-glass principals are exempt from both fails: they exist to hold emergency
//! cluster-wide access as individuals. `disableRunCommand` not true is a sub-result: a warn by
//! default, an informational note when `run_command_warns` is false.
//!
//! Missing data: when the cluster's role assignments could not be read, or a management-group
//! assignment cannot be placed because the subscription's ancestry is unknown, a part that such
//! data could turn into a fail is `unknown`; a fail the collected assignments already prove
//! stands. An assignment without `principalType` might be a user, so outside the break-glass
//! list it makes its part `unknown` rather than pass or fail.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{role_assignment_scope, role_definition_guid};
use crate::inventory::{api, arm};

const LOCAL_ACCOUNTS: &str = "properties.disableLocalAccounts";
const RUN_COMMAND: &str = "properties.apiServerAccessProfile.disableRunCommand";

/// Built-in role names for messages (catalogue §8.3); other GUIDs are shown as they are.
const ROLE_NAMES: [(&str, &str); 5] = [
    (
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        "Azure Kubernetes Service Cluster Admin Role",
    ),
    (
        "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        "Azure Kubernetes Service RBAC Cluster Admin",
    ),
    (
        "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        "Azure Kubernetes Service Cluster User Role",
    ),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
];

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let params = Params {
        break_glass: ctx.param_strings("break_glass_principals"),
        admin_roles: ctx.param_strings("admin_credential_roles"),
        rbac_roles: ctx.param_strings("rbac_cluster_admin_roles"),
        run_command_warns: ctx.param_bool("run_command_warns").unwrap_or(true),
    };
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx, &params, cluster)
    })
}

struct Params {
    break_glass: Vec<String>,
    admin_roles: Vec<String>,
    rbac_roles: Vec<String>,
    run_command_warns: bool,
}

/// How one role assignment's principal is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Principal {
    /// An individual user outside the break-glass list.
    User,
    /// No `principalType` in the payload and not a break-glass principal: possibly a user.
    Untyped,
    BreakGlass,
    /// A group, service principal or foreign group.
    NonUser,
}

impl Params {
    fn classify(&self, assignment: &Value) -> Principal {
        let principal = arm::str_at(assignment, "properties.principalId").unwrap_or_default();
        if self.break_glass.iter().any(|b| arm::eq_ci(b, principal)) {
            return Principal::BreakGlass;
        }
        match arm::str_at(assignment, "properties.principalType") {
            Some(t) if arm::eq_ci(t, "User") => Principal::User,
            Some(t) if !t.is_empty() => Principal::NonUser,
            _ => Principal::Untyped,
        }
    }
}

/// One part's verdict.
struct Part {
    status: Status,
    message: String,
}

fn evaluate_cluster(check: &str, ctx: &EvalContext, params: &Params, cluster: &Value) -> Finding {
    let inv = ctx.inventory;
    let id = arm::id(cluster);
    let mut evidence = Vec::new();

    let local_raw = arm::path(cluster, LOCAL_ACCOUNTS).cloned();
    let local_disabled = arm::bool_at(cluster, LOCAL_ACCOUNTS) == Some(true);
    let mut item = Evidence::new(
        LOCAL_ACCOUNTS,
        local_raw.clone().unwrap_or(Value::Null),
        "true (admin kubeconfig unobtainable)",
    );
    if local_raw.is_none() {
        item = item.note("absent in the ARM payload; ARM's default false applies");
    }
    evidence.push(item);

    let missing = inv
        .read_state(id, api::ROLE_ASSIGNMENTS)
        .missing_reason(id, api::ROLE_ASSIGNMENTS);
    if let Some(reason) = &missing {
        evidence.push(
            Evidence::new(
                "role assignments at or above the cluster",
                Value::Null,
                "the complete list ($filter=atScope() at the cluster)",
            )
            .note(format!(
                "{reason}; only assignments collected at other scopes are known"
            )),
        );
    }

    let admin = inv.cluster_role_grants(id, &params.admin_roles);
    let rbac = inv.cluster_role_grants(id, &params.rbac_roles);

    let kubeconfig = if local_disabled {
        for a in &admin.covering {
            evidence.push(grant_evidence(
                a,
                params,
                "informational: local accounts are disabled, so this role yields no admin kubeconfig",
            ));
        }
        Part {
            status: Status::Pass,
            message: "local accounts are disabled, so no static admin kubeconfig can be obtained"
                .into(),
        }
    } else {
        for a in &admin.covering {
            evidence.push(grant_evidence(
                a,
                params,
                "no admin-credential role for individual users outside the break-glass list while local accounts are enabled",
            ));
        }
        kubeconfig_part(params, &admin, missing.as_deref(), &mut evidence)
    };

    for a in &rbac.covering {
        evidence.push(grant_evidence(
            a,
            params,
            "no RBAC cluster-admin role for individual users outside the break-glass list",
        ));
    }
    let rbac_part = rbac_part(params, &rbac, missing.as_deref(), &mut evidence);

    let status = kubeconfig.status.combine(rbac_part.status);
    let mut message = format!("{}; {}", kubeconfig.message, rbac_part.message);

    let run_raw = arm::path(cluster, RUN_COMMAND).cloned();
    let run_disabled = arm::bool_at(cluster, RUN_COMMAND) == Some(true);
    let mut item = Evidence::new(
        RUN_COMMAND,
        run_raw.clone().unwrap_or(Value::Null),
        if params.run_command_warns {
            "true (sub-result: warn)"
        } else {
            "true (sub-result: informational, run_command_warns is false)"
        },
    );
    if run_raw.is_none() {
        item = item.note("absent in the ARM payload; ARM's default false applies");
    }
    evidence.push(item);
    if !run_disabled {
        message.push_str(if params.run_command_warns {
            "; run command is enabled (disableRunCommand is not true): holders of the right Azure role can run commands in the cluster through the Azure API"
        } else {
            "; note: run command is enabled (disableRunCommand is not true)"
        });
    }
    let status = status.with_sub_result(!run_disabled && params.run_command_warns);
    Finding::new(check, id, status, message).with_evidence(evidence)
}

/// The steps both parts open with: individual users outside the break-glass list among the
/// `roles` holders fail (`prefixes[0]` then their names); otherwise any doubt that there is none
/// is unknown (`prefixes[1]`, the doubts, then `)`). `None` when neither applies.
fn users_or_doubts(
    params: &Params,
    grants: &crate::inventory::views::RoleGrants,
    missing: Option<&str>,
    evidence: &mut Vec<Evidence>,
    roles: &str,
    prefixes: [&str; 2],
) -> Option<Part> {
    let users = of_kind(params, &grants.covering, &[Principal::User]);
    if !users.is_empty() {
        return Some(Part {
            status: Status::Fail,
            message: format!("{}{}", prefixes[0], describe(&users)),
        });
    }
    let doubts = doubts(params, grants, missing, evidence, roles);
    if !doubts.is_empty() {
        return Some(Part {
            status: Status::Unknown,
            message: format!("{}{})", prefixes[1], doubts.join("; ")),
        });
    }
    None
}

/// The static-kubeconfig part while local accounts are enabled.
fn kubeconfig_part(
    params: &Params,
    grants: &crate::inventory::views::RoleGrants,
    missing: Option<&str>,
    evidence: &mut Vec<Evidence>,
) -> Part {
    if let Some(part) = users_or_doubts(
        params,
        grants,
        missing,
        evidence,
        "the admin-credential roles",
        [
            "local accounts are enabled and individual users outside the break-glass list can fetch the static admin kubeconfig: ",
            "local accounts are enabled, and whether an individual user can fetch the static admin kubeconfig cannot be told (",
        ],
    ) {
        return part;
    }
    let message = if grants.covering.is_empty() {
        "local accounts are enabled (disableLocalAccounts is not true): no principal holds an admin-credential role at or above the cluster now, but anyone granted one can fetch a static admin kubeconfig".to_string()
    } else {
        format!(
            "local accounts are enabled (disableLocalAccounts is not true), so these principals can fetch a static admin kubeconfig: {}",
            describe(&grants.covering)
        )
    };
    Part {
        status: Status::Warn,
        message,
    }
}

/// The Azure RBAC cluster-admin part.
fn rbac_part(
    params: &Params,
    grants: &crate::inventory::views::RoleGrants,
    missing: Option<&str>,
    evidence: &mut Vec<Evidence>,
) -> Part {
    if let Some(part) = users_or_doubts(
        params,
        grants,
        missing,
        evidence,
        "the RBAC cluster-admin roles",
        [
            "individual users outside the break-glass list hold Azure RBAC cluster admin: ",
            "whether an individual user holds Azure RBAC cluster admin cannot be told (",
        ],
    ) {
        return part;
    }
    Part {
        status: Status::Pass,
        message: if grants.covering.is_empty() {
            "no principal holds Azure RBAC cluster admin at or above the cluster".to_string()
        } else {
            format!(
                "Azure RBAC cluster admin is held only by groups, service principals or break-glass principals: {}",
                describe(&grants.covering)
            )
        },
    }
}

/// Why a part that found no individual user cannot conclude that there is none: assignments
/// without a principal type, management-group assignments that cannot be placed, or an
/// incomplete list.
fn doubts(
    params: &Params,
    grants: &crate::inventory::views::RoleGrants,
    missing: Option<&str>,
    evidence: &mut Vec<Evidence>,
    roles: &str,
) -> Vec<String> {
    let mut doubts = Vec::new();
    let untyped = of_kind(params, &grants.covering, &[Principal::Untyped]);
    if !untyped.is_empty() {
        doubts.push(format!(
            "assignments without principalType may be users: {}",
            describe(&untyped)
        ));
    }
    let unplaced = of_kind(
        params,
        &grants.undetermined,
        &[Principal::User, Principal::Untyped],
    );
    if !unplaced.is_empty() {
        doubts.push(format!(
            "the management-group ancestry of the cluster's subscription was not read, so these may or may not cover it: {}",
            describe(&unplaced)
        ));
        for a in &unplaced {
            evidence.push(
                Evidence::new(
                    "properties.scope",
                    arm::path(a, "properties.scope")
                        .cloned()
                        .unwrap_or(Value::Null),
                    "a scope known to cover the cluster, or not",
                )
                .on(arm::id(a))
                .note(format!(
                    "{}: cannot place this management-group assignment relative to the cluster",
                    describe_one(a)
                )),
            );
        }
    } else if !grants.undetermined.is_empty() {
        evidence.push(
            Evidence::new(
                format!("management-group assignments of {roles} that cannot be placed"),
                serde_json::Value::Array(
                    grants
                        .undetermined
                        .iter()
                        .map(|a| json!(arm::id(a)))
                        .collect(),
                ),
                "placed relative to the cluster",
            )
            .note("the subscription's management-group ancestry was not read; these are groups or service principals, so they cannot turn the verdict into a fail"),
        );
    }
    if let Some(reason) = missing {
        doubts.push(format!("the cluster's role assignments: {reason}"));
    }
    doubts
}

fn of_kind<'a>(params: &Params, assignments: &[&'a Value], kinds: &[Principal]) -> Vec<&'a Value> {
    assignments
        .iter()
        .copied()
        .filter(|a| kinds.contains(&params.classify(a)))
        .collect()
}

fn role_name(guid: &str) -> String {
    ROLE_NAMES
        .iter()
        .find(|(g, _)| arm::eq_ci(g, guid))
        .map_or_else(|| guid.to_string(), |(_, n)| n.to_string())
}

/// `User 1111… (Owner at /subscriptions/…)`.
fn describe_one(assignment: &Value) -> String {
    format!(
        "{} {} ({} at {})",
        arm::str_at(assignment, "properties.principalType").unwrap_or("principal of unknown type"),
        arm::str_at(assignment, "properties.principalId").unwrap_or("(no principalId)"),
        role_name(role_definition_guid(assignment).unwrap_or_default()),
        role_assignment_scope(assignment).unwrap_or_default()
    )
}

fn describe(assignments: &[&Value]) -> String {
    assignments
        .iter()
        .map(|a| describe_one(a))
        .collect::<Vec<_>>()
        .join(", ")
}

fn grant_evidence(assignment: &Value, params: &Params, expected: &str) -> Evidence {
    let kind = params.classify(assignment);
    let mut note = describe_one(assignment);
    match kind {
        Principal::BreakGlass => {
            note.push_str("; a break-glass principal (break_glass_principals)")
        }
        Principal::Untyped => note.push_str("; principalType absent: may be a user"),
        Principal::User => note.push_str("; an individual user"),
        Principal::NonUser => {}
    }
    Evidence::new(
        "properties.principalType",
        arm::path(assignment, "properties.principalType")
            .cloned()
            .unwrap_or(Value::Null),
        expected,
    )
    .on(arm::id(assignment))
    .note(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    fn params(break_glass: &[&str]) -> Params {
        Params {
            break_glass: break_glass.iter().map(|s| s.to_string()).collect(),
            admin_roles: vec![],
            rbac_roles: vec![],
            run_command_warns: true,
        }
    }

    #[test]
    fn principals_are_classified_case_insensitively_with_break_glass_first() {
        let p = params(&["AAAA"]);
        let a = |id: &str, t: Option<&str>| {
            let mut props = json!({"principalId": id});
            if let Some(t) = t {
                props["principalType"] = json!(t);
            }
            json!({"properties": props})
        };
        assert_eq!(p.classify(&a("aaaa", Some("User"))), Principal::BreakGlass);
        assert_eq!(p.classify(&a("bbbb", Some("user"))), Principal::User);
        assert_eq!(p.classify(&a("bbbb", Some("Group"))), Principal::NonUser);
        assert_eq!(
            p.classify(&a("bbbb", Some("ServicePrincipal"))),
            Principal::NonUser
        );
        assert_eq!(p.classify(&a("bbbb", None)), Principal::Untyped);
        assert_eq!(p.classify(&a("bbbb", Some(""))), Principal::Untyped);
    }
}
