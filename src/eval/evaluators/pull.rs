//! Pull grants: whether a principal (a cluster's kubelet identity) holds the pull role a
//! registry honours, from the role assignments collected at or above the registry.
//!
//! The pull role depends on the registry's `roleAssignmentMode` (AcrPull on a legacy registry,
//! the `abac_pull_roles` GUIDs on an ABAC one), and a management-group grant whose relation to
//! the registry cannot be placed makes "not granted" unknown. AKS-011, AKS-016 and AKS-017 (and
//! AKS-018 for role names) join clusters and registries through these grants, so the reading and
//! its evidence live here once; each check keeps its own verdict.

use crate::json::Value;
use serde_json::json;

use crate::eval::{EvalContext, Evidence};
use crate::inventory::views::{registry_uses_abac, role_assignment_scope};
use crate::inventory::{Inventory, api, arm};

/// The kubelet identity path on a cluster.
const KUBELET: &str = "properties.identityProfile.kubeletidentity.objectId";

/// Evidence for a cluster's kubelet identity, seen as `kubelet`.
pub(super) fn kubelet_evidence(kubelet: &str, expected: &str) -> Evidence {
    Evidence::new(KUBELET, json!(kubelet), expected)
}

/// Evidence that a cluster has no kubelet identity (it pulls with a service principal).
pub(super) fn no_kubelet_evidence() -> Evidence {
    Evidence::new(KUBELET, Value::Null, "a managed kubelet identity")
}

/// Built-in role names for messages (catalogue §8.3); other GUIDs are shown as they are.
const ROLE_NAMES: [(&str, &str); 5] = [
    ("7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull"),
    (
        "b93aa761-3e63-49ed-ac28-beffa264f7ac",
        "Container Registry Repository Reader",
    ),
    ("8311e382-0749-4cb8-b61a-304f252e45ec", "AcrPush"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
];

/// The pull roles of the two registry modes, from the check's parameters.
pub(super) struct PullRoles {
    pub legacy: Vec<String>,
    pub abac: Vec<String>,
}

impl PullRoles {
    pub fn from_params(ctx: &EvalContext) -> Self {
        PullRoles {
            legacy: ctx.param_strings("pull_roles"),
            abac: ctx.param_strings("abac_pull_roles"),
        }
    }

    /// The roles that grant pull on this registry, given its mode.
    pub fn for_registry(&self, registry: &Value) -> &[String] {
        if registry_uses_abac(registry) {
            &self.abac
        } else {
            &self.legacy
        }
    }
}

/// Whether a principal can pull from a registry, as far as the collected data tells.
pub(super) enum Pull<'a> {
    /// Assignments of the mode-matching pull role covering the registry.
    Granted(Vec<&'a Value>),
    /// The data is complete and holds no such assignment.
    NotGranted,
    /// The data is incomplete: why.
    Unknown(String),
}

/// The mode-matching pull grant of `principal` on `registry`. Positive evidence stands even when
/// the registry's role-assignment read failed; only "not granted" needs the complete list.
pub(super) fn pull<'a>(
    inv: &'a Inventory,
    roles: &PullRoles,
    registry: &Value,
    principal: &str,
) -> Pull<'a> {
    let id = arm::id(registry);
    let grants = inv.role_grants(id, roles.for_registry(registry), Some(principal));
    if !grants.covering.is_empty() {
        return Pull::Granted(grants.covering);
    }
    if let Some(reason) = inv
        .read_state(id, api::ROLE_ASSIGNMENTS)
        .missing_reason(id, api::ROLE_ASSIGNMENTS)
    {
        return Pull::Unknown(format!("registry {}: {reason}", arm::name(registry)));
    }
    if !grants.undetermined.is_empty() {
        return Pull::Unknown(undetermined_reason(registry, &grants.undetermined));
    }
    Pull::NotGranted
}

/// Why management-group grants cannot be placed relative to a registry.
pub(super) fn undetermined_reason(registry: &Value, assignments: &[&Value]) -> String {
    let scopes: Vec<&str> = assignments
        .iter()
        .filter_map(|a| role_assignment_scope(a))
        .collect();
    format!(
        "registry {}: the management-group ancestry of its subscription was not read, so grants at {} may or may not cover it",
        arm::name(registry),
        scopes.join(", ")
    )
}

/// The name of a built-in role, or the GUID as it is.
pub(super) fn role_name(guid: &str) -> String {
    ROLE_NAMES
        .iter()
        .find(|(g, _)| arm::eq_ci(g, guid))
        .map_or_else(|| guid.to_string(), |(_, n)| n.to_string())
}

/// The role an assignment grants, by name where known.
pub(super) fn role_of(assignment: &Value) -> String {
    role_name(crate::inventory::views::role_definition_guid(assignment).unwrap_or_default())
}

/// Evidence for one role assignment covering a registry.
pub(super) fn grant_evidence(assignment: &Value, registry: &Value, expected: &str) -> Evidence {
    let scope = role_assignment_scope(assignment).unwrap_or_default();
    Evidence::new(
        "properties.roleDefinitionId",
        arm::path(assignment, "properties.roleDefinitionId")
            .cloned()
            .unwrap_or(Value::Null),
        expected,
    )
    .on(arm::id(assignment))
    .note(format!(
        "{} at scope {scope} covers registry {} ({})",
        role_of(assignment),
        arm::name(registry),
        mode_of(registry)
    ))
}

/// Evidence for a mode-matching pull grant. On an ABAC registry the grant was recognised by the
/// Repository Reader GUID, which is unverified (catalogue U), and the note says so.
pub(super) fn pull_evidence(assignment: &Value, registry: &Value, expected: &str) -> Evidence {
    let item = grant_evidence(assignment, registry, expected);
    if !registry_uses_abac(registry) {
        return item;
    }
    let note = item.note.clone().unwrap_or_default();
    item.note(format!("{note}; {ABAC_GUID_NOTE}"))
}

/// What an ABAC verdict rests on (catalogue U).
pub(super) const ABAC_GUID_NOTE: &str = "on ABAC registries the pull role is recognised by the abac_pull_roles GUIDs, whose default (Container Registry Repository Reader, b93aa761-3e63-49ed-ac28-beffa264f7ac) is unverified (catalogue U)";

/// The permission mode of a registry, for notes.
pub(super) fn mode_of(registry: &Value) -> &'static str {
    if registry_uses_abac(registry) {
        "ABAC repository permissions"
    } else {
        "legacy registry permissions"
    }
}
