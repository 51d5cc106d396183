//! Signing in to Entra ID: choosing a credential, building the one HTTP client, caching tokens.
//!
//! This module owns everything between the command line's `--auth` / `--tenant` / `--cloud` /
//! `--ca-cert` and a working bearer token. Credentials are `azure_identity`'s own (Azure CLI,
//! service principal with secret or certificate, workload identity, Azure Pipelines service
//! connection, managed identity); lzaudit adds what it lacks for an unattended auditor: one
//! `reqwest::Client` (timeout, rustls, the `--ca-cert` root) shared by the credentials and the
//! ARM client, a token cache that renews five minutes before expiry (the Azure CLI credential
//! does not cache at all), `--auth auto` trying methods in a fixed, documented order, PEM
//! client certificates (azure_identity reads PKCS#12 only), a proxy-free client for the
//! managed-identity endpoint, and errors that say how to fix the problem. Nothing here ever
//! logs, displays or debug-prints a token or a secret: secrets travel as `azure_core::credentials::Secret`, whose `Debug` is
//! redacted, and errors carry only what Entra or the CLI said.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, SecretBytes, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential,
    AzurePipelinesCredentialOptions, ClientAssertionCredentialOptions, ClientCertificateCredential,
    ClientCertificateCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    Executor, ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use thiserror::Error;
use tracing::{debug, info};

use super::client::{ArmClient, RetryPolicy};
use super::endpoints::{Cloud, EndpointError, Endpoints};

/// How to sign in (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMethod {
    /// Try, in order, env → workload-identity → pipelines → cli → managed-identity; use the
    /// first whose prerequisites are present and that returns a token.
    #[default]
    Auto,
    /// The identity signed in to the Azure CLI (`az login`).
    Cli,
    /// A service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
    /// or `AZURE_CLIENT_CERTIFICATE_PATH` (PEM key and certificate, or PKCS#12; optional
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`).
    Env,
    /// Entra Workload ID: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`.
    WorkloadIdentity,
    /// The managed identity of the VM, App Service or container (user-assigned when
    /// `AZURE_CLIENT_ID` is set).
    ManagedIdentity,
    /// An Azure DevOps service connection with workload identity federation, inside an
    /// AzureCLI@2 / AzurePowerShell task: `AZURESUBSCRIPTION_TENANT_ID`,
    /// `AZURESUBSCRIPTION_CLIENT_ID`, `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`, and
    /// `SYSTEM_ACCESSTOKEN` mapped from `$(System.AccessToken)`.
    Pipelines,
}

/// The order `--auth auto` tries methods in: explicit configuration first (a service
/// principal in the environment, then federated tokens a platform mounted), then the
/// developer's CLI login, and the network-probing managed identity last.
pub const AUTO_ORDER: [AuthMethod; 5] = [
    AuthMethod::Env,
    AuthMethod::WorkloadIdentity,
    AuthMethod::Pipelines,
    AuthMethod::Cli,
    AuthMethod::ManagedIdentity,
];

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Auto => "auto",
            AuthMethod::Cli => "cli",
            AuthMethod::Env => "env",
            AuthMethod::WorkloadIdentity => "workload-identity",
            AuthMethod::ManagedIdentity => "managed-identity",
            AuthMethod::Pipelines => "pipelines",
        }
    }

    /// What to do when ARM refuses this method's token with 401.
    fn refused_hint(self) -> &'static str {
        match self {
            AuthMethod::Cli | AuthMethod::Auto => "sign in again with `az login`",
            AuthMethod::Env => {
                "check that AZURE_CLIENT_ID's service principal exists in the tenant and that its secret or certificate is current"
            }
            AuthMethod::WorkloadIdentity => {
                "check the federated credential of AZURE_CLIENT_ID and that AZURE_FEDERATED_TOKEN_FILE is fresh"
            }
            AuthMethod::ManagedIdentity => {
                "check that the managed identity exists and is enabled on this host"
            }
            AuthMethod::Pipelines => {
                "check the service connection's federated credential and that SYSTEM_ACCESSTOKEN is mapped into the task"
            }
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything `connect` needs; the CLI fills it from its flags.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub auth: AuthMethod,
    /// `--tenant`: overrides the tenant of every method that has one.
    pub tenant: Option<String>,
    pub cloud: Cloud,
    /// `--arm-endpoint`: a custom ARM base URL (Azure Stack, the emulator).
    pub arm_endpoint: Option<String>,
    /// `--authority-host`: a custom Entra authority host.
    pub authority_host: Option<String>,
    /// `--ca-cert FILE`: PEM certificates trusted in addition to the system roots.
    pub ca_cert: Option<PathBuf>,
    /// `--concurrency N`: the most ARM requests in flight at once (the client adapts below it).
    pub concurrency: usize,
    /// Per-request timeout (token and ARM requests alike).
    pub timeout: Duration,
    /// `--deadline SECS`: how long the run may take; throttled reads are retried until then.
    pub deadline: Option<Duration>,
    /// Retries of one ARM request after 429, 5xx or a transport error.
    pub max_retries: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            auth: AuthMethod::Auto,
            tenant: None,
            cloud: Cloud::Public,
            arm_endpoint: None,
            authority_host: None,
            ca_cert: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: Duration::from_secs(30),
            deadline: None,
            max_retries: RetryPolicy::default().max_retries,
        }
    }
}

/// A snapshot of the environment variables sign-in reads. `connect` takes the process
/// environment; tests pass their own so that nothing mutates global state.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The current process environment (variables that are not UTF-8 are ignored).
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment with exactly these variables.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn has(&self, name: &str) -> bool {
        self.var(name).is_some()
    }

    /// Whether a variable is set at all, even empty (azure_identity's managed-identity source
    /// detection counts an empty variable as set).
    fn present(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }
}

