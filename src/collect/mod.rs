//! Collection: reading a tenant over ARM REST into an `Inventory`, recording every read.
//!
//! `run` resolves the requested scope (all visible subscriptions, `--subscription`s, or a
//! management group's subtree) and reads the management-group hierarchy (at the same time
//! when the tenant is known from sign-in), then runs one collector per API family for every
//! audited subscription concurrently (each cluster's and registry's own reads follow its
//! listing, and the AKS machines' Defender pricings follow the subscription's cluster and
//! machine lists), and finally the follow-up reads that depend on everything found (the
//! policy definitions the assignments reference, the supported Kubernetes versions of each
//! location in use), beside the one tenant-level read (the Defender for Cloud assessment
//! metadata). The client paces every request (see `azure::pacing`). Collectors never judge and
//! never write a page loop: they build a URL, call `Ctx::list`/`Ctx::query`/`Ctx::get`, and
//! store what came back. Each call leaves a `Read` in the inventory's coverage, successful or
//! not, so checks can tell "empty" from "unread".
//! Only failures after which nothing can be audited stop the run: sign-in (a token ARM refuses
//! even after renewal), an ARM endpoint that cannot be reached while resolving the scope, and
//! a scope-discovery call that fails (`CollectError::Discovery`). Which APIs are called is decided by the `Plan`, built from the checks
//! selected, so an audit of two checks does not read the whole tenant.

pub mod arg;
mod clusters;
mod defender;
mod follow;
mod machines;
mod network;
mod policy;
mod registries;
mod scope;

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use thiserror::Error;
use tracing::{debug, info};
use url::Url;

use crate::azure::{ArmClient, ArmError, Expect, Method, list_all_with};
use crate::inventory::snapshot::redact_secrets;
use crate::inventory::{Inventory, Read, RequestedScope, Subscription, api, arm};
use crate::json;

pub use scope::{MANAGEMENT_GROUPS_API, empty_scope};

/// What to collect: the coverage API names the selected checks read (`data`) and the policy
/// definition GUIDs they care about (`policies`).
///
/// Dependencies between APIs, so that a check naming only the data it reads gets what that
/// data needs:
/// - `Microsoft.Resources/subscriptions` is always read (it defines the scope), and with
///   `--management-group` so are that group's descendants.
/// - The management-group hierarchy (the tenant root group's descendants, and each
///   subscription's ancestor chain) is read for `MG_DESCENDANTS`, and also for the policy
///   APIs and policy GUIDs, because policy inheritance (catalogue §1.1) is decided on it.
/// - Child reads follow their parents: registry `privateEndpointConnections` and `tokens`
///   need the registry list (it is read when any of them is wanted); AKS machines'
///   resource-level `VirtualMachines` pricings are read for `PRICINGS` over the machines
///   listed (VMs, scale sets, Arc — each when wanted).
/// - Per cluster: `POLICY_STATES` (its latest policy states) needs the cluster list, and so
///   does `KUBERNETES_VERSIONS` (read once per location the listed clusters use).
/// - Extension reads that hang off clusters and registries alike — `DIAGNOSTIC_SETTINGS`,
///   `ASSESSMENTS` and `ROLE_ASSIGNMENTS` (at or above the resource) — are made on the parent
///   types the plan names beside them: on clusters when it names `CLUSTERS`, on registries when
///   it names `REGISTRIES`, on both when it names both or neither (then both lists are read).
///   So a registry-logging check does not list clusters, and a cluster-only check does not
///   list registries.
/// - `ASSESSMENT_METADATA` (the tenant-level list of assessment types with their severity) is
///   read once per run when named, and needs nothing else: it is what gives the assessments
///   read per resource (which carry no `metadata`) their severity. Naming `ASSESSMENTS` alone
///   does not read it.
/// - Network: `PRIVATE_DNS_ZONE_GROUPS` (per private endpoint) needs the private-endpoint
///   list, `PRIVATE_DNS_ZONE_LINKS` (per zone) the private-DNS-zone list; virtual networks,
///   route tables and NSGs are plain subscription lists.
/// - Policy: assignments are read for `POLICY_ASSIGNMENTS` or any definition API. A
///   referenced set definition is read for `POLICY_SET_DEFINITIONS`. Definitions (referenced
///   directly by an assignment, or members of a read set) are read for `POLICY_DEFINITIONS`
///   when their GUID is in `policy_guids` (the union of the selected checks' `policies`; every
///   directly referenced one when that is empty). A landing zone assigns hundreds of
///   definitions; the checks resolve effects through a few dozen. A check that merely
///   documents related policies (no policy API in its `data`) costs nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub apis: BTreeSet<String>,
    pub policy_guids: BTreeSet<String>,
}

