//! Reading a subscription's Defender for Containers plan: the subscription-level `Containers`
//! pricing, its tier and its extensions, with the evidence each read leaves behind.
//!
//! AKS-005, AKS-007, AKS-014, AKS-032 and AKS-048 all judge this one record, so how it is found
//! (a denied or uncollected pricing list is not the same as a read list without the record), how
//! its tier is classified and how an extension's `isEnabled` flag is read live here once. The
//! verdicts stay with the checks: each maps `Containers::NotRead`/`Absent`/`Read` and the tier
//! to its own status and message. `containers_plan` is AKS-005's verdict as AKS-014 and AKS-048
//! consume it (computed from the same data, never by running AKS-005).

use crate::json::Value;
use serde_json::json;

use crate::eval::{Evidence, Finding, Status};
use crate::inventory::{Inventory, Subscription, api, arm};

/// The two extensions AKS-005 requires on the `Containers` plan.
pub(super) const SENSOR: &str = "ContainerSensor";
pub(super) const REGISTRY_VA: &str = "ContainerRegistriesVulnerabilityAssessments";

/// Where a subscription's pricings are read: `{subscription}/providers/Microsoft.Security/pricings`.
pub(super) fn pricings_scope(sub_id: &str) -> String {
    format!("{sub_id}/providers/Microsoft.Security/pricings")
}

/// The `Containers` pricing of a subscription, as far as the inventory tells.
pub(super) enum Containers<'a> {
    /// The pricing list was not read (denied, failed or not collected), and why.
    NotRead(String),
    /// The pricing list was read and holds no `Containers` record.
    Absent,
    /// The record.
    Read(Pricing<'a>),
}

/// Looks up the `Containers` pricing of the subscription `sub_id` (`/subscriptions/{guid}`).
pub(super) fn containers<'a>(inv: &'a Inventory, sub_id: &str, guid: &str) -> Containers<'a> {
    if let Some(reason) = inv
        .read_state(sub_id, api::PRICINGS)
        .missing_reason(sub_id, api::PRICINGS)
    {
        return Containers::NotRead(reason);
    }
    match inv.subscription_pricing(guid, "Containers") {
        Some(record) => Containers::Read(Pricing { record }),
        None => Containers::Absent,
    }
}

/// Evidence that the pricing list of `sub_id` was not read, for the property a check wanted.
pub(super) fn not_read_evidence(
    sub_id: &str,
    property: impl Into<crate::interned::Text>,
    expected: &str,
) -> Evidence {
    Evidence::new(property, Value::Null, expected)
        .on(pricings_scope(sub_id))
        .note("the pricing list was not read")
}

/// Evidence that the pricing list of `sub_id` was read and has no `Containers` record.
pub(super) fn absent_evidence(sub_id: &str, expected: &str) -> Evidence {
    Evidence::new(
        "Microsoft.Security/pricings/Containers",
        Value::Null,
        expected,
    )
    .on(pricings_scope(sub_id))
    .note("the pricing list was read and has no Containers record")
}

/// The `pricingTier` of a `Containers` record.
pub(super) enum Tier<'a> {
    Standard,
    Free,
    /// Absent, or a value this tool does not know.
    Other(Option<&'a str>),
}

/// A `Containers` pricing record.
pub(super) struct Pricing<'a> {
    pub record: &'a Value,
}

impl<'a> Pricing<'a> {
    pub fn id(&self) -> String {
        arm::id(self.record).to_string()
    }

    pub fn raw_tier(&self) -> Option<&'a str> {
        arm::str_at(self.record, "properties.pricingTier")
    }

    /// The tier, compared case-insensitively.
    pub fn tier(&self) -> Tier<'a> {
        match self.raw_tier() {
            Some(t) if arm::eq_ci(t, "Standard") => Tier::Standard,
            Some(t) if arm::eq_ci(t, "Free") => Tier::Free,
            other => Tier::Other(other),
        }
    }

    /// Evidence for `properties.pricingTier`.
    pub fn tier_evidence(&self, expected: &str) -> Evidence {
        Evidence::new(
            "properties.pricingTier",
            self.raw_tier()
                .map_or(serde_json::Value::Null, |t| json!(t)),
            expected,
        )
        .on(self.id())
    }

    /// The extension named `name` (case-insensitively), listed or not.
    pub fn extension(&self, name: &'static str) -> Extension<'a> {
        let record = arm::array_at(self.record, "properties.extensions")
            .and_then(|list| list.iter().find(|e| arm::eq_ci(arm::name(e), name)));
        Extension {
            name,
            pricing_id: self.id(),
            record,
        }
    }
}

