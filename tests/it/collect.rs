//! Sign-in and collection against the loopback emulator: the real token exchange over HTTPS,
//! ARM over HTTP, paging (GET `nextLink`s and POSTed `@odata.nextLink`s), odd casing, denied
//! and failing reads recorded as coverage, retries counted, scoping by management group and
//! subscription, the data of the full catalogue (network, diagnostic settings, assessments,
//! policy states, supported versions, role assignments at clusters), the exact request budget
//! of a small tenant, and what each plan does and does not call.

use std::collections::BTreeMap;

use lzaudit::azure::{AuthError, AuthMethod, Environment, Method, connect_with};
use lzaudit::collect::{self, CollectError, Plan};
use lzaudit::inventory::views::{ASSESSMENT_METADATA_SCOPE, kubernetes_versions_scope};
use lzaudit::inventory::{Inventory, ReadState, ReadStatus, RequestedScope, api, arm};
use lzaudit_emulator::{Deny, Emulator, Fail, Options, Throttle};

use crate::support::tenants::{
    self, ca_file, collect_everything, connect_secret, fast_retries, options, regions,
    service_principal_env, small,
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
    let inventory = collect_everything(&client)
        .await
        .expect("collection succeeds");
    (inventory, emulator, client)
}

fn ids(list: &[lzaudit::json::Value]) -> Vec<String> {
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

    // Policy: assignments deduplicated across subscriptions, every referenced definition. The
    // one at the cluster's resource group is read too: it covers the cluster, and a list that
    // left it out (`$filter=atScope()`) would let coverage call the cluster uncovered.
    assert_eq!(inv.policy_assignments.len(), 5);
    assert!(
        inv.policy_assignments
            .iter()
            .any(|a| a["properties"]["scope"]
                == "/subscriptions/a1a1a1a1-0000-4000-8000-000000000001/resourceGroups/rg-aks"),
        "the resource-group assignment is collected"
    );
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

    // 1 token + 1 subscription list + 1 root descendants + 2 × 13 subscription lists (8 as
    // before, 5 network) + 5 registry reads (PE connections, tokens, role assignments,
    // diagnostic settings, assessments) + 4 cluster reads (diagnostic settings, assessments,
    // policy states, role assignments) + 1 zone group + 1 zone's links + 1 location's versions
    // + 2 AKS machine pricings + 4 distinct definitions + 1 tenant-level assessment metadata
    // list.
    assert_eq!(emulator.request_count(), 48, "{:#?}", emulator.requests());
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (47, 0, 0));
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
    // Retry-After: 2 s, scaled by 1/1000 in tests: 2 ms per wait, plus up to half of it
    // again as jitter (and other requests of the subscription held back by the pause).
    assert!(
        (std::time::Duration::from_millis(6)..std::time::Duration::from_millis(500))
            .contains(&stats.waited),
        "{:?}",
        stats.waited
    );
    assert_eq!(stats.abandoned, 0);
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
    let inv = collect_everything(&client)
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
    let inv = collect::run(&client, scope.clone(), &Plan::everything(), None)
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
    let inv = collect::run(&client, scope, &Plan::everything(), None)
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
    let inv = collect::run(&client, scope, &Plan::everything(), None)
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
    let inv = collect::run(&client, scope, &Plan::new([api::PRICINGS], [""; 0]), None)
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
        None,
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

    // Policy GUIDs alone (a check that only documents related policies) cost nothing.
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let plan = Plan::new([api::CLUSTERS], [small::MEMBER_GUID]);
    collect::run(&client, RequestedScope::default(), &plan, None)
        .await
        .unwrap();
    assert_eq!(emulator.request_count(), 4, "{:#?}", emulator.requests());

    // With the policy APIs, the GUIDs select the set members to read (only the wanted one);
    // the hierarchy comes too.
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let plan = Plan::new(
        [
            api::POLICY_ASSIGNMENTS,
            api::POLICY_SET_DEFINITIONS,
            api::POLICY_DEFINITIONS,
        ],
        [small::MEMBER_GUID.to_uppercase()],
    );
    let inv = collect::run(&client, RequestedScope::default(), &plan, None)
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
        tenants::service_account_token(small::WI_ISSUER, small::WI_SUBJECT),
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
        None,
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
        None,
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
    let err = collect_everything(&client).await.unwrap_err();
    let CollectError::SignIn {
        method,
        url,
        message,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*method, Method::Get);
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
    let err = collect_everything(&client).await.unwrap_err();
    let CollectError::Unreachable { url, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(url.starts_with(&dead), "{url}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach ARM at {dead}")),
        "{err}"
    );
    // Every request the scope phase sent (the subscription list, and the root group's
    // descendants read beside it) was tried once more, then given up.
    let stats = client.stats();
    assert_eq!(stats.retries * 2, stats.requests, "{stats:?}");
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