/// Every API the collector can read.
pub const ALL_APIS: &[&str] = &[
    api::SUBSCRIPTIONS,
    api::MG_DESCENDANTS,
    api::CLUSTERS,
    api::REGISTRIES,
    api::REGISTRY_PE_CONNECTIONS,
    api::REGISTRY_TOKENS,
    api::VIRTUAL_MACHINES,
    api::SCALE_SETS,
    api::ARC_MACHINES,
    api::PRICINGS,
    api::POLICY_ASSIGNMENTS,
    api::POLICY_EXEMPTIONS,
    api::POLICY_DEFINITIONS,
    api::POLICY_SET_DEFINITIONS,
    api::ROLE_ASSIGNMENTS,
    api::PRIVATE_ENDPOINTS,
    api::PRIVATE_DNS_ZONE_GROUPS,
    api::PRIVATE_DNS_ZONES,
    api::PRIVATE_DNS_ZONE_LINKS,
    api::VIRTUAL_NETWORKS,
    api::ROUTE_TABLES,
    api::NETWORK_SECURITY_GROUPS,
    api::DIAGNOSTIC_SETTINGS,
    api::ASSESSMENTS,
    api::ASSESSMENT_METADATA,
    api::POLICY_STATES,
    api::KUBERNETES_VERSIONS,
];

/// Extension APIs read on clusters and registries alike (see `Plan`).
const SHARED_EXTENSIONS: &[&str] = &[
    api::DIAGNOSTIC_SETTINGS,
    api::ASSESSMENTS,
    api::ROLE_ASSIGNMENTS,
];

impl Plan {
    /// Every API, no policy GUIDs (so no set members): for tests and `collect` without checks.
    pub fn everything() -> Plan {
        Plan {
            apis: ALL_APIS.iter().map(|a| a.to_string()).collect(),
            policy_guids: BTreeSet::new(),
        }
    }

