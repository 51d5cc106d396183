//! AKS-035: SSH to the nodes is restricted, per pool and at the node subnets' NSGs.
//!
//! It decides per cluster, naming the pools. Each pool's `securityProfile.sshAccess` passes when
//! `Disabled` or `EntraId` and warns when `LocalUser` or absent (the AKS default is `LocalUser`);
//! a value this check does not know is `unknown`. Cross-resource, the check follows each pool's
//! node subnet (`vnetSubnetID`; for pools without one, the subnets of the AKS-managed virtual
//! networks in the node resource group) to its network security group, and fails when that NSG
//! lets TCP port 22 in from the whole Internet: the inbound rule (custom or default) with the
//! lowest priority number that matches a connection from any Internet address to port 22 is an
//! `Allow`. A rule matches when its protocol is `Tcp` or `*`, its destination ports
//! (`destinationPortRange` / `destinationPortRanges`) include 22, and its source
//! (`sourceAddressPrefix` / `sourceAddressPrefixes`) is `*`, `Internet`, `Any`, `0.0.0.0/0` or
//! `::/0`; narrower sources are not "the Internet". The exact NSG paths are unverified in the
//! catalogue (U), and so is the reading of service tags, so a fail carries that note.
//!
//! The parts combine as fail > unknown > warn > pass: a node subnet, NSG or virtual network that
//! could not be read makes the cluster `unknown` unless the pools or another subnet already prove
//! a fail. A subnet without an NSG is noted, not failed (the AKS-managed NSG on the nodes' NICs
//! still applies and is not evaluated here).

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::{NetworkLookup, node_subnets};
use crate::inventory::{Inventory, arm};

const SSH: &str = "securityProfile.sshAccess";
const UNVERIFIED_NOTE: &str = "the NSG rule paths and the reading of `*`/`Internet` sources are unverified details (catalogue U)";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Cluster, |cluster| {
        evaluate_cluster(check.id(), ctx.inventory, cluster)
    })
}

