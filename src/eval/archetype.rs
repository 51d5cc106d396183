//! Which management groups play which ALZ archetype (landing zones, corp, online).
//!
//! A profile may name them; otherwise the catalogue §1 heuristic applies: the MG name equals or
//! ends with `landingzones` / `corp` / `online`, or the MG carries the archetype's hallmark
//! assignment (`Deny-Priv-Esc-AKS` for landing zones, `Deny-Public-Endpoints` for corp).
//! A subscription whose ancestor chain could not be read has no archetype answer (`None`), and
//! checks scoped by archetype report `unknown` for it.

use serde::Serialize;

use crate::inventory::arm::{self, eq_ci};
use crate::inventory::{Inventory, Subscription};

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

/// The resolved mapping: MG names per archetype, and how each was decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Archetypes {
    pub landing_zones: Vec<String>,
    pub corp: Vec<String>,
    pub online: Vec<String>,
    /// `profile` when the profile named the MGs, `heuristic` otherwise (per archetype).
    pub decided_by: Vec<(Archetype, &'static str)>,
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
        out
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

    /// The archetype MG on the subscription's ancestor chain: `Some(Some(name))` when it is under
    /// one, `Some(None)` when it is not, `None` when the chain is unknown.
    pub fn ancestor_of(
        &self,
        subscription: &Subscription,
        archetype: Archetype,
    ) -> Option<Option<String>> {
        let chain = subscription.management_group_ancestors.as_ref()?;
        Some(
            chain
                .iter()
                .find(|mg| self.names(archetype).iter().any(|n| eq_ci(n, mg)))
                .cloned(),
        )
    }
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
    use crate::inventory::ManagementGroup;
    use serde_json::json;

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
            Some(Some("Only-This".into()))
        );
        let unknown = Subscription {
            management_group_ancestors: None,
            ..sub
        };
        assert_eq!(a.ancestor_of(&unknown, Archetype::Corp), None);
    }
}
