//! AKS-045: image signatures are verified before containers run.
//!
//! AKS Image Integrity (preview) runs Ratify next to the Azure Policy add-on's Gatekeeper, and the
//! built-in policy cf426bb8 ("[Image Integrity] Kubernetes clusters should only use images
//! signed by notation", Audit only, preview) is what asks it to verify notation signatures. The
//! check passes when the cluster has `securityProfile.imageIntegrity.enabled` true **and** an
//! assignment of cf426bb8 — direct, or through an initiative such as af28bf8b — covers it with
//! catalogue §1.1 (through `policy::coverage`; its effect is `Audit`, with `enforcementMode`
//! `Default`). Anything else warns: the feature is preview, so the catalogue never fails this
//! check (a profile that mandates it sets `require_image_integrity`, which makes it fail). The
//! property only appears in preview API versions of the AKS resource provider (catalogue U), so
//! an absent property reads as not enabled, which can only give a warning. Unknown only when
//! the feature is on and the policy data needed to decide the pass cannot be read.

use crate::json::Value;

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Control, Level};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::arm;

use super::guardrails;

/// "[Preview]: [Image Integrity] Kubernetes clusters should only use images signed by notation".
pub const NOTATION: &str = "cf426bb8-b320-4321-8545-1b784a5df3a4";

const ENABLED: &str = "properties.securityProfile.imageIntegrity.enabled";

const PREVIEW_NOTE: &str = "securityProfile.imageIntegrity appears only in preview API versions of the AKS resource provider (catalogue U); absent reads as not enabled";

pub fn control() -> Control {
    guardrails::control(
        "notation signature verification",
        &["Audit", "Deny"],
        &[NOTATION],
    )
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let control = control();
    for cluster in clusters {
        let id = arm::id(cluster);
        let raw = arm::path(cluster, ENABLED).cloned();
        let enabled = arm::bool_at(cluster, ENABLED);
        let mut flag = Evidence::new(ENABLED, raw.clone().unwrap_or(Value::Null), "true");
        if raw.is_none() {
            flag = flag.note(PREVIEW_NOTE);
        } else if enabled.is_none() {
            flag = flag.note("not a boolean");
        }
        let coverage = policy::coverage(ctx.inventory, id, &control, ctx.today);
        let level = coverage.level();
        let feature = match (enabled, &raw) {
            (Some(true), _) => "image integrity enabled".to_string(),
            (Some(false), _) => "image integrity disabled".to_string(),
            (None, None) => "image integrity not enabled (property absent)".to_string(),
            (None, Some(v)) => format!("imageIntegrity.enabled is {v}, not a boolean"),
        };
        let status = match (enabled, level) {
            (Some(true), Level::Enforced) => Status::Pass,
            (Some(true), Level::Unknown) => Status::Unknown,
            (None, Level::Enforced) if raw.is_some() => Status::Unknown,
            _ => Status::Warn,
        };
        let policy_text = match (level, coverage.best()) {
            (Level::Enforced, Some(best)) => format!("signatures checked by {}", best.describe()),
            _ => coverage.summary(),
        };
        let required = ctx.param_bool("require_image_integrity").unwrap_or(false);
        let status = if required && status == Status::Warn {
            Status::Fail
        } else {
            status
        };
        let message = match status {
            Status::Pass => format!("{feature} and {policy_text}"),
            Status::Unknown => format!("{feature}, but {policy_text}"),
            _ => {
                let mut fix = Vec::new();
                if enabled != Some(true) {
                    fix.push(format!(
                        "enable image integrity (preview feature EnableImageIntegrityPreview) with the azure policy add-on on {}",
                        arm::name(cluster)
                    ));
                }
                if level != Level::Enforced {
                    fix.push(
                        coverage
                            .remedy("assign cf426bb8 (only images signed by notation) or the image integrity initiative af28bf8b at or above the cluster")
                            .unwrap_or_default(),
                    );
                }
                let weight = if required {
                    "this profile requires it (require_image_integrity)"
                } else {
                    "preview feature, so a warning rather than a failure"
                };
                format!(
                    "{feature}; {policy_text}; {weight}; fix: {}",
                    fix.join("; ")
                )
            }
        };
        let mut evidence = vec![flag];
        evidence.extend(coverage.evidence());
        evidence.extend(guardrails::addon_note(cluster));
        findings.push(Finding::new(check.id(), id, status, message).with_evidence(evidence));
    }
    findings
}
