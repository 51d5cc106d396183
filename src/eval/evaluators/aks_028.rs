//! AKS-028: the cluster's egress goes through an inspection point (a firewall or NVA), not
//! straight to the internet.
//!
//! It decides per cluster from `networkProfile.outboundType` (absent means `loadBalancer`, the
//! AKS default). `none` and `block` (network-isolated clusters) pass. `loadBalancer` and the NAT
//! gateway types warn: egress leaves directly. `userDefinedRouting` joins the cluster with the
//! network: every subnet its pools use — node subnets (`vnetSubnetID`) and pod subnets
//! (`podSubnetID`, from which pods egress with their own addresses under dynamic IP allocation) —
//! must have a route table (`subnet.properties.routeTable.id`) whose routes send `0.0.0.0/0` to
//! a next hop of `accepted_next_hop_types` (default `VirtualAppliance`). It passes when all do and
//! fails when one does not (no route table, no default route, or a default route to another
//! next hop such as `Internet`).
//!
//! Missing data: a subnet, virtual network or route table whose list could not be read, or that
//! is not in a list that was read, makes the cluster `unknown` unless another subnet already
//! proves a fail. A pool without `vnetSubnetID` under UDR (which AKS does not allow) cannot be
//! placed and is `unknown` too. An `outboundType` this check does not know is `unknown`.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{NetworkLookup, node_subnets, pod_subnets};
use crate::inventory::{Inventory, arm};

const OUTBOUND: &str = "properties.networkProfile.outboundType";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let hops = ctx.param_strings("accepted_next_hop_types");
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, &hops, cluster)
    })
}

fn evaluate_cluster(check: &str, inv: &Inventory, hops: &[String], cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let raw = arm::str_at(cluster, OUTBOUND);
    let outbound = raw.unwrap_or("loadBalancer");
    let mut item = Evidence::new(
        OUTBOUND,
        raw.map_or(serde_json::Value::Null, |o| json!(o)),
        "userDefinedRouting through an inspection point, or none/block",
    );
    if raw.is_none() {
        item = item.note("absent in the ARM payload; the AKS default loadBalancer applies");
    }
    let is = |v: &str| arm::eq_ci(outbound, v);
    if is("none") || is("block") {
        return Finding::new(
            check,
            id,
            Status::Pass,
            format!(
                "the cluster is network-isolated (outboundType {outbound}): it has no internet egress path"
            ),
        )
        .evidence(item);
    }
    if is("loadBalancer") || is("managedNATGateway") || is("userAssignedNATGateway") {
        return Finding::new(
            check,
            id,
            Status::Warn,
            format!(
                "egress leaves directly to the internet (outboundType {outbound}{}), not through a firewall or appliance that can inspect it",
                if raw.is_none() { ", the default: absent in the payload" } else { "" }
            ),
        )
        .evidence(item);
    }
    if !is("userDefinedRouting") {
        return Finding::new(
            check,
            id,
            Status::Unknown,
            format!("outboundType `{outbound}` is a value this check does not know"),
        )
        .evidence(item);
    }

    let mut evidence = vec![item];
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    let mut passes = Vec::new();
    let (nodes, unplaced) = node_subnets(cluster);
    let (pods, _) = pod_subnets(cluster);
    if !unplaced.is_empty() {
        unknown.push(format!(
            "pool(s) {} name no vnetSubnetID, so their subnet cannot be identified",
            unplaced.join(", ")
        ));
        evidence.push(
            Evidence::new(
                "properties.agentPoolProfiles[].vnetSubnetID",
                Value::Null,
                "a subnet with a default route to the inspection point",
            )
            .note(format!(
                "absent on pool(s) {}; userDefinedRouting requires a custom subnet",
                unplaced.join(", ")
            )),
        );
    }
    if nodes.is_empty() && unplaced.is_empty() {
        unknown.push("the cluster payload lists no node pools".into());
    }
    let subnets = nodes
        .into_iter()
        .map(|(s, p)| (s, p, "node"))
        .chain(pods.into_iter().map(|(s, p)| (s, p, "pod")));
    for (subnet_id, pools, kind) in subnets {
        let label = format!(
            "{kind} subnet {} (pool {})",
            arm::last_segment(&subnet_id),
            pools.join(", ")
        );
        match judge_subnet(inv, hops, &subnet_id, &label, &mut evidence) {
            Verdict::Pass(hop) => passes.push(format!("{label} → {hop}")),
            Verdict::Fail(why) => failures.push(format!("{label}: {why}")),
            Verdict::Unknown(why) => unknown.push(format!("{label}: {why}")),
        }
    }

    let (status, message) = if !failures.is_empty() {
        (
            Status::Fail,
            format!(
                "outboundType is userDefinedRouting, but egress can bypass the inspection point: {}",
                failures.join("; ")
            ),
        )
    } else if !unknown.is_empty() {
        (
            Status::Unknown,
            format!(
                "outboundType is userDefinedRouting, but whether every subnet routes 0.0.0.0/0 to an inspection point cannot be told ({})",
                unknown.join("; ")
            ),
        )
    } else {
        (
            Status::Pass,
            format!(
                "egress is routed through an inspection point: {}",
                passes.join("; ")
            ),
        )
    };
    Finding::new(check, id, status, message).with_evidence(evidence)
}

