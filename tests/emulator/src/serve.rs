//! The one request handler both listeners run: it tells the sign-in endpoints (Entra token,
//! Azure DevOps OIDC, managed identity) from ARM, applies the ARM pipeline in a fixed order —
//! classification (so even a 401 is logged against its API), bearer check, method (GET
//! everywhere but the PolicyInsights and Resource Graph queries, which are POST only and
//! answer a GET with ARM's 405 `HttpMethodNotSupported`), `api-version`, for Resource Graph
//! the JSON content type and the body, the read bucket, for Resource Graph the user quota,
//! injected faults, seeded chaos, route, paging — and then, for every answer alike, adds the
//! headers ARM always sends, counts the request and appends it to the log. Keeping the
//! pipeline in one function makes its order, and so which error wins when several apply,
//! visible in one place.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::Response;

use crate::arm::{self, Served};
use crate::assertion::IssuedAssertions;
use crate::auth::{self, Principal, Rejection, Tokens};
use crate::chaos::{Answer, ChaosKind, Draw};
use crate::faults::{Fault, FaultState, Options};
use crate::graph_query::{self, GRAPH_API};
use crate::reply::{Reply, Wire};
use crate::route;
use crate::tenant::Tenant;
use crate::{buckets, clock, filter, identity, paging, quota, scope};

/// The API name the token endpoint is logged under; throttle and fail entries with this
/// name apply to sign-in too.
pub const TOKEN_API: &str = "oauth2/v2.0/token";

/// The API name the Azure DevOps OIDC endpoint (`AzurePipelinesCredential`) is logged under.
pub const OIDC_API: &str = "distributedtask/oidctoken";

/// The API name the managed-identity endpoints (App Service and IMDS shapes) are logged under.
pub const IDENTITY_API: &str = "managedidentity/token";

const MAX_FORM_BYTES: usize = 64 * 1024;

const REMAINING_SUBSCRIPTION_READS: &str = "x-ms-ratelimit-remaining-subscription-reads";
const REMAINING_TENANT_READS: &str = "x-ms-ratelimit-remaining-tenant-reads";

/// One served request, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLog {
    pub method: String,
    pub path_and_query: String,
    /// The API the request was classified as: `TOKEN_API`, `OIDC_API`, or an ARM API name
    /// such as `Microsoft.Security/pricings`; `None` for paths ARM would not route.
    pub api: Option<String>,
    pub status: u16,
    /// Who the request acted for: the client ID whose emulator token an ARM request carried,
    /// or the client (service connection name, for the OIDC endpoint) a sign-in endpoint
    /// issued a token to; `static-token-user` for a fixture's static token (what a stand-in
    /// `az` prints). `None` for refused sign-ins and unauthenticated requests.
    pub client: Option<String>,
}

/// State shared by both listeners.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) tenant: Tenant,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) tokens: Tokens,
    /// OIDC tokens the emulated Azure DevOps issued.
    pub(crate) issued: IssuedAssertions,
    /// The `IDENTITY_HEADER` the App Service managed-identity endpoint expects.
    pub(crate) identity_header: String,
    pub(crate) log: Mutex<Vec<RequestLog>>,
    /// `https://127.0.0.1:PORT`, the authority named in 401 challenges.
    pub(crate) https_base: String,
    reads_left: AtomicU64,
}

impl Shared {
    pub(crate) fn new(tenant: Tenant, options: Options, https_base: String) -> Shared {
        let fixed_deny = tenant.denials().to_vec();
        Shared {
            tenant,
            faults: Mutex::new(FaultState::new(options, fixed_deny)),
            tokens: Tokens::default(),
            issued: IssuedAssertions::default(),
            identity_header: crate::random::hex(16),
            log: Mutex::new(Vec::new()),
            https_base,
            reads_left: AtomicU64::new(11_999),
        }
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, Vec<RequestLog>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// ARM's read budget, counting down and never below zero.
    fn next_reads_left(&self) -> u64 {
        self.reads_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            })
            .map_or(0, |n| n.saturating_sub(1))
    }
}

/// Per-listener state: which scheme nextLinks should use.
#[derive(Clone, Debug)]
pub(crate) struct Listener {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scheme: &'static str,
    pub(crate) local: SocketAddr,
}

