//! AKS-007: Defender for Containers gates the deployment of vulnerable images.
//!
//! Security gating is a setting of the `ContainerSensor` extension of the subscription's
//! `Containers` Defender plan: `additionalExtensionProperties.SecurityGatingEnabled`, the string
//! `True` or `False` (the `isSecurityGatingEnabled` parameter of policy efd4031d v1.5.0). It is
//! the deploy-time quality gate the CAF asks for between build and run. Per subscription holding
//! AKS clusters or registries (AKS-005's scope): when AKS-005 would fail — the pricing list was
//! read and the `Containers` record is absent or `Free` — there is no plan to gate with and the
//! check does not apply; this is computed here from the same pricing data, not by running
//! AKS-005. On a `Standard` plan, `SecurityGatingEnabled` equal to `True` (case-insensitive)
//! passes, unless the `ContainerSensor` extension itself is off, which warns like a false or
//! absent flag. A pricing list that could not be read, or a tier or flag value that is not
//! recognised, is unknown; a subscription whose cluster and registry lists are both empty does
//! not apply (or is unknown when either list is missing). The catalogue never fails this check;
//! a profile that mandates gating sets `require_security_gating`, which turns the warnings into
//! failures.

use crate::json::Value;

use super::defender::{self, Containers, Pricing, SENSOR, Tier};
use crate::catalogue::Check;
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription, arm};

const GATING: &str = "additionalExtensionProperties.SecurityGatingEnabled";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    ctx.inventory
        .subscriptions
        .iter()
        .map(|sub| {
            evaluate_subscription(
                check.id(),
                ctx.inventory,
                sub,
                ctx.param_bool("require_security_gating").unwrap_or(false),
            )
        })
        .collect()
}

fn evaluate_subscription(
    check: &str,
    inv: &Inventory,
    sub: &Subscription,
    required: bool,
) -> Finding {
    let scope = match defender::clusters_or_registries(
        check,
        inv,
        sub,
        "at least one, for the Defender for Containers plan to matter",
    ) {
        Ok(scope) => scope,
        Err(finding) => return *finding,
    };
    let pricing = match defender::containers(inv, &sub.id, &sub.subscription_id) {
        Containers::NotRead(reason) => {
            return Finding::new(
                check,
                &sub.id,
                Status::Unknown,
                format!("cannot read the Defender for Containers plan ({reason})"),
            )
            .evidence(scope)
            .evidence(defender::not_read_evidence(
                &sub.id,
                format!("pricing Containers: properties.extensions[name={SENSOR}].{GATING}"),
                "True",
            ));
        }
        Containers::Absent => {
            return Finding::new(
                check,
                &sub.id,
                Status::NotApplicable,
                "no Defender for Containers plan (no Containers pricing record; AKS-005 fails), so there is no deployment gating to configure",
            )
            .evidence(scope)
            .evidence(defender::absent_evidence(
                &sub.id,
                "a Containers pricing with pricingTier Standard",
            ));
        }
        Containers::Read(pricing) => pricing,
    };
    let (mut status, mut message, evidence) = judge_pricing(pricing.record);
    if required && status == Status::Warn {
        status = Status::Fail;
        message = message.replacen(
            "; fix:",
            "; this profile requires gating (require_security_gating); fix:",
            1,
        );
    }
    Finding::new(check, &sub.id, status, message)
        .evidence(scope)
        .with_evidence(evidence)
}

