//! Which subscriptions are audited, and where they sit in the management-group tree.
//!
//! The scope is every subscription the identity can list, the `--subscription` IDs, or the
//! subscriptions below `--management-group NAME` (intersected with `--subscription` when both
//! are given). Subscriptions whose `state` is not `Enabled` are skipped with the reason. The
//! hierarchy comes from the tenant root group's descendants; when that is denied but a
//! management group was named, the chain above it comes from `GET managementGroups/{NAME}
//! ?$expand=path` (management groups swagger 2023-04-01: "$expand=path includes the path from
//! the root group to the current group"; example `GetManagementGroupWithPath.json`). A chain
//! is stored only when it reaches the tenant root group; anything less is `None`, never a
//! partial chain passed off as complete.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{
    Inventory, ManagementGroup, RequestedScope, SkippedSubscription, Subscription, api, arm,
};

/// Coverage name of `GET managementGroups/{name}`, used only to find the chain above
/// `--management-group` when the root group's descendants cannot be read.
pub const MANAGEMENT_GROUPS_API: &str = crate::inventory::api::MANAGEMENT_GROUPS;

/// Longest parent chain followed in a descendants listing: Azure allows six levels below the
/// root; anything longer is a cycle in what the service returned.
const MAX_DEPTH: usize = 16;

/// A subscription as `GET /subscriptions` describes it.
#[derive(Debug, Clone)]
struct Candidate {
    id: String,
    guid: String,
    display_name: String,
    state: String,
    tenant_id: Option<String>,
}

impl Candidate {
    fn from_arm(value: &Value) -> Option<Candidate> {
        let guid = arm::str_at(value, "subscriptionId")
            .map(str::to_string)
            .or_else(|| arm::subscription_of(arm::id(value)))?
            .to_ascii_lowercase();
        Some(Candidate {
            id: format!("/subscriptions/{guid}"),
            display_name: arm::str_at(value, "displayName")
                .unwrap_or(&guid)
                .to_string(),
            state: arm::str_at(value, "state").unwrap_or("Unknown").to_string(),
            tenant_id: arm::str_at(value, "tenantId").map(str::to_string),
            guid,
        })
    }
}

/// `/subscriptions/{id}` or a bare GUID, lower-cased.
fn normalise_subscription_id(raw: &str) -> String {
    arm::subscription_of(raw).unwrap_or_else(|| raw.trim().trim_matches('/').to_ascii_lowercase())
}

