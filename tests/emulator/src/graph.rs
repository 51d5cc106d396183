//! Resource Graph's tables over the stored tenant: the ARM objects the emulator serves,
//! adapted to the rows ARG holds for them (§13.1–13.2 of the API notes), indexed once by
//! table and subscription, and the scope rules that decide which rows a query sees.
//!
//! Adaptation, per table (every row has the common columns `id, name, type, tenantId, kind,
//! location, resourceGroup, subscriptionId, managedBy, sku, plan, properties, tags,
//! identity, zones, extendedLocation`; unset string columns are `""`, unset dynamic ones
//! null; `type` is lower-cased everywhere, `resourceGroup` in `resources`):
//!
//! * `resources`: clusters, registries, VMs, scale sets, Arc machines, private endpoints,
//!   private DNS zones and their virtual-network links, VNets, route tables and NSGs, with
//!   `properties` as stored (the ARM GET body). A registry whose stored body has no (or an
//!   empty) `properties.privateEndpointConnections` gets its stored child connections there,
//!   as the registry's GET embeds them and ARG has no row of their own.
//! * `resourcecontainers`: subscriptions (`name` = display name; `properties.state`,
//!   `properties.subscriptionPolicies` and the ARG-only
//!   `properties.managementGroupAncestorsChain[] {name, displayName}`, nearest parent first)
//!   and management groups, the Tenant Root Group included (`properties.displayName`,
//!   `properties.details.managementGroupAncestorsChain[]`, `properties.details.parent`).
//! * `policyresources`: policy assignments, exemptions, definitions and set definitions as
//!   stored, and policy states: the stored flat PolicyInsights record (without the fixture's
//!   `id`/`type` and OData annotations) under `properties`, with a stable synthetic `id`
//!   under the evaluated resource.
//! * `authorizationresources`: role assignments (and role definitions, if a fixture stores
//!   any).
//! * `securityresources`: subscription-level Defender pricings, and assessments with
//!   `properties.resourceDetails.Id` and — when the stored body lacks them —
//!   `properties.metadata` and `properties.displayName` from the tenant's assessment metadata,
//!   which ARG rows carry and ARM list answers do not.
//!
//! Never in ARG, so never rows: diagnostic settings, registry tokens, private DNS zone groups,
//! supported Kubernetes versions, resource-level Defender pricings, assessment metadata, and
//! registry private endpoint connections as rows of their own.
//!
//! Big `properties` bags are not copied: a row whose `properties` is the stored body's
//! points at the stored object, so the tables cost little beside the tenant.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::kql::{COLUMNS, Cell, STRING_COLUMNS, Table};
use crate::random::guid_from;
use crate::route::POLICY_STATES_API;
use crate::scope;
use crate::tenant::{Stored, Tenant};

/// Position of `properties` in [`COLUMNS`].
const PROPERTIES: usize = 11;

/// Stored types that are rows of `resources`.
const RESOURCE_TYPES: [&str; 11] = [
    "microsoft.containerservice/managedclusters",
    "microsoft.containerregistry/registries",
    "microsoft.compute/virtualmachines",
    "microsoft.compute/virtualmachinescalesets",
    "microsoft.hybridcompute/machines",
    "microsoft.network/privateendpoints",
    "microsoft.network/privatednszones",
    "microsoft.network/privatednszones/virtualnetworklinks",
    "microsoft.network/virtualnetworks",
    "microsoft.network/routetables",
    "microsoft.network/networksecuritygroups",
];

/// Stored types of `policyresources` and `authorizationresources` that live at a scope (a
/// management group, the root, a subscription, a resource group or a resource), for which
/// `authorizationScopeFilter` decides which levels a query sees.
const POLICY_TYPES: [&str; 4] = [
    "microsoft.authorization/policyassignments",
    "microsoft.authorization/policyexemptions",
    "microsoft.authorization/policydefinitions",
    "microsoft.authorization/policysetdefinitions",
];
const AUTHORIZATION_TYPES: [&str; 2] = [
    "microsoft.authorization/roleassignments",
    "microsoft.authorization/roledefinitions",
];

const REGISTRY: &str = "microsoft.containerregistry/registries";
const REGISTRY_CONNECTION: &str =
    "microsoft.containerregistry/registries/privateendpointconnections";
const PRICING: &str = "microsoft.security/pricings";
const ASSESSMENT: &str = "microsoft.security/assessments";

static NULL: Value = Value::Null;

/// One ARG row.
#[derive(Clone, Debug)]
struct Row {
    /// The [`COLUMNS`] values; `properties` is null here when `stored_properties` is set.
    cells: Vec<Value>,
    /// The stored object whose `properties` is this row's `properties`.
    stored_properties: Option<usize>,
    /// Lower-case GUID of the subscription the row belongs to; `None` for rows above every
    /// subscription (management groups, the root, tenant-level definitions).
    subscription: Option<String>,
    /// The normalised scope the row lives at: where an assignment applies, where a
    /// definition is defined, the resource a policy state is about, or the row's own ID.
    home: String,
    /// Whether `authorizationScopeFilter` applies (assignments, exemptions, definitions).
    scoped: bool,
}

