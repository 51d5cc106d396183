//! The CEL limits against the built-in checks: the limits must leave the shipped rules far
//! inside them, on the largest payloads a real tenant produces.

use lzaudit::catalogue::{Catalogue, Logic};
use lzaudit::eval::cel::{self, limits};
use serde_json::Value;

use crate::support::fixture;

/// Every list in `value` made long by repeating its elements: 100 at the top (a cluster
/// with 100 node pools, the AKS maximum; 100 authorized ranges, network rules or private
/// endpoints) and 10 inside (10 taints on each of those pools).
fn inflate(value: &mut Value, n: usize) {
    match value {
        Value::Array(items) => {
            for item in items.iter_mut() {
                inflate(item, 10);
            }
            if !items.is_empty() {
                let copy = items.clone();
                *items = copy.iter().cycle().take(n).cloned().collect();
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| inflate(v, n)),
        _ => {}
    }
}

#[test]
fn limits_leave_headroom_over_the_built_in_checks() {
    let catalogue = Catalogue::builtin().unwrap();
    let (mut bytes, mut nesting, mut depth) = (0, 0, 0);
    let mut costs = Vec::new();
    for check in catalogue.checks() {
        let Logic::Cel { rules, .. } = &check.logic else {
            continue;
        };
        for rule in rules {
            bytes = bytes.max(rule.source.len());
            nesting = nesting.max(cel::nesting(&rule.source).unwrap());
            depth = depth.max(rule.when.as_ref().unwrap().depth());
        }
        let params = Value::Object(check.default_params().into_iter().collect());
        for path in fixture::files_of(check.id()) {
            let loaded = fixture::load(&path).unwrap();
            for resource in loaded
                .inventory
                .clusters
                .iter()
                .chain(&loaded.inventory.registries)
            {
                let mut big = resource.clone();
                big.edit(|v| inflate(v, 100));
                let worst = cel::worst_case(check, &big, &params).unwrap();
                let usual = cel::worst_case(check, resource, &params).unwrap();
                costs.push((
                    worst.steps,
                    usual.steps,
                    worst.memory,
                    check.id().to_string(),
                ));
            }
        }
    }
    costs.sort();
    assert!(bytes * 5 <= limits::MAX_EXPR_BYTES, "{bytes} bytes");
    assert!(nesting * 5 <= limits::MAX_NESTING, "nesting {nesting}");
    assert!(depth * 5 <= limits::MAX_AST_DEPTH, "depth {depth}");
    let (worst, _, _, id) = costs.last().unwrap();
    assert!(
        worst * 10 <= limits::FINDING_BUDGET,
        "{id} may cost {worst} on a 100-pool cluster"
    );
    let memory = costs.iter().map(|c| c.2).max().unwrap();
    assert!(
        memory * 10 <= limits::MEMORY_BUDGET,
        "a built-in rule may hold {memory} on a 100-pool cluster"
    );
    let usual = costs.iter().map(|c| c.1).max().unwrap();
    assert!(
        usual * 100_000 <= limits::RUN_BUDGET,
        "a check may cost {usual} on a fixture-sized resource"
    );
}
