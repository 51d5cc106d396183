//! AKS-032: the Defender for Containers sensor runs on the cluster.
//!
//! It decides per cluster from `securityProfile.defender.securityMonitoring.enabled` (absent
//! means the sensor is not deployed): `true` passes, anything else fails. The catalogue softens
//! that fail to a warn ("auto-provisioning pending") when the subscription's `Containers` plan has
//! the `ContainerSensor` extension on, because Defender then deploys the sensor by itself; joining
//! the cluster with its subscription's pricing is why this is a Rust evaluator. The softening
//! requires the plan to be `Standard` too, since a `Free` plan provisions nothing.
//!
//! When the pricing could not be read (denied, failed or not collected), or its `pricingTier` is
//! absent, null or not one ARM documents, an absent sensor is `unknown`: the sensor's absence is
//! certain, but the plan that was not read (or cannot be read) decides between the fail and the
//! warn, and a verdict resting on an unread collection would be the
//! empty-collection answer. The message names the failed read. A sensor that is on passes
//! whatever the pricing says.

use crate::json::Value;

use super::defender::{self, Containers, Tier};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::arm;

const SENSOR: &str = "properties.securityProfile.defender.securityMonitoring.enabled";
const WORKSPACE: &str = "properties.securityProfile.defender.logAnalyticsWorkspaceResourceId";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx, cluster)
    })
}

/// What the subscription's `Containers` plan says about sensor auto-provisioning.
enum AutoProvisioning {
    On,
    Off(String),
    Unreadable(String),
}

fn evaluate_cluster(check: &str, ctx: &EvalContext, cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let raw = arm::path(cluster, SENSOR).cloned();
    let enabled = arm::bool_at(cluster, SENSOR) == Some(true);
    let mut sensor = Evidence::new(SENSOR, raw.clone().unwrap_or(Value::Null), "true");
    if raw.is_none() {
        sensor = sensor.note("absent in the ARM payload: the Defender profile is not deployed");
    }
    let workspace = Evidence::new(
        WORKSPACE,
        arm::path(cluster, WORKSPACE)
            .cloned()
            .unwrap_or(Value::Null),
        "the Log Analytics workspace the sensor reports to (informational)",
    );
    if enabled {
        return Finding::new(
            check,
            id,
            Status::Pass,
            "the Defender sensor is enabled (securityProfile.defender.securityMonitoring.enabled)",
        )
        .evidence(sensor)
        .evidence(workspace);
    }

    let (auto, plan_evidence) = auto_provisioning(ctx, cluster);
    let (status, message) = match auto {
        AutoProvisioning::On => (
            Status::Warn,
            "the Defender sensor is not enabled on the cluster, but the subscription's Defender for Containers plan has ContainerSensor on: auto-provisioning pending".to_string(),
        ),
        AutoProvisioning::Off(why) => (
            Status::Fail,
            format!("the Defender sensor is not enabled on the cluster, and {why}"),
        ),
        AutoProvisioning::Unreadable(reason) => (
            Status::Unknown,
            format!(
                "the Defender sensor is not enabled on the cluster, and whether the Defender for Containers plan auto-provisions it (a warn rather than a fail) cannot be told: {reason}"
            ),
        ),
    };
    Finding::new(check, id, status, message)
        .evidence(sensor)
        .evidence(workspace)
        .with_evidence(plan_evidence)
}

fn auto_provisioning(ctx: &EvalContext, cluster: &Value) -> (AutoProvisioning, Vec<Evidence>) {
    let guid = arm::subscription_of(arm::id(cluster)).unwrap_or_default();
    let sub_id = format!("/subscriptions/{guid}");
    const EXPECTED: &str = "True (turns the fail into a warn: auto-provisioning pending)";
    let pricing = match defender::containers(ctx.inventory, &sub_id, &guid) {
        Containers::NotRead(reason) => {
            let item = Evidence::new(
                "Containers pricing: properties.extensions[name=ContainerSensor].isEnabled",
                Value::Null,
                EXPECTED,
            )
            .on(defender::pricings_scope(&sub_id))
            .note(format!(
                "not evaluated: {reason}; it decides between a fail and a warn for the absent sensor"
            ));
            return (AutoProvisioning::Unreadable(reason), vec![item]);
        }
        Containers::Absent => {
            let item =
                defender::absent_evidence(&sub_id, "a Standard plan with ContainerSensor on");
            return (
                AutoProvisioning::Off(
                    "the subscription has no Defender for Containers plan".into(),
                ),
                vec![item],
            );
        }
        Containers::Read(pricing) => pricing,
    };
    let extension = pricing.extension(defender::SENSOR);
    let sensor_on = extension.enabled() == Some(true);
    let evidence = vec![
        pricing.tier_evidence("Standard"),
        extension.enabled_evidence_noted(EXPECTED),
    ];
    let state = match (pricing.tier(), sensor_on) {
        (Tier::Standard, true) => AutoProvisioning::On,
        (Tier::Standard, false) => AutoProvisioning::Off(
            "the Defender for Containers plan does not auto-provision it (ContainerSensor off)"
                .into(),
        ),
        (Tier::Free, _) => AutoProvisioning::Off(format!(
            "the Defender for Containers plan is not Standard ({}), so nothing provisions it",
            pricing.raw_tier().unwrap_or("Free")
        )),
        // `pricingTier` is required and has no default: null, absent or a value outside the
        // swagger's enum says nothing about whether the plan provisions the sensor, and that
        // decides between the warn and the fail.
        (Tier::Other(tier), _) => AutoProvisioning::Unreadable(format!(
            "the Defender for Containers pricing has {}",
            tier.map_or("no pricingTier (pricingTier absent)".to_string(), |t| {
                format!("pricingTier `{t}`, a value this check does not know")
            })
        )),
    };
    (state, evidence)
}
