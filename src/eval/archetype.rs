//! Which management groups play which ALZ archetype (landing zones, corp, online).
//!
//! A profile may name them; otherwise the catalogue §1 heuristic applies: the MG name equals or
//! ends with `landingzones` / `corp` / `online`, or the MG carries the archetype's hallmark
//! assignment (`Deny-Priv-Esc-AKS` for landing zones, `Deny-Public-Endpoints` for corp).
//!
//! A subscription's answer ([`Membership`]) is `Unknown`, with the cause, whenever the data it
//! rests on was not read: its ancestor chain, or — when the heuristic decides an archetype that
//! has a hallmark and no ancestor matches by name — the policy assignments that would show a
//! hallmark at its ancestors. Assignments are read per subscription, and that list includes
//! those of every ancestor management group, so an ancestor is visible through any audited
//! subscription under it whose read succeeded; only when some ancestor is visible
//! through no successful read could a hallmark be hiding there. Names from a profile, and name
//! matches on a chain (stored only complete, up to the tenant root), need no assignment.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::inventory::arm::{self, eq_ci};
use crate::inventory::{Inventory, Subscription, api};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Archetype {
    LandingZones,
    Corp,
    Online,
}

impl Archetype {
    pub const ALL: [Archetype; 3] = [Archetype::LandingZones, Archetype::Corp, Archetype::Online];

    pub fn as_str(self) -> &'static str {
        match self {
            Archetype::LandingZones => "landing_zones",
            Archetype::Corp => "corp",
            Archetype::Online => "online",
        }
    }

    fn name_suffix(self) -> &'static str {
        match self {
            Archetype::LandingZones => "landingzones",
            Archetype::Corp => "corp",
            Archetype::Online => "online",
        }
    }

    fn hallmark_assignment(self) -> Option<&'static str> {
        match self {
            Archetype::LandingZones => Some("Deny-Priv-Esc-AKS"),
            Archetype::Corp => Some("Deny-Public-Endpoints"),
            Archetype::Online => None,
        }
    }
}

/// Where a subscription stands relative to one archetype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Under this management group of the archetype.
    Under(String),
    /// Under none of the archetype's management groups.
    NotUnder,
    /// Cannot be told; the cause names the read that is missing.
    Unknown(String),
}

/// The resolved mapping: MG names per archetype, and how each was decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Archetypes {
    pub landing_zones: Vec<String>,
    pub corp: Vec<String>,
    pub online: Vec<String>,
    /// `profile` when the profile named the MGs, `heuristic` otherwise (per archetype).
    pub decided_by: Vec<(Archetype, &'static str)>,
    /// Per audited subscription (GUID, lower-cased) whose ancestors may carry a hallmark
    /// assignment no successful read listed: why. Filled by `resolve`.
    #[serde(skip)]
    hallmarks_unread: BTreeMap<String, String>,
    /// Per audited subscription ID whose ancestor chain is unknown: why (naming the failed
    /// read of the hierarchy). Filled by `resolve`.
    #[serde(skip)]
    ancestry_unknown: BTreeMap<String, String>,
}

impl Archetypes {
    /// Resolves the mapping: `configured` (from the profile) wins per archetype; the heuristic
    /// fills the rest from the inventory's management groups and assignments.
    pub fn resolve(inventory: &Inventory, configured: &[(Archetype, Vec<String>)]) -> Archetypes {
        let mut out = Archetypes::default();
        for archetype in Archetype::ALL {
            let (names, how) = match configured.iter().find(|(a, _)| *a == archetype) {
                Some((_, names)) => (names.clone(), "profile"),
                None => (heuristic(inventory, archetype), "heuristic"),
            };
            *out.slot(archetype) = names;
            out.decided_by.push((archetype, how));
        }
        out.hallmarks_unread = hallmarks_unread(inventory);
        out.ancestry_unknown = inventory
            .subscriptions
            .iter()
            .filter(|s| s.management_group_ancestors.is_none())
            .map(|s| (s.id.clone(), inventory.ancestry_unknown(&s.id)))
            .collect();
        out
    }

    /// Whether the heuristic decided this archetype (and may therefore rest on assignments).
    fn by_heuristic(&self, archetype: Archetype) -> bool {
        self.decided_by
            .iter()
            .any(|(a, how)| *a == archetype && *how == "heuristic")
    }

    fn slot(&mut self, archetype: Archetype) -> &mut Vec<String> {
        match archetype {
            Archetype::LandingZones => &mut self.landing_zones,
            Archetype::Corp => &mut self.corp,
            Archetype::Online => &mut self.online,
        }
    }

