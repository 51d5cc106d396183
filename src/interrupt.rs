//! SIGINT (Ctrl-C) and SIGTERM (a pipeline's cancel, `timeout`, a container stopping): stop at
//! once, wherever the run is, without leaving temporary files behind.
//!
//! The default action of both signals kills the process on the spot, which leaves a half-written
//! `.lzaudit-*.tmp` next to every report being staged. Instead, a thread of its own waits for
//! them (`signal-hook`: the handler only wakes that thread, so nothing runs in signal context).
//! It removes every registered temporary file (`output::abandon`, which also blocks any further
//! rename), prints one line, and exits with 128 + the signal's number, the status a shell gives a
//! process the signal killed. Collection (async), evaluation and rendering (CPU-bound) need no
//! cancellation points of their own: the process ends under them, which is what makes the stop
//! prompt. A second signal finds the thread already exiting and is never read, so it neither
//! prints again nor kills the process half-way through the clean-up.

use std::path::PathBuf;

use crate::output::Abandoned;

/// Starts the thread that handles SIGINT and SIGTERM. Call it once, early in `main`.
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    use crate::exit::{INTERRUPTED, TERMINATED};
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("lzaudit-signals".to_string())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let (name, code) = if signal == SIGTERM {
                    ("SIGTERM", TERMINATED)
                } else {
                    ("SIGINT", INTERRUPTED)
                };
                stop(name, code);
            }
        })?;
    Ok(())
}

/// Elsewhere Ctrl-C keeps its default action: the process ends and a temporary file may stay.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn stop(signal: &str, code: u8) -> ! {
    use std::io::{IsTerminal, Write};
    // Held until the process is gone: no file is staged or renamed after this point.
    let abandoned = crate::output::abandon();
    let mut stderr = std::io::stderr().lock();
    // On a terminal the progress bar may own the current line; start from a clean one.
    let clear = if stderr.is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    let _ = writeln!(stderr, "{clear}{}", message(signal, &abandoned));
    let _ = stderr.flush();
    // `_exit`: no at-exit handlers or destructors racing the threads that are still running.
    signal_hook::low_level::exit(i32::from(code))
}

/// The one line printed on an interrupt: which files were written before it, which were not
/// (their previous versions are untouched), and any temporary file that could not be removed.
pub fn message(signal: &str, abandoned: &Abandoned) -> String {
    let mut line = format!("lzaudit: interrupted ({signal})");
    if !abandoned.written.is_empty() {
        line.push_str(&format!(" after writing {}", list(&abandoned.written)));
    }
    match (abandoned.written.is_empty(), abandoned.discarded.is_empty()) {
        (true, true) => line.push_str("; no file written"),
        (_, false) => line.push_str(&format!(
            "; {} not written, any previous version untouched",
            list(&abandoned.discarded)
        )),
        (false, true) => {}
    }
    for (temp, reason) in &abandoned.not_removed {
        line.push_str(&format!("; cannot remove {}: {reason}", temp.display()));
    }
    line
}

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::output::{Registry, Staged, abandon_in};

    #[test]
    fn the_line_says_what_was_written_and_what_was_not() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Mutex::new(Registry::new());
        assert_eq!(
            message("SIGINT", &abandon_in(&registry)),
            "lzaudit: interrupted (SIGINT); no file written"
        );
        let json = dir.path().join("r.json");
        let html = dir.path().join("r.html");
        let mut staged = Staged::in_registry(&registry);
        staged.add(&json, b"{}").unwrap();
        staged.add(&html, b"<html>").unwrap();
        assert_eq!(
            message("SIGTERM", &abandon_in(&registry)),
            format!(
                "lzaudit: interrupted (SIGTERM); {}, {} not written, any previous version untouched",
                json.display(),
                html.display()
            )
        );
        drop(staged);
        let mut staged = Staged::in_registry(&registry);
        staged.add(&json, b"{}").unwrap();
        staged.commit().unwrap();
        assert_eq!(
            message("SIGINT", &abandon_in(&registry)),
            format!(
                "lzaudit: interrupted (SIGINT) after writing {}",
                json.display()
            )
        );
        let mut staged = Staged::in_registry(&registry);
        staged.add(&html, b"<html>").unwrap();
        assert_eq!(
            message("SIGINT", &abandon_in(&registry)),
            format!(
                "lzaudit: interrupted (SIGINT) after writing {}; {} not written, any previous version untouched",
                json.display(),
                html.display()
            )
        );
    }
}
