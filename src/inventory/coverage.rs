//! Coverage: what collection attempted and how each attempt ended.
//!
//! Every ARM call the collector makes is recorded as a `Read` of one scope × API. Checks use
//! `read_state` to tell "the list is empty" (read succeeded) from "the list was never read"
//! (denied, failed, or not collected at all): the latter becomes `unknown`, naming the cause.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::arm::eq_ci;

/// API names used in coverage entries. They name the ARM resource type (or child collection)
/// read, so a reader of the report can map a gap to the RBAC action it needs (`{api}/read`).
pub mod api {
    pub const SUBSCRIPTIONS: &str = "Microsoft.Resources/subscriptions";
    pub const MG_DESCENDANTS: &str = "Microsoft.Management/managementGroups/descendants";
    pub const MANAGEMENT_GROUPS: &str = "Microsoft.Management/managementGroups";
    pub const CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
    pub const REGISTRIES: &str = "Microsoft.ContainerRegistry/registries";
    pub const REGISTRY_PE_CONNECTIONS: &str =
        "Microsoft.ContainerRegistry/registries/privateEndpointConnections";
    pub const REGISTRY_TOKENS: &str = "Microsoft.ContainerRegistry/registries/tokens";
    pub const VIRTUAL_MACHINES: &str = "Microsoft.Compute/virtualMachines";
    pub const SCALE_SETS: &str = "Microsoft.Compute/virtualMachineScaleSets";
    pub const ARC_MACHINES: &str = "Microsoft.HybridCompute/machines";
    pub const PRICINGS: &str = "Microsoft.Security/pricings";
    pub const POLICY_ASSIGNMENTS: &str = "Microsoft.Authorization/policyAssignments";
    pub const POLICY_EXEMPTIONS: &str = "Microsoft.Authorization/policyExemptions";
    pub const POLICY_DEFINITIONS: &str = "Microsoft.Authorization/policyDefinitions";
    pub const POLICY_SET_DEFINITIONS: &str = "Microsoft.Authorization/policySetDefinitions";
    pub const ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
    pub const PRIVATE_ENDPOINTS: &str = "Microsoft.Network/privateEndpoints";
    pub const PRIVATE_DNS_ZONE_GROUPS: &str =
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups";
    pub const PRIVATE_DNS_ZONES: &str = "Microsoft.Network/privateDnsZones";
    pub const PRIVATE_DNS_ZONE_LINKS: &str =
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
    pub const VIRTUAL_NETWORKS: &str = "Microsoft.Network/virtualNetworks";
    pub const ROUTE_TABLES: &str = "Microsoft.Network/routeTables";
    pub const NETWORK_SECURITY_GROUPS: &str = "Microsoft.Network/networkSecurityGroups";
    pub const DIAGNOSTIC_SETTINGS: &str = "Microsoft.Insights/diagnosticSettings";
    pub const ASSESSMENTS: &str = "Microsoft.Security/assessments";
    /// The tenant-level list of built-in assessment metadata (display name, severity …), read
    /// once per run at [`crate::inventory::views::ASSESSMENT_METADATA_SCOPE`].
    pub const ASSESSMENT_METADATA: &str = "Microsoft.Security/assessmentMetadata";
    pub const POLICY_STATES: &str = "Microsoft.PolicyInsights/policyStates";
    pub const KUBERNETES_VERSIONS: &str = "Microsoft.ContainerService/locations/kubernetesVersions";
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ReadStatus {
    /// Read completely (every page).
    Ok,
    /// 401/403: the identity may not read this.
    Denied,
    /// 404: the scope or object no longer exists, or was never there.
    NotFound,
    /// Anything else: 5xx or 429 after every retry, a timeout, a transport error, a bad body.
    Failed,
}

impl fmt::Display for ReadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadStatus::Ok => "ok",
            ReadStatus::Denied => "denied",
            ReadStatus::NotFound => "not_found",
            ReadStatus::Failed => "failed",
        })
    }
}

/// One scope × API that collection attempted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Read {
    pub scope: String,
    pub api: String,
    pub status: ReadStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// ARM's `error.code`, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Which service answered: [`SOURCE_ARM`] or [`SOURCE_ARG`]. Absent in collections made
    /// over ARM alone (and in snapshots older than Resource Graph): there it is ARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The api-version of the call that answered, where known: for Resource Graph, the query
    /// API's (the resource provider's version behind a row is not exposed per row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

/// `Read::source` of a read answered by ARM REST.
pub const SOURCE_ARM: &str = "arm";
/// `Read::source` of a read answered by Azure Resource Graph.
pub const SOURCE_ARG: &str = "arg";

impl Read {
    pub fn ok(scope: &str, api: &str) -> Self {
        Read {
            scope: scope.to_string(),
            api: api.to_string(),
            status: ReadStatus::Ok,
            http_status: None,
            code: None,
            message: None,
            source: None,
            api_version: None,
        }
    }

