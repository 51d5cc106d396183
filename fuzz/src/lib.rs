//! What the fuzz targets share: the built-in catalogue and profiles, the example tenant as a
//! base inventory, the audit and every renderer.
//!
//! Everything built from the repository's own files is built once per process (`OnceLock`), so
//! an execution pays only for what depends on its input. A failure to build these is a bug in
//! the repository, not in the input, so it panics (and the fuzzer stops at once, loudly).

use std::sync::OnceLock;

use lzaudit::audit;
use lzaudit::catalogue::Catalogue;
use lzaudit::inventory::{Inventory, Read, Subscription, api, arm, snapshot};
use lzaudit::profile::Profile;
use lzaudit::report::{self, Origin, Report};
use serde_json::Value;

/// The example tenant's snapshot, as committed.
pub const EXAMPLE_SNAPSHOT: &str = include_str!("../../examples/contoso/snapshot.json");

/// The one subscription the small base inventory keeps (contoso-corp-prod: clusters,
/// registries, machines, pricings, policy, network).
pub const BASE_SUBSCRIPTION: &str = "11111111-1111-4111-8111-111111111111";

/// The management groups above a subscription the fuzzer names, so archetype and policy
/// inheritance questions have an answer.
const CORP_ANCESTORS: &[&str] = &[
    "contoso-corp",
    "contoso-landingzones",
    "contoso",
    "8f3c2a61-4b7e-4d0a-9c1e-2f5b6a7c8d90",
];

/// Every API a subscription is read with, recorded as read for subscriptions the fuzzer adds.
const SUBSCRIPTION_APIS: &[&str] = &[
    api::CLUSTERS,
    api::REGISTRIES,
    api::VIRTUAL_MACHINES,
    api::SCALE_SETS,
    api::ARC_MACHINES,
    api::PRICINGS,
    api::POLICY_ASSIGNMENTS,
    api::POLICY_EXEMPTIONS,
    api::PRIVATE_ENDPOINTS,
    api::PRIVATE_DNS_ZONES,
    api::VIRTUAL_NETWORKS,
    api::ROUTE_TABLES,
    api::NETWORK_SECURITY_GROUPS,
];

pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue::builtin().expect("the built-in catalogue loads"))
}

/// A built-in profile by name (`caf-aks`, `caf-aks-strict`, …).
pub fn builtin_profile(name: &str) -> Profile {
    Profile::load(name, catalogue()).expect("a built-in profile loads")
}

pub fn strict_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| builtin_profile("caf-aks-strict"))
}

pub fn default_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| builtin_profile("caf-aks"))
}

/// The whole example tenant (five subscriptions, five clusters, three registries).
pub fn example() -> &'static Inventory {
    static EXAMPLE: OnceLock<Inventory> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        snapshot::from_str(EXAMPLE_SNAPSHOT, "examples/contoso/snapshot.json")
            .expect("the example snapshot loads")
    })
}

/// The example tenant cut down to one subscription, so an audit of it takes about a
/// millisecond: every resource, keyed list and read outside `BASE_SUBSCRIPTION` is dropped,
/// while tenant- and management-group-level data (policy, the MG tree) stays.
pub fn small() -> &'static Inventory {
    static SMALL: OnceLock<Inventory> = OnceLock::new();
    SMALL.get_or_init(|| {
        let mut inv = example().clone();
        let prefix = format!("/subscriptions/{BASE_SUBSCRIPTION}");
        let keep = |id: &str| {
            !id.to_ascii_lowercase().starts_with("/subscriptions/")
                || arm::is_scope_prefix(&prefix, id)
        };
        inv.subscriptions
            .retain(|s| arm::eq_ci(&s.subscription_id, BASE_SUBSCRIPTION));
        inv.skipped_subscriptions.clear();
        for list in [
            &mut inv.clusters,
            &mut inv.registries,
            &mut inv.machines,
            &mut inv.policy_assignments,
            &mut inv.policy_exemptions,
            &mut inv.role_assignments,
            &mut inv.cluster_role_assignments,
            &mut inv.private_endpoints,
            &mut inv.private_dns_zones,
            &mut inv.virtual_networks,
            &mut inv.route_tables,
            &mut inv.network_security_groups,
        ] {
            list.retain(|v| keep(arm::id(v)));
        }
        for map in [
            &mut inv.registry_private_endpoint_connections,
            &mut inv.registry_tokens,
            &mut inv.private_dns_zone_groups,
            &mut inv.private_dns_zone_links,
            &mut inv.diagnostic_settings,
            &mut inv.assessments,
            &mut inv.policy_states,
        ] {
            map.retain(|k, _| keep(k));
        }
        inv.resource_pricings.retain(|k, _| keep(k));
        inv.pricings.retain(|k, _| arm::eq_ci(k, BASE_SUBSCRIPTION));
        inv.reads.retain(|r| keep(&r.scope));
        inv
    })
}

/// The items of an ARM answer: a list page's `value`, an array's elements, or the value itself.
pub fn items(payload: &Value) -> Vec<Value> {
    match payload {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get("value") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![payload.clone()],
        },
        other => vec![other.clone()],
    }
}

/// Makes the subscription a payload's `id` names an audited one (under the corp landing zone,
/// every subscription API read), so the checks judge the payload instead of skipping it as out
/// of scope.
pub fn adopt_subscription<V: arm::Tree + ?Sized>(inv: &mut Inventory, resource: &V) {
    let id = arm::id(resource);
    let mut segments = id.split('/').filter(|s| !s.is_empty());
    if !segments
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"))
    {
        return;
    }
    let Some(guid) = segments.next() else {
        return;
    };
    if inv.subscription(guid).is_some() {
        return;
    }
    let scope = format!("/subscriptions/{guid}");
    for api in SUBSCRIPTION_APIS {
        inv.reads.push(Read::ok(&scope, api));
    }
    inv.subscriptions.push(Subscription {
        id: scope,
        subscription_id: guid.to_ascii_lowercase(),
        display_name: format!("fuzz-{guid}"),
        state: "Enabled".into(),
        management_group_ancestors: Some(CORP_ANCESTORS.iter().map(|s| s.to_string()).collect()),
    });
}

pub fn today() -> time::Date {
    time::Date::from_calendar_date(2026, time::Month::June, 1).expect("a valid date")
}

/// One audit of `inventory` under `profile`, with the built-in catalogue.
pub fn audit(inventory: &Inventory, profile: &Profile) -> Report {
    audit::run(
        inventory,
        catalogue(),
        profile,
        today(),
        Origin {
            source: "fuzz",
            fail_on: "high",
            generated_at: "2026-06-01T00:00:00Z".into(),
        },
    )
}

/// Every output format of a report (and the Azure DevOps issue lines).
pub fn render_all(report: &Report) {
    let cat = catalogue();
    let outputs = [
        report::json::render(report),
        report::table::render(report, false, 100, lzaudit::cli::Show::All),
        report::table::render(report, true, 40, lzaudit::cli::Show::Issues),
        report::markdown::render(report),
        report::html::render(report, cat),
        report::sarif::render(report, cat),
        report::junit::render(report),
        report::csv::render(report),
    ];
    // The JSON report is what `lzaudit diff` reads back: it must parse.
    serde_json::from_str::<Value>(&outputs[0]).expect("the JSON report is JSON");
    serde_json::from_str::<Value>(&outputs[5]).expect("the SARIF report is JSON");
    std::hint::black_box(outputs);
    std::hint::black_box(report::azure_devops::issues(report, 10));
}
