//! Sign-in: the Entra v2 client-credentials token endpoint and the bearer check in front of
//! every ARM route. Tokens are random strings remembered with their expiry (nothing is
//! signed: only this emulator ever reads them), so a test can make them expire by setting a
//! short lifetime. Errors mimic Entra's AADSTS bodies and ARM's 401 envelope plus
//! `WWW-Authenticate` header, because the credential libraries and the auditor's sign-in
//! diagnostics parse exactly those. The Azure DevOps OIDC endpoint that
//! `AzurePipelinesCredential` calls for its federated assertion is here too, since it is the
//! first half of that credential's sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::reply::Reply;
use crate::tenant::Tenant;
use crate::{clock, random};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client a denial message names for requests made with a static token.
const STATIC_CLIENT: &str = "static-token-user";

/// Who a valid token belongs to, for `AuthorizationFailed` messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) client_id: String,
    pub(crate) object_id: String,
}

impl Principal {
    fn new(client_id: &str) -> Principal {
        Principal {
            client_id: client_id.to_string(),
            object_id: random::guid_from(&client_id.to_ascii_lowercase()),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    Missing,
    Invalid,
    Expired { expired_at: u64 },
}

#[derive(Clone, Debug)]
struct Issued {
    client_id: String,
    expires: SystemTime,
}

/// Tokens issued by this emulator instance.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, Issued>>,
}

impl Tokens {
    fn issue(&self, client_id: &str, lifetime_secs: u64) -> String {
        let token = format!("emu-{}", random::hex(32));
        let issued = Issued {
            client_id: client_id.to_string(),
            expires: SystemTime::now() + Duration::from_secs(lifetime_secs),
        };
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token.clone(), issued);
        token
    }

    /// Revokes one issued token (static tokens cannot be revoked); the next request with it
    /// gets 401 `InvalidAuthenticationToken`.
    pub(crate) fn revoke(&self, token: &str) {
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token);
    }

    /// Revokes every token issued so far, as a signing-key rotation would.
    pub(crate) fn revoke_all(&self) {
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Checks an `Authorization` header value.
    pub(crate) fn check(
        &self,
        tenant: &Tenant,
        authorization: Option<&str>,
    ) -> Result<Principal, Rejection> {
        let value = authorization.ok_or(Rejection::Missing)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(Rejection::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Rejection::Missing);
        }
        let token = token.trim();
        if tenant.static_tokens().iter().any(|t| t == token) {
            return Ok(Principal::new(STATIC_CLIENT));
        }
        let issued = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            .cloned()
            .ok_or(Rejection::Invalid)?;
        if SystemTime::now() >= issued.expires {
            return Err(Rejection::Expired {
                expired_at: clock::to_unix(issued.expires),
            });
        }
        Ok(Principal::new(&issued.client_id))
    }
}

