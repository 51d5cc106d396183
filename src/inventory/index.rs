//! Lookups built once per inventory, so that no check scans a collection per resource.
//!
//! A tenant of a thousand subscriptions holds thousands of clusters and registries, tens of
//! thousands of role assignments and reads. Answering "the subscription of this resource",
//! "did this read succeed", "which assignments does this principal hold" or "which registries
//! sit in this resource group" by scanning made evaluation grow with the cube of the tenant
//! (every cluster × every registry × every assignment). The `Index` answers each in constant or
//! output-sized time.
//!
//! It lives inside the `Inventory` it describes (built on first use, never serialised) and
//! holds positions into the inventory's vectors, not copies. Evaluation only reads an
//! inventory, but tests and the collector build one by pushing into its public fields; so the
//! index remembers the lengths it was built over and is rebuilt when any of them changed.
//! Values are always read from the inventory itself, so editing an element in place cannot
//! make an answer stale unless it changes a key the index is built on (an ID, a principal, a
//! role), which nothing does after collection.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::json::Value;

use super::Inventory;
use super::arm;
use super::coverage::ReadStatus;
use super::views::{role_assignment_scope, role_definition_guid};

/// The inventory's index, built on first use (see the module documentation).
#[derive(Default)]
pub struct IndexCell(RwLock<Option<Arc<Index>>>);

impl Clone for IndexCell {
    /// A clone of an inventory builds its own index.
    fn clone(&self) -> Self {
        IndexCell::default()
    }
}

impl PartialEq for IndexCell {
    /// The index is derived data: two inventories compare by their contents only.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for IndexCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexCell")
    }
}

/// The sizes of the collections the index covers: a change means the index is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Fingerprint([usize; 16]);

impl Fingerprint {
    fn of(inv: &Inventory) -> Fingerprint {
        Fingerprint([
            inv.reads.len(),
            inv.subscriptions.len(),
            inv.clusters.len(),
            inv.registries.len(),
            inv.machines.len(),
            inv.role_assignments.len(),
            inv.cluster_role_assignments.len(),
            inv.virtual_networks.len(),
            inv.route_tables.len(),
            inv.network_security_groups.len(),
            inv.private_endpoints.len(),
            inv.private_dns_zones.len(),
            inv.policy_definitions.len(),
            inv.policy_set_definitions.len(),
            inv.policy_assignments.len(),
            inv.policy_exemptions.len(),
        ])
    }
}

/// How a read key stands: ok, or the position of its first failed read (failure wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadSlot {
    Ok,
    Failed(usize),
}

/// The lookups. Keys are lower-cased; IDs also lose a trailing `/`.
#[derive(Debug, Default)]
pub struct Index {
    fingerprint: Fingerprint,
    pub(crate) subscriptions: HashMap<String, usize>,
    pub(crate) reads: HashMap<(String, String), ReadSlot>,
    /// Per API (lower-cased), how many audited subscriptions it was read at without failure:
    /// when all were, `Inventory::subscription_gaps` answers at once.
    pub(crate) ok_subscription_reads: HashMap<String, usize>,
    pub(crate) clusters_by_subscription: HashMap<String, Vec<usize>>,
    pub(crate) registries_by_subscription: HashMap<String, Vec<usize>>,
    /// (subscription, resource group) → registries in it.
    pub(crate) registries_by_group: HashMap<(String, String), Vec<usize>>,
    pub(crate) machines_by_subscription: HashMap<String, Vec<usize>>,
    /// (subscription, node resource group) of every cluster.
    pub(crate) node_resource_groups: HashSet<(String, String)>,
    pub(crate) role_assignments: AssignmentIndex,
    pub(crate) cluster_role_assignments: AssignmentIndex,
    pub(crate) registries: HashMap<String, usize>,
    pub(crate) virtual_networks: HashMap<String, usize>,
    pub(crate) route_tables: HashMap<String, usize>,
    pub(crate) network_security_groups: HashMap<String, usize>,
    pub(crate) private_endpoints: HashMap<String, usize>,
    /// Policy definitions and set definitions: `(is_set, position)`.
    pub(crate) policy_definitions: HashMap<String, (bool, usize)>,
    /// Why ancestor chains may be missing, for `Inventory::ancestry_unknown`: the failed reads
    /// of the hierarchy, or that it was not collected, or that a chain did not reach the root.
    pub(crate) hierarchy_note: String,
    /// Policy assignments by the scope they are made at.
    pub(crate) policy_assignments: ScopeIndex,
    /// Policy exemptions by the assignment they exempt from (its ID as a key).
    pub(crate) exemptions_by_assignment: HashMap<String, Vec<usize>>,
    /// Registries whose role assignments were not read completely: any principal may hold a
    /// grant there that the inventory does not show.
    pub(crate) registries_without_role_assignments: Vec<usize>,
}

