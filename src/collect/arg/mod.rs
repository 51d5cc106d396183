//! Collection through Azure Resource Graph (`--source arg`, and `auto`, the default).
//!
//! The scope is resolved over ARM as for `--source arm` (a handful of requests: the
//! subscription list and the management-group hierarchy), because Resource Graph silently
//! leaves out every subscription the caller cannot read there: only ARM's list says what
//! should have been answered. Then:
//! 1. Q1 (`resourcecontainers`, tenant-wide) says which audited subscriptions Resource Graph
//!    answers for, with their ancestor chains. The others are left out: with `auto` they are
//!    read over ARM; with `arg` every (subscription, API) Resource Graph would have answered
//!    is recorded as denied — a gap, never an empty list.
//! 2. The answered subscriptions, in chunks of at most 300, are queried per table
//!    (`queries`): the inventory (Q2), policy assignments and exemptions (Q3), cluster policy
//!    states aggregated per cluster (Q5), role assignments (Q6), Defender pricings (Q7) and
//!    assessments aggregated per resource (Q8), concurrently; the client paces them by
//!    Resource Graph's quota. As soon as a chunk's inventory is in, the reads Resource Graph
//!    does not hold run over ARM for its subscriptions, paced as for `--source arm`:
//!    diagnostic settings, registry tokens, private endpoints' DNS zone groups, AKS machines'
//!    resource-level pricings.
//! 3. Rows are adapted to the ARM shapes (`adapt`) and stored where the ARM collectors store
//!    theirs, each with a `Read` marked `arg`. A query that fails (or is denied) leaves those
//!    scopes' reads failed with `arg`; with `auto` they are read over ARM instead — the
//!    whole subscription when its inventory query failed or one of its rows lacks a property
//!    a check needs (`adapt::REQUIRED`), else just the table that failed.
//! 4. After every subscription: the policy definitions the assignments name (Q4, by ID,
//!    tenant-wide); the supported versions per location and the assessment metadata stay on
//!    ARM (`collect::run`).
//!
//! Role assignments "at or above" a cluster or registry are what ARM's `atScope()` returns:
//! the root scope `/`, the management groups in the subscription's chain (from Q1), and every
//! scope the resource ID starts with.

mod adapt;
pub mod queries;

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use tracing::debug;
use url::Url;

use super::follow::{self, RoleTarget};
use super::{CollectError, Ctx, Progress, collect_subscription, defender, policy};
use crate::azure::ArmError;
use crate::azure::graph::{
    self, GRAPH_API_VERSION, GraphQuery, GraphScope, MAX_SUBSCRIPTIONS_PER_QUERY,
};
use crate::inventory::coverage::SOURCE_ARG;
use crate::inventory::snapshot::redact_secrets;
use crate::inventory::{ManagementGroup, Read, ReadStatus, Subscription, api, arm};

pub use adapt::REQUIRED;

/// What to do when Resource Graph cannot answer for a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fallback {
    /// `--source arg`: record the gap.
    None,
    /// `--source auto`: read it over ARM.
    Arm,
}

/// A successful Resource Graph read of `api` at `scope`.
fn graph_ok(scope: &str, api_name: &str) -> Read {
    Read::ok(scope, api_name).from_source(SOURCE_ARG, Some(GRAPH_API_VERSION))
}

/// A Resource Graph read of `api` at `scope` that failed with `err`.
fn graph_failed(err: &ArmError, scope: &str, api_name: &str) -> Read {
    err.to_read(scope, api_name)
        .from_source(SOURCE_ARG, Some(GRAPH_API_VERSION))
}

/// A read Resource Graph did not answer although the query succeeded.
fn graph_gap(scope: &str, api_name: &str, status: ReadStatus, message: String) -> Read {
    Read {
        status,
        message: Some(message),
        ..graph_ok(scope, api_name)
    }
}

/// Sends one query, every page. A sign-in failure ends the run; any other failure is the
/// caller's to record.
async fn query(
    ctx: &Ctx<'_>,
    url: &Url,
    text: String,
    scope: GraphScope,
    scope_filter: Option<&'static str>,
) -> Result<Result<Vec<Value>, ArmError>, CollectError> {
    let request = GraphQuery {
        query: text,
        scope,
        scope_filter,
    };
    match graph::query_all(ctx.client, url, &request).await {
        Ok(mut rows) => {
            rows.iter_mut().for_each(redact_secrets);
            Ok(Ok(rows))
        }
        Err(err) if err.is_sign_in() => Err(CollectError::SignIn {
            method: err.method,
            url: err.url,
            message: err.message,
        }),
        Err(err) => {
            debug!("Resource Graph query failed: {err}");
            Ok(Err(err))
        }
    }
}

