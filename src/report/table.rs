//! The terminal table, for a terminal or a build log, readable at a thousand subscriptions:
//! first a summary per check (its findings counted by status across the tenant, and the worst
//! resources), then the findings that need attention — fail, unknown, warn — grouped by
//! subscription, worst first; `--show all` lists every finding there (pass, waived and not
//! applicable too). Then the totals, the coverage gaps (the first ten, unless `--show all`),
//! skipped subscriptions and waiver problems.
//!
//! Colours only when asked (the caller decides from the terminal and `NO_COLOR`), so files and
//! pipes get plain text. Every string from the report goes through `text::printable` (`p`
//! below): ARM chooses names and messages, and this text goes to terminals and pipeline logs.

use std::collections::HashMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use tabled::builder::Builder;
use tabled::settings::object::{Columns, Object, Rows};
use tabled::settings::{Alignment, Style as TableStyle, Width};

use super::{Report, ReportFinding, ReportStatus};
use crate::profile::WaiverState;
use crate::text::printable;

/// Which findings the table lists (`--show`); the per-check summary counts all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Show {
    /// Fail, unknown and warn findings: what needs attention.
    #[default]
    Issues,
    /// Every finding: pass, waived and not applicable too.
    All,
}

impl Show {
    fn lists(self, status: ReportStatus) -> bool {
        self == Show::All
            || matches!(
                status,
                ReportStatus::Fail | ReportStatus::Unknown | ReportStatus::Warn
            )
    }
}

/// Resources named per check in the summary; the rest are counted.
const WORST_LISTED: usize = 3;

/// Coverage gaps listed by default; a tenant can have thousands, and every other format (and
/// `--show all`) lists them all.
const GAPS_LISTED: usize = 10;

/// A check's title in the summary is cut to this many characters, so each check is one line
/// (or as many as its worst resources take).
const TITLE_CHARS: usize = 38;

/// The summary's columns but the last take this many characters, borders and padding included.
const SUMMARY_FIXED_WIDTH: usize = 112;

/// `s` cut to `max` characters, with an ellipsis when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Report text made printable, owned (a table cell or a line).
fn p(s: &str) -> String {
    printable(s).into_owned()
}

