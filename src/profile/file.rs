//! The profile file as written (TOML), before resolution against the catalogue.
//!
//! Every user-written value is `Spanned`, so resolution errors can point at file, line and
//! column ("profiles/prod.toml:14:3: field `params.AKS-017.pull_roles`: ..."), as cargo-deny does.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::catalogue::Severity;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Defaults to the file stem.
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A built-in profile whose settings this one starts from.
    #[serde(default)]
    pub extends: Option<Spanned<String>>,
    #[serde(default)]
    pub checks: ChecksSection,
    /// `[params.AKS-017] pull_role_ids = [...]`
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    /// `[severity] AKS-040 = "low"`
    #[serde(default)]
    pub severity: BTreeMap<Spanned<String>, Spanned<Severity>>,
    #[serde(default)]
    pub archetypes: ArchetypesSection,
    #[serde(default)]
    pub waivers: Vec<Spanned<WaiverFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSection {
    /// Check IDs or patterns (`AKS-*`, `*`); empty means "inherit" (or every check).
    #[serde(default)]
    pub select: Vec<Spanned<String>>,
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
}

/// Management-group names per ALZ archetype; an absent list means "use the heuristic".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchetypesSection {
    #[serde(default)]
    pub landing_zones: Option<Vec<String>>,
    #[serde(default)]
    pub corp: Option<Vec<String>>,
    #[serde(default)]
    pub online: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverFile {
    pub check: Spanned<String>,
    /// A glob over ARM resource IDs (`*` crosses `/`), matched case-insensitively.
    pub resource: Spanned<String>,
    pub reason: Spanned<String>,
    /// A TOML date (`2027-01-31`): the waiver stops suppressing after this day.
    pub expires: Spanned<toml::value::Datetime>,
}