impl fmt::Debug for Environment {
    /// Names only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
const AZURE_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
const PIPELINE_TENANT_ID: &str = "AZURESUBSCRIPTION_TENANT_ID";
const PIPELINE_CLIENT_ID: &str = "AZURESUBSCRIPTION_CLIENT_ID";
const PIPELINE_CONNECTION_ID: &str = "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID";
const PIPELINE_ACCESS_TOKEN: &str = "SYSTEM_ACCESSTOKEN";
/// Read by `AzurePipelinesCredential` itself from the process environment (so are the
/// managed-identity variables by `ManagedIdentityCredential`); lzaudit checks the same names
/// in its `Environment`, which in the binary is the process environment.
const PIPELINE_OIDC_URI: &str = "SYSTEM_OIDCREQUESTURI";

/// How long `az account get-access-token` may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// Renew a cached token this long before it expires.
const RENEW_MARGIN: time::Duration = time::Duration::minutes(5);

/// Why sign-in failed. Every message names the fix.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot use --ca-cert {path}: {reason}")]
    CaCert { path: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("--auth {method} needs {needs}; not set: {}", .missing.join(", "))]
    Missing {
        method: AuthMethod,
        needs: &'static str,
        missing: Vec<&'static str>,
    },
    #[error("`az` was not found on PATH: install the Azure CLI or use --auth env")]
    CliNotFound,
    #[error("sign-in with --auth {method} failed{}: {message}", http_suffix(*.http_status))]
    Failed {
        method: AuthMethod,
        http_status: Option<u16>,
        message: String,
    },
    #[error("the token was refused (401): {hint}")]
    Refused { method: AuthMethod, hint: String },
    #[error(
        "no sign-in method worked (--auth auto tries env → workload-identity → pipelines → cli → managed-identity):{}",
        .attempts.iter().map(|(m, why)| format!("\n  {m}: {why}")).collect::<String>()
    )]
    NoMethod { attempts: Vec<(AuthMethod, String)> },
}

fn http_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl AuthError {
    /// The refusal error for a 401 from ARM after a fresh token.
    pub(crate) fn refused(method: AuthMethod, detail: &str) -> AuthError {
        let hint = if detail.is_empty() {
            method.refused_hint().to_string()
        } else {
            format!("{} ({detail})", method.refused_hint())
        };
        AuthError::Refused { method, hint }
    }
}

/// Converts a credential's error into the user-facing one, keeping Entra's AADSTS text.
fn credential_error(method: AuthMethod, err: &azure_core::Error) -> AuthError {
    // azure_identity's message, then the causes it wraps (a TLS or connection failure hides
    // behind "retry policy expired"), then its troubleshooting link last.
    let top = err.to_string();
    let (head, link) = match top.find("\nTo troubleshoot") {
        Some(i) => (&top[..i], Some(top[i..].trim())),
        None => (top.as_str(), None),
    };
    let mut message = head.trim().to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let text = e.to_string();
        if !text.trim().is_empty() && !message.contains(text.trim()) {
            message.push_str(": ");
            message.push_str(text.trim());
        }
        source = e.source();
    }
    if method == AuthMethod::Cli
        && (message.contains("az not found on PATH") || message.contains("wasn't found on PATH"))
    {
        return AuthError::CliNotFound;
    }
    let mut http_status = None;
    let mut error_code = None;
    let mut service_message = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(az) = e.downcast_ref::<azure_core::Error>()
            && let azure_core::error::ErrorKind::HttpResponse {
                status,
                error_code: code,
                raw_response,
            } = az.kind()
        {
            http_status = Some(u16::from(*status));
            error_code = code.clone();
            // What Azure DevOps' OIDC endpoint or a managed-identity endpoint said, which
            // azure_identity leaves out of some of its messages (Entra's AADSTS text is in
            // them already). Error bodies carry no token.
            service_message = raw_response
                .as_deref()
                .and_then(|r| serde_json::from_slice::<serde_json::Value>(r.body()).ok())
                .and_then(|body| body.get("message")?.as_str().map(str::to_string))
                .filter(|m| !m.trim().is_empty());
            break;
        }
        current = e.source();
    }
    if let Some(said) = service_message
        && !message.contains(said.trim())
    {
        message.push_str(&format!(" (the endpoint said: {})", said.trim()));
    }
    if let Some(code) = error_code
        && code.chars().all(|c| c.is_ascii_digit() || c == ',')
        && !message.contains("AADSTS")
    {
        message.push_str(&format!(" (AADSTS{})", code.replace(',', ", AADSTS")));
    }
    if message.contains("invalid peer certificate") {
        message
            .push_str(" (if the authority host uses a private CA, trust it with --ca-cert FILE)");
    }
    if let Some(link) = link {
        message.push('\n');
        message.push_str(link);
    }
    AuthError::Failed {
        method,
        http_status,
        message,
    }
}

/// Builds a new credential of the method signed in with. azure_identity's credentials keep
/// their own token cache, which nothing can flush: after ARM refuses a token, asking the same
/// credential again hands back the same refused token. A fresh credential has an empty cache.
pub(crate) type CredentialFactory =
    Arc<dyn Fn() -> Result<Arc<dyn TokenCredential>, AuthError> + Send + Sync>;

/// The bearer token source shared by every request: one credential, one scope, a cache that
/// renews `RENEW_MARGIN` before expiry and is renewed after a 401.
pub(crate) struct TokenCache {
    scope: String,
    method: AuthMethod,
    /// Makes a new credential when a token is refused; without one, the same credential is
    /// asked again (the Azure CLI, which keeps no cache of ours).
    renew: Option<CredentialFactory>,
    state: tokio::sync::Mutex<CacheState>,
}

struct CacheState {
    credential: Arc<dyn TokenCredential>,
    cached: Option<AccessToken>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("method", &self.method)
            .field("scope", &self.scope)
            .field("renewable", &self.renew.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(
        credential: Arc<dyn TokenCredential>,
        scope: String,
        method: AuthMethod,
    ) -> TokenCache {
        TokenCache {
            scope,
            method,
            renew: None,
            state: tokio::sync::Mutex::new(CacheState {
                credential,
                cached: None,
            }),
        }
    }

    /// The same cache, building a new credential with `renew` whenever a token is refused.
    pub(crate) fn renewing_with(mut self, renew: CredentialFactory) -> TokenCache {
        self.renew = Some(renew);
        self
    }

    pub(crate) fn method(&self) -> AuthMethod {
        self.method
    }

    /// A valid token: the cached one unless it expires within the margin. Concurrent callers
    /// wait for one renewal instead of each asking the credential.
    pub(crate) async fn token(&self) -> Result<Secret, AuthError> {
        let mut state = self.state.lock().await;
        if let Some(token) = state.cached.as_ref()
            && token.expires_on - RENEW_MARGIN > time::OffsetDateTime::now_utc()
        {
            return Ok(token.token.clone());
        }
        let fresh = state
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| credential_error(self.method, &e))?;
        debug!(method = %self.method, expires_on = %fresh.expires_on, "acquired an access token");
        let secret = fresh.token.clone();
        state.cached = Some(fresh);
        Ok(secret)
    }

