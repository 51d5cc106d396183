//! The bundled example tenant (`examples/contoso/`): its snapshot must be exactly what
//! collecting `tenant.json` through the emulator gives, and its rendered reports are pinned
//! with insta. Regenerate the snapshot after changing the tenant with
//! `LZAUDIT_UPDATE_EXAMPLE=1 cargo test --test it example::`.

use lzaudit_emulator::{Emulator, Options, Tenant};
use serde_json::Value;

use crate::support::bin::{command, lzaudit, run};
use crate::support::fixture::repo;
use crate::support::tenants::ca_file;

const SNAPSHOT: &str = "examples/contoso/snapshot.json";

/// Fields that differ between collections by design: when, and from which loopback port.
fn normalise(mut snapshot: Value) -> Value {
    snapshot["collected_at"] = Value::String("2026-11-26T00:00:00Z".into());
    snapshot["arm_endpoint"] = Value::String("http://127.0.0.1".into());
    snapshot
}

#[test]
fn the_example_snapshot_is_what_the_example_tenant_serves() {
    let tenant = Tenant::load(&repo().join("examples/contoso/tenant.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let client = tenant.clients()[0].clone();
    let secret = client.client_secret.clone().unwrap();
    let emulator = Emulator::start_in_thread(tenant, Options::default());
    let ca = ca_file(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("snapshot.json");
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", emulator.tenant().tenant_id())
        .env("AZURE_CLIENT_ID", &client.client_id)
        .env("AZURE_CLIENT_SECRET", &secret);
    let http = emulator.http_url();
    let https = emulator.https_url();
    let out = run(
        cmd,
        &[
            "collect",
            "--out",
            out_path.to_str().unwrap(),
            "--auth",
            "env",
            "--authority-host",
            &https,
            "--arm-endpoint",
            &http,
            "--ca-cert",
            ca.path.to_str().unwrap(),
            // The committed snapshot is ARM's answer: its denials are ARM permissions, which
            // the emulator's Resource Graph does not apply (see `resource_graph.rs`).
            "--source",
            "arm",
        ],
    );
    assert_eq!(
        out.status,
        Some(3),
        "the example tenant denies two reads on purpose\n{}",
        out.stderr
    );
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        !text.contains(&secret),
        "the client secret leaked into the snapshot"
    );
    let collected = normalise(serde_json::from_str(&text).unwrap());
    let expected_path = repo().join(SNAPSHOT);
    if std::env::var_os("LZAUDIT_UPDATE_EXAMPLE").is_some() {
        let mut pretty = serde_json::to_string_pretty(&collected).unwrap();
        pretty.push('\n');
        std::fs::write(&expected_path, pretty).unwrap();
        return;
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    if collected != normalise(expected.clone()) {
        let (a, b) = (collected.to_string(), normalise(expected).to_string());
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{SNAPSHOT} differs from a fresh collection of examples/contoso/tenant.json near:\n  fresh:     …{}…\n  committed: …{}…\nrun `LZAUDIT_UPDATE_EXAMPLE=1 cargo test --test it example::` if the change is intended",
            &a[at.saturating_sub(80)..(at + 80).min(a.len())],
            &b[at.saturating_sub(80)..(at + 80).min(b.len())]
        );
    }
}

#[test]
fn the_example_report_as_json() {
    let out = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "json"]).code(1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!("contoso_report_json", report, {".tool.version" => "[version]"});
}

#[test]
fn the_example_report_as_a_table() {
    let out = lzaudit(&["audit", "--snapshot", SNAPSHOT]).code(1);
    let table = out.stdout.replace(env!("CARGO_PKG_VERSION"), "[version]");
    insta::assert_snapshot!("contoso_report_table", table);
}

/// Checks whose catalogue row has no FAIL: they only fail under `caf-aks-strict`, which makes
/// those recommendations mandatory.
const WARN_ONLY: &[&str] = &[
    "AKS-007", "AKS-015", "AKS-029", "AKS-037", "AKS-038", "AKS-039", "AKS-045",
];

/// Checks that cannot pass anywhere in the example, and why: the example denies the role
/// assignments of `acrcontosoapi` on purpose, and AKS-017's over-privilege sub-result covers
/// every audited registry, so an AcrPush, Contributor or Owner grant to any kubelet identity
/// there (which only that read would list) could turn any pass into a warn. Its would-be passes
/// are unknown, and the test requires that instead.
const CANNOT_PASS: &[(&str, &str)] = &[(
    "AKS-017",
    "whether it also holds an over-privileged role (AcrPush, Contributor or Owner: a warn) cannot be told",
)];

fn statuses(profile: &str) -> Vec<(String, String)> {
    messages(profile)
        .into_iter()
        .map(|(check, status, _)| (check, status))
        .collect()
}

/// Every finding of the example under `profile`, as (check, status, message).
fn messages(profile: &str) -> Vec<(String, String, String)> {
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        SNAPSHOT,
        "--format",
        "json",
        "--profile",
        profile,
    ])
    .code(1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_check_passes_and_fails_somewhere_in_the_example() {
    let default = statuses("caf-aks");
    let strict = statuses("caf-aks-strict");
    let checks = lzaudit::catalogue::Catalogue::builtin().unwrap();
    assert_eq!(checks.checks().len(), 48);
    let has = |list: &[(String, String)], check: &str, status: &str| {
        list.iter().any(|(c, s)| c == check && s == status)
    };
    let mut missing = Vec::new();
    let messages = messages("caf-aks");
    for check in checks.checks() {
        let id = check.id();
        match CANNOT_PASS.iter().find(|(c, _)| *c == id) {
            None if !has(&default, id, "pass") => missing.push(format!("{id} has no pass")),
            None => {}
            Some((_, why)) => {
                if has(&default, id, "pass") {
                    missing.push(format!("{id} passes although the example denies its data"));
                }
                if !messages
                    .iter()
                    .any(|(c, s, m)| c == id && s == "unknown" && m.contains(why))
                {
                    missing.push(format!(
                        "{id} has no would-be pass reported unknown ({why})"
                    ));
                }
            }
        }
        let fails_in = if WARN_ONLY.contains(&id) {
            &strict
        } else {
            &default
        };
        if !has(fails_in, id, "fail") {
            missing.push(format!(
                "{id} has no fail{}",
                if WARN_ONLY.contains(&id) {
                    " under caf-aks-strict"
                } else {
                    ""
                }
            ));
        }
        if WARN_ONLY.contains(&id) && has(&default, id, "fail") {
            missing.push(format!(
                "{id} fails under the default profile, but its catalogue row has no FAIL"
            ));
        }
    }
    for check in [
        "AKS-005", "AKS-007", "AKS-016", "AKS-017", "AKS-018", "AKS-040", "AKS-048",
    ] {
        if !has(&default, check, "unknown") {
            missing.push(format!(
                "{check} has no unknown (it reads data the example denies)"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_example_lists_its_gaps_and_skipped_subscription() {
    let out = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "json"]).code(1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["skipped_subscriptions"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["coverage"].as_array().unwrap().len(),
        3,
        "{}",
        report["coverage"]
    );
}

/// The table lists the findings that need attention by default, every finding with
/// `--show all`; its per-check summary counts all of them either way.
#[test]
fn the_table_lists_passing_findings_only_with_show_all() {
    let report: Value = serde_json::from_str(
        &lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "json"])
            .code(1)
            .stdout,
    )
    .unwrap();
    let count = |status: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == status)
            .count()
    };
    let default = lzaudit(&["audit", "--snapshot", SNAPSHOT]).code(1).stdout;
    let all = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--show", "all"])
        .code(1)
        .stdout;
    let rows = |text: &str, status: &str| {
        let findings = &text[text.find("by subscription:").expect("a findings section")..];
        findings
            .lines()
            .filter(|l| l.starts_with(&format!("│ {status} ")))
            .count()
    };
    for status in ["fail", "unknown", "warn"] {
        assert_eq!(rows(&default, status), count(status), "{status}");
        assert_eq!(rows(&all, status), count(status), "{status}");
    }
    for status in ["pass", "not_applicable"] {
        assert!(count(status) > 0);
        assert_eq!(rows(&default, status), 0, "{status}");
        assert_eq!(rows(&all, status), count(status), "{status}");
    }
    // The summary counts passes in both: the same table heads both outputs.
    let summary = |text: &str| text[..text.find("┘\n").expect("the summary table")].to_string();
    assert_eq!(summary(&default), summary(&all));
    let help = lzaudit(&["audit", "--help"]).success().stdout;
    assert!(help.contains("--show <WHICH>"), "{help}");
    lzaudit(&["audit", "--snapshot", SNAPSHOT, "--show", "some"]).code(2);
}
