//! The one pager: follows a list's next link until the last page and returns every `value` item.
//!
//! ARM lists page with an absolute `nextLink` that already carries the api-version and skip
//! token; the last page omits it or sends `null` (both occur). OData-style services behind ARM
//! name the same link `@odata.nextLink` (PolicyInsights `queryResults`: `x-ms-pageable:
//! {nextLinkName: "@odata.nextLink"}` in `policyStates.json` 2019-10-01, and its
//! `PolicyStates_*NextLink.json` examples); the pager accepts either field, and refuses an answer
//! that sends both with different values rather than guess. Each next link is requested with
//! the method of the first request: GET for ARM lists, POST for `queryResults`, whose service
//! refuses a GET on its next link with 405 `HttpMethodNotSupported` (reported in
//! Azure/azure-sdk-for-python#17280 and Azure/azure-cli#20370, tracked in
//! Azure/azure-rest-api-specs#15136). This module owns that loop so that no collector ever
//! writes one: it resolves each link exactly as given, stops on absent, `null` or empty links,
//! and turns a link it has already followed into an error instead of an endless loop. Where a
//! link may point is the client's business (it refuses foreign origins).

use std::collections::HashSet;

use serde_json::{Map, Value};
use url::Url;

use super::client::{ArmError, ArmErrorKind, Expect, Method};

/// Anything that can send a read and parse its JSON answer: the `ArmClient`, or a fake in tests.
pub trait FetchJson {
    fn fetch_json(
        &self,
        method: Method,
        url: &Url,
        expect: Expect,
    ) -> impl Future<Output = Result<Value, ArmError>> + Send;
}

/// A hard ceiling on pages per list, far above any real tenant, as a second guard against a
/// service that keeps minting new links.
pub const MAX_PAGES: usize = 10_000;

/// The fields a list answer may carry its next link in: ARM's, then OData's.
pub const NEXT_LINK_FIELDS: &[&str] = &["nextLink", "@odata.nextLink"];

/// GETs `url` and every `nextLink` after it; returns all `value` items (ARM resources) in order.
pub async fn list_all<C: FetchJson + ?Sized>(client: &C, url: Url) -> Result<Vec<Value>, ArmError> {
    list_all_with(client, Method::Get, url, Expect::Resources).await
}

/// Sends `method` to `url` and to every next link after it; returns all `value` items in order.
/// Every page must have the shape `expect` names (a `value` array; the client checks it and
/// retries a malformed page): a page without one is a failed read, never an empty page.
pub async fn list_all_with<C: FetchJson + ?Sized>(
    client: &C,
    method: Method,
    url: Url,
    expect: Expect,
) -> Result<Vec<Value>, ArmError> {
    let mut items = Vec::new();
    let mut seen_items = HashSet::new();
    let mut seen = HashSet::new();
    let mut current = url;
    seen.insert(current.to_string());
    for _ in 0..MAX_PAGES {
        let mut page = client.fetch_json(method, &current, expect).await?;
        let body_error = |message: &str| ArmError {
            method,
            url: current.to_string(),
            http_status: None,
            code: None,
            message: message.to_string(),
            kind: ArmErrorKind::Body,
        };
        let object = page
            .as_object_mut()
            .ok_or_else(|| body_error("a list answer must be a JSON object with `value`"))?;
        match object.get_mut("value") {
            // Items are moved out of the page, not copied.
            Some(Value::Array(values)) => {
                for item in std::mem::take(values) {
                    // Pages shift while a collection changes, so an item can come twice (ARM
                    // and Resource Graph both warn of it): keep the first.
                    if seen_items.insert(identity(&item)) {
                        items.push(item);
                    }
                }
            }
            _ => return Err(body_error("malformed list response: no `value` array")),
        }
        let Some(next) = next_link(object).map_err(|m| body_error(&m))? else {
            return Ok(items);
        };
        let next = current
            .join(next)
            .map_err(|e| body_error(&format!("the next link '{next}' is not a URL: {e}")))?;
        if !seen.insert(next.to_string()) {
            return Err(ArmError {
                method,
                url: next.to_string(),
                http_status: None,
                code: None,
                message: "the service returned a next link that was already followed; stopping instead of paging forever".into(),
                kind: ArmErrorKind::PagingLoop,
            });
        }
        current = next;
    }
    Err(ArmError {
        method,
        url: current.to_string(),
        http_status: None,
        code: None,
        message: format!("more than {MAX_PAGES} pages; stopping"),
        kind: ArmErrorKind::PagingLoop,
    })
}

