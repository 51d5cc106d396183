//! AKS-003: in the Corp archetype, the public-endpoint deny is in force and every cluster is private.
//!
//! ALZ assigns `Deny-Public-Endpoints` (set `Deny-PublicPaaSEndpoints`) at the Corp management
//! group; its members `AKSDenyPaasPublicIP` (040732e8) and `ACRDenyPaasPublicIP` (0fdf0491)
//! deny public clusters and registries. Part A decides, per Corp subscription and with
//! catalogue §1.1, whether both are covered with `Deny` and `Default` (direct assignments of the
//! two definitions count too, and so does the ALZ guardrail set's `Deny-Aks-Private-Cluster`
//! for the cluster control): enforced passes, `DoNotEnforce` or `Audit` warns, missing or
//! exempted fails. Part B fails every cluster in a Corp subscription whose
//! `apiServerAccessProfile.enablePrivateCluster` is not `true` — authorized IP ranges do not
//! satisfy Corp intent. One finding per cluster combines Part A (its subscription) and Part B;
//! a Corp subscription without clusters gets one finding for Part A. Which management groups
//! are Corp comes from the profile or the catalogue §1 heuristic (`Archetypes::ancestor_of`):
//! when that cannot tell — the ancestor chain is unknown, or the heuristic would need the
//! `Deny-Public-Endpoints` hallmark at an ancestor whose assignments no successful read lists —
//! the subscription is unknown with that cause, never "not corp"; only when it is certainly
//! under no Corp MG (or none exists) is the check not applicable.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::Check;
use crate::eval::policy::{self, Control, Coverage};
use crate::eval::targets::{self, AksSubscription};
use crate::eval::{Archetype, EvalContext, Evidence, Finding, Membership, Status};
use crate::inventory::{Subscription, arm};

pub const AKS_PRIVATE: &str = "040732e8-d947-40b8-95d6-854c95024bf8";
pub const ACR_PUBLIC: &str = "0fdf0491-d080-4575-b627-ad0e843cba0f";

fn controls(ctx: &EvalContext) -> Vec<Control> {
    let mut cluster = Control::new("public cluster deny", &["Deny"]).definition(AKS_PRIVATE);
    let mut registry = Control::new("public registry deny", &["Deny"]).definition(ACR_PUBLIC);
    for set in ctx.param_strings("public_endpoint_sets") {
        cluster = cluster.member(&set, "AKSDenyPaasPublicIP");
        registry = registry.member(&set, "ACRDenyPaasPublicIP");
    }
    for set in ctx.param_strings("guardrail_sets") {
        cluster = cluster.member(&set, "Deny-Aks-Private-Cluster");
    }
    vec![cluster, registry]
}

/// Whether a subscription is a Corp landing zone: `Ok(Ok(mg))`, `Ok(Err(reason))` (not
/// applicable), or `Err(reason)` when it cannot be decided.
fn corp_of(ctx: &EvalContext, sub: &Subscription) -> Result<Result<String, String>, String> {
    let corp = ctx.archetypes.names(Archetype::Corp);
    match ctx.archetypes.ancestor_of(sub, Archetype::Corp) {
        Membership::Unknown(reason) => Err(format!(
            "whether this subscription is a corp landing zone cannot be decided: {reason}"
        )),
        Membership::Under(mg) => Ok(Ok(mg)),
        Membership::NotUnder if corp.is_empty() => Ok(Err(
            "no corp management group is configured or detected".to_string(),
        )),
        Membership::NotUnder => Ok(Err(format!(
            "not under a corp management group ({})",
            corp.join(", ")
        ))),
    }
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let inventory = ctx.inventory;
    let controls = controls(ctx);
    let mut findings = Vec::new();
    for sub in &inventory.subscriptions {
        let mg = match corp_of(ctx, sub) {
            Err(reason) => {
                findings.push(Finding::new(check.id(), &sub.id, Status::Unknown, reason));
                continue;
            }
            Ok(Err(reason)) => {
                findings.push(Finding::new(
                    check.id(),
                    &sub.id,
                    Status::NotApplicable,
                    reason,
                ));
                continue;
            }
            Ok(Ok(mg)) => mg,
        };
        let coverages: Vec<Coverage> = controls
            .iter()
            .map(|c| policy::coverage(inventory, &sub.id, c, ctx.today))
            .collect();
        let part_a = policy::guardrail_status(&coverages);
        let part_a_text = part_a_text(part_a, &coverages);
        let part_a_evidence: Vec<Evidence> =
            coverages.iter().flat_map(Coverage::evidence).collect();
        match targets::aks_subscription(inventory, sub) {
            AksSubscription::NoClusters => findings.push(
                Finding::new(
                    check.id(),
                    &sub.id,
                    part_a,
                    format!("corp subscription (management group {mg}) without clusters; {part_a_text}"),
                )
                .with_evidence(part_a_evidence),
            ),
            AksSubscription::Unknown(reason) => findings.push(
                Finding::new(
                    check.id(),
                    &sub.id,
                    Status::Unknown.combine(part_a),
                    format!(
                        "corp subscription (management group {mg}) whose clusters cannot be listed ({reason}); {part_a_text}"
                    ),
                )
                .with_evidence(part_a_evidence),
            ),
            AksSubscription::Clusters(clusters) => {
                for cluster in clusters {
                    findings.push(cluster_finding(
                        check,
                        cluster,
                        &mg,
                        part_a,
                        &part_a_text,
                        &part_a_evidence,
                    ));
                }
            }
        }
    }
    findings
}

