//! Markdown: a summary an onboarding checklist can paste, and an Azure DevOps run summary
//! (`##vso[task.uploadsummary]FILE`). CommonMark plus GFM tables and task-list items, no raw
//! HTML (Azure DevOps strips it, and ARM data is untrusted).
//!
//! Order: the verdict and scope; the summary counts, coverage gaps, skipped subscriptions and
//! waivers that need attention; a `- [x]`/`- [ ]` checklist line per check per subscription
//! (checked when every finding of that check there is pass, not applicable or waived); then the
//! detail, grouped by subscription: every finding that is not settled with its evidence and
//! remediation, and a table of the settled ones.
//!
//! Escaping: text from ARM (names, messages, evidence) is backslash-escaped so no character in
//! it can open markup; identifiers go in code spans; table cells also escape `|`. Check docs
//! (remediation) are authored Markdown and keep their code spans, but `<`, `>` and `&` outside
//! code spans are escaped so they cannot form HTML.
//!
//! The file is also printed: it becomes the Azure Pipelines run summary, and people `cat` it in
//! a job. So control characters in data show as visible escapes (`\n`, `\u{1b}`, see
//! `text::printable`), every `#` in text is written `\#` (it renders as `#`, and no line of the
//! file holds an agent command such as `##vso[`), and a code span whose content holds one is
//! split around its `#` (a code span cannot escape).

use std::fmt::Write;

use std::collections::{BTreeMap, HashMap};

use super::spool::Spool;
use super::{CheckRef, Report, ReportFinding, ReportStatus, SubscriptionRef};
use crate::profile::WaiverState;
use crate::text;

/// Inline text from untrusted data: every character that could open inline markup (emphasis,
/// code, links, HTML, entities, strikethrough, table cells, headings, agent commands) is
/// backslash-escaped, and control characters become visible escapes (their backslash escaped
/// too, so `\\n` renders as `\n`), so a paragraph or table row cannot end early.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_text(&mut out, s);
    out
}

/// Appends `text(s)`.
fn push_text(out: &mut String, s: &str) {
    // Fast path: no markup character, no control character (C0, DEL) and no lead byte of a C1
    // control or of the U+20xx block (bidi controls, line separators).
    if !s.bytes().any(|b| {
        matches!(
            b,
            b'\\' | b'`' | b'*' | b'_' | b'[' | b']' | b'<' | b'>' | b'|' | b'&' | b'~' | b'#'
        ) || b < 0x20
            || b == 0x7f
            || b == 0xc2
            || b == 0xe2
    }) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if text::is_unprintable(c) => {
                out.push('\\');
                text::push_escape(out, c);
            }
            c => out.push(c),
        }
    }
}

/// Untrusted text that starts a line (a paragraph): `text` (which already escapes a heading's
/// `#`), and a leading list item or setext underline marker is escaped too.
pub fn paragraph(s: &str) -> String {
    let mut out = text(s.trim_start());
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    } else if (1..=9).contains(&digits) && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    }
    out
}

/// A code span holding `s` literally (control characters as visible escapes): the fence is
/// longer than any backtick run inside. A code span cannot escape anything, so where `s` holds
/// an agent command (`##vso[`, `##[`) the span is split there and that `#` written `\#` between
/// the two spans: it renders as the same characters, and no line of the file holds the command.
pub fn code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    push_code(&mut out, s);
    out
}

/// Appends `code(s)`.
fn push_code(out: &mut String, s: &str) {
    let s = text::printable_controls(s);
    let mut start = 0;
    for (i, _) in s.match_indices('#') {
        if text::starts_command(&s[i..]) {
            if start < i {
                push_span(out, &s[start..i]);
            }
            out.push_str("\\#");
            start = i + 1;
        }
    }
    if start < s.len() || start == 0 {
        push_span(out, &s[start..]);
    }
}

/// Appends one code span holding `s`, which holds no line break and no agent command.
fn push_span(out: &mut String, s: &str) {
    let mut longest = 0;
    let mut run = 0;
    for b in s.bytes() {
        run = if b == b'`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let pad = if s.starts_with('`') || s.ends_with('`') || s.starts_with(' ') {
        " "
    } else {
        ""
    };
    for _ in 0..=longest {
        out.push('`');
    }
    out.push_str(pad);
    out.push_str(s);
    out.push_str(pad);
    for _ in 0..=longest {
        out.push('`');
    }
}

