//! Resource Graph over real sockets: the eight queries lzaudit sends (the contract of issue
//! 9) run against the small fixture, the bundled contoso example and a generated tenant,
//! and every answer must equal what the same tenant serves over ARM, adapted as ARG adapts
//! it (§13.1–13.2 of the API notes: lower-cased `type`, `resourceGroup` lower-cased in
//! `resources`, subscription and management-group rows with their ancestor chains, policy
//! states under `properties`, assessments with their metadata, registries with their
//! private endpoint connections). The expected rows are built here from ARM answers fetched
//! over HTTP, independently of the emulator's own adapter. Beside the contract: paging
//! across `$skipToken`, scopes and `authorizationScopeFilter`, partial answers and 403,
//! the user quota and its 429, and the 400s for queries outside the KQL subset.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use lzaudit_emulator::{
    Chaos, ChaosKind, Deny, Emulator, GRAPH_API, GraphQuota, Options, Spec, Tenant, Throttle,
    generate,
};
use serde_json::{Map, Value, json};

const V: &str = "api-version=2025-01-01";
const GRAPH_VERSION: &str = "api-version=2024-04-01";
const SMALL_TENANT: &str = "31c75423-32d6-4322-88b7-c478bdde4858";
const CORP: &str = "291bba3f-e0a5-47bc-a099-3bdcb2a50a05";
const ONLINE: &str = "ae640e6b-ba3e-4256-9d62-2993eecfa6f2";

/// The `resources` types lzaudit reads through Resource Graph.
const RESOURCE_TYPES: [&str; 11] = [
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/virtualMachineScaleSets",
    "Microsoft.HybridCompute/machines",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/networkSecurityGroups",
];

const COLUMNS: [&str; 16] = [
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

// The contract: the queries exactly as lzaudit sends them.

const Q1_CONTAINERS: &str = "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' or type =~ 'microsoft.management/managementgroups' | project id, name, type, tenantId, subscriptionId, properties | order by id asc";

fn q2_resources() -> String {
    let types: Vec<String> = RESOURCE_TYPES
        .iter()
        .map(|t| format!("'{}'", t.to_ascii_lowercase()))
        .collect();
    format!(
        "resources | where type in~ ({}) | project id, name, type, tenantId, kind, location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags, identity, zones, extendedLocation | order by id asc",
        types.join(", ")
    )
}

const Q3_ASSIGNMENTS: &str = "policyresources | where type in~ ('microsoft.authorization/policyassignments', 'microsoft.authorization/policyexemptions') | project id, name, type, subscriptionId, properties | order by id asc";

fn q4_definitions(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    format!(
        "policyresources | where type in~ ('microsoft.authorization/policydefinitions', 'microsoft.authorization/policysetdefinitions') | where id in~ ({}) | project id, name, type, properties | order by id asc",
        quoted.join(", ")
    )
}

const Q5_STATES: &str = "policyresources | where type =~ 'microsoft.policyinsights/policystates' | extend resourceId = tolower(tostring(properties.resourceId)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' | summarize states = make_list(properties) by resourceId | project id = resourceId, states | order by id asc";

const Q6_ROLES: &str = "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, name, type, properties | order by id asc";

const Q7_PRICINGS: &str = "securityresources | where type =~ 'microsoft.security/pricings' | summarize pricings = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by subscriptionId | project id = subscriptionId, pricings | order by id asc";

const Q8_ASSESSMENTS: &str = "securityresources | where type =~ 'microsoft.security/assessments' | extend resourceId = tolower(tostring(properties.resourceDetails.Id)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' or resourceId contains '/providers/microsoft.containerregistry/registries/' | summarize assessments = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by resourceId | project id = resourceId, assessments | order by id asc";

// ---------------------------------------------------------------------------------------
// Tenants

fn small() -> Tenant {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tenant.json");
    Tenant::load(&path).expect("fixture loads")
}

/// The contoso example without its `deny` list: the denials are what the principal may
/// read, not what the tenant holds, and the comparison needs every ARM answer.
fn contoso() -> Tenant {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/contoso/tenant.json");
    let mut fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("example")).expect("JSON");
    fixture
        .as_object_mut()
        .expect("object")
        .remove("deny")
        .expect("contoso has denials");
    Tenant::from_value(fixture).expect("loads")
}

fn generated(subscriptions: usize) -> Tenant {
    Tenant::from_value(
        generate::fixture(&Spec {
            seed: 9,
            subscriptions,
            ..Spec::default()
        })
        .expect("generates"),
    )
    .expect("loads")
}

/// No quota, so that the contract tests can send as many queries as they need.
fn unthrottled() -> Options {
    Options {
        graph_quota: None,
        ..Options::default()
    }
}

// ---------------------------------------------------------------------------------------
// Clients

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// ARG's specific error code: the first of `error.details`, or `error.code`.
    fn detail(&self) -> &str {
        self.body["error"]["details"][0]["code"]
            .as_str()
            .or(self.body["error"]["code"].as_str())
            .unwrap_or("")
    }
}

#[derive(Clone)]
enum Scope {
    Subscriptions(Vec<String>),
    Groups(Vec<String>),
    Tenant,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    tenant_id: String,
}

