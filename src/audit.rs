//! One audit, from an inventory to a report: select checks by profile, evaluate, apply waivers.
//!
//! Shared by `lzaudit audit` (live or from a snapshot) and the tests, so every path that
//! produces a report goes through the same steps in the same order.

use std::collections::BTreeSet;

use crate::catalogue::Catalogue;
use crate::eval::{self, Archetypes, EvalContext, Finding};
use crate::inventory::Inventory;
use crate::profile::{self, Profile};
use crate::report::{self, Origin, Report};

/// Evaluates the profile's checks over an inventory and builds the report.
pub fn run(
    inventory: &Inventory,
    catalogue: &Catalogue,
    profile: &Profile,
    today: time::Date,
    origin: Origin,
) -> Report {
    let archetypes = Archetypes::resolve(inventory, &profile.archetypes);
    let mut findings: Vec<Finding> = Vec::new();
    for id in &profile.selected {
        let Some(check) = catalogue.get(id) else {
            continue;
        };
        let params = profile.params_for(check);
        let ctx = EvalContext {
            inventory,
            params: &params,
            archetypes: &archetypes,
            today,
        };
        findings.extend(eval::run(check, &ctx));
    }
    let (findings, waivers) = profile::waiver::apply(&profile.waivers, findings, today);
    report::build(inventory, catalogue, profile, findings, waivers, origin)
}

/// The APIs and policy definitions the selected checks read: collection fetches only these.
pub fn needs(catalogue: &Catalogue, profile: &Profile) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut apis = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for id in &profile.selected {
        if let Some(check) = catalogue.get(id) {
            apis.extend(check.file.data.iter().cloned());
            policies.extend(check.file.policies.iter().map(|p| p.to_ascii_lowercase()));
        }
    }
    (apis, policies)
}
