//! `lzaudit audit` in Azure Pipelines (`TF_BUILD=True`): issue lines for failing and warning
//! findings, capped, and the Markdown summary uploaded from the agent's temporary directory —
//! checked against the JSON report of the same input, so they hold whatever the example's
//! findings are. Also the example pipeline (`examples/azure-pipelines.yml`): its key tasks are
//! there, every `lzaudit audit` flag it uses is one the binary accepts, and its build cache is
//! keyed on everything the binary is built from.

use std::path::Path;

use serde_json::Value;

use crate::support::bin::{HOSTILE, Output, command, hostile_snapshot, lzaudit, run, write};
use crate::support::fixture::repo;

const SNAPSHOT: &str = "examples/contoso/snapshot.json";
const CAP: usize = 50;

/// The audit as a pipeline runs it, its summary going to `agent_temp`.
fn in_pipeline(agent_temp: &Path, args: &[&str]) -> Output {
    let mut cmd = command();
    cmd.env("TF_BUILD", "True")
        .env("AGENT_TEMPDIRECTORY", agent_temp);
    run(cmd, args)
}

fn status_count(report: &Value, status: &str) -> usize {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == status)
        .count()
}

/// Checks the logging commands in `stream` against the report's counts; returns the uploaded
/// summary's path.
fn check_pipeline_lines(stream: &str, report: &Value) -> String {
    let lines: Vec<&str> = stream.lines().filter(|l| l.starts_with("##vso[")).collect();
    let mut issue_lines = 0;
    for (kind, status, noun) in [("error", "fail", "failing"), ("warning", "warn", "warning")] {
        let prefix = format!("##vso[task.logissue type={kind};");
        let issues: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        issue_lines += issues.len();
        let total = status_count(report, status);
        if total > CAP {
            assert_eq!(issues.len(), CAP + 1, "{kind}: {total} findings");
            assert_eq!(
                issues[CAP],
                format!(
                    "{prefix}]lzaudit: {} more {noun} finding(s) not listed here; see the lzaudit report",
                    total - CAP
                )
            );
        } else {
            assert_eq!(issues.len(), total, "{kind}: one line per finding");
        }
        for line in issues.iter().take(CAP.min(total)) {
            let rest = line[prefix.len()..].strip_prefix("code=").expect(line);
            let (check, message) = rest.split_once(";]").expect(line);
            assert!(message.starts_with(&format!("{check} [")), "{line}");
        }
    }
    let upload: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("##vso[task.uploadsummary]"))
        .collect();
    assert_eq!(upload.len(), 1, "{lines:#?}");
    assert_eq!(lines.len(), issue_lines + 1, "nothing else: {lines:#?}");
    upload[0]["##vso[task.uploadsummary]".len()..].to_string()
}

fn json_report(snapshot: &str) -> Value {
    serde_json::from_str(&lzaudit(&["audit", "--snapshot", snapshot, "--format", "json"]).stdout)
        .unwrap()
}

#[test]
fn the_example_tenant_in_a_pipeline_logs_issues_and_uploads_the_markdown_summary() {
    let temp = tempfile::tempdir().unwrap();
    let out = in_pipeline(temp.path(), &["audit", "--snapshot", SNAPSHOT]).code(1);
    let report = json_report(SNAPSHOT);
    assert!(status_count(&report, "fail") > 0 && status_count(&report, "warn") > 0);
    let summary = check_pipeline_lines(&out.stdout, &report);
    assert_eq!(Path::new(&summary), temp.path().join("lzaudit-summary.md"));
    let markdown = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "markdown"])
        .code(1)
        .stdout;
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), markdown);
    let names: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind: {names:?}");
    // The table is still there, before the logging commands.
    let table = lzaudit(&["audit", "--snapshot", SNAPSHOT]).code(1).stdout;
    assert!(out.stdout.starts_with(&table));

    // Without TF_BUILD (or with it false): no logging commands.
    assert!(!table.contains("##vso["), "{table}");
    let mut cmd = command();
    cmd.env("TF_BUILD", "False");
    let off = run(cmd, &["audit", "--snapshot", SNAPSHOT]).code(1);
    assert!(!off.stdout.contains("##vso["), "{}", off.stdout);
}

#[test]
fn a_machine_readable_stdout_keeps_the_logging_commands_out() {
    let temp = tempfile::tempdir().unwrap();
    let out = in_pipeline(
        temp.path(),
        &["audit", "--snapshot", SNAPSHOT, "--format", "json"],
    )
    .code(1);
    let report: Value = serde_json::from_str(&out.stdout).expect("stdout is the JSON report alone");
    check_pipeline_lines(&out.stderr, &report);
}