#[derive(Clone, Debug, Default)]
struct TableRows {
    rows: Vec<Row>,
    /// Subscription key → positions in `rows`, in build order.
    by_subscription: HashMap<String, Vec<usize>>,
    /// Rows with no subscription.
    tenant_level: Vec<usize>,
}

impl TableRows {
    fn push(&mut self, row: Row) {
        let at = self.rows.len();
        match &row.subscription {
            Some(sub) => self
                .by_subscription
                .entry(sub.clone())
                .or_default()
                .push(at),
            None => self.tenant_level.push(at),
        }
        self.rows.push(row);
    }
}

/// The five tables, built once per tenant (on the first query).
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    tables: [TableRows; 5],
}

fn slot(table: Table) -> usize {
    match table {
        Table::Resources => 0,
        Table::ResourceContainers => 1,
        Table::PolicyResources => 2,
        Table::AuthorizationResources => 3,
        Table::SecurityResources => 4,
    }
}

fn text(value: &Value, key: &str) -> Value {
    match value.get(key) {
        Some(Value::String(s)) => Value::String(s.clone()),
        _ => Value::String(String::new()),
    }
}

fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// The ID's part before its last `/providers/`, as spelled (the resource an extension
/// object such as an assessment hangs off).
fn display_extension_scope(id: &str) -> &str {
    let lower = id.to_ascii_lowercase();
    match lower.rfind("/providers/") {
        Some(0) | None => "/",
        Some(i) => &id[..i],
    }
}

/// The resource group an ID names, as spelled; `""` outside one.
fn resource_group_of(id: &str) -> String {
    let segs = scope::segments(id);
    match segs.as_slice() {
        [sub, _, rg, name, ..]
            if sub.eq_ignore_ascii_case("subscriptions")
                && rg.eq_ignore_ascii_case("resourcegroups") =>
        {
            (*name).to_string()
        }
        _ => String::new(),
    }
}

impl Tables {
    pub(crate) fn build(tenant: &Tenant) -> Tables {
        let mut tables: [TableRows; 5] = Default::default();
        let tenant_id = Value::String(tenant.tenant_id().to_string());
        for (i, object) in tenant.resources().iter().enumerate() {
            let type_key = object.type_key.as_str();
            if RESOURCE_TYPES.contains(&type_key) {
                let mut row = envelope(tenant, object, i, &tenant_id, true);
                if type_key == REGISTRY {
                    embed_connections(tenant, object, &mut row);
                }
                tables[slot(Table::Resources)].push(row);
            } else if POLICY_TYPES.contains(&type_key) {
                let mut row = envelope(tenant, object, i, &tenant_id, false);
                row.home = if type_key.ends_with("definitions") {
                    scope::extension_scope(&object.key)
                } else {
                    object.assigned_scope()
                };
                row.subscription = scope::subscription_of(&row.home).map(str::to_string);
                row.scoped = true;
                tables[slot(Table::PolicyResources)].push(row);
            } else if AUTHORIZATION_TYPES.contains(&type_key) {
                let mut row = envelope(tenant, object, i, &tenant_id, false);
                row.home = if type_key.ends_with("roledefinitions") {
                    scope::extension_scope(&object.key)
                } else {
                    object.assigned_scope()
                };
                row.subscription = scope::subscription_of(&row.home).map(str::to_string);
                row.scoped = true;
                tables[slot(Table::AuthorizationResources)].push(row);
            } else if type_key.eq_ignore_ascii_case(POLICY_STATES_API) {
                if let Some(row) = policy_state(tenant, object, &tenant_id) {
                    tables[slot(Table::PolicyResources)].push(row);
                }
            } else if type_key == PRICING {
                // Only subscription pricings: whether ARG indexes resource-level ones is
                // undocumented, so lzaudit keeps reading those over ARM.
                if scope::segments(&scope::extension_scope(&object.key)).len() == 2 {
                    let row = envelope(tenant, object, i, &tenant_id, false);
                    tables[slot(Table::SecurityResources)].push(row);
                }
            } else if type_key == ASSESSMENT {
                let mut row = envelope(tenant, object, i, &tenant_id, false);
                assessment_properties(tenant, object, &mut row);
                tables[slot(Table::SecurityResources)].push(row);
            }
        }
        let containers = &mut tables[slot(Table::ResourceContainers)];
        for row in subscription_rows(tenant, &tenant_id) {
            containers.push(row);
        }
        for row in group_rows(tenant, &tenant_id) {
            containers.push(row);
        }
        Tables { tables }
    }

