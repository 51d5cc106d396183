//! Measurement: the emulator at issue 8's scale. Builds a generated tenant (default 1,000
//! landing-zone subscriptions), serves it on loopback, and times sequential requests over one
//! keep-alive connection for the routes lzaudit's fan-out hits hardest: a resource-type list
//! per subscription, a child (extension) collection per cluster, role assignments `atScope()`
//! at a registry, and a policy-state query per cluster.
//!
//! Run with `cargo bench -p lzaudit-emulator --bench scale -- [SUBSCRIPTIONS] [REQUESTS]`
//! (defaults 1000 and 400 requests per route). Prints the build time and, per route, the
//! median and 95th percentile time per request and the mean answer size.

use std::time::{Duration, Instant};

use lzaudit_emulator::{Emulator, Options, Spec, Tenant, generate};
use serde_json::Value;

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
    let emulator = runtime
        .block_on(Emulator::start(tenant, Options::default()))
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
