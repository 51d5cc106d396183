//! Sign-in: the Entra v2 client-credentials token endpoint and the bearer check in front of
//! every ARM route. Tokens are random strings remembered with their expiry (nothing is
//! signed: only this emulator ever reads them), so a test can make them expire by setting a
//! short lifetime. Errors mimic Entra's AADSTS bodies and ARM's 401 envelope plus
//! `WWW-Authenticate` header, because the credential libraries and the auditor's sign-in
//! diagnostics parse exactly those. Client assertions (certificate or federated) are judged
//! in `assertion`. The Azure DevOps OIDC endpoint that `AzurePipelinesCredential` calls for
//! its federated assertion is here too, since it is the first half of that credential's
//! sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::assertion::{self, IssuedAssertions};
use crate::directory::TOKEN_EXCHANGE_AUDIENCE;
use crate::reply::Reply;
use crate::tenant::Tenant;
use crate::{clock, jwt, random};

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
    pub(crate) fn issue(&self, client_id: &str, lifetime_secs: u64) -> String {
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

/// `POST /{tenant}/oauth2/v2.0/token` with a form body. `audience` is this endpoint's own
/// URL, which a certificate assertion must be addressed to.
pub(crate) struct TokenRequest<'a> {
    pub(crate) path_tenant: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) body: &'a [u8],
    pub(crate) lifetime_secs: u64,
}

pub(crate) fn token_endpoint(
    tenant: &Tenant,
    tokens: &Tokens,
    issued: &IssuedAssertions,
    request: &TokenRequest<'_>,
) -> Reply {
    let path_tenant = request.path_tenant;
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
    let form: HashMap<String, String> = url::form_urlencoded::parse(request.body)
        .into_owned()
        .collect();
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
    let Some(client) = tenant.directory().client(client_id) else {
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
        let Some(assertion) = field("client_assertion").filter(|_| assertion_type == JWT_BEARER)
        else {
            return Reply::entra(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            );
        };
        if let Err(refusal) = assertion::check(
            client,
            assertion,
            request.audience,
            tenant.azure_devops(),
            issued,
            clock::unix_now(),
        ) {
            return refusal;
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
    let lifetime_secs = request.lifetime_secs;
    let token = tokens.issue(&client.client_id, lifetime_secs);
    Reply::ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime_secs,
        "ext_expires_in": lifetime_secs,
        "access_token": token,
    }))
    .issued_to(client.client_id.clone())
}

/// Whether a path is Azure DevOps' `{organization}/{project}/_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken`.
pub(crate) fn is_oidc_path(segs: &[&str]) -> bool {
    let n = segs.len();
    n >= 11
        && segs[n - 9].eq_ignore_ascii_case("_apis")
        && segs[n - 8].eq_ignore_ascii_case("distributedtask")
        && segs[n - 7].eq_ignore_ascii_case("hubs")
        && segs[n - 6].eq_ignore_ascii_case("build")
        && segs[n - 5].eq_ignore_ascii_case("plans")
        && segs[n - 3].eq_ignore_ascii_case("jobs")
        && segs[n - 1].eq_ignore_ascii_case("oidctoken")
}

/// An Azure DevOps REST error body.
fn devops_error(status: StatusCode, type_key: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.TeamFoundation.DistributedTask.WebApi.{type_key}, Microsoft.TeamFoundation.DistributedTask.WebApi"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000
        }),
    )
}

/// How long an OIDC token from the emulated Azure DevOps is valid.
const OIDC_LIFETIME_SECS: u64 = 600;

