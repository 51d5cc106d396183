//! AKS-012: every way into a container registry requires an Entra identity.
//!
//! It decides per registry. The admin user (`adminUserEnabled`) and anonymous pull
//! (`anonymousPullEnabled`), both ARM default `false`, are the main condition: either one on
//! fails. Two weaker paths warn: ARM-audience tokens (`policies.azureADAuthenticationAsArmPolicy
//! .status` absent or `enabled`), and repository-scoped tokens (child `registries/tokens`) whose
//! `status` is not `disabled`. The token part reads a child collection the registry payload does
//! not carry, which is why this is a Rust evaluator. When the token list was not read
//! (`read_state(registry, registries/tokens)` not ok), an active token may be hiding there, and
//! it would turn a pass into a warn: a would-be pass is then `unknown`, naming the failed read
//! (`Status::with_unread_sub_result`). A fail, or a warn the ARM-audience policy already proves,
//! stands with the unread tokens stated in the message and evidence, since tokens could only
//! have produced that warn.

use crate::json::Value;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{api, arm};

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    targets::judge_each(check.id(), ctx.inventory, Target::Registry, |registry| {
        evaluate_registry(check.id(), ctx, registry)
    })
}

fn evaluate_registry(check: &str, ctx: &EvalContext, registry: &Value) -> Finding {
    let id = arm::id(registry);
    let mut evidence = Vec::new();

    let admin = flag(registry, "properties.adminUserEnabled", &mut evidence);
    let anonymous = flag(registry, "properties.anonymousPullEnabled", &mut evidence);
    let mut open = Vec::new();
    if admin == Some(true) {
        open.push("the admin user is enabled (adminUserEnabled)".to_string());
    }
    if anonymous == Some(true) {
        open.push("anonymous pull is enabled (anonymousPullEnabled)".to_string());
    }
    let unreadable: Vec<&str> = [
        ("adminUserEnabled", admin),
        ("anonymousPullEnabled", anonymous),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_none())
    .map(|(name, _)| name)
    .collect();

    let arm_audience = arm::str_at(
        registry,
        "properties.policies.azureADAuthenticationAsArmPolicy.status",
    );
    let mut item = Evidence::new(
        "properties.policies.azureADAuthenticationAsArmPolicy.status",
        arm_audience.map_or(serde_json::Value::Null, |s| json!(s)),
        "disabled",
    );
    if arm_audience.is_none() {
        item = item.note("absent in the ARM payload; ARM-audience tokens are then accepted");
    }
    evidence.push(item);
    let mut weak = Vec::new();
    if !arm_audience.is_some_and(|s| arm::eq_ci(s, "disabled")) {
        weak.push(format!(
            "ARM-audience tokens are accepted (azureADAuthenticationAsArmPolicy {})",
            arm_audience.unwrap_or("absent")
        ));
    }

    let state = ctx.inventory.read_state(id, api::REGISTRY_TOKENS);
    let tokens_unread = state.missing_reason(id, api::REGISTRY_TOKENS);
    match &tokens_unread {
        Some(reason) => {
            evidence.push(
                Evidence::new(
                    "registries/tokens: properties.status",
                    Value::Null,
                    "disabled for every token",
                )
                .note(format!(
                    "not evaluated, so an active token (a warn) cannot be ruled out: {reason}"
                )),
            );
        }
        None => {
            let tokens = ctx
                .inventory
                .registry_tokens_of(registry)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let active: Vec<&Value> = tokens
                .iter()
                .filter(|t| {
                    !arm::str_at(t, "properties.status").is_some_and(|s| arm::eq_ci(s, "disabled"))
                })
                .collect();
            if tokens.is_empty() {
                evidence.push(Evidence::new(
                    "registries/tokens",
                    json!([]),
                    "no token, or every token disabled",
                ));
            }
            for token in tokens {
                let status = arm::str_at(token, "properties.status");
                let mut item = Evidence::new(
                    "properties.status",
                    status.map_or(serde_json::Value::Null, |s| json!(s)),
                    "disabled",
                )
                .on(arm::id(token));
                if status.is_none() {
                    item = item.note("absent; read as not disabled");
                }
                evidence.push(item);
            }
            if !active.is_empty() {
                let names: Vec<&str> = active.iter().map(arm::name).collect();
                weak.push(format!(
                    "{} repository-scoped token(s) not disabled: {}",
                    active.len(),
                    names.join(", ")
                ));
            }
        }
    }

    let (status, mut message) = if !open.is_empty() {
        (Status::Fail, open.join(" and "))
    } else if !unreadable.is_empty() {
        (
            Status::Unknown,
            format!(
                "cannot tell whether the registry allows unauthenticated access: {} is not a boolean",
                unreadable.join(" and ")
            ),
        )
    } else if weak.is_empty() && tokens_unread.is_none() {
        (
            Status::Pass,
            "admin user, anonymous pull and ARM-audience tokens are disabled, and no repository-scoped token is active"
                .to_string(),
        )
    } else if weak.is_empty() {
        (
            Status::Pass,
            "admin user, anonymous pull and ARM-audience tokens are disabled".to_string(),
        )
    } else {
        (
            Status::Pass,
            "admin user and anonymous pull are disabled".to_string(),
        )
    };
    let status = status
        .with_sub_result(!weak.is_empty())
        .with_unread_sub_result(tokens_unread.is_some());
    if !weak.is_empty() {
        message.push_str(&format!("; {}", weak.join("; ")));
    }
    if let Some(reason) = &tokens_unread {
        message.push_str(&match status {
            Status::Unknown if open.is_empty() && unreadable.is_empty() => format!(
                ", but whether a repository-scoped token is active (which would make this a warn) cannot be told: {reason}"
            ),
            _ => format!("; repository-scoped tokens not evaluated ({reason})"),
        });
    }
    Finding::new(check, id, status, message).with_evidence(evidence)
}

/// A boolean registry property whose ARM default is `false`, with its evidence; `None` when it is
/// present but not a boolean (then the registry's exposure cannot be told).
fn flag(registry: &Value, path: &str, evidence: &mut Vec<Evidence>) -> Option<bool> {
    let raw = arm::path(registry, path);
    let value = arm::bool_at(registry, path);
    let mut item = Evidence::new(path, raw.cloned().unwrap_or(Value::Null), "false");
    if raw.is_none() {
        item = item.note("absent in the ARM payload; ARM's default false applies");
    } else if value.is_none() {
        item = item.note("not a boolean");
    }
    evidence.push(item);
    if raw.is_none() { Some(false) } else { value }
}
