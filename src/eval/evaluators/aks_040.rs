//! AKS-040: Defender for Servers does not bill the nodes of an AKS-only subscription, durably.
//!
//! The CAF seed suggests switching Defender for Servers off in a subscription whose only
//! machines are AKS nodes, and excluding it from the management-group policy that turns the
//! plan on, or the next remediation re-enables it. Per AKS subscription: when any VM, VM scale
//! set or Arc machine is not AKS node infrastructure (`Inventory::is_aks_machine`: in a
//! cluster's node resource group, or tagged `aks-managed-*`) the plan is legitimately needed and
//! the check does not apply. Otherwise the ground truth is each AKS machine's resource-level
//! `VirtualMachines` pricing (which reports the inherited subscription tier when not
//! overridden): any `Standard` fails. With every AKS machine and the subscription plan `Free`,
//! an enforced `DeployIfNotExists` assignment covering the subscription (ALZ
//! `Deploy-MDFC-Config*` ref `defenderForVM`, or a direct 8e86a5b6 / 5eb6d64a), not excluded by
//! `notScopes` nor exempted by an unexpired exemption for that reference, is drift waiting to
//! happen: warn. Otherwise pass. A machine list, a pricing, or the policy data that cannot be
//! read makes the finding unknown — a pass claims nothing will switch the plan back on. Whether
//! AKS node VMSS are billed at all is unverified (catalogue U): the pricing API's effective tier
//! stands in for billing, and the evidence says so.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::Check;
use crate::eval::policy::{self, Control, Coverage, Level};
use crate::eval::targets::{self, AksSubscription};
use crate::eval::{EvalContext, Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription, api, arm};

pub const SERVERS_PLAN_DINE: &str = "5eb6d64a-4086-4d7a-92da-ec51aed0332d";
pub const SERVERS_ENABLE_DINE: &str = "8e86a5b6-b9bd-49d1-8e21-4bb8a0862222";

const BILLING_NOTE: &str = "whether AKS node machines are actually billed by Defender for Servers is unverified (catalogue U); the pricing API's effective tier is taken as ground truth";

/// The durable exclusion, naming the subscription and (when known) the auto-enable assignment.
fn exempt(subscription: &str, assignment: Option<&str>) -> String {
    format!(
        "exempt this subscription for reference defenderForVM (az policy exemption create -n dfs-aks-only --scope {subscription} --policy-assignment {} --policy-definition-reference-ids defenderForVM --exemption-category Waiver) or add it to the assignment's notScopes",
        assignment.unwrap_or("<Deploy-MDFC-Config-H224 id>")
    )
}

/// The assignment that turns the plan on here, if one covers the subscription at all.
fn auto_enabler<'a>(coverage: &'a Coverage) -> Option<&'a str> {
    coverage
        .candidates
        .iter()
        .find(|c| matches!(c.level(), Level::Enforced | Level::Weaker | Level::Unknown))
        .map(|c| c.id())
}

fn control(ctx: &EvalContext) -> Control {
    let mut control = Control::new("defender for servers auto-enable", &["DeployIfNotExists"]);
    for set in ctx.param_strings("mdfc_sets") {
        control = control.member(&set, "defenderForVM");
    }
    control
        .definition(SERVERS_ENABLE_DINE)
        .definition(SERVERS_PLAN_DINE)
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let control = control(ctx);
    let mut findings = Vec::new();
    for sub in &ctx.inventory.subscriptions {
        let finding = match targets::aks_subscription(ctx.inventory, sub) {
            AksSubscription::NoClusters => Finding::new(
                check.id(),
                &sub.id,
                Status::NotApplicable,
                "no AKS clusters in this subscription",
            ),
            AksSubscription::Unknown(reason) => Finding::new(
                check.id(),
                &sub.id,
                Status::Unknown,
                format!("cannot tell whether this is an AKS subscription: {reason}"),
            ),
            AksSubscription::Clusters(_) => judge(check, ctx, sub, &control),
        };
        findings.push(finding);
    }
    findings
}

