//! The token endpoint's judgement of a `client_assertion`, in the two kinds Entra accepts:
//!
//! - a **certificate assertion** (RFC 7523 client authentication: `iss` = `sub` = the client
//!   ID), which must name a certificate registered on the client by its `x5t` (SHA-1, as
//!   azure_identity sends it) or `x5t#S256` thumbprint, be RS256-signed by that
//!   certificate's key, be addressed (`aud`) to this token endpoint and be within its
//!   validity;
//! - a **federated assertion** (workload identity federation: a token from another issuer),
//!   which one of the client's federated credentials must trust by issuer, subject and
//!   audience, within its validity. For the Azure DevOps issuer the emulator plays, the
//!   assertion must moreover be one it issued itself (that stands in for the signature
//!   check against the issuer's keys); tokens of other issuers (a Kubernetes service
//!   account token a test writes, say) are matched on their claims only.
//!
//! Refusals carry the AADSTS codes and messages Entra uses for them (700027 unknown
//! certificate or bad signature, 700024 outside the validity window, 700211/700212/700213 no
//! federated credential for the issuer/audience/subject, 50027 malformed).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::http::StatusCode;

use crate::certificate;
use crate::directory::{AzureDevOps, Client};
use crate::jwt::Jwt;
use crate::reply::Reply;

/// Clock skew Entra tolerates on `nbf`.
const SKEW_SECS: u64 = 300;

const FIC_HELP: &str = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// The OIDC tokens the emulated Azure DevOps organisation issued, with their expiry.
#[derive(Debug, Default)]
pub(crate) struct IssuedAssertions {
    tokens: Mutex<HashMap<String, u64>>,
}

impl IssuedAssertions {
    pub(crate) fn remember(&self, token: &str, expires: u64) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_string(), expires);
    }

    fn contains(&self, token: &str) -> bool {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(token)
    }
}

fn malformed(detail: &str) -> Reply {
    Reply::entra(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        50027,
        &format!("JWT token is invalid or malformed. {detail}"),
    )
}

fn invalid_client(status: StatusCode, code: u32, message: &str) -> Reply {
    Reply::entra(status, "invalid_client", code, message)
}

