//! The Resource Graph queries lzaudit sends: the contract with the emulator, whose test
//! (`tests/emulator/tests/resource_graph.rs`, Q1..Q8) runs these exact texts against the
//! small fixture, the contoso example and a generated tenant and compares every answer with
//! what ARM serves. Change one here and there together.
//!
//! Each query projects only the columns the inventory keeps plus `id`, and is sorted by `id`
//! (Resource Graph pages stably only then). Policy states and assessments are aggregated per
//! resource in the query (`summarize make_list(...) by resourceId`), so that a page carries a
//! thousand resources, not a thousand facts.

use crate::inventory::api;

/// Q1: subscriptions and management groups, each with its ancestor chain.
pub const CONTAINERS: &str = "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' or type =~ 'microsoft.management/managementgroups' | project id, name, type, tenantId, subscriptionId, properties | order by id asc";

/// The `resources` types lzaudit reads through Resource Graph, by coverage API (which is the
/// ARM type).
pub const RESOURCE_TYPES: [&str; 11] = [
    api::CLUSTERS,
    api::REGISTRIES,
    api::VIRTUAL_MACHINES,
    api::SCALE_SETS,
    api::ARC_MACHINES,
    api::PRIVATE_ENDPOINTS,
    api::PRIVATE_DNS_ZONES,
    api::PRIVATE_DNS_ZONE_LINKS,
    api::VIRTUAL_NETWORKS,
    api::ROUTE_TABLES,
    api::NETWORK_SECURITY_GROUPS,
];

/// Q2: the inventory of these ARM types (every one of [`RESOURCE_TYPES`] in the contract;
/// the plan may ask for fewer).
pub fn resources(types: &[&str]) -> String {
    let types: Vec<String> = types
        .iter()
        .map(|t| format!("'{}'", t.to_ascii_lowercase()))
        .collect();
    format!(
        "resources | where type in~ ({}) | project id, name, type, tenantId, kind, location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags, identity, zones, extendedLocation | order by id asc",
        types.join(", ")
    )
}

/// Q3: policy assignments and exemptions (sent with `AtScopeAboveAndBelow`).
pub const ASSIGNMENTS: &str = "policyresources | where type in~ ('microsoft.authorization/policyassignments', 'microsoft.authorization/policyexemptions') | project id, name, type, subscriptionId, properties | order by id asc";

/// Q4: policy definitions and set definitions by ID (tenant-wide).
pub fn definitions(ids: &[String]) -> String {
    let quoted: Vec<String> = ids
        .iter()
        .map(|id| format!("'{}'", id.replace('\'', "")))
        .collect();
    format!(
        "policyresources | where type in~ ('microsoft.authorization/policydefinitions', 'microsoft.authorization/policysetdefinitions') | where id in~ ({}) | project id, name, type, properties | order by id asc",
        quoted.join(", ")
    )
}

/// Q5: the latest policy states of clusters, one row per cluster.
pub const POLICY_STATES: &str = "policyresources | where type =~ 'microsoft.policyinsights/policystates' | extend resourceId = tolower(tostring(properties.resourceId)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' | summarize states = make_list(properties) by resourceId | project id = resourceId, states | order by id asc";

/// Q6: role assignments (sent with `AtScopeAboveAndBelow`).
pub const ROLE_ASSIGNMENTS: &str = "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, name, type, properties | order by id asc";

/// Q7: subscription-level Defender pricings, one row per subscription (a dozen plans each:
/// per row they would be the largest table of all).
pub const PRICINGS: &str = "securityresources | where type =~ 'microsoft.security/pricings' | summarize pricings = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by subscriptionId | project id = subscriptionId, pricings | order by id asc";

/// Q8: Defender assessments of clusters and registries, one row per assessed resource.
pub const ASSESSMENTS: &str = "securityresources | where type =~ 'microsoft.security/assessments' | extend resourceId = tolower(tostring(properties.resourceDetails.Id)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' or resourceId contains '/providers/microsoft.containerregistry/registries/' | summarize assessments = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by resourceId | project id = resourceId, assessments | order by id asc";

/// Policy definition IDs per Q4 query: keeps each query text well below Resource Graph's
/// request size.
pub const DEFINITIONS_PER_QUERY: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulator's contract test holds its own copy of each query (it imports nothing from
    /// lzaudit): the two copies must not drift apart.
    #[test]
    fn the_queries_are_the_emulators_contract() {
        let contract = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/emulator/tests/resource_graph.rs"),
        )
        .unwrap();
        for (name, query) in [
            ("Q1", CONTAINERS),
            ("Q3", ASSIGNMENTS),
            ("Q5", POLICY_STATES),
            ("Q6", ROLE_ASSIGNMENTS),
            ("Q7", PRICINGS),
            ("Q8", ASSESSMENTS),
        ] {
            assert!(
                contract.contains(&format!("\"{query}\"")),
                "{name} differs from the emulator's contract"
            );
        }
        // Q2 and Q4 are formatted around their lists in both places.
        let q2 = resources(&RESOURCE_TYPES);
        let (head, tail) = q2.split_once(" (").unwrap();
        assert!(contract.contains(&format!("\"{head} ({{}})")), "Q2 head");
        let tail = &tail[tail.find(')').unwrap()..];
        assert!(contract.contains(tail), "Q2 tail");
        for t in RESOURCE_TYPES {
            assert!(contract.contains(&format!("\"{t}\"")), "Q2 type {t}");
        }
        let q4 = definitions(&["X".into()]);
        let (head, tail) = q4.split_once("('X')").unwrap();
        assert!(contract.contains(&format!("\"{head}({{}}){tail}\"")), "Q4");
    }

    #[test]
    fn the_resource_query_is_the_contracts_when_every_type_is_wanted() {
        let q = resources(&RESOURCE_TYPES);
        assert!(q.starts_with("resources | where type in~ ('microsoft.containerservice/managedclusters', 'microsoft.containerregistry/registries', 'microsoft.compute/virtualmachines'"));
        assert!(q.contains("'microsoft.network/privatednszones/virtualnetworklinks'"));
        assert!(q.ends_with("| order by id asc"));
        assert_eq!(
            definitions(&["/providers/Microsoft.Authorization/policyDefinitions/a'b".into()]),
            "policyresources | where type in~ ('microsoft.authorization/policydefinitions', 'microsoft.authorization/policysetdefinitions') | where id in~ ('/providers/Microsoft.Authorization/policyDefinitions/ab') | project id, name, type, properties | order by id asc"
        );
    }
}