/// A table cell: GFM splits cells at `|` even inside code spans, unless it is escaped.
fn cell(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut escaped = false;
    for c in markdown.chars() {
        if c == '|' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
    }
    out
}

/// Splits Markdown into (is a code span, text) segments, the way CommonMark pairs backtick
/// runs: a run opens a span closed by the next run of the same length; an unmatched run is text.
pub(crate) fn segments(s: &str) -> Vec<(bool, &str)> {
    let bytes = s.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|b| **b == b'`').count();
    let mut out = Vec::new();
    let (mut text_start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let fence = run_at(i);
        let mut j = i + fence;
        let close = loop {
            if j >= bytes.len() {
                break None;
            }
            if bytes[j] == b'`' {
                let run = run_at(j);
                if run == fence {
                    break Some(j + run);
                }
                j += run;
            } else {
                j += 1;
            }
        };
        match close {
            Some(end) => {
                out.push((false, &s[text_start..i]));
                out.push((true, &s[i..end]));
                text_start = end;
                i = end;
            }
            None => i += fence,
        }
    }
    out.push((false, &s[text_start..]));
    out.retain(|(_, t)| !t.is_empty());
    out
}

/// The content of a code span as CommonMark reads it: inside the fences, one space of padding
/// stripped from both ends when both have one.
fn code_content(span: &str) -> &str {
    let fence = span.bytes().take_while(|b| *b == b'`').count();
    let inner = &span[fence..span.len() - fence];
    match inner.strip_prefix(' ').and_then(|i| i.strip_suffix(' ')) {
        Some(stripped) if !stripped.is_empty() && !inner.trim().is_empty() => stripped,
        _ => inner,
    }
}

/// Authored Markdown (check docs): kept as written, except that `<`, `>` and `&` outside code
/// spans are escaped, so they cannot form HTML or entities; so is the `#` of an agent command,
/// and a code span holding one is rewritten by `code`. Control characters other than line feeds
/// (CRLF line ends are made LF) show as visible escapes.
pub fn authored(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len());
    for (is_code, part) in segments(&s) {
        if is_code {
            if text::has_command(part) {
                out.push_str(&code(code_content(part)));
            } else {
                out.push_str(part);
            }
            continue;
        }
        // Both `#` of a command are escaped: `\\#\\#vso[` holds no `##`.
        let mut hash_of_command = false;
        for (i, c) in part.char_indices() {
            let command = c == '#' && (hash_of_command || text::starts_command(&part[i..]));
            hash_of_command = command && !hash_of_command;
            if matches!(c, '<' | '>' | '&') || command {
                out.push('\\');
                out.push(c);
            } else if text::is_unprintable(c) && c != '\n' {
                out.push('\\');
                text::push_escape(&mut out, c);
            } else {
                out.push(c);
            }
        }
    }
    out
}

