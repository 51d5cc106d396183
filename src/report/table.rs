//! The terminal table: findings grouped by subscription, failures first, then the summary, the
//! coverage gaps, skipped subscriptions and waiver problems. Colours only when asked (the caller
//! decides from the terminal and `NO_COLOR`), so files and pipes get plain text. Every string
//! from the report goes through `text::printable` (`p` below): ARM chooses names and messages, and
//! this text goes to terminals and pipeline logs.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Style as TableStyle, Width};

use super::{Report, ReportFinding, ReportStatus};
use crate::profile::WaiverState;
use crate::text::printable;

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

fn rank(status: ReportStatus) -> u8 {
    match status {
        ReportStatus::Fail => 0,
        ReportStatus::Unknown => 1,
        ReportStatus::Warn => 2,
        ReportStatus::Waived => 3,
        ReportStatus::Pass => 4,
        ReportStatus::NotApplicable => 5,
    }
}

fn paint(text: &str, s: Style, color: bool) -> String {
    if color {
        format!("{s}{text}{s:#}")
    } else {
        text.to_string()
    }
}

/// Renders the report as text tables; `width` is the terminal width to wrap messages to.
pub fn render(report: &Report, color: bool, width: usize) -> String {
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
    let mut groups: Vec<(&str, &str, Vec<&ReportFinding>)> = Vec::new();
    for f in &report.findings {
        match groups.last_mut() {
            Some((sub, _, list)) if *sub == f.subscription => list.push(f),
            _ => groups.push((&f.subscription, &f.subscription_name, vec![f])),
        }
    }
    let message_width = width.saturating_sub(60).max(30);
    for (sub, name, mut findings) in groups {
        findings.sort_by(|a, b| {
            (rank(a.status), &a.check, a.resource_name()).cmp(&(
                rank(b.status),
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
            let resource = if f
                .resource
                .eq_ignore_ascii_case(&format!("/subscriptions/{}", f.subscription))
            {
                "(subscription)".to_string()
            } else {
                p(f.resource_name())
            };
            let mut message = f.message.clone();
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
        for gap in &report.coverage {
            let _ = writeln!(out, "  - {}", p(&gap.describe()));
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
