//! Measurement: the emulator at issue 8's scale. Builds a generated tenant (default 1,000
//! landing-zone subscriptions), serves it on loopback, and times sequential requests over one
//! keep-alive connection for the routes lzaudit's fan-out hits hardest: a resource-type list
//! per subscription, a child (extension) collection per cluster, role assignments `atScope()`
//! at a registry, and a policy-state query per cluster.
//!
//! Then Resource Graph: the time to build its tables, and per page the time of each of the
//! eight queries lzaudit sends (subscription chunks of 300, every page followed by
//! `$skipToken`, each query run three times; from sending to the last byte received), with
//! the quota off so that only the serving is timed.
//!
//! Run with `cargo bench -p lzaudit-emulator --bench scale -- [SUBSCRIPTIONS] [REQUESTS]`
//! (defaults 1000 and 400 requests per route). Prints the build time and, per route, the
//! median and 95th percentile time per request and the mean answer size.

use std::time::{Duration, Instant};

use lzaudit_emulator::{Emulator, Options, Spec, Tenant, generate};
use serde_json::{Value, json};

const V: &str = "api-version=2025-01-01";

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let subscriptions = numbers.first().copied().unwrap_or(1000);
    let requests = numbers.get(1).copied().unwrap_or(400);
    let spec = Spec {
        subscriptions,
        ..Spec::default()
    };

    let mut builds = Vec::new();
    let mut tenant = None;
    let mut fixture = Value::Null;
    for _ in 0..3 {
        let started = Instant::now();
        let generated = generate::fixture(&spec).expect("generates");
        let generate_time = started.elapsed();
        fixture = generated.clone();
        let started = Instant::now();
        let loaded = Tenant::from_value(generated).expect("loads");
        builds.push((generate_time + started.elapsed(), generate_time));
        tenant = Some(loaded);
    }
    builds.sort();
    let (total, generate_time) = builds[builds.len() / 2];
    let resources = fixture["resources"].as_array().cloned().unwrap_or_default();
    println!(
        "tenant of {subscriptions} landing-zone subscriptions: {} stored objects; median of 3: generate {:.0} ms, load and index {:.0} ms, total {:.0} ms",
        resources.len(),
        ms(generate_time),
        ms(total - generate_time),
        ms(total)
    );

    let ids = |type_name: &str| -> Vec<String> {
        resources
            .iter()
            .filter(|r| {
                r["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(type_name))
            })
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    };
    let subs: Vec<String> = fixture["subscriptions"]
        .as_array()
        .expect("subscriptions")
        .iter()
        .filter_map(|s| s["subscription"]["id"].as_str().map(str::to_string))
        .collect();
    let clusters = ids("Microsoft.ContainerService/managedClusters");
    let registries = ids("Microsoft.ContainerRegistry/registries");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tenant = tenant.expect("built");
    let token = tenant.static_tokens()[0].clone();
    let started = Instant::now();
    let rows = tenant.resource_graph_rows();
    println!(
        "Resource Graph tables built in {:.0} ms: {}",
        ms(started.elapsed()),
        rows.iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let emulator = runtime
        .block_on(Emulator::start(
            tenant,
            Options {
                graph_quota: None,
                ..Options::default()
            },
        ))
        .expect("emulator");
    let base = emulator.http_url();
    let client = reqwest::Client::new();

    let routes: Vec<(&str, reqwest::Method, Vec<String>)> = vec![
        (
            "type list (clusters of a subscription)",
            reqwest::Method::GET,
            subs.iter()
                .map(|s| format!("{base}{s}/providers/Microsoft.ContainerService/managedClusters?{V}"))
                .collect(),
        ),
        (
            "children (diagnostic settings of a cluster)",
            reqwest::Method::GET,
            clusters
                .iter()
                .map(|c| format!("{base}{c}/providers/Microsoft.Insights/diagnosticSettings?{V}"))
                .collect(),
        ),
        (
            "role assignments atScope() at a registry",
            reqwest::Method::GET,
            registries
                .iter()
                .map(|r| {
                    format!(
                        "{base}{r}/providers/Microsoft.Authorization/roleAssignments?{V}&$filter=atScope()"
                    )
                })
                .collect(),
        ),
        (
            "policy states of a cluster (POST at its subscription)",
            reqwest::Method::POST,
            clusters
                .iter()
                .map(|c| {
                    let sub: String = c.split('/').take(3).collect::<Vec<_>>().join("/");
                    format!(
                        "{base}{sub}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?{V}&$filter=resourceId eq '{c}'"
                    )
                })
                .collect(),
        ),
    ];
    for (label, method, urls) in routes {
        let mut times = Vec::with_capacity(requests);
        let mut items = 0usize;
        runtime.block_on(async {
            // Warm the connection and the caches.
            for url in urls.iter().take(10) {
                let _ = send(&client, &method, url, &token).await;
            }
            for n in 0..requests {
                let url = &urls[(n * 7919) % urls.len()];
                let started = Instant::now();
                let body = send(&client, &method, url, &token).await;
                times.push(started.elapsed());
                items += body["value"].as_array().map_or(0, Vec::len);
            }
        });
        times.sort();
        println!(
            "  {label:<55} median {:>8.3} ms  p95 {:>8.3} ms  ({:.1} items per answer)",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            items as f64 / requests as f64
        );
    }

    let guids: Vec<String> = subs
        .iter()
        .map(|s| s.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    let mut definitions: Vec<String> = resources
        .iter()
        .filter_map(|r| r["properties"]["policyDefinitionId"].as_str())
        .map(str::to_string)
        .collect();
    definitions.sort();
    definitions.dedup();
    println!("Resource Graph, per page (chunks of 300 subscriptions, 3 runs):");
    for (label, query, chunked, filter) in graph_queries(&definitions) {
        let scopes: Vec<Value> = if chunked {
            guids.chunks(300).map(|c| json!(c)).collect()
        } else {
            vec![Value::Null]
        };
        let mut times = Vec::new();
        let mut rows = 0usize;
        let mut bytes = 0usize;
        runtime.block_on(async {
            for run in 0..3 {
                for scope in &scopes {
                    let mut body =
                        json!({"query": query, "options": {"resultFormat": "objectArray"}});
                    if !scope.is_null() {
                        body["subscriptions"] = scope.clone();
                    }
                    if let Some(filter) = filter {
                        body["options"]["authorizationScopeFilter"] = json!(filter);
                    }
                    loop {
                        let (page, size, elapsed) = graph(&client, &base, &token, &body).await;
                        times.push(elapsed);
                        if run == 0 {
                            rows += page["count"].as_u64().unwrap_or(0) as usize;
                            bytes += size;
                        }
                        match page["$skipToken"].as_str() {
                            Some(t) => body["options"]["$skipToken"] = json!(t),
                            None => break,
                        }
                    }
                }
            }
        });
        let pages = times.len() / 3;
        times.sort();
        println!(
            "  {label:<30} {rows:>6} rows in {pages:>3} pages  median {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms  ({:.0} kB per page)",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            ms(times[times.len() - 1]),
            bytes as f64 / pages.max(1) as f64 / 1024.0
        );
    }
}

/// The eight queries lzaudit sends through Resource Graph: (label, query, sent in
/// subscription chunks, authorizationScopeFilter).
fn graph_queries(
    definitions: &[String],
) -> Vec<(&'static str, String, bool, Option<&'static str>)> {
    let types = [
        "microsoft.containerservice/managedclusters",
        "microsoft.containerregistry/registries",
        "microsoft.compute/virtualmachines",
        "microsoft.compute/virtualmachinescalesets",
        "microsoft.hybridcompute/machines",
        "microsoft.network/privateendpoints",
        "microsoft.network/privatednszones",
        "microsoft.network/privatednszones/virtualnetworklinks",
        "microsoft.network/virtualnetworks",
        "microsoft.network/routetables",
        "microsoft.network/networksecuritygroups",
    ]
    .map(|t| format!("'{t}'"))
    .join(", ");
    let ids = definitions
        .iter()
        .map(|d| format!("'{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        ("1 resourcecontainers (tenant)", "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' or type =~ 'microsoft.management/managementgroups' | project id, name, type, tenantId, subscriptionId, properties | order by id asc".to_string(), false, None),
        ("2 resources", format!("resources | where type in~ ({types}) | project id, name, type, tenantId, kind, location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags, identity, zones, extendedLocation | order by id asc"), true, None),
        ("3 assignments, exemptions", "policyresources | where type in~ ('microsoft.authorization/policyassignments', 'microsoft.authorization/policyexemptions') | project id, name, type, subscriptionId, properties | order by id asc".to_string(), true, Some("AtScopeAboveAndBelow")),
        ("4 definitions by id (tenant)", format!("policyresources | where type in~ ('microsoft.authorization/policydefinitions', 'microsoft.authorization/policysetdefinitions') | where id in~ ({ids}) | project id, name, type, properties | order by id asc"), false, None),
        ("5 cluster policy states", "policyresources | where type =~ 'microsoft.policyinsights/policystates' | extend resourceId = tolower(tostring(properties.resourceId)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' | summarize states = make_list(properties) by resourceId | project id = resourceId, states | order by id asc".to_string(), true, None),
        ("6 role assignments", "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, name, type, properties | order by id asc".to_string(), true, Some("AtScopeAboveAndBelow")),
        ("7 pricings", "securityresources | where type =~ 'microsoft.security/pricings' | summarize pricings = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by subscriptionId | project id = subscriptionId, pricings | order by id asc".to_string(), true, None),
        ("8 assessments", "securityresources | where type =~ 'microsoft.security/assessments' | extend resourceId = tolower(tostring(properties.resourceDetails.Id)) | where resourceId contains '/providers/microsoft.containerservice/managedclusters/' or resourceId contains '/providers/microsoft.containerregistry/registries/' | summarize assessments = make_list(bag_pack('id', id, 'name', name, 'type', type, 'properties', properties)) by resourceId | project id = resourceId, assessments | order by id asc".to_string(), true, None),
    ]
}

/// One Resource Graph page, the size of its body, and the time until the last byte of it
/// arrived (the client's JSON parsing left out).
async fn graph(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: &Value,
) -> (Value, usize, Duration) {
    let url = format!("{base}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01");
    let started = Instant::now();
    let response = client
        .post(&url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let bytes = response.bytes().await.expect("a body");
    let elapsed = started.elapsed();
    let page: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert!(status.is_success(), "{url}: {status} {page}");
    (page, bytes.len(), elapsed)
}

async fn send(client: &reqwest::Client, method: &reqwest::Method, url: &str, token: &str) -> Value {
    let response = client
        .request(method.clone(), url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let bytes = response.bytes().await.expect("a body");
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