    /// Forgets `refused` after ARM answered 401 to it, so the next request signs in again with
    /// a new credential (and so an empty azure_identity cache). When another request already
    /// replaced that token, nothing happens: one revocation costs one renewal, not one per
    /// request in flight.
    pub(crate) async fn invalidate(&self, refused: &Secret) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let still_cached = state
            .cached
            .as_ref()
            .is_none_or(|t| t.token.secret() == refused.secret());
        if !still_cached {
            return Ok(());
        }
        state.cached = None;
        if let Some(renew) = &self.renew {
            state.credential = renew()?;
        }
        Ok(())
    }
}

/// Builds the one HTTP client: per-request timeout, rustls with the platform roots plus the
/// PEM certificates of `ca_cert`, no redirects (a redirect must not carry a bearer token).
pub fn build_http_client(
    timeout: Duration,
    ca_cert: Option<&Path>,
) -> Result<reqwest::Client, AuthError> {
    http_client_builder(timeout, ca_cert)?
        .build()
        .map_err(|e| AuthError::Http(error_chain(&e)))
}

fn http_client_builder(
    timeout: Duration,
    ca_cert: Option<&Path>,
) -> Result<reqwest::ClientBuilder, AuthError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("lzaudit/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_cert {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| AuthError::CaCert {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| AuthError::CaCert {
            path: shown.clone(),
            reason: format!("not a PEM certificate bundle: {e}"),
        })?;
        if certs.is_empty() {
            return Err(AuthError::CaCert {
                path: shown,
                reason: "no PEM certificate found in the file".into(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    Ok(builder)
}

/// An error and its sources on one line.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        current = e.source();
    }
    out
}

/// Signs in and returns an ARM client holding a first, verified token: a bad credential
/// fails here, before anything is collected.
pub async fn connect(options: &ConnectOptions) -> Result<ArmClient, AuthError> {
    connect_with(options, &Environment::from_process()).await
}

/// `connect` with an explicit environment (tests; embedding).
pub async fn connect_with(
    options: &ConnectOptions,
    env: &Environment,
) -> Result<ArmClient, AuthError> {
    let endpoints = Endpoints::resolve(
        options.cloud,
        options.arm_endpoint.as_deref(),
        options.authority_host.as_deref(),
    )?;
    let http = build_http_client(options.timeout, options.ca_cert.as_deref())?;
    let context = SignIn {
        options,
        env,
        endpoints: &endpoints,
        http: &http,
    };
    let tokens = context.sign_in().await?;
    info!(method = %tokens.method(), arm = %endpoints.arm_text(), "signed in with --auth {}", tokens.method());
    let tenant = options.tenant.clone().or_else(|| match tokens.method() {
        AuthMethod::Env | AuthMethod::WorkloadIdentity => {
            env.var(AZURE_TENANT_ID).map(str::to_string)
        }
        AuthMethod::Pipelines => env.var(PIPELINE_TENANT_ID).map(str::to_string),
        _ => None,
    });
    let retry = RetryPolicy {
        max_retries: options.max_retries,
        ..RetryPolicy::default()
    };
    let client = ArmClient::new(
        endpoints.arm.clone(),
        http,
        Arc::new(tokens),
        options.concurrency,
        retry,
        tenant,
    );
    Ok(match options.deadline {
        Some(deadline) => client.with_deadline(std::time::Instant::now() + deadline),
        None => client,
    })
}

/// The default ceiling of requests in flight (`--concurrency`); see the README's "Large
/// tenants" for the measurement behind it.
pub const DEFAULT_CONCURRENCY: usize = 128;

struct SignIn<'a> {
    options: &'a ConnectOptions,
    env: &'a Environment,
    endpoints: &'a Endpoints,
    http: &'a reqwest::Client,
}

