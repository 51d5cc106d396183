//! A small, hostile report for the renderers' unit tests: every status, a waiver, a coverage
//! gap, a skipped subscription, and ARM-controlled strings full of markup (`<script>`, `|`,
//! quotes, commas, newlines, backticks) — what a resource name, tag or message could carry.

use serde_json::json;

use super::{Report, ReportFinding, ReportScope, ReportStatus, SubscriptionRef, Summary};
use crate::catalogue::Severity;
use crate::eval::{Evidence, Status};
use crate::inventory::{Read, ReadStatus, SkippedSubscription, Tool};
use crate::profile::{AppliedWaiver, WaiverReport, WaiverState};

pub const SUB_A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
pub const SUB_B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
pub const HOSTILE: &str =
    "<script>alert(\"x\")</script> | `tick` & 'quote', *star* _u_ [l](javascript:x)\nsecond line";

fn cluster(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
}

fn finding(
    check: &str,
    severity: Severity,
    status: ReportStatus,
    sub: (&str, &str),
    resource: String,
    message: &str,
) -> ReportFinding {
    ReportFinding {
        check: check.into(),
        title: format!("title of {check}").into(),
        severity,
        status,
        resource: resource.into(),
        subscription: sub.0.into(),
        subscription_name: sub.1.into(),
        message: message.into(),
        evidence: vec![Evidence::new(
            "properties.disableLocalAccounts",
            json!(false),
            "true",
        )],
        remediation: "az aks update -g <rg> -n <aks> --disable-local-accounts".into(),
        waiver: None,
    }
}

/// The sample report. Findings are in report order (subscription name, check, resource).
pub fn report() -> Report {
    let a = (SUB_A, "lz-corp <b>|prod</b>");
    let b = (SUB_B, "lz-online");
    let mut hostile = finding(
        "AKS-020",
        Severity::High,
        ReportStatus::Fail,
        a,
        cluster(SUB_A, "aks-<img src=x onerror=alert(1)>"),
        HOSTILE,
    );
    hostile.evidence.push(Evidence {
        property: "tags.owner".into(),
        observed: json!({"owner": HOSTILE}).into(),
        expected: "a tag without </script>".into(),
        resource: Some("/subscriptions/x/<script>".into()),
        note: Some("absent; ARM's default \"false\" applies".into()),
    });
    let mut waived = finding(
        "AKS-021",
        Severity::High,
        ReportStatus::Waived,
        a,
        cluster(SUB_A, "aks-legacy"),
        "local accounts are enabled",
    );
    waived.waiver = Some(AppliedWaiver {
        original_status: Status::Fail,
        reason: "legacy cluster, decommissioned in Q1 (CHG-1234)".into(),
        expires: "2027-01-31".into(),
        resource_pattern: "*/aks-legacy".into(),
        location: "profile.toml:12".into(),
    });
    let findings = vec![
        hostile,
        finding(
            "AKS-020",
            Severity::High,
            ReportStatus::Pass,
            a,
            cluster(SUB_A, "aks-ok"),
            "private cluster",
        ),
        waived,
        finding(
            "CUS-001",
            Severity::Low,
            ReportStatus::Warn,
            a,
            format!("/subscriptions/{SUB_A}"),
            "a custom check, unknown to the catalogue",
        ),
        finding(
            "AKS-020",
            Severity::High,
            ReportStatus::Unknown,
            b,
            cluster(SUB_B, "aks-web"),
            "could not read the cluster",
        ),
        finding(
            "AKS-021",
            Severity::High,
            ReportStatus::NotApplicable,
            b,
            format!("/subscriptions/{SUB_B}"),
            "no AKS clusters in this subscription",
        ),
    ];
    let mut summary = Summary::default();
    for f in &findings {
        *match f.status {
            ReportStatus::Pass => &mut summary.pass,
            ReportStatus::Warn => &mut summary.warn,
            ReportStatus::Fail => &mut summary.fail,
            ReportStatus::NotApplicable => &mut summary.not_applicable,
            ReportStatus::Unknown => &mut summary.unknown,
            ReportStatus::Waived => &mut summary.waived,
        } += 1;
    }
    Report {
        schema: super::SCHEMA,
        tool: Tool {
            name: "lzaudit".into(),
            version: "0.0.0-test".into(),
        },
        generated_at: "2026-11-26T00:00:00Z".into(),
        scope: ReportScope {
            tenant_id: Some("tttttttt-tttt-4ttt-8ttt-tttttttttttt".into()),
            management_group: None,
            requested_subscriptions: vec![],
            subscriptions: vec![
                SubscriptionRef {
                    id: SUB_B.into(),
                    name: b.1.into(),
                },
                SubscriptionRef {
                    id: SUB_A.into(),
                    name: a.1.into(),
                },
            ],
            source: "snapshot".into(),
            collected_at: "2026-11-25T23:00:00Z".into(),
            arm_endpoint: "https://management.azure.com".into(),
        },
        profile: "caf-aks".into(),
        fail_on: "high".into(),
        summary,
        coverage: vec![Read {
            scope: format!("/subscriptions/{SUB_B}"),
            api: "Microsoft.Security/pricings".into(),
            status: ReadStatus::Denied,
            http_status: Some(403),
            code: Some("AuthorizationFailed".into()),
            message: Some("not allowed <script>x</script>".into()),
            source: None,
            api_version: None,
        }],
        skipped_subscriptions: vec![SkippedSubscription {
            id: "/subscriptions/cccccccc-cccc-4ccc-8ccc-cccccccccccc".into(),
            display_name: "lz-legacy".into(),
            state: "Disabled".into(),
            reason: "state is 'Disabled': only Enabled subscriptions are audited".into(),
        }],
        waivers: vec![
            WaiverReport {
                check: "AKS-021".into(),
                resource_pattern: "*/aks-legacy".into(),
                reason: "legacy cluster, decommissioned in Q1 (CHG-1234)".into(),
                expires: "2027-01-31".into(),
                state: WaiverState::Active,
                matched: 1,
                location: "profile.toml:12".into(),
            },
            WaiverReport {
                check: "AKS-020".into(),
                resource_pattern: "*/gone".into(),
                reason: "<i>nothing</i>".into(),
                expires: "2026-01-01".into(),
                state: WaiverState::Expired,
                matched: 0,
                location: "profile.toml:20".into(),
            },
        ],
        findings,
    }
}
