//! Catalogue invariants: the tests that keep the catalogue honest as it grows.

use std::collections::BTreeSet;
use std::path::Path;

use lzaudit::catalogue::{Catalogue, Logic, registry};

use crate::support::fixture;

fn walk(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(
                path.strip_prefix(fixture::repo())
                    .unwrap()
                    .display()
                    .to_string(),
            );
        }
    }
}

#[test]
fn every_check_file_is_registered_once() {
    let mut on_disk = Vec::new();
    walk(&fixture::repo().join("checks"), &mut on_disk);
    let registered: Vec<&str> = registry::BUILTIN_CHECKS.iter().map(|(p, _)| *p).collect();
    let unique: BTreeSet<&str> = registered.iter().copied().collect();
    assert_eq!(unique.len(), registered.len(), "a file is registered twice");
    for file in &on_disk {
        assert!(
            unique.contains(file.as_str()),
            "{file} is not in src/catalogue/registry.rs"
        );
    }
    for file in &registered {
        assert!(
            on_disk.iter().any(|f| f == file),
            "{file} is registered but missing"
        );
    }
}

#[test]
fn built_in_checks_load_and_are_well_formed() {
    let catalogue = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut slugs = BTreeSet::new();
    for check in catalogue.checks() {
        let f = &check.file;
        assert!(
            check.source.ends_with(&format!("{}.toml", f.id)),
            "{}: file name must be the ID",
            check.source
        );
        assert!(
            check.source.contains(&format!("checks/{}/", f.area)),
            "{}: area {} must be its folder",
            check.source,
            f.area
        );
        assert!(
            slugs.insert(f.slug.clone()),
            "{}: slug {} repeats",
            f.id,
            f.slug
        );
        assert!(
            !f.data.is_empty(),
            "{}: `data` must name the APIs the check reads",
            f.id
        );
        if let Logic::Cel { rules, otherwise } = &check.logic {
            assert!(
                !f.reads.is_empty(),
                "{}: a CEL check must declare its reads",
                f.id
            );
            for rule in rules.iter().chain(std::iter::once(otherwise)) {
                let m = &rule.message;
                assert!(
                    !m.ends_with('.'),
                    "{}: message `{m}` ends with a period",
                    f.id
                );
                assert!(
                    !m.starts_with(|c: char| c.is_uppercase()),
                    "{}: message `{m}` starts upper-case",
                    f.id
                );
            }
        }
        for p in &f.params {
            assert!(
                !p.doc.trim().is_empty(),
                "{}: param {} is undocumented",
                f.id,
                p.name
            );
        }
    }
}

#[test]
fn every_check_has_pass_and_fail_fixtures() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut missing = Vec::new();
    for check in catalogue.checks() {
        let files = fixture::files_of(check.id());
        for status in ["pass", "fail"] {
            if !files.iter().any(|f| {
                f.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{status}-"))
            }) {
                missing.push(format!("{} has no {status}-*.json fixture", check.id()));
            }
        }
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let prefix = name.split('-').next().unwrap();
            let loaded = fixture::load(file).unwrap_or_else(|e| panic!("{e}"));
            let statuses: Vec<&str> = loaded
                .fixture
                .expect
                .iter()
                .map(|e| e.status.as_str())
                .collect();
            assert!(
                statuses.contains(&prefix),
                "{}/{name}: a `{prefix}-` fixture must expect at least one `{prefix}` finding",
                check.id()
            );
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
