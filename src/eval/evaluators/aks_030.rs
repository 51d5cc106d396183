//! AKS-030: the cluster runs a Kubernetes version its region still supports, and upgrades
//! itself automatically.
//!
//! It decides per cluster by joining the cluster's version (`currentKubernetesVersion`, else
//! `kubernetesVersion`) with the supported-versions list of the cluster's region
//! (`locations/{location}/kubernetesVersions`: `values[].{version, isPreview,
//! capabilities.supportPlan[], patchVersions{}}`). Support is judged on the minor version, the
//! unit AKS supports: the cluster's `major.minor` must be listed, and offered under the cluster's
//! support plan (`supportPlan`, default `KubernetesOfficial`; an entry without
//! `capabilities.supportPlan` counts for every plan). A minor that is listed only under
//! `AKSLongTermSupport` is unsupported for a `KubernetesOfficial` cluster. A cluster on
//! `AKSLongTermSupport` whose minor is not listed at all warns instead of failing: whether LTS
//! still covers it cannot be confirmed from the list (catalogue U). A patch that the list no
//! longer offers is noted in the evidence only. The upgrade channel
//! (`autoUpgradeProfile.upgradeChannel`, absent means `none`) passes when it is one of
//! `allowed_upgrade_channels` (rapid, stable, patch) and warns when it is `none`, `node-image`
//! or another known channel outside that list. The two parts combine as fail > unknown > warn >
//! pass.
//!
//! Missing data: the region's list could not be read (or is not in the inventory), or the
//! payload has no version or location: the version part is `unknown`, and so is the finding
//! unless it already fails. An upgrade channel this check does not know is `unknown`.

use serde_json::{Value, json};

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{kubernetes_versions_scope, location_key};
use crate::inventory::{Inventory, api, arm};

const CURRENT: &str = "properties.currentKubernetesVersion";
const REQUESTED: &str = "properties.kubernetesVersion";
const PLAN: &str = "properties.supportPlan";
const CHANNEL: &str = "properties.autoUpgradeProfile.upgradeChannel";
const LTS: &str = "AKSLongTermSupport";
const KNOWN_CHANNELS: [&str; 5] = ["rapid", "stable", "patch", "node-image", "none"];
const LTS_NOTE: &str = "how AKSLongTermSupport clusters relate to the region's list (capabilities.supportPlan) is an unverified detail (catalogue U)";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let allowed = ctx.param_strings("allowed_upgrade_channels");
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, &allowed, cluster)
    })
}

fn evaluate_cluster(check: &str, inv: &Inventory, allowed: &[String], cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let mut evidence = Vec::new();
    let (version_status, version_message) = version_part(inv, cluster, &mut evidence);
    let (channel_status, channel_message) = channel_part(allowed, cluster, &mut evidence);
    let status = version_status.combine(channel_status);
    Finding::new(
        check,
        id,
        status,
        format!("{version_message}; {channel_message}"),
    )
    .with_evidence(evidence)
}

/// `major.minor` of a version string (`1.29.7` → `1.29`, `1.29` → `1.29`).
fn minor_of(version: &str) -> Option<String> {
    let mut parts = version.trim().trim_start_matches(['v', 'V']).split('.');
    let major = parts.next()?.trim();
    let minor = parts.next()?.trim();
    if major.is_empty()
        || minor.is_empty()
        || !major.chars().all(|c| c.is_ascii_digit())
        || !minor.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(format!("{major}.{minor}"))
}

