//! Managed-identity token endpoints, in the two shapes azure_identity 1.0's
//! `ManagedIdentityCredential` calls:
//!
//! - **App Service** (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` in the environment):
//!   `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R[&client_id=|object_id=|mi_res_id=]`
//!   with `X-IDENTITY-HEADER: {IDENTITY_HEADER}`, answered
//!   `{"access_token","expires_on":"<unix seconds>","resource","token_type","client_id"}`.
//!   Served at [`APP_SERVICE_PATH`]; the header's value is per emulator instance
//!   (`Emulator::identity_header`).
//! - **IMDS** (the VM credential, which azure_identity always sends to
//!   `http://169.254.169.254/metadata/identity/oauth2/token`):
//!   `GET /metadata/identity/oauth2/token?api-version=…&resource=R[&client_id=…]` with
//!   `Metadata: true`, answered with IMDS' all-strings body (`expires_in`, `expires_on`,
//!   `not_before` …). Served at [`IMDS_PATH`], for a client that can be pointed here.
//!
//! The identity is the fixture's system-assigned one, or the user-assigned one the query
//! names by `client_id` (or `object_id`, derived from the client ID as everywhere in the
//! emulator); the access token is an ordinary emulator token for that client ID, so ARM
//! accepts it and names it in denials and the request log.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::auth::Tokens;
use crate::directory::ManagedIdentity;
use crate::reply::Reply;
use crate::tenant::Tenant;
use crate::{clock, random};

/// Where the App Service-shaped endpoint is served (`Emulator::identity_endpoint`).
pub const APP_SERVICE_PATH: &str = "/msi/token";
/// Where the IMDS-shaped endpoint is served (the path of IMDS itself).
pub const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// The API version azure_identity's App Service credential sends (the only one served).
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    AppService,
    Imds,
}

pub(crate) fn classify(path: &str) -> Option<Shape> {
    let path = path.trim_end_matches('/');
    if path.eq_ignore_ascii_case(APP_SERVICE_PATH) {
        Some(Shape::AppService)
    } else if path.eq_ignore_ascii_case(IMDS_PATH) {
        Some(Shape::Imds)
    } else {
        None
    }
}

/// What the endpoint needs from the request.
pub(crate) struct TokenRequest<'a> {
    pub(crate) shape: Shape,
    pub(crate) is_get: bool,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: &'a [(String, String)],
    /// The per-instance `IDENTITY_HEADER` value.
    pub(crate) identity_header: &'a str,
    pub(crate) lifetime_secs: u64,
}

fn app_service_error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"statusCode": status.as_u16(), "message": message, "correlationId": random::guid()}),
    )
}