/// The verdict on one `Containers` pricing record.
fn judge_pricing(pricing: &Value) -> (Status, String, Vec<Evidence>) {
    let pricing = Pricing { record: pricing };
    let mut evidence = vec![
        pricing.tier_evidence("Standard (otherwise AKS-005 fails and this check does not apply)"),
    ];
    match pricing.tier() {
        Tier::Standard => {}
        Tier::Free => {
            return (
                Status::NotApplicable,
                "the Defender for Containers plan is Free (AKS-005 fails), so there is no deployment gating to configure".to_string(),
                evidence,
            );
        }
        Tier::Other(other) => {
            return (
                Status::Unknown,
                format!(
                    "the Defender for Containers pricing has an unrecognised pricingTier ({})",
                    other.unwrap_or("absent")
                ),
                evidence,
            );
        }
    }
    let extension = pricing.extension(SENSOR);
    let sensor = extension.record;
    let sensor_on = extension.enabled() == Some(true);
    let raw = sensor.and_then(|e| arm::path(e, GATING)).cloned();
    let gating = sensor.and_then(|e| arm::bool_at(e, GATING));
    let mut item = Evidence::new(
        format!("properties.extensions[name={SENSOR}].{GATING}"),
        raw.clone().unwrap_or(Value::Null),
        "True",
    )
    .on(pricing.id());
    if sensor.is_none() {
        item = item.note("the ContainerSensor extension is not listed on the plan");
    } else if raw.is_none() {
        item = item.note("absent: gating is not configured");
    }
    evidence.push(item);
    evidence.push(extension.enabled_evidence("True: gating is a setting of the sensor extension"));
    const FIX: &str = "fix: assign efd4031d (configure Microsoft Defender for Containers plan) with isSecurityGatingEnabled=True, or turn gating on in the Defender for Containers plan settings";
    match (gating, &raw) {
        (Some(true), _) if sensor_on => (
            Status::Pass,
            "deployment of vulnerable images is gated: the Defender for Containers sensor has SecurityGatingEnabled True".to_string(),
            evidence,
        ),
        (Some(true), _) => (
            Status::Warn,
            "gating is configured (SecurityGatingEnabled True) but the ContainerSensor extension it belongs to is off, so nothing gates deployments; fix: turn the ContainerSensor extension on in the Defender for Containers plan settings, or assign efd4031d (configure Microsoft Defender for Containers plan), which turns it on".to_string(),
            evidence,
        ),
        (None, Some(other)) => (
            Status::Unknown,
            format!("the gating flag SecurityGatingEnabled is {other}, not True or False"),
            evidence,
        ),
        (Some(false), _) => (
            Status::Warn,
            format!("deployment gating of vulnerable images is off (SecurityGatingEnabled False); {FIX}"),
            evidence,
        ),
        (None, None) => (
            Status::Warn,
            format!("deployment gating of vulnerable images is not configured (SecurityGatingEnabled absent); {FIX}"),
            evidence,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    fn pricing(sensor: Value) -> Value {
        json!({"id": "p", "name": "Containers", "properties": {"pricingTier": "Standard",
            "extensions": [sensor]}})
    }

    #[test]
    fn gating_flags_are_strings_compared_case_insensitively() {
        let on = pricing(json!({"name": "containersensor", "isEnabled": "True",
            "additionalExtensionProperties": {"securityGatingEnabled": "true"}}));
        assert_eq!(judge_pricing(&on).0, Status::Pass);
        let off = pricing(json!({"name": "ContainerSensor", "isEnabled": "True",
            "additionalExtensionProperties": {"SecurityGatingEnabled": "False"}}));
        assert_eq!(judge_pricing(&off).0, Status::Warn);
        let odd = pricing(json!({"name": "ContainerSensor", "isEnabled": "True",
            "additionalExtensionProperties": {"SecurityGatingEnabled": "Yes"}}));
        assert_eq!(judge_pricing(&odd).0, Status::Unknown);
        let sensor_off = pricing(json!({"name": "ContainerSensor", "isEnabled": "False",
            "additionalExtensionProperties": {"SecurityGatingEnabled": "True"}}));
        let (status, message, _) = judge_pricing(&sensor_off);
        assert_eq!(status, Status::Warn);
        assert!(
            message.contains("extension it belongs to is off"),
            "{message}"
        );
        let free = json!({"id": "p", "properties": {"pricingTier": "Free"}});
        assert_eq!(judge_pricing(&free).0, Status::NotApplicable);
    }
}
