//! Q3 and Q7, the subscription-level tables: policy assignments and exemptions (at, above
//! and below each subscription) and Defender pricings, with their fallback per table.

use super::*;

/// Q3: policy assignments and exemptions at, above and below each subscription.
pub(super) async fn store_assignments(
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
            for row in rows {
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
                        inv.policy_assignments.extend(json::list(items));
                    } else {
                        inv.policy_exemptions.extend(json::list(items));
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
pub(super) async fn store_pricings(
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
    let mut by_sub: HashMap<String, Result<Vec<Value>, String>> = by_resource(&rows, "pricings")
        .into_iter()
        .map(|(sub, items)| {
            let items = items.map(|items| items.iter().cloned().map(adapt::resource).collect());
            (sub, items)
        })
        .collect();
    for sub in subs {
        let key = sub.subscription_id.to_ascii_lowercase();
        let (items, malformed) = match by_sub.remove(&key) {
            Some(Ok(items)) => (items, None),
            Some(Err(why)) => (Vec::new(), Some(why)),
            None => (Vec::new(), None),
        };
        // ARM lists every plan of a subscription, Free ones included: no row at all is not a
        // subscription without Defender but rows Resource Graph did not show (not readable
        // by the caller, or not indexed), and must not read as "every plan off".
        let lacking = if malformed.is_some() {
            malformed
        } else if items.is_empty() {
            Some(
                "Resource Graph holds no Defender pricing for the subscription (ARM lists every plan, Free ones too): its rows were not readable or not indexed"
                    .to_string(),
            )
        } else {
            first_lacking(api::PRICINGS, &items)
        };
        match (lacking, fallback) {
            (None, _) => ctx.update(|inv| {
                inv.pricings.insert(key, json::list(items));
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
