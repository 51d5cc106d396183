//! Azure Resource Graph: the query route, its pager, and its per-user quota.
//!
//! Resource Graph lives on the ARM endpoint (`POST /providers/Microsoft.ResourceGraph/resources
//! ?api-version=2024-04-01`), so queries go through the `ArmClient`: the same token, origin
//! guard, retry policy, error envelope and shape check as every ARM read (a page without a
//! `data` array is a failed read, not an empty one). What differs, and lives here:
//! - Paging is by `$skipToken`, not `nextLink`: the same query and scopes are resent with
//!   `options.$skipToken` until an answer has none. A token seen before is a failed read (a
//!   service that hands back the same page would otherwise loop forever).
//! - Scopes: a query names up to [`MAX_SUBSCRIPTIONS_PER_QUERY`] subscriptions (Learn's
//!   throttling guidance recommends batches under 300), or management groups, or neither (all
//!   the caller can read).
//! - The per-user quota (Learn, "guidance-for-throttled-requests": e.g. 15 queries per 5 s),
//!   reported on every answer by `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after`
//!   (`hh:mm:ss`): when none is left, the next query waits for the reset instead of earning a
//!   429 ([`GraphQuota`]); a 429 is waited out like ARM's, until the run's deadline.
//!
//! Resource Graph leaves out, silently, every subscription the caller cannot read, and answers
//! 403 only when none is readable: which subscriptions an answer covers is the collector's
//! business (`collect::arg`), worked out from the scope query.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use super::client::{ArmClient, ArmError, ArmErrorKind, Method};

/// The Resource Graph query API version lzaudit speaks (stable, `resourcegraph.json`).
pub const GRAPH_API_VERSION: &str = "2024-04-01";

/// The coverage name of a Resource Graph query (its RBAC action is `{api}/read`).
pub const GRAPH_API: &str = "Microsoft.ResourceGraph/resources";

/// Rows per page: Resource Graph's maximum `$top`.
pub const PAGE_SIZE: u64 = 1000;

/// Subscriptions named in one query.
pub const MAX_SUBSCRIPTIONS_PER_QUERY: usize = 300;

/// A ceiling on pages per query, far above any tenant (10 million rows).
pub const MAX_PAGES: usize = 10_000;

/// `{arm}/providers/Microsoft.ResourceGraph/resources?api-version=…`.
pub fn route(base: &Url) -> Url {
    let mut url = base
        .join("providers/Microsoft.ResourceGraph/resources")
        .expect("a fixed relative path joins");
    url.set_query(Some(&format!("api-version={GRAPH_API_VERSION}")));
    url
}

/// What a query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphScope {
    /// Everything the caller can read.
    Tenant,
    /// These subscription GUIDs (at most [`MAX_SUBSCRIPTIONS_PER_QUERY`]).
    Subscriptions(Vec<String>),
}

/// One query: its text, scope and `authorizationScopeFilter` (which levels of scope-inheriting
/// tables — policy assignments, role assignments — come back relative to the scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphQuery {
    pub query: String,
    pub scope: GraphScope,
    pub scope_filter: Option<&'static str>,
}

impl GraphQuery {
    /// The `QueryRequest` body of one page.
    pub fn body(&self, skip_token: Option<&str>) -> Value {
        let mut options = json!({"resultFormat": "objectArray", "$top": PAGE_SIZE});
        if let Some(filter) = self.scope_filter {
            options["authorizationScopeFilter"] = json!(filter);
        }
        if let Some(token) = skip_token {
            options["$skipToken"] = json!(token);
        }
        let mut body = json!({"query": self.query, "options": options});
        if let GraphScope::Subscriptions(subs) = &self.scope {
            body["subscriptions"] = json!(subs);
        }
        body
    }
}

/// Anything that can send one Resource Graph page: the `ArmClient`, or a fake in tests.
pub trait GraphPages {
    fn page(&self, url: &Url, body: &Value)
    -> impl Future<Output = Result<Value, ArmError>> + Send;
}

impl GraphPages for ArmClient {
    fn page(
        &self,
        url: &Url,
        body: &Value,
    ) -> impl Future<Output = Result<Value, ArmError>> + Send {
        self.graph_query(url, body)
    }
}

