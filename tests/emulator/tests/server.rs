//! End-to-end tests of the emulator over real sockets: sign-in over HTTPS trusting the
//! emulator's CA, the ARM pipeline over both listeners, paging, scope inheritance and fault
//! injection. The fixture `data/tenant.json` is assembled from the official example payloads
//! in `shared/arm-examples` (clusters, registry, private endpoint connection, pricings, policy
//! assignments and exemptions, role assignments, subscriptions) re-homed into one tenant:
//! MGs alz → {platform, landingzones → {corp, online}}, one subscription in each of corp,
//! online and platform.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use lzaudit_emulator::{Deny, Emulator, Fail, Options, Tenant, Throttle};
use serde_json::Value;

const TENANT: &str = "31c75423-32d6-4322-88b7-c478bdde4858";
const CORP: &str = "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05";
const ONLINE: &str = "/subscriptions/ae640e6b-ba3e-4256-9d62-2993eecfa6f2";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "emulator-secret";
const STATIC: &str = "az-cli-static-token";
const V: &str = "api-version=2025-01-01";

fn registry() -> String {
    format!("{CORP}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrcorp")
}

fn tenant() -> Tenant {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tenant.json");
    Tenant::load(&path).expect("fixture loads")
}

fn https_client(emulator: &Emulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA parses");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client")
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Got {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> Got {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Got {
        status,
        headers,
        body,
    }
}

async fn sign_in(client: &reqwest::Client, emulator: &Emulator, tenant: &str, secret: &str) -> Got {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("client_secret", secret)
        .append_pair("scope", "https://management.azure.com/.default")
        .finish();
    let response = client
        .post(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            emulator.https_url()
        ))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("token request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = serde_json::from_str(&response.text().await.expect("body")).unwrap_or(Value::Null);
    Got {
        status,
        headers,
        body,
    }
}

/// Follows nextLinks from `first`, returning every page.
async fn pages(client: &reqwest::Client, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let got = get(client, &url, Some(STATIC)).await;
        assert_eq!(got.status, 200, "{url}: {}", got.body);
        next = got
            .body
            .get("nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(got.body);
        assert!(out.len() < 50, "paging does not end");
    }
    out
}

fn names(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn signs_in_over_https_and_serves_arm_on_both_listeners() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let client = https_client(&emulator);

    let token = sign_in(&client, &emulator, TENANT, SECRET).await;
    assert_eq!(token.status, 200, "{}", token.body);
    assert_eq!(token.body["token_type"], "Bearer");
    assert_eq!(token.body["expires_in"], 3600);
    let access = token.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert!(access.starts_with("emu-"));

    let subs = get(
        &client,
        &format!("{}/subscriptions?{V}", emulator.https_url()),
        Some(&access),
    )
    .await;
    assert_eq!(subs.status, 200);
    assert_eq!(subs.body["value"].as_array().map(Vec::len), Some(3));
    assert!(subs.body.get("nextLink").is_none());
    for header in [
        "x-ms-request-id",
        "x-ms-ratelimit-remaining-subscription-reads",
    ] {
        assert!(subs.headers.contains_key(header), "missing {header}");
    }

    let plain = reqwest::Client::new();
    let one = get(
        &plain,
        &format!("{}{CORP}?{V}", emulator.http_url()),
        Some(&access),
    )
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["displayName"], "corp-aks-prod");
    assert_eq!(
        one.body["subscriptionPolicies"]["quotaId"],
        "Internal_2014-09-01"
    );

    let wrong = sign_in(&client, &emulator, TENANT, "nope").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert_eq!(wrong.body["error_codes"][0], 7_000_215);
    assert!(
        wrong.body["error_description"]
            .as_str()
            .unwrap_or("")
            .starts_with("AADSTS7000215")
    );
    let elsewhere = sign_in(&client, &emulator, "contoso.onmicrosoft.com", SECRET).await;
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.body["error_codes"][0], 90002);

    emulator.shutdown().await;
}

