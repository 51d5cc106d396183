//! SIGINT and SIGTERM sent to a running `lzaudit`: it stops at once — while reading its input,
//! collecting over HTTP, or writing reports — with 130 or 143, one line on stderr, no
//! `.lzaudit-*.tmp` left behind and the previous reports untouched.
//!
//! Each test first makes sure the run has reached the stage it interrupts (the emulator has
//! answered a request; lzaudit has opened the FIFO it reads; lzaudit is stopped with SIGSTOP
//! while some but not all of its reports are staged), so the signal never lands before the
//! handler is installed or after the work is done.

#![cfg(unix)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lzaudit::inventory::snapshot;
use lzaudit_emulator::{Emulator, Options};
use serde_json::json;

use crate::support::bin::{command, inventory_with_clusters, write};
use crate::support::tenants::{small, stand_in_az, tenant};

/// Sends a signal with `kill(1)`, as a shell or a pipeline agent would.
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {}", child.id());
}

/// lzaudit with stderr into `stderr` (a file, so it can never block on a full pipe).
fn spawn(mut cmd: Command, args: &[&str], stderr: &Path) -> Child {
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("start lzaudit")
}

/// Waits for the child to exit, at most `limit`; a child still running then is killed and the
/// test fails, since stopping promptly is the point.
fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lzaudit did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every `.lzaudit-*.tmp` in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".lzaudit-") && n.ends_with(".tmp"))
        .collect()
}

/// Every file of `dir` with its contents, sorted.
fn contents(dir: &Path) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    all.sort();
    all
}

/// The one line lzaudit printed.
fn one_line(stderr: &Path) -> String {
    let text = std::fs::read_to_string(stderr).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stderr:\n{text}"
    );
    lines[0].to_string()
}