pub(crate) async fn handle(State(listener): State<Listener>, request: Request) -> Response {
    let method = request.method().to_string();
    let path_and_query = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_string(),
        |p| p.as_str().to_string(),
    );
    let shared = &listener.shared;
    let latency = shared.faults().options.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let bearer_client = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| shared.tokens.check(&shared.tenant, Some(v)).ok())
        .map(|p| p.client_id);
    let (mut reply, api) = respond(&listener, request).await;
    let client = reply.client.take().or(bearer_client);
    let request_id = crate::random::guid();
    reply.headers.push((
        HeaderName::from_static("x-ms-request-id"),
        request_id.clone(),
    ));
    reply.headers.push((
        HeaderName::from_static("x-ms-correlation-request-id"),
        request_id,
    ));
    let counted = reply
        .headers
        .iter()
        .any(|(name, _)| name.as_str().starts_with("x-ms-ratelimit-remaining-"));
    if !counted {
        reply.headers.push((
            HeaderName::from_static(REMAINING_SUBSCRIPTION_READS),
            shared.next_reads_left().to_string(),
        ));
    }
    let status = reply.status.as_u16();
    tracing::debug!(%method, %path_and_query, ?api, status, "served");
    shared.log().push(RequestLog {
        method,
        path_and_query,
        api,
        status,
        client,
    });
    reply.into_response()
}

fn is_token_path(segs: &[&str]) -> bool {
    segs.len() == 4
        && segs[1].eq_ignore_ascii_case("oauth2")
        && segs[2].eq_ignore_ascii_case("v2.0")
        && segs[3].eq_ignore_ascii_case("token")
}

async fn respond(listener: &Listener, request: Request) -> (Reply, Option<String>) {
    let mut granted = Vec::new();
    let (reply, api) = respond_inner(listener, request, &mut granted).await;
    let reply = granted
        .into_iter()
        .fold(reply, |reply, (name, value)| reply.with_header(name, value));
    (reply, api)
}

