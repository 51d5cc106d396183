//! The `lzaudit` binary: parse, run, map errors to exit codes. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use lzaudit::cli::Cli;
use lzaudit::exit::ExitStatus;

fn main() -> ExitCode {
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
    init_logging(cli.verbose, cli.quiet);
    if let Err(err) = lzaudit::interrupt::install() {
        tracing::warn!(
            "cannot handle SIGINT/SIGTERM ({err}): an interrupted run may leave a .lzaudit-*.tmp file behind"
        );
    }
    match lzaudit::commands::run(cli.command) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(ExitStatus::Error.code())
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LZAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lzaudit={level},warn")));
    // Colour only on a terminal, and never with NO_COLOR (https://no-color.org).
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
