//! The binary against the emulator: the whole path a user runs — sign-in (a real token
//! exchange over HTTPS, or a stand-in `az` on PATH), collection over real HTTP with paging and
//! faults, evaluation, report — and nothing mocked in between.

use std::path::Path;

use lzaudit_emulator::{Deny, Emulator, Options};
use serde_json::Value;

use crate::support::bin::{command, run};
use crate::support::tenants::{ca_file, small, stand_in_az, tenant};

fn start(options: Options) -> Emulator {
    Emulator::start_in_thread(tenant("small"), options)
}

/// `lzaudit` signed in as the small tenant's service principal over HTTPS with the CA.
fn audit_as_service_principal(
    emulator: &Emulator,
    ca: &Path,
    extra: &[&str],
) -> crate::support::bin::Output {
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", small::TENANT)
        .env("AZURE_CLIENT_ID", small::CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", small::CLIENT_SECRET);
    let https = emulator.https_url();
    let mut args = vec![
        "audit",
        "--auth",
        "env",
        "--authority-host",
        &https,
        "--arm-endpoint",
        &https,
        "--ca-cert",
        ca.to_str().unwrap(),
        "--source",
        "arm",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run(cmd, &args)
}

fn report(out: &crate::support::bin::Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

fn findings_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[test]
fn service_principal_over_https_audits_the_tenant_and_leaks_no_secret() {
    let emulator = start(Options::default());
    let ca = ca_file(&emulator);
    let out = audit_as_service_principal(&emulator, &ca.path, &["--fail-on", "none"]);
    let report = report(&out);
    assert!(matches!(out.status, Some(0) | Some(3)), "{}", out.stderr);
    assert_eq!(report["schema"], "lzaudit.report/v1");
    assert_eq!(report["scope"]["source"], "live");
    assert_eq!(report["skipped_subscriptions"][0]["state"], "Disabled");
    // The cluster is stored as `ManagedClusters`: it is still found and judged.
    let cluster = findings_of(&report, "AKS-020");
    assert_eq!(cluster.len(), 1, "{cluster:?}");
    assert!(
        cluster[0]["resource"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(small::CLUSTER)
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains(small::CLIENT_SECRET),
            "the client secret leaked"
        );
        assert!(!text.contains("emu-"), "a bearer token leaked");
    }
    let token_requests = emulator
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("oauth2"))
        .count();
    assert_eq!(token_requests, 1, "the token is cached across requests");
}

#[test]
fn the_cli_credential_and_management_group_scope() {
    let emulator = start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    stand_in_az(dir.path(), &[small::STATIC_TOKEN]);
    let output = dir.path().join("report.json");
    let mut cmd = command();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    let http = emulator.http_url();
    let out = run(
        cmd,
        &[
            "audit",
            "--management-group",
            "platform",
            "--auth",
            "cli",
            "--arm-endpoint",
            &http,
            "--source",
            "arm",
            "--format",
            "json",
            "--output",
            output.to_str().unwrap(),
            "--fail-on",
            "none",
        ],
    );
    assert!(matches!(out.status, Some(0) | Some(3)), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "the report goes to --output only");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let subs: Vec<&str> = report["scope"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        vec![small::S2],
        "only the platform subtree is audited"
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["subscription"] == small::S2)
    );
    let az_log = std::fs::read_to_string(dir.path().join("az.log")).unwrap();
    assert!(az_log.contains("account get-access-token"), "{az_log}");
}

#[test]
fn one_item_pages_with_null_next_links_give_the_same_findings() {
    let ca_default;
    let plain = {
        let emulator = start(Options::default());
        ca_default = ca_file(&emulator);
        let out = audit_as_service_principal(&emulator, &ca_default.path, &["--fail-on", "none"]);
        report(&out)["findings"].clone()
    };
    let emulator = start(Options {
        page_size: Some(1),
        null_next_link: true,
        ..Options::default()
    });
    let ca = ca_file(&emulator);
    let paged = report(&audit_as_service_principal(
        &emulator,
        &ca.path,
        &["--fail-on", "none"],
    ))["findings"]
        .clone();
    assert_eq!(plain, paged);
    let pages = emulator
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("skiptoken"))
        .count();
    assert!(
        pages > 5,
        "page size 1 follows nextLinks ({pages} follow-up pages)"
    );
}

#[test]
fn denied_pricings_make_dependent_findings_unknown_and_exit_3() {
    let emulator = start(Options {
        deny: vec![Deny {
            scope: format!("/subscriptions/{}", small::S1),
            api: "Microsoft.Security/pricings".into(),
        }],
        ..Options::default()
    });
    let ca = ca_file(&emulator);
    let out = audit_as_service_principal(&emulator, &ca.path, &["--fail-on", "none"]);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
    let report = report(&out);
    let gap = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["api"] == "Microsoft.Security/pricings"
                && c["scope"].as_str().unwrap().ends_with(small::S1)
        })
        .unwrap_or_else(|| panic!("no coverage entry: {}", report["coverage"]));
    assert_eq!(gap["status"], "denied");
    assert_eq!(gap["http_status"], 403);
    assert_eq!(gap["code"], "AuthorizationFailed");
    let defender = findings_of(&report, "AKS-005");
    let on_s1: Vec<_> = defender
        .iter()
        .filter(|f| f["subscription"] == small::S1)
        .collect();
    assert_eq!(on_s1.len(), 1);
    assert_eq!(on_s1[0]["status"], "unknown", "{}", on_s1[0]);
    assert!(
        on_s1[0]["message"].as_str().unwrap().contains("403"),
        "{}",
        on_s1[0]
    );
    assert!(report["summary"]["unknown"].as_u64().unwrap() >= 1);
}

#[test]
fn a_wrong_secret_is_a_sign_in_error_with_entras_reason() {
    let emulator = start(Options::default());
    let ca = ca_file(&emulator);
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", small::TENANT)
        .env("AZURE_CLIENT_ID", small::CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", "not-the-secret");
    let https = emulator.https_url();
    let out = run(
        cmd,
        &[
            "audit",
            "--auth",
            "env",
            "--authority-host",
            &https,
            "--arm-endpoint",
            &https,
            "--ca-cert",
            ca.path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("AADSTS7000215"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("not-the-secret"),
        "the secret leaked: {}",
        out.stderr
    );
}

#[test]
fn an_unreachable_endpoint_is_named_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    stand_in_az(dir.path(), &[small::STATIC_TOKEN]);
    let mut cmd = command();
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run(
        cmd,
        &[
            "audit",
            "--auth",
            "cli",
            "--arm-endpoint",
            &endpoint,
            "--max-retries",
            "1",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
}
