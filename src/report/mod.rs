//! The report: one sorted model built from findings, the profile and the inventory's coverage,
//! from which every output format renders, one file per format (`table`, `json`, `sarif`,
//! `junit`, `markdown`, `html`, `csv`). Renderers that need a check's documentation take the
//! `Catalogue` the audit ran with. Each renderer's module doc says which findings it shows and
//! how; those for people list them worst first (`ReportStatus::BY_URGENCY`), deterministically.
//!
//! The JSON form of `Report` is a documented contract (`lzaudit.report/v1`, see the README):
//! fields are only ever added, never renamed or removed, within v1. Everything is sorted
//! (subscription, check, resource) so two runs over the same data render identically.

pub mod azure_devops;
pub mod csv;
pub mod diff;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
mod spool;
pub mod table;

#[cfg(test)]
pub(crate) mod sample;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::catalogue::{Catalogue, Severity};
use crate::eval::{Finding, Status};
use crate::interned::Text;
use crate::inventory::{Inventory, Read, RequestedScope, SkippedSubscription, Tool, arm};
use crate::profile::{AppliedWaiver, Profile, WaiverReport};

pub const SCHEMA: &str = "lzaudit.report/v1";

/// A finding's status in the report: the evaluation status, or `waived`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Pass,
    Warn,
    Fail,
    NotApplicable,
    Unknown,
    Waived,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Pass => "pass",
            ReportStatus::Warn => "warn",
            ReportStatus::Fail => "fail",
            ReportStatus::NotApplicable => "not_applicable",
            ReportStatus::Unknown => "unknown",
            ReportStatus::Waived => "waived",
        }
    }

    /// Every status, worst first: the order people read findings in.
    pub const BY_URGENCY: [ReportStatus; 6] = [
        ReportStatus::Fail,
        ReportStatus::Unknown,
        ReportStatus::Warn,
        ReportStatus::Waived,
        ReportStatus::Pass,
        ReportStatus::NotApplicable,
    ];

    /// Position in `BY_URGENCY`: lower is worse. A group of findings is as bad as its worst.
    pub fn urgency(self) -> usize {
        Self::BY_URGENCY
            .iter()
            .position(|s| *s == self)
            .expect("every status is listed")
    }

    /// The status for people: `not applicable` rather than `not_applicable`.
    pub fn label(self) -> &'static str {
        match self {
            ReportStatus::NotApplicable => "not applicable",
            other => other.as_str(),
        }
    }

    /// Whether nothing is left to do: the check holds, does not apply, or is knowingly waived.
    /// `unknown` is not settled: missing data could hide a failure.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ReportStatus::Pass | ReportStatus::NotApplicable | ReportStatus::Waived
        )
    }
}

impl From<Status> for ReportStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => ReportStatus::Pass,
            Status::Warn => ReportStatus::Warn,
            Status::Fail => ReportStatus::Fail,
            Status::NotApplicable => ReportStatus::NotApplicable,
            Status::Unknown => ReportStatus::Unknown,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub generated_at: String,
    pub scope: ReportScope,
    pub profile: String,
    pub fail_on: String,
    pub summary: Summary,
    /// Every scope × API that could not be read: the audit is incomplete where these are.
    pub coverage: Vec<Read>,
    pub skipped_subscriptions: Vec<SkippedSubscription>,
    pub waivers: Vec<WaiverReport>,
    pub findings: Vec<ReportFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportScope {
    pub tenant_id: Option<String>,
    pub management_group: Option<String>,
    pub requested_subscriptions: Vec<String>,
    pub subscriptions: Vec<SubscriptionRef>,
    /// `snapshot` or `live`, and when the data was collected.
    pub source: String,
    pub collected_at: String,
    pub arm_endpoint: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub not_applicable: usize,
    pub unknown: usize,
    pub waived: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportFinding {
    pub check: Text,
    /// Shared by every finding of the check (as `remediation`) and of the subscription (as
    /// `subscription_name`): a tenant of a thousand subscriptions has a hundred thousand
    /// findings, and a copy each of a check's remediation text is tens of megabytes.
    pub title: Arc<str>,
    pub severity: Severity,
    pub status: ReportStatus,
    pub resource: Text,
    pub subscription: Text,
    pub subscription_name: Arc<str>,
    pub message: Text,
    pub evidence: Vec<crate::eval::Evidence>,
    pub remediation: Arc<str>,
    pub waiver: Option<AppliedWaiver>,
}

impl ReportFinding {
    /// The resource's short name for tables: the last segment of its ID.
    pub fn resource_name(&self) -> &str {
        arm::last_segment(&self.resource)
    }

    /// Whether the finding is about the subscription itself rather than one of its resources.
    pub fn is_subscription_level(&self) -> bool {
        self.resource
            .eq_ignore_ascii_case(&format!("/subscriptions/{}", self.subscription))
    }

    /// The resource's name for people: its last segment, or `(subscription)`.
    pub fn resource_label(&self) -> &str {
        if self.is_subscription_level() {
            "(subscription)"
        } else {
            self.resource_name()
        }
    }

    /// The status the checks gave, underneath a waiver.
    pub fn original_status(&self) -> ReportStatus {
        self.waiver
            .as_ref()
            .map_or(self.status, |w| w.original_status.into())
    }

    /// The evidence as one line per item, for text formats.
    pub fn evidence_lines(&self) -> Vec<String> {
        self.evidence.iter().map(describe_evidence).collect()
    }

    /// The waiver as one sentence, when the finding is waived.
    pub fn waiver_line(&self) -> Option<String> {
        self.waiver.as_ref().map(|w| {
            format!(
                "waived (really {}) until {}: {} [{} at {}]",
                w.original_status, w.expires, w.reason, w.resource_pattern, w.location
            )
        })
    }
}

/// An evidence item as one line: `property: observed V, expected E (on R; note)`. The observed
/// value is compact JSON, so a string reads `"Free"` and a boolean `false`; a property ARM
/// omitted reads `absent`.
pub fn describe_evidence(e: &crate::eval::Evidence) -> String {
    let observed = if e.observed.is_null() {
        "absent".to_string()
    } else {
        e.observed.to_string()
    };
    let mut out = format!(
        "{}: observed {observed}, expected {}",
        e.property, e.expected
    );
    let context: Vec<String> = e
        .resource
        .iter()
        .map(|r| format!("on {r}"))
        .chain(e.note.iter().map(Text::to_string))
        .collect();
    if !context.is_empty() {
        out.push_str(&format!(" ({})", context.join("; ")));
    }
    out
}

/// Orders two strings as their ASCII-lower-cased forms would, without building them (ARM IDs
/// vary in case; sorting a tenant's findings must not allocate per comparison).
pub fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// One check as the report knows it: from its findings (profile severity included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRef<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub severity: Severity,
}

