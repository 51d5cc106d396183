//! The `lzaudit` binary: parse, run, map errors to exit codes. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use lzaudit::cli::Cli;
use lzaudit::exit::ExitStatus;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                ExitStatus::Error.code()
            } else {
                0
            });
        }
    };
    lzaudit::logging::init(cli.verbose, cli.quiet);
    if let Err(err) = lzaudit::interrupt::install() {
        tracing::warn!(
            "cannot handle SIGINT/SIGTERM ({err}): an interrupted run may leave a .lzaudit-*.tmp file behind"
        );
    }
    match lzaudit::commands::run(cli.command) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            // An error can quote ARM (a sign-in or read failure): each line made printable.
            let text = format!("{err:#}");
            let lines: Vec<_> = text.lines().map(lzaudit::text::printable).collect();
            eprintln!("error: {}", lines.join("\n"));
            ExitCode::from(ExitStatus::Error.code())
        }
    }
}

/// glibc gives a thread that meets contention an allocator arena of its own, up to eight per
/// core, and memory freed into one arena is not reused by another. Collection runs on the async
/// runtime's threads and evaluation on scoped ones, so a large inventory ended up spread over
/// many arenas with their free space stranded: one arena per core cut the peak of a live audit
/// of a thousand subscriptions by 50 MiB (529 -> 476 MiB), at the same speed. `MALLOC_ARENA_MAX`
/// in the environment still decides when it is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only sets a tunable; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