/// Serves one request; `granted` receives the headers every answer after admission carries:
/// the remaining-reads header of the read bucket the request drew from and, for a Resource
/// Graph query, the user-quota headers.
async fn respond_inner(
    listener: &Listener,
    request: Request,
    granted: &mut Vec<(HeaderName, String)>,
) -> (Reply, Option<String>) {
    let shared = &listener.shared;
    let tenant = &shared.tenant;
    let (parts, body) = request.into_parts();
    let path = scope::percent_decode(parts.uri.path());
    let segs = scope::segments(&path);

    if is_token_path(&segs) {
        let api = Some(TOKEN_API.to_string());
        if parts.method != Method::POST {
            let reply = Reply::entra(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                900_561,
                &format!(
                    "The endpoint only accepts POST requests. Received a {} request.",
                    parts.method
                ),
            );
            return (reply, api);
        }
        let (fault, lifetime) = {
            let mut faults = shared.faults();
            (
                faults.check("/", Some(TOKEN_API), false),
                faults.token_lifetime_secs(),
            )
        };
        if let Some(fault) = fault {
            return (fault_reply(&fault, "/", TOKEN_API, None), api);
        }
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            let reply = Reply::entra(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900_144,
                "The request body could not be read.",
            );
            return (reply, api);
        };
        let audience = format!(
            "{}/{}/oauth2/v2.0/token",
            base_url(listener, &parts),
            segs[0]
        );
        let request = auth::TokenRequest {
            path_tenant: segs[0],
            audience: &audience,
            body: &bytes,
            lifetime_secs: lifetime,
        };
        let reply = auth::token_endpoint(tenant, &shared.tokens, &shared.issued, &request);
        return (reply, api);
    }

    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let raw_query = parts.uri.query().unwrap_or("");
    let query: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };

    if auth::is_oidc_path(&segs) {
        let api = Some(OIDC_API.to_string());
        if parts.method != Method::POST {
            let reply = Reply::arm(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!(
                    "The OIDC token endpoint does not support http method '{}'.",
                    parts.method
                ),
            );
            return (reply, api);
        }
        let fault = shared.faults().check("/", Some(OIDC_API), false);
        if let Some(fault) = fault {
            return (fault_reply(&fault, "/", OIDC_API, None), api);
        }
        return (
            auth::oidc_token(
                tenant,
                &shared.issued,
                &segs,
                authorization,
                param("serviceConnectionId"),
            ),
            api,
        );
    }

    if let Some(shape) = identity::classify(&path) {
        let api = Some(IDENTITY_API.to_string());
        let (fault, lifetime) = {
            let mut faults = shared.faults();
            (
                faults.check("/", Some(IDENTITY_API), false),
                faults.token_lifetime_secs(),
            )
        };
        if let Some(fault) = fault {
            return (fault_reply(&fault, "/", IDENTITY_API, None), api);
        }
        let request = identity::TokenRequest {
            shape,
            is_get: parts.method == Method::GET,
            headers: &parts.headers,
            query: &query,
            identity_header: &shared.identity_header,
            lifetime_secs: lifetime,
        };
        return (identity::token(tenant, &shared.tokens, &request), api);
    }

    let classified = route::classify(tenant, &path);
    let api = classified.api.clone();
    let principal = match shared.tokens.check(tenant, authorization) {
        Ok(p) => p,
        Err(rejection) => {
            let reply = auth::unauthorized(&rejection, &shared.https_base, tenant.tenant_id());
            return (reply, api);
        }
    };
    let is_query = matches!(classified.route, route::Route::PolicyStates { .. });
    let is_graph = classified.route == route::Route::ResourceGraph;
    if (is_query || is_graph) && parts.method != Method::POST {
        // What PolicyInsights answers a GET on `queryResults` (including on its nextLink),
        // and Resource Graph one on its query endpoint.
        let reply = Reply::arm(
            StatusCode::METHOD_NOT_ALLOWED,
            "HttpMethodNotSupported",
            format!(
                "The http method '{}' is not supported for '{}'.",
                parts.method,
                if is_graph {
                    "resources"
                } else {
                    "queryResults"
                }
            ),
        );
        return (reply, api);
    }
    if !is_query && !is_graph && parts.method != Method::GET {
        let reply = Reply::arm(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "The requested resource does not support http method '{}'.",
                parts.method
            ),
        );
        return (reply, api);
    }
    if param("api-version").is_none_or(str::is_empty) {
        let reply = Reply::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
        return (reply, api);
    }
    let graph_body = if is_graph {
        match graph_body(&parts, body).await {
            Ok(bytes) => Some(bytes),
            Err(reply) => return (reply, api),
        }
    } else {
        None
    };

    let bucket = {
        let mut faults = shared.faults();
        match faults.options.read_buckets {
            Some(config) => Some(faults.buckets.draw(
                &config,
                &classified.scope,
                std::time::Instant::now(),
            )),
            None => None,
        }
    };
    let remaining_header = |tenant_level: bool| {
        HeaderName::from_static(if tenant_level {
            REMAINING_TENANT_READS
        } else {
            REMAINING_SUBSCRIPTION_READS
        })
    };
    let remaining = match bucket {
        Some(buckets::Draw::Throttled {
            retry_after_secs,
            tenant_level,
        }) => {
            let reply = fault_reply(
                &Fault::Throttle { retry_after_secs },
                &classified.scope,
                api.as_deref().unwrap_or_default(),
                Some(&principal),
            )
            .with_header(remaining_header(tenant_level), "0");
            return (reply, api);
        }
        Some(buckets::Draw::Served {
            remaining,
            tenant_level,
        }) => Some((remaining_header(tenant_level), remaining.to_string())),
        None => None,
    };
    granted.extend(remaining);
    if is_graph {
        let admission = {
            let mut faults = shared.faults();
            let quota = faults.options.graph_quota;
            quota.map(|q| {
                faults
                    .quota
                    .admit(&q, &principal.client_id, std::time::Instant::now())
            })
        };
        match admission {
            None => {}
            Some(quota::Admission::Admitted {
                remaining,
                resets_after,
            }) => granted.extend(quota_headers(remaining, resets_after)),
            Some(quota::Admission::Refused { resets_after }) => {
                granted.extend(quota_headers(0, resets_after));
                return (graph_throttled(resets_after), api);
            }
        }
    }
    let (fault, page_size, null_next_link, draw, graph_denied) = {
        let mut faults = shared.faults();
        let fault = faults.check(&classified.scope, api.as_deref(), true);
        let chaos = faults.options.chaos.clone();
        // A query's key for seeded faults includes its body: every page, and every query,
        // of Resource Graph goes to the same URL.
        let key = match &graph_body {
            Some(body) => format!(
                "{} {}",
                path_and_query(&parts.uri),
                String::from_utf8_lossy(body)
            ),
            None => path_and_query(&parts.uri),
        };
        let draw = match (fault.is_none(), &chaos, api.as_deref()) {
            (true, Some(chaos), Some(api_name)) => faults.chaos.draw(
                chaos,
                parts.method.as_str(),
                &key,
                api_name,
                if is_graph {
                    Answer::GraphPage
                } else if classified.route.is_list() {
                    Answer::List
                } else {
                    Answer::One
                },
            ),
            _ => None,
        };
        let graph_denied = if is_graph {
            faults.denied_scopes(GRAPH_API)
        } else {
            Vec::new()
        };
        (
            fault,
            faults.options.page_size,
            faults.options.null_next_link,
            draw,
            graph_denied,
        )
    };
    if let (Some(fault), Some(api_name)) = (fault, api.as_deref()) {
        return (
            fault_reply(&fault, &classified.scope, api_name, Some(&principal)),
            api,
        );
    }
    let chaos = draw.map(|Draw { kind, .. }| kind);
    if let Some(kind) = &chaos
        && let Some(reply) = chaos_before_route(
            kind,
            shared,
            authorization,
            &classified.scope,
            api.as_deref().unwrap_or_default(),
            &principal,
        )
        .await
    {
        return (reply, api);
    }
    if let Some(body) = &graph_body {
        let reply = graph_query::answer(tenant, body, &graph_denied, &principal, chaos.as_ref());
        let reply = match &chaos {
            Some(kind) if reply.status == StatusCode::OK => chaos_on_the_wire(kind, reply),
            _ => reply,
        };
        return (reply, api);
    }

    let filter = match param("$filter").map(filter::parse).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(message) => {
            return (
                Reply::bad_request("InvalidFilterInQueryString", message),
                api,
            );
        }
    };
    let offset = match query.iter().find(|(k, _)| paging::is_skiptoken_key(k)) {
        None => 0,
        Some((_, token)) => match paging::decode_token(token) {
            Some(offset) => offset,
            None => {
                let reply = Reply::bad_request(
                    "InvalidSkipToken",
                    format!("The skip token '{token}' is not valid."),
                );
                return (reply, api);
            }
        },
    };

    let now = clock::rfc3339(clock::unix_now());
    let expand_path = param("$expand").is_some_and(|e| {
        e.split(',')
            .any(|part| part.trim().eq_ignore_ascii_case("path"))
    });
    let reply = match arm::execute(tenant, &classified.route, &filter, &now, expand_path) {
        Err(reply) => reply,
        Ok(Served::One(object)) => Reply::ok(object),
        Ok(Served::List(items)) => {
            let (range, next) = paging::page(items.len(), page_size, offset);
            let mut page: Vec<_> = items
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect();
            if chaos == Some(ChaosKind::DuplicateItems)
                && let Some(first) = page.first().cloned()
            {
                page.push(first);
            }
            let base = base_url(listener, &parts);
            let mut next_link =
                next.map(|next| paging::next_link(&base, parts.uri.path(), raw_query, next));
            match &chaos {
                Some(ChaosKind::NextLinkLoop) => {
                    next_link = Some(format!("{base}{}", path_and_query(&parts.uri)));
                }
                Some(ChaosKind::NextLinkForeign) => {
                    next_link = Some(format!(
                        "{}://127.0.0.2:{}{}",
                        listener.scheme,
                        listener.local.port(),
                        path_and_query(&parts.uri)
                    ));
                }
                _ => {}
            }
            if is_query {
                let resource = match &classified.route {
                    route::Route::PolicyStates { resource, .. } => resource.to_ascii_lowercase(),
                    _ => "latest".to_string(),
                };
                let context = format!(
                    "{base}{}/providers/Microsoft.PolicyInsights/policyStates/$metadata#{resource}",
                    classified.scope.trim_end_matches('/')
                );
                Reply::ok(paging::odata_envelope(
                    context,
                    page,
                    next_link,
                    null_next_link,
                ))
            } else {
                Reply::ok(paging::envelope(page, next_link, null_next_link))
            }
        }
    };
    let reply = match &chaos {
        Some(kind) if reply.status == StatusCode::OK => chaos_on_the_wire(kind, reply),
        _ => reply,
    };
    (reply, api)
}