    /// A plan of these APIs and policy GUIDs.
    pub fn new<A: Into<String>, G: Into<String>>(
        apis: impl IntoIterator<Item = A>,
        policy_guids: impl IntoIterator<Item = G>,
    ) -> Plan {
        Plan {
            apis: apis.into_iter().map(Into::into).collect(),
            policy_guids: policy_guids.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the plan names `api` (any casing).
    pub fn wants(&self, api: &str) -> bool {
        self.apis.iter().any(|a| arm::eq_ci(a, api))
    }

    /// Whether any of `apis` is wanted.
    pub fn wants_any(&self, apis: &[&str]) -> bool {
        apis.iter().any(|a| self.wants(a))
    }

    /// Whether the trailing GUID of a definition ID is one the checks care about.
    pub fn wants_policy(&self, definition_id: &str) -> bool {
        let guid = arm::last_segment(definition_id);
        self.policy_guids.iter().any(|g| arm::eq_ci(g, guid))
    }

    /// Whether a shared extension API (`DIAGNOSTIC_SETTINGS`, `ASSESSMENTS`,
    /// `ROLE_ASSIGNMENTS`) is read on each cluster: wanted, and clusters named or registries not.
    pub fn wants_on_clusters(&self, extension: &str) -> bool {
        self.wants(extension) && (self.wants(api::CLUSTERS) || !self.wants(api::REGISTRIES))
    }

    /// Whether a shared extension API is read on each registry: wanted, and registries named or
    /// clusters not.
    pub fn wants_on_registries(&self, extension: &str) -> bool {
        self.wants(extension) && (self.wants(api::REGISTRIES) || !self.wants(api::CLUSTERS))
    }

    /// Whether the cluster list is read: for itself or for any read that hangs off a cluster.
    pub fn wants_clusters(&self) -> bool {
        self.wants_any(&[api::CLUSTERS, api::POLICY_STATES, api::KUBERNETES_VERSIONS])
            || SHARED_EXTENSIONS.iter().any(|e| self.wants_on_clusters(e))
    }

    /// Whether the registry list is read: for itself or for any read that hangs off a registry.
    pub fn wants_registries(&self) -> bool {
        self.wants_any(&[
            api::REGISTRIES,
            api::REGISTRY_PE_CONNECTIONS,
            api::REGISTRY_TOKENS,
        ]) || SHARED_EXTENSIONS
            .iter()
            .any(|e| self.wants_on_registries(e))
    }

    /// Whether the management-group hierarchy is needed (see the type's documentation).
    pub fn wants_hierarchy(&self) -> bool {
        self.wants_any(&[
            api::MG_DESCENDANTS,
            api::POLICY_ASSIGNMENTS,
            api::POLICY_EXEMPTIONS,
            api::POLICY_DEFINITIONS,
            api::POLICY_SET_DEFINITIONS,
        ])
    }
}

/// Why nothing could be collected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CollectError {
    /// ARM refused the token even after renewal, or no token could be acquired.
    #[error("{message} ({method} {url})")]
    SignIn {
        method: Method,
        url: String,
        message: String,
    },
    /// The ARM endpoint did not answer while resolving the scope, after every retry.
    #[error("cannot reach ARM at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The call that says which subscriptions are audited (the subscription list, or the
    /// descendants of `--management-group`) failed: without it there is no scope to audit, and
    /// an empty audit must not pass for a clean one.
    #[error("cannot resolve the audit scope: {call} failed: {cause}")]
    Discovery { call: String, cause: String },
    /// The scope resolved, but holds no subscription that can be audited.
    #[error("{0} (pass --allow-empty to accept an empty audit)")]
    EmptyScope(String),
}

/// Watches a collection from outside (a progress bar, log lines). Collectors never see it: `run`
/// reports whole subscriptions as they finish, and the observer reads the client's counters
/// (`ArmClient::stats`) itself.
pub trait Progress: Sync {
    /// The scope is resolved: `total` subscriptions will be collected.
    fn started(&self, total: usize);
    /// Every per-subscription read of `subscription` is done (successful or recorded as a gap).
    fn subscription_done(&self, subscription: &Subscription);
    /// The follow-up reads that depend on every subscription (policy definitions, supported
    /// versions) are running.
    fn finishing(&self);
}

/// Which service answers the reads that both can (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// ARM REST only.
    #[default]
    Arm,
    /// Resource Graph where it holds the data, ARM for the rest; what Resource Graph cannot
    /// answer is a gap.
    Arg,
    /// Resource Graph where it holds the data, ARM for the rest and for whatever Resource
    /// Graph cannot answer (denied, failed, or rows lacking a property a check needs).
    Auto,
}

impl Source {
    /// `Inventory::source`: `arm`, `arg` or `auto` (each `Read` says which service answered).
    pub fn name(self) -> &'static str {
        match self {
            Source::Arm => "arm",
            Source::Arg => "arg",
            Source::Auto => "auto",
        }
    }
}

/// Collects the requested scope over ARM as the plan says, telling `progress` (when given) how
/// far it is.
pub async fn run(
    client: &ArmClient,
    scope: RequestedScope,
    plan: &Plan,
    progress: Option<&dyn Progress>,
) -> Result<Inventory, CollectError> {
    run_from(client, scope, plan, progress, Source::Arm).await
}

