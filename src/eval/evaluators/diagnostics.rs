//! Diagnostic settings read at a resource
//! (`GET {resource}/providers/Microsoft.Insights/diagnosticSettings`): finding them, the enabled
//! log entries that route a wanted category (by name or through a listed category group), the
//! enabled groups whose content is not verified, and where a setting sends its logs.
//!
//! AKS-019 (registry events) and AKS-031 (the cluster's audit log) read settings with the same
//! rules, including that an empty destination (`""`, as ARM returns it) is no destination; each
//! check keeps its own verdict.

use crate::json::Value;
use serde_json::json;

use crate::eval::Evidence;
use crate::inventory::{Inventory, api, arm};

/// Where a resource's diagnostic settings are read.
pub(super) fn scope(resource_id: &str) -> String {
    format!("{resource_id}/providers/Microsoft.Insights/diagnosticSettings")
}

/// Evidence that the diagnostic settings of `resource_id` were not read.
pub(super) fn not_read_evidence(resource_id: &str, property: &str, expected: &str) -> Evidence {
    Evidence::new(property, Value::Null, expected)
        .on(scope(resource_id))
        .note("the diagnostic settings were not read")
}

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

/// The enabled log entries of `settings`, each with its setting, in order.
fn enabled_logs(settings: &[Value]) -> impl Iterator<Item = (&Value, &Value)> {
    settings.iter().flat_map(|setting| {
        arm::array_at(setting, "properties.logs")
            .into_iter()
            .flatten()
            .filter(|log| arm::bool_at(log, "enabled") == Some(true))
            .map(move |log| (setting, log))
    })
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
    for (setting, log) in enabled_logs(settings) {
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
    out
}

/// Enabled category groups outside `groups`, as `group (setting name)`: their content is not
/// verified here, so they may or may not carry a wanted category.
pub(super) fn unlisted_groups(settings: &[Value], groups: &[String]) -> Vec<String> {
    enabled_logs(settings)
        .filter_map(|(setting, log)| {
            non_empty(log, "categoryGroup")
                .filter(|g| !groups.iter().any(|w| arm::eq_ci(w, g)))
                .map(|g| format!("{g} (setting {})", arm::name(setting)))
        })
        .collect()
}

/// What each setting enables, for evidence when nothing matched.
pub(super) fn enabled_summary(settings: &[Value]) -> serde_json::Value {
    serde_json::Value::Array(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

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