/// An AKS machine's effective Defender for Servers tier.
enum Tier {
    Standard,
    Free,
    Undecided(String),
}

fn effective_tier(inventory: &Inventory, machine: &Value) -> (Tier, Evidence) {
    let id = arm::id(machine);
    let property = "properties.pricingTier (resource-level VirtualMachines pricing)";
    let evidence = |observed: serde_json::Value| {
        Evidence::new(property, observed, "Free")
            .on(id)
            .note(BILLING_NOTE)
    };
    if let Some(reason) = inventory
        .read_state(id, api::PRICINGS)
        .missing_reason(id, api::PRICINGS)
    {
        return (
            Tier::Undecided(reason.clone()),
            evidence(serde_json::Value::Null).note(reason),
        );
    }
    let Some(pricing) = inventory.resource_pricings.get(&id.to_ascii_lowercase()) else {
        let reason =
            format!("the resource-level pricing of {id} was read but is not in the inventory");
        return (
            Tier::Undecided(reason.clone()),
            evidence(serde_json::Value::Null).note(reason),
        );
    };
    let observed = json!({
        "pricingTier": arm::str_at(pricing, "properties.pricingTier"),
        "subPlan": arm::str_at(pricing, "properties.subPlan"),
        "inherited": arm::path(pricing, "properties.inherited"),
        "inheritedFrom": arm::str_at(pricing, "properties.inheritedFrom"),
    });
    let tier = match arm::str_at(pricing, "properties.pricingTier") {
        Some(t) if arm::eq_ci(t, "Standard") => Tier::Standard,
        Some(t) if arm::eq_ci(t, "Free") => Tier::Free,
        other => Tier::Undecided(format!(
            "the resource-level pricingTier of {id} is {}",
            other.map_or("absent".to_string(), |t| format!("`{t}`"))
        )),
    };
    (tier, evidence(observed))
}

