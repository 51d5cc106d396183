//! Classifying an ARM request path into the route that serves it, together with the (scope,
//! api) pair that fault injection and the request log key on. ARM has no fixed URL table —
//! scopes nest, and extension resources hang off any resource — so classification is by
//! shape, in the precedence the emulator promises: the specific routes (the Resource Graph
//! query endpoint, subscriptions, management groups, policy and role assignments,
//! exemptions, PolicyInsights policy-state queries), then an exact stored ID, then a
//! location's supported Kubernetes versions stored once for every subscription, then a
//! resource-type list in a subscription or resource group, then a child collection of a
//! stored parent. Everything is decided here, against the tenant, so that faults can be
//! checked before anything is served and a 404 is still attributed to an API. Only the
//! policy-state and Resource Graph queries are POSTs; which method each route takes is the
//! server's business.

use crate::scope;
use crate::tenant::{Stored, Tenant};

pub(crate) const SUBSCRIPTIONS_API: &str = "Microsoft.Resources/subscriptions";
pub(crate) const DESCENDANTS_API: &str = "Microsoft.Management/managementGroups/descendants";
pub(crate) const GROUPS_API: &str = "Microsoft.Management/managementGroups";
/// The API of `…/providers/Microsoft.PolicyInsights/policyStates/{latest|default}/queryResults`,
/// and the `type` of the stored policy-state records it serves.
pub(crate) const POLICY_STATES_API: &str = "Microsoft.PolicyInsights/policyStates";

/// The three scope-inheriting collections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scoped {
    PolicyAssignments,
    PolicyExemptions,
    RoleAssignments,
}

impl Scoped {
    pub(crate) const ALL: [Scoped; 3] = [
        Scoped::PolicyAssignments,
        Scoped::PolicyExemptions,
        Scoped::RoleAssignments,
    ];

    fn from_segment(segment: &str) -> Option<Scoped> {
        match segment {
            "policyassignments" => Some(Scoped::PolicyAssignments),
            "policyexemptions" => Some(Scoped::PolicyExemptions),
            "roleassignments" => Some(Scoped::RoleAssignments),
            _ => None,
        }
    }

