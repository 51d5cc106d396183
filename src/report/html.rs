//! HTML: one self-contained page for people — the posture at a glance as inline SVG charts (a
//! subscription × check grid coloured by the worst status, findings by severity, audit
//! coverage), then every finding, filterable by status, severity, check, subscription and free
//! text, with its evidence and remediation, and the documentation of every check.
//!
//! Self-contained: inline CSS (`html.css`) and one small inline script (`html.js`), no external
//! scripts, fonts, stylesheets or images, and a Content-Security-Policy that forbids loading
//! any. The script records errors in `body[data-errors]` and sets `body[data-ready]` once it is
//! initialised, which the headless-browser test reads.
//!
//! ARM data is untrusted (a tag, name or message can hold markup): every string goes through
//! `esc`, in text and in attributes alike, and links are only made of http(s) references.

use std::fmt::Write;

use super::{Report, ReportFinding, ReportStatus, SubscriptionRef};
use crate::catalogue::{Catalogue, Severity};
use crate::profile::WaiverState;

const CSS: &str = include_str!("html.css");
const SCRIPT: &str = include_str!("html.js");
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// Escapes text for HTML content and double- or single-quoted attribute values. Beyond markup,
/// the page is printed too (a pipeline step can `cat` it), so the characters that mean something
/// to a terminal or to the Azure Pipelines agent are character references, which the browser
/// decodes back to the data: every `#` (no `##vso[` or `##[` can appear in the file), CR (which
/// the HTML parser would otherwise turn into LF) and the C0 controls but TAB and LF, and DEL.
/// NUL cannot be carried by HTML at all: it becomes U+FFFD, as a browser would make it. The C1
/// controls stay raw: a reference to one is read as a Windows-1252 character instead.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '#' => out.push_str("&#35;"),
            '\0' => out.push_str("&#xFFFD;"),
            '\t' | '\n' => out.push(c),
            c @ ('\u{1}'..='\u{1f}' | '\u{7f}') => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Inline authored text: escaped, with `code spans` as `<code>`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (is_code, part) in super::markdown::segments(text) {
        if is_code {
            let _ = write!(out, "<code>{}</code>", esc(part.trim_matches('`').trim()));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// Authored documentation (check docs) as HTML: paragraphs at blank lines, `* `/`- ` lines as
/// list items (indented lines continue them), `code spans` as `<code>`; everything escaped.
fn doc(text: &str) -> String {
    let mut out = String::new();
    for paragraph in text.trim().split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut prose: Vec<&str> = Vec::new();
        let mut items: Vec<String> = Vec::new();
        let flush_prose = |out: &mut String, prose: &mut Vec<&str>| {
            if !prose.is_empty() {
                let _ = write!(out, "<p>{}</p>", inline(&prose.join(" ")));
                prose.clear();
            }
        };
        let flush_items = |out: &mut String, items: &mut Vec<String>| {
            if !items.is_empty() {
                out.push_str("<ul>");
                for item in items.drain(..) {
                    let _ = write!(out, "<li>{}</li>", inline(&item));
                }
                out.push_str("</ul>");
            }
        };
        for line in paragraph.lines() {
            let trimmed = line.trim();
            if let Some(item) = trimmed
                .strip_prefix("* ")
                .or_else(|| trimmed.strip_prefix("- "))
            {
                flush_prose(&mut out, &mut prose);
                items.push(item.to_string());
            } else if line.starts_with([' ', '\t']) && !items.is_empty() {
                let last = items.last_mut().expect("not empty");
                last.push(' ');
                last.push_str(trimmed);
            } else {
                flush_items(&mut out, &mut items);
                prose.push(trimmed);
            }
        }
        flush_prose(&mut out, &mut prose);
        flush_items(&mut out, &mut items);
    }
    out
}

fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The grid's target width (the page's content width) and the longest subscription label.
const GRID_WIDTH: f64 = 1200.0;
const GRID_LABEL_CHARS: usize = 30;

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

fn sub_name(s: &SubscriptionRef) -> &str {
    if s.name.is_empty() { &s.id } else { &s.name }
}

