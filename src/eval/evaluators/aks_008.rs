//! AKS-008: images tagged `latest` are denied on the cluster.
//!
//! The built-in Kubernetes-mode policy 021f8078 ("…container images should not include latest
//! image tag") rejects pods whose images use the mutable `latest` tag, which is how the CAF's
//! "immutable names that specify particular versions" becomes an admission rule. It reaches a
//! cluster as a direct assignment or as a member of an initiative — AKS Deployment Safeguards
//! (c047ea8e) carries it, and so may an organisation's own. Per cluster, catalogue §1.1 through
//! `policy::coverage` decides: covered with `Deny` and `enforcementMode` `Default` passes,
//! `Audit` or `DoNotEnforce` warns, not covered (or `Disabled`, excluded, exempted) fails, and
//! policy data that cannot be read is unknown. The finding names the deciding assignment; when
//! the Azure Policy add-on is off the evidence says the assignment is inert (AKS-024 judges
//! that, so it does not change this status).

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Control, Level};
use crate::eval::{EvalContext, Finding, targets};
use crate::inventory::arm;

use super::guardrails;

/// "Kubernetes cluster container images should not include latest image tag".
pub const NO_LATEST: &str = "021f8078-41a0-40e6-81b6-c6597da9f3ee";

const ASSIGN: &str = "assign 021f8078 (container images should not include latest image tag) with effect Deny at the landing zones management group or the cluster's resource group, or enable deployment safeguards at the enforcement level";

pub fn control() -> Control {
    guardrails::control("latest image tag", &["Deny"], &[NO_LATEST])
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let control = control();
    for cluster in clusters {
        let id = arm::id(cluster);
        let coverage = policy::coverage(ctx.inventory, id, &control, ctx.today);
        let level = coverage.level();
        let status = level.guardrail_status();
        let message = match (level, coverage.best()) {
            (Level::Enforced, Some(best)) => format!(
                "images tagged latest are denied on this cluster: {}",
                best.describe()
            ),
            (Level::Unknown, _) => coverage.summary(),
            _ => format!(
                "{}; fix: {}",
                coverage.summary(),
                coverage.remedy(ASSIGN).unwrap_or_default()
            ),
        };
        let mut evidence = coverage.evidence();
        evidence.extend(guardrails::addon_note(cluster));
        findings.push(Finding::new(check.id(), id, status, message).with_evidence(evidence));
    }
    findings
}
