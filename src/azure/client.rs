//! `ArmClient`: the only code in lzaudit that sends an ARM request.
//!
//! Reads are GETs, except the few ARM read APIs that are POST "actions" (PolicyInsights'
//! `policyStates/{resource}/queryResults`, whose swagger has no request body); both go through
//! the same path below. It owns the bearer token (through the sign-in token cache), the one
//! retry policy (429 and 5xx and transport failures, honouring `Retry-After`, otherwise
//! exponential backoff with full jitter, a bounded number of attempts), the concurrency limit,
//! the request counters the report and benchmarks show, and the parsing of ARM's error
//! envelope into an `ArmError` that maps onto a coverage `ReadStatus`. A 401 renews the token
//! (with a new credential) and retries, up to `MAX_TOKEN_RENEWALS` times; a token refused
//! after that is a sign-in problem, not a coverage gap.
//! The client refuses to send its token to any origin other than the configured ARM endpoint,
//! so a next link pointing elsewhere cannot leak it. The retry decisions are pure functions
//! below, unit-tested without a server; the request loop itself is exercised against the
//! emulator.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::Value;
use tracing::debug;
use url::Url;

use super::auth::{AuthError, TokenCache, error_chain};
use super::graph::{ASSUMED_QUOTA, GraphQuota, QuotaHeaders, QuotaTicket};
use super::pacing::{AdaptiveLimit, Admission, BucketKey, Buckets, jittered};
use super::paging::FetchJson;
use crate::inventory::{Read, ReadStatus};

/// How one request is retried. Every delay goes through `delay_scale`, so tests can run the
/// real policy in milliseconds. A 429 is not counted against `max_retries`: it is retried
/// after the server's wait until the run's deadline (see `pacing`).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt of a failure that is not throttling (5xx, transport
    /// error, timeout, malformed answer).
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; it doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Multiplies every delay (1.0 in production).
    pub delay_scale: f64,
}

