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