/// Every row of a query, following `$skipToken`. A page whose `data` is missing is refused by
/// the client; a repeated token or a truncated answer is an error here, never a short list.
pub async fn query_all<C: GraphPages + ?Sized>(
    client: &C,
    url: &Url,
    query: &GraphQuery,
) -> Result<Vec<Value>, ArmError> {
    let mut rows = Vec::new();
    let mut tokens: HashSet<String> = HashSet::new();
    let mut token: Option<String> = None;
    let error = |kind, message: String| ArmError {
        method: Method::Post,
        url: url.to_string(),
        http_status: None,
        code: None,
        message,
        kind,
    };
    for n in 0..MAX_PAGES {
        let mut page = client.page(url, &query.body(token.as_deref())).await?;
        if let Some(Value::Array(data)) = page.get_mut("data") {
            tracing::debug!(
                table = query.query.split(' ').next().unwrap_or_default(),
                page = n + 1,
                rows = data.len(),
                "Resource Graph page"
            );
            // Moved, not copied: a page is a thousand rows.
            rows.append(data);
        } else {
            return Err(error(
                ArmErrorKind::Body,
                "malformed Resource Graph answer: no `data` array".into(),
            ));
        }
        if page
            .get("resultTruncated")
            .is_some_and(|t| t.as_str() == Some("true") || t.as_bool() == Some(true))
            && page.get("$skipToken").is_none_or(Value::is_null)
        {
            return Err(error(
                ArmErrorKind::Body,
                "Resource Graph truncated the answer without a $skipToken".into(),
            ));
        }
        match page.get("$skipToken") {
            None | Some(Value::Null) => return Ok(rows),
            Some(Value::String(next)) if next.trim().is_empty() => return Ok(rows),
            Some(Value::String(next)) => {
                if !tokens.insert(next.clone()) {
                    return Err(error(
                        ArmErrorKind::PagingLoop,
                        "Resource Graph returned a $skipToken that was already followed; stopping instead of paging forever".into(),
                    ));
                }
                token = Some(next.clone());
            }
            Some(_) => {
                return Err(error(
                    ArmErrorKind::Body,
                    "malformed Resource Graph answer: `$skipToken` is not a string".into(),
                ));
            }
        }
    }
    Err(error(
        ArmErrorKind::PagingLoop,
        format!("more than {MAX_PAGES} pages; stopping"),
    ))
}

/// The quota headers of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaHeaders {
    pub remaining: u64,
    pub resets_after: Duration,
}

impl QuotaHeaders {
    /// Both headers, when both are there and parse.
    pub fn parse(headers: &HeaderMap) -> Option<QuotaHeaders> {
        let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
        Some(QuotaHeaders {
            remaining: text("x-ms-user-quota-remaining")?.parse().ok()?,
            resets_after: parse_resets_after(text("x-ms-user-quota-resets-after")?)?,
        })
    }
}

/// Parses `hh:mm:ss` (optionally with fractional seconds), as Resource Graph sends it.
pub fn parse_resets_after(text: &str) -> Option<Duration> {
    let mut parts = text.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let s: f64 = s.parse().ok()?;
    if m >= 60 || !(0.0..60.0).contains(&s) {
        return None;
    }
    Some(Duration::from_secs(h * 3600 + m * 60) + Duration::from_secs_f64(s))
}

/// The quota assumed before any answer has reported one: Learn's example, 15 queries per 5 s.
pub const ASSUMED_QUOTA: u64 = 15;
/// The window of [`ASSUMED_QUOTA`].
pub const ASSUMED_WINDOW: Duration = Duration::from_secs(5);

/// Resource Graph's per-user quota, counted locally between answers: each query takes one
/// unit before it is sent, and the answer to it corrects the count (never upwards: queries
/// admitted since may not have reached the service yet) and the reset time. An answer to a
/// query admitted in an earlier window says nothing about the current one and is ignored.
/// When none is left, queries wait for the reset instead of earning a 429; a 429 pauses every
/// query the same way.
///
/// The reset is the earliest that any answer of the window puts it at (received + resets-after):
/// the header counts whole seconds, rounded up, so each answer overstates the wait by up to
/// a second, and the latest answer's reading would cost that second in every window.
#[derive(Debug, Default)]
pub struct GraphQuota {
    state: Mutex<QuotaState>,
}

#[derive(Debug, Default)]
struct QuotaState {
    /// Units left in the current window, and when it resets; `None` before the first query.
    window: Option<(u64, Instant)>,
    /// Whether the current window's reset was read from an answer (not assumed).
    observed: bool,
    /// Queries per window, as the answers of the latest window that had any showed it (the
    /// units left after a query, plus that query): a new window starts with this many, not
    /// with Learn's example, which a tenant's quota need not match.
    capacity: Option<u64>,
    /// The largest such count in the current window.
    capacity_now: u64,
    /// Which window is current (counts the windows begun).
    generation: u64,
    /// No query before this (a 429's wait).
    paused_until: Option<Instant>,
}

