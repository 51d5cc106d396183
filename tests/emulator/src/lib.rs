//! A loopback ARM / Entra ID / Resource Graph emulator that serves one fixture tenant to
//! lzaudit's tests over real HTTP and HTTPS on `127.0.0.1`, so the auditor's real sign-in,
//! paging, retry and coverage code runs end to end without reaching Azure.
//!
//! Start it with [`Emulator::start`] (async) or [`Emulator::start_in_thread`] (from a plain
//! `#[test]`), point the auditor's ARM base URL at [`Emulator::http_url`] or
//! [`Emulator::https_url`] and its authority host at `https_url`, and trust
//! [`Emulator::ca_pem`]. The tenant comes from a JSON fixture ([`Tenant::from_json`]):
//! `tenant_id`, `management_groups` (`name`, `display_name`, `parent`; the Tenant Root Group
//! named after the tenant ID is implicit), `subscriptions` (`management_group` and the
//! `subscription` object exactly as `GET /subscriptions/{id}` returns it), `resources` (any
//! ARM objects with `id` and `type`, served verbatim), `clients` (`client_id`,
//! `client_secret`, `certificates`, `federated_credentials`), `static_tokens`, optionally
//! `deny` (`scope`, `api`: reads the principal lacks in this tenant, answered 403 whatever the
//! [`Options`]), `azure_devops` (organisation, project and service connections) and
//! `managed_identities` — the sign-in keys are described in `directory.rs`.
//! [`Tenant::generate`] builds a large tenant of the same format from a seeded [`Spec`]
//! (an ALZ tree with N landing-zone subscriptions; see the `generate` module).
//!
//! Served: the v2 client-credentials token endpoint (a client secret, or a client assertion:
//! signed by a registered certificate, checked by `x5t` and RS256 signature, or federated,
//! checked against the client's federated credentials); the Azure DevOps OIDC endpoint
//! `AzurePipelinesCredential` gets its assertion from ([`Emulator::pipelines_oidc_url`]); the
//! managed-identity token endpoint in App Service shape ([`Emulator::identity_endpoint`] with
//! [`Emulator::identity_header`]) and in IMDS shape ([`Emulator::imds_endpoint`]);
//! `GET /subscriptions[/{id}]`; management groups (list, one, descendants); policy
//! assignments, policy exemptions and role assignments at any scope with `atScope()`
//! inheritance through the management-group chain; resource-type lists per subscription or
//! resource group; child and extension collections of any stored object (private DNS zone
//! groups and virtual network links, diagnostic settings, Defender assessments …); any stored
//! object by ID; a location's supported Kubernetes versions
//! (`/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/kubernetesVersions`,
//! stored either at that ID or once at `/providers/Microsoft.ContainerService/locations/{loc}/
//! kubernetesVersions` for every subscription); and PolicyInsights'
//! `POST {scope}/providers/Microsoft.PolicyInsights/policyStates/{latest|default}/queryResults`,
//! which answers with the stored `Microsoft.PolicyInsights/policyStates` records whose
//! `resourceId` lies at or below the scope and passes `$filter` (`field eq value` on the
//! record's own fields), in OData's envelope paged by `@odata.nextLink` — to be POSTed again,
//! as the real service refuses GET there with 405 `HttpMethodNotSupported`. (Stored records
//! carry the `id` and `type` every fixture object needs; the real service sends neither.)
//! Matching is case-insensitive; bodies are never rewritten. ARM lists page with absolute
//! `nextLink`s.
//!
//! Resource Graph is served over the same tenant: `POST /providers/Microsoft.ResourceGraph/
//! resources` (any `api-version`; `Content-Type: application/json`, as ARG insists) with a
//! `QueryRequest` answers a `QueryResponse` of objects. Its tables — `resources`,
//! `resourcecontainers`, `policyresources`, `authorizationresources`, `securityresources` —
//! are the stored ARM objects adapted to ARG's rows (lower-cased `type`; subscription and
//! management-group rows with their ancestor chains; policy states under `properties`;
//! assessments with their metadata; registries with their private endpoint connections;
//! what ARG does not hold, such as diagnostic settings or registry tokens, left out), built
//! once, on the first query ([`Tenant::resource_graph_rows`]). Queries are a KQL subset
//! (the grammar is in the `kql` module; anything else is a 400 `BadRequest` whose
//! `details` say `InvalidQuery` and name the construct); scopes are `subscriptions[]`
//! (at most 1,000), `managementGroups[]` or the whole tenant, with
//! `authorizationScopeFilter` for assignments, exemptions and definitions; pages hold at most
//! `$top` (≤ 1,000) rows and continue by `$skipToken` with the same query and scope. A
//! `deny` with api [`GRAPH_API`] at a subscription (or group) silently leaves its rows out,
//! as ARG leaves out what the caller cannot read; when nothing requested is readable the
//! answer is 403. The per-user quota ([`GraphQuota`], 15 queries per 5 seconds by default;
//! every page counts) sends `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after`
//! and answers 429 with `Retry-After` when spent. Queries share the ARM pipeline below:
//! bearer check, the tenant read bucket, faults and seeded chaos, the request log.
//! [`Options`] injects 403s per scope and API, 429s with
//! `Retry-After`, 5xx, and short token lifetimes; every request is counted and logged, with
//! the client it acted for. [`ClientCertificate`] makes a throw-away client certificate for a
//! test to register with [`Tenant::add_client_certificate`].

mod arm;
mod assertion;
mod auth;
mod buckets;
mod certificate;
mod chaos;
mod clock;
mod directory;
mod faults;
mod filter;
pub mod generate;
mod graph;
mod graph_query;
mod identity;
mod jwt;
mod kql;
mod paging;
mod quota;
mod random;
mod reply;
mod route;
mod scope;
mod serve;
mod server;
mod tenant;
mod tls;

pub use buckets::{BucketMode, ReadBuckets};
pub use certificate::ClientCertificate;
pub use chaos::{Chaos, ChaosKind, Shape};
pub use directory::{
    AzureDevOps, Client, FederatedCredential, ManagedIdentity, ServiceConnection,
    TOKEN_EXCHANGE_AUDIENCE,
};
pub use faults::{Deny, Fail, Options, Throttle};
pub use generate::Spec;
pub use graph_query::GRAPH_API;
pub use quota::GraphQuota;
pub use serve::{IDENTITY_API, OIDC_API, RequestLog, TOKEN_API};
pub use server::Emulator;
pub use tenant::Tenant;