/// Collects the requested scope from `source` (see `arg` for Resource Graph).
pub async fn run_from(
    client: &ArmClient,
    scope: RequestedScope,
    plan: &Plan,
    progress: Option<&dyn Progress>,
    source: Source,
) -> Result<Inventory, CollectError> {
    // Thousands of pages repeat the same keys and values: one pool of strings for them all,
    // dropped when the collection ends.
    let _strings = json::Sharing::begin();
    let ctx = Ctx {
        client,
        plan,
        inventory: Mutex::new(Inventory::new(
            &client.arm_endpoint(),
            source.name(),
            scope.clone(),
        )),
        mark_arm: source != Source::Arm,
    };
    let fallback = match source {
        Source::Arm => None,
        Source::Arg => Some(arg::Fallback::None),
        Source::Auto => Some(arg::Fallback::Arm),
    };
    // Resource Graph's scope query needs no scope: it runs beside ARM's discovery.
    let graph_scope = async {
        match fallback {
            Some(fallback) => Ok(Some((fallback, arg::containers(&ctx).await?))),
            None => Ok::<_, CollectError>(None),
        }
    };
    let (resolved, through_graph) = futures::join!(scope::resolve(&ctx, &scope), graph_scope);
    resolved?;
    let through_graph = through_graph?;
    let subscriptions = ctx.view(|inv| inv.subscriptions.clone());
    info!(
        subscriptions = subscriptions.len(),
        "collecting {} subscription(s)",
        subscriptions.len()
    );
    if let Some(p) = progress {
        p.started(subscriptions.len());
    }
    // The assessment metadata is one tenant-level list that depends on nothing: read beside
    // the subscriptions, not after them.
    let subscriptions_done = async {
        match through_graph {
            Some((fallback, containers)) => {
                arg::collect(&ctx, &subscriptions, containers, fallback, progress).await
            }
            None => {
                futures::stream::iter(subscriptions.iter())
                    .map(|sub| async {
                        collect_subscription(&ctx, sub).await?;
                        if let Some(p) = progress {
                            p.subscription_done(sub);
                        }
                        Ok::<(), CollectError>(())
                    })
                    .buffer_unordered(client.concurrency())
                    .try_for_each(|()| async { Ok(()) })
                    .await
            }
        }
    };
    let collected =
        async { futures::try_join!(subscriptions_done, defender::assessment_metadata(&ctx)) };
    // At trace level, the pace every half second: where a slow collection spends its time.
    let pace = async {
        if !tracing::enabled!(tracing::Level::TRACE) {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let stats = client.stats();
            tracing::trace!(
                requests = stats.requests,
                graph_queries = stats.graph_queries,
                limit = stats.concurrency,
                throttle_waiting = stats.throttle_waiting,
                "pace"
            );
        }
    };
    tokio::select! {
        done = collected => { done?; }
        () = pace => {}
    }
    if let Some(p) = progress {
        p.finishing();
    }
    // The Resource Graph path reads the definitions and the supported versions itself, as soon
    // as the assignments (and with them every cluster) are in.
    if fallback.is_none() {
        futures::try_join!(
            policy::definitions(&ctx),
            clusters::kubernetes_versions(&ctx)
        )?;
    }

    let mut inventory = ctx
        .inventory
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    for list in [
        &mut inventory.clusters,
        &mut inventory.registries,
        &mut inventory.machines,
        &mut inventory.policy_assignments,
        &mut inventory.policy_definitions,
        &mut inventory.policy_set_definitions,
        &mut inventory.policy_exemptions,
        &mut inventory.role_assignments,
        &mut inventory.cluster_role_assignments,
        &mut inventory.private_endpoints,
        &mut inventory.private_dns_zones,
        &mut inventory.virtual_networks,
        &mut inventory.route_tables,
        &mut inventory.network_security_groups,
        &mut inventory.assessment_metadata,
    ] {
        dedupe_by_id(list);
    }
    inventory.normalise_order();
    inventory.collected_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats as RFC 3339");
    let stats = client.stats();
    info!(
        requests = stats.requests,
        graph_queries = stats.graph_queries,
        retries = stats.retries,
        throttled = stats.throttled,
        gaps = inventory.gaps().count(),
        "collection finished"
    );
    Ok(inventory)
}

/// Every per-subscription collector, concurrently.
async fn collect_subscription(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    let compute = async {
        let (clusters, machines) =
            futures::try_join!(clusters::collect(ctx, sub), machines::collect(ctx, sub))?;
        defender::machine_pricings(ctx, &defender::aks_machine_ids(&clusters, &machines)).await
    };
    futures::try_join!(
        compute,
        registries::collect(ctx, sub),
        network::collect(ctx, sub),
        defender::subscription_pricings(ctx, sub),
        policy::assignments(ctx, sub),
        policy::exemptions(ctx, sub),
    )?;
    Ok(())
}

/// The `api-version` query parameter of an ARM URL.
fn api_version_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned())
}

/// Keeps the first object of every ID (compared case-insensitively), in order.
fn dedupe_by_id(list: &mut Vec<json::Value>) {
    let mut seen = HashSet::new();
    list.retain(|v| seen.insert(arm::id(v).to_ascii_lowercase()));
}

/// Shared state of one collection: the client, the plan, and the inventory being filled.
/// The lock is never held across an await.
pub(crate) struct Ctx<'a> {
    client: &'a ArmClient,
    plan: &'a Plan,
    inventory: Mutex<Inventory>,
    /// Whether ARM reads say so (`Read::source`): in collections that also use Resource
    /// Graph. A collection over ARM alone leaves the field out, as before Resource Graph.
    mark_arm: bool,
}

