//! Every sign-in path of the binary against the emulator, through azure_identity's own
//! credentials over real HTTP(S): a certificate service principal (PEM and password-protected
//! PKCS#12, the emulator checking the assertion's `x5t` and signature against the registered
//! certificate), an Azure Pipelines service connection (`AzurePipelinesCredential` fetching
//! its assertion from the emulator's Azure DevOps OIDC endpoint), the managed identity of an
//! App Service-style host (`IDENTITY_ENDPOINT` / `IDENTITY_HEADER`), and `--auth auto`'s order.
//! (Secret, workload identity and Azure CLI sign-in are in `e2e` and `collect`.) The
//! emulator's request log says which client every token request and ARM request acted for, so
//! each test proves who signed in, not just that something did.
//!
//! azure_identity 1.0's IMDS credential (VMs, scale sets, AKS nodes) always calls
//! `http://169.254.169.254`, which no variable redirects; the last test drives that
//! credential against the emulator's IMDS-shaped endpoint through a transport that rewrites
//! the address, which is as close as a test off Azure gets (see the README's "Sign-in").

use std::path::Path;
use std::process::Command;

use lzaudit_emulator::{ClientCertificate, Emulator, Options, RequestLog, TOKEN_API};
use serde_json::Value;

use crate::support::bin::{Output, command, run};
use crate::support::tenants::{CaFile, ca_file, service_account_token, small, stand_in_az, tenant};

const OIDC_API: &str = lzaudit_emulator::OIDC_API;
const IDENTITY_API: &str = lzaudit_emulator::IDENTITY_API;

/// A job's `System.AccessToken`: must never appear in lzaudit's output.
const SYSTEM_ACCESS_TOKEN: &str = "system-access-token-3f9c7d";

/// `lzaudit audit` of the platform subscription against the emulator (Entra over HTTPS, ARM
/// over `arm`), JSON on stdout.
fn audit(cmd: Command, emulator: &Emulator, ca: &Path, auth: &str, arm: &str) -> Output {
    let https = emulator.https_url();
    run(
        cmd,
        &[
            "-v",
            "audit",
            "--auth",
            auth,
            "--authority-host",
            &https,
            "--arm-endpoint",
            arm,
            "--ca-cert",
            ca.to_str().unwrap(),
            "--subscription",
            small::S2,
            "--source",
            "arm",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--max-retries",
            "1",
        ],
    )
}

/// Asserts that the audit ran (exit 0 or 3 with a JSON report of the subscription).
fn audited(out: &Output) {
    assert!(
        matches!(out.status, Some(0) | Some(3)),
        "exit {:?}\n{}",
        out.status,
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    assert_eq!(report["scope"]["subscriptions"][0]["id"], small::S2);
}

/// The requests an API name was logged under, as (status, client).
fn calls(log: &[RequestLog], api: &str) -> Vec<(u16, Option<String>)> {
    log.iter()
        .filter(|r| r.api.as_deref() == Some(api))
        .map(|r| (r.status, r.client.clone()))
        .collect()
}

/// The clients whose tokens the ARM requests carried.
fn arm_clients(log: &[RequestLog]) -> Vec<Option<String>> {
    let mut clients: Vec<_> = log
        .iter()
        .filter(|r| !matches!(r.api.as_deref(), Some(TOKEN_API | OIDC_API | IDENTITY_API)))
        .map(|r| r.client.clone())
        .collect();
    clients.dedup();
    clients
}

fn no_leak(out: &Output, secrets: &[&str]) {
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("emu-"), "an access token leaked:\n{text}");
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
}

/// The body lines of a PEM private key: none of them may reach the output.
fn key_lines(cert: &ClientCertificate) -> Vec<String> {
    cert.private_key_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_string)
        .collect()
}

struct CertSetup {
    emulator: Emulator,
    ca: CaFile,
    cert: ClientCertificate,
    dir: tempfile::TempDir,
}

