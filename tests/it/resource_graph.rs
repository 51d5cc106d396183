//! `--source arg|auto` (Resource Graph, issue 9) against the emulator: the same findings as
//! `--source arm` on the example tenant and on a generated one; `auto` reads over ARM what
//! Resource Graph denies or fails; `arg` leaves it a gap (unknown findings, exit 3); a
//! subscription Resource Graph leaves out is a gap; its quota's 429 is waited out.

use std::path::Path;

use lzaudit::catalogue::Catalogue;
use lzaudit::collect::{self, Plan, Source};
use lzaudit::inventory::{Inventory, ReadStatus, RequestedScope, api};
use lzaudit::profile::Profile;
use lzaudit::report::{Origin, Report};
use lzaudit_emulator::{
    Chaos, ChaosKind, Deny, Emulator, GRAPH_API, GraphQuota, Options, Shape, Spec, Tenant, Throttle,
};
use serde_json::Value;

use crate::faults::{connect_first_client, connect_first_client_with};
use crate::support::bin::{command, run};
use crate::support::fixture::repo;
use crate::support::tenants::ca_file;

/// The example tenant without its `deny` list: the denials model ARM permissions the
/// emulator's Resource Graph does not apply, and the comparison needs both sources to see the
/// same tenant.
fn contoso_readable() -> Tenant {
    let text = std::fs::read_to_string(repo().join("examples/contoso/tenant.json")).unwrap();
    let mut fixture: Value = serde_json::from_str(&text).unwrap();
    fixture.as_object_mut().unwrap().remove("deny");
    Tenant::from_value(fixture).unwrap()
}

fn generated(subscriptions: usize) -> Tenant {
    Tenant::generate(&Spec {
        seed: 9,
        subscriptions,
        ..Spec::default()
    })
    .unwrap()
}

/// `lzaudit audit --format json --fail-on none --source SOURCE` as the tenant's first client.
fn audit(emulator: &Emulator, ca: &Path, source: &str) -> (Option<i32>, Value, String) {
    let tenant = emulator.tenant();
    let client = tenant.clients()[0].clone();
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", tenant.tenant_id())
        .env("AZURE_CLIENT_ID", &client.client_id)
        .env(
            "AZURE_CLIENT_SECRET",
            client.client_secret.clone().unwrap_or_default(),
        )
        .env("LZAUDIT_LOG", "info");
    let http = emulator.http_url();
    let https = emulator.https_url();
    let out = run(
        cmd,
        &[
            "audit",
            "--auth",
            "env",
            "--authority-host",
            &https,
            "--arm-endpoint",
            &http,
            "--ca-cert",
            ca.to_str().unwrap(),
            "--source",
            source,
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
    );
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.status, report, out.stderr)
}

/// The findings of a JSON report, as compared between sources: everything a finding says.
fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().expect("findings").clone()
}

/// Fails on the first finding that differs, naming it.
fn assert_same_findings(arm: &[Value], arg: &[Value], context: &str) {
    for (a, b) in arm.iter().zip(arg) {
        assert_eq!(
            a, b,
            "{context}: the first finding that differs (arm, then arg)"
        );
    }
    assert_eq!(
        arm.len(),
        arg.len(),
        "{context}: numbers of findings differ"
    );
}

fn graph_queries(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.api.as_deref() == Some(GRAPH_API))
        .count()
}

#[test]
fn arg_and_arm_give_the_same_findings_on_the_example_tenant() {
    let emulator = Emulator::start_in_thread(contoso_readable(), Options::default());
    let ca = ca_file(&emulator);
    let (arm_code, arm, _) = audit(&emulator, &ca.path, "arm");
    assert_eq!(graph_queries(&emulator), 0, "--source arm sends no query");
    let (arg_code, arg, stderr) = audit(&emulator, &ca.path, "arg");
    assert!(graph_queries(&emulator) > 0, "--source arg sent no query");
    assert!(stderr.contains("Resource Graph queries"), "{stderr}");
    assert_eq!(arm_code, arg_code, "{stderr}");
    assert!(!findings(&arm).is_empty());
    assert_same_findings(&findings(&arm), &findings(&arg), "contoso");
    assert_eq!(arm["summary"], arg["summary"]);
    // Every read of the Resource Graph run says which service answered it.
    let coverage = arg["coverage"].as_array().unwrap();
    assert!(
        coverage.iter().all(|c| c["source"].is_string()),
        "{coverage:?}"
    );
}