/// The `resources` types the plan needs listed (ARM's `collect_subscription` lists the same).
fn resource_types(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let plan = ctx.plan;
    let mut types = Vec::new();
    if plan.wants_clusters() {
        types.push(api::CLUSTERS);
    }
    if plan.wants_registries() {
        types.push(api::REGISTRIES);
    }
    for machine in [api::VIRTUAL_MACHINES, api::SCALE_SETS, api::ARC_MACHINES] {
        if plan.wants(machine) {
            types.push(machine);
        }
    }
    if plan.wants_any(&[api::PRIVATE_ENDPOINTS, api::PRIVATE_DNS_ZONE_GROUPS]) {
        types.push(api::PRIVATE_ENDPOINTS);
    }
    if plan.wants_any(&[api::PRIVATE_DNS_ZONES, api::PRIVATE_DNS_ZONE_LINKS]) {
        types.push(api::PRIVATE_DNS_ZONES);
    }
    if plan.wants(api::PRIVATE_DNS_ZONE_LINKS) {
        types.push(api::PRIVATE_DNS_ZONE_LINKS);
    }
    for network in [
        api::VIRTUAL_NETWORKS,
        api::ROUTE_TABLES,
        api::NETWORK_SECURITY_GROUPS,
    ] {
        if plan.wants(network) {
            types.push(network);
        }
    }
    types
}

/// Whether the plan reads policy assignments (for themselves or their definitions).
fn wants_assignments(ctx: &Ctx<'_>) -> bool {
    ctx.plan.wants_any(policy::ASSIGNMENT_FAMILY)
}

/// The subscription-scoped APIs Resource Graph answers for a subscription under this plan.
fn subscription_apis(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let mut apis: Vec<&'static str> = resource_types(ctx)
        .into_iter()
        .filter(|t| *t != api::PRIVATE_DNS_ZONE_LINKS)
        .collect();
    if wants_assignments(ctx) {
        apis.push(api::POLICY_ASSIGNMENTS);
    }
    if ctx.plan.wants(api::POLICY_EXEMPTIONS) {
        apis.push(api::POLICY_EXEMPTIONS);
    }
    if ctx.plan.wants(api::PRICINGS) {
        apis.push(api::PRICINGS);
    }
    apis
}

/// Collects `subscriptions` (resolved over ARM) through Resource Graph.
pub(super) async fn collect(
    ctx: &Ctx<'_>,
    subscriptions: &[Subscription],
    fallback: Fallback,
    progress: Option<&dyn Progress>,
) -> Result<(), CollectError> {
    let url = graph::route(ctx.base());
    let containers = query(
        ctx,
        &url,
        queries::CONTAINERS.to_string(),
        GraphScope::Tenant,
        None,
    )
    .await?;
    // GUID → the chain Resource Graph holds for it: the subscriptions it answers for.
    let answered: HashMap<String, Vec<String>> = match &containers {
        Ok(rows) => rows
            .iter()
            .filter_map(adapt::subscription)
            .map(|s| (s.guid, s.ancestors))
            .collect(),
        Err(_) => HashMap::new(),
    };
    if ctx.plan.wants_hierarchy()
        && let Ok(rows) = &containers
    {
        fill_hierarchy(ctx, rows, &answered);
    }
    let (kept, left_out): (Vec<&Subscription>, Vec<&Subscription>) = subscriptions
        .iter()
        .partition(|s| answered.contains_key(&s.subscription_id.to_ascii_lowercase()));

    let chunks: Vec<Vec<&Subscription>> = kept
        .chunks(MAX_SUBSCRIPTIONS_PER_QUERY)
        .map(<[&Subscription]>::to_vec)
        .collect();
    // The policy definitions depend on the assignments only: they are read as soon as every
    // chunk and every subscription read over ARM has stored its assignments, beside the rest.
    let assignments_in = tokio::sync::Barrier::new(chunks.len() + 2);
    let containers = &containers;
    let left_out_done = futures::stream::iter(left_out)
        .map(|sub| async move {
            match fallback {
                Fallback::Arm => collect_subscription(ctx, sub).await?,
                Fallback::None => {
                    for api_name in subscription_apis(ctx) {
                        ctx.record(match containers {
                            Err(err) => graph_failed(err, &sub.id, api_name),
                            Ok(_) => graph_gap(
                                &sub.id,
                                api_name,
                                ReadStatus::Denied,
                                "Resource Graph did not answer for this subscription (its scope query left it out: the identity cannot read it there)".into(),
                            ),
                        });
                    }
                }
            }
            if let Some(p) = progress {
                p.subscription_done(sub);
            }
            Ok::<(), CollectError>(())
        })
        .buffer_unordered(ctx.client.concurrency())
        .try_collect::<Vec<()>>();
    let left_out_done = async {
        left_out_done.await?;
        assignments_in.wait().await;
        Ok::<(), CollectError>(())
    };
    let definitions_done = async {
        assignments_in.wait().await;
        definitions(ctx, fallback).await
    };
    // Every chunk's inventory query goes before the other queries take the quota: the ARM
    // remainder waits for the inventory, the other queries only for the end of the run.
    let inventories_read = tokio::sync::Barrier::new(chunks.len());
    let chunks_done = futures::future::try_join_all(chunks.iter().map(|subs| {
        let gates = Gates {
            inventories_read: &inventories_read,
            assignments_in: &assignments_in,
        };
        let (url, answered) = (&url, &answered);
        async move {
            chunk(ctx, url, subs, fallback, answered, gates).await?;
            if let Some(p) = progress {
                subs.iter().for_each(|s| p.subscription_done(s));
            }
            Ok::<(), CollectError>(())
        }
    }));
    // `try_join`: a failure that ends the run must not leave the others at a barrier.
    futures::try_join!(left_out_done, chunks_done, definitions_done)?;
    Ok(())
}