/// Collects a tenant fixture with a plan; returns the inventory and the emulator (its log).
async fn collect_plan(tenant: &str, options: Options, plan: &Plan) -> (Inventory, Emulator) {
    let emulator = tenants::start(tenant, options).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let inventory = collect::run(&client, RequestedScope::default(), plan, None)
        .await
        .expect("collection succeeds");
    (inventory, emulator)
}

/// ARM requests served, counted by the API the emulator classified them as (the token
/// request left out).
fn requests_by_api(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in emulator.requests() {
        let api = request.api.unwrap_or_default();
        if api != lzaudit_emulator::TOKEN_API {
            *counts.entry(api).or_insert(0) += 1;
        }
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(a, n)| (a.to_string(), *n)).collect()
}

fn lower(id: &str) -> String {
    id.to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_of_the_full_catalogue_is_collected_with_its_coverage() {
    let (inv, emulator, _) = collect_all(Options::default()).await;
    assert_eq!(
        inv.gaps().count(),
        0,
        "{:#?}",
        inv.gaps().collect::<Vec<_>>()
    );

    // Network, per subscription, with each parent's child list keyed by its lower-cased ID.
    assert_eq!(ids(&inv.private_endpoints), [small::PRIVATE_ENDPOINT]);
    let groups = &inv.private_dns_zone_groups[&lower(small::PRIVATE_ENDPOINT)];
    assert_eq!(groups.len(), 1);
    assert_eq!(
        arm::array_at(&groups[0], "properties.privateDnsZoneConfigs").unwrap()[0]["properties"]["privateDnsZoneId"],
        small::DNS_ZONE
    );
    assert_eq!(ids(&inv.private_dns_zones), [small::DNS_ZONE]);
    let links = &inv.private_dns_zone_links[&lower(small::DNS_ZONE)];
    let linked: Vec<&str> = links
        .iter()
        .filter_map(|l| arm::str_at(l, "properties.virtualNetwork.id"))
        .collect();
    assert_eq!(linked, [small::SPOKE_VNET, small::HUB_VNET]);
    assert_eq!(
        ids(&inv.virtual_networks),
        [small::SPOKE_VNET, small::HUB_VNET]
    );
    assert_eq!(ids(&inv.route_tables), [small::ROUTE_TABLE]);
    assert_eq!(ids(&inv.network_security_groups), [small::NSG]);
    for sub in [small::S1, small::S2] {
        for api_name in [
            api::PRIVATE_ENDPOINTS,
            api::PRIVATE_DNS_ZONES,
            api::VIRTUAL_NETWORKS,
            api::ROUTE_TABLES,
            api::NETWORK_SECURITY_GROUPS,
        ] {
            assert!(
                inv.read_state(&sub_id(sub), api_name).is_ok(),
                "{sub} {api_name}"
            );
        }
    }
    assert!(
        inv.read_state(small::PRIVATE_ENDPOINT, api::PRIVATE_DNS_ZONE_GROUPS)
            .is_ok()
    );
    assert!(
        inv.read_state(small::DNS_ZONE, api::PRIVATE_DNS_ZONE_LINKS)
            .is_ok()
    );

    // Diagnostic settings and assessments of the cluster and of the registry.
    let cluster = lower(small::CLUSTER);
    let registry = lower(small::REGISTRY);
    assert_eq!(
        inv.diagnostic_settings[&cluster][0]["properties"]["logs"][0]["category"],
        "kube-audit-admin"
    );
    assert_eq!(
        inv.diagnostic_settings[&registry][0]["properties"]["logs"][0]["categoryGroup"],
        "allLogs"
    );
    assert_eq!(
        inv.assessments[&cluster][0]["properties"]["status"]["code"],
        "Unhealthy"
    );
    assert_eq!(
        arm::name(&inv.assessments[&registry][0]),
        "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5"
    );
    for resource in [small::CLUSTER, small::REGISTRY] {
        for api_name in [api::DIAGNOSTIC_SETTINGS, api::ASSESSMENTS] {
            assert!(
                inv.read_state(resource, api_name).is_ok(),
                "{resource} {api_name}"
            );
        }
    }

    // The cluster's policy states: its own records only (the registry's is filtered out).
    let states = &inv.policy_states[&cluster];
    assert_eq!(states.len(), small::CLUSTER_POLICY_STATES);
    assert!(
        states
            .iter()
            .all(|s| arm::eq_ci(arm::str_at(s, "resourceId").unwrap(), small::CLUSTER))
    );
    assert!(
        states
            .iter()
            .any(|s| s["complianceState"] == "NonCompliant")
    );
    assert_eq!(
        inv.policy_states.len(),
        1,
        "states are read per cluster only"
    );
    assert!(inv.read_state(small::CLUSTER, api::POLICY_STATES).is_ok());

    // Role assignments along the cluster's scope chain: its own, the subscription's, alz's.
    assert_eq!(inv.cluster_role_assignments.len(), 3);
    assert!(
        inv.cluster_role_assignments
            .iter()
            .any(|a| arm::eq_ci(arm::str_at(a, "properties.scope").unwrap(), small::CLUSTER))
    );
    assert_eq!(inv.role_assignments.len(), 3, "the registry's, unchanged");
    assert!(
        inv.read_state(small::CLUSTER, api::ROLE_ASSIGNMENTS)
            .is_ok()
    );

    // Supported versions of the one location in use, as AKS answers them (`values`).
    assert_eq!(
        inv.kubernetes_versions.keys().collect::<Vec<_>>(),
        [small::LOCATION]
    );
    assert_eq!(
        arm::array_at(&inv.kubernetes_versions[small::LOCATION], "values")
            .unwrap()
            .len(),
        4
    );
    assert!(
        inv.read_state(
            &kubernetes_versions_scope(small::LOCATION),
            api::KUBERNETES_VERSIONS
        )
        .is_ok()
    );

    // The policy-state query is a POST; everything else a GET.
    let log = emulator.requests();
    let queries: Vec<_> = log
        .iter()
        .filter(|r| r.path_and_query.contains("/queryResults"))
        .collect();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].method, "POST");
    assert!(
        queries[0]
            .path_and_query
            .starts_with(&format!("/subscriptions/{}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2019-10-01&", small::S1)),
        "{}",
        queries[0].path_and_query
    );
    assert!(
        log.iter()
            .filter(|r| r.api.as_deref() != Some(lzaudit_emulator::TOKEN_API))
            .all(|r| r.method == "GET" || r.path_and_query.contains("/queryResults"))
    );
    assert!(log.iter().all(|r| r.status == 200), "{log:#?}");

    // Nothing secret crossed into the snapshot from the new families either.
    let text = serde_json::to_string(&inv).unwrap();
    assert!(!text.contains("emulator-client-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_diagnostic_settings_on_one_cluster_fail_only_that_read() {
    let (inv, _emulator, _) = collect_all(Options {
        deny: vec![Deny {
            scope: small::CLUSTER.to_uppercase(),
            api: api::DIAGNOSTIC_SETTINGS.into(),
        }],
        ..Options::default()
    })
    .await;
    let ReadState::Failed(read) = inv.read_state(small::CLUSTER, api::DIAGNOSTIC_SETTINGS) else {
        panic!("the denied read is recorded");
    };
    assert_eq!(
        (read.status, read.http_status, read.code.as_deref()),
        (ReadStatus::Denied, Some(403), Some("AuthorizationFailed"))
    );
    assert!(
        read.message
            .as_deref()
            .unwrap_or_default()
            .contains("Microsoft.Insights/diagnosticSettings/read"),
        "{read:?}"
    );
    assert!(!inv.diagnostic_settings.contains_key(&lower(small::CLUSTER)));
    // The registry's diagnostic settings and the cluster's other reads are intact.
    assert!(
        inv.read_state(small::REGISTRY, api::DIAGNOSTIC_SETTINGS)
            .is_ok()
    );
    assert_eq!(inv.diagnostic_settings[&lower(small::REGISTRY)].len(), 1);
    for api_name in [api::ASSESSMENTS, api::POLICY_STATES, api::ROLE_ASSIGNMENTS] {
        assert!(
            inv.read_state(small::CLUSTER, api_name).is_ok(),
            "{api_name}"
        );
    }
    assert_eq!(
        inv.gaps().count(),
        1,
        "{:#?}",
        inv.gaps().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_failing_reads_of_the_new_families_are_coverage_entries() {
    let emulator = tenants::start(
        "small",
        Options {
            deny: vec![
                // PolicyInsights authorises the query at the subscription it is sent to.
                Deny {
                    scope: sub_id(small::S1),
                    api: api::POLICY_STATES.into(),
                },
                Deny {
                    scope: small::DNS_ZONE.into(),
                    api: api::PRIVATE_DNS_ZONE_LINKS.into(),
                },
            ],
            fail: vec![Fail {
                api: api::VIRTUAL_NETWORKS.into(),
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
        .with_retry_policy(fast_retries(1));
    let inv = collect_everything(&client)
        .await
        .expect("failed reads do not stop collection");

    let ReadState::Failed(states) = inv.read_state(small::CLUSTER, api::POLICY_STATES) else {
        panic!("the denied query is recorded against the cluster");
    };
    assert_eq!(
        (states.status, states.http_status),
        (ReadStatus::Denied, Some(403))
    );
    assert!(inv.policy_states.is_empty());
    let ReadState::Failed(links) = inv.read_state(small::DNS_ZONE, api::PRIVATE_DNS_ZONE_LINKS)
    else {
        panic!("the denied links are recorded against the zone");
    };
    assert_eq!(links.status, ReadStatus::Denied);
    assert!(inv.private_dns_zone_links.is_empty());
    assert_eq!(
        ids(&inv.private_dns_zones),
        [small::DNS_ZONE],
        "the zone itself was read"
    );
    for sub in [small::S1, small::S2] {
        let ReadState::Failed(vnets) = inv.read_state(&sub_id(sub), api::VIRTUAL_NETWORKS) else {
            panic!("virtual networks of {sub} recorded as failed");
        };
        assert_eq!(
            (vnets.status, vnets.http_status, vnets.code.as_deref()),
            (ReadStatus::Failed, Some(503), Some("ServiceUnavailable"))
        );
    }
    assert!(inv.virtual_networks.is_empty());
    assert_eq!(
        inv.gaps().count(),
        4,
        "{:#?}",
        inv.gaps().collect::<Vec<_>>()
    );
    // Everything else is there.
    assert_eq!(ids(&inv.route_tables), [small::ROUTE_TABLE]);
    assert_eq!(inv.diagnostic_settings.len(), 2);
    assert_eq!(inv.kubernetes_versions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_states_page_by_posting_each_odata_next_link() {
    for null_next_link in [false, true] {
        let (inv, emulator) = collect_plan(
            "small",
            Options {
                page_size: Some(1),
                null_next_link,
                ..Options::default()
            },
            &Plan::new([api::POLICY_STATES], [""; 0]),
        )
        .await;
        assert_eq!(inv.gaps().count(), 0);
        let states = &inv.policy_states[&lower(small::CLUSTER)];
        assert_eq!(states.len(), small::CLUSTER_POLICY_STATES);
        let queries: Vec<_> = emulator
            .requests()
            .into_iter()
            .filter(|r| r.api.as_deref() == Some(api::POLICY_STATES))
            .collect();
        assert_eq!(queries.len(), small::CLUSTER_POLICY_STATES, "{queries:#?}");
        assert!(
            queries
                .iter()
                .all(|q| q.method == "POST" && q.status == 200)
        );
        assert_eq!(
            queries
                .iter()
                .filter(|q| q.path_and_query.contains("skiptoken"))
                .count(),
            small::CLUSTER_POLICY_STATES - 1
        );
        // Each follow-up page keeps the query's filter, as the link was followed verbatim.
        assert!(
            queries
                .iter()
                .all(|q| q.path_and_query.contains("filter=resourceId")),
            "{queries:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supported_versions_are_read_once_per_location_whatever_the_clusters() {
    let (inv, emulator) = collect_plan(
        "regions",
        Options::default(),
        &Plan::new([api::KUBERNETES_VERSIONS], [""; 0]),
    )
    .await;
    assert_eq!(inv.clusters.len(), regions::CLUSTERS);
    assert_eq!(
        inv.gaps().count(),
        0,
        "{:#?}",
        inv.gaps().collect::<Vec<_>>()
    );
    assert_eq!(
        inv.kubernetes_versions.keys().collect::<Vec<_>>(),
        ["northeurope", "westeurope"]
    );
    for location in ["northeurope", "westeurope"] {
        assert!(
            inv.read_state(
                &kubernetes_versions_scope(location),
                api::KUBERNETES_VERSIONS
            )
            .is_ok()
        );
    }
    let versions: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.api.as_deref() == Some(api::KUBERNETES_VERSIONS))
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(versions.len(), 2, "{versions:#?}");
    // Through the first subscription (by GUID) with a cluster in the location.
    assert!(
        versions
            .iter()
            .all(|p| p.starts_with(&format!("/subscriptions/{}/", regions::R1))),
        "{versions:#?}"
    );
    assert_eq!(
        requests_by_api(&emulator),
        counts(&[
            (api::SUBSCRIPTIONS, 1),
            (api::CLUSTERS, 2),
            (api::KUBERNETES_VERSIONS, 2),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_unreadable_through_one_subscription_is_read_through_the_next() {
    let (inv, emulator) = collect_plan(
        "regions",
        Options {
            deny: vec![Deny {
                scope: sub_id(regions::R1),
                api: api::KUBERNETES_VERSIONS.into(),
            }],
            ..Options::default()
        },
        &Plan::new([api::KUBERNETES_VERSIONS], [""; 0]),
    )
    .await;
    // West Europe answers through R2 as well: read, and no gap.
    assert!(
        inv.read_state(
            &kubernetes_versions_scope("westeurope"),
            api::KUBERNETES_VERSIONS
        )
        .is_ok()
    );
    assert!(inv.kubernetes_versions.contains_key("westeurope"));
    // North Europe does not (the fixture stores it only at R1's path): the first failure,
    // R1's 403, is what is recorded.
    let ReadState::Failed(read) = inv.read_state(
        &kubernetes_versions_scope("northeurope"),
        api::KUBERNETES_VERSIONS,
    ) else {
        panic!("north europe recorded as failed");
    };
    assert_eq!(
        (read.status, read.http_status),
        (ReadStatus::Denied, Some(403))
    );
    assert!(!inv.kubernetes_versions.contains_key("northeurope"));
    assert_eq!(inv.gaps().count(), 1);
    assert_eq!(requests_by_api(&emulator)[api::KUBERNETES_VERSIONS], 4);
    let answered: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.api.as_deref() == Some(api::KUBERNETES_VERSIONS) && r.status == 200)
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(answered.len(), 1);
    assert!(
        answered[0].starts_with(&format!(
            "/subscriptions/{}/providers/Microsoft.ContainerService/locations/westeurope/",
            regions::R2
        )),
        "{answered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plan_calls_only_what_its_checks_read() {
    let sub_lists = 1;
    let cases: Vec<(&str, Vec<&str>, BTreeMap<String, usize>)> = vec![
        (
            "three cluster-property checks (AKS-020/021/022): none of the new families",
            vec![api::CLUSTERS],
            counts(&[(api::SUBSCRIPTIONS, sub_lists), (api::CLUSTERS, 2)]),
        ),
        (
            "cluster audit logs (AKS-031): the clusters' settings, no registry",
            vec![api::CLUSTERS, api::DIAGNOSTIC_SETTINGS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::CLUSTERS, 2),
                (api::DIAGNOSTIC_SETTINGS, 1),
            ]),
        ),
        (
            "registry logs (AKS-019): the registries' settings, no cluster",
            vec![api::REGISTRIES, api::DIAGNOSTIC_SETTINGS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::REGISTRIES, 2),
                (api::DIAGNOSTIC_SETTINGS, 1),
            ]),
        ),
        (
            "role assignments at clusters (AKS-023): no registry",
            vec![api::CLUSTERS, api::ROLE_ASSIGNMENTS, api::MG_DESCENDANTS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::MG_DESCENDANTS, 1),
                (api::CLUSTERS, 2),
                (api::ROLE_ASSIGNMENTS, 1),
            ]),
        ),
        (
            "assessments without a parent named: both parents",
            vec![api::ASSESSMENTS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::CLUSTERS, 2),
                (api::REGISTRIES, 2),
                (api::ASSESSMENTS, 2),
            ]),
        ),
        (
            "policy states imply the cluster list",
            vec![api::POLICY_STATES],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::CLUSTERS, 2),
                (api::POLICY_STATES, 1),
            ]),
        ),
        (
            "supported versions imply the cluster list",
            vec![api::KUBERNETES_VERSIONS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::CLUSTERS, 2),
                (api::KUBERNETES_VERSIONS, 1),
            ]),
        ),
        (
            "zone groups imply the private-endpoint lists",
            vec![api::PRIVATE_DNS_ZONE_GROUPS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::PRIVATE_ENDPOINTS, 2),
                (api::PRIVATE_DNS_ZONE_GROUPS, 1),
            ]),
        ),
        (
            "zone links imply the zone lists",
            vec![api::PRIVATE_DNS_ZONE_LINKS],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::PRIVATE_DNS_ZONES, 2),
                (api::PRIVATE_DNS_ZONE_LINKS, 1),
            ]),
        ),
        (
            "plain network lists, no children",
            vec![
                api::VIRTUAL_NETWORKS,
                api::ROUTE_TABLES,
                api::NETWORK_SECURITY_GROUPS,
                api::PRIVATE_ENDPOINTS,
            ],
            counts(&[
                (api::SUBSCRIPTIONS, sub_lists),
                (api::VIRTUAL_NETWORKS, 2),
                (api::ROUTE_TABLES, 2),
                (api::NETWORK_SECURITY_GROUPS, 2),
                (api::PRIVATE_ENDPOINTS, 2),
            ]),
        ),
    ];
    for (what, apis, expected) in cases {
        let (inv, emulator) =
            collect_plan("small", Options::default(), &Plan::new(apis, [""; 0])).await;
        assert_eq!(requests_by_api(&emulator), expected, "{what}");
        assert_eq!(inv.gaps().count(), 0, "{what}");
        let total: usize = expected.values().sum();
        assert_eq!(emulator.request_count(), total + 1, "{what}: + the token");
    }

    // What a plan did not ask for is `NotCollected`, never an empty success.
    let (inv, _) = collect_plan(
        "small",
        Options::default(),
        &Plan::new([api::CLUSTERS], [""; 0]),
    )
    .await;
    for (scope, api_name) in [
        (small::CLUSTER.to_string(), api::DIAGNOSTIC_SETTINGS),
        (small::CLUSTER.to_string(), api::POLICY_STATES),
        (small::CLUSTER.to_string(), api::ROLE_ASSIGNMENTS),
        (sub_id(small::S1), api::PRIVATE_ENDPOINTS),
        (
            kubernetes_versions_scope(small::LOCATION),
            api::KUBERNETES_VERSIONS,
        ),
    ] {
        assert_eq!(
            inv.read_state(&scope, api_name),
            ReadState::NotCollected,
            "{scope} {api_name}"
        );
    }
    assert!(inv.cluster_role_assignments.is_empty() && inv.policy_states.is_empty());

    // AKS-023's plan reads role assignments at clusters only.
    let (inv, _) = collect_plan(
        "small",
        Options::default(),
        &Plan::new([api::CLUSTERS, api::ROLE_ASSIGNMENTS], [""; 0]),
    )
    .await;
    assert_eq!(inv.cluster_role_assignments.len(), 3);
    assert!(inv.role_assignments.is_empty() && inv.registries.is_empty());
}