/// The default plan, collected in process from `source`.
async fn collect_with(emulator: &Emulator, source: Source) -> (Inventory, Report) {
    let ca = ca_file(emulator);
    let client = connect_first_client(emulator, &ca, std::time::Duration::from_secs(20)).await;
    collect_by(&client, source).await
}

/// The default plan, collected in process from `source` by `client`.
async fn collect_by(client: &lzaudit::azure::ArmClient, source: Source) -> (Inventory, Report) {
    let catalogue = Catalogue::builtin().unwrap();
    let profile = Profile::load("caf-aks", &catalogue).unwrap();
    let (apis, policy_guids) = lzaudit::audit::needs(&catalogue, &profile);
    let inventory = collect::run_from(
        client,
        RequestedScope::default(),
        &Plan { apis, policy_guids },
        None,
        source,
    )
    .await
    .expect("collection succeeds");
    let report = lzaudit::audit::run(
        &inventory,
        &catalogue,
        &profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "live",
            fail_on: "none",
            generated_at: String::new(),
        },
    );
    (inventory, report)
}

fn report_findings(report: &Report) -> Vec<Value> {
    report
        .findings
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arg_and_arm_give_the_same_findings_on_a_generated_tenant_across_pages() {
    // Seventy subscriptions: more than 1,000 inventory rows, so the queries cross pages.
    let emulator = Emulator::start(
        generated(70),
        Options {
            graph_quota: None,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let (arm_inventory, arm) = collect_with(&emulator, Source::Arm).await;
    let before = graph_queries(&emulator);
    let (arg_inventory, arg) = collect_with(&emulator, Source::Arg).await;
    assert_eq!(arm_inventory.gaps().count(), 0);
    assert_eq!(
        arg_inventory.gaps().count(),
        0,
        "{:#?}",
        arg_inventory.gaps().collect::<Vec<_>>()
    );
    let pages = graph_queries(&emulator) - before;
    let rows = arg_inventory.clusters.len()
        + arg_inventory.registries.len()
        + arg_inventory.machines.len()
        + arg_inventory.virtual_networks.len()
        + arg_inventory.network_security_groups.len()
        + arg_inventory.route_tables.len()
        + arg_inventory.private_endpoints.len()
        + arg_inventory.private_dns_zones.len();
    assert!(rows > 1000, "the inventory must span pages: {rows} rows");
    assert!(pages > 8, "{pages} Resource Graph pages");
    assert_same_findings(
        &report_findings(&arm),
        &report_findings(&arg),
        "generated tenant",
    );
    // The adapted rows carry what the ARM GET carries (the envelope Resource Graph indexes).
    assert_eq!(arm_inventory.clusters.len(), arg_inventory.clusters.len());
    for (a, g) in arm_inventory.clusters.iter().zip(&arg_inventory.clusters) {
        for key in [
            "id",
            "name",
            "location",
            "properties",
            "sku",
            "tags",
            "identity",
        ] {
            assert_eq!(a.get(key), g.get(key), "{key} of {}", a["id"]);
        }
        // Resource Graph lower-cases types; ARM's own spelling varies (`ManagedClusters`).
        let type_of =
            |v: &lzaudit::json::Value| v["type"].as_str().unwrap_or("").to_ascii_lowercase();
        assert_eq!(type_of(a), type_of(g));
    }
    assert_eq!(arm_inventory.subscriptions, arg_inventory.subscriptions);
    emulator.shutdown().await;
}

#[test]
fn auto_reads_over_arm_when_resource_graph_is_denied_and_arg_leaves_gaps() {
    let denied = Options {
        deny: vec![Deny {
            scope: "/".into(),
            api: GRAPH_API.into(),
        }],
        ..Options::default()
    };
    let emulator = Emulator::start_in_thread(contoso_readable(), Options::default());
    let ca = ca_file(&emulator);
    let (arm_code, arm, _) = audit(&emulator, &ca.path, "arm");
    emulator.set_options(denied);
    let (code, auto, stderr) = audit(&emulator, &ca.path, "auto");
    assert!(graph_queries(&emulator) > 0);
    assert_eq!(code, arm_code, "{stderr}");
    assert_eq!(
        auto["coverage"].as_array().map(Vec::len),
        arm["coverage"].as_array().map(Vec::len)
    );
    assert_same_findings(
        &findings(&arm),
        &findings(&auto),
        "auto, Resource Graph denied",
    );

    // `arg`: no fallback. Whatever Resource Graph would have answered is a gap.
    let (code, arg, stderr) = audit(&emulator, &ca.path, "arg");
    assert_eq!(code, Some(3), "partial collection: {stderr}");
    assert!(arg["coverage"].as_array().unwrap().len() > arm["coverage"].as_array().unwrap().len());
    let all = findings(&arg);
    let statuses: Vec<&str> = all
        .iter()
        .map(|f| f["status"].as_str().unwrap_or(""))
        .collect();
    assert!(statuses.contains(&"unknown"), "{statuses:?}");
    assert!(
        !statuses.contains(&"pass"),
        "nothing passes on data never read: {statuses:?}"
    );
    let gaps: Vec<&Value> = arg["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "ok" && c["source"] == "arg")
        .collect();
    assert!(
        gaps.iter()
            .any(|g| g["api"] == api::CLUSTERS && g["status"] == "denied"),
        "{gaps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_reads_over_arm_when_resource_graph_fails_or_answers_malformed_pages() {
    let emulator = Emulator::start(contoso_readable(), Options::default())
        .await
        .unwrap();
    let (_, clean) = collect_with(&emulator, Source::Arm).await;
    for kind in [
        ChaosKind::Status(503),
        ChaosKind::WrongShape(Shape::EmptyObject),
    ] {
        emulator.set_options(Options {
            chaos: Some(Chaos {
                seed: 3,
                rate: 1.0,
                persistent: 1.0,
                kinds: vec![kind.clone()],
                apis: vec![GRAPH_API.into()],
            }),
            ..Options::default()
        });
        let (inventory, auto) = collect_with(&emulator, Source::Auto).await;
        assert_eq!(
            inventory.gaps().count(),
            clean.coverage.len(),
            "{kind:?}: {:#?}",
            inventory.gaps().collect::<Vec<_>>()
        );
        assert_same_findings(
            &report_findings(&clean),
            &report_findings(&auto),
            &format!("auto under {kind:?}"),
        );
        let (inventory, _) = collect_with(&emulator, Source::Arg).await;
        assert!(
            inventory
                .gaps()
                .any(|r| r.api == api::CLUSTERS && r.status == ReadStatus::Failed),
            "{kind:?}: a failed query is a failed read"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_resource_graph_leaves_out_is_a_gap_and_auto_reads_it_over_arm() {
    let emulator = Emulator::start(contoso_readable(), Options::default())
        .await
        .unwrap();
    let (arm_inventory, arm) = collect_with(&emulator, Source::Arm).await;
    let left_out = arm_inventory
        .subscriptions
        .iter()
        .find(|s| {
            arm_inventory
                .clusters
                .iter()
                .any(|c| lzaudit::inventory::arm::id(c).contains(&s.subscription_id))
        })
        .expect("a subscription with a cluster")
        .clone();
    emulator.set_options(Options {
        deny: vec![Deny {
            scope: left_out.id.clone(),
            api: GRAPH_API.into(),
        }],
        ..Options::default()
    });
    let (inventory, _) = collect_with(&emulator, Source::Arg).await;
    let gap = inventory.read_state(&left_out.id, api::CLUSTERS);
    match gap {
        lzaudit::inventory::ReadState::Failed(read) => {
            assert_eq!(read.status, ReadStatus::Denied);
            assert_eq!(read.source.as_deref(), Some("arg"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !inventory.read_state(&left_out.id, api::PRICINGS).is_ok(),
        "every API Resource Graph would have answered is a gap"
    );
    let others_ok = inventory
        .subscriptions
        .iter()
        .filter(|s| s.id != left_out.id)
        .all(|s| inventory.read_state(&s.id, api::CLUSTERS).is_ok());
    assert!(others_ok);

    let (inventory, auto) = collect_with(&emulator, Source::Auto).await;
    assert_eq!(inventory.gaps().count(), arm_inventory.gaps().count());
    assert_same_findings(
        &report_findings(&arm),
        &report_findings(&auto),
        "auto with one subscription left out",
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_graphs_quota_and_its_429_are_waited_out() {
    let emulator = Emulator::start(
        contoso_readable(),
        Options {
            graph_quota: Some(GraphQuota {
                queries: 3,
                window: std::time::Duration::from_millis(300),
            }),
            throttle: vec![Throttle {
                api: GRAPH_API.into(),
                times: 2,
                retry_after_secs: 1,
            }],
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let (inventory, _) = collect_with(&emulator, Source::Arg).await;
    assert_eq!(
        inventory.gaps().count(),
        0,
        "{:#?}",
        inventory.gaps().collect::<Vec<_>>()
    );
    let log = emulator.requests();
    let graph: Vec<_> = log
        .iter()
        .filter(|r| r.api.as_deref() == Some(GRAPH_API))
        .collect();
    assert!(graph.len() > 3);
    let refused = graph.iter().filter(|r| r.status == 429).count();
    assert!(refused >= 2, "the injected 429s were answered");
    assert!(
        graph.iter().filter(|r| r.status == 200).count() > 3,
        "more queries than one window holds were answered"
    );
    emulator.shutdown().await;
}

/// A quota smaller than Learn's example (15 per 5 s) is learned from the answers: each new
/// window starts with the size the last one showed, so no query is sent into a window it
/// cannot fit (the client paces; the service never has to refuse). The ARM reads keep a
/// queue for their two slots meanwhile: Resource Graph's queries do not wait in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smaller_resource_graph_quota_is_learned_not_overrun() {
    let emulator = Emulator::start(
        generated(20),
        Options {
            latency: std::time::Duration::from_millis(25),
            graph_quota: Some(GraphQuota {
                queries: 2,
                window: std::time::Duration::from_secs(1),
            }),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let ca = ca_file(&emulator);
    // Two ARM reads in flight at 25 ms: the ARM remainder (about 300 reads) keeps a queue of
    // seconds waiting for a slot while the later queries are admitted.
    let client =
        connect_first_client_with(&emulator, &ca, std::time::Duration::from_secs(20), 2).await;
    let (inventory, _) = collect_by(&client, Source::Auto).await;
    assert_eq!(inventory.gaps().count(), 0);
    let graph: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.api.as_deref() == Some(GRAPH_API))
        .collect();
    assert!(graph.len() > 4, "the queries span windows: {}", graph.len());
    let refused = graph.iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0, "queries sent into a window they could not fit");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_without_a_property_a_check_reads_is_read_over_arm_by_auto_and_a_gap_for_arg() {
    // A cluster whose body lacks `properties.agentPoolProfiles` (the node pools AKS-004/005
    // read): the row cannot stand in for the ARM answer.
    let text = std::fs::read_to_string(repo().join("examples/contoso/tenant.json")).unwrap();
    let mut fixture: Value = serde_json::from_str(&text).unwrap();
    fixture.as_object_mut().unwrap().remove("deny");
    let cluster = fixture["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["type"] == api::CLUSTERS)
        .unwrap();
    cluster["properties"]
        .as_object_mut()
        .unwrap()
        .remove("agentPoolProfiles");
    let cluster_id = cluster["id"].as_str().unwrap().to_string();
    let sub = format!(
        "/subscriptions/{}",
        lzaudit::inventory::arm::subscription_of(&cluster_id).unwrap()
    );
    let emulator = Emulator::start(Tenant::from_value(fixture).unwrap(), Options::default())
        .await
        .unwrap();

    let (inventory, _) = collect_with(&emulator, Source::Arg).await;
    match inventory.read_state(&sub, api::CLUSTERS) {
        lzaudit::inventory::ReadState::Failed(read) => {
            assert_eq!(read.status, ReadStatus::Failed);
            let message = read.message.as_deref().unwrap_or("");
            assert!(
                message.contains("properties.agentPoolProfiles"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !inventory
            .clusters
            .iter()
            .any(|c| lzaudit::inventory::arm::id(c) == cluster_id),
        "a failed read stores nothing"
    );

    let (inventory, _) = collect_with(&emulator, Source::Auto).await;
    assert!(inventory.read_state(&sub, api::CLUSTERS).is_ok());
    let read = inventory
        .reads
        .iter()
        .find(|r| r.scope == sub && r.api == api::CLUSTERS)
        .unwrap();
    assert_eq!(read.source.as_deref(), Some("arm"), "read over ARM instead");
    assert!(read.api_version.is_some(), "{read:?}");
    assert_eq!(inventory.gaps().count(), 0);
    let other_sub_on_graph = inventory
        .reads
        .iter()
        .any(|r| r.api == api::CLUSTERS && r.scope != sub && r.source.as_deref() == Some("arg"));
    assert!(
        other_sub_on_graph,
        "the other subscriptions stay on Resource Graph"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_without_pricing_rows_is_not_read_as_every_plan_off() {
    // Resource Graph shows no pricing of one subscription (as when its rows are not readable
    // by the caller): ARM would list every plan, so no row is no answer, not "Free everywhere".
    let text = std::fs::read_to_string(repo().join("examples/contoso/tenant.json")).unwrap();
    let mut fixture: Value = serde_json::from_str(&text).unwrap();
    fixture.as_object_mut().unwrap().remove("deny");
    let resources = fixture["resources"].as_array_mut().unwrap();
    let pricing = resources
        .iter()
        .find(|r| r["type"] == api::PRICINGS)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let guid = lzaudit::inventory::arm::subscription_of(&pricing).unwrap();
    let sub = format!("/subscriptions/{guid}");
    resources.retain(|r| {
        !(r["type"] == api::PRICINGS
            && r["id"].as_str().is_some_and(|id| {
                id.to_ascii_lowercase()
                    .starts_with(&sub.to_ascii_lowercase())
            }))
    });
    let emulator = Emulator::start(Tenant::from_value(fixture).unwrap(), Options::default())
        .await
        .unwrap();

    let (inventory, report) = collect_with(&emulator, Source::Arg).await;
    match inventory.read_state(&sub, api::PRICINGS) {
        lzaudit::inventory::ReadState::Failed(read) => {
            let message = read.message.as_deref().unwrap_or("");
            assert!(message.contains("no Defender pricing"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let verdicts: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.check == "AKS-005" && f.subscription.eq_ignore_ascii_case(&guid))
        .map(|f| f.status.as_str())
        .collect();
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|s| *s == "unknown"),
        "{verdicts:?}"
    );

    // auto asks ARM, which answers for the subscription (here: no plan stored at all).
    let (inventory, _) = collect_with(&emulator, Source::Auto).await;
    let read = inventory
        .reads
        .iter()
        .find(|r| r.scope == sub && r.api == api::PRICINGS)
        .unwrap();
    assert_eq!(read.source.as_deref(), Some("arm"), "{read:?}");
    emulator.shutdown().await;
}
