//! What each classified ARM route returns: the stored objects it selects, in fixture order,
//! or the synthesised management-group rows. This is where scope inheritance is applied — a
//! policy assignment at the Tenant Root Group is "at scope" for every subscription below it
//! — through the tenant's indexes (built at load along `Tenant::chain`), which also decide
//! which policy-state records a PolicyInsights query at a management group, subscription,
//! resource group or resource sees. Every route costs its answer (plus a few hash lookups
//! along the scope's chain), never a scan of the stored objects.
//! Paging and HTTP are the server's business; this module only decides contents, so it can be
//! tested directly.

use serde_json::{Map, Value, json};

use crate::filter::{Filter, Reach};
use crate::reply::Reply;
use crate::route::{Route, Scoped};
use crate::scope;
use crate::tenant::{Stored, Tenant};

/// A route's result before paging.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Served {
    List(Vec<Value>),
    One(Value),
}

/// Runs a route. `now` is the RFC 3339 time `excludeExpired()` compares against;
/// `expand_path` is a management-group GET's `$expand=path`.
pub(crate) fn execute(
    tenant: &Tenant,
    route: &Route,
    filter: &Filter,
    now: &str,
    expand_path: bool,
) -> Result<Served, Reply> {
    let keep = |o: &&Stored| filter.keeps(&o.body, now);
    match route {
        Route::ListSubscriptions => Ok(Served::List(
            tenant
                .subscriptions()
                .iter()
                .map(|s| s.body.clone())
                .collect(),
        )),
        Route::GetSubscription(key) => tenant
            .subscription(key)
            .map(|s| Served::One(s.body.clone()))
            .ok_or_else(|| {
                Reply::not_found(
                    "SubscriptionNotFound",
                    format!("The subscription '{key}' could not be found."),
                )
            }),
        Route::ListGroups => {
            let keys = std::iter::once(tenant.tenant_id().to_ascii_lowercase())
                .chain(tenant.groups().iter().map(|g| g.key.clone()));
            Ok(Served::List(
                keys.filter_map(|k| group_object(tenant, &k, false))
                    .collect(),
            ))
        }
        Route::Descendants(group) => Ok(Served::List(descendants(tenant, group))),
        Route::GetGroup(group) => group_object(tenant, group, expand_path)
            .map(Served::One)
            .ok_or_else(|| {
                Reply::not_found("NotFound", format!("Management group '{group}' not found."))
            }),
        Route::Scoped { kind, scope } => {
            Ok(Served::List(scoped(tenant, *kind, scope, filter, now)))
        }
        Route::Object(key) => tenant
            .find(key)
            .map(|o| Served::One(o.body.clone()))
            .ok_or_else(|| {
                Reply::not_found(
                    "ResourceNotFound",
                    format!("The Resource '{key}' was not found."),
                )
            }),
        Route::TypeList {
            container,
            type_key,
        } => Ok(Served::List(
            tenant
                .type_list(container, type_key)
                .filter(keep)
                .map(|o| o.body.clone())
                .collect(),
        )),
        Route::Children { collection } => Ok(Served::List(
            tenant
                .children(collection)
                .filter(keep)
                .map(|o| o.body.clone())
                .collect(),
        )),
        Route::PolicyStates { scope, resource } => {
            if !resource.eq_ignore_ascii_case("latest") && !resource.eq_ignore_ascii_case("default")
            {
                return Err(Reply::not_found(
                    "InvalidResourceType",
                    format!(
                        "The policy states resource '{resource}' is not supported; use 'latest' or 'default'."
                    ),
                ));
            }
            filter
                .comparisons_only()
                .map_err(|m| Reply::bad_request("InvalidFilterInQueryString", m))?;
            Ok(Served::List(policy_states(tenant, scope, filter)))
        }
        Route::ResourceGraph => Err(Reply::arm(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Resource Graph queries are answered by graph_query, not by the ARM routes (an emulator bug)",
        )),
        Route::NotFound { code, message } => Err(Reply::not_found(code, message.clone())),
        Route::Invalid { message } => Err(Reply::not_found("InvalidResourceType", message.clone())),
    }
}

