//! The binary's behaviour without Azure: catalogue and profile commands, bad input, exit codes
//! and output files of offline audits.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::bin::{lzaudit, write};

#[test]
fn checks_list_json_documents_every_check() {
    let out = lzaudit(&["checks", "list", "--format", "json"]).success();
    let checks: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(checks.len() >= 18, "{} checks", checks.len());
    for c in &checks {
        for field in ["id", "title", "severity", "caf", "what", "why", "fix"] {
            let v = c[field].as_str().unwrap_or_default();
            assert!(!v.trim().is_empty(), "{}: empty {field}", c["id"]);
        }
        assert!(c["params"].is_array() && c["reads"].is_array() && c["data"].is_array());
    }
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for core in [
        "AKS-001", "AKS-002", "AKS-003", "AKS-005", "AKS-009", "AKS-010", "AKS-012", "AKS-016",
        "AKS-017", "AKS-020", "AKS-021", "AKS-022", "AKS-024", "AKS-032", "AKS-034", "AKS-040",
        "AKS-041", "AKS-043",
    ] {
        assert!(ids.contains(&core), "{core} missing from checks list");
    }
}

#[test]
fn checks_explain_prints_docs_and_suggests_on_typos() {
    let out = lzaudit(&["checks", "explain", "aks-020"]).success();
    for section in [
        "AKS-020",
        "## Why it matters",
        "## How to fix",
        "## What it reads",
        "enablePrivateCluster",
    ] {
        assert!(
            out.stdout.contains(section),
            "missing {section}:\n{}",
            out.stdout
        );
    }
    let out = lzaudit(&["checks", "explain", "AKS-2O0"]).code(2);
    assert!(
        out.stderr.contains("did you mean") && out.stderr.contains("AKS-020"),
        "{}",
        out.stderr
    );
}

#[test]
fn profiles_list_show_and_validate_shipped_profiles() {
    let out = lzaudit(&["profiles", "list"]).success();
    for name in ["caf-aks", "alz-corp", "alz-online"] {
        assert!(out.stdout.contains(name), "{}", out.stdout);
    }
    let out = lzaudit(&["profiles", "show", "alz-online"]).success();
    assert!(
        !out.stdout.contains("AKS-003 ["),
        "alz-online ignores AKS-003:\n{}",
        out.stdout
    );
    lzaudit(&[
        "profiles",
        "validate",
        "profiles/caf-aks.toml",
        "profiles/alz-corp.toml",
        "profiles/alz-online.toml",
    ])
    .success();
}

