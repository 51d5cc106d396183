//! Sign-in and collection against the loopback emulator: the real token exchange over HTTPS,
//! ARM over HTTP, paging, odd casing, denied and failing reads recorded as coverage, retries
//! counted, scoping by management group and subscription, and the exact request budget of a
//! small tenant.

use lzaudit::azure::{AuthError, AuthMethod, Environment, connect_with};
use lzaudit::collect::{self, CollectError, Plan};
use lzaudit::inventory::{Inventory, ReadState, ReadStatus, RequestedScope, api, arm};
use lzaudit_emulator::{Deny, Fail, Options, Throttle};

use crate::support::tenants::{
    self, ca_file, connect_secret, fast_retries, options, service_principal_env, small,
};

fn sub_id(guid: &str) -> String {
    format!("/subscriptions/{guid}")
}

async fn collect_all(
    options: Options,
) -> (
    Inventory,
    lzaudit_emulator::Emulator,
    lzaudit::azure::ArmClient,
) {
    let emulator = tenants::start("small", options).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let inventory = collect::run(&client, RequestedScope::default(), &Plan::everything())
        .await
        .expect("collection succeeds");
    (inventory, emulator, client)
}

fn ids(list: &[serde_json::Value]) -> Vec<String> {
    list.iter().map(|v| arm::id(v).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_tenant_is_collected_completely_with_an_exact_request_budget() {
    let (inv, emulator, client) = collect_all(Options::default()).await;

    assert_eq!(inv.tenant_id.as_deref(), Some(small::TENANT));
    assert_eq!(inv.source, "arm");
    assert_eq!(inv.arm_endpoint, emulator.http_url());
    time::OffsetDateTime::parse(
        &inv.collected_at,
        &time::format_description::well_known::Rfc3339,
    )
    .expect("collected_at is RFC 3339");
    assert_eq!(
        inv.gaps().count(),
        0,
        "{:#?}",
        inv.gaps().collect::<Vec<_>>()
    );

    // Scope: two enabled subscriptions, the disabled one skipped with its reason.
    let subs: Vec<&str> = inv
        .subscriptions
        .iter()
        .map(|s| s.subscription_id.as_str())
        .collect();
    assert_eq!(subs, [small::S1, small::S2]);
    assert_eq!(inv.skipped_subscriptions.len(), 1);
    let skipped = &inv.skipped_subscriptions[0];
    assert_eq!(
        (skipped.id.as_str(), skipped.state.as_str()),
        (sub_id(small::S3).as_str(), "Disabled")
    );
    assert!(skipped.reason.contains("Disabled"), "{}", skipped.reason);

    // Hierarchy: chains nearest first, up to and including the tenant root group.
    let s1 = inv.subscription(small::S1).unwrap();
    assert_eq!(
        s1.management_group_ancestors.as_deref(),
        Some(&["corp", "landingzones", "alz", small::TENANT].map(String::from)[..])
    );
    let s2 = inv.subscription(small::S2).unwrap();
    assert_eq!(
        s2.management_group_ancestors.as_deref(),
        Some(&["platform", "alz", small::TENANT].map(String::from)[..])
    );
    let groups: Vec<(&str, Option<&str>)> = inv
        .management_groups
        .iter()
        .map(|g| (g.name.as_str(), g.parent.as_deref()))
        .collect();
    assert_eq!(
        groups,
        [
            (small::TENANT, None),
            ("alz", Some(small::TENANT)),
            ("corp", Some("landingzones")),
            ("landingzones", Some("alz")),
            ("platform", Some("alz")),
        ]
    );

    // The cluster keeps ARM's odd type casing and loses its secret.
    assert_eq!(ids(&inv.clusters), [small::CLUSTER]);
    assert_eq!(
        inv.clusters[0]["type"],
        "Microsoft.ContainerService/ManagedClusters"
    );
    let text = serde_json::to_string(&inv).unwrap();
    assert!(
        !text.contains("sp-secret-must-not-leak") && !text.contains("node-password-must-not-leak")
    );
    assert_eq!(
        inv.clusters[0]["properties"]["servicePrincipalProfile"]["secret"],
        "[redacted]"
    );

    // Registry and its children, keyed by the lower-cased registry ID.
    assert_eq!(ids(&inv.registries), [small::REGISTRY]);
    let key = small::REGISTRY.to_ascii_lowercase();
    assert_eq!(inv.registry_private_endpoint_connections[&key].len(), 1);
    assert_eq!(inv.registry_tokens[&key].len(), 1);
    assert_eq!(
        inv.role_assignments.len(),
        3,
        "registry, subscription and alz assignments"
    );

    // Machines; the AKS ones (one by tag, one by node resource group) have resource pricings.
    assert_eq!(inv.machines.len(), 4);
    let mut priced: Vec<&String> = inv.resource_pricings.keys().collect();
    priced.sort();
    assert_eq!(
        priced,
        [
            &small::NODE_VM.to_ascii_lowercase(),
            &small::NODE_VMSS.to_ascii_lowercase()
        ]
    );
    assert!(inv.read_state(small::NODE_VM, api::PRICINGS).is_ok());
    assert_eq!(inv.pricings[small::S1].len(), 2);
    assert_eq!(inv.pricings[small::S2].len(), 1);

    // Policy: assignments deduplicated across subscriptions, every referenced definition.
    assert_eq!(inv.policy_assignments.len(), 4);
    assert_eq!(inv.policy_exemptions.len(), 2);
    assert_eq!(inv.policy_definitions.len(), 3);
    assert_eq!(ids(&inv.policy_set_definitions), [small::SET]);
    assert!(
        inv.read_state(small::SET, api::POLICY_SET_DEFINITIONS)
            .is_ok()
    );

    // Every per-subscription read is recorded as ok, so checks can trust empty lists.
    for sub in [small::S1, small::S2] {
        for api_name in [
            api::CLUSTERS,
            api::REGISTRIES,
            api::VIRTUAL_MACHINES,
            api::SCALE_SETS,
            api::ARC_MACHINES,
            api::PRICINGS,
            api::POLICY_ASSIGNMENTS,
            api::POLICY_EXEMPTIONS,
        ] {
            assert_eq!(
                inv.read_state(&sub_id(sub), api_name),
                ReadState::Ok,
                "{sub} {api_name}"
            );
        }
    }

    // 1 token + 1 subscription list + 1 root descendants + 2 × 8 subscription lists
    // + 3 registry children + 2 AKS machine pricings + 4 distinct definitions.
    assert_eq!(emulator.request_count(), 28, "{:#?}", emulator.requests());
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (27, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_item_pages_and_null_next_links_give_the_same_inventory() {
    let (mut plain, plain_emulator, _) = collect_all(Options::default()).await;
    let (mut paged, paged_emulator, _) = collect_all(Options {
        page_size: Some(1),
        null_next_link: true,
        ..Options::default()
    })
    .await;
    assert!(
        paged_emulator.request_count() > plain_emulator.request_count() + 10,
        "{} vs {}",
        paged_emulator.request_count(),
        plain_emulator.request_count()
    );
    assert!(
        paged_emulator
            .requests()
            .iter()
            .any(|r| r.path_and_query.to_ascii_lowercase().contains("skiptoken")),
        "nextLinks were followed"
    );
    paged.collected_at = String::new();
    plain.collected_at = String::new();
    paged.arm_endpoint = String::new();
    plain.arm_endpoint = String::new();
    assert_eq!(paged, plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_pricing_read_is_a_coverage_entry_and_everything_else_is_kept() {
    let (inv, _emulator, _) = collect_all(Options {
        deny: vec![Deny {
            scope: sub_id(small::S1),
            api: api::PRICINGS.into(),
        }],
        ..Options::default()
    })
    .await;
    let ReadState::Failed(read) = inv.read_state(&sub_id(small::S1), api::PRICINGS) else {
        panic!("the denied read is recorded");
    };
    assert_eq!(read.status, ReadStatus::Denied);
    assert_eq!(read.http_status, Some(403));
    assert_eq!(read.code.as_deref(), Some("AuthorizationFailed"));
    assert!(
        read.message
            .as_deref()
            .unwrap_or_default()
            .contains("does not have authorization")
    );
    assert!(!inv.pricings.contains_key(small::S1));
    // The machines under the denied subscription are denied too (scope prefix), recorded per machine.
    assert!(
        matches!(inv.read_state(small::NODE_VMSS, api::PRICINGS), ReadState::Failed(r) if r.http_status == Some(403))
    );
    // Other data intact.
    assert_eq!(inv.pricings[small::S2].len(), 1);
    assert_eq!(inv.clusters.len(), 1);
    assert_eq!(inv.registries.len(), 1);
    assert!(inv.read_state(&sub_id(small::S2), api::PRICINGS).is_ok());
    assert_eq!(
        inv.gaps().count(),
        3,
        "subscription pricings + two machine pricings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out_and_counted() {
    let (inv, _emulator, client) = collect_all(Options {
        throttle: vec![Throttle {
            api: api::CLUSTERS.into(),
            times: 3,
            retry_after_secs: 2,
        }],
        ..Options::default()
    })
    .await;
    assert_eq!(inv.gaps().count(), 0);
    assert_eq!(inv.clusters.len(), 1);
    let stats = client.stats();
    assert_eq!(stats.throttled, 3);
    assert_eq!(stats.retries, 3);
    // Retry-After: 2 s, scaled by 1/1000 in tests: 2 ms per wait.
    assert_eq!(stats.waited, std::time::Duration::from_millis(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_that_never_recovers_fails_one_read_and_collection_goes_on() {
    let emulator = tenants::start(
        "small",
        Options {
            fail: vec![Fail {
                api: api::REGISTRIES.into(),
                times: 1000,
                status: 503,
            }],
            ..Options::default()
        },
    )
    .await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca)
        .await
        .with_retry_policy(fast_retries(2));
    let inv = collect::run(&client, RequestedScope::default(), &Plan::everything())
        .await
        .expect("a failing API does not stop collection");
    for sub in [small::S1, small::S2] {
        let ReadState::Failed(read) = inv.read_state(&sub_id(sub), api::REGISTRIES) else {
            panic!("registries of {sub} recorded as failed");
        };
        assert_eq!(read.status, ReadStatus::Failed);
        assert_eq!(read.http_status, Some(503));
        assert_eq!(read.code.as_deref(), Some("ServiceUnavailable"));
        assert!(
            read.message
                .as_deref()
                .unwrap_or_default()
                .contains("gave up after 2 retries")
        );
    }
    assert!(inv.registries.is_empty() && inv.registry_tokens.is_empty());
    assert_eq!(inv.clusters.len(), 1);
    assert!(inv.read_state(&sub_id(small::S1), api::CLUSTERS).is_ok());
    assert_eq!(inv.gaps().count(), 2);
    assert_eq!(client.stats().retries, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_group_scope_audits_its_subtree_only() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let scope = RequestedScope {
        management_group: Some("LandingZones".into()),
        subscriptions: Vec::new(),
    };
    let inv = collect::run(&client, scope.clone(), &Plan::everything())
        .await
        .unwrap();
    assert_eq!(inv.scope, scope);
    let subs: Vec<&str> = inv
        .subscriptions
        .iter()
        .map(|s| s.subscription_id.as_str())
        .collect();
    assert_eq!(subs, [small::S1]);
    assert_eq!(
        inv.skipped_subscriptions.len(),
        1,
        "S3 is under landingzones but disabled"
    );
    assert_eq!(
        inv.subscriptions[0].management_group_ancestors.as_deref(),
        Some(&["corp", "landingzones", "alz", small::TENANT].map(String::from)[..])
    );
    assert!(
        inv.machines
            .iter()
            .all(|m| arm::subscription_of(arm::id(m)).as_deref() == Some(small::S1))
    );
    assert!(
        inv.read_state(
            "/providers/Microsoft.Management/managementGroups/LandingZones",
            api::MG_DESCENDANTS
        )
        .is_ok()
    );
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|r| r.path_and_query.contains(small::S2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_root_group_the_chain_above_the_named_group_is_asked_for() {
    let emulator = tenants::start(
        "small",
        Options {
            deny: vec![Deny {
                scope: format!(
                    "/providers/Microsoft.Management/managementGroups/{}",
                    small::TENANT
                ),
                api: api::MG_DESCENDANTS.into(),
            }],
            ..Options::default()
        },
    )
    .await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let scope = RequestedScope {
        management_group: Some("landingzones".into()),
        subscriptions: vec![small::S1.to_uppercase(), sub_id(small::S2)],
    };
    let inv = collect::run(&client, scope, &Plan::everything())
        .await
        .unwrap();
    let root = format!(
        "/providers/Microsoft.Management/managementGroups/{}",
        small::TENANT
    );
    assert!(
        matches!(inv.read_state(&root, api::MG_DESCENDANTS), ReadState::Failed(r) if r.status == ReadStatus::Denied)
    );
    assert_eq!(inv.subscriptions.len(), 1);
    assert_eq!(
        inv.subscriptions[0].management_group_ancestors.as_deref(),
        Some(&["corp", "landingzones", "alz", small::TENANT].map(String::from)[..])
    );
    assert!(
        emulator.requests().iter().any(|r| r
            .path_and_query
            .contains("managementGroups/landingzones?")
            && r.path_and_query.contains("expand=path")),
        "the group was asked for its path"
    );
    let skipped: Vec<(&str, &str)> = inv
        .skipped_subscriptions
        .iter()
        .map(|s| (s.id.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        skipped.contains(&(
            sub_id(small::S2).as_str(),
            "not under management group 'landingzones'"
        )),
        "{skipped:?}"
    );

    // The groups above come with their display names from the path.
    let alz = inv
        .management_groups
        .iter()
        .find(|g| g.name == "alz")
        .unwrap();
    assert_eq!(alz.display_name.as_deref(), Some("Azure Landing Zones"));
    assert_eq!(alz.parent.as_deref(), Some(small::TENANT));

    // When the named group itself cannot be read, the chain is unknown, not partial.
    let denied_groups = tenants::start(
        "small",
        Options {
            deny: vec![
                Deny {
                    scope: root.clone(),
                    api: api::MG_DESCENDANTS.into(),
                },
                Deny {
                    scope: "/providers/Microsoft.Management/managementGroups/landingzones".into(),
                    api: collect::MANAGEMENT_GROUPS_API.into(),
                },
            ],
            ..Options::default()
        },
    )
    .await;
    let ca = ca_file(&denied_groups);
    let client = connect_secret(&denied_groups, &ca).await;
    let scope = RequestedScope {
        management_group: Some("landingzones".into()),
        subscriptions: Vec::new(),
    };
    let inv = collect::run(&client, scope, &Plan::everything())
        .await
        .unwrap();
    assert_eq!(inv.subscriptions.len(), 1);
    assert_eq!(inv.subscriptions[0].management_group_ancestors, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_subscriptions_are_read_one_by_one_and_unknown_ones_recorded() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let missing = "dddddddd-0000-4000-8000-00000000000d";
    let scope = RequestedScope {
        management_group: None,
        subscriptions: vec![small::S2.into(), missing.into(), small::S3.into()],
    };
    let inv = collect::run(&client, scope, &Plan::new([api::PRICINGS], [""; 0]))
        .await
        .unwrap();
    assert_eq!(inv.subscriptions.len(), 1);
    assert_eq!(inv.subscriptions[0].subscription_id, small::S2);
    assert_eq!(inv.skipped_subscriptions[0].state, "Disabled");
    let ReadState::Failed(read) = inv.read_state(&sub_id(missing), api::SUBSCRIPTIONS) else {
        panic!("the unknown subscription is recorded");
    };
    assert_eq!(
        (read.status, read.code.as_deref()),
        (ReadStatus::NotFound, Some("SubscriptionNotFound"))
    );
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/subscriptions?"))
    );
    // No hierarchy was wanted: nothing about management groups was read.
    assert!(inv.management_groups.is_empty());
    assert_eq!(inv.subscriptions[0].management_group_ancestors, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_limits_what_is_called() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let inv = collect::run(
        &client,
        RequestedScope::default(),
        &Plan::new([api::CLUSTERS], [""; 0]),
    )
    .await
    .unwrap();
    assert_eq!(inv.clusters.len(), 1);
    assert!(
        inv.registries.is_empty() && inv.machines.is_empty() && inv.policy_assignments.is_empty()
    );
    assert_eq!(
        inv.read_state(&sub_id(small::S1), api::REGISTRIES),
        ReadState::NotCollected
    );
    // token + subscription list + clusters of two subscriptions
    assert_eq!(emulator.request_count(), 4, "{:#?}", emulator.requests());

    // Policy GUIDs bring in set members (only the wanted one), and the hierarchy.
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let plan = Plan::new(
        [api::POLICY_ASSIGNMENTS],
        [small::MEMBER_GUID.to_uppercase()],
    );
    let inv = collect::run(&client, RequestedScope::default(), &plan)
        .await
        .unwrap();
    assert_eq!(ids(&inv.policy_set_definitions), [small::SET]);
    assert_eq!(
        ids(&inv.policy_definitions),
        [format!(
            "/providers/Microsoft.Authorization/policyDefinitions/{}",
            small::MEMBER_GUID
        )]
    );
    assert!(
        inv.subscriptions
            .iter()
            .all(|s| s.management_group_ancestors.is_some())
    );
    assert_eq!(inv.gaps().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_sign_in_with_entras_reason() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let options = options(&emulator, &ca.path, AuthMethod::Env);
    let err = connect_with(&options, &service_principal_env("not-the-secret"))
        .await
        .unwrap_err();
    let AuthError::Failed {
        method,
        http_status,
        message,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((*method, *http_status), (AuthMethod::Env, Some(401)));
    assert!(
        message.contains("Invalid client secret") && message.contains("AADSTS7000215"),
        "{message}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-secret"), "{shown}");

    // Without the CA the emulator's certificate is not trusted: sign-in fails, naming TLS.
    let mut untrusted = options.clone();
    untrusted.ca_cert = None;
    untrusted.max_retries = 0;
    let err = connect_with(&untrusted, &service_principal_env(small::CLIENT_SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Failed {
                method: AuthMethod::Env,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("UnknownIssuer") && text.contains("--ca-cert"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_signs_in_with_a_client_assertion() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bHphdWRpdCJ9.c2ln",
    )
    .unwrap();
    let env = Environment::from_vars([
        ("AZURE_TENANT_ID", small::TENANT.to_string()),
        ("AZURE_CLIENT_ID", small::FEDERATED_CLIENT_ID.to_string()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            token_file.display().to_string(),
        ),
    ]);
    let options = options(&emulator, &ca.path, AuthMethod::Auto);
    let client = connect_with(&options, &env)
        .await
        .expect("workload identity signs in");
    assert!(
        format!("{client:?}").contains("WorkloadIdentity"),
        "{client:?}"
    );
    assert_eq!(client.tenant(), Some(small::TENANT));
    let inv = collect::run(
        &client,
        RequestedScope::default(),
        &Plan::new([api::CLUSTERS], [""; 0]),
    )
    .await
    .unwrap();
    assert_eq!(inv.clusters.len(), 1);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_through_a_failing_service_principal_to_the_cli_and_renews_on_401() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let dir = tempfile::tempdir().unwrap();
    // The first token ARM refuses (say, revoked); after the 401 the CLI is asked again.
    tenants::stand_in_az(dir.path(), &["revoked-token", small::STATIC_TOKEN]);
    let mut vars = vec![
        (
            "PATH".to_string(),
            format!("{}:/usr/bin:/bin", dir.path().display()),
        ),
        ("AZURE_TENANT_ID".to_string(), small::TENANT.to_string()),
        ("AZURE_CLIENT_ID".to_string(), small::CLIENT_ID.to_string()),
        ("AZURE_CLIENT_SECRET".to_string(), "wrong".to_string()),
    ];
    vars.sort();
    let options = options(&emulator, &ca.path, AuthMethod::Auto);
    let client = connect_with(&options, &Environment::from_vars(vars))
        .await
        .expect("auto reaches the CLI");
    assert!(format!("{client:?}").contains("Cli"), "{client:?}");
    let inv = collect::run(
        &client,
        RequestedScope::default(),
        &Plan::new([api::CLUSTERS], [""; 0]),
    )
    .await
    .unwrap();
    assert_eq!(inv.clusters.len(), 1);
    assert_eq!(client.stats().retries, 1, "one renewal after the 401");
    let log = std::fs::read_to_string(dir.path().join("az.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(
        log.lines()
            .all(|l| l.starts_with("account get-access-token -o json --scope ")),
        "{log}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_after_renewal_stops_collection_with_the_sign_in_hint() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let dir = tempfile::tempdir().unwrap();
    tenants::stand_in_az(dir.path(), &["revoked-token"]);
    let env = Environment::from_vars([("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))]);
    let mut options = options(&emulator, &ca.path, AuthMethod::Cli);
    options.tenant = Some(small::TENANT.into());
    let client = connect_with(&options, &env)
        .await
        .expect("the CLI hands out a token");
    let err = collect::run(&client, RequestedScope::default(), &Plan::everything())
        .await
        .unwrap_err();
    let CollectError::SignIn { url, message } = &err else {
        panic!("{err:?}");
    };
    assert!(url.contains("/subscriptions"), "{url}");
    assert!(
        message.starts_with("the token was refused (401): sign in again with `az login`"),
        "{message}"
    );
    assert!(!err.to_string().contains("revoked-token"));
    let log = std::fs::read_to_string(dir.path().join("az.log")).unwrap();
    assert!(
        log.contains(&format!("--tenant {}", small::TENANT)),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_arm_endpoint_is_fatal_and_named() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut options = options(&emulator, &ca.path, AuthMethod::Env);
    options.arm_endpoint = Some(dead.clone());
    let client = connect_with(&options, &service_principal_env(small::CLIENT_SECRET))
        .await
        .expect("sign-in only needs the authority")
        .with_retry_policy(fast_retries(1));
    let err = collect::run(&client, RequestedScope::default(), &Plan::everything())
        .await
        .unwrap_err();
    let CollectError::Unreachable { url, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(url.starts_with(&dead), "{url}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach ARM at {dead}")),
        "{err}"
    );
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_endpoint_off_loopback_is_refused() {
    let options = lzaudit::azure::ConnectOptions {
        auth: AuthMethod::Env,
        arm_endpoint: Some("http://management.example.org".into()),
        ..Default::default()
    };
    let err = connect_with(&options, &Environment::default())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Endpoint(_)), "{err:?}");
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_inside_the_renewal_margin_are_renewed_before_use() {
    // One-minute tokens are inside the five-minute margin: every ARM request gets a fresh one.
    let (inv, emulator, client) = collect_all(Options {
        token_lifetime_secs: 60,
        ..Options::default()
    })
    .await;
    assert_eq!(inv.gaps().count(), 0);
    let token_requests = emulator
        .requests()
        .iter()
        .filter(|r| r.api.as_deref() == Some(lzaudit_emulator::TOKEN_API))
        .count() as u64;
    assert_eq!(token_requests, client.stats().requests + 1);
    assert_eq!(client.stats().retries, 0, "no request was refused");
}
