//! Q4: the policy definitions and set definitions the assignments name, by ID, tenant-wide.

use super::*;

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
                .cloned()
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
                            inv.policy_set_definitions.push(json::copy(&value));
                        } else {
                            inv.policy_definitions.push(json::copy(&value));
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