#[test]
fn bad_profiles_name_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "typo.toml",
            "name = \"x\"\n[checks]\nselect = [\"AKS-02O\"]\n",
            &["typo.toml:3:", "checks.select[0]", "did you mean AKS-020"][..],
        ),
        (
            "field.toml",
            "name = \"x\"\nseverty = {}\n",
            &["field.toml", "line 2", "severty"][..],
        ),
        (
            "param.toml",
            "[params.AKS-020]\nnot_a_param = true\n",
            &[
                "param.toml:2:1",
                "params.AKS-020.not_a_param",
                "AKS-020 takes no parameters",
            ][..],
        ),
        (
            "waiver.toml",
            "[[waivers]]\ncheck = \"AKS-020\"\nresource = \"*\"\nexpires = 2027-01-01\n",
            &["waiver.toml", "reason"][..],
        ),
        (
            // Found by fuzzing: `Glob::compile_matcher` panicked on a pattern this large.
            "huge-pattern.toml",
            &format!(
                "[[waivers]]\ncheck = \"AKS-020\"\nresource = \"{}\"\nreason = \"r\"\nexpires = 2027-01-01\n",
                "*".repeat(100_000)
            ),
            &[
                "huge-pattern.toml:3:12",
                "waivers[0].resource",
                "too long or too complex",
            ][..],
        ),
        (
            "empty-reason.toml",
            "[[waivers]]\ncheck = \"AKS-020\"\nresource = \"*\"\nreason = \" \"\nexpires = 2027-01-01\n",
            &[
                "empty-reason.toml:4:10",
                "waivers[0].reason",
                "needs a reason",
            ][..],
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, text);
        let out = lzaudit(&["profiles", "validate", path.to_str().unwrap()]).code(2);
        for part in expected {
            assert!(
                out.stderr.contains(part),
                "{name}: expected `{part}` in:\n{}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn bad_custom_checks_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/cluster/AKS-020.toml"),
    )
    .unwrap();
    let bad_cel = good
        .replace("id = \"AKS-020\"", "id = \"CUS-001\"")
        .replace("slug = \"aks-api-server-exposed\"", "slug = \"custom\"")
        .replace(
            "size(resource.properties.apiServerAccessProfile.authorizedIPRanges) == 0",
            "size(resource.properties. == 0",
        );
    write(dir.path(), "CUS-001.toml", &bad_cel);
    let out = lzaudit(&["checks", "list", "--checks", dir.path().to_str().unwrap()]).code(2);
    assert!(
        out.stderr.contains("CUS-001.toml") && out.stderr.contains("invalid CEL"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("logic.rules[2].when"), "{}", out.stderr);

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "CUS-002.toml", "id = \"CUS-002\"\nslug = 3\n");
    let out = lzaudit(&["checks", "list", "--checks", dir.path().to_str().unwrap()]).code(2);
    assert!(
        out.stderr.contains("CUS-002.toml") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_custom_cel_check_runs_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "CUS-001.toml",
        r#"id = "CUS-001"
slug = "aks-uses-standard-tier"
title = "Production clusters use the Standard or Premium tier"
severity = "medium"
area = "cluster"
target = "cluster"
caf = "availability"
data = ["Microsoft.ContainerService/managedClusters"]
[docs]
what = "Checks the cluster's pricing tier."
why = "The Free tier has no uptime SLA."
fix = "az aks update -g <rg> -n <aks> --tier standard"
[[reads]]
path = "sku.tier"
default = "Free"
expected = "Standard or Premium"
[logic]
kind = "cel"
[[logic.rules]]
when = "resource.sku.tier == 'Free'"
status = "fail"
message = "the cluster runs on the free tier"
[logic.otherwise]
status = "pass"
message = "the cluster runs on a paid tier"
"#,
    );
    let work = tempfile::tempdir().unwrap();
    let snap = crate::support::bin::small_snapshot(
        work.path(),
        json!({"sku": {"name": "Base", "tier": "Free"}}),
    );
    let profile = write(work.path(), "p.toml", "[checks]\nselect = [\"CUS-001\"]\n");
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--checks",
        dir.path().to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "medium",
    ])
    .code(1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["check"], "CUS-001");
    assert_eq!(report["findings"][0]["status"], "fail");
    assert_eq!(report["findings"][0]["evidence"][0]["property"], "sku.tier");
    assert_eq!(report["findings"][0]["evidence"][0]["observed"], "Free");
}

#[test]
fn bad_snapshots_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = write(dir.path(), "a.json", "{ nope");
    let out = lzaudit(&["audit", "--snapshot", not_json.to_str().unwrap()]).code(2);
    assert!(out.stderr.contains("is not JSON"), "{}", out.stderr);
    let other = write(
        dir.path(),
        "b.json",
        r#"{"schema": "lzaudit.inventory/v9"}"#,
    );
    let out = lzaudit(&["audit", "--snapshot", other.to_str().unwrap()]).code(2);
    assert!(
        out.stderr.contains("lzaudit.inventory/v9") && out.stderr.contains("lzaudit.inventory/v1"),
        "{}",
        out.stderr
    );
    let snap = crate::support::bin::small_snapshot(dir.path(), json!({}));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    value["clusters"] = json!("not a list");
    let broken = write(dir.path(), "c.json", &value.to_string());
    let out = lzaudit(&["audit", "--snapshot", broken.to_str().unwrap()]).code(2);
    assert!(out.stderr.contains("`clusters`"), "{}", out.stderr);
}