/// Accepts or refuses `assertion` for `client`. `audience` is this token endpoint's URL
/// (`https://host:port/{tenant}/oauth2/v2.0/token`); `now` is Unix seconds.
pub(crate) fn check(
    client: &Client,
    assertion: &str,
    audience: &str,
    devops: Option<&AzureDevOps>,
    issued: &IssuedAssertions,
    now: u64,
) -> Result<(), Reply> {
    let jwt = Jwt::decode(assertion).ok_or_else(|| malformed("It is not a compact JWS."))?;
    match jwt.time("exp") {
        None => return Err(malformed("The 'exp' claim is missing.")),
        Some(exp) if exp <= now => {
            return Err(invalid_client(
                StatusCode::UNAUTHORIZED,
                700_024,
                "Client assertion is not within its valid time range.",
            ));
        }
        Some(_) => {}
    }
    if jwt.time("nbf").is_some_and(|nbf| nbf > now + SKEW_SECS) {
        return Err(invalid_client(
            StatusCode::UNAUTHORIZED,
            700_024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let issuer = jwt.claim("iss").unwrap_or_default();
    if issuer.eq_ignore_ascii_case(&client.client_id) {
        certificate_assertion(client, &jwt, audience)
    } else {
        federated_assertion(client, &jwt, assertion, devops, issued)
    }
}

fn certificate_assertion(client: &Client, jwt: &Jwt, audience: &str) -> Result<(), Reply> {
    if !jwt
        .claim("sub")
        .is_some_and(|s| s.eq_ignore_ascii_case(&client.client_id))
    {
        return Err(malformed(
            "The 'sub' claim of a client assertion must be the client ID.",
        ));
    }
    let trim = |a: &str| a.trim_end_matches('/').to_ascii_lowercase();
    if !jwt.audiences().iter().any(|a| trim(a) == trim(audience)) {
        return Err(malformed(&format!(
            "The audience of the client assertion must be the token endpoint '{audience}'."
        )));
    }
    if jwt.header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err(malformed("The client assertion must be signed with RS256."));
    }
    let by = |name: &str| {
        jwt.header
            .get(name)
            .and_then(|v| v.as_str())
            .and_then(crate::jwt::b64url_decode)
    };
    let (sha1, sha256) = (by("x5t"), by("x5t#S256"));
    let shown = sha1
        .as_ref()
        .or(sha256.as_ref())
        .map(|t| t.iter().map(|b| format!("{b:02X}")).collect::<String>())
        .ok_or_else(|| {
            malformed("The client assertion header names no certificate (x5t or x5t#S256).")
        })?;
    let registered = client.certificates.iter().find(|pem| {
        certificate::thumbprints(pem)
            .is_ok_and(|t| sha1.as_ref() == Some(&t.sha1) || sha256.as_ref() == Some(&t.sha256))
    });
    let Some(pem) = registered else {
        return Err(invalid_client(
            StatusCode::UNAUTHORIZED,
            700_027,
            &format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                client.client_id
            ),
        ));
    };
    if !certificate::verify_rs256(pem, jwt.signing_input.as_bytes(), &jwt.signature) {
        return Err(invalid_client(
            StatusCode::UNAUTHORIZED,
            700_027,
            &format!(
                "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{shown}']"
            ),
        ));
    }
    Ok(())
}

fn federated_assertion(
    client: &Client,
    jwt: &Jwt,
    raw: &str,
    devops: Option<&AzureDevOps>,
    issued: &IssuedAssertions,
) -> Result<(), Reply> {
    let issuer = jwt.claim("iss").unwrap_or_default();
    let subject = jwt.claim("sub").unwrap_or_default();
    if devops.is_some_and(|d| d.issuer() == issuer) && !issued.contains(raw.trim()) {
        return Err(invalid_client(
            StatusCode::UNAUTHORIZED,
            700_027,
            "Client assertion failed signature validation. [Reason - The token was not issued by the Azure DevOps organisation it names.]",
        ));
    }
    let by_issuer: Vec<_> = client
        .federated_credentials
        .iter()
        .filter(|f| f.issuer == issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(invalid_client(
            StatusCode::BAD_REQUEST,
            700_211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. {FIC_HELP}"
            ),
        ));
    }
    let by_subject: Vec<_> = by_issuer
        .into_iter()
        .filter(|f| f.subject == subject)
        .collect();
    if by_subject.is_empty() {
        return Err(invalid_client(
            StatusCode::BAD_REQUEST,
            700_213,
            &format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. {FIC_HELP}"
            ),
        ));
    }
    let audiences = jwt.audiences();
    if !by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| audiences.contains(&a.as_str())))
    {
        return Err(invalid_client(
            StatusCode::BAD_REQUEST,
            700_212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{}'. {FIC_HELP}",
                audiences.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::{ClientCertificate, sign_rs256};
    use crate::directory::{FederatedCredential, ServiceConnection, TOKEN_EXCHANGE_AUDIENCE};
    use crate::jwt::{b64url_encode, encode};
    use serde_json::{Value, json};

    const AUD: &str = "https://127.0.0.1:1/t1/oauth2/v2.0/token";
    const NOW: u64 = 1_800_000_000;

    fn code(reply: &Reply) -> i64 {
        reply.body["error_codes"][0].as_i64().unwrap_or(0)
    }

    fn signed(cert: &ClientCertificate, header: Value, claims: Value) -> String {
        let unsigned = encode(&header, &claims, b"");
        let input = unsigned.trim_end_matches('.');
        let signature = sign_rs256(cert.private_key_pem(), input.as_bytes());
        format!("{input}.{}", b64url_encode(&signature))
    }

    fn x5t(cert: &ClientCertificate) -> String {
        let t = certificate::thumbprints(cert.certificate_pem()).expect("thumbprints");
        openssl::base64::encode_block(&t.sha1)
    }

    fn claims(client: &str) -> Value {
        json!({"aud": AUD, "iss": client, "sub": client, "exp": NOW + 300, "nbf": NOW, "jti": "1"})
    }

    #[test]
    fn certificate_assertions_need_the_registered_key() {
        let cert = ClientCertificate::generate("c").expect("cert");
        let other = ClientCertificate::generate("o").expect("cert");
        let client = Client {
            client_id: "app".into(),
            client_secret: None,
            certificates: vec![cert.certificate_pem().to_string()],
            federated_credentials: Vec::new(),
        };
        let issued = IssuedAssertions::default();
        let check = |a: &str| check(&client, a, AUD, None, &issued, NOW);
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": x5t(&cert)});
        assert!(check(&signed(&cert, header.clone(), claims("app"))).is_ok());
        // Standard or url-safe x5t, or x5t#S256.
        let s256 = certificate::thumbprints(cert.certificate_pem())
            .expect("t")
            .sha256;
        let by_s256 = json!({"alg": "RS256", "x5t#S256": b64url_encode(&s256)});
        assert!(check(&signed(&cert, by_s256, claims("app"))).is_ok());

        // The other key, named by its own thumbprint: not registered.
        let unknown = check(&signed(
            &other,
            json!({"alg": "RS256", "x5t": x5t(&other)}),
            claims("app"),
        ))
        .unwrap_err();
        assert_eq!(
            (unknown.status, code(&unknown)),
            (StatusCode::UNAUTHORIZED, 700_027)
        );
        let text = unknown.body["error_description"].as_str().unwrap_or("");
        assert!(
            text.contains("not registered") && text.contains(other.thumbprint()),
            "{text}"
        );
        // The other key, claiming the registered thumbprint: bad signature.
        let forged = check(&signed(&other, header.clone(), claims("app"))).unwrap_err();
        assert!(
            forged.body["error_description"]
                .as_str()
                .unwrap_or("")
                .contains("failed signature validation")
        );
        // Wrong audience, expired, future, missing exp, garbage.
        let mut c = claims("app");
        c["aud"] = json!("https://elsewhere/t1/oauth2/v2.0/token");
        assert_eq!(
            code(&check(&signed(&cert, header.clone(), c)).unwrap_err()),
            50027
        );
        let mut c = claims("app");
        c["exp"] = json!(NOW);
        assert_eq!(
            code(&check(&signed(&cert, header.clone(), c)).unwrap_err()),
            700_024
        );
        let mut c = claims("app");
        c["nbf"] = json!(NOW + 3600);
        assert_eq!(
            code(&check(&signed(&cert, header.clone(), c)).unwrap_err()),
            700_024
        );
        let mut c = claims("app");
        c.as_object_mut().map(|o| o.remove("exp"));
        assert_eq!(code(&check(&signed(&cert, header, c)).unwrap_err()), 50027);
        assert_eq!(code(&check("eyJ.x.y").unwrap_err()), 50027);
    }

    #[test]
    fn federated_assertions_need_a_matching_credential() {
        let devops = AzureDevOps {
            organization: "org".into(),
            organization_id: "0000".into(),
            project: "p".into(),
            service_connections: vec![ServiceConnection {
                id: "sc".into(),
                name: "reader".into(),
            }],
        };
        let client = Client {
            client_id: "fed".into(),
            client_secret: None,
            certificates: Vec::new(),
            federated_credentials: vec![
                FederatedCredential {
                    issuer: "https://k8s".into(),
                    subject: "system:serviceaccount:ns:sa".into(),
                    audiences: vec![TOKEN_EXCHANGE_AUDIENCE.into()],
                },
                FederatedCredential {
                    issuer: devops.issuer(),
                    subject: "sc://org/p/reader".into(),
                    audiences: vec![TOKEN_EXCHANGE_AUDIENCE.into()],
                },
            ],
        };
        let issued = IssuedAssertions::default();
        let token = |iss: &str, sub: &str, aud: &str| {
            encode(
                &json!({"alg": "RS256"}),
                &json!({"iss": iss, "sub": sub, "aud": aud, "exp": NOW + 60}),
                b"sig",
            )
        };
        let check = |a: &str| check(&client, a, AUD, Some(&devops), &issued, NOW);
        let k8s = token(
            "https://k8s",
            "system:serviceaccount:ns:sa",
            TOKEN_EXCHANGE_AUDIENCE,
        );
        assert!(check(&k8s).is_ok());
        let wrong = |t: String| code(&check(&t).unwrap_err());
        assert_eq!(
            wrong(token("https://other", "x", TOKEN_EXCHANGE_AUDIENCE)),
            700_211
        );
        assert_eq!(
            wrong(token(
                "https://k8s",
                "system:serviceaccount:ns:other",
                TOKEN_EXCHANGE_AUDIENCE
            )),
            700_213
        );
        assert_eq!(
            wrong(token(
                "https://k8s",
                "system:serviceaccount:ns:sa",
                "api://x"
            )),
            700_212
        );
        // Azure DevOps tokens count only when the emulator issued them.
        let ado = token(
            &devops.issuer(),
            "sc://org/p/reader",
            TOKEN_EXCHANGE_AUDIENCE,
        );
        assert_eq!(wrong(ado.clone()), 700_027);
        issued.remember(&ado, NOW + 60);
        assert!(check(&ado).is_ok());
    }
}
