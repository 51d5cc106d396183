//! AKS-019: registry authentication and repository events reach a Log Analytics workspace.
//!
//! It decides per registry from the diagnostic settings read at the registry: both
//! `ContainerRegistryLoginEvents` and `ContainerRegistryRepositoryEvents` must be enabled — by
//! name, or through a category group of the `category_groups` parameter (default `allLogs`) — in
//! settings that send to a workspace (a non-empty `workspaceId`). Both so routed passes; neither
//! routed anywhere fails. The catalogue names only those two ends; everything in between is a
//! warn here: one of the two categories missing, or the events enabled but sent only to a storage
//! account, event hub or partner solution, where they are kept but cannot be queried next to the
//! cluster's logs. It is a Rust evaluator because diagnostic settings are a separate collection
//! keyed by the registry; the setting helpers are shared with AKS-031 (`diagnostics`).
//!
//! Missing data: a diagnostic-settings read that failed or was not collected is `unknown`. So is
//! a would-be fail when some setting enables a category group outside `category_groups` (such as
//! `audit`), whose content is not verified here. Such a group next to a would-be warn is only
//! noted: it could complete the routing (a pass), but never hide a fail.

use crate::json::Value;
use serde_json::json;

use super::diagnostics::{self, Route, enabled_summary, routes, settings_of, unlisted_groups};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, arm};

const CATEGORIES: [&str; 2] = [
    "ContainerRegistryLoginEvents",
    "ContainerRegistryRepositoryEvents",
];

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let groups = ctx.param_strings("category_groups");
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx.inventory, &groups, registry)
    })
}

fn evaluate_registry(check: &str, inv: &Inventory, groups: &[String], registry: &Value) -> Finding {
    let id = arm::id(registry);
    let settings = match settings_of(inv, id) {
        Ok(settings) => settings,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the registry's diagnostic settings ({reason})"),
            )
            .evidence(diagnostics::not_read_evidence(
                id,
                "properties.logs[category=ContainerRegistryLoginEvents|ContainerRegistryRepositoryEvents].enabled",
                "both enabled to a workspace",
            ));
        }
    };

    let mut evidence = Vec::new();
    let mut to_workspace = Vec::new();
    let mut elsewhere_only = Vec::new();
    let mut nowhere = Vec::new();
    for category in CATEGORIES {
        let found: Vec<Route> = routes(settings, category, groups);
        let (ws, other): (Vec<&Route>, Vec<&Route>) =
            found.iter().partition(|r| r.workspace().is_some());
        for r in &found {
            evidence.push(r.evidence(category, "enabled in a setting with a workspaceId"));
        }
        if !ws.is_empty() {
            to_workspace.push(category);
        } else if !other.is_empty() {
            elsewhere_only.push(category);
        } else {
            nowhere.push(category);
        }
    }
    let summary = Evidence::new(
        "properties.logs of the registry's diagnostic settings",
        enabled_summary(settings),
        "ContainerRegistryLoginEvents and ContainerRegistryRepositoryEvents (or a category group of category_groups) enabled to a workspace",
    )
    .on(diagnostics::scope(id));
    let unlisted = unlisted_groups(settings, groups);

    if to_workspace.len() == CATEGORIES.len() {
        return Finding::new(
            check,
            id,
            Status::Pass,
            "registry login and repository events are sent to a Log Analytics workspace",
        )
        .with_evidence(evidence);
    }
    if nowhere.len() == CATEGORIES.len() {
        if !unlisted.is_empty() {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!(
                    "no diagnostic setting enables the registry's login or repository events by name, but category group(s) {} are enabled and what they include is unverified (list them in category_groups once confirmed)",
                    unlisted.join(", ")
                ),
            )
            .evidence(summary.note("category-group membership is not verified by this check"));
        }
        let message = if settings.is_empty() {
            "the registry has no diagnostic setting: login and repository events are not logged"
                .to_string()
        } else {
            format!(
                "none of the registry's {} diagnostic setting(s) enables login or repository events",
                settings.len()
            )
        };
        return Finding::new(check, id, Status::Fail, message).evidence(summary);
    }
    let mut gaps = Vec::new();
    if !elsewhere_only.is_empty() {
        gaps.push(format!(
            "{} only to destinations other than a workspace",
            elsewhere_only.join(" and ")
        ));
    }
    if !nowhere.is_empty() {
        gaps.push(format!("{} not enabled", nowhere.join(" and ")));
    }
    let mut summary = summary;
    if !unlisted.is_empty() {
        summary = summary.note(format!(
            "category group(s) {} are enabled; their content is unverified, so they may complete the routing",
            unlisted.join(", ")
        ));
    }
    Finding::new(
        check,
        id,
        Status::Warn,
        format!(
            "registry events are only partly sent to a workspace: {}{}",
            gaps.join("; "),
            if to_workspace.is_empty() {
                String::new()
            } else {
                format!(" ({} is)", to_workspace.join(", "))
            }
        ),
    )
    .with_evidence(evidence)
    .evidence(summary)
    .evidence(Evidence::new(
        "categories routed to a workspace",
        json!(to_workspace),
        "both ContainerRegistryLoginEvents and ContainerRegistryRepositoryEvents",
    ))
}