/// Resolves the scope into `subscriptions`, `skipped_subscriptions`, `tenant_id` and the
/// hierarchy (`management_groups`, each subscription's ancestors).
pub(super) async fn resolve(ctx: &Ctx<'_>, requested: &RequestedScope) -> Result<(), CollectError> {
    let mut wanted: Vec<String> = Vec::new();
    for raw in &requested.subscriptions {
        let id = normalise_subscription_id(raw);
        if !id.is_empty() && !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    let group = requested
        .management_group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty());

    let mut candidates: Vec<Candidate> = Vec::new();
    let mut skipped: Vec<SkippedSubscription> = Vec::new();
    let mut group_rows: Option<Vec<Value>> = None;

    // The tenant root group's descendants (the hierarchy every policy and archetype question
    // is decided on) do not depend on the scope's answer when the tenant is known from
    // sign-in: read them at the same time instead of after it.
    let known_tenant = ctx.client.tenant().map(str::to_string);
    let early_root = async {
        match (&known_tenant, ctx.plan.wants_hierarchy()) {
            (Some(tenant), true) if !group.is_some_and(|g| arm::eq_ci(g, tenant)) => {
                Ok(Some(root_descendants(ctx, tenant).await?))
            }
            _ => Ok::<_, CollectError>(None),
        }
    };

    let early_root = match group {
        None if !wanted.is_empty() => {
            let (found, early_root) = futures::join!(
                futures::future::try_join_all(wanted.iter().map(|g| get_subscription(ctx, g))),
                early_root
            );
            candidates.extend(found?.into_iter().flatten());
            early_root?
        }
        None => {
            let url = route::subscriptions(ctx.base());
            let listing = ctx.discover(
                url,
                "/",
                api::SUBSCRIPTIONS,
                "listing the subscriptions this identity can read",
            );
            let (items, early_root) = futures::join!(listing, early_root);
            candidates.extend(items?.iter().filter_map(Candidate::from_arm));
            early_root?
        }
        Some(name) => {
            let url = route::management_group_descendants(ctx.base(), name);
            let mg_id = arm::management_group_id(name);
            let call = format!("listing the descendants of management group '{name}'");
            // The subscription list gives names and states; when it fails, each subscription
            // under the group is read by itself below, so its failure is not fatal.
            let listing = async {
                let url = route::subscriptions(ctx.base());
                ctx.list_in(url, "/", api::SUBSCRIPTIONS, true).await
            };
            let (rows, listed, early_root) = futures::join!(
                ctx.discover(url, &mg_id, api::MG_DESCENDANTS, &call),
                listing,
                early_root
            );
            let rows = rows?;
            let listed: HashMap<String, Candidate> = listed?
                .unwrap_or_default()
                .iter()
                .filter_map(Candidate::from_arm)
                .map(|c| (c.guid.clone(), c))
                .collect();
            let under: Vec<String> = Tree::from_rows(&rows).subscriptions();
            let unlisted: Vec<&String> = under
                .iter()
                .filter(|g| wanted.is_empty() || wanted.contains(g))
                .filter(|g| !listed.contains_key(*g))
                .collect();
            let fetched: HashMap<String, Candidate> =
                futures::future::try_join_all(unlisted.iter().map(|g| get_subscription(ctx, g)))
                    .await?
                    .into_iter()
                    .flatten()
                    .map(|c| (c.guid.clone(), c))
                    .collect();
            for guid in &under {
                if !wanted.is_empty() && !wanted.contains(guid) {
                    continue;
                }
                if let Some(c) = listed.get(guid).or_else(|| fetched.get(guid)) {
                    candidates.push(c.clone());
                }
            }
            let under_set: HashSet<&String> = under.iter().collect();
            for guid in wanted.iter().filter(|g| !under_set.contains(g)) {
                skipped.push(SkippedSubscription {
                    id: format!("/subscriptions/{guid}"),
                    display_name: guid.clone(),
                    state: "Unknown".into(),
                    reason: format!("not under management group '{name}'"),
                });
            }
            group_rows = Some(rows);
            early_root?
        }
    };
    // A subscription listed twice (pages that shifted) is audited once.
    let mut seen = HashSet::new();
    candidates.retain(|c| seen.insert(c.guid.clone()));

    let tenant_id = ctx
        .client
        .tenant()
        .map(str::to_string)
        .or_else(|| most_common_tenant(&candidates));

    let mut subscriptions = Vec::new();
    for c in candidates {
        if c.state.eq_ignore_ascii_case("Enabled") {
            subscriptions.push(Subscription {
                id: c.id,
                subscription_id: c.guid,
                display_name: c.display_name,
                state: c.state,
                management_group_ancestors: None,
            });
        } else {
            skipped.push(SkippedSubscription {
                reason: format!(
                    "state is '{}': only Enabled subscriptions are audited",
                    c.state
                ),
                id: c.id,
                display_name: c.display_name,
                state: c.state,
            });
        }
    }

    let mut groups: Vec<ManagementGroup> = Vec::new();
    if ctx.plan.wants_hierarchy() {
        hierarchy(
            ctx,
            tenant_id.as_deref(),
            group,
            group_rows.as_deref(),
            early_root,
            &mut subscriptions,
            &mut groups,
        )
        .await?;
    } else if let Some(rows) = &group_rows {
        groups = Tree::from_rows(rows).groups(None);
    }

    ctx.update(|inv| {
        inv.tenant_id = tenant_id;
        inv.subscriptions = subscriptions;
        inv.skipped_subscriptions = skipped;
        let mut seen = std::collections::HashSet::new();
        groups.retain(|g| seen.insert(g.name.to_ascii_lowercase()));
        inv.management_groups = groups;
    });
    Ok(())
}

/// Why the resolved scope cannot be audited: it holds no `Enabled` subscription the identity
/// could read. `None` when at least one subscription is audited. An audit of nothing would
/// report no findings and no gaps, which a pipeline cannot tell from a clean tenant.
pub fn empty_scope(inventory: &Inventory) -> Option<CollectError> {
    if !inventory.subscriptions.is_empty() {
        return None;
    }
    let scope = &inventory.scope;
    let mut message = match (&scope.management_group, scope.subscriptions.is_empty()) {
        (Some(group), _) => format!(
            "management group '{group}' holds no Enabled subscription this identity can read"
        ),
        (None, false) => {
            "none of the requested subscriptions is Enabled and readable by this identity"
                .to_string()
        }
        (None, true) => "this identity can list no Enabled subscription".to_string(),
    };
    let mut reasons: Vec<String> = inventory
        .skipped_subscriptions
        .iter()
        .map(|s| format!("{} ({}): {}", s.display_name, s.id, s.reason))
        .collect();
    reasons.extend(
        inventory
            .gaps()
            .filter(|r| arm::eq_ci(&r.api, api::SUBSCRIPTIONS))
            .map(|r| r.describe()),
    );
    if !reasons.is_empty() {
        message.push_str(": ");
        message.push_str(&reasons.join("; "));
    }
    Some(CollectError::EmptyScope(message))
}

