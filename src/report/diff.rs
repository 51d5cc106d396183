//! Drift between two audits (`lzaudit diff OLD NEW`): what failed anew, what got fixed, which
//! other statuses changed, and which resources appeared or disappeared, per check.
//!
//! Both sides are JSON reports (`lzaudit.report/v1`), or both are inventory snapshots, which the
//! caller audits with one profile into the same report JSON first; the kind is told by the
//! `schema` field, and anything else is an error. Findings are matched by check and resource ID
//! (ARM IDs compared case-insensitively, since ARM itself varies their casing).
//!
//! - `new_failures`: `fail` in NEW, and not `fail` in OLD (including absent from OLD).
//! - `fixed`: `fail` or `warn` in OLD, `pass` or `not_applicable` in NEW.
//! - `changed`: every other status change of a finding present in both.
//! - `new_resources` / `removed_resources`: (check, resource) pairs present on one side only.
//!
//! The comparison is worse (exit code 1) when there is a new failure, or a finding present in
//! both went from settled (`pass`, `not_applicable`, `waived`) to `warn`, or from anything to
//! `unknown`. The JSON form is `lzaudit.diff/v1` (see the README); within v1 fields are only
//! added.

use std::collections::BTreeMap;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::inventory::{self, Inventory};

pub const SCHEMA: &str = "lzaudit.diff/v1";

/// What a side of the comparison was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Report,
    Snapshot,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Report => "a JSON report",
            Kind::Snapshot => "an inventory snapshot",
        }
    }
}

/// A finding as the diff needs it, read back from report JSON.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub check: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub severity: String,
    pub status: String,
    pub resource: String,
    #[serde(default)]
    pub subscription: String,
    #[serde(default)]
    pub subscription_name: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct ReportJson {
    #[serde(default)]
    generated_at: String,
    #[serde(default)]
    profile: String,
    findings: Vec<Finding>,
}

/// One side: where it came from and its findings.
#[derive(Debug, Clone)]
pub struct Side {
    pub kind: Kind,
    pub path: String,
    pub generated_at: String,
    pub profile: String,
    pub findings: Vec<Finding>,
}

impl Side {
    /// Reads a report or a snapshot; a snapshot is turned into report JSON by `audit`.
    pub fn parse(
        text: &str,
        path: &str,
        audit: impl FnOnce(&Inventory) -> Value,
    ) -> anyhow::Result<Side> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| anyhow!("{path} is not JSON: {e}"))?;
        let schema = value.get("schema").and_then(Value::as_str).unwrap_or("");
        let (kind, report) = if schema == super::SCHEMA {
            (Kind::Report, value)
        } else if schema == inventory::SCHEMA {
            let inventory = inventory::snapshot::from_str(text, path)?;
            (Kind::Snapshot, audit(&inventory))
        } else {
            let found = if schema.is_empty() {
                "no \"schema\" field".to_string()
            } else {
                format!("schema \"{schema}\"")
            };
            return Err(anyhow!(
                "{path} has {found}: lzaudit diff compares two JSON reports (\"{}\", from `lzaudit audit --format json`) or two inventory snapshots (\"{}\")",
                super::SCHEMA,
                inventory::SCHEMA
            ));
        };
        let report: ReportJson = serde_path_to_error::deserialize(report)
            .map_err(|e| anyhow!("{path}: at JSON path `{}`: {}", e.path(), e.inner()))?;
        Ok(Side {
            kind,
            path: path.to_string(),
            generated_at: report.generated_at,
            profile: report.profile,
            findings: report.findings,
        })
    }
}

/// A finding on both sides whose status differs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub check: String,
    pub title: String,
    pub severity: String,
    pub resource: String,
    pub subscription: String,
    pub subscription_name: String,
    /// `null` for a new failure on a resource OLD did not have.
    pub old_status: Option<String>,
    pub new_status: String,
    pub message: String,
    pub worse: bool,
}

/// A (check, resource) pair present on one side only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Presence {
    pub check: String,
    pub resource: String,
    pub subscription: String,
    pub subscription_name: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SideInfo {
    pub kind: Kind,
    pub path: String,
    pub generated_at: String,
    pub profile: String,
    pub findings: usize,
    pub fail: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiffSummary {
    pub new_failures: usize,
    pub fixed: usize,
    pub changed: usize,
    pub worsened: usize,
    pub new_resources: usize,
    pub removed_resources: usize,
    /// Whether anything got worse (exit code 1).
    pub worse: bool,
}

/// The comparison (`lzaudit.diff/v1`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diff {
    pub schema: &'static str,
    pub old: SideInfo,
    pub new: SideInfo,
    pub new_failures: Vec<Change>,
    pub fixed: Vec<Change>,
    pub changed: Vec<Change>,
    pub new_resources: Vec<Presence>,
    pub removed_resources: Vec<Presence>,
    pub summary: DiffSummary,
}

