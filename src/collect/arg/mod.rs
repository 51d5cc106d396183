//! Collection through Azure Resource Graph (`--source arg`, and `auto`, the default).
//!
//! The scope is resolved over ARM as for `--source arm` (a handful of requests: the
//! subscription list and the management-group hierarchy), because Resource Graph silently
//! leaves out every subscription the caller cannot read there: only ARM's list says what
//! should have been answered. Then:
//! 1. Q1 (`resourcecontainers`, tenant-wide, sent while ARM resolves the scope) says which
//!    audited subscriptions Resource Graph answers for, with their ancestor chains. The
//!    others are left out: with `auto` they are read over ARM; with `arg` every
//!    (subscription, API) Resource Graph would have answered is recorded as denied — a gap,
//!    never an empty list.
//! 2. The answered subscriptions, in chunks of at most 300, are queried per table
//!    (`queries`): the inventory (Q2, asked in parts of 50 subscriptions, about a page each),
//!    then policy assignments and exemptions (Q3), cluster policy states aggregated per
//!    cluster (Q5), role assignments (Q6), Defender pricings (Q7) and assessments aggregated
//!    per resource (Q8), concurrently, each stored as soon as it is answered; the client paces
//!    them by Resource Graph's quota (with slots of their own: a query never queues behind ARM
//!    reads). As soon as a part's inventory is in, the reads Resource Graph does not hold run
//!    over ARM for its subscriptions, paced as for `--source arm`: diagnostic settings,
//!    registry tokens, private endpoints' DNS zone groups, AKS machines' resource-level
//!    pricings — from the IDs of the stored rows (`inventory::Listed`), never a scan of the
//!    inventory per subscription.
//! 3. Rows are adapted to the ARM shapes (`adapt`) and stored where the ARM collectors store
//!    theirs, each with a `Read` marked `arg`. A query that fails (or is denied) leaves those
//!    scopes' reads failed with `arg`; with `auto` they are read over ARM instead — the
//!    whole subscription when its inventory query failed or one of its rows lacks a property
//!    a check needs (`adapt::REQUIRED`), else just the table that failed.
//! 4. Once every chunk's assignments are stored (and with them every cluster, the
//!    subscriptions read over ARM included): the policy definitions the assignments name (Q4,
//!    by ID, tenant-wide), and over ARM the supported versions per location. The assessment
//!    metadata is read over ARM beside everything (`collect::run`).
//!
//! Modules: `queries` (the query texts), `adapt` (rows → ARM shapes, required properties),
//! `inventory` (Q2 and the ARM remainder), `tables` (Q3, Q7), `per_resource` (Q5, Q6, Q8),
//! `definitions` (Q4); this one runs them.
//!
//! Role assignments "at or above" a cluster or registry are what ARM's `atScope()` returns:
//! the root scope `/`, the management groups in the subscription's chain (from Q1), and every
//! scope the resource ID starts with.

mod adapt;
mod definitions;
mod inventory;
mod per_resource;
pub mod queries;
mod tables;

use definitions::definitions;
use inventory::{Listed, arm_remainder, first_lacking, store_resources};
use per_resource::{by_resource, store_assessments, store_roles, store_states};
use tables::{store_assignments, store_pricings};

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use tracing::debug;
use url::Url;

use super::follow::{self, RoleTarget};
use super::{CollectError, Ctx, Progress, clusters, collect_subscription, defender, policy};
use crate::azure::ArmError;
use crate::azure::graph::{
    self, GRAPH_API_VERSION, GraphQuery, GraphScope, MAX_SUBSCRIPTIONS_PER_QUERY,
};
use crate::inventory::coverage::SOURCE_ARG;
use crate::inventory::snapshot::redact_secrets;
use crate::inventory::{ManagementGroup, Read, ReadStatus, Subscription, api, arm};
use crate::json;

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

