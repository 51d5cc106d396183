//! The Resource Graph query endpoint's body: `POST /providers/Microsoft.ResourceGraph/
//! resources` takes a `QueryRequest` (`subscriptions[]`, `managementGroups[]`, `query`,
//! `options.{$top, $skip, $skipToken, resultFormat, allowPartialScopes,
//! authorizationScopeFilter}`, `facets[]`; swagger 2024-04-01) and answers a
//! `QueryResponse` (`totalRecords`, `count`, `resultTruncated` as the string `"true"` or
//! `"false"`, `$skipToken` when more rows follow, `data` as an array of objects, `facets`).
//! The HTTP side — bearer, method, read buckets, the user quota, injected faults, the log —
//! is the shared pipeline's (`serve`); this module validates the body, runs the query over
//! the tenant's tables (`graph`, `kql`) and pages the result.
//!
//! Paging (§13.3): at most `$top` (1..1000, default 1000) rows per answer; when more rows
//! follow, `$skipToken`, to be sent back with the *same* query and scopes — the token
//! carries a fingerprint of them, and a token used with anything else is refused rather
//! than silently paging a different result. As in ARG, a result without an `id` column, or
//! one capped by `limit`/`take`, cannot be paged: it comes back as its first page with
//! `resultTruncated: "true"` when rows were left out, and no token. Each page re-runs the
//! query (ARG is stateless too); the order is total (table order, then any `order by`,
//! stable), so pages never repeat or skip a row.
//!
//! Errors use ARG's envelope: `error.code` `BadRequest` with the specific code in
//! `error.details` — `InvalidQuery` followed by what is wrong (see `kql`) for a query
//! outside the subset, as ARG sends it — and 403 `AuthorizationFailed` when none of the
//! requested scopes can be read.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::chaos::ChaosKind;
use crate::graph::{Refusal, Requested, ScopeFilter, Selection};
use crate::kql::{self, QueryError};
use crate::random::fnv;
use crate::reply::Reply;
use crate::tenant::Tenant;

/// The API name Resource Graph queries are logged, faulted and denied under.
pub const GRAPH_API: &str = "Microsoft.ResourceGraph/resources";

/// ARG's limit on `subscriptions[]` in one request (Learn, troubleshoot/general.md: batch
/// under 1,000; the CLI and PowerShell forward only the first 1,000).
const MAX_SUBSCRIPTIONS: usize = 1000;
/// `$top`'s maximum and default (swagger `maximum: 1000`).
const MAX_TOP: usize = 1000;
const TOKEN_PREFIX: &str = "emu-arg1.";

const INVALID_QUERY: &str = "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.";

/// ARG's 400: `BadRequest`, with the specific code in `details`.
fn bad_request(code: &str, message: impl Into<String>) -> Reply {
    let message = message.into();
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": "BadRequest", "message": message, "details": [{"code": code, "message": message}]}}),
    )
}

fn invalid_query(error: &QueryError) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"error": {
            "code": "BadRequest",
            "message": format!("Query is invalid: {}", error.message),
            "details": [
                {"code": "InvalidQuery", "message": INVALID_QUERY},
                {"code": error.code, "message": error.message}
            ]
        }}),
    )
}

fn invalid_content(message: impl Into<String>) -> Reply {
    bad_request("InvalidRequestContent", message)
}

/// A validated `QueryRequest`.
#[derive(Debug)]
struct Request {
    query: String,
    requested: Requested,
    top: usize,
    skip: usize,
    skip_token: Option<String>,
    filter: ScopeFilter,
}

/// Finds `key` in a JSON object case-insensitively (ARM's JSON binding is).
fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn reject_unknown(
    object: &Map<String, Value>,
    known: &[&str],
    type_name: &str,
) -> Result<(), Reply> {
    match object
        .keys()
        .find(|k| !known.iter().any(|n| n.eq_ignore_ascii_case(k)))
    {
        Some(k) => Err(invalid_content(format!(
            "Could not find member '{k}' on object of type '{type_name}' (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn strings(value: Option<&Value>, name: &str) -> Result<Vec<String>, Reply> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        invalid_content(format!("'{name}' must be an array of non-empty strings"))
                    })
            })
            .collect(),
        Some(_) => Err(invalid_content(format!(
            "'{name}' must be an array of strings"
        ))),
    }
}

