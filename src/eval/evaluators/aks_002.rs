//! AKS-002: a `DeployIfNotExists` policy in scope installs the Azure Policy add-on on new clusters.
//!
//! The add-on is what makes every Kubernetes-mode guardrail work (AKS-024 checks the add-on on
//! existing clusters); this check is about drift prevention for clusters yet to come. Current ALZ
//! delivers the built-in a8eff44f through the `Deploy-MDFC-Config*` initiative (reference
//! `azurePolicyForKubernetes`, effect = set parameter `enableAscForContainers`) assigned at the
//! intermediate root; older deployments had a direct assignment, `Deploy-AKS-Policy`, at the
//! Landing Zones MG, which ALZ removed in July 2024. The ALZ guardrail set also carries it
//! (`Dine-Aks-Policy`). Per AKS subscription and with catalogue §1.1: covered with
//! `DeployIfNotExists` and `Default` passes, unless the only such assignments are the legacy
//! ones (warn); `DoNotEnforce` warns (no remediation); uncovered, `Disabled`, excluded or
//! exempted fails; missing policy data is unknown. The legacy-only warn says that no current
//! assignment deploys the add-on, so it needs the subscription's assignment list complete: when
//! that read failed it is unknown, even though the legacy assignment is seen enforced.

use crate::catalogue::Check;
use crate::eval::policy::{self, Control, Coverage, Level, Way};
use crate::eval::targets::{self, AksSubscription};
use crate::eval::{EvalContext, Finding, Status};
use crate::inventory::arm;

pub const ADDON_DINE: &str = "a8eff44f-8c92-45c3-a3fb-9880802d67a7";

fn control(ctx: &EvalContext) -> Control {
    let mut control = Control::new("azure policy add-on deployment", &["DeployIfNotExists"]);
    for set in ctx.param_strings("mdfc_sets") {
        control = control.member(&set, "azurePolicyForKubernetes");
    }
    control = control.definition(ADDON_DINE);
    for set in ctx.param_strings("guardrail_sets") {
        control = control.member(&set, "Dine-Aks-Policy");
    }
    control
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let inventory = ctx.inventory;
    let control = control(ctx);
    let legacy = ctx.param_strings("legacy_assignments");
    let mut findings = Vec::new();
    for sub in &inventory.subscriptions {
        match targets::aks_subscription(inventory, sub) {
            AksSubscription::NoClusters => findings.push(Finding::new(
                check.id(),
                &sub.id,
                Status::NotApplicable,
                "no AKS clusters in this subscription",
            )),
            AksSubscription::Unknown(reason) => findings.push(Finding::new(
                check.id(),
                &sub.id,
                Status::Unknown,
                format!("cannot tell whether this is an AKS subscription: {reason}"),
            )),
            AksSubscription::Clusters(_) => {
                let coverage = policy::coverage(inventory, &sub.id, &control, ctx.today);
                let (status, message) = judge(&coverage, &legacy);
                findings.push(
                    Finding::new(check.id(), &sub.id, status, message)
                        .with_evidence(coverage.evidence()),
                );
            }
        }
    }
    findings
}

fn is_legacy(candidate: &policy::Candidate, legacy: &[String]) -> bool {
    matches!(candidate.way, Way::Definition(_))
        && legacy.iter().any(|n| arm::eq_ci(n, candidate.name()))
}

fn judge(coverage: &Coverage, legacy: &[String]) -> (Status, String) {
    const FIX: &str = "set enableAscForContainers=DeployIfNotExists on Deploy-MDFC-Config-H224, or assign a8eff44f at the landing zones management group with a managed identity and a remediation task";
    match coverage.level() {
        Level::Enforced => {
            let enforcing: Vec<_> = coverage
                .candidates
                .iter()
                .filter(|c| c.level() == Level::Enforced)
                .collect();
            if enforcing.iter().all(|c| is_legacy(c, legacy)) {
                // The warn claims no current assignment deploys it: an undecidable candidate, or
                // an assignment list that may be incomplete (the blockers), leaves that open.
                let undecided = !coverage.blockers.is_empty()
                    || coverage
                        .candidates
                        .iter()
                        .any(|c| c.level() == Level::Unknown);
                let names: Vec<&str> = enforcing.iter().map(|c| c.name()).collect();
                let status = if undecided {
                    Status::Unknown
                } else {
                    Status::Warn
                };
                let tail = if undecided {
                    format!(
                        "; whether a current assignment also deploys it cannot be decided ({})",
                        coverage.unknown_reasons().join("; ")
                    )
                } else {
                    String::new()
                };
                return (
                    status,
                    format!(
                        "only the legacy assignment {} deploys the azure policy add-on (ALZ removed it in July 2024 and delivers a8eff44f through Deploy-MDFC-Config-H224, ref azurePolicyForKubernetes){tail}; fix: {FIX}",
                        names.join(", ")
                    ),
                );
            }
            let best = coverage.best().expect("an enforced candidate exists");
            (
                Status::Pass,
                format!(
                    "new clusters get the azure policy add-on: {} (effect from the {})",
                    best.describe(),
                    best.effect_source.as_deref().unwrap_or("assignment")
                ),
            )
        }
        Level::Weaker => (
            Status::Warn,
            format!(
                "{}: covered but without automatic remediation; fix: {}",
                coverage.summary(),
                coverage.remedy(FIX).unwrap_or_else(|| FIX.to_string())
            ),
        ),
        Level::Inert | Level::Uncovered => (
            Status::Fail,
            format!(
                "new clusters do not get the azure policy add-on automatically: {}; fix: {}",
                coverage.summary(),
                coverage.remedy(FIX).unwrap_or_else(|| FIX.to_string())
            ),
        ),
        Level::Unknown => (Status::Unknown, coverage.summary()),
    }
}