impl SignIn<'_> {
    async fn sign_in(&self) -> Result<TokenCache, AuthError> {
        if self.options.auth != AuthMethod::Auto {
            return self.try_method(self.options.auth).await;
        }
        let mut attempts = Vec::new();
        for method in AUTO_ORDER {
            if let Some(missing) = self.prerequisites_missing(method).await {
                debug!(%method, "--auth auto skips {method}: {missing}");
                attempts.push((method, format!("skipped: {missing}")));
                continue;
            }
            match self.try_method(method).await {
                Ok(tokens) => return Ok(tokens),
                Err(err) => {
                    debug!(%method, "--auth auto: {method} did not sign in: {err}");
                    attempts.push((method, err.to_string()));
                }
            }
        }
        Err(AuthError::NoMethod { attempts })
    }

    /// Why `method` cannot even be tried under `--auth auto`, if it cannot.
    async fn prerequisites_missing(&self, method: AuthMethod) -> Option<String> {
        let env = self.env;
        let unset = |names: &[&str]| -> Vec<String> {
            names
                .iter()
                .filter(|n| !env.has(n))
                .map(|n| n.to_string())
                .collect()
        };
        let tenant_given = self.options.tenant.is_some();
        let missing: Vec<String> = match method {
            AuthMethod::Auto => Vec::new(),
            AuthMethod::Env => {
                let mut m = unset(&[AZURE_CLIENT_ID]);
                if !tenant_given {
                    m.extend(unset(&[AZURE_TENANT_ID]));
                }
                if !env.has(AZURE_CLIENT_SECRET) && !env.has(AZURE_CLIENT_CERTIFICATE_PATH) {
                    m.push(format!(
                        "{AZURE_CLIENT_SECRET} or {AZURE_CLIENT_CERTIFICATE_PATH}"
                    ));
                }
                m
            }
            AuthMethod::WorkloadIdentity => {
                let mut m = unset(&[AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID]);
                if !tenant_given {
                    m.extend(unset(&[AZURE_TENANT_ID]));
                }
                m
            }
            AuthMethod::Pipelines => {
                let mut m = unset(&[
                    PIPELINE_CLIENT_ID,
                    PIPELINE_CONNECTION_ID,
                    PIPELINE_ACCESS_TOKEN,
                    PIPELINE_OIDC_URI,
                ]);
                if !tenant_given {
                    m.extend(unset(&[PIPELINE_TENANT_ID]));
                }
                m
            }
            AuthMethod::Cli => {
                if find_on_path(env.var("PATH"), "az").is_none() {
                    return Some("`az` is not on PATH".into());
                }
                Vec::new()
            }
            AuthMethod::ManagedIdentity => match ManagedIdentitySource::of(env) {
                ManagedIdentitySource::AppService => Vec::new(),
                ManagedIdentitySource::Unsupported { .. } => {
                    return Some(ManagedIdentitySource::of(env).to_string());
                }
                ManagedIdentitySource::Imds => {
                    if imds_reachable().await {
                        Vec::new()
                    } else {
                        return Some(
                            "no IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service, Container Apps), and the instance metadata service (169.254.169.254) does not answer"
                                .into(),
                        );
                    }
                }
            },
        };
        if missing.is_empty() {
            None
        } else {
            Some(format!("not set: {}", missing.join(", ")))
        }
    }

    fn tenant(&self, fallback: &str) -> Option<String> {
        self.options
            .tenant
            .clone()
            .or_else(|| self.env.var(fallback).map(str::to_string))
    }

    fn client_options(&self) -> ClientOptions {
        self.client_options_with(self.http)
    }

    fn client_options_with(&self, http: &reqwest::Client) -> ClientOptions {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = self
            .endpoints
            .authority
            .as_str()
            .trim_end_matches('/')
            .to_string();
        ClientOptions {
            transport: Some(Transport::new(Arc::new(http.clone()))),
            cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
            // Token requests get the same retry budget as ARM requests (`--max-retries`),
            // instead of azure_core's default of 8 retries over a minute.
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: azure_core::time::Duration::milliseconds(500),
                max_retries: self.options.max_retries,
                max_total_elapsed: azure_core::time::Duration::seconds(30),
                max_delay: azure_core::time::Duration::seconds(8),
            }),
            ..Default::default()
        }
    }

    /// The credential methods that talk to the authority host need it on https.
    fn require_https_authority(&self, method: AuthMethod) -> Result<(), AuthError> {
        if self.endpoints.authority.scheme() != "https" {
            return Err(AuthError::Failed {
                method,
                http_status: None,
                message: format!(
                    "the authority host {} must use https:// (azure_identity refuses anything else)",
                    self.endpoints.authority
                ),
            });
        }
        Ok(())
    }

    /// Builds `method`'s credential without contacting anything.
    pub(crate) fn credential(
        &self,
        method: AuthMethod,
    ) -> Result<Arc<dyn TokenCredential>, AuthError> {
        let env = self.env;
        let fail = |e: azure_core::Error| credential_error(method, &e);
        let credential: Arc<dyn TokenCredential> = match method {
            AuthMethod::Auto => unreachable!("auto is resolved to a concrete method first"),
            AuthMethod::Env => {
                let tenant = self.tenant(AZURE_TENANT_ID);
                let client = env.var(AZURE_CLIENT_ID);
                let secret = env.var(AZURE_CLIENT_SECRET);
                let cert = env.var(AZURE_CLIENT_CERTIFICATE_PATH);
                let (Some(tenant), Some(client), true) = (
                    tenant.as_deref(),
                    client,
                    secret.is_some() || cert.is_some(),
                ) else {
                    let mut missing = Vec::new();
                    if tenant.is_none() {
                        missing.push(AZURE_TENANT_ID);
                    }
                    if client.is_none() {
                        missing.push(AZURE_CLIENT_ID);
                    }
                    if secret.is_none() && cert.is_none() {
                        missing.push("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH");
                    }
                    return Err(AuthError::Missing {
                        method,
                        needs: "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID, and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH",
                        missing,
                    });
                };
                self.require_https_authority(method)?;
                if let Some(secret) = secret {
                    ClientSecretCredential::new(
                        tenant,
                        client.to_string(),
                        Secret::new(secret.to_string()),
                        Some(ClientSecretCredentialOptions {
                            client_options: self.client_options(),
                        }),
                    )
                    .map_err(fail)?
                } else {
                    let path = cert.unwrap_or_default();
                    let password = env.var(AZURE_CLIENT_CERTIFICATE_PASSWORD);
                    let pkcs12 =
                        load_certificate(Path::new(path), password).map_err(|message| {
                            AuthError::Failed {
                                method,
                                http_status: None,
                                message,
                            }
                        })?;
                    ClientCertificateCredential::new(
                        tenant.to_string(),
                        client.to_string(),
                        pkcs12.bytes,
                        Some(ClientCertificateCredentialOptions {
                            client_options: self.client_options(),
                            password: pkcs12.password,
                        }),
                    )
                    .map_err(fail)?
                }
            }
            AuthMethod::WorkloadIdentity => {
                let tenant = self.tenant(AZURE_TENANT_ID);
                let client = env.var(AZURE_CLIENT_ID);
                let file = env.var(AZURE_FEDERATED_TOKEN_FILE);
                let (Some(tenant), Some(client), Some(file)) = (tenant, client, file) else {
                    return Err(AuthError::Missing {
                        method,
                        needs: "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID (or --tenant)",
                        missing: [
                            (
                                AZURE_FEDERATED_TOKEN_FILE,
                                env.has(AZURE_FEDERATED_TOKEN_FILE),
                            ),
                            (AZURE_CLIENT_ID, env.has(AZURE_CLIENT_ID)),
                            (
                                AZURE_TENANT_ID,
                                self.options.tenant.is_some() || env.has(AZURE_TENANT_ID),
                            ),
                        ]
                        .into_iter()
                        .filter(|(_, set)| !set)
                        .map(|(n, _)| n)
                        .collect(),
                    });
                };
                self.require_https_authority(method)?;
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: self.client_options(),
                    },
                    client_id: Some(client.to_string()),
                    tenant_id: Some(tenant),
                    token_file_path: Some(PathBuf::from(file)),
                }))
                .map_err(fail)?
            }
            AuthMethod::Pipelines => {
                let tenant = self.tenant(PIPELINE_TENANT_ID);
                let client = env.var(PIPELINE_CLIENT_ID);
                let connection = env.var(PIPELINE_CONNECTION_ID);
                let token = env.var(PIPELINE_ACCESS_TOKEN);
                let (Some(tenant), Some(client), Some(connection), Some(token), true) = (
                    tenant,
                    client,
                    connection,
                    token,
                    env.has(PIPELINE_OIDC_URI),
                ) else {
                    return Err(AuthError::Missing {
                        method,
                        needs: "AZURESUBSCRIPTION_TENANT_ID, AZURESUBSCRIPTION_CLIENT_ID, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID (set by the AzureCLI@2 task), SYSTEM_OIDCREQUESTURI (set in every job) and SYSTEM_ACCESSTOKEN (map it with `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`)",
                        missing: [
                            (
                                PIPELINE_TENANT_ID,
                                self.options.tenant.is_some() || env.has(PIPELINE_TENANT_ID),
                            ),
                            (PIPELINE_CLIENT_ID, env.has(PIPELINE_CLIENT_ID)),
                            (PIPELINE_CONNECTION_ID, env.has(PIPELINE_CONNECTION_ID)),
                            (PIPELINE_ACCESS_TOKEN, env.has(PIPELINE_ACCESS_TOKEN)),
                            (PIPELINE_OIDC_URI, env.has(PIPELINE_OIDC_URI)),
                        ]
                        .into_iter()
                        .filter(|(_, set)| !set)
                        .map(|(n, _)| n)
                        .collect(),
                    });
                };
                self.require_https_authority(method)?;
                AzurePipelinesCredential::new(
                    tenant,
                    client.to_string(),
                    connection,
                    Secret::new(token.to_string()),
                    Some(AzurePipelinesCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: self.client_options(),
                        },
                    }),
                )
                .map_err(fail)?
            }
            AuthMethod::Cli => {
                let path = env.var("PATH");
                if find_on_path(path, "az").is_none() {
                    return Err(AuthError::CliNotFound);
                }
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: self.options.tenant.clone(),
                    subscription: None,
                    executor: Some(Arc::new(CliExecutor {
                        path: path.map(OsString::from),
                        timeout: CLI_TIMEOUT,
                    })),
                }))
                .map_err(fail)?
            }
            AuthMethod::ManagedIdentity => {
                let source = ManagedIdentitySource::of(env);
                if let ManagedIdentitySource::Unsupported { .. } = source {
                    return Err(AuthError::Failed {
                        method,
                        http_status: None,
                        message: source.to_string(),
                    });
                }
                let user_assigned = env.var(AZURE_CLIENT_ID);
                info!(
                    "managed identity: {source}, {}",
                    user_assigned.map_or_else(
                        || "system-assigned".to_string(),
                        |id| format!("user-assigned {AZURE_CLIENT_ID} {id}")
                    )
                );
                // The identity endpoint is on the host (loopback, link-local): never through
                // HTTP_PROXY / HTTPS_PROXY (IMDS refuses proxied requests).
                let direct =
                    http_client_builder(self.options.timeout, self.options.ca_cert.as_deref())?
                        .no_proxy()
                        .build()
                        .map_err(|e| AuthError::Http(error_chain(&e)))?;
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: user_assigned
                        .map(|id| UserAssignedId::ClientId(id.to_string())),
                    client_options: self.client_options_with(&direct),
                }))
                .map_err(fail)?
            }
        };
        Ok(credential)
    }

    /// Builds `method`'s credential and acquires a first token with it.
    async fn try_method(&self, method: AuthMethod) -> Result<TokenCache, AuthError> {
        let credential = self.credential(method)?;
        let (options, env, endpoints, http) = (
            self.options.clone(),
            self.env.clone(),
            self.endpoints.clone(),
            self.http.clone(),
        );
        let renew: CredentialFactory = Arc::new(move || {
            SignIn {
                options: &options,
                env: &env,
                endpoints: &endpoints,
                http: &http,
            }
            .credential(method)
        });
        let tokens =
            TokenCache::new(credential, self.endpoints.scope.clone(), method).renewing_with(renew);
        let first = tokens.token();
        if method == AuthMethod::ManagedIdentity && self.options.auth == AuthMethod::Auto {
            // The IMDS credential retries for over a minute; under auto, bound it.
            tokio::time::timeout(self.options.timeout, first)
                .await
                .map_err(|_| AuthError::Failed {
                    method,
                    http_status: None,
                    message: format!(
                        "no token within {:?} from the managed identity endpoint",
                        self.options.timeout
                    ),
                })??;
        } else {
            first.await?;
        }
        Ok(tokens)
    }
}