fn key(f: &Finding) -> (String, String) {
    (f.check.clone(), f.resource.to_ascii_lowercase())
}

fn is_settled(status: &str) -> bool {
    matches!(status, "pass" | "not_applicable" | "waived")
}

/// Whether going from `old` to `new` is worse (for a finding on both sides; `fail` is handled
/// as a new failure).
fn worsened(old: &str, new: &str) -> bool {
    (new == "unknown" && old != "unknown") || (new == "warn" && is_settled(old))
}

fn info(side: &Side) -> SideInfo {
    SideInfo {
        kind: side.kind,
        path: side.path.clone(),
        generated_at: side.generated_at.clone(),
        profile: side.profile.clone(),
        findings: side.findings.len(),
        fail: side.findings.iter().filter(|f| f.status == "fail").count(),
    }
}

fn change(old: Option<&Finding>, new: &Finding, worse: bool) -> Change {
    Change {
        check: new.check.clone(),
        title: new.title.clone(),
        severity: new.severity.clone(),
        resource: new.resource.clone(),
        subscription: new.subscription.clone(),
        subscription_name: new.subscription_name.clone(),
        old_status: old.map(|o| o.status.clone()),
        new_status: new.status.clone(),
        message: new.message.clone(),
        worse,
    }
}

fn presence(f: &Finding) -> Presence {
    Presence {
        check: f.check.clone(),
        resource: f.resource.clone(),
        subscription: f.subscription.clone(),
        subscription_name: f.subscription_name.clone(),
        status: f.status.clone(),
    }
}

/// Compares two sides. Every list is sorted by check, then resource (case-insensitively).
pub fn compare(old: &Side, new: &Side) -> Diff {
    let old_by: BTreeMap<_, &Finding> = old.findings.iter().map(|f| (key(f), f)).collect();
    let new_by: BTreeMap<_, &Finding> = new.findings.iter().map(|f| (key(f), f)).collect();
    let mut diff = Diff {
        schema: SCHEMA,
        old: info(old),
        new: info(new),
        new_failures: vec![],
        fixed: vec![],
        changed: vec![],
        new_resources: vec![],
        removed_resources: vec![],
        summary: DiffSummary::default(),
    };
    for (k, n) in &new_by {
        let o = old_by.get(k).copied();
        if n.status == "fail" && o.is_none_or(|o| o.status != "fail") {
            diff.new_failures.push(change(o, n, true));
        }
        let Some(o) = o else {
            diff.new_resources.push(presence(n));
            continue;
        };
        if o.status == n.status || n.status == "fail" {
            continue;
        }
        if matches!(o.status.as_str(), "fail" | "warn")
            && matches!(n.status.as_str(), "pass" | "not_applicable")
        {
            diff.fixed.push(change(Some(o), n, false));
        } else {
            diff.changed
                .push(change(Some(o), n, worsened(&o.status, &n.status)));
        }
    }
    for (k, o) in &old_by {
        if !new_by.contains_key(k) {
            diff.removed_resources.push(presence(o));
        }
    }
    let worsened = diff.changed.iter().filter(|c| c.worse).count();
    diff.summary = DiffSummary {
        new_failures: diff.new_failures.len(),
        fixed: diff.fixed.len(),
        changed: diff.changed.len(),
        worsened,
        new_resources: diff.new_resources.len(),
        removed_resources: diff.removed_resources.len(),
        worse: !diff.new_failures.is_empty() || worsened > 0,
    };
    diff
}

impl Diff {
    /// Whether something got worse: a new failure or a worsened status.
    pub fn is_worse(&self) -> bool {
        self.summary.worse
    }

    pub fn to_json(&self) -> String {
        super::json::to_string_pretty(self)
    }

