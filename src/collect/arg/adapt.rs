//! Resource Graph rows → the ARM shapes the inventory stores, so evaluation never knows the
//! source (design: "shape differences are adapted in the collector, once").
//!
//! What differs (`../shared/arm-api.md` §13.1–13.2, and the emulator's `graph.rs`, which
//! documents the rows it serves):
//! - Every `resources` row carries the common columns `tenantId, resourceGroup,
//!   subscriptionId` that an ARM GET does not, spells unset string columns as `""` and unset
//!   dynamic ones as `null`, and lower-cases `type`. [`resource`] drops the ARG-only columns
//!   and the unset ones, and restores the ARM type's spelling.
//! - Subscriptions in `resourcecontainers` carry the display name in `name` and an ARG-only
//!   ancestor chain (`properties.managementGroupAncestorsChain[] {name, displayName}`, nearest
//!   parent first); management groups carry theirs under `properties.details`.
//! - Policy states: ARM's `queryResults` records are flat; Resource Graph keeps the record
//!   under `properties` (Q5 aggregates them per cluster, so each item is already that record).
//!
//! It also says which properties a row must have to stand in for the ARM answer
//! ([`missing_property`]): a row without one (scrubbed, or from an older api-version) is not
//! evidence, and `--source auto` reads that subscription × API over ARM instead.

use serde_json::Value;

use crate::inventory::{api, arm};

/// ARM's spelling of the types lzaudit reads through Resource Graph outside `resources` (whose
/// types are the contract's `queries::RESOURCE_TYPES`).
const OTHER_TYPES: [&str; 8] = [
    api::POLICY_ASSIGNMENTS,
    api::POLICY_EXEMPTIONS,
    api::POLICY_DEFINITIONS,
    api::POLICY_SET_DEFINITIONS,
    api::ROLE_ASSIGNMENTS,
    api::PRICINGS,
    api::ASSESSMENTS,
    "Microsoft.Resources/subscriptions",
];

/// Columns every Resource Graph row has and an ARM GET does not.
const GRAPH_ONLY: [&str; 3] = ["tenantId", "resourceGroup", "subscriptionId"];

/// ARM's spelling of a lower-cased type; the type as given when it is not one lzaudit reads.
pub fn arm_type(graph_type: &str) -> Option<&'static str> {
    super::queries::RESOURCE_TYPES
        .iter()
        .chain(&OTHER_TYPES)
        .copied()
        .find(|t| arm::eq_ci(t, graph_type))
}

/// A `resources`, `policyresources`, `authorizationresources` or `securityresources` row as the
/// ARM GET returns the object: without the ARG-only columns, without unset columns (`""` or
/// `null`, which ARM omits), with ARM's type spelling.
/// The row is taken, not copied: its values move into the object as they are.
pub fn resource(row: Value) -> Value {
    let Value::Object(object) = row else {
        return row;
    };
    Value::Object(
        object
            .into_iter()
            .filter_map(|(key, value)| {
                if GRAPH_ONLY.contains(&key.as_str()) {
                    return None;
                }
                let unset = match &value {
                    Value::Null => true,
                    Value::String(s) => s.is_empty() && key != "id",
                    _ => false,
                };
                if unset {
                    return None;
                }
                if key == "type"
                    && let Some(spelled) = value.as_str().and_then(arm_type)
                {
                    return Some((key, Value::String(spelled.to_string())));
                }
                Some((key, value))
            })
            .collect(),
    )
}

/// One assessment of a Q8 row (`assessments[]`) as ARM's per-resource list returns it:
/// without the `properties.metadata` Resource Graph embeds. ARM's list carries none (it needs
/// `$expand=metadata`), so on both sources the severity comes from the tenant's assessment
/// metadata list, and a finding cites the same evidence whichever source answered.
pub fn assessment(item: &Value) -> Value {
    let mut item = resource(item.clone());
    if let Some(properties) = item.get_mut("properties").and_then(Value::as_object_mut) {
        properties.remove("metadata");
    }
    item
}

/// What lzaudit needs of a subscription row of `resourcecontainers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// The GUID, lower-cased.
    pub guid: String,
    pub display_name: String,
    pub state: Option<String>,
    /// Management-group names from the nearest parent up to the tenant root group.
    pub ancestors: Vec<String>,
}