fn counts(findings: &[&ReportFinding]) -> String {
    ReportStatus::BY_URGENCY
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.status == *s).count();
            (n > 0).then(|| format!("{n} {}", s.label()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn subscription_heading(s: &SubscriptionRef) -> String {
    let name = if s.name.is_empty() { "?" } else { &s.name };
    format!("{} · {}", text(name), code(&s.id))
}

fn verdict(report: &Report) -> String {
    let s = &report.summary;
    let mut out = if s.fail > 0 {
        format!("**{} failing finding(s)**", s.fail)
    } else {
        "**No failing findings**".to_string()
    };
    if s.warn > 0 {
        out.push_str(&format!(", {} warning(s)", s.warn));
    }
    if s.unknown > 0 {
        out.push_str(&format!(", {} unknown", s.unknown));
    }
    if !report.coverage.is_empty() {
        out.push_str(&format!(
            ". **The audit is incomplete:** {} read(s) failed (see *Coverage gaps*)",
            report.coverage.len()
        ));
    }
    out.push('.');
    out
}

fn header(out: &mut String, report: &Report, subscriptions: usize) {
    let scope = &report.scope;
    let _ = writeln!(out, "# lzaudit report · {}\n", text(&report.profile));
    let _ = writeln!(out, "{}\n", verdict(report));
    let _ = writeln!(out, "| | |\n|---|---|");
    if let Some(tenant) = &scope.tenant_id {
        let _ = writeln!(out, "| Tenant | {} |", cell(&code(tenant)));
    }
    if let Some(mg) = &scope.management_group {
        let _ = writeln!(out, "| Management group | {} |", cell(&code(mg)));
    }
    let _ = writeln!(
        out,
        "| Subscriptions | {} audited, {} skipped |",
        subscriptions,
        report.skipped_subscriptions.len()
    );
    let _ = writeln!(
        out,
        "| Data | {} collected {} from {} |",
        text(&scope.source),
        text(&scope.collected_at),
        cell(&code(&scope.arm_endpoint))
    );
    let _ = writeln!(
        out,
        "| Profile | {} (fails at {}) |",
        cell(&code(&report.profile)),
        text(&report.fail_on)
    );
    let _ = writeln!(
        out,
        "| Generated | {} by {} {} |\n",
        text(&report.generated_at),
        text(&report.tool.name),
        text(&report.tool.version)
    );
}

fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "| fail | unknown | warn | waived | pass | not applicable |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |\n",
        s.fail, s.unknown, s.warn, s.waived, s.pass, s.not_applicable
    );
    if !report.coverage.is_empty() {
        let _ = writeln!(
            out,
            "### Coverage gaps\n\n{} read(s) failed; the findings that depend on them are `unknown`, never `pass`.\n",
            report.coverage.len()
        );
        let _ = writeln!(out, "| Scope | API | Status | Cause |\n|---|---|---|---|");
        for gap in &report.coverage {
            let mut cause = gap
                .http_status
                .map(|h| format!("HTTP {h} "))
                .unwrap_or_default();
            if let Some(code) = &gap.code {
                cause.push_str(code);
                cause.push_str(": ");
            }
            cause.push_str(gap.message.as_deref().unwrap_or_default());
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&code(&gap.scope)),
                cell(&code(&gap.api)),
                gap.status,
                text(cause.trim())
            );
        }
        out.push('\n');
    }
    if !report.skipped_subscriptions.is_empty() {
        let _ = writeln!(out, "### Skipped subscriptions\n");
        for s in &report.skipped_subscriptions {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                text(&s.display_name),
                code(&s.id),
                text(&s.reason)
            );
        }
        out.push('\n');
    }
    let stale: Vec<_> = report
        .waivers
        .iter()
        .filter(|w| w.state != WaiverState::Active)
        .collect();
    if !stale.is_empty() {
        let _ = writeln!(
            out,
            "### Waivers to review\n\n| State | Check | Resource pattern | Expires | Reason | Where |\n|---|---|---|---|---|---|"
        );
        for w in stale {
            let state = match w.state {
                WaiverState::Expired => "expired: no longer suppresses",
                _ => "unmatched: remove it",
            };
            let _ = writeln!(
                out,
                "| {state} | {} | {} | {} | {} | {} |",
                text(&w.check),
                cell(&code(&w.resource_pattern)),
                text(&w.expires),
                text(&w.reason),
                cell(&code(&w.location))
            );
        }
        out.push('\n');
    }
}

fn checklist(out: &mut String, report: &Report, groups: &[(SubscriptionRef, Vec<&ReportFinding>)]) {
    let _ = writeln!(
        out,
        "## Checklist\n\nOne line per check and subscription, ticked when every finding is pass, not applicable or waived.\n"
    );
    let checks: HashMap<&str, CheckRef> = report.checks().into_iter().map(|c| (c.id, c)).collect();
    for (sub, findings) in groups {
        let _ = writeln!(out, "### {}\n", subscription_heading(sub));
        if findings.is_empty() {
            let _ = writeln!(out, "No findings.\n");
            continue;
        }
        // The subscription's findings by check, in check order.
        let mut by_check: BTreeMap<&str, Vec<&ReportFinding>> = BTreeMap::new();
        for f in findings {
            by_check.entry(f.check.as_str()).or_default().push(f);
        }
        for (id, of_check) in by_check {
            let check = &checks[id];
            let done = of_check.iter().all(|f| f.status.is_settled());
            let _ = writeln!(
                out,
                "- [{}] **{}** {} · {} · {}",
                if done { "x" } else { " " },
                text(check.id),
                text(check.title),
                check.severity,
                counts(&of_check)
            );
        }
        out.push('\n');
    }
}