    /// Plain text for a terminal or a log: a headline, then one section per non-empty list.
    /// Everything read from the reports is made printable (`text::printable`): a report is
    /// ARM's text, and this goes to terminals and pipeline logs.
    pub fn to_text(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "lzaudit diff: {} ({}) -> {} ({})\n{} new failure(s), {} fixed, {} other change(s) ({} worse), {} new and {} removed resource finding(s): {}\n",
            p(&self.old.path),
            side_label(&self.old),
            p(&self.new.path),
            side_label(&self.new),
            s.new_failures,
            s.fixed,
            s.changed,
            s.worsened,
            s.new_resources,
            s.removed_resources,
            if s.worse { "WORSE" } else { "not worse" }
        );
        let changes = |out: &mut String, title: &str, list: &[Change]| {
            if list.is_empty() {
                return;
            }
            out.push_str(&format!("\n{title} ({}):\n", list.len()));
            for c in list {
                out.push_str(&format!(
                    "  {}{} [{}] {}: {} -> {}{}\n",
                    if c.worse { "! " } else { "" },
                    p(&c.check),
                    p(&c.severity),
                    p(&c.resource),
                    p(c.old_status.as_deref().unwrap_or("(absent)")),
                    p(&c.new_status),
                    if c.message.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", p(&c.message))
                    }
                ));
            }
        };
        let presences = |out: &mut String, title: &str, list: &[Presence]| {
            if list.is_empty() {
                return;
            }
            out.push_str(&format!("\n{title} ({}):\n", list.len()));
            for f in list {
                out.push_str(&format!(
                    "  {} {}: {}\n",
                    p(&f.check),
                    p(&f.resource),
                    p(&f.status)
                ));
            }
        };
        changes(&mut out, "New failures", &self.new_failures);
        changes(&mut out, "Fixed", &self.fixed);
        changes(&mut out, "Other status changes", &self.changed);
        presences(&mut out, "New resources", &self.new_resources);
        presences(&mut out, "Removed resources", &self.removed_resources);
        out
    }
}

fn side_label(side: &SideInfo) -> String {
    let mut label = match side.kind {
        Kind::Report => "report".to_string(),
        Kind::Snapshot => "snapshot".to_string(),
    };
    if !side.profile.is_empty() {
        label.push_str(&format!(", profile {}", p(&side.profile)));
    }
    if !side.generated_at.is_empty() && side.kind == Kind::Report {
        label.push_str(&format!(", {}", p(&side.generated_at)));
    }
    label
}

