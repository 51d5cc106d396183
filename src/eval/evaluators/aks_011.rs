//! AKS-011: every registry a cluster pulls from is reachable through a private endpoint from the
//! cluster's virtual network, and its name resolves there to that endpoint.
//!
//! It decides per cluster, over the (cluster, registry) pairs linked by a pull grant of the
//! cluster's kubelet identity, found exactly as AKS-017 finds them (`super::aks_017::pull`: the
//! pull role matching the registry's mode, at a scope covering the registry), across every audited
//! registry. For each pair and each VNet the cluster's node pools sit in (the VNets of
//! `agentPoolProfiles[].vnetSubnetID`, or the AKS-managed VNet in the node resource group when no
//! pool names a subnet):
//!
//! - reach: one of the registry's approved private endpoints (the registry's own
//!   `privateEndpointConnections`, whose `privateEndpoint.id` is looked up among the collected
//!   private endpoints) has its `subnet.id` in the cluster VNet, or in a VNet peered with it with
//!   `peeringState` `Connected` (and `allowVirtualNetworkAccess` not `false`), read from either
//!   side of the peering;
//! - resolution: the cluster VNet uses Azure-provided DNS (no `dhcpOptions.dnsServers`) and a zone
//!   named in `private_dns_zone_names` (default `privatelink.azurecr.io`), referenced by a DNS zone
//!   group of a reachable endpoint (so it holds the registry's records), has a virtual-network link
//!   to the cluster VNet.
//!
//! Both pass. Custom DNS servers (e.g. the ALZ hub resolver) warn: forwarding cannot be verified
//! from ARM. No reachable endpoint warns while the registry is still public (pulls go over the
//! public endpoint) and fails when `publicNetworkAccess` is `Disabled` (pulls fail). The catalogue
//! leaves two cases open, resolved here: a reachable endpoint whose zone is not linked to the
//! cluster VNet is treated like no endpoint (warn when public, fail when private: the name then
//! resolves to the public address); and a reachable endpoint without a DNS zone group, next to a
//! `privatelink.azurecr.io` zone that is linked to the cluster VNet, warns, because whether that
//! zone holds the registry's records cannot be seen without reading its record sets. Pairs and
//! VNets combine with the catalogue's main-part rule (`fail` > `unknown` > `warn` > `pass`).
//!
//! Missing data: every read the verdict would rest on (the registry's connections, a private
//! endpoint outside the audited subscriptions or whose list failed, a VNet that could not be read,
//! a zone group or zone-link read that failed or was not collected — e.g. a zone in a hub
//! subscription outside the audit) makes that part `unknown`. When a reachable endpoint has no
//! zone group and no linked zone is seen, the zone lists and link lists that could not be read
//! are named, since the linked zone may be there. A registry whose role assignments
//! could not be read may or may not be pulled: if the pair would not pass, it is `unknown`. An
//! audited subscription whose registry list failed may hide a pair, which makes a would-be pass,
//! warn or not-applicable `unknown`. A cluster without a kubelet identity, or without any pull
//! grant on an audited registry, is `not_applicable`. The peering, DNS-server and zone-link paths
//! are unverified (catalogue U); evidence built on them says so.

use crate::json::Value;
use serde_json::json;

use super::pull::{self, Pull, PullRoles, pull, pull_evidence};
use crate::catalogue::{Check, Target};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::views::NetworkLookup;
use crate::inventory::views::kubelet_object_id;
use crate::inventory::{Inventory, api, arm};

const PEERING_NOTE: &str = "virtualNetworkPeerings[].properties.{remoteVirtualNetwork.id, peeringState} is an unverified path (catalogue U)";
const DNS_SERVERS_NOTE: &str = "dhcpOptions.dnsServers is an unverified path (catalogue U); absent or empty means Azure-provided DNS";
const LINK_NOTE: &str =
    "virtualNetworkLinks properties.virtualNetwork.id is an unverified path (catalogue U)";

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let inv = ctx.inventory;
    let zone_names = ctx.param_strings("private_dns_zone_names");
    let net = Net {
        inv,
        // The zone lists and zones do not change per pair: found once, not per cluster.
        zone_list_gaps: inv
            .subscription_gaps(api::PRIVATE_DNS_ZONES)
            .into_iter()
            .collect(),
        matching_zones: inv
            .private_dns_zones
            .iter()
            .filter(|z| zone_names.iter().any(|n| arm::eq_ci(n, arm::name(z))))
            .collect(),
        zone_names,
    };
    let roles = PullRoles::from_params(ctx);
    for cluster in clusters {
        findings.push(evaluate_cluster(check.id(), &net, &roles, cluster));
    }
    findings
}