/// Role assignments by principal, by role GUID, and by the scope they are made at.
#[derive(Debug, Default)]
pub(crate) struct AssignmentIndex {
    pub(crate) by_principal: HashMap<String, Vec<usize>>,
    pub(crate) by_role: HashMap<String, Vec<usize>>,
    pub(crate) by_scope: ScopeIndex,
}

/// Assignments (role or policy) by the scope they are made at, so that those "at or above" a
/// target come from a handful of lookups instead of a scan of every assignment.
#[derive(Debug, Default)]
pub(crate) struct ScopeIndex {
    by_scope: HashMap<String, Vec<usize>>,
    /// Those made at a management group.
    management_groups: Vec<usize>,
}

impl ScopeIndex {
    /// Indexes the scopes of a list of assignments, by position (`None`: no scope, never
    /// applies).
    pub(crate) fn build(scopes: impl Iterator<Item = Option<String>>) -> ScopeIndex {
        let mut index = ScopeIndex::default();
        for (i, scope) in scopes.enumerate() {
            let Some(scope) = scope else { continue };
            let scope_key = key(&scope);
            if arm::management_group_name(&scope)
                .is_some_and(|mg| scope_key == key(&arm::management_group_id(mg)))
            {
                index.management_groups.push(i);
            }
            index.by_scope.entry(scope_key).or_default().push(i);
        }
        index
    }