/// Where the chunks wait for each other.
#[derive(Clone, Copy)]
struct Gates<'g> {
    /// Every chunk's inventory query is done (the other queries wait for it).
    inventories_read: &'g tokio::sync::Barrier,
    /// Every chunk's assignments are stored (the policy definitions wait for it).
    assignments_in: &'g tokio::sync::Barrier,
}

/// Completes the hierarchy ARM could not read (its descendants listing denied, say) from Q1:
/// the ancestor chain of each subscription that has none, and the management groups not yet
/// known. Where ARM read it, nothing changes.
fn fill_hierarchy(ctx: &Ctx<'_>, rows: &[Value], chains: &HashMap<String, Vec<String>>) {
    ctx.update(|inv| {
        for sub in inv
            .subscriptions
            .iter_mut()
            .filter(|s| s.management_group_ancestors.is_none())
        {
            if let Some(chain) = chains
                .get(&sub.subscription_id.to_ascii_lowercase())
                .filter(|c| !c.is_empty())
            {
                sub.management_group_ancestors = Some(chain.clone());
            }
        }
        let known: std::collections::HashSet<String> = inv
            .management_groups
            .iter()
            .map(|g| g.name.to_ascii_lowercase())
            .collect();
        for group in rows.iter().filter_map(adapt::management_group) {
            if !known.contains(&group.name.to_ascii_lowercase()) {
                inv.management_groups.push(ManagementGroup {
                    parent: group.ancestors.first().cloned(),
                    name: group.name,
                    display_name: group.display_name,
                });
            }
        }
    });
}

/// A query's answer for one chunk: rows, or why there are none (the error).
type Answer = Option<Result<Vec<Value>, ArmError>>;

/// Everything Resource Graph answers for one chunk of subscriptions, then the ARM remainder.
async fn chunk(
    ctx: &Ctx<'_>,
    url: &Url,
    subs: &[&Subscription],
    fallback: Fallback,
    chains: &HashMap<String, Vec<String>>,
    gates: Gates<'_>,
) -> Result<(), CollectError> {
    let plan = ctx.plan;
    let scope = GraphScope::Subscriptions(subs.iter().map(|s| s.subscription_id.clone()).collect());
    let ask = |wanted: bool, text: String, filter: Option<&'static str>| {
        let scope = scope.clone();
        async move {
            if !wanted {
                return Ok::<Answer, CollectError>(None);
            }
            Ok(Some(query(ctx, url, text, scope, filter).await?))
        }
    };
    // The inventory first: the ARM remainder waits for it. The other queries wait until every
    // chunk's inventory is in (`inventories_read`), so they run beside the remainder rather
    // than ahead of it in the quota.
    let types = resource_types(ctx);
    let rows = ask(!types.is_empty(), queries::resources(&types), None).await?;
    let (kept, to_arm) = store_resources(ctx, subs, &types, rows, fallback);
    let remainder = futures::stream::iter(kept.iter().copied())
        .map(|sub| arm_remainder(ctx, sub))
        .buffer_unordered(ctx.client.concurrency())
        .collect::<Vec<_>>();
    let above_and_below = Some("AtScopeAboveAndBelow");
    let others = async {
        gates.inventories_read.wait().await;
        futures::join!(
            ask(
                wants_assignments(ctx) || plan.wants(api::POLICY_EXEMPTIONS),
                queries::ASSIGNMENTS.into(),
                above_and_below
            ),
            ask(plan.wants(api::PRICINGS), queries::PRICINGS.into(), None),
            ask(
                plan.wants(api::POLICY_STATES),
                queries::POLICY_STATES.into(),
                None
            ),
            ask(
                plan.wants_on_clusters(api::ROLE_ASSIGNMENTS)
                    || plan.wants_on_registries(api::ROLE_ASSIGNMENTS),
                queries::ROLE_ASSIGNMENTS.into(),
                above_and_below
            ),
            ask(
                plan.wants_on_clusters(api::ASSESSMENTS)
                    || plan.wants_on_registries(api::ASSESSMENTS),
                queries::ASSESSMENTS.into(),
                None
            ),
        )
    };
    let (remainder, (assignments, pricings, states, roles, assessments)) =
        futures::join!(remainder, others);
    remainder.into_iter().collect::<Result<(), _>>()?;
    let (assignments, pricings, states, roles, assessments) =
        (assignments?, pricings?, states?, roles?, assessments?);

    // Subscriptions whose inventory Resource Graph could not stand in for: all over ARM. Their
    // assignments count for the definitions too.
    let whole = futures::stream::iter(to_arm.iter().copied())
        .map(|sub| collect_subscription(ctx, sub))
        .buffer_unordered(ctx.client.concurrency())
        .try_collect::<Vec<()>>();
    let assignments = async {
        futures::try_join!(whole, store_assignments(ctx, &kept, assignments, fallback))?;
        gates.assignments_in.wait().await;
        Ok(())
    };
    // `try_join`: a failure that ends the run must not leave the others at a barrier.
    futures::try_join!(
        assignments,
        store_pricings(ctx, &kept, pricings, fallback),
        store_states(ctx, &kept, states, fallback),
        store_roles(ctx, &kept, roles, fallback, chains),
        store_assessments(ctx, &kept, assessments, fallback),
    )?;
    Ok(())
}