enum Verdict {
    Pass(String),
    Fail(String),
    Unknown(String),
}

/// Evidence for a subnet's `properties.routeTable.id`.
fn route_table_evidence(subnet_id: &str, observed: impl Into<serde_json::Value>) -> Evidence {
    Evidence::new(
        "properties.routeTable.id",
        observed,
        "a route table with 0.0.0.0/0 to the inspection point",
    )
    .on(subnet_id)
}

/// Follows one subnet to its route table and looks for the default route.
fn judge_subnet(
    inv: &Inventory,
    hops: &[String],
    subnet_id: &str,
    label: &str,
    evidence: &mut Vec<Evidence>,
) -> Verdict {
    let subnet = match inv.subnet_by_id(subnet_id) {
        NetworkLookup::Found(s) => s,
        NetworkLookup::Absent(why) | NetworkLookup::Unreadable(why) => {
            evidence.push(
                route_table_evidence(subnet_id, Value::Null)
                    .note(format!("{label}: not evaluated: {why}")),
            );
            return Verdict::Unknown(why);
        }
    };
    let Some(table_id) = arm::str_at(subnet, "properties.routeTable.id") else {
        evidence.push(
            route_table_evidence(subnet_id, Value::Null)
            .note(format!(
                "{label}: no route table is associated, so 0.0.0.0/0 follows Azure's system route to the Internet"
            )),
        );
        return Verdict::Fail("no route table is associated".into());
    };
    evidence.push(route_table_evidence(subnet_id, json!(table_id)));
    let table = match inv.route_table_by_id(table_id) {
        NetworkLookup::Found(t) => t,
        NetworkLookup::Absent(why) | NetworkLookup::Unreadable(why) => {
            evidence.push(
                Evidence::new(
                    "properties.routes",
                    Value::Null,
                    "a route 0.0.0.0/0 to the inspection point",
                )
                .on(table_id)
                .note(format!("not evaluated: {why}")),
            );
            return Verdict::Unknown(why);
        }
    };
    let routes = arm::array_at(table, "properties.routes").unwrap_or_default();
    let default = routes.iter().find(|r| {
        arm::str_at(r, "properties.addressPrefix").is_some_and(|p| p.trim() == "0.0.0.0/0")
    });
    let Some(route) = default else {
        evidence.push(
            Evidence::new(
                "properties.routes[addressPrefix=0.0.0.0/0]",
                Value::Null,
                format!("nextHopType {}", hops.join(" or ")),
            )
            .on(table_id)
            .note(format!(
                "route table {} has no 0.0.0.0/0 route ({} route(s)), so internet egress follows Azure's system route",
                arm::name(table),
                routes.len()
            )),
        );
        return Verdict::Fail(format!(
            "route table {} has no 0.0.0.0/0 route",
            arm::name(table)
        ));
    };
    let hop = arm::str_at(route, "properties.nextHopType").unwrap_or_default();
    let address = arm::str_at(route, "properties.nextHopIpAddress");
    evidence.push(
        Evidence::new(
            "properties.nextHopType",
            json!(hop),
            format!("{} for 0.0.0.0/0", hops.join(" or ")),
        )
        .on(arm::id(route))
        .note(format!(
            "route {} in route table {}{}",
            arm::name(route),
            arm::name(table),
            address.map_or_else(String::new, |a| format!(", next hop {a}"))
        )),
    );
    if hops.iter().any(|h| arm::eq_ci(h, hop)) {
        Verdict::Pass(format!(
            "{hop}{}",
            address.map_or_else(String::new, |a| format!(" {a}"))
        ))
    } else {
        Verdict::Fail(format!(
            "route table {} sends 0.0.0.0/0 to {}",
            arm::name(table),
            if hop.is_empty() {
                "no next hop type"
            } else {
                hop
            }
        ))
    }
}
