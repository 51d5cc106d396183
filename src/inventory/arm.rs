//! Reading raw ARM JSON the way ARM actually spells it.
//!
//! ARM is inconsistent about casing: `type` arrives as `managedClusters` or `ManagedClusters`,
//! add-on keys as `azurepolicy` or `azurePolicy`, enum values as `Disabled` or `disabled`, and
//! IDs in whatever casing the caller used when the resource was created. Every comparison the
//! auditor makes therefore goes through this module, so no check or collector can forget it.

use crate::json;

/// What reading ARM JSON needs of a tree: the inventory's [`json::Value`] and, in collection,
/// the `serde_json::Value`s of pages not yet stored are read through the same functions.
pub trait Node: Sized + Tree<Node = Self> {
    /// The value under `name` spelled exactly, and every (key, value) pair for the fallback.
    fn exact(&self, name: &str) -> Option<&Self>;
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
    fn is_null(&self) -> bool;
    fn as_str(&self) -> Option<&str>;
    fn as_bool(&self) -> Option<bool>;
    fn as_array(&self) -> Option<&[Self]>;
}

impl Node for json::Value {
    fn exact(&self, name: &str) -> Option<&Self> {
        self.get(name)
    }
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        Some(self.as_object()?.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn is_null(&self) -> bool {
        json::Value::is_null(self)
    }
    fn as_str(&self) -> Option<&str> {
        json::Value::as_str(self)
    }
    fn as_bool(&self) -> Option<bool> {
        json::Value::as_bool(self)
    }
    fn as_array(&self) -> Option<&[Self]> {
        json::Value::as_array(self)
    }
}

/// A node or a reference to one, so that `arm::id(&item)` reads the same whether `item` is a
/// value or a reference (generic functions get no auto-deref).
pub trait Tree {
    type Node: Node;
    fn node(&self) -> &Self::Node;
}

impl Tree for json::Value {
    type Node = json::Value;
    fn node(&self) -> &json::Value {
        self
    }
}

impl Tree for serde_json::Value {
    type Node = serde_json::Value;
    fn node(&self) -> &serde_json::Value {
        self
    }
}

impl<T: Tree + ?Sized> Tree for &T {
    type Node = T::Node;
    fn node(&self) -> &T::Node {
        (**self).node()
    }
}

impl Node for serde_json::Value {
    fn exact(&self, name: &str) -> Option<&Self> {
        self.as_object()?.get(name)
    }
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        Some(self.as_object()?.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn is_null(&self) -> bool {
        serde_json::Value::is_null(self)
    }
    fn as_str(&self) -> Option<&str> {
        serde_json::Value::as_str(self)
    }
    fn as_bool(&self) -> Option<bool> {
        serde_json::Value::as_bool(self)
    }
    fn as_array(&self) -> Option<&[Self]> {
        serde_json::Value::as_array(self).map(Vec::as_slice)
    }
}

/// Looks up one object key, preferring an exact match and falling back to a case-insensitive one.
pub fn key<'a, V: Tree + ?Sized>(value: &'a V, name: &str) -> Option<&'a V::Node> {
    let value = value.node();
    value.exact(name).or_else(|| {
        value
            .entries()?
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Follows a dotted path (`properties.aadProfile.enableAzureRBAC`) case-insensitively.
/// A JSON `null` along the way reads as absent, because ARM uses `null` and omission alike
/// for "not set" (for example `adminGroupObjectIDs: null`).
pub fn path<'a, V: Tree + ?Sized>(value: &'a V, dotted: &str) -> Option<&'a V::Node> {
    let mut current = value.node();
    for segment in dotted.split('.') {
        current = key(current, segment)?;
        if current.is_null() {
            return None;
        }
    }
    Some(current)
}

/// A string property, if present and a string.
pub fn str_at<'a, V: Tree + ?Sized>(value: &'a V, dotted: &str) -> Option<&'a str> {
    path(value, dotted).and_then(Node::as_str)
}

/// A boolean property. ARM sometimes serialises booleans as strings (`"true"`, `"True"`), notably
/// in add-on `config` maps and Defender extension flags, so both spellings are accepted.
pub fn bool_at<V: Tree + ?Sized>(value: &V, dotted: &str) -> Option<bool> {
    let found = path(value, dotted)?;
    found.as_bool().or_else(|| match found.as_str() {
        Some(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// An array property; `null` and absence both read as `None`.
pub fn array_at<'a, V: Tree + ?Sized>(value: &'a V, dotted: &str) -> Option<&'a [V::Node]> {
    path(value, dotted).and_then(Node::as_array)
}

/// Case-insensitive string equality, the only way enum values and IDs are compared.
pub fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The resource's `id`.
pub fn id<V: Tree + ?Sized>(value: &V) -> &str {
    str_at(value, "id").unwrap_or_default()
}

/// The resource's `name`.
pub fn name<V: Tree + ?Sized>(value: &V) -> &str {
    str_at(value, "name").unwrap_or_default()
}

/// Whether the resource's `type` is `wanted`, ignoring case.
pub fn is_type<V: Tree + ?Sized>(value: &V, wanted: &str) -> bool {
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