/// A subscription row (`type` `microsoft.resources/subscriptions`); `None` for other rows.
pub fn subscription(row: &Value) -> Option<SubscriptionRow> {
    if !arm::str_at(row, "type").is_some_and(|t| arm::eq_ci(t, "microsoft.resources/subscriptions"))
    {
        return None;
    }
    let guid = arm::str_at(row, "subscriptionId")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| arm::subscription_of(arm::id(row)))?
        .to_ascii_lowercase();
    Some(SubscriptionRow {
        display_name: arm::str_at(row, "name").unwrap_or(&guid).to_string(),
        state: arm::str_at(row, "properties.state").map(str::to_string),
        ancestors: chain(arm::path(row, "properties.managementGroupAncestorsChain")),
        guid,
    })
}

/// What lzaudit needs of a management-group row of `resourcecontainers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub name: String,
    pub display_name: Option<String>,
    /// Nearest first, up to the tenant root group (empty for the root itself).
    pub ancestors: Vec<String>,
}

/// A management-group row (`type` `microsoft.management/managementgroups`); `None` for others.
pub fn management_group(row: &Value) -> Option<GroupRow> {
    if !arm::str_at(row, "type")
        .is_some_and(|t| arm::eq_ci(t, "microsoft.management/managementgroups"))
    {
        return None;
    }
    let name = arm::str_at(row, "name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| arm::last_segment(arm::id(row)))
        .to_string();
    if name.is_empty() {
        return None;
    }
    Some(GroupRow {
        display_name: arm::str_at(row, "properties.displayName").map(str::to_string),
        ancestors: chain(arm::path(
            row,
            "properties.details.managementGroupAncestorsChain",
        )),
        name,
    })
}

/// The names of an ancestor chain `[{name, displayName}]`, in order.
fn chain(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| arm::str_at(i, "name"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// One policy state of a Q5 row (`states[]`: the record Resource Graph keeps under
/// `properties`) as ARM's flat `queryResults` record.
pub fn policy_state(state: &Value) -> Value {
    match state.as_object() {
        Some(object) => Value::Object(
            object
                .iter()
                .filter(|(k, _)| !k.starts_with("@odata."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => state.clone(),
    }
}

/// Properties a row must carry to stand in for the ARM answer of `api`, by API: what the
/// checks that read `api` cannot do without, and which ARM always returns (properties ARM omits
/// at their defaults are not here: their absence means the default on both sources).
/// - Clusters: `properties` (every cluster check), `location` (the supported versions are read
///   per location, AKS-002), `properties.agentPoolProfiles` (node pools: AKS-004/005/011/040).
/// - Registries: `properties` and `sku` (AKS-016..018 read the tier and network rules).
/// - Machines, network objects: `properties` (tags and IDs come with the envelope).
/// - Policy assignments: `properties.policyDefinitionId` (coverage, catalogue §1.1); exemptions
///   `properties.policyAssignmentId`; role assignments `properties.roleDefinitionId`,
///   `properties.principalId`, `properties.scope` (AKS-018, AKS-023); pricings
///   `properties.pricingTier` (AKS-006, AKS-040); assessments `properties.status.code` (AKS-006);
///   policy states `complianceState` and `policyAssignmentId` (AKS-030…).
pub const REQUIRED: &[(&str, &[&str])] = &[
    (
        api::CLUSTERS,
        &["properties", "location", "properties.agentPoolProfiles"],
    ),
    (api::REGISTRIES, &["properties", "sku"]),
    (api::VIRTUAL_MACHINES, &["properties"]),
    (api::SCALE_SETS, &["properties"]),
    (api::ARC_MACHINES, &["properties"]),
    (api::PRIVATE_ENDPOINTS, &["properties"]),
    (api::PRIVATE_DNS_ZONES, &["properties"]),
    (api::PRIVATE_DNS_ZONE_LINKS, &["properties"]),
    (api::VIRTUAL_NETWORKS, &["properties"]),
    (api::ROUTE_TABLES, &["properties"]),
    (api::NETWORK_SECURITY_GROUPS, &["properties"]),
    (api::POLICY_ASSIGNMENTS, &["properties.policyDefinitionId"]),
    (api::POLICY_EXEMPTIONS, &["properties.policyAssignmentId"]),
    (
        api::ROLE_ASSIGNMENTS,
        &[
            "properties.roleDefinitionId",
            "properties.principalId",
            "properties.scope",
        ],
    ),
    (api::PRICINGS, &["properties.pricingTier"]),
    (api::ASSESSMENTS, &["properties.status.code"]),
    (
        api::POLICY_STATES,
        &["complianceState", "policyAssignmentId"],
    ),
];

/// The first property `api` requires that `item` (already adapted) lacks; `None` when it has
/// them all, or when nothing is required of `api`.
pub fn missing_property(api: &str, item: &Value) -> Option<&'static str> {
    let (_, paths) = REQUIRED.iter().find(|(a, _)| arm::eq_ci(a, api))?;
    paths
        .iter()
        .copied()
        .find(|path| arm::path(item, path).is_none_or(Value::is_null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An official ARM example body (`/work/shared/arm-examples`, copied under
    /// `tests/fixtures/arm-examples` where the repository has it).
    fn example(path: &str) -> Value {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/arm-examples")
                .join(path),
        )
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        let file: Value = serde_json::from_str(&text).unwrap();
        file["responses"]["200"]["body"].clone()
    }

    /// The Resource Graph row of an ARM object, as §13.1 describes it (and the emulator serves).
    fn graph_row(arm: &Value, subscription: &str, group: &str) -> Value {
        let mut row = json!({
            "id": arm["id"], "name": arm["name"],
            "type": arm["type"].as_str().unwrap().to_ascii_lowercase(),
            "tenantId": "31c75423-32d6-4322-88b7-c478bdde4858",
            "kind": arm.get("kind").cloned().unwrap_or(json!("")),
            "location": arm.get("location").cloned().unwrap_or(json!("")),
            "resourceGroup": group.to_ascii_lowercase(), "subscriptionId": subscription,
            "managedBy": "",
        });
        for key in [
            "sku",
            "plan",
            "properties",
            "tags",
            "identity",
            "zones",
            "extendedLocation",
        ] {
            row[key] = arm.get(key).cloned().unwrap_or(Value::Null);
        }
        row
    }

    #[test]
    fn a_cluster_row_becomes_the_arm_get_body() {
        let cluster = example("containerservice/ManagedClustersGet.json");
        let row = graph_row(&cluster, "subid1", "rg1");
        let adapted = resource(row.clone());
        // ARM's body minus what Resource Graph does not index (etag, systemData …).
        let mut expected = cluster.as_object().unwrap().clone();
        expected.retain(|k, _| {
            [
                "id",
                "name",
                "type",
                "kind",
                "location",
                "sku",
                "plan",
                "properties",
                "tags",
                "identity",
                "zones",
                "extendedLocation",
            ]
            .contains(&k.as_str())
        });
        assert_eq!(adapted, Value::Object(expected));
        assert_eq!(adapted["type"], api::CLUSTERS);
        assert!(adapted.get("tenantId").is_none() && adapted.get("managedBy").is_none());
        assert_eq!(missing_property(api::CLUSTERS, &adapted), None);
        let mut scrubbed = adapted.clone();
        scrubbed["properties"]
            .as_object_mut()
            .unwrap()
            .remove("agentPoolProfiles");
        assert_eq!(
            missing_property(api::CLUSTERS, &scrubbed),
            Some("properties.agentPoolProfiles")
        );
    }

    #[test]
    fn an_assessment_loses_the_metadata_arms_list_does_not_carry() {
        let row = json!({"id": "/subscriptions/s/providers/Microsoft.Security/assessments/k",
            "name": "k", "type": "microsoft.security/assessments",
            "properties": {"status": {"code": "Unhealthy"}, "displayName": "HTTPS only",
                "resourceDetails": {"Id": "/subscriptions/s"},
                "metadata": {"severity": "High", "displayName": "HTTPS only"}}});
        let adapted = assessment(&row);
        assert_eq!(adapted["type"], api::ASSESSMENTS);
        assert!(adapted["properties"].get("metadata").is_none());
        assert_eq!(adapted["properties"]["displayName"], "HTTPS only");
        assert_eq!(missing_property(api::ASSESSMENTS, &adapted), None);
    }

    #[test]
    fn types_take_arms_spelling() {
        assert_eq!(
            arm_type("microsoft.network/privatednszones/virtualnetworklinks"),
            Some(api::PRIVATE_DNS_ZONE_LINKS)
        );
        assert_eq!(arm_type("microsoft.web/sites"), None);
        let other = resource(json!({"id": "/x", "type": "microsoft.web/sites", "kind": ""}));
        assert_eq!(other, json!({"id": "/x", "type": "microsoft.web/sites"}));
    }

    #[test]
    fn a_subscription_row_gives_its_guid_name_state_and_chain() {
        // `GetSubscription.json` as a `resourcecontainers` row (Learn's management-group
        // samples: `name` is the display name, the chain is nearest parent first).
        let arm = example("resources/GetSubscription.json");
        let row = json!({
            "id": arm["id"], "name": arm["displayName"],
            "type": "microsoft.resources/subscriptions", "tenantId": arm["tenantId"],
            "subscriptionId": arm["subscriptionId"],
            "properties": {"state": arm["state"], "subscriptionPolicies": arm["subscriptionPolicies"],
                "managementGroupAncestorsChain": [
                    {"name": "corp", "displayName": "Corp"},
                    {"name": "landingzones", "displayName": "Landing zones"},
                    {"name": "31c75423-32d6-4322-88b7-c478bdde4858", "displayName": "Tenant Root Group"}]},
        });
        assert_eq!(
            subscription(&row),
            Some(SubscriptionRow {
                guid: "291bba3f-e0a5-47bc-a099-3bdcb2a50a05".into(),
                display_name: "Example Subscription".into(),
                state: Some("Enabled".into()),
                ancestors: vec![
                    "corp".into(),
                    "landingzones".into(),
                    "31c75423-32d6-4322-88b7-c478bdde4858".into()
                ],
            })
        );
        // Without a subscriptionId column, the ID says it; other types are not subscriptions.
        let mut bare = row.clone();
        bare.as_object_mut().unwrap().remove("subscriptionId");
        assert_eq!(
            subscription(&bare).unwrap().guid,
            "291bba3f-e0a5-47bc-a099-3bdcb2a50a05"
        );
        assert_eq!(management_group(&row), None);
    }

    #[test]
    fn a_management_group_row_gives_its_name_display_name_and_chain() {
        let row = json!({
            "id": "/providers/Microsoft.Management/managementGroups/corp", "name": "corp",
            "type": "microsoft.management/managementgroups", "subscriptionId": "",
            "properties": {"displayName": "Corp", "tenantId": "t",
                "details": {"managementGroupAncestorsChain": [
                    {"name": "landingzones", "displayName": "Landing zones"},
                    {"name": "t", "displayName": "Tenant Root Group"}],
                    "parent": {"id": "/providers/Microsoft.Management/managementGroups/landingzones",
                               "name": "landingzones", "displayName": "Landing zones"}}},
        });
        assert_eq!(
            management_group(&row),
            Some(GroupRow {
                name: "corp".into(),
                display_name: Some("Corp".into()),
                ancestors: vec!["landingzones".into(), "t".into()],
            })
        );
        let root = json!({"id": "/providers/Microsoft.Management/managementGroups/t",
            "name": "t", "type": "microsoft.management/managementgroups",
            "properties": {"displayName": "Tenant Root Group", "details": {"managementGroupAncestorsChain": []}}});
        assert_eq!(
            management_group(&root).unwrap().ancestors,
            Vec::<String>::new()
        );
        assert_eq!(subscription(&root), None);
    }

    #[test]
    fn a_policy_state_is_the_flat_record() {
        // The PolicyInsights `queryResults` record (swagger `PolicyState`) as Resource Graph
        // keeps it under `properties`.
        let record = json!({
            "@odata.id": null,
            "@odata.context": "https://management.azure.com/subscriptions/fff/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest/$entity",
            "timestamp": "2026-11-20T10:00:00Z",
            "resourceId": "/subscriptions/fff/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
            "policyAssignmentId": "/subscriptions/fff/providers/Microsoft.Authorization/policyAssignments/a1",
            "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4",
            "complianceState": "NonCompliant",
            "policyDefinitionAction": "deny",
            "resourceType": "Microsoft.ContainerService/managedClusters",
        });
        let adapted = policy_state(&record);
        assert!(adapted.get("@odata.context").is_none() && adapted.get("@odata.id").is_none());
        assert_eq!(adapted["complianceState"], "NonCompliant");
        assert_eq!(adapted["resourceId"], record["resourceId"]);
        assert_eq!(adapted.as_object().unwrap().len(), 7);
        assert_eq!(missing_property(api::POLICY_STATES, &adapted), None);
        let mut partial = adapted.clone();
        partial.as_object_mut().unwrap().remove("complianceState");
        assert_eq!(
            missing_property(api::POLICY_STATES, &partial),
            Some("complianceState")
        );
    }

    #[test]
    fn every_required_api_is_one_lzaudit_reads_through_resource_graph() {
        for (api_name, paths) in REQUIRED {
            assert!(!paths.is_empty(), "{api_name}");
            assert!(
                arm_type(api_name).is_some() || *api_name == api::POLICY_STATES,
                "{api_name}"
            );
        }
        assert_eq!(missing_property(api::DIAGNOSTIC_SETTINGS, &json!({})), None);
    }
}
