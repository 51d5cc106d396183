//! Runs every check against each of its fixtures and compares the findings with `expect`.
//!
//! The comparison is exact on (resource, status): a check that produces an extra finding, or
//! misses one, fails its fixture. `message_contains` pins the part of a message that matters.

use std::collections::BTreeMap;

use lzaudit::catalogue::Catalogue;
use lzaudit::eval::{self, EvalContext};

use crate::support::fixture;

#[test]
fn every_fixture_gives_the_expected_findings() {
    let catalogue = Catalogue::builtin().expect("built-in catalogue loads");
    let mut failures = Vec::new();
    let mut ran = 0;
    for check in catalogue.checks() {
        for path in fixture::files_of(check.id()) {
            ran += 1;
            let name = path
                .strip_prefix(fixture::repo())
                .unwrap()
                .display()
                .to_string();
            let loaded = match fixture::load(&path) {
                Ok(l) => l,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let mut params: BTreeMap<_, _> = check.default_params();
            for (k, v) in &loaded.fixture.params {
                params.insert(k.clone(), v.clone());
            }
            let ctx = EvalContext {
                inventory: &loaded.inventory,
                params: &params,
                archetypes: &loaded.archetypes,
                today: loaded.today,
            };
            let findings = eval::run(check, &ctx);
            let mut problems = Vec::new();
            for expect in &loaded.fixture.expect {
                match findings
                    .iter()
                    .find(|f| f.resource.eq_ignore_ascii_case(&expect.resource))
                {
                    None => problems.push(format!("no finding for {}", expect.resource)),
                    Some(f) => {
                        if f.status != expect.status {
                            problems.push(format!(
                                "{}: expected {}, got {} ({})",
                                expect.resource, expect.status, f.status, f.message
                            ));
                        }
                        if let Some(part) = &expect.message_contains
                            && !f.message.contains(part.as_str())
                        {
                            problems.push(format!(
                                "{}: message `{}` lacks `{part}`",
                                expect.resource, f.message
                            ));
                        }
                    }
                }
            }
            for f in &findings {
                if !loaded
                    .fixture
                    .expect
                    .iter()
                    .any(|e| e.resource.eq_ignore_ascii_case(&f.resource))
                {
                    problems.push(format!(
                        "unexpected finding {} {} ({})",
                        f.resource, f.status, f.message
                    ));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name} ({}):\n    {}",
                    loaded.fixture.description,
                    problems.join("\n    ")
                ));
            }
        }
    }
    assert!(ran > 0, "no fixture ran");
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Removes the property at a declared read path (`a.b[].c`: `c` from every element of `a.b`),
/// matching keys case-insensitively as the projection does.
fn remove_read(value: &mut serde_json::Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let name = first.strip_suffix("[]").unwrap_or(first);
    let Some(key) = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else {
        return;
    };
    if rest.is_empty() {
        map.remove(&key);
    } else if first.ends_with("[]") {
        if let Some(items) = map.get_mut(&key).and_then(|v| v.as_array_mut()) {
            items.iter_mut().for_each(|item| remove_read(item, rest));
        }
    } else if let Some(child) = map.get_mut(&key) {
        remove_read(child, rest);
    }
}

/// A check of the kind users write: a rule that uses a read without a default and without
/// `has()` (`sku.name`), so removing it makes the rule fail to evaluate. No built-in CEL check
/// does that any more (AKS-009, which did, joins the registry's connection list and is a Rust
/// evaluator since), so this one keeps the explanation of such a failure pinned on real
/// payloads: AKS-009's pass fixtures.
const UNGUARDED: &str = r#"
id = "CUS-009"
slug = "premium-registry"
title = "Registry is Premium"
severity = "low"
area = "registry"
target = "registry"
caf = "Use Private Link for Container Registry"
data = ["Microsoft.ContainerRegistry/registries"]

[docs]
what = "Checks the registry SKU."
why = "Only Premium registries have private endpoints."
fix = "az acr update -n <acr> --sku Premium"

[[reads]]
path = "sku.name"
expected = "Premium"

[logic]
kind = "cel"

[[logic.rules]]
when = "!resource.sku.name.matches('(?i)^premium$')"
status = "fail"
message = "not Premium"

[logic.otherwise]
status = "pass"
message = "Premium"
"#;

