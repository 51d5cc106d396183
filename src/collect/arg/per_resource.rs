//! Q5, Q6 and Q8, answered per cluster and registry: policy states, role assignments at or
//! above the resource, Defender assessments; each resource's read recorded under its ID, and
//! read over ARM (`auto`) or recorded as failed (`arg`) where Resource Graph cannot stand in.

use super::*;
use crate::inventory::index::ScopeIndex;

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

/// Rows of an aggregated query (Q5, Q7, Q8) by the lower-cased ID in their `id`: the items in
/// the row's `list`, or why the row cannot be read (no such array: a malformed row is a failed
/// read for its resource, never an empty list).
pub(super) fn by_resource(
    rows: &[Value],
    list: &str,
) -> HashMap<String, Result<Vec<Value>, String>> {
    rows.iter()
        .map(|row| {
            let id = arm::id(row);
            let items = arm::array_at(row, list)
                .map(<[Value]>::to_vec)
                .ok_or_else(|| format!("Resource Graph's row {id} has no `{list}` array"));
            (id.to_ascii_lowercase(), items)
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
                    // No row: the resource has none of these facts (an aggregated query
                    // has a row only for resources with at least one).
                    let (items, malformed) = match grouped.get(&id.to_ascii_lowercase()) {
                        None => (Vec::new(), None),
                        Some(Ok(items)) => (items.iter().map(adapt_item).collect(), None),
                        Some(Err(why)) => (Vec::new(), Some(why.clone())),
                    };
                    let lacking = malformed.or_else(|| first_lacking(api_name, &items));
                    match (lacking, fallback) {
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
pub(super) async fn store_states(
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
            inv.policy_states
                .insert(id.to_ascii_lowercase(), json::list(items));
        },
        |id, sub| async move { follow::policy_states(ctx, &sub, &id).await },
    )
    .await
}

/// Q8: each cluster's and registry's Defender assessments.
pub(super) async fn store_assessments(
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
            inv.assessments
                .insert(id.to_ascii_lowercase(), json::list(items));
        },
        |id, _| async move { follow::assessments(ctx, &id).await },
    )
    .await
}

/// Q6: role assignments at or above each cluster and registry.
pub(super) async fn store_roles(
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
            let items: Vec<Value> = rows.iter().cloned().map(adapt::resource).collect();
            match first_lacking(api::ROLE_ASSIGNMENTS, &items) {
                None => Ok(items),
                Some(why) => Err(why),
            }
        }
        Err(err) => Err(err.to_string()),
    };
    // What `atScope()` returns at a resource: the assignments at the root scope, at a
    // management group of its subscription's chain, or at a prefix of its ID on a segment
    // boundary — looked up by scope, not tested one by one against every resource.
    let by_scope = rows.as_ref().ok().map(|items| {
        ScopeIndex::build(
            items
                .iter()
                .map(|a| arm::str_at(a, "properties.scope").map(str::to_string)),
        )
    });
    let mut arm_reads = Vec::new();
    ctx.update(|inv| {
        for (id, sub, target) in &targets {
            match (&rows, &answer, fallback) {
                (Ok(items), _, _) => {
                    let chain = chains.get(sub).map_or(&[][..], Vec::as_slice);
                    let applying = by_scope
                        .as_ref()
                        .map(|index| index.at_or_above(id, Some(chain)))
                        .unwrap_or_default();
                    let list = match target {
                        RoleTarget::Cluster => &mut inv.cluster_role_assignments,
                        RoleTarget::Registry => &mut inv.role_assignments,
                    };
                    list.extend(json::copies(applying.into_iter().map(|i| &items[i])));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_aggregated_row_without_its_list_is_a_failed_read_not_an_empty_one() {
        let rows = vec![
            json!({"id": "/subscriptions/S/x/A", "states": [{"complianceState": "NonCompliant", "policyAssignmentId": "/a"}]}),
            json!({"id": "/subscriptions/S/x/B", "states": null}),
            json!({"id": "/subscriptions/S/x/C"}),
        ];
        let grouped = by_resource(&rows, "states");
        assert_eq!(grouped["/subscriptions/s/x/a"].as_ref().unwrap().len(), 1);
        for id in ["/subscriptions/s/x/b", "/subscriptions/s/x/c"] {
            let why = grouped[id].as_ref().unwrap_err();
            assert!(why.contains("no `states` array"), "{why}");
        }
        // Through `outcomes`: items for the good row, a gap (arg) or an ARM read (auto) for
        // the malformed one, and no facts for a resource without a row.
        let targets = || {
            ["A", "B", "D"]
                .map(|r| (format!("/subscriptions/S/x/{r}"), "S".to_string()))
                .to_vec()
        };
        let answer = Ok(rows.clone());
        let same = |v: &Value| v.clone();
        let arg = outcomes(
            targets(),
            &answer,
            "states",
            api::POLICY_STATES,
            same,
            Fallback::None,
        );
        assert!(matches!(&arg[0].2, PerResource::Items(items) if items.len() == 1));
        assert!(matches!(&arg[1].2, PerResource::Failed(_)));
        assert!(matches!(&arg[2].2, PerResource::Items(items) if items.is_empty()));
        let auto = outcomes(
            targets(),
            &answer,
            "states",
            api::POLICY_STATES,
            same,
            Fallback::Arm,
        );
        assert!(matches!(auto[1].2, PerResource::Arm));
    }

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
            let index = ScopeIndex::build(std::iter::once(Some(scope.to_string())));
            let found = !index.at_or_above(cluster, Some(&chain)).is_empty();
            assert_eq!(found, applies, "{scope}");
        }
    }
}