/// The largest Resource Graph request body read: a thousand subscription IDs and a long
/// `id in~ (…)` list fit many times over.
const MAX_GRAPH_BODY: usize = 4 * 1024 * 1024;

/// Reads a Resource Graph query's body, after checking its `Content-Type`. ARG answers any
/// type but JSON with a 500 (Learn, resource-graph troubleshoot/general.md: "Unsupported
/// Content-Type REST header"); the emulator does the same, with a message that says why.
async fn graph_body(
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
) -> Result<Vec<u8>, Reply> {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Reply::arm(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!(
                "Resource Graph accepts only Content-Type: application/json, not '{content_type}' (ARG answers other content types with this 500)."
            ),
        ));
    }
    axum::body::to_bytes(body, MAX_GRAPH_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            Reply::arm(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request body could not be read or exceeds {MAX_GRAPH_BODY} bytes."),
            )
        })
}

const QUOTA_REMAINING: &str = "x-ms-user-quota-remaining";
const QUOTA_RESETS_AFTER: &str = "x-ms-user-quota-resets-after";

fn quota_headers(remaining: u32, resets_after: std::time::Duration) -> [(HeaderName, String); 2] {
    [
        (
            HeaderName::from_static(QUOTA_REMAINING),
            remaining.to_string(),
        ),
        (
            HeaderName::from_static(QUOTA_RESETS_AFTER),
            quota::hh_mm_ss(resets_after),
        ),
    ]
}

