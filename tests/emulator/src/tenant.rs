//! The tenant fixture: parsing and validating the JSON file a test hands the emulator, and
//! answering the hierarchy questions every route needs (which management groups sit above a
//! subscription, which objects live where). Parsing is done by hand over `serde_json::Value`
//! rather than with derived types so that every error names the exact JSON path at fault
//! (`$.resources[3].id`) and unknown keys are rejected: a misspelt fixture should fail loudly
//! at load, not silently serve an emptier tenant. Stored objects are kept verbatim, in
//! fixture order, because tests rely on odd casing and on a stable listing order.
//! A fixture may also carry `deny` entries: reads the signed-in principal lacks in this
//! tenant, which every run of the tenant shows as 403s on top of any injected by `Options`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::directory::{AzureDevOps, Client, Directory, ManagedIdentity};
use crate::faults::Deny;
use crate::graph::Tables;
use crate::route::{POLICY_STATES_API, Scoped};
use crate::scope;

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) display_name: String,
    pub(crate) parent_key: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    pub(crate) subscription_id: String,
    pub(crate) group_key: String,
    pub(crate) display_name: String,
    pub(crate) body: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// Normalised ID (see `scope::normalize`).
    pub(crate) key: String,
    /// The `type` exactly as stored.
    pub(crate) type_name: String,
    pub(crate) type_key: String,
    pub(crate) body: Value,
}

/// A parsed, validated tenant fixture. See the crate documentation for the file format.
#[derive(Clone, Debug)]
pub struct Tenant {
    tenant_id: String,
    root_key: String,
    groups: Vec<Group>,
    /// Group key → index into `groups`.
    group_index: HashMap<String, usize>,
    subscriptions: Vec<Subscription>,
    /// Subscription key → index into `subscriptions`: every request and every stored object
    /// names its subscription, so this lookup must not scan a thousand subscriptions.
    subscription_index: HashMap<String, usize>,
    resources: Vec<Stored>,
    by_id: HashMap<String, usize>,
    directory: Directory,
    static_tokens: Vec<String>,
    deny: Vec<Deny>,
    index: Index,
    /// Resource Graph's tables, built on the first query: a tenant that is never queried
    /// through Resource Graph (most tests) does not pay for them.
    graph: OnceLock<Tables>,
}

/// The questions routes ask of the stored objects, answered from maps built once at load,
/// so that a request costs what its answer costs, not a scan of every stored object (a
/// generated thousand-subscription tenant stores about sixty thousand). Every list holds
/// positions in `resources` in ascending order, so answers keep fixture order.
#[derive(Clone, Debug, Default)]
struct Index {
    /// (container key, type key) → objects of that type living directly in the container, a
    /// subscription or resource group; a subscription's list also holds its resource groups'.
    /// Objects hanging off a resource (a scale set's pricing) are in neither: the type list of
    /// a subscription does not return them.
    type_lists: HashMap<(String, String), Vec<usize>>,
    /// Parent key → objects exactly one segment below it.
    children: HashMap<String, Vec<usize>>,
    /// (type key, scope) → assignments and exemptions assigned exactly at that scope.
    assigned_at: HashMap<(String, String), Vec<usize>>,
    /// (type key, scope) → assignments and exemptions assigned at or below that scope
    /// (through the management-group chain for a group).
    assigned_within: HashMap<(String, String), Vec<usize>>,
    /// Scope → policy-state records whose `resourceId` lies at or below it.
    states_within: HashMap<String, Vec<usize>>,
}

const TOP_KEYS: &[&str] = &[
    "tenant_id",
    "management_groups",
    "subscriptions",
    "resources",
    "clients",
    "static_tokens",
    "deny",
    "azure_devops",
    "managed_identities",
];