    pub(crate) fn api(self) -> &'static str {
        match self {
            Scoped::PolicyAssignments => "Microsoft.Authorization/policyAssignments",
            Scoped::PolicyExemptions => "Microsoft.Authorization/policyExemptions",
            Scoped::RoleAssignments => "Microsoft.Authorization/roleAssignments",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    ListSubscriptions,
    /// Every management group, the Tenant Root Group included.
    ListGroups,
    /// Subscription key (lower-case GUID).
    GetSubscription(String),
    /// Group key.
    Descendants(String),
    /// Group key.
    GetGroup(String),
    /// Scope key.
    Scoped {
        kind: Scoped,
        scope: String,
    },
    /// `POST {scope}/providers/Microsoft.PolicyInsights/policyStates/{resource}/queryResults`
    /// with the scope key and the virtual resource as spelled (`latest` and `default` are
    /// served, anything else is refused when executed): the stored policy-state records of
    /// resources at or below the scope.
    PolicyStates {
        scope: String,
        resource: String,
    },
    /// `POST /providers/Microsoft.ResourceGraph/resources`: a Resource Graph query, answered
    /// from the body (see `graph_query`).
    ResourceGraph,
    /// Stored object key.
    Object(String),
    /// Stored objects of `type_key` directly in a subscription or resource group.
    TypeList {
        container: String,
        type_key: String,
    },
    /// Stored objects exactly one segment below the collection key.
    Children {
        collection: String,
    },
    /// A well-formed path naming something that is not there.
    NotFound {
        code: &'static str,
        message: String,
    },
    /// A path ARM would not route at all.
    Invalid {
        message: String,
    },
}

impl Route {
    /// Whether the route answers with a list envelope.
    pub(crate) fn is_list(&self) -> bool {
        matches!(
            self,
            Route::ListSubscriptions
                | Route::ListGroups
                | Route::Descendants(_)
                | Route::Scoped { .. }
                | Route::PolicyStates { .. }
                | Route::TypeList { .. }
                | Route::Children { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Classified {
    pub(crate) route: Route,
    /// The ARM ID the request is about, as spelled in the request.
    pub(crate) scope: String,
    pub(crate) api: Option<String>,
}

fn classified(route: Route, scope: String, api: Option<String>) -> Classified {
    Classified { route, scope, api }
}

/// Joins the first `n` display segments into an ID (`/` when `n` is 0).
fn prefix(segs: &[&str], n: usize) -> String {
    format!("/{}", segs[..n].join("/"))
}

/// Classifies a percent-decoded GET path.
pub(crate) fn classify(tenant: &Tenant, path: &str) -> Classified {
    let display = scope::tidy(path);
    let key = scope::normalize(path);
    let d: Vec<&str> = scope::segments(&display);
    let s: Vec<&str> = scope::segments(&key);
    let n = s.len();

    if s.first()
        .is_none_or(|first| *first != "subscriptions" && *first != "providers")
    {
        return classified(
            Route::Invalid {
                message: format!("The request path '{display}' is not a valid ARM resource path."),
            },
            display,
            None,
        );
    }

    if s == ["providers", "microsoft.resourcegraph", "resources"] {
        // Tenant-level: ARM throttles it in the tenant's bucket, and only a denial at `/`
        // refuses it outright; denials at subscriptions narrow its answer instead.
        return classified(
            Route::ResourceGraph,
            "/".into(),
            Some(crate::graph_query::GRAPH_API.into()),
        );
    }
    if s == ["subscriptions"] {
        return classified(
            Route::ListSubscriptions,
            "/".into(),
            Some(SUBSCRIPTIONS_API.into()),
        );
    }
    if n == 2 && s[0] == "subscriptions" {
        let route = if tenant.subscription(s[1]).is_some() {
            Route::GetSubscription(s[1].to_string())
        } else {
            subscription_not_found(d[1])
        };
        return classified(route, display, Some(SUBSCRIPTIONS_API.into()));
    }
    if s == ["providers", "microsoft.management", "managementgroups"] {
        return classified(Route::ListGroups, "/".into(), Some(GROUPS_API.into()));
    }
    if (n == 4 || (n == 5 && s[4] == "descendants"))
        && s[..3] == ["providers", "microsoft.management", "managementgroups"]
    {
        let group = s[3].to_string();
        let api = if n == 5 { DESCENDANTS_API } else { GROUPS_API };
        let route = if !tenant.group_exists(&group) {
            group_not_found(d[3])
        } else if n == 5 {
            Route::Descendants(group)
        } else {
            Route::GetGroup(group)
        };
        return classified(route, scope::mg_id(d[3]), Some(api.into()));
    }
    if n >= 3
        && s[n - 3] == "providers"
        && s[n - 2] == "microsoft.authorization"
        && let Some(kind) = Scoped::from_segment(s[n - 1])
    {
        let scope_key = prefix(&s, n - 3);
        let route = missing_container(tenant, &scope_key, &d).unwrap_or(Route::Scoped {
            kind,
            scope: scope_key,
        });
        return classified(route, prefix(&d, n - 3), Some(kind.api().into()));
    }
    if n >= 5
        && s[n - 5] == "providers"
        && s[n - 4] == "microsoft.policyinsights"
        && s[n - 3] == "policystates"
        && s[n - 1] == "queryresults"
    {
        let scope_key = prefix(&s, n - 5);
        let route = missing_container(tenant, &scope_key, &d).unwrap_or(Route::PolicyStates {
            scope: scope_key,
            resource: d[n - 2].to_string(),
        });
        return classified(route, prefix(&d, n - 5), Some(POLICY_STATES_API.into()));
    }
    if let Some(object) = tenant.find(&key) {
        return classified(
            Route::Object(key.clone()),
            display,
            Some(object.type_name.clone()),
        );
    }
    if let Some(shared) = location_versions(tenant, &s) {
        return classified(
            Route::Object(shared.key.clone()),
            display,
            Some(shared.type_name.clone()),
        );
    }

    let api = scope::type_of(&d);
    if let Some(route) = missing_container(tenant, &key, &d) {
        return classified(route, display, api);
    }
    if !scope::is_collection(&s) {
        return classified(object_not_found(&d, api.as_deref()), display, api);
    }
    let in_subscription = n == 5 && s[0] == "subscriptions" && s[2] == "providers";
    let in_group =
        n == 7 && s[0] == "subscriptions" && s[2] == "resourcegroups" && s[4] == "providers";
    if in_subscription || in_group {
        let route = Route::TypeList {
            container: prefix(&s, n - 3),
            type_key: format!("{}/{}", s[n - 2], s[n - 1]),
        };
        let api = format!("{}/{}", d[n - 2], d[n - 1]);
        return classified(route, prefix(&d, n - 3), Some(api));
    }
    let parent_len = if n >= 3 && s[n - 3] == "providers" {
        n - 3
    } else {
        n - 1
    };
    let parent_key = prefix(&s, parent_len);
    let parent_display = prefix(&d, parent_len);
    if parent_exists(tenant, &parent_key) {
        return classified(Route::Children { collection: key }, parent_display, api);
    }
    let parent_segs = &d[..parent_len];
    let parent_api = scope::type_of(parent_segs);
    classified(
        object_not_found(parent_segs, parent_api.as_deref()),
        parent_display,
        api,
    )
}

/// `/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/kubernetesVersions`
/// of a subscription in the tenant, when no object is stored at exactly that ID: the list
/// stored once at `/providers/Microsoft.ContainerService/locations/{loc}/kubernetesVersions`.
/// AKS answers the same list through any subscription, so a fixture stores it once per
/// location instead of guessing which subscription a client will ask through.
fn location_versions<'t>(tenant: &'t Tenant, s: &[&str]) -> Option<&'t Stored> {
    match s {
        [
            "subscriptions",
            sub,
            "providers",
            "microsoft.containerservice",
            "locations",
            location,
            "kubernetesversions",
        ] if tenant.subscription(sub).is_some() => tenant.find(&format!(
            "/providers/microsoft.containerservice/locations/{location}/kubernetesversions"
        )),
        _ => None,
    }
}

/// A 404 for a path whose subscription or management group is not in the tenant, which ARM
/// reports before looking at the rest of the path.
fn missing_container(tenant: &Tenant, key: &str, d: &[&str]) -> Option<Route> {
    if let Some(sub) = scope::subscription_of(key)
        && tenant.subscription(sub).is_none()
    {
        return Some(subscription_not_found(d.get(1).copied().unwrap_or(sub)));
    }
    if let Some(group) = scope::mg_name_of(key)
        && !tenant.group_exists(group)
    {
        return Some(group_not_found(d.get(3).copied().unwrap_or(group)));
    }
    None
}

/// Parents that exist without being stored objects: the root, subscriptions and their
/// resource groups (which the fixture does not model), and management groups.
fn parent_exists(tenant: &Tenant, key: &str) -> bool {
    if key == "/" || tenant.find(key).is_some() {
        return true;
    }
    let s = scope::segments(key);
    match s.as_slice() {
        ["subscriptions", sub] | ["subscriptions", sub, "resourcegroups", _] => {
            tenant.subscription(sub).is_some()
        }
        [
            "providers",
            "microsoft.management",
            "managementgroups",
            group,
        ] => tenant.group_exists(group),
        _ => false,
    }
}

fn subscription_not_found(sub: &str) -> Route {
    Route::NotFound {
        code: "SubscriptionNotFound",
        message: format!("The subscription '{sub}' could not be found."),
    }
}

fn group_not_found(group: &str) -> Route {
    Route::NotFound {
        code: "NotFound",
        message: format!("Management group '{group}' not found."),
    }
}

/// The 404 ARM gives for a missing object, worded per resource type.
fn object_not_found(d: &[&str], api: Option<&str>) -> Route {
    let id = prefix(d, d.len());
    let api_lower = api.map(str::to_ascii_lowercase).unwrap_or_default();
    let name = d.last().copied().unwrap_or("");
    if api_lower.ends_with("microsoft.authorization/policydefinitions") {
        return Route::NotFound {
            code: "PolicyDefinitionNotFound",
            message: format!("The policy definition '{name}' could not be found."),
        };
    }
    if api_lower.ends_with("microsoft.authorization/policysetdefinitions") {
        return Route::NotFound {
            code: "PolicySetDefinitionNotFound",
            message: format!("The policy set definition '{name}' could not be found."),
        };
    }
    let group = match d {
        [sub, _, rg, name, ..]
            if sub.eq_ignore_ascii_case("subscriptions")
                && rg.eq_ignore_ascii_case("resourcegroups") =>
        {
            Some(*name)
        }
        _ => None,
    };
    if d.len() == 4 && group.is_some() {
        return Route::NotFound {
            code: "ResourceGroupNotFound",
            message: format!("Resource group '{name}' could not be found."),
        };
    }
    let resource = match d.iter().rposition(|s| s.eq_ignore_ascii_case("providers")) {
        Some(i) if i + 1 < d.len() => d[i + 1..].join("/"),
        _ => id.trim_start_matches('/').to_string(),
    };
    let under = group
        .map(|g| format!(" under resource group '{g}'"))
        .unwrap_or_default();
    Route::NotFound {
        code: "ResourceNotFound",
        message: format!(
            "The Resource '{resource}'{under} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUB: &str = "00000000-0000-0000-0000-00000000000a";
    const KUBERNETES_VERSIONS_API: &str = "Microsoft.ContainerService/locations/kubernetesVersions";
    const REG: &str = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1";

    fn tenant() -> Tenant {
        Tenant::from_json(
            &json!({
                "tenant_id": "tid",
                "management_groups": [{"name": "corp"}],
                "subscriptions": [{"management_group": "corp", "subscription": {"subscriptionId": SUB}}],
                "resources": [
                    {"id": REG, "type": "Microsoft.ContainerRegistry/registries"},
                    {"id": "/providers/Microsoft.Authorization/policyDefinitions/abc", "type": "Microsoft.Authorization/policyDefinitions"},
                    {"id": "/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions", "type": KUBERNETES_VERSIONS_API, "values": []}
                ]
            })
            .to_string(),
        )
        .expect("fixture")
    }

    fn c(path: &str) -> Classified {
        classify(&tenant(), path)
    }

    #[test]
    fn specific_routes() {
        assert_eq!(c("/subscriptions").route, Route::ListSubscriptions);
        assert_eq!(
            c("/providers/Microsoft.Management/managementGroups").route,
            Route::ListGroups
        );
        let one = c(&format!("/Subscriptions/{SUB}"));
        assert_eq!(one.route, Route::GetSubscription(SUB.into()));
        assert_eq!(one.api.as_deref(), Some(SUBSCRIPTIONS_API));
        let desc = c("/providers/Microsoft.Management/managementGroups/CORP/descendants");
        assert_eq!(desc.route, Route::Descendants("corp".into()));
        assert_eq!(
            desc.scope,
            "/providers/Microsoft.Management/managementGroups/CORP"
        );
        assert!(matches!(
            c("/providers/Microsoft.Management/managementGroups/nope/descendants").route,
            Route::NotFound {
                code: "NotFound",
                ..
            }
        ));
        let pa = c(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments"
        ));
        assert_eq!(
            pa.route,
            Route::Scoped {
                kind: Scoped::PolicyAssignments,
                scope: format!("/subscriptions/{SUB}")
            }
        );
        assert_eq!(pa.scope, format!("/subscriptions/{SUB}"));
        let ra = c(&format!(
            "{REG}/providers/Microsoft.Authorization/roleAssignments"
        ));
        assert_eq!(
            ra.api.as_deref(),
            Some("Microsoft.Authorization/roleAssignments")
        );
        assert_eq!(ra.scope, REG);
        let mg_ex = c(
            "/providers/Microsoft.Management/managementGroups/corp/providers/Microsoft.Authorization/policyExemptions",
        );
        assert!(matches!(
            mg_ex.route,
            Route::Scoped {
                kind: Scoped::PolicyExemptions,
                ..
            }
        ));
    }

    #[test]
    fn objects_lists_and_children() {
        let obj = c(&REG.to_uppercase());
        assert_eq!(obj.route, Route::Object(scope::normalize(REG)));
        assert_eq!(
            obj.api.as_deref(),
            Some("Microsoft.ContainerRegistry/registries")
        );
        let list = c(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters"
        ));
        assert!(
            matches!(list.route, Route::TypeList { ref type_key, .. } if type_key == "microsoft.containerservice/managedclusters")
        );
        assert_eq!(
            list.api.as_deref(),
            Some("Microsoft.ContainerService/managedClusters")
        );
        assert_eq!(list.scope, format!("/subscriptions/{SUB}"));
        let children = c(&format!("{REG}/privateEndpointConnections"));
        assert!(matches!(children.route, Route::Children { .. }));
        assert_eq!(
            children.api.as_deref(),
            Some("Microsoft.ContainerRegistry/registries/privateEndpointConnections")
        );
        assert_eq!(children.scope, REG);
        let ext = c(&format!("{REG}/providers/Microsoft.Security/pricings"));
        assert!(matches!(ext.route, Route::Children { .. }));
        assert_eq!(ext.api.as_deref(), Some("Microsoft.Security/pricings"));
        let builtins = c("/providers/Microsoft.Authorization/policyDefinitions");
        assert!(matches!(builtins.route, Route::Children { .. }));
    }

    #[test]
    fn policy_state_queries_and_location_wide_versions() {
        let q = c(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults"
        ));
        assert_eq!(
            q.route,
            Route::PolicyStates {
                scope: format!("/subscriptions/{SUB}"),
                resource: "latest".into()
            }
        );
        assert_eq!(
            (q.scope.as_str(), q.api.as_deref()),
            (
                format!("/subscriptions/{SUB}").as_str(),
                Some(POLICY_STATES_API)
            )
        );
        let on_resource = c(&format!(
            "{REG}/providers/Microsoft.PolicyInsights/policyStates/default/queryResults"
        ));
        assert_eq!(on_resource.scope, REG);
        assert!(matches!(on_resource.route, Route::PolicyStates { .. }));
        assert!(matches!(
            c(&format!(
                "/subscriptions/{SUB}/providers/Microsoft.PolicyInsights/policyStates/Weekly/queryResults"
            ))
            .route,
            Route::PolicyStates { ref resource, .. } if resource == "Weekly"
        ));
        assert!(matches!(
            c("/subscriptions/zzz/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults")
                .route,
            Route::NotFound {
                code: "SubscriptionNotFound",
                ..
            }
        ));
        let versions = c(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/WestEurope/kubernetesVersions"
        ));
        assert_eq!(
            versions.route,
            Route::Object(
                "/providers/microsoft.containerservice/locations/westeurope/kubernetesversions"
                    .into()
            )
        );
        assert_eq!(versions.api.as_deref(), Some(KUBERNETES_VERSIONS_API));
        assert!(matches!(
            c(&format!(
                "/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/mars/kubernetesVersions"
            ))
            .route,
            Route::NotFound { .. }
        ));
        assert!(matches!(
            c("/subscriptions/zzz/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions")
                .route,
            Route::NotFound {
                code: "SubscriptionNotFound",
                ..
            }
        ));
    }