    /// The working rows of `table` that `selection` lets a query see, in a fixed order:
    /// subscription by subscription in tenant order, then rows above every subscription.
    pub(crate) fn rows<'t>(
        &'t self,
        tenant: &'t Tenant,
        table: Table,
        selection: &Selection,
    ) -> Vec<Vec<Cell<'t>>> {
        let rows = &self.tables[slot(table)];
        let mut positions: Vec<usize> = Vec::new();
        for sub in &selection.subscriptions {
            if let Some(list) = rows.by_subscription.get(sub) {
                positions.extend(list.iter().copied().filter(|&p| {
                    let row = &rows.rows[p];
                    selection.sees_in_subscription(row)
                }));
            }
        }
        positions.extend(
            rows.tenant_level
                .iter()
                .copied()
                .filter(|&p| selection.sees_above_subscriptions(tenant, table, &rows.rows[p])),
        );
        positions
            .into_iter()
            .map(|p| {
                let row = &rows.rows[p];
                row.cells
                    .iter()
                    .enumerate()
                    .map(|(i, value)| match row.stored_properties {
                        Some(object) if i == PROPERTIES => Cow::Borrowed(
                            tenant
                                .resources()
                                .get(object)
                                .and_then(|o| o.body.get("properties"))
                                .unwrap_or(&NULL),
                        ),
                        _ => Cow::Borrowed(value),
                    })
                    .collect()
            })
            .collect()
    }

    /// How many rows each table holds, for the startup printout and benchmarks.
    pub(crate) fn counts(&self) -> Vec<(&'static str, usize)> {
        Table::ALL
            .into_iter()
            .map(|t| (t.name(), self.tables[slot(t)].rows.len()))
            .collect()
    }
}

/// The common envelope of a stored ARM object.
fn envelope(
    tenant: &Tenant,
    object: &Stored,
    position: usize,
    tenant_id: &Value,
    lower_group: bool,
) -> Row {
    let body = &object.body;
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default();
    let name = body.get("name").and_then(Value::as_str).map_or_else(
        || id.rsplit('/').next().unwrap_or_default().to_string(),
        str::to_string,
    );
    let mut group = resource_group_of(id);
    if lower_group {
        group = group.to_ascii_lowercase();
    }
    let subscription = scope::subscription_of(&object.key).map(str::to_string);
    let subscription_id = subscription
        .as_deref()
        .and_then(|s| tenant.subscription(s))
        .map_or_else(String::new, |s| s.subscription_id.clone());
    let cells = vec![
        Value::String(id.to_string()),
        Value::String(name),
        Value::String(object.type_key.clone()),
        tenant_id.clone(),
        text(body, "kind"),
        text(body, "location"),
        Value::String(group),
        Value::String(subscription_id),
        text(body, "managedBy"),
        field(body, "sku"),
        field(body, "plan"),
        Value::Null,
        field(body, "tags"),
        field(body, "identity"),
        field(body, "zones"),
        field(body, "extendedLocation"),
    ];
    debug_assert_eq!(cells.len(), COLUMNS.len());
    Row {
        cells,
        stored_properties: Some(position),
        subscription,
        home: object.key.clone(),
        scoped: false,
    }
}

/// Changes the row's `properties`, on a copy of the stored ones (an object, whatever was
/// stored): the row then owns them.
fn edit_properties(tenant: &Tenant, row: &mut Row, edit: impl FnOnce(&mut Map<String, Value>)) {
    let current = match row.stored_properties.take() {
        Some(object) => tenant
            .resources()
            .get(object)
            .and_then(|o| o.body.get("properties"))
            .cloned()
            .unwrap_or(Value::Null),
        None => std::mem::take(&mut row.cells[PROPERTIES]),
    };
    let mut map = match current {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    edit(&mut map);
    row.cells[PROPERTIES] = Value::Object(map);
}

fn embed_connections(tenant: &Tenant, registry: &Stored, row: &mut Row) {
    let embedded = registry
        .body
        .get("properties")
        .and_then(|p| p.get("privateEndpointConnections"));
    if embedded.is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty())) {
        return;
    }
    let children: Vec<Value> = tenant
        .children(&format!("{}/privateendpointconnections", registry.key))
        .filter(|c| c.type_key == REGISTRY_CONNECTION)
        .map(|c| c.body.clone())
        .collect();
    if children.is_empty() {
        return;
    }
    edit_properties(tenant, row, |properties| {
        properties.insert("privateEndpointConnections".into(), Value::Array(children));
    });
}

