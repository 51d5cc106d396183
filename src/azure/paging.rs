//! The one pager: follows ARM's `nextLink` until the last page and returns every `value` item.
//!
//! ARM lists page with an absolute `nextLink` that already carries the api-version and skip
//! token; the last page omits it or sends `null` (both occur). This module owns that loop so
//! that no collector ever writes one: it resolves each link exactly as given, stops on absent,
//! `null` or empty links, and turns a link it has already followed into an error instead of an
//! endless loop. Where a link may point is the client's business (it refuses foreign origins).

use std::collections::HashSet;

use serde_json::Value;
use url::Url;

use super::client::{ArmError, ArmErrorKind};

/// Anything that can GET a URL as JSON: the `ArmClient`, or a fake in tests.
pub trait GetJson {
    fn get_json(&self, url: &Url) -> impl Future<Output = Result<Value, ArmError>> + Send;
}

/// A hard ceiling on pages per list, far above any real tenant, as a second guard against a
/// service that keeps minting new links.
pub const MAX_PAGES: usize = 10_000;

/// GETs `url` and every `nextLink` after it; returns all `value` items in order.
pub async fn list_all<C: GetJson + ?Sized>(client: &C, url: Url) -> Result<Vec<Value>, ArmError> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut current = url;
    seen.insert(current.to_string());
    for _ in 0..MAX_PAGES {
        let page = client.get_json(&current).await?;
        let body_error = |message: &str| ArmError {
            url: current.to_string(),
            http_status: None,
            code: None,
            message: message.to_string(),
            kind: ArmErrorKind::Body,
        };
        let object = page
            .as_object()
            .ok_or_else(|| body_error("a list answer must be a JSON object with `value`"))?;
        match object.get("value") {
            Some(Value::Array(values)) => items.extend(values.iter().cloned()),
            None | Some(Value::Null) => {}
            Some(_) => return Err(body_error("`value` of a list answer is not an array")),
        }
        let next = match object.get("nextLink") {
            None | Some(Value::Null) => return Ok(items),
            Some(Value::String(link)) if link.trim().is_empty() => return Ok(items),
            Some(Value::String(link)) => link.trim(),
            Some(_) => return Err(body_error("`nextLink` is neither a string nor null")),
        };
        let next = current
            .join(next)
            .map_err(|e| body_error(&format!("`nextLink` '{next}' is not a URL: {e}")))?;
        if !seen.insert(next.to_string()) {
            return Err(ArmError {
                url: next.to_string(),
                http_status: None,
                code: None,
                message: "the service returned a nextLink that was already followed; stopping instead of paging forever".into(),
                kind: ArmErrorKind::PagingLoop,
            });
        }
        current = next;
    }
    Err(ArmError {
        url: current.to_string(),
        http_status: None,
        code: None,
        message: format!("more than {MAX_PAGES} pages; stopping"),
        kind: ArmErrorKind::PagingLoop,
    })
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

    impl GetJson for Pages {
        fn get_json(&self, url: &Url) -> impl Future<Output = Result<Value, ArmError>> + Send {
            self.asked.lock().unwrap().push(url.to_string());
            let answer = self
                .pages
                .get(url.as_str())
                .cloned()
                .ok_or_else(|| ArmError {
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
        let pages = Pages::new(&[("http://127.0.0.1/list?api-version=1", json!({}))]);
        assert!(list_all(&pages, start()).await.unwrap().is_empty());
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
}