impl Ctx<'_> {
    fn base(&self) -> &Url {
        self.client.base_url()
    }

    fn update<R>(&self, f: impl FnOnce(&mut Inventory) -> R) -> R {
        let mut guard = self.inventory.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Stores listed values in the inventory (as its compact `json` trees) and hands them back
    /// for the reads that follow them, which live only as long as those reads.
    fn store_listed(
        &self,
        items: Vec<Value>,
        store: impl FnOnce(&mut Inventory) -> &mut Vec<json::Value>,
    ) -> Vec<Value> {
        let stored = json::copies(&items);
        self.update(|inv| store(inv).extend(stored));
        items
    }

    fn view<R>(&self, f: impl FnOnce(&Inventory) -> R) -> R {
        let guard = self.inventory.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    fn record(&self, mut read: Read) {
        if self.mark_arm && read.source.is_none() {
            read.source = Some(crate::inventory::coverage::SOURCE_ARM.to_string());
        }
        self.update(|inv| inv.reads.push(read));
    }

    /// Records an ARM read of `url`, with its api-version when reads say their source.
    fn record_at(&self, mut read: Read, url: &str) {
        if self.mark_arm && read.source.is_none() && read.api_version.is_none() {
            read.api_version = api_version_of(url);
        }
        self.record(read);
    }

    /// Reads every page of a scope-discovery list; any failure ends the run (see
    /// `CollectError::Discovery`), since no scope means nothing to audit.
    async fn discover(
        &self,
        url: Url,
        scope: &str,
        api: &str,
        call: &str,
    ) -> Result<Vec<Value>, CollectError> {
        let at = url.to_string();
        match list_all_with(self.client, Method::Get, url, Expect::Resources).await {
            Ok(mut items) => {
                items.iter_mut().for_each(redact_secrets);
                self.record_at(Read::ok(scope, api), &at);
                Ok(items)
            }
            Err(err) if err.is_sign_in() => Err(CollectError::SignIn {
                method: err.method,
                url: err.url,
                message: err.message,
            }),
            Err(err) if err.is_unreachable() => Err(CollectError::Unreachable {
                url: err.url,
                message: err.message,
            }),
            Err(err) => Err(CollectError::Discovery {
                call: call.to_string(),
                cause: err.to_string(),
            }),
        }
    }

    /// Records a failed read, or stops the run when the failure is a sign-in problem (and,
    /// with `scope_phase`, when ARM is unreachable).
    fn failed(
        &self,
        err: ArmError,
        scope: &str,
        api: &str,
        scope_phase: bool,
    ) -> Result<(), CollectError> {
        if err.is_sign_in() {
            return Err(CollectError::SignIn {
                method: err.method,
                url: err.url,
                message: err.message,
            });
        }
        if scope_phase && err.is_unreachable() {
            return Err(CollectError::Unreachable {
                url: err.url,
                message: err.message,
            });
        }
        let read = err.to_read(scope, api);
        debug!("could not read {}", read.describe());
        self.record_at(read, &err.url);
        Ok(())
    }

    /// Reads every page of a list; `None` when the read failed (and was recorded).
    async fn list(
        &self,
        url: Url,
        scope: &str,
        api: &str,
    ) -> Result<Option<Vec<Value>>, CollectError> {
        self.paged(Method::Get, url, scope, api, false).await
    }

    /// Reads every page of a POST query (PolicyInsights `queryResults`); `None` when the read
    /// failed (and was recorded).
    async fn query(
        &self,
        url: Url,
        scope: &str,
        api: &str,
    ) -> Result<Option<Vec<Value>>, CollectError> {
        self.paged(Method::Post, url, scope, api, false).await
    }

    async fn list_in(
        &self,
        url: Url,
        scope: &str,
        api: &str,
        scope_phase: bool,
    ) -> Result<Option<Vec<Value>>, CollectError> {
        self.paged(Method::Get, url, scope, api, scope_phase).await
    }

    async fn paged(
        &self,
        method: Method,
        url: Url,
        scope: &str,
        api: &str,
        scope_phase: bool,
    ) -> Result<Option<Vec<Value>>, CollectError> {
        let expect = match method {
            Method::Get => Expect::Resources,
            Method::Post => Expect::Records,
        };
        let at = url.to_string();
        match list_all_with(self.client, method, url, expect).await {
            Ok(mut items) => {
                items.iter_mut().for_each(redact_secrets);
                self.record_at(Read::ok(scope, api), &at);
                Ok(Some(items))
            }
            Err(err) => self.failed(err, scope, api, scope_phase).map(|()| None),
        }
    }

    /// Reads one object; `None` when the read failed (and was recorded).
    async fn get(&self, url: Url, scope: &str, api: &str) -> Result<Option<Value>, CollectError> {
        self.get_in(url, scope, api, false).await
    }

    async fn get_in(
        &self,
        url: Url,
        scope: &str,
        api: &str,
        scope_phase: bool,
    ) -> Result<Option<Value>, CollectError> {
        match self.client.get(&url, Expect::Resource).await {
            Ok(mut value) => {
                redact_secrets(&mut value);
                self.record_at(Read::ok(scope, api), url.as_str());
                Ok(Some(value))
            }
            Err(err) => self.failed(err, scope, api, scope_phase).map(|()| None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_matching_is_case_insensitive() {
        let plan = Plan::new(
            ["microsoft.containerservice/managedclusters"],
            ["95EDB821-DDAF-4404-9732-666045E056B4"],
        );
        assert!(plan.wants(api::CLUSTERS));
        assert!(!plan.wants(api::REGISTRIES));
        assert!(plan.wants_policy(
            "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4"
        ));
        assert!(
            !plan.wants_hierarchy(),
            "policy GUIDs alone select set members; they do not make a check read policy"
        );
        assert!(!Plan::new([api::CLUSTERS], [""; 0]).wants_hierarchy());
        assert!(Plan::new([api::POLICY_EXEMPTIONS], [""; 0]).wants_hierarchy());
        let all = Plan::everything();
        assert!(ALL_APIS.iter().all(|a| all.wants(a)));
    }

    #[test]
    fn shared_extensions_follow_the_parent_types_named() {
        let none = Plan::new([api::CLUSTERS, api::PRICINGS], [""; 0]);
        assert!(none.wants_clusters() && !none.wants_registries());
        assert!(!none.wants_on_clusters(api::DIAGNOSTIC_SETTINGS));

        let cluster_logs = Plan::new([api::CLUSTERS, api::DIAGNOSTIC_SETTINGS], [""; 0]);
        assert!(cluster_logs.wants_on_clusters(api::DIAGNOSTIC_SETTINGS));
        assert!(!cluster_logs.wants_on_registries(api::DIAGNOSTIC_SETTINGS));
        assert!(!cluster_logs.wants_registries());

        let registry_logs = Plan::new([api::REGISTRIES, api::DIAGNOSTIC_SETTINGS], [""; 0]);
        assert!(!registry_logs.wants_on_clusters(api::DIAGNOSTIC_SETTINGS));
        assert!(registry_logs.wants_on_registries(api::DIAGNOSTIC_SETTINGS));
        assert!(!registry_logs.wants_clusters());

        let bare = Plan::new([api::ASSESSMENTS], [""; 0]);
        assert!(
            bare.wants_on_clusters(api::ASSESSMENTS) && bare.wants_on_registries(api::ASSESSMENTS)
        );
        assert!(bare.wants_clusters() && bare.wants_registries());

        let both = Plan::new(
            [api::CLUSTERS, api::REGISTRIES, api::ROLE_ASSIGNMENTS],
            [""; 0],
        );
        assert!(both.wants_on_clusters(api::ROLE_ASSIGNMENTS));
        assert!(both.wants_on_registries(api::ROLE_ASSIGNMENTS));

        for child in [api::POLICY_STATES, api::KUBERNETES_VERSIONS] {
            let plan = Plan::new([child], [""; 0]);
            assert!(plan.wants_clusters() && !plan.wants_registries(), "{child}");
        }
        let tokens = Plan::new([api::REGISTRY_TOKENS], [""; 0]);
        assert!(tokens.wants_registries() && !tokens.wants_clusters());
    }

    #[test]
    fn the_api_version_of_a_url() {
        assert_eq!(
            api_version_of("https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/managedClusters?api-version=2026-02-01&$top=5").as_deref(),
            Some("2026-02-01")
        );
        assert_eq!(
            api_version_of("https://management.azure.com/subscriptions"),
            None
        );
        assert_eq!(api_version_of("not a url"), None);
    }

    #[test]
    fn dedupe_keeps_the_first_of_each_id_ignoring_case() {
        let mut list = vec![
            crate::tree!({"id": "/subscriptions/A/x", "n": 1}),
            crate::tree!({"id": "/subscriptions/a/X", "n": 2}),
            crate::tree!({"id": "/subscriptions/b/x", "n": 3}),
        ];
        dedupe_by_id(&mut list);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["n"], 1);
    }
}
