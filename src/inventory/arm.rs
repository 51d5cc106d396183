//! Reading raw ARM JSON the way ARM actually spells it.
//!
//! ARM is inconsistent about casing: `type` arrives as `managedClusters` or `ManagedClusters`,
//! add-on keys as `azurepolicy` or `azurePolicy`, enum values as `Disabled` or `disabled`, and
//! IDs in whatever casing the caller used when the resource was created. Every comparison the
//! auditor makes therefore goes through this module, so no check or collector can forget it.

use serde_json::Value;

/// Looks up one object key, preferring an exact match and falling back to a case-insensitive one.
pub fn key<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Follows a dotted path (`properties.aadProfile.enableAzureRBAC`) case-insensitively.
/// A JSON `null` along the way reads as absent, because ARM uses `null` and omission alike
/// for "not set" (for example `adminGroupObjectIDs: null`).
pub fn path<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in dotted.split('.') {
        current = key(current, segment)?;
        if current.is_null() {
            return None;
        }
    }
    Some(current)
}

/// A string property, if present and a string.
pub fn str_at<'a>(value: &'a Value, dotted: &str) -> Option<&'a str> {
    path(value, dotted).and_then(Value::as_str)
}

/// A boolean property. ARM sometimes serialises booleans as strings (`"true"`, `"True"`), notably
/// in add-on `config` maps and Defender extension flags, so both spellings are accepted.
pub fn bool_at(value: &Value, dotted: &str) -> Option<bool> {
    match path(value, dotted)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An array property; `null` and absence both read as `None`.
pub fn array_at<'a>(value: &'a Value, dotted: &str) -> Option<&'a Vec<Value>> {
    path(value, dotted).and_then(Value::as_array)
}

/// Case-insensitive string equality, the only way enum values and IDs are compared.
pub fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The resource's `id`.
pub fn id(value: &Value) -> &str {
    str_at(value, "id").unwrap_or_default()
}

/// The resource's `name`.
pub fn name(value: &Value) -> &str {
    str_at(value, "name").unwrap_or_default()
}

/// Whether the resource's `type` is `wanted`, ignoring case.
pub fn is_type(value: &Value, wanted: &str) -> bool {
    str_at(value, "type").is_some_and(|t| eq_ci(t, wanted))
}

/// Whether `prefix` is `id` itself or an ancestor of it, at a path-segment boundary.
pub fn is_scope_prefix(prefix: &str, id: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    id.len() >= prefix.len()
        && id.is_char_boundary(prefix.len())
        && eq_ci(&id[..prefix.len()], prefix)
        && (id.len() == prefix.len() || id.as_bytes()[prefix.len()] == b'/')
}

/// The subscription GUID of an ARM ID (`/subscriptions/{guid}/...`), lower-cased.
pub fn subscription_of(id: &str) -> Option<String> {
    let mut parts = id.split('/').filter(|s| !s.is_empty());
    while let Some(part) = parts.next() {
        if eq_ci(part, "subscriptions") {
            return parts.next().map(str::to_ascii_lowercase);
        }
    }
    None
}

/// The resource group name of an ARM ID, as spelled in the ID.
pub fn resource_group_of(id: &str) -> Option<&str> {
    let mut parts = id.split('/').filter(|s| !s.is_empty());
    while let Some(part) = parts.next() {
        if eq_ci(part, "resourceGroups") {
            return parts.next();
        }
    }
    None
}

/// The resource group ID (`/subscriptions/{s}/resourceGroups/{rg}`) containing a resource.
pub fn resource_group_id_of(id: &str) -> Option<String> {
    let sub = subscription_of(id)?;
    let rg = resource_group_of(id)?;
    Some(format!("/subscriptions/{sub}/resourceGroups/{rg}"))
}

/// The last path segment, used to match role and policy definition IDs by GUID whatever their
/// scope prefix (`/providers/...` in examples, `/subscriptions/{s}/providers/...` in real tenants).
pub fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The management-group name of an MG ID (`/providers/Microsoft.Management/managementGroups/{name}`).
pub fn management_group_name(id: &str) -> Option<&str> {
    let marker = "/providers/microsoft.management/managementgroups/";
    let start = find_ci(id, marker)? + marker.len();
    let rest = &id[start..];
    Some(rest.split('/').next().unwrap_or(rest)).filter(|s| !s.is_empty())
}

/// The byte offset of the first ASCII-case-insensitive occurrence of `needle_lower` (given in
/// lower case) in `haystack`. ID parsing runs for every assignment and target in a tenant of a
/// thousand subscriptions: this finds a marker without a lower-cased copy of the ID.
pub fn find_ci(haystack: &str, needle_lower: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The canonical ARM ID of a management group.
pub fn management_group_id(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markers_are_found_in_any_casing() {
        let id = "/providers/Microsoft.Management/managementGroups/Corp";
        assert_eq!(find_ci(id, "/managementgroups/"), Some(31));
        assert_eq!(find_ci(id, "/subscriptions/"), None);
        assert_eq!(find_ci("ab", "abc"), None);
        assert_eq!(find_ci("", ""), Some(0));
        assert_eq!(management_group_name(id), Some("Corp"));
        assert_eq!(
            management_group_name("/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/x/"),
            Some("x")
        );
        assert_eq!(management_group_name("/subscriptions/s"), None);
    }

    #[test]
    fn paths_are_case_insensitive_and_null_is_absent() {
        let v = json!({"properties": {"addonProfiles": {"azurePolicy": {"enabled": true}},
                                      "aadProfile": {"adminGroupObjectIDs": null}}});
        assert_eq!(
            bool_at(&v, "properties.addonProfiles.azurepolicy.enabled"),
            Some(true)
        );
        assert!(path(&v, "properties.aadProfile.adminGroupObjectIDs").is_none());
        assert!(path(&v, "properties.missing.deeper").is_none());
    }

    #[test]
    fn string_booleans_are_read() {
        let v = json!({"config": {"enableSecretRotation": "True", "x": "false", "y": "2m"}});
        assert_eq!(bool_at(&v, "config.enableSecretRotation"), Some(true));
        assert_eq!(bool_at(&v, "config.x"), Some(false));
        assert_eq!(bool_at(&v, "config.y"), None);
    }

    #[test]
    fn scope_prefix_respects_segments_and_case() {
        let id = "/subscriptions/AAA/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/r";
        assert!(is_scope_prefix("/subscriptions/aaa", id));
        assert!(is_scope_prefix("/subscriptions/aaa/resourcegroups/RG1", id));
        assert!(!is_scope_prefix("/subscriptions/aaa/resourceGroups/rg", id));
        assert!(is_scope_prefix("/", id));
        assert!(is_scope_prefix(id, id));
    }

    #[test]
    fn id_parts() {
        let id = "/subscriptions/ABC/resourceGroups/rg-Net/providers/X/y/z";
        assert_eq!(subscription_of(id).as_deref(), Some("abc"));
        assert_eq!(resource_group_of(id), Some("rg-Net"));
        assert_eq!(
            last_segment(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/7F951DDA"
            ),
            "7F951DDA"
        );
        assert_eq!(
            management_group_name("/providers/Microsoft.Management/managementGroups/corp"),
            Some("corp")
        );
    }
}
