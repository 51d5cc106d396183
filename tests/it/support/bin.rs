//! Running the `lzaudit` binary in tests, the way a user or a pipeline does.

use std::path::{Path, PathBuf};
use std::process::Command;

use lzaudit::inventory::{Inventory, Subscription, snapshot};
use serde_json::Value;

use super::fixture;

pub struct Output {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    args: Vec<String>,
}

impl Output {
    /// Asserts exit code 0.
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Asserts an exit code.
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.status,
            Some(expected),
            "lzaudit {:?} exited {:?}, expected {expected}\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.status,
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

/// The binary with a clean, reproducible environment: no Azure variables from the machine,
/// no colour, a fixed clock.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lzaudit"));
    cmd.current_dir(fixture::repo())
        .env("SOURCE_DATE_EPOCH", "1795651200") // 2026-11-26T00:00:00Z
        .env("NO_COLOR", "1")
        .env("COLUMNS", "160")
        .env_remove("LZAUDIT_LOG")
        .env_remove("LZAUDIT_AUTH")
        .env_remove("LZAUDIT_TENANT");
    for (key, _) in std::env::vars() {
        if key.starts_with("AZURE_")
            || key.starts_with("AZURESUBSCRIPTION_")
            || key == "SYSTEM_ACCESSTOKEN"
            || key == "TF_BUILD"
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

pub fn run(mut cmd: Command, args: &[&str]) -> Output {
    let out = cmd.args(args).output().expect("run lzaudit");
    Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn lzaudit(args: &[&str]) -> Output {
    run(command(), args)
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A snapshot with one subscription and one cluster (the official `ManagedClustersGet.json`
/// payload, public, no authorized ranges) with `patch` merged into the cluster.
pub fn small_snapshot(dir: &Path, patch: Value) -> PathBuf {
    let text = snapshot::to_string(&inventory_with_clusters(1, patch));
    write(dir, "snapshot.json", &text)
}

/// The inventory of `small_snapshot` with `count` such clusters, named `…-0`, `…-1` … after
/// the first: enough of them make an audit run long enough to be interrupted.
pub fn inventory_with_clusters(count: usize, patch: Value) -> Inventory {
    let text = std::fs::read_to_string(
        fixture::repo()
            .join("tests/fixtures/arm-examples/containerservice/ManagedClustersGet.json"),
    )
    .unwrap();
    let example: Value = serde_json::from_str(&text).unwrap();
    let mut cluster = example["responses"]["200"]["body"].clone();
    fixture::merge_patch(&mut cluster, patch);
    let mut inv = Inventory::new("https://management.azure.com", "arm", Default::default());
    inv.collected_at = "2026-11-26T00:00:00Z".into();
    inv.subscriptions.push(Subscription {
        id: "/subscriptions/00000000-0000-0000-0000-000000000000".into(),
        subscription_id: "00000000-0000-0000-0000-000000000000".into(),
        display_name: "lz-online-01".into(),
        state: "Enabled".into(),
        management_group_ancestors: Some(vec!["online".into(), "landingzones".into()]),
    });
    let cluster = lzaudit::json::one(cluster);
    inv.clusters.push(cluster.clone());
    for i in 1..count {
        let mut copy = cluster.clone();
        for key in ["id", "name"] {
            let renamed = format!("{}-{i}", copy[key].as_str().unwrap_or_default());
            copy[key] = lzaudit::json::Value::from(renamed.as_str());
        }
        inv.clusters.push(copy);
    }
    fixture::mark_read(&mut inv);
    inv
}

/// ARM text that tries to command an Azure Pipelines agent and a terminal: a line break and a
/// `##vso[` command, a colour escape, a bidi override, and a line starting with `##[error]`.
pub const HOSTILE: &str =
    "x\r\n##vso[task.setvariable variable=x]1 \u{1b}[31mred\u{202e}\n##[error]boom";

/// The example tenant (`examples/contoso/`) with [`HOSTILE`] text where ARM chooses it: the
/// display names of subscription contoso-corp-dev and of the skipped subscription, the name of
/// cluster aks-corp-dev (everywhere its name appears: its ID, its node resource group, …), and
/// the message of a failed read. Returns the snapshot's path and the hostile cluster's name.
pub fn hostile_snapshot(dir: &Path) -> (PathBuf, String) {
    let text =
        std::fs::read_to_string(fixture::repo().join("examples/contoso/snapshot.json")).unwrap();
    let cluster = format!("aks-{HOSTILE}");
    let quoted = serde_json::to_string(&cluster).unwrap();
    let text = text.replace("aks-corp-dev", &quoted[1..quoted.len() - 1]);
    let mut snapshot: Value = serde_json::from_str(&text).unwrap();
    for s in snapshot["subscriptions"].as_array_mut().unwrap() {
        if s["display_name"] == "contoso-corp-dev" {
            s["display_name"] = HOSTILE.into();
        }
    }
    snapshot["skipped_subscriptions"][0]["display_name"] = HOSTILE.into();
    let gap = snapshot["reads"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["status"] != "ok")
        .expect("the example has a failed read");
    gap["message"] = HOSTILE.into();
    (write(dir, "hostile.json", &snapshot.to_string()), cluster)
}