fn version_part(
    inv: &Inventory,
    cluster: &Value,
    evidence: &mut Vec<Evidence>,
) -> (Status, String) {
    let current = arm::str_at(cluster, CURRENT);
    let requested = arm::str_at(cluster, REQUESTED);
    evidence.push(Evidence::new(
        CURRENT,
        current.map_or(Value::Null, |v| json!(v)),
        "a version whose minor the region supports",
    ));
    if current.is_none() {
        evidence.push(Evidence::new(
            REQUESTED,
            requested.map_or(Value::Null, |v| json!(v)),
            "used when currentKubernetesVersion is absent",
        ));
    }
    let raw_plan = arm::str_at(cluster, PLAN);
    let plan = raw_plan.unwrap_or("KubernetesOfficial");
    let lts = arm::eq_ci(plan, LTS);
    let mut item = Evidence::new(
        PLAN,
        raw_plan.map_or(Value::Null, |p| json!(p)),
        "the plan the version must be offered under",
    );
    if raw_plan.is_none() {
        item = item.note("absent in the ARM payload; the default KubernetesOfficial applies");
    } else if lts {
        item = item.note(LTS_NOTE);
    }
    evidence.push(item);

    let Some(version) = current.or(requested).filter(|v| !v.trim().is_empty()) else {
        return (
            Status::Unknown,
            "the payload carries no Kubernetes version (currentKubernetesVersion and kubernetesVersion absent)".into(),
        );
    };
    let Some(minor) = minor_of(version) else {
        return (
            Status::Unknown,
            format!("version `{version}` is not in major.minor[.patch] form"),
        );
    };
    let Some(location) = arm::str_at(cluster, "location").filter(|l| !l.trim().is_empty()) else {
        return (
            Status::Unknown,
            "the payload carries no location, so the region's supported versions cannot be looked up".into(),
        );
    };
    let scope = kubernetes_versions_scope(location);
    let list_id = format!("{scope}/kubernetesVersions");
    if let Some(reason) = inv
        .read_state(&scope, api::KUBERNETES_VERSIONS)
        .missing_reason(&scope, api::KUBERNETES_VERSIONS)
    {
        evidence.push(
            Evidence::new("values", Value::Null, "the region's supported versions")
                .on(list_id)
                .note(format!("not evaluated: {reason}")),
        );
        return (
            Status::Unknown,
            format!(
                "whether Kubernetes {version} is supported in {location} cannot be told: {reason}"
            ),
        );
    }
    let values = inv
        .kubernetes_versions
        .get(&location_key(location))
        .and_then(|l| arm::array_at(l, "values"));
    let Some(values) = values else {
        evidence.push(
            Evidence::new("values", Value::Null, "the region's supported versions")
                .on(list_id)
                .note("the read is recorded as successful, but the inventory holds no values list for this location"),
        );
        return (
            Status::Unknown,
            format!(
                "whether Kubernetes {version} is supported in {location} cannot be told: the region's version list is missing from the inventory"
            ),
        );
    };
    if values.is_empty() {
        evidence.push(
            Evidence::new("values", json!([]), "the region's supported versions")
                .on(list_id)
                .note("the list was read but is empty, which no AKS region returns"),
        );
        return (
            Status::Unknown,
            format!(
                "whether Kubernetes {version} is supported in {location} cannot be told: the region's version list is empty"
            ),
        );
    }
    let listed: Vec<Value> = values
        .iter()
        .map(|v| {
            json!({"version": arm::str_at(v, "version"),
                "supportPlan": arm::path(v, "capabilities.supportPlan").cloned().unwrap_or(Value::Null),
                "isPreview": arm::bool_at(v, "isPreview").unwrap_or(false)})
        })
        .collect();
    let entry = values
        .iter()
        .find(|v| arm::str_at(v, "version").and_then(minor_of).as_deref() == Some(minor.as_str()));
    let mut item = Evidence::new(
        "values[].{version, capabilities.supportPlan, isPreview}",
        Value::Array(listed),
        format!("lists {minor} under the {plan} plan"),
    )
    .on(list_id);

    let Some(entry) = entry else {
        let minors: Vec<&str> = values
            .iter()
            .filter_map(|v| arm::str_at(v, "version"))
            .collect();
        if lts {
            evidence.push(item.note(format!(
                "{minor} is not listed; the cluster is on {LTS}; {LTS_NOTE}"
            )));
            return (
                Status::Warn,
                format!(
                    "version {version} (minor {minor}) is not in the supported list of {location}, but the cluster is on {LTS}; whether LTS still covers it cannot be confirmed (unverified, catalogue U)"
                ),
            );
        }
        evidence.push(item.note(format!("{minor} is not listed")));
        return (
            Status::Fail,
            format!(
                "version {version} (minor {minor}) is not supported in {location}: the region lists {}",
                minors.join(", ")
            ),
        );
    };

    let plans: Vec<&str> = arm::array_at(entry, "capabilities.supportPlan")
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut notes = Vec::new();
    if arm::bool_at(entry, "isPreview") == Some(true) {
        notes.push(format!("{minor} is a preview version in this region"));
    }
    if version.split('.').count() >= 3
        && let Some(patches) = arm::path(entry, "patchVersions").and_then(Value::as_object)
        && !patches.keys().any(|k| k.trim() == version.trim())
    {
        let offered: Vec<&str> = patches.keys().map(String::as_str).collect();
        notes.push(format!(
            "patch {version} is no longer offered (offered: {}); the minor is supported, but upgrade to the latest patch",
            offered.join(", ")
        ));
    }
    let offered_for_plan = plans.is_empty() || plans.iter().any(|p| arm::eq_ci(p, plan));
    if lts {
        notes.push(LTS_NOTE.to_string());
    }
    if !offered_for_plan && !lts {
        notes.push(format!(
            "{minor} is offered only under {}; {LTS_NOTE}",
            plans.join(", ")
        ));
        evidence.push(item.note(notes.join("; ")));
        return (
            Status::Fail,
            format!(
                "version {version} (minor {minor}) is supported in {location} only under {} (long-term support), and the cluster's plan is {plan}",
                plans.join(", ")
            ),
        );
    }
    if !notes.is_empty() {
        item = item.note(notes.join("; "));
    }
    evidence.push(item);
    (
        Status::Pass,
        format!(
            "version {version} (minor {minor}) is supported in {location}{}",
            if lts {
                format!(" ({LTS})")
            } else {
                String::new()
            }
        ),
    )
}

fn channel_part(
    allowed: &[String],
    cluster: &Value,
    evidence: &mut Vec<Evidence>,
) -> (Status, String) {
    let raw = arm::str_at(cluster, CHANNEL);
    let channel = raw.unwrap_or("none");
    let mut item = Evidence::new(
        CHANNEL,
        raw.map_or(Value::Null, |c| json!(c)),
        allowed.join(", "),
    );
    if raw.is_none() {
        item = item.note("absent in the ARM payload; the default none applies");
    }
    evidence.push(item);
    if allowed.iter().any(|a| arm::eq_ci(a, channel)) {
        (
            Status::Pass,
            format!("the cluster upgrades automatically (upgradeChannel {channel})"),
        )
    } else if KNOWN_CHANNELS.iter().any(|k| arm::eq_ci(k, channel)) {
        (
            Status::Warn,
            format!(
                "the cluster's Kubernetes version is not upgraded automatically (upgradeChannel {}{})",
                channel,
                if raw.is_none() { ", absent" } else { "" }
            ),
        )
    } else {
        (
            Status::Unknown,
            format!("upgradeChannel `{channel}` is a value this check does not know"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_versions() {
        assert_eq!(minor_of("1.29.7").as_deref(), Some("1.29"));
        assert_eq!(minor_of("1.29").as_deref(), Some("1.29"));
        assert_eq!(minor_of("v1.30.0").as_deref(), Some("1.30"));
        assert_eq!(minor_of("1"), None);
        assert_eq!(minor_of("latest"), None);
        assert_eq!(minor_of("1.x"), None);
    }
}
