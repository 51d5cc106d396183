//! Exit codes, in one place (documented in the README and `--help`).
//!
//! `0` clean · `1` findings at or above `--fail-on` · `2` usage, configuration or sign-in error
//! (nothing audited) · `3` the audit is incomplete (some data could not be read) and nothing
//! failed at or above `--fail-on`. A failure outranks incompleteness: the pipeline must stop
//! on a known problem even when other data is missing. `130` and `143`: stopped by SIGINT or
//! SIGTERM (see `interrupt`), 128 + the signal's number as a shell reports a process the signal
//! killed, so pipelines and wrappers that know that convention read it as they always have.

use crate::catalogue::Severity;
use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Clean = 0,
    Findings = 1,
    Error = 2,
    Incomplete = 3,
}

impl ExitStatus {
    pub fn of(report: &Report, fail_on: Option<Severity>) -> ExitStatus {
        if report.fails_at(fail_on) {
            ExitStatus::Findings
        } else if report.is_incomplete() {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Clean
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Stopped by SIGINT (Ctrl-C): 128 + 2.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM: 128 + 15.
pub const TERMINATED: u8 = 143;

pub const EXIT_CODES_HELP: &str = "Exit codes: 0 clean · 1 findings at or above --fail-on · 2 usage, configuration or sign-in error · 3 audit incomplete (data could not be read) and no failing findings · 130/143 interrupted by SIGINT/SIGTERM (no file left half-written)";