/// `GET /subscriptions/{id}`; a failure is recorded against that subscription.
async fn get_subscription(ctx: &Ctx<'_>, guid: &str) -> Result<Option<Candidate>, CollectError> {
    let url = route::subscription(ctx.base(), guid);
    let scope = format!("/subscriptions/{guid}");
    Ok(ctx
        .get_in(url, &scope, api::SUBSCRIPTIONS, true)
        .await?
        .and_then(|v| Candidate::from_arm(&v)))
}

/// The tenant most subscriptions belong to (ties go to the smallest ID, for determinism).
fn most_common_tenant(candidates: &[Candidate]) -> Option<String> {
    let mut counts: HashMap<String, (usize, String)> = HashMap::new();
    for t in candidates.iter().filter_map(|c| c.tenant_id.as_deref()) {
        counts
            .entry(t.to_ascii_lowercase())
            .or_insert((0, t.to_string()))
            .0 += 1;
    }
    counts
        .into_iter()
        .max_by(|(ka, (na, _)), (kb, (nb, _))| na.cmp(nb).then_with(|| kb.cmp(ka)))
        .map(|(_, (_, spelled))| spelled)
}

/// The tenant root group's descendants; `None` when the read failed (and was recorded).
async fn root_descendants(ctx: &Ctx<'_>, tenant: &str) -> Result<Option<Vec<Value>>, CollectError> {
    let url = route::management_group_descendants(ctx.base(), tenant);
    let root_id = arm::management_group_id(tenant);
    ctx.list(url, &root_id, api::MG_DESCENDANTS).await
}

/// Reads the hierarchy and fills each subscription's ancestor chain and the group list.
/// `early_root` holds the root group's descendants when they were read with the scope.
async fn hierarchy(
    ctx: &Ctx<'_>,
    tenant_id: Option<&str>,
    group: Option<&str>,
    group_rows: Option<&[Value]>,
    early_root: Option<Option<Vec<Value>>>,
    subscriptions: &mut [Subscription],
    groups: &mut Vec<ManagementGroup>,
) -> Result<(), CollectError> {
    let Some(tenant) = tenant_id else {
        // Without a tenant ID the root group cannot even be named.
        if let Some(rows) = group_rows {
            *groups = Tree::from_rows(rows).groups(None);
        }
        return Ok(());
    };
    let root_rows = match (group, group_rows, early_root) {
        (Some(name), Some(rows), _) if arm::eq_ci(name, tenant) => Some(rows.to_vec()),
        (_, _, Some(rows)) => rows,
        _ => root_descendants(ctx, tenant).await?,
    };

    if let Some(rows) = root_rows {
        let tree = Tree::from_rows(&rows);
        for sub in subscriptions.iter_mut() {
            sub.management_group_ancestors = tree.chain(&sub.subscription_id, tenant, Some(&[]));
        }
        groups.push(ManagementGroup {
            name: tenant.to_string(),
            display_name: None,
            parent: None,
        });
        groups.extend(tree.groups(Some(tenant)));
        return Ok(());
    }

    // The root group's descendants are unreadable: only a named group's subtree is known,
    // and the chain above it must be asked for separately.
    let (Some(name), Some(rows)) = (group, group_rows) else {
        return Ok(());
    };
    let tree = Tree::from_rows(rows);
    let above = ancestors_of(ctx, name, tenant).await?;
    for sub in subscriptions.iter_mut() {
        sub.management_group_ancestors = above
            .as_ref()
            .and_then(|above| tree.chain(&sub.subscription_id, name, Some(&above.chain)));
    }
    groups.extend(tree.groups(Some(name)));
    match &above {
        Some(above) => {
            groups.push(ManagementGroup {
                name: name.to_string(),
                display_name: above.display_name.clone(),
                parent: above.chain.first().cloned(),
            });
            for (i, ancestor) in above.chain.iter().enumerate() {
                groups.push(ManagementGroup {
                    name: ancestor.clone(),
                    display_name: above.display_names.get(i).cloned().flatten(),
                    parent: above.chain.get(i + 1).cloned(),
                });
            }
        }
        None => groups.push(ManagementGroup {
            name: name.to_string(),
            display_name: None,
            parent: None,
        }),
    }
    Ok(())
}