impl Client {
    fn new(emulator: &Emulator) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: emulator.http_url(),
            token: emulator.tenant().static_tokens()[0].clone(),
            tenant_id: emulator.tenant().tenant_id().to_string(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Got {
        let response = request.bearer_auth(&self.token).send().await.expect("sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        Got {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn graph(&self, body: &Value) -> Got {
        let url = format!(
            "{}/providers/Microsoft.ResourceGraph/resources?{GRAPH_VERSION}",
            self.base
        );
        self.send(
            self.http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    fn body(query: &str, scope: &Scope, filter: Option<&str>) -> Value {
        let mut body = json!({"query": query, "options": {"resultFormat": "objectArray"}});
        match scope {
            Scope::Subscriptions(s) => body["subscriptions"] = json!(s),
            Scope::Groups(g) => body["managementGroups"] = json!(g),
            Scope::Tenant => {}
        }
        if let Some(filter) = filter {
            body["options"]["authorizationScopeFilter"] = json!(filter);
        }
        body
    }

    /// Every row of a query, following `$skipToken`: each page is a 200 of at most 1,000
    /// rows that says how many it holds, the total never changes, the result is never
    /// truncated, and no row comes twice.
    async fn rows(&self, query: &str, scope: &Scope, filter: Option<&str>) -> Vec<Value> {
        let mut body = Client::body(query, scope, filter);
        let mut rows: Vec<Value> = Vec::new();
        let mut total = None;
        loop {
            let got = self.graph(&body).await;
            assert_eq!(got.status, 200, "{query}: {}", got.body);
            let data = got.body["data"].as_array().expect("data").clone();
            assert_eq!(got.body["count"], data.len(), "{query}");
            assert!(data.len() <= 1000);
            assert_eq!(got.body["resultTruncated"], "false", "{query}");
            assert_eq!(got.body["facets"], json!([]));
            let this_total = got.body["totalRecords"].as_u64().expect("total");
            assert_eq!(*total.get_or_insert(this_total), this_total);
            rows.extend(data);
            match got.body["$skipToken"].as_str() {
                Some(token) => {
                    assert_eq!(got.body["count"], 1000, "only full pages have a token");
                    body["options"]["$skipToken"] = json!(token);
                }
                None => break,
            }
        }
        assert_eq!(rows.len() as u64, total.unwrap_or(0), "{query}");
        let ids: BTreeSet<String> = rows
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_ascii_lowercase())
            .collect();
        assert_eq!(ids.len(), rows.len(), "{query}: a row came twice");
        rows
    }

    /// A contract query over subscription chunks of at most `chunk`, as lzaudit sends them.
    async fn chunked(
        &self,
        query: &str,
        subscriptions: &[String],
        chunk: usize,
        filter: Option<&str>,
    ) -> Vec<Value> {
        let mut rows = Vec::new();
        for part in subscriptions.chunks(chunk) {
            rows.extend(
                self.rows(query, &Scope::Subscriptions(part.to_vec()), filter)
                    .await,
            );
        }
        rows
    }

    async fn arm(&self, path: &str) -> Got {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{separator}{V}", self.base);
        self.send(self.http.get(url)).await
    }

    async fn arm_one(&self, path: &str) -> Value {
        let got = self.arm(path).await;
        assert_eq!(got.status, 200, "{path}: {}", got.body);
        got.body
    }

    /// A list, every page.
    async fn arm_list(&self, path: &str) -> Vec<Value> {
        let mut body = self.arm_one(path).await;
        let mut items = Vec::new();
        loop {
            items.extend(body["value"].as_array().expect("value").iter().cloned());
            match body["nextLink"].as_str() {
                Some(next) => {
                    let got = self.send(self.http.get(next)).await;
                    assert_eq!(got.status, 200);
                    body = got.body;
                }
                None => return items,
            }
        }
    }

    /// PolicyInsights' latest states at `scope`, every page (each one POSTed).
    async fn policy_states(&self, scope: &str) -> Vec<Value> {
        let mut url = format!(
            "{}{scope}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?{V}",
            self.base
        );
        let mut records = Vec::new();
        loop {
            let got = self.send(self.http.post(&url)).await;
            assert_eq!(got.status, 200, "{url}: {}", got.body);
            records.extend(got.body["value"].as_array().expect("value").iter().cloned());
            match got.body["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return records,
            }
        }
    }

    async fn subscription_ids(&self) -> Vec<String> {
        self.arm_list("/subscriptions")
            .await
            .iter()
            .map(|s| s["subscriptionId"].as_str().expect("id").to_string())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// ARM shapes → ARG rows, as the API notes describe them (independent of the emulator's code)

fn text(value: &Value, key: &str) -> Value {
    json!(value.get(key).and_then(Value::as_str).unwrap_or(""))
}

fn dynamic(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// The segment after `name` in an ID, as spelled; `""` without one.
fn segment_after(id: &str, name: &str) -> String {
    let segments: Vec<&str> = id.split('/').collect();
    segments
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case(name))
        .map_or_else(String::new, |w| w[1].to_string())
}

fn resource_group(id: &str) -> String {
    if id.to_ascii_lowercase().starts_with("/subscriptions/") {
        segment_after(id, "resourceGroups")
    } else {
        String::new()
    }
}

/// The ARG row of an ARM object with every common column.
fn arg_row(arm: &Value, tenant_id: &str, lower_group: bool) -> Map<String, Value> {
    let id = arm["id"].as_str().expect("an id");
    let mut group = resource_group(id);
    if lower_group {
        group = group.to_ascii_lowercase();
    }
    let mut row = Map::new();
    row.insert("id".into(), json!(id));
    row.insert(
        "name".into(),
        json!(
            arm["name"]
                .as_str()
                .unwrap_or_else(|| id.rsplit('/').next().unwrap_or(""))
        ),
    );
    row.insert(
        "type".into(),
        json!(arm["type"].as_str().expect("a type").to_ascii_lowercase()),
    );
    row.insert("tenantId".into(), json!(tenant_id));
    row.insert("kind".into(), text(arm, "kind"));
    row.insert("location".into(), text(arm, "location"));
    row.insert("resourceGroup".into(), json!(group));
    row.insert(
        "subscriptionId".into(),
        json!(segment_after(id, "subscriptions")),
    );
    row.insert("managedBy".into(), text(arm, "managedBy"));
    for key in [
        "sku",
        "plan",
        "properties",
        "tags",
        "identity",
        "zones",
        "extendedLocation",
    ] {
        row.insert(key.into(), dynamic(arm, key));
    }
    row
}

fn project(row: &Map<String, Value>, columns: &[&str]) -> Value {
    Value::Object(
        columns
            .iter()
            .map(|c| (c.to_string(), row.get(*c).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

/// Sorted by `id`, ordinally, as `order by id asc` sorts; duplicates (the same assignment
/// seen from two subscriptions) dropped.
fn by_id(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rows.dedup_by(|a, b| a["id"] == b["id"]);
    rows
}

fn assert_ordered(rows: &[Value], what: &str) {
    for pair in rows.windows(2) {
        assert!(
            pair[0]["id"].as_str() < pair[1]["id"].as_str(),
            "{what}: not in id order: {} then {}",
            pair[0]["id"],
            pair[1]["id"]
        );
    }
}

/// Compares row by row, so that a failure shows the first row that differs.
fn assert_rows(actual: &[Value], expected: &[Value], what: &str) {
    assert_ordered(actual, what);
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a, e, "{what}: first differing row");
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} rows, expected {}",
        actual.len(),
        expected.len()
    );
}

/// Query 1's rows from ARM: subscriptions, and management groups with their ancestor chains
/// (from `$expand=path`), limited to what is at or below `group` when given.
async fn expected_containers(c: &Client, group: Option<&str>) -> Vec<Value> {
    let groups = c
        .arm_list("/providers/Microsoft.Management/managementGroups")
        .await;
    let mut chains: BTreeMap<String, (Value, Value, Value)> = BTreeMap::new();
    for g in &groups {
        let name = g["name"].as_str().expect("name");
        let one = c
            .arm_one(&format!(
                "/providers/Microsoft.Management/managementGroups/{name}?$expand=path"
            ))
            .await;
        let mut chain = one["properties"]["details"]["path"]
            .as_array()
            .expect("path")
            .clone();
        chain.reverse();
        chains.insert(
            name.to_ascii_lowercase(),
            (
                one["properties"]["displayName"].clone(),
                Value::Array(chain),
                one["properties"]["details"]["parent"].clone(),
            ),
        );
    }
    let root = c.tenant_id.clone();
    let scope = group.unwrap_or(&root);
    let descendants = c
        .arm_list(&format!(
            "/providers/Microsoft.Management/managementGroups/{scope}/descendants"
        ))
        .await;
    let mut rows = Vec::new();
    let subscriptions = c.arm_list("/subscriptions").await;
    for d in &descendants {
        let name = d["name"].as_str().expect("name");
        let parent = d["properties"]["parent"]["id"]
            .as_str()
            .expect("parent")
            .rsplit('/')
            .next()
            .expect("parent name");
        if d["type"] == "Microsoft.Management/managementGroups/subscriptions" {
            let sub = subscriptions
                .iter()
                .find(|s| s["subscriptionId"] == name)
                .expect("listed");
            let (parent_display, parent_chain, _) = &chains[&parent.to_ascii_lowercase()];
            let mut chain = vec![json!({"name": parent, "displayName": parent_display})];
            chain.extend(parent_chain.as_array().expect("chain").iter().cloned());
            let mut properties = Map::new();
            for key in ["state", "subscriptionPolicies"] {
                if let Some(v) = sub.get(key) {
                    properties.insert(key.into(), v.clone());
                }
            }
            properties.insert("managementGroupAncestorsChain".into(), json!(chain));
            rows.push(json!({
                "id": format!("/subscriptions/{name}"),
                "name": sub["displayName"],
                "type": "microsoft.resources/subscriptions",
                "tenantId": sub.get("tenantId").cloned().unwrap_or(json!(c.tenant_id)),
                "subscriptionId": name,
                "properties": properties,
            }));
        }
    }
    let mut group_names: Vec<String> = descendants
        .iter()
        .filter(|d| d["type"] == "Microsoft.Management/managementGroups")
        .map(|d| d["name"].as_str().expect("name").to_string())
        .collect();
    group_names.push(scope.to_string());
    for name in group_names {
        let (display, chain, parent) = &chains[&name.to_ascii_lowercase()];
        let mut details = Map::new();
        details.insert("managementGroupAncestorsChain".into(), chain.clone());
        if parent.is_object() {
            details.insert("parent".into(), parent.clone());
        }
        rows.push(json!({
            "id": format!("/providers/Microsoft.Management/managementGroups/{name}"),
            "name": name,
            "type": "microsoft.management/managementgroups",
            "tenantId": c.tenant_id,
            "subscriptionId": "",
            "properties": {"displayName": display, "tenantId": c.tenant_id, "details": details},
        }));
    }
    by_id(rows)
}

/// Query 2's rows from ARM: each type's list per subscription (zone links from each zone),
/// registries with their private endpoint connections embedded when their body has none.
async fn expected_resources(c: &Client, subscriptions: &[String]) -> Vec<Value> {
    let mut rows = Vec::new();
    for sub in subscriptions {
        for api in RESOURCE_TYPES {
            if api.ends_with("/virtualNetworkLinks") {
                continue;
            }
            for mut item in c
                .arm_list(&format!("/subscriptions/{sub}/providers/{api}"))
                .await
            {
                let id = item["id"].as_str().expect("id").to_string();
                if api.ends_with("/privateDnsZones") {
                    for link in c.arm_list(&format!("{id}/virtualNetworkLinks")).await {
                        rows.push(project(&arg_row(&link, &c.tenant_id, true), &COLUMNS));
                    }
                }
                if api.ends_with("/registries") {
                    let embedded = &item["properties"]["privateEndpointConnections"];
                    if embedded.as_array().is_none_or(Vec::is_empty) {
                        let connections = c
                            .arm_list(&format!("{id}/privateEndpointConnections"))
                            .await;
                        if !connections.is_empty() {
                            item["properties"]["privateEndpointConnections"] = json!(connections);
                        }
                    }
                }
                rows.push(project(&arg_row(&item, &c.tenant_id, true), &COLUMNS));
            }
        }
    }
    by_id(rows)
}

/// Rows of a scope-inheriting list (assignments, exemptions, role assignments) read at each
/// subscription without `$filter`: ARM's answer at, above and below the subscription, which
/// is `AtScopeAboveAndBelow`.
async fn expected_scoped(
    c: &Client,
    subscriptions: &[String],
    apis: &[&str],
    columns: &[&str],
) -> Vec<Value> {
    let mut rows = Vec::new();
    for sub in subscriptions {
        for api in apis {
            for item in c
                .arm_list(&format!("/subscriptions/{sub}/providers/{api}"))
                .await
            {
                rows.push(project(&arg_row(&item, &c.tenant_id, false), columns));
            }
        }
    }
    by_id(rows)
}

/// The records of a state as ARG holds them under `properties`: without the fixture's
/// `id`/`type` and without OData annotations.
fn state_properties(record: &Value) -> Value {
    Value::Object(
        record
            .as_object()
            .expect("record")
            .iter()
            .filter(|(k, _)| !k.starts_with("@odata.") && *k != "id" && *k != "type")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Lists inside grouped rows come in no particular order in ARG; compare them sorted.
fn sort_lists(rows: &mut [Value], key: &str) {
    for row in rows {
        if let Some(list) = row[key].as_array_mut() {
            list.sort_by_key(Value::to_string);
        }
    }
}

async fn expected_states(c: &Client, subscriptions: &[String]) -> Vec<Value> {
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for sub in subscriptions {
        for record in c.policy_states(&format!("/subscriptions/{sub}")).await {
            let resource = record["resourceId"]
                .as_str()
                .expect("resourceId")
                .to_ascii_lowercase();
            if resource.contains("/providers/microsoft.containerservice/managedclusters/") {
                grouped
                    .entry(resource)
                    .or_default()
                    .push(state_properties(&record));
            }
        }
    }
    aggregated(grouped, "states")
}

/// Rows of an aggregating query as ARG answers them: one per key, `{"id": key, list: items}`,
/// each list in a stable order, the rows by ID.
fn aggregated(grouped: BTreeMap<String, Vec<Value>>, list: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = grouped
        .into_iter()
        .map(|(id, items)| json!({"id": id, list: items}))
        .collect();
    sort_lists(&mut rows, list);
    by_id(rows)
}

/// Query 7's rows from ARM: each subscription's pricings list, one row per subscription that
/// has any.
async fn expected_pricings(c: &Client, subscriptions: &[String]) -> Vec<Value> {
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for sub in subscriptions {
        for item in c
            .arm_list(&format!(
                "/subscriptions/{sub}/providers/Microsoft.Security/pricings"
            ))
            .await
        {
            let row = arg_row(&item, &c.tenant_id, false);
            let key = row["subscriptionId"]
                .as_str()
                .expect("a subscription")
                .to_string();
            grouped
                .entry(key)
                .or_default()
                .push(project(&row, &["id", "name", "type", "properties"]));
        }
    }
    aggregated(grouped, "pricings")
}

/// Query 8's rows from ARM: each cluster's and registry's assessments, with the
/// assessment metadata ARG embeds (severity …) when the body has none.
async fn expected_assessments(c: &Client, subscriptions: &[String]) -> Vec<Value> {
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for sub in subscriptions {
        for api in [
            "Microsoft.ContainerService/managedClusters",
            "Microsoft.ContainerRegistry/registries",
        ] {
            for resource in c
                .arm_list(&format!("/subscriptions/{sub}/providers/{api}"))
                .await
            {
                let resource_id = resource["id"].as_str().expect("id");
                for assessment in c
                    .arm_list(&format!(
                        "{resource_id}/providers/Microsoft.Security/assessments"
                    ))
                    .await
                {
                    let mut properties = assessment["properties"].clone();
                    if properties["resourceDetails"]["Id"].as_str().is_none() {
                        properties["resourceDetails"]["Id"] = json!(resource_id);
                    }
                    let name = assessment["name"].as_str().expect("name");
                    let metadata = c
                        .arm(&format!(
                            "/providers/Microsoft.Security/assessmentMetadata/{name}"
                        ))
                        .await;
                    if metadata.status == 200 {
                        if properties.get("metadata").is_none_or(Value::is_null) {
                            properties["metadata"] = metadata.body["properties"].clone();
                        }
                        if properties.get("displayName").is_none_or(Value::is_null) {
                            properties["displayName"] =
                                metadata.body["properties"]["displayName"].clone();
                        }
                    }
                    let key = properties["resourceDetails"]["Id"]
                        .as_str()
                        .expect("Id")
                        .to_ascii_lowercase();
                    grouped.entry(key).or_default().push(json!({
                        "id": assessment["id"],
                        "name": assessment["name"],
                        "type": assessment["type"].as_str().expect("type").to_ascii_lowercase(),
                        "properties": properties,
                    }));
                }
            }
        }
    }
    aggregated(grouped, "assessments")
}

/// Runs the eight contract queries on the emulator's tenant and compares each with what the
/// same tenant serves over ARM. `chunk` is the subscription batch size; `group` is the
/// management group query 1 is scoped to (besides a tenant-wide run).
async fn contract(emulator: &Emulator, chunk: usize, group: &str) -> BTreeMap<&'static str, usize> {
    let c = Client::new(emulator);
    let subs = c.subscription_ids().await;
    let mut sizes = BTreeMap::new();

    // 1: the hierarchy, tenant-wide and under one group.
    let rows = c.rows(Q1_CONTAINERS, &Scope::Tenant, None).await;
    assert_rows(
        &rows,
        &expected_containers(&c, None).await,
        "query 1, tenant",
    );
    sizes.insert("1 containers", rows.len());
    let rows = c
        .rows(Q1_CONTAINERS, &Scope::Groups(vec![group.to_string()]), None)
        .await;
    assert_rows(
        &rows,
        &expected_containers(&c, Some(group)).await,
        "query 1, group",
    );

    // 2: inventory.
    let rows = c.chunked(&q2_resources(), &subs, chunk, None).await;
    let rows = by_id(rows);
    assert_rows(&rows, &expected_resources(&c, &subs).await, "query 2");
    sizes.insert("2 resources", rows.len());

    // 3: assignments and exemptions at, above and below each subscription.
    let cols = ["id", "name", "type", "subscriptionId", "properties"];
    let rows = by_id(
        c.chunked(Q3_ASSIGNMENTS, &subs, chunk, Some("AtScopeAboveAndBelow"))
            .await,
    );
    let expected = expected_scoped(
        &c,
        &subs,
        &[
            "Microsoft.Authorization/policyAssignments",
            "Microsoft.Authorization/policyExemptions",
        ],
        &cols,
    )
    .await;
    assert_rows(&rows, &expected, "query 3");
    sizes.insert("3 assignments", rows.len());

    // 4: the definitions those assignments name, by ID, tenant-wide.
    let mut ids: Vec<String> = expected
        .iter()
        .filter_map(|a| a["properties"]["policyDefinitionId"].as_str())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    assert!(!ids.is_empty());
    let rows = c.rows(&q4_definitions(&ids), &Scope::Tenant, None).await;
    let mut definitions = Vec::new();
    for id in &ids {
        let got = c.arm(id).await;
        if got.status == 200 {
            definitions.push(project(
                &arg_row(&got.body, &c.tenant_id, false),
                &["id", "name", "type", "properties"],
            ));
        }
    }
    assert!(!definitions.is_empty());
    assert_rows(&rows, &by_id(definitions), "query 4");
    sizes.insert("4 definitions", rows.len());

    // 5: cluster policy states, grouped per cluster.
    let mut rows = by_id(c.chunked(Q5_STATES, &subs, chunk, None).await);
    sort_lists(&mut rows, "states");
    assert_rows(&rows, &expected_states(&c, &subs).await, "query 5");
    sizes.insert("5 clusters with states", rows.len());

    // 6: role assignments at, above and below each subscription.
    let rows = by_id(
        c.chunked(Q6_ROLES, &subs, chunk, Some("AtScopeAboveAndBelow"))
            .await,
    );
    let expected = expected_scoped(
        &c,
        &subs,
        &["Microsoft.Authorization/roleAssignments"],
        &["id", "name", "type", "properties"],
    )
    .await;
    assert_rows(&rows, &expected, "query 6");
    sizes.insert("6 role assignments", rows.len());

    // 7: subscription Defender pricings, grouped per subscription.
    let mut rows = by_id(c.chunked(Q7_PRICINGS, &subs, chunk, None).await);
    sort_lists(&mut rows, "pricings");
    assert_rows(&rows, &expected_pricings(&c, &subs).await, "query 7");
    sizes.insert("7 subscriptions with pricings", rows.len());

    // 8: assessments of clusters and registries, with severity.
    let mut rows = by_id(c.chunked(Q8_ASSESSMENTS, &subs, chunk, None).await);
    sort_lists(&mut rows, "assessments");
    assert_rows(&rows, &expected_assessments(&c, &subs).await, "query 8");
    sizes.insert("8 assessed resources", rows.len());
    sizes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_queries_answer_what_arm_serves_on_the_small_fixture() {
    let emulator = Emulator::start(small(), unthrottled())
        .await
        .expect("starts");
    let sizes = contract(&emulator, 300, "landingzones").await;
    eprintln!("small fixture: {sizes:?}");
    for (query, rows) in &sizes {
        assert!(*rows > 0, "{query} answered nothing: {sizes:?}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_queries_answer_what_arm_serves_on_the_contoso_example() {
    let emulator = Emulator::start(contoso(), unthrottled())
        .await
        .expect("starts");
    let sizes = contract(&emulator, 2, "contoso-landingzones").await;
    eprintln!("contoso: {sizes:?}");
    for (query, rows) in &sizes {
        assert!(*rows > 0, "{query} answered nothing: {sizes:?}");
    }
    // The example's registries keep their connections in their bodies, and its assessment
    // metadata covers every assessment: ARG rows carry severity.
    let c = Client::new(&emulator);
    let rows = c.rows(Q8_ASSESSMENTS, &Scope::Tenant, None).await;
    for row in &rows {
        for a in row["assessments"].as_array().expect("list") {
            assert!(a["properties"]["metadata"]["severity"].is_string(), "{a}");
        }
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_queries_answer_what_arm_serves_on_a_generated_tenant_across_pages() {
    let emulator = Emulator::start(generated(70), unthrottled())
        .await
        .expect("starts");
    let sizes = contract(&emulator, 30, "alz-corp").await;
    eprintln!("generated: {sizes:?}");
    for (query, rows) in &sizes {
        assert!(*rows > 0, "{query} answered nothing: {sizes:?}");
    }
    assert!(
        sizes["2 resources"] > 1000,
        "the inventory must span pages: {sizes:?}"
    );

    // The whole inventory in one scope: full pages of 1,000 joined by `$skipToken` give the
    // same rows as the chunks did.
    let c = Client::new(&emulator);
    let subs = c.subscription_ids().await;
    let all = c
        .rows(&q2_resources(), &Scope::Subscriptions(subs.clone()), None)
        .await;
    assert_eq!(all.len(), sizes["2 resources"]);
    assert_ordered(&all, "one scope");
    let tenant_wide = c.rows(&q2_resources(), &Scope::Tenant, None).await;
    assert_eq!(tenant_wide, all);

    // Small pages: `$top` rows at a time, `$skipToken` to the next, nothing twice or lost.
    let mut body = Client::body(
        &q2_resources(),
        &Scope::Subscriptions(subs[..5].to_vec()),
        None,
    );
    body["options"]["$top"] = json!(7);
    let mut paged = Vec::new();
    loop {
        let got = c.graph(&body).await;
        assert_eq!(got.status, 200, "{}", got.body);
        paged.extend(got.body["data"].as_array().expect("data").iter().cloned());
        match got.body["$skipToken"].as_str() {
            Some(token) => body["options"]["$skipToken"] = json!(token),
            None => break,
        }
    }
    let whole = c
        .rows(
            &q2_resources(),
            &Scope::Subscriptions(subs[..5].to_vec()),
            None,
        )
        .await;
    assert!(whole.len() > 7);
    assert_eq!(paged, whole);
    emulator.shutdown().await;
}

fn names(rows: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn scopes_and_authorization_scope_filters_choose_the_levels() {
    let emulator = Emulator::start(small(), unthrottled())
        .await
        .expect("starts");
    let c = Client::new(&emulator);
    let assignments = "policyresources | where type =~ 'microsoft.authorization/policyassignments' | project id, name | order by id asc";
    let corp = Scope::Subscriptions(vec![CORP.into()]);
    let levels = [
        ("AtScopeAndBelow", vec!["rg-aks-tags", "sub-naming"]),
        ("AtScopeExact", vec!["sub-naming"]),
        (
            "AtScopeAndAbove",
            vec![
                "alz-aks-defender",
                "corp-deny-public",
                "root-asc",
                "sub-naming",
            ],
        ),
        (
            "AtScopeAboveAndBelow",
            vec![
                "alz-aks-defender",
                "corp-deny-public",
                "rg-aks-tags",
                "root-asc",
                "sub-naming",
            ],
        ),
    ];
    for (filter, expected) in &levels {
        let rows = c.rows(assignments, &corp, Some(filter)).await;
        assert_eq!(names(&rows), *expected, "{filter} at the corp subscription");
    }
    // The default is AtScopeAndBelow.
    assert_eq!(
        names(&c.rows(assignments, &corp, None).await),
        ["rg-aks-tags", "sub-naming"]
    );
    // At a management group: the group, its descendants and their subscriptions (below);
    // the group's ancestors (above).
    let landing = Scope::Groups(vec!["landingzones".into()]);
    let below = names(&c.rows(assignments, &landing, None).await);
    assert_eq!(
        below,
        [
            "corp-deny-public",
            "online-audit",
            "rg-aks-tags",
            "sub-naming"
        ]
    );
    let above = names(&c.rows(assignments, &landing, Some("AtScopeAndAbove")).await);
    assert_eq!(above, ["alz-aks-defender", "root-asc"]);
    let exact = names(&c.rows(assignments, &landing, Some("AtScopeExact")).await);
    assert!(exact.is_empty(), "{exact:?}");
    // Tenant-wide: everything.
    assert_eq!(c.rows(assignments, &Scope::Tenant, None).await.len(), 6);

    // Role assignments: the root-scope one (`/`) counts as above every subscription.
    let roles = "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, name, properties | order by id asc";
    let scopes = |rows: Vec<Value>| -> Vec<String> {
        let mut s: Vec<String> = rows
            .iter()
            .map(|r| r["properties"]["scope"].as_str().unwrap_or("").to_string())
            .collect();
        s.sort();
        s
    };
    let online = Scope::Subscriptions(vec![ONLINE.into()]);
    assert_eq!(
        scopes(c.rows(roles, &online, Some("AtScopeAndAbove")).await),
        [
            "/",
            "/providers/Microsoft.Management/managementGroups/alz",
            &format!("/subscriptions/{ONLINE}")
        ]
    );
    assert_eq!(
        scopes(c.rows(roles, &online, None).await),
        [format!("/subscriptions/{ONLINE}")]
    );

    // Subscription scope: only the named subscriptions' rows; group scope: the
    // subscriptions below the groups; unknown subscriptions are ignored like unreadable ones.
    let inventory = "resources | project id, subscriptionId | order by id asc";
    let subs_of = |rows: Vec<Value>| -> BTreeSet<String> {
        rows.iter()
            .map(|r| r["subscriptionId"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        subs_of(
            c.rows(
                inventory,
                &Scope::Subscriptions(vec![ONLINE.to_uppercase(), "nope".into()]),
                None
            )
            .await
        ),
        BTreeSet::from([ONLINE.to_string()])
    );
    assert_eq!(
        subs_of(c.rows(inventory, &landing, None).await),
        BTreeSet::from([CORP.to_string(), ONLINE.to_string()])
    );
    // Tenant-wide: every subscription (the platform one holds no inventory).
    assert_eq!(
        subs_of(c.rows(inventory, &Scope::Tenant, None).await),
        BTreeSet::from([CORP.to_string(), ONLINE.to_string()])
    );
    let containers = c.rows(Q1_CONTAINERS, &Scope::Tenant, None).await;
    assert_eq!(
        subs_of(containers).len(),
        4,
        "three subscriptions, and the groups' empty subscriptionId"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn unreadable_subscriptions_are_left_out_and_nothing_readable_is_403() {
    let deny = |scope: &str| Deny {
        scope: scope.into(),
        api: GRAPH_API.into(),
    };
    let emulator = Emulator::start(
        small(),
        Options {
            deny: vec![deny(&format!("/subscriptions/{CORP}"))],
            ..unthrottled()
        },
    )
    .await
    .expect("starts");
    let c = Client::new(&emulator);
    let inventory = "resources | project id, subscriptionId | order by id asc";

    // Partial: 200, no sign that the corp subscription is missing.
    let both = Scope::Subscriptions(vec![CORP.into(), ONLINE.into()]);
    let rows = c.rows(inventory, &both, None).await;
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["subscriptionId"] == ONLINE),
        "{rows:?}"
    );
    let containers = c.rows(Q1_CONTAINERS, &Scope::Tenant, None).await;
    let ids: Vec<&str> = containers
        .iter()
        .filter_map(|r| r["subscriptionId"].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(ids.len(), 2, "the corp subscription is absent: {ids:?}");
    assert!(!ids.contains(&CORP));
    // Assignments at the corp subscription's groups still come from the readable one.
    let above = c
        .rows(Q3_ASSIGNMENTS, &both, Some("AtScopeAboveAndBelow"))
        .await;
    assert!(names(&above).contains(&"online-audit".to_string()));
    assert!(!names(&above).contains(&"sub-naming".to_string()));

    // Nothing readable: 403.
    let only_corp = c
        .graph(&Client::body(
            inventory,
            &Scope::Subscriptions(vec![CORP.into()]),
            None,
        ))
        .await;
    assert_eq!(only_corp.status, 403, "{}", only_corp.body);
    assert_eq!(only_corp.body["error"]["code"], "AuthorizationFailed");
    let unknown = c
        .graph(&Client::body(
            inventory,
            &Scope::Subscriptions(vec!["00000000-0000-0000-0000-000000000000".into()]),
            None,
        ))
        .await;
    assert_eq!(unknown.status, 403);

    // A denial at a group covers its subscriptions; at the root, everything.
    emulator.set_options(Options {
        deny: vec![deny(
            "/providers/Microsoft.Management/managementGroups/landingzones",
        )],
        ..unthrottled()
    });
    let rows = c.rows(inventory, &Scope::Tenant, None).await;
    assert!(rows.is_empty(), "{rows:?}");
    let containers = c.rows(Q1_CONTAINERS, &Scope::Tenant, None).await;
    assert_eq!(
        names(&containers),
        [SMALL_TENANT, "alz", "platform", "platform-connectivity"],
        "the group, the groups and the subscriptions below it are left out"
    );
    let group = c
        .graph(&Client::body(
            inventory,
            &Scope::Groups(vec!["corp".into()]),
            None,
        ))
        .await;
    assert_eq!(group.status, 403);
    emulator.set_options(Options {
        deny: vec![deny("/")],
        ..unthrottled()
    });
    let all = c
        .graph(&Client::body(inventory, &Scope::Tenant, None))
        .await;
    assert_eq!(all.status, 403);
    assert_eq!(all.body["error"]["code"], "AuthorizationFailed");
    // A denial of another API does not touch Resource Graph.
    emulator.set_options(Options {
        deny: vec![Deny {
            scope: format!("/subscriptions/{CORP}"),
            api: "Microsoft.ContainerService/managedClusters".into(),
        }],
        ..unthrottled()
    });
    let rows = c.rows(inventory, &both, None).await;
    assert!(rows.iter().any(|r| r["subscriptionId"] == CORP));
    emulator.shutdown().await;

    // A fixture's own `deny` works the same way, whatever the options.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tenant.json");
    let mut fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    fixture["deny"] = json!([{"scope": format!("/subscriptions/{ONLINE}"), "api": GRAPH_API}]);
    let emulator = Emulator::start(Tenant::from_value(fixture).expect("loads"), unthrottled())
        .await
        .expect("starts");
    let c = Client::new(&emulator);
    let rows = c.rows(inventory, &both, None).await;
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["subscriptionId"] == CORP), "{rows:?}");
    let online = c
        .graph(&Client::body(
            inventory,
            &Scope::Subscriptions(vec![ONLINE.into()]),
            None,
        ))
        .await;
    assert_eq!(online.status, 403);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_user_quota_counts_every_page_and_answers_429_with_its_headers() {
    let emulator = Emulator::start(
        small(),
        Options {
            graph_quota: Some(GraphQuota {
                queries: 3,
                window: Duration::from_secs(2),
            }),
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let c = Client::new(&emulator);
    // Two pages of one query, then a second query: three units.
    let mut body = Client::body(&q2_resources(), &Scope::Tenant, None);
    body["options"]["$top"] = json!(6);
    let first = c.graph(&body).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-ms-user-quota-remaining"), Some("2"));
    assert_eq!(
        first.header("x-ms-user-quota-resets-after"),
        Some("00:00:02")
    );
    body["options"]["$skipToken"] = first.body["$skipToken"].clone();
    let second = c.graph(&body).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-ms-user-quota-remaining"), Some("1"));
    let third = c
        .graph(&Client::body("resources | limit 1", &Scope::Tenant, None))
        .await;
    assert_eq!(third.header("x-ms-user-quota-remaining"), Some("0"));
    let resets = third
        .header("x-ms-user-quota-resets-after")
        .expect("resets-after")
        .to_string();
    assert!(resets == "00:00:01" || resets == "00:00:02", "{resets}");

    let refused = c
        .graph(&Client::body("resources | limit 1", &Scope::Tenant, None))
        .await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "RateLimiting");
    assert_eq!(refused.header("x-ms-user-quota-remaining"), Some("0"));
    let retry: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(refused.header("x-ms-user-quota-resets-after").is_some());

    // ARM reads are not counted against it.
    let arm = c.arm("/subscriptions").await;
    assert_eq!(arm.status, 200);
    assert!(arm.header("x-ms-user-quota-remaining").is_none());

    // After the window, a fresh one.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = c
        .graph(&Client::body("resources | limit 1", &Scope::Tenant, None))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-ms-user-quota-remaining"), Some("2"));

    // The default is ARG's 15 per 5 seconds.
    emulator.set_options(Options::default());
    let default = c
        .graph(&Client::body("resources | limit 1", &Scope::Tenant, None))
        .await;
    assert_eq!(default.header("x-ms-user-quota-remaining"), Some("14"));
    assert_eq!(
        default.header("x-ms-user-quota-resets-after"),
        Some("00:00:05")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn queries_outside_the_subset_and_bad_requests_fail_loudly() {
    let emulator = Emulator::start(small(), unthrottled())
        .await
        .expect("starts");
    let c = Client::new(&emulator);
    for (query, construct) in [
        (
            "resources | join kind=leftouter (resourcecontainers) on subscriptionId",
            "'join'",
        ),
        ("resources | mv-expand properties.subnets", "'mv-expand'"),
        ("resources | where name matches regex 'a.*'", "'matches'"),
        ("resources | extend n = strlen(name)", "'strlen'"),
        ("resources | summarize dcount(location)", "'dcount'"),
        ("Resources | where Type =~ 'x'", "'Type'"),
        ("resources | where name == 'unterminated", "unterminated"),
        ("computeresources | project id", "'computeresources'"),
    ] {
        let got = c.graph(&Client::body(query, &Scope::Tenant, None)).await;
        assert_eq!(got.status, 400, "{query}: {}", got.body);
        assert_eq!(got.body["error"]["code"], "BadRequest");
        assert_eq!(got.detail(), "InvalidQuery", "{query}");
        let message = got.body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(construct), "{query}: {message}");
        assert!(
            got.body["error"]["details"][1]["message"]
                .as_str()
                .is_some_and(|m| m.contains(construct)),
            "{query}: {}",
            got.body
        );
    }

    let post = |body: &'static str, content_type: &'static str| {
        c.http
            .post(format!(
                "{}/providers/Microsoft.ResourceGraph/resources?{GRAPH_VERSION}",
                c.base
            ))
            .header("Content-Type", content_type)
            .body(body)
    };
    let text = c
        .send(post(r#"{"query": "resources"}"#, "text/plain"))
        .await;
    assert_eq!(
        text.status, 500,
        "ARG answers a non-JSON content type with 500"
    );
    assert!(
        text.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("application/json"))
    );
    let charset = c
        .send(post(
            r#"{"query": "resources | limit 1"}"#,
            "application/json; charset=utf-8",
        ))
        .await;
    assert_eq!(charset.status, 200);
    let broken = c.send(post("{", "application/json")).await;
    assert_eq!(
        (broken.status, broken.detail()),
        (400, "InvalidRequestContent")
    );
    let table = c
        .graph(&json!({"query": "resources", "options": {"resultFormat": "table"}}))
        .await;
    assert_eq!(
        (table.status, table.detail()),
        (400, "UnsupportedResultFormat")
    );
    let too_many: Vec<String> = (0..1001)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .collect();
    let many = c
        .graph(&json!({"query": "resources", "subscriptions": too_many}))
        .await;
    assert_eq!((many.status, many.detail()), (400, "TooManySubscriptions"));
    let top = c
        .graph(&json!({"query": "resources", "options": {"$top": 5000}}))
        .await;
    assert_eq!((top.status, top.detail()), (400, "InvalidRequestContent"));
    let get = c
        .send(c.http.get(format!(
            "{}/providers/Microsoft.ResourceGraph/resources?{GRAPH_VERSION}",
            c.base
        )))
        .await;
    assert_eq!(get.status, 405);
    let unsigned = reqwest::Client::new()
        .post(format!(
            "{}/providers/Microsoft.ResourceGraph/resources?{GRAPH_VERSION}",
            c.base
        ))
        .header("Content-Type", "application/json")
        .body(json!({"query": "resources"}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(unsigned.status().as_u16(), 401);
    let versionless = c
        .send(
            c.http
                .post(format!(
                    "{}/providers/Microsoft.ResourceGraph/resources",
                    c.base
                ))
                .header("Content-Type", "application/json")
                .body(json!({"query": "resources"}).to_string()),
        )
        .await;
    assert_eq!(versionless.status, 400);

    // A query without `id`, or with `limit`, is not paged: truncated instead.
    let mut body = Client::body(
        "resources | project name, type | order by name asc",
        &Scope::Tenant,
        None,
    );
    body["options"]["$top"] = json!(3);
    let truncated = c.graph(&body).await;
    assert_eq!(truncated.status, 200);
    assert_eq!(truncated.body["resultTruncated"], "true");
    assert_eq!(truncated.body["count"], 3);
    assert!(truncated.body["totalRecords"].as_u64().unwrap_or(0) > 3);
    assert!(truncated.body.get("$skipToken").is_none());
    // A token sent with another query is refused, not followed.
    let mut paged = Client::body("resources | project id", &Scope::Tenant, None);
    paged["options"]["$top"] = json!(3);
    let token = c.graph(&paged).await.body["$skipToken"].clone();
    assert!(token.is_string());
    let mut other = Client::body("resources | project id, name", &Scope::Tenant, None);
    other["options"]["$skipToken"] = token;
    let refused = c.graph(&other).await;
    assert_eq!(
        (refused.status, refused.detail()),
        (400, "InvalidSkipToken")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn queries_are_faulted_and_logged_like_arm_reads() {
    let emulator = Emulator::start(
        small(),
        Options {
            throttle: vec![Throttle {
                api: GRAPH_API.into(),
                times: 1,
                retry_after_secs: 3,
            }],
            ..unthrottled()
        },
    )
    .await
    .expect("starts");
    let c = Client::new(&emulator);
    let body = Client::body("resources | limit 1", &Scope::Tenant, None);
    let throttled = c.graph(&body).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("3"));
    let served = c.graph(&body).await;
    assert_eq!(served.status, 200);
    assert!(
        served
            .header("x-ms-ratelimit-remaining-subscription-reads")
            .or(served.header("x-ms-ratelimit-remaining-tenant-reads"))
            .is_some()
    );
    let log = emulator.requests();
    let graph: Vec<_> = log
        .iter()
        .filter(|r| r.api.as_deref() == Some(GRAPH_API))
        .collect();
    assert_eq!(graph.len(), 2);
    assert_eq!(graph[0].method, "POST");
    assert_eq!((graph[0].status, graph[1].status), (429, 200));
    assert_eq!(graph[1].client.as_deref(), Some("static-token-user"));

    // Seeded chaos: keyed by the body too, so each page of a query draws on its own.
    let chaos = |kind: ChaosKind| Options {
        chaos: Some(Chaos {
            seed: 5,
            rate: 1.0,
            persistent: 1.0,
            kinds: vec![kind],
            apis: vec![GRAPH_API.into()],
        }),
        ..unthrottled()
    };
    let query = Client::body(
        "resources | project id | order by id asc",
        &Scope::Tenant,
        None,
    );
    emulator.set_options(chaos(ChaosKind::TruncatedJson));
    let cut = c
        .send(
            c.http
                .post(format!(
                    "{}/providers/Microsoft.ResourceGraph/resources?{GRAPH_VERSION}",
                    c.base
                ))
                .header("Content-Type", "application/json")
                .body(query.to_string()),
        )
        .await;
    assert_eq!((cut.status, &cut.body), (200, &Value::Null), "not JSON");
    emulator.set_options(chaos(ChaosKind::DuplicateItems));
    let duplicated = c.graph(&query).await;
    let rows = duplicated.body["data"].as_array().expect("data");
    assert_eq!(rows.first(), rows.last());
    assert!(rows.len() > 1);
    emulator.set_options(chaos(ChaosKind::NextLinkLoop));
    let mut looping = query.clone();
    looping["options"]["$top"] = json!(3);
    let first = c.graph(&looping).await;
    looping["options"]["$skipToken"] = first.body["$skipToken"].clone();
    let second = c.graph(&looping).await;
    assert_eq!(second.body["$skipToken"], looping["options"]["$skipToken"]);
    assert_eq!(second.body["data"], first.body["data"]);
    assert_eq!(emulator.chaos_injected().get("next-link-loop"), Some(&2));
    emulator.shutdown().await;
}