/// A client certificate as `ClientCertificateCredential` takes it: PKCS#12 and its password.
struct Pkcs12Certificate {
    bytes: SecretBytes,
    password: Option<Secret>,
}

/// Reads `AZURE_CLIENT_CERTIFICATE_PATH`: PKCS#12 (`.pfx`, with
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD` if it has one), or PEM holding the private key
/// (encrypted with `AZURE_CLIENT_CERTIFICATE_PASSWORD`, or not) and the certificate, with its
/// chain after it if any — what `az ad sp create-for-rbac --create-cert` writes. azure_identity
/// reads PKCS#12 only, so PEM is converted in memory. The file is opened here rather than left
/// to azure_identity so that a wrong password or file says so and names the variables.
/// Messages never include the file's content or the password.
fn load_certificate(path: &Path, password: Option<&str>) -> Result<Pkcs12Certificate, String> {
    use openssl::pkcs12::Pkcs12;
    use openssl::pkey::PKey;
    use openssl::stack::Stack;
    use openssl::x509::X509;

    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read {AZURE_CLIENT_CERTIFICATE_PATH} {shown}: {e}"))?;
    let is_pem = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| bytes[start..].starts_with(b"-----BEGIN"));
    if !is_pem {
        Pkcs12::from_der(&bytes)
            .map_err(|_| {
                format!("{AZURE_CLIENT_CERTIFICATE_PATH} {shown} is neither PEM nor PKCS#12 (.pfx)")
            })?
            .parse2(password.unwrap_or(""))
            .map_err(|_| {
                format!(
                    "cannot open the PKCS#12 file {AZURE_CLIENT_CERTIFICATE_PATH} {shown}: {}",
                    if password.is_some() {
                        "wrong AZURE_CLIENT_CERTIFICATE_PASSWORD"
                    } else {
                        "it is password-protected: set AZURE_CLIENT_CERTIFICATE_PASSWORD"
                    }
                )
            })?;
        return Ok(Pkcs12Certificate {
            bytes: SecretBytes::new(bytes),
            password: password.map(|p| Secret::new(p.to_string())),
        });
    }
    // Without a password, an encrypted key must fail rather than make OpenSSL prompt for a
    // pass phrase on the terminal (its default callback), which would hang a pipeline.
    let key = match password {
        Some(p) => PKey::private_key_from_pem_passphrase(&bytes, p.as_bytes()),
        None => PKey::private_key_from_pem_callback(&bytes, |_| Ok(0)),
    }
    .map_err(|_| {
        format!(
            "the PEM file {AZURE_CLIENT_CERTIFICATE_PATH} {shown} has no private key lzaudit can read ({})",
            if password.is_some() {
                "or AZURE_CLIENT_CERTIFICATE_PASSWORD is wrong"
            } else {
                "an encrypted key needs AZURE_CLIENT_CERTIFICATE_PASSWORD"
            }
        )
    })?;
    let mut certs = X509::stack_from_pem(&bytes).unwrap_or_default();
    let leaf = certs
        .iter()
        .position(|c| c.public_key().is_ok_and(|k| k.public_eq(&key)))
        .map(|i| certs.remove(i))
        .ok_or_else(|| {
            format!(
                "the PEM file {AZURE_CLIENT_CERTIFICATE_PATH} {shown} has no certificate for its private key"
            )
        })?;
    let mut builder = Pkcs12::builder();
    builder.pkey(&key).cert(&leaf);
    if !certs.is_empty() {
        let mut chain = Stack::new().map_err(|e| e.to_string())?;
        for cert in certs {
            chain.push(cert).map_err(|e| e.to_string())?;
        }
        builder.ca(chain);
    }
    let der = builder.build2("").and_then(|p| p.to_der()).map_err(|e| {
        format!("cannot convert {AZURE_CLIENT_CERTIFICATE_PATH} {shown} to PKCS#12: {e}")
    })?;
    Ok(Pkcs12Certificate {
        bytes: SecretBytes::new(der),
        password: None,
    })
}

const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
const IDENTITY_SERVER_THUMBPRINT: &str = "IDENTITY_SERVER_THUMBPRINT";
const IMDS_ENDPOINT: &str = "IMDS_ENDPOINT";
const MSI_ENDPOINT: &str = "MSI_ENDPOINT";
const MSI_SECRET: &str = "MSI_SECRET";

/// Where azure_identity 1.0's `ManagedIdentityCredential` gets its token, decided from the
/// environment exactly as its (private) `get_source` does, so that lzaudit can say which one
/// it uses and why it cannot use the others. 1.0 supports two: App Service (also Container
/// Apps and Functions) and IMDS (VMs, scale sets, AKS nodes), the latter always at
/// `http://169.254.169.254/metadata/identity/oauth2/token`, which no variable changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ManagedIdentitySource {
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService,
    /// Nothing else matched: the instance metadata service.
    Imds,
    /// Service Fabric, Azure Arc, Azure ML or Cloud Shell: detected, not supported by 1.0.
    Unsupported {
        kind: &'static str,
        variables: &'static str,
    },
}

