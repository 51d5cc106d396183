//! Output files: several reports of one run are published together or not at all, and two
//! outputs naming one file — however the paths are spelled — are refused before auditing.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::bin::{Output, command, run, small_snapshot};

/// lzaudit run from `dir`, so relative output paths land there.
fn lzaudit_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = command();
    cmd.current_dir(dir);
    run(cmd, args)
}

/// Every entry of `dir` with its contents (directories as `<dir>`), sorted.
fn contents(dir: &Path) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let text = if e.path().is_dir() {
                "<dir>".to_string()
            } else {
                std::fs::read_to_string(e.path()).unwrap_or_default()
            };
            (name, text)
        })
        .collect();
    all.sort();
    all
}

fn snapshot_in(dir: &Path) -> PathBuf {
    let snap = small_snapshot(dir, json!({}));
    std::fs::canonicalize(snap).unwrap()
}

#[test]
fn one_file_named_twice_is_refused_however_it_is_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let snap = snapshot_in(&root);
    let s = snap.to_str().unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("r.json"), "previous report").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("r.json", root.join("latest.json")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("linked")).unwrap();
    }
    let absolute = root.join("r.json");
    let before = contents(&root);
    let cases: Vec<(String, String)> = vec![
        ("r.json".into(), "html=./r.json".into()),
        ("r.json".into(), "html=sub/../r.json".into()),
        ("r.json".into(), format!("html={}", absolute.display())),
        ("./sub/../r.json".into(), "json=r.json".into()),
        ("r.json".into(), "html=latest.json".into()),
        ("sub/x.json".into(), "sarif=linked/x.json".into()),
        ("new.json".into(), "csv=sub/../new.json".into()),
    ];
    for (output, report) in cases {
        let out = lzaudit_in(
            &root,
            &[
                "audit",
                "--snapshot",
                s,
                "--output",
                &output,
                "--report",
                &report,
                "--fail-on",
                "none",
            ],
        )
        .code(2);
        assert!(
            out.stderr.contains("are the same file") && out.stderr.contains("its own file"),
            "-o {output} --report {report}:\n{}",
            out.stderr
        );
        assert_eq!(contents(&root), before, "-o {output} --report {report}");
    }
    // Distinct files are fine, including a new file next to a same-named directory.
    let out = lzaudit_in(
        &root,
        &[
            "audit",
            "--snapshot",
            s,
            "--output",
            "r.txt",
            "--report",
            "json=r.json",
            "--report",
            "html=sub/r.json",
            "--fail-on",
            "none",
        ],
    );
    assert!(matches!(out.status, Some(0 | 3)), "{}", out.stderr);
    assert!(root.join("sub/r.json").exists() && root.join("r.txt").exists());
}

#[test]
fn an_output_over_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let snap = snapshot_in(&root);
    let before = contents(&root);
    let out = lzaudit_in(
        &root,
        &[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--report",
            "json=./snapshot.json",
        ],
    )
    .code(2);
    assert!(
        out.stderr.contains("is the snapshot this run reads"),
        "{}",
        out.stderr
    );
    let out = lzaudit_in(
        &root,
        &[
            "diff",
            "snapshot.json",
            snap.to_str().unwrap(),
            "--output",
            "./snapshot.json",
        ],
    )
    .code(2);
    assert!(
        out.stderr.contains("is the OLD input this run reads"),
        "{}",
        out.stderr
    );
    assert_eq!(contents(&root), before);
}

#[test]
fn a_failing_output_leaves_every_existing_report_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let snap = snapshot_in(&root);
    std::fs::write(root.join("r.json"), "previous json").unwrap();
    std::fs::write(root.join("r.txt"), "previous table").unwrap();
    let before = contents(&root);
    // The JSON report renders and writes fine; the HTML one cannot be written, so neither the
    // JSON report nor the --output table may replace the previous run's files.
    let out = lzaudit_in(
        &root,
        &[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--report",
            "json=r.json",
            "--report",
            "html=missing/r.html",
            "--output",
            "r.txt",
        ],
    )
    .code(2);
    assert!(
        out.stderr
            .contains("cannot write the Html report to missing/r.html"),
        "{}",
        out.stderr
    );
    assert_eq!(contents(&root), before);
    // An --output that cannot be written spoils the reports staged before it as well.
    let out = lzaudit_in(
        &root,
        &[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--report",
            "json=r.json",
            "--output",
            "missing/r.txt",
        ],
    )
    .code(2);
    assert!(
        out.stderr.contains("cannot write missing/r.txt"),
        "{}",
        out.stderr
    );
    assert_eq!(contents(&root), before);
}
