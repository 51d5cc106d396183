//! The check catalogue: built-in check files embedded at build time, plus user check files.
//!
//! `registry` is the one table of built-in files; `spec` is the file format; this module turns
//! files into validated `Check`s (CEL compiled, evaluators bound, parameters typed) and answers
//! lookups. A malformed file is an error naming file, line and field, never a panic.

pub mod explain;
pub mod registry;
pub mod spec;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use spec::{CheckFile, LogicKind, ParamKind};
pub use spec::{Severity, SpecError, Target};

use crate::eval::{Evaluator, Status, evaluators};

/// A validated check, ready to run.
#[derive(Clone)]
pub struct Check {
    pub file: CheckFile,
    /// Where it came from (`checks/cluster/AKS-020.toml` or a user path).
    pub source: String,
    pub logic: Logic,
}

#[derive(Clone)]
pub enum Logic {
    Cel {
        rules: Vec<CelRule>,
        otherwise: CelRule,
    },
    Rust(Evaluator),
}

#[derive(Clone)]
pub struct CelRule {
    pub when: Option<Arc<crate::eval::cel::Compiled>>,
    pub source: String,
    pub status: Status,
    pub message: String,
}

impl Check {
    pub fn id(&self) -> &str {
        &self.file.id
    }

    pub fn severity(&self) -> Severity {
        self.file.severity
    }

    /// Parameter defaults as JSON, by name.
    pub fn default_params(&self) -> BTreeMap<String, Value> {
        self.file
            .params
            .iter()
            .map(|p| (p.name.clone(), spec::toml_to_json(&p.default)))
            .collect()
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.file.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Every check available to a run, ordered by ID.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    checks: Vec<Check>,
}

impl Catalogue {
    /// The built-in checks. They are tested at build time, so a failure here is a bug.
    pub fn builtin() -> Result<Catalogue, SpecError> {
        let mut catalogue = Catalogue::default();
        for (path, text) in registry::BUILTIN_CHECKS {
            catalogue.add(load(text, path, true)?)?;
        }
        Ok(catalogue)
    }

    /// The built-in checks plus every `*.toml` under `dir` (recursively), for `--checks DIR`.
    pub fn with_user_checks(dir: &Path) -> Result<Catalogue, SpecError> {
        let mut catalogue = Catalogue::builtin()?;
        let mut files = Vec::new();
        collect_toml(dir, &mut files).map_err(|e| SpecError::Toml {
            file: dir.display().to_string(),
            message: format!("cannot read check directory: {e}"),
        })?;
        files.sort();
        for path in files {
            let text = crate::input::read_text(&path, &crate::input::CHECK_FILE)?;
            catalogue.add(load(&text, &path.display().to_string(), false)?)?;
        }
        Ok(catalogue)
    }

    fn add(&mut self, check: Check) -> Result<(), SpecError> {
        if let Some(existing) = self.get(check.id()) {
            return Err(SpecError::Invalid {
                file: check.source.clone(),
                field: "id".into(),
                message: format!("{} is already defined by {}", check.id(), existing.source),
            });
        }
        self.checks.push(check);
        self.checks.sort_by(|a, b| a.file.id.cmp(&b.file.id));
        Ok(())
    }

    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.file.id.eq_ignore_ascii_case(id))
    }

    /// The IDs closest to a mistyped one, for "did you mean" hints.
    pub fn closest(&self, id: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &str)> = self
            .checks
            .iter()
            .map(|c| {
                let score = strsim::normalized_levenshtein(
                    &id.to_ascii_uppercase(),
                    &c.file.id.to_ascii_uppercase(),
                );
                (score, c.file.id.as_str())
            })
            .filter(|(score, _)| *score >= 0.5)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(3)
            .map(|(_, id)| id.to_string())
            .collect()
    }
}

