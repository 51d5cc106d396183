//! Evaluation: pure functions from an `Inventory` (and a check's parameters) to findings.
//!
//! Nothing here touches the network. A single-resource check runs through `cel`; a check that
//! joins resources runs its Rust evaluator from `evaluators`. Both return one finding per
//! (check, resource), and both turn missing data into `unknown`: never a pass, and never any
//! other verdict the unread data could have changed (a fail it could only repeat stands, and so
//! does a warn a sub-result that was not read could only repeat, see
//! `Status::with_unread_sub_result`). Every inference and join asks the read state of each
//! collection it uses for the scope at hand before taking "absent" for "none". `policy` holds
//! the catalogue's §1.1 coverage algorithm shared by every policy-based check, `archetype` the
//! mapping of management groups to ALZ archetypes, and `targets` the enumeration of what a
//! check is about (with `unknown` findings where the list itself could not be read).

pub mod archetype;
pub mod cel;
pub mod evaluators;
pub mod outcome;
pub mod policy;
pub mod targets;

use std::collections::BTreeMap;

use serde_json::Value;

pub use archetype::{Archetype, Archetypes, Membership};
pub use outcome::{Evidence, Finding, Status};

use crate::catalogue::{Check, Logic};
use crate::inventory::Inventory;

/// A Rust evaluator: one per cross-resource check, registered in `evaluators::lookup`.
pub type Evaluator = fn(&Check, &EvalContext) -> Vec<Finding>;

/// Everything a check may look at.
pub struct EvalContext<'a> {
    pub inventory: &'a Inventory,
    /// The check's parameters: its defaults overlaid with the profile's values.
    pub params: &'a BTreeMap<String, Value>,
    pub archetypes: &'a Archetypes,
    /// Today's date (UTC), for exemption and waiver expiry; fixed in tests.
    pub today: time::Date,
}

impl EvalContext<'_> {
    /// A string-list parameter (declared in the check file, so always present after resolution).
    pub fn param_strings(&self, name: &str) -> Vec<String> {
        self.params
            .get(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn param_str(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }

    pub fn param_bool(&self, name: &str) -> Option<bool> {
        self.params.get(name).and_then(Value::as_bool)
    }
}

/// Runs one check over the inventory.
pub fn run(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let mut findings = match &check.logic {
        Logic::Rust(evaluator) => evaluator(check, ctx),
        Logic::Cel { rules, otherwise } => cel::run(check, rules, otherwise, ctx),
    };
    let id: crate::interned::Text = check.id().into();
    for finding in &mut findings {
        finding.check = id.clone();
        // Evidence is pushed one item at a time, and a vector's first allocation holds four:
        // at a hundred thousand findings the slack is about ten megabytes.
        finding.evidence.shrink_to_fit();
    }
    findings.shrink_to_fit();
    findings.sort_by(|a, b| {
        a.resource
            .to_ascii_lowercase()
            .cmp(&b.resource.to_ascii_lowercase())
    });
    findings
}