/// A subscription's listed resources from Q2, by type (ARM spelling).
type ByType = BTreeMap<&'static str, Vec<Value>>;

/// Stores the inventory rows of the subscriptions Resource Graph can stand in for, and returns
/// the subscriptions that stay on Resource Graph, with those to read over ARM instead (`auto`:
/// the query failed, or a row lacks a property a check needs). With `arg` those become failed
/// reads, and the subscriptions stay on Resource Graph for the other tables.
fn store_resources<'s>(
    ctx: &Ctx<'_>,
    subs: &[&'s Subscription],
    types: &[&'static str],
    rows: Answer,
    fallback: Fallback,
) -> (Vec<&'s Subscription>, Vec<&'s Subscription>) {
    let Some(rows) = rows else {
        return (subs.to_vec(), Vec::new());
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
            return (subs.to_vec(), Vec::new());
        }
    };
    let mut by_sub: HashMap<String, ByType> = HashMap::new();
    for row in &rows {
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
        store_subscription_resources(ctx, sub, types, listed, &lacking);
        kept.push(*sub);
    }
    (kept, to_arm)
}

/// Stores one subscription's Q2 rows and records its reads; a type with a row in `lacking` is a
/// failed read instead (`arg`).
fn store_subscription_resources(
    ctx: &Ctx<'_>,
    sub: &Subscription,
    types: &[&'static str],
    mut listed: ByType,
    lacking: &[(&'static str, String)],
) {
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
    ctx.update(|inv| {
        for (kind, items) in stored {
            for item in &items {
                let id = arm::id(item);
                let key = id.to_ascii_lowercase();
                if kind == api::REGISTRIES && plan.wants(api::REGISTRY_PE_CONNECTIONS) {
                    let connections = arm::array_at(item, "properties.privateEndpointConnections")
                        .cloned()
                        .unwrap_or_default();
                    inv.registry_private_endpoint_connections
                        .insert(key.clone(), connections);
                    inv.reads.push(graph_ok(id, api::REGISTRY_PE_CONNECTIONS));
                }
                if kind == api::PRIVATE_DNS_ZONES && plan.wants(api::PRIVATE_DNS_ZONE_LINKS) {
                    if zone_links_ok {
                        let prefix = format!("{key}/virtualnetworklinks/");
                        let children: Vec<Value> = links
                            .iter()
                            .filter(|l| arm::id(l).to_ascii_lowercase().starts_with(&prefix))
                            .cloned()
                            .collect();
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
}

/// The IDs of the stored objects of `list` in `sub`.
fn ids_in(
    ctx: &Ctx<'_>,
    sub: &Subscription,
    list: fn(&crate::inventory::Inventory) -> &Vec<Value>,
) -> Vec<String> {
    ctx.view(|inv| {
        list(inv)
            .iter()
            .map(arm::id)
            .filter(|id| {
                arm::subscription_of(id).is_some_and(|s| arm::eq_ci(&s, &sub.subscription_id))
            })
            .map(str::to_string)
            .collect()
    })
}

/// What Resource Graph does not hold, over ARM, for one subscription whose inventory it
/// answered: diagnostic settings, registry tokens, DNS zone groups, machine pricings.
async fn arm_remainder(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    let plan = ctx.plan;
    let clusters = ids_in(ctx, sub, |inv| &inv.clusters);
    let registries = ids_in(ctx, sub, |inv| &inv.registries);
    let endpoints = ids_in(ctx, sub, |inv| &inv.private_endpoints);
    let cluster_reads = clusters.iter().map(|id| async move {
        if plan.wants_on_clusters(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    let registry_reads = registries.iter().map(|id| async move {
        if plan.wants(api::REGISTRY_TOKENS) {
            follow::registry_tokens(ctx, id).await?;
        }
        if plan.wants_on_registries(api::DIAGNOSTIC_SETTINGS) {
            follow::diagnostic_settings(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    let endpoint_reads = endpoints.iter().map(|id| async move {
        if plan.wants(api::PRIVATE_DNS_ZONE_GROUPS) {
            follow::zone_groups(ctx, id).await?;
        }
        Ok::<(), CollectError>(())
    });
    futures::try_join!(
        futures::future::try_join_all(cluster_reads),
        futures::future::try_join_all(registry_reads),
        futures::future::try_join_all(endpoint_reads),
        defender::machine_pricings(ctx, sub),
    )?;
    Ok(())
}

/// The first row of `rows` that lacks a property `api` requires, described.
fn first_lacking<'a>(api_name: &str, rows: impl IntoIterator<Item = &'a Value>) -> Option<String> {
    rows.into_iter().find_map(|row| {
        adapt::missing_property(api_name, row).map(|p| {
            format!(
                "Resource Graph's row {} lacks `{p}`, which a check needs",
                arm::id(row)
            )
        })
    })
}

/// Q3: policy assignments and exemptions at, above and below each subscription.
async fn store_assignments(
    ctx: &Ctx<'_>,
    subs: &[&Subscription],
    answer: Answer,
    fallback: Fallback,
) -> Result<(), CollectError> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let mut wanted: Vec<&'static str> = Vec::new();
    if wants_assignments(ctx) {
        wanted.push(api::POLICY_ASSIGNMENTS);
    }
    if ctx.plan.wants(api::POLICY_EXEMPTIONS) {
        wanted.push(api::POLICY_EXEMPTIONS);
    }
    let mut split: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let problem: Result<(), (Option<ArmError>, String)> = match answer {
        Err(err) => Err((Some(err), String::new())),
        Ok(rows) => {
            for row in &rows {
                let item = adapt::resource(row);
                if let Some(kind) = arm::str_at(&item, "type").and_then(adapt::arm_type) {
                    split.entry(kind).or_default().push(item);
                }
            }
            match wanted
                .iter()
                .find_map(|w| first_lacking(w, split.get(w).into_iter().flatten()))
            {
                Some(why) => Err((None, why)),
                None => Ok(()),
            }
        }
    };
    match problem {
        Ok(()) => {
            ctx.update(|inv| {
                for w in &wanted {
                    let items = split.remove(w).unwrap_or_default();
                    if *w == api::POLICY_ASSIGNMENTS {
                        inv.policy_assignments.extend(items);
                    } else {
                        inv.policy_exemptions.extend(items);
                    }
                    inv.reads.extend(subs.iter().map(|s| graph_ok(&s.id, w)));
                }
            });
            Ok(())
        }
        Err(_) if fallback == Fallback::Arm => {
            futures::future::try_join_all(subs.iter().map(|sub| async move {
                futures::try_join!(policy::assignments(ctx, sub), policy::exemptions(ctx, sub))
            }))
            .await?;
            Ok(())
        }
        Err((err, why)) => {
            for sub in subs {
                for w in &wanted {
                    ctx.record(match &err {
                        Some(err) => graph_failed(err, &sub.id, w),
                        None => graph_gap(&sub.id, w, ReadStatus::Failed, why.clone()),
                    });
                }
            }
            Ok(())
        }
    }
}

/// Q7: each subscription's Defender pricings.
async fn store_pricings(
    ctx: &Ctx<'_>,
    subs: &[&Subscription],
    answer: Answer,
    fallback: Fallback,
) -> Result<(), CollectError> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let rows = match answer {
        Ok(rows) => rows,
        Err(err) => {
            for sub in subs {
                match fallback {
                    Fallback::Arm => defender::subscription_pricings(ctx, sub).await?,
                    Fallback::None => ctx.record(graph_failed(&err, &sub.id, api::PRICINGS)),
                }
            }
            return Ok(());
        }
    };
    // One row per subscription (`id` is its GUID), its pricings in `pricings`.
    let mut by_sub: HashMap<String, Vec<Value>> = by_resource(&rows, "pricings")
        .into_iter()
        .map(|(sub, items)| (sub, items.iter().map(adapt::resource).collect()))
        .collect();
    for sub in subs {
        let key = sub.subscription_id.to_ascii_lowercase();
        let items = by_sub.remove(&key).unwrap_or_default();
        match (first_lacking(api::PRICINGS, &items), fallback) {
            (None, _) => ctx.update(|inv| {
                inv.pricings.insert(key, items);
                inv.reads.push(graph_ok(&sub.id, api::PRICINGS));
            }),
            (Some(_), Fallback::Arm) => defender::subscription_pricings(ctx, sub).await?,
            (Some(why), Fallback::None) => {
                ctx.record(graph_gap(&sub.id, api::PRICINGS, ReadStatus::Failed, why))
            }
        }
    }
    Ok(())
}

/// The stored clusters and registries of these subscriptions: (ID, subscription GUID).
fn resources_of(ctx: &Ctx<'_>, subs: &[&Subscription], registries: bool) -> Vec<(String, String)> {
    let wanted: HashMap<String, ()> = subs
        .iter()
        .map(|s| (s.subscription_id.to_ascii_lowercase(), ()))
        .collect();
    ctx.view(|inv| {
        let list = if registries {
            &inv.registries
        } else {
            &inv.clusters
        };
        list.iter()
            .filter_map(|r| {
                let id = arm::id(r);
                let sub = arm::subscription_of(id)?.to_ascii_lowercase();
                wanted.contains_key(&sub).then(|| (id.to_string(), sub))
            })
            .collect()
    })
}

/// Rows of an aggregated query (Q5, Q7, Q8) by the lower-cased ID in their `id`.
fn by_resource(rows: &[Value], list: &str) -> HashMap<String, Vec<Value>> {
    rows.iter()
        .map(|row| {
            (
                arm::id(row).to_ascii_lowercase(),
                arm::array_at(row, list).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Per-resource outcome of an aggregated query: the items, or why not.
enum PerResource {
    Items(Vec<Value>),
    Failed(Read),
    Arm,
}

/// Records per-resource answers: stores items through `store`, records the reads, and reads
/// over ARM (with `read_arm`) what Resource Graph could not stand in for.
async fn per_resource<F, Fut>(
    ctx: &Ctx<'_>,
    outcomes: Vec<(String, String, PerResource)>,
    api_name: &str,
    store: impl Fn(&mut crate::inventory::Inventory, &str, Vec<Value>),
    read_arm: F,
) -> Result<(), CollectError>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<(), CollectError>>,
{
    let mut arm_reads = Vec::new();
    ctx.update(|inv| {
        for (id, sub, outcome) in outcomes {
            match outcome {
                PerResource::Items(items) => {
                    store(inv, &id, items);
                    inv.reads.push(graph_ok(&id, api_name));
                }
                PerResource::Failed(read) => inv.reads.push(read),
                PerResource::Arm => arm_reads.push((id, sub)),
            }
        }
    });
    futures::future::try_join_all(arm_reads.into_iter().map(|(id, sub)| read_arm(id, sub))).await?;
    Ok(())
}

/// Decides, per resource, what an aggregated answer means.
fn outcomes(
    targets: Vec<(String, String)>,
    answer: &Result<Vec<Value>, ArmError>,
    list: &str,
    api_name: &str,
    adapt_item: fn(&Value) -> Value,
    fallback: Fallback,
) -> Vec<(String, String, PerResource)> {
    let grouped = match answer {
        Ok(rows) => Ok(by_resource(rows, list)),
        Err(err) => Err(err),
    };
    targets
        .into_iter()
        .map(|(id, sub)| {
            let outcome = match &grouped {
                Err(_) if fallback == Fallback::Arm => PerResource::Arm,
                Err(err) => PerResource::Failed(graph_failed(err, &id, api_name)),
                Ok(grouped) => {
                    let items: Vec<Value> = grouped
                        .get(&id.to_ascii_lowercase())
                        .map(|items| items.iter().map(adapt_item).collect())
                        .unwrap_or_default();
                    match (first_lacking(api_name, &items), fallback) {
                        (None, _) => PerResource::Items(items),
                        (Some(_), Fallback::Arm) => PerResource::Arm,
                        (Some(why), Fallback::None) => {
                            PerResource::Failed(graph_gap(&id, api_name, ReadStatus::Failed, why))
                        }
                    }
                }
            };
            (id, sub, outcome)
        })
        .collect()
}

/// Q5: each cluster's latest policy states.
async fn store_states(
    ctx: &Ctx<'_>,
    subs: &[&Subscription],
    answer: Answer,
    fallback: Fallback,
) -> Result<(), CollectError> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let targets = resources_of(ctx, subs, false);
    let outcomes = outcomes(
        targets,
        &answer,
        "states",
        api::POLICY_STATES,
        adapt::policy_state,
        fallback,
    );
    per_resource(
        ctx,
        outcomes,
        api::POLICY_STATES,
        |inv, id, items| {
            inv.policy_states.insert(id.to_ascii_lowercase(), items);
        },
        |id, sub| async move { follow::policy_states(ctx, &sub, &id).await },
    )
    .await
}

/// Q8: each cluster's and registry's Defender assessments.
async fn store_assessments(
    ctx: &Ctx<'_>,
    subs: &[&Subscription],
    answer: Answer,
    fallback: Fallback,
) -> Result<(), CollectError> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let mut targets = Vec::new();
    if ctx.plan.wants_on_clusters(api::ASSESSMENTS) {
        targets.extend(resources_of(ctx, subs, false));
    }
    if ctx.plan.wants_on_registries(api::ASSESSMENTS) {
        targets.extend(resources_of(ctx, subs, true));
    }
    let outcomes = outcomes(
        targets,
        &answer,
        "assessments",
        api::ASSESSMENTS,
        adapt::assessment,
        fallback,
    );
    per_resource(
        ctx,
        outcomes,
        api::ASSESSMENTS,
        |inv, id, items| {
            inv.assessments.insert(id.to_ascii_lowercase(), items);
        },
        |id, _| async move { follow::assessments(ctx, &id).await },
    )
    .await
}

/// Whether a role assignment at `scope` applies at `resource` (what `atScope()` returns): the
/// root scope, a management group of the resource's subscription's `chain`, or a prefix of the
/// resource ID on a segment boundary.
pub(crate) fn at_or_above(scope: &str, resource: &str, chain: &[String]) -> bool {
    let scope = scope.trim_end_matches('/');
    if scope.is_empty() {
        return true;
    }
    let lower = scope.to_ascii_lowercase();
    if let Some(group) = lower.strip_prefix("/providers/microsoft.management/managementgroups/") {
        return !group.contains('/') && chain.iter().any(|g| arm::eq_ci(g, group));
    }
    let resource = resource.to_ascii_lowercase();
    resource == lower || resource.starts_with(&format!("{lower}/"))
}

/// Q6: role assignments at or above each cluster and registry.
async fn store_roles(
    ctx: &Ctx<'_>,
    subs: &[&Subscription],
    answer: Answer,
    fallback: Fallback,
    chains: &HashMap<String, Vec<String>>,
) -> Result<(), CollectError> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let mut targets: Vec<(String, String, RoleTarget)> = Vec::new();
    if ctx.plan.wants_on_clusters(api::ROLE_ASSIGNMENTS) {
        targets.extend(
            resources_of(ctx, subs, false)
                .into_iter()
                .map(|(id, sub)| (id, sub, RoleTarget::Cluster)),
        );
    }
    if ctx.plan.wants_on_registries(api::ROLE_ASSIGNMENTS) {
        targets.extend(
            resources_of(ctx, subs, true)
                .into_iter()
                .map(|(id, sub)| (id, sub, RoleTarget::Registry)),
        );
    }
    let rows: Result<Vec<Value>, String> = match &answer {
        Ok(rows) => {
            let items: Vec<Value> = rows.iter().map(adapt::resource).collect();
            match first_lacking(api::ROLE_ASSIGNMENTS, &items) {
                None => Ok(items),
                Some(why) => Err(why),
            }
        }
        Err(err) => Err(err.to_string()),
    };
    let mut arm_reads = Vec::new();
    ctx.update(|inv| {
        for (id, sub, target) in &targets {
            match (&rows, &answer, fallback) {
                (Ok(items), _, _) => {
                    let empty = Vec::new();
                    let chain = chains.get(sub).unwrap_or(&empty);
                    let applying = items.iter().filter(|a| {
                        arm::str_at(a, "properties.scope")
                            .is_some_and(|scope| at_or_above(scope, id, chain))
                    });
                    let list = match target {
                        RoleTarget::Cluster => &mut inv.cluster_role_assignments,
                        RoleTarget::Registry => &mut inv.role_assignments,
                    };
                    list.extend(applying.cloned());
                    inv.reads.push(graph_ok(id, api::ROLE_ASSIGNMENTS));
                }
                (Err(_), _, Fallback::Arm) => arm_reads.push((id.clone(), *target)),
                (Err(_), Err(err), Fallback::None) => {
                    inv.reads.push(graph_failed(err, id, api::ROLE_ASSIGNMENTS))
                }
                (Err(why), Ok(_), Fallback::None) => inv.reads.push(graph_gap(
                    id,
                    api::ROLE_ASSIGNMENTS,
                    ReadStatus::Failed,
                    why.clone(),
                )),
            }
        }
    });
    futures::future::try_join_all(
        arm_reads
            .iter()
            .map(|(id, target)| follow::role_assignments(ctx, id, *target)),
    )
    .await?;
    Ok(())
}

/// The policy definitions and set definitions the assignments name (and the wanted members
/// of those sets), through Q4 tenant-wide. A definition Resource Graph has no row for is read
/// over ARM with `auto` (it may be a built-in Resource Graph does not index), and is not found
/// with `arg`.
pub(super) async fn definitions(ctx: &Ctx<'_>, fallback: Fallback) -> Result<(), CollectError> {
    let url = graph::route(ctx.base());
    let (direct, sets) = policy::referenced(ctx);
    let ids: Vec<(String, &'static str)> = sets
        .iter()
        .map(|id| (id.clone(), api::POLICY_SET_DEFINITIONS))
        .chain(
            direct
                .iter()
                .map(|id| (id.clone(), api::POLICY_DEFINITIONS)),
        )
        .collect();
    let found = fetch_definitions(ctx, &url, &ids, fallback).await?;
    let read_sets: Vec<Value> = found
        .into_iter()
        .filter(|v| {
            arm::str_at(v, "type").is_some_and(|t| arm::eq_ci(t, api::POLICY_SET_DEFINITIONS))
        })
        .collect();
    let members: Vec<(String, &'static str)> = policy::members(ctx.plan, &read_sets, &direct)
        .into_iter()
        .map(|id| (id, api::POLICY_DEFINITIONS))
        .collect();
    fetch_definitions(ctx, &url, &members, fallback).await?;
    Ok(())
}

/// Reads definitions by ID through Q4 (in batches), stores them, and returns what was read.
async fn fetch_definitions(
    ctx: &Ctx<'_>,
    url: &Url,
    ids: &[(String, &'static str)],
    fallback: Fallback,
) -> Result<Vec<Value>, CollectError> {
    let mut found = Vec::new();
    for batch in ids.chunks(queries::DEFINITIONS_PER_QUERY) {
        let text =
            queries::definitions(&batch.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
        let answer = query(ctx, url, text, GraphScope::Tenant, None).await?;
        let by_id: HashMap<String, Value> = match &answer {
            Ok(rows) => rows
                .iter()
                .map(adapt::resource)
                .map(|v| (arm::id(&v).to_ascii_lowercase(), v))
                .collect(),
            Err(_) => HashMap::new(),
        };
        let mut over_arm = Vec::new();
        for (id, api_name) in batch {
            let row = by_id
                .get(&id.to_ascii_lowercase())
                .filter(|_| answer.is_ok());
            match (row, &answer, fallback) {
                (Some(value), _, _) => {
                    let value = value.clone();
                    ctx.update(|inv| {
                        if *api_name == api::POLICY_SET_DEFINITIONS {
                            inv.policy_set_definitions.push(value.clone());
                        } else {
                            inv.policy_definitions.push(value.clone());
                        }
                        inv.reads.push(graph_ok(id, api_name));
                    });
                    found.push(value);
                }
                (None, _, Fallback::Arm) => over_arm.push((id.clone(), *api_name)),
                (None, Err(err), Fallback::None) => ctx.record(graph_failed(err, id, api_name)),
                (None, Ok(_), Fallback::None) => ctx.record(graph_gap(
                    id,
                    api_name,
                    ReadStatus::NotFound,
                    "Resource Graph holds no such definition".into(),
                )),
            }
        }
        let read = futures::future::try_join_all(
            over_arm
                .iter()
                .map(|(id, api_name)| policy::fetch(ctx, id, api_name)),
        )
        .await?;
        found.extend(read.into_iter().flatten());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_scopes_at_or_above_a_resource() {
        let cluster = "/subscriptions/S1/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks";
        let chain = vec!["corp".to_string(), "landingzones".into(), "root".into()];
        for (scope, applies) in [
            ("/", true),
            ("/subscriptions/s1", true),
            ("/subscriptions/S1/resourceGroups/RG-AKS", true),
            (cluster, true),
            ("/subscriptions/s1/resourceGroups/rg-aks2", false),
            ("/subscriptions/s2", false),
            (
                "/subscriptions/S1/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks/agentPools/a",
                false,
            ),
            (
                "/providers/Microsoft.Management/managementGroups/Corp",
                true,
            ),
            (
                "/providers/Microsoft.Management/managementGroups/root",
                true,
            ),
            (
                "/providers/Microsoft.Management/managementGroups/online",
                false,
            ),
        ] {
            assert_eq!(at_or_above(scope, cluster, &chain), applies, "{scope}");
        }
    }
}