fn p(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::printable(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(check: &str, resource: &str, status: &str) -> Finding {
        Finding {
            check: check.into(),
            title: format!("title of {check}"),
            severity: "high".into(),
            status: status.into(),
            resource: resource.into(),
            subscription: "s".into(),
            subscription_name: "sub".into(),
            message: format!("{status} message"),
        }
    }

    fn side(findings: Vec<Finding>) -> Side {
        Side {
            kind: Kind::Report,
            path: "x.json".into(),
            generated_at: String::new(),
            profile: "caf-aks".into(),
            findings,
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let old = side(vec![
            f("A", "/r/1", "pass"),
            f("A", "/r/2", "fail"),
            f("A", "/r/3", "warn"),
            f("A", "/r/4", "pass"),
            f("A", "/r/5", "fail"),
            f("A", "/r/6", "pass"),
            f("A", "/r/7", "waived"),
            f("A", "/r/gone", "pass"),
            f("B", "/R/Same", "fail"),
        ]);
        let new = side(vec![
            f("A", "/r/1", "fail"),           // new failure
            f("A", "/r/2", "pass"),           // fixed
            f("A", "/r/3", "not_applicable"), // fixed
            f("A", "/r/4", "warn"),           // worse
            f("A", "/r/5", "warn"),           // better, changed
            f("A", "/r/6", "unknown"),        // worse
            f("A", "/r/7", "fail"),           // new failure (waiver gone)
            f("A", "/r/new", "fail"),         // new failure and new resource
            f("B", "/r/same", "fail"),        // the same finding, other casing
        ]);
        let d = compare(&old, &new);
        let ids = |l: &[Change]| l.iter().map(|c| c.resource.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.new_failures), ["/r/1", "/r/7", "/r/new"]);
        assert_eq!(d.new_failures[2].old_status, None);
        assert_eq!(d.new_failures[1].old_status.as_deref(), Some("waived"));
        assert_eq!(ids(&d.fixed), ["/r/2", "/r/3"]);
        assert_eq!(ids(&d.changed), ["/r/4", "/r/5", "/r/6"]);
        assert_eq!(
            d.changed.iter().map(|c| c.worse).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert_eq!(d.new_resources.len(), 1);
        assert_eq!(d.new_resources[0].resource, "/r/new");
        assert_eq!(d.removed_resources.len(), 1);
        assert_eq!(d.removed_resources[0].resource, "/r/gone");
        assert_eq!(
            d.summary,
            DiffSummary {
                new_failures: 3,
                fixed: 2,
                changed: 3,
                worsened: 2,
                new_resources: 1,
                removed_resources: 1,
                worse: true,
            }
        );
    }

    #[test]
    fn improvements_and_removals_alone_are_not_worse() {
        let old = side(vec![f("A", "/r/1", "fail"), f("A", "/r/2", "warn")]);
        let new = side(vec![f("A", "/r/1", "warn")]);
        let d = compare(&old, &new);
        assert!(!d.is_worse(), "{d:#?}");
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.removed_resources.len(), 1);
        assert!(!compare(&old, &old).is_worse());
        assert_eq!(compare(&old, &old).summary, DiffSummary::default());
    }

    #[test]
    fn a_new_resource_that_warns_is_listed_but_not_worse() {
        let d = compare(&side(vec![]), &side(vec![f("A", "/r/1", "warn")]));
        assert!(!d.is_worse());
        assert_eq!(d.new_resources.len(), 1);
    }

    #[test]
    fn sides_are_told_apart_by_schema() {
        let report = json!({"schema": "lzaudit.report/v1", "profile": "p", "generated_at": "t",
            "findings": [{"check": "A", "status": "pass", "resource": "/r/1"}]});
        let side = Side::parse(&report.to_string(), "r.json", |_| unreachable!()).unwrap();
        assert_eq!(side.kind, Kind::Report);
        assert_eq!(side.findings.len(), 1);

        let other = json!({"schema": "lzaudit.diff/v1"}).to_string();
        let err = Side::parse(&other, "d.json", |_| unreachable!()).unwrap_err();
        assert!(
            err.to_string().contains("schema \"lzaudit.diff/v1\""),
            "{err}"
        );
        let err = Side::parse("{}", "e.json", |_| unreachable!()).unwrap_err();
        assert!(err.to_string().contains("no \"schema\" field"), "{err}");
        let err = Side::parse("not json", "n.json", |_| unreachable!()).unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let broken = json!({"schema": "lzaudit.report/v1", "findings": [{"check": 1}]});
        let err = Side::parse(&broken.to_string(), "b.json", |_| unreachable!()).unwrap_err();
        assert!(err.to_string().contains("findings[0]"), "{err}");
    }

    #[test]
    fn a_snapshot_is_audited_by_the_callback() {
        let inv = Inventory::new("https://management.azure.com", "arm", Default::default());
        let text = inventory::snapshot::to_string(&inv);
        let side = Side::parse(&text, "s.json", |_| {
            json!({"schema": "lzaudit.report/v1", "findings": [
                {"check": "A", "status": "fail", "resource": "/r/1"}]})
        })
        .unwrap();
        assert_eq!(side.kind, Kind::Snapshot);
        assert_eq!(side.findings[0].status, "fail");
    }

    #[test]
    fn json_and_text_forms() {
        let d = compare(
            &side(vec![f("A", "/r/1", "pass")]),
            &side(vec![f("A", "/r/1", "fail")]),
        );
        let v: Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(v["schema"], "lzaudit.diff/v1");
        for field in [
            "old",
            "new",
            "new_failures",
            "fixed",
            "changed",
            "new_resources",
            "removed_resources",
            "summary",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
        assert_eq!(v["new_failures"][0]["old_status"], "pass");
        let text = d.to_text();
        assert!(text.contains("1 new failure(s)"), "{text}");
        assert!(
            text.contains("New failures (1):\n  ! A [high] /r/1: pass -> fail"),
            "{text}"
        );
        assert!(text.contains("WORSE"), "{text}");
    }

    #[test]
    fn hostile_names_and_messages_stay_on_their_line_in_the_text_form() {
        let hostile = "/r/x\r\n##vso[task.setvariable variable=x]1\u{1b}[31m";
        let mut new = f("A", hostile, "fail");
        new.message = "boom\n##[error]x".into();
        let d = compare(&side(vec![f("A", hostile, "pass")]), &side(vec![new]));
        let text = d.to_text();
        assert!(crate::text::is_pipeline_safe(&text), "{text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
        assert!(
            text.contains("  ! A [high] /r/x\\r\\n\\u{23}#vso[task.setvariable variable=x]1\\u{1b}[31m: pass -> fail — boom\\n\\u{23}#[error]x\n"),
            "{text}"
        );
        // The JSON form keeps the exact strings, escaped for printing.
        let json = d.to_json();
        assert!(crate::text::is_pipeline_safe(&json), "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["new_failures"][0]["resource"], hostile);
    }
}
