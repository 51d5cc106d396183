//! Profiles: which checks run, with which parameters and severities, how management groups map
//! to ALZ archetypes, and which findings are waived.
//!
//! A profile file (`file::ProfileFile`, raw and spanned) is resolved against the catalogue into a
//! `Profile`. Every mistake a user can make in it — an unknown check ID, a parameter the check
//! does not have or of the wrong type, a waiver without reason or expiry — is an error naming
//! file, line, column and field, with the closest check IDs when an ID is unknown.

pub mod file;
pub mod waiver;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use thiserror::Error;
use toml::Spanned;

pub use waiver::{AppliedWaiver, Waiver, WaiverReport, WaiverState};

use crate::catalogue::spec::{ParamKind, line_col, toml_to_json};
use crate::catalogue::{Catalogue, Severity};
use crate::eval::Archetype;
use file::ProfileFile;

/// The profiles shipped with lzaudit: (name, path, text).
pub const BUILTIN_PROFILES: &[(&str, &str, &str)] = &[
    (
        "caf-aks",
        "profiles/caf-aks.toml",
        include_str!("../../profiles/caf-aks.toml"),
    ),
    (
        "caf-aks-strict",
        "profiles/caf-aks-strict.toml",
        include_str!("../../profiles/caf-aks-strict.toml"),
    ),
    (
        "alz-corp",
        "profiles/alz-corp.toml",
        include_str!("../../profiles/alz-corp.toml"),
    ),
    (
        "alz-online",
        "profiles/alz-online.toml",
        include_str!("../../profiles/alz-online.toml"),
    ),
];

/// The profile used when `--profile` is not given.
pub const DEFAULT_PROFILE: &str = "caf-aks";

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    #[error(
        "no profile named `{0}`: give a built-in name ({names}) or a path to a .toml file",
        names = BUILTIN_PROFILES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
    )]
    NotFound(String),
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
}

/// A resolved profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub source: String,
    /// Selected check IDs, sorted.
    pub selected: Vec<String>,
    /// Parameter overrides per check ID (defaults are the check file's).
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
    pub severity: BTreeMap<String, Severity>,
    pub archetypes: Vec<(Archetype, Vec<String>)>,
    pub waivers: Vec<Waiver>,
}

impl Profile {
    /// Loads `--profile NAME|PATH`: a built-in name, else a file path.
    pub fn load(name_or_path: &str, catalogue: &Catalogue) -> Result<Profile, ProfileError> {
        if let Some((_, path, text)) = BUILTIN_PROFILES.iter().find(|p| p.0 == name_or_path) {
            return Profile::parse(text, path, catalogue, 0);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            let text = crate::input::read_text(path, &crate::input::PROFILE)?;
            return Profile::parse(&text, name_or_path, catalogue, 0);
        }
        Err(ProfileError::NotFound(name_or_path.to_string()))
    }

