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
//! Node pools are judged the same way: each pool's `currentOrchestratorVersion` (what it runs),
//! else its `orchestratorVersion`, against the same list and plan, since AKS lets pools lag the
//! control plane and a pool on an unsupported minor gets no patches either. A pool with neither
//! runs the control plane's version (ARM's default). Every pool has its own evidence; the
//! message names the pools that do not pass. Pool and control-plane verdicts combine like the
//! two parts.
//!
//! Missing data: the region's list could not be read (or is not in the inventory), or the
//! payload has no version or location: the version part is `unknown`, and so is the finding
//! unless it already fails. An upgrade channel this check does not know is `unknown`.

use crate::json::{Text, Value};
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{kubernetes_versions_scope, location_key};
use crate::inventory::{Inventory, api, arm};

const CURRENT: &str = "properties.currentKubernetesVersion";
const REQUESTED: &str = "properties.kubernetesVersion";
const PLAN: &str = "properties.supportPlan";
const CHANNEL: &str = "properties.autoUpgradeProfile.upgradeChannel";
const POOL_CURRENT: &str = "currentOrchestratorVersion";
const POOL_REQUESTED: &str = "orchestratorVersion";
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

/// The region's supported-versions list, or why it cannot be used.
struct Region<'a> {
    location: &'a str,
    values: &'a [Value],
    list_id: String,
}

/// Why the region's list cannot be used.
enum RegionGap<'a> {
    NoLocation,
    Missing { location: &'a str, reason: String },
}

impl RegionGap<'_> {
    /// The message, about `version` (the control plane's, when known).
    fn message(&self, version: Option<&str>) -> String {
        match self {
            RegionGap::NoLocation => {
                "the payload carries no location, so the region's supported versions cannot be looked up".into()
            }
            RegionGap::Missing { location, reason } => format!(
                "whether Kubernetes {} is supported in {location} cannot be told: {reason}",
                version.unwrap_or("(no version)")
            ),
        }
    }
}

/// The supported-versions list of the cluster's region; evidence of a gap is pushed here.
fn region<'a>(
    inv: &'a Inventory,
    cluster: &'a Value,
    evidence: &mut Vec<Evidence>,
) -> Result<Region<'a>, RegionGap<'a>> {
    let Some(location) = arm::str_at(cluster, "location").filter(|l| !l.trim().is_empty()) else {
        return Err(RegionGap::NoLocation);
    };
    let scope = kubernetes_versions_scope(location);
    let list_id = format!("{scope}/kubernetesVersions");
    let gap = |evidence: &mut Vec<Evidence>,
               observed: serde_json::Value,
               note: String,
               reason: String| {
        evidence.push(
            Evidence::new("values", observed, "the region's supported versions")
                .on(list_id.clone())
                .note(note),
        );
        Err(RegionGap::Missing { location, reason })
    };
    if let Some(reason) = inv
        .read_state(&scope, api::KUBERNETES_VERSIONS)
        .missing_reason(&scope, api::KUBERNETES_VERSIONS)
    {
        return gap(
            evidence,
            serde_json::Value::Null,
            format!("not evaluated: {reason}"),
            reason,
        );
    }
    let Some(values) = inv
        .kubernetes_versions
        .get(&location_key(location))
        .and_then(|l| arm::array_at(l, "values"))
    else {
        return gap(
            evidence,
            serde_json::Value::Null,
            "the read is recorded as successful, but the inventory holds no values list for this location".into(),
            "the region's version list is missing from the inventory".into(),
        );
    };
    if values.is_empty() {
        return gap(
            evidence,
            json!([]),
            "the list was read but is empty, which no AKS region returns".into(),
            "the region's version list is empty".into(),
        );
    }
    Ok(Region {
        location,
        values,
        list_id,
    })
}

/// One version judged against the region's list under the cluster's plan.
struct Judged {
    status: Status,
    minor: String,
    message: String,
    notes: Vec<String>,
}