fn evaluate_cluster(check: &str, inv: &Inventory, cluster: &Value) -> Finding {
    let id = arm::id(cluster);
    let pools = arm::array_at(cluster, "properties.agentPoolProfiles").unwrap_or_default();
    if pools.is_empty() {
        return Finding::new(
            check,
            id,
            Status::Unknown,
            "the cluster payload lists no node pools, so their SSH access cannot be judged",
        )
        .evidence(Evidence::new(
            "properties.agentPoolProfiles",
            arm::path(cluster, "properties.agentPoolProfiles")
                .cloned()
                .unwrap_or(Value::Null),
            "the node pools",
        ));
    }

    // Part 1: per-pool SSH access.
    let mut evidence = Vec::new();
    let (mut open, mut closed, mut odd) = (Vec::new(), Vec::new(), Vec::new());
    for pool in pools {
        let name = arm::name(pool);
        let raw = arm::str_at(pool, SSH);
        let value = raw.unwrap_or("LocalUser");
        let mut item = Evidence::new(
            format!("properties.agentPoolProfiles[name={name}].{SSH}"),
            raw.map_or(serde_json::Value::Null, |v| json!(v)),
            "Disabled or EntraId",
        );
        if raw.is_none() {
            item = item.note("absent in the ARM payload; the AKS default LocalUser applies");
        }
        evidence.push(item);
        if arm::eq_ci(value, "Disabled") || arm::eq_ci(value, "EntraId") {
            closed.push(format!("{name} ({value})"));
        } else if arm::eq_ci(value, "LocalUser") {
            open.push(name.to_string());
        } else {
            odd.push(format!("{name} ({value})"));
        }
    }
    let pool_status = if !odd.is_empty() {
        Status::Unknown
    } else if !open.is_empty() {
        Status::Warn
    } else {
        Status::Pass
    };
    let mut parts = Vec::new();
    if !open.is_empty() {
        parts.push(format!(
            "pool(s) {} allow SSH with local keys (sshAccess LocalUser or absent)",
            open.join(", ")
        ));
    }
    if !odd.is_empty() {
        parts.push(format!(
            "pool(s) {} have an sshAccess value this check does not know",
            odd.join(", ")
        ));
    }
    if !closed.is_empty() {
        parts.push(format!("pool(s) {} restrict SSH", closed.join(", ")));
    }

    // Part 2: node-subnet NSGs.
    let (subnets, managed) = node_subnets(cluster);
    let mut exposed = Vec::new();
    let mut unknown = Vec::new();
    let mut targets: Vec<(String, String, Option<&Value>)> = subnets
        .iter()
        .map(|(s, p)| {
            (
                s.clone(),
                format!(
                    "node subnet {} (pool {})",
                    arm::last_segment(s),
                    p.join(", ")
                ),
                None,
            )
        })
        .collect();
    if !managed.is_empty() {
        match inv.node_resource_group_networks(cluster) {
            Err(why) => unknown.push(format!(
                "the AKS-managed network of pool(s) {}: {why}",
                managed.join(", ")
            )),
            Ok(vnets) if vnets.is_empty() => unknown.push(format!(
                "pool(s) {} name no vnetSubnetID and no virtual network was found in the node resource group",
                managed.join(", ")
            )),
            Ok(vnets) => {
                for vnet in vnets {
                    for subnet in arm::array_at(vnet, "properties.subnets")
                        .unwrap_or_default()
                    {
                        targets.push((
                            arm::id(subnet).to_string(),
                            format!(
                                "managed subnet {} of the node resource group (pool {})",
                                arm::name(subnet),
                                managed.join(", ")
                            ),
                            Some(subnet),
                        ));
                    }
                }
            }
        }
    }
    for (subnet_id, label, known) in &targets {
        let subnet = match known {
            Some(s) => *s,
            None => match inv.subnet_by_id(subnet_id) {
                NetworkLookup::Found(s) => s,
                NetworkLookup::Absent(why) | NetworkLookup::Unreadable(why) => {
                    evidence.push(
                        Evidence::new(
                            "properties.networkSecurityGroup.id",
                            Value::Null,
                            "an NSG that does not allow port 22 from the Internet",
                        )
                        .on(subnet_id.as_str())
                        .note(format!("{label}: not evaluated: {why}")),
                    );
                    unknown.push(format!("{label}: {why}"));
                    continue;
                }
            },
        };
        let Some(nsg_id) = arm::str_at(subnet, "properties.networkSecurityGroup.id") else {
            evidence.push(
                Evidence::new(
                    "properties.networkSecurityGroup.id",
                    Value::Null,
                    "an NSG that does not allow port 22 from the Internet",
                )
                .on(subnet_id.as_str())
                .note(format!(
                    "{label}: no NSG on the subnet; the AKS-managed NSG on the node NICs is not evaluated by this check"
                )),
            );
            continue;
        };
        let nsg = match inv.network_security_group_by_id(nsg_id) {
            NetworkLookup::Found(n) => n,
            NetworkLookup::Absent(why) | NetworkLookup::Unreadable(why) => {
                evidence.push(
                    Evidence::new(
                        "properties.securityRules",
                        Value::Null,
                        "no inbound Allow for port 22 from the Internet",
                    )
                    .on(nsg_id)
                    .note(format!("{label}: not evaluated: {why}")),
                );
                unknown.push(format!("{label}: {why}"));
                continue;
            }
        };
        match first_match(nsg) {
            Some(rule) if is_allow(rule) => {
                evidence.push(rule_evidence(rule, label, true));
                exposed.push(format!(
                    "{label}: NSG {} rule {} (priority {}) allows port 22 from the Internet",
                    arm::name(nsg),
                    arm::name(rule),
                    priority(rule).map_or_else(|| "?".into(), |p| p.to_string())
                ));
            }
            Some(rule) => evidence.push(rule_evidence(rule, label, false)),
            None => evidence.push(
                Evidence::new(
                    "properties.securityRules",
                    json!(arm::id(nsg)),
                    "no inbound Allow for port 22 from the Internet",
                )
                .on(nsg_id)
                .note(format!(
                    "{label}: no inbound rule matches port 22 from the Internet; NSGs deny what no rule allows"
                )),
            ),
        }
    }

    let nsg_status = if !exposed.is_empty() {
        Status::Fail
    } else if !unknown.is_empty() {
        Status::Unknown
    } else {
        Status::Pass
    };
    let status = pool_status.combine(nsg_status);
    let mut message = parts.join("; ");
    if !exposed.is_empty() {
        message = format!("{}; {message}", exposed.join("; "));
    } else if !unknown.is_empty() {
        message.push_str(&format!(
            "; whether a node-subnet NSG allows SSH from the Internet cannot be told ({})",
            unknown.join("; ")
        ));
    } else if !targets.is_empty() {
        message.push_str("; no node-subnet NSG allows port 22 from the Internet");
    }
    Finding::new(check, id, status, message).with_evidence(evidence)
}

/// Evidence for the rule that decides a connection from the Internet to port 22.
fn rule_evidence(rule: &Value, label: &str, allows: bool) -> Evidence {
    let item = Evidence::new(
        "properties.access",
        arm::path(rule, "properties.access")
            .cloned()
            .unwrap_or(Value::Null),
        "Deny for port 22 from the Internet",
    )
    .on(arm::id(rule));
    let summary = format!(
        "{label}: rule {} (priority {}, {} from {} to port {}) is the first inbound rule matching port 22 from the Internet",
        arm::name(rule),
        priority(rule).map_or_else(|| "?".into(), |p| p.to_string()),
        arm::str_at(rule, "properties.protocol").unwrap_or("?"),
        strings(rule, "sourceAddressPrefix", "sourceAddressPrefixes").join(","),
        strings(rule, "destinationPortRange", "destinationPortRanges").join(",")
    );
    if allows {
        item.note(format!("{summary}; {UNVERIFIED_NOTE}"))
    } else {
        item.note(summary)
    }
}

