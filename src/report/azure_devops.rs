//! Azure Pipelines integration: logging commands built from the same `Report` as every format.
//!
//! When `lzaudit audit` runs in Azure Pipelines (`TF_BUILD` is set; the agent sets it to
//! `True`), it also prints one `##vso[task.logissue type=error]` line per failing finding and one
//! `type=warning` line per warning finding, so they show on the run's summary page, and uploads
//! the Markdown report as the run summary (`##vso[task.uploadsummary]PATH`). Issues come worst
//! first (severity, then report order) and are capped per type ([`ISSUE_CAP`]): a pipeline over
//! a large tenant must not drown its log, so the rest is counted in one more issue line.
//!
//! Escaping follows the agent's logging-command grammar as the Azure Pipelines task library
//! writes it: in the message, `%` → `%AZP25`, CR → `%0D`, LF → `%0A`; in a property value also
//! `]` → `%5D` and `;` → `%3B` (a property ends at `;`, the property list at `]`). ARM data
//! (resource names, messages) is untrusted, so escaping is what keeps it from ending a command
//! early, starting a second one on a new line, or injecting properties.
//!
//! The message is also text for people: the agent shows it on the summary page and writes it to
//! the log as a `##[error]`/`##[warning]` line, decoded. So the ARM text in it is made printable
//! first (`text::printable`): a line break in a name shows as `\n` instead of becoming a log line
//! that starts with ARM's text, and a `##vso[` in it stays inert text.

use std::path::{Path, PathBuf};

use super::{Report, ReportFinding, ReportStatus};
use crate::output::write_atomic;

/// At most this many issue lines per type (`error`, `warning`); the rest are counted in one.
pub const ISSUE_CAP: usize = 50;

/// The summary file's name, in the agent's temporary directory.
pub const SUMMARY_FILE: &str = "lzaudit-summary.md";

/// Whether the process runs in Azure Pipelines: `TF_BUILD` is set to anything but an empty
/// string, `false` or `0`.
pub fn detected() -> bool {
    std::env::var("TF_BUILD").is_ok_and(|v| is_true(&v))
}

fn is_true(value: &str) -> bool {
    let v = value.trim();
    !(v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0")
}

/// Escapes a logging command's message (what follows `]`).
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%AZP25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a logging command's property value (`key=value;`).
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%AZP25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ']' => out.push_str("%5D"),
            ';' => out.push_str("%3B"),
            c => out.push(c),
        }
    }
    out
}

/// One logging command: `##vso[AREA.EVENT key=value;…]message`, escaped.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut out = format!("##vso[{name}");
    if !properties.is_empty() {
        out.push(' ');
        for (key, value) in properties {
            out.push_str(key);
            out.push('=');
            out.push_str(&escape_property(value));
            out.push(';');
        }
    }
    out.push(']');
    out.push_str(&escape_data(message));
    out
}

/// The issue lines: failing findings as errors, then warning findings as warnings, each type
/// worst first and capped at `cap` lines plus one counting the rest. Waived findings are not
/// issues.
pub fn issues(report: &Report, cap: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (status, kind, noun) in [
        (ReportStatus::Fail, "error", "failing"),
        (ReportStatus::Warn, "warning", "warning"),
    ] {
        let mut findings: Vec<&ReportFinding> = report
            .findings
            .iter()
            .filter(|f| f.status == status)
            .collect();
        // Stable: report order within a severity.
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in findings.iter().take(cap) {
            lines.push(command(
                "task.logissue",
                &[("type", kind), ("code", &f.check)],
                &issue_message(f),
            ));
        }
        if findings.len() > cap {
            let rest = findings.len() - cap;
            lines.push(command(
                "task.logissue",
                &[("type", kind)],
                &format!(
                    "lzaudit: {rest} more {noun} finding(s) not listed here; see the lzaudit report"
                ),
            ));
        }
    }
    lines
}

/// `AKS-020 [high] name (subscription): message — resource ID`, made printable.
fn issue_message(f: &ReportFinding) -> String {
    let subscription = if f.subscription_name.is_empty() {
        f.subscription.as_str()
    } else {
        &*f.subscription_name
    };
    let message = format!(
        "{} [{}] {} ({}): {} — {}",
        f.check,
        f.severity,
        f.resource_label(),
        subscription,
        f.message,
        f.resource
    );
    crate::text::printable(&message).into_owned()
}

