//! AKS-009: a container registry is Premium and has an approved private endpoint connection.
//!
//! It decides per registry from `sku.name` (only Premium supports private endpoints; anything
//! else fails) and the registry's private endpoint connections: at least one with
//! `properties.privateLinkServiceConnectionState.status` `Approved` passes (`Auto-Approved` too,
//! unverified, named in the message), none at all fails, only `Pending` / `Rejected` /
//! `Disconnected` ones warn. Values are compared case-insensitively.
//!
//! The connections come from two places, which is why this is a Rust evaluator and not a CEL
//! rule over the registry alone: the list embedded in the registry payload
//! (`properties.privateEndpointConnections`, read-only, the same objects as the list API), and
//! the child list `registries/{r}/privateEndpointConnections`, which the collector reads for
//! every registry (AKS-011 uses it too). API versions before 2019-12-01-preview do not embed the
//! list at all, so a Premium registry served at such a version used to be `unknown` although its
//! connections had been read. The embedded list is used when present; otherwise the child list,
//! when its read succeeded; only when neither is there is the finding `unknown`, naming the
//! failed read.
//!
//! Missing data: a payload without `sku.name`; no embedded list and a child list that was not
//! read; or a connection without a status at that path (the inner `properties` level is an
//! unverified nesting, catalogue U) when no other connection is approved: `unknown`, never
//! `pass`.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, api, arm};

const SKU: &str = "sku.name";
const EMBEDDED: &str = "properties.privateEndpointConnections";
const STATUS: &str = "properties.privateLinkServiceConnectionState.status";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx.inventory, registry)
    })
}

fn evaluate_registry(check: &str, inv: &Inventory, registry: &Value) -> Finding {
    let id = arm::id(registry);
    let sku = arm::str_at(registry, SKU);
    let mut sku_item = Evidence::new(
        SKU,
        sku.map_or(serde_json::Value::Null, |s| json!(s)),
        "Premium",
    );
    match sku {
        None => {
            sku_item = sku_item.note("absent in the ARM payload");
            return Finding::new(
                check,
                id,
                Status::Unknown,
                "the registry payload has no sku.name, so whether it can have private endpoints cannot be told",
            )
            .evidence(sku_item);
        }
        Some(s) if !arm::eq_ci(s, "Premium") => {
            return Finding::new(
                check,
                id,
                Status::Fail,
                format!(
                    "the registry is not on the Premium SKU (sku.name {s}), so it cannot have private endpoints"
                ),
            )
            .evidence(sku_item);
        }
        Some(_) => {}
    }

    let property = format!("{EMBEDDED}[].{STATUS}");
    let (connections, item) = match arm::array_at(registry, EMBEDDED) {
        Some(list) => (
            list,
            Evidence::new(property, statuses(list), "at least one Approved"),
        ),
        None => {
            if let Some(reason) = inv
                .read_state(id, api::REGISTRY_PE_CONNECTIONS)
                .missing_reason(id, api::REGISTRY_PE_CONNECTIONS)
            {
                return Finding::new(
                    check,
                    id,
                    Status::Unknown,
                    format!(
                        "the registry payload carries no privateEndpointConnections list (API versions before 2019-12-01-preview omit it), and its privateEndpointConnections child list is missing too: {reason}"
                    ),
                )
                .evidence(sku_item)
                .evidence(
                    Evidence::new(property, Value::Null, "at least one Approved")
                        .note(format!("absent in the ARM payload; the child list: {reason}")),
                );
            }
            let list = inv
                .registry_connections(registry)
                .map(Vec::as_slice)
                .unwrap_or_default();
            (
                list,
                Evidence::new(
                    format!("value[].{STATUS}"),
                    statuses(list),
                    "at least one Approved",
                )
                .on(format!("{id}/privateEndpointConnections"))
                .note(
                    "the registry payload embeds no privateEndpointConnections (older API versions omit it), so the registry's privateEndpointConnections list was read instead",
                ),
            )
        }
    };
    let finding = |status: Status, message: String| {
        Finding::new(check, id, status, message)
            .evidence(sku_item.clone())
            .evidence(item.clone())
    };

    if connections.is_empty() {
        return finding(
            Status::Fail,
            "the Premium registry has no private endpoint connection".to_string(),
        );
    }
    if connections
        .iter()
        .any(|c| status_of(c).is_some_and(|s| arm::eq_ci(s, "Approved")))
    {
        return finding(
            Status::Pass,
            "the Premium registry has an approved private endpoint connection".to_string(),
        );
    }
    if connections
        .iter()
        .any(|c| status_of(c).is_some_and(|s| arm::eq_ci(s, "Auto-Approved")))
    {
        return finding(
            Status::Pass,
            "the Premium registry has a private endpoint connection with status Auto-Approved, accepted as approved (unverified: policy e8eef0a8 tests only Approved)".to_string(),
        );
    }
    if connections.iter().any(|c| status_of(c).is_none()) {
        return finding(
            Status::Unknown,
            format!(
                "a private endpoint connection has no status at {STATUS} (unverified nesting) and none is approved"
            ),
        );
    }
    let seen: Vec<&str> = connections.iter().filter_map(|c| status_of(c)).collect();
    finding(
        Status::Warn,
        format!(
            "the Premium registry has private endpoint connections, but none is approved (statuses: {})",
            seen.join(", ")
        ),
    )
}

/// A connection's status, at the path the list API and the embedded list share.
fn status_of(connection: &Value) -> Option<&str> {
    arm::str_at(connection, STATUS)
}

/// The status of each connection, `null` where it has none at the read path.
fn statuses(connections: &[Value]) -> serde_json::Value {
    serde_json::Value::Array(
        connections
            .iter()
            .map(|c| arm::str_at(c, STATUS).map_or(serde_json::Value::Null, |s| json!(s)))
            .collect(),
    )
}
