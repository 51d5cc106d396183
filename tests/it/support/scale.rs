//! The example tenant's report at tenant scale, for the render benchmark (`benches/render.rs`
//! includes this file) and the large-report tests. Each synthetic subscription copies the
//! findings of one of the example's subscriptions that has resources, and every resource-level
//! finding is repeated for `per_subscription` clusters: real messages, evidence and statuses,
//! only many more (≈ 147 findings per subscription with three clusters each).

use lzaudit::catalogue::Catalogue;
use lzaudit::eval::{Finding, Status};
use lzaudit::inventory::{Inventory, Read, Subscription, snapshot};
use lzaudit::profile::{AppliedWaiver, Profile};
use lzaudit::report::{Origin, Report, ReportFinding, ReportStatus};

/// The example's inventory, catalogue and profile, and its report.
pub struct Example {
    pub inventory: Inventory,
    pub catalogue: Catalogue,
    pub profile: Profile,
    pub report: Report,
}

pub fn origin() -> Origin<'static> {
    Origin {
        source: "snapshot",
        fail_on: "high",
        generated_at: "2026-11-26T00:00:00Z".into(),
    }
}

impl Example {
    pub fn load() -> Example {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let inventory =
            snapshot::load(&root.join("examples/contoso/snapshot.json")).expect("example snapshot");
        let catalogue = Catalogue::builtin().expect("catalogue");
        let profile = Profile::load("caf-aks", &catalogue).expect("profile");
        let report = lzaudit::audit::run(
            &inventory,
            &catalogue,
            &profile,
            time::macros::date!(2026 - 11 - 26),
            origin(),
        );
        Example {
            inventory,
            catalogue,
            profile,
            report,
        }
    }

    /// The inventory and the evaluated findings of `subscriptions` synthetic subscriptions,
    /// ready for `report::build`.
    pub fn scaled(
        &self,
        subscriptions: usize,
        per_subscription: usize,
    ) -> (Inventory, Vec<(Finding, Option<AppliedWaiver>)>) {
        let example = &self.report;
        let templates: Vec<&Subscription> = self
            .inventory
            .subscriptions
            .iter()
            .filter(|s| {
                example.findings.iter().any(|f| {
                    f.subscription.eq_ignore_ascii_case(&s.subscription_id)
                        && !f.is_subscription_level()
                })
            })
            .collect();
        assert!(!templates.is_empty(), "the example has clusters");
        let mut inv = self.inventory.clone();
        inv.subscriptions.clear();
        inv.reads.clear();
        let mut findings = Vec::new();
        for i in 0..subscriptions {
            let template = templates[i % templates.len()];
            let guid = format!("{i:08x}-0000-4000-8000-{i:012x}");
            let rename = |s: &str| s.replace(&template.subscription_id, &guid);
            inv.subscriptions.push(Subscription {
                id: format!("/subscriptions/{guid}"),
                subscription_id: guid.clone(),
                display_name: format!("lz-{i:04}-{}", template.display_name),
                ..template.clone()
            });
            for read in &self.inventory.reads {
                if read.scope.contains(&template.subscription_id) {
                    inv.reads.push(Read {
                        scope: rename(&read.scope),
                        message: read.message.as_deref().map(rename),
                        ..read.clone()
                    });
                }
            }
            for f in example.findings.iter().filter(|f| {
                f.subscription
                    .eq_ignore_ascii_case(&template.subscription_id)
            }) {
                let copies = if f.is_subscription_level() {
                    1
                } else {
                    per_subscription
                };
                for k in 0..copies {
                    let mut resource = rename(&f.resource);
                    if copies > 1 {
                        resource.push_str(&format!("-{k}"));
                    }
                    findings.push((
                        Finding {
                            check: f.check.clone(),
                            resource: resource.into(),
                            subscription: guid.clone().into(),
                            status: status_of(f),
                            message: rename(&f.message).into(),
                            evidence: f.evidence.clone(),
                        },
                        f.waiver.clone(),
                    ));
                }
            }
        }
        // Findings arrive check by check from evaluation, not in report order.
        findings.sort_by(|a, b| a.0.check.cmp(&b.0.check));
        (inv, findings)
    }
}

/// The status the checks gave, underneath a waiver.
fn status_of(f: &ReportFinding) -> Status {
    if let Some(w) = &f.waiver {
        return w.original_status;
    }
    match f.status {
        ReportStatus::Pass => Status::Pass,
        ReportStatus::Warn => Status::Warn,
        ReportStatus::Fail | ReportStatus::Waived => Status::Fail,
        ReportStatus::NotApplicable => Status::NotApplicable,
        ReportStatus::Unknown => Status::Unknown,
    }
}