/// Judges `version` against the region's list: its minor must be listed, under `plan` (LTS
/// clusters whose minor is not listed warn, unverified). Notes say what the outcome leaves out
/// (a preview minor, a patch no longer offered).
fn judge(region: &Region, version: &str, plan: &str) -> Result<Judged, String> {
    let Some(minor) = minor_of(version) else {
        return Err(format!(
            "version `{version}` is not in major.minor[.patch] form"
        ));
    };
    let location = region.location;
    let lts = arm::eq_ci(plan, LTS);
    let entry = region
        .values
        .iter()
        .find(|v| arm::str_at(v, "version").and_then(minor_of).as_deref() == Some(minor.as_str()));
    let Some(entry) = entry else {
        let minors: Vec<&str> = region
            .values
            .iter()
            .filter_map(|v| arm::str_at(v, "version"))
            .collect();
        if lts {
            return Ok(Judged {
                status: Status::Warn,
                message: format!(
                    "version {version} (minor {minor}) is not in the supported list of {location}, but the cluster is on {LTS}; whether LTS still covers it cannot be confirmed (unverified, catalogue U)"
                ),
                notes: vec![format!(
                    "{minor} is not listed; the cluster is on {LTS}; {LTS_NOTE}"
                )],
                minor,
            });
        }
        return Ok(Judged {
            status: Status::Fail,
            message: format!(
                "version {version} (minor {minor}) is not supported in {location}: the region lists {}",
                minors.join(", ")
            ),
            notes: vec![format!("{minor} is not listed")],
            minor,
        });
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
        let offered: Vec<&str> = patches.keys().map(Text::as_str).collect();
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
        return Ok(Judged {
            status: Status::Fail,
            message: format!(
                "version {version} (minor {minor}) is supported in {location} only under {} (long-term support), and the cluster's plan is {plan}",
                plans.join(", ")
            ),
            notes,
            minor,
        });
    }
    Ok(Judged {
        status: Status::Pass,
        message: format!(
            "version {version} (minor {minor}) is supported in {location}{}",
            if lts {
                format!(" ({LTS})")
            } else {
                String::new()
            }
        ),
        notes,
        minor,
    })
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
        current.map_or(serde_json::Value::Null, |v| json!(v)),
        "a version whose minor the region supports",
    ));
    if current.is_none() {
        evidence.push(Evidence::new(
            REQUESTED,
            requested.map_or(serde_json::Value::Null, |v| json!(v)),
            "used when currentKubernetesVersion is absent",
        ));
    }
    let raw_plan = arm::str_at(cluster, PLAN);
    let plan = raw_plan.unwrap_or("KubernetesOfficial");
    let lts = arm::eq_ci(plan, LTS);
    let mut item = Evidence::new(
        PLAN,
        raw_plan.map_or(serde_json::Value::Null, |p| json!(p)),
        "the plan the version must be offered under",
    );
    if raw_plan.is_none() {
        item = item.note("absent in the ARM payload; the default KubernetesOfficial applies");
    } else if lts {
        item = item.note(LTS_NOTE);
    }
    evidence.push(item);

    let version = current.or(requested).filter(|v| !v.trim().is_empty());
    let listed = match version.map(minor_of) {
        // Without a usable control-plane version the finding is unknown whatever the list says.
        None | Some(None) => None,
        Some(Some(_)) => Some(region(inv, cluster, evidence)),
    };
    let (status, message) = match (version, &listed) {
        (None, _) => (
            Status::Unknown,
            "the payload carries no Kubernetes version (currentKubernetesVersion and kubernetesVersion absent)".into(),
        ),
        (Some(version), None) => (
            Status::Unknown,
            format!("version `{version}` is not in major.minor[.patch] form"),
        ),
        (Some(version), Some(Err(gap))) => (Status::Unknown, gap.message(Some(version))),
        (Some(version), Some(Ok(region))) => match judge(region, version, plan) {
            Err(why) => (Status::Unknown, why),
            Ok(judged) => {
                let listed: Vec<serde_json::Value> = region
                    .values
                    .iter()
                    .map(|v| {
                        json!({"version": arm::str_at(v, "version"),
                            "supportPlan": arm::path(v, "capabilities.supportPlan").cloned().unwrap_or(Value::Null),
                            "isPreview": arm::bool_at(v, "isPreview").unwrap_or(false)})
                    })
                    .collect();
                let mut item = Evidence::new(
                    "values[].{version, capabilities.supportPlan, isPreview}",
                    serde_json::Value::Array(listed),
                    format!("lists {} under the {plan} plan", judged.minor),
                )
                .on(region.list_id.clone());
                if !judged.notes.is_empty() {
                    item = item.note(judged.notes.join("; "));
                }
                evidence.push(item);
                (judged.status, format!("control plane {}", judged.message))
            }
        },
    };
    let listed = match listed {
        Some(listed) => listed,
        // The control plane's own version decides `unknown`; still look the pools up, since a
        // pool on an unsupported minor is a certain fail.
        None => region(inv, cluster, &mut Vec::new()),
    };
    let (pool_status, pool_message) =
        pool_part(cluster, version, listed.as_ref().ok(), plan, evidence);
    let message = match pool_message {
        Some(pools) => format!("{message}; {pools}"),
        None => message,
    };
    (status.combine(pool_status), message)
}