impl ManagedIdentitySource {
    fn of(env: &Environment) -> ManagedIdentitySource {
        let set = |name| env.present(name);
        if set(IDENTITY_ENDPOINT) {
            if set(IDENTITY_HEADER) {
                if set(IDENTITY_SERVER_THUMBPRINT) {
                    return ManagedIdentitySource::Unsupported {
                        kind: "Service Fabric",
                        variables: "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT",
                    };
                }
                return ManagedIdentitySource::AppService;
            }
            if set(IMDS_ENDPOINT) {
                return ManagedIdentitySource::Unsupported {
                    kind: "Azure Arc",
                    variables: "IDENTITY_ENDPOINT and IMDS_ENDPOINT",
                };
            }
        } else if set(MSI_ENDPOINT) {
            return ManagedIdentitySource::Unsupported {
                kind: if set(MSI_SECRET) {
                    "Azure ML"
                } else {
                    "Cloud Shell"
                },
                variables: if set(MSI_SECRET) {
                    "MSI_ENDPOINT and MSI_SECRET"
                } else {
                    "MSI_ENDPOINT"
                },
            };
        }
        ManagedIdentitySource::Imds
    }
}

impl fmt::Display for ManagedIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagedIdentitySource::AppService => {
                f.write_str("the App Service endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER)")
            }
            ManagedIdentitySource::Imds => {
                f.write_str("the instance metadata service (169.254.169.254)")
            }
            ManagedIdentitySource::Unsupported { kind, variables } => write!(
                f,
                "{variables} select the {kind} managed identity, which azure_identity 1.0 does not support; use --auth env, workload-identity or cli there"
            ),
        }
    }
}