    /// Parses and resolves a profile's text; `source` names it in errors.
    pub fn parse(
        text: &str,
        source: &str,
        catalogue: &Catalogue,
        depth: usize,
    ) -> Result<Profile, ProfileError> {
        let raw: ProfileFile = toml::from_str(text).map_err(|e| ProfileError::File {
            file: source.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Resolver {
            text,
            source,
            catalogue,
        }
        .resolve(raw, depth)
    }

    /// The effective parameters of a check: its defaults overlaid with this profile's values.
    pub fn params_for(&self, check: &crate::catalogue::Check) -> BTreeMap<String, Value> {
        let mut params = check.default_params();
        if let Some(overrides) = self.params.get(check.id()) {
            params.extend(overrides.clone());
        }
        params
    }

    /// The severity of a check under this profile.
    pub fn severity_of(&self, check: &str, default: Severity) -> Severity {
        self.severity.get(check).copied().unwrap_or(default)
    }
}

struct Resolver<'a> {
    text: &'a str,
    source: &'a str,
    catalogue: &'a Catalogue,
}

impl Resolver<'_> {
    fn at<T>(
        &self,
        spanned: &Spanned<T>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ProfileError {
        let (line, column) = line_col(self.text, spanned.span().start);
        ProfileError::At {
            file: self.source.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    fn unknown_check(&self, id: &Spanned<String>, field: &str) -> ProfileError {
        let closest = self.catalogue.closest(id.get_ref());
        let hint = if closest.is_empty() {
            "run `lzaudit checks list` for the IDs".to_string()
        } else {
            format!("did you mean {}?", closest.join(", "))
        };
        self.at(
            id,
            field,
            format!("unknown check `{}`: {hint}", id.get_ref()),
        )
    }

    fn check_id(&self, id: &Spanned<String>, field: &str) -> Result<String, ProfileError> {
        self.catalogue
            .get(id.get_ref())
            .map(|c| c.id().to_string())
            .ok_or_else(|| self.unknown_check(id, field))
    }

    fn pattern(
        &self,
        pattern: &Spanned<String>,
        field: &str,
    ) -> Result<BTreeSet<String>, ProfileError> {
        let p = pattern.get_ref();
        if let Some(prefix) = p.strip_suffix('*') {
            let ids: BTreeSet<String> = self
                .catalogue
                .checks()
                .iter()
                .filter(|c| {
                    c.id()
                        .to_ascii_uppercase()
                        .starts_with(&prefix.to_ascii_uppercase())
                })
                .map(|c| c.id().to_string())
                .collect();
            if ids.is_empty() {
                return Err(self.at(pattern, field, format!("`{p}` matches no check")));
            }
            return Ok(ids);
        }
        Ok(BTreeSet::from([self.check_id(pattern, field)?]))
    }

    fn resolve(&self, raw: ProfileFile, depth: usize) -> Result<Profile, ProfileError> {
        let mut profile = match &raw.extends {
            None => Profile {
                name: String::new(),
                description: String::new(),
                source: String::new(),
                selected: self
                    .catalogue
                    .checks()
                    .iter()
                    .map(|c| c.id().to_string())
                    .collect(),
                params: BTreeMap::new(),
                severity: BTreeMap::new(),
                archetypes: Vec::new(),
                waivers: Vec::new(),
            },
            Some(base) => {
                let Some((_, path, text)) = BUILTIN_PROFILES.iter().find(|p| p.0 == base.get_ref())
                else {
                    return Err(self.at(
                        base,
                        "extends",
                        format!("no built-in profile `{}`", base.get_ref()),
                    ));
                };
                if depth > 4 {
                    return Err(self.at(base, "extends", "profiles extend each other in a loop"));
                }
                Profile::parse(text, path, self.catalogue, depth + 1)?
            }
        };
        profile.name = raw.name.clone().unwrap_or_else(|| {
            Path::new(self.source)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        });
        profile.description = raw.description.clone().unwrap_or_default();
        profile.source = self.source.to_string();

        if !raw.checks.select.is_empty() {
            let mut selected = BTreeSet::new();
            for (i, p) in raw.checks.select.iter().enumerate() {
                selected.extend(self.pattern(p, &format!("checks.select[{i}]"))?);
            }
            profile.selected = selected.into_iter().collect();
        }
        for (i, p) in raw.checks.ignore.iter().enumerate() {
            let ignored = self.pattern(p, &format!("checks.ignore[{i}]"))?;
            profile.selected.retain(|id| !ignored.contains(id));
        }

        for (check_key, values) in &raw.params {
            let id = self.check_id(check_key, &format!("params.{}", check_key.get_ref()))?;
            let check = self.catalogue.get(&id).expect("resolved above");
            let entry = profile.params.entry(id.clone()).or_default();
            for (name, value) in values {
                let field = format!("params.{id}.{}", name.get_ref());
                let Some(spec) = check.file.params.iter().find(|p| &p.name == name.get_ref())
                else {
                    let known: Vec<&str> =
                        check.file.params.iter().map(|p| p.name.as_str()).collect();
                    let hint = if known.is_empty() {
                        format!("{id} takes no parameters")
                    } else {
                        format!("{id} takes: {}", known.join(", "))
                    };
                    return Err(self.at(
                        name,
                        &field,
                        format!("unknown parameter `{}`; {hint}", name.get_ref()),
                    ));
                };
                let v = value.get_ref();
                let ok = match spec.kind {
                    ParamKind::String => v.is_str(),
                    ParamKind::StringList => v
                        .as_array()
                        .is_some_and(|a| a.iter().all(toml::Value::is_str)),
                    ParamKind::Bool => v.is_bool(),
                    ParamKind::Integer => v.is_integer(),
                };
                if !ok {
                    return Err(self.at(
                        value,
                        &field,
                        format!("expected a {:?} value", spec.kind),
                    ));
                }
                entry.insert(name.get_ref().clone(), toml_to_json(v));
            }
        }

        for (check_key, severity) in &raw.severity {
            let id = self.check_id(check_key, &format!("severity.{}", check_key.get_ref()))?;
            profile.severity.insert(id, *severity.get_ref());
        }

        for (archetype, names) in [
            (Archetype::LandingZones, &raw.archetypes.landing_zones),
            (Archetype::Corp, &raw.archetypes.corp),
            (Archetype::Online, &raw.archetypes.online),
        ] {
            if let Some(names) = names {
                profile.archetypes.retain(|(a, _)| *a != archetype);
                profile.archetypes.push((archetype, names.clone()));
            }
        }

        for (i, w) in raw.waivers.iter().enumerate() {
            let w_ref = w.get_ref();
            let check = self.check_id(&w_ref.check, &format!("waivers[{i}].check"))?;
            let reason = w_ref.reason.get_ref().trim();
            if reason.is_empty() {
                return Err(self.at(
                    &w_ref.reason,
                    format!("waivers[{i}].reason"),
                    "a waiver needs a reason",
                ));
            }
            let pattern = w_ref.resource.get_ref();
            let matcher = waiver::compile(pattern)
                .map_err(|e| self.at(&w_ref.resource, format!("waivers[{i}].resource"), e))?;
            let expires = w_ref.expires.get_ref();
            let date = match (expires.date, expires.time) {
                (Some(d), None) => time::Date::from_calendar_date(
                    i32::from(d.year),
                    time::Month::try_from(d.month).map_err(|e| {
                        self.at(
                            &w_ref.expires,
                            format!("waivers[{i}].expires"),
                            e.to_string(),
                        )
                    })?,
                    d.day,
                )
                .map_err(|e| {
                    self.at(
                        &w_ref.expires,
                        format!("waivers[{i}].expires"),
                        e.to_string(),
                    )
                })?,
                _ => {
                    return Err(self.at(
                        &w_ref.expires,
                        format!("waivers[{i}].expires"),
                        "expected a date such as 2027-01-31",
                    ));
                }
            };
            let (line, _) = line_col(self.text, w.span().start);
            profile.waivers.push(Waiver {
                check,
                pattern: pattern.clone(),
                matcher,
                reason: reason.to_string(),
                expires: date,
                location: format!("{}:{line}", self.source),
            });
        }
        Ok(profile)
    }
}