/// The inbound rule, custom or default, with the lowest priority number that matches a TCP
/// connection from any Internet address to port 22.
fn first_match(nsg: &Value) -> Option<&Value> {
    [
        "properties.securityRules",
        "properties.defaultSecurityRules",
    ]
    .iter()
    .filter_map(|p| arm::array_at(nsg, p))
    .flatten()
    .filter(|r| matches_ssh_from_internet(r))
    .min_by_key(|r| priority(r).unwrap_or(i64::MAX))
}

fn matches_ssh_from_internet(rule: &Value) -> bool {
    let inbound =
        arm::str_at(rule, "properties.direction").is_some_and(|d| arm::eq_ci(d, "Inbound"));
    let tcp =
        arm::str_at(rule, "properties.protocol").is_some_and(|p| p == "*" || arm::eq_ci(p, "Tcp"));
    let port = strings(rule, "destinationPortRange", "destinationPortRanges")
        .iter()
        .any(|r| port_range_covers(r, 22));
    let source = strings(rule, "sourceAddressPrefix", "sourceAddressPrefixes")
        .iter()
        .any(|s| is_whole_internet(s));
    inbound && tcp && port && source
}

fn is_allow(rule: &Value) -> bool {
    arm::str_at(rule, "properties.access").is_some_and(|a| arm::eq_ci(a, "Allow"))
}

fn priority(rule: &Value) -> Option<i64> {
    arm::path(rule, "properties.priority").and_then(Value::as_i64)
}

/// The single-valued property and the list property of a rule, together.
fn strings(rule: &Value, single: &str, list: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = arm::str_at(rule, &format!("properties.{single}")).filter(|s| !s.is_empty()) {
        out.push(s.to_string());
    }
    for item in arm::array_at(rule, &format!("properties.{list}")).unwrap_or_default() {
        if let Some(s) = item.as_str() {
            out.push(s.to_string());
        }
    }
    out
}

/// Whether an NSG port expression (`*`, `22`, `20-25`) includes `port`.
fn port_range_covers(range: &str, port: u16) -> bool {
    let range = range.trim();
    if range == "*" {
        return true;
    }
    match range.split_once('-') {
        Some((lo, hi)) => match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
            (Ok(lo), Ok(hi)) => lo <= port && port <= hi,
            _ => false,
        },
        None => range.parse::<u16>() == Ok(port),
    }
}

/// Whether an NSG source stands for every Internet address.
fn is_whole_internet(source: &str) -> bool {
    let s = source.trim();
    ["*", "Internet", "Any", "0.0.0.0/0", "::/0"]
        .iter()
        .any(|w| arm::eq_ci(s, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    fn rule(name: &str, access: &str, priority: i64, props: Value) -> Value {
        let mut p = json!({"direction": "Inbound", "access": access, "priority": priority,
            "protocol": "Tcp", "sourcePortRange": "*", "destinationAddressPrefix": "*"});
        for (k, v) in props.as_object().unwrap() {
            p[k] = v.clone();
        }
        json!({"name": name, "id": format!("/nsg/securityRules/{name}"), "properties": p})
    }

    #[test]
    fn ports_and_sources() {
        assert!(port_range_covers("*", 22));
        assert!(port_range_covers("22", 22));
        assert!(port_range_covers("20-25", 22));
        assert!(!port_range_covers("2222", 22));
        assert!(!port_range_covers("23-25", 22));
        assert!(is_whole_internet("internet"));
        assert!(is_whole_internet("0.0.0.0/0"));
        assert!(!is_whole_internet("203.0.113.0/24"));
        assert!(!is_whole_internet("VirtualNetwork"));
    }

    #[test]
    fn the_lowest_priority_number_decides_and_narrow_sources_do_not_count() {
        let allow = rule(
            "allow-ssh",
            "Allow",
            300,
            json!({"destinationPortRanges": ["443", "22"], "sourceAddressPrefix": "Internet"}),
        );
        let deny = rule(
            "deny-mgmt",
            "Deny",
            200,
            json!({"destinationPortRange": "*", "sourceAddressPrefix": "*", "protocol": "*"}),
        );
        let narrow = rule(
            "allow-office",
            "Allow",
            100,
            json!({"destinationPortRange": "22", "sourceAddressPrefixes": ["203.0.113.0/24"]}),
        );
        let udp = rule(
            "allow-udp",
            "Allow",
            150,
            json!({"destinationPortRange": "22", "sourceAddressPrefix": "*", "protocol": "Udp"}),
        );
        let nsg =
            json!({"properties": {"securityRules": [allow.clone(), deny.clone(), narrow, udp]}});
        assert_eq!(arm::name(first_match(&nsg).unwrap()), "deny-mgmt");
        let nsg = json!({"properties": {"securityRules": [allow]}});
        assert!(is_allow(first_match(&nsg).unwrap()));
        let outbound = json!({"properties": {"securityRules": [rule("o", "Allow", 100,
            json!({"direction": "Outbound", "destinationPortRange": "22", "sourceAddressPrefix": "*"}))]}});
        assert!(first_match(&outbound).is_none());
    }
}