/// Whether the instance metadata service accepts a TCP connection within a second.
async fn imds_reachable() -> bool {
    let connect = tokio::net::TcpStream::connect(("169.254.169.254", 80));
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

/// The first executable file called `name` in a `PATH` value.
pub fn find_on_path(path: Option<&str>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path?).find_map(|dir| {
        let candidate = dir.join(name);
        is_executable(&candidate).then_some(candidate)
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("cmd").is_file() || path.with_extension("exe").is_file()
}

/// Runs the Azure CLI for `AzureCliCredential` on tokio, with the caller's `PATH` (so a test
/// can put a stand-in `az` first without touching the process environment) and a timeout
/// (a hung `az` must not hang the audit).
#[derive(Debug)]
struct CliExecutor {
    path: Option<OsString>,
    timeout: Duration,
}

type BoxedOutput<'a> = Pin<Box<dyn Future<Output = io::Result<Output>> + Send + 'a>>;

// `Executor` is declared with `#[async_trait]`; this is that macro's expansion written out,
// so lzaudit does not need the `async-trait` crate for one impl.
impl Executor for CliExecutor {
    fn run<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        program: &'life1 OsStr,
        args: &'life2 [&'life3 OsStr],
    ) -> BoxedOutput<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let mut command = tokio::process::Command::new(program);
            command.args(args).kill_on_drop(true);
            if let Some(path) = &self.path {
                command.env("PATH", path);
            }
            match tokio::time::timeout(self.timeout, command.output()).await {
                Ok(output) => output,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("`az` did not answer within {:?}", self.timeout),
                )),
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use azure_core::credentials::TokenRequestOptions;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A credential handing out numbered tokens with a fixed lifetime.
    #[derive(Debug)]
    pub(crate) struct CountingCredential {
        pub(crate) calls: AtomicUsize,
        pub(crate) lifetime: time::Duration,
    }

    type TokenFuture<'a> =
        Pin<Box<dyn Future<Output = azure_core::Result<AccessToken>> + Send + 'a>>;

    impl TokenCredential for CountingCredential {
        fn get_token<'life0, 'life1, 'life2, 'life3, 'async_trait>(
            &'life0 self,
            _scopes: &'life1 [&'life2 str],
            _options: Option<TokenRequestOptions<'life3>>,
        ) -> TokenFuture<'async_trait>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            'life2: 'async_trait,
            'life3: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(AccessToken::new(
                    format!("secret-token-{n}"),
                    time::OffsetDateTime::now_utc() + self.lifetime,
                ))
            })
        }
    }

    pub(crate) fn counting(lifetime: time::Duration) -> Arc<CountingCredential> {
        Arc::new(CountingCredential {
            calls: AtomicUsize::new(0),
            lifetime,
        })
    }

    #[tokio::test]
    async fn cache_reuses_until_the_margin_and_after_invalidation_asks_again() {
        let long = counting(time::Duration::hours(1));
        let cache = TokenCache::new(long.clone(), "s/.default".into(), AuthMethod::Cli);
        assert_eq!(cache.token().await.unwrap().secret(), "secret-token-1");
        assert_eq!(cache.token().await.unwrap().secret(), "secret-token-1");
        assert_eq!(long.calls.load(Ordering::SeqCst), 1);
        // A refused token that was already replaced changes nothing.
        cache
            .invalidate(&Secret::new("secret-token-0"))
            .await
            .unwrap();
        assert_eq!(cache.token().await.unwrap().secret(), "secret-token-1");
        cache
            .invalidate(&Secret::new("secret-token-1"))
            .await
            .unwrap();
        assert_eq!(cache.token().await.unwrap().secret(), "secret-token-2");

        // With a factory, a refused token brings a new credential (azure_identity credentials
        // cache their tokens and would hand the refused one back).
        let first = counting(time::Duration::hours(1));
        let second = counting(time::Duration::hours(1));
        let next = second.clone();
        let cache = TokenCache::new(first.clone(), "s/.default".into(), AuthMethod::Env)
            .renewing_with(Arc::new(move || {
                Ok(next.clone() as Arc<dyn TokenCredential>)
            }));
        let token = cache.token().await.unwrap();
        cache.invalidate(&token).await.unwrap();
        cache.token().await.unwrap();
        assert_eq!(
            (
                first.calls.load(Ordering::SeqCst),
                second.calls.load(Ordering::SeqCst)
            ),
            (1, 1)
        );

        // A token inside the renewal margin is used once but never reused.
        let short = counting(time::Duration::minutes(4));
        let cache = TokenCache::new(short.clone(), "s/.default".into(), AuthMethod::Cli);
        cache.token().await.unwrap();
        cache.token().await.unwrap();
        assert_eq!(short.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn secrets_never_reach_debug_or_display() {
        let env = Environment::from_vars([
            (AZURE_TENANT_ID, "tenant-1"),
            (AZURE_CLIENT_ID, "client-1"),
            (AZURE_CLIENT_SECRET, "very-secret-value"),
        ]);
        let options = ConnectOptions {
            auth: AuthMethod::Env,
            ..ConnectOptions::default()
        };
        let endpoints = Endpoints::resolve(Cloud::Public, None, None).unwrap();
        let http = build_http_client(Duration::from_secs(5), None).unwrap();
        let sign_in = SignIn {
            options: &options,
            env: &env,
            endpoints: &endpoints,
            http: &http,
        };
        let credential = sign_in.credential(AuthMethod::Env).unwrap();
        let cache = TokenCache::new(credential.clone(), endpoints.scope.clone(), AuthMethod::Env);
        for text in [
            format!("{env:?}"),
            format!("{credential:?}"),
            format!("{cache:?}"),
            format!("{:?}", Secret::new("very-secret-value")),
        ] {
            assert!(!text.contains("very-secret-value"), "{text}");
        }

        let tokens = counting(time::Duration::hours(1));
        let cache = TokenCache::new(tokens, "s".into(), AuthMethod::Cli);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let token = runtime.block_on(cache.token()).unwrap();
        assert!(!format!("{token:?}").contains("secret-token"));
        assert!(!format!("{cache:?}").contains("secret-token"));
        let client = ArmClient::new(
            endpoints.arm.clone(),
            http,
            Arc::new(cache),
            4,
            RetryPolicy::default(),
            None,
        );
        assert!(!format!("{client:?}").contains("secret-token"));
    }

    #[test]
    fn missing_variables_are_named() {
        let env = Environment::from_vars([(AZURE_CLIENT_ID, "c")]);
        let options = ConnectOptions::default();
        let endpoints = Endpoints::resolve(Cloud::Public, None, None).unwrap();
        let http = build_http_client(Duration::from_secs(5), None).unwrap();
        let sign_in = SignIn {
            options: &options,
            env: &env,
            endpoints: &endpoints,
            http: &http,
        };
        let err = sign_in.credential(AuthMethod::Env).unwrap_err().to_string();
        assert!(
            err.contains("AZURE_TENANT_ID")
                && err.contains("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
                && !err.contains("not set: AZURE_CLIENT_ID"),
            "{err}"
        );
        let err = sign_in
            .credential(AuthMethod::Pipelines)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SYSTEM_ACCESSTOKEN")
                && err.contains("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
            "{err}"
        );
        let err = sign_in
            .credential(AuthMethod::WorkloadIdentity)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not set: AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID"),
            "{err}"
        );
        let no_az = Environment::from_vars([("PATH", "/nonexistent-dir")]);
        let sign_in = SignIn {
            env: &no_az,
            ..sign_in
        };
        let err = sign_in.credential(AuthMethod::Cli).unwrap_err().to_string();
        assert_eq!(
            err,
            "`az` was not found on PATH: install the Azure CLI or use --auth env"
        );
    }

    #[test]
    fn refusal_and_auto_messages() {
        let err = AuthError::refused(AuthMethod::Cli, "InvalidAuthenticationToken");
        assert_eq!(
            err.to_string(),
            "the token was refused (401): sign in again with `az login` (InvalidAuthenticationToken)"
        );
        let err = AuthError::NoMethod {
            attempts: vec![
                (AuthMethod::Env, "skipped: not set: AZURE_CLIENT_ID".into()),
                (AuthMethod::Cli, "`az` was not found on PATH".into()),
            ],
        };
        let text = err.to_string();
        assert!(
            text.contains("\n  env: skipped: not set: AZURE_CLIENT_ID"),
            "{text}"
        );
        assert!(text.contains("\n  cli: `az`"), "{text}");
    }

    #[test]
    fn ca_cert_errors_name_the_file() {
        let err = build_http_client(
            Duration::from_secs(1),
            Some(Path::new("/nonexistent/ca.pem")),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot use --ca-cert /nonexistent/ca.pem"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty.pem");
        std::fs::write(&file, "not a certificate").unwrap();
        let err = build_http_client(Duration::from_secs(1), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty.pem"), "{err}");
    }

    #[test]
    fn certificates_load_from_pem_or_pkcs12_and_errors_name_the_variables() {
        use openssl::pkcs12::Pkcs12;
        let cert = lzaudit_emulator::ClientCertificate::generate("unit").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let opens = |c: &Pkcs12Certificate| {
            let password = c.password.as_ref().map_or("", |p| p.secret());
            let parsed = Pkcs12::from_der(c.bytes.bytes())
                .and_then(|p| p.parse2(password))
                .unwrap();
            let leaf = parsed.cert.unwrap();
            assert_eq!(
                leaf.to_pem().unwrap(),
                cert.certificate_pem().as_bytes(),
                "the certificate is the one in the file"
            );
            assert!(parsed.pkey.is_some());
        };
        // PEM, key first or certificate first, with leading blank lines.
        let pem = dir.path().join("both.pem");
        std::fs::write(&pem, format!("\n{}", cert.pem_bundle())).unwrap();
        opens(&load_certificate(&pem, None).unwrap());
        let swapped = dir.path().join("swapped.pem");
        std::fs::write(
            &swapped,
            format!("{}{}", cert.certificate_pem(), cert.private_key_pem()),
        )
        .unwrap();
        opens(&load_certificate(&swapped, None).unwrap());
        // PKCS#12 with a password.
        let pfx = dir.path().join("c.pfx");
        std::fs::write(&pfx, cert.pkcs12("pw-123").unwrap()).unwrap();
        opens(&load_certificate(&pfx, Some("pw-123")).unwrap());
        let err = |path: &Path, password: Option<&str>| {
            let message = load_certificate(path, password).err().unwrap();
            assert!(
                !message.contains("pw-123") && !message.contains("PRIVATE"),
                "{message}"
            );
            message
        };
        assert!(err(&pfx, Some("nope")).contains("wrong AZURE_CLIENT_CERTIFICATE_PASSWORD"));
        assert!(err(&pfx, None).contains("set AZURE_CLIENT_CERTIFICATE_PASSWORD"));
        // An encrypted PEM key: needs the password, never prompts for it.
        let key =
            openssl::pkey::PKey::private_key_from_pem(cert.private_key_pem().as_bytes()).unwrap();
        let encrypted = key
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pw-123")
            .unwrap();
        let locked = dir.path().join("locked.pem");
        std::fs::write(
            &locked,
            [encrypted.as_slice(), cert.certificate_pem().as_bytes()].concat(),
        )
        .unwrap();
        opens(&load_certificate(&locked, Some("pw-123")).unwrap());
        assert!(
            err(&locked, None).contains("an encrypted key needs AZURE_CLIENT_CERTIFICATE_PASSWORD")
        );
        assert!(
            err(&locked, Some("nope")).contains("or AZURE_CLIENT_CERTIFICATE_PASSWORD is wrong")
        );
        // A certificate without its key, a key without its certificate, a stranger's
        // certificate next to the key, and garbage.
        let only_cert = dir.path().join("cert.pem");
        std::fs::write(&only_cert, cert.certificate_pem()).unwrap();
        assert!(err(&only_cert, None).contains("has no private key"));
        let only_key = dir.path().join("key.pem");
        std::fs::write(&only_key, cert.private_key_pem()).unwrap();
        assert!(err(&only_key, None).contains("has no certificate for its private key"));
        let other = lzaudit_emulator::ClientCertificate::generate("other").unwrap();
        let mixed = dir.path().join("mixed.pem");
        std::fs::write(
            &mixed,
            format!("{}{}", cert.private_key_pem(), other.certificate_pem()),
        )
        .unwrap();
        assert!(err(&mixed, None).contains("has no certificate for its private key"));
        let junk = dir.path().join("junk.bin");
        std::fs::write(&junk, b"\x00\x01junk").unwrap();
        assert!(err(&junk, None).contains("neither PEM nor PKCS#12"));
        assert!(err(&dir.path().join("absent.pem"), None).starts_with("cannot read"));
    }

    #[test]
    fn managed_identity_source_follows_azure_identity() {
        let of = |vars: &[(&str, &str)]| {
            ManagedIdentitySource::of(&Environment::from_vars(vars.iter().copied()))
        };
        let kind = |source| match source {
            ManagedIdentitySource::Unsupported { kind, .. } => kind,
            ManagedIdentitySource::AppService => "App Service",
            ManagedIdentitySource::Imds => "IMDS",
        };
        assert_eq!(kind(of(&[])), "IMDS");
        assert_eq!(
            kind(of(&[
                (IDENTITY_ENDPOINT, "http://x"),
                (IDENTITY_HEADER, "h")
            ])),
            "App Service"
        );
        // An empty variable counts as set, as for azure_identity.
        assert_eq!(
            kind(of(&[
                (IDENTITY_ENDPOINT, "http://x"),
                (IDENTITY_HEADER, "")
            ])),
            "App Service"
        );
        assert_eq!(
            kind(of(&[
                (IDENTITY_ENDPOINT, "http://x"),
                (IDENTITY_HEADER, "h"),
                (IDENTITY_SERVER_THUMBPRINT, "t")
            ])),
            "Service Fabric"
        );
        assert_eq!(
            kind(of(&[
                (IDENTITY_ENDPOINT, "http://x"),
                (IMDS_ENDPOINT, "http://y")
            ])),
            "Azure Arc"
        );
        // IDENTITY_ENDPOINT alone: azure_identity falls back to IMDS.
        assert_eq!(kind(of(&[(IDENTITY_ENDPOINT, "http://x")])), "IMDS");
        assert_eq!(kind(of(&[(MSI_ENDPOINT, "http://x")])), "Cloud Shell");
        assert_eq!(
            kind(of(&[(MSI_ENDPOINT, "http://x"), (MSI_SECRET, "s")])),
            "Azure ML"
        );
    }

    #[test]
    fn path_search_finds_executables_only() {
        let dir = tempfile::tempdir().unwrap();
        let az = dir.path().join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        let path = dir.path().display().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert!(find_on_path(Some(&path), "az").is_none());
            std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find_on_path(Some(&path), "az"), Some(az));
        assert!(find_on_path(None, "az").is_none());
    }
}