/// The small tenant with a fresh certificate registered on `CERTIFICATE_CLIENT_ID`.
fn certificate_tenant() -> CertSetup {
    let cert = ClientCertificate::generate("lzaudit e2e").unwrap();
    let mut fixture = tenant("small");
    fixture
        .add_client_certificate(small::CERTIFICATE_CLIENT_ID, cert.certificate_pem())
        .unwrap();
    let emulator = Emulator::start_in_thread(fixture, Options::default());
    let ca = ca_file(&emulator);
    CertSetup {
        emulator,
        ca,
        cert,
        dir: tempfile::tempdir().unwrap(),
    }
}

fn certificate_command(path: &Path, password: Option<&str>) -> Command {
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", small::TENANT)
        .env("AZURE_CLIENT_ID", small::CERTIFICATE_CLIENT_ID)
        .env("AZURE_CLIENT_CERTIFICATE_PATH", path);
    if let Some(password) = password {
        cmd.env("AZURE_CLIENT_CERTIFICATE_PASSWORD", password);
    }
    cmd
}

#[test]
fn a_pem_certificate_signs_in_with_an_assertion_the_emulator_verifies() {
    let s = certificate_tenant();
    let pem = s.dir.path().join("lzaudit.pem");
    std::fs::write(&pem, s.cert.pem_bundle()).unwrap();
    let https = s.emulator.https_url();
    let out = audit(
        certificate_command(&pem, None),
        &s.emulator,
        &s.ca.path,
        "env",
        &https,
    );
    audited(&out);
    assert!(
        out.stderr.contains("signed in with --auth env"),
        "{}",
        out.stderr
    );
    let log = s.emulator.requests();
    let client = Some(small::CERTIFICATE_CLIENT_ID.to_string());
    assert_eq!(calls(&log, TOKEN_API), [(200, client.clone())]);
    assert_eq!(arm_clients(&log), [client]);
    let key = key_lines(&s.cert);
    no_leak(&out, &key.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn a_password_protected_pfx_signs_in_and_a_wrong_password_says_so() {
    let s = certificate_tenant();
    let pfx = s.dir.path().join("lzaudit.pfx");
    std::fs::write(&pfx, s.cert.pkcs12("pfx-pass-8d2e").unwrap()).unwrap();
    let https = s.emulator.https_url();
    let out = audit(
        certificate_command(&pfx, Some("pfx-pass-8d2e")),
        &s.emulator,
        &s.ca.path,
        "env",
        &https,
    );
    audited(&out);
    let client = Some(small::CERTIFICATE_CLIENT_ID.to_string());
    assert_eq!(calls(&s.emulator.requests(), TOKEN_API), [(200, client)]);
    no_leak(&out, &["pfx-pass-8d2e"]);

    let before = s.emulator.request_count();
    let wrong = audit(
        certificate_command(&pfx, Some("not-the-pass-41c")),
        &s.emulator,
        &s.ca.path,
        "env",
        &https,
    );
    assert_eq!(wrong.status, Some(2), "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("wrong AZURE_CLIENT_CERTIFICATE_PASSWORD")
            && wrong.stderr.contains("lzaudit.pfx"),
        "{}",
        wrong.stderr
    );
    assert_eq!(s.emulator.request_count(), before, "nothing was sent");
    no_leak(&wrong, &["not-the-pass-41c", "pfx-pass-8d2e"]);
}

#[test]
fn a_certificate_not_registered_on_the_app_is_a_sign_in_error_naming_its_thumbprint() {
    let s = certificate_tenant();
    let stranger = ClientCertificate::generate("not registered").unwrap();
    let pem = s.dir.path().join("stranger.pem");
    std::fs::write(&pem, stranger.pem_bundle()).unwrap();
    let https = s.emulator.https_url();
    let out = audit(
        certificate_command(&pem, None),
        &s.emulator,
        &s.ca.path,
        "env",
        &https,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no report: {}", out.stdout);
    assert!(
        out.stderr.contains("sign-in with --auth env failed")
            && out.stderr.contains("AADSTS700027")
            && out.stderr.contains("not registered on application")
            && out.stderr.contains(stranger.thumbprint()),
        "{}",
        out.stderr
    );
    let log = s.emulator.requests();
    assert_eq!(calls(&log, TOKEN_API), [(401, None)]);
    assert!(arm_clients(&log).is_empty(), "ARM was not called: {log:?}");
    let key = key_lines(&stranger);
    no_leak(&out, &key.iter().map(String::as_str).collect::<Vec<_>>());
}

/// The variables an AzureCLI@2 task sets for a workload-identity service connection, plus
/// the mapped `System.AccessToken` and the job's OIDC request URI.
fn pipelines_command(emulator: &Emulator, connection: &str) -> Command {
    let mut cmd = command();
    cmd.env("SYSTEM_ACCESSTOKEN", SYSTEM_ACCESS_TOKEN)
        .env("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_url())
        .env("AZURESUBSCRIPTION_TENANT_ID", small::TENANT)
        .env("AZURESUBSCRIPTION_CLIENT_ID", small::PIPELINES_CLIENT_ID)
        .env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", connection);
    cmd
}

#[test]
fn an_azure_pipelines_service_connection_signs_in_through_the_oidc_endpoint() {
    let emulator = Emulator::start_in_thread(tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    let http = emulator.http_url();
    let out = audit(
        pipelines_command(&emulator, small::SERVICE_CONNECTION),
        &emulator,
        &ca.path,
        "pipelines",
        &http,
    );
    audited(&out);
    assert!(
        out.stderr.contains("signed in with --auth pipelines"),
        "{}",
        out.stderr
    );
    let log = emulator.requests();
    assert_eq!(
        calls(&log, OIDC_API),
        [(200, Some("lzaudit-reader".to_string()))]
    );
    let oidc = log
        .iter()
        .find(|r| r.api.as_deref() == Some(OIDC_API))
        .unwrap();
    assert!(
        oidc.path_and_query.contains(&format!(
            "serviceConnectionId={}",
            small::SERVICE_CONNECTION
        )),
        "{}",
        oidc.path_and_query
    );
    let client = Some(small::PIPELINES_CLIENT_ID.to_string());
    assert_eq!(calls(&log, TOKEN_API), [(200, client.clone())]);
    assert_eq!(arm_clients(&log), [client]);
    no_leak(&out, &[SYSTEM_ACCESS_TOKEN, "eyJ"]);
}

#[test]
fn a_service_connection_the_app_does_not_trust_is_refused_by_entra() {
    let emulator = Emulator::start_in_thread(tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    let http = emulator.http_url();
    // A connection of the project whose subject no federated credential of the app names.
    let out = audit(
        pipelines_command(&emulator, small::OTHER_SERVICE_CONNECTION),
        &emulator,
        &ca.path,
        "pipelines",
        &http,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("sign-in with --auth pipelines failed")
            && out.stderr.contains("AADSTS700213")
            && out
                .stderr
                .contains("'sc://contoso/landing-zones/app-team-deployer'"),
        "{}",
        out.stderr
    );
    let log = emulator.requests();
    assert_eq!(
        calls(&log, OIDC_API),
        [(200, Some("app-team-deployer".to_string()))]
    );
    assert_eq!(calls(&log, TOKEN_API), [(400, None)]);
    assert!(arm_clients(&log).is_empty(), "{log:?}");
    no_leak(&out, &[SYSTEM_ACCESS_TOKEN, "eyJ"]);

    // A connection Azure DevOps does not know (or the pipeline may not use): the OIDC
    // endpoint refuses, and Entra is never asked.
    let unknown = audit(
        pipelines_command(&emulator, "00000000-0000-4000-8000-00000000dead"),
        &emulator,
        &ca.path,
        "pipelines",
        &http,
    );
    assert_eq!(unknown.status, Some(2), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("400 response from the OIDC endpoint")
            && unknown.stderr.contains(
                "the endpoint said: Service connection '00000000-0000-4000-8000-00000000dead' was not found"
            ),
        "{}",
        unknown.stderr
    );
    let log = emulator.requests();
    assert_eq!(calls(&log, TOKEN_API).len(), 1, "no second token request");
    assert_eq!(calls(&log, OIDC_API).last(), Some(&(400, None)));
    no_leak(&unknown, &[SYSTEM_ACCESS_TOKEN]);
}

fn managed_identity_command(emulator: &Emulator) -> Command {
    let mut cmd = command();
    cmd.env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", emulator.identity_header());
    cmd
}

#[test]
fn the_managed_identity_of_an_app_service_host_signs_in_system_or_user_assigned() {
    let emulator = Emulator::start_in_thread(tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    let http = emulator.http_url();
    let header = emulator.identity_header();

    let out = audit(
        managed_identity_command(&emulator),
        &emulator,
        &ca.path,
        "managed-identity",
        &http,
    );
    audited(&out);
    assert!(
        out.stderr.contains(
            "managed identity: the App Service endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER), system-assigned"
        ) && out.stderr.contains("signed in with --auth managed-identity"),
        "{}",
        out.stderr
    );
    let system = Some(small::MI_SYSTEM.to_string());
    let log = emulator.requests();
    assert_eq!(calls(&log, IDENTITY_API), [(200, system.clone())]);
    assert!(calls(&log, TOKEN_API).is_empty(), "Entra is not involved");
    assert_eq!(arm_clients(&log), [system]);
    no_leak(&out, &[&header]);

    // AZURE_CLIENT_ID picks a user-assigned identity.
    let before = emulator.request_count();
    let mut cmd = managed_identity_command(&emulator);
    cmd.env("AZURE_CLIENT_ID", small::MI_USER);
    let out = audit(cmd, &emulator, &ca.path, "managed-identity", &http);
    audited(&out);
    let log = emulator.requests()[before..].to_vec();
    let user = Some(small::MI_USER.to_string());
    assert_eq!(calls(&log, IDENTITY_API), [(200, user.clone())]);
    assert_eq!(arm_clients(&log), [user]);

    // An identity the host does not have.
    let mut cmd = managed_identity_command(&emulator);
    cmd.env("AZURE_CLIENT_ID", "00000000-0000-4000-8000-00000000beef");
    let out = audit(cmd, &emulator, &ca.path, "managed-identity", &http);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("sign-in with --auth managed-identity failed (HTTP 400)")
            && out
                .stderr
                .contains("The requested identity has not been assigned to this resource")
            && out.stderr.contains("No managed identity found"),
        "{}",
        out.stderr
    );
    no_leak(&out, &[&header]);
}

#[test]
fn the_managed_identity_endpoint_is_never_reached_through_a_proxy() {
    let emulator = Emulator::start_in_thread(tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    // A proxy that is not there: http:// requests through it would fail. ARM goes over
    // https (HTTPS_PROXY is unset), so only the identity endpoint is plain http.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut cmd = managed_identity_command(&emulator);
    cmd.env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let https = emulator.https_url();
    let out = audit(cmd, &emulator, &ca.path, "managed-identity", &https);
    audited(&out);
    assert_eq!(
        calls(&emulator.requests(), IDENTITY_API),
        [(200, Some(small::MI_SYSTEM.to_string()))]
    );
}

#[test]
fn managed_identity_flavours_azure_identity_lacks_are_named() {
    for (vars, kind) in [
        (
            &[
                (
                    "IDENTITY_ENDPOINT",
                    "http://127.0.0.1:40342/metadata/identity/oauth2/token",
                ),
                ("IMDS_ENDPOINT", "http://127.0.0.1:40342"),
            ][..],
            "Azure Arc",
        ),
        (
            &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")][..],
            "Cloud Shell",
        ),
    ] {
        let mut cmd = command();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = run(
            cmd,
            &[
                "audit",
                "--auth",
                "managed-identity",
                "--arm-endpoint",
                "http://127.0.0.1:9",
            ],
        );
        assert_eq!(out.status, Some(2), "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "select the {kind} managed identity, which azure_identity 1.0 does not support"
            )),
            "{}",
            out.stderr
        );
    }
}

/// Every method's prerequisites at once, then one fewer at a time: `--auth auto` signs in
/// with the first present in the documented order env → workload-identity → pipelines → cli
/// → managed-identity, says so at `-v`, and never asks the later ones.
#[cfg(unix)]
#[test]
fn auto_uses_the_first_method_whose_prerequisites_are_present() {
    let emulator = Emulator::start_in_thread(tenant("small"), Options::default());
    let ca = ca_file(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let az_dir = dir.path().join("az");
    let no_az = dir.path().join("empty");
    std::fs::create_dir_all(&az_dir).unwrap();
    std::fs::create_dir_all(&no_az).unwrap();
    stand_in_az(&az_dir, &[small::STATIC_TOKEN]);
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(
        &token_file,
        service_account_token(small::WI_ISSUER, small::WI_SUBJECT),
    )
    .unwrap();

    struct Step {
        method: &'static str,
        /// The client the token came from, and through which endpoint.
        api: Option<&'static str>,
        client: &'static str,
    }
    let steps = [
        Step {
            method: "env",
            api: Some(TOKEN_API),
            client: small::CLIENT_ID,
        },
        Step {
            method: "workload-identity",
            api: Some(TOKEN_API),
            client: small::FEDERATED_CLIENT_ID,
        },
        Step {
            method: "pipelines",
            api: Some(TOKEN_API),
            client: small::PIPELINES_CLIENT_ID,
        },
        Step {
            method: "cli",
            api: None,
            client: "static-token-user",
        },
        Step {
            method: "managed-identity",
            api: Some(IDENTITY_API),
            client: small::MI_SYSTEM,
        },
    ];
    let http = emulator.http_url();
    for (i, step) in steps.iter().enumerate() {
        // Step i has the prerequisites of methods i.. of the order.
        let mut cmd = pipelines_command(&emulator, small::SERVICE_CONNECTION);
        if i > 2 {
            for name in [
                "SYSTEM_ACCESSTOKEN",
                "AZURESUBSCRIPTION_CLIENT_ID",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            ] {
                cmd.env_remove(name);
            }
        }
        // The stand-in `az` needs `cat`; without it, PATH has no `az` at all.
        let path = if i > 3 {
            no_az.display().to_string()
        } else {
            format!("{}:/usr/bin:/bin", az_dir.display())
        };
        cmd.env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
            .env("IDENTITY_HEADER", emulator.identity_header())
            .env("PATH", path);
        match i {
            0 => {
                cmd.env("AZURE_TENANT_ID", small::TENANT)
                    .env("AZURE_CLIENT_ID", small::CLIENT_ID)
                    .env("AZURE_CLIENT_SECRET", small::CLIENT_SECRET)
                    .env("AZURE_FEDERATED_TOKEN_FILE", &token_file);
            }
            1 => {
                cmd.env("AZURE_TENANT_ID", small::TENANT)
                    .env("AZURE_CLIENT_ID", small::FEDERATED_CLIENT_ID)
                    .env("AZURE_FEDERATED_TOKEN_FILE", &token_file);
            }
            _ => {}
        }
        let before = emulator.request_count();
        let _ = std::fs::remove_file(az_dir.join("az.log"));
        let out = audit(cmd, &emulator, &ca.path, "auto", &http);
        audited(&out);
        let signed_in: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("signed in with --auth"))
            .collect();
        assert_eq!(signed_in.len(), 1, "{}", out.stderr);
        assert!(
            signed_in[0].contains(&format!(
                "signed in with --auth {0} method={0} ",
                step.method
            )),
            "step {i}: {}",
            out.stderr
        );
        let log: Vec<RequestLog> = emulator.requests()[before..].to_vec();
        let client = Some(step.client.to_string());
        assert_eq!(
            arm_clients(&log),
            std::slice::from_ref(&client),
            "step {i}: {log:?}"
        );
        // Only the winner was asked: one token from it, none from any other endpoint.
        for api in [TOKEN_API, OIDC_API, IDENTITY_API] {
            let expected: Vec<(u16, Option<String>)> = if Some(api) == step.api {
                vec![(200, client.clone())]
            } else if api == OIDC_API && step.method == "pipelines" {
                vec![(200, Some("lzaudit-reader".to_string()))]
            } else {
                Vec::new()
            };
            assert_eq!(
                calls(&log, api),
                expected,
                "step {i} ({}), {api}",
                step.method
            );
        }
        let az_ran = az_dir.join("az.log").exists();
        assert_eq!(az_ran, step.method == "cli", "step {i}: az ran: {az_ran}");
        no_leak(
            &out,
            &[
                small::CLIENT_SECRET,
                SYSTEM_ACCESS_TOKEN,
                &emulator.identity_header(),
            ],
        );
    }
}

/// azure_identity's IMDS credential, unchanged, against the emulator's IMDS-shaped endpoint:
/// a transport that sends what the credential addresses to `169.254.169.254` to the emulator
/// instead. This checks the request the VM credential really makes (path, `api-version`,
/// `resource`, `Metadata: true`, the user-assigned `client_id`) and that it reads the IMDS
/// answer; the binary itself cannot be pointed there (see the README's "Sign-in").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imds_credential_speaks_the_emulators_imds_shape() {
    use azure_core::credentials::TokenCredential;
    use azure_core::http::{ClientOptions, Transport};
    use azure_identity::{
        ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    };

    // The test process has no managed-identity variables, so the credential picks IMDS.
    for name in ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"] {
        if std::env::var_os(name).is_some() {
            eprintln!("skipped: {name} is set in the test environment");
            return;
        }
    }
    let emulator = Emulator::start(tenant("small"), Options::default())
        .await
        .unwrap();
    let target = url::Url::parse(&emulator.http_url()).unwrap();
    for (id, expected) in [
        (None, small::MI_SYSTEM),
        (Some(small::MI_USER), small::MI_USER),
    ] {
        let transport = RedirectImds {
            to: target.clone(),
            inner: reqwest::Client::builder().no_proxy().build().unwrap(),
            seen: Default::default(),
        };
        let seen = transport.seen.clone();
        let credential = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: id.map(|id| UserAssignedId::ClientId(id.to_string())),
            client_options: ClientOptions {
                transport: Some(Transport::new(std::sync::Arc::new(transport))),
                ..Default::default()
            },
        }))
        .unwrap();
        let token = credential
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap();
        let addressed = seen.lock().unwrap().clone();
        assert_eq!(addressed.len(), 1, "{addressed:?}");
        assert!(
            addressed[0]
                .starts_with("http://169.254.169.254/metadata/identity/oauth2/token?api-version="),
            "{addressed:?}"
        );
        assert!(addressed[0].contains("resource=https%3A%2F%2Fmanagement.azure.com"));
        let response = reqwest::Client::new()
            .get(format!(
                "{}/subscriptions?api-version=2022-12-01",
                emulator.http_url()
            ))
            .bearer_auth(token.token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let log = emulator.requests();
        assert_eq!(
            log.last().and_then(|r| r.client.as_deref()),
            Some(expected),
            "ARM saw the identity's token"
        );
    }
}

/// An azure_core transport that sends requests for `169.254.169.254` to `to` (same path and
/// query), recording the URL the credential addressed.
#[derive(Debug)]
struct RedirectImds {
    to: url::Url,
    inner: reqwest::Client,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

type ResponseFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = azure_core::Result<azure_core::http::AsyncRawResponse>>
            + Send
            + 'a,
    >,
>;

// `HttpClient` is declared with `#[async_trait]`; this is that macro's expansion.
impl azure_core::http::HttpClient for RedirectImds {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 azure_core::http::Request,
    ) -> ResponseFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.seen.lock().unwrap().push(request.url().to_string());
            let mut request = request.clone();
            if request.url().host_str() == Some("169.254.169.254") {
                let url = request.url_mut();
                url.set_host(self.to.host_str()).unwrap();
                url.set_port(self.to.port()).unwrap();
            }
            azure_core::http::HttpClient::execute_request(&self.inner, &request).await
        })
    }
}