/// The network data, the private DNS zones whose names count, and the zone lists that could
/// not be read.
struct Net<'a> {
    inv: &'a Inventory,
    zone_names: Vec<String>,
    matching_zones: Vec<&'a Value>,
    zone_list_gaps: Vec<String>,
}

/// The virtual network ID of a subnet ID (everything before `/subnets/`).
fn vnet_of_subnet(subnet_id: &str) -> Option<&str> {
    let at = arm::find_ci(subnet_id, "/subnets/")?;
    Some(&subnet_id[..at])
}

/// One verdict part: a status, the phrase explaining it, and its evidence.
struct Part {
    status: Status,
    message: String,
    evidence: Vec<Evidence>,
}

impl Part {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Part {
            status,
            message: message.into(),
            evidence: Vec::new(),
        }
    }
}

impl<'a> Net<'a> {
    /// A collected VNet by ID, or why it is not there.
    fn vnet(&self, id: &str) -> Result<&'a Value, String> {
        if let NetworkLookup::Found(v) = self.inv.virtual_network_by_id(id) {
            return Ok(v);
        }
        let sub = arm::subscription_of(id).unwrap_or_default();
        let sub_id = format!("/subscriptions/{sub}");
        if self.inv.subscription(&sub).is_none() {
            return Err(format!(
                "VNet {id} is in subscription {sub}, which is not audited"
            ));
        }
        if let Some(reason) = self
            .inv
            .read_state(&sub_id, api::VIRTUAL_NETWORKS)
            .missing_reason(&sub_id, api::VIRTUAL_NETWORKS)
        {
            return Err(format!("VNet {id}: {reason}"));
        }
        Err(format!("VNet {id} is not in its subscription's VNet list"))
    }

    /// The VNets the cluster's nodes sit in, and the evidence of how they were found.
    fn cluster_vnets(&self, cluster: &Value) -> (Result<Vec<String>, String>, Evidence) {
        let subnets: Vec<&str> = arm::array_at(cluster, "properties.agentPoolProfiles")
            .into_iter()
            .flatten()
            .filter_map(|p| arm::str_at(p, "vnetSubnetID"))
            .filter(|s| !s.trim().is_empty())
            .collect();
        let observed = json!(subnets);
        if !subnets.is_empty() {
            let mut vnets: Vec<String> = Vec::new();
            for subnet in &subnets {
                match vnet_of_subnet(subnet) {
                    Some(v) if !vnets.iter().any(|x| arm::eq_ci(x, v)) => vnets.push(v.to_string()),
                    Some(_) => {}
                    None => {
                        return (
                            Err(format!("vnetSubnetID {subnet} is not a subnet ID")),
                            Evidence::new(
                                "properties.agentPoolProfiles[].vnetSubnetID",
                                observed,
                                "subnet IDs of the node pools",
                            ),
                        );
                    }
                }
            }
            let item = Evidence::new(
                "properties.agentPoolProfiles[].vnetSubnetID",
                observed,
                "subnet IDs of the node pools",
            )
            .note(format!("node pools sit in {}", vnets.join(", ")));
            return (Ok(vnets), item);
        }
        // No pool names a subnet: AKS created a managed VNet in the node resource group.
        let id = arm::id(cluster);
        let sub = arm::subscription_of(id).unwrap_or_default();
        let sub_id = format!("/subscriptions/{sub}");
        let node_rg = arm::str_at(cluster, "properties.nodeResourceGroup");
        let item = Evidence::new(
            "properties.agentPoolProfiles[].vnetSubnetID",
            Value::Null,
            "subnet IDs of the node pools",
        );
        let Some(node_rg) = node_rg else {
            return (
                Err("no node pool names a subnet and properties.nodeResourceGroup is absent, so the cluster VNet cannot be found".to_string()),
                item.note("absent: AKS-managed VNet, but the node resource group is unknown"),
            );
        };
        if let Some(reason) = self
            .inv
            .read_state(&sub_id, api::VIRTUAL_NETWORKS)
            .missing_reason(&sub_id, api::VIRTUAL_NETWORKS)
        {
            return (
                Err(format!(
                    "the cluster uses an AKS-managed VNet in {node_rg}, but {reason}"
                )),
                item.note("absent: AKS-managed VNet in the node resource group"),
            );
        }
        let managed: Vec<String> = self
            .inv
            .virtual_networks
            .iter()
            .filter(|v| {
                let vid = arm::id(v);
                arm::subscription_of(vid).is_some_and(|s| arm::eq_ci(&s, &sub))
                    && arm::resource_group_of(vid).is_some_and(|rg| arm::eq_ci(rg, node_rg))
            })
            .map(|v| arm::id(v).to_string())
            .collect();
        if managed.is_empty() {
            return (
                Err(format!(
                    "no node pool names a subnet and no VNet was found in the node resource group {node_rg}"
                )),
                item.note("absent: AKS-managed VNet expected in the node resource group"),
            );
        }
        let note = format!(
            "absent: AKS-managed VNet {} in the node resource group {node_rg}",
            managed.join(", ")
        );
        (Ok(managed), item.note(note))
    }

    /// The private endpoint IDs of the registry's approved connections, or why they are unknown.
    fn approved_endpoints(&self, registry: &Value) -> Result<Vec<String>, String> {
        let connections: &[Value] =
            match arm::array_at(registry, "properties.privateEndpointConnections") {
                Some(list) => list,
                None => {
                    let id = arm::id(registry);
                    if let Some(reason) = self
                        .inv
                        .read_state(id, api::REGISTRY_PE_CONNECTIONS)
                        .missing_reason(id, api::REGISTRY_PE_CONNECTIONS)
                    {
                        return Err(format!(
                            "the registry payload has no privateEndpointConnections and {reason}"
                        ));
                    }
                    self.inv
                        .registry_connections(registry)
                        .map_or(&[][..], Vec::as_slice)
                }
            };
        Ok(connections
            .iter()
            .filter(|c| {
                arm::str_at(c, "properties.privateLinkServiceConnectionState.status")
                    .is_some_and(|s| arm::eq_ci(s, "Approved"))
            })
            .filter_map(|c| arm::str_at(c, "properties.privateEndpoint.id"))
            .map(str::to_string)
            .collect())
    }

    /// A collected private endpoint by ID, or why it is not there.
    fn endpoint(&self, id: &str) -> Result<&'a Value, String> {
        if let Some(pe) = self.inv.private_endpoint(id) {
            return Ok(pe);
        }
        let sub = arm::subscription_of(id).unwrap_or_default();
        let sub_id = format!("/subscriptions/{sub}");
        if self.inv.subscription(&sub).is_none() {
            return Err(format!(
                "private endpoint {id} is in subscription {sub}, which is not audited"
            ));
        }
        match self
            .inv
            .read_state(&sub_id, api::PRIVATE_ENDPOINTS)
            .missing_reason(&sub_id, api::PRIVATE_ENDPOINTS)
        {
            Some(reason) => Err(format!("private endpoint {id}: {reason}")),
            None => Err(format!(
                "private endpoint {id} is not in its subscription's private endpoint list"
            )),
        }
    }

    /// Whether `vnet` (the cluster VNet, read or not) and `other` are peered and connected.
    fn peered(
        &self,
        vnet_id: &str,
        vnet: Result<&Value, &String>,
        other_id: &str,
    ) -> (Option<bool>, Vec<Evidence>) {
        let mut evidence = Vec::new();
        let mut known_side = false;
        for (from_id, from, to_id) in [
            (vnet_id, vnet.ok(), other_id),
            (other_id, self.vnet(other_id).ok(), vnet_id),
        ] {
            let Some(from) = from else { continue };
            known_side = true;
            let peerings =
                arm::array_at(from, "properties.virtualNetworkPeerings").unwrap_or_default();
            if let Some(p) = peerings.iter().find(|p| {
                arm::str_at(p, "properties.remoteVirtualNetwork.id")
                    .is_some_and(|r| arm::eq_ci(r, to_id))
            }) {
                let state = arm::str_at(p, "properties.peeringState");
                let access = arm::bool_at(p, "properties.allowVirtualNetworkAccess");
                let connected =
                    state.is_some_and(|s| arm::eq_ci(s, "Connected")) && access != Some(false);
                evidence.push(
                    Evidence::new(
                        "properties.virtualNetworkPeerings[].properties.peeringState",
                        state.map_or(serde_json::Value::Null, |s| json!(s)),
                        "Connected (with allowVirtualNetworkAccess not false)",
                    )
                    .on(from_id)
                    .note(format!(
                        "peering {} to {to_id}{}; {PEERING_NOTE}",
                        arm::name(p),
                        if access == Some(false) {
                            ", allowVirtualNetworkAccess false"
                        } else {
                            ""
                        }
                    )),
                );
                return (Some(connected), evidence);
            }
        }
        // A connected peering shows on both sides, so one side read without it settles it.
        if known_side {
            (Some(false), evidence)
        } else {
            (None, evidence)
        }
    }
}

