//! SARIF 2.1.0, for code-scanning dashboards (GitHub code scanning, the Azure DevOps SARIF
//! viewer, Defender for DevOps): one `rule` per check with its documentation, one `result` per
//! `warn`/`fail` finding, located by the ARM resource ID as a *logical* location (there is no
//! source file), and the audit's blind spots as tool execution notifications.
//!
//! Built from the small serde structs below (only the SARIF properties lzaudit fills), not from a
//! SARIF crate. A waived finding stays a result, with a `suppression` carrying the waiver, so
//! dashboards show it as dismissed instead of fixed. `unknown` findings are not results (nothing
//! was found): they are notifications next to the coverage gaps that caused them. A test validates
//! the output against the OASIS schema.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{CheckRef, Report, ReportFinding, ReportStatus};
use crate::catalogue::{Catalogue, Severity};
use crate::profile::WaiverState;

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Where a check without a usable reference points: the guidance every check implements.
pub const CAF_AKS_SECURITY: &str = "https://learn.microsoft.com/azure/cloud-adoption-framework/scenarios/app-platform/aks/security";
/// The `partialFingerprints` key: one result per (check, resource), stable across runs.
pub const FINGERPRINT_KEY: &str = "lzaudit/checkResource/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: Vec<Invocation>,
    results: Results<'a>,
    properties: BTreeMap<&'static str, Value>,
}

/// The results, each built as it is written: a hundred thousand findings make some 90,000
/// results, which held whole as a list took 50 MiB beside the report.
struct Results<'a> {
    findings: &'a [ReportFinding],
    rule_index: &'a BTreeMap<&'a str, usize>,
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.findings
                .iter()
                .filter(|f| matches!(f.original_status(), ReportStatus::Warn | ReportStatus::Fail))
                .map(|f| result(f, self.rule_index[f.check.as_str()])),
        )
    }
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: String,
    version: String,
    semantic_version: String,
    rules: Vec<Rule>,
    notifications: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Message,
    full_description: Message,
    help: Help,
    help_uri: String,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct RuleProperties {
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    severity: Severity,
    tags: Vec<String>,
}

/// A notification descriptor (`reportingDescriptor` without the rule-only parts).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    id: &'static str,
    short_description: Message,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    severity: Severity,
    status: ReportStatus,
    /// `warn` or `fail`: the status underneath a waiver.
    original_status: ReportStatus,
    subscription: String,
    subscription_name: std::sync::Arc<str>,
    evidence: Vec<crate::eval::Evidence>,
    remediation: std::sync::Arc<str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    end_time_utc: String,
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    level: &'static str,
    message: Message,
    descriptor: DescriptorRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_rule: Option<DescriptorRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

#[derive(Serialize)]
struct DescriptorRef {
    id: String,
    index: usize,
}

/// The notification kinds, in `driver.notifications` order.
const NOTIFICATIONS: [(&str, &str); 5] = [
    (
        "coverage-gap",
        "Data lzaudit could not read: the findings that depend on it are unknown.",
    ),
    (
        "unknown-finding",
        "A check could not decide, because data it needs is missing.",
    ),
    (
        "skipped-subscription",
        "A subscription in scope that was not audited.",
    ),
    (
        "expired-waiver",
        "A waiver past its expiry date: it no longer suppresses findings.",
    ),
    (
        "unmatched-waiver",
        "A waiver that matched no warn or fail finding.",
    ),
];

fn notification(id: &'static str, level: &'static str, text: String) -> Notification {
    Notification {
        level,
        message: Message { text },
        descriptor: DescriptorRef {
            id: id.to_string(),
            index: NOTIFICATIONS
                .iter()
                .position(|(known, _)| *known == id)
                .expect("a declared notification"),
        },
        associated_rule: None,
        locations: Vec::new(),
    }
}

fn location(resource: &str) -> Location {
    Location {
        logical_locations: vec![LogicalLocation {
            name: crate::inventory::arm::last_segment(resource).to_string(),
            fully_qualified_name: resource.to_string(),
            kind: "resource",
        }],
    }
}

/// GitHub's scale: ≥ 9 critical, 7–8.9 high, 4–6.9 medium, 0.1–3.9 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The first reference that is an absolute http(s) URL (user check files are not trusted to
/// hold one), or the CAF AKS security guidance.
pub fn help_uri(references: &[String]) -> String {
    references
        .iter()
        .find(|r| url::Url::parse(r).is_ok_and(|u| matches!(u.scheme(), "https" | "http")))
        .cloned()
        .unwrap_or_else(|| CAF_AKS_SECURITY.to_string())
}