impl Tenant {
    /// Parses a fixture. The error names the JSON path at fault, e.g.
    /// `$.management_groups[1].parent: unknown management group 'crop'`.
    pub fn from_json(text: &str) -> Result<Tenant, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("$: {e}"))?;
        Tenant::from_value(root)
    }

    /// Validates a fixture already in memory (what [`Tenant::from_json`] parses, or what the
    /// generator builds), taking ownership so that stored objects are moved, not copied: a
    /// generated thousand-subscription tenant holds tens of thousands of them.
    pub fn from_value(root: Value) -> Result<Tenant, String> {
        let Value::Object(mut obj) = root else {
            return Err("$: expected an object".into());
        };
        reject_unknown(&obj, "$", TOP_KEYS)?;
        let resources = obj.remove("resources");
        let obj = &obj;
        let tenant_id = req_str(obj, "$", "tenant_id")?.to_string();
        if tenant_id.is_empty() {
            return Err("$.tenant_id: must not be empty".into());
        }
        let root_key = tenant_id.to_ascii_lowercase();
        let mut tenant = Tenant {
            tenant_id,
            root_key,
            groups: Vec::new(),
            group_index: HashMap::new(),
            subscriptions: Vec::new(),
            subscription_index: HashMap::new(),
            resources: Vec::new(),
            by_id: HashMap::new(),
            directory: Directory::default(),
            static_tokens: Vec::new(),
            deny: Vec::new(),
            index: Index::default(),
            graph: OnceLock::new(),
        };
        tenant.parse_groups(obj.get("management_groups"))?;
        tenant.parse_subscriptions(obj.get("subscriptions"))?;
        tenant.parse_resources(resources)?;
        tenant.directory = Directory::parse(obj)?;
        for (i, token) in opt_array(obj.get("static_tokens"), "$.static_tokens")?
            .iter()
            .enumerate()
        {
            let path = format!("$.static_tokens[{i}]");
            let token = token
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| format!("{path}: expected a non-empty string"))?;
            tenant.static_tokens.push(token.to_string());
        }
        for (i, item) in opt_array(obj.get("deny"), "$.deny")?.iter().enumerate() {
            let path = format!("$.deny[{i}]");
            let entry = as_object(item, &path)?;
            reject_unknown(entry, &path, &["scope", "api"])?;
            let scope = req_str(entry, &path, "scope")?;
            let api = req_str(entry, &path, "api")?;
            if scope.is_empty() || api.is_empty() {
                return Err(format!("{path}: scope and api must not be empty"));
            }
            tenant.deny.push(Deny {
                scope: scope.to_string(),
                api: api.to_string(),
            });
        }
        tenant.build_index();
        Ok(tenant)
    }

    /// Reads and parses a fixture file; errors start with the file's path.
    pub fn load(path: &Path) -> Result<Tenant, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Tenant::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The tenant GUID as written in the fixture; also the Tenant Root Group's name.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The clients the token endpoint accepts.
    pub fn clients(&self) -> &[Client] {
        &self.directory.clients
    }

    /// The Azure DevOps organisation whose OIDC endpoint is served, if the fixture has one.
    pub fn azure_devops(&self) -> Option<&AzureDevOps> {
        self.directory.azure_devops.as_ref()
    }

    /// The managed identities of the emulated host.
    pub fn managed_identities(&self) -> &[ManagedIdentity] {
        &self.directory.managed_identities
    }

    /// Registers a certificate (PEM, public part) on a client, as uploading it to the app
    /// registration does: assertions signed with its key are then accepted for the client.
    /// Tests call this with a freshly generated [`crate::ClientCertificate`] before starting
    /// the emulator, so no key is ever committed.
    pub fn add_client_certificate(
        &mut self,
        client_id: &str,
        certificate_pem: &str,
    ) -> Result<(), String> {
        crate::certificate::thumbprints(certificate_pem)?;
        let client = self
            .directory
            .clients
            .iter_mut()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
            .ok_or_else(|| format!("no client '{client_id}' in the fixture"))?;
        client.certificates.push(certificate_pem.to_string());
        Ok(())
    }

    pub(crate) fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Tokens accepted on ARM routes without a sign-in (what an `az` stand-in prints).
    pub fn static_tokens(&self) -> &[String] {
        &self.static_tokens
    }

    /// Reads denied in this tenant whatever the `Options` say (the fixture's `deny`).
    pub fn denials(&self) -> &[Deny] {
        &self.deny
    }

    fn parse_groups(&mut self, value: Option<&Value>) -> Result<(), String> {
        let items = opt_array(value, "$.management_groups")?;
        let mut raw_parents = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("$.management_groups[{i}]");
            let obj = as_object(item, &path)?;
            reject_unknown(obj, &path, &["name", "display_name", "parent"])?;
            let name = req_str(obj, &path, "name")?;
            if name.is_empty() || name.contains('/') {
                return Err(format!("{path}.name: must be a non-empty name without '/'"));
            }
            let key = name.to_ascii_lowercase();
            if key == self.root_key {
                return Err(format!(
                    "{path}.name: the Tenant Root Group ('{name}') is implicit; do not list it"
                ));
            }
            if self.group_index.contains_key(&key) {
                return Err(format!("{path}.name: duplicate management group '{name}'"));
            }
            self.group_index.insert(key.clone(), self.groups.len());
            let display_name = opt_str(obj, &path, "display_name")?.unwrap_or(name);
            let parent = opt_str(obj, &path, "parent")?.unwrap_or(&self.tenant_id);
            raw_parents.push(group_key_of(parent));
            self.groups.push(Group {
                name: name.to_string(),
                key,
                display_name: display_name.to_string(),
                parent_key: String::new(),
            });
        }
        for (i, parent_key) in raw_parents.into_iter().enumerate() {
            if parent_key != self.root_key && !self.group_index.contains_key(&parent_key) {
                return Err(format!(
                    "$.management_groups[{i}].parent: unknown management group '{parent_key}'"
                ));
            }
            self.groups[i].parent_key = parent_key;
        }
        for (i, group) in self.groups.iter().enumerate() {
            let mut seen = vec![group.key.as_str()];
            let mut current = group.parent_key.as_str();
            while current != self.root_key {
                if seen.contains(&current) {
                    return Err(format!(
                        "$.management_groups[{i}].parent: cycle through '{current}'"
                    ));
                }
                seen.push(current);
                current = self
                    .group(current)
                    .map_or(self.root_key.as_str(), |g| g.parent_key.as_str());
            }
        }
        Ok(())
    }

    fn parse_subscriptions(&mut self, value: Option<&Value>) -> Result<(), String> {
        for (i, item) in opt_array(value, "$.subscriptions")?.iter().enumerate() {
            let path = format!("$.subscriptions[{i}]");
            let obj = as_object(item, &path)?;
            reject_unknown(obj, &path, &["management_group", "subscription"])?;
            let group_key = match opt_str(obj, &path, "management_group")? {
                Some(g) => group_key_of(g),
                None => self.root_key.clone(),
            };
            if !self.group_exists(&group_key) {
                return Err(format!(
                    "{path}.management_group: unknown management group '{group_key}'"
                ));
            }
            let body = obj
                .get("subscription")
                .ok_or_else(|| format!("{path}.subscription: missing"))?;
            let sub_path = format!("{path}.subscription");
            let sub = as_object(body, &sub_path)?;
            let subscription_id = req_str(sub, &sub_path, "subscriptionId")?;
            if subscription_id.is_empty() || subscription_id.contains('/') {
                return Err(format!("{sub_path}.subscriptionId: must be a bare GUID"));
            }
            let key = subscription_id.to_ascii_lowercase();
            if let Some(id) = opt_str(sub, &sub_path, "id")?
                && scope::normalize(id) != format!("/subscriptions/{key}")
            {
                return Err(format!(
                    "{sub_path}.id: '{id}' does not match subscriptionId '{subscription_id}'"
                ));
            }
            if self.subscription_index.contains_key(&key) {
                return Err(format!(
                    "{sub_path}.subscriptionId: duplicate subscription '{subscription_id}'"
                ));
            }
            let display_name = opt_str(sub, &sub_path, "displayName")?.unwrap_or(subscription_id);
            self.subscription_index
                .insert(key.clone(), self.subscriptions.len());
            self.subscriptions.push(Subscription {
                subscription_id: subscription_id.to_string(),
                group_key,
                display_name: display_name.to_string(),
                body: body.clone(),
            });
        }
        Ok(())
    }

    fn parse_resources(&mut self, value: Option<Value>) -> Result<(), String> {
        let items = match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("$.resources: expected an array".into()),
        };
        self.resources.reserve(items.len());
        self.by_id.reserve(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("$.resources[{i}]");
            let obj = as_object(&item, &path)?;
            let id = req_str(obj, &path, "id")?;
            let type_name = req_str(obj, &path, "type")?.to_string();
            let key = scope::normalize(id);
            if key == "/" {
                return Err(format!("{path}.id: must not be empty"));
            }
            if let Some(sub) = scope::subscription_of(&key)
                && !self.subscription_index.contains_key(sub)
            {
                return Err(format!(
                    "{path}.id: subscription '{sub}' is not listed in $.subscriptions"
                ));
            }
            if let Some(group) = scope::mg_name_of(&key)
                && !self.group_exists(group)
            {
                return Err(format!(
                    "{path}.id: management group '{group}' is not listed in $.management_groups"
                ));
            }
            if let Some(first) = self.by_id.get(&key) {
                return Err(format!(
                    "{path}.id: duplicate of $.resources[{first}].id ('{id}')"
                ));
            }
            self.by_id.insert(key.clone(), self.resources.len());
            self.resources.push(Stored {
                key,
                type_key: type_name.to_ascii_lowercase(),
                type_name,
                body: item,
            });
        }
        Ok(())
    }

    fn group(&self, key: &str) -> Option<&Group> {
        self.group_index.get(key).and_then(|&i| self.groups.get(i))
    }

    pub(crate) fn group_exists(&self, key: &str) -> bool {
        key == self.root_key || self.group_index.contains_key(key)
    }

    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Display name and stored name of a group, the implicit root included.
    pub(crate) fn group_names(&self, key: &str) -> Option<(String, String)> {
        if key == self.root_key {
            return Some((self.tenant_id.clone(), "Tenant Root Group".to_string()));
        }
        self.group(key)
            .map(|g| (g.name.clone(), g.display_name.clone()))
    }

    pub(crate) fn parent_of(&self, key: &str) -> Option<&str> {
        self.group(key).map(|g| g.parent_key.as_str())
    }

    pub(crate) fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    pub(crate) fn subscription(&self, key: &str) -> Option<&Subscription> {
        self.subscription_index
            .get(key)
            .and_then(|&i| self.subscriptions.get(i))
    }

    /// Every stored object in fixture order (tests compare the indexes against scans of it;
    /// Resource Graph's tables are built from it).
    pub(crate) fn resources(&self) -> &[Stored] {
        &self.resources
    }

    /// The stored objects at these positions (from an index list), in that order.
    fn at<'t>(&'t self, positions: &'t [usize]) -> impl Iterator<Item = &'t Stored> + 't {
        positions.iter().filter_map(|&i| self.resources.get(i))
    }

    /// Objects of `type_key` directly in `container` (a subscription or resource group key),
    /// a subscription's resource groups included; never objects hanging off a resource.
    pub(crate) fn type_list<'t>(
        &'t self,
        container: &str,
        type_key: &str,
    ) -> impl Iterator<Item = &'t Stored> + 't {
        let positions = self
            .index
            .type_lists
            .get(&(container.to_string(), type_key.to_string()))
            .map_or(&[][..], Vec::as_slice);
        self.at(positions)
    }

    /// Objects exactly one segment below `collection` (`/` for top-level objects).
    pub(crate) fn children<'t>(
        &'t self,
        collection: &str,
    ) -> impl Iterator<Item = &'t Stored> + 't {
        let positions = self
            .index
            .children
            .get(collection)
            .map_or(&[][..], Vec::as_slice);
        self.at(positions)
    }

    /// Assignments or exemptions of `type_key` whose assigned scope is `scope_key` (with
    /// `exact`), or at or above it, or — with `below` too — at, above or below it; in
    /// fixture order.
    pub(crate) fn scoped(
        &self,
        type_key: &str,
        scope_key: &str,
        exact: bool,
        below: bool,
    ) -> Vec<&Stored> {
        let type_key = type_key.to_string();
        let bucket = |map: &HashMap<(String, String), Vec<usize>>, scope: &str| {
            map.get(&(type_key.clone(), scope.to_string()))
                .map_or(&[][..], Vec::as_slice)
                .to_vec()
        };
        let mut positions = if exact {
            bucket(&self.index.assigned_at, scope_key)
        } else {
            self.chain(scope_key)
                .iter()
                .flat_map(|s| bucket(&self.index.assigned_at, s))
                .collect()
        };
        if below {
            positions.extend(bucket(&self.index.assigned_within, scope_key));
        }
        positions.sort_unstable();
        positions.dedup();
        positions
            .iter()
            .filter_map(|&i| self.resources.get(i))
            .collect()
    }

    /// Policy-state records whose `resourceId` is at or below `scope_key`.
    pub(crate) fn states_within<'t>(
        &'t self,
        scope_key: &str,
    ) -> impl Iterator<Item = &'t Stored> + 't {
        let positions = self
            .index
            .states_within
            .get(scope_key)
            .map_or(&[][..], Vec::as_slice);
        self.at(positions)
    }

    /// Builds `Index` over the loaded objects. Runs after groups and subscriptions are
    /// known, since inheritance follows the management-group chain.
    fn build_index(&mut self) {
        let mut index = Index::default();
        for (i, object) in self.resources.iter().enumerate() {
            let parent = match object.key.rfind('/') {
                Some(0) | None => "/".to_string(),
                Some(at) => object.key[..at].to_string(),
            };
            index.children.entry(parent).or_default().push(i);

            let home = scope::extension_scope(&object.key);
            let segs = scope::segments(&home);
            let containers: Vec<String> = match segs.as_slice() {
                ["subscriptions", _] => vec![home.clone()],
                ["subscriptions", sub, "resourcegroups", _] => {
                    vec![home.clone(), format!("/subscriptions/{sub}")]
                }
                _ => Vec::new(),
            };
            for container in containers {
                index
                    .type_lists
                    .entry((container, object.type_key.clone()))
                    .or_default()
                    .push(i);
            }

            if Scoped::ALL
                .iter()
                .any(|kind| kind.api().eq_ignore_ascii_case(&object.type_key))
            {
                let at = object.assigned_scope();
                for within in self.chain(&at) {
                    index
                        .assigned_within
                        .entry((object.type_key.clone(), within))
                        .or_default()
                        .push(i);
                }
                index
                    .assigned_at
                    .entry((object.type_key.clone(), at))
                    .or_default()
                    .push(i);
            }
            if object.type_key.eq_ignore_ascii_case(POLICY_STATES_API)
                && let Some(resource) = record_str(&object.body, "resourceId")
            {
                for within in self.chain(&scope::normalize(resource)) {
                    index.states_within.entry(within).or_default().push(i);
                }
            }
        }
        self.index = index;
    }

    /// Resource Graph's tables over this tenant, built once.
    pub(crate) fn graph(&self) -> &Tables {
        self.graph.get_or_init(|| Tables::build(self))
    }

    /// The rows each Resource Graph table holds over this tenant (`resources`,
    /// `resourcecontainers`, `policyresources`, `authorizationresources`,
    /// `securityresources`), building the tables now if no query has: for a startup
    /// printout, and for a benchmark that wants the build out of its timings.
    pub fn resource_graph_rows(&self) -> Vec<(&'static str, usize)> {
        self.graph().counts()
    }

    pub(crate) fn find(&self, key: &str) -> Option<&Stored> {
        self.by_id.get(key).and_then(|&i| self.resources.get(i))
    }

    /// The group keys from `key` up to the Tenant Root Group, both included. Validation at
    /// load rules out cycles; the length bound only guards against a bug here.
    pub(crate) fn group_chain(&self, key: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = key.to_string();
        while chain.len() <= self.groups.len() + 1 {
            chain.push(current.clone());
            match self.parent_of(&current) {
                Some(parent) => current = parent.to_string(),
                None => break,
            }
        }
        chain
    }

    /// Every scope at or above `key` (a normalised ARM ID), nearest first: the segment
    /// prefixes of the ID, then the management-group chain of its subscription or group up
    /// to the Tenant Root Group, then `/`. "Assigned at an ancestor" for policy and RBAC
    /// inheritance is "assigned at one of these".
    pub(crate) fn chain(&self, key: &str) -> Vec<String> {
        let mut out = scope::segment_prefixes(key);
        let start = if let Some(sub) = scope::subscription_of(key) {
            self.subscription(sub).map(|s| s.group_key.clone())
        } else if let Some(group) = scope::mg_name_of(key) {
            self.parent_of(group).map(str::to_string)
        } else {
            None
        };
        if let Some(start) = start {
            for group in self.group_chain(&start) {
                out.push(format!("{}{group}", scope::MG_PREFIX));
            }
        }
        out.push("/".to_string());
        let mut unique = Vec::with_capacity(out.len());
        for s in out {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        unique
    }
}