/// The window a query was admitted in, to tell its answer's headers apart from later ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaTicket(u64);

impl GraphQuota {
    /// Takes one unit at `now`: the ticket of its window, or how long to wait before asking
    /// again when none is left.
    pub fn admit(&self, now: Instant) -> Result<QuotaTicket, Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = state.paused_until.filter(|u| *u > now) {
            return Err(until - now);
        }
        let (left, resets) = match state.window {
            Some((left, resets)) if resets > now => (left, resets),
            _ => {
                state.generation += 1;
                state.observed = false;
                state.capacity_now = 0;
                (
                    state.capacity.unwrap_or(ASSUMED_QUOTA),
                    now + ASSUMED_WINDOW,
                )
            }
        };
        if left == 0 {
            return Err(resets - now);
        }
        state.window = Some((left - 1, resets));
        Ok(QuotaTicket(state.generation))
    }

    /// Takes in the headers of the answer to a query admitted with `ticket`, received at `now`.
    pub fn observe(&self, ticket: QuotaTicket, quota: QuotaHeaders, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if ticket.0 != state.generation {
            return;
        }
        let said = now + quota.resets_after;
        let (left, resets) = match state.window {
            Some((left, resets)) if state.observed => (left, resets.min(said)),
            Some((left, _)) => (left, said),
            None => (quota.remaining, said),
        };
        state.window = Some((left.min(quota.remaining), resets));
        state.observed = true;
        state.capacity_now = state.capacity_now.max(quota.remaining + 1);
        state.capacity = Some(state.capacity_now);
    }

    /// Holds every query until `until` (or later, if already held longer).
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::collections::VecDeque;

    #[test]
    fn resets_after_is_hh_mm_ss() {
        assert_eq!(parse_resets_after("00:00:05"), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_resets_after("01:02:03"),
            Some(Duration::from_secs(3723))
        );
        assert_eq!(
            parse_resets_after("00:00:00.5"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_resets_after("5"), None);
        assert_eq!(parse_resets_after("00:61:00"), None);
        assert_eq!(parse_resets_after("00:00:-1"), None);
        assert_eq!(parse_resets_after("a:b:c"), None);

        let mut headers = HeaderMap::new();
        assert_eq!(QuotaHeaders::parse(&headers), None);
        headers.insert("x-ms-user-quota-remaining", HeaderValue::from_static("0"));
        assert_eq!(QuotaHeaders::parse(&headers), None, "both or nothing");
        headers.insert(
            "x-ms-user-quota-resets-after",
            HeaderValue::from_static("00:00:04"),
        );
        assert_eq!(
            QuotaHeaders::parse(&headers),
            Some(QuotaHeaders {
                remaining: 0,
                resets_after: Duration::from_secs(4)
            })
        );
    }

    #[test]
    fn an_exhausted_quota_holds_queries_until_its_reset() {
        let quota = GraphQuota::default();
        let now = Instant::now();
        // Before any answer: Learn's example quota.
        for _ in 0..ASSUMED_QUOTA {
            assert!(quota.admit(now).is_ok());
        }
        assert_eq!(quota.admit(now), Err(ASSUMED_WINDOW));
        assert!(quota.admit(now + ASSUMED_WINDOW).is_ok(), "a new window");

        let quota = GraphQuota::default();
        let first = quota.admit(now).unwrap();
        let headers = |remaining, secs| QuotaHeaders {
            remaining,
            resets_after: Duration::from_secs(secs),
        };
        quota.observe(first, headers(1, 2), now);
        let second = quota.admit(now).unwrap();
        assert_eq!(quota.admit(now), Err(Duration::from_secs(2)));
        // A late answer of the same window does not give units back, nor put the reset later
        // (the header's whole seconds overstate it).
        quota.observe(second, headers(5, 3), now);
        assert_eq!(quota.admit(now), Err(Duration::from_secs(2)));
        // After the reset a new window, assumed as large as the answers showed (at most 5 left
        // after a query: 6); a late answer from the old one (sent with its ticket) does not
        // touch it.
        let next = now + Duration::from_secs(2);
        let fresh = quota.admit(next).unwrap();
        assert_ne!(fresh, second);
        quota.observe(second, headers(0, 1), next);
        for _ in 0..5 {
            assert!(quota.admit(next).is_ok());
        }
        assert_eq!(quota.admit(next), Err(ASSUMED_WINDOW));
        // Its own answers do.
        let later = next + ASSUMED_WINDOW;
        let ticket = quota.admit(later).unwrap();
        quota.observe(ticket, headers(0, 3), later);
        assert_eq!(quota.admit(later), Err(Duration::from_secs(3)));
        // A 429 pauses everything, and a shorter pause does not cut a longer one.
        let paused = later + Duration::from_secs(3);
        quota.pause_until(paused + Duration::from_secs(4));
        quota.pause_until(paused + Duration::from_secs(1));
        assert_eq!(quota.admit(paused), Err(Duration::from_secs(4)));
        assert!(quota.admit(paused + Duration::from_secs(4)).is_ok());
        // A later window starts with the size the last answered one showed (0 left after a
        // query: 1), not Learn's 15.
        let quiet = paused + Duration::from_secs(60);
        assert!(quota.admit(quiet).is_ok());
        assert!(quota.admit(quiet).is_err(), "one query per window was seen");
    }

    #[test]
    fn the_body_names_scope_options_and_token() {
        let q = GraphQuery {
            query: "resources | project id".into(),
            scope: GraphScope::Subscriptions(vec!["a".into(), "b".into()]),
            scope_filter: Some("AtScopeAboveAndBelow"),
        };
        assert_eq!(
            q.body(Some("t1")),
            json!({"query": "resources | project id", "subscriptions": ["a", "b"],
                   "options": {"resultFormat": "objectArray", "$top": 1000,
                               "authorizationScopeFilter": "AtScopeAboveAndBelow", "$skipToken": "t1"}})
        );
        let tenant = GraphQuery {
            scope: GraphScope::Tenant,
            scope_filter: None,
            ..q
        };
        assert!(tenant.body(None).get("subscriptions").is_none());
        assert!(tenant.body(None)["options"].get("$skipToken").is_none());
        assert_eq!(
            route(&Url::parse("https://management.azure.com/").unwrap()).as_str(),
            "https://management.azure.com/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
        );
    }

    /// Serves canned pages in order and records the bodies sent.
    struct Canned {
        pages: Mutex<VecDeque<Value>>,
        sent: Mutex<Vec<Value>>,
    }

    impl GraphPages for Canned {
        fn page(
            &self,
            _url: &Url,
            body: &Value,
        ) -> impl Future<Output = Result<Value, ArmError>> + Send {
            self.sent.lock().unwrap().push(body.clone());
            let page = self.pages.lock().unwrap().pop_front().expect("a page");
            async move { Ok(page) }
        }
    }

    fn canned(pages: Vec<Value>) -> Canned {
        Canned {
            pages: Mutex::new(pages.into()),
            sent: Mutex::new(Vec::new()),
        }
    }

    fn query() -> GraphQuery {
        GraphQuery {
            query: "resources | project id | order by id asc".into(),
            scope: GraphScope::Tenant,
            scope_filter: None,
        }
    }

    fn url() -> Url {
        route(&Url::parse("http://127.0.0.1/").unwrap())
    }

    #[tokio::test]
    async fn pages_follow_the_skip_token_with_the_same_query() {
        let c = canned(vec![
            json!({"data": [{"id": "1"}], "$skipToken": "t1", "resultTruncated": "false"}),
            json!({"data": [{"id": "2"}], "$skipToken": "t2"}),
            json!({"data": [], "$skipToken": null}),
        ]);
        let rows = query_all(&c, &url(), &query()).await.unwrap();
        assert_eq!(rows, vec![json!({"id": "1"}), json!({"id": "2"})]);
        let sent = c.sent.lock().unwrap();
        assert_eq!(sent.len(), 3);
        assert!(sent[0]["options"].get("$skipToken").is_none());
        assert_eq!(sent[1]["options"]["$skipToken"], "t1");
        assert_eq!(sent[2]["options"]["$skipToken"], "t2");
        assert!(sent.iter().all(|b| b["query"] == sent[0]["query"]));
    }

    #[tokio::test]
    async fn a_repeated_token_or_a_page_without_data_is_a_failed_read() {
        let looping = canned(vec![
            json!({"data": [{"id": "1"}], "$skipToken": "t1"}),
            json!({"data": [{"id": "1"}], "$skipToken": "t1"}),
        ]);
        let err = query_all(&looping, &url(), &query()).await.unwrap_err();
        assert_eq!(err.kind, ArmErrorKind::PagingLoop);

        let empty = canned(vec![json!({"count": 0})]);
        let err = query_all(&empty, &url(), &query()).await.unwrap_err();
        assert_eq!(err.kind, ArmErrorKind::Body);

        let truncated = canned(vec![
            json!({"data": [{"id": "1"}], "resultTruncated": "true"}),
        ]);
        let err = query_all(&truncated, &url(), &query()).await.unwrap_err();
        assert_eq!(err.kind, ArmErrorKind::Body);
        assert!(err.message.contains("truncated"), "{err}");
    }
}
