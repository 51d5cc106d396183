//! Generated tenants served over real sockets: every generated object comes back by its ID
//! with the `id` and `type` its API promises, every list lzaudit reads is an ARM envelope of
//! such objects scoped where it was asked, and the links between objects hold (pools ↔ node
//! scale sets, registries ↔ private endpoints ↔ DNS zone groups, assignments ↔ their scopes).

use std::collections::BTreeSet;

use lzaudit_emulator::{Emulator, Options, Spec, Tenant, generate};
use serde_json::Value;

const V: &str = "api-version=2025-01-01";

fn spec() -> Spec {
    Spec {
        seed: 42,
        subscriptions: 6,
        ..Spec::default()
    }
}

fn of_type<'a>(resources: &'a [Value], type_name: &str) -> Vec<&'a Value> {
    resources
        .iter()
        .filter(|r| {
            r["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(type_name))
        })
        .collect()
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap_or("")
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str) -> Value {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{separator}{V}", self.base);
        let response = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let bytes = response.bytes().await.expect("body read");
        let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
        assert!(status.is_success(), "{url}: {status} {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path).await
    }

    /// A list's items, after checking the envelope and that each item has an ID within `scope`
    /// and a type.
    async fn list(&self, path: &str, scope: &str) -> Vec<Value> {
        let body = self.get(path).await;
        let items = body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no value array: {body}"))
            .clone();
        assert!(body.get("nextLink").is_none_or(Value::is_null), "{path}");
        for item in &items {
            let item_id = id(item).to_ascii_lowercase();
            assert!(
                item_id.starts_with(&scope.to_ascii_lowercase()),
                "{path}: {item_id} is not within {scope}"
            );
            // Subscriptions are the one list whose items carry no `type` (GetSubscriptions.json).
            assert!(
                path == "/subscriptions" || item["type"].as_str().is_some_and(|t| !t.is_empty()),
                "{path}: {item}"
            );
        }
        items
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_object_is_served_in_its_apis_shape() {
    let fixture = generate::fixture(&spec()).expect("generates");
    let tenant = Tenant::from_value(fixture.clone()).expect("loads");
    let token = tenant.static_tokens()[0].clone();
    let emulator = Emulator::start(tenant, Options::default())
        .await
        .expect("starts");
    let client = Client {
        http: reqwest::Client::new(),
        base: emulator.http_url(),
        token,
    };
    let resources = fixture["resources"].as_array().expect("resources").clone();

    // Every object by its ID, verbatim.
    for object in &resources {
        let path = id(object);
        assert!(!path.is_empty(), "{object}");
        assert_eq!(&client.get(path).await, object, "{path}");
    }

    // Every subscription, and the lists lzaudit reads in each.
    let subscriptions: Vec<&Value> = fixture["subscriptions"]
        .as_array()
        .expect("subscriptions")
        .iter()
        .map(|s| &s["subscription"])
        .collect();
    let listed = client.list("/subscriptions", "/subscriptions/").await;
    assert_eq!(listed.len(), subscriptions.len());
    for sub in &subscriptions {
        let sub_id = id(sub);
        assert_eq!(&&client.get(sub_id).await, sub);
        for api in [
            "Microsoft.ContainerService/managedClusters",
            "Microsoft.ContainerRegistry/registries",
            "Microsoft.Compute/virtualMachines",
            "Microsoft.Compute/virtualMachineScaleSets",
            "Microsoft.Network/privateEndpoints",
            "Microsoft.Network/privateDnsZones",
            "Microsoft.Network/virtualNetworks",
            "Microsoft.Network/routeTables",
            "Microsoft.Network/networkSecurityGroups",
            "Microsoft.Security/pricings",
        ] {
            let items = client
                .list(&format!("{sub_id}/providers/{api}"), sub_id)
                .await;
            let stored = of_type(&resources, api)
                .into_iter()
                .filter(|r| {
                    let home = id(r).to_ascii_lowercase();
                    home.starts_with(&format!("{}/", sub_id.to_ascii_lowercase()))
                        && home.matches("/providers/").count() == 1
                })
                .count();
            assert_eq!(items.len(), stored, "{sub_id} {api}");
        }
        client
            .list(
                &format!(
                    "{sub_id}/providers/Microsoft.Authorization/policyAssignments?$filter=atScope()"
                ),
                "/",
            )
            .await;
    }

    // Clusters: node pools match AKS-tagged scale sets in the node resource group; extension
    // lists and policy states are envelopes about the cluster.
    let scale_sets = of_type(&resources, "Microsoft.Compute/virtualMachineScaleSets");
    let clusters = of_type(&resources, "Microsoft.ContainerService/managedClusters");
    assert!(clusters.len() >= 6, "{}", clusters.len());
    for cluster in &clusters {
        let cluster_id = id(cluster);
        let node_rg = cluster["properties"]["nodeResourceGroup"]
            .as_str()
            .expect("a node resource group")
            .to_ascii_lowercase();
        let pools: BTreeSet<&str> = cluster["properties"]["agentPoolProfiles"]
            .as_array()
            .expect("pools")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let tagged: BTreeSet<&str> = scale_sets
            .iter()
            .filter(|s| {
                id(s)
                    .to_ascii_lowercase()
                    .contains(&format!("/resourcegroups/{node_rg}/"))
            })
            .filter_map(|s| s["tags"]["aks-managed-poolName"].as_str())
            .collect();
        assert_eq!(pools, tagged, "{cluster_id}");
        for extension in [
            "providers/Microsoft.Insights/diagnosticSettings",
            "providers/Microsoft.Security/assessments",
            "providers/Microsoft.Authorization/roleAssignments?$filter=atScope()",
        ] {
            client.list(&format!("{cluster_id}/{extension}"), "/").await;
        }
        let sub_id: String = cluster_id.split('/').take(3).collect::<Vec<_>>().join("/");
        let states = client
            .call(
                reqwest::Method::POST,
                &format!(
                    "{sub_id}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?$filter=resourceId eq '{cluster_id}'"
                ),
            )
            .await;
        for row in states["value"].as_array().expect("records") {
            assert!(
                row["resourceId"]
                    .as_str()
                    .is_some_and(|r| r.eq_ignore_ascii_case(cluster_id))
            );
            assert!(row["complianceState"].is_string());
        }
    }

    // Registries: each embedded connection is also served in the child list, and names a
    // stored private endpoint that links back to the registry.
    for registry in of_type(&resources, "Microsoft.ContainerRegistry/registries") {
        let registry_id = id(registry);
        let connections = client
            .list(
                &format!("{registry_id}/privateEndpointConnections"),
                registry_id,
            )
            .await;
        assert_eq!(
            &Value::Array(connections.clone()),
            &registry["properties"]["privateEndpointConnections"],
            "{registry_id}"
        );
        for connection in &connections {
            let endpoint_id = connection["properties"]["privateEndpoint"]["id"]
                .as_str()
                .expect("an endpoint");
            let endpoint = client.get(endpoint_id).await;
            let target = endpoint["properties"]["privateLinkServiceConnections"][0]["properties"]
                ["privateLinkServiceId"]
                .as_str()
                .expect("a target");
            assert!(target.eq_ignore_ascii_case(registry_id));
            for group in client
                .list(&format!("{endpoint_id}/privateDnsZoneGroups"), endpoint_id)
                .await
            {
                let zone = group["properties"]["privateDnsZoneConfigs"][0]["properties"]
                    ["privateDnsZoneId"]
                    .as_str()
                    .expect("a zone");
                client.get(zone).await;
            }
        }
        client
            .list(&format!("{registry_id}/tokens"), registry_id)
            .await;
    }

    // Assignments and role assignments are named under the scope they apply at.
    for kind in [
        "Microsoft.Authorization/policyAssignments",
        "Microsoft.Authorization/roleAssignments",
    ] {
        for assignment in of_type(&resources, kind) {
            let scope = assignment["properties"]["scope"].as_str().expect("a scope");
            assert!(
                id(assignment)
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}/providers/", scope.to_ascii_lowercase())),
                "{}",
                id(assignment)
            );
        }
    }
}

#[test]
fn the_cli_writes_the_fixture_it_would_serve() {
    let dir = std::env::temp_dir().join(format!("lzaudit-generate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("tenant.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lzaudit-emulator"))
        .args(["--generate", "6", "--seed", "42", "--write-tenant"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("JSON");
    assert_eq!(written, generate::fixture(&spec()).expect("generates"));
    Tenant::load(&path).expect("the written fixture loads");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_lzaudit-emulator"))
        .args(["--generate", "6", "--clusters=-1", "--write-tenant"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("clusters per subscription must be"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
