//! The check file format: one TOML file per check, parsed raw and then validated.
//!
//! A check file holds the check's metadata, documentation, the properties it reads (with the
//! default ARM implies when a property is omitted), its parameters and its logic: either CEL
//! rules over a single resource, or `kind = "rust"` naming the evaluator registered under the
//! check's ID. Errors name the file, line, column and field, because users write these files.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::eval::Status;

/// How bad a failure of the check is (catalogue §1 Severity).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check produces findings about.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Cluster,
    Registry,
    Subscription,
}

/// The raw file, exactly as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub severity: Severity,
    pub area: String,
    pub target: Target,
    /// The CAF recommendation ("seed phrase") the check implements.
    pub caf: String,
    /// The APIs (coverage names, e.g. `Microsoft.Security/pricings`) the check reads.
    pub data: Vec<String>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// Details the catalogue marks (U): what is unverified and how the check treats it.
    #[serde(default)]
    pub unverified: Vec<String>,
    pub docs: Docs,
    #[serde(default)]
    pub reads: Vec<ReadSpec>,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    pub logic: LogicFile,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    /// What it checks.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// How to fix it (CLI / portal).
    pub fix: String,
    /// How to enforce it with Azure Policy, when there is a policy.
    #[serde(default)]
    pub fix_policy: Option<String>,
}

/// One property the check reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    /// Dotted path into the resource's ARM JSON; `[]` maps over an array
    /// (`properties.agentPoolProfiles[].enableNodePublicIP`). Matched case-insensitively.
    pub path: String,
    /// The value ARM implies when the property is omitted. Without it, absence is absence.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// Why the default holds, when it is not simply ARM's documented default; shown in the
    /// evidence of every finding where the default was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reason: Option<String>,
    /// What a compliant value looks like, for evidence.
    pub expected: String,
    /// The JSON type the rules expect. `bool` (implied by a boolean `default`) reads the strings
    /// `"true"`/`"false"` in any casing as booleans, since payloads from other tools (and
    /// ARM's own string maps) carry booleans that way, and makes any other non-boolean value
    /// `unknown` instead of silently unequal to `true`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ReadKind>,
}

/// The type a read declares (`type = "bool"`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadKind {
    Bool,
}

impl ReadSpec {
    /// Whether the read is boolean: declared `type = "bool"`, or given a boolean default.
    pub fn is_bool(&self) -> bool {
        self.kind == Some(ReadKind::Bool) || self.default.as_ref().is_some_and(toml::Value::is_bool)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    String,
    StringList,
    Bool,
    Integer,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    pub default: toml::Value,
    pub doc: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogicFile {
    pub kind: LogicKind,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    #[serde(default)]
    pub otherwise: Option<RuleFile>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogicKind {
    Cel,
    Rust,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// A CEL boolean over `resource` (the declared reads, defaults applied) and `params`.
    /// Absent only in `otherwise`.
    #[serde(default)]
    pub when: Option<toml::Spanned<String>>,
    pub status: Status,
    pub message: String,
}

/// Why a check file was rejected.
#[derive(Debug, Error)]
pub enum SpecError {
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Field {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    #[error("{file}: field `{field}`: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
}

/// Parses a check file's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<CheckFile, SpecError> {
    toml::from_str(text).map_err(|err| SpecError::Toml {
        file: file.to_string(),
        message: err.to_string().trim_end().to_string(),
    })
}

/// Converts a TOML value into JSON, for defaults and parameters.
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_names_line_and_field() {
        let text = "id = \"AKS-900\"\nslug = \"x\"\ntitel = \"typo\"\n";
        let err = parse(text, "checks/x.toml").unwrap_err().to_string();
        assert!(err.starts_with("checks/x.toml: "), "{err}");
        assert!(err.contains("line 3") && err.contains("titel"), "{err}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
