//! The committed fuzz seeds (`fuzz/seeds/<target>/`), crash reproducers (`crash-*`) included,
//! replayed through the entry points their fuzz target drives, so that CI — which never builds
//! the fuzz crate — still fails if one of them panics again. An error is the expected answer to
//! most of them; a panic or an abort is the failure.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use lzaudit::audit;
use lzaudit::azure::client::{ArmError, ArmErrorKind, Expect, Method};
use lzaudit::azure::paging::{FetchJson, list_all_with};
use lzaudit::catalogue::{self, Catalogue};
use lzaudit::eval::{self, Archetypes, EvalContext};
use lzaudit::inventory::{Inventory, snapshot};
use lzaudit::profile::Profile;
use lzaudit::report::{self, Origin};
use serde_json::Value;
use url::Url;

use crate::support::fixture;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixture::repo().join("fuzz/seeds").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn example() -> Inventory {
    snapshot::load(&fixture::repo().join("examples/contoso/snapshot.json")).unwrap()
}

fn today() -> time::Date {
    time::macros::date!(2026 - 06 - 01)
}

/// An audit and every renderer, as the `snapshot`, `profile` and `arm_payload` targets run them.
fn audit_and_render(inventory: &Inventory, catalogue: &Catalogue, profile: &Profile) {
    let report = audit::run(
        inventory,
        catalogue,
        profile,
        today(),
        Origin {
            source: "fuzz seed",
            fail_on: "high",
            generated_at: String::new(),
        },
    );
    report::json::render(&report);
    report::table::render(&report, true, 60, lzaudit::cli::Show::All);
    report::markdown::render(&report);
    report::html::render(&report, catalogue);
    report::sarif::render(&report, catalogue);
    report::junit::render(&report);
    report::csv::render(&report);
}

#[test]
fn check_seeds_load_or_fail_cleanly_and_evaluate() {
    let inventory = example();
    let catalogue = Catalogue::builtin().unwrap();
    let profile = Profile::load("caf-aks", &catalogue).unwrap();
    let archetypes = Archetypes::resolve(&inventory, &profile.archetypes);
    for (name, bytes) in seeds("check") {
        let text = String::from_utf8(bytes).unwrap();
        let Ok(check) = catalogue::load(&text, &name, false) else {
            assert!(!name.ends_with("cel-functions.toml"), "{name} must load");
            continue;
        };
        let params = check.default_params();
        let ctx = EvalContext {
            inventory: &inventory,
            params: &params,
            archetypes: &archetypes,
            today: today(),
        };
        assert!(!eval::run(&check, &ctx).is_empty(), "{name}");
    }
}

#[test]
fn profile_seeds_resolve_or_fail_cleanly_and_audit() {
    let inventory = example();
    let catalogue = Catalogue::builtin().unwrap();
    for (name, bytes) in seeds("profile") {
        let text = String::from_utf8(bytes).unwrap();
        match Profile::parse(&text, &name, &catalogue, 0) {
            Ok(profile) => audit_and_render(&inventory, &catalogue, &profile),
            Err(e) => assert!(name.contains("crash-"), "{name}: {e}"),
        }
    }
}

#[test]
fn snapshot_and_payload_seeds_audit_and_render() {
    let catalogue = Catalogue::builtin().unwrap();
    let strict = Profile::load("caf-aks-strict", &catalogue).unwrap();
    for (name, bytes) in seeds("snapshot") {
        if let Ok(inventory) = snapshot::from_str(&String::from_utf8_lossy(&bytes), &name) {
            audit_and_render(&inventory, &catalogue, &strict);
        }
    }
    for (_, bytes) in seeds("arm_payload") {
        let payload: Value = serde_json::from_slice(&bytes).unwrap();
        let items = match payload.get("value").and_then(Value::as_array) {
            Some(items) => items.clone(),
            None => vec![payload.clone()],
        };
        let mut inventory = example();
        let items = lzaudit::json::list(items);
        inventory.clusters.extend(items.iter().cloned());
        inventory.registries.extend(items.iter().cloned());
        inventory.machines.extend(items);
        audit_and_render(&inventory, &catalogue, &strict);
    }
}

/// Serves the pages of a seed in order, whatever URL is asked, as the `list_page` target does.
struct Pages(Vec<Value>, AtomicUsize);

impl FetchJson for Pages {
    fn fetch_json(
        &self,
        method: Method,
        url: &Url,
        expect: Expect,
    ) -> impl Future<Output = Result<Value, ArmError>> + Send {
        let page = self.0.get(self.1.fetch_add(1, Ordering::Relaxed)).cloned();
        let answer = match page.map(|p| (expect.violation(&p), p)) {
            Some((None, page)) => Ok(page),
            other => Err(ArmError {
                method,
                url: url.to_string(),
                http_status: None,
                code: None,
                message: format!("{:?}", other.and_then(|o| o.0)),
                kind: ArmErrorKind::Body,
            }),
        };
        std::future::ready(answer)
    }
}

#[tokio::test]
async fn list_page_seeds_are_judged_and_paged() {
    let start = Url::parse("https://management.azure.com/x?api-version=1").unwrap();
    for (name, bytes) in seeds("list_page") {
        let _ = ArmError::from_response(&start, 403, &bytes);
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        for expect in [
            Expect::Resources,
            Expect::Records,
            Expect::Resource,
            Expect::ArrayField("values"),
        ] {
            let _ = expect.violation(&body);
        }
        let pages = match body {
            Value::Array(pages) => pages,
            other => vec![other],
        };
        let client = Pages(pages, AtomicUsize::new(0));
        let listed = list_all_with(&client, Method::Get, start.clone(), Expect::Resources).await;
        if name.ends_with("three-pages.json") {
            assert_eq!(listed.unwrap().len(), 2, "{name}: duplicates are kept once");
        }
    }
}
