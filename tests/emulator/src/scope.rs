//! ARM resource-ID arithmetic: normalising paths, walking segment prefixes, and naming the
//! management-group and subscription a path sits in. ARM compares IDs case-insensitively and
//! nests scopes purely by path, so every "is this at, above or below that" question in the
//! emulator reduces to the helpers here. They work on *normalised* keys (lower case, one
//! leading slash, no trailing slash, `/` for the root) and never look at the tenant; the
//! management-group hierarchy that links a subscription to its groups lives in `tenant`.

/// Path of the management-group provider, lower-cased, used to recognise MG scopes.
pub(crate) const MG_PREFIX: &str = "/providers/microsoft.management/managementgroups/";

/// Lower-cases a path and gives it exactly one leading and no trailing slash, so that IDs
/// from fixtures and from request paths compare byte-for-byte.
pub(crate) fn normalize(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", trimmed.to_ascii_lowercase())
    }
}

/// Trims slashes without changing case, for echoing a path back in messages and scopes.
pub(crate) fn tidy(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
}

/// The non-empty segments of a path.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether `inner` is `outer` or lies below it at a segment boundary (so `/a/bc` is not
/// below `/a/b`). Both are normalised keys; the root `/` contains everything.
pub(crate) fn is_within(inner: &str, outer: &str) -> bool {
    outer == "/"
        || inner == outer
        || (inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes().get(outer.len()) == Some(&b'/'))
}

/// Every prefix of a normalised key that ends at a segment boundary, longest first, the key
/// itself included and the root excluded. Intermediate collection prefixes such as
/// `/subscriptions/s/resourcegroups` are included too: nothing is ever stored at them, so
/// they are harmless where the caller only matches stored scopes.
pub(crate) fn segment_prefixes(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = key;
    while current != "/" && !current.is_empty() {
        out.push(current.to_string());
        match current.rfind('/') {
            Some(0) | None => break,
            Some(i) => current = &current[..i],
        }
    }
    out
}

/// The display-cased ARM ID of a management group.
pub(crate) fn mg_id(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

/// The management-group name a normalised key starts with, if it is an MG scope or below one.
pub(crate) fn mg_name_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(MG_PREFIX)?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// The subscription GUID a normalised key starts with, if it is a subscription scope or
/// below one.
pub(crate) fn subscription_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("/subscriptions/")?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// The scope an extension-style ID hangs off: everything before its last `/providers/`
/// segment (`/` when the ID starts with it). Role and policy assignments, exemptions and
/// Defender pricings are all named `{scope}/providers/{ns}/{type}/{name}`.
pub(crate) fn extension_scope(key: &str) -> String {
    match key.rfind("/providers/") {
        Some(0) | None => "/".to_string(),
        Some(i) => key[..i].to_string(),
    }
}

/// Index of the last `providers` segment that is followed by a namespace, if any.
fn last_provider_index(segs: &[&str]) -> Option<usize> {
    (0..segs.len().saturating_sub(1))
        .rev()
        .find(|&i| segs[i].eq_ignore_ascii_case("providers"))
}

/// Whether a path names a collection (`…/registries`, `…/registries/r/tokens`) rather than
/// one object: below `/providers/{ns}` ARM alternates type and name segments, and above it
/// the same alternation starts at `subscriptions`.
pub(crate) fn is_collection(segs: &[&str]) -> bool {
    match last_provider_index(segs) {
        Some(i) => (segs.len() - i - 2) % 2 == 1,
        None => segs.len() % 2 == 1,
    }
}

/// The resource type a path names, spelled as in the path: `{ns}/{type}[/{child}…]` from the
/// last `/providers/{ns}` on, or `Microsoft.Resources/{type}` for paths without a provider.
pub(crate) fn type_of(segs: &[&str]) -> Option<String> {
    match last_provider_index(segs) {
        Some(i) => {
            let types: Vec<&str> = segs[i + 2..].iter().step_by(2).copied().collect();
            if types.is_empty() {
                None
            } else {
                Some(format!("{}/{}", segs[i + 1], types.join("/")))
            }
        }
        None => {
            let last_type = segs.iter().step_by(2).next_back()?;
            Some(format!("Microsoft.Resources/{last_type}"))
        }
    }
}

/// Decodes `%XX` escapes in a URL path. Invalid escapes are kept as written and invalid
/// UTF-8 is replaced, because a malformed path must still get an ARM error, not a panic.
pub(crate) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_and_slashes() {
        assert_eq!(normalize("/Subscriptions/ABC/"), "/subscriptions/abc");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("subscriptions/x"), "/subscriptions/x");
        assert_eq!(tidy("subscriptions/X/"), "/subscriptions/X");
    }

    #[test]
    fn within_respects_segment_boundaries() {
        assert!(is_within(
            "/subscriptions/a/resourcegroups/rg1",
            "/subscriptions/a"
        ));
        assert!(is_within("/subscriptions/a", "/subscriptions/a"));
        assert!(!is_within("/subscriptions/ab", "/subscriptions/a"));
        assert!(!is_within(
            "/subscriptions/a",
            "/subscriptions/a/resourcegroups"
        ));
        assert!(is_within("/anything", "/"));
    }

    #[test]
    fn prefixes_walk_up_to_but_not_including_root() {
        assert_eq!(
            segment_prefixes("/subscriptions/s/resourcegroups/rg"),
            vec![
                "/subscriptions/s/resourcegroups/rg",
                "/subscriptions/s/resourcegroups",
                "/subscriptions/s",
                "/subscriptions",
            ]
        );
        assert!(segment_prefixes("/").is_empty());
    }

    #[test]
    fn recognises_mg_and_subscription_scopes() {
        assert_eq!(
            mg_name_of("/providers/microsoft.management/managementgroups/corp/providers/x"),
            Some("corp")
        );
        assert_eq!(mg_name_of("/subscriptions/s"), None);
        assert_eq!(
            subscription_of("/subscriptions/s/resourcegroups/r"),
            Some("s")
        );
        assert_eq!(subscription_of("/subscriptions"), None);
    }

    #[test]
    fn extension_scope_strips_last_provider() {
        assert_eq!(
            extension_scope(
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/v/providers/microsoft.security/pricings/virtualmachines"
            ),
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/v"
        );
        assert_eq!(
            extension_scope("/providers/microsoft.authorization/roleassignments/x"),
            "/"
        );
    }

    #[test]
    fn collections_and_types() {
        let list = segments("/subscriptions/s/providers/Microsoft.ContainerRegistry/registries");
        assert!(is_collection(&list));
        assert_eq!(
            type_of(&list).as_deref(),
            Some("Microsoft.ContainerRegistry/registries")
        );
        let child = segments(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/tokens",
        );
        assert!(is_collection(&child));
        assert_eq!(
            type_of(&child).as_deref(),
            Some("Microsoft.ContainerRegistry/registries/tokens")
        );
        let one = segments(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        );
        assert!(!is_collection(&one));
        assert!(!is_collection(&segments(
            "/subscriptions/s/resourceGroups/rg"
        )));
        assert!(is_collection(&segments("/subscriptions/s/resourceGroups")));
        assert_eq!(
            type_of(&segments("/subscriptions/s/resourceGroups")).as_deref(),
            Some("Microsoft.Resources/resourceGroups")
        );
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("/a%20b"), "/a b");
        assert_eq!(percent_decode("/a%2"), "/a%2");
        assert_eq!(percent_decode("/a%zz"), "/a%zz");
    }
}