    pub fn names(&self, archetype: Archetype) -> &[String] {
        match archetype {
            Archetype::LandingZones => &self.landing_zones,
            Archetype::Corp => &self.corp,
            Archetype::Online => &self.online,
        }
    }

    /// Where the subscription stands relative to `archetype`. Being under a matching MG is
    /// certain once the chain is known; not being under one is certain only when every way the
    /// archetype could have been recognised was read.
    pub fn ancestor_of(&self, subscription: &Subscription, archetype: Archetype) -> Membership {
        let Some(chain) = subscription.management_group_ancestors.as_ref() else {
            return Membership::Unknown(
                self.ancestry_unknown
                    .get(&subscription.id)
                    .cloned()
                    .unwrap_or_else(|| {
                        format!(
                            "the management-group ancestors of {} are unknown",
                            subscription.id
                        )
                    }),
            );
        };
        if let Some(mg) = chain
            .iter()
            .find(|mg| self.names(archetype).iter().any(|n| eq_ci(n, mg)))
        {
            return Membership::Under(mg.clone());
        }
        if let Some(hallmark) = archetype.hallmark_assignment()
            && self.by_heuristic(archetype)
            && let Some(reason) = self
                .hallmarks_unread
                .get(&subscription.subscription_id.to_ascii_lowercase())
        {
            return Membership::Unknown(format!(
                "no ancestor is named like a {} management group, and whether one carries the hallmark assignment {hallmark} cannot be told: {reason}",
                archetype.as_str()
            ));
        }
        Membership::NotUnder
    }
}

/// The subscriptions whose ancestors' assignments no successful read lists, with the cause.
/// An ancestor counts as read when some audited subscription below it (itself included) read
/// its assignments, since that list includes those inherited from every ancestor.
fn hallmarks_unread(inventory: &Inventory) -> BTreeMap<String, String> {
    let state = |sub: &Subscription| {
        inventory
            .read_state(&sub.id, api::POLICY_ASSIGNMENTS)
            .missing_reason(&sub.id, api::POLICY_ASSIGNMENTS)
    };
    let read: BTreeSet<String> = inventory
        .subscriptions
        .iter()
        .filter(|s| state(s).is_none())
        .flat_map(|s| s.management_group_ancestors.iter().flatten())
        .map(|mg| mg.to_ascii_lowercase())
        .collect();
    let mut out = BTreeMap::new();
    for sub in &inventory.subscriptions {
        let (Some(reason), Some(chain)) = (state(sub), &sub.management_group_ancestors) else {
            continue;
        };
        let unseen: Vec<&str> = chain
            .iter()
            .filter(|mg| !read.contains(&mg.to_ascii_lowercase()))
            .map(String::as_str)
            .collect();
        if !unseen.is_empty() {
            out.insert(
                sub.subscription_id.to_ascii_lowercase(),
                format!(
                    "no successful read lists the assignments of management group(s) {} ({reason})",
                    unseen.join(", ")
                ),
            );
        }
    }
    out
}