fn style(status: ReportStatus) -> Style {
    let color = match status {
        ReportStatus::Fail => AnsiColor::Red,
        ReportStatus::Warn => AnsiColor::Yellow,
        ReportStatus::Pass => AnsiColor::Green,
        ReportStatus::Unknown => AnsiColor::Magenta,
        ReportStatus::Waived => AnsiColor::Cyan,
        ReportStatus::NotApplicable => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn paint(text: &str, s: Style, color: bool) -> String {
    if color {
        format!("{s}{text}{s:#}")
    } else {
        text.to_string()
    }
}

/// A finding's resource for people, with its subscription: `aks-prod (lz-corp)`, or the
/// subscription's name for a finding about the subscription itself.
fn resource_with_subscription(f: &ReportFinding) -> String {
    let sub: &str = if f.subscription_name.is_empty() {
        &f.subscription
    } else {
        &f.subscription_name
    };
    if f.is_subscription_level() {
        format!("{} (subscription)", p(sub))
    } else {
        format!("{} ({})", p(f.resource_name()), p(sub))
    }
}

/// One check's line of the summary: counts by status, and its worst findings.
struct CheckSummary<'a> {
    counts: [usize; 6],
    worst: Option<ReportStatus>,
    /// The first findings with the worst status, in report order, and how many have it.
    worst_findings: Vec<&'a ReportFinding>,
    worst_count: usize,
}

/// The per-check summary: one pass over the findings.
fn check_summary(out: &mut String, report: &Report, color: bool, width: usize) {
    let checks = report.checks();
    let index: HashMap<&str, usize> = checks.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut summaries: Vec<CheckSummary> = checks
        .iter()
        .map(|_| CheckSummary {
            counts: [0; 6],
            worst: None,
            worst_findings: Vec::new(),
            worst_count: 0,
        })
        .collect();
    for f in &report.findings {
        let s = &mut summaries[index[f.check.as_str()]];
        s.counts[f.status.urgency()] += 1;
        match s.worst {
            Some(w) if w.urgency() < f.status.urgency() => continue,
            Some(w) if w == f.status => {}
            _ => {
                s.worst = Some(f.status);
                s.worst_findings.clear();
                s.worst_count = 0;
            }
        }
        s.worst_count += 1;
        if s.worst_findings.len() < WORST_LISTED {
            s.worst_findings.push(f);
        }
    }
    let _ = writeln!(
        out,
        "\nChecks: findings by status across {} subscription(s), and the worst resources",
        report.scope.subscriptions.len()
    );
    let mut builder = Builder::default();
    let mut header = vec!["check".to_string(), "severity".into(), "title".into()];
    header.extend(ReportStatus::BY_URGENCY.iter().map(|s| match s {
        ReportStatus::NotApplicable => "n/a".to_string(),
        s => s.as_str().to_string(),
    }));
    header.push("worst resources".into());
    builder.push_record(header);
    for (check, s) in checks.iter().zip(&summaries) {
        let mut record = vec![
            p(check.id),
            check.severity.to_string(),
            ellipsis(&p(check.title), TITLE_CHARS),
        ];
        for (i, status) in ReportStatus::BY_URGENCY.iter().enumerate() {
            let n = s.counts[i];
            record.push(if n == 0 {
                String::new()
            } else {
                paint(&n.to_string(), style(*status), color)
            });
        }
        let worst = match s.worst {
            Some(w) if !w.is_settled() => {
                let mut names: Vec<String> = s
                    .worst_findings
                    .iter()
                    .map(|f| resource_with_subscription(f))
                    .collect();
                if s.worst_count > names.len() {
                    names.push(format!("+{} more", s.worst_count - names.len()));
                }
                format!(
                    "{}: {}",
                    paint(w.as_str(), style(w), color),
                    names.join(", ")
                )
            }
            _ => String::new(),
        };
        record.push(worst);
        builder.push_record(record);
    }
    let mut table = builder.build();
    table
        .with(TableStyle::sharp())
        .modify(Columns::new(3..9).not(Rows::first()), Alignment::right())
        .modify(
            Columns::one(9),
            Width::wrap(width.saturating_sub(SUMMARY_FIXED_WIDTH).max(30)).keep_words(true),
        );
    let _ = writeln!(out, "{table}");
}

/// Renders the report as text tables; `width` is the terminal width to wrap messages to.
pub fn render(report: &Report, color: bool, width: usize, show: Show) -> String {
    let mut out = String::new();
    let scope = &report.scope;
    let _ = writeln!(
        out,
        "lzaudit {} · profile {} · {} subscription(s) · {} data collected {}",
        p(&report.tool.version),
        p(&report.profile),
        scope.subscriptions.len(),
        p(&scope.source),
        p(&scope.collected_at)
    );
    if !report.findings.is_empty() {
        check_summary(&mut out, report, color, width);
    }
    // Findings come sorted by subscription: one pass groups them.
    let mut groups: Vec<(&str, &str, Vec<&ReportFinding>)> = Vec::new();
    for f in &report.findings {
        match groups.last_mut() {
            Some((sub, _, list)) if *sub == f.subscription => list.push(f),
            _ => groups.push((&f.subscription, &f.subscription_name, vec![f])),
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        match show {
            Show::Issues => "Findings that need attention (fail, unknown, warn), by subscription:",
            Show::All => "Every finding, by subscription:",
        }
    );
    let message_width = width.saturating_sub(60).max(30);
    let mut quiet = 0;
    for (sub, name, findings) in groups {
        let mut findings: Vec<&ReportFinding> = findings
            .into_iter()
            .filter(|f| show.lists(f.status))
            .collect();
        if findings.is_empty() {
            quiet += 1;
            continue;
        }
        findings.sort_by(|a, b| {
            (a.status.urgency(), &a.check, a.resource_name()).cmp(&(
                b.status.urgency(),
                &b.check,
                b.resource_name(),
            ))
        });
        let name = p(name);
        let _ = writeln!(
            out,
            "\nSubscription {} ({})",
            if name.is_empty() { "?" } else { &name },
            p(sub)
        );
        let mut builder = Builder::default();
        builder.push_record(["status", "check", "severity", "resource", "message"]);
        for f in findings {
            let resource = if f.is_subscription_level() {
                "(subscription)".to_string()
            } else {
                p(f.resource_name())
            };
            let mut message = f.message.to_string();
            if let Some(w) = &f.waiver {
                message = format!(
                    "{message} [waived {}: {}; until {}]",
                    w.original_status, w.reason, w.expires
                );
            }
            builder.push_record([
                paint(f.status.as_str(), style(f.status), color),
                p(&f.check),
                f.severity.to_string(),
                resource,
                p(&message),
            ]);
        }
        let mut table = builder.build();
        table
            .with(TableStyle::sharp())
            .modify(Columns::one(4), Width::wrap(message_width).keep_words(true));
        let _ = writeln!(out, "{table}");
    }
    if show == Show::Issues {
        if quiet > 0 {
            let _ = writeln!(
                out,
                "\n{quiet} subscription(s) have no fail, unknown or warn finding."
            );
        }
        let _ = writeln!(
            out,
            "Pass, waived and not applicable findings are counted above; `--show all` lists them."
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\nSummary: {} fail · {} warn · {} unknown · {} waived · {} pass · {} not applicable",
        s.fail, s.warn, s.unknown, s.waived, s.pass, s.not_applicable
    );
    if !report.coverage.is_empty() {
        let _ = writeln!(
            out,
            "\n{} the audit is incomplete: {} read(s) failed, and the findings that depend on them are unknown:",
            paint("Coverage gaps:", style(ReportStatus::Unknown), color),
            report.coverage.len()
        );
        let listed = match show {
            Show::Issues => GAPS_LISTED,
            Show::All => usize::MAX,
        };
        for gap in report.coverage.iter().take(listed) {
            let _ = writeln!(out, "  - {}", p(&gap.describe()));
        }
        if report.coverage.len() > listed {
            let _ = writeln!(
                out,
                "  … and {} more (`--show all` lists them; every other format has them all)",
                report.coverage.len() - listed
            );
        }
    }
    for skipped in &report.skipped_subscriptions {
        let _ = writeln!(
            out,
            "Skipped subscription {} ({}): {}",
            p(&skipped.display_name),
            p(&skipped.id),
            p(&skipped.reason)
        );
    }
    for w in &report.waivers {
        match w.state {
            WaiverState::Expired => {
                let _ = writeln!(
                    out,
                    "Expired waiver ({}): {} on {} expired {} and no longer suppresses findings",
                    p(&w.location),
                    p(&w.check),
                    p(&w.resource_pattern),
                    p(&w.expires)
                );
            }
            WaiverState::Unmatched => {
                let _ = writeln!(
                    out,
                    "Unmatched waiver ({}): {} on {} matched no warn or fail finding; remove it",
                    p(&w.location),
                    p(&w.check),
                    p(&w.resource_pattern)
                );
            }
            WaiverState::Active => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    /// The status cells of the findings tables (under the per-check summary).
    fn listed(text: &str) -> Vec<&str> {
        let findings = &text[text.find("by subscription:").expect("a findings section")..];
        findings
            .lines()
            .filter_map(|l| l.strip_prefix("│ "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|s| *s != "status" && *s != "│")
            .collect()
    }

    #[test]
    fn the_summary_counts_every_finding_per_check_and_names_the_worst() {
        let text = render(&sample::report(), false, 160, Show::Issues);
        let row = text
            .lines()
            .find(|l| l.starts_with("│ AKS-020 "))
            .expect("a summary row for AKS-020");
        let cells: Vec<&str> = row.split('│').map(str::trim).collect();
        // check, severity, title, fail, unknown, warn, waived, pass, n/a, worst
        assert_eq!(
            &cells[1..10],
            [
                "AKS-020",
                "high",
                "title of AKS-020",
                "1",
                "1",
                "",
                "",
                "1",
                ""
            ]
        );
        assert!(
            cells[10].starts_with("fail: aks-<img src=x onerror=alert(1)> (lz-corp"),
            "{row}"
        );
        // A check whose worst finding is settled (waived, not applicable) names no resource.
        let settled = text.lines().find(|l| l.starts_with("│ AKS-021 ")).unwrap();
        let cells: Vec<&str> = settled.split('│').map(str::trim).collect();
        assert_eq!(&cells[4..11], ["", "", "", "1", "", "1", ""], "{settled}");
    }

    #[test]
    fn issues_lists_what_needs_attention_and_all_lists_every_finding() {
        let report = sample::report();
        let issues = render(&report, false, 160, Show::Issues);
        assert_eq!(listed(&issues), ["fail", "warn", "unknown"]);
        assert!(issues.contains("`--show all` lists them"));
        let all = render(&report, false, 160, Show::All);
        let mut statuses = listed(&all);
        statuses.sort();
        assert_eq!(
            statuses,
            [
                "fail",
                "not_applicable",
                "pass",
                "unknown",
                "waived",
                "warn"
            ]
        );
        assert!(!all.contains("--show all"));
    }

    #[test]
    fn coverage_gaps_are_capped_unless_all_are_shown() {
        let mut report = sample::report();
        let gap = report.coverage[0].clone();
        report.coverage = vec![gap; GAPS_LISTED + 5];
        let issues = render(&report, false, 160, Show::Issues);
        assert_eq!(
            issues.matches("\n  - Microsoft.Security/pricings").count(),
            GAPS_LISTED
        );
        assert!(issues.contains("… and 5 more"));
        let all = render(&report, false, 160, Show::All);
        assert_eq!(
            all.matches("\n  - Microsoft.Security/pricings").count(),
            GAPS_LISTED + 5
        );
    }
}