fn count(
    value: Option<&Value>,
    name: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, Reply> {
    match value {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                invalid_content(format!(
                    "'options.{name}' must be an integer from {} to {}, not {v}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

fn parse_request(body: &[u8]) -> Result<Request, Reply> {
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        invalid_content(format!(
            "The request content was invalid and could not be deserialized: {e}"
        ))
    })?;
    let Value::Object(root) = root else {
        return Err(invalid_content(
            "The request content must be a JSON object (a QueryRequest)",
        ));
    };
    reject_unknown(
        &root,
        &[
            "subscriptions",
            "managementGroups",
            "query",
            "options",
            "facets",
        ],
        "QueryRequest",
    )?;
    let query = match member(&root, "query") {
        Some(Value::String(q)) => q.clone(),
        Some(_) => return Err(invalid_content("'query' must be a string")),
        None => return Err(invalid_content("The 'query' property is required")),
    };
    let subscriptions = strings(member(&root, "subscriptions"), "subscriptions")?;
    let groups = strings(member(&root, "managementGroups"), "managementGroups")?;
    match member(&root, "facets") {
        None => {}
        Some(Value::Array(facets)) if facets.is_empty() => {}
        Some(_) => {
            return Err(bad_request(
                "UnsupportedFacets",
                "facets are not implemented by the emulator's Resource Graph; send 'facets': [] or leave it out",
            ));
        }
    }
    let requested = match (subscriptions.is_empty(), groups.is_empty()) {
        (false, false) => {
            return Err(invalid_content(
                "Pass either 'subscriptions' or 'managementGroups', not both",
            ));
        }
        (false, true) => {
            if subscriptions.len() > MAX_SUBSCRIPTIONS {
                return Err(bad_request(
                    "TooManySubscriptions",
                    format!(
                        "The request names {} subscriptions; at most {MAX_SUBSCRIPTIONS} are allowed in one query. Split the subscriptions into batches.",
                        subscriptions.len()
                    ),
                ));
            }
            Requested::Subscriptions(subscriptions)
        }
        (true, false) => Requested::Groups(groups),
        (true, true) => Requested::Tenant,
    };
    let mut request = Request {
        query,
        requested,
        top: MAX_TOP,
        skip: 0,
        skip_token: None,
        filter: ScopeFilter::default(),
    };
    let options = match member(&root, "options") {
        None => return Ok(request),
        Some(Value::Object(options)) => options,
        Some(_) => return Err(invalid_content("'options' must be an object")),
    };
    reject_unknown(
        options,
        &[
            "$top",
            "$skip",
            "$skipToken",
            "resultFormat",
            "allowPartialScopes",
            "authorizationScopeFilter",
        ],
        "QueryRequestOptions",
    )?;
    if let Some(top) = count(member(options, "$top"), "$top", 1..=MAX_TOP)? {
        request.top = top;
    }
    if let Some(skip) = count(member(options, "$skip"), "$skip", 0..=usize::MAX)? {
        request.skip = skip;
    }
    request.skip_token = match member(options, "$skipToken") {
        None => None,
        Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
        Some(_) => {
            return Err(invalid_content(
                "'options.$skipToken' must be a non-empty string",
            ));
        }
    };
    match member(options, "resultFormat") {
        None => {}
        Some(Value::String(f)) if f.eq_ignore_ascii_case("objectArray") => {}
        Some(Value::String(f)) if f.eq_ignore_ascii_case("table") => {
            return Err(bad_request(
                "UnsupportedResultFormat",
                "The emulator's Resource Graph answers only resultFormat 'objectArray' (rows as objects); 'table' is not implemented",
            ));
        }
        Some(other) => {
            return Err(invalid_content(format!(
                "'options.resultFormat' must be 'objectArray' or 'table', not {other}"
            )));
        }
    }
    if member(options, "allowPartialScopes").is_some_and(|v| !v.is_boolean()) {
        return Err(invalid_content(
            "'options.allowPartialScopes' must be a boolean",
        ));
    }
    if let Some(filter) = member(options, "authorizationScopeFilter") {
        request.filter = filter
            .as_str()
            .and_then(ScopeFilter::parse)
            .ok_or_else(|| {
                invalid_content(format!(
                    "'options.authorizationScopeFilter' must be one of AtScopeAndBelow, AtScopeAndAbove, AtScopeAboveAndBelow, AtScopeExact, not {filter}"
                ))
            })?;
    }
    Ok(request)
}

/// What a skip token must match: the query and its scopes, as the request sent them (the
/// order of the lists aside).
fn fingerprint(request: &Request) -> u64 {
    let scopes = |list: &[String]| {
        let mut keys: Vec<String> = list.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        keys.sort();
        keys.join(",")
    };
    let scope = match &request.requested {
        Requested::Subscriptions(list) => format!("s:{}", scopes(list)),
        Requested::Groups(list) => format!("g:{}", scopes(list)),
        Requested::Tenant => "t".to_string(),
    };
    fnv(&format!(
        "{}\n{scope}\n{}",
        request.query,
        request.filter.name()
    ))
}

fn encode_token(offset: usize, fingerprint: u64) -> String {
    format!("{TOKEN_PREFIX}{offset:x}.{fingerprint:016x}")
}

fn decode_token(token: &str) -> Option<(usize, u64)> {
    let (offset, fingerprint) = token.strip_prefix(TOKEN_PREFIX)?.split_once('.')?;
    Some((
        usize::from_str_radix(offset, 16).ok()?,
        u64::from_str_radix(fingerprint, 16).ok()?,
    ))
}

/// Answers one query `body` for `principal`, whose reads of Resource Graph are denied at
/// `denied` (normalised scopes). `chaos` is the seeded fault drawn for the request, for the
/// two that change a page's contents: `DuplicateItems` repeats the first row at the end,
/// `NextLinkLoop` sends a `$skipToken` that asks for the same page again.
pub(crate) fn answer(
    tenant: &Tenant,
    body: &[u8],
    denied: &[String],
    principal: &Principal,
    chaos: Option<&ChaosKind>,
) -> Reply {
    let request = match parse_request(body) {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let query = match kql::parse(&request.query) {
        Ok(q) => q,
        Err(e) => return invalid_query(&e),
    };
    let selection = match Selection::resolve(tenant, &request.requested, request.filter, denied) {
        Ok(s) => s,
        Err(Refusal::Forbidden(why)) => {
            return Reply::arm(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client '{}' with object id '{}' does not have authorization to perform action '{GRAPH_API}/read' over the requested scopes: {why}.",
                    principal.client_id, principal.object_id
                ),
            );
        }
    };
    let fingerprint = fingerprint(&request);
    let start = match &request.skip_token {
        None => request.skip,
        Some(token) => match decode_token(token) {
            Some((offset, f)) if f == fingerprint => offset,
            Some(_) => {
                return bad_request(
                    "InvalidSkipToken",
                    "The $skipToken was issued for another query or scope: send it back with the same query, subscriptions, managementGroups and authorizationScopeFilter",
                );
            }
            None => {
                return bad_request(
                    "InvalidSkipToken",
                    format!("The $skipToken '{token}' is not valid"),
                );
            }
        },
    };

    let rows = tenant.graph().rows(tenant, query.table, &selection);
    let output = query.run(rows);
    let total = output.rows.len();
    let start = start.min(total);
    let end = start.saturating_add(request.top).min(total);
    let pageable = !query.limited && query.columns.iter().any(|c| c == "id");
    let more = end < total;
    let mut page = &output.rows[start..end];
    let duplicated: Vec<Vec<kql::Cell<'_>>>;
    if chaos == Some(&ChaosKind::DuplicateItems)
        && let Some(first) = page.first()
    {
        duplicated = page.iter().chain(std::iter::once(first)).cloned().collect();
        page = &duplicated;
    }
    let skip_token = if chaos == Some(&ChaosKind::NextLinkLoop) {
        Some(encode_token(start, fingerprint))
    } else {
        (more && pageable).then(|| encode_token(end, fingerprint))
    };
    let response = Response {
        total_records: total,
        count: page.len(),
        result_truncated: if more && !pageable { "true" } else { "false" },
        skip_token,
        data: kql::Objects {
            columns: &query.columns,
            rows: page,
        },
        facets: [],
    };
    match serde_json::to_vec(&response) {
        Ok(json) => Reply::ok_encoded(json),
        Err(e) => Reply::arm(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("The answer could not be serialised: {e}"),
        ),
    }
}

/// `QueryResponse`, serialised straight from the result's rows: a page of a thousand
/// clusters is megabytes, and copying it into a `Value` first would double the work.
#[derive(Serialize)]
struct Response<'a, 't> {
    #[serde(rename = "totalRecords")]
    total_records: usize,
    count: usize,
    /// A string, as ARG sends it.
    #[serde(rename = "resultTruncated")]
    result_truncated: &'static str,
    #[serde(rename = "$skipToken", skip_serializing_if = "Option::is_none")]
    skip_token: Option<String>,
    data: kql::Objects<'a, 't>,
    facets: [(); 0],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            client_id: "app".into(),
            object_id: "oid".into(),
        }
    }

    fn tenant() -> Tenant {
        let sub = "aaaaaaaa-0000-0000-0000-000000000001";
        let resources: Vec<Value> = (0..25)
            .map(|i| json!({"id": format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v{i:02}"), "type": "Microsoft.Network/virtualNetworks"}))
            .collect();
        Tenant::from_json(
            &json!({"tenant_id": "t", "subscriptions": [{"subscription": {"subscriptionId": sub}}], "resources": resources}).to_string(),
        )
        .expect("fixture")
    }

    fn ask(tenant: &Tenant, body: Value) -> Reply {
        answer(tenant, body.to_string().as_bytes(), &[], &principal(), None)
    }

    #[test]
    fn pages_by_skip_token_until_the_last_row() {
        let t = tenant();
        let query = "resources | project id, name | order by id asc";
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        for page in 0..3 {
            let mut body = json!({"query": query, "options": {"$top": 10}});
            if let Some(token) = &token {
                body["options"]["$skipToken"] = json!(token);
            }
            let reply = ask(&t, body);
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
            assert_eq!(reply.value()["totalRecords"], 25);
            assert_eq!(reply.value()["resultTruncated"], "false");
            assert_eq!(reply.value()["facets"], json!([]));
            let data = reply.value()["data"].as_array().expect("data").clone();
            assert_eq!(reply.value()["count"], data.len());
            seen.extend(
                data.iter()
                    .map(|r| r["name"].as_str().unwrap_or_default().to_string()),
            );
            token = reply.value()["$skipToken"].as_str().map(str::to_string);
            assert_eq!(token.is_some(), page < 2);
        }
        let expected: Vec<String> = (0..25).map(|i| format!("v{i:02}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn results_without_id_or_with_limit_are_truncated_not_paged() {
        let t = tenant();
        for query in [
            "resources | project name",
            "resources | project id | limit 20",
        ] {
            let reply = ask(&t, json!({"query": query, "options": {"$top": 5}}));
            assert_eq!(reply.value()["resultTruncated"], "true", "{query}");
            assert!(reply.value().get("$skipToken").is_none(), "{query}");
            assert_eq!(reply.value()["count"], 5);
        }
        let reply = ask(
            &t,
            json!({"query": "resources | project name", "options": {"$top": 30}}),
        );
        assert_eq!(reply.value()["resultTruncated"], "false");
    }

    #[test]
    fn tokens_belong_to_their_query_and_scope() {
        let t = tenant();
        let first = ask(
            &t,
            json!({"query": "resources | project id", "options": {"$top": 10}}),
        );
        let token = first.value()["$skipToken"]
            .as_str()
            .expect("token")
            .to_string();
        let other = ask(
            &t,
            json!({"query": "resources | project id, name", "options": {"$top": 10, "$skipToken": token}}),
        );
        assert_eq!(other.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            other.value()["error"]["details"][0]["code"],
            "InvalidSkipToken"
        );
        let scoped = ask(
            &t,
            json!({"query": "resources | project id", "subscriptions": ["aaaaaaaa-0000-0000-0000-000000000001"], "options": {"$skipToken": token}}),
        );
        assert_eq!(scoped.status, StatusCode::BAD_REQUEST);
        let garbage = ask(
            &t,
            json!({"query": "resources | project id", "options": {"$skipToken": "abc"}}),
        );
        assert_eq!(
            garbage.value()["error"]["details"][0]["code"],
            "InvalidSkipToken"
        );
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let t = tenant();
        let detail = |body: Value| {
            let reply = ask(&t, body);
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.value());
            assert_eq!(reply.value()["error"]["code"], "BadRequest");
            (
                reply.value()["error"]["details"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                reply.value()["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        let q = "resources";
        assert_eq!(
            detail(json!({"query": "resources | join (resources) on id"})).0,
            "InvalidQuery"
        );
        assert_eq!(detail(json!({})).0, "InvalidRequestContent");
        assert!(
            detail(json!({"query": q, "subscription": ["x"]}))
                .1
                .contains("'subscription'")
        );
        assert!(
            detail(json!({"query": q, "options": {"top": 5}}))
                .1
                .contains("'top'")
        );
        assert!(
            detail(json!({"query": q, "options": {"$top": 1001}}))
                .1
                .contains("$top")
        );
        assert!(
            detail(json!({"query": q, "options": {"$top": 0}}))
                .1
                .contains("$top")
        );
        assert_eq!(
            detail(json!({"query": q, "options": {"resultFormat": "table"}})).0,
            "UnsupportedResultFormat"
        );
        assert!(
            detail(json!({"query": q, "options": {"authorizationScopeFilter": "Everything"}}))
                .1
                .contains("AtScopeExact")
        );
        assert!(
            detail(json!({"query": q, "subscriptions": ["a"], "managementGroups": ["b"]}))
                .1
                .contains("not both")
        );
        let many: Vec<String> = (0..1001)
            .map(|i| format!("{i:08}-0000-0000-0000-000000000000"))
            .collect();
        assert_eq!(
            detail(json!({"query": q, "subscriptions": many})).0,
            "TooManySubscriptions"
        );
        assert_eq!(
            detail(json!({"query": q, "facets": [{"expression": "location"}]})).0,
            "UnsupportedFacets"
        );
        let reply = answer(&t, b"{not json", &[], &principal(), None);
        assert_eq!(
            reply.value()["error"]["details"][0]["code"],
            "InvalidRequestContent"
        );
        let ok = ask(
            &t,
            json!({"query": q, "facets": [], "options": {"resultFormat": "objectArray", "allowPartialScopes": true, "authorizationScopeFilter": "atscopeexact"}}),
        );
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.value());
    }

    #[test]
    fn nothing_readable_is_forbidden() {
        let t = tenant();
        let sub = "/subscriptions/aaaaaaaa-0000-0000-0000-000000000001".to_string();
        let reply = answer(
            &t,
            json!({"query": "resources"}).to_string().as_bytes(),
            &[sub],
            &principal(),
            None,
        );
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.value()["error"]["code"], "AuthorizationFailed");
    }

    #[test]
    fn seeded_faults_repeat_a_row_or_loop_the_token() {
        let t = tenant();
        let query = "resources | project id | order by id asc";
        let faulted = |body: &Value, kind: ChaosKind| {
            answer(
                &t,
                body.to_string().as_bytes(),
                &[],
                &principal(),
                Some(&kind),
            )
            .value()
        };
        let first = json!({"query": query, "options": {"$top": 10}});
        let duplicated = faulted(&first, ChaosKind::DuplicateItems);
        let rows = duplicated["data"].as_array().expect("data");
        assert_eq!((rows.len(), &duplicated["count"]), (11, &json!(11)));
        assert_eq!(rows[0], rows[10]);

        let looped = faulted(&first, ChaosKind::NextLinkLoop);
        let token = looped["$skipToken"].clone();
        let mut again = first.clone();
        again["options"]["$skipToken"] = token;
        let again_page = ask(&t, again.clone()).value();
        assert_eq!(
            again_page["data"], looped["data"],
            "the token asks for the same page"
        );
        let next = again_page["$skipToken"].clone();
        let mut second = first.clone();
        second["options"]["$skipToken"] = next.clone();
        assert_eq!(
            faulted(&second, ChaosKind::NextLinkLoop)["$skipToken"],
            next,
            "a later page hands back the token it was sent"
        );
    }
}