#[test]
fn a_missing_read_is_explained_in_the_checks_terms_for_every_built_in_cel_check() {
    use lzaudit::catalogue::Logic;

    let catalogue = Catalogue::builtin().expect("built-in catalogue loads");
    let mut failures = Vec::new();
    let mut explained = 0;
    let mut removals = 0;
    for check in catalogue.checks() {
        if !matches!(check.logic, Logic::Cel { .. }) {
            continue;
        }
        removals += remove_each_read(check, check.id(), &mut failures, &mut explained);
    }
    assert!(removals > 0, "no declared read was removed");
    let custom = lzaudit::catalogue::load(UNGUARDED, "CUS-009.toml", false).unwrap();
    let before = explained;
    remove_each_read(&custom, "AKS-009", &mut failures, &mut explained);
    assert!(
        explained > before,
        "removing sku.name did not make CUS-009's rule fail to evaluate"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `check` on the pass fixtures of `fixtures_of` with each of its declared reads removed
/// in turn: no message may carry raw CEL error text, and an evaluation failure must name the
/// rule and the missing property. Returns how many removals were run.
fn remove_each_read(
    check: &lzaudit::catalogue::Check,
    fixtures_of: &str,
    failures: &mut Vec<String>,
    explained: &mut usize,
) -> usize {
    use lzaudit::catalogue::Target;
    use lzaudit::eval::Status;

    const RAW: [&str; 9] = [
        "No such key",
        "Unexpected type",
        "found no matching overload",
        "Value::",
        "Int(",
        "UInt(",
        "Float(",
        "List(",
        "Map(",
    ];
    let mut removals = 0;
    let passes = fixture::files_of(fixtures_of).into_iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pass-"))
    });
    for path in passes {
        let loaded = fixture::load(&path).unwrap();
        let mut params: BTreeMap<_, _> = check.default_params();
        params.extend(loaded.fixture.params.clone());
        for read in &check.file.reads {
            let segments: Vec<&str> = read.path.split('.').collect();
            let mut inventory = loaded.inventory.clone();
            let resources = match check.file.target {
                Target::Cluster => &mut inventory.clusters,
                Target::Registry => &mut inventory.registries,
                Target::Subscription => continue,
            };
            resources
                .iter_mut()
                .for_each(|r| r.edit(|v| remove_read(v, &segments)));
            removals += 1;
            let ctx = EvalContext {
                inventory: &inventory,
                params: &params,
                archetypes: &loaded.archetypes,
                today: loaded.today,
            };
            for finding in eval::run(check, &ctx) {
                let m = &finding.message;
                let context = format!("{} without {}: {m}", check.id(), read.path);
                if let Some(raw) = RAW.iter().find(|raw| m.contains(*raw)) {
                    failures.push(format!("{context} (contains `{raw}`)"));
                }
                if finding.status == Status::Unknown && m.starts_with("cannot evaluate") {
                    *explained += 1;
                    if !m.starts_with("cannot evaluate rule `")
                        || !m.contains(&format!("`{}`", read.path))
                    {
                        failures.push(format!(
                            "{context} (does not name the rule and the missing property)"
                        ));
                    }
                }
            }
        }
    }
    removals
}

#[test]
fn aks_029_evidence_says_why_a_pool_without_mode_counts_as_a_system_pool() {
    let catalogue = Catalogue::builtin().expect("built-in catalogue loads");
    let check = catalogue.get("AKS-029").unwrap();
    let path =
        fixture::repo().join("tests/fixtures/checks/AKS-029/warn-pools-predating-modes.json");
    let loaded = fixture::load(&path).unwrap();
    let params = check.default_params();
    let ctx = EvalContext {
        inventory: &loaded.inventory,
        params: &params,
        archetypes: &loaded.archetypes,
        today: loaded.today,
    };
    let findings = eval::run(check, &ctx);
    let legacy = findings
        .iter()
        .find(|f| f.resource.ends_with("/aks-legacy"))
        .unwrap();
    let mode = legacy
        .evidence
        .iter()
        .find(|e| e.property == "properties.agentPoolProfiles[].mode")
        .unwrap();
    assert_eq!(*mode.observed, serde_json::json!([null]));
    let note = mode.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("\"System\" applies")
            && note.contains("predate node-pool modes")
            && note.contains("treated as System pools"),
        "{note}"
    );
}

/// The inventory fields holding ARM payloads: lists of them, and maps (keyed by a lower-cased
/// ID or location, which stay as they are) of lists or single payloads.
const PAYLOAD_LISTS: [&str; 15] = [
    "clusters",
    "registries",
    "machines",
    "policy_assignments",
    "policy_definitions",
    "policy_set_definitions",
    "policy_exemptions",
    "role_assignments",
    "cluster_role_assignments",
    "private_endpoints",
    "private_dns_zones",
    "virtual_networks",
    "route_tables",
    "network_security_groups",
    "assessment_metadata",
];
const PAYLOAD_MAPS: [&str; 10] = [
    "registry_private_endpoint_connections",
    "registry_tokens",
    "pricings",
    "resource_pricings",
    "private_dns_zone_groups",
    "private_dns_zone_links",
    "diagnostic_settings",
    "assessments",
    "policy_states",
    "kubernetes_versions",
];