/// `POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=...` with the job's
/// `System.AccessToken` as bearer: for a service connection of the fixture's `azure_devops`
/// organisation and project, answers `{"oidcToken": JWT}` whose issuer is the organisation's
/// (`https://vstoken.dev.azure.com/{organization_id}`), subject
/// `sc://{organization}/{project}/{connection name}` and audience `api://AzureADTokenExchange`
/// — what the token endpoint checks against the client's federated credentials. The token
/// is remembered instead of signed (see `assertion`). Any non-empty bearer is accepted, as
/// the emulator does not model Azure DevOps identities.
pub(crate) fn oidc_token(
    tenant: &Tenant,
    issued: &IssuedAssertions,
    segs: &[&str],
    authorization: Option<&str>,
    service_connection_id: Option<&str>,
) -> Reply {
    let bearer = authorization
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        });
    if bearer.is_none() {
        return Reply::json(
            StatusCode::UNAUTHORIZED,
            json!({"message": "TF400813: The user '' is not authorized to access this resource.", "typeKey": "UnauthorizedRequestException"}),
        );
    }
    let Some(connection_id) = service_connection_id.filter(|s| !s.is_empty()) else {
        return devops_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "The serviceConnectionId query parameter is required.",
        );
    };
    let n = segs.len();
    let (organization, project) = (segs[n - 11], segs[n - 10]);
    let Some(devops) = tenant.azure_devops().filter(|d| {
        d.organization.eq_ignore_ascii_case(organization) && d.project.eq_ignore_ascii_case(project)
    }) else {
        return devops_error(
            StatusCode::NOT_FOUND,
            "ProjectDoesNotExistWithNameException",
            &format!(
                "TF200016: The following project does not exist: {organization}/{project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
            ),
        );
    };
    let Some(connection) = devops
        .service_connections
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(connection_id))
    else {
        return devops_error(
            StatusCode::BAD_REQUEST,
            "ServiceEndpointNotFoundException",
            &format!(
                "Service connection '{connection_id}' was not found in project '{}', or the pipeline is not authorized to use it.",
                devops.project
            ),
        );
    };
    let now = clock::unix_now();
    let expires = now + OIDC_LIFETIME_SECS;
    let token = jwt::encode(
        &json!({"typ": "JWT", "alg": "RS256", "kid": "emulator"}),
        &json!({
            "jti": random::guid(),
            "sub": devops.subject(connection),
            "aud": TOKEN_EXCHANGE_AUDIENCE,
            "iss": devops.issuer(),
            "nbf": now,
            "iat": now,
            "exp": expires,
        }),
        random::hex(64).as_bytes(),
    );
    issued.remember(&token, expires);
    Reply::ok(json!({"oidcToken": token})).issued_to(connection.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://127.0.0.1:1/T1/oauth2/v2.0/token";

    fn tenant() -> Tenant {
        Tenant::from_json(
            r#"{"tenant_id": "T1", "clients": [{"client_id": "app", "client_secret": "s3cret"},
                {"client_id": "fed", "federated_credentials": [{"issuer": "https://vstoken.dev.azure.com/0000", "subject": "sc://org/proj/reader"}]}],
                "azure_devops": {"organization": "org", "organization_id": "0000", "project": "proj",
                    "service_connections": [{"id": "sc-1", "name": "reader"}, {"id": "sc-2", "name": "writer"}]},
                "static_tokens": ["static-1"]}"#,
        )
        .expect("fixture")
    }

    fn code(reply: &Reply) -> i64 {
        reply.body["error_codes"][0].as_i64().unwrap_or(0)
    }

    fn post(
        t: &Tenant,
        tokens: &Tokens,
        issued: &IssuedAssertions,
        path_tenant: &str,
        body: &str,
    ) -> Reply {
        token_endpoint(
            t,
            tokens,
            issued,
            &TokenRequest {
                path_tenant,
                audience: AUD,
                body: body.as_bytes(),
                lifetime_secs: 60,
            },
        )
    }

    fn assertion_body(client: &str, assertion: &str) -> String {
        format!(
            "grant_type=client_credentials&client_id={client}&scope=s&client_assertion_type={}&client_assertion={assertion}",
            JWT_BEARER.replace(':', "%3A")
        )
    }

    const OIDC_PATH: &str = "/org/proj/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken";

    #[test]
    fn secret_and_assertion_grants() {
        let (t, tokens, issued) = (tenant(), Tokens::default(), IssuedAssertions::default());
        let ok = post(
            &t,
            &tokens,
            &issued,
            "t1",
            "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=x%2F.default",
        );
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.client.as_deref(), Some("app"));
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
        // A federated assertion is accepted only as the OIDC endpoint issued it.
        let segs = crate::scope::segments(OIDC_PATH);
        let oidc = oidc_token(&t, &issued, &segs, Some("Bearer system"), Some("sc-1"));
        let assertion = oidc.body["oidcToken"].as_str().unwrap_or_default();
        let ok = post(
            &t,
            &tokens,
            &issued,
            "T1",
            &assertion_body("fed", assertion),
        );
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        let garbage = post(
            &t,
            &tokens,
            &issued,
            "T1",
            &assertion_body("fed", "eyJ.x.y"),
        );
        assert_eq!(code(&garbage), 50027);
        // The other connection's token: no federated credential has its subject.
        let other = oidc_token(&t, &issued, &segs, Some("Bearer system"), Some("sc-2"));
        let refused = post(
            &t,
            &tokens,
            &issued,
            "T1",
            &assertion_body("fed", other.body["oidcToken"].as_str().unwrap_or_default()),
        );
        assert_eq!(code(&refused), 700_213);
        assert!(
            refused.body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("'sc://org/proj/writer'")
        );
    }

    #[test]
    fn grant_errors_carry_aadsts_codes() {
        let (t, tokens, issued) = (tenant(), Tokens::default(), IssuedAssertions::default());
        let post = |tenant_id: &str, body: &str| post(&t, &tokens, &issued, tenant_id, body);
        let wrong = post(
            "T1",
            "grant_type=client_credentials&client_id=app&client_secret=no&scope=s",
        );
        assert_eq!(
            (wrong.status, code(&wrong)),
            (StatusCode::UNAUTHORIZED, 7_000_215)
        );
        assert_eq!(wrong.body["error"], "invalid_client");
        assert_eq!(wrong.client, None);
        let unknown = post(
            "T1",
            "grant_type=client_credentials&client_id=zzz&client_secret=no&scope=s",
        );
        assert_eq!(
            (unknown.status, code(&unknown)),
            (StatusCode::BAD_REQUEST, 700_016)
        );
        assert_eq!(code(&post("other", "")), 90002);
        let no_secret = post("T1", "grant_type=client_credentials&client_id=fed&scope=s");
        assert_eq!(code(&no_secret), 900_144);
        let fed_secret = post(
            "T1",
            "grant_type=client_credentials&client_id=fed&client_secret=x&scope=s",
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
        let (t, issued) = (tenant(), IssuedAssertions::default());
        assert!(is_oidc_path(&crate::scope::segments(OIDC_PATH)));
        assert!(!is_oidc_path(&crate::scope::segments(
            "/_apis/distributedtask/hubs/build/plans/p1/jobs/j1"
        )));
        assert!(!is_oidc_path(&crate::scope::segments(
            "/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken"
        )));
        let segs = crate::scope::segments(OIDC_PATH);
        let ok = oidc_token(
            &t,
            &issued,
            &segs,
            Some("Bearer system-token"),
            Some("sc-1"),
        );
        assert_eq!(ok.status, StatusCode::OK);
        let token = ok.body["oidcToken"].as_str().unwrap_or_default();
        let jwt = crate::jwt::Jwt::decode(token).expect("a JWT");
        assert_eq!(jwt.claim("iss"), Some("https://vstoken.dev.azure.com/0000"));
        assert_eq!(jwt.claim("sub"), Some("sc://org/proj/reader"));
        assert_eq!(jwt.audiences(), [TOKEN_EXCHANGE_AUDIENCE]);
        assert_eq!(ok.client.as_deref(), Some("reader"));
        let status = |auth: Option<&str>, sc: Option<&str>, segs: &[&str]| {
            oidc_token(&t, &issued, segs, auth, sc).status
        };
        assert_eq!(status(None, Some("sc-1"), &segs), StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(Some("Bearer x"), None, &segs),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(Some("Bearer x"), Some("sc-9"), &segs),
            StatusCode::BAD_REQUEST
        );
        let elsewhere = crate::scope::segments(
            "/org/other/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken",
        );
        assert_eq!(
            status(Some("Bearer x"), Some("sc-1"), &elsewhere),
            StatusCode::NOT_FOUND
        );
    }
}
