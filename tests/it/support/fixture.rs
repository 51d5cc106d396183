//! Per-check fixtures: an inventory fragment built from real ARM payload shapes, and the
//! findings the check must produce on it.
//!
//! A fixture lives at `tests/fixtures/checks/<ID>/<status>-<name>.json`:
//! ```json
//! { "description": "...",
//!   "today": "2026-11-26",                 // optional, default 2026-11-26
//!   "params": { "name": value },           // optional overrides of the check's defaults
//!   "archetypes": { "corp": ["corp"] },    // optional; default: the catalogue heuristic
//!   "inventory": { ...Inventory fields... },
//!   "all_read": true,                      // optional, default true: see `mark_read`
//!   "failed_reads": [ { "scope", "api", "status", "http_status", "code", "message" } ],
//!   "expect": [ { "resource": "<id>", "status": "fail", "message_contains": "..." } ] }
//! ```
//! Any object in `inventory` may be `{"$from": "<file under tests/fixtures/arm-examples>[#/json/pointer]",
//! "$patch": {...}}`: the payload of a verbatim example from the Azure REST specs (default
//! pointer `/responses/200/body`), with a JSON merge patch (RFC 7386) applied. That keeps
//! fixtures on the real shapes instead of hand-typed guesses. A merge patch's `null` removes a
//! key, so a patch value `"$null"` sets an explicit JSON `null` instead: ARM sends both, and
//! checks must read `null` like an absent property.

use std::path::{Path, PathBuf};

use lzaudit::eval::{Archetype, Archetypes};
use lzaudit::inventory::{Inventory, Read, ReadStatus, api, arm};
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub description: String,
    #[serde(default)]
    pub today: Option<String>,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub archetypes: Option<Map<String, Value>>,
    pub inventory: Value,
    #[serde(default = "yes")]
    pub all_read: bool,
    #[serde(default)]
    pub failed_reads: Vec<Read>,
    pub expect: Vec<Expect>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub resource: String,
    pub status: lzaudit::eval::Status,
    #[serde(default)]
    pub message_contains: Option<String>,
}

pub struct Loaded {
    pub fixture: Fixture,
    pub inventory: Inventory,
    pub archetypes: Archetypes,
    pub today: time::Date,
}

pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let fixture: Fixture =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut fragment = fixture.inventory.clone();
    resolve_from(&mut fragment).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut base = serde_json::to_value(Inventory::new(
        "https://management.azure.com",
        "arm",
        Default::default(),
    ))
    .unwrap();
    base["collected_at"] = Value::String("2026-11-26T00:00:00Z".into());
    merge_patch(&mut base, fragment);
    let mut inventory: Inventory =
        serde_path_to_json(base).map_err(|e| format!("{}: inventory: {e}", path.display()))?;
    if fixture.all_read {
        mark_read(&mut inventory);
    }
    inventory.reads.extend(fixture.failed_reads.iter().cloned());
    let configured: Vec<(Archetype, Vec<String>)> = fixture
        .archetypes
        .iter()
        .flat_map(|m| m.iter())
        .map(|(k, v)| {
            let archetype = match k.as_str() {
                "corp" => Archetype::Corp,
                "online" => Archetype::Online,
                "landing_zones" => Archetype::LandingZones,
                other => panic!("{}: unknown archetype {other}", path.display()),
            };
            let names = v
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (archetype, names)
        })
        .collect();
    let archetypes = Archetypes::resolve(&inventory, &configured);
    let today = time::Date::parse(
        fixture.today.as_deref().unwrap_or("2026-11-26"),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|e| format!("{}: today: {e}", path.display()))?;
    Ok(Loaded {
        fixture,
        inventory,
        archetypes,
        today,
    })
}

