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
//!
//! The helpers at the top (reading the settings, finding the settings that route a category,
//! describing a setting's destinations) are shared with AKS-019.

use serde_json::{Value, json};

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, api, arm};

/// The audit categories, preferred first.
const CATEGORIES: [&str; 2] = ["kube-audit-admin", "kube-audit"];

/// The diagnostic settings read at a resource, or why they are missing. A successful read with
/// no entry in the map is an empty list.
pub(super) fn settings_of<'a>(
    inv: &'a Inventory,
    resource_id: &str,
) -> Result<&'a [Value], String> {
    if let Some(reason) = inv
        .read_state(resource_id, api::DIAGNOSTIC_SETTINGS)
        .missing_reason(resource_id, api::DIAGNOSTIC_SETTINGS)
    {
        return Err(reason);
    }
    Ok(inv
        .diagnostic_settings
        .get(&resource_id.to_ascii_lowercase())
        .map_or(&[][..], Vec::as_slice))
}

/// A non-empty string property (ARM returns `""` for unset destinations).
fn non_empty<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    arm::str_at(value, path).filter(|s| !s.trim().is_empty())
}

/// The Log Analytics workspace a setting sends to, if any.
pub(super) fn workspace_of(setting: &Value) -> Option<&str> {
    non_empty(setting, "properties.workspaceId")
}

/// The destinations of a setting, for evidence: `workspace <id>`, `storage account <id>`, ...
pub(super) fn destinations(setting: &Value) -> Vec<String> {
    [
        ("properties.workspaceId", "workspace"),
        ("properties.storageAccountId", "storage account"),
        ("properties.eventHubAuthorizationRuleId", "event hub"),
        ("properties.marketplacePartnerId", "partner solution"),
    ]
    .into_iter()
    .filter_map(|(path, what)| non_empty(setting, path).map(|v| format!("{what} {v}")))
    .collect()
}

/// One enabled log entry of a setting that routes a wanted category.
pub(super) struct Route<'a> {
    pub setting: &'a Value,
    /// `category kube-audit` or `categoryGroup allLogs`.
    pub via: String,
}

impl Route<'_> {
    pub fn workspace(&self) -> Option<&str> {
        workspace_of(self.setting)
    }

    /// Evidence naming the setting, how it routes the category and where it sends it.
    pub fn evidence(&self, category: &str, expected: &str) -> Evidence {
        let targets = destinations(self.setting);
        Evidence::new(
            format!("properties.logs[{}].enabled", self.via),
            json!(true),
            expected,
        )
        .on(arm::id(self.setting))
        .note(format!(
            "setting {} routes {category} ({}) to {}",
            arm::name(self.setting),
            self.via,
            if targets.is_empty() {
                "no destination in the payload".to_string()
            } else {
                targets.join(", ")
            }
        ))
    }
}

/// The enabled log entries, across `settings`, that carry `category`: the category itself, or a
/// category group of `groups` (compared case-insensitively).
pub(super) fn routes<'a>(
    settings: &'a [Value],
    category: &str,
    groups: &[String],
) -> Vec<Route<'a>> {
    let mut out = Vec::new();
    for setting in settings {
        for log in arm::array_at(setting, "properties.logs")
            .into_iter()
            .flatten()
        {
            if arm::bool_at(log, "enabled") != Some(true) {
                continue;
            }
            if let Some(c) = non_empty(log, "category")
                && arm::eq_ci(c, category)
            {
                out.push(Route {
                    setting,
                    via: format!("category {c}"),
                });
            } else if let Some(g) = non_empty(log, "categoryGroup")
                && groups.iter().any(|w| arm::eq_ci(w, g))
            {
                out.push(Route {
                    setting,
                    via: format!("categoryGroup {g}"),
                });
            }
        }
    }
    out
}

/// Enabled category groups outside `groups`, as `group (setting name)`: their content is not
/// verified here, so they may or may not carry a wanted category.
pub(super) fn unlisted_groups(settings: &[Value], groups: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for setting in settings {
        for log in arm::array_at(setting, "properties.logs")
            .into_iter()
            .flatten()
        {
            if arm::bool_at(log, "enabled") != Some(true) {
                continue;
            }
            if let Some(g) = non_empty(log, "categoryGroup")
                && !groups.iter().any(|w| arm::eq_ci(w, g))
            {
                out.push(format!("{g} (setting {})", arm::name(setting)));
            }
        }
    }
    out
}

/// What each setting enables, for evidence when nothing matched.
pub(super) fn enabled_summary(settings: &[Value]) -> Value {
    Value::Array(
        settings
            .iter()
            .map(|s| {
                let enabled: Vec<String> = arm::array_at(s, "properties.logs")
                    .into_iter()
                    .flatten()
                    .filter(|l| arm::bool_at(l, "enabled") == Some(true))
                    .filter_map(|l| {
                        non_empty(l, "category")
                            .map(|c| format!("category {c}"))
                            .or_else(|| non_empty(l, "categoryGroup").map(|g| format!("categoryGroup {g}")))
                    })
                    .collect();
                json!({"setting": arm::id(s), "enabledLogs": enabled, "destinations": destinations(s)})
            })
            .collect(),
    )
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let groups = ctx.param_strings("category_groups");
    for cluster in clusters {
        findings.push(evaluate_cluster(
            check.id(),
            ctx.inventory,
            &groups,
            cluster,
        ));
    }
    findings
}

fn evaluate_cluster(check: &str, inv: &Inventory, groups: &[String], cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let scope = format!("{id}/providers/Microsoft.Insights/diagnosticSettings");
    let settings = match settings_of(inv, id) {
        Ok(settings) => settings,
        Err(reason) => {
            return Finding::new(
                check,
                id,
                Status::Unknown,
                format!("cannot read the cluster's diagnostic settings ({reason})"),
            )
            .evidence(
                Evidence::new(
                    "properties.logs[category=kube-audit-admin|kube-audit].enabled",
                    Value::Null,
                    "true in some diagnostic setting",
                )
                .on(scope)
                .note("the diagnostic settings were not read"),
            );
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
    .on(scope);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_match_categories_and_listed_groups_only_when_enabled() {
        let settings = vec![
            json!({"id": "s1", "name": "s1", "properties": {"workspaceId": "",
            "storageAccountId": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a",
            "logs": [{"category": "KUBE-AUDIT", "enabled": true},
                     {"category": "kube-audit-admin", "enabled": false},
                     {"categoryGroup": "AllLogs", "enabled": true},
                     {"categoryGroup": "audit", "enabled": true}]}}),
        ];
        let groups = vec!["allLogs".to_string()];
        assert_eq!(routes(&settings, "kube-audit", &groups).len(), 2);
        assert_eq!(routes(&settings, "kube-audit-admin", &groups).len(), 1);
        assert_eq!(routes(&settings, "kube-audit-admin", &[]).len(), 0);
        assert!(
            workspace_of(&settings[0]).is_none(),
            "an empty workspaceId is no workspace"
        );
        assert_eq!(destinations(&settings[0]).len(), 1);
        assert_eq!(unlisted_groups(&settings, &groups), ["audit (setting s1)"]);
    }
}