/// Waits until the process is stopped (`T` in `/proc/PID/stat`): `kill -STOP` returns before
/// the process has necessarily stopped.
fn wait_until_stopped(child: &Child) {
    let stat = PathBuf::from(format!("/proc/{}/stat", child.id()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&stat).unwrap_or_default();
        // `pid (comm) state …`: the state follows the last `)`.
        let state = text.rsplit(')').next().unwrap_or("").trim_start();
        if state.starts_with('T') || state.starts_with('t') {
            return;
        }
        assert!(Instant::now() < deadline, "not stopped: {text}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sigint_while_reports_are_staged_removes_them_and_keeps_the_previous_reports() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Enough clusters that rendering seven outputs takes a good fraction of a second, and one
    // cheap check so that evaluating them does not.
    let snap = write(
        work.path(),
        "big.json",
        &snapshot::to_string(&inventory_with_clusters(600, json!({}))),
    );
    let profile = write(work.path(), "p.toml", "[checks]\nselect = [\"AKS-020\"]\n");
    std::fs::write(out.join("r.json"), "previous json").unwrap();
    std::fs::write(out.join("r.html"), "previous html").unwrap();
    let before = contents(&out);
    let targets: Vec<String> = [
        ("json", "r.json"),
        ("html", "r.html"),
        ("sarif", "r.sarif"),
        ("markdown", "r.md"),
        ("junit", "r.xml"),
        ("csv", "r.csv"),
    ]
    .iter()
    .map(|(format, name)| format!("{format}={}", out.join(name).display()))
    .collect();
    let output = out.join("r.txt");
    let mut args = vec![
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    for target in &targets {
        args.extend(["--report", target.as_str()]);
    }
    let files = targets.len() + 1;
    let stderr = work.path().join("stderr");
    let mut child = spawn(command(), &args, &stderr);

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "lzaudit exited ({status}) before it was caught with some reports staged:\n{}",
                std::fs::read_to_string(&stderr).unwrap()
            );
        }
        assert!(Instant::now() < deadline, "no temporary file appeared");
        if !temporaries(&out).is_empty() {
            // Frozen, the run cannot move on: if some but not all files are staged, it still
            // has rendering ahead of it and the signal is handled before any rename.
            signal(&child, "STOP");
            wait_until_stopped(&child);
            let staged = temporaries(&out).len();
            if (1..files).contains(&staged) {
                signal(&child, "INT");
                signal(&child, "CONT");
                break;
            }
            signal(&child, "CONT");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = exit_within(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "{status}");
    let line = one_line(&stderr);
    assert!(
        line.starts_with("lzaudit: interrupted (SIGINT); ")
            && line.contains("r.json")
            && line.ends_with("not written, any previous version untouched"),
        "{line}"
    );
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    assert_eq!(contents(&out), before);
}

#[test]
fn sigterm_during_collection_stops_at_once() {
    let latency = Duration::from_millis(400);
    let emulator = Emulator::start_in_thread(
        tenant("small"),
        Options {
            latency,
            ..Options::default()
        },
    );
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    stand_in_az(&bin, &[small::STATIC_TOKEN]);
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("r.json"), "previous json").unwrap();
    let before = contents(&out);
    let mut cmd = command();
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let http = emulator.http_url();
    let report = format!("json={}", out.join("r.json").display());
    let stderr = work.path().join("stderr");
    let mut child = spawn(
        cmd,
        &[
            "audit",
            "--auth",
            "cli",
            "--arm-endpoint",
            &http,
            "--source",
            "arm",
            "--report",
            &report,
            "--output",
            out.join("r.txt").to_str().unwrap(),
        ],
        &stderr,
    );
    // The first answer: lzaudit is collecting, and collecting this tenant takes several more
    // rounds of requests at this latency.
    let deadline = Instant::now() + Duration::from_secs(60);
    while emulator.requests().is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "lzaudit exited ({status}) before its first request:\n{}",
                std::fs::read_to_string(&stderr).unwrap()
            );
        }
        assert!(Instant::now() < deadline, "no request reached the emulator");
        std::thread::sleep(Duration::from_millis(5));
    }
    let signalled = Instant::now();
    signal(&child, "TERM");
    let status = exit_within(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(143), "{status}");
    assert!(
        signalled.elapsed() < latency * 3,
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert_eq!(
        one_line(&stderr),
        "lzaudit: interrupted (SIGTERM); no file written"
    );
    assert!(temporaries(&out).is_empty());
    assert_eq!(contents(&out), before);
}

#[test]
fn signals_while_reading_a_snapshot_from_a_fifo_print_one_line() {
    let work = tempfile::tempdir().unwrap();
    let fifo = work.path().join("snapshot.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let report = work.path().join("r.json");
    std::fs::write(&report, "previous json").unwrap();
    let stderr = work.path().join("stderr");
    let target = format!("json={}", report.display());
    let mut child = spawn(
        command(),
        &[
            "audit",
            "--snapshot",
            fifo.to_str().unwrap(),
            "--report",
            &target,
        ],
        &stderr,
    );
    // Opening the write end returns once lzaudit has opened the read end: it is running and
    // its handler is installed. Half a snapshot, and the write end stays open: lzaudit waits
    // in `read` for the rest.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let text = snapshot::to_string(&inventory_with_clusters(1, json!({})));
    writer
        .write_all(&text.as_bytes()[..text.len() / 2])
        .unwrap();
    writer.flush().unwrap();
    // A second and a third signal, as from an impatient Ctrl-C or a pipeline agent that
    // follows its SIGINT with a SIGTERM: both may be pending when the handler wakes, so
    // either may be the one handled, but the process says so once, with its code.
    signal(&child, "INT");
    signal(&child, "INT");
    signal(&child, "TERM");
    let status = exit_within(&mut child, Duration::from_secs(5));
    drop(writer);
    let line = one_line(&stderr);
    let expected = match status.code() {
        Some(130) => "lzaudit: interrupted (SIGINT); no file written",
        Some(143) => "lzaudit: interrupted (SIGTERM); no file written",
        _ => panic!("{status}: {line}"),
    };
    assert_eq!(line, expected);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "previous json");
    assert!(temporaries(work.path()).is_empty());
}