#[tokio::test]
async fn rejects_missing_invalid_and_expired_tokens() {
    let emulator = Emulator::start(
        tenant(),
        Options {
            token_lifetime_secs: 1,
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let client = https_client(&emulator);
    let url = format!("{}/subscriptions?{V}", emulator.http_url());

    let missing = get(&client, &url, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.code(), "InvalidAuthenticationToken");
    let challenge = missing.headers["www-authenticate"].to_str().expect("ascii");
    assert!(challenge.contains(&format!(
        "authorization_uri=\"{}/{TENANT}\"",
        emulator.https_url()
    )));
    assert!(challenge.contains("error=\"invalid_token\""));

    assert_eq!(
        get(&client, &url, Some("forged")).await.code(),
        "InvalidAuthenticationToken"
    );

    let no_version = get(
        &client,
        &format!("{}/subscriptions", emulator.http_url()),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        (no_version.status, no_version.code()),
        (400, "MissingApiVersionParameter")
    );

    let token = sign_in(&client, &emulator, TENANT, SECRET).await;
    assert_eq!(token.body["expires_in"], 1);
    let access = token.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(get(&client, &url, Some(&access)).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = get(&client, &url, Some(&access)).await;
    assert_eq!(
        (expired.status, expired.code()),
        (401, "ExpiredAuthenticationToken")
    );
}

#[tokio::test]
async fn pages_with_absolute_next_links_in_both_styles() {
    let emulator = Emulator::start(
        tenant(),
        Options {
            page_size: Some(1),
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let plain = reqwest::Client::new();
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments",
        registry()
    );
    let first = format!("{}{path}?{V}&$filter=atScope()", emulator.http_url());
    let all = pages(&plain, &first).await;
    assert_eq!(all.len(), 5);
    for page in &all[..4] {
        let link = page["nextLink"].as_str().expect("link");
        assert!(
            link.starts_with(&format!("{}{path}?", emulator.http_url())),
            "{link}"
        );
        assert!(
            link.contains(V) && link.contains("$filter=atScope()") && link.contains("$skiptoken=")
        );
        assert_eq!(page["value"].as_array().map(Vec::len), Some(1));
    }
    assert!(all[4].get("nextLink").is_none(), "last page omits nextLink");

    emulator.set_options(Options {
        page_size: Some(2),
        null_next_link: true,
        ..Options::default()
    });
    let client = https_client(&emulator);
    let first = format!("{}{path}?{V}&$filter=atScope()", emulator.https_url());
    let all = pages(&client, &first).await;
    assert_eq!(all.len(), 3);
    assert!(
        all[0]["nextLink"]
            .as_str()
            .is_some_and(|l| l.starts_with(&emulator.https_url()))
    );
    assert_eq!(
        all[2].get("nextLink"),
        Some(&Value::Null),
        "last page sends null"
    );
    let flat: Vec<String> = all.iter().flat_map(names).collect();
    assert_eq!(flat.len(), 5);

    let bad = get(
        &plain,
        &format!("{}{path}?{V}&$skiptoken=garbage", emulator.http_url()),
        Some(STATIC),
    )
    .await;
    assert_eq!((bad.status, bad.code()), (400, "InvalidSkipToken"));
}

#[tokio::test]
async fn at_scope_inherits_through_management_groups() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let c = reqwest::Client::new();
    let base = emulator.http_url();
    let list = |scope: &str, kind: &str, filter: &str| {
        format!("{base}{scope}/providers/Microsoft.Authorization/{kind}?{V}{filter}")
    };
    let mg = |g: &str| format!("/providers/Microsoft.Management/managementGroups/{g}");

    let corp = get(
        &c,
        &list(CORP, "policyAssignments", "&$filter=atScope()"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        names(&corp.body),
        [
            "root-asc",
            "alz-aks-defender",
            "corp-deny-public",
            "sub-naming"
        ]
    );
    let corp_all = get(&c, &list(CORP, "policyAssignments", ""), Some(STATIC)).await;
    assert_eq!(
        names(&corp_all.body),
        [
            "root-asc",
            "alz-aks-defender",
            "corp-deny-public",
            "sub-naming",
            "rg-aks-tags"
        ]
    );
    let online = get(
        &c,
        &list(ONLINE, "policyAssignments", "&$filter=atScope()"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        names(&online.body),
        ["root-asc", "alz-aks-defender", "online-audit"]
    );
    let at_mg = get(
        &c,
        &list(&mg("Corp"), "policyAssignments", "&$filter=atScope()"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        names(&at_mg.body),
        ["root-asc", "alz-aks-defender", "corp-deny-public"]
    );

    let roles = get(
        &c,
        &list(&registry(), "roleAssignments", "&$filter=atScope()"),
        Some(STATIC),
    )
    .await;
    let scopes: Vec<&str> = roles.body["value"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|r| r["properties"]["scope"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let expected_scopes = [
        "/".to_string(),
        mg("alz"),
        CORP.to_string(),
        format!("{CORP}/resourceGroups/rg-acr"),
        registry(),
    ];
    assert_eq!(scopes, expected_scopes);
    let acr_pull = get(
        &c,
        &list(&registry(), "roleAssignments", "&$filter=atScope()%20and%20principalId%20eq%20%275a2b1c3d-0000-4000-8000-00000000beef%27"),
        Some(STATIC),
    )
    .await;
    assert_eq!(acr_pull.body["value"].as_array().map(Vec::len), Some(2));

    let exemptions = get(&c, &list(CORP, "policyExemptions", ""), Some(STATIC)).await;
    assert_eq!(
        names(&exemptions.body),
        ["sub-waiver", "rg-mitigated", "alz-waiver"]
    );
    let above = get(
        &c,
        &list(CORP, "policyExemptions", "&$filter=atScope()"),
        Some(STATIC),
    )
    .await;
    assert_eq!(names(&above.body), ["sub-waiver", "alz-waiver"]);
    let live = get(
        &c,
        &list(CORP, "policyExemptions", "&$filter=excludeExpired()"),
        Some(STATIC),
    )
    .await;
    assert_eq!(names(&live.body), ["sub-waiver", "alz-waiver"]);

    let descendants = get(
        &c,
        &format!("{base}{}/descendants?{V}", mg("alz")),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        names(&descendants.body),
        [
            "platform",
            "landingzones",
            "corp",
            "online",
            "291bba3f-e0a5-47bc-a099-3bdcb2a50a05",
            "ae640e6b-ba3e-4256-9d62-2993eecfa6f2",
            "20ff7fc3-e762-44dd-bd96-b71116dcdc23"
        ]
    );
    let unknown = get(
        &c,
        &format!("{base}{}/descendants?{V}", mg("nope")),
        Some(STATIC),
    )
    .await;
    assert_eq!((unknown.status, unknown.code()), (404, "NotFound"));
    let bad_filter = get(
        &c,
        &list(CORP, "policyAssignments", "&$filter=whatever"),
        Some(STATIC),
    )
    .await;
    assert_eq!(bad_filter.status, 400);
}

#[tokio::test]
async fn injects_denials_throttling_and_failures() {
    let clusters = "Microsoft.ContainerService/managedClusters";
    let emulator = Emulator::start(
        tenant(),
        Options {
            deny: vec![Deny {
                scope: CORP.to_uppercase(),
                api: "microsoft.security/PRICINGS".into(),
            }],
            throttle: vec![Throttle {
                api: clusters.into(),
                times: 2,
                retry_after_secs: 7,
            }],
            fail: vec![Fail {
                api: "Microsoft.ContainerRegistry/registries".into(),
                times: 1,
                status: 503,
            }],
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let client = https_client(&emulator);
    let token = sign_in(&client, &emulator, TENANT, SECRET).await;
    let access = token.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let base = emulator.https_url();

    let pricings = get(
        &client,
        &format!("{base}{CORP}/providers/Microsoft.Security/pricings?{V}"),
        Some(&access),
    )
    .await;
    assert_eq!(
        (pricings.status, pricings.code()),
        (403, "AuthorizationFailed")
    );
    let message = pricings.body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with(&format!("The client '{CLIENT_ID}' with object id '")),
        "{message}"
    );
    assert!(message.contains(&format!(
        "perform action 'Microsoft.Security/pricings/read' over scope '{CORP}'"
    )));
    let vmss = format!(
        "{CORP}/resourceGroups/MC_rg-aks_aks-corp-1_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss"
    );
    let on_vmss = get(
        &client,
        &format!("{base}{vmss}/providers/Microsoft.Security/pricings?{V}"),
        Some(&access),
    )
    .await;
    assert_eq!(on_vmss.status, 403);
    let elsewhere = get(
        &client,
        &format!("{base}{ONLINE}/providers/Microsoft.Security/pricings?{V}"),
        Some(&access),
    )
    .await;
    assert_eq!(elsewhere.status, 200);

    let url = format!("{base}{CORP}/providers/Microsoft.ContainerService/managedClusters?{V}");
    for _ in 0..2 {
        let throttled = get(&client, &url, Some(&access)).await;
        assert_eq!(
            (throttled.status, throttled.code()),
            (429, "SubscriptionRequestsThrottled")
        );
        assert_eq!(throttled.headers["retry-after"], "7");
    }
    assert_eq!(get(&client, &url, Some(&access)).await.status, 200);

    let registries = format!("{base}{CORP}/providers/Microsoft.ContainerRegistry/registries?{V}");
    let failed = get(&client, &registries, Some(&access)).await;
    assert_eq!((failed.status, failed.code()), (503, "ServiceUnavailable"));
    assert_eq!(
        names(&get(&client, &registries, Some(&access)).await.body),
        ["acrcorp"]
    );

    emulator.set_options(Options::default());
    assert_eq!(
        get(&client, &pricings_url(&base), Some(&access))
            .await
            .status,
        200
    );
}

fn pricings_url(base: &str) -> String {
    format!("{base}{CORP}/providers/Microsoft.Security/pricings?{V}")
}

#[tokio::test]
async fn counts_and_logs_every_request() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let client = https_client(&emulator);
    assert_eq!(emulator.request_count(), 0);
    sign_in(&client, &emulator, TENANT, SECRET).await;
    get(
        &client,
        &format!("{}/subscriptions?{V}", emulator.http_url()),
        None,
    )
    .await;
    get(&client, &pricings_url(&emulator.http_url()), Some(STATIC)).await;
    get(
        &client,
        &format!("{}{}/nope?{V}", emulator.http_url(), registry()),
        Some(STATIC),
    )
    .await;
    assert_eq!(emulator.request_count(), 4);
    let log = emulator.requests();
    let summary: Vec<(&str, Option<&str>, u16)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.api.as_deref(), r.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", Some(lzaudit_emulator::TOKEN_API), 200),
            ("GET", Some("Microsoft.Resources/subscriptions"), 401),
            ("GET", Some("Microsoft.Security/pricings"), 200),
            (
                "GET",
                Some("Microsoft.ContainerRegistry/registries/nope"),
                200
            ),
        ]
    );
    assert_eq!(
        log[2].path_and_query,
        format!("{CORP}/providers/Microsoft.Security/pricings?{V}")
    );
    let clients: Vec<Option<&str>> = log.iter().map(|r| r.client.as_deref()).collect();
    assert_eq!(
        clients,
        [
            Some(CLIENT_ID),
            None,
            Some("static-token-user"),
            Some("static-token-user")
        ]
    );
}

/// The managed-identity endpoint in App Service shape: the per-instance header is required,
/// the token it hands out works on ARM, and the log names the identity.
#[tokio::test]
async fn managed_identity_endpoint_hands_out_arm_tokens() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let url = format!(
        "{}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com",
        emulator.identity_endpoint()
    );
    let refused = client
        .get(&url)
        .header("X-IDENTITY-HEADER", "guess")
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status().as_u16(), 401);
    let ok = client
        .get(&url)
        .header("X-IDENTITY-HEADER", emulator.identity_header())
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = serde_json::from_str(&ok.text().await.expect("body")).expect("json");
    let token = body["access_token"].as_str().expect("a token");
    assert!(
        body["expires_on"]
            .as_str()
            .is_some_and(|e| e.parse::<u64>().is_ok())
    );
    let subs = get(
        &client,
        &format!("{}/subscriptions?{V}", emulator.http_url()),
        Some(token),
    )
    .await;
    assert_eq!(subs.status, 200);
    let imds = client
        .get(format!(
            "{}?api-version=2018-02-01&resource=https://management.azure.com",
            emulator.imds_endpoint()
        ))
        .header("Metadata", "true")
        .send()
        .await
        .expect("sent");
    assert_eq!(imds.status().as_u16(), 200);
    let log = emulator.requests();
    let summary: Vec<(Option<&str>, u16, Option<&str>)> = log
        .iter()
        .map(|r| (r.api.as_deref(), r.status, r.client.as_deref()))
        .collect();
    const MI: &str = "99999999-0000-4000-8000-0000000000aa";
    assert_eq!(
        summary,
        [
            (Some(lzaudit_emulator::IDENTITY_API), 401, None),
            (Some(lzaudit_emulator::IDENTITY_API), 200, Some(MI)),
            (Some("Microsoft.Resources/subscriptions"), 200, Some(MI)),
            (Some(lzaudit_emulator::IDENTITY_API), 200, Some(MI)),
        ]
    );
}

#[tokio::test]
async fn serves_objects_verbatim_and_routes_by_shape() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let c = reqwest::Client::new();
    let base = emulator.http_url();
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tenant.json"),
        )
        .expect("read"),
    )
    .expect("json");
    let stored = fixture["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|o| o["name"] == "aks-corp-1"))
        .expect("cluster in fixture")
        .clone();

    let list = get(
        &c,
        &format!("{base}{CORP}/providers/Microsoft.ContainerService/managedClusters?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        list.body["value"][0]["type"],
        "Microsoft.ContainerService/ManagedClusters"
    );
    assert_eq!(list.body["value"][0], stored);
    let id = stored["id"].as_str().expect("id");
    let shouted = get(
        &c,
        &format!("{base}{}?{V}", id.to_uppercase()),
        Some(STATIC),
    )
    .await;
    assert_eq!(shouted.status, 200);
    assert_eq!(shouted.body, stored, "served exactly as stored");

    let pe = get(
        &c,
        &format!("{base}{}/privateEndpointConnections?{V}", registry()),
        Some(STATIC),
    )
    .await;
    assert_eq!(names(&pe.body), ["pe-acrcorp"]);
    assert_eq!(
        pe.body["value"][0]["properties"]["privateLinkServiceConnectionState"]["status"],
        "Approved"
    );
    let no_parent = get(
        &c,
        &format!("{base}{}x/privateEndpointConnections?{V}", registry()),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        (no_parent.status, no_parent.code()),
        (404, "ResourceNotFound")
    );
    let missing = get(&c, &format!("{base}{}x?{V}", registry()), Some(STATIC)).await;
    assert_eq!((missing.status, missing.code()), (404, "ResourceNotFound"));
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("aka.ms/ARMResourceNotFoundFix")
    );
    let no_sub = get(
        &c,
        &format!("{base}/subscriptions/00000000-dead-beef-0000-000000000000?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        (no_sub.status, no_sub.code()),
        (404, "SubscriptionNotFound")
    );
    let no_def = get(
        &c,
        &format!("{base}/providers/Microsoft.Authorization/policyDefinitions/nope?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(no_def.code(), "PolicyDefinitionNotFound");
    let builtin = get(
        &c,
        &format!("{base}/providers/Microsoft.Authorization/policyDefinitions/a8eff44f-8c92-45c3-a3fb-9880802d67a7?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(builtin.body["properties"]["policyType"], "BuiltIn");
    let empty = get(
        &c,
        &format!("{base}{CORP}/providers/Microsoft.Web/sites?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(
        (empty.status, empty.body["value"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    let post = c
        .post(format!("{base}{CORP}?{V}"))
        .header("Authorization", format!("Bearer {STATIC}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(post.status().as_u16(), 405);
    let body: Value = serde_json::from_str(&post.text().await.expect("body")).expect("json");
    assert!(body["error"]["code"].is_string());
}

/// The blocking helper, from a plain test, with a hand-written HTTP/1.1 request.
#[test]
fn runs_on_its_own_thread() {
    let emulator = Emulator::start_in_thread(tenant(), Options::default());
    let authority = emulator
        .http_url()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = std::net::TcpStream::connect(&authority).expect("connects");
    write!(
        stream,
        "GET /subscriptions?{V} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {STATIC}\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("corp-aks-prod"));
    assert_eq!(emulator.request_count(), 1);
    drop(emulator);
    assert!(
        std::net::TcpStream::connect(&authority).is_err(),
        "listener closed on drop"
    );
}

/// Malformed and odd requests get an error envelope, never a dropped connection or a 5xx.
#[tokio::test]
async fn odd_requests_get_envelopes_not_panics() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let c = reqwest::Client::new();
    let base = emulator.http_url();
    let paths = [
        "/",
        "//",
        "/%",
        "/%ff%fe",
        "/subscriptions/%ZZ",
        "/subscriptions//providers",
        "/subscriptions/é/providers/Microsoft.Compute/virtualMachines",
        "/providers",
        "/providers/Microsoft.Management/managementGroups",
        "/providers/Microsoft.Management/managementGroups/alz",
        "/providers/Microsoft.Authorization/roleAssignments",
        "/providers/Microsoft.Authorization/policyDefinitions",
        "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05/resourceGroups",
        "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05/resourceGroups/rg-acr/providers",
        "/tenants",
        "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
        "/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults",
        "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05/providers/Microsoft.PolicyInsights/policyStates/%ff/queryResults",
        "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05/providers/Microsoft.ContainerService/locations//kubernetesVersions",
    ];
    for path in paths {
        for query in [
            V,
            "api-version=1&$filter=atScope()%20and%20",
            "api-version=1&$filter='",
            "api-version=",
        ] {
            let got = get(&c, &format!("{base}{path}?{query}"), Some(STATIC)).await;
            assert!(got.status < 500, "{path}?{query}: {}", got.status);
            assert!(
                got.status == 200 || got.body["error"]["code"].is_string(),
                "{path}?{query}: {}",
                got.body
            );
        }
    }
    let query = "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults";
    for q in [
        V,
        "api-version=1&$filter=resourceId%20eq%20",
        "api-version=1&$filter='",
        "api-version=1&$skiptoken=nope",
        "api-version=",
    ] {
        let got = post(&c, &format!("{base}{query}?{q}")).await;
        assert!(got.status < 500, "POST {query}?{q}: {}", got.status);
        assert!(
            got.status == 200 || got.body["error"]["code"].is_string(),
            "POST {query}?{q}: {}",
            got.body
        );
    }
    let groups = get(
        &c,
        &format!("{base}/providers/Microsoft.Management/managementGroups?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(groups.body["value"].as_array().map(Vec::len), Some(6));
    let alz = get(
        &c,
        &format!("{base}/providers/Microsoft.Management/managementGroups/ALZ?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(alz.body["properties"]["displayName"], "Contoso");
    let token_get = get(&c, &format!("{base}/{TENANT}/oauth2/v2.0/token"), None).await;
    assert_eq!(token_get.status, 405);

    let https = https_client(&emulator);
    let oidc = https
        .post(format!(
            "{}?api-version=7.1&serviceConnectionId=sc-1",
            emulator.pipelines_oidc_url()
        ))
        .header("Authorization", "Bearer system-access-token")
        .send()
        .await
        .expect("sent");
    assert_eq!(oidc.status().as_u16(), 200);
    let body: Value = serde_json::from_str(&oidc.text().await.expect("body")).expect("json");
    assert!(
        body["oidcToken"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
}

fn corp_cluster() -> String {
    format!(
        "{CORP}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-corp-1"
    )
}

async fn post(client: &reqwest::Client, url: &str) -> Got {
    let response = client
        .post(url)
        .header("Authorization", format!("Bearer {STATIC}"))
        .header("Content-Length", "0")
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Got {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// The GETs the full catalogue adds are served by the generic routes: network type lists,
/// child collections, extension lists on a resource, supported versions by location.
#[tokio::test]
async fn serves_network_diagnostics_assessments_and_supported_versions() {
    let emulator = Emulator::start(tenant(), Options::default())
        .await
        .expect("starts");
    let c = reqwest::Client::new();
    let base = emulator.http_url();
    let list = |path: String| {
        let c = c.clone();
        let url = format!("{base}{path}?{V}");
        async move {
            let got = get(&c, &url, Some(STATIC)).await;
            assert_eq!(got.status, 200, "{url}: {}", got.body);
            names(&got.body)
        }
    };
    for (kind, name) in [
        ("privateEndpoints", "pe-acrcorp"),
        ("privateDnsZones", "privatelink.azurecr.io"),
        ("virtualNetworks", "vnet-spoke"),
        ("routeTables", "rt-spoke"),
        ("networkSecurityGroups", "nsg-spoke"),
    ] {
        assert_eq!(
            list(format!("{CORP}/providers/Microsoft.Network/{kind}")).await,
            [name],
            "{kind}"
        );
        assert!(
            list(format!("{ONLINE}/providers/Microsoft.Network/{kind}"))
                .await
                .is_empty()
        );
    }
    let pe = format!(
        "{CORP}/resourceGroups/rg-acr/providers/Microsoft.Network/privateEndpoints/pe-acrcorp"
    );
    assert_eq!(
        list(format!("{pe}/privateDnsZoneGroups")).await,
        ["default"]
    );
    let zone = format!(
        "{CORP}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
    );
    assert_eq!(
        list(format!("{zone}/virtualNetworkLinks")).await,
        ["link-spoke"]
    );
    let cluster = corp_cluster();
    assert_eq!(
        list(format!(
            "{cluster}/providers/Microsoft.Insights/diagnosticSettings"
        ))
        .await,
        ["mysetting"]
    );
    assert_eq!(
        list(format!(
            "{cluster}/providers/Microsoft.Security/assessments"
        ))
        .await,
        ["c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"]
    );
    // The tenant-level assessment metadata list, through the tenant-level collection route.
    let metadata = get(
        &c,
        &format!("{base}/providers/Microsoft.Security/assessmentMetadata?api-version=2021-06-01"),
        Some(STATIC),
    )
    .await;
    assert_eq!(metadata.status, 200, "{}", metadata.body);
    assert_eq!(
        names(&metadata.body),
        ["21300918-b2e3-0346-785f-c77ff57d243b"]
    );
    assert_eq!(
        metadata.body["value"][0]["id"],
        "/providers/Microsoft.Security/assessmentMetadata/21300918-b2e3-0346-785f-c77ff57d243b"
    );
    assert_eq!(
        metadata.body["value"][0]["properties"]["severity"],
        "Medium"
    );
    assert!(
        list(format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings",
            registry()
        ))
        .await
        .is_empty(),
        "a resource without settings lists none"
    );

    // One stored list per location answers through every subscription.
    for sub in [CORP, ONLINE] {
        let versions = get(
            &c,
            &format!(
                "{base}{sub}/providers/Microsoft.ContainerService/locations/location1/kubernetesVersions?{V}"
            ),
            Some(STATIC),
        )
        .await;
        assert_eq!(versions.status, 200);
        assert_eq!(versions.body["values"][0]["version"], "1.24");
    }
    let elsewhere = get(
        &c,
        &format!("{base}{CORP}/providers/Microsoft.ContainerService/locations/mars/kubernetesVersions?{V}"),
        Some(STATIC),
    )
    .await;
    assert_eq!(elsewhere.status, 404);
    let apis: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter_map(|r| r.api)
        .collect();
    for api in [
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        "Microsoft.Insights/diagnosticSettings",
        "Microsoft.Security/assessments",
        "Microsoft.Security/assessmentMetadata",
        "Microsoft.ContainerService/locations/kubernetesVersions",
    ] {
        assert!(apis.iter().any(|a| a == api), "{api} in {apis:?}");
    }
}

#[tokio::test]
async fn policy_state_queries_are_posts_paged_by_odata_next_links() {
    let emulator = Emulator::start(
        tenant(),
        Options {
            page_size: Some(2),
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let c = reqwest::Client::new();
    let base = emulator.http_url();
    let query = format!(
        "{base}{CORP}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2019-10-01"
    );
    let filter = format!(
        "&$filter=resourceId%20eq%20%27{}%27",
        corp_cluster().to_uppercase()
    );

    let first = post(&c, &format!("{query}{filter}")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["@odata.count"], 2);
    assert_eq!(
        first.body["@odata.context"],
        format!("{base}{CORP}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest")
    );
    assert!(
        first.body.get("nextLink").is_none(),
        "OData's field, not ARM's"
    );
    let next = first.body["@odata.nextLink"].as_str().expect("a next page");
    assert!(
        next.starts_with(&format!("{query}&%24filter="))
            || next.starts_with(&format!("{query}&$filter=")),
        "{next}"
    );
    assert!(next.contains("$skiptoken="), "{next}");

    // The service refuses a GET on its own next link.
    let refused = get(&c, next, Some(STATIC)).await;
    assert_eq!(
        (refused.status, refused.code()),
        (405, "HttpMethodNotSupported")
    );
    assert_eq!(
        refused.body["error"]["message"],
        "The http method 'GET' is not supported for 'queryResults'."
    );
    let second = post(&c, next).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["@odata.count"], 1);
    assert!(second.body.get("@odata.nextLink").is_none());
    let rows: Vec<&Value> = first.body["value"]
        .as_array()
        .into_iter()
        .chain(second.body["value"].as_array())
        .flatten()
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| {
        r["resourceId"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(&corp_cluster()))
    }));

    // Without a filter, the subscription's records; a group sees those below it.
    emulator.set_options(Options::default());
    let all = post(&c, &query).await;
    assert_eq!(all.body["value"].as_array().map(Vec::len), Some(3));
    let landing = post(
        &c,
        &format!(
            "{base}/providers/Microsoft.Management/managementGroups/landingzones/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2019-10-01&$filter=complianceState%20eq%20%27NonCompliant%27"
        ),
    )
    .await;
    assert_eq!(landing.body["value"].as_array().map(Vec::len), Some(3));
    let unsupported = post(&c, &format!("{query}&$filter=atScope()")).await;
    assert_eq!(
        (unsupported.status, unsupported.code()),
        (400, "InvalidFilterInQueryString")
    );
    let weekly = post(
        &c,
        &format!("{base}{CORP}/providers/Microsoft.PolicyInsights/policyStates/weekly/queryResults?api-version=2019-10-01"),
    )
    .await;
    assert_eq!(weekly.status, 404);

    // Fault injection keys on the API at the subscription the query is sent to.
    emulator.set_options(Options {
        deny: vec![Deny {
            scope: CORP.into(),
            api: "Microsoft.PolicyInsights/policyStates".into(),
        }],
        ..Options::default()
    });
    let denied = post(&c, &format!("{query}{filter}")).await;
    assert_eq!((denied.status, denied.code()), (403, "AuthorizationFailed"));
    assert!(
        denied.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("'Microsoft.PolicyInsights/policyStates/read' over scope")
    );
    let log = emulator.requests();
    assert!(
        log.iter()
            .all(|r| r.api.as_deref() == Some("Microsoft.PolicyInsights/policyStates")),
        "{log:#?}"
    );
    assert_eq!(
        log.iter().filter(|r| r.method == "POST").count(),
        log.len() - 1
    );
}

#[tokio::test]
async fn read_buckets_throttle_with_retry_after_and_count_down() {
    use lzaudit_emulator::{BucketMode, ReadBuckets};
    let options = |mode| Options {
        read_buckets: Some(ReadBuckets {
            mode,
            capacity: 3.0,
            refill_per_sec: 0.5,
        }),
        ..Options::default()
    };
    let emulator = Emulator::start(tenant(), options(BucketMode::PerSubscription))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let base = emulator.http_url();
    let corp = format!("{base}{CORP}/providers/Microsoft.ContainerService/managedClusters?{V}");
    let online = format!("{base}{ONLINE}/providers/Microsoft.ContainerService/managedClusters?{V}");
    for left in ["2", "1", "0"] {
        let got = get(&client, &corp, Some(STATIC)).await;
        assert_eq!(got.status, 200);
        assert_eq!(
            got.headers["x-ms-ratelimit-remaining-subscription-reads"],
            left
        );
    }
    let throttled = get(&client, &corp, Some(STATIC)).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.code(), "SubscriptionRequestsThrottled");
    assert_eq!(
        throttled.headers["retry-after"], "2",
        "1 token at 0.5/s: 2 s"
    );
    // Another subscription has its own bucket; a tenant-level call counts in the tenant's.
    assert_eq!(get(&client, &online, Some(STATIC)).await.status, 200);
    let tenant_level = get(&client, &format!("{base}/subscriptions?{V}"), Some(STATIC)).await;
    assert_eq!(
        tenant_level.headers["x-ms-ratelimit-remaining-tenant-reads"],
        "2"
    );

    let shared = Emulator::start(tenant(), options(BucketMode::Shared))
        .await
        .unwrap();
    let base = shared.http_url();
    let corp = format!("{base}{CORP}/providers/Microsoft.ContainerService/managedClusters?{V}");
    let online = format!("{base}{ONLINE}/providers/Microsoft.ContainerService/managedClusters?{V}");
    for url in [&corp, &online, &corp] {
        assert_eq!(get(&client, url, Some(STATIC)).await.status, 200);
    }
    assert_eq!(
        get(&client, &online, Some(STATIC)).await.status,
        429,
        "one bucket for all"
    );
}

#[tokio::test]
async fn latency_delays_every_answer_and_can_be_turned_off() {
    let latency = Duration::from_millis(300);
    let emulator = Emulator::start(
        tenant(),
        Options {
            latency,
            ..Options::default()
        },
    )
    .await
    .expect("starts");
    let client = https_client(&emulator);
    let started = std::time::Instant::now();
    let signed_in = sign_in(&client, &emulator, TENANT, SECRET).await;
    assert_eq!(signed_in.status, 200);
    let got = get(&client, &pricings_url(&emulator.http_url()), Some(STATIC)).await;
    assert_eq!(got.status, 200);
    assert!(started.elapsed() >= 2 * latency, "{:?}", started.elapsed());
    emulator.set_options(Options::default());
    let started = std::time::Instant::now();
    get(&client, &pricings_url(&emulator.http_url()), Some(STATIC)).await;
    assert!(started.elapsed() < latency, "{:?}", started.elapsed());
}

#[tokio::test]
async fn chaos_faults_break_the_wire_as_named() {
    use lzaudit_emulator::{Chaos, ChaosKind, Shape};
    let chaos = |kind: ChaosKind| Options {
        chaos: Some(Chaos {
            seed: 1,
            rate: 1.0,
            persistent: 1.0,
            kinds: vec![kind],
            apis: Vec::new(),
        }),
        ..Options::default()
    };
    let client = reqwest::Client::new();
    let list = |e: &Emulator| {
        format!(
            "{}{CORP}/providers/Microsoft.ContainerService/managedClusters?{V}",
            e.http_url()
        )
    };
    let raw = |e: &Emulator| {
        let client = client.clone();
        let url = list(e);
        async move {
            client
                .get(url)
                .header("Authorization", format!("Bearer {STATIC}"))
                .send()
                .await
        }
    };

    let e = Emulator::start(tenant(), chaos(ChaosKind::DropBeforeHeaders))
        .await
        .unwrap();
    assert!(
        raw(&e).await.is_err(),
        "the connection closes before headers"
    );

    let e = Emulator::start(tenant(), chaos(ChaosKind::DropMidBody))
        .await
        .unwrap();
    let response = raw(&e).await.expect("headers arrive");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.bytes().await.is_err(), "the body is cut");

    let e = Emulator::start(tenant(), chaos(ChaosKind::TruncatedJson))
        .await
        .unwrap();
    let text = raw(&e).await.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    for shape in Shape::ALL {
        let e = Emulator::start(tenant(), chaos(ChaosKind::WrongShape(shape)))
            .await
            .unwrap();
        let got = get(&client, &list(&e), Some(STATIC)).await;
        assert_eq!(got.status, 200);
        assert!(
            got.body.get("value").and_then(Value::as_array).is_none(),
            "{shape:?}: {}",
            got.body
        );
    }

    let e = Emulator::start(tenant(), chaos(ChaosKind::NextLinkLoop))
        .await
        .unwrap();
    let got = get(&client, &list(&e), Some(STATIC)).await;
    assert_eq!(got.body["nextLink"], Value::String(list(&e)));

    let e = Emulator::start(
        tenant(),
        chaos(ChaosKind::Throttle {
            retry_after_ms: 1500,
        }),
    )
    .await
    .unwrap();
    let got = get(&client, &list(&e), Some(STATIC)).await;
    assert_eq!(got.status, 429);
    assert_eq!(
        (
            got.headers["retry-after"].to_str().unwrap(),
            got.headers["retry-after-ms"].to_str().unwrap()
        ),
        ("2", "1500")
    );
    assert_eq!(e.chaos_injected().get("throttle"), Some(&1));
}
