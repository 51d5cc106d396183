//! ARM answer bodies → the client's shape check (`Expect::violation`), its error-envelope parser
//! (`ArmError::from_response`), and the pager (`paging::list_all_with`) over a fake client.
//!
//! The input is one JSON value. Each `Expect` judges it. Then it is served as pages: a JSON array
//! is the sequence of pages, anything else a single page; the fake client answers the n-th
//! request with the n-th page whatever URL the pager asks for (so the pager follows the
//! fuzzer's `nextLink`s), refuses a page that violates the call's `Expect` as the real client
//! does, and answers 404 after the last page. Errors are fine; a panic, an abort or a timeout is
//! a crash.
#![no_main]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use lzaudit::azure::client::{ArmError, ArmErrorKind, Expect, Method, parse_envelope};
use lzaudit::azure::paging::{FetchJson, list_all_with};
use serde_json::Value;
use url::Url;

const EXPECTS: &[Expect] = &[
    Expect::Resources,
    Expect::Records,
    Expect::Resource,
    Expect::ArrayField("values"),
];

struct Pages {
    pages: Vec<Value>,
    served: AtomicUsize,
}

impl FetchJson for Pages {
    fn fetch_json(
        &self,
        method: Method,
        url: &Url,
        expect: Expect,
    ) -> impl Future<Output = Result<Value, ArmError>> + Send {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        let error = |http_status, kind, message: String| ArmError {
            method,
            url: url.to_string(),
            http_status,
            code: None,
            message,
            kind,
        };
        let answer = match self.pages.get(n) {
            None => Err(error(
                Some(404),
                ArmErrorKind::Status,
                "no such page".into(),
            )),
            Some(page) => match expect.violation(page) {
                Some(why) => Err(error(None, ArmErrorKind::Body, why)),
                None => Ok(page.clone()),
            },
        };
        std::future::ready(answer)
    }
}

fuzz_target!(|data: &[u8]| {
    let start = Url::parse("https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/managedClusters?api-version=2026-02-01").expect("a URL");
    // A 4xx/5xx body: its envelope is parsed whatever it holds.
    std::hint::black_box(parse_envelope(data));
    for status in [400, 403, 404, 429, 500] {
        let error = ArmError::from_response(&start, status, data);
        std::hint::black_box((error.read_status(), error.to_string()));
    }
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for expect in EXPECTS {
        std::hint::black_box(expect.violation(&body));
    }
    let pages = match &body {
        Value::Array(pages) => pages.clone(),
        other => vec![other.clone()],
    };
    for (method, expect) in [
        (Method::Get, Expect::Resources),
        (Method::Post, Expect::Records),
    ] {
        let client = Pages {
            pages: pages.clone(),
            served: AtomicUsize::new(0),
        };
        let result =
            futures::executor::block_on(list_all_with(&client, method, start.clone(), expect));
        if let Ok(items) = result {
            // Every item the pager returns came from a page the client accepted.
            if expect == Expect::Resources {
                assert!(
                    items
                        .iter()
                        .all(|i| i.get("id").is_some_and(Value::is_string))
                );
            }
        }
    }
});