fn scoped(
    tenant: &Tenant,
    kind: Scoped,
    scope_key: &str,
    filter: &Filter,
    now: &str,
) -> Vec<Value> {
    let type_key = kind.api().to_ascii_lowercase();
    let (exact, below) = match filter.reach {
        Reach::Exact => (true, false),
        Reach::AtOrAbove => (false, false),
        Reach::AboveAndBelow => (false, true),
    };
    tenant
        .scoped(&type_key, scope_key, exact, below)
        .into_iter()
        .filter(|o| filter.keeps(&o.body, now))
        .map(|o| o.body.clone())
        .collect()
}

/// The stored policy-state records (type `Microsoft.PolicyInsights/policyStates`) whose
/// `resourceId` is at or below `scope_key` — through the management-group chain for a group
/// scope — and that pass the filter's comparisons, in fixture order.
fn policy_states(tenant: &Tenant, scope_key: &str, filter: &Filter) -> Vec<Value> {
    tenant
        .states_within(scope_key)
        .filter(|o| filter.keeps_record(&o.body))
        .map(|o| o.body.clone())
        .collect()
}

/// Rows shaped like `GetDescendants.json`: groups first, then subscriptions, each in
/// fixture order.
fn descendants(tenant: &Tenant, group: &str) -> Vec<Value> {
    let parent_id = |key: &str| {
        let name = tenant
            .group_names(key)
            .map_or_else(|| key.to_string(), |n| n.0);
        scope::mg_id(&name)
    };
    let mut rows = Vec::new();
    for g in tenant.groups() {
        if tenant.group_chain(&g.parent_key).iter().any(|k| k == group) {
            rows.push(json!({
                "id": scope::mg_id(&g.name),
                "type": "Microsoft.Management/managementGroups",
                "name": g.name,
                "properties": {
                    "displayName": g.display_name,
                    "parent": {"id": parent_id(&g.parent_key)}
                }
            }));
        }
    }
    for s in tenant.subscriptions() {
        if tenant.group_chain(&s.group_key).iter().any(|k| k == group) {
            rows.push(json!({
                "id": format!("/subscriptions/{}", s.subscription_id),
                "type": "Microsoft.Management/managementGroups/subscriptions",
                "name": s.subscription_id,
                "properties": {
                    "displayName": s.display_name,
                    "parent": {"id": parent_id(&s.group_key)}
                }
            }));
        }
    }
    rows
}