/// The tenant-level assessment metadata list is read once per run, whatever the number of
/// subscriptions and assessed resources, recorded at its own scope; naming the per-resource
/// assessments alone does not read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assessment_metadata_list_is_read_once() {
    let (inv, emulator) = collect_plan("small", Options::default(), &Plan::everything()).await;
    assert_eq!(
        requests_by_api(&emulator).get(api::ASSESSMENT_METADATA),
        Some(&1),
        "{:#?}",
        emulator.requests()
    );
    let metadata_requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("assessmentMetadata"))
        .collect();
    assert_eq!(metadata_requests.len(), 1);
    assert_eq!(
        metadata_requests[0].path_and_query,
        "/providers/Microsoft.Security/assessmentMetadata?api-version=2021-06-01"
    );
    assert_eq!(
        ids(&inv.assessment_metadata),
        ["/providers/Microsoft.Security/assessmentMetadata/c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"]
    );
    assert_eq!(inv.assessment_metadata[0]["properties"]["severity"], "High");
    assert!(
        inv.read_state(ASSESSMENT_METADATA_SCOPE, api::ASSESSMENT_METADATA)
            .is_ok()
    );
    assert_eq!(
        inv.reads
            .iter()
            .filter(|r| r.api == api::ASSESSMENT_METADATA)
            .count(),
        1
    );

    let (inv, emulator) = collect_plan(
        "small",
        Options::default(),
        &Plan::new([api::ASSESSMENTS], [""; 0]),
    )
    .await;
    assert!(!requests_by_api(&emulator).contains_key(api::ASSESSMENT_METADATA));
    assert!(inv.assessment_metadata.is_empty());

    let (inv, emulator) = collect_plan(
        "small",
        Options::default(),
        &Plan::new([api::ASSESSMENT_METADATA], [""; 0]),
    )
    .await;
    assert_eq!(
        requests_by_api(&emulator),
        counts(&[(api::SUBSCRIPTIONS, 1), (api::ASSESSMENT_METADATA, 1)])
    );
    assert_eq!(inv.assessment_metadata.len(), 1);
}