fn assessment_properties(tenant: &Tenant, object: &Stored, row: &mut Row) {
    let stored = object.body.get("properties");
    let has = |key: &str| {
        stored
            .and_then(|p| p.get(key))
            .is_some_and(|v| !v.is_null())
    };
    let has_id = stored
        .and_then(|p| p.get("resourceDetails"))
        .and_then(|d| d.get("Id"))
        .is_some_and(Value::is_string);
    let name = object.key.rsplit('/').next().unwrap_or_default();
    let metadata = [
        format!("/providers/microsoft.security/assessmentmetadata/{name}"),
        format!(
            "/subscriptions/{}/providers/microsoft.security/assessmentmetadata/{name}",
            row.subscription.as_deref().unwrap_or_default()
        ),
    ]
    .iter()
    .find_map(|key| tenant.find(key))
    .and_then(|m| m.body.get("properties"))
    .cloned();
    let fill_metadata = !has("metadata") && metadata.is_some();
    let fill_name = !has("displayName")
        && metadata
            .as_ref()
            .is_some_and(|m| m.get("displayName").is_some());
    if has_id && !fill_metadata && !fill_name {
        return;
    }
    let resource = display_extension_scope(
        object
            .body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .to_string();
    edit_properties(tenant, row, |properties| {
        if !has_id {
            let details = properties
                .entry("resourceDetails")
                .or_insert_with(|| json!({"Source": "Azure"}));
            if let Value::Object(details) = details {
                details.insert("Id".into(), Value::String(resource));
            }
        }
        if let Some(metadata) = metadata {
            if fill_name && let Some(display) = metadata.get("displayName") {
                properties.insert("displayName".into(), display.clone());
            }
            if fill_metadata {
                properties.insert("metadata".into(), metadata);
            }
        }
    });
}

fn policy_state(tenant: &Tenant, object: &Stored, tenant_id: &Value) -> Option<Row> {
    let record = object.body.as_object()?;
    let resource_id = crate::tenant::record_str(&object.body, "resourceId")?.to_string();
    let resource_key = scope::normalize(&resource_id);
    let subscription = scope::subscription_of(&resource_key)?.to_string();
    let subscription_id = tenant
        .subscription(&subscription)
        .map_or_else(|| subscription.clone(), |s| s.subscription_id.clone());
    let name = guid_from(&object.key);
    let properties: Map<String, Value> = record
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("@odata.")
                && !k.eq_ignore_ascii_case("id")
                && !k.eq_ignore_ascii_case("type")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let cells = vec![
        Value::String(format!(
            "{}/providers/Microsoft.PolicyInsights/policyStates/{name}",
            resource_id.trim_end_matches('/')
        )),
        Value::String(name),
        Value::String(POLICY_STATES_API.to_ascii_lowercase()),
        tenant_id.clone(),
        Value::String(String::new()),
        Value::String(String::new()),
        Value::String(resource_group_of(&resource_id)),
        Value::String(subscription_id),
        Value::String(String::new()),
        Value::Null,
        Value::Null,
        Value::Object(properties),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ];
    Some(Row {
        cells,
        stored_properties: None,
        subscription: Some(subscription),
        home: resource_key,
        scoped: false,
    })
}

/// `{name, displayName}` of each group from `first` up to the Tenant Root Group.
fn ancestors_chain(tenant: &Tenant, first: Option<&str>) -> Value {
    let Some(first) = first else {
        return Value::Array(Vec::new());
    };
    Value::Array(
        tenant
            .group_chain(first)
            .iter()
            .filter_map(|k| tenant.group_names(k))
            .map(|(name, display)| json!({"name": name, "displayName": display}))
            .collect(),
    )
}

fn container_cells(
    id: String,
    name: String,
    type_name: &str,
    tenant_id: &Value,
    sub: &str,
) -> Vec<Value> {
    let mut cells = vec![
        Value::String(id),
        Value::String(name),
        Value::String(type_name.to_string()),
        tenant_id.clone(),
    ];
    cells.extend((4..STRING_COLUMNS).map(|_| Value::String(String::new())));
    cells[7] = Value::String(sub.to_string());
    cells.extend((STRING_COLUMNS..COLUMNS.len()).map(|_| Value::Null));
    cells
}

fn subscription_rows(tenant: &Tenant, tenant_id: &Value) -> Vec<Row> {
    tenant
        .subscriptions()
        .iter()
        .map(|s| {
            let body = &s.body;
            let key = s.subscription_id.to_ascii_lowercase();
            let mut properties = Map::new();
            for k in ["state", "subscriptionPolicies"] {
                if let Some(v) = body.get(k) {
                    properties.insert(k.to_string(), v.clone());
                }
            }
            properties.insert(
                "managementGroupAncestorsChain".into(),
                ancestors_chain(tenant, Some(&s.group_key)),
            );
            let tenant_value = match body.get("tenantId") {
                Some(Value::String(t)) => Value::String(t.clone()),
                _ => tenant_id.clone(),
            };
            let mut cells = container_cells(
                format!("/subscriptions/{}", s.subscription_id),
                s.display_name.clone(),
                "microsoft.resources/subscriptions",
                &tenant_value,
                &s.subscription_id,
            );
            cells[PROPERTIES] = Value::Object(properties);
            cells[12] = field(body, "tags");
            Row {
                cells,
                stored_properties: None,
                subscription: Some(key.clone()),
                home: format!("/subscriptions/{key}"),
                scoped: false,
            }
        })
        .collect()
}

fn group_rows(tenant: &Tenant, tenant_id: &Value) -> Vec<Row> {
    let root = tenant.tenant_id().to_ascii_lowercase();
    std::iter::once(root)
        .chain(tenant.groups().iter().map(|g| g.key.clone()))
        .filter_map(|key| {
            let (name, display) = tenant.group_names(&key)?;
            let parent = tenant.parent_of(&key);
            let mut details = Map::new();
            details.insert(
                "managementGroupAncestorsChain".into(),
                ancestors_chain(tenant, parent),
            );
            if let Some((parent_name, parent_display)) = parent.and_then(|p| tenant.group_names(p)) {
                details.insert(
                    "parent".into(),
                    json!({"id": scope::mg_id(&parent_name), "name": parent_name, "displayName": parent_display}),
                );
            }
            let mut cells = container_cells(
                scope::mg_id(&name),
                name,
                "microsoft.management/managementgroups",
                tenant_id,
                "",
            );
            cells[PROPERTIES] = json!({
                "displayName": display,
                "tenantId": tenant.tenant_id(),
                "details": details,
            });
            Some(Row {
                cells,
                stored_properties: None,
                subscription: None,
                home: format!("{}{key}", scope::MG_PREFIX),
                scoped: false,
            })
        })
        .collect()
}

/// `options.authorizationScopeFilter`: which levels of scoped rows (assignments, exemptions,
/// definitions) come back relative to the requested scopes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ScopeFilter {
    #[default]
    AndBelow,
    AndAbove,
    AboveAndBelow,
    Exact,
}

