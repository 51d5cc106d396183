//! The CEL runner for single-resource checks.
//!
//! A CEL check sees only what it declares: `resource` holds the resource's `id`, `name`, `type`
//! and `location` plus each declared read, found case-insensitively in the ARM JSON and stored
//! under the spelling the check file uses, with the declared default filled in where ARM omitted
//! the property. A read without a default that ARM omitted stays absent, so `has()` tests it and
//! any other use of it fails evaluation, which yields `unknown` naming the check's rule: data
//! that is missing is never read as compliant. `params` holds the check's parameters.

use serde_json::{Map, Value};

use super::{EvalContext, Evidence, Finding, Status, targets};
use crate::catalogue::spec::{ReadSpec, toml_to_json};
use crate::catalogue::{CelRule, Check};
use crate::inventory::arm;

/// Runs a CEL check over every resource of its target type.
pub fn run(
    check: &Check,
    rules: &[CelRule],
    otherwise: &CelRule,
    ctx: &EvalContext,
) -> Vec<Finding> {
    let (resources, mut findings) =
        targets::resources(check.id(), ctx.inventory, check.file.target);
    let params = cel::to_value(Value::Object(
        ctx.params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ));
    for resource in resources {
        let (projected, evidence) = project(resource, &check.file.reads);
        let (status, message) = match (&params, cel::to_value(&projected)) {
            (Ok(params), Ok(value)) => decide(rules, otherwise, value, params.clone()),
            (Err(e), _) => (
                Status::Unknown,
                format!("cannot convert the parameters for CEL: {e}"),
            ),
            (_, Err(e)) => (
                Status::Unknown,
                format!("cannot convert the resource for CEL: {e}"),
            ),
        };
        findings.push(
            Finding::new(check.id(), arm::id(resource), status, message).with_evidence(evidence),
        );
    }
    findings
}

fn decide(
    rules: &[CelRule],
    otherwise: &CelRule,
    resource: cel::Value,
    params: cel::Value,
) -> (Status, String) {
    let mut context = cel::Context::default();
    context.add_variable_from_value("resource", resource);
    context.add_variable_from_value("params", params);
    for rule in rules {
        let Some(program) = &rule.when else { continue };
        match program.execute(&context) {
            Ok(cel::Value::Bool(true)) => return (rule.status, rule.message.clone()),
            Ok(cel::Value::Bool(false)) => {}
            Ok(other) => {
                return (
                    Status::Unknown,
                    format!("rule `{}` returned {other:?}, not a boolean", rule.source),
                );
            }
            Err(err) => {
                return (
                    Status::Unknown,
                    format!(
                        "cannot evaluate rule `{}`: {err} (a property it needs is absent and has no default)",
                        rule.source
                    ),
                );
            }
        }
    }
    (otherwise.status, otherwise.message.clone())
}

/// Builds the `resource` value CEL sees, and the evidence of every read.
pub fn project(resource: &Value, reads: &[ReadSpec]) -> (Value, Vec<Evidence>) {
    let mut out = Map::new();
    for key in ["id", "name", "type", "location"] {
        if let Some(v) = arm::key(resource, key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    let mut out = Value::Object(out);
    let mut evidence = Vec::new();
    for read in reads {
        let default = read.default.as_ref().map(toml_to_json);
        let segments: Vec<&str> = read.path.split('.').collect();
        let mut used_default = false;
        let projected = project_path(
            Some(resource),
            &segments,
            default.as_ref(),
            &mut used_default,
        );
        let observed = leaf_values(Some(resource), &segments);
        let mut item = Evidence::new(read.path.clone(), observed.clone(), read.expected.clone());
        if used_default {
            item = item.note(format!(
                "absent in the ARM payload; ARM's default {} applies",
                default.as_ref().map(Value::to_string).unwrap_or_default()
            ));
        } else if observed.is_null() {
            item = item.note("absent in the ARM payload");
        }
        evidence.push(item);
        if let Some(projected) = projected {
            merge(&mut out, projected);
        }
    }
    (out, evidence)
}

/// The subtree of `source` along `segments`, keyed by the check's spelling, defaults applied.
fn project_path(
    source: Option<&Value>,
    segments: &[&str],
    default: Option<&Value>,
    used_default: &mut bool,
) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return match source {
            Some(v) if !v.is_null() => Some(v.clone()),
            _ => default.map(|d| {
                *used_default = true;
                d.clone()
            }),
        };
    };
    let (name, is_array) = match first.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*first, false),
    };
    let child = source
        .and_then(|s| arm::key(s, name))
        .filter(|v| !v.is_null());
    let value = if is_array {
        let items = child?.as_array()?;
        Value::Array(
            items
                .iter()
                .map(|item| {
                    project_path(Some(item), rest, default, used_default)
                        .unwrap_or(Value::Object(Map::new()))
                })
                .collect(),
        )
    } else {
        project_path(child, rest, default, used_default)?
    };
    let mut map = Map::new();
    map.insert(name.to_string(), value);
    Some(Value::Object(map))
}

