//! `lzaudit checks explain ID` and `checks list`: a check's documentation as one serialisable
//! value, printed as text or JSON. Everything comes from the check file, so the docs a user
//! reads are the docs the check ships with.

use serde::Serialize;
use serde_json::Value;

use super::spec::{ParamKind, toml_to_json};
use super::{Check, Logic};

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub severity: String,
    pub area: String,
    pub target: String,
    pub caf: String,
    pub what: String,
    pub why: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_policy: Option<String>,
    pub reads: Vec<ReadDoc>,
    pub data: Vec<String>,
    pub params: Vec<ParamDoc>,
    pub policies: Vec<String>,
    pub references: Vec<String>,
    pub unverified: Vec<String>,
    pub logic: &'static str,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct ReadDoc {
    pub path: String,
    pub expected: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_reason: Option<String>,
    /// `bool` for a boolean read (declared, or implied by a boolean default).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ParamDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub default: Value,
    pub doc: String,
}

impl Explanation {
    pub fn of(check: &Check) -> Self {
        let f = &check.file;
        Explanation {
            id: f.id.clone(),
            slug: f.slug.clone(),
            title: f.title.clone(),
            severity: f.severity.to_string(),
            area: f.area.clone(),
            target: format!("{:?}", f.target).to_ascii_lowercase(),
            caf: f.caf.clone(),
            what: f.docs.what.trim().to_string(),
            why: f.docs.why.trim().to_string(),
            fix: f.docs.fix.trim().to_string(),
            fix_policy: f.docs.fix_policy.as_ref().map(|s| s.trim().to_string()),
            reads: f
                .reads
                .iter()
                .map(|r| ReadDoc {
                    path: r.path.clone(),
                    expected: r.expected.clone(),
                    default: r.default.as_ref().map(toml_to_json),
                    default_reason: r.default_reason.clone(),
                    kind: r.is_bool().then_some("bool"),
                })
                .collect(),
            data: f.data.clone(),
            params: f
                .params
                .iter()
                .map(|p| ParamDoc {
                    name: p.name.clone(),
                    kind: match p.kind {
                        ParamKind::String => "string",
                        ParamKind::StringList => "string_list",
                        ParamKind::Bool => "bool",
                        ParamKind::Integer => "integer",
                    },
                    default: toml_to_json(&p.default),
                    doc: p.doc.trim().to_string(),
                })
                .collect(),
            policies: f.policies.clone(),
            references: f.references.clone(),
            unverified: f.unverified.clone(),
            logic: match check.logic {
                Logic::Cel { .. } => "cel",
                Logic::Rust(_) => "rust",
            },
            source: check.source.clone(),
        }
    }

    /// The text `lzaudit checks explain ID` prints.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} {} ({})\nseverity: {} · area: {} · target: {} · logic: {}\n\nCAF: \"{}\"\n\n## What it checks\n{}\n\n## Why it matters\n{}\n\n## How to fix\n{}\n",
            self.id,
            self.title,
            self.slug,
            self.severity,
            self.area,
            self.target,
            self.logic,
            self.caf,
            self.what,
            self.why,
            self.fix
        );
        if let Some(policy) = &self.fix_policy {
            out.push_str(&format!("\n## Enforce with Azure Policy\n{policy}\n"));
        }
        out.push_str("\n## What it reads\n");
        for read in &self.reads {
            out.push_str(&format!("- {} (expected: {}", read.path, read.expected));
            if read.kind == Some("bool") {
                out.push_str("; a boolean, the strings \"true\"/\"false\" accepted");
            }
            match (&read.default, &read.default_reason) {
                (Some(default), Some(reason)) => {
                    out.push_str(&format!("; when absent: {default}, because {reason}"));
                }
                (Some(default), None) => {
                    out.push_str(&format!("; ARM default when absent: {default}"));
                }
                (None, _) => {}
            }
            out.push_str(")\n");
        }
        for api in &self.data {
            out.push_str(&format!("- API: {api}\n"));
        }
        if !self.params.is_empty() {
            out.push_str("\n## Parameters\n");
            for p in &self.params {
                out.push_str(&format!(
                    "- {} ({}, default {}): {}\n",
                    p.name, p.kind, p.default, p.doc
                ));
            }
        }
        if !self.unverified.is_empty() {
            out.push_str("\n## Unverified details (catalogue U)\n");
            for u in &self.unverified {
                out.push_str(&format!("- {u}\n"));
            }
        }
        if !self.policies.is_empty() {
            out.push_str(&format!(
                "\n## Related built-in policies\n{}\n",
                self.policies.join(", ")
            ));
        }
        if !self.references.is_empty() {
            out.push_str("\n## References\n");
            for r in &self.references {
                out.push_str(&format!("- {r}\n"));
            }
        }
        out
    }
}