    /// Positions of the assignments made at `target` or above it — the tenant root, the
    /// management groups of `chain` (every management-group assignment when the chain is
    /// unknown: the caller decides what an unplaceable one means), and every prefix of the
    /// target's ID (subscription, resource group, resource) — in inventory order. Assignments
    /// at other scopes cannot apply to the target.
    pub(crate) fn at_or_above(&self, target: &str, chain: Option<&[String]>) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut take = |scope_key: &str| {
            if let Some(ps) = self.by_scope.get(scope_key) {
                out.extend(ps);
            }
        };
        take("");
        let target_key = key(target);
        let mut end = 0;
        for (i, c) in target_key.char_indices().skip(1) {
            if c == '/' {
                take(&target_key[..i]);
                end = i;
            }
        }
        if end < target_key.len() {
            take(&target_key);
        }
        match chain {
            Some(chain) => {
                for mg in chain {
                    take(&key(&arm::management_group_id(mg)));
                }
            }
            None => out.extend(&self.management_groups),
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl AssignmentIndex {
    fn build(assignments: &[Value]) -> AssignmentIndex {
        let mut index = AssignmentIndex {
            by_scope: ScopeIndex::build(
                assignments
                    .iter()
                    .map(|a| role_assignment_scope(a).map(str::to_string)),
            ),
            ..AssignmentIndex::default()
        };
        for (i, a) in assignments.iter().enumerate() {
            if let Some(p) = arm::str_at(a, "properties.principalId") {
                index
                    .by_principal
                    .entry(p.to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
            if let Some(role) = role_definition_guid(a) {
                index
                    .by_role
                    .entry(role.to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
        }
        index
    }

    /// Positions of the assignments that may grant one of `roles` (to `principal`, when given).
    pub(crate) fn candidates(&self, roles: &[String], principal: Option<&str>) -> Vec<usize> {
        let mut out: Vec<usize> = match principal {
            Some(p) => self
                .by_principal
                .get(&p.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
            None => roles
                .iter()
                .filter_map(|r| self.by_role.get(&r.to_ascii_lowercase()))
                .flatten()
                .copied()
                .collect(),
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The normalised form of an ARM ID or scope used as a key.
pub(crate) fn key(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

fn by_id(list: &[Value]) -> HashMap<String, usize> {
    let mut map = HashMap::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        map.entry(key(arm::id(v))).or_insert(i);
    }
    map
}

fn by_subscription(list: &[Value]) -> HashMap<String, Vec<usize>> {
    let mut map: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, v) in list.iter().enumerate() {
        if let Some(sub) = arm::subscription_of(arm::id(v)) {
            map.entry(sub).or_default().push(i);
        }
    }
    map
}

impl Index {
    fn build(inv: &Inventory) -> Index {
        let mut reads: HashMap<(String, String), ReadSlot> =
            HashMap::with_capacity(inv.reads.len());
        for (i, read) in inv.reads.iter().enumerate() {
            let slot = reads
                .entry((key(&read.scope), read.api.to_ascii_lowercase()))
                .or_insert(ReadSlot::Ok);
            if read.status != ReadStatus::Ok && *slot == ReadSlot::Ok {
                *slot = ReadSlot::Failed(i);
            }
        }
        let mut registries_by_group: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, r) in inv.registries.iter().enumerate() {
            let id = arm::id(r);
            if let (Some(sub), Some(rg)) = (arm::subscription_of(id), arm::resource_group_of(id)) {
                registries_by_group
                    .entry((sub, rg.to_ascii_lowercase()))
                    .or_default()
                    .push(i);
            }
        }
        let node_resource_groups = super::views::node_resource_groups(&inv.clusters);
        let mut policy_definitions = HashMap::new();
        for (i, d) in inv.policy_definitions.iter().enumerate() {
            policy_definitions
                .entry(key(arm::id(d)))
                .or_insert((false, i));
        }
        for (i, d) in inv.policy_set_definitions.iter().enumerate() {
            policy_definitions
                .entry(key(arm::id(d)))
                .or_insert((true, i));
        }
        let role_assignments_key = super::api::ROLE_ASSIGNMENTS.to_ascii_lowercase();
        let registries_without_role_assignments = inv
            .registries
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                reads.get(&(key(arm::id(r)), role_assignments_key.clone())) != Some(&ReadSlot::Ok)
            })
            .map(|(i, _)| i)
            .collect();
        let failed: Vec<String> = inv
            .gaps()
            .filter(|r| {
                arm::eq_ci(&r.api, super::api::MG_DESCENDANTS)
                    || arm::eq_ci(&r.api, super::api::MANAGEMENT_GROUPS)
            })
            .map(|r| r.describe_brief())
            .collect();
        let hierarchy_note = if !failed.is_empty() {
            format!(": could not read {}", failed.join("; "))
        } else if inv
            .reads
            .iter()
            .any(|r| arm::eq_ci(&r.api, super::api::MG_DESCENDANTS))
        {
            " (the subscription's chain does not reach the tenant root group in the management-group tree that was read)".to_string()
        } else {
            " (the management-group hierarchy was not collected)".to_string()
        };
        let mut exemptions_by_assignment: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in inv.policy_exemptions.iter().enumerate() {
            if let Some(a) = arm::str_at(e, "properties.policyAssignmentId") {
                exemptions_by_assignment.entry(key(a)).or_default().push(i);
            }
        }
        let audited: HashSet<String> = inv.subscriptions.iter().map(|s| key(&s.id)).collect();
        let mut ok_subscription_reads: HashMap<String, usize> = HashMap::new();
        for ((scope, api), slot) in &reads {
            if *slot == ReadSlot::Ok && audited.contains(scope) {
                *ok_subscription_reads.entry(api.clone()).or_default() += 1;
            }
        }
        Index {
            fingerprint: Fingerprint::of(inv),
            ok_subscription_reads,
            hierarchy_note,
            policy_assignments: ScopeIndex::build(
                inv.policy_assignments
                    .iter()
                    .map(|a| Some(crate::eval::policy::assignment_scope(a))),
            ),
            exemptions_by_assignment,
            registries_without_role_assignments,
            subscriptions: inv
                .subscriptions
                .iter()
                .enumerate()
                .map(|(i, s)| (s.subscription_id.to_ascii_lowercase(), i))
                .collect(),
            reads,
            clusters_by_subscription: by_subscription(&inv.clusters),
            registries_by_subscription: by_subscription(&inv.registries),
            registries_by_group,
            machines_by_subscription: by_subscription(&inv.machines),
            node_resource_groups,
            role_assignments: AssignmentIndex::build(&inv.role_assignments),
            cluster_role_assignments: AssignmentIndex::build(&inv.cluster_role_assignments),
            registries: by_id(&inv.registries),
            virtual_networks: by_id(&inv.virtual_networks),
            route_tables: by_id(&inv.route_tables),
            network_security_groups: by_id(&inv.network_security_groups),
            private_endpoints: by_id(&inv.private_endpoints),
            policy_definitions,
        }
    }
}

impl Inventory {
    /// The index of this inventory, built now if it is missing or stale.
    pub fn index(&self) -> Arc<Index> {
        let fingerprint = Fingerprint::of(self);
        if let Some(index) = self
            .index
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|i| i.fingerprint == fingerprint)
        {
            return Arc::clone(index);
        }
        let index = Arc::new(Index::build(self));
        *self.index.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&index));
        index
    }

    /// The registries a grant at `scope` covers: the registry itself, those of a resource
    /// group or subscription, of the subscriptions under a management group (`None` when a
    /// subscription's chain is unknown — those registries are returned apart), or all of them
    /// for the root. Positions into `registries`.
    pub(crate) fn registries_under(&self, index: &Index, scope: &str) -> RegistriesUnder {
        let scope_key = key(scope);
        if scope_key.is_empty() {
            return RegistriesUnder {
                covered: (0..self.registries.len()).collect(),
                undetermined: Vec::new(),
            };
        }
        if let Some(mg) = arm::management_group_name(scope)
            && arm::eq_ci(&scope_key, &key(&arm::management_group_id(mg)))
        {
            let mut out = RegistriesUnder::default();
            for sub in &self.subscriptions {
                let Some(positions) = index.registries_by_subscription.get(&sub.subscription_id)
                else {
                    continue;
                };
                match &sub.management_group_ancestors {
                    Some(chain) if chain.iter().any(|m| arm::eq_ci(m, mg)) => {
                        out.covered.extend(positions)
                    }
                    Some(_) => {}
                    None => out.undetermined.extend(positions),
                }
            }
            return out;
        }
        let covered = match (
            arm::subscription_of(&scope_key),
            arm::resource_group_of(&scope_key),
        ) {
            (Some(sub), None) if scope_key == format!("/subscriptions/{sub}") => index
                .registries_by_subscription
                .get(&sub)
                .cloned()
                .unwrap_or_default(),
            (Some(sub), Some(rg))
                if scope_key == format!("/subscriptions/{sub}/resourcegroups/{rg}") =>
            {
                index
                    .registries_by_group
                    .get(&(sub, rg.to_string()))
                    .cloned()
                    .unwrap_or_default()
            }
            _ => self
                .registries_with_prefix(index, &scope_key)
                .unwrap_or_default(),
        };
        RegistriesUnder {
            covered,
            undetermined: Vec::new(),
        }
    }

    /// Registries at or below a resource scope (the registry itself, normally).
    fn registries_with_prefix(&self, index: &Index, scope_key: &str) -> Option<Vec<usize>> {
        if let Some(&i) = index.registries.get(scope_key) {
            return Some(vec![i]);
        }
        let sub = arm::subscription_of(scope_key)?;
        Some(
            index
                .registries_by_subscription
                .get(&sub)?
                .iter()
                .copied()
                .filter(|&i| arm::is_scope_prefix(scope_key, arm::id(&self.registries[i])))
                .collect(),
        )
    }

    /// The registries on which `principal` may hold one of `roles`, in inventory order: those
    /// a grant of it covers (or may cover: a management-group grant over a subscription whose
    /// chain is unknown), and those whose role assignments were not read, where a grant may
    /// hide. On every other registry the inventory shows for certain that it holds none of
    /// `roles` — what `role_grants` would answer there, without asking it per registry.
    pub fn registries_maybe_granted(&self, roles: &[String], principal: &str) -> Vec<&Value> {
        let index = self.index();
        let mut positions: Vec<usize> = index.registries_without_role_assignments.clone();
        for i in index.role_assignments.candidates(roles, Some(principal)) {
            let assignment = &self.role_assignments[i];
            let Some(role) = role_definition_guid(assignment) else {
                continue;
            };
            if !roles.iter().any(|r| arm::eq_ci(r, role)) {
                continue;
            }
            let Some(scope) = role_assignment_scope(assignment) else {
                continue;
            };
            let under = self.registries_under(&index, scope);
            positions.extend(under.covered);
            positions.extend(under.undetermined);
        }
        positions.sort_unstable();
        positions.dedup();
        positions.into_iter().map(|i| &self.registries[i]).collect()
    }
}

/// Registries a scope covers, and those it may cover (management-group scope over a
/// subscription whose chain is unknown).
#[derive(Debug, Default)]
pub(crate) struct RegistriesUnder {
    pub(crate) covered: Vec<usize>,
    pub(crate) undetermined: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Read, Subscription};
    use crate::tree as json;

    #[test]
    fn the_index_follows_pushes_and_failure_wins() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.reads
            .push(Read::ok("/subscriptions/A/", "Microsoft.X/y"));
        assert_eq!(
            inv.index()
                .reads
                .get(&("/subscriptions/a".into(), "microsoft.x/y".into())),
            Some(&ReadSlot::Ok)
        );
        let mut failed = Read::ok("/subscriptions/a", "Microsoft.X/y");
        failed.status = ReadStatus::Failed;
        inv.reads.push(failed);
        assert_eq!(
            inv.index()
                .reads
                .get(&("/subscriptions/a".into(), "microsoft.x/y".into())),
            Some(&ReadSlot::Failed(1)),
            "a push makes the index stale, and a failure wins"
        );
    }

    #[test]
    fn registries_under_a_scope() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        let sub = |guid: &str, chain: Option<Vec<&str>>| Subscription {
            id: format!("/subscriptions/{guid}"),
            subscription_id: guid.into(),
            display_name: guid.into(),
            state: "Enabled".into(),
            management_group_ancestors: chain.map(|c| c.into_iter().map(String::from).collect()),
        };
        inv.subscriptions
            .push(sub("s1", Some(vec!["corp", "root"])));
        inv.subscriptions.push(sub("s2", None));
        let reg = |s: &str, rg: &str, n: &str| json!({"id": format!("/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{n}")});
        inv.registries = vec![
            reg("s1", "RG", "a"),
            reg("s1", "other", "b"),
            reg("s2", "rg", "c"),
        ];
        let index = inv.index();
        let under = |scope: &str| inv.registries_under(&index, scope);
        assert_eq!(under("/").covered, [0, 1, 2]);
        assert_eq!(under("/subscriptions/S1").covered, [0, 1]);
        assert_eq!(under("/subscriptions/s1/resourcegroups/rg").covered, [0]);
        assert_eq!(
            under("/subscriptions/s1/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/A/").covered,
            [0]
        );
        let mg = under("/providers/Microsoft.Management/managementGroups/Corp");
        assert_eq!((mg.covered, mg.undetermined), (vec![0, 1], vec![2]));
    }
}