#[test]
fn output_is_written_atomically_and_errors_keep_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let snap = crate::support::bin::small_snapshot(dir.path(), json!({}));
    let report = dir.path().join("report.json");
    std::fs::write(&report, "previous report").unwrap();
    lzaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        "--fail-on",
        "none",
    ]);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["schema"], "lzaudit.report/v1");
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--output",
        dir.path().join("missing/dir/r.txt").to_str().unwrap(),
    ])
    .code(2);
    assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn exit_codes_follow_fail_on_and_coverage() {
    let dir = tempfile::tempdir().unwrap();
    // A public cluster with no authorized ranges: AKS-020 fails (high).
    let snap = crate::support::bin::small_snapshot(dir.path(), json!({}));
    let profile = write(dir.path(), "p.toml", "[checks]\nselect = [\"AKS-020\"]\n");
    let p = profile.to_str().unwrap();
    let s = snap.to_str().unwrap();
    lzaudit(&["audit", "--snapshot", s, "--profile", p]).code(1);
    lzaudit(&[
        "audit",
        "--snapshot",
        s,
        "--profile",
        p,
        "--fail-on",
        "none",
    ])
    .code(0);
    // The same with a denied cluster list: nothing fails, the audit is incomplete.
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    value["clusters"] = json!([]);
    value["reads"] = json!([{"scope": "/subscriptions/00000000-0000-0000-0000-000000000000", "api": "Microsoft.ContainerService/managedClusters",
        "status": "denied", "http_status": 403, "code": "AuthorizationFailed", "message": "no"}]);
    let denied = write(dir.path(), "denied.json", &value.to_string());
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        denied.to_str().unwrap(),
        "--profile",
        p,
        "--format",
        "json",
    ])
    .code(3);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["summary"]["unknown"], 1);
    assert_eq!(report["coverage"][0]["http_status"], 403);
    // A waiver turns the failure into `waived` (exit 0), keeping the real status.
    let waived = write(
        dir.path(),
        "w.toml",
        "[checks]\nselect = [\"AKS-020\"]\n[[waivers]]\ncheck = \"AKS-020\"\nresource = \"/subscriptions/*/resourceGroups/RG1/*\"\nreason = \"decommissioned next sprint\"\nexpires = 2999-01-01\n",
    );
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        s,
        "--profile",
        waived.to_str().unwrap(),
        "--format",
        "json",
    ])
    .code(0);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["status"], "waived");
    assert_eq!(report["findings"][0]["waiver"]["original_status"], "fail");
    assert_eq!(report["waivers"][0]["state"], "active");
}

#[test]
fn unknown_source_and_bad_endpoints_are_usage_errors() {
    let out = lzaudit(&["audit", "--source", "rest", "--subscription", "x"]).code(2);
    assert!(
        out.stderr.contains("auto") && out.stderr.contains("arg") && out.stderr.contains("arm"),
        "{}",
        out.stderr
    );
    let out = lzaudit(&[
        "audit",
        "--arm-endpoint",
        "http://example.com",
        "--auth",
        "cli",
    ])
    .code(2);
    assert!(
        out.stderr.contains("loopback") || out.stderr.contains("http://"),
        "{}",
        out.stderr
    );
}

/// A custom CEL check file whose only rule is `when`.
fn custom_check(when: &str) -> String {
    format!(
        r#"id = "CUS-001"
slug = "custom"
title = "A custom check"
severity = "medium"
area = "cluster"
target = "cluster"
caf = "custom"
data = ["Microsoft.ContainerService/managedClusters"]
[docs]
what = "Checks something."
why = "Because."
fix = "Fix it."
[[reads]]
path = "properties.networkProfile.podCidrs"
expected = "anything"
[logic]
kind = "cel"
[[logic.rules]]
when = "{when}"
status = "fail"
message = "failed"
[logic.otherwise]
status = "pass"
message = "passed"
"#
    )
}