fn imds_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn token(tenant: &Tenant, tokens: &Tokens, request: &TokenRequest<'_>) -> Reply {
    let param = |name: &str| {
        request
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let shape = request.shape;
    let fail = |status: StatusCode, message: &str| match shape {
        Shape::AppService => app_service_error(status, message),
        Shape::Imds => imds_error(status, "invalid_request", message),
    };
    if !request.is_get {
        return fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "The managed identity endpoint accepts GET only.",
        );
    }
    match shape {
        Shape::AppService => {
            if header("x-identity-header") != Some(request.identity_header) {
                return fail(
                    StatusCode::UNAUTHORIZED,
                    "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
                );
            }
            if param("api-version") != Some(APP_SERVICE_API_VERSION) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    &format!("Only api-version {APP_SERVICE_API_VERSION} is supported."),
                );
            }
        }
        Shape::Imds => {
            if !header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Required metadata header not specified",
                );
            }
            if header("x-forwarded-for").is_some() {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Request contains X-Forwarded-For header",
                );
            }
            if param("api-version").is_none() {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Required query variable 'api-version' is missing",
                );
            }
        }
    }
    let Some(resource) = param("resource") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "Required query variable 'resource' is missing",
        );
    };
    let identities = tenant.managed_identities();
    let chosen: Option<&ManagedIdentity> = if let Some(id) = param("client_id") {
        identities
            .iter()
            .find(|m| m.client_id.eq_ignore_ascii_case(id))
    } else if let Some(id) = param("object_id") {
        identities
            .iter()
            .find(|m| random::guid_from(&m.client_id.to_ascii_lowercase()).eq_ignore_ascii_case(id))
    } else if param("mi_res_id").or(param("msi_res_id")).is_some() {
        // The fixture names identities by client ID only.
        None
    } else {
        identities.iter().find(|m| m.system_assigned)
    };
    let Some(identity) = chosen else {
        return match shape {
            Shape::AppService => fail(
                StatusCode::BAD_REQUEST,
                "No managed identity found for specified ClientId/ResourceId/PrincipalId.",
            ),
            Shape::Imds => fail(StatusCode::BAD_REQUEST, "Identity not found"),
        };
    };
    let lifetime = request.lifetime_secs;
    let access_token = tokens.issue(&identity.client_id, lifetime);
    let now = clock::unix_now();
    let body = match shape {
        Shape::AppService => json!({
            "access_token": access_token,
            "expires_on": (now + lifetime).to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }),
        Shape::Imds => json!({
            "access_token": access_token,
            "client_id": identity.client_id,
            "expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime).to_string(),
            "ext_expires_in": lifetime.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    Reply::ok(body).issued_to(identity.client_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn tenant() -> Tenant {
        Tenant::from_json(
            r#"{"tenant_id": "T1", "managed_identities": [{"client_id": "sys", "system_assigned": true}, {"client_id": "user"}]}"#,
        )
        .expect("fixture")
    }

    fn ask(shape: Shape, headers: &[(&'static str, &str)], query: &[(&str, &str)]) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        token(
            &tenant(),
            &Tokens::default(),
            &TokenRequest {
                shape,
                is_get: true,
                headers: &map,
                query: &query,
                identity_header: "hdr",
                lifetime_secs: 60,
            },
        )
    }

    const ARM: (&str, &str) = ("resource", "https://management.azure.com");

    #[test]
    fn app_service_shape() {
        let v = ("api-version", APP_SERVICE_API_VERSION);
        let ok = ask(
            Shape::AppService,
            &[("x-identity-header", "hdr")],
            &[v, ARM],
        );
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.client.as_deref(), Some("sys"));
        assert!(
            ok.body["expires_on"]
                .as_str()
                .is_some_and(|s| s.parse::<u64>().is_ok())
        );
        assert_eq!(ok.body["resource"], "https://management.azure.com");
        let user = ask(
            Shape::AppService,
            &[("x-identity-header", "hdr")],
            &[v, ARM, ("client_id", "USER")],
        );
        assert_eq!(user.client.as_deref(), Some("user"));
        let by_object = ask(
            Shape::AppService,
            &[("x-identity-header", "hdr")],
            &[v, ARM, ("object_id", &random::guid_from("user"))],
        );
        assert_eq!(by_object.client.as_deref(), Some("user"));
        let status =
            |h: &[(&'static str, &str)], q: &[(&str, &str)]| ask(Shape::AppService, h, q).status;
        assert_eq!(
            status(&[("x-identity-header", "no")], &[v, ARM]),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status(&[], &[v, ARM]), StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(
                &[("x-identity-header", "hdr")],
                &[v, ARM, ("client_id", "nobody")]
            ),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(
                &[("x-identity-header", "hdr")],
                &[("api-version", "2017-09-01"), ARM]
            ),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(&[("x-identity-header", "hdr")], &[v]),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn imds_shape() {
        let v = ("api-version", "2019-08-01");
        let ok = ask(Shape::Imds, &[("metadata", "true")], &[v, ARM]);
        assert_eq!(ok.status, StatusCode::OK);
        assert!(ok.body["expires_in"].is_string() && ok.body["not_before"].is_string());
        let missing = ask(Shape::Imds, &[], &[v, ARM]);
        assert_eq!(
            missing.body["error_description"],
            "Required metadata header not specified"
        );
        let proxied = ask(
            Shape::Imds,
            &[("metadata", "true"), ("x-forwarded-for", "10.0.0.1")],
            &[v, ARM],
        );
        assert_eq!(proxied.status, StatusCode::BAD_REQUEST);
        let unknown = ask(
            Shape::Imds,
            &[("metadata", "true")],
            &[v, ARM, ("client_id", "x")],
        );
        assert_eq!(unknown.body["error_description"], "Identity not found");
        assert_eq!(classify("/MSI/token/"), Some(Shape::AppService));
        assert_eq!(classify(IMDS_PATH), Some(Shape::Imds));
        assert_eq!(classify("/subscriptions"), None);
    }
}