fn worst<'a>(findings: impl Iterator<Item = &'a ReportFinding>) -> Option<ReportStatus> {
    findings.map(|f| f.status).min_by_key(|s| s.urgency())
}

fn counts_text<'a>(findings: impl Iterator<Item = &'a ReportFinding> + Clone) -> String {
    ReportStatus::BY_URGENCY
        .iter()
        .filter_map(|s| {
            let n = findings.clone().filter(|f| f.status == *s).count();
            (n > 0).then(|| format!("{n} {}", s.label()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn masthead(out: &mut String, report: &Report) {
    let s = &report.summary;
    let (class, verdict, detail) = if s.fail > 0 {
        (
            "v-fail",
            "Failing".to_string(),
            format!("{} failing finding(s), {} warning(s)", s.fail, s.warn),
        )
    } else if report.is_incomplete() {
        (
            "v-incomplete",
            "Incomplete".to_string(),
            format!(
                "{} read(s) failed, {} finding(s) unknown",
                report.coverage.len(),
                s.unknown
            ),
        )
    } else {
        (
            "v-pass",
            "Passing".to_string(),
            format!("no failing findings, {} warning(s)", s.warn),
        )
    };
    let incomplete = if s.fail > 0 && report.is_incomplete() {
        format!(
            " · audit incomplete: {} read(s) failed",
            report.coverage.len()
        )
    } else {
        String::new()
    };
    let _ = write!(
        out,
        r#"<header class="masthead"><div class="wrap"><div><div class="kicker">lzaudit · Cloud Adoption Framework · AKS security</div><h1>Landing zone security report</h1><div class="sub">Profile <strong>{}</strong> · {} subscription(s) · generated {}</div></div><div class="verdict {class}"><strong>{}</strong><span>{}{}</span></div></div></header>"#,
        esc(&report.profile),
        report.subscriptions().len(),
        esc(&report.generated_at),
        esc(&verdict),
        esc(&detail),
        esc(&incomplete)
    );
}

fn meta(out: &mut String, report: &Report) {
    let scope = &report.scope;
    let mut items: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &scope.tenant_id {
        items.push(("Tenant", format!("<code>{}</code>", esc(t))));
    }
    if let Some(mg) = &scope.management_group {
        items.push(("Management group", format!("<code>{}</code>", esc(mg))));
    }
    items.push((
        "Subscriptions",
        format!(
            "{} audited, {} skipped",
            report.subscriptions().len(),
            report.skipped_subscriptions.len()
        ),
    ));
    items.push((
        "Data",
        format!(
            "{} collected {}",
            esc(&scope.source),
            esc(&scope.collected_at)
        ),
    ));
    items.push((
        "ARM endpoint",
        format!("<code>{}</code>", esc(&scope.arm_endpoint)),
    ));
    items.push((
        "Profile",
        format!(
            "{} (fails at {})",
            esc(&report.profile),
            esc(&report.fail_on)
        ),
    ));
    items.push((
        "Tool",
        format!("{} {}", esc(&report.tool.name), esc(&report.tool.version)),
    ));
    out.push_str(r#"<dl class="meta">"#);
    for (k, v) in items {
        let _ = write!(out, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    out.push_str("</dl>");
}

fn kpis(out: &mut String, report: &Report) {
    let s = &report.summary;
    out.push_str(r#"<div class="kpis">"#);
    for status in ReportStatus::BY_URGENCY {
        let n = match status {
            ReportStatus::Fail => s.fail,
            ReportStatus::Unknown => s.unknown,
            ReportStatus::Warn => s.warn,
            ReportStatus::Waived => s.waived,
            ReportStatus::Pass => s.pass,
            ReportStatus::NotApplicable => s.not_applicable,
        };
        let _ = write!(
            out,
            r#"<button type="button" class="kpi s-{0}" data-status="{0}" title="Show {1} findings"><b>{n}</b><span>{1}</span></button>"#,
            status.as_str(),
            status.label()
        );
    }
    out.push_str("</div>");
}

fn legend(out: &mut String, with_none: bool) {
    out.push_str(r#"<div class="legend">"#);
    for status in ReportStatus::BY_URGENCY {
        let _ = write!(
            out,
            r#"<span class="s-{}"><i></i>{}</span>"#,
            status.as_str(),
            status.label()
        );
    }
    if with_none {
        out.push_str(r#"<span style="--c: var(--none)"><i></i>no finding</span>"#);
    }
    out.push_str("</div>");
}

/// The subscription × check grid: one cell per pair, coloured by its worst status.
fn grid(out: &mut String, report: &Report) {
    let subs = report.subscriptions();
    let checks = report.checks();
    // Drawn at its natural size (text never shrinks): cells get smaller as checks are added,
    // down to a minimum; past that the card scrolls sideways.
    let longest = subs
        .iter()
        .map(|s| sub_name(s).chars().count())
        .max()
        .unwrap_or(0);
    let label_chars = longest.clamp(12, GRID_LABEL_CHARS);
    let label_w = 7.2 * label_chars as f64 + 16.0;
    let fit = (GRID_WIDTH - label_w - 70.0) / checks.len().max(1) as f64;
    let pitch = fit.clamp(17.0, 33.0).floor();
    let cell = (pitch * 0.84).floor();
    let (head_h, row_h) = (74.0, (cell + 12.0).max(34.0));
    let cols_w = pitch * checks.len() as f64;
    let width = (label_w + cols_w + 70.0).ceil();
    let height = head_h + row_h * subs.len() as f64 + 6.0;
    let _ = write!(
        out,
        r#"<div class="card"><h3>Status by subscription</h3><p class="hint">One cell per subscription and check, coloured by its worst finding. Select a cell to see its findings.</p><div class="scroll"><svg id="grid" role="img" aria-label="Status of every check in every subscription" viewBox="0 0 {width} {height}" width="{width}" height="{height}">"#
    );
    for (i, c) in checks.iter().enumerate() {
        let x = label_w + pitch * i as f64 + cell / 2.0;
        let _ = write!(
            out,
            r#"<text class="col" transform="translate({x} {}) rotate(-55)">{}<title>{}: {}</title></text>"#,
            head_h - 8.0,
            esc(c.id),
            esc(c.id),
            esc(c.title)
        );
    }
    for (r, sub) in subs.iter().enumerate() {
        let y = head_h + row_h * r as f64;
        let of_sub: Vec<&ReportFinding> = report
            .findings
            .iter()
            .filter(|f| f.subscription.eq_ignore_ascii_case(&sub.id))
            .collect();
        let _ = write!(
            out,
            r#"<g class="row" data-subscription="{}"><text class="label" x="0" y="{}">{}<title>{}</title></text><text class="mono" x="0" y="{}">{}</text>"#,
            esc(&sub.id),
            y + 14.0,
            esc(&ellipsis(sub_name(sub), label_chars)),
            esc(sub_name(sub)),
            y + 28.0,
            esc(short_id(&sub.id))
        );
        for (i, c) in checks.iter().enumerate() {
            let x = label_w + pitch * i as f64;
            let here = of_sub.iter().copied().filter(|f| f.check == c.id);
            let (status, tip) = match worst(here.clone()) {
                Some(s) => (s.as_str(), counts_text(here)),
                None => ("none", "no finding".to_string()),
            };
            let _ = write!(
                out,
                r#"<rect class="cell f-{status}" x="{x}" y="{}" width="{cell}" height="{cell}" rx="3" tabindex="0" role="button" data-subscription="{}" data-check="{}" data-status="{status}"><title>{} · {} {}: {}</title></rect>"#,
                y + 3.0,
                esc(&sub.id),
                esc(c.id),
                esc(sub_name(sub)),
                esc(c.id),
                esc(c.title),
                esc(&tip)
            );
        }
        let fails = of_sub
            .iter()
            .filter(|f| f.status == ReportStatus::Fail)
            .count();
        let x = label_w + cols_w + 8.0;
        if fails > 0 {
            let _ = write!(
                out,
                r#"<text class="fail-count" x="{x}" y="{}">{fails} fail</text>"#,
                y + 7.0 + cell / 2.0
            );
        } else if !of_sub.is_empty() {
            let _ = write!(
                out,
                r#"<text class="ok-count" x="{x}" y="{}">no fails</text>"#,
                y + 7.0 + cell / 2.0
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg></div>");
    legend(out, true);
    if !report.skipped_subscriptions.is_empty() {
        let names: Vec<String> = report
            .skipped_subscriptions
            .iter()
            .map(|s| format!("{} ({})", esc(&s.display_name), esc(&s.state)))
            .collect();
        let _ = write!(
            out,
            r#"<p class="note">Not audited: {}.</p>"#,
            names.join(", ")
        );
    }
    out.push_str("</div>");
}

/// A severity, its count per status (worst first), and its total.
type SeverityRow = (Severity, Vec<(ReportStatus, usize)>, usize);

/// Findings by severity: one bar per severity, split by status.
fn severity_chart(out: &mut String, report: &Report) {
    let severities = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    let rows: Vec<SeverityRow> = severities
        .iter()
        .filter_map(|sev| {
            let of: Vec<&ReportFinding> = report
                .findings
                .iter()
                .filter(|f| f.severity == *sev)
                .collect();
            (!of.is_empty()).then(|| {
                let parts = ReportStatus::BY_URGENCY
                    .iter()
                    .map(|s| (*s, of.iter().filter(|f| f.status == *s).count()))
                    .collect();
                (*sev, parts, of.len())
            })
        })
        .collect();
    let max = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1) as f64;
    let (label_w, bar_w, row_h) = (70.0, 380.0, 52.0);
    let width = label_w + bar_w + 50.0;
    let height = row_h * rows.len().max(1) as f64;
    let _ = write!(
        out,
        r#"<div class="card"><h3>Findings by severity</h3><p class="hint">Every finding, split by status.</p><svg id="severity" role="img" aria-label="Findings by severity and status" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">"#
    );
    for (i, (sev, parts, total)) in rows.iter().enumerate() {
        let y = row_h * i as f64;
        let _ = write!(
            out,
            r#"<g data-severity="{0}"><text class="label" x="0" y="{1}">{0}</text>"#,
            sev.as_str(),
            y + 19.0
        );
        let mut x = label_w;
        for (status, n) in parts.iter().filter(|(_, n)| *n > 0) {
            let w = bar_w * *n as f64 / max;
            let _ = write!(
                out,
                r#"<rect class="f-{}" x="{x:.1}" y="{}" width="{w:.1}" height="22"><title>{} {}: {n}</title></rect>"#,
                status.as_str(),
                y + 4.0,
                sev.as_str(),
                status.label()
            );
            x += w;
        }
        let breakdown = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.label()))
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = write!(
            out,
            r#"<text class="label" x="{:.1}" y="{}">{total}</text><text class="small" x="{label_w}" y="{}">{breakdown}</text></g>"#,
            x + 8.0,
            y + 19.0,
            y + 41.0
        );
    }
    out.push_str("</svg>");
    legend(out, false);
    out.push_str("</div>");
}

/// Audit coverage: per subscription, the reads that failed and the findings left unknown.
fn coverage_chart(out: &mut String, report: &Report) {
    let subs = report.subscriptions();
    let gaps_of = |id: &str| {
        let prefix = format!("/subscriptions/{id}").to_ascii_lowercase();
        report
            .coverage
            .iter()
            .filter(|g| {
                let scope = g.scope.to_ascii_lowercase();
                scope == prefix || scope.starts_with(&format!("{prefix}/"))
            })
            .count()
    };
    let mut rows: Vec<(String, usize, usize)> = subs
        .iter()
        .map(|s| {
            let unknown = report
                .findings
                .iter()
                .filter(|f| {
                    f.subscription.eq_ignore_ascii_case(&s.id) && f.status == ReportStatus::Unknown
                })
                .count();
            (sub_name(s).to_string(), gaps_of(&s.id), unknown)
        })
        .collect();
    let in_subs: usize = rows.iter().map(|r| r.1).sum();
    if report.coverage.len() > in_subs {
        rows.push((
            "tenant and management groups".into(),
            report.coverage.len() - in_subs,
            0,
        ));
    }
    let max = rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(1).max(1) as f64;
    let (label_w, bar_w, row_h) = (190.0, 220.0, 34.0);
    let width = label_w + bar_w + 120.0;
    let height = row_h * rows.len().max(1) as f64;
    let _ = write!(
        out,
        r#"<div class="card"><h3>Audit coverage</h3><p class="hint">{}</p><svg id="coverage" role="img" aria-label="Failed reads and unknown findings by subscription" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">"#,
        if report.coverage.is_empty() {
            "Every read succeeded: nothing is unknown for lack of data.".to_string()
        } else {
            format!(
                "{} read(s) failed; the findings that depend on them are unknown, never pass.",
                report.coverage.len()
            )
        }
    );
    for (i, (name, gaps, unknown)) in rows.iter().enumerate() {
        let y = row_h * i as f64;
        let _ = write!(
            out,
            r#"<g><text class="label" x="0" y="{}">{}</text>"#,
            y + 20.0,
            esc(name)
        );
        if *gaps == 0 && *unknown == 0 {
            let _ = write!(
                out,
                r#"<text class="ok-count" x="{label_w}" y="{}">✓ complete</text>"#,
                y + 20.0
            );
        } else {
            for (row, n, class, what, none) in [
                (0.0, *gaps, "f-gap", "read(s) failed", "no failed reads"),
                (
                    13.0,
                    *unknown,
                    "f-unknown-light",
                    "unknown",
                    "no unknown findings",
                ),
            ] {
                let (bar_y, text_y) = (y + 5.0 + row, y + 14.5 + row);
                if n == 0 {
                    let _ = write!(
                        out,
                        r#"<text class="small" x="{label_w}" y="{text_y}">{none}</text>"#
                    );
                    continue;
                }
                let w = bar_w * n as f64 / max;
                let _ = write!(
                    out,
                    r#"<rect class="{class}" x="{label_w}" y="{bar_y}" width="{w:.1}" height="11"><title>{n} {what}</title></rect><text class="small" x="{:.1}" y="{text_y}">{n} {what}</text>"#,
                    label_w + w + 6.0
                );
            }
        }
        out.push_str("</g>");
    }
    out.push_str(r#"</svg><div class="legend"><span style="--c:#3f1d87"><i></i>failed reads</span><span style="--c:#b9a3e8"><i></i>unknown findings</span></div></div>"#);
}

fn evidence_table(out: &mut String, f: &ReportFinding) {
    if f.evidence.is_empty() {
        return;
    }
    out.push_str(r#"<div><h4>Evidence</h4><table class="evidence"><thead><tr><th>Property</th><th>Observed</th><th>Expected</th></tr></thead><tbody>"#);
    for e in &f.evidence {
        let observed = match &e.observed {
            serde_json::Value::Null => "<em>absent</em>".to_string(),
            v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_)) => format!(
                "<pre>{}</pre>",
                esc(&serde_json::to_string_pretty(v).expect("JSON serialises"))
            ),
            v => format!("<code>{}</code>", esc(&v.to_string())),
        };
        let mut property = format!("<code>{}</code>", esc(&e.property));
        if let Some(r) = &e.resource {
            let _ = write!(property, "<br><small>on <code>{}</code></small>", esc(r));
        }
        if let Some(note) = &e.note {
            let _ = write!(property, "<br><small>{}</small>", esc(note));
        }
        let _ = write!(
            out,
            "<tr><td>{property}</td><td>{observed}</td><td>{}</td></tr>",
            esc(&e.expected)
        );
    }
    out.push_str("</tbody></table></div>");
}

fn finding(out: &mut String, f: &ReportFinding) {
    let _ = write!(
        out,
        r##"<article class="finding s-{status}" data-status="{status}" data-settled="{settled}" data-severity="{sev}" data-check="{check}" data-subscription="{sub}"><header><span class="pill">{label}</span><span class="sev sev-{sev}">{sev}</span><a class="check" href="#check-{check}">{check}</a><span class="title">{title}</span></header><div class="where"><span title="{resource}">{name}</span> · {sub_name}</div><p class="msg">{message}</p><details><summary>Evidence and remediation</summary><div class="body"><div><h4>Resource</h4><code>{resource}</code></div>"##,
        status = f.status.as_str(),
        settled = f.status.is_settled(),
        sev = f.severity.as_str(),
        check = esc(&f.check),
        label = f.status.label(),
        title = esc(&f.title),
        resource = esc(&f.resource),
        name = esc(f.resource_label()),
        sub_name = esc(if f.subscription_name.is_empty() {
            &f.subscription
        } else {
            &f.subscription_name
        }),
        message = esc(&f.message),
        sub = esc(&f.subscription),
    );
    if let Some(w) = &f.waiver {
        let _ = write!(
            out,
            r#"<div class="waiver"><strong>Waived</strong> (really {}) until {}: {} <small>— {} at <code>{}</code></small></div>"#,
            w.original_status,
            esc(&w.expires),
            esc(&w.reason),
            esc(&w.resource_pattern),
            esc(&w.location)
        );
    }
    evidence_table(out, f);
    if !f.remediation.is_empty() {
        let _ = write!(
            out,
            r#"<div><h4>Remediation</h4><div class="doc">{}</div></div>"#,
            doc(&f.remediation)
        );
    }
    out.push_str("</div></details></article>");
}

fn select(out: &mut String, id: &str, label: &str, options: &[(String, String)]) {
    let _ = write!(
        out,
        r#"<select id="{id}" aria-label="{label}"><option value="">{label}: all</option>"#
    );
    for (value, text) in options {
        let _ = write!(
            out,
            r#"<option value="{}">{}</option>"#,
            esc(value),
            esc(text)
        );
    }
    out.push_str("</select>");
}

fn findings(out: &mut String, report: &Report) {
    let mut list: Vec<&ReportFinding> = report.findings.iter().collect();
    list.sort_by(|a, b| {
        (
            a.status.urgency(),
            std::cmp::Reverse(a.severity),
            &a.check,
            &a.subscription_name,
            a.resource.to_ascii_lowercase(),
        )
            .cmp(&(
                b.status.urgency(),
                std::cmp::Reverse(b.severity),
                &b.check,
                &b.subscription_name,
                b.resource.to_ascii_lowercase(),
            ))
    });
    let _ = write!(
        out,
        r#"<section id="findings"><h2>Findings <small>{} in total, worst first</small></h2><div class="toolbar"><input id="f-text" type="search" placeholder="Filter by text: resource, message, evidence…" aria-label="Filter by text">"#,
        list.len()
    );
    let mut statuses: Vec<(String, String)> = vec![(
        "attention".into(),
        "needs attention (fail, unknown, warn)".into(),
    )];
    statuses.extend(
        ReportStatus::BY_URGENCY
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string())),
    );
    select(out, "f-status", "Status", &statuses);
    let severities: Vec<(String, String)> = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .iter()
    .filter(|s| report.findings.iter().any(|f| f.severity == **s))
    .map(|s| (s.as_str().to_string(), s.as_str().to_string()))
    .collect();
    select(out, "f-severity", "Severity", &severities);
    let checks: Vec<(String, String)> = report
        .checks()
        .iter()
        .map(|c| (c.id.to_string(), format!("{} {}", c.id, c.title)))
        .collect();
    select(out, "f-check", "Check", &checks);
    let subs: Vec<(String, String)> = report
        .subscriptions()
        .iter()
        .map(|s| (s.id.clone(), sub_name(s).to_string()))
        .collect();
    select(out, "f-subscription", "Subscription", &subs);
    out.push_str(r#"<button type="button" id="f-reset">Reset</button><span class="count" id="f-count"></span></div>"#);
    for f in list {
        finding(out, f);
    }
    out.push_str(
        r#"<div class="empty" id="f-empty" hidden>No findings match these filters.</div></section>"#,
    );
}

fn gaps_and_waivers(out: &mut String, report: &Report) {
    if !report.coverage.is_empty() {
        let _ = write!(
            out,
            r#"<section id="coverage-gaps"><h2>Coverage gaps <small>{} read(s) failed</small></h2><div class="card"><table class="fixed"><colgroup><col style="width:32%"><col style="width:19%"><col style="width:9%"><col></colgroup><thead><tr><th>Scope</th><th>API</th><th>Status</th><th>Cause</th></tr></thead><tbody>"#,
            report.coverage.len()
        );
        for g in &report.coverage {
            let mut cause = g
                .http_status
                .map(|h| format!("HTTP {h} "))
                .unwrap_or_default();
            if let Some(code) = &g.code {
                cause.push_str(code);
            }
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><strong>{}</strong> {}</td></tr>",
                esc(&g.scope),
                esc(&g.api),
                g.status,
                esc(cause.trim()),
                esc(g.message.as_deref().unwrap_or_default())
            );
        }
        out.push_str("</tbody></table></div></section>");
    }
    if !report.skipped_subscriptions.is_empty() {
        out.push_str(r#"<section id="skipped"><h2>Skipped subscriptions</h2><div class="card"><table><thead><tr><th>Subscription</th><th>ID</th><th>State</th><th>Reason</th></tr></thead><tbody>"#);
        for s in &report.skipped_subscriptions {
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&s.display_name),
                esc(&s.id),
                esc(&s.state),
                esc(&s.reason)
            );
        }
        out.push_str("</tbody></table></div></section>");
    }
    if !report.waivers.is_empty() {
        out.push_str(r#"<section id="waivers"><h2>Waivers</h2><div class="card"><table><thead><tr><th>State</th><th>Check</th><th>Resource pattern</th><th>Expires</th><th>Matched</th><th>Reason</th><th>Where</th></tr></thead><tbody>"#);
        for w in &report.waivers {
            let state = match w.state {
                WaiverState::Active => "active",
                WaiverState::Expired => "expired: no longer suppresses",
                WaiverState::Unmatched => "unmatched: remove it",
            };
            let _ = write!(
                out,
                "<tr><td>{state}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&w.check),
                esc(&w.resource_pattern),
                esc(&w.expires),
                w.matched,
                esc(&w.reason),
                esc(&w.location)
            );
        }
        out.push_str("</tbody></table></div></section>");
    }
}

fn checks(out: &mut String, report: &Report, catalogue: &Catalogue) {
    out.push_str(r#"<section id="checks"><h2>Checks <small>what each check reads, why it matters and how to fix it</small></h2><div class="card checks">"#);
    for c in report.checks() {
        let _ = write!(
            out,
            r#"<details id="check-{0}"><summary><span class="check">{0}</span> {1} <span class="sev sev-{2}">{2}</span></summary>"#,
            esc(c.id),
            esc(c.title),
            c.severity.as_str()
        );
        match catalogue.get(c.id) {
            Some(check) => {
                let d = &check.file.docs;
                let _ = write!(
                    out,
                    r#"<div class="docs"><div><h4>What it checks</h4><div class="doc">{}</div></div><div><h4>Why it matters</h4><div class="doc">{}</div></div><div><h4>How to fix</h4><div class="doc">{}{}</div></div></div>"#,
                    doc(&d.what),
                    doc(&d.why),
                    doc(&d.fix),
                    d.fix_policy
                        .as_deref()
                        .map(|p| format!("<h4>Enforce with Azure Policy</h4>{}", doc(p)))
                        .unwrap_or_default()
                );
                if !check.file.references.is_empty() {
                    out.push_str(r#"<ul class="refs">"#);
                    for r in &check.file.references {
                        if is_web_url(r) {
                            let _ = write!(
                                out,
                                r#"<li><a href="{0}" rel="noopener noreferrer">{0}</a></li>"#,
                                esc(r)
                            );
                        } else {
                            let _ = write!(out, "<li>{}</li>", esc(r));
                        }
                    }
                    out.push_str("</ul>");
                }
            }
            None => out.push_str(
                r#"<p class="note">This check is not in the catalogue this report was rendered with.</p>"#,
            ),
        }
        out.push_str("</details>");
    }
    out.push_str("</div></section>");
}

/// Renders the report as one self-contained HTML page.
pub fn render(report: &Report, catalogue: &Catalogue) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="Content-Security-Policy" content="{CSP}"><meta name="generator" content="{} {}"><title>lzaudit report · {} · {}</title><style>
{CSS}</style></head>
<body>"#,
        esc(&report.tool.name),
        esc(&report.tool.version),
        esc(&report.profile),
        esc(&report.generated_at)
    );
    masthead(&mut out, report);
    out.push_str(r#"<main class="wrap">"#);
    meta(&mut out, report);
    kpis(&mut out, report);
    out.push_str(r#"<section id="glance"><h2>Posture at a glance</h2>"#);
    grid(&mut out, report);
    out.push_str(r#"<div class="charts">"#);
    severity_chart(&mut out, report);
    coverage_chart(&mut out, report);
    out.push_str("</div></section>");
    findings(&mut out, report);
    gaps_and_waivers(&mut out, report);
    checks(&mut out, report, catalogue);
    let _ = write!(
        out,
        "</main><footer>Generated by {} {} · report schema {} · {}</footer>\n<script>\n{SCRIPT}</script>\n</body></html>\n",
        esc(&report.tool.name),
        esc(&report.tool.version),
        esc(report.schema),
        esc(&report.generated_at)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn html() -> String {
        render(&sample::report(), &Catalogue::builtin().unwrap())
    }

    #[test]
    fn untrusted_strings_are_escaped_everywhere() {
        let html = html();
        // The only script element is ours.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        for raw in ["<img", "<b>|prod", "<i>nothing", "onerror=alert(1)>"] {
            assert!(!html.contains(raw), "{raw} reached the page unescaped");
        }
        assert!(!html.contains("href=\"javascript"));
    }

    #[test]
    fn every_grid_cell_names_its_subscription() {
        let html = html();
        let cells = html.matches(r#"<rect class="cell "#).count();
        // 2 subscriptions × 3 checks.
        assert_eq!(cells, 6);
        let tagged = html
            .split(r#"<rect class="cell "#)
            .skip(1)
            .filter(|c| c.contains(" data-subscription=\""))
            .count();
        assert_eq!(tagged, cells);
        // The worst status wins: AKS-020 in the first subscription has a fail and a pass.
        assert!(html.contains(&format!(
            r#"data-subscription="{}" data-check="AKS-020" data-status="fail""#,
            sample::SUB_A
        )));
        assert!(html.contains(&format!(
            r#"data-subscription="{}" data-check="CUS-001" data-status="none""#,
            sample::SUB_B
        )));
    }

    #[test]
    fn esc_keeps_the_data_for_the_browser_and_nothing_for_the_agent_or_a_terminal() {
        assert_eq!(
            esc("a\r\n##vso[x]\u{1b}[31m\0\t<'\">&"),
            "a&#13;\n&#35;&#35;vso[x]&#27;[31m&#xFFFD;\t&lt;&#39;&quot;&gt;&amp;"
        );
    }

    #[test]
    fn self_contained() {
        let html = html();
        for external in ["<link", " src=\"", "@import", "url(", "<iframe", "<object"] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn docs_keep_code_spans() {
        assert_eq!(
            doc("run `az aks <x>`\nnow\n\nthen <b>"),
            "<p>run <code>az aks &lt;x&gt;</code> now</p><p>then &lt;b&gt;</p>"
        );
        assert_eq!(
            doc("Checks:\n* one `a`\n  continued\n- two\nafter"),
            "<p>Checks:</p><ul><li>one <code>a</code> continued</li><li>two</li></ul><p>after</p>"
        );
    }
}