/// One extension of a `Containers` pricing; `record` is `None` when it is not listed.
pub(super) struct Extension<'a> {
    pub name: &'static str,
    pricing_id: String,
    pub record: Option<&'a Value>,
}

impl Extension<'_> {
    /// `isEnabled` read as a boolean (the strings `"True"`/`"False"`, case-insensitively).
    pub fn enabled(&self) -> Option<bool> {
        self.record.and_then(|e| arm::bool_at(e, "isEnabled"))
    }

    /// Evidence for `isEnabled`: the raw value seen, without a note.
    pub fn enabled_evidence(&self, expected: &str) -> Evidence {
        Evidence::new(
            format!("properties.extensions[name={}].isEnabled", self.name),
            self.record
                .and_then(|e| arm::key(e, "isEnabled"))
                .cloned()
                .unwrap_or(Value::Null),
            expected,
        )
        .on(self.pricing_id.clone())
    }

    /// `enabled_evidence`, noting an unlisted extension as not enabled.
    pub fn enabled_evidence_noted(&self, expected: &str) -> Evidence {
        let item = self.enabled_evidence(expected);
        if self.record.is_none() {
            item.note("the extension is not listed on the plan; read as not enabled")
        } else {
            item
        }
    }
}

/// The scope of AKS-005 and AKS-007: a subscription holding AKS clusters or container
/// registries. Returns the scope evidence (expecting `expected`), or the finding for a
/// subscription out of scope (`not_applicable`) or whose scope cannot be told (`unknown`).
pub(super) fn clusters_or_registries(
    check: &str,
    inv: &Inventory,
    sub: &Subscription,
    expected: &str,
) -> Result<Evidence, Box<Finding>> {
    let clusters = inv.clusters_in(&sub.subscription_id).count();
    let registries = inv.registries_in(&sub.subscription_id).count();
    let scope = Evidence::new(
        "AKS clusters and container registries in the subscription",
        json!({"clusters": clusters, "registries": registries}),
        expected,
    );
    if clusters != 0 || registries != 0 {
        return Ok(scope);
    }
    let missing: Vec<String> = [api::CLUSTERS, api::REGISTRIES]
        .into_iter()
        .filter_map(|a| inv.read_state(&sub.id, a).missing_reason(&sub.id, a))
        .collect();
    let (status, message) = if missing.is_empty() {
        (
            Status::NotApplicable,
            "no AKS clusters or container registries in this subscription".to_string(),
        )
    } else {
        (
            Status::Unknown,
            format!(
                "cannot tell whether this subscription holds AKS clusters or container registries ({})",
                missing.join("; ")
            ),
        )
    };
    Err(Box::new(
        Finding::new(check, &sub.id, status, message).evidence(scope),
    ))
}

/// AKS-005's verdict on a subscription's `Containers` plan, computed from the pricing data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PlanVerdict {
    /// `Standard` with both extensions on.
    Pass,
    /// `Standard` with these extensions off (or unlisted).
    Warn(Vec<&'static str>),
    /// `Free`, or no `Containers` record in a pricing list that was read.
    Fail(String),
    /// The pricing list was not read, or the tier is absent or unrecognised.
    Unknown(String),
}

/// The `Containers` plan of a subscription, judged with AKS-005's rules.
pub(super) struct ContainersPlan {
    pub verdict: PlanVerdict,
    pub evidence: Vec<Evidence>,
}

impl ContainersPlan {
    /// Whether the plan is `Standard` with `extension` on; `None` when that cannot be told.
    pub fn extension_on(&self, extension: &str) -> Option<bool> {
        match &self.verdict {
            PlanVerdict::Pass => Some(true),
            PlanVerdict::Warn(off) => Some(!off.iter().any(|e| arm::eq_ci(e, extension))),
            PlanVerdict::Fail(_) => Some(false),
            PlanVerdict::Unknown(_) => None,
        }
    }