impl ScopeFilter {
    pub(crate) fn parse(text: &str) -> Option<ScopeFilter> {
        [
            ScopeFilter::AndBelow,
            ScopeFilter::AndAbove,
            ScopeFilter::AboveAndBelow,
            ScopeFilter::Exact,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(text))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ScopeFilter::AndBelow => "AtScopeAndBelow",
            ScopeFilter::AndAbove => "AtScopeAndAbove",
            ScopeFilter::AboveAndBelow => "AtScopeAboveAndBelow",
            ScopeFilter::Exact => "AtScopeExact",
        }
    }

    fn below(self) -> bool {
        matches!(self, ScopeFilter::AndBelow | ScopeFilter::AboveAndBelow)
    }

    fn above(self) -> bool {
        matches!(self, ScopeFilter::AndAbove | ScopeFilter::AboveAndBelow)
    }
}

/// The scope a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Requested {
    /// `subscriptions[]`, as sent.
    Subscriptions(Vec<String>),
    /// `managementGroups[]` (names, or group IDs), as sent.
    Groups(Vec<String>),
    /// Neither: everything the principal can read.
    Tenant,
}

/// Why no rows can be selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// None of the requested scopes can be read: ARG's 403. The message names them.
    Forbidden(String),
}

/// What a request may see: the readable subscriptions in its scope, and what its scoped
/// rows are measured against.
#[derive(Debug)]
pub(crate) struct Selection {
    /// Readable subscription keys in scope, in tenant order.
    subscriptions: Vec<String>,
    /// The readable requested scopes (normalised keys); `/` for a tenant-wide query.
    requested: HashSet<String>,
    /// Requested management-group keys (readable ones), for a group-scoped query.
    groups: Option<HashSet<String>>,
    /// Every scope at or above a requested one.
    above: HashSet<String>,
    filter: ScopeFilter,
    /// Denied scopes (normalised) below subscription level, which hide rows inside a
    /// readable subscription.
    deep_denials: Vec<String>,
    /// Denied scopes at or above subscription level, for rows above every subscription.
    denials: Vec<String>,
}

impl Selection {
    /// Resolves a request's scope against the tenant and the principal's denials
    /// (`denied`: normalised scopes where `Microsoft.ResourceGraph/resources` is denied).
    /// Unreadable and unknown subscriptions and groups are silently left out, as ARG leaves
    /// out what the caller cannot read; if nothing requested is readable, the answer is 403.
    pub(crate) fn resolve(
        tenant: &Tenant,
        requested: &Requested,
        filter: ScopeFilter,
        denied: &[String],
    ) -> Result<Selection, Refusal> {
        let (deep_denials, denials): (Vec<String>, Vec<String>) = denied
            .iter()
            .cloned()
            .partition(|d| scope::subscription_of(d).is_some() && scope::segments(d).len() > 2);
        let blocked = |key: &str| {
            !denials.is_empty() && tenant.chain(key).iter().any(|s| denials.contains(s))
        };
        let readable_subscription = |key: &str| {
            tenant.subscription(key).is_some() && !blocked(&format!("/subscriptions/{key}"))
        };
        let mut requested_keys = HashSet::new();
        let mut groups = None;
        let subscriptions: Vec<String> = match requested {
            Requested::Subscriptions(list) => {
                let wanted: HashSet<String> =
                    list.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
                let readable: Vec<String> = tenant
                    .subscriptions()
                    .iter()
                    .map(|s| s.subscription_id.to_ascii_lowercase())
                    .filter(|k| wanted.contains(k) && readable_subscription(k))
                    .collect();
                if readable.is_empty() {
                    return Err(Refusal::Forbidden(format!(
                        "none of the requested subscriptions ({}) can be read",
                        list.join(", ")
                    )));
                }
                requested_keys.extend(readable.iter().map(|k| format!("/subscriptions/{k}")));
                readable
            }
            Requested::Groups(list) => {
                let readable: HashSet<String> = list
                    .iter()
                    .map(|g| {
                        let key = scope::normalize(g);
                        scope::mg_name_of(&key)
                            .map_or_else(|| key.trim_start_matches('/').to_string(), str::to_string)
                    })
                    .filter(|g| {
                        tenant.group_exists(g) && !blocked(&format!("{}{g}", scope::MG_PREFIX))
                    })
                    .collect();
                if readable.is_empty() {
                    return Err(Refusal::Forbidden(format!(
                        "none of the requested management groups ({}) can be read",
                        list.join(", ")
                    )));
                }
                let under: Vec<&crate::tenant::Subscription> = tenant
                    .subscriptions()
                    .iter()
                    .filter(|s| {
                        tenant
                            .group_chain(&s.group_key)
                            .iter()
                            .any(|g| readable.contains(g))
                    })
                    .collect();
                let subs: Vec<String> = under
                    .iter()
                    .map(|s| s.subscription_id.to_ascii_lowercase())
                    .filter(|k| readable_subscription(k))
                    .collect();
                if subs.is_empty() && !under.is_empty() {
                    return Err(Refusal::Forbidden(format!(
                        "none of the subscriptions under the requested management groups ({}) can be read",
                        list.join(", ")
                    )));
                }
                requested_keys.extend(readable.iter().map(|g| format!("{}{g}", scope::MG_PREFIX)));
                groups = Some(readable);
                subs
            }
            Requested::Tenant => {
                let subs: Vec<String> = tenant
                    .subscriptions()
                    .iter()
                    .map(|s| s.subscription_id.to_ascii_lowercase())
                    .filter(|k| readable_subscription(k))
                    .collect();
                if subs.is_empty() && !tenant.subscriptions().is_empty() {
                    return Err(Refusal::Forbidden(
                        "none of the tenant's subscriptions can be read".to_string(),
                    ));
                }
                requested_keys.insert("/".to_string());
                subs
            }
        };
        let mut above = HashSet::new();
        if filter.above() {
            for key in &requested_keys {
                above.extend(tenant.chain(key));
            }
        }
        Ok(Selection {
            subscriptions,
            requested: requested_keys,
            groups,
            above,
            filter,
            deep_denials,
            denials,
        })
    }