/// A management group as `GET .../managementGroups/{g}` returns it. With `$expand=path`,
/// `details.path` lists the ancestors from the Tenant Root Group down to the parent, which
/// lets a client learn the whole chain in one read.
fn group_object(tenant: &Tenant, group: &str, expand_path: bool) -> Option<Value> {
    let (name, display_name) = tenant.group_names(group)?;
    let mut details = Map::new();
    if let Some((parent_name, parent_display)) =
        tenant.parent_of(group).and_then(|p| tenant.group_names(p))
    {
        details.insert(
            "parent".into(),
            json!({"id": scope::mg_id(&parent_name), "name": parent_name, "displayName": parent_display}),
        );
    }
    if expand_path {
        let mut path: Vec<Value> = tenant
            .group_chain(group)
            .iter()
            .skip(1)
            .filter_map(|k| tenant.group_names(k))
            .map(|(n, d)| json!({"name": n, "displayName": d}))
            .collect();
        path.reverse();
        details.insert("path".into(), Value::Array(path));
    }
    Some(json!({
        "id": scope::mg_id(&name),
        "type": "Microsoft.Management/managementGroups",
        "name": name,
        "properties": {"tenantId": tenant.tenant_id(), "displayName": display_name, "details": details}
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter;
    use crate::route::classify;

    const T: &str = "tid";
    const S1: &str = "aaaaaaaa-0000-0000-0000-000000000001";
    const S2: &str = "aaaaaaaa-0000-0000-0000-000000000002";

    fn tenant() -> Tenant {
        let reg = format!(
            "/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r"
        );
        let vmss = format!(
            "/subscriptions/{S1}/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/v"
        );
        let ra = |id: &str, scope: &str| json!({"id": id, "type": "Microsoft.Authorization/roleAssignments", "name": id, "properties": {"scope": scope, "principalId": "p"}});
        let pa = |id: String| json!({"id": id, "type": "Microsoft.Authorization/policyAssignments", "name": id});
        let ps = |id: &str, resource: &str, state: &str| {
            json!({"id": id, "type": "Microsoft.PolicyInsights/policyStates",
            "resourceId": resource, "complianceState": state, "isCompliant": state == "Compliant"})
        };
        Tenant::from_json(&json!({
            "tenant_id": T,
            "management_groups": [
                {"name": "alz", "parent": T}, {"name": "corp", "parent": "alz"}, {"name": "online", "parent": "alz"}
            ],
            "subscriptions": [
                {"management_group": "corp", "subscription": {"subscriptionId": S1, "displayName": "one"}},
                {"management_group": "online", "subscription": {"subscriptionId": S2}}
            ],
            "resources": [
                {"id": reg, "type": "Microsoft.ContainerRegistry/registries", "name": "r"},
                {"id": format!("{reg}/tokens/t1"), "type": "Microsoft.ContainerRegistry/registries/tokens", "name": "t1"},
                {"id": format!("{reg}/tokens/t1/nested/x"), "type": "Microsoft.ContainerRegistry/registries/tokens/nested", "name": "x"},
                {"id": vmss, "type": "Microsoft.Compute/virtualMachineScaleSets"},
                {"id": format!("/subscriptions/{S1}/providers/Microsoft.Security/pricings/Containers"), "type": "Microsoft.Security/pricings", "name": "Containers"},
                {"id": format!("/subscriptions/{S1}/providers/Microsoft.Security/pricings/VirtualMachines"), "type": "Microsoft.Security/pricings", "name": "VirtualMachines"},
                {"id": format!("{vmss}/providers/Microsoft.Security/pricings/VirtualMachines"), "type": "Microsoft.Security/pricings", "name": "VirtualMachines"},
                pa(format!("/providers/Microsoft.Management/managementGroups/{T}/providers/Microsoft.Authorization/policyAssignments/root")),
                pa("/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policyAssignments/alz".into()),
                pa("/providers/Microsoft.Management/managementGroups/online/providers/Microsoft.Authorization/policyAssignments/online".into()),
                pa(format!("/subscriptions/{S1}/providers/Microsoft.Authorization/policyAssignments/sub")),
                pa(format!("/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.Authorization/policyAssignments/rg")),
                ra("/providers/Microsoft.Authorization/roleAssignments/ra-root", "/"),
                ra("/providers/Microsoft.Management/managementGroups/corp/providers/Microsoft.Authorization/roleAssignments/ra-corp", "/providers/Microsoft.Management/managementGroups/corp"),
                ra(&format!("/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/ra-rg"), &format!("/subscriptions/{S1}/resourceGroups/rg")),
                ra(&format!("{reg}/providers/Microsoft.Authorization/roleAssignments/ra-reg"), &reg),
                ra(&format!("/subscriptions/{S2}/providers/Microsoft.Authorization/roleAssignments/ra-s2"), &format!("/subscriptions/{S2}")),
                ps(&format!("{reg}/providers/Microsoft.PolicyInsights/policyStates/ps-reg"), &reg, "NonCompliant"),
                ps(&format!("{vmss}/providers/Microsoft.PolicyInsights/policyStates/ps-vmss"), &vmss, "Compliant"),
                ps(&format!("/subscriptions/{S2}/providers/Microsoft.PolicyInsights/policyStates/ps-s2"), &format!("/subscriptions/{S2}/resourceGroups/web/providers/Microsoft.Web/sites/w"), "NonCompliant")
            ]
        }).to_string()).expect("fixture")
    }

    fn names(tenant: &Tenant, path: &str, filter_text: &str) -> Vec<String> {
        let route = classify(tenant, path).route;
        let filter = filter::parse(filter_text).expect("filter");
        match execute(tenant, &route, &filter, "2030-01-01T00:00:00Z", false) {
            Ok(Served::List(items)) => items
                .iter()
                .map(|i| {
                    i["name"]
                        .as_str()
                        .or(i["id"].as_str())
                        .unwrap_or("?")
                        .rsplit('/')
                        .next()
                        .unwrap_or("?")
                        .to_string()
                })
                .collect(),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn policy_assignments_inherit_through_groups() {
        let t = tenant();
        let sub =
            format!("/subscriptions/{S1}/providers/Microsoft.Authorization/policyAssignments");
        assert_eq!(names(&t, &sub, "atScope()"), ["root", "alz", "sub"]);
        assert_eq!(names(&t, &sub, ""), ["root", "alz", "sub", "rg"]);
        assert_eq!(names(&t, &sub, "atExactScope()"), ["sub"]);
        let alz = "/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policyAssignments";
        assert_eq!(names(&t, alz, "atScope()"), ["root", "alz"]);
        assert_eq!(names(&t, alz, ""), ["root", "alz", "online", "sub", "rg"]);
    }

    #[test]
    fn role_assignments_at_a_resource_see_every_ancestor() {
        let t = tenant();
        let reg = format!(
            "/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments"
        );
        assert_eq!(
            names(&t, &reg, "atScope()"),
            ["ra-root", "ra-corp", "ra-rg", "ra-reg"]
        );
        assert_eq!(
            names(&t, &reg, "atScope() and principalId eq 'P'"),
            ["ra-root", "ra-corp", "ra-rg", "ra-reg"]
        );
        assert!(names(&t, &reg, "principalId eq 'q'").is_empty());
        let s2 = format!("/subscriptions/{S2}/providers/Microsoft.Authorization/roleAssignments");
        assert_eq!(names(&t, &s2, "atScope()"), ["ra-root", "ra-s2"]);
    }

    #[test]
    fn type_lists_skip_extension_objects_and_children_are_one_level() {
        let t = tenant();
        let pricings = format!("/subscriptions/{S1}/providers/Microsoft.Security/pricings");
        assert_eq!(names(&t, &pricings, ""), ["Containers", "VirtualMachines"]);
        assert_eq!(names(&t, &pricings, "name in (containers)"), ["Containers"]);
        let vmss = format!(
            "/subscriptions/{S1}/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/v/providers/Microsoft.Security/pricings"
        );
        assert_eq!(names(&t, &vmss, ""), ["VirtualMachines"]);
        let tokens = format!(
            "/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/tokens"
        );
        assert_eq!(names(&t, &tokens, ""), ["t1"]);
        let regs = format!("/subscriptions/{S1}/providers/Microsoft.ContainerRegistry/registries");
        assert_eq!(names(&t, &regs, ""), ["r"]);
        let in_rg = format!(
            "/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries"
        );
        assert_eq!(names(&t, &in_rg, ""), ["r"]);
        let other_rg = format!(
            "/subscriptions/{S1}/resourceGroups/mc/providers/Microsoft.ContainerRegistry/registries"
        );
        assert!(names(&t, &other_rg, "").is_empty());
        assert!(
            names(
                &t,
                &format!("/subscriptions/{S2}/providers/Microsoft.ContainerRegistry/registries"),
                ""
            )
            .is_empty()
        );
    }

    #[test]
    fn policy_state_queries_see_records_at_or_below_the_scope() {
        let t = tenant();
        let q = |scope: &str| {
            format!("{scope}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults")
        };
        let sub1 = format!("/subscriptions/{S1}");
        assert_eq!(names(&t, &q(&sub1), ""), ["ps-reg", "ps-vmss"]);
        assert_eq!(
            names(&t, &q(&sub1), "ComplianceState eq 'noncompliant'"),
            ["ps-reg"]
        );
        assert_eq!(names(&t, &q(&sub1), "isCompliant eq true"), ["ps-vmss"]);
        let reg = format!(
            "/subscriptions/{S1}/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/r"
        );
        assert_eq!(
            names(&t, &q(&sub1), &format!("resourceId eq '{reg}'")),
            ["ps-reg"]
        );
        assert_eq!(names(&t, &q(&reg), ""), ["ps-reg"]);
        let online = "/providers/Microsoft.Management/managementGroups/online";
        assert_eq!(names(&t, &q(online), ""), ["ps-s2"]);
        let alz = "/providers/Microsoft.Management/managementGroups/alz";
        assert_eq!(names(&t, &q(alz), ""), ["ps-reg", "ps-vmss", "ps-s2"]);
        let route = classify(&t, &q(&sub1)).route;
        let scoped = filter::parse("atScope()").expect("filter");
        match execute(&t, &route, &scoped, "2030-01-01T00:00:00Z", false) {
            Err(reply) => assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (400, Some("InvalidFilterInQueryString"))
            ),
            other => panic!("{other:?}"),
        }
    }

    /// The answers before indexing: a scan of every stored object per request.
    mod scans {
        use super::super::*;

        pub(super) fn type_list(tenant: &Tenant, container: &str, type_key: &str) -> Vec<String> {
            let container_is_subscription = scope::segments(container).len() == 2;
            tenant
                .resources()
                .iter()
                .filter(|o| o.type_key == type_key && scope::is_within(&o.key, container))
                .filter(|o| {
                    let home = scope::extension_scope(&o.key);
                    home == container
                        || (container_is_subscription
                            && scope::segments(&home).len() == 4
                            && scope::is_within(&home, container)
                            && scope::segments(&home).get(2) == Some(&"resourcegroups"))
                })
                .map(|o| o.key.clone())
                .collect()
        }

        pub(super) fn children(tenant: &Tenant, collection: &str) -> Vec<String> {
            let base = if collection == "/" { "" } else { collection };
            tenant
                .resources()
                .iter()
                .filter(|o| {
                    o.key
                        .strip_prefix(base)
                        .and_then(|rest| rest.strip_prefix('/'))
                        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
                })
                .map(|o| o.key.clone())
                .collect()
        }

        pub(super) fn scoped(
            tenant: &Tenant,
            kind: Scoped,
            scope_key: &str,
            reach: Reach,
        ) -> Vec<String> {
            let type_key = kind.api().to_ascii_lowercase();
            let above = tenant.chain(scope_key);
            tenant
                .resources()
                .iter()
                .filter(|o| o.type_key == type_key)
                .filter(|o| {
                    let at = o.assigned_scope();
                    match reach {
                        Reach::Exact => at == scope_key,
                        Reach::AtOrAbove => above.contains(&at),
                        Reach::AboveAndBelow => {
                            above.contains(&at) || tenant.chain(&at).iter().any(|s| s == scope_key)
                        }
                    }
                })
                .map(|o| o.key.clone())
                .collect()
        }

        pub(super) fn states(tenant: &Tenant, scope_key: &str) -> Vec<String> {
            tenant
                .resources()
                .iter()
                .filter(|o| o.type_key == "microsoft.policyinsights/policystates")
                .filter(|o| {
                    crate::tenant::record_str(&o.body, "resourceId").is_some_and(|id| {
                        tenant
                            .chain(&scope::normalize(id))
                            .iter()
                            .any(|s| s == scope_key)
                    })
                })
                .map(|o| o.key.clone())
                .collect()
        }
    }

    #[test]
    fn indexed_answers_are_the_scans_answers_on_a_generated_tenant() {
        let spec = crate::generate::Spec {
            seed: 11,
            subscriptions: 8,
            ..crate::generate::Spec::default()
        };
        let t = Tenant::generate(&spec).expect("generates");
        let keys = |items: Vec<&Stored>| items.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
        let mut types: Vec<String> = t.resources().iter().map(|o| o.type_key.clone()).collect();
        types.sort();
        types.dedup();
        let mut containers: Vec<String> = t
            .subscriptions()
            .iter()
            .map(|s| scope::normalize(&format!("/subscriptions/{}", s.subscription_id)))
            .collect();
        let mut scopes: Vec<String> = containers.clone();
        for o in t.resources() {
            let segs = scope::segments(&o.key);
            if segs.len() > 4 && segs[2] == "resourcegroups" {
                containers.push(format!("/{}", segs[..4].join("/")));
            }
            scopes.extend(scope::segment_prefixes(&o.key));
        }
        containers.sort();
        containers.dedup();
        scopes.extend(
            t.groups()
                .iter()
                .map(|g| format!("{}{}", scope::MG_PREFIX, g.key)),
        );
        scopes.push(format!(
            "{}{}",
            scope::MG_PREFIX,
            t.tenant_id().to_ascii_lowercase()
        ));
        scopes.push("/".into());
        scopes.sort();
        scopes.dedup();
        let mut compared = 0;
        for container in &containers {
            for type_key in &types {
                let indexed: Vec<String> = t
                    .type_list(container, type_key)
                    .map(|o| o.key.clone())
                    .collect();
                assert_eq!(
                    indexed,
                    scans::type_list(&t, container, type_key),
                    "{container} {type_key}"
                );
                compared += indexed.len();
            }
        }
        for scope_key in &scopes {
            let indexed: Vec<String> = t.children(scope_key).map(|o| o.key.clone()).collect();
            assert_eq!(
                indexed,
                scans::children(&t, scope_key),
                "children of {scope_key}"
            );
            compared += indexed.len();
            let indexed: Vec<String> = t.states_within(scope_key).map(|o| o.key.clone()).collect();
            assert_eq!(
                indexed,
                scans::states(&t, scope_key),
                "states within {scope_key}"
            );
            compared += indexed.len();
            for kind in Scoped::ALL {
                let type_key = kind.api().to_ascii_lowercase();
                for (reach, exact, below) in [
                    (Reach::Exact, true, false),
                    (Reach::AtOrAbove, false, false),
                    (Reach::AboveAndBelow, false, true),
                ] {
                    let indexed = keys(t.scoped(&type_key, scope_key, exact, below));
                    assert_eq!(
                        indexed,
                        scans::scoped(&t, kind, scope_key, reach),
                        "{kind:?} {reach:?} {scope_key}"
                    );
                    compared += indexed.len();
                }
            }
        }
        assert!(
            compared > 10_000,
            "the comparison saw too little: {compared}"
        );
    }

    #[test]
    fn descendants_and_group_object() {
        let t = tenant();
        let rows = match execute(
            &t,
            &Route::Descendants("alz".into()),
            &Filter::default(),
            "",
            false,
        ) {
            Ok(Served::List(rows)) => rows,
            other => panic!("{other:?}"),
        };
        let ids: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(ids, ["corp", "online", S1, S2]);
        assert_eq!(
            rows[2]["type"],
            "Microsoft.Management/managementGroups/subscriptions"
        );
        assert_eq!(
            rows[2]["properties"]["parent"]["id"],
            "/providers/Microsoft.Management/managementGroups/corp"
        );
        assert_eq!(rows[2]["properties"]["displayName"], "one");
        assert_eq!(
            rows[0]["properties"]["parent"]["id"],
            "/providers/Microsoft.Management/managementGroups/alz"
        );
        let root = match execute(
            &t,
            &Route::Descendants(T.into()),
            &Filter::default(),
            "",
            false,
        ) {
            Ok(Served::List(rows)) => rows.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(root, 5);
        let all = execute(&t, &Route::ListGroups, &Filter::default(), "", false);
        assert!(
            matches!(all, Ok(Served::List(ref g)) if g.len() == 4 && g[0]["properties"]["displayName"] == "Tenant Root Group")
        );
        let group = execute(
            &t,
            &Route::GetGroup("corp".into()),
            &Filter::default(),
            "",
            false,
        );
        assert!(
            matches!(group, Ok(Served::One(ref g)) if g["properties"]["details"]["parent"]["name"] == "alz")
        );
    }
}