    /// A phrase describing the plan, for messages.
    pub fn describe(&self) -> String {
        match &self.verdict {
            PlanVerdict::Pass => "the Defender for Containers plan is Standard with ContainerSensor and ContainerRegistriesVulnerabilityAssessments on".to_string(),
            PlanVerdict::Warn(off) => format!(
                "the Defender for Containers plan is Standard but {} is off",
                off.join(" and ")
            ),
            PlanVerdict::Fail(why) | PlanVerdict::Unknown(why) => why.clone(),
        }
    }
}

/// Judges the subscription-level `Containers` pricing of `subscription` (GUID) as AKS-005 does:
/// `Standard` with both extensions on passes, `Standard` with either off warns, `Free` or no
/// record fails; a pricing list that was not read, or an absent or unrecognised tier, is unknown.
/// Extension flags are the strings `"True"`/`"False"`, compared case-insensitively; an unlisted
/// extension counts as off.
pub(super) fn containers_plan(inv: &Inventory, subscription: &str) -> ContainersPlan {
    let sub_id = format!("/subscriptions/{subscription}");
    let pricing = match containers(inv, &sub_id, subscription) {
        Containers::NotRead(reason) => {
            return ContainersPlan {
                verdict: PlanVerdict::Unknown(format!(
                    "the Defender for Containers plan could not be read ({reason})"
                )),
                evidence: vec![not_read_evidence(
                    &sub_id,
                    "Microsoft.Security/pricings/Containers: properties.pricingTier",
                    "Standard",
                )],
            };
        }
        Containers::Absent => {
            return ContainersPlan {
                verdict: PlanVerdict::Fail(
                    "the subscription has no Defender for Containers (Containers) plan".to_string(),
                ),
                evidence: vec![absent_evidence(
                    &sub_id,
                    "a Containers pricing with pricingTier Standard",
                )],
            };
        }
        Containers::Read(pricing) => pricing,
    };
    let mut evidence = vec![pricing.tier_evidence("Standard")];
    match pricing.tier() {
        Tier::Standard => {}
        Tier::Free => {
            return ContainersPlan {
                verdict: PlanVerdict::Fail("the Defender for Containers plan is Free".to_string()),
                evidence,
            };
        }
        Tier::Other(other) => {
            return ContainersPlan {
                verdict: PlanVerdict::Unknown(format!(
                    "the Defender for Containers plan has an unrecognised pricingTier ({})",
                    other.unwrap_or("absent")
                )),
                evidence,
            };
        }
    }
    let mut off = Vec::new();
    for name in [SENSOR, REGISTRY_VA] {
        let extension = pricing.extension(name);
        evidence.push(extension.enabled_evidence_noted("True"));
        if extension.enabled() != Some(true) {
            off.push(name);
        }
    }
    let verdict = if off.is_empty() {
        PlanVerdict::Pass
    } else {
        PlanVerdict::Warn(off)
    };
    ContainersPlan { verdict, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Read, Subscription};
    use crate::tree as json;

    fn inventory(pricing: Option<Value>) -> Inventory {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.subscriptions.push(Subscription {
            id: "/subscriptions/s1".into(),
            subscription_id: "s1".into(),
            display_name: "s1".into(),
            state: "Enabled".into(),
            management_group_ancestors: None,
        });
        if let Some(p) = pricing {
            inv.pricings.insert("s1".into(), vec![p]);
            inv.reads.push(Read::ok("/subscriptions/s1", api::PRICINGS));
        }
        inv
    }

    #[test]
    fn plan_follows_aks_005() {
        let plan = containers_plan(&inventory(None), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Unknown(_)));
        assert_eq!(plan.extension_on(REGISTRY_VA), None);

        let p = json!({"id": "p", "name": "containers", "properties": {"pricingTier": "standard",
            "extensions": [{"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "true"}]}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert_eq!(plan.verdict, PlanVerdict::Warn(vec![SENSOR]));
        assert_eq!(plan.extension_on(REGISTRY_VA), Some(true));
        assert_eq!(plan.extension_on(SENSOR), Some(false));

        let p = json!({"id": "p", "name": "Containers", "properties": {"pricingTier": "Free"}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Fail(_)));
        assert_eq!(plan.extension_on(REGISTRY_VA), Some(false));

        let p = json!({"id": "p", "name": "VirtualMachines", "properties": {"pricingTier": "Standard"}});
        let plan = containers_plan(&inventory(Some(p)), "s1");
        assert!(matches!(plan.verdict, PlanVerdict::Fail(_)));
    }
}