fn collect_toml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses and validates one check file.
pub fn load(text: &str, source: &str, builtin: bool) -> Result<Check, SpecError> {
    let file = spec::parse(text, source)?;
    let invalid = |field: &str, message: String| SpecError::Invalid {
        file: source.to_string(),
        field: field.to_string(),
        message,
    };
    if !is_valid_id(&file.id) {
        return Err(invalid(
            "id",
            format!(
                "`{}` is not an ID of the form AKS-001 (letters, dash, three digits)",
                file.id
            ),
        ));
    }
    for (field, value) in [
        ("slug", &file.slug),
        ("title", &file.title),
        ("caf", &file.caf),
        ("docs.what", &file.docs.what),
        ("docs.why", &file.docs.why),
        ("docs.fix", &file.docs.fix),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty".into()));
        }
    }
    for (i, read) in file.reads.iter().enumerate() {
        if read.kind == Some(spec::ReadKind::Bool)
            && read.default.as_ref().is_some_and(|d| !d.is_bool())
        {
            return Err(invalid(
                &format!("reads[{i}].default"),
                format!(
                    "`{}` is declared type bool but its default is not a boolean",
                    read.path
                ),
            ));
        }
        if let Some(message) = read_path_problem(&read.path) {
            return Err(invalid(&format!("reads[{i}].path"), message));
        }
        if read.default_reason.is_some() && read.default.is_none() {
            return Err(invalid(
                &format!("reads[{i}].default_reason"),
                format!(
                    "`{}` gives a reason for a default it does not declare",
                    read.path
                ),
            ));
        }
    }
    for (i, param) in file.params.iter().enumerate() {
        let ok = match param.kind {
            ParamKind::String => param.default.is_str(),
            ParamKind::StringList => param
                .default
                .as_array()
                .is_some_and(|a| a.iter().all(toml::Value::is_str)),
            ParamKind::Bool => param.default.is_bool(),
            ParamKind::Integer => param.default.is_integer(),
        };
        if !ok {
            return Err(invalid(
                &format!("params[{i}].default"),
                format!(
                    "the default of `{}` does not match its type {:?}",
                    param.name, param.kind
                ),
            ));
        }
    }
    let logic = match file.logic.kind {
        LogicKind::Rust => {
            let evaluator = evaluators::lookup(&file.id).filter(|_| builtin).ok_or_else(|| {
                invalid(
                    "logic.kind",
                    format!(
                        "`rust` needs an evaluator compiled into lzaudit for {}; user checks must use `cel`",
                        file.id
                    ),
                )
            })?;
            Logic::Rust(evaluator)
        }
        LogicKind::Cel => compile_cel(text, source, &file)?,
    };
    Ok(Check {
        file,
        source: source.to_string(),
        logic,
    })
}

fn compile_cel(text: &str, source: &str, file: &CheckFile) -> Result<Logic, SpecError> {
    let compile = |rule: &spec::RuleFile, field: String| -> Result<CelRule, SpecError> {
        let when = match &rule.when {
            None => None,
            Some(spanned) => {
                let program = crate::eval::cel::compile(spanned.get_ref()).map_err(|err| {
                    let (line, column) = spec::line_col(text, spanned.span().start);
                    SpecError::Field {
                        file: source.to_string(),
                        line,
                        column,
                        field: field.clone(),
                        message: err.to_string(),
                    }
                })?;
                Some(Arc::new(program))
            }
        };
        Ok(CelRule {
            source: rule
                .when
                .as_ref()
                .map(|w| w.get_ref().clone())
                .unwrap_or_default(),
            when,
            status: rule.status,
            message: rule.message.clone(),
        })
    };
    let mut rules = Vec::new();
    for (i, rule) in file.logic.rules.iter().enumerate() {
        if rule.when.is_none() {
            return Err(SpecError::Invalid {
                file: source.to_string(),
                field: format!("logic.rules[{i}].when"),
                message:
                    "every rule needs a `when` expression (use `logic.otherwise` for the fallback)"
                        .into(),
            });
        }
        rules.push(compile(rule, format!("logic.rules[{i}].when"))?);
    }
    let otherwise = file
        .logic
        .otherwise
        .as_ref()
        .ok_or_else(|| SpecError::Invalid {
            file: source.to_string(),
            field: "logic.otherwise".into(),
            message: "a `cel` check needs an `otherwise` rule (the status when no rule matches)"
                .into(),
        })?;
    if otherwise.when.is_some() {
        return Err(SpecError::Invalid {
            file: source.to_string(),
            field: "logic.otherwise.when".into(),
            message: "`otherwise` applies when no rule matched; it takes no `when`".into(),
        });
    }
    let otherwise = compile(otherwise, "logic.otherwise".into())?;
    Ok(Logic::Cel { rules, otherwise })
}