fn rule(check: &CheckRef, catalogue: &Catalogue) -> Rule {
    let Some(c) = catalogue.get(check.id) else {
        // A finding of a check the catalogue no longer has: keep what the report knows.
        return Rule {
            id: check.id.to_string(),
            name: check.id.to_ascii_lowercase(),
            short_description: Message {
                text: check.title.to_string(),
            },
            full_description: Message {
                text: check.title.to_string(),
            },
            help: Help {
                text: check.title.to_string(),
                markdown: check.title.to_string(),
            },
            help_uri: CAF_AKS_SECURITY.to_string(),
            properties: RuleProperties {
                security_severity: security_severity(check.severity),
                severity: check.severity,
                tags: vec!["security".into()],
            },
        };
    };
    let f = &c.file;
    let (why, fix) = (f.docs.why.trim(), f.docs.fix.trim());
    let mut text = format!("Why it matters: {why}\n\nHow to fix: {fix}");
    let mut markdown = format!("**Why it matters**\n\n{why}\n\n**How to fix**\n\n{fix}");
    if let Some(policy) = &f.docs.fix_policy {
        text.push_str(&format!("\n\nEnforce with Azure Policy: {}", policy.trim()));
        markdown.push_str(&format!(
            "\n\n**Enforce with Azure Policy**\n\n{}",
            policy.trim()
        ));
    }
    if !f.references.is_empty() {
        markdown.push_str("\n\n**References**\n");
        for r in &f.references {
            markdown.push_str(&format!("\n- <{r}>"));
        }
    }
    Rule {
        id: f.id.clone(),
        name: f.slug.clone(),
        short_description: Message {
            text: f.title.clone(),
        },
        full_description: Message {
            text: f.docs.what.trim().to_string(),
        },
        help: Help { text, markdown },
        help_uri: help_uri(&f.references),
        properties: RuleProperties {
            security_severity: security_severity(check.severity),
            severity: check.severity,
            tags: tags(&[
                "security",
                "aks",
                &f.area,
                &format!("{:?}", f.target).to_ascii_lowercase(),
            ]),
        },
    }
}

/// Tags without repeats (an area and a target can share a name; SARIF wants unique tags).
fn tags(candidates: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in candidates {
        if !tag.is_empty() && !out.iter().any(|t| t == tag) {
            out.push((*tag).to_string());
        }
    }
    out
}

fn result(f: &ReportFinding, rule_index: usize) -> SarifResult {
    let original = f.original_status();
    let mut text = f.message.to_string();
    let evidence = f.evidence_lines();
    if !evidence.is_empty() {
        text.push_str("\nEvidence:");
        for line in evidence {
            text.push_str(&format!("\n- {line}"));
        }
    }
    SarifResult {
        rule_id: f.check.to_string(),
        rule_index,
        level: if original == ReportStatus::Fail {
            "error"
        } else {
            "warning"
        },
        message: Message { text },
        locations: vec![location(&f.resource)],
        partial_fingerprints: BTreeMap::from([(
            FINGERPRINT_KEY,
            format!("{}:{}", f.check, f.resource).to_ascii_lowercase(),
        )]),
        suppressions: f
            .waiver
            .iter()
            .map(|w| Suppression {
                kind: "external",
                status: "accepted",
                justification: format!(
                    "{} (waiver {} on {}, expires {})",
                    w.reason, w.location, w.resource_pattern, w.expires
                ),
            })
            .collect(),
        properties: ResultProperties {
            severity: f.severity,
            status: f.status,
            original_status: original,
            subscription: f.subscription.to_string(),
            subscription_name: f.subscription_name.clone(),
            evidence: f.evidence.clone(),
            remediation: f.remediation.clone(),
        },
    }
}

fn notifications(report: &Report, rule_index: &BTreeMap<&str, usize>) -> Vec<Notification> {
    let mut out = Vec::new();
    for gap in &report.coverage {
        let mut n = notification(
            "coverage-gap",
            "error",
            format!("could not read {}", gap.describe()),
        );
        n.locations.push(location(&gap.scope));
        out.push(n);
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.status == ReportStatus::Unknown)
    {
        let mut n = notification(
            "unknown-finding",
            "warning",
            format!(
                "{} could not be decided for {}: {}",
                f.check, f.resource, f.message
            ),
        );
        n.associated_rule = Some(DescriptorRef {
            id: f.check.to_string(),
            index: rule_index[f.check.as_str()],
        });
        n.locations.push(location(&f.resource));
        out.push(n);
    }
    for s in &report.skipped_subscriptions {
        let mut n = notification(
            "skipped-subscription",
            "note",
            format!(
                "subscription {} ({}) was not audited: {}",
                s.display_name, s.id, s.reason
            ),
        );
        n.locations.push(location(&s.id));
        out.push(n);
    }
    for w in &report.waivers {
        let (id, text) = match w.state {
            WaiverState::Active => continue,
            WaiverState::Expired => (
                "expired-waiver",
                format!(
                    "the waiver at {} ({} on {}) expired {} and no longer suppresses findings",
                    w.location, w.check, w.resource_pattern, w.expires
                ),
            ),
            WaiverState::Unmatched => (
                "unmatched-waiver",
                format!(
                    "the waiver at {} ({} on {}) matched no warn or fail finding: remove it",
                    w.location, w.check, w.resource_pattern
                ),
            ),
        };
        out.push(notification(id, "warning", text));
    }
    out
}