#[test]
fn oversized_and_overdeep_custom_rules_are_load_errors_not_crashes() {
    let work = tempfile::tempdir().unwrap();
    let snap = crate::support::bin::small_snapshot(work.path(), json!({}));
    let mut chain = String::from("1");
    while chain.len() < 24 * 1024 {
        chain.push_str(" + 1");
    }
    let mut under_the_size_limit = String::from("1");
    while under_the_size_limit.len() + 2 + " == 0".len() <= 4096 {
        under_the_size_limit.push_str("+1");
    }
    let cases = [
        (format!("{chain} == 0"), "over the limit of 4096 bytes"),
        (
            format!("{}1{} == 1", "(".repeat(2000), ")".repeat(2000)),
            "more than 32 deep",
        ),
        (
            format!("{}1{} == 1", "[".repeat(40), "]".repeat(40)),
            "more than 32 deep",
        ),
        (
            format!("{under_the_size_limit} == 0"),
            "over the limit of 64",
        ),
    ];
    for (when, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "CUS-001.toml", &custom_check(&when));
        let out = lzaudit(&[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--checks",
            dir.path().to_str().unwrap(),
        ])
        .code(2);
        for part in ["CUS-001.toml:19:8", "field `logic.rules[0].when`", expected] {
            assert!(
                out.stderr.contains(part),
                "{expected}: `{part}` missing from:\n{}",
                &out.stderr[..out.stderr.len().min(2000)]
            );
        }
    }
}

/// Found by the `check` fuzz target: a read path of about 124 000 segments loaded, then
/// overflowed the evaluation thread's stack (SIGSEGV); an empty segment named no property.
#[test]
fn overdeep_and_empty_read_paths_are_load_errors_not_crashes() {
    let work = tempfile::tempdir().unwrap();
    let snap = crate::support::bin::small_snapshot(work.path(), json!({}));
    let deep = vec!["a"; 130_000].join(".");
    let cases = [
        (deep.as_str(), "130000 segments; a read may have at most 32"),
        ("properties..podCidrs", "empty segment"),
    ];
    for (path, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let text = custom_check("true").replace(
            "path = \"properties.networkProfile.podCidrs\"",
            &format!("path = \"{path}\""),
        );
        write(dir.path(), "CUS-001.toml", &text);
        let out = lzaudit(&[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--checks",
            dir.path().to_str().unwrap(),
        ])
        .code(2);
        for part in ["CUS-001.toml", "field `reads[0].path`", expected] {
            assert!(
                out.stderr.contains(part),
                "{expected}: `{part}` missing from:\n{}",
                &out.stderr[..out.stderr.len().min(2000)]
            );
        }
    }
}

#[test]
fn a_custom_rule_over_its_budget_is_unknown_and_ends_quickly() {
    let work = tempfile::tempdir().unwrap();
    let cidrs: Vec<String> = (0..10_000)
        .map(|i| format!("10.{}.0.0/16", i % 250))
        .collect();
    let snap = crate::support::bin::small_snapshot(
        work.path(),
        json!({"properties": {"networkProfile": {"podCidrs": cidrs}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let list = "resource.properties.networkProfile.podCidrs";
    // 10 000 × 10 000 concatenations, none of which ends the loop early: hours before the
    // budget existed.
    let when = format!("{list}.all(a, {list}.map(b, a + b).all(c, c != a))");
    write(dir.path(), "CUS-001.toml", &custom_check(&when));
    let profile = write(work.path(), "p.toml", "[checks]\nselect = [\"CUS-001\"]\n");
    let started = std::time::Instant::now();
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--checks",
        dir.path().to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--format",
        "json",
    ])
    .code(3);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["status"], "unknown", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("rule `resource.properties.networkProfile.podCidrs.all(a, ")
            && message.contains("exceeded the evaluation budget"),
        "{message}"
    );
}