/// Default attempts: 1 + 4 retries.
pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// Default first backoff ceiling.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(500);
/// Default largest backoff ceiling.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            delay_scale: 1.0,
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling before retry number `retry` (0-based): `base · 2^retry`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(20));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Full jitter: uniformly random in `[0, ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        Duration::from_micros(fastrand::u64(0..=ceiling))
    }

    /// The wait before retry `retry`: the server's `Retry-After` when it sent one (a request
    /// sent earlier is refused again), else the jittered backoff; then scaled.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        self.scaled(retry_after.unwrap_or_else(|| self.backoff(retry)))
    }

    /// `wait` times the policy's scale.
    pub fn scaled(&self, wait: Duration) -> Duration {
        wait.mul_f64(self.delay_scale.max(0.0))
    }
}

/// Parses `Retry-After` (delta-seconds or an HTTP date), or Azure's `retry-after-ms` /
/// `x-ms-retry-after-ms`. A date in the past means "now".
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?)
}

/// Parses one `Retry-After` value.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The HTTP method of an ARM read. `Post` is only for read "actions" without a request body
/// (PolicyInsights `queryResults`); those are as safe to repeat as a GET, so they share the
/// retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a 2xx answer must look like. A body that is not what the API promises is a failed
/// read, never an empty one: `{}` or `{"value": null}` on a list call would otherwise read as
/// "no clusters here" and turn into passes. A malformed body is retried like a 5xx (a proxy or a
/// front door may have cut or replaced it), then recorded as a failed read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A list page whose items are ARM resources: an object with a `value` array of objects that
    /// each carry a string `id`. Next links are the pager's business.
    Resources,
    /// A list page whose items are records without an `id` (PolicyInsights `queryResults`): an
    /// object with a `value` array of objects.
    Records,
    /// One ARM resource: an object with a non-empty string `id`.
    Resource,
    /// An object carrying an array under this key (`locations/{l}/kubernetesVersions` answers
    /// `{"values": [...]}`).
    ArrayField(&'static str),
    /// A Resource Graph page (`resultFormat: objectArray`): an object whose `data` is an array
    /// of row objects. A page without one is a failed read, never an empty one.
    GraphPage,
}

impl Expect {
    /// Why `body` is not what this call promises; `None` when it is.
    pub fn violation(self, body: &Value) -> Option<String> {
        let Some(object) = body.as_object() else {
            return Some(format!(
                "the answer is {}, not a JSON object",
                json_kind(body)
            ));
        };
        let (field, each) = match self {
            Expect::Resource => {
                return match object.get("id") {
                    Some(Value::String(id)) if !id.trim().is_empty() => None,
                    Some(other) => Some(format!(
                        "malformed resource: `id` is {}, not a resource ID",
                        json_kind(other)
                    )),
                    None => Some("malformed resource: the answer has no `id`".into()),
                };
            }
            Expect::ArrayField(field) => (field, None),
            Expect::GraphPage => ("data", Some(false)),
            Expect::Resources => ("value", Some(true)),
            Expect::Records => ("value", Some(false)),
        };
        let noun = if each.is_some() {
            "malformed list response"
        } else {
            "malformed response"
        };
        let items = match object.get(field) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Some(format!(
                    "{noun}: `{field}` is {}, not an array",
                    json_kind(other)
                ));
            }
            None => return Some(format!("{noun}: the answer has no `{field}` array")),
        };
        let needs_id = each?;
        items.iter().enumerate().find_map(|(i, item)| match item {
            Value::Object(_) if !needs_id => None,
            Value::Object(fields) => match fields.get("id") {
                Some(Value::String(id)) if !id.trim().is_empty() => None,
                _ => Some(format!("{noun}: item {i} of `value` has no resource `id`")),
            },
            other => Some(format!(
                "{noun}: item {i} of `value` is {}, not an object",
                json_kind(other)
            )),
        })
    }
}

/// `null`, `a string`, `an array` …: what a JSON value is, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What went wrong with one ARM request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmErrorKind {
    /// ARM answered with a non-success status.
    Status,
    /// The connection failed (refused, reset, TLS), after every retry.
    Transport,
    /// No answer within the timeout, after every retry.
    Timeout,
    /// A fresh token was refused with 401: sign in again.
    Unauthorized,
    /// No token could be acquired.
    SignIn,
    /// A 2xx answer that is not the JSON expected.
    Body,
    /// The URL points at another origin than the ARM endpoint: not sent.
    ForeignHost,
    /// A `nextLink` repeated an earlier page.
    PagingLoop,
    /// The answer exceeded [`MAX_RESPONSE_BYTES`].
    TooLarge,
    /// The run deadline passed while the read waited to be retried.
    Deadline,
}

/// One failed ARM request, with ARM's own error code and message when it sent an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    pub method: Method,
    pub url: String,
    pub http_status: Option<u16>,
    /// `error.code` of the envelope.
    pub code: Option<String>,
    pub message: String,
    pub kind: ArmErrorKind,
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method, self.url)?;
        if let Some(status) = self.http_status {
            write!(f, "HTTP {status} ")?;
        }
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ArmError {}

impl ArmError {
    fn new(url: &Url, kind: ArmErrorKind, message: impl Into<String>) -> ArmError {
        ArmError {
            method: Method::Get,
            url: url.to_string(),
            http_status: None,
            code: None,
            message: message.into(),
            kind,
        }
    }

    /// Parses ARM's error envelope leniently: `{"error":{"code","message"}}`, a bare
    /// `{"code","message"}`, a non-JSON body or none at all.
    pub fn from_response(url: &Url, status: u16, body: &[u8]) -> ArmError {
        let (code, message) = parse_envelope(body);
        let message = message.unwrap_or_else(|| {
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no error message")
                .to_string()
        });
        ArmError {
            method: Method::Get,
            url: url.to_string(),
            http_status: Some(status),
            code,
            message,
            kind: ArmErrorKind::Status,
        }
    }

    /// The same error, attributed to a request of `method`.
    pub fn with_method(mut self, method: Method) -> ArmError {
        self.method = method;
        self
    }

    /// The coverage status this failure means: 401/403 denied, 404 not found, else failed.
    pub fn read_status(&self) -> ReadStatus {
        match (self.kind, self.http_status) {
            (ArmErrorKind::Unauthorized | ArmErrorKind::SignIn, _) => ReadStatus::Denied,
            (_, Some(401 | 403)) => ReadStatus::Denied,
            (_, Some(404)) => ReadStatus::NotFound,
            _ => ReadStatus::Failed,
        }
    }

    /// The coverage entry for `scope` × `api` that this failure leaves.
    pub fn to_read(&self, scope: &str, api: &str) -> Read {
        Read {
            scope: scope.to_string(),
            api: api.to_string(),
            status: self.read_status(),
            http_status: self.http_status,
            code: self.code.clone(),
            message: Some(self.message.clone()),
            source: None,
            api_version: None,
        }
    }

    /// Whether this failure means no further request can succeed (sign-in problems).
    pub fn is_sign_in(&self) -> bool {
        matches!(self.kind, ArmErrorKind::Unauthorized | ArmErrorKind::SignIn)
    }

    /// Whether the ARM endpoint could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self.kind, ArmErrorKind::Transport | ArmErrorKind::Timeout)
    }
}

/// `(error.code, error.message)` of an ARM error body, whatever of it is there.
pub fn parse_envelope(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body).trim().to_string();
        let text: String = text.chars().take(300).collect();
        return (None, (!text.is_empty()).then_some(text));
    };
    let error = crate::inventory::arm::key(&value, "error")
        .filter(|e| e.is_object())
        .unwrap_or(&value);
    let field = |name: &str| {
        crate::inventory::arm::key(error, name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    (field("code"), field("message"))
}

/// Request counters, for the report, the progress line and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent to ARM (each retry counts), Resource Graph queries not included.
    pub requests: u64,
    /// Resource Graph query pages sent (each retry counts): they live on the ARM endpoint but
    /// draw on Resource Graph's own per-user quota, so they are counted apart.
    pub graph_queries: u64,
    /// Requests repeated after 429, 5xx, a transport error, a malformed answer or a 401.
    pub retries: u64,
    /// 429 answers waited out.
    pub throttled: u64,
    /// Time spent waiting out failures (backoff before retries, and pauses after a 429),
    /// summed over requests; waiting for the read bucket to refill is pacing, not counted.
    pub waited: Duration,
    /// Reads given up after a retryable failure (retries spent, or the run deadline passed):
    /// each one is a coverage gap.
    pub abandoned: u64,
    /// Requests waiting right now for a throttled key to reopen.
    pub throttle_waiting: u64,
    /// Requests allowed in flight right now (the adaptive limit).
    pub concurrency: usize,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    graph_queries: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    waited_micros: AtomicU64,
    abandoned: AtomicU64,
    throttle_waiting: AtomicU64,
}

/// The ARM REST client. Cheap to clone; clones share the token, pacing and counters.
#[derive(Clone)]
pub struct ArmClient {
    base: Url,
    http: reqwest::Client,
    tokens: Arc<TokenCache>,
    limit: Arc<AdaptiveLimit>,
    /// Resource Graph's own slots: its queries are paced by its quota, not by ARM's limit,
    /// and must not queue behind thousands of ARM reads for a slot (a query admitted by the
    /// quota and sent seconds later lands in the next window, which then refuses it).
    graph_limit: Arc<AdaptiveLimit>,
    buckets: Arc<Buckets>,
    retry: RetryPolicy,
    counters: Arc<Counters>,
    /// Resource Graph's per-user quota as its answers last reported it.
    graph_quota: Arc<GraphQuota>,
    tenant: Option<String>,
    /// When the run must end: throttled reads are retried until then, and every wait stops
    /// there.
    deadline: Option<Instant>,
}

impl fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.tokens.method())
            .field("concurrency", &self.limit.max())
            .field("retry", &self.retry)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// One attempt's outcome before the retry decision.
enum Attempt {
    Done(Value),
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    Failed(ArmError),
}

/// What the retry loop does after an attempt that did not succeed.
enum Next {
    /// Retry after a backoff (`Some`: the server's `Retry-After`), counting against
    /// `max_retries`.
    Backoff(ArmError, Option<Duration>),
    /// 429: pause the key for the server's wait and retry, until the deadline.
    Throttled(ArmError, Option<Duration>),
}

/// Requests in flight when a client starts: slow start doubles it every round trip while
/// answers come back fast and unthrottled.
pub const INITIAL_CONCURRENCY: usize = 16;
/// The adaptive limit never cuts below this.
pub const MIN_CONCURRENCY: usize = 2;

impl ArmClient {
    /// A client that allows at most `concurrency` requests in flight (adapting below that).
    pub(crate) fn new(
        base: Url,
        http: reqwest::Client,
        tokens: Arc<TokenCache>,
        concurrency: usize,
        retry: RetryPolicy,
        tenant: Option<String>,
    ) -> ArmClient {
        let max = concurrency.max(1);
        ArmClient {
            base,
            http,
            tokens,
            limit: AdaptiveLimit::new(INITIAL_CONCURRENCY.min(max), MIN_CONCURRENCY.min(max), max),
            graph_limit: AdaptiveLimit::fixed(max.min(ASSUMED_QUOTA as usize)),
            buckets: Arc::new(Buckets::arm_reads()),
            retry,
            counters: Arc::new(Counters::default()),
            graph_quota: Arc::new(GraphQuota::default()),
            tenant,
            deadline: None,
        }
    }

    /// Replaces the retry policy (tests scale the delays down).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> ArmClient {
        self.retry = retry;
        self
    }

    /// Ends every wait and retry at `deadline`: reads still throttled then are given up (and
    /// recorded as gaps).
    pub fn with_deadline(mut self, deadline: Instant) -> ArmClient {
        self.deadline = Some(deadline);
        self
    }

    /// Replaces the local copies of ARM's read buckets (tests and benchmarks that model other
    /// limits).
    pub fn with_buckets(mut self, buckets: Buckets) -> ArmClient {
        self.buckets = Arc::new(buckets);
        self
    }

    /// The ARM endpoint, e.g. `https://management.azure.com/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The ARM endpoint as stored in the inventory (no trailing slash).
    pub fn arm_endpoint(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// The tenant signed in to, when known (`--tenant`, or the credential's own tenant).
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The most requests ever allowed in flight at once (`--concurrency`).
    pub fn concurrency(&self) -> usize {
        self.limit.max()
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The counters so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            graph_queries: self.counters.graph_queries.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
            waited: Duration::from_micros(self.counters.waited_micros.load(Ordering::Relaxed)),
            abandoned: self.counters.abandoned.load(Ordering::Relaxed),
            throttle_waiting: self.counters.throttle_waiting.load(Ordering::Relaxed),
            concurrency: self.limit.current(),
        }
    }

    /// Whether `url` is on the ARM endpoint's origin (scheme, host and port).
    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == self.base.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// GETs one ARM URL and parses its JSON body, retrying as the policy says; a body that is
    /// not what `expect` says is an error.
    pub async fn get(&self, url: &Url, expect: Expect) -> Result<Value, ArmError> {
        self.send(Method::Get, url, expect).await
    }

    /// POSTs an empty body to one ARM read action (its parameters travel in the query string)
    /// and parses the JSON answer, retrying as the policy says.
    pub async fn post(&self, url: &Url, expect: Expect) -> Result<Value, ArmError> {
        self.send(Method::Post, url, expect).await
    }

    /// Sends one request: origin guard, token, concurrency limit, retries, error parsing, and
    /// the check that the answer has the shape `expect` names.
    pub async fn send(&self, method: Method, url: &Url, expect: Expect) -> Result<Value, ArmError> {
        self.send_inner(method, url, expect, None)
            .await
            .map_err(|e| e.with_method(method))
    }

    /// POSTs one Resource Graph query page (`body` is the `QueryRequest`) and parses the answer,
    /// which must be a page with a `data` array. Besides the ARM pacing and the one retry policy,
    /// it waits out Resource Graph's per-user quota: when an answer says none is left, the next
    /// query waits for `x-ms-user-quota-resets-after`; a 429 waits for its `Retry-After` (or
    /// the reset), until the run's deadline. Counted as a Resource Graph query, not an ARM
    /// request.
    pub async fn graph_query(&self, url: &Url, body: &Value) -> Result<Value, ArmError> {
        let bytes = serde_json::to_vec(body).expect("a JSON value serialises");
        self.send_inner(Method::Post, url, Expect::GraphPage, Some(&bytes))
            .await
            .map_err(|e| e.with_method(Method::Post))
    }

    async fn send_inner(
        &self,
        method: Method,
        url: &Url,
        expect: Expect,
        body: Option<&[u8]>,
    ) -> Result<Value, ArmError> {
        let graph = body.is_some();
        if !self.same_origin(url) {
            return Err(ArmError::new(
                url,
                ArmErrorKind::ForeignHost,
                format!(
                    "not sent: the URL is not on the ARM endpoint {}, and the bearer token must not leave it",
                    self.base.origin().ascii_serialization()
                ),
            ));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(self.abandon(
                ArmError::new(
                    url,
                    ArmErrorKind::Deadline,
                    "not sent: the run deadline (--deadline) has passed",
                ),
                None,
            ));
        }
        let key = BucketKey::of_path(url.path());
        let mut retry: u32 = 0;
        let mut throttles: u32 = 0;
        let mut renewals = 0u32;
        let mut unparsable = 0u32;
        let mut last: Option<ArmError> = None;
        loop {
            let ticket = match graph {
                true => Some(self.admit_graph(url, last.as_ref()).await?),
                false => None,
            };
            self.admit(&key, url, last.as_ref()).await?;
            let token = self
                .tokens
                .token()
                .await
                .map_err(|e| ArmError::new(url, ArmErrorKind::SignIn, e.to_string()))?;
            // The latency the limit adapts to is the service's, from the moment a slot is
            // held: time spent queueing for a slot is our own limit, and counting it would read
            // a saturated limit as a slowing service and stop it growing.
            let (attempt, remaining, quota, latency) = {
                let _slot = match graph {
                    true => self.graph_limit.acquire().await,
                    false => self.limit.acquire().await,
                };
                let started = Instant::now();
                let counter = if graph {
                    &self.counters.graph_queries
                } else {
                    &self.counters.requests
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let (attempt, remaining, quota) =
                    self.attempt(method, url, token.secret(), &key, body).await;
                (attempt, remaining, quota, started.elapsed())
            };
            if let Some(remaining) = remaining {
                self.buckets
                    .observe_remaining(&key, remaining, Instant::now());
            }
            if let (Some(ticket), Some(quota)) = (ticket, quota) {
                self.graph_quota.observe(ticket, quota, Instant::now());
            }
            let next = match attempt {
                Attempt::Done(value) => {
                    if !graph {
                        self.limit.on_success(latency);
                    }
                    match expect.violation(&value) {
                        None => return Ok(value),
                        Some(why) => {
                            Next::Backoff(ArmError::new(url, ArmErrorKind::Body, why), None)
                        }
                    }
                }
                Attempt::Status {
                    status: 401, body, ..
                } => {
                    let error = ArmError::from_response(url, 401, &body);
                    if renewals < MAX_TOKEN_RENEWALS {
                        renewals += 1;
                        debug!(%method, %url, code = ?error.code, "401: renewing the token and retrying");
                        self.tokens
                            .invalidate(&token)
                            .await
                            .map_err(|e| ArmError::new(url, ArmErrorKind::SignIn, e.to_string()))?;
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let detail = error.code.clone().unwrap_or_default();
                    let refused = AuthError::refused(self.tokens.method(), &detail);
                    return Err(ArmError {
                        message: refused.to_string(),
                        kind: ArmErrorKind::Unauthorized,
                        ..error
                    });
                }
                Attempt::Status {
                    status: 429,
                    retry_after,
                    body,
                } => Next::Throttled(
                    ArmError::from_response(url, 429, &body),
                    // Resource Graph's quota names its reset even when Retry-After is missing.
                    retry_after.or(quota.filter(|_| graph).map(|q| q.resets_after)),
                ),
                Attempt::Status {
                    status,
                    retry_after,
                    body,
                } => {
                    if !graph {
                        self.limit.on_success(latency);
                    }
                    let error = ArmError::from_response(url, status, &body);
                    if !is_retryable_status(status) {
                        return Err(error);
                    }
                    Next::Backoff(error, retry_after)
                }
                Attempt::Failed(error) if error.kind == ArmErrorKind::Body => {
                    // Unparsable JSON: once may be a cut connection, twice is the answer.
                    unparsable += 1;
                    if unparsable > MALFORMED_JSON_RETRIES {
                        return Err(error);
                    }
                    Next::Backoff(error, None)
                }
                Attempt::Failed(error) => {
                    if !error.is_unreachable() {
                        return Err(error);
                    }
                    Next::Backoff(error, None)
                }
            };
            match next {
                Next::Throttled(error, retry_after) => {
                    // Throttling says "later", not "no": pause the key for the server's wait
                    // (or a backoff when it named none) and try again until the deadline.
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    let now = Instant::now();
                    if !graph {
                        self.limit.on_throttle(now);
                    }
                    let wait = self.retry.scaled(match retry_after {
                        Some(wait) => wait,
                        None => self.retry.backoff(throttles),
                    });
                    throttles += 1;
                    if graph {
                        self.graph_quota.pause_until(now + wait);
                    } else {
                        self.buckets.pause(&key, now + wait, now);
                    }
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    debug!(%method, %url, ?wait, "throttled: {error}");
                    last = Some(error);
                }
                Next::Backoff(error, retry_after) => {
                    if retry >= self.retry.max_retries {
                        return Err(self.abandon(error, Some(retry)));
                    }
                    let delay = self.retry.delay(retry, retry_after);
                    retry += 1;
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .waited_micros
                        .fetch_add(delay.as_micros() as u64, Ordering::Relaxed);
                    debug!(%method, %url, retry, ?delay, "retrying after: {error}");
                    self.sleep_until_deadline(delay, &error).await?;
                    last = Some(error);
                }
            }
        }
    }

    /// Waits until `key` may send: a token in its bucket, and no 429 pause on it. A wait that
    /// would pass the deadline gives the read up instead.
    async fn admit(
        &self,
        key: &BucketKey,
        url: &Url,
        last: Option<&ArmError>,
    ) -> Result<(), ArmError> {
        loop {
            let (wait, throttled) = match self.buckets.admit(key, Instant::now()) {
                Admission::Go => return Ok(()),
                Admission::Wait { wait, throttled } => (wait, throttled),
            };
            let cause = last.cloned().unwrap_or_else(|| {
                ArmError::new(url, ArmErrorKind::Status, "waiting for ARM's read bucket")
            });
            if throttled {
                // Everyone held back by one 429 would otherwise return in the same instant.
                let wait = jittered(wait);
                self.counters
                    .throttle_waiting
                    .fetch_add(1, Ordering::Relaxed);
                self.counters
                    .waited_micros
                    .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
                let slept = self.sleep_until_deadline(wait, &cause).await;
                self.counters
                    .throttle_waiting
                    .fetch_sub(1, Ordering::Relaxed);
                slept?;
            } else {
                self.sleep_until_deadline(wait, &cause).await?;
            }
        }
    }

    /// Waits until Resource Graph's per-user quota allows another query (see `graph`). A wait
    /// that would pass the deadline gives the query up instead.
    async fn admit_graph(
        &self,
        url: &Url,
        last: Option<&ArmError>,
    ) -> Result<QuotaTicket, ArmError> {
        loop {
            let wait = match self.graph_quota.admit(Instant::now()) {
                Ok(ticket) => return Ok(ticket),
                Err(wait) => wait,
            };
            let cause = last.cloned().unwrap_or_else(|| {
                ArmError::new(
                    url,
                    ArmErrorKind::Status,
                    "waiting for Resource Graph's per-user quota",
                )
            });
            // A little jitter, so the queries held back by one reset do not return in the same
            // instant; not ARM's half-again: the reset is exact, and the quota is the bottleneck.
            let wait = wait + Duration::from_millis(fastrand::u64(1..=50));
            self.counters
                .throttle_waiting
                .fetch_add(1, Ordering::Relaxed);
            let slept = self.sleep_until_deadline(wait, &cause).await;
            self.counters
                .throttle_waiting
                .fetch_sub(1, Ordering::Relaxed);
            slept?;
        }
    }

    /// Sleeps `delay`, or gives the read up when the deadline comes first.
    async fn sleep_until_deadline(
        &self,
        delay: Duration,
        cause: &ArmError,
    ) -> Result<(), ArmError> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if delay > left {
                tokio::time::sleep(left).await;
                return Err(self.abandon(
                    ArmError {
                        message: format!(
                            "{} (the run deadline passed before this read could be retried)",
                            cause.message
                        ),
                        kind: ArmErrorKind::Deadline,
                        ..cause.clone()
                    },
                    None,
                ));
            }
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// Counts a read given up after a retryable failure, and says so in its message.
    fn abandon(&self, mut error: ArmError, retries: Option<u32>) -> ArmError {
        self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
        if let Some(retries) = retries.filter(|r| *r > 0) {
            let noun = if retries == 1 { "retry" } else { "retries" };
            error.message = format!("{} (gave up after {retries} {noun})", error.message);
        }
        error
    }

    /// Sends one request and reads its body. A POST without a JSON body carries an empty one
    /// with an explicit `Content-Length: 0` (ARM's front door answers 411 to a length-less
    /// POST); a Resource Graph query carries its JSON as `application/json` (ARG answers 500 to
    /// any other content type).
    async fn attempt(
        &self,
        method: Method,
        url: &Url,
        token: &str,
        key: &BucketKey,
        body: Option<&[u8]>,
    ) -> (Attempt, Option<u64>, Option<QuotaHeaders>) {
        let mut request = self
            .http
            .request(method.to_reqwest(), url.clone())
            .bearer_auth(token)
            .header(ACCEPT, "application/json");
        match body {
            Some(body) => {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_vec());
            }
            None if method == Method::Post => {
                request = request.header(CONTENT_LENGTH, "0").body(Vec::<u8>::new());
            }
            None => {}
        }
        let sent = request.send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return (Attempt::Failed(transport_error(url, &e)), None, None),
        };
        let quota = QuotaHeaders::parse(response.headers());
        let status = response.status().as_u16();
        let remaining = response
            .headers()
            .get(key.remaining_header())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let retry_after = retry_after(response.headers());
        (
            self.read_answer(url, status, retry_after, response).await,
            remaining,
            quota,
        )
    }

    /// Reads an answer's body and parses it as JSON when the status is a success.
    async fn read_answer(
        &self,
        url: &Url,
        status: u16,
        retry_after: Option<Duration>,
        response: reqwest::Response,
    ) -> Attempt {
        let body = match read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(b) => b,
            Err(BodyError::Transport(e)) => return Attempt::Failed(transport_error(url, &e)),
            Err(BodyError::TooLarge) => {
                return Attempt::Failed(ArmError {
                    http_status: Some(status),
                    ..ArmError::new(
                        url,
                        ArmErrorKind::TooLarge,
                        format!(
                            "the answer is larger than {} MiB; not read",
                            MAX_RESPONSE_BYTES >> 20
                        ),
                    )
                });
            }
        };
        if !(200..300).contains(&status) {
            return Attempt::Status {
                status,
                retry_after,
                body,
            };
        }
        match serde_json::from_slice(&body) {
            Ok(value) => Attempt::Done(value),
            Err(e) => Attempt::Failed(ArmError {
                http_status: Some(status),
                ..ArmError::new(
                    url,
                    ArmErrorKind::Body,
                    format!("the answer is not JSON: {e}"),
                )
            }),
        }
    }
}