/// What makes two list items the same: the resource ID (any casing), or for records without
/// one (policy states) the whole record.
fn identity(item: &Value) -> String {
    match item.get("id").and_then(Value::as_str) {
        Some(id) => id.to_ascii_lowercase(),
        None => format!("\u{0}{item}"),
    }
}

/// The next link of a list answer: `None` when every next-link field is absent, `null` or
/// empty; an error when one is not a string or two disagree.
fn next_link(object: &Map<String, Value>) -> Result<Option<&str>, String> {
    let mut found: Option<(&str, &str)> = None;
    for field in NEXT_LINK_FIELDS {
        let link = match object.get(*field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(link)) if link.trim().is_empty() => continue,
            Some(Value::String(link)) => link.trim(),
            Some(_) => return Err(format!("`{field}` is neither a string nor null")),
        };
        match found {
            Some((other, earlier)) if earlier != link => {
                return Err(format!(
                    "`{other}` and `{field}` name different next pages; refusing to guess"
                ));
            }
            Some(_) => {}
            None => found = Some((field, link)),
        }
    }
    Ok(found.map(|(_, link)| link))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Serves canned pages by URL and records the order they were asked for.
    struct Pages {
        pages: HashMap<String, Value>,
        asked: Mutex<Vec<String>>,
    }

    impl Pages {
        fn new(pages: &[(&str, Value)]) -> Pages {
            Pages {
                pages: pages
                    .iter()
                    .map(|(u, v)| (Url::parse(u).unwrap().to_string(), v.clone()))
                    .collect(),
                asked: Mutex::new(Vec::new()),
            }
        }
    }

    impl FetchJson for Pages {
        fn fetch_json(
            &self,
            method: Method,
            url: &Url,
            _expect: Expect,
        ) -> impl Future<Output = Result<Value, ArmError>> + Send {
            self.asked.lock().unwrap().push(format!("{method} {url}"));
            let answer = self
                .pages
                .get(url.as_str())
                .cloned()
                .ok_or_else(|| ArmError {
                    method,
                    url: url.to_string(),
                    http_status: Some(404),
                    code: None,
                    message: "no such page".into(),
                    kind: ArmErrorKind::Status,
                });
            async move { answer }
        }
    }

    fn start() -> Url {
        Url::parse("http://127.0.0.1/list?api-version=1").unwrap()
    }

    #[tokio::test]
    async fn absent_next_link_ends() {
        let pages = Pages::new(&[
            (
                "http://127.0.0.1/list?api-version=1",
                json!({"value": [1, 2], "nextLink": "http://127.0.0.1/list?api-version=1&$skiptoken=a"}),
            ),
            (
                "http://127.0.0.1/list?api-version=1&$skiptoken=a",
                json!({"value": [3]}),
            ),
        ]);
        assert_eq!(
            list_all(&pages, start()).await.unwrap(),
            vec![json!(1), json!(2), json!(3)]
        );
        assert_eq!(pages.asked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn null_and_empty_next_link_end() {
        let pages = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [1], "nextLink": null}),
        )]);
        assert_eq!(list_all(&pages, start()).await.unwrap(), vec![json!(1)]);
        let pages = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [], "nextLink": ""}),
        )]);
        assert!(list_all(&pages, start()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_page_without_a_value_array_is_a_failed_read_not_an_empty_list() {
        for body in [
            json!({}),
            json!({"value": null}),
            json!({"properties": null}),
        ] {
            let pages = Pages::new(&[("http://127.0.0.1/list?api-version=1", body.clone())]);
            let err = list_all(&pages, start()).await.unwrap_err();
            assert_eq!(err.kind, ArmErrorKind::Body, "{body}");
            assert!(err.message.contains("malformed list response"), "{err}");
        }
        // A later page without `value` fails the whole list too.
        let pages = Pages::new(&[
            (
                "http://127.0.0.1/list?api-version=1",
                json!({"value": [1], "nextLink": "http://127.0.0.1/list?p=2"}),
            ),
            ("http://127.0.0.1/list?p=2", json!({"nextLink": null})),
        ]);
        assert_eq!(
            list_all(&pages, start()).await.unwrap_err().kind,
            ArmErrorKind::Body
        );
    }

    #[tokio::test]
    async fn items_repeated_across_pages_are_kept_once() {
        let pages = Pages::new(&[
            (
                "http://127.0.0.1/list?api-version=1",
                json!({"value": [{"id": "/a"}, {"id": "/b"}, {"id": "/A"}],
                       "nextLink": "http://127.0.0.1/list?api-version=1&p=2"}),
            ),
            (
                "http://127.0.0.1/list?api-version=1&p=2",
                json!({"value": [{"id": "/b"}, {"id": "/c"}, {"r": 1}, {"r": 1}, {"r": 2}]}),
            ),
        ]);
        let items = list_all(&pages, start()).await.unwrap();
        assert_eq!(
            items,
            vec![
                json!({"id": "/a"}),
                json!({"id": "/b"}),
                json!({"id": "/c"}),
                json!({"r": 1}),
                json!({"r": 2})
            ]
        );
    }

    #[tokio::test]
    async fn repeated_next_link_is_an_error_not_a_loop() {
        let pages = Pages::new(&[
            (
                "http://127.0.0.1/list?api-version=1",
                json!({"value": [1], "nextLink": "http://127.0.0.1/list?api-version=1&p=2"}),
            ),
            (
                "http://127.0.0.1/list?api-version=1&p=2",
                json!({"value": [2], "nextLink": "http://127.0.0.1/list?api-version=1"}),
            ),
        ]);
        let err = list_all(&pages, start()).await.unwrap_err();
        assert_eq!(err.kind, ArmErrorKind::PagingLoop);
        assert_eq!(pages.asked.lock().unwrap().len(), 2);
        let itself = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [1], "nextLink": "http://127.0.0.1/list?api-version=1"}),
        )]);
        assert_eq!(
            list_all(&itself, start()).await.unwrap_err().kind,
            ArmErrorKind::PagingLoop
        );
    }

    #[tokio::test]
    async fn bad_shapes_and_page_errors_propagate() {
        let pages = Pages::new(&[("http://127.0.0.1/list?api-version=1", json!({"value": 3}))]);
        assert_eq!(
            list_all(&pages, start()).await.unwrap_err().kind,
            ArmErrorKind::Body
        );
        let pages = Pages::new(&[("http://127.0.0.1/list?api-version=1", json!([1]))]);
        assert_eq!(
            list_all(&pages, start()).await.unwrap_err().kind,
            ArmErrorKind::Body
        );
        let pages = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [1], "nextLink": "http://127.0.0.1/missing"}),
        )]);
        let err = list_all(&pages, start()).await.unwrap_err();
        assert_eq!(err.http_status, Some(404));
    }

    #[tokio::test]
    async fn odata_next_links_are_followed_with_the_first_method() {
        let first = "http://127.0.0.1/q?api-version=1&$filter=resourceId%20eq%20%27x%27";
        let pages = Pages::new(&[
            (
                first,
                json!({"@odata.context": "c", "@odata.count": 1, "value": [1],
                       "@odata.nextLink": "http://127.0.0.1/q?api-version=1&$skiptoken=a"}),
            ),
            (
                "http://127.0.0.1/q?api-version=1&$skiptoken=a",
                json!({"@odata.count": 1, "value": [2], "@odata.nextLink": null}),
            ),
        ]);
        let items = list_all_with(
            &pages,
            Method::Post,
            Url::parse(first).unwrap(),
            Expect::Records,
        )
        .await
        .unwrap();
        assert_eq!(items, vec![json!(1), json!(2)]);
        let asked = pages.asked.lock().unwrap();
        assert_eq!(asked.len(), 2);
        assert!(asked.iter().all(|a| a.starts_with("POST ")), "{asked:?}");
    }

    #[tokio::test]
    async fn both_next_link_fields_must_agree() {
        let same = Pages::new(&[
            (
                "http://127.0.0.1/list?api-version=1",
                json!({"value": [1], "nextLink": "http://127.0.0.1/list?p=2",
                       "@odata.nextLink": "http://127.0.0.1/list?p=2"}),
            ),
            ("http://127.0.0.1/list?p=2", json!({"value": [2]})),
        ]);
        assert_eq!(list_all(&same, start()).await.unwrap().len(), 2);
        let different = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [1], "nextLink": "http://127.0.0.1/list?p=2",
                   "@odata.nextLink": "http://127.0.0.1/list?p=3"}),
        )]);
        let err = list_all(&different, start()).await.unwrap_err();
        assert_eq!(err.kind, ArmErrorKind::Body);
        assert!(err.message.contains("@odata.nextLink"), "{}", err.message);
        let not_a_string = Pages::new(&[(
            "http://127.0.0.1/list?api-version=1",
            json!({"value": [], "@odata.nextLink": 7}),
        )]);
        assert_eq!(
            list_all(&not_a_string, start()).await.unwrap_err().kind,
            ArmErrorKind::Body
        );
    }
}
