//! Runs every check against each of its fixtures and compares the findings with `expect`.
//!
//! The comparison is exact on (resource, status): a check that produces an extra finding, or
//! misses one, fails its fixture. `message_contains` pins the part of a message that matters.

use std::collections::BTreeMap;

use lzaudit::catalogue::Catalogue;
use lzaudit::eval::{self, EvalContext};

use crate::support::fixture;

#[test]
fn every_fixture_gives_the_expected_findings() {
    let catalogue = Catalogue::builtin().expect("built-in catalogue loads");
    let mut failures = Vec::new();
    let mut ran = 0;
    for check in catalogue.checks() {
        for path in fixture::files_of(check.id()) {
            ran += 1;
            let name = path
                .strip_prefix(fixture::repo())
                .unwrap()
                .display()
                .to_string();
            let loaded = match fixture::load(&path) {
                Ok(l) => l,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let mut params: BTreeMap<_, _> = check.default_params();
            for (k, v) in &loaded.fixture.params {
                params.insert(k.clone(), v.clone());
            }
            let ctx = EvalContext {
                inventory: &loaded.inventory,
                params: &params,
                archetypes: &loaded.archetypes,
                today: loaded.today,
            };
            let findings = eval::run(check, &ctx);
            let mut problems = Vec::new();
            for expect in &loaded.fixture.expect {
                match findings
                    .iter()
                    .find(|f| f.resource.eq_ignore_ascii_case(&expect.resource))
                {
                    None => problems.push(format!("no finding for {}", expect.resource)),
                    Some(f) => {
                        if f.status != expect.status {
                            problems.push(format!(
                                "{}: expected {}, got {} ({})",
                                expect.resource, expect.status, f.status, f.message
                            ));
                        }
                        if let Some(part) = &expect.message_contains
                            && !f.message.contains(part.as_str())
                        {
                            problems.push(format!(
                                "{}: message `{}` lacks `{part}`",
                                expect.resource, f.message
                            ));
                        }
                    }
                }
            }
            for f in &findings {
                if !loaded
                    .fixture
                    .expect
                    .iter()
                    .any(|e| e.resource.eq_ignore_ascii_case(&f.resource))
                {
                    problems.push(format!(
                        "unexpected finding {} {} ({})",
                        f.resource, f.status, f.message
                    ));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name} ({}):\n    {}",
                    loaded.fixture.description,
                    problems.join("\n    ")
                ));
            }
        }
    }
    assert!(ran > 0, "no fixture ran");
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