impl FetchJson for ArmClient {
    fn fetch_json(
        &self,
        method: Method,
        url: &Url,
        expect: Expect,
    ) -> impl Future<Output = Result<Value, ArmError>> + Send {
        self.send(method, url, expect)
    }
}

/// The largest answer read from ARM. An ARM list page is a few MB at most (ARG caps its own at
/// 16 MB); anything near this is a broken or hostile endpoint, and reading it whole would grow
/// memory without bound.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// A request whose token ARM refuses (401) renews it and retries this many times: tokens
/// revoked or rotated mid-run (even twice while one request waits) still recover, while a
/// credential whose every token is refused fails after a few tries as a sign-in problem, not a
/// coverage gap.
pub const MAX_TOKEN_RENEWALS: u32 = 3;

/// Unparsable JSON is retried this many times before it is a failed read.
pub const MALFORMED_JSON_RETRIES: u32 = 1;

enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Reads a response body chunk by chunk, refusing it once it passes `limit` bytes (whatever
/// `Content-Length` claims).
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// 429 and every 5xx are worth another try.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

fn transport_error(url: &Url, err: &reqwest::Error) -> ArmError {
    let kind = if err.is_timeout() {
        ArmErrorKind::Timeout
    } else {
        ArmErrorKind::Transport
    };
    let text = error_chain(err);
    // reqwest names the URL in its message; the ArmError already carries it.
    let mut text = text.replace(&format!(" for url ({url})"), "");
    if text.contains("invalid peer certificate") {
        text.push_str(" (if the ARM endpoint uses a private CA, trust it with --ca-cert FILE)");
    }
    ArmError::new(url, kind, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn url() -> Url {
        Url::parse("https://management.azure.com/subscriptions?api-version=x").unwrap()
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("-3"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let future = time::OffsetDateTime::now_utc() + time::Duration::seconds(120);
        let text = future
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        let wait = parse_retry_after(&text).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );

        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
    }

    #[test]
    fn backoff_is_bounded_full_jitter_and_retry_after_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(500));
        assert_eq!(policy.ceiling(1), Duration::from_secs(1));
        assert_eq!(policy.ceiling(3), Duration::from_secs(4));
        assert_eq!(policy.ceiling(10), DEFAULT_MAX_DELAY);
        assert_eq!(policy.ceiling(u32::MAX), DEFAULT_MAX_DELAY);
        for retry in 0..8 {
            for _ in 0..200 {
                assert!(policy.backoff(retry) <= policy.ceiling(retry));
            }
        }
        // Full jitter spreads over the whole range, not just near the ceiling.
        let low = (0..500)
            .filter(|_| policy.backoff(4) < policy.ceiling(4) / 2)
            .count();
        assert!(low > 100, "{low}");
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(600),
            "a long Retry-After is honoured (the run deadline bounds it)"
        );
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        let fast = RetryPolicy {
            delay_scale: 0.001,
            ..RetryPolicy::default()
        };
        assert_eq!(
            fast.delay(0, Some(Duration::from_secs(2))),
            Duration::from_millis(2)
        );
        assert!(fast.delay(5, None) <= Duration::from_millis(16));
    }

    #[test]
    fn envelope_parsing_is_lenient() {
        let (code, message) = parse_envelope(
            br#"{"error":{"code":"AuthorizationFailed","message":"no","details":[],"target":null}}"#,
        );
        assert_eq!(
            (code.as_deref(), message.as_deref()),
            (Some("AuthorizationFailed"), Some("no"))
        );
        let (code, message) = parse_envelope(br#"{"code":"ResourceNotFound","message":"gone"}"#);
        assert_eq!(
            (code.as_deref(), message.as_deref()),
            (Some("ResourceNotFound"), Some("gone"))
        );
        let (code, message) = parse_envelope(br#"{"Code":"X","Message":"Y"}"#);
        assert_eq!(
            (code.as_deref(), message.as_deref()),
            (Some("X"), Some("Y"))
        );
        assert_eq!(parse_envelope(b""), (None, None));
        assert_eq!(
            parse_envelope(b"<html>Bad Gateway</html>"),
            (None, Some("<html>Bad Gateway</html>".into()))
        );
        assert_eq!(parse_envelope(br#"{"error":{}}"#), (None, None));

        let err = ArmError::from_response(&url(), 503, b"");
        assert_eq!(err.message, "Service Unavailable");
        assert_eq!(err.read_status(), ReadStatus::Failed);
        let err = ArmError::from_response(
            &url(),
            403,
            br#"{"error":{"code":"AuthorizationFailed","message":"denied"}}"#,
        );
        assert_eq!(err.read_status(), ReadStatus::Denied);
        let read = err.to_read("/subscriptions/a", "Microsoft.Security/pricings");
        assert_eq!(read.http_status, Some(403));
        assert_eq!(read.code.as_deref(), Some("AuthorizationFailed"));
        assert_eq!(
            err.to_string(),
            "GET https://management.azure.com/subscriptions?api-version=x: HTTP 403 AuthorizationFailed: denied"
        );
        assert_eq!(
            ArmError::from_response(&url(), 404, b"").read_status(),
            ReadStatus::NotFound
        );
        assert_eq!(
            ArmError::from_response(&url(), 401, b"").read_status(),
            ReadStatus::Denied
        );
        assert_eq!(
            ArmError::from_response(&url(), 429, b"").read_status(),
            ReadStatus::Failed
        );
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(500) && is_retryable_status(503) && is_retryable_status(599));
        assert!(
            !is_retryable_status(400) && !is_retryable_status(403) && !is_retryable_status(404)
        );
    }

    /// A Resource Graph query takes none of ARM's slots: with every one of them held (by
    /// reads queued behind a slow service, say), a query the quota admitted still goes out.
    #[tokio::test]
    async fn resource_graph_queries_do_not_wait_for_arm_slots() {
        use crate::azure::auth::{AuthMethod, TokenCache, tests::counting};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Headers, then the (small) body: enough for one request per connection.
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        request.extend_from_slice(&buf[..n]);
                        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                            let length: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    let body = br#"{"totalRecords":0,"count":0,"data":[]}"#;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body).await;
                });
            }
        });
        let tokens = TokenCache::new(
            counting(time::Duration::hours(1)),
            "s".into(),
            AuthMethod::Cli,
        );
        let base = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let client = ArmClient::new(
            base.clone(),
            reqwest::Client::new(),
            Arc::new(tokens),
            1,
            RetryPolicy::default(),
            None,
        );
        let _held = client.limit.acquire().await;
        let url = crate::azure::graph::route(&base);
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            client.graph_query(&url, &serde_json::json!({"query": "resources"})),
        )
        .await
        .expect("the query went out although every ARM slot was held")
        .unwrap();
        assert_eq!(answer["data"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn foreign_origins_are_refused_before_sending() {
        use crate::azure::auth::{AuthMethod, TokenCache, tests::counting};
        let credential = counting(time::Duration::hours(1));
        let tokens = TokenCache::new(credential.clone(), "s".into(), AuthMethod::Cli);
        let client = ArmClient::new(
            Url::parse("http://127.0.0.1:9").unwrap(),
            reqwest::Client::new(),
            Arc::new(tokens),
            2,
            RetryPolicy::default(),
            None,
        );
        for foreign in [
            "http://127.0.0.2:9/subscriptions",
            "https://127.0.0.1:9/subscriptions",
            "http://127.0.0.1:10/subscriptions",
            "http://evil.example/subscriptions",
        ] {
            let err = client
                .get(&Url::parse(foreign).unwrap(), Expect::Resource)
                .await
                .unwrap_err();
            assert_eq!(err.kind, ArmErrorKind::ForeignHost, "{foreign}");
            let err = client
                .post(&Url::parse(foreign).unwrap(), Expect::Records)
                .await
                .unwrap_err();
            assert_eq!(
                (err.kind, err.method),
                (ArmErrorKind::ForeignHost, Method::Post),
                "{foreign}"
            );
            assert!(err.to_string().starts_with("POST "), "{err}");
        }
        assert_eq!(client.stats().requests, 0);
        assert_eq!(
            credential.calls.load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }
}