/// How the registry's name resolves from a cluster VNet that can reach its endpoint.
enum Dns {
    Linked,
    Custom(Vec<String>),
    NotLinked,
    /// No zone group on the reachable endpoints, but a matching zone is linked to the VNet.
    LinkedWithoutGroup,
    /// No zone group and no visible matching zone linked to the VNet; the zone or link lists
    /// that were not read, where such a zone could hide.
    NoGroup(Vec<String>),
    Unknown(String),
}

impl Net<'_> {
    fn dns(
        &self,
        vnet_id: &str,
        vnet: Result<&Value, &String>,
        endpoints: &[&Value],
    ) -> (Dns, Vec<Evidence>) {
        let vnet = match vnet {
            Ok(v) => v,
            Err(reason) => {
                return (
                    Dns::Unknown(format!(
                        "cannot read the DNS servers of the cluster VNet ({reason})"
                    )),
                    Vec::new(),
                );
            }
        };
        let servers: Vec<String> = arm::array_at(vnet, "properties.dhcpOptions.dnsServers")
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        let mut evidence = vec![
            Evidence::new(
                "properties.dhcpOptions.dnsServers",
                json!(servers),
                "empty (Azure-provided DNS, which resolves through linked private zones)",
            )
            .on(vnet_id)
            .note(DNS_SERVERS_NOTE),
        ];
        if !servers.is_empty() {
            return (Dns::Custom(servers), evidence);
        }
        let mut zones: Vec<String> = Vec::new();
        let mut gaps = Vec::new();
        for pe in endpoints {
            let pe_id = arm::id(pe);
            if let Some(reason) = self
                .inv
                .read_state(pe_id, api::PRIVATE_DNS_ZONE_GROUPS)
                .missing_reason(pe_id, api::PRIVATE_DNS_ZONE_GROUPS)
            {
                gaps.push(reason);
                continue;
            }
            for group in self
                .inv
                .private_dns_zone_groups
                .get(&pe_id.to_ascii_lowercase())
                .into_iter()
                .flatten()
            {
                for config in arm::array_at(group, "properties.privateDnsZoneConfigs")
                    .into_iter()
                    .flatten()
                {
                    let Some(zone) = arm::str_at(config, "properties.privateDnsZoneId") else {
                        continue;
                    };
                    if self
                        .zone_names
                        .iter()
                        .any(|n| arm::eq_ci(n, arm::last_segment(zone)))
                        && !zones.iter().any(|z| arm::eq_ci(z, zone))
                    {
                        zones.push(zone.to_string());
                        evidence.push(
                            Evidence::new(
                                "properties.privateDnsZoneConfigs[].properties.privateDnsZoneId",
                                json!(zone),
                                "a private DNS zone named in private_dns_zone_names",
                            )
                            .on(arm::id(group))
                            .note(format!(
                                "DNS zone group of private endpoint {}",
                                arm::name(pe)
                            )),
                        );
                    }
                }
            }
        }
        if zones.is_empty() {
            if !gaps.is_empty() {
                return (
                    Dns::Unknown(format!(
                        "the DNS zone groups of the private endpoint could not be read ({})",
                        gaps.join("; ")
                    )),
                    evidence,
                );
            }
            let matching: &[&Value] = &self.matching_zones;
            let linked = matching
                .iter()
                .find(|z| self.links_to(arm::id(z), vnet_id).is_some());
            evidence.push(
                Evidence::new(
                    "privateEndpoints/privateDnsZoneGroups",
                    json!([]),
                    "a DNS zone group referencing the registry's private DNS zone",
                )
                .note("the reachable private endpoints have no DNS zone group"),
            );
            return match linked {
                Some(zone) => {
                    evidence.push(self.link_evidence(zone, vnet_id));
                    (Dns::LinkedWithoutGroup, evidence)
                }
                None => (Dns::NoGroup(self.unread_zones(matching)), evidence),
            };
        }
        let mut gaps = Vec::new();
        for zone in &zones {
            if let Some(reason) = self
                .inv
                .read_state(zone, api::PRIVATE_DNS_ZONE_LINKS)
                .missing_reason(zone, api::PRIVATE_DNS_ZONE_LINKS)
            {
                gaps.push(reason);
                continue;
            }
            if let Some(link) = self.links_to(zone, vnet_id) {
                evidence.push(
                    Evidence::new(
                        "properties.virtualNetwork.id",
                        json!(arm::str_at(link, "properties.virtualNetwork.id")),
                        "the cluster VNet",
                    )
                    .on(arm::id(link))
                    .note(format!(
                        "zone {} is linked to the cluster VNet; {LINK_NOTE}",
                        arm::last_segment(zone)
                    )),
                );
                return (Dns::Linked, evidence);
            }
        }
        if !gaps.is_empty() {
            return (
                Dns::Unknown(format!(
                    "the virtual-network links of the registry's private DNS zone could not be read ({})",
                    gaps.join("; ")
                )),
                evidence,
            );
        }
        evidence.push(
            Evidence::new(
                "properties.virtualNetwork.id of the zone's virtual-network links",
                json!(
                    zones
                        .iter()
                        .flat_map(|z| self
                            .inv
                            .private_dns_zone_links
                            .get(&z.to_ascii_lowercase())
                            .into_iter()
                            .flatten())
                        .filter_map(|l| arm::str_at(l, "properties.virtualNetwork.id"))
                        .collect::<Vec<_>>()
                ),
                "the cluster VNet",
            )
            .on(zones.join(", "))
            .note(LINK_NOTE),
        );
        (Dns::NotLinked, evidence)
    }

    /// Where a matching zone linked to the VNet could hide unseen: the private DNS zone lists of
    /// audited subscriptions, and the link lists of the matching zones, that were not read.
    fn unread_zones(&self, matching: &[&Value]) -> Vec<String> {
        let zone_lists = self.zone_list_gaps.iter().cloned();
        let link_lists = matching.iter().filter_map(|z| {
            let id = arm::id(z);
            self.inv
                .read_state(id, api::PRIVATE_DNS_ZONE_LINKS)
                .missing_reason(id, api::PRIVATE_DNS_ZONE_LINKS)
        });
        zone_lists.chain(link_lists).collect()
    }

    /// The virtual-network link of `zone` to `vnet_id`, if collected.
    fn links_to(&self, zone: &str, vnet_id: &str) -> Option<&Value> {
        self.inv
            .private_dns_zone_links
            .get(&zone.to_ascii_lowercase())?
            .iter()
            .find(|l| {
                arm::str_at(l, "properties.virtualNetwork.id")
                    .is_some_and(|v| arm::eq_ci(v, vnet_id))
            })
    }

    fn link_evidence(&self, zone: &Value, vnet_id: &str) -> Evidence {
        let link = self.links_to(arm::id(zone), vnet_id);
        Evidence::new(
            "properties.virtualNetwork.id",
            json!(vnet_id),
            "the cluster VNet",
        )
        .on(link.map_or_else(|| arm::id(zone).to_string(), |l| arm::id(l).to_string()))
        .note(format!(
            "zone {} is linked to the cluster VNet, but no DNS zone group shows that it holds the registry's records; {LINK_NOTE}",
            arm::name(zone)
        ))
    }

    /// The verdict of one (cluster VNet, registry) combination.
    fn judge_vnet(
        &self,
        vnet_id: &str,
        registry: &Value,
        public: bool,
        endpoints: &[(&Value, String)],
        unseen: &[String],
    ) -> Part {
        let vnet = self.vnet(vnet_id);
        let short = arm::last_segment(vnet_id);
        let mut evidence = Vec::new();
        let mut reachable: Vec<&Value> = Vec::new();
        let mut how = Vec::new();
        let mut unknown: Vec<String> = unseen.to_vec();
        for (pe, pe_vnet) in endpoints {
            let pe_item = Evidence::new(
                "properties.subnet.id",
                arm::path(pe, "properties.subnet.id")
                    .cloned()
                    .unwrap_or(Value::Null),
                "a subnet of the cluster VNet or of a VNet peered with it",
            )
            .on(arm::id(pe));
            if arm::eq_ci(pe_vnet, vnet_id) {
                evidence.push(pe_item.note("in the cluster VNet"));
                reachable.push(pe);
                how.push(format!(
                    "private endpoint {} in the cluster VNet",
                    arm::name(pe)
                ));
                continue;
            }
            let (peered, items) = self.peered(vnet_id, vnet.as_ref().copied(), pe_vnet);
            evidence.extend(items);
            match peered {
                Some(true) => {
                    evidence.push(pe_item.note(format!("in {pe_vnet}, peered with the cluster VNet")));
                    reachable.push(pe);
                    how.push(format!(
                        "private endpoint {} in peered VNet {}",
                        arm::name(pe),
                        arm::last_segment(pe_vnet)
                    ));
                }
                Some(false) => evidence.push(pe_item.note(format!(
                    "in {pe_vnet}, which has no connected peering with the cluster VNet"
                ))),
                None => unknown.push(format!(
                    "whether {pe_vnet} (private endpoint {}) is peered with the cluster VNet cannot be read ({})",
                    arm::name(pe),
                    vnet.as_ref().err().cloned().unwrap_or_default()
                )),
            }
        }
        let name = arm::name(registry);
        let no_path = |evidence: Vec<Evidence>| {
            let mut part = if public {
                Part::new(
                    Status::Warn,
                    format!(
                        "no private endpoint reachable from VNet {short}; pulls use the registry's public endpoint"
                    ),
                )
            } else {
                Part::new(
                    Status::Fail,
                    format!(
                        "no private endpoint reachable from VNet {short} and public network access is disabled: image pulls fail"
                    ),
                )
            };
            part.evidence = evidence;
            part
        };
        if reachable.is_empty() {
            if !unknown.is_empty() {
                let mut part = Part::new(
                    Status::Unknown,
                    format!(
                        "cannot tell whether {name} is reachable from VNet {short}: {}",
                        unknown.join("; ")
                    ),
                );
                part.evidence = evidence;
                return part;
            }
            return no_path(evidence);
        }
        let (dns, items) = self.dns(vnet_id, vnet.as_ref().copied(), &reachable);
        evidence.extend(items);
        let reach = how.join(", ");
        let zone_names = self.zone_names.join(" or ");
        let mut part = match dns {
            Dns::Linked => Part::new(
                Status::Pass,
                format!("{reach}, and its {zone_names} zone is linked to VNet {short}"),
            ),
            Dns::Custom(servers) => Part::new(
                Status::Warn,
                format!(
                    "{reach}, but VNet {short} uses custom DNS servers ({}): forwarding of {zone_names} cannot be verified from ARM",
                    servers.join(", ")
                ),
            ),
            Dns::NotLinked => {
                if public {
                    Part::new(
                        Status::Warn,
                        format!(
                            "{reach}, but its {zone_names} zone is not linked to VNet {short}: the name resolves to the public endpoint"
                        ),
                    )
                } else {
                    Part::new(
                        Status::Fail,
                        format!(
                            "{reach}, but its {zone_names} zone is not linked to VNet {short} and public network access is disabled: image pulls fail"
                        ),
                    )
                }
            }
            Dns::LinkedWithoutGroup => Part::new(
                Status::Warn,
                format!(
                    "{reach}; a {zone_names} zone is linked to VNet {short}, but the endpoint has no DNS zone group, so whether the zone holds the registry's records cannot be verified from ARM"
                ),
            ),
            Dns::NoGroup(unread) => {
                let unseen = if unread.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (a linked zone may be in a list that could not be read: {})",
                        unread.join("; ")
                    )
                };
                if public {
                    Part::new(
                        Status::Warn,
                        format!(
                            "{reach}, but it has no DNS zone group and no {zone_names} zone visible in the audit is linked to VNet {short}{unseen}: the name resolves to the public endpoint unless records are managed elsewhere"
                        ),
                    )
                } else {
                    Part::new(
                        Status::Unknown,
                        format!(
                            "{reach}, but it has no DNS zone group and no {zone_names} zone visible in the audit is linked to VNet {short}{unseen}: resolution cannot be verified"
                        ),
                    )
                }
            }
            Dns::Unknown(reason) => Part::new(
                Status::Unknown,
                format!(
                    "{reach}, but name resolution from VNet {short} cannot be verified: {reason}"
                ),
            ),
        };
        part.evidence = evidence;
        part
    }

    /// The verdict of one (cluster, registry) pair over the cluster's VNets.
    fn judge_pair(&self, vnets: &Result<Vec<String>, String>, registry: &Value) -> Part {
        let name = arm::name(registry);
        let access = arm::str_at(registry, "properties.publicNetworkAccess");
        let public = !access.is_some_and(|a| arm::eq_ci(a, "Disabled"));
        let mut evidence = vec![{
            let item = Evidence::new(
                "properties.publicNetworkAccess",
                access.map_or(serde_json::Value::Null, |a| json!(a)),
                "Disabled once a private endpoint serves the cluster",
            )
            .on(arm::id(registry));
            if access.is_none() {
                item.note("absent in the ARM payload; ARM's default Enabled applies")
            } else {
                item
            }
        }];
        let approved = match self.approved_endpoints(registry) {
            Ok(ids) => ids,
            Err(reason) => {
                let mut part = Part::new(
                    Status::Unknown,
                    format!("cannot read the private endpoint connections of {name}: {reason}"),
                );
                part.evidence = evidence;
                return part;
            }
        };
        evidence.push(
            Evidence::new(
                "properties.privateEndpointConnections[status=Approved].properties.privateEndpoint.id",
                json!(approved),
                "a private endpoint reachable from the cluster VNet",
            )
            .on(arm::id(registry)),
        );
        if approved.is_empty() {
            let mut part = if public {
                Part::new(
                    Status::Warn,
                    "no approved private endpoint; pulls use the registry's public endpoint",
                )
            } else {
                Part::new(
                    Status::Fail,
                    "no approved private endpoint and public network access is disabled: image pulls fail",
                )
            };
            part.evidence = evidence;
            return part;
        }
        let vnets = match vnets {
            Ok(v) => v,
            Err(reason) => {
                let mut part = Part::new(
                    Status::Unknown,
                    format!("cannot tell from which VNet the cluster pulls: {reason}"),
                );
                part.evidence = evidence;
                return part;
            }
        };
        let mut endpoints = Vec::new();
        let mut unseen = Vec::new();
        for pe_id in &approved {
            match self.endpoint(pe_id) {
                Ok(pe) => match arm::str_at(pe, "properties.subnet.id").and_then(vnet_of_subnet) {
                    Some(v) => endpoints.push((pe, v.to_string())),
                    None => unseen.push(format!(
                        "private endpoint {} has no subnet.id",
                        arm::name(pe)
                    )),
                },
                Err(reason) => unseen.push(reason),
            }
        }
        let mut status = Status::NotApplicable;
        let mut messages = Vec::new();
        for vnet in vnets {
            let part = self.judge_vnet(vnet, registry, public, &endpoints, &unseen);
            status = status.combine(part.status);
            messages.push(part.message);
            evidence.extend(part.evidence);
        }
        let mut part = Part::new(status, messages.join("; "));
        part.evidence = evidence;
        part
    }
}