/// Resource Graph's 429 for a principal over its quota (ARG's `RateLimiting`).
fn graph_throttled(resets_after: std::time::Duration) -> Reply {
    let message = "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.";
    Reply::json(
        StatusCode::TOO_MANY_REQUESTS,
        serde_json::json!({"error": {"code": "RateLimiting", "message": message, "details": [{"code": "RateLimiting", "message": message}]}}),
    )
    .with_header(
        header::RETRY_AFTER,
        quota::whole_seconds(resets_after).max(1).to_string(),
    )
}

fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// The chaos faults that answer instead of the route (or, for `Slow`, delay it): `None` means
/// serve the route.
async fn chaos_before_route(
    kind: &ChaosKind,
    shared: &Shared,
    authorization: Option<&str>,
    request_scope: &str,
    api: &str,
    principal: &Principal,
) -> Option<Reply> {
    match kind {
        ChaosKind::Throttle { retry_after_ms } => {
            let seconds = retry_after_ms.div_ceil(1000);
            let reply = fault_reply(
                &Fault::Throttle {
                    retry_after_secs: seconds,
                },
                request_scope,
                api,
                Some(principal),
            );
            Some(reply.with_header(
                HeaderName::from_static("retry-after-ms"),
                retry_after_ms.to_string(),
            ))
        }
        ChaosKind::Status(status) => Some(fault_reply(
            &Fault::Fail { status: *status },
            request_scope,
            api,
            Some(principal),
        )),
        ChaosKind::DropBeforeHeaders => {
            Some(Reply::ok(serde_json::Value::Null).with_wire(Wire::Drop))
        }
        ChaosKind::Slow { millis } => {
            tokio::time::sleep(std::time::Duration::from_millis(*millis)).await;
            None
        }
        ChaosKind::RevokeToken | ChaosKind::RotateTokens => {
            if *kind == ChaosKind::RotateTokens {
                shared.tokens.revoke_all();
            } else if let Some((_, token)) = authorization.and_then(|a| a.trim().split_once(' ')) {
                shared.tokens.revoke(token.trim());
            }
            Some(auth::unauthorized(
                &Rejection::Invalid,
                &shared.https_base,
                shared.tenant.tenant_id(),
            ))
        }
        _ => None,
    }
}