fn serde_path_to_json(value: Value) -> Result<Inventory, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Marks every read a real collection of this inventory would have made as successful, so a
/// fixture only states what failed.
pub fn mark_read(inv: &mut Inventory) {
    let mut reads = Vec::new();
    if let Some(tenant) = &inv.tenant_id {
        reads.push(Read::ok(
            &arm::management_group_id(tenant),
            api::MG_DESCENDANTS,
        ));
    }
    for sub in &inv.subscriptions {
        for a in [
            api::CLUSTERS,
            api::REGISTRIES,
            api::VIRTUAL_MACHINES,
            api::SCALE_SETS,
            api::ARC_MACHINES,
            api::PRICINGS,
            api::POLICY_ASSIGNMENTS,
            api::POLICY_EXEMPTIONS,
        ] {
            reads.push(Read::ok(&sub.id, a));
        }
    }
    for sub in &inv.subscriptions {
        for a in [
            api::PRIVATE_ENDPOINTS,
            api::PRIVATE_DNS_ZONES,
            api::VIRTUAL_NETWORKS,
            api::ROUTE_TABLES,
            api::NETWORK_SECURITY_GROUPS,
        ] {
            reads.push(Read::ok(&sub.id, a));
        }
    }
    for registry in &inv.registries {
        for a in [
            api::REGISTRY_PE_CONNECTIONS,
            api::REGISTRY_TOKENS,
            api::ROLE_ASSIGNMENTS,
            api::DIAGNOSTIC_SETTINGS,
            api::ASSESSMENTS,
        ] {
            reads.push(Read::ok(arm::id(registry), a));
        }
    }
    for cluster in &inv.clusters {
        for a in [
            api::ROLE_ASSIGNMENTS,
            api::DIAGNOSTIC_SETTINGS,
            api::ASSESSMENTS,
            api::POLICY_STATES,
        ] {
            reads.push(Read::ok(arm::id(cluster), a));
        }
        if let Some(location) = arm::str_at(cluster, "location") {
            reads.push(Read::ok(
                &lzaudit::inventory::views::kubernetes_versions_scope(location),
                api::KUBERNETES_VERSIONS,
            ));
        }
    }
    if !inv.assessment_metadata.is_empty() || inv.assessments.values().any(|l| !l.is_empty()) {
        reads.push(Read::ok(
            lzaudit::inventory::views::ASSESSMENT_METADATA_SCOPE,
            api::ASSESSMENT_METADATA,
        ));
    }
    for pe in &inv.private_endpoints {
        reads.push(Read::ok(arm::id(pe), api::PRIVATE_DNS_ZONE_GROUPS));
    }
    for zone in &inv.private_dns_zones {
        reads.push(Read::ok(arm::id(zone), api::PRIVATE_DNS_ZONE_LINKS));
    }
    for machine in &inv.machines {
        if inv.is_aks_machine(machine) {
            reads.push(Read::ok(arm::id(machine), api::PRICINGS));
        }
    }
    for def in &inv.policy_definitions {
        reads.push(Read::ok(arm::id(def), api::POLICY_DEFINITIONS));
    }
    for def in &inv.policy_set_definitions {
        reads.push(Read::ok(arm::id(def), api::POLICY_SET_DEFINITIONS));
    }
    inv.reads.extend(reads);
}

fn resolve_from(value: &mut Value) -> Result<(), String> {
    match value {
        Value::Object(map) if map.contains_key("$from") => {
            let from = map
                .get("$from")
                .and_then(Value::as_str)
                .ok_or("$from must be a string")?;
            let (file, pointer) = from
                .split_once('#')
                .unwrap_or((from, "/responses/200/body"));
            let path = repo().join("tests/fixtures/arm-examples").join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("$from {from}: {e}"))?;
            let example: Value =
                serde_json::from_str(&text).map_err(|e| format!("$from {from}: {e}"))?;
            let mut base = example
                .pointer(pointer)
                .cloned()
                .ok_or_else(|| format!("$from {from}: no value at {pointer}"))?;
            if let Some(patch) = map.get("$patch").cloned() {
                let mut patch = patch;
                resolve_from(&mut patch)?;
                merge_patch(&mut base, patch);
            }
            *value = base;
            Ok(())
        }
        Value::Object(map) => map.values_mut().try_for_each(resolve_from),
        Value::Array(items) => items.iter_mut().try_for_each(resolve_from),
        _ => Ok(()),
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let map = target.as_object_mut().unwrap();
            for (k, v) in patch {
                if v.is_null() {
                    map.remove(&k);
                } else {
                    merge_patch(map.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        mut other => {
            literal_nulls(&mut other);
            *target = other;
        }
    }
}

/// The patch value that stands for an explicit JSON `null`.
const NULL: &str = "$null";

/// Turns every `"$null"` in a value set wholesale (an array, a new key) into `null`.
fn literal_nulls(value: &mut Value) {
    match value {
        Value::String(s) if s == NULL => *value = Value::Null,
        Value::Array(items) => items.iter_mut().for_each(literal_nulls),
        Value::Object(map) => map.values_mut().for_each(literal_nulls),
        _ => {}
    }
}

/// Every fixture file of a check, sorted.
pub fn files_of(check_id: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures/checks").join(check_id);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[allow(dead_code)]
pub fn read_failed(scope: &str, api_name: &str, status: ReadStatus) -> Read {
    let mut r = Read::ok(scope, api_name);
    r.status = status;
    r
}