    /// The same read, marked as answered by `source` (at `api_version`, when known).
    pub fn from_source(mut self, source: &str, api_version: Option<&str>) -> Self {
        self.source = Some(source.to_string());
        self.api_version = api_version.map(str::to_string);
        self
    }

    /// The read named briefly, for findings: API, scope and status with the HTTP status and
    /// code, without ARM's whole message. One denied read can leave dozens of findings
    /// `unknown`, and ARM's 403 text is several hundred characters naming the client and the
    /// action: repeated in each finding it buries the verdicts, so the report's coverage
    /// section carries it, once per read, and findings point there.
    pub fn describe_brief(&self) -> String {
        let mut out = format!("{} at {}: {}", self.api, self.scope, self.status);
        if let Some(status) = self.http_status {
            out.push_str(&format!(" (HTTP {status}"));
            if let Some(code) = &self.code {
                out.push_str(&format!(" {code}"));
            }
            out.push(')');
        }
        out
    }

    /// The read with ARM's whole message, for the places that list each gap once: the
    /// report's coverage section and the logs. Findings use [`Read::describe_brief`].
    pub fn describe(&self) -> String {
        let mut out = self.describe_brief();
        if let Some(message) = &self.message {
            out.push_str(": ");
            out.push_str(message);
        }
        out
    }
}

/// Whether the data of one scope × API can be trusted.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadState<'a> {
    /// Read successfully: an empty list really is empty.
    Ok,
    /// Attempted and failed.
    Failed(&'a Read),
    /// Never attempted (not needed by the checks selected at collection time, or out of scope).
    NotCollected,
}

impl ReadState<'_> {
    pub fn is_ok(&self) -> bool {
        matches!(self, ReadState::Ok)
    }

    /// Why the data is missing, phrased for a finding's message; `None` when it is not missing.
    /// A failed read is named briefly ([`Read::describe_brief`]): ARM's own text belongs to the
    /// report's coverage section, which lists each failed read once.
    pub fn missing_reason(&self, scope: &str, api: &str) -> Option<String> {
        match self {
            ReadState::Ok => None,
            ReadState::Failed(read) => Some(format!("could not read {}", read.describe_brief())),
            ReadState::NotCollected => Some(format!("{api} at {scope} was not collected")),
        }
    }
}

/// Looks up the outcome of `scope` × `api`. When several reads exist (a retried collection),
/// any failure wins: partial data must not pass for complete.
pub fn read_state<'a>(reads: &'a [Read], scope: &str, api: &str) -> ReadState<'a> {
    let mut state = ReadState::NotCollected;
    for read in reads.iter().filter(|r| {
        eq_ci(&r.api, api) && eq_ci(r.scope.trim_end_matches('/'), scope.trim_end_matches('/'))
    }) {
        if read.status != ReadStatus::Ok {
            return ReadState::Failed(read);
        }
        state = ReadState::Ok;
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_wins_and_absence_is_not_ok() {
        let mut denied = Read::ok("/subscriptions/A", api::PRICINGS);
        denied.status = ReadStatus::Denied;
        denied.http_status = Some(403);
        denied.code = Some("AuthorizationFailed".into());
        let reads = vec![Read::ok("/subscriptions/a", api::PRICINGS), denied];
        assert!(matches!(
            read_state(&reads, "/subscriptions/a", api::PRICINGS),
            ReadState::Failed(_)
        ));
        assert_eq!(
            read_state(&reads, "/subscriptions/b", api::PRICINGS),
            ReadState::NotCollected
        );
        let reason = read_state(&reads, "/subscriptions/a", api::PRICINGS)
            .missing_reason("/subscriptions/a", api::PRICINGS)
            .unwrap();
        assert!(
            reason.contains("403") && reason.contains("AuthorizationFailed"),
            "{reason}"
        );
    }

    #[test]
    fn a_missing_reason_names_the_read_without_arms_message() {
        let mut denied = Read::ok("/subscriptions/a", api::PRICINGS);
        denied.status = ReadStatus::Denied;
        denied.http_status = Some(403);
        denied.code = Some("AuthorizationFailed".into());
        denied.message = Some("The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.Security/pricings/read' over scope '/subscriptions/a'.".into());
        let reads = [denied];
        let reason = read_state(&reads, "/subscriptions/a", api::PRICINGS)
            .missing_reason("/subscriptions/a", api::PRICINGS)
            .unwrap();
        assert_eq!(
            reason,
            "could not read Microsoft.Security/pricings at /subscriptions/a: denied (HTTP 403 AuthorizationFailed)"
        );
        // The coverage section's text still carries it.
        assert!(
            reads[0]
                .describe()
                .ends_with("over scope '/subscriptions/a'.")
        );
    }
}