fn judge(check: &Check, ctx: &EvalContext, sub: &Subscription, control: &Control) -> Finding {
    let inventory = ctx.inventory;
    let finding =
        |status: Status, message: String| Finding::new(check.id(), &sub.id, status, message);
    let (aks, other): (Vec<&Value>, Vec<&Value>) = inventory
        .machines_in(&sub.subscription_id)
        .partition(|m| inventory.is_aks_machine(m));

    // Non-AKS machines: Defender for Servers is legitimately needed here.
    if !other.is_empty() {
        let names: Vec<&str> = other.iter().map(arm::name).collect();
        let evidence = other.iter().map(|m| {
            Evidence::new(
                "machine outside every cluster's node resource group, without aks-managed-* tags",
                json!(arm::str_at(m, "type")),
                "only AKS node machines in an AKS-only subscription",
            )
            .on(arm::id(m))
        });
        return finding(
            Status::NotApplicable,
            format!(
                "non-AKS machines run in this subscription ({}), so defender for servers is legitimately needed",
                names.join(", ")
            ),
        )
        .with_evidence(evidence);
    }
    let machine_gaps: Vec<String> = [api::VIRTUAL_MACHINES, api::SCALE_SETS, api::ARC_MACHINES]
        .iter()
        .filter_map(|a| inventory.read_state(&sub.id, a).missing_reason(&sub.id, a))
        .collect();
    if !machine_gaps.is_empty() {
        return finding(
            Status::Unknown,
            format!(
                "cannot tell whether this subscription runs only AKS machines: {}",
                machine_gaps.join("; ")
            ),
        );
    }

    let mut evidence = Vec::new();
    let mut billed = Vec::new();
    let mut undecided = Vec::new();
    for machine in &aks {
        let (tier, item) = effective_tier(inventory, machine);
        evidence.push(item);
        match tier {
            Tier::Standard => billed.push(arm::name(machine)),
            Tier::Free => {}
            Tier::Undecided(reason) => undecided.push(reason),
        }
    }
    let coverage = policy::coverage(inventory, &sub.id, control, ctx.today);
    if !billed.is_empty() {
        return finding(
            Status::Fail,
            format!(
                "{} of {} AKS node machines have defender for servers effectively on (tier Standard: {}) in an AKS-only subscription; fix: {}, then az security pricing create -n VirtualMachines --tier free",
                billed.len(),
                aks.len(),
                billed.join(", "),
                exempt(&sub.id, auto_enabler(&coverage))
            ),
        )
        .with_evidence(evidence);
    }
    if !undecided.is_empty() {
        return finding(
            Status::Unknown,
            format!(
                "cannot read the effective defender for servers tier of every AKS machine: {}",
                undecided.join("; ")
            ),
        )
        .with_evidence(evidence);
    }

    // Every AKS machine is effectively Free: is the subscription plan off too, and will it stay off?
    if let Some(reason) = inventory
        .read_state(&sub.id, api::PRICINGS)
        .missing_reason(&sub.id, api::PRICINGS)
    {
        return finding(
            Status::Unknown,
            format!("cannot read the subscription's defender plans: {reason}"),
        )
        .with_evidence(evidence);
    }
    let Some(plan) = inventory.subscription_pricing(&sub.subscription_id, "VirtualMachines") else {
        return finding(
            Status::Unknown,
            "the subscription's pricing list has no VirtualMachines plan".to_string(),
        )
        .with_evidence(evidence);
    };
    let plan_tier = arm::str_at(plan, "properties.pricingTier");
    evidence.push(
        Evidence::new(
            "properties.pricingTier (subscription VirtualMachines plan)",
            json!({"pricingTier": plan_tier, "subPlan": arm::str_at(plan, "properties.subPlan")}),
            "Free",
        )
        .on(arm::id(plan)),
    );
    let count = format!(
        "no AKS node machine ({} here) is billed for defender for servers",
        aks.len()
    );
    match plan_tier {
        Some(t) if arm::eq_ci(t, "Standard") => {
            let message = if aks.is_empty() {
                "no AKS node machine is visible in this subscription, so none is billed, although the subscription plan is Standard".to_string()
            } else {
                format!(
                    "{count}: each is overridden to Free at resource level while the subscription plan is Standard"
                )
            };
            return finding(Status::Pass, message).with_evidence(evidence);
        }
        Some(t) if arm::eq_ci(t, "Free") => {}
        other => {
            return finding(
                Status::Unknown,
                format!(
                    "the subscription's VirtualMachines pricingTier is {}",
                    other.map_or("absent".to_string(), |t| format!("`{t}`"))
                ),
            )
            .with_evidence(evidence);
        }
    }

    evidence.extend(coverage.evidence().into_iter().map(|mut item| {
        item.expected = "no enforced DeployIfNotExists assignment turning the plan on: the subscription in its notScopes, or exempted for defenderForVM (or the whole assignment) by an unexpired exemption".into();
        item
    }));
    drift(&coverage, &sub.id, &count, finding).with_evidence(evidence)
}

fn drift(
    coverage: &Coverage,
    subscription: &str,
    count: &str,
    finding: impl Fn(Status, String) -> Finding,
) -> Finding {
    match coverage.level() {
        Level::Enforced => finding(
            Status::Warn,
            format!(
                "{count} and the subscription plan is Free, but {} would switch the plan back on; fix: {}",
                coverage.best().map(|b| b.describe()).unwrap_or_default(),
                exempt(subscription, auto_enabler(coverage))
            ),
        ),
        Level::Unknown => finding(
            Status::Unknown,
            format!(
                "{count} and the subscription plan is Free, but whether a DeployIfNotExists assignment would switch it back on cannot be decided: {}",
                coverage.unknown_reasons().join("; ")
            ),
        ),
        Level::Uncovered => finding(
            Status::Pass,
            format!(
                "{count}, the subscription plan is Free and no DeployIfNotExists assignment covers it"
            ),
        ),
        Level::Weaker | Level::Inert => finding(
            Status::Pass,
            format!(
                "{count}, the subscription plan is Free and the auto-enable assignment does not apply ({})",
                coverage.best().map(|b| b.describe()).unwrap_or_default()
            ),
        ),
    }
}
