//! Q2, the inventory: rows stored where the ARM collectors store theirs, per subscription
//! and type, with the subscriptions whose rows cannot stand in for ARM's answer sent to ARM
//! (`auto`) or recorded as failed (`arg`); and, once a subscription's inventory is in, the
//! reads Resource Graph does not hold, over ARM.

use super::*;

/// A subscription's listed resources from Q2, by type (ARM spelling).
type ByType = BTreeMap<&'static str, Vec<Value>>;

/// What a subscription's stored Q2 rows leave to read over ARM, by resource ID: handed from
/// `store_resources` to `arm_remainder` so that neither scans the whole inventory per
/// subscription.
#[derive(Debug, Default)]
pub(super) struct Listed {
    clusters: Vec<String>,
    registries: Vec<String>,
    endpoints: Vec<String>,
    /// The AKS machines (`defender::aks_machine_ids`), for their resource-level pricings.
    aks_machines: Vec<String>,
}

/// Stores the inventory rows of the subscriptions Resource Graph can stand in for, and returns
/// the subscriptions that stay on Resource Graph, with those to read over ARM instead (`auto`:
/// the query failed, or a row lacks a property a check needs). With `arg` those become failed
/// reads, and the subscriptions stay on Resource Graph for the other tables. Each kept
/// subscription comes with what its rows leave to read over ARM.
pub(super) fn store_resources<'s>(
    ctx: &Ctx<'_>,
    subs: &[&'s Subscription],
    types: &[&'static str],
    rows: Answer,
    fallback: Fallback,
) -> (Vec<(&'s Subscription, Listed)>, Vec<&'s Subscription>) {
    let nothing_listed = || subs.iter().map(|s| (*s, Listed::default())).collect();
    let Some(rows) = rows else {
        return (nothing_listed(), Vec::new());
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => {
            if fallback == Fallback::Arm {
                return (Vec::new(), subs.to_vec());
            }
            for sub in subs {
                for t in types.iter().filter(|t| **t != api::PRIVATE_DNS_ZONE_LINKS) {
                    ctx.record(graph_failed(&err, &sub.id, t));
                }
            }
            // Still on Resource Graph for the subscription-level tables; nothing per resource.
            return (nothing_listed(), Vec::new());
        }
    };
    let mut by_sub: HashMap<String, ByType> = HashMap::new();
    for row in rows {
        let item = adapt::resource(row);
        let Some(kind) = arm::str_at(&item, "type").and_then(adapt::arm_type) else {
            continue;
        };
        let Some(sub) = arm::subscription_of(arm::id(&item)) else {
            continue;
        };
        by_sub
            .entry(sub.to_ascii_lowercase())
            .or_default()
            .entry(kind)
            .or_default()
            .push(item);
    }
    let mut kept = Vec::new();
    let mut to_arm = Vec::new();
    for sub in subs {
        let listed = by_sub
            .remove(&sub.subscription_id.to_ascii_lowercase())
            .unwrap_or_default();
        let lacking: Vec<(&'static str, String)> = listed
            .iter()
            .flat_map(|(kind, items)| {
                items.iter().filter_map(move |item| {
                    adapt::missing_property(kind, item)
                        .map(|p| (*kind, format!("{} lacks `{p}`", arm::id(item))))
                })
            })
            .collect();
        if !lacking.is_empty() && fallback == Fallback::Arm {
            debug!(
                "reading {} over ARM: Resource Graph's row {}",
                sub.id, lacking[0].1
            );
            to_arm.push(*sub);
            continue;
        }
        let listed = store_subscription_resources(ctx, sub, types, listed, &lacking);
        kept.push((*sub, listed));
    }
    (kept, to_arm)
}

/// Stores one subscription's Q2 rows and records its reads; a type with a row in `lacking` is a
/// failed read instead (`arg`). Returns what the stored rows leave to read over ARM.
fn store_subscription_resources(
    ctx: &Ctx<'_>,
    sub: &Subscription,
    types: &[&'static str],
    mut listed: ByType,
    lacking: &[(&'static str, String)],
) -> Listed {
    let plan = ctx.plan;
    let failed = |kind: &str| lacking.iter().find(|(k, _)| arm::eq_ci(k, kind));
    let mut take = |kind: &'static str| listed.remove(kind).unwrap_or_default();
    let links = take(api::PRIVATE_DNS_ZONE_LINKS);
    let mut reads = Vec::new();
    let mut stored: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for kind in types
        .iter()
        .copied()
        .filter(|t| *t != api::PRIVATE_DNS_ZONE_LINKS)
    {
        let items = take(kind);
        if let Some((_, why)) = failed(kind) {
            reads.push(graph_gap(
                &sub.id,
                kind,
                ReadStatus::Failed,
                format!("Resource Graph's row {why}, which a check needs"),
            ));
            continue;
        }
        reads.push(graph_ok(&sub.id, kind));
        stored.push((kind, items));
    }
    let zone_links_ok = failed(api::PRIVATE_DNS_ZONE_LINKS).is_none();
    fn of<'a>(
        stored: &'a [(&'static str, Vec<Value>)],
        kinds: &'a [&'a str],
    ) -> impl Iterator<Item = &'a Value> + 'a {
        stored
            .iter()
            .filter(move |(kind, _)| kinds.contains(kind))
            .flat_map(|(_, items)| items)
    }
    let ids = |kind: &str| {
        of(&stored, &[kind])
            .map(|item| arm::id(item).to_string())
            .filter(|id| !id.is_empty())
            .collect()
    };
    let remainder = Listed {
        clusters: ids(api::CLUSTERS),
        registries: ids(api::REGISTRIES),
        endpoints: ids(api::PRIVATE_ENDPOINTS),
        aks_machines: defender::aks_machine_ids(
            of(&stored, &[api::CLUSTERS]),
            of(
                &stored,
                &[api::VIRTUAL_MACHINES, api::SCALE_SETS, api::ARC_MACHINES],
            ),
        ),
    };
    ctx.update(|inv| {
        for (kind, items) in stored {
            for item in &items {
                let id = arm::id(item);
                let key = id.to_ascii_lowercase();
                if kind == api::REGISTRIES && plan.wants(api::REGISTRY_PE_CONNECTIONS) {
                    let connections = arm::array_at(item, "properties.privateEndpointConnections")
                        .map(json::copies)
                        .unwrap_or_default();
                    inv.registry_private_endpoint_connections
                        .insert(key.clone(), connections);
                    inv.reads.push(graph_ok(id, api::REGISTRY_PE_CONNECTIONS));
                }
                if kind == api::PRIVATE_DNS_ZONES && plan.wants(api::PRIVATE_DNS_ZONE_LINKS) {
                    if zone_links_ok {
                        let prefix = format!("{key}/virtualnetworklinks/");
                        let children = json::copies(
                            links
                                .iter()
                                .filter(|l| arm::id(l).to_ascii_lowercase().starts_with(&prefix)),
                        );
                        inv.private_dns_zone_links.insert(key.clone(), children);
                        inv.reads.push(graph_ok(id, api::PRIVATE_DNS_ZONE_LINKS));
                    } else {
                        inv.reads.push(graph_gap(
                            id,
                            api::PRIVATE_DNS_ZONE_LINKS,
                            ReadStatus::Failed,
                            "a virtual network link row lacks a property a check needs".into(),
                        ));
                    }
                }
            }
            let items = json::list(items);
            match kind {
                api::CLUSTERS => inv.clusters.extend(items),
                api::REGISTRIES => inv.registries.extend(items),
                api::VIRTUAL_MACHINES | api::SCALE_SETS | api::ARC_MACHINES => {
                    inv.machines.extend(items)
                }
                api::PRIVATE_ENDPOINTS => inv.private_endpoints.extend(items),
                api::PRIVATE_DNS_ZONES => inv.private_dns_zones.extend(items),
                api::VIRTUAL_NETWORKS => inv.virtual_networks.extend(items),
                api::ROUTE_TABLES => inv.route_tables.extend(items),
                api::NETWORK_SECURITY_GROUPS => inv.network_security_groups.extend(items),
                _ => {}
            }
        }
        inv.reads.extend(reads);
    });
    remainder
}

/// What Resource Graph does not hold, over ARM, for one subscription whose inventory it
/// answered: diagnostic settings, registry tokens, DNS zone groups, machine pricings.
pub(super) async fn arm_remainder(ctx: &Ctx<'_>, listed: &Listed) -> Result<(), CollectError> {
    let plan = ctx.plan;
    let cluster_reads = listed.clusters.iter().map(|id| async move {
        if plan.wants_on_clusters(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    let registry_reads = listed.registries.iter().map(|id| async move {
        if plan.wants(api::REGISTRY_TOKENS) {
            follow::registry_tokens(ctx, id).await?;
        }
        if plan.wants_on_registries(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    let endpoint_reads = listed.endpoints.iter().map(|id| async move {
        if plan.wants(api::PRIVATE_DNS_ZONE_GROUPS) {
            follow::zone_groups(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    futures::try_join!(
        futures::future::try_join_all(cluster_reads),
        futures::future::try_join_all(registry_reads),
        futures::future::try_join_all(endpoint_reads),
        defender::machine_pricings(ctx, &listed.aks_machines),
    )?;
    Ok(())
}

/// The first row of `rows` that lacks a property `api` requires, described.
pub(super) fn first_lacking<'a>(
    api_name: &str,
    rows: impl IntoIterator<Item = &'a Value>,
) -> Option<String> {
    rows.into_iter().find_map(|row| {
        adapt::missing_property(api_name, row).map(|p| {
            format!(
                "Resource Graph's row {} lacks `{p}`, which a check needs",
                arm::id(row)
            )
        })
    })
}
