//! Inputs that are not what they claim to be — a device, an endless FIFO, a file far over the
//! size limit, text in the wrong encoding — end in a clear exit-2 error that names the file,
//! quickly and without growing memory.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::bin::{Output, lzaudit, small_snapshot, write};

/// Runs lzaudit, asserting it exits 2 well within the time a bounded read needs.
fn refused(args: &[&str]) -> Output {
    let started = Instant::now();
    let out = lzaudit(args).code(2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}: {}",
        started.elapsed(),
        out.stderr
    );
    out
}

fn assert_mentions(out: &Output, parts: &[&str]) {
    for part in parts {
        assert!(
            out.stderr.contains(part),
            "expected `{part}` in:\n{}",
            out.stderr
        );
    }
}

#[test]
fn dev_zero_is_refused_at_once_as_a_snapshot_a_profile_and_a_diff_input() {
    let out = refused(&["audit", "--snapshot", "/dev/zero"]);
    assert_mentions(&out, &["snapshot /dev/zero", "NUL byte at byte 0"]);
    let out = refused(&["profiles", "validate", "/dev/zero"]);
    assert_mentions(&out, &["profile /dev/zero", "NUL byte at byte 0"]);
    let out = refused(&["diff", "/dev/zero", "/dev/zero"]);
    assert_mentions(&out, &["/dev/zero", "NUL byte at byte 0"]);
}

#[test]
fn a_snapshot_over_the_limit_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // Sparse: the length of a 3 GiB file without its blocks.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let out = refused(&["audit", "--snapshot", path.to_str().unwrap()]);
    assert_mentions(&out, &["huge.json", "larger than 2 GiB"]);
}

#[test]
fn a_profile_over_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# padding\n".repeat(110_000);
    let path = write(dir.path(), "big.toml", &text);
    let out = refused(&["profiles", "validate", path.to_str().unwrap()]);
    assert_mentions(&out, &["profile ", "big.toml", "larger than 1 MiB"]);
}

#[test]
fn an_endless_fifo_is_cut_off_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer_path = fifo.clone();
    // Writes valid TOML comments until lzaudit closes its end (EPIPE: Rust ignores SIGPIPE).
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        let line = "# an endless profile\n".repeat(1000);
        let mut written = 0usize;
        while file.write_all(line.as_bytes()).is_ok() {
            written += line.len();
        }
        written
    });
    let out = refused(&["profiles", "validate", fifo.to_str().unwrap()]);
    assert_mentions(&out, &["profile.toml", "larger than 1 MiB"]);
    let written = writer.join().unwrap();
    // The writer got ahead of the reader by at most a pipe buffer or two.
    assert!(written < 4 << 20, "{written} bytes written");
}

fn invalid_utf8(dir: &Path, name: &str, valid: &str) -> std::path::PathBuf {
    let mut bytes = valid.as_bytes().to_vec();
    bytes.extend_from_slice(b"\xe9t\xe9\"\n"); // Latin-1 "été"
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn invalid_utf8_names_the_file_and_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let profile = invalid_utf8(dir.path(), "latin1.toml", "name = \"x\"\ndescription = \"");
    let out = refused(&["profiles", "validate", profile.to_str().unwrap()]);
    assert_mentions(
        &out,
        &[
            "latin1.toml",
            "invalid UTF-8 at byte 26 (line 2, column 16)",
        ],
    );

    let checks = tempfile::tempdir().unwrap();
    invalid_utf8(
        checks.path(),
        "CUS-001.toml",
        "id = \"CUS-001\"\ntitle = \"",
    );
    let out = refused(&[
        "checks",
        "list",
        "--checks",
        checks.path().to_str().unwrap(),
    ]);
    assert_mentions(
        &out,
        &["check file", "CUS-001.toml", "invalid UTF-8 at byte 24"],
    );

    let snap = small_snapshot(dir.path(), json!({"tags": {"owner": "PLACEHOLDER"}}));
    let text = std::fs::read_to_string(&snap).unwrap();
    let offset = text.find("PLACEHOLDER").unwrap();
    let mut bytes = text.into_bytes();
    bytes[offset] = 0xc9; // a lead byte followed by ASCII
    std::fs::write(&snap, bytes).unwrap();
    let out = refused(&["audit", "--snapshot", snap.to_str().unwrap()]);
    assert_mentions(
        &out,
        &[
            "snapshot.json",
            &format!("invalid UTF-8 at byte {offset} (line"),
        ],
    );
}
