//! The terminal side: shell completion scripts, and the progress observer collection reports to.

use std::sync::Mutex;

use lzaudit::collect::{self, Plan, Progress};
use lzaudit::inventory::{RequestedScope, Subscription};
use lzaudit_emulator::{Emulator, Options, Tenant};

use crate::support::bin::{command, lzaudit, run};
use crate::support::tenants::{self, ca_file, connect_secret, small, tenant};

#[test]
fn completion_scripts_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = lzaudit(&["completions", shell]).success();
        assert!(!out.stdout.trim().is_empty(), "{shell}");
        for word in ["audit", "diff", "management-group"] {
            assert!(out.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    lzaudit(&["completions", "tcsh"]).code(2);
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Progress for Recorder {
    fn started(&self, total: usize) {
        self.events.lock().unwrap().push(format!("started {total}"));
    }
    fn subscription_done(&self, subscription: &Subscription) {
        self.events
            .lock()
            .unwrap()
            .push(format!("done {}", subscription.subscription_id));
    }
    fn finishing(&self) {
        self.events.lock().unwrap().push("finishing".into());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_reports_each_subscription_to_the_observer() {
    let emulator = tenants::start("small", Options::default()).await;
    let ca = ca_file(&emulator);
    let client = connect_secret(&emulator, &ca).await;
    let recorder = Recorder::default();
    let inventory = collect::run(
        &client,
        RequestedScope::default(),
        &Plan::everything(),
        Some(&recorder),
    )
    .await
    .unwrap();
    let events = recorder.events.into_inner().unwrap();
    let total = inventory.subscriptions.len();
    assert!(total >= 2, "{events:?}");
    assert_eq!(events[0], format!("started {total}"));
    assert_eq!(events.last().unwrap(), "finishing");
    let mut done: Vec<&str> = events[1..events.len() - 1]
        .iter()
        .map(|e| e.strip_prefix("done ").expect(e))
        .collect();
    done.sort();
    let mut expected: Vec<&str> = inventory
        .subscriptions
        .iter()
        .map(|s| s.subscription_id.as_str())
        .collect();
    expected.sort();
    assert_eq!(done, expected);
}

/// A live audit of the small tenant with the given global flags; stderr is a pipe, so progress
/// comes as log lines, never as a bar.
fn live_audit(global: &[&str]) -> crate::support::bin::Output {
    live_audit_of(tenant("small"), global)
}

fn live_audit_of(tenant: Tenant, global: &[&str]) -> crate::support::bin::Output {
    let emulator = Emulator::start_in_thread(tenant, Options::default());
    let ca = ca_file(&emulator);
    let mut cmd = command();
    cmd.env("AZURE_TENANT_ID", small::TENANT)
        .env("AZURE_CLIENT_ID", small::CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", small::CLIENT_SECRET);
    let https = emulator.https_url();
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "audit",
        "--auth",
        "env",
        "--authority-host",
        &https,
        "--arm-endpoint",
        &https,
        "--ca-cert",
        ca.path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    run(cmd, &args)
}

#[test]
fn progress_is_logged_with_verbose_and_silent_with_quiet() {
    let verbose = live_audit(&["-v"]);
    let report: serde_json::Value = serde_json::from_str(&verbose.stdout).unwrap();
    let subscriptions = report["scope"]["subscriptions"].as_array().unwrap().len();
    let done: Vec<&str> = verbose
        .stderr
        .lines()
        .filter(|l| l.contains("collected subscription"))
        .collect();
    assert_eq!(done.len(), subscriptions, "{}", verbose.stderr);
    assert!(
        done.iter()
            .any(|l| l.contains(&format!("({subscriptions}/{subscriptions};"))),
        "{}",
        verbose.stderr
    );
    assert!(
        done.iter()
            .all(|l| l.contains(" requests · ") && l.contains(" in flight max"))
    );

    let quiet = live_audit(&["-q"]);
    assert!(
        !quiet.stderr.contains("collected subscription"),
        "{}",
        quiet.stderr
    );
    assert!(
        !quiet.stderr.contains('\r'),
        "no bar drawn: {:?}",
        quiet.stderr
    );
}

/// A subscription whose display name carries a line break, a `##vso[` command and a colour
/// escape: the progress log line that names it stays one printable line.
#[test]
fn progress_lines_show_a_hostile_subscription_name_as_text() {
    let path = crate::support::fixture::repo().join("tests/fixtures/tenants/small.json");
    let mut fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fixture["subscriptions"][0]["subscription"]["displayName"] =
        crate::support::bin::HOSTILE.into();
    let tenant = Tenant::from_json(&fixture.to_string()).unwrap();
    let out = live_audit_of(tenant, &["-v"]);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("collected subscription x"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        line.contains(
            "collected subscription x\\r\\n\\u{23}#vso[task.setvariable variable=x]1 \\u{1b}[31m"
        ),
        "{line}"
    );
    assert!(
        lzaudit::text::is_pipeline_safe(&out.stderr),
        "{}",
        out.stderr
    );
    let raw: Vec<char> = out
        .stderr
        .chars()
        .filter(|c| lzaudit::text::is_unprintable(*c) && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "raw control characters on stderr: {raw:?}");
}