/// Remediation as Markdown, rendered once per distinct text (every finding of a check has the
/// same one).
type Remediations<'a> = HashMap<&'a str, String>;

fn finding<'a>(out: &mut String, f: &'a ReportFinding, remediations: &mut Remediations<'a>) {
    // Written piece by piece into `out`: a tenant's report has a hundred thousand findings.
    let _ = write!(out, "#### {} · ", f.status.label());
    push_text(out, &f.check);
    out.push_str(" · ");
    push_text(out, f.resource_label());
    out.push_str("\n\n**");
    push_text(out, &f.title);
    let _ = write!(out, "** · severity {}\n\n", f.severity);
    out.push_str(&paragraph(&f.message));
    out.push_str("\n\n");
    if let Some(waiver) = f.waiver_line() {
        out.push('*');
        push_text(out, &waiver);
        out.push_str("*\n\n");
    }
    out.push_str("- Resource: ");
    push_code(out, &f.resource);
    out.push('\n');
    if !f.evidence.is_empty() {
        out.push_str("- Evidence:\n");
        for e in &f.evidence {
            out.push_str("  - ");
            push_code(out, &e.property);
            out.push_str(": observed ");
            if e.observed.is_null() {
                out.push_str("absent");
            } else {
                push_code(out, &e.observed.to_string());
            }
            out.push_str(", expected ");
            push_text(out, &e.expected);
            if let Some(r) = &e.resource {
                out.push_str(" · on ");
                push_code(out, r);
            }
            if let Some(note) = &e.note {
                out.push_str(" · ");
                push_text(out, note);
            }
            out.push('\n');
        }
    }
    out.push('\n');
    if !f.remediation.is_empty() {
        out.push_str("**Remediation**\n\n");
        out.push_str(
            remediations
                .entry(&*f.remediation)
                .or_insert_with(|| authored(f.remediation.trim())),
        );
        out.push_str("\n\n");
    }
}

fn details(
    spool: &mut Spool,
    groups: Vec<(SubscriptionRef, Vec<&ReportFinding>)>,
) -> std::io::Result<()> {
    let mut remediations = Remediations::new();
    let _ = writeln!(spool.buf, "## Findings\n");
    for (sub, mut findings) in groups {
        if findings.is_empty() {
            continue;
        }
        spool.drain_if_full()?;
        let out = &mut spool.buf;
        let _ = writeln!(out, "### {}\n", subscription_heading(&sub));
        findings.sort_by_key(|f| f.status.urgency());
        let (open, settled): (Vec<&ReportFinding>, Vec<&ReportFinding>) = findings
            .into_iter()
            .partition(|f| !f.status.is_settled() || f.waiver.is_some());
        for f in &open {
            finding(out, f, &mut remediations);
        }
        if !settled.is_empty() {
            let _ = writeln!(
                out,
                "**Passing and not applicable ({})**\n\n| Status | Check | Resource | Message |\n|---|---|---|---|",
                settled.len()
            );
            for f in settled {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    f.status.label(),
                    text(&f.check),
                    cell(&code(f.resource_label())),
                    text(&f.message)
                );
            }
            out.push('\n');
        }
    }
    Ok(())
}

/// Renders the report as Markdown.
pub fn render(report: &Report) -> String {
    super::in_memory(|out| render_to(report, out))
}