/// Every object key with its first letter upper-cased (`Properties.AgentPoolProfiles[].Mode`),
/// the way PowerShell objects and some exports spell ARM payloads. Tag names are the user's
/// data, not ARM's keys, and keep their spelling.
fn pascal_case(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, mut v) in std::mem::take(map) {
                if !key.eq_ignore_ascii_case("tags") {
                    pascal_case(&mut v);
                }
                let mut chars = key.chars();
                let key = match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => key,
                };
                map.insert(key, v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(pascal_case),
        _ => {}
    }
}

/// Runs every check on each of its fixtures as written and with `transform` applied to every
/// ARM payload of the inventory, and lists the findings (resource, status, message) that differ.
fn compare_transformed(transform: fn(&mut serde_json::Value)) -> Vec<String> {
    let catalogue = Catalogue::builtin().expect("built-in catalogue loads");
    let mut failures = Vec::new();
    let mut compared = 0;
    for check in catalogue.checks() {
        for path in fixture::files_of(check.id()) {
            let loaded = fixture::load(&path).unwrap();
            let mut params: BTreeMap<_, _> = check.default_params();
            params.extend(loaded.fixture.params.clone());
            let mut raw = serde_json::to_value(&loaded.inventory).unwrap();
            for field in PAYLOAD_LISTS {
                transform(&mut raw[field]);
            }
            for field in PAYLOAD_MAPS {
                if let Some(map) = raw[field].as_object_mut() {
                    map.values_mut().for_each(transform);
                }
            }
            let changed: lzaudit::inventory::Inventory = serde_json::from_value(raw).unwrap();
            let run = |inventory| {
                let ctx = EvalContext {
                    inventory,
                    params: &params,
                    archetypes: &loaded.archetypes,
                    today: loaded.today,
                };
                eval::run(check, &ctx)
                    .into_iter()
                    .map(|f| (f.resource, f.status, f.message))
                    .collect::<Vec<_>>()
            };
            let (before, after) = (run(&loaded.inventory), run(&changed));
            compared += before.len();
            if before != after {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                for (a, b) in before.iter().zip(&after).filter(|(a, b)| a != b) {
                    failures.push(format!(
                        "{} {name}: {}\n      as written:  {} {}\n      transformed: {} {}",
                        check.id(),
                        a.0,
                        a.1,
                        a.2,
                        b.1,
                        b.2
                    ));
                }
                if before.len() != after.len() {
                    failures.push(format!(
                        "{} {name}: a different number of findings",
                        check.id()
                    ));
                }
            }
        }
    }
    assert!(compared > 0);
    failures
}

/// Every check reads PascalCase payloads exactly like camelCase ones: each fixture's inventory,
/// with every key of every ARM payload in it upper-cased, gives the same findings (resource,
/// status and message).
#[test]
fn pascal_case_keys_read_like_camel_case_in_every_check() {
    let failures = compare_transformed(pascal_case);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every boolean of a payload sent as the string `"True"`/`"False"`, as exports by other tools
/// carry them.
fn string_booleans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Bool(b) => {
            *value = serde_json::Value::String(if *b { "True" } else { "False" }.into());
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(string_booleans),
        serde_json::Value::Array(items) => items.iter_mut().for_each(string_booleans),
        _ => {}
    }
}

/// Every check reads booleans sent as strings like booleans: each fixture's inventory, with
/// every boolean of every ARM payload in it turned into `"True"`/`"False"`, gives the same
/// findings.
#[test]
fn string_booleans_read_like_booleans_in_every_check() {
    let failures = compare_transformed(string_booleans);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `null` member of a payload's objects removed: ARM sends `null` and omission alike for
/// "not set" (the registry example's `status: null`, `adminGroupObjectIDs: null`, policy states'
/// empty columns), and the fixtures carry both.
fn without_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

/// Every check reads an explicit `null` like an absent property: each fixture's inventory, with
/// every `null` member of its ARM payloads removed, gives the same findings.
#[test]
fn explicit_nulls_read_like_absent_properties_in_every_check() {
    let failures = compare_transformed(without_nulls);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