/// Renders the report as a SARIF 2.1.0 log; `catalogue` supplies each rule's documentation.
pub fn render(report: &Report, catalogue: &Catalogue) -> String {
    super::in_memory(|out| render_to(report, catalogue, out))
}

/// [`render`], written straight into `out` (see `json::render_to`).
pub fn render_to(
    report: &Report,
    catalogue: &Catalogue,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let checks = report.checks();
    let rule_index: BTreeMap<&str, usize> =
        checks.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let results = Results {
        findings: &report.findings,
        rule_index: &rule_index,
    };
    let s = &report.summary;
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                    semantic_version: report.tool.version.clone(),
                    rules: checks.iter().map(|c| rule(c, catalogue)).collect(),
                    notifications: NOTIFICATIONS
                        .iter()
                        .map(|(id, text)| Descriptor {
                            id,
                            short_description: Message {
                                text: (*text).to_string(),
                            },
                        })
                        .collect(),
                },
            },
            invocations: vec![Invocation {
                // An audit with gaps did not do its whole job: say so, as exit code 3 does.
                execution_successful: report.coverage.is_empty(),
                end_time_utc: report.generated_at.clone(),
                tool_execution_notifications: notifications(report, &rule_index),
            }],
            results,
            properties: BTreeMap::from([
                ("reportSchema", Value::from(report.schema)),
                ("profile", Value::from(report.profile.clone())),
                ("failOn", Value::from(report.fail_on.clone())),
                (
                    "scope",
                    serde_json::to_value(&report.scope).expect("scope serialises"),
                ),
                (
                    "summary",
                    serde_json::json!({
                        "pass": s.pass, "warn": s.warn, "fail": s.fail,
                        "not_applicable": s.not_applicable, "unknown": s.unknown, "waived": s.waived,
                    }),
                ),
            ]),
        }],
    };
    // Escaped for printing (`json::to_string_pretty`): SARIF logs get printed in pipelines too.
    super::json::write_pretty_to(&log, out)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::report::sample;

    fn sarif() -> Value {
        let catalogue = Catalogue::builtin().unwrap();
        serde_json::from_str(&render(&sample::report(), &catalogue)).unwrap()
    }

    #[test]
    fn one_result_per_warn_or_fail_finding_waived_ones_suppressed() {
        let log = sarif();
        let results = log["runs"][0]["results"].as_array().unwrap();
        let summary: Vec<(&str, &str, bool)> = results
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap(),
                    r["level"].as_str().unwrap(),
                    r.get("suppressions").is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("AKS-020", "error", false),
                ("AKS-021", "error", true),
                ("CUS-001", "warning", false)
            ]
        );
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        for r in results {
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], r["ruleId"]);
        }
    }

    #[test]
    fn rules_carry_the_check_docs_and_fall_back_for_unknown_checks() {
        let log = sarif();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let aks020 = &rules[0];
        assert_eq!(aks020["id"], "AKS-020");
        assert_eq!(aks020["name"], "aks-api-server-exposed");
        assert!(
            aks020["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("**How to fix**")
        );
        assert_eq!(
            aks020["helpUri"],
            "https://learn.microsoft.com/azure/aks/private-clusters"
        );
        assert_eq!(aks020["properties"]["security-severity"], "8.0");
        let custom = &rules[2];
        assert_eq!(custom["id"], "CUS-001");
        assert_eq!(custom["helpUri"], CAF_AKS_SECURITY);
    }

    #[test]
    fn fingerprints_are_per_check_and_resource_and_case_insensitive() {
        let report = sample::report();
        let mut upper = report.clone();
        for f in &mut upper.findings {
            f.resource = f.resource.to_ascii_uppercase().into();
        }
        let catalogue = Catalogue::builtin().unwrap();
        let fp = |r: &Report| -> Vec<Value> {
            let log: Value = serde_json::from_str(&render(r, &catalogue)).unwrap();
            log["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].clone())
                .collect()
        };
        let (a, b) = (fp(&report), fp(&upper));
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.dedup();
        assert_eq!(unique.len(), a.len());
    }

    #[test]
    fn gaps_make_the_run_unsuccessful_and_become_notifications() {
        let log = sarif();
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        let ids: Vec<&str> = invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["descriptor"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "coverage-gap",
                "unknown-finding",
                "skipped-subscription",
                "expired-waiver"
            ]
        );
        let mut complete = sample::report();
        complete.coverage.clear();
        let log: Value =
            serde_json::from_str(&render(&complete, &Catalogue::builtin().unwrap())).unwrap();
        assert_eq!(
            log["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
    }

    #[test]
    fn help_uri_skips_references_that_are_not_web_urls() {
        assert_eq!(
            help_uri(&["javascript:alert(1)".into(), "see the wiki".into()]),
            CAF_AKS_SECURITY
        );
        assert_eq!(
            help_uri(&["not a url".into(), "https://example.org/x".into()]),
            "https://example.org/x"
        );
    }
}