/// Writes the report as Markdown to `out` as it goes, in time linear in findings (one
/// grouping by subscription feeds both the checklist and the details).
pub fn render_to(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let groups = report.by_subscription();
    let mut spool = Spool::new(out);
    header(&mut spool.buf, report, groups.len());
    summary(&mut spool.buf, report);
    checklist(&mut spool.buf, report, &groups);
    details(&mut spool, groups)?;
    spool.finish_one_newline()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn a_checklist_line_per_check_per_subscription() {
        let md = render(&sample::report());
        let lines: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("- [x] ") || l.starts_with("- [ ] "))
            .collect();
        assert_eq!(
            lines,
            [
                "- [ ] **AKS-020** title of AKS-020 · high · 1 fail, 1 pass",
                "- [x] **AKS-021** title of AKS-021 · high · 1 waived",
                "- [ ] **CUS-001** title of CUS-001 · low · 1 warn",
                "- [ ] **AKS-020** title of AKS-020 · high · 1 unknown",
                "- [x] **AKS-021** title of AKS-021 · high · 1 not applicable",
            ]
        );
    }

    #[test]
    fn untrusted_text_cannot_open_markup() {
        let md = render(&sample::report());
        // Outside code spans, no `<`, `&` or `[` from the data stands unescaped.
        for line in md.lines() {
            let content = line
                .strip_prefix("- [x] ")
                .or_else(|| line.strip_prefix("- [ ] "))
                .unwrap_or(line);
            for (is_code, part) in segments(content) {
                let mut escaped = false;
                for c in part.chars() {
                    assert!(
                        is_code || escaped || !matches!(c, '<' | '&' | '['),
                        "unescaped {c:?} in {line}"
                    );
                    escaped = c == '\\' && !escaped;
                }
            }
        }
        assert!(md.contains("\\<script\\>alert"));
        assert!(md.contains("\\[l\\](javascript"));
        // Every table row keeps its table's column count: no `|` from data splits a cell.
        let pipes = |line: &str| {
            let (mut n, mut escaped) = (0, false);
            for c in line.chars() {
                n += usize::from(c == '|' && !escaped);
                escaped = c == '\\' && !escaped;
            }
            n
        };
        let mut columns = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let expected = *columns.get_or_insert(pipes(line));
            assert_eq!(pipes(line), expected, "{line}");
        }
    }

    #[test]
    fn code_spans_and_authored_text() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(
            authored("run `az aks update -g <rg>` then <b>&</b>"),
            "run `az aks update -g <rg>` then \\<b\\>\\&\\</b\\>"
        );
        assert_eq!(authored("a ` b <c>"), "a ` b \\<c\\>");
        assert_eq!(
            segments("x ``a`b`` y `c"),
            [(false, "x "), (true, "``a`b``"), (false, " y `c")]
        );
        assert_eq!(text("a|b\nc"), "a\\|b\\\\nc");
        assert_eq!(paragraph("# not a heading"), "\\# not a heading");
        assert_eq!(paragraph("12. not a list"), "12\\. not a list");
        assert_eq!(paragraph("- nor this"), "\\- nor this");
        assert_eq!(text("- inline, 0.1.0"), "- inline, 0.1.0");
        assert_eq!(cell("`a|b` \\|"), "`a\\|b` \\|");
    }

    #[test]
    fn agent_commands_and_control_characters_cannot_reach_a_line() {
        let hostile = "x\r\n##vso[task.setvariable variable=x]1 \u{1b}[31m\n##[error]y";
        assert_eq!(
            text(hostile),
            "x\\\\r\\\\n\\#\\#vso\\[task.setvariable variable=x\\]1 \\\\u{1b}\\[31m\\\\n\\#\\#\\[error\\]y"
        );
        // A code span cannot escape: it is split around the command's `#`.
        assert_eq!(code("a##vso[b]"), "`a`\\#`#vso[b]`");
        assert_eq!(code("##[error]"), "\\#`#[error]`");
        assert_eq!(code("x\r\ny"), "`x\\r\\ny`");
        assert_eq!(code("issue #1"), "`issue #1`");
        assert_eq!(
            authored("run `echo ##vso[x]` or ##[error] <b>"),
            "run `echo `\\#`#vso[x]` or \\#\\#[error] \\<b\\>"
        );
        for md in [
            text(hostile),
            code(hostile),
            paragraph(hostile),
            authored(hostile),
        ] {
            assert!(crate::text::is_pipeline_safe(&md), "{md}");
            // Authored docs keep their line feeds; nothing else is raw.
            let raw = md
                .chars()
                .any(|c| crate::text::is_unprintable(c) && c != '\n');
            assert!(!raw, "{md:?}");
        }
    }
}