/// Where the data came from, for the report header.
pub struct Origin<'a> {
    pub source: &'a str,
    pub fail_on: &'a str,
    pub generated_at: String,
}

/// What the report takes from a check for each of its findings.
struct CheckInfo {
    title: Arc<str>,
    severity: Severity,
    remediation: Arc<str>,
}

/// A renderer that writes into an `io::Write`, run into a string (for `render` and the tests;
/// the audit itself writes into the report's file).
fn in_memory(render_to: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    render_to(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("every renderer writes UTF-8")
}

/// What a report takes from the inventory: small, so that the inventory (the largest thing
/// in memory) can be freed before the findings are turned into the report.
pub struct Facts {
    scope: RequestedScope,
    tenant_id: Option<String>,
    subscriptions: Vec<SubscriptionRef>,
    collected_at: String,
    arm_endpoint: String,
    coverage: Vec<Read>,
    skipped_subscriptions: Vec<SkippedSubscription>,
}

impl Facts {
    pub fn of(inventory: &Inventory) -> Facts {
        Facts {
            scope: inventory.scope.clone(),
            tenant_id: inventory.tenant_id.clone(),
            subscriptions: inventory
                .subscriptions
                .iter()
                .map(|s| SubscriptionRef {
                    id: s.subscription_id.clone(),
                    name: s.display_name.clone(),
                })
                .collect(),
            collected_at: inventory.collected_at.clone(),
            arm_endpoint: inventory.arm_endpoint.clone(),
            coverage: inventory.gaps().cloned().collect(),
            skipped_subscriptions: inventory.skipped_subscriptions.clone(),
        }
    }
}

/// Builds the report from evaluated (and waiver-applied) findings. Linear in findings: the
/// subscription names and the per-check facts are looked up in maps built once (a tenant has
/// thousands of subscriptions and hundreds of thousands of findings).
pub fn build(
    facts: Facts,
    catalogue: &Catalogue,
    profile: &Profile,
    findings: Vec<(Finding, Option<AppliedWaiver>)>,
    waivers: Vec<WaiverReport>,
    origin: Origin,
) -> Report {
    let names: HashMap<String, Arc<str>> = facts
        .subscriptions
        .iter()
        .map(|s| (s.id.to_ascii_lowercase(), Arc::from(s.name.as_str())))
        .collect();
    let mut checks: HashMap<Text, CheckInfo> = HashMap::new();
    let mut out: Vec<ReportFinding> = findings
        .into_iter()
        .map(|(f, waiver)| {
            let info = checks.entry(f.check.clone()).or_insert_with(|| {
                let check = catalogue.get(&f.check);
                CheckInfo {
                    title: Arc::from(check.map_or("", |c| c.file.title.as_str())),
                    severity: profile
                        .severity_of(&f.check, check.map_or(Severity::Medium, |c| c.severity())),
                    remediation: Arc::from(check.map_or("", |c| c.file.docs.fix.trim())),
                }
            });
            let status = if waiver.is_some() {
                ReportStatus::Waived
            } else {
                f.status.into()
            };
            ReportFinding {
                title: info.title.clone(),
                severity: info.severity,
                remediation: info.remediation.clone(),
                subscription_name: names
                    .get(&f.subscription.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_else(|| Arc::from("")),
                check: f.check,
                status,
                resource: f.resource,
                subscription: f.subscription,
                message: f.message,
                evidence: f.evidence,
                waiver,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.subscription_name, &a.subscription, &a.check)
            .cmp(&(&b.subscription_name, &b.subscription, &b.check))
            .then_with(|| cmp_ignore_ascii_case(&a.resource, &b.resource))
    });
    let mut summary = Summary::default();
    for f in &out {
        *match f.status {
            ReportStatus::Pass => &mut summary.pass,
            ReportStatus::Warn => &mut summary.warn,
            ReportStatus::Fail => &mut summary.fail,
            ReportStatus::NotApplicable => &mut summary.not_applicable,
            ReportStatus::Unknown => &mut summary.unknown,
            ReportStatus::Waived => &mut summary.waived,
        } += 1;
    }
    let RequestedScope {
        management_group,
        subscriptions: requested,
    } = facts.scope;
    Report {
        schema: SCHEMA,
        tool: Tool::current(),
        generated_at: origin.generated_at,
        scope: ReportScope {
            tenant_id: facts.tenant_id,
            management_group,
            requested_subscriptions: requested,
            subscriptions: facts.subscriptions,
            source: origin.source.to_string(),
            collected_at: facts.collected_at,
            arm_endpoint: facts.arm_endpoint,
        },
        profile: profile.name.clone(),
        fail_on: origin.fail_on.to_string(),
        summary,
        coverage: facts.coverage,
        skipped_subscriptions: facts.skipped_subscriptions,
        waivers,
        findings: out,
    }
}

impl Report {
    /// The checks that produced findings, by ID.
    pub fn checks(&self) -> Vec<CheckRef<'_>> {
        let mut by_id = BTreeMap::new();
        for f in &self.findings {
            by_id.entry(f.check.as_str()).or_insert(CheckRef {
                id: &f.check,
                title: &f.title,
                severity: f.severity,
            });
        }
        by_id.into_values().collect()
    }

    /// Every audited subscription, sorted the way findings are (name, then ID): the ones in
    /// scope, plus any a finding names that the scope does not list.
    pub fn subscriptions(&self) -> Vec<SubscriptionRef> {
        let mut out: Vec<SubscriptionRef> = self.scope.subscriptions.clone();
        let mut seen: HashSet<String> = out.iter().map(|s| s.id.to_ascii_lowercase()).collect();
        let mut previous: Option<&str> = None;
        for f in &self.findings {
            // Findings come sorted by subscription: most are the one just seen.
            if previous == Some(f.subscription.as_str()) {
                continue;
            }
            previous = Some(&f.subscription);
            if seen.insert(f.subscription.to_ascii_lowercase()) {
                out.push(SubscriptionRef {
                    id: f.subscription.to_string(),
                    name: f.subscription_name.to_string(),
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        out
    }

    /// Every subscription of `subscriptions()` with its findings (in report order), grouped in one
    /// pass: renderers that list findings per subscription use this rather than filtering all
    /// findings once per subscription.
    pub fn by_subscription(&self) -> Vec<(SubscriptionRef, Vec<&ReportFinding>)> {
        let subs = self.subscriptions();
        let index: HashMap<String, usize> = subs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.to_ascii_lowercase(), i))
            .collect();
        let mut groups: Vec<Vec<&ReportFinding>> = vec![Vec::new(); subs.len()];
        let mut last: Option<(&str, usize)> = None;
        for f in &self.findings {
            let i = match last {
                Some((id, i)) if id == f.subscription => i,
                _ => index[&f.subscription.to_ascii_lowercase()],
            };
            last = Some((&f.subscription, i));
            groups[i].push(f);
        }
        subs.into_iter().zip(groups).collect()
    }

    /// Whether any data could not be read or any finding is unknown.
    pub fn is_incomplete(&self) -> bool {
        !self.coverage.is_empty() || self.summary.unknown > 0
    }

    /// Whether a failing finding at or above `threshold` stands (waived ones do not).
    pub fn fails_at(&self, threshold: Option<Severity>) -> bool {
        let Some(threshold) = threshold else {
            return false;
        };
        self.findings
            .iter()
            .any(|f| f.status == ReportStatus::Fail && f.severity >= threshold)
    }
}
