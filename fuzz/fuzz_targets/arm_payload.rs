//! An ARM answer → inventory → audit → every report format.
//!
//! The input is JSON, shaped like what an ARM call returns: a list page (`{"value": [...]}`), an
//! array, or one resource. Its items are placed into the small example inventory as each kind
//! of resource the collectors store in turn — cluster, registry, machine, Defender pricing list,
//! resource pricing, policy assignment / definition / set definition / exemption, role
//! assignments, network objects, diagnostic settings, assessments, policy states, Kubernetes
//! versions … — and each such inventory is audited with the built-in catalogue and the strict
//! profile's checks that read that kind (the `data` APIs of the check file), its report rendered
//! as JSON. Last, the items are placed as every kind at once and audited with the whole strict
//! profile, and that report is rendered in every format. A subscription named by a payload's
//! `id` is made an audited one, so the checks judge the payload rather than skip it as out of
//! scope. Nothing the payload holds may panic the audit or a renderer.
//!
//! (Auditing every check for every kind took 25 full audits and 25 × 7 renderings per input, a
//! few executions per second; a check only sees a kind it declares reading in a live run, and
//! the final all-kinds audit still runs every check over every kind.)
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use lzaudit::inventory::{Inventory, api, arm};
use lzaudit::profile::Profile;
use lzaudit::report;
use lzaudit_fuzz as common;
use lzaudit::json::Value;

/// One kind of ARM answer: the APIs that read it, and where it goes in the inventory.
struct Kind {
    apis: &'static [&'static str],
    place: fn(&mut Inventory, Vec<Value>),
}

/// Appends to a resource list.
macro_rules! list {
    ($field:ident, $($api:expr),+) => {
        Kind {
            apis: &[$($api),+],
            place: |inv, items| inv.$field.extend(items),
        }
    };
}

/// Sets a keyed child list (connections, tokens, zone groups …) under every key the base has, and
/// under the ID of the base's first resource of the parent kind.
macro_rules! keyed {
    ($field:ident, $api:expr, $parent:expr) => {
        Kind {
            apis: &[$api],
            place: |inv, items| {
                let parent: fn(&Inventory) -> Option<String> = $parent;
                let key = parent(inv);
                set_every(&mut inv.$field, key, items)
            },
        }
    };
}

fn set_every<T: Clone>(map: &mut BTreeMap<String, T>, extra: Option<String>, value: T) {
    if let Some(key) = extra {
        map.insert(key.to_ascii_lowercase(), value.clone());
    }
    for slot in map.values_mut() {
        *slot = value.clone();
    }
}

fn first_id(list: &[Value]) -> Option<String> {
    list.first().map(|v| arm::id(v).to_string())
}

const KINDS: &[Kind] = &[
    list!(clusters, api::CLUSTERS),
    list!(registries, api::REGISTRIES),
    list!(
        machines,
        api::VIRTUAL_MACHINES,
        api::SCALE_SETS,
        api::ARC_MACHINES
    ),
    list!(policy_assignments, api::POLICY_ASSIGNMENTS),
    list!(policy_definitions, api::POLICY_DEFINITIONS),
    list!(policy_set_definitions, api::POLICY_SET_DEFINITIONS),
    list!(policy_exemptions, api::POLICY_EXEMPTIONS),
    list!(role_assignments, api::ROLE_ASSIGNMENTS),
    list!(cluster_role_assignments, api::ROLE_ASSIGNMENTS),
    list!(private_endpoints, api::PRIVATE_ENDPOINTS),
    list!(private_dns_zones, api::PRIVATE_DNS_ZONES),
    list!(virtual_networks, api::VIRTUAL_NETWORKS),
    list!(route_tables, api::ROUTE_TABLES),
    list!(network_security_groups, api::NETWORK_SECURITY_GROUPS),
    list!(assessment_metadata, api::ASSESSMENT_METADATA),
    keyed!(
        registry_private_endpoint_connections,
        api::REGISTRY_PE_CONNECTIONS,
        |inv| first_id(&inv.registries)
    ),
    keyed!(registry_tokens, api::REGISTRY_TOKENS, |inv| first_id(
        &inv.registries
    )),
    keyed!(
        private_dns_zone_groups,
        api::PRIVATE_DNS_ZONE_GROUPS,
        |inv| { first_id(&inv.private_endpoints) }
    ),
    keyed!(private_dns_zone_links, api::PRIVATE_DNS_ZONE_LINKS, |inv| {
        first_id(&inv.private_dns_zones)
    }),
    keyed!(diagnostic_settings, api::DIAGNOSTIC_SETTINGS, |inv| {
        first_id(&inv.clusters)
    }),
    keyed!(assessments, api::ASSESSMENTS, |inv| first_id(
        &inv.registries
    )),
    keyed!(policy_states, api::POLICY_STATES, |inv| first_id(
        &inv.clusters
    )),
    keyed!(pricings, api::PRICINGS, |inv| inv
        .subscriptions
        .first()
        .map(|s| s.subscription_id.clone())),
    // One object per key: a resource-level pricing per machine, a version list per location.
    Kind {
        apis: &[api::PRICINGS],
        place: |inv, items| {
            for item in items {
                let key = first_id(&inv.machines);
                set_every(&mut inv.resource_pricings, key, item);
            }
        },
    },
    Kind {
        apis: &[api::KUBERNETES_VERSIONS],
        place: |inv, items| {
            for item in items {
                set_every(
                    &mut inv.kubernetes_versions,
                    Some("westeurope".into()),
                    item,
                );
            }
        },
    },
];

/// The strict profile cut down to the checks that read one of `apis`.
fn profile_reading(apis: &[&str]) -> Profile {
    let mut profile = common::strict_profile().clone();
    profile.selected.retain(|id| {
        common::catalogue().get(id).is_some_and(|check| {
            check
                .file
                .data
                .iter()
                .any(|d| apis.iter().any(|a| a.eq_ignore_ascii_case(d)))
        })
    });
    profile
}

fn profiles() -> &'static [Profile] {
    static PROFILES: std::sync::OnceLock<Vec<Profile>> = std::sync::OnceLock::new();
    PROFILES.get_or_init(|| KINDS.iter().map(|k| profile_reading(k.apis)).collect())
}

fn with_subscriptions(items: &[Value]) -> Inventory {
    let mut inventory = common::small().clone();
    for item in items {
        common::adopt_subscription(&mut inventory, item);
    }
    inventory
}

fn fuzz(data: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let items = lzaudit::json::list(common::items(&payload));
    for (kind, profile) in KINDS.iter().zip(profiles()) {
        let mut inventory = with_subscriptions(&items);
        (kind.place)(&mut inventory, items.clone());
        let report = common::audit(&inventory, profile);
        std::hint::black_box(report::json::render(&report));
    }
    let mut inventory = with_subscriptions(&items);
    for kind in KINDS {
        (kind.place)(&mut inventory, items.clone());
    }
    let report = common::audit(&inventory, common::strict_profile());
    common::render_all(&report);
}

fuzz_target!(|data: &[u8]| fuzz(data));