#[test]
fn issues_are_capped_per_type_in_a_large_tenant() {
    let temp = tempfile::tempdir().unwrap();
    // The example tenant with every cluster copied 15 times: well over the cap of failures.
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(SNAPSHOT)).unwrap()).unwrap();
    let clusters = snapshot["clusters"].as_array().unwrap().clone();
    for copy in 0..15 {
        for cluster in &clusters {
            let mut c = cluster.clone();
            c["name"] = format!("{}-copy{copy}", c["name"].as_str().unwrap()).into();
            c["id"] = format!("{}-copy{copy}", c["id"].as_str().unwrap()).into();
            snapshot["clusters"].as_array_mut().unwrap().push(c);
        }
    }
    let path = write(temp.path(), "large.json", &snapshot.to_string());
    let path = path.to_str().unwrap();
    let report = json_report(path);
    assert!(
        status_count(&report, "fail") > CAP,
        "the tenant is large enough"
    );
    let agent = tempfile::tempdir().unwrap();
    let out = in_pipeline(agent.path(), &["audit", "--snapshot", path]);
    check_pipeline_lines(&out.stdout, &report);
}

/// A subscription and a cluster whose names carry a line break and a `##vso[` command, a colour
/// escape and a `##[error]` line: in a pipeline, the agent must see only lzaudit's own commands —
/// on stdout next to the table, and on stderr when stdout is the JSON report.
#[test]
fn hostile_names_cannot_inject_commands_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _cluster) = hostile_snapshot(dir.path());
    let snapshot = snapshot.to_str().unwrap();
    for format in ["table", "json"] {
        let agent = tempfile::tempdir().unwrap();
        let out = in_pipeline(
            agent.path(),
            &["-v", "audit", "--snapshot", snapshot, "--format", format],
        )
        .code(1);
        let mut issues = 0;
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for line in text.split(['\n', '\r']) {
                let lower = line.to_ascii_lowercase();
                if line.starts_with("##vso[task.logissue type=")
                    || line.starts_with("##vso[task.uploadsummary]")
                {
                    issues += usize::from(line.contains("task.logissue"));
                    assert_eq!(lower.matches("##vso[").count(), 1, "{stream}: {line}");
                    assert!(!line.contains('\u{1b}'), "{stream}: {line:?}");
                } else {
                    assert!(!lower.contains("##vso["), "{format}, {stream}: {line:?}");
                    assert!(!line.starts_with("##["), "{format}, {stream}: {line:?}");
                }
            }
        }
        assert!(issues > 0, "the pipeline lines were written");
        // The hostile name is in the issue lines, as visible text rather than a line break.
        let stream = if format == "json" {
            &out.stderr
        } else {
            &out.stdout
        };
        assert!(
            stream.contains("x\\r\\n\\u{23}#vso[task.setvariable variable=x]1 \\u{1b}[31m"),
            "{stream}"
        );
        if format == "json" {
            let report: Value = serde_json::from_str(&out.stdout).unwrap();
            let names = report["scope"]["subscriptions"].to_string();
            assert!(
                names.contains(&serde_json::to_string(HOSTILE).unwrap()),
                "{names}"
            );
        }
    }
}

/// The flags of the example pipeline's `lzaudit audit` command (a shell line continued with `\`).
fn pipeline_audit_flags(yaml: &str) -> Vec<String> {
    let start = yaml
        .find("bin/lzaudit\" audit")
        .expect("the pipeline runs the installed lzaudit audit");
    let mut flags = Vec::new();
    for line in yaml[start..].lines() {
        for word in line.split_whitespace() {
            if let Some(flag) = word.strip_prefix("--") {
                flags.push(format!("--{}", flag.split('=').next().unwrap()));
            }
        }
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    flags
}

#[test]
fn the_example_pipeline_has_its_key_tasks_and_only_flags_lzaudit_accepts() {
    let yaml = std::fs::read_to_string(repo().join("examples/azure-pipelines.yml")).unwrap();
    for needle in [
        "schedules:",
        "cron:",
        "always: true",
        "- main",
        "AzureCLI@2",
        "azureSubscription:",
        "addSpnToEnvironment: true",
        "cargo install --locked --path .",
        "Cache@2",
        "cacheHitVar: LZAUDIT_CACHED",
        "dependsOn: build",
        "--auth cli",
        "--management-group",
        "--report junit=",
        "--report sarif=",
        "--report html=",
        "--report markdown=",
        "--format table",
        "--fail-on high",
        "PublishTestResults@2",
        "testResultsFormat: JUnit",
        "condition: succeededOrFailed()",
        "PublishPipelineArtifact@1",
        "artifact: CodeAnalysisLogs",
        "##vso[task.complete result=SucceededWithIssues;]",
        "SYSTEM_ACCESSTOKEN: $(System.AccessToken)",
    ] {
        assert!(yaml.contains(needle), "the pipeline lacks `{needle}`");
    }
    assert!(
        !yaml.contains("--git"),
        "install from the checkout, not from a URL"
    );

    let flags = pipeline_audit_flags(&yaml);
    for expected in ["--auth", "--management-group", "--report", "--fail-on"] {
        assert!(flags.iter().any(|f| f == expected), "{flags:?}");
    }
    let help = lzaudit(&["audit", "--help"]).success().stdout;
    for flag in &flags {
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "`lzaudit audit --help` does not list {flag}"
        );
    }
    // The check itself rejects a flag lzaudit does not have.
    assert!(!help.contains("--no-such-flag "));
}