fn evaluate_cluster(check: &str, net: &Net, roles: &PullRoles, cluster: &Value) -> Finding {
    let inv = net.inv;
    let id = arm::id(cluster);
    let Some(kubelet) = kubelet_object_id(cluster) else {
        return Finding::new(
            check,
            id,
            Status::NotApplicable,
            "the cluster has no kubelet identity (identityProfile.kubeletidentity absent), so no pull grant ties it to a registry",
        )
        .evidence(
            pull::no_kubelet_evidence()
            .note("absent in the ARM payload"),
        );
    };
    let mut evidence = vec![pull::kubelet_evidence(
        kubelet,
        "the principal whose pull grants define the (cluster, registry) pairs",
    )];
    let mut pairs = Vec::new();
    let mut maybe = Vec::new();
    // Only registries the kubelet identity may pull from can pair with the cluster; on every
    // other registry `pull` would answer "not granted".
    let pull_roles: Vec<String> = roles.legacy.iter().chain(&roles.abac).cloned().collect();
    for registry in inv.registries_maybe_granted(&pull_roles, kubelet) {
        if inv.subscription_of(registry).is_none() {
            continue;
        }
        match pull(inv, roles, registry, kubelet) {
            Pull::Granted(grants) => pairs.push((registry, grants)),
            Pull::Unknown(reason) => maybe.push((registry, reason)),
            Pull::NotGranted => {}
        }
    }
    let unlisted: Vec<String> = inv.subscription_gaps(api::REGISTRIES).into_iter().collect();

    let (vnets, vnet_evidence) = net.cluster_vnets(cluster);
    evidence.push(vnet_evidence);
    let mut status = Status::NotApplicable;
    let mut messages = Vec::new();
    for (registry, grants) in &pairs {
        for grant in grants {
            evidence.push(pull_evidence(
                grant,
                registry,
                "a pull grant linking the cluster to the registry (as in AKS-017)",
            ));
        }
        let part = net.judge_pair(&vnets, registry);
        status = status.combine(part.status);
        messages.push(format!(
            "registry {}: {}",
            arm::name(registry),
            part.message
        ));
        evidence.extend(part.evidence);
    }
    let mut passing_if_pulled = Vec::new();
    for (registry, reason) in &maybe {
        let part = net.judge_pair(&vnets, registry);
        if part.status == Status::Pass {
            passing_if_pulled.push(format!(
                "registry {}: whether the cluster pulls from it cannot be told ({reason}); if it does, the pair passes",
                arm::name(registry)
            ));
            evidence.push(
                Evidence::new("pull grant of the kubelet identity", Value::Null, "known")
                    .on(arm::id(registry))
                    .note(format!(
                        "unknown ({reason}); the pair would pass anyway: {}",
                        part.message
                    )),
            );
            continue;
        }
        status = status.combine(Status::Unknown);
        messages.push(format!(
            "registry {}: whether the cluster pulls from it cannot be told ({reason}); if it does: {}",
            arm::name(registry),
            part.message
        ));
        evidence.extend(part.evidence);
    }
    if !unlisted.is_empty() {
        evidence.push(
            Evidence::new(
                "registries of the audited subscriptions",
                Value::Null,
                "every registry list read",
            )
            .note(format!("not read: {}", unlisted.join("; "))),
        );
        if status != Status::Fail {
            messages.push(format!(
                "registries the cluster may pull from could not be listed ({})",
                unlisted.join("; ")
            ));
            status = Status::Unknown;
        }
    }
    if status == Status::NotApplicable && !passing_if_pulled.is_empty() {
        // Pass if the unread grant exists, not applicable if it does not: which one is unknown.
        status = Status::Unknown;
        messages.extend(passing_if_pulled);
    }
    if status == Status::NotApplicable {
        return Finding::new(
            check,
            id,
            Status::NotApplicable,
            "the kubelet identity holds no pull grant on any audited registry: no (cluster, registry) pair to check",
        )
        .with_evidence(evidence);
    }
    let message = if messages.len() == 1 {
        messages.remove(0)
    } else {
        messages.join("; ")
    };
    Finding::new(check, id, status, message).with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_ids_give_their_vnet() {
        assert_eq!(
            vnet_of_subnet(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/Subnets/snet"
            ),
            Some(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
            )
        );
        assert_eq!(vnet_of_subnet("/subscriptions/s/resourceGroups/rg"), None);
    }
}