/// The groups above a management group, nearest first, ending at the tenant root group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ancestors {
    chain: Vec<String>,
    display_names: Vec<Option<String>>,
    /// The group's own display name.
    display_name: Option<String>,
}

/// Finds the complete chain above `name`, or `None` when it cannot be read to the root.
async fn ancestors_of(
    ctx: &Ctx<'_>,
    name: &str,
    tenant: &str,
) -> Result<Option<Ancestors>, CollectError> {
    if arm::eq_ci(name, tenant) {
        return Ok(Some(Ancestors {
            chain: Vec::new(),
            display_names: Vec::new(),
            display_name: None,
        }));
    }
    let url = route::management_group(ctx.base(), name, true);
    let mg_id = arm::management_group_id(name);
    let Some(group) = ctx.get(url, &mg_id, MANAGEMENT_GROUPS_API).await? else {
        return Ok(None);
    };
    let display_name = arm::str_at(&group, "properties.displayName").map(str::to_string);
    if let Some(path) = arm::array_at(&group, "properties.details.path") {
        let mut chain = Vec::new();
        let mut display_names = Vec::new();
        for element in path.iter().rev() {
            let Some(n) = arm::str_at(element, "name") else {
                return Ok(None);
            };
            if arm::eq_ci(n, name) {
                continue;
            }
            chain.push(n.to_string());
            display_names.push(arm::str_at(element, "displayName").map(str::to_string));
        }
        let complete = chain.last().is_some_and(|root| arm::eq_ci(root, tenant));
        return Ok(complete.then_some(Ancestors {
            chain,
            display_names,
            display_name,
        }));
    }
    // An answer without `path` (a service that ignores `$expand`) leaves the chain unknown.
    Ok(None)
}

/// The parent links in a descendants listing.
#[derive(Debug, Default)]
struct Tree {
    /// Group name (lower-case) → (name as spelled, display name, parent name).
    groups: Vec<(String, Option<String>, Option<String>)>,
    group_parent: HashMap<String, Option<String>>,
    /// Subscription GUID (lower-case) → parent group name, in listing order.
    subscription_parent: Vec<(String, Option<String>)>,
    /// Subscription GUID (lower-case) → index in `subscription_parent` (its first listing).
    subscription_index: HashMap<String, usize>,
}

impl Tree {
    fn from_rows(rows: &[Value]) -> Tree {
        let mut tree = Tree::default();
        for row in rows {
            let parent = arm::str_at(row, "properties.parent.id")
                .and_then(arm::management_group_name)
                .map(str::to_string);
            if arm::is_type(row, "Microsoft.Management/managementGroups/subscriptions") {
                let guid = arm::subscription_of(arm::id(row))
                    .unwrap_or_else(|| arm::name(row).to_ascii_lowercase());
                tree.subscription_index
                    .entry(guid.clone())
                    .or_insert(tree.subscription_parent.len());
                tree.subscription_parent.push((guid, parent));
            } else if arm::is_type(row, "Microsoft.Management/managementGroups") {
                let name = Some(arm::name(row))
                    .filter(|n| !n.is_empty())
                    .or_else(|| arm::management_group_name(arm::id(row)))
                    .unwrap_or_default()
                    .to_string();
                if name.is_empty() {
                    continue;
                }
                let display = arm::str_at(row, "properties.displayName").map(str::to_string);
                tree.group_parent
                    .insert(name.to_ascii_lowercase(), parent.clone());
                tree.groups.push((name, display, parent));
            }
        }
        tree
    }

    /// Subscription GUIDs in the listing, in order.
    fn subscriptions(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.subscription_parent
            .iter()
            .filter(|(guid, _)| seen.insert(guid.as_str()))
            .map(|(guid, _)| guid.clone())
            .collect()
    }

    /// The listing's groups; `top` (the group listed, if given) is never its own entry.
    fn groups(&self, top: Option<&str>) -> Vec<ManagementGroup> {
        self.groups
            .iter()
            .filter(|(name, _, _)| top.is_none_or(|t| !arm::eq_ci(name, t)))
            .map(|(name, display, parent)| ManagementGroup {
                name: name.clone(),
                display_name: display.clone(),
                parent: parent.clone(),
            })
            .collect()
    }