/// The value after `key:` on the first line at or after `from` that has it.
fn yaml_value<'a>(yaml: &'a str, from: usize, key: &str) -> &'a str {
    let tail = &yaml[from..];
    let line = tail
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no `{key}:` after byte {from}"));
    line.split(" #").next().unwrap().trim().trim_matches('\'')
}

/// The example pipeline's binary cache: the install step runs only on a miss and installs into
/// the cached directory, the audit job runs what the build job published from there, and the
/// cache key covers Cargo.lock and every directory the binary embeds files from (so a cached
/// binary is never stale).
#[test]
fn the_example_pipeline_rebuilds_lzaudit_only_when_its_inputs_change() {
    let yaml = std::fs::read_to_string(repo().join("examples/azure-pipelines.yml")).unwrap();
    let root = yaml_value(&yaml, 0, "lzauditRoot");
    let binary_cache = yaml
        .find("cacheHitVar: LZAUDIT_CACHED")
        .and_then(|at| yaml[..at].rfind("- task: Cache@2"))
        .expect("a Cache@2 step sets LZAUDIT_CACHED");
    assert_eq!(yaml_value(&yaml, binary_cache, "path"), "$(lzauditRoot)");
    let key = yaml_value(&yaml, binary_cache, "key");
    let segments: Vec<&str> = key.split('|').map(str::trim).collect();
    assert!(segments.contains(&"Cargo.lock"), "{key}");
    let patterns: Vec<&str> = segments
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .collect();

    let install = yaml
        .find("cargo install --locked --path .")
        .expect("an install step");
    assert!(
        yaml[install..].contains("--root \"$(lzauditRoot)\""),
        "installs into the cached directory"
    );
    assert_eq!(
        yaml_value(&yaml, install, "condition"),
        "ne(variables.LZAUDIT_CACHED, 'true')",
        "installs only on a cache miss"
    );
    let publish = yaml
        .find("- publish: $(lzauditRoot)")
        .expect("publishes the binary");
    let artifact = yaml_value(&yaml, publish, "artifact");
    let download = yaml
        .find("- download: current")
        .expect("the audit job downloads it");
    assert_eq!(yaml_value(&yaml, download, "artifact"), artifact);
    assert_eq!(
        root,
        format!("$(Pipeline.Workspace)/{artifact}"),
        "the download lands where the audit runs the binary from"
    );
    assert!(yaml.contains("\"$(lzauditRoot)/bin/lzaudit\" audit"));

    // Every file the binary embeds lies under a directory the key hashes.
    let mut embedded = std::collections::BTreeSet::new();
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("include_") {
                    let rest = &text[i..];
                    let Some(arg) = ["include_str!(\"", "include_bytes!(\""]
                        .iter()
                        .find_map(|m| rest.strip_prefix(m))
                    else {
                        continue;
                    };
                    let relative = &arg[..arg.find('"').unwrap()];
                    let file = path.parent().unwrap().join(relative);
                    let file = file.canonicalize().unwrap_or(file);
                    let inside = file
                        .strip_prefix(repo().canonicalize().unwrap())
                        .unwrap_or_else(|_| panic!("{} embeds {}", path.display(), file.display()));
                    embedded.insert(
                        inside
                            .components()
                            .next()
                            .unwrap()
                            .as_os_str()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
    }
    assert!(
        embedded.contains("checks") && embedded.contains("profiles"),
        "{embedded:?}"
    );
    embedded.insert("src".into());
    for dir in &embedded {
        assert!(
            patterns.contains(&format!("{dir}/**").as_str()),
            "the binary embeds files from {dir}/, which the cache key `{key}` does not hash"
        );
    }
}

/// An error quotes what it could not read — here a snapshot path holding a line break and a
/// `##vso[` command: the error line names it without commanding the agent.
#[test]
fn an_error_quoting_hostile_text_cannot_inject_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("x\n##vso[task.setvariable variable=x]1\u{1b}[31m.json");
    let out = lzaudit(&["audit", "--snapshot", path.to_str().unwrap()]).code(2);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("\\u{23}#vso[task.setvariable"),
        "{}",
        out.stderr
    );
    assert!(
        lzaudit::text::is_pipeline_safe(&out.stderr),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}