/// The raw values at a path (arrays mapped), `null` where absent: what evidence reports as seen.
fn leaf_values(source: Option<&Value>, segments: &[&str]) -> Value {
    let Some(source) = source.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    let Some((first, rest)) = segments.split_first() else {
        return source.clone();
    };
    match first.strip_suffix("[]") {
        Some(name) => match arm::key(source, name).and_then(Value::as_array) {
            Some(items) => Value::Array(items.iter().map(|i| leaf_values(Some(i), rest)).collect()),
            None => Value::Null,
        },
        None => leaf_values(arm::key(source, first), rest),
    }
}

/// Deep-merges `from` into `into`: objects by key, arrays element by element.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, v) in b.into_iter().enumerate() {
                match a.get_mut(i) {
                    Some(existing) => merge(existing, v),
                    None => a.push(v),
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(path: &str, default: Option<toml::Value>) -> ReadSpec {
        ReadSpec {
            path: path.into(),
            default,
            expected: "x".into(),
        }
    }

    #[test]
    fn projection_applies_defaults_case_insensitively_and_maps_arrays() {
        let cluster = json!({"id": "/subscriptions/s/x", "name": "c", "properties": {
            "addonProfiles": {"azurePolicy": {"enabled": true}},
            "agentPoolProfiles": [{"name": "sys", "enableNodePublicIP": true}, {"name": "user"}]}});
        let reads = vec![
            read(
                "properties.addonProfiles.azurepolicy.enabled",
                Some(toml::Value::Boolean(false)),
            ),
            read(
                "properties.disableLocalAccounts",
                Some(toml::Value::Boolean(false)),
            ),
            read(
                "properties.agentPoolProfiles[].enableNodePublicIP",
                Some(toml::Value::Boolean(false)),
            ),
            read("properties.agentPoolProfiles[].name", None),
            read("properties.aadProfile.managed", None),
        ];
        let (projected, evidence) = project(&cluster, &reads);
        assert_eq!(
            projected["properties"]["addonProfiles"]["azurepolicy"]["enabled"],
            json!(true)
        );
        assert_eq!(
            projected["properties"]["disableLocalAccounts"],
            json!(false)
        );
        assert_eq!(
            projected["properties"]["agentPoolProfiles"],
            json!([{"enableNodePublicIP": true, "name": "sys"}, {"enableNodePublicIP": false, "name": "user"}])
        );
        assert!(projected["properties"].get("aadProfile").is_none());
        assert_eq!(evidence[1].observed, Value::Null);
        assert!(
            evidence[1]
                .note
                .as_deref()
                .unwrap()
                .contains("default false")
        );
        assert_eq!(evidence[2].observed, json!([true, null]));
        assert_eq!(
            evidence[4].note.as_deref(),
            Some("absent in the ARM payload")
        );
    }

    #[test]
    fn missing_property_without_default_is_unknown_not_pass() {
        let rules = vec![CelRule {
            when: Some(std::sync::Arc::new(
                cel::Program::compile("resource.properties.aadProfile.managed != true").unwrap(),
            )),
            source: "resource.properties.aadProfile.managed != true".into(),
            status: Status::Fail,
            message: "fail".into(),
        }];
        let otherwise = CelRule {
            when: None,
            source: String::new(),
            status: Status::Pass,
            message: "ok".into(),
        };
        let (status, message) = decide(
            &rules,
            &otherwise,
            cel::to_value(json!({"properties": {}})).unwrap(),
            cel::to_value(json!({})).unwrap(),
        );
        assert_eq!(status, Status::Unknown, "{message}");
    }
}