/// The node pools' versions (`currentOrchestratorVersion`, else `orchestratorVersion`; a pool
/// with neither runs the control plane's version, ARM's default), each judged against the
/// region's list like the control plane: a pool left on an unsupported minor is as unsupported
/// as a control plane on it, and AKS lets pools lag the control plane. Every pool gets
/// evidence naming it; the message names the pools that do not pass, and says when all do.
fn pool_part(
    cluster: &Value,
    control_plane: Option<&str>,
    region: Option<&Region>,
    plan: &str,
    evidence: &mut Vec<Evidence>,
) -> (Status, Option<String>) {
    let pools = arm::array_at(cluster, "properties.agentPoolProfiles").unwrap_or_default();
    let mut status = Status::NotApplicable;
    let (mut failing, mut warning, mut undecided) = (Vec::new(), Vec::new(), Vec::new());
    for (i, pool) in pools.iter().enumerate() {
        let name = match arm::name(pool) {
            "" => format!("#{i}"),
            name => name.to_string(),
        };
        let (field, raw) = [POOL_CURRENT, POOL_REQUESTED]
            .into_iter()
            .find_map(|f| {
                arm::str_at(pool, f)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (f, Some(v)))
            })
            .unwrap_or((POOL_CURRENT, None));
        let mut item = Evidence::new(
            format!("properties.agentPoolProfiles[name={name}].{field}"),
            raw.map_or(serde_json::Value::Null, |v| json!(v)),
            format!("a version whose minor the region supports under the {plan} plan"),
        );
        let Some(version) = raw else {
            evidence.push(item.note(format!(
                "absent in the ARM payload (currentOrchestratorVersion and orchestratorVersion); the pool runs the control plane's version{}",
                control_plane.map_or(String::new(), |v| format!(" {v}"))
            )));
            continue;
        };
        let Some(region) = region else {
            evidence.push(
                item.note("not evaluated: the region's supported versions are not available"),
            );
            undecided.push(format!("{name} ({version})"));
            status = status.combine(Status::Unknown);
            continue;
        };
        match judge(region, version, plan) {
            Err(why) => {
                evidence.push(item.note(why));
                undecided.push(format!("{name} (`{version}`)"));
                status = status.combine(Status::Unknown);
            }
            Ok(judged) => {
                let mut notes = vec![judged.message.clone()];
                notes.extend(judged.notes);
                item = item.note(notes.join("; "));
                evidence.push(item);
                match judged.status {
                    Status::Fail => failing.push(format!("{name} ({version})")),
                    Status::Warn => warning.push(format!("{name} ({version})")),
                    _ => {}
                }
                status = status.combine(judged.status);
            }
        }
    }
    let mut parts = Vec::new();
    if !failing.is_empty() {
        parts.push(format!(
            "node pool(s) on a version not supported in {}: {}",
            region.map_or("the region", |r| r.location),
            failing.join(", ")
        ));
    }
    if !warning.is_empty() {
        parts.push(format!(
            "node pool(s) on a minor not listed, which {LTS} may still cover (unverified): {}",
            warning.join(", ")
        ));
    }
    if !undecided.is_empty() {
        parts.push(format!(
            "node pool(s) whose version cannot be judged: {}",
            undecided.join(", ")
        ));
    }
    if parts.is_empty() && status == Status::Pass {
        parts.push("its node pools' versions are supported too".to_string());
    }
    (status, (!parts.is_empty()).then(|| parts.join("; ")))
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
        raw.map_or(serde_json::Value::Null, |c| json!(c)),
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