fn part_a_text(status: Status, coverages: &[Coverage]) -> String {
    match status {
        Status::Pass => {
            let mut names: Vec<String> = Vec::new();
            for best in coverages.iter().filter_map(Coverage::best) {
                let name = format!("{} at {}", best.name(), policy::short_scope(&best.scope()));
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            format!(
                "public clusters and registries denied, enforced ({})",
                names.join(", ")
            )
        }
        Status::Warn => format!(
            "public-endpoint deny not enforced ({}; fix: {})",
            policy::problems(coverages),
            remedies(coverages)
        ),
        Status::Fail => format!(
            "public-endpoint deny missing ({}; fix: {})",
            policy::problems(coverages),
            remedies(coverages)
        ),
        _ => format!(
            "public-endpoint deny undecidable ({})",
            policy::problems(coverages)
        ),
    }
}

/// The fix direction of every control that is not enforced.
fn remedies(coverages: &[Coverage]) -> String {
    policy::remedies(
        coverages,
        &[
            "assign the Deny-PublicPaaSEndpoints set (ALZ Deny-Public-Endpoints) at the corp management group with effect Deny (ALZ denyPublicEndpoints=Yes)",
        ],
    )
}

fn cluster_finding(
    check: &Check,
    cluster: &Value,
    mg: &str,
    part_a: Status,
    part_a_text: &str,
    part_a_evidence: &[Evidence],
) -> Finding {
    const PRIVATE: &str = "properties.apiServerAccessProfile.enablePrivateCluster";
    const RANGES: &str = "properties.apiServerAccessProfile.authorizedIPRanges";
    let observed = arm::path(cluster, PRIVATE).cloned();
    let private = arm::bool_at(cluster, PRIVATE) == Some(true);
    let mut item = Evidence::new(
        PRIVATE,
        observed.clone().unwrap_or(Value::Null),
        "true: corp landing zones host private clusters only",
    );
    if observed.is_none() {
        item = item.note("absent in the ARM payload; ARM's default false applies");
    }
    let mut evidence = vec![item];
    let ranges = arm::array_at(cluster, RANGES).filter(|r| !r.is_empty());
    if let Some(ranges) = ranges {
        evidence.push(
            Evidence::new(
                RANGES,
                json!(ranges),
                "not a substitute for a private cluster in corp",
            )
            .note("authorized IP ranges still leave a public endpoint, which corp intent excludes"),
        );
    }
    evidence.extend(part_a_evidence.iter().cloned());
    let (part_b, part_b_text) = if private {
        (
            Status::Pass,
            format!("private cluster in corp management group {mg}"),
        )
    } else {
        (
            Status::Fail,
            format!(
                "public cluster (enablePrivateCluster is {}{}) in corp management group {mg}: enable api server vnet integration, then az aks update -g {} -n {} --enable-private-cluster, or recreate it private",
                observed
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_else(|| "absent".to_string()),
                if ranges.is_some() {
                    ", authorized IP ranges do not make it private"
                } else {
                    ""
                },
                arm::resource_group_of(arm::id(cluster)).unwrap_or("<rg>"),
                arm::name(cluster)
            ),
        )
    };
    Finding::new(
        check.id(),
        arm::id(cluster),
        part_a.combine(part_b),
        format!("{part_b_text}; {part_a_text}"),
    )
    .with_evidence(evidence)
}