    /// A row of a selected subscription: hidden only by a denial inside the subscription,
    /// or, if scoped, by the filter. Everything in a selected subscription is at or below a
    /// requested scope; it is at or above one only if it sits at a requested subscription.
    fn sees_in_subscription(&self, row: &Row) -> bool {
        if self
            .deep_denials
            .iter()
            .any(|d| scope::is_within(&row.home, d))
        {
            return false;
        }
        if !row.scoped || self.filter.below() {
            return true;
        }
        match self.filter {
            ScopeFilter::AndAbove | ScopeFilter::Exact => self.requested.contains(&row.home),
            _ => true,
        }
    }

    /// A row above every subscription (a group, the root, a tenant-level definition or
    /// assignment).
    fn sees_above_subscriptions(&self, tenant: &Tenant, table: Table, row: &Row) -> bool {
        let chain = tenant.chain(&row.home);
        if chain.iter().any(|s| self.denials.contains(s)) {
            return false;
        }
        if table == Table::ResourceContainers {
            // Groups come with a tenant-wide query, or a group-scoped one at or below the
            // requested groups; never with a subscription-scoped one.
            return match &self.groups {
                Some(groups) => scope::mg_name_of(&row.home)
                    .is_some_and(|g| tenant.group_chain(g).iter().any(|k| groups.contains(k))),
                None => self.requested.contains("/"),
            };
        }
        if !row.scoped {
            return false;
        }
        let below =
            self.requested.contains("/") || chain.iter().any(|s| self.requested.contains(s));
        let at = self.requested.contains(&row.home);
        match self.filter {
            ScopeFilter::Exact => at,
            ScopeFilter::AndBelow => below,
            ScopeFilter::AndAbove => self.above.contains(&row.home),
            ScopeFilter::AboveAndBelow => below || self.above.contains(&row.home),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "tid";
    const S1: &str = "aaaaaaaa-0000-0000-0000-000000000001";
    const S2: &str = "aaaaaaaa-0000-0000-0000-000000000002";

    fn tenant() -> Tenant {
        let reg = format!(
            "/subscriptions/{S1}/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/r"
        );
        let cluster = format!(
            "/subscriptions/{S2}/resourceGroups/aks/providers/Microsoft.ContainerService/ManagedClusters/c"
        );
        let pa = |id: &str, scope: &str| json!({"id": id, "type": "Microsoft.Authorization/policyAssignments", "name": id.rsplit('/').next(), "properties": {"scope": scope}});
        Tenant::from_json(&json!({
            "tenant_id": T,
            "management_groups": [{"name": "alz", "display_name": "ALZ"}, {"name": "corp", "parent": "alz"}, {"name": "online", "parent": "alz"}],
            "subscriptions": [
                {"management_group": "corp", "subscription": {"subscriptionId": S1, "displayName": "one", "state": "Enabled", "tags": {"a": "b"}}},
                {"management_group": "online", "subscription": {"subscriptionId": S2, "displayName": "two", "state": "Disabled"}}
            ],
            "resources": [
                {"id": reg, "type": "Microsoft.ContainerRegistry/registries", "name": "r", "location": "westeurope", "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": false}},
                {"id": format!("{reg}/privateEndpointConnections/pe"), "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections", "name": "pe", "properties": {"privateEndpoint": {"id": "x"}}},
                {"id": format!("{reg}/tokens/t"), "type": "Microsoft.ContainerRegistry/registries/tokens"},
                {"id": format!("{reg}/providers/Microsoft.Insights/diagnosticSettings/d"), "type": "Microsoft.Insights/diagnosticSettings"},
                {"id": cluster, "type": "Microsoft.ContainerService/ManagedClusters", "properties": {"kubernetesVersion": "1.30"}},
                {"id": format!("{cluster}/providers/Microsoft.Security/assessments/k1"), "type": "Microsoft.Security/assessments", "name": "k1", "properties": {"status": {"code": "Unhealthy"}}},
                {"id": "/providers/Microsoft.Security/assessmentMetadata/k1", "type": "Microsoft.Security/assessmentMetadata", "properties": {"displayName": "Fix it", "severity": "High"}},
                {"id": format!("/subscriptions/{S1}/providers/Microsoft.Security/pricings/Containers"), "type": "Microsoft.Security/pricings", "properties": {"pricingTier": "Standard"}},
                {"id": format!("{cluster}/providers/Microsoft.Security/pricings/VirtualMachines"), "type": "Microsoft.Security/pricings"},
                {"id": format!("{cluster}/providers/Microsoft.PolicyInsights/policyStates/s1"), "type": "Microsoft.PolicyInsights/policyStates", "@odata.id": null, "resourceId": cluster, "complianceState": "NonCompliant"},
                pa("/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policyAssignments/alz", "/providers/Microsoft.Management/managementGroups/alz"),
                pa(&format!("/subscriptions/{S1}/providers/Microsoft.Authorization/policyAssignments/sub"), &format!("/subscriptions/{S1}")),
                pa(&format!("/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.Authorization/policyAssignments/rg"), &format!("/subscriptions/{S1}/resourceGroups/rg")),
                {"id": "/providers/Microsoft.Authorization/policyDefinitions/builtin", "type": "Microsoft.Authorization/policyDefinitions", "name": "builtin"},
                {"id": "/providers/Microsoft.Management/managementGroups/online/providers/Microsoft.Authorization/policyDefinitions/custom", "type": "Microsoft.Authorization/policyDefinitions", "name": "custom"}
            ]
        }).to_string()).expect("fixture")
    }

    fn ids(
        tenant: &Tenant,
        table: Table,
        requested: Requested,
        filter: ScopeFilter,
        denied: &[&str],
    ) -> Vec<String> {
        let tables = Tables::build(tenant);
        let denied: Vec<String> = denied.iter().map(|d| scope::normalize(d)).collect();
        let selection = Selection::resolve(tenant, &requested, filter, &denied).expect("selects");
        tables
            .rows(tenant, table, &selection)
            .iter()
            .map(|r| {
                r[0].as_str()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn rows_are_adapted_from_arm_shapes() {
        let t = tenant();
        let tables = Tables::build(&t);
        let all =
            Selection::resolve(&t, &Requested::Tenant, ScopeFilter::default(), &[]).expect("all");
        let resources = tables.rows(&t, Table::Resources, &all);
        assert_eq!(
            resources.len(),
            2,
            "tokens, connections and diagnostics are not rows"
        );
        let registry = &resources[0];
        assert_eq!(
            registry[2].as_ref(),
            "microsoft.containerregistry/registries"
        );
        assert_eq!(
            registry[6].as_ref(),
            "rg",
            "resourceGroup is lower-cased in resources"
        );
        assert_eq!(registry[7].as_ref(), S1);
        assert_eq!(registry[3].as_ref(), T);
        assert_eq!(registry[4].as_ref(), "");
        assert_eq!(registry[9]["name"], "Premium");
        assert_eq!(registry[14].as_ref(), &Value::Null);
        assert_eq!(registry[PROPERTIES]["adminUserEnabled"], false);
        assert_eq!(
            registry[PROPERTIES]["privateEndpointConnections"][0]["name"],
            "pe"
        );
        assert_eq!(
            resources[1][2].as_ref(),
            "microsoft.containerservice/managedclusters"
        );
        assert_eq!(resources[1][PROPERTIES]["kubernetesVersion"], "1.30");

        let security = tables.rows(&t, Table::SecurityResources, &all);
        assert_eq!(security.len(), 2, "the resource-level pricing is not a row");
        let assessment = security
            .iter()
            .find(|r| r[2].as_ref() == "microsoft.security/assessments")
            .expect("assessment");
        assert_eq!(assessment[PROPERTIES]["metadata"]["severity"], "High");
        assert_eq!(assessment[PROPERTIES]["displayName"], "Fix it");
        assert!(
            assessment[PROPERTIES]["resourceDetails"]["Id"]
                .as_str()
                .is_some_and(|id| id.ends_with("/ManagedClusters/c"))
        );

        let policy = tables.rows(&t, Table::PolicyResources, &all);
        let state = policy
            .iter()
            .find(|r| r[2].as_ref() == "microsoft.policyinsights/policystates")
            .expect("state");
        assert_eq!(state[PROPERTIES]["complianceState"], "NonCompliant");
        assert!(
            state[PROPERTIES].get("@odata.id").is_none() && state[PROPERTIES].get("id").is_none()
        );
        assert_eq!(state[7].as_ref(), S2);
        let again = Tables::build(&t);
        let state_again = again.rows(&t, Table::PolicyResources, &all);
        assert!(
            state_again.iter().any(|r| r[0] == state[0]),
            "the synthetic ID is stable"
        );

        let containers = tables.rows(&t, Table::ResourceContainers, &all);
        let names: Vec<&Value> = containers.iter().map(|r| r[1].as_ref()).collect();
        assert_eq!(
            names,
            [
                &json!("one"),
                &json!("two"),
                &json!(T),
                &json!("alz"),
                &json!("corp"),
                &json!("online")
            ]
        );
        assert_eq!(
            containers[0][PROPERTIES]["managementGroupAncestorsChain"],
            json!([{"name": "corp", "displayName": "corp"}, {"name": "alz", "displayName": "ALZ"}, {"name": T, "displayName": "Tenant Root Group"}])
        );
        assert_eq!(containers[0][PROPERTIES]["state"], "Enabled");
        assert_eq!(containers[0][12]["a"], "b");
        assert_eq!(
            containers[4][PROPERTIES]["details"]["parent"]["name"],
            "alz"
        );
        assert_eq!(
            containers[2][PROPERTIES]["details"]["managementGroupAncestorsChain"],
            json!([])
        );
    }

    #[test]
    fn scopes_and_filters_select_levels() {
        let t = tenant();
        let subs = || Requested::Subscriptions(vec![S1.to_uppercase()]);
        // Policy states are not levelled: they come with their subscription whatever the
        // filter, so leave them (the GUID-named rows) out here.
        let policy = |requested, filter| {
            let mut rows = ids(&t, Table::PolicyResources, requested, filter, &[]);
            rows.retain(|r| r.len() != 36);
            rows
        };
        assert_eq!(policy(subs(), ScopeFilter::AndBelow), ["sub", "rg"]);
        assert_eq!(policy(subs(), ScopeFilter::Exact), ["sub"]);
        assert_eq!(
            policy(subs(), ScopeFilter::AndAbove),
            ["sub", "alz", "builtin"]
        );
        assert_eq!(
            policy(subs(), ScopeFilter::AboveAndBelow),
            ["sub", "rg", "alz", "builtin"]
        );
        let online = || Requested::Groups(vec!["Online".into()]);
        assert_eq!(policy(online(), ScopeFilter::AndBelow), ["custom"]);
        assert_eq!(policy(online(), ScopeFilter::Exact), ["custom"]);
        assert_eq!(
            policy(online(), ScopeFilter::AndAbove),
            ["alz", "builtin", "custom"]
        );
        assert_eq!(policy(Requested::Tenant, ScopeFilter::Exact), ["builtin"]);
        assert_eq!(policy(Requested::Tenant, ScopeFilter::AndBelow).len(), 5);

        let containers = |requested| {
            ids(
                &t,
                Table::ResourceContainers,
                requested,
                ScopeFilter::default(),
                &[],
            )
        };
        assert_eq!(containers(subs()), [S1]);
        assert_eq!(
            containers(Requested::Groups(vec![
                "/providers/Microsoft.Management/managementGroups/corp".into()
            ])),
            [S1, "corp"]
        );
        assert_eq!(
            containers(Requested::Groups(vec!["alz".into()])),
            [S1, S2, "alz", "corp", "online"]
        );
    }

    #[test]
    fn denials_leave_rows_out_silently_or_refuse_everything() {
        let t = tenant();
        let both = || Requested::Subscriptions(vec![S1.into(), S2.into()]);
        let sub1 = format!("/subscriptions/{S1}");
        let rows = ids(
            &t,
            Table::Resources,
            both(),
            ScopeFilter::default(),
            &[&sub1],
        );
        assert_eq!(rows, ["c"]);
        let corp = "/providers/Microsoft.Management/managementGroups/corp";
        assert_eq!(
            ids(
                &t,
                Table::Resources,
                both(),
                ScopeFilter::default(),
                &[corp]
            ),
            ["c"]
        );
        let rg = format!("{sub1}/resourceGroups/rg");
        assert_eq!(
            ids(&t, Table::Resources, both(), ScopeFilter::default(), &[&rg]),
            ["c"]
        );
        assert_eq!(
            ids(
                &t,
                Table::Resources,
                Requested::Tenant,
                ScopeFilter::default(),
                &[corp]
            ),
            ["c"]
        );
        let alz = "/providers/Microsoft.Management/managementGroups/alz";
        assert!(
            Selection::resolve(
                &t,
                &Requested::Subscriptions(vec![S1.into()]),
                ScopeFilter::AboveAndBelow,
                &[scope::normalize(alz)]
            )
            .is_err(),
            "{alz} denied hides its subscriptions, so nothing is readable"
        );
        let policy = ids(
            &t,
            Table::PolicyResources,
            Requested::Tenant,
            ScopeFilter::AndBelow,
            &[corp],
        );
        assert!(
            !policy.contains(&"sub".to_string()) && policy.contains(&"alz".to_string()),
            "{policy:?}"
        );
        let refused = Selection::resolve(
            &t,
            &Requested::Subscriptions(vec![S1.into(), "nope".into()]),
            ScopeFilter::default(),
            std::slice::from_ref(&sub1),
        );
        assert!(matches!(refused, Err(Refusal::Forbidden(m)) if m.contains("nope")));
        let refused = Selection::resolve(
            &t,
            &Requested::Groups(vec!["corp".into()]),
            ScopeFilter::default(),
            std::slice::from_ref(&sub1),
        );
        assert!(refused.is_err());
        let refused = Selection::resolve(
            &t,
            &Requested::Groups(vec!["nope".into()]),
            ScopeFilter::default(),
            &[],
        );
        assert!(refused.is_err());
    }
}