/// The 401 for a rejected bearer token. `authority` is the HTTPS base URL, so the
/// challenge's `authorization_uri` points at this emulator's token endpoint.
pub(crate) fn unauthorized(rejection: &Rejection, authority: &str, tenant_id: &str) -> Reply {
    let (code, message, description) = match rejection {
        Rejection::Missing => (
            "InvalidAuthenticationToken",
            "The 'Authorization' header is missing or is not a Bearer token.".to_string(),
            "The access token is missing.",
        ),
        Rejection::Invalid => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
            "The access token is invalid.",
        ),
        Rejection::Expired { expired_at } => (
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                clock::rfc3339(*expired_at),
                clock::rfc3339(clock::unix_now())
            ),
            "The access token has expired.",
        ),
    };
    Reply::arm(StatusCode::UNAUTHORIZED, code, message).with_header(
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer authorization_uri=\"{authority}/{tenant_id}\", error=\"invalid_token\", error_description=\"{description}\""
        ),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token` with a form body.
pub(crate) fn token_endpoint(
    tenant: &Tenant,
    tokens: &Tokens,
    path_tenant: &str,
    body: &[u8],
    lifetime_secs: u64,
) -> Reply {
    if !path_tenant.eq_ignore_ascii_case(tenant.tenant_id()) {
        return Reply::entra(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{path_tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let missing = |name: &str| {
        Reply::entra(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let Some(grant_type) = field("grant_type") else {
        return missing("grant_type");
    };
    if grant_type != "client_credentials" {
        return Reply::entra(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return missing("client_id");
    };
    if field("scope").is_none() {
        return missing("scope");
    }
    let Some(client) = tenant
        .clients()
        .iter()
        .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    else {
        return Reply::entra(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                tenant.tenant_id()
            ),
        );
    };
    if let Some(assertion_type) = form.get("client_assertion_type") {
        if assertion_type != JWT_BEARER || field("client_assertion").is_none() {
            return Reply::entra(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            );
        }
    } else if let Some(secret) = form.get("client_secret") {
        if client.client_secret.as_deref() != Some(secret.as_str()) {
            return Reply::entra(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    } else {
        return missing("client_assertion' or 'client_secret");
    }
    let token = tokens.issue(&client.client_id, lifetime_secs);
    Reply::ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime_secs,
        "ext_expires_in": lifetime_secs,
        "access_token": token,
    }))
}

/// Whether a path is Azure DevOps' `.../_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken`
/// (any organisation and project prefix).
pub(crate) fn is_oidc_path(segs: &[&str]) -> bool {
    let n = segs.len();
    n >= 9
        && segs[n - 9].eq_ignore_ascii_case("_apis")
        && segs[n - 1].eq_ignore_ascii_case("oidctoken")
        && segs[n - 3].eq_ignore_ascii_case("jobs")
        && segs[n - 5].eq_ignore_ascii_case("plans")
        && segs[n - 6].eq_ignore_ascii_case("build")
        && segs[n - 7].eq_ignore_ascii_case("hubs")
        && segs[n - 8].eq_ignore_ascii_case("distributedtask")
        && segs
            .get(n.wrapping_sub(9))
            .is_some_and(|s| s.eq_ignore_ascii_case("_apis"))
}

/// `POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=...` with the job's
/// `System.AccessToken` as bearer: answers a JWT-shaped assertion that the token endpoint
/// accepts for any known client. Any non-empty bearer is accepted, as the emulator does not
/// model Azure DevOps identities.
pub(crate) fn oidc_token(
    authorization: Option<&str>,
    service_connection_id: Option<&str>,
) -> Reply {
    let bearer = authorization
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        });
    if bearer.is_none() {
        return Reply {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"message": "TF400813: The user '' is not authorized to access this resource.", "typeKey": "UnauthorizedRequestException"}),
            headers: Vec::new(),
            wire: Default::default(),
        };
    }
    if service_connection_id.is_none_or(str::is_empty) {
        return Reply {
            status: StatusCode::BAD_REQUEST,
            body: json!({"message": "The serviceConnectionId query parameter is required.", "typeKey": "InvalidRequestException"}),
            headers: Vec::new(),
            wire: Default::default(),
        };
    }
    // {"alg":"RS256","typ":"JWT"} . {"iss":"https://vstoken.dev.azure.com/emulator","sub":"sc://emulator"} . random
    let assertion = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3ZzdG9rZW4uZGV2LmF6dXJlLmNvbS9lbXVsYXRvciIsInN1YiI6InNjOi8vZW11bGF0b3IifQ.{}",
        random::hex(32)
    );
    Reply::ok(json!({"oidcToken": assertion}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant::from_json(
            r#"{"tenant_id": "T1", "clients": [{"client_id": "app", "client_secret": "s3cret"}, {"client_id": "fed"}],
                "static_tokens": ["static-1"]}"#,
        )
        .expect("fixture")
    }

    fn code(reply: &Reply) -> i64 {
        reply.body["error_codes"][0].as_i64().unwrap_or(0)
    }

    #[test]
    fn secret_and_assertion_grants() {
        let (t, tokens) = (tenant(), Tokens::default());
        let ok = token_endpoint(
            &t,
            &tokens,
            "t1",
            b"grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=x%2F.default",
            60,
        );
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.body["expires_in"], 60);
        let token = ok.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(token.starts_with("emu-") && token.len() > 40);
        assert_eq!(
            tokens
                .check(&t, Some(&format!("Bearer {token}")))
                .map(|p| p.client_id),
            Ok("app".to_string())
        );
        let body = format!(
            "grant_type=client_credentials&client_id=fed&scope=s&client_assertion_type={}&client_assertion=eyJ.x.y",
            JWT_BEARER.replace(':', "%3A")
        );
        assert_eq!(
            token_endpoint(&t, &tokens, "T1", body.as_bytes(), 60).status,
            StatusCode::OK
        );
    }

    #[test]
    fn grant_errors_carry_aadsts_codes() {
        let (t, tokens) = (tenant(), Tokens::default());
        let wrong = token_endpoint(
            &t,
            &tokens,
            "T1",
            b"grant_type=client_credentials&client_id=app&client_secret=no&scope=s",
            60,
        );
        assert_eq!(
            (wrong.status, code(&wrong)),
            (StatusCode::UNAUTHORIZED, 7_000_215)
        );
        assert_eq!(wrong.body["error"], "invalid_client");
        let unknown = token_endpoint(
            &t,
            &tokens,
            "T1",
            b"grant_type=client_credentials&client_id=zzz&client_secret=no&scope=s",
            60,
        );
        assert_eq!(
            (unknown.status, code(&unknown)),
            (StatusCode::BAD_REQUEST, 700_016)
        );
        let tenant_wrong = token_endpoint(&t, &tokens, "other", b"", 60);
        assert_eq!(code(&tenant_wrong), 90002);
        let no_secret = token_endpoint(
            &t,
            &tokens,
            "T1",
            b"grant_type=client_credentials&client_id=fed&scope=s",
            60,
        );
        assert_eq!(code(&no_secret), 900_144);
        let fed_secret = token_endpoint(
            &t,
            &tokens,
            "T1",
            b"grant_type=client_credentials&client_id=fed&client_secret=x&scope=s",
            60,
        );
        assert_eq!(code(&fed_secret), 7_000_215);
    }

    #[test]
    fn bearer_check_rejections() {
        let (t, tokens) = (tenant(), Tokens::default());
        assert_eq!(tokens.check(&t, None), Err(Rejection::Missing));
        assert_eq!(tokens.check(&t, Some("Basic abc")), Err(Rejection::Missing));
        assert_eq!(
            tokens.check(&t, Some("Bearer nope")),
            Err(Rejection::Invalid)
        );
        assert!(tokens.check(&t, Some("bearer static-1")).is_ok());
        let expired = tokens.issue("app", 0);
        assert!(matches!(
            tokens.check(&t, Some(&format!("Bearer {expired}"))),
            Err(Rejection::Expired { .. })
        ));
        let reply = unauthorized(&Rejection::Invalid, "https://127.0.0.1:1", "T1");
        assert!(reply.headers[0].1.contains("error=\"invalid_token\""));
        assert_eq!(reply.code(), Some("InvalidAuthenticationToken"));
        assert!(
            reply.headers[0]
                .1
                .contains("authorization_uri=\"https://127.0.0.1:1/T1\"")
        );
    }

    #[test]
    fn pipelines_oidc_endpoint() {
        let path = "/org/proj/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken";
        assert!(is_oidc_path(&crate::scope::segments(path)));
        assert!(!is_oidc_path(&crate::scope::segments(
            "/_apis/distributedtask/hubs/build/plans/p1/jobs/j1"
        )));
        let ok = oidc_token(Some("Bearer system-token"), Some("sc-1"));
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(
            ok.body["oidcToken"].as_str().map(|t| t.split('.').count()),
            Some(3)
        );
        assert_eq!(
            oidc_token(None, Some("sc-1")).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            oidc_token(Some("Bearer x"), None).status,
            StatusCode::BAD_REQUEST
        );
    }
}
