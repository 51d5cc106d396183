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
            resources.iter_mut().for_each(|r| remove_read(r, &segments));
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
    assert_eq!(mode.observed, serde_json::json!([null]));
    let note = mode.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("\"System\" applies")
            && note.contains("predate node-pool modes")
            && note.contains("treated as System pools"),
        "{note}"
    );
}
