//! `lzaudit diff OLD NEW` on reports and snapshots of the example tenant. OLD is audited with a
//! profile that ignores (or waives) a check that fails in the example, NEW with the default
//! profile, so the check's failures are new in NEW; the check is picked from the example's
//! report, so the tests hold whatever the example's findings become.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::bin::{lzaudit, write};

const SNAPSHOT: &str = "examples/contoso/snapshot.json";

/// A check that fails in the example, and how many of its findings fail.
fn failing_check() -> (String, usize) {
    let report: Value = serde_json::from_str(
        &lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "json"])
            .code(1)
            .stdout,
    )
    .unwrap();
    let findings = report["findings"].as_array().unwrap();
    let check = findings
        .iter()
        .find(|f| f["status"] == "fail")
        .expect("the example has a failing finding")["check"]
        .as_str()
        .unwrap()
        .to_string();
    let fails = findings
        .iter()
        .filter(|f| f["check"] == check.as_str() && f["status"] == "fail")
        .count();
    (check, fails)
}

fn report(dir: &Path, name: &str, profile: &str) -> PathBuf {
    let path = dir.join(name);
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        SNAPSHOT,
        "--profile",
        profile,
        "--format",
        "json",
        "--output",
        path.to_str().unwrap(),
        "--fail-on",
        "none",
    ]);
    assert!(
        matches!(out.status, Some(0 | 3)),
        "{:?} {}",
        out.status,
        out.stderr
    );
    path
}

fn diff_json(old: &Path, new: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = lzaudit(&args);
    let value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.status, value)
}

#[test]
fn a_check_that_starts_failing_is_worse_and_its_removal_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (check, fails) = failing_check();
    let ignoring = write(
        dir.path(),
        "ignoring.toml",
        &format!(
            "name = \"ignoring\"\nextends = \"caf-aks\"\n\n[checks]\nignore = [\"{check}\"]\n"
        ),
    );
    let old = report(dir.path(), "old.json", ignoring.to_str().unwrap());
    let new = report(dir.path(), "new.json", "caf-aks");

    let (status, d) = diff_json(&old, &new, &[]);
    assert_eq!(status, Some(1), "{d:#}");
    assert_eq!(d["schema"], "lzaudit.diff/v1");
    assert_eq!(d["old"]["kind"], "report");
    let new_failures = d["new_failures"].as_array().unwrap();
    assert_eq!(new_failures.len(), fails, "{d:#}");
    assert!(
        new_failures
            .iter()
            .all(|f| f["check"] == check.as_str() && f["old_status"].is_null())
    );
    assert!(
        d["new_resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["check"] == check.as_str())
    );
    assert_eq!(d["removed_resources"].as_array().unwrap().len(), 0);
    assert_eq!(d["fixed"].as_array().unwrap().len(), 0);
    assert_eq!(d["changed"].as_array().unwrap().len(), 0);
    assert_eq!(d["summary"]["worse"], true);

    // The other way round: the check's findings are gone, nothing got worse.
    let (status, d) = diff_json(&new, &old, &[]);
    assert_eq!(status, Some(0), "{d:#}");
    assert_eq!(d["new_failures"].as_array().unwrap().len(), 0);
    assert!(d["removed_resources"].as_array().unwrap().len() >= fails);

    // The table says the same, and `--output` writes it.
    let table = dir.path().join("diff.txt");
    lzaudit(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--output",
        table.to_str().unwrap(),
    ])
    .code(1);
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(text.contains(&format!("New failures ({fails}):")), "{text}");
    assert!(text.contains("WORSE"), "{text}");
}

#[test]
fn a_waiver_that_lapses_shows_waived_findings_failing_again() {
    let dir = tempfile::tempdir().unwrap();
    let (check, fails) = failing_check();
    let waiving = write(
        dir.path(),
        "waiving.toml",
        &format!(
            "name = \"waiving\"\nextends = \"caf-aks\"\n\n[[waivers]]\ncheck = \"{check}\"\nresource = \"*\"\nreason = \"accepted for the test\"\nexpires = 2099-12-31\n"
        ),
    );
    let old = report(dir.path(), "old.json", waiving.to_str().unwrap());
    let new = report(dir.path(), "new.json", "caf-aks");
    let (status, d) = diff_json(&old, &new, &[]);
    assert_eq!(status, Some(1));
    let new_failures = d["new_failures"].as_array().unwrap();
    assert_eq!(new_failures.len(), fails, "{d:#}");
    assert!(new_failures.iter().all(|f| f["old_status"] == "waived"));
    assert_eq!(d["new_resources"].as_array().unwrap().len(), 0);
}

#[test]
fn two_snapshots_are_audited_with_one_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (status, d) = diff_json(Path::new(SNAPSHOT), Path::new(SNAPSHOT), &[]);
    assert_eq!(status, Some(0), "{d:#}");
    assert_eq!(d["old"]["kind"], "snapshot");
    assert!(d["new"]["findings"].as_u64().unwrap() > 0);
    assert_eq!(
        d["summary"],
        serde_json::json!({"new_failures": 0, "fixed": 0, "changed": 0, "worsened": 0,
            "new_resources": 0, "removed_resources": 0, "worse": false})
    );

    // A snapshot against a report, or something else entirely: a usage error.
    let report = report(dir.path(), "r.json", "caf-aks");
    let out = lzaudit(&["diff", SNAPSHOT, report.to_str().unwrap()]).code(2);
    assert!(
        out.stderr.contains("compare two reports or two snapshots"),
        "{}",
        out.stderr
    );
    let other = write(dir.path(), "other.json", r#"{"schema": "something/v9"}"#);
    let out = lzaudit(&["diff", other.to_str().unwrap(), report.to_str().unwrap()]).code(2);
    assert!(out.stderr.contains("something/v9"), "{}", out.stderr);
}