/// The directory the summary goes to: `$AGENT_TEMPDIRECTORY` when set, else the system's.
pub fn summary_dir() -> PathBuf {
    std::env::var_os("AGENT_TEMPDIRECTORY")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes the Markdown summary into `dir` atomically and returns its path.
pub fn write_summary(report: &Report, dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join(SUMMARY_FILE);
    write_atomic(&path, super::markdown::render(report).as_bytes())?;
    Ok(path)
}

/// `##vso[task.uploadsummary]PATH`.
pub fn upload_summary(path: &Path) -> String {
    command("task.uploadsummary", &[], &path.display().to_string())
}

/// Everything printed in a pipeline: the issue lines, then the summary upload. Writes the
/// summary file into `dir`.
pub fn pipeline_lines(report: &Report, dir: &Path) -> std::io::Result<Vec<String>> {
    let mut lines = issues(report, ISSUE_CAP);
    let path = write_summary(report, dir)?;
    lines.push(upload_summary(&path));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn escaping_follows_the_task_library() {
        assert_eq!(escape_data("100%\r\nnext"), "100%AZP25%0D%0Anext");
        assert_eq!(escape_data("a;b]c"), "a;b]c", "the message keeps ; and ]");
        assert_eq!(
            escape_property("x;y]z%\n"),
            "x%3By%5Dz%AZP25%0A",
            "a property escapes ; and ] too"
        );
        // `%` goes first, so an escape sequence in the input is not decoded by the agent.
        assert_eq!(escape_data("%0A"), "%AZP250A");
    }

    #[test]
    fn a_command_is_one_line_and_its_properties_cannot_be_broken_out_of() {
        let line = command(
            "task.logissue",
            &[("type", "error"), ("code", "X;type=warning]")],
            "evil\n##vso[task.complete result=Succeeded;]done",
        );
        assert_eq!(
            line,
            "##vso[task.logissue type=error;code=X%3Btype=warning%5D;]evil%0A##vso[task.complete result=Succeeded;]done"
        );
        assert!(!line.contains('\n'));
        assert_eq!(
            command("task.uploadsummary", &[], "/tmp/s.md"),
            "##vso[task.uploadsummary]/tmp/s.md"
        );
    }

    #[test]
    fn failures_are_errors_and_warnings_are_warnings_never_others() {
        let lines = issues(&sample::report(), ISSUE_CAP);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with("##vso[task.logissue type=error;code=AKS-020;]AKS-020 [high] "),
            "{}",
            lines[0]
        );
        // The hostile message stays on the line, and its newline stays visible text rather than
        // `%0A`, which the agent would decode into a log line of ARM's text.
        assert!(lines[0].contains("\\nsecond line"), "{}", lines[0]);
        assert!(!lines[0].contains("%0A"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("##vso[task.logissue type=warning;code=CUS-001;]CUS-001 [low] (subscription) (lz-corp <b>|prod</b>): "),
            "{}",
            lines[1]
        );
        assert!(lines.iter().all(|l| !l.contains('\n') && !l.contains('\r')));
    }

    #[test]
    fn issues_are_capped_per_type_worst_first_with_a_count_of_the_rest() {
        let mut report = sample::report();
        let template = report.findings[0].clone();
        report.findings.clear();
        for i in 0..7 {
            let mut f = template.clone();
            f.resource = format!("/subscriptions/x/r{i}").into();
            f.severity = if i == 5 {
                crate::catalogue::Severity::High
            } else {
                crate::catalogue::Severity::Low
            };
            report.findings.push(f);
        }
        let mut warn = template.clone();
        warn.status = ReportStatus::Warn;
        report.findings.push(warn);

        let lines = issues(&report, 3);
        let errors: Vec<&String> = lines.iter().filter(|l| l.contains("type=error")).collect();
        assert_eq!(errors.len(), 4, "3 listed + 1 count: {lines:#?}");
        assert!(
            errors[0].contains("r5"),
            "the high one first: {}",
            errors[0]
        );
        assert!(errors[1].contains("r0") && errors[2].contains("r1"));
        assert_eq!(
            errors[3].as_str(),
            "##vso[task.logissue type=error;]lzaudit: 4 more failing finding(s) not listed here; see the lzaudit report"
        );
        let warnings = lines.iter().filter(|l| l.contains("type=warning")).count();
        assert_eq!(warnings, 1, "under the cap: no count line");
    }

    #[test]
    fn the_summary_is_the_markdown_report_and_is_uploaded_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let report = sample::report();
        let lines = pipeline_lines(&report, dir.path()).unwrap();
        let last = lines.last().unwrap();
        let path = dir.path().join(SUMMARY_FILE);
        assert_eq!(
            *last,
            format!("##vso[task.uploadsummary]{}", path.display())
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            super::super::markdown::render(&report)
        );
    }

    #[test]
    fn tf_build_values() {
        assert!(is_true("True"));
        assert!(is_true("true"));
        assert!(is_true("1"));
        assert!(!is_true(""));
        assert!(!is_true("False"));
        assert!(!is_true("0"));
    }
}