/// Q1, tenant-wide: it does not depend on the scope, so it runs while ARM resolves the scope.
pub(super) async fn containers(
    ctx: &Ctx<'_>,
) -> Result<Result<Vec<Value>, ArmError>, CollectError> {
    let url = graph::route(ctx.base());
    query(
        ctx,
        &url,
        queries::CONTAINERS.to_string(),
        GraphScope::Tenant,
        None,
    )
    .await
}

/// Collects `subscriptions` (resolved over ARM) through Resource Graph, given Q1's answer
/// (`containers`).
pub(super) async fn collect(
    ctx: &Ctx<'_>,
    subscriptions: &[Subscription],
    containers: Result<Vec<Value>, ArmError>,
    fallback: Fallback,
    progress: Option<&dyn Progress>,
) -> Result<(), CollectError> {
    let url = graph::route(ctx.base());
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
    // By then every cluster is in too (the inventory goes first, and the subscriptions read
    // over ARM are read whole), so the supported versions per location follow at once.
    let assignments_in = tokio::sync::Barrier::new(chunks.len() + 3);
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
    let versions_done = async {
        assignments_in.wait().await;
        clusters::kubernetes_versions(ctx).await
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
    futures::try_join!(left_out_done, chunks_done, definitions_done, versions_done)?;
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

/// A query's answer for one chunk: rows, or why there are none (the error); `None` when the
/// plan did not want it asked.
type Answer = Option<Result<Vec<Value>, ArmError>>;

/// Sends `text` for `scope` when the plan wants it.
async fn ask(
    ctx: &Ctx<'_>,
    url: &Url,
    scope: &GraphScope,
    wanted: bool,
    text: String,
    filter: Option<&'static str>,
) -> Result<Answer, CollectError> {
    if !wanted {
        return Ok(None);
    }
    Ok(Some(query(ctx, url, text, scope.clone(), filter).await?))
}

/// Subscriptions per inventory query: about one page of rows (1,000) on a landing zone of
/// about twenty listed resources per subscription. The inventory is asked in these parts,
/// not per chunk, so that the ARM reads hanging off its resources start with the first
/// answers instead of after a chunk's last page, which may wait a whole quota window.
const INVENTORY_SUBSCRIPTIONS_PER_QUERY: usize = 50;

/// Everything Resource Graph answers for one chunk of subscriptions, and the ARM remainder of
/// each part of it as soon as that part's inventory is in.
async fn chunk(
    ctx: &Ctx<'_>,
    url: &Url,
    subs: &[&Subscription],
    fallback: Fallback,
    chains: &HashMap<String, Vec<String>>,
    gates: Gates<'_>,
) -> Result<(), CollectError> {
    let scope_of = |subs: &[&Subscription]| {
        GraphScope::Subscriptions(subs.iter().map(|s| s.subscription_id.clone()).collect())
    };
    let scope = scope_of(subs);
    // The inventory first, part by part: each part's ARM remainder starts as soon as it is in.
    // The other queries wait until every chunk's inventory is in (`inventories_read`), so they
    // run beside the remainder rather than ahead of it in the quota; each is stored as soon as
    // it is answered, so that the policy definitions (which wait for every chunk's
    // assignments) need not wait for the slowest of the others.
    let types = resource_types(ctx);
    let types = &types;
    let (ready, listed) = futures::channel::mpsc::unbounded::<Listed>();
    let remainder = listed
        .map(|listed| async move { arm_remainder(ctx, &listed).await })
        .buffer_unordered(ctx.client.concurrency())
        .try_collect::<Vec<()>>();
    let parts =
        futures::future::try_join_all(subs.chunks(INVENTORY_SUBSCRIPTIONS_PER_QUERY).map(|part| {
            let ready = ready.clone();
            async move {
                let (text, scope) = (queries::resources(types), scope_of(part));
                let rows = ask(ctx, url, &scope, !types.is_empty(), text, None).await?;
                let (kept, to_arm) = store_resources(ctx, part, types, rows, fallback);
                let kept = kept
                    .into_iter()
                    .map(|(sub, listed)| {
                        // The receiver lives as long as this chunk: a send cannot fail.
                        let _ = ready.unbounded_send(listed);
                        sub
                    })
                    .collect::<Vec<_>>();
                Ok::<_, CollectError>((kept, to_arm))
            }
        }));
    let listed_then_others = async {
        let parts = parts.await;
        // No more parts: the remainder ends once the last one is read.
        drop(ready);
        let (kept, to_arm): (Vec<Vec<&Subscription>>, Vec<Vec<&Subscription>>) =
            parts?.into_iter().unzip();
        let (kept, to_arm) = (kept.concat(), to_arm.concat());
        others(ctx, url, &scope, &kept, &to_arm, fallback, chains, gates).await
    };
    // `try_join`: a failure that ends the run must not leave the others at a barrier.
    futures::try_join!(remainder, listed_then_others)?;
    Ok(())
}

/// The queries after the inventory (assignments and exemptions, pricings, policy states, role
/// assignments, assessments) for the subscriptions whose inventory Resource Graph answered
/// (`kept`), each stored as soon as it is answered; `to_arm` are read whole over ARM.
#[allow(clippy::too_many_arguments)]
async fn others(
    ctx: &Ctx<'_>,
    url: &Url,
    scope: &GraphScope,
    kept: &[&Subscription],
    to_arm: &[&Subscription],
    fallback: Fallback,
    chains: &HashMap<String, Vec<String>>,
    gates: Gates<'_>,
) -> Result<(), CollectError> {
    let ask = |wanted, text, filter| ask(ctx, url, scope, wanted, text, filter);
    let plan = ctx.plan;
    // Subscriptions whose inventory Resource Graph could not stand in for: all over ARM. Their
    // assignments count for the definitions too.
    let whole = futures::stream::iter(to_arm.iter().copied())
        .map(|sub| collect_subscription(ctx, sub))
        .buffer_unordered(ctx.client.concurrency())
        .try_collect::<Vec<()>>();
    let above_and_below = Some("AtScopeAboveAndBelow");
    let assignments = async {
        let answer = ask(
            wants_assignments(ctx) || plan.wants(api::POLICY_EXEMPTIONS),
            queries::ASSIGNMENTS.into(),
            above_and_below,
        )
        .await?;
        futures::try_join!(whole, store_assignments(ctx, kept, answer, fallback))?;
        gates.assignments_in.wait().await;
        Ok(())
    };
    let pricings = async {
        let answer = ask(plan.wants(api::PRICINGS), queries::PRICINGS.into(), None).await?;
        store_pricings(ctx, kept, answer, fallback).await
    };
    let states = async {
        let answer = ask(
            plan.wants(api::POLICY_STATES),
            queries::POLICY_STATES.into(),
            None,
        )
        .await?;
        store_states(ctx, kept, answer, fallback).await
    };
    let roles = async {
        let answer = ask(
            plan.wants_on_clusters(api::ROLE_ASSIGNMENTS)
                || plan.wants_on_registries(api::ROLE_ASSIGNMENTS),
            queries::ROLE_ASSIGNMENTS.into(),
            above_and_below,
        )
        .await?;
        store_roles(ctx, kept, answer, fallback, chains).await
    };
    let assessments = async {
        let answer = ask(
            plan.wants_on_clusters(api::ASSESSMENTS) || plan.wants_on_registries(api::ASSESSMENTS),
            queries::ASSESSMENTS.into(),
            None,
        )
        .await?;
        store_assessments(ctx, kept, answer, fallback).await
    };
    gates.inventories_read.wait().await;
    // `try_join`: a failure that ends the run must not leave the others at a barrier.
    futures::try_join!(assignments, pricings, states, roles, assessments)?;
    Ok(())
}