/// The chaos faults that damage a 200 on its way out.
fn chaos_on_the_wire(kind: &ChaosKind, reply: Reply) -> Reply {
    match kind {
        ChaosKind::DropMidBody => reply.with_wire(Wire::CutMidBody),
        ChaosKind::TruncatedJson => {
            let json = reply.json_bytes();
            let half = json[..json.len() / 2].to_vec();
            reply.with_wire(Wire::Bytes(half))
        }
        ChaosKind::MalformedJson => reply.with_wire(Wire::Bytes(
            b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
                .to_vec(),
        )),
        ChaosKind::WrongShape(shape) => {
            reply.with_wire(Wire::Bytes(shape.body().as_bytes().to_vec()))
        }
        _ => reply,
    }
}

/// `scheme://host[:port]` as the client addressed this listener (its `Host` header).
fn base_url(listener: &Listener, parts: &axum::http::request::Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| listener.local.to_string());
    format!("{}://{host}", listener.scheme)
}

/// The injected answer. `principal` is absent for the token endpoint, which cannot be
/// denied.
fn fault_reply(
    fault: &Fault,
    request_scope: &str,
    api: &str,
    principal: Option<&Principal>,
) -> Reply {
    match fault {
        Fault::Deny => {
            let (client, object) = principal.map_or(("unknown", "unknown"), |p| {
                (p.client_id.as_str(), p.object_id.as_str())
            });
            Reply::arm(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client '{client}' with object id '{object}' does not have authorization to perform action '{api}/read' over scope '{request_scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
                ),
            )
        }
        Fault::Throttle { retry_after_secs } => {
            let subscription = scope::subscription_of(&scope::normalize(request_scope))
                .unwrap_or("tenant")
                .to_string();
            let actor = principal.map_or("unknown", |p| p.object_id.as_str());
            Reply::arm(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of 'read' requests for subscription '{subscription}' actor '{actor}' exceeded. Please try again after '{retry_after_secs}' seconds after the last request."
                ),
            )
            .with_header(header::RETRY_AFTER, retry_after_secs.to_string())
        }
        Fault::Fail { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = match status {
                StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
                StatusCode::BAD_GATEWAY => "BadGateway",
                StatusCode::GATEWAY_TIMEOUT => "GatewayTimeout",
                _ => "InternalServerError",
            };
            Reply::arm(
                status,
                code,
                format!("The service failed to process the request for '{api}' (injected fault)."),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_replies_have_arm_shapes() {
        let p = Principal {
            client_id: "app".into(),
            object_id: "oid".into(),
        };
        let deny = fault_reply(
            &Fault::Deny,
            "/subscriptions/s",
            "Microsoft.Security/pricings",
            Some(&p),
        );
        assert_eq!(deny.status, StatusCode::FORBIDDEN);
        assert_eq!(
            deny.body["error"]["message"],
            "The client 'app' with object id 'oid' does not have authorization to perform action 'Microsoft.Security/pricings/read' over scope '/subscriptions/s' or the scope is invalid. If access was recently granted, please refresh your credentials."
        );
        let throttle = fault_reply(
            &Fault::Throttle {
                retry_after_secs: 3,
            },
            "/subscriptions/s",
            "x",
            Some(&p),
        );
        assert_eq!(throttle.code(), Some("SubscriptionRequestsThrottled"));
        assert_eq!(
            throttle.headers,
            vec![(header::RETRY_AFTER, "3".to_string())]
        );
        let fail = fault_reply(&Fault::Fail { status: 503 }, "/", "x", None);
        assert_eq!(
            (fail.status.as_u16(), fail.code()),
            (503, Some("ServiceUnavailable"))
        );
        let odd = fault_reply(&Fault::Fail { status: 42 }, "/", "x", None);
        assert_eq!(odd.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn token_path_shape() {
        assert!(is_token_path(&["t", "oauth2", "v2.0", "token"]));
        assert!(is_token_path(&["t", "OAuth2", "V2.0", "TOKEN"]));
        assert!(!is_token_path(&["t", "oauth2", "token"]));
    }
}