    #[test]
    fn not_found_codes() {
        let code = |p: &str| match c(p).route {
            Route::NotFound { code, .. } => code,
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(code("/subscriptions/zzz"), "SubscriptionNotFound");
        assert_eq!(
            code("/subscriptions/zzz/providers/Microsoft.Compute/virtualMachines"),
            "SubscriptionNotFound"
        );
        assert_eq!(code(&format!("{REG}x")), "ResourceNotFound");
        assert_eq!(code(&format!("{REG}x/tokens")), "ResourceNotFound");
        assert_eq!(
            code("/providers/Microsoft.Authorization/policyDefinitions/nope"),
            "PolicyDefinitionNotFound"
        );
        assert_eq!(
            code("/providers/Microsoft.Authorization/policySetDefinitions/nope"),
            "PolicySetDefinitionNotFound"
        );
        assert_eq!(
            code(&format!("/subscriptions/{SUB}/resourceGroups/nope")),
            "ResourceGroupNotFound"
        );
        match c(&format!("{REG}x")).route {
            Route::NotFound { message, .. } => assert_eq!(
                message,
                "The Resource 'Microsoft.ContainerRegistry/registries/reg1x' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c("/").route, Route::Invalid { .. }));
        assert!(matches!(c("/foo/bar").route, Route::Invalid { .. }));
    }
}
