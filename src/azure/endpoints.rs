//! Where lzaudit talks to, and with which api-version: the one place that knows URLs.
//!
//! This module owns the sovereign-cloud table (authority host, ARM endpoint, ARM token scope),
//! the `--arm-endpoint` / `--authority-host` overrides and their validation (`https` always,
//! plain `http` only on loopback so that a bearer token never crosses a network in clear
//! text), the api-version of every ARM call, and a builder for every route the collector
//! reads. Building URLs apart from sending them (as kube-rs does) keeps this module pure and
//! unit-tested; resource IDs are appended segment by segment so that odd characters in names
//! are percent-encoded instead of changing the path. Every value comes from
//! `shared/arm-api.md`; those not listed there name the swagger they were read from below.

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;
use url::{Host, Url};

/// api-versions, one per ARM call family (arm-api.md sections in brackets).
pub mod api_version {
    /// `GET /subscriptions`, `GET /subscriptions/{id}` (§1).
    pub const SUBSCRIPTIONS: &str = "2022-12-01";
    /// Management-group descendants and `GET managementGroups/{name}` (§1).
    pub const MANAGEMENT_GROUPS: &str = "2023-04-01";
    /// `Microsoft.ContainerService/managedClusters` (§2).
    pub const CLUSTERS: &str = "2026-02-01";
    /// Registries and their `privateEndpointConnections` / `tokens` children (§3).
    pub const REGISTRIES: &str = "2025-11-01";
    /// Policy assignments, definitions and set definitions (§4).
    pub const POLICY: &str = "2025-03-01";
    /// Policy exemptions exist only in preview; this is the widely used one (§4).
    pub const POLICY_EXEMPTIONS: &str = "2022-07-01-preview";
    /// Defender for Cloud pricings, subscription and resource level (§5).
    pub const PRICINGS: &str = "2024-01-01";
    /// Role assignments (§6).
    pub const ROLE_ASSIGNMENTS: &str = "2022-04-01";
    /// VMs and VM scale sets: the latest Compute stable seen (§7).
    pub const COMPUTE: &str = "2025-04-01";
    /// Arc machines: not in arm-api.md; `hybridcompute/.../HybridCompute/stable/2024-07-10`
    /// in azure-rest-api-specs.
    pub const HYBRID_COMPUTE: &str = "2024-07-10";
    /// `Microsoft.Network` private endpoints (and their `privateDnsZoneGroups`), virtual
    /// networks, route tables and NSGs (§8; `PrivateEndpointGet.json` is a 2025-01-01 example).
    pub const NETWORK: &str = "2025-01-01";
    /// `Microsoft.Network/privateDnsZones` and `virtualNetworkLinks` are a separate resource
    /// provider: `privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/privatedns.json`
    /// is its latest stable (only `2026-06-01-preview` is newer).
    pub const PRIVATE_DNS: &str = "2024-06-01";
    /// `{resourceUri}/providers/Microsoft.Insights/diagnosticSettings` (`DiagnosticSettings_List`)
    /// exists only in preview: `monitor/resource-manager/Microsoft.Insights/preview/
    /// 2021-05-01-preview/diagnosticsSettings_API.json` is the latest and the widely used one.
    pub const DIAGNOSTIC_SETTINGS: &str = "2021-05-01-preview";
    /// `{scope}/providers/Microsoft.Security/assessments` (`Assessments_List`, paged by
    /// `nextLink`): `security/resource-manager/Microsoft.Security/stable/2025-05-04/
    /// assessments.json`, the latest stable (2021-06-01 before it).
    pub const ASSESSMENTS: &str = "2025-05-04";
    /// `/providers/Microsoft.Security/assessmentMetadata` (`AssessmentsMetadata_List`, tenant
    /// level, paged by `nextLink`): `security/resource-manager/Microsoft.Security/stable/
    /// 2021-06-01/assessmentMetadata.json`, whose example carries each type's `severity`.
    pub const ASSESSMENT_METADATA: &str = "2021-06-01";
    /// PolicyInsights `policyStates/{resource}/queryResults` (§4; `policyinsights/.../stable/
    /// 2019-10-01/policyStates.json`, a POST paged by `@odata.nextLink`).
    pub const POLICY_STATES: &str = "2019-10-01";
}