/// Why a read's path cannot be projected: an empty segment (`a..b`, `[]`, a trailing dot) names
/// no property, and more than [`MAX_READ_SEGMENTS`](crate::eval::cel::limits::MAX_READ_SEGMENTS)
/// segments would take projection deeper than the evaluation thread's stack allows.
fn read_path_problem(path: &str) -> Option<String> {
    use crate::eval::cel::limits::MAX_READ_SEGMENTS;
    let segments = path.split('.').count();
    if segments > MAX_READ_SEGMENTS {
        return Some(format!(
            "the path has {segments} segments; a read may have at most {MAX_READ_SEGMENTS}"
        ));
    }
    let empty = path.split('.').any(|segment| {
        segment
            .strip_suffix("[]")
            .unwrap_or(segment)
            .trim()
            .is_empty()
    });
    empty.then(|| {
        String::from(
            "the path has an empty segment: write property names separated by single dots, with \
             `[]` after a name to map over an array (`properties.agentPoolProfiles[].vmSize`)",
        )
    })
}

fn is_valid_id(id: &str) -> bool {
    let Some((prefix, number)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && number.len() == 3
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_reason_needs_a_default() {
        let (_, text) = registry::BUILTIN_CHECKS
            .iter()
            .find(|(path, _)| path.ends_with("AKS-020.toml"))
            .unwrap();
        // The first read's `default = false` becomes a reason without a default.
        let text = text.replacen(
            "default = false\n",
            "default_reason = \"no default to explain\"\n",
            1,
        );
        let err = load(&text, "checks/x.toml", true).unwrap_err().to_string();
        assert!(
            err.contains("reads[0].default_reason") && err.contains("does not declare"),
            "{err}"
        );
    }

    #[test]
    fn a_boolean_read_needs_a_boolean_default() {
        let (_, text) = registry::BUILTIN_CHECKS
            .iter()
            .find(|(path, _)| path.ends_with("AKS-020.toml"))
            .unwrap();
        let text = text.replacen(
            "default = false
",
            "type = \"bool\"\ndefault = \"no\"\n",
            1,
        );
        let err = load(&text, "checks/x.toml", true).unwrap_err().to_string();
        assert!(
            err.contains("reads[0].default") && err.contains("not a boolean"),
            "{err}"
        );
        let check = load(
            &text.replacen("default = \"no\"\n", "default = false\n", 1),
            "checks/x.toml",
            true,
        )
        .unwrap();
        assert!(
            check
                .file
                .reads
                .iter()
                .all(|r| r.path.contains("authorizedIPRanges") != r.is_bool())
        );
    }

    /// AKS-020 with its first read's path replaced.
    fn with_first_read_path(path: &str) -> String {
        let (_, text) = registry::BUILTIN_CHECKS
            .iter()
            .find(|(path, _)| path.ends_with("AKS-020.toml"))
            .unwrap();
        text.replacen(
            "path = \"properties.apiServerAccessProfile.enablePrivateCluster\"",
            &format!("path = \"{path}\""),
            1,
        )
    }

    /// Found by the `check` fuzz target: a read path of about 124 000 segments (250 KB, well
    /// inside a check file's 1 MiB) loaded, then overflowed the evaluation thread's 64 MiB stack
    /// while projecting the read, killing the process with SIGSEGV.
    #[test]
    fn a_read_path_deeper_than_the_limit_is_refused_at_load() {
        let deep = vec!["a"; 150_000].join(".");
        let err = load(&with_first_read_path(&deep), "checks/x.toml", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reads[0].path")
                && err.contains("150000 segments")
                && err.contains("at most 32"),
            "{err}"
        );
        let at_the_limit = vec!["a"; crate::eval::cel::limits::MAX_READ_SEGMENTS].join(".");
        assert!(load(&with_first_read_path(&at_the_limit), "checks/x.toml", false).is_ok());
    }

    #[test]
    fn a_read_path_with_an_empty_segment_is_refused_at_load() {
        for path in [
            "",
            "properties..enabled",
            "properties.",
            "[]",
            "properties.[].x",
        ] {
            let err = load(&with_first_read_path(path), "checks/x.toml", false)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("reads[0].path") && err.contains("empty segment"),
                "{path:?}: {err}"
            );
        }
    }
}
