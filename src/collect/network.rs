//! Network objects of each audited subscription: private endpoints (and each one's
//! `privateDnsZoneGroups`), private DNS zones (and each one's `virtualNetworkLinks`), virtual
//! networks, route tables and network security groups.
//!
//! They answer the reachability questions of the registry and egress checks: does a private
//! endpoint to the registry sit in (or next to) the cluster's network, is the
//! `privatelink.azurecr.io` zone linked to it, where does a node subnet route `0.0.0.0/0`,
//! what does its NSG allow. Private DNS zones are a resource provider of their own
//! (`privatedns`), with their own api-version. Every list is its own API and coverage entry,
//! scoped to the subscription; child lists are keyed by the lower-cased parent ID and
//! recorded under it, so one denied zone leaves the others readable.

use std::collections::BTreeMap;

use url::Url;

use super::{CollectError, Ctx};
use crate::azure::endpoints::route;
use crate::inventory::{Inventory, Subscription, api, arm};
use crate::json;

/// Where a list of one network type goes.
type Store = fn(&mut Inventory) -> &mut Vec<json::Value>;

/// Where a parent's child lists go.
type ChildStore = fn(&mut Inventory) -> &mut BTreeMap<String, Vec<json::Value>>;

/// A subscription list and, optionally, one child list per item.
struct Family {
    api: &'static str,
    list: fn(&Url, &str) -> Url,
    store: Store,
    child: Option<Child>,
}

struct Child {
    api: &'static str,
    list: fn(&Url, &str) -> Url,
    store: ChildStore,
}

const FAMILIES: [Family; 5] = [
    Family {
        api: api::PRIVATE_ENDPOINTS,
        list: route::private_endpoints,
        store: |inv| &mut inv.private_endpoints,
        child: Some(Child {
            api: api::PRIVATE_DNS_ZONE_GROUPS,
            list: route::private_dns_zone_groups,
            store: |inv| &mut inv.private_dns_zone_groups,
        }),
    },
    Family {
        api: api::PRIVATE_DNS_ZONES,
        list: route::private_dns_zones,
        store: |inv| &mut inv.private_dns_zones,
        child: Some(Child {
            api: api::PRIVATE_DNS_ZONE_LINKS,
            list: route::private_dns_zone_links,
            store: |inv| &mut inv.private_dns_zone_links,
        }),
    },
    Family {
        api: api::VIRTUAL_NETWORKS,
        list: route::virtual_networks,
        store: |inv| &mut inv.virtual_networks,
        child: None,
    },
    Family {
        api: api::ROUTE_TABLES,
        list: route::route_tables,
        store: |inv| &mut inv.route_tables,
        child: None,
    },
    Family {
        api: api::NETWORK_SECURITY_GROUPS,
        list: route::network_security_groups,
        store: |inv| &mut inv.network_security_groups,
        child: None,
    },
];

pub(super) async fn collect(ctx: &Ctx<'_>, sub: &Subscription) -> Result<(), CollectError> {
    futures::future::try_join_all(FAMILIES.iter().map(|family| one(ctx, sub, family))).await?;
    Ok(())
}

/// Lists one type when it or its child is wanted, then the child list of every item.
async fn one(ctx: &Ctx<'_>, sub: &Subscription, family: &Family) -> Result<(), CollectError> {
    let child = family.child.as_ref().filter(|c| ctx.plan.wants(c.api));
    if !ctx.plan.wants(family.api) && child.is_none() {
        return Ok(());
    }
    let url = (family.list)(ctx.base(), &sub.subscription_id);
    let Some(items) = ctx.list(url, &sub.id, family.api).await? else {
        return Ok(());
    };
    let items = ctx.store_listed(items, family.store);
    let Some(child) = child else {
        return Ok(());
    };
    futures::future::try_join_all(items.iter().map(arm::id).filter(|id| !id.is_empty()).map(
        |id| async move {
            let url = (child.list)(ctx.base(), id);
            if let Some(children) = ctx.list(url, id, child.api).await? {
                let children = json::list(children);
                ctx.update(|inv| (child.store)(inv).insert(id.to_ascii_lowercase(), children));
            }
            Ok::<(), CollectError>(())
        },
    ))
    .await?;
    Ok(())
}