/// A sovereign cloud (arm-api.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Cloud {
    /// Azure public cloud (`AzureCloud`).
    #[default]
    Public,
    /// Azure US Government (`AzureUSGovernment`).
    #[value(name = "usgov")]
    UsGov,
    /// Azure operated by 21Vianet (`AzureChinaCloud`).
    China,
}

impl Cloud {
    /// The Entra ID authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }

    /// The ARM endpoint.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::UsGov => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    /// The ARM token audience. For the public cloud this is the widely used
    /// `https://management.azure.com` rather than `https://management.core.windows.net/`;
    /// Entra accepts both for ARM.
    pub fn arm_audience(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::UsGov => "https://management.core.usgovcloudapi.net",
            Cloud::China => "https://management.core.chinacloudapi.cn",
        }
    }

    /// The OAuth scope to request for ARM: the audience plus `/.default`.
    pub fn arm_scope(self) -> String {
        scope_for(self.arm_audience())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::UsGov => "usgov",
            Cloud::China => "china",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<audience>/.default`, with exactly one slash between them.
pub fn scope_for(audience: &str) -> String {
    format!("{}/.default", audience.trim_end_matches('/'))
}

/// A URL given on the command line that lzaudit will not use.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("{what} '{url}' is not a valid URL: {reason}")]
    Invalid {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error(
        "{what} '{url}' uses plain http:// on the non-loopback host '{host}': a bearer token must not cross a network unencrypted; use https:// (plain http:// is accepted only for 127.0.0.0/8, ::1 and localhost)"
    )]
    InsecureHost {
        what: &'static str,
        url: String,
        host: String,
    },
    #[error("{what} '{url}' must use https:// (or http:// on a loopback address), not '{scheme}'")]
    Scheme {
        what: &'static str,
        url: String,
        scheme: String,
    },
}

/// Whether a URL host is a loopback address or `localhost`.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<IpAddr>()
                    .is_ok_and(|ip: IpAddr| ip.is_loopback())
        }
    }
}

/// Validates an endpoint URL: `https` anywhere, `http` on loopback only, no credentials, query
/// or fragment. Returns it without a trailing slash on the path.
pub fn validate_endpoint(what: &'static str, raw: &str) -> Result<Url, EndpointError> {
    let invalid = |reason: &str| EndpointError::Invalid {
        what,
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    let host = url
        .host()
        .ok_or_else(|| invalid("it has no host"))?
        .to_owned();
    match url.scheme() {
        "https" => {}
        "http" => {
            let host_ref = match &host {
                Host::Domain(d) => Host::Domain(d.as_str()),
                Host::Ipv4(ip) => Host::Ipv4(*ip),
                Host::Ipv6(ip) => Host::Ipv6(*ip),
            };
            if !is_loopback(&host_ref) {
                return Err(EndpointError::InsecureHost {
                    what,
                    url: raw.to_string(),
                    host: host.to_string(),
                });
            }
        }
        other => {
            return Err(EndpointError::Scheme {
                what,
                url: raw.to_string(),
                scheme: other.to_string(),
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry a query or fragment"));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// The endpoints one run uses, resolved from the cloud and the overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub cloud: Cloud,
    /// ARM base URL, without a trailing slash.
    pub arm: Url,
    /// Entra authority host, without a trailing slash.
    pub authority: Url,
    /// The OAuth scope for ARM tokens.
    pub scope: String,
}

impl Endpoints {
    /// Resolves the cloud's endpoints, applying `--arm-endpoint` / `--authority-host`.
    /// With a custom ARM endpoint (Azure Stack, the emulator) the token audience is that
    /// endpoint, as Azure Stack Hub expects.
    pub fn resolve(
        cloud: Cloud,
        arm_endpoint: Option<&str>,
        authority_host: Option<&str>,
    ) -> Result<Endpoints, EndpointError> {
        let arm = validate_endpoint(
            "--arm-endpoint",
            arm_endpoint.unwrap_or(cloud.arm_endpoint()),
        )?;
        let authority = validate_endpoint(
            "--authority-host",
            authority_host.unwrap_or(cloud.authority_host()),
        )?;
        let scope = match arm_endpoint {
            None => cloud.arm_scope(),
            Some(_) => scope_for(arm.as_str()),
        };
        Ok(Endpoints {
            cloud,
            arm,
            authority,
            scope,
        })
    }

    /// The ARM endpoint as text, without a trailing slash (stored in the inventory).
    pub fn arm_text(&self) -> String {
        self.arm.as_str().trim_end_matches('/').to_string()
    }
}

/// Appends the segments of an ARM ID (or a relative path) to the base URL's path and sets
/// `api-version` plus any extra query pairs. Each segment is percent-encoded on its own.
pub fn arm_url(base: &Url, path: &str, api_version: &str, query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .expect("validated endpoints are hierarchical URLs");
        segments.pop_if_empty();
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
    }
    {
        let mut pairs = url.query_pairs_mut();
        pairs.clear();
        pairs.append_pair("api-version", api_version);
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    url
}

/// `$filter=atScope()`: assignments at or above the scope.
const AT_SCOPE: (&str, &str) = ("$filter", "atScope()");

/// An OData string literal: single quotes, with embedded quotes doubled.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// URL builders for every route the collector reads.
pub mod route {
    use super::{AT_SCOPE, api_version as v, arm_url, odata_string};
    use url::Url;

    /// `GET /subscriptions`.
    pub fn subscriptions(base: &Url) -> Url {
        arm_url(base, "/subscriptions", v::SUBSCRIPTIONS, &[])
    }

    /// `GET /subscriptions/{id}`.
    pub fn subscription(base: &Url, subscription_id: &str) -> Url {
        arm_url(
            base,
            &format!("/subscriptions/{subscription_id}"),
            v::SUBSCRIPTIONS,
            &[],
        )
    }

    /// `GET /providers/Microsoft.Management/managementGroups/{name}/descendants`.
    pub fn management_group_descendants(base: &Url, group: &str) -> Url {
        arm_url(
            base,
            &format!("/providers/Microsoft.Management/managementGroups/{group}/descendants"),
            v::MANAGEMENT_GROUPS,
            &[],
        )
    }

    /// `GET /providers/Microsoft.Management/managementGroups/{name}`, optionally with
    /// `$expand=path` (the path from the root group down to the group's parent).
    pub fn management_group(base: &Url, group: &str, expand_path: bool) -> Url {
        let query: &[(&str, &str)] = if expand_path {
            &[("$expand", "path")]
        } else {
            &[]
        };
        arm_url(
            base,
            &format!("/providers/Microsoft.Management/managementGroups/{group}"),
            v::MANAGEMENT_GROUPS,
            query,
        )
    }

    fn in_subscription(
        base: &Url,
        subscription_id: &str,
        provider_type: &str,
        version: &str,
    ) -> Url {
        arm_url(
            base,
            &format!("/subscriptions/{subscription_id}/providers/{provider_type}"),
            version,
            &[],
        )
    }

    /// AKS clusters of a subscription.
    pub fn clusters(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.ContainerService/managedClusters",
            v::CLUSTERS,
        )
    }

    /// Container registries of a subscription.
    pub fn registries(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.ContainerRegistry/registries",
            v::REGISTRIES,
        )
    }

    /// `{registryId}/privateEndpointConnections`.
    pub fn registry_private_endpoint_connections(base: &Url, registry_id: &str) -> Url {
        arm_url(
            base,
            &format!("{registry_id}/privateEndpointConnections"),
            v::REGISTRIES,
            &[],
        )
    }

    /// `{registryId}/tokens`.
    pub fn registry_tokens(base: &Url, registry_id: &str) -> Url {
        arm_url(base, &format!("{registry_id}/tokens"), v::REGISTRIES, &[])
    }

    /// Role assignments at or above a scope (`$filter=atScope()`).
    pub fn role_assignments_at(base: &Url, scope_id: &str) -> Url {
        arm_url(
            base,
            &format!("{scope_id}/providers/Microsoft.Authorization/roleAssignments"),
            v::ROLE_ASSIGNMENTS,
            &[AT_SCOPE],
        )
    }

    /// VMs of a subscription.
    pub fn virtual_machines(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Compute/virtualMachines",
            v::COMPUTE,
        )
    }

    /// VM scale sets of a subscription.
    pub fn scale_sets(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Compute/virtualMachineScaleSets",
            v::COMPUTE,
        )
    }

    /// Arc machines of a subscription.
    pub fn arc_machines(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.HybridCompute/machines",
            v::HYBRID_COMPUTE,
        )
    }

    /// Subscription-level Defender pricings.
    pub fn pricings(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Security/pricings",
            v::PRICINGS,
        )
    }

    /// The resource-level `VirtualMachines` pricing of a VM, VMSS or Arc machine.
    pub fn machine_pricing(base: &Url, machine_id: &str) -> Url {
        arm_url(
            base,
            &format!("{machine_id}/providers/Microsoft.Security/pricings/VirtualMachines"),
            v::PRICINGS,
            &[],
        )
    }

    /// Policy assignments of a subscription, without a filter: those at it and inherited from
    /// every management group above it, and those at its resource groups and resources, which
    /// `$filter=atScope()` would leave out although they cover the clusters and registries
    /// there (Policy Assignments - List: "the unfiltered list includes … any applied to objects
    /// contained within the subscription").
    pub fn policy_assignments(base: &Url, subscription_id: &str) -> Url {
        arm_url(
            base,
            &format!(
                "/subscriptions/{subscription_id}/providers/Microsoft.Authorization/policyAssignments"
            ),
            v::POLICY,
            &[],
        )
    }

    /// Policy exemptions of a subscription, without a filter: that includes the exemptions
    /// at its resource groups and resources, and those inherited from above.
    pub fn policy_exemptions(base: &Url, subscription_id: &str) -> Url {
        arm_url(
            base,
            &format!(
                "/subscriptions/{subscription_id}/providers/Microsoft.Authorization/policyExemptions"
            ),
            v::POLICY_EXEMPTIONS,
            &[],
        )
    }

    /// A policy definition or set definition by its full ID.
    pub fn policy_definition(base: &Url, definition_id: &str) -> Url {
        arm_url(base, definition_id, v::POLICY, &[])
    }

    /// Private endpoints of a subscription (`PrivateEndpoints_ListBySubscription`).
    pub fn private_endpoints(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Network/privateEndpoints",
            v::NETWORK,
        )
    }

    /// `{privateEndpointId}/privateDnsZoneGroups` (`PrivateDnsZoneGroups_List`).
    pub fn private_dns_zone_groups(base: &Url, private_endpoint_id: &str) -> Url {
        arm_url(
            base,
            &format!("{private_endpoint_id}/privateDnsZoneGroups"),
            v::NETWORK,
            &[],
        )
    }

    /// Private DNS zones of a subscription (`PrivateZones_List`).
    pub fn private_dns_zones(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Network/privateDnsZones",
            v::PRIVATE_DNS,
        )
    }

    /// `{privateDnsZoneId}/virtualNetworkLinks` (`VirtualNetworkLinks_List`).
    pub fn private_dns_zone_links(base: &Url, zone_id: &str) -> Url {
        arm_url(
            base,
            &format!("{zone_id}/virtualNetworkLinks"),
            v::PRIVATE_DNS,
            &[],
        )
    }

    /// Virtual networks of a subscription (`VirtualNetworks_ListAll`).
    pub fn virtual_networks(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Network/virtualNetworks",
            v::NETWORK,
        )
    }

    /// Route tables of a subscription (`RouteTables_ListAll`).
    pub fn route_tables(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Network/routeTables",
            v::NETWORK,
        )
    }

    /// Network security groups of a subscription (`NetworkSecurityGroups_ListAll`).
    pub fn network_security_groups(base: &Url, subscription_id: &str) -> Url {
        in_subscription(
            base,
            subscription_id,
            "Microsoft.Network/networkSecurityGroups",
            v::NETWORK,
        )
    }

    /// `{resourceId}/providers/Microsoft.Insights/diagnosticSettings`.
    pub fn diagnostic_settings(base: &Url, resource_id: &str) -> Url {
        arm_url(
            base,
            &format!("{resource_id}/providers/Microsoft.Insights/diagnosticSettings"),
            v::DIAGNOSTIC_SETTINGS,
            &[],
        )
    }

    /// `{resourceId}/providers/Microsoft.Security/assessments`.
    pub fn assessments(base: &Url, resource_id: &str) -> Url {
        arm_url(
            base,
            &format!("{resource_id}/providers/Microsoft.Security/assessments"),
            v::ASSESSMENTS,
            &[],
        )
    }

    /// `GET /providers/Microsoft.Security/assessmentMetadata`: every assessment type's metadata.
    pub fn assessment_metadata(base: &Url) -> Url {
        arm_url(
            base,
            "/providers/Microsoft.Security/assessmentMetadata",
            v::ASSESSMENT_METADATA,
            &[],
        )
    }

    /// The latest policy states of one resource, queried at its subscription
    /// (`PolicyStates_ListQueryResultsForSubscription`, a POST):
    /// `$filter=resourceId eq '{resourceId}'`.
    pub fn policy_states(base: &Url, subscription_id: &str, resource_id: &str) -> Url {
        let filter = format!("resourceId eq {}", odata_string(resource_id));
        arm_url(
            base,
            &format!(
                "/subscriptions/{subscription_id}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults"
            ),
            v::POLICY_STATES,
            &[("$filter", &filter)],
        )
    }

    /// The Kubernetes versions AKS supports in a location
    /// (`ManagedClusters_ListKubernetesVersions`, a `KubernetesVersionListResult`, not paged).
    pub fn kubernetes_versions(base: &Url, subscription_id: &str, location: &str) -> Url {
        arm_url(
            base,
            &format!(
                "/subscriptions/{subscription_id}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions"
            ),
            v::CLUSTERS,
            &[],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        for ok in [
            "https://management.azure.com",
            "https://example.org:8443/arm/",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000",
            "http://localhost:1234",
            "http://LOCALHOST",
        ] {
            assert!(validate_endpoint("--arm-endpoint", ok).is_ok(), "{ok}");
        }
        let err = validate_endpoint("--arm-endpoint", "http://10.0.0.5").unwrap_err();
        assert!(
            matches!(&err, EndpointError::InsecureHost { host, .. } if host == "10.0.0.5"),
            "{err}"
        );
        assert!(err.to_string().contains("loopback"), "{err}");
        for bad in [
            "http://management.azure.com",
            "http://127.0.0.1.example.com",
            "http://[::2]",
        ] {
            assert!(
                matches!(
                    validate_endpoint("x", bad),
                    Err(EndpointError::InsecureHost { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            validate_endpoint("x", "ftp://127.0.0.1"),
            Err(EndpointError::Scheme { .. })
        ));
        assert!(matches!(
            validate_endpoint("x", "not a url"),
            Err(EndpointError::Invalid { .. })
        ));
        assert!(matches!(
            validate_endpoint("x", "https://user:pw@example.org"),
            Err(EndpointError::Invalid { .. })
        ));
        assert!(matches!(
            validate_endpoint("x", "https://example.org/?a=b"),
            Err(EndpointError::Invalid { .. })
        ));
        assert_eq!(
            validate_endpoint("x", "https://example.org/arm/")
                .unwrap()
                .as_str(),
            "https://example.org/arm"
        );
    }

    #[test]
    fn clouds_and_overrides() {
        let public = Endpoints::resolve(Cloud::Public, None, None).unwrap();
        assert_eq!(public.scope, "https://management.azure.com/.default");
        assert_eq!(public.arm_text(), "https://management.azure.com");
        assert_eq!(
            public.authority.as_str(),
            "https://login.microsoftonline.com/"
        );
        let gov = Endpoints::resolve(Cloud::UsGov, None, None).unwrap();
        assert_eq!(
            gov.scope,
            "https://management.core.usgovcloudapi.net/.default"
        );
        assert_eq!(gov.arm_text(), "https://management.usgovcloudapi.net");
        let china = Endpoints::resolve(Cloud::China, None, None).unwrap();
        assert_eq!(
            china.scope,
            "https://management.core.chinacloudapi.cn/.default"
        );
        let custom = Endpoints::resolve(
            Cloud::Public,
            Some("http://127.0.0.1:5000/"),
            Some("https://127.0.0.1:5001"),
        )
        .unwrap();
        assert_eq!(custom.arm_text(), "http://127.0.0.1:5000");
        assert_eq!(custom.scope, "http://127.0.0.1:5000/.default");
        assert!(Endpoints::resolve(Cloud::Public, None, Some("http://login.example.org")).is_err());
    }

    #[test]
    fn routes_carry_api_versions_and_encode_segments() {
        let base = Url::parse("https://management.azure.com").unwrap();
        assert_eq!(
            route::subscriptions(&base).as_str(),
            "https://management.azure.com/subscriptions?api-version=2022-12-01"
        );
        assert_eq!(
            route::policy_assignments(&base, "s1").as_str(),
            "https://management.azure.com/subscriptions/s1/providers/Microsoft.Authorization/policyAssignments?api-version=2025-03-01"
        );
        assert_eq!(
            route::policy_exemptions(&base, "s1").as_str(),
            "https://management.azure.com/subscriptions/s1/providers/Microsoft.Authorization/policyExemptions?api-version=2022-07-01-preview"
        );
        let vm = "/subscriptions/s/resourceGroups/rg (x)/providers/Microsoft.Compute/virtualMachines/vm#1";
        let url = route::machine_pricing(&base, vm);
        assert_eq!(
            url.path(),
            "/subscriptions/s/resourceGroups/rg%20(x)/providers/Microsoft.Compute/virtualMachines/vm%231/providers/Microsoft.Security/pricings/VirtualMachines"
        );
        assert_eq!(url.query(), Some("api-version=2024-01-01"));
        let with_path = Url::parse("https://stack.example.org/arm").unwrap();
        assert_eq!(
            route::clusters(&with_path, "s").as_str(),
            "https://stack.example.org/arm/subscriptions/s/providers/Microsoft.ContainerService/managedClusters?api-version=2026-02-01"
        );
        assert_eq!(
            route::management_group(&base, "corp", true).as_str(),
            "https://management.azure.com/providers/Microsoft.Management/managementGroups/corp?api-version=2023-04-01&%24expand=path"
        );
        assert_eq!(
            route::role_assignments_at(&base, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r").path(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments"
        );
    }

    #[test]
    fn routes_of_the_full_catalogue() {
        let base = Url::parse("https://management.azure.com").unwrap();
        let cluster = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        let states = route::policy_states(&base, "s", cluster);
        assert_eq!(
            states.path(),
            "/subscriptions/s/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults"
        );
        let query: Vec<(String, String)> = states.query_pairs().into_owned().collect();
        assert_eq!(
            query,
            [
                ("api-version".to_string(), "2019-10-01".to_string()),
                ("$filter".to_string(), format!("resourceId eq '{cluster}'")),
            ]
        );
        assert_eq!(odata_string("it's"), "'it''s'");
        assert_eq!(
            route::kubernetes_versions(&base, "s", "westeurope").as_str(),
            "https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions?api-version=2026-02-01"
        );
        assert_eq!(
            route::diagnostic_settings(&base, cluster).as_str(),
            format!(
                "https://management.azure.com{cluster}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
            )
        );
        assert_eq!(
            route::assessments(&base, cluster).query(),
            Some("api-version=2025-05-04")
        );
        assert_eq!(
            route::assessment_metadata(&base).as_str(),
            "https://management.azure.com/providers/Microsoft.Security/assessmentMetadata?api-version=2021-06-01"
        );
        let zone = "/subscriptions/s/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io";
        assert_eq!(
            route::private_dns_zone_links(&base, zone).as_str(),
            format!(
                "https://management.azure.com{zone}/virtualNetworkLinks?api-version=2024-06-01"
            )
        );
        assert_eq!(
            route::private_dns_zones(&base, "s").path(),
            "/subscriptions/s/providers/Microsoft.Network/privateDnsZones"
        );
        let pe =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe";
        assert_eq!(
            route::private_dns_zone_groups(&base, pe).as_str(),
            format!("https://management.azure.com{pe}/privateDnsZoneGroups?api-version=2025-01-01")
        );
        for (url, kind) in [
            (route::private_endpoints(&base, "s"), "privateEndpoints"),
            (route::virtual_networks(&base, "s"), "virtualNetworks"),
            (route::route_tables(&base, "s"), "routeTables"),
            (
                route::network_security_groups(&base, "s"),
                "networkSecurityGroups",
            ),
        ] {
            assert_eq!(
                url.as_str(),
                format!(
                    "https://management.azure.com/subscriptions/s/providers/Microsoft.Network/{kind}?api-version=2025-01-01"
                )
            );
        }
    }
}