    /// The chain of a subscription: its parent, that group's parent, … up to and including
    /// `top` (the group this listing was read at), followed by `above_top` (the chain above
    /// `top`). `None` when a link is missing or `above_top` is unknown.
    fn chain(&self, guid: &str, top: &str, above_top: Option<&[String]>) -> Option<Vec<String>> {
        let above_top = above_top?;
        let index = *self.subscription_index.get(&guid.to_ascii_lowercase())?;
        let mut current = self.subscription_parent[index].1.clone()?;
        let mut chain = Vec::new();
        for _ in 0..MAX_DEPTH {
            chain.push(current.clone());
            if arm::eq_ci(&current, top) {
                chain.extend(above_top.iter().cloned());
                return Some(chain);
            }
            current = self
                .group_parent
                .get(&current.to_ascii_lowercase())?
                .clone()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "tenant-guid";

    fn mg(name: &str, parent: &str) -> Value {
        json!({"id": arm::management_group_id(name), "type": "Microsoft.Management/managementGroups",
               "name": name, "properties": {"displayName": name.to_uppercase(),
               "parent": {"id": arm::management_group_id(parent)}}})
    }

    fn sub(guid: &str, parent: &str) -> Value {
        json!({"id": format!("/subscriptions/{guid}"), "type": "Microsoft.Management/managementGroups/subscriptions",
               "name": guid, "properties": {"displayName": guid, "parent": {"id": arm::management_group_id(parent)}}})
    }

    #[test]
    fn chains_run_nearest_first_to_the_root() {
        let rows = vec![
            mg("alz", T),
            mg("landingzones", "alz"),
            mg("corp", "landingzones"),
            sub("S1", "corp"),
            sub("s2", T),
            sub("s3", "unknown-group"),
        ];
        let tree = Tree::from_rows(&rows);
        assert_eq!(
            tree.chain("s1", T, Some(&[])),
            Some(vec![
                "corp".to_string(),
                "landingzones".into(),
                "alz".into(),
                T.into()
            ])
        );
        assert_eq!(tree.chain("s2", T, Some(&[])), Some(vec![T.to_string()]));
        assert_eq!(tree.chain("s3", T, Some(&[])), None, "broken link");
        assert_eq!(tree.chain("s9", T, Some(&[])), None, "not listed");
        assert_eq!(tree.chain("s1", T, None), None, "chain above unknown");
        assert_eq!(tree.subscriptions(), vec!["s1", "s2", "s3"]);
        let groups = tree.groups(Some(T));
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[2].parent.as_deref(), Some("landingzones"));
        assert_eq!(groups[2].display_name.as_deref(), Some("CORP"));
    }

    #[test]
    fn a_subtree_chain_is_completed_by_the_chain_above_its_top() {
        let rows = vec![
            mg("corp", "landingzones"),
            sub("s1", "corp"),
            sub("s2", "landingzones"),
        ];
        let tree = Tree::from_rows(&rows);
        let above = vec!["alz".to_string(), T.to_string()];
        assert_eq!(
            tree.chain("s1", "landingzones", Some(&above)),
            Some(vec![
                "corp".to_string(),
                "landingzones".into(),
                "alz".into(),
                T.into()
            ])
        );
        assert_eq!(
            tree.chain("s2", "landingzones", Some(&above)),
            Some(vec!["landingzones".to_string(), "alz".into(), T.into()])
        );
        assert!(
            tree.groups(Some("landingzones"))
                .iter()
                .all(|g| g.name != "landingzones")
        );
    }

    #[test]
    fn subscription_ids_and_tenants() {
        assert_eq!(normalise_subscription_id("/subscriptions/ABC/"), "abc");
        assert_eq!(normalise_subscription_id(" ABC "), "abc");
        let c = |t: &str| Candidate {
            id: String::new(),
            guid: String::new(),
            display_name: String::new(),
            state: "Enabled".into(),
            tenant_id: Some(t.into()),
        };
        assert_eq!(
            most_common_tenant(&[c("B"), c("a"), c("b")]).as_deref(),
            Some("B")
        );
        assert_eq!(most_common_tenant(&[c("b"), c("a")]).as_deref(), Some("a"));
        assert_eq!(most_common_tenant(&[]), None);
        let parsed =
            Candidate::from_arm(&json!({"id": "/subscriptions/X1", "displayName": "one"})).unwrap();
        assert_eq!(
            (parsed.guid.as_str(), parsed.state.as_str()),
            ("x1", "Unknown")
        );
    }
}
