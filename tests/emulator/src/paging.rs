//! ARM list paging: slicing a result into pages, the opaque `$skiptoken`, and the absolute
//! `nextLink` that points back at the listener the client used. Real nextLinks carry the
//! original `api-version` and `$filter`, and clients must follow them verbatim, so the link
//! keeps the request's query exactly as sent and only swaps the skip token; the last page
//! either omits `nextLink` or sends `null`, both of which ARM does. PolicyInsights answers in
//! OData's envelope instead (`policyStates.json` 2019-10-01, `PolicyStatesQueryResults`):
//! `@odata.context`, `@odata.count` (the records in this page), `value` and `@odata.nextLink`.

use std::ops::Range;

use serde_json::{Map, Value};

/// The prefix and check digits make a token recognisably ours, so that a client replaying a
/// token from somewhere else gets a 400 instead of a silently wrong page. Only unreserved URL
/// characters are used, so the link survives any client's re-encoding.
const TOKEN_PREFIX: &str = "emu1-";

/// A page of `total` items starting at `offset`, and the offset of the next page if any.
/// `page_size` of `None` or `Some(0)` means everything in one page.
pub(crate) fn page(
    total: usize,
    page_size: Option<usize>,
    offset: usize,
) -> (Range<usize>, Option<usize>) {
    let start = offset.min(total);
    match page_size {
        Some(size) if size > 0 => {
            let end = start.saturating_add(size).min(total);
            (start..end, (end < total).then_some(end))
        }
        _ => (start..total, None),
    }
}

pub(crate) fn encode_token(offset: usize) -> String {
    let check = offset.wrapping_mul(0x9e37_79b9) % 97;
    format!("{TOKEN_PREFIX}{offset:x}.{check}")
}

pub(crate) fn decode_token(token: &str) -> Option<usize> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (hex, _check) = rest.split_once('.')?;
    let offset = usize::from_str_radix(hex, 16).ok()?;
    (encode_token(offset) == token).then_some(offset)
}

/// Whether a raw query key is the skip token (ARM spells it `$skiptoken` or `$skipToken`,
/// and clients may percent-encode the dollar).
pub(crate) fn is_skiptoken_key(raw_key: &str) -> bool {
    let key = raw_key.replace("%24", "$");
    key.eq_ignore_ascii_case("$skiptoken")
}

/// The absolute link to the page at `offset`: `base` is `scheme://host`, `path` and
/// `raw_query` are the request's own, undecoded.
pub(crate) fn next_link(base: &str, path: &str, raw_query: &str, offset: usize) -> String {
    let mut pairs: Vec<&str> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| !is_skiptoken_key(p.split('=').next().unwrap_or("")))
        .collect();
    let token = format!("$skiptoken={}", encode_token(offset));
    pairs.push(&token);
    format!("{base}{path}?{}", pairs.join("&"))
}

/// The list envelope `{"value": [...], "nextLink": ...}`.
pub(crate) fn envelope(items: Vec<Value>, next: Option<String>, null_next_link: bool) -> Value {
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(items));
    match next {
        Some(link) => {
            body.insert("nextLink".into(), Value::String(link));
        }
        None if null_next_link => {
            body.insert("nextLink".into(), Value::Null);
        }
        None => {}
    }
    Value::Object(body)
}

/// The OData envelope of a PolicyInsights query page: `{"@odata.context", "@odata.count",
/// "value", "@odata.nextLink"}`; the last page omits the link, or sends `null`.
pub(crate) fn odata_envelope(
    context: String,
    items: Vec<Value>,
    next: Option<String>,
    null_next_link: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    body.insert("@odata.count".into(), Value::from(items.len()));
    body.insert("value".into(), Value::Array(items));
    match next {
        Some(link) => {
            body.insert("@odata.nextLink".into(), Value::String(link));
        }
        None if null_next_link => {
            body.insert("@odata.nextLink".into(), Value::Null);
        }
        None => {}
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        assert_eq!(page(3, Some(1), 0), (0..1, Some(1)));
        assert_eq!(page(3, Some(1), 2), (2..3, None));
        assert_eq!(page(3, Some(2), 2), (2..3, None));
        assert_eq!(page(3, None, 0), (0..3, None));
        assert_eq!(page(3, Some(0), 0), (0..3, None));
        assert_eq!(page(0, Some(5), 0), (0..0, None));
        assert_eq!(page(3, Some(5), 9), (3..3, None));
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for offset in [0, 1, 17, 4096] {
            assert_eq!(decode_token(&encode_token(offset)), Some(offset));
        }
        assert_eq!(decode_token("abc"), None);
        assert_eq!(decode_token("emu1-5.0"), None);
        assert_eq!(decode_token("emu1-zz.1"), None);
    }

    #[test]
    fn next_link_keeps_query_and_replaces_token() {
        let link = next_link(
            "https://127.0.0.1:9",
            "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments",
            "api-version=2025-01-01&%24filter=atScope%28%29&$skipToken=old",
            2,
        );
        assert_eq!(
            link,
            format!(
                "https://127.0.0.1:9/subscriptions/s/providers/Microsoft.Authorization/policyAssignments?api-version=2025-01-01&%24filter=atScope%28%29&$skiptoken={}",
                encode_token(2)
            )
        );
    }

    #[test]
    fn envelope_shapes() {
        assert_eq!(envelope(vec![], None, false).to_string(), r#"{"value":[]}"#);
        assert_eq!(
            envelope(vec![], None, true).to_string(),
            r#"{"value":[],"nextLink":null}"#
        );
        assert_eq!(
            envelope(vec![Value::Bool(true)], Some("x".into()), true).to_string(),
            r#"{"value":[true],"nextLink":"x"}"#
        );
    }

    #[test]
    fn odata_envelope_shapes() {
        assert_eq!(
            odata_envelope("c".into(), vec![Value::Bool(true)], Some("x".into()), false)
                .to_string(),
            r#"{"@odata.context":"c","@odata.count":1,"value":[true],"@odata.nextLink":"x"}"#
        );
        assert_eq!(
            odata_envelope("c".into(), vec![], None, true).to_string(),
            r#"{"@odata.context":"c","@odata.count":0,"value":[],"@odata.nextLink":null}"#
        );
        assert!(
            odata_envelope("c".into(), vec![], None, false)
                .get("@odata.nextLink")
                .is_none()
        );
    }
}