impl Stored {
    /// The scope an assignment or exemption applies at: `properties.scope` when present,
    /// otherwise the part of its ID before `/providers/Microsoft.Authorization/...`.
    pub(crate) fn assigned_scope(&self) -> String {
        self.body
            .get("properties")
            .and_then(|p| p.get("scope"))
            .and_then(Value::as_str)
            .map(scope::normalize)
            .unwrap_or_else(|| scope::extension_scope(&self.key))
    }
}

/// A top-level string field of a record, its name matched case-insensitively.
pub(crate) fn record_str<'a>(record: &'a Value, field: &str) -> Option<&'a str> {
    record
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .and_then(|(_, v)| v.as_str())
}

/// A group reference in a fixture may be a bare name (or the tenant ID) or a full MG ID.
fn group_key_of(reference: &str) -> String {
    let key = scope::normalize(reference);
    match scope::mg_name_of(&key) {
        Some(name) => name.to_string(),
        None => key.trim_start_matches('/').to_string(),
    }
}

pub(crate) fn as_object<'a>(
    value: &'a Value,
    path: &str,
) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{path}: expected an object"))
}

pub(crate) fn opt_array<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a [Value], String> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("{path}: expected an array")),
    }
}

pub(crate) fn req_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a str, String> {
    opt_str(obj, path, key)?.ok_or_else(|| format!("{path}.{key}: missing"))
}

pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{path}.{key}: expected a string")),
    }
}

pub(crate) fn reject_unknown(
    obj: &Map<String, Value>,
    path: &str,
    known: &[&str],
) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{path}.{k}: unknown key (expected one of: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "11111111-1111-1111-1111-111111111111";

    fn tenant() -> Tenant {
        let text = serde_json::json!({
            "tenant_id": T,
            "management_groups": [
                {"name": "alz", "display_name": "Contoso", "parent": T},
                {"name": "landingzones", "parent": "alz"},
                {"name": "Corp", "parent": "/providers/Microsoft.Management/managementGroups/landingzones"}
            ],
            "subscriptions": [
                {"management_group": "corp", "subscription": {"id": "/subscriptions/AAA", "subscriptionId": "aaa", "displayName": "corp-1"}},
                {"subscription": {"subscriptionId": "bbb"}}
            ],
            "resources": [
                {"id": "/subscriptions/aaa/resourceGroups/rg/providers/Microsoft.ContainerService/ManagedClusters/c1", "type": "Microsoft.ContainerService/ManagedClusters"}
            ],
            "deny": [{"scope": "/subscriptions/aaa", "api": "Microsoft.Security/pricings"}]
        })
        .to_string();
        Tenant::from_json(&text).expect("fixture parses")
    }

    #[test]
    fn chain_walks_resource_prefixes_then_groups_then_root() {
        let t = tenant();
        let chain = t.chain("/subscriptions/aaa/resourcegroups/rg/providers/x.y/z/n");
        let mg = |n: &str| format!("{}{n}", scope::MG_PREFIX);
        assert_eq!(
            chain.first().map(String::as_str),
            Some("/subscriptions/aaa/resourcegroups/rg/providers/x.y/z/n")
        );
        assert!(chain.contains(&"/subscriptions/aaa/resourcegroups/rg".to_string()));
        assert!(chain.contains(&"/subscriptions/aaa".to_string()));
        let tail: Vec<String> = chain[chain.len() - 5..].to_vec();
        assert_eq!(
            tail,
            vec![
                mg("corp"),
                mg("landingzones"),
                mg("alz"),
                mg(T),
                "/".to_string()
            ]
        );
    }

    #[test]
    fn chain_of_group_and_of_unparented_subscription() {
        let t = tenant();
        let chain = t.chain(&format!("{}landingzones", scope::MG_PREFIX));
        assert!(chain.contains(&format!("{}alz", scope::MG_PREFIX)));
        assert!(chain.contains(&format!("{}{T}", scope::MG_PREFIX)));
        assert!(!chain.contains(&format!("{}corp", scope::MG_PREFIX)));
        let chain = t.chain("/subscriptions/bbb");
        assert_eq!(
            chain,
            vec![
                "/subscriptions/bbb".to_string(),
                "/subscriptions".to_string(),
                format!("{}{T}", scope::MG_PREFIX),
                "/".to_string()
            ]
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let bad = |v: serde_json::Value| Tenant::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            bad(
                serde_json::json!({"tenant_id": T, "management_groups": [{"name": "a", "parent": "nope"}]})
            ),
            "$.management_groups[0].parent: unknown management group 'nope'"
        );
        assert!(
            bad(serde_json::json!({"tenant_id": T, "resources": [{"type": "x"}]}))
                .starts_with("$.resources[0].id: missing")
        );
        assert!(
            bad(serde_json::json!({"tenant_id": T, "subscriptoins": []}))
                .starts_with("$.subscriptoins: unknown key")
        );
        assert!(
            bad(serde_json::json!({"tenant_id": T, "resources": [{"id": "/subscriptions/zzz/x", "type": "a/b"}]}))
                .contains("subscription 'zzz' is not listed")
        );
        assert!(
            bad(serde_json::json!({"tenant_id": T, "management_groups": [
                {"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]}))
            .contains("cycle")
        );
        assert!(bad(serde_json::json!([])).starts_with("$: expected an object"));
        assert!(
            bad(serde_json::json!({"tenant_id": T, "deny": [{"scope": "/"}]}))
                .starts_with("$.deny[0].api: missing")
        );
    }

    #[test]
    fn lookups_are_case_insensitive_but_bodies_verbatim() {
        let t = tenant();
        let found = t
            .find(&scope::normalize(
                "/SUBSCRIPTIONS/AAA/resourcegroups/RG/providers/microsoft.containerservice/managedclusters/C1",
            ))
            .expect("found");
        assert_eq!(
            found.type_name,
            "Microsoft.ContainerService/ManagedClusters"
        );
        assert_eq!(
            found.body["type"],
            "Microsoft.ContainerService/ManagedClusters"
        );
        assert_eq!(
            t.group_names("corp"),
            Some(("Corp".to_string(), "Corp".to_string()))
        );
        assert_eq!(
            t.group_names(&T.to_ascii_lowercase()).map(|n| n.1),
            Some("Tenant Root Group".to_string())
        );
    }
}