fn heuristic(inventory: &Inventory, archetype: Archetype) -> Vec<String> {
    let suffix = archetype.name_suffix();
    // Every MG name known: the tree, and the ancestor chains (which may come from a
    // `$expand=path` read when the tree above the audited group was not readable).
    let known = inventory
        .management_groups
        .iter()
        .map(|mg| mg.name.as_str())
        .chain(inventory.subscriptions.iter().flat_map(|s| {
            s.management_group_ancestors
                .iter()
                .flatten()
                .map(String::as_str)
        }));
    let mut names: Vec<String> = Vec::new();
    for name in known {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(suffix) && !names.iter().any(|n| eq_ci(n, name)) {
            names.push(name.to_string());
        }
    }
    if let Some(hallmark) = archetype.hallmark_assignment() {
        for assignment in &inventory.policy_assignments {
            if !eq_ci(arm::name(assignment), hallmark) {
                continue;
            }
            let scope = arm::str_at(assignment, "properties.scope").unwrap_or_default();
            if let Some(mg) = arm::management_group_name(scope)
                && !names.iter().any(|n| eq_ci(n, mg))
            {
                names.push(mg.to_string());
            }
        }
    }
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{ManagementGroup, Read, ReadStatus};
    use crate::tree as json;

    fn mg(name: &str) -> ManagementGroup {
        ManagementGroup {
            name: name.into(),
            display_name: None,
            parent: None,
        }
    }

    #[test]
    fn heuristic_by_name_and_hallmark_profile_wins() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.management_groups = vec![
            mg("contoso-landingzones"),
            mg("contoso-corp"),
            mg("apps"),
            mg("online"),
        ];
        inv.policy_assignments.push(json!({"name": "Deny-Public-Endpoints",
            "id": "/providers/Microsoft.Management/managementGroups/apps/providers/Microsoft.Authorization/policyAssignments/Deny-Public-Endpoints",
            "properties": {"scope": "/providers/Microsoft.Management/managementGroups/apps"}}));
        let a = Archetypes::resolve(&inv, &[]);
        assert_eq!(a.landing_zones, vec!["contoso-landingzones"]);
        assert_eq!(a.corp, vec!["apps", "contoso-corp"]);
        assert_eq!(a.online, vec!["online"]);
        let a = Archetypes::resolve(&inv, &[(Archetype::Corp, vec!["only-this".into()])]);
        assert_eq!(a.corp, vec!["only-this"]);
        let sub = Subscription {
            id: "/subscriptions/s".into(),
            subscription_id: "s".into(),
            display_name: "s".into(),
            state: "Enabled".into(),
            management_group_ancestors: Some(vec!["Only-This".into(), "root".into()]),
        };
        assert_eq!(
            a.ancestor_of(&sub, Archetype::Corp),
            Membership::Under("Only-This".into())
        );
        let unknown = Subscription {
            management_group_ancestors: None,
            ..sub
        };
        assert!(matches!(
            a.ancestor_of(&unknown, Archetype::Corp),
            Membership::Unknown(_)
        ));
    }

    fn subscription(guid: &str, chain: &[&str]) -> Subscription {
        Subscription {
            id: format!("/subscriptions/{guid}"),
            subscription_id: guid.into(),
            display_name: guid.into(),
            state: "Enabled".into(),
            management_group_ancestors: Some(chain.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn failed(scope: &str) -> Read {
        let mut read = Read::ok(scope, api::POLICY_ASSIGNMENTS);
        read.status = ReadStatus::Failed;
        read.http_status = Some(429);
        read
    }

    #[test]
    fn not_under_a_hallmark_archetype_is_unknown_when_no_read_lists_its_ancestors() {
        let mut inv = Inventory::new("x", "arm", Default::default());
        // s1 sits under `apps`, which may carry Deny-Public-Endpoints; s2 under `shared`.
        inv.subscriptions = vec![
            subscription("s1", &["apps", "lz", "root"]),
            subscription("s2", &["shared", "lz", "root"]),
        ];
        inv.reads = vec![
            failed("/subscriptions/s1"),
            Read::ok("/subscriptions/s2", api::POLICY_ASSIGNMENTS),
        ];
        let a = Archetypes::resolve(&inv, &[]);
        let Membership::Unknown(why) = a.ancestor_of(&inv.subscriptions[0], Archetype::Corp) else {
            panic!("the hallmark at apps cannot be ruled out");
        };
        assert!(
            why.contains("Deny-Public-Endpoints") && why.contains("apps") && why.contains("429"),
            "{why}"
        );
        assert!(!why.contains("lz"), "lz is listed by s2's read: {why}");
        assert_eq!(
            a.ancestor_of(&inv.subscriptions[1], Archetype::Corp),
            Membership::NotUnder
        );
        // Online has no hallmark: its name heuristic does not depend on assignments.
        assert_eq!(
            a.ancestor_of(&inv.subscriptions[0], Archetype::Online),
            Membership::NotUnder
        );
        // A profile that names the groups does not depend on assignments either.
        let named = Archetypes::resolve(&inv, &[(Archetype::Corp, vec!["corp".into()])]);
        assert_eq!(
            named.ancestor_of(&inv.subscriptions[0], Archetype::Corp),
            Membership::NotUnder
        );
        // Another subscription under `apps` whose read succeeded lists apps' assignments.
        inv.subscriptions
            .push(subscription("s3", &["apps", "lz", "root"]));
        inv.reads
            .push(Read::ok("/subscriptions/s3", api::POLICY_ASSIGNMENTS));
        let a = Archetypes::resolve(&inv, &[]);
        assert_eq!(
            a.ancestor_of(&inv.subscriptions[0], Archetype::Corp),
            Membership::NotUnder
        );
        // A hallmark some read did list places the subscription, whatever its own read did.
        inv.subscriptions.truncate(2);
        inv.reads.truncate(2);
        inv.policy_assignments
            .push(json!({"name": "Deny-Public-Endpoints",
            "properties": {"scope": "/providers/Microsoft.Management/managementGroups/apps"}}));
        let a = Archetypes::resolve(&inv, &[]);
        assert_eq!(
            a.ancestor_of(&inv.subscriptions[0], Archetype::Corp),
            Membership::Under("apps".into())
        );
    }
}
