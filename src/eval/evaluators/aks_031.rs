//! AKS-031: the cluster's control-plane audit log is collected.
//!
//! It decides per cluster from the diagnostic settings read at the cluster
//! (`GET {cluster}/providers/Microsoft.Insights/diagnosticSettings`): a setting with the log
//! category `kube-audit-admin` or `kube-audit` enabled, or a category group of the
//! `category_groups` parameter (default `allLogs`, which holds every category) enabled, passes;
//! otherwise it fails. Where the logs go (workspace, storage account, event hub, partner) is
//! reported in the evidence; the catalogue asks only that the category be enabled. It is a Rust
//! evaluator because diagnostic settings are a separate collection keyed by the cluster.
//!
//! Missing data: a diagnostic-settings read that failed or was not collected is `unknown`. So is
//! a would-be fail when some setting enables a category group outside `category_groups` (such
//! as `audit`): whether that group holds `kube-audit` is not verified, so the fail is not
//! certain. An empty `workspaceId` (`""`, as ARM returns it for settings without a workspace)
//! counts as no workspace.

use crate::json::Value;

use super::diagnostics::{self, enabled_summary, routes, settings_of, unlisted_groups};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

/// The audit categories, preferred first.
const CATEGORIES: [&str; 2] = ["kube-audit-admin", "kube-audit"];

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let groups = ctx.param_strings("category_groups");
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, &groups, cluster)
    })
}

fn evaluate_cluster(check: &str, inv: &Inventory, groups: &[String], cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let settings = match settings_of(inv, id) {
        Ok(settings) => settings,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the cluster's diagnostic settings ({reason})"),
            )
            .evidence(diagnostics::not_read_evidence(
                id,
                "properties.logs[category=kube-audit-admin|kube-audit].enabled",
                "true in some diagnostic setting",
            ));
        }
    };
    for category in CATEGORIES {
        let found = routes(settings, category, groups);
        if found.is_empty() {
            continue;
        }
        let described: Vec<String> = found
            .iter()
            .map(|r| {
                format!(
                    "setting {} ({}{})",
                    arm::name(r.setting),
                    r.via,
                    r.workspace().map_or(String::new(), |w| format!(
                        ", to workspace {}",
                        arm::last_segment(w)
                    ))
                )
            })
            .collect();
        return Finding::new(
            check,
            id,
            Status::Pass,
            format!(
                "the control-plane audit log {category} is collected: {}",
                described.join("; ")
            ),
        )
        .with_evidence(
            found
                .iter()
                .map(|r| r.evidence(category, "kube-audit-admin or kube-audit enabled")),
        );
    }
    let summary = Evidence::new(
        "properties.logs of the cluster's diagnostic settings",
        enabled_summary(settings),
        "kube-audit-admin or kube-audit enabled (or a category group of category_groups)",
    )
    .on(diagnostics::scope(id));
    let unlisted = unlisted_groups(settings, groups);
    if !unlisted.is_empty() {
        return Finding::new(
            check,
            id,
            Status::Unknown,
            format!(
                "no diagnostic setting enables kube-audit-admin or kube-audit by name, but category group(s) {} are enabled and whether they include the audit categories is unverified (list them in category_groups once confirmed)",
                unlisted.join(", ")
            ),
        )
        .evidence(summary.note("category-group membership is not verified by this check"));
    }
    let message = if settings.is_empty() {
        "the cluster has no diagnostic setting: the control-plane audit log (kube-audit-admin, kube-audit) is not collected".to_string()
    } else {
        format!(
            "none of the cluster's {} diagnostic setting(s) enables kube-audit-admin or kube-audit: the control-plane audit log is not collected",
            settings.len()
        )
    };
    Finding::new(check, id, Status::Fail, message).evidence(summary)
}
