//! HTML: one self-contained page for people — the posture at a glance (a subscription × check
//! grid coloured by the worst status, findings by severity, audit coverage), then every finding,
//! filterable by status, severity, check, subscription and free text, with its evidence and
//! remediation, and the documentation of every check.
//!
//! Self-contained: inline CSS (`html.css`) and one small inline script (`html.js`), no external
//! scripts, fonts, stylesheets or images, and a Content-Security-Policy that forbids loading
//! any. The script records errors in `body[data-errors]` and sets `body[data-ready]` once it is
//! initialised, which the headless-browser tests read.
//!
//! Tenant scale: a tenant of 1,000 subscriptions has 150,000 findings, which as HTML elements
//! would be hundreds of megabytes and freeze the browser. So the findings and the grid are data:
//! one JSON block (`<script type="application/json" id="lz-data">`, strings that repeat —
//! messages, evidence lists, remediation — stored once), from which the script draws one page
//! at a time (`PAGE` findings, `GRID_PAGE` subscription rows of the grid) while its filters,
//! counts and search run over every finding. Everything else is static HTML, kept bounded (the
//! coverage chart lists the subscriptions with the most gaps). Without JavaScript the page still
//! shows the verdict, counts, charts, coverage and check documentation.
//!
//! ARM data is untrusted (a tag, name or message can hold markup): every string in the HTML goes
//! through `esc`, in text and in attributes alike, and links are only made of http(s)
//! references; the JSON block is escaped so that it cannot close its element
//! (`json::to_html_data`), and the script puts data into the page only as text
//! (`textContent`, attribute values), never as markup.

use std::fmt::Write;

use std::collections::HashMap;

use serde::Serialize;

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

fn sub_name(s: &SubscriptionRef) -> &str {
    if s.name.is_empty() { &s.id } else { &s.name }
}

fn masthead(out: &mut String, report: &Report, subscriptions: usize) {
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
        subscriptions,
        esc(&report.generated_at),
        esc(&verdict),
        esc(&detail),
        esc(&incomplete)
    );
}

fn meta(out: &mut String, report: &Report, subscriptions: usize) {
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
            subscriptions,
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

/// The coverage chart lists every subscription up to this many; beyond, the ones with the most
/// failed reads and unknown findings, and counts the rest.
const COVERAGE_ROWS: usize = 12;

/// The subscription GUID an ARM scope lies in (lower-cased), if it is in one.
fn subscription_of_scope(scope: &str) -> Option<String> {
    let lower = scope.to_ascii_lowercase();
    let rest = lower.strip_prefix("/subscriptions/")?;
    Some(rest.split('/').next().unwrap_or_default().to_string())
}

/// Audit coverage: per subscription, the reads that failed and the findings left unknown.
fn coverage_chart(out: &mut String, report: &Report, subs: &[SubscriptionRef]) {
    let index: HashMap<String, usize> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_ascii_lowercase(), i))
        .collect();
    // Per subscription: failed reads, unknown findings. One pass over each list.
    let mut per_sub = vec![(0usize, 0usize); subs.len()];
    let mut outside = 0;
    for gap in &report.coverage {
        match subscription_of_scope(&gap.scope).and_then(|id| index.get(&id)) {
            Some(i) => per_sub[*i].0 += 1,
            None => outside += 1,
        }
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.status == ReportStatus::Unknown)
    {
        if let Some(i) = index.get(&f.subscription.to_ascii_lowercase()) {
            per_sub[*i].1 += 1;
        }
    }
    let mut rows: Vec<(String, usize, usize)> = subs
        .iter()
        .zip(&per_sub)
        .map(|(s, (gaps, unknown))| (sub_name(s).to_string(), *gaps, *unknown))
        .collect();
    let mut note = None;
    if rows.len() > COVERAGE_ROWS {
        let complete = rows.iter().filter(|r| r.1 == 0 && r.2 == 0).count();
        rows.retain(|r| r.1 > 0 || r.2 > 0);
        // Stable: the most gaps and unknowns first, in report order among equals.
        rows.sort_by_key(|r| std::cmp::Reverse(r.1 + r.2));
        let more = rows.len().saturating_sub(COVERAGE_ROWS);
        rows.truncate(COVERAGE_ROWS);
        note = Some(format!(
            "{} subscription(s) shown, those with the most failed reads and unknown findings; {more} more have some, and {complete} are complete.",
            rows.len()
        ));
    }
    if outside > 0 {
        rows.push(("tenant and management groups".into(), outside, 0));
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
    out.push_str(r#"</svg><div class="legend"><span style="--c:#3f1d87"><i></i>failed reads</span><span style="--c:#b9a3e8"><i></i>unknown findings</span></div>"#);
    if let Some(note) = note {
        let _ = write!(out, r#"<p class="note">{}</p>"#, esc(&note));
    }
    out.push_str("</div>");
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

/// The page's data (`<script type="application/json" id="lz-data">`), from which the script
/// draws the grid and the findings. Compact: findings are rows of numbers and indexes into
/// tables that hold each subscription, check, message, evidence list and remediation once.
#[derive(Serialize)]
struct Data<'a> {
    /// `[id, display name]`, in report order.
    subscriptions: Vec<[&'a str; 2]>,
    /// `[id, title]`, by ID.
    checks: Vec<[&'a str; 2]>,
    messages: Vec<&'a str>,
    evidence: Vec<&'a [crate::eval::Evidence]>,
    /// Findings worst first, each a `Row`.
    findings: Vec<Row<'a>>,
}

/// One finding: `[status, severity, check, subscription, flags, resource, message, evidence,
/// remediation, waiver]`. Status and severity are indexes into `STATUSES` and `SEVERITIES` (the
/// script's copies of the same lists); check, subscription, message and evidence index the
/// tables; remediation is the number of a `<template id="fix-N">` (or -1). `flags` bit 1: the
/// resource is the subscription itself; bit 0: `resource` omits its `/subscriptions/{id}` prefix
/// (the same as the finding's subscription), which saves a third of the page.
#[derive(Serialize)]
struct Row<'a>(
    usize,
    usize,
    usize,
    usize,
    u8,
    &'a str,
    usize,
    usize,
    i64,
    Option<[&'a str; 5]>,
);

/// The statuses and severities in the order `Row` numbers them; `html.js` has the same lists.
const STATUSES: [ReportStatus; 6] = [
    ReportStatus::Pass,
    ReportStatus::Warn,
    ReportStatus::Fail,
    ReportStatus::NotApplicable,
    ReportStatus::Unknown,
    ReportStatus::Waived,
];
const SEVERITIES: [Severity; 4] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
];

/// Hands out one index per distinct key.
struct Interner<K> {
    index: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq> Interner<K> {
    fn new() -> Self {
        Interner {
            index: HashMap::new(),
        }
    }

    /// The key's index, and whether it is new (the caller then appends its value to the table).
    fn get(&mut self, key: K) -> (usize, bool) {
        let next = self.index.len();
        match self.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
            std::collections::hash_map::Entry::Vacant(e) => (*e.insert(next), true),
        }
    }
}

/// An evidence list as an interning key: hashed by its contents, compared with `==`.
struct EvidenceKey<'a>(&'a [crate::eval::Evidence]);

impl std::hash::Hash for EvidenceKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        fn value<H: std::hash::Hasher>(v: &serde_json::Value, state: &mut H) {
            use serde_json::Value;
            match v {
                Value::Null => 0u8.hash(state),
                Value::Bool(b) => (1u8, b).hash(state),
                // Equal numbers have the same representation, so the same f64.
                Value::Number(n) => (2u8, n.as_f64().map(f64::to_bits)).hash(state),
                Value::String(s) => (3u8, s).hash(state),
                Value::Array(a) => {
                    (4u8, a.len()).hash(state);
                    a.iter().for_each(|v| value(v, state));
                }
                Value::Object(o) => {
                    (5u8, o.len()).hash(state);
                    for (k, v) in o {
                        k.hash(state);
                        value(v, state);
                    }
                }
            }
        }
        self.0.len().hash(state);
        for e in self.0 {
            (&e.property, &e.expected, &e.resource, &e.note).hash(state);
            value(&e.observed, state);
        }
    }
}

/// Equal as the hash sees them: the same values with object keys in the same order (the order
/// they are shown in), which `Value`'s own `==` ignores.
impl PartialEq for EvidenceKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
            use serde_json::Value;
            match (a, b) {
                (Value::Array(x), Value::Array(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
                }
                (Value::Object(x), Value::Object(y)) => {
                    x.len() == y.len()
                        && x.iter()
                            .zip(y)
                            .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
                }
                (x, y) => x == y,
            }
        }
        self.0.len() == other.0.len()
            && self.0.iter().zip(other.0).all(|(a, b)| {
                (&a.property, &a.expected, &a.resource, &a.note)
                    == (&b.property, &b.expected, &b.resource, &b.note)
                    && same(&a.observed, &b.observed)
            })
    }
}

// serde_json numbers are finite, so this equality is an equivalence.
impl Eq for EvidenceKey<'_> {}

/// The data block and the remediation templates it refers to (distinct remediation texts, as
/// HTML, in template order).
fn data<'a>(report: &'a Report, subs: &'a [SubscriptionRef]) -> (Data<'a>, Vec<&'a str>) {
    let checks = report.checks();
    let check_index: HashMap<&str, usize> =
        checks.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let sub_index: HashMap<String, usize> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_ascii_lowercase(), i))
        .collect();
    let mut list: Vec<&ReportFinding> = report.findings.iter().collect();
    list.sort_by(|a, b| {
        (
            a.status.urgency(),
            std::cmp::Reverse(a.severity),
            &a.check,
            &a.subscription_name,
        )
            .cmp(&(
                b.status.urgency(),
                std::cmp::Reverse(b.severity),
                &b.check,
                &b.subscription_name,
            ))
            .then_with(|| super::cmp_ignore_ascii_case(&a.resource, &b.resource))
    });
    let mut data = Data {
        subscriptions: subs
            .iter()
            .map(|s| [s.id.as_str(), s.name.as_str()])
            .collect(),
        checks: checks.iter().map(|c| [c.id, c.title]).collect(),
        messages: Vec::new(),
        evidence: Vec::new(),
        findings: Vec::with_capacity(list.len()),
    };
    let mut fixes: Vec<&str> = Vec::new();
    let (mut messages, mut evidence, mut fix_index) =
        (Interner::new(), Interner::new(), Interner::new());
    let mut previous_sub: Option<(&str, usize)> = None;
    for f in list {
        let sub = match previous_sub {
            Some((id, i)) if id == f.subscription => i,
            _ => sub_index[&f.subscription.to_ascii_lowercase()],
        };
        previous_sub = Some((&f.subscription, sub));
        let (message, new) = messages.get(f.message.as_str());
        if new {
            data.messages.push(&f.message);
        }
        let (evidence_at, new) = evidence.get(EvidenceKey(&f.evidence));
        if new {
            data.evidence.push(&f.evidence);
        }
        let fix = if f.remediation.is_empty() {
            -1
        } else {
            let (at, new) = fix_index.get(&*f.remediation);
            if new {
                fixes.push(&f.remediation);
            }
            at as i64
        };
        let prefix = &subs[sub].id;
        let (elided, resource) = match f
            .resource
            .strip_prefix("/subscriptions/")
            .and_then(|r| r.strip_prefix(prefix.as_str()))
        {
            Some(rest) => (1, rest),
            None => (0, f.resource.as_str()),
        };
        let flags = elided | (u8::from(f.is_subscription_level()) << 1);
        data.findings.push(Row(
            STATUSES
                .iter()
                .position(|s| *s == f.status)
                .expect("listed"),
            SEVERITIES
                .iter()
                .position(|s| *s == f.severity)
                .expect("listed"),
            check_index[f.check.as_str()],
            sub,
            flags,
            resource,
            message,
            evidence_at,
            fix,
            f.waiver.as_ref().map(|w| {
                [
                    w.original_status.as_str(),
                    w.reason.as_str(),
                    w.expires.as_str(),
                    w.resource_pattern.as_str(),
                    w.location.as_str(),
                ]
            }),
        ));
    }
    (data, fixes)
}

/// The subscription × check grid: the card, its controls and an empty SVG the script fills, one
/// page of subscriptions at a time, each cell coloured by the worst status of its findings.
fn grid_card(out: &mut String, report: &Report) {
    out.push_str(r#"<div class="card" id="grid-card"><h3>Status by subscription</h3><p class="hint">One cell per subscription and check, coloured by its worst finding. Select a cell to see its findings.</p><div class="gridbar"><select id="g-order" aria-label="Order of subscriptions"><option value="name">Subscriptions by name</option><option value="worst">Most failures first</option></select><input id="g-text" type="search" placeholder="Find a subscription…" aria-label="Find a subscription"><span class="count" id="g-range"></span><button type="button" id="g-prev" aria-label="Previous subscriptions">‹</button><button type="button" id="g-next" aria-label="Next subscriptions">›</button></div><div class="scroll"><svg id="grid" role="img" aria-label="Status of every check in every subscription" width="0" height="0"></svg></div><noscript><p class="note">The grid is drawn by the page's script; the findings are also in the JSON, CSV and Markdown reports.</p></noscript>"#);
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

fn findings(out: &mut String, report: &Report, subs: &[SubscriptionRef]) {
    let _ = write!(
        out,
        r#"<section id="findings"><h2>Findings <small>{} in total, worst first</small></h2><div class="toolbar"><input id="f-text" type="search" placeholder="Filter by text: resource, message, evidence…" aria-label="Filter by text">"#,
        report.findings.len()
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
    let mut present = [false; 4];
    for f in &report.findings {
        if let Some(i) = SEVERITIES.iter().position(|s| *s == f.severity) {
            present[i] = true;
        }
    }
    let severities: Vec<(String, String)> = SEVERITIES
        .iter()
        .zip(present)
        .rev()
        .filter(|(_, present)| *present)
        .map(|(s, _)| (s.as_str().to_string(), s.as_str().to_string()))
        .collect();
    select(out, "f-severity", "Severity", &severities);
    let checks: Vec<(String, String)> = report
        .checks()
        .iter()
        .map(|c| (c.id.to_string(), format!("{} {}", c.id, c.title)))
        .collect();
    select(out, "f-check", "Check", &checks);
    let subs: Vec<(String, String)> = subs
        .iter()
        .map(|s| (s.id.clone(), sub_name(s).to_string()))
        .collect();
    select(out, "f-subscription", "Subscription", &subs);
    out.push_str(r#"<button type="button" id="f-reset">Reset</button><span class="count" id="f-count"></span></div><div id="f-list"></div><div class="pager"><button type="button" id="f-prev">‹ Previous</button><span id="f-page"></span><button type="button" id="f-next">Next ›</button></div><div class="empty" id="f-empty" hidden>No findings match these filters.</div><noscript><p class="note">The findings are listed by the page's script; they are also in the JSON, CSV and Markdown reports.</p></noscript></section>"#);
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

/// Renders the report as one self-contained HTML page, in time linear in findings.
pub fn render(report: &Report, catalogue: &Catalogue) -> String {
    super::in_memory(|out| render_to(report, catalogue, out))
}

/// Writes the page into `out`; its data block (most of a large report) is serialised
/// straight into it, never held as text.
pub fn render_to(
    report: &Report,
    catalogue: &Catalogue,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let subs = report.subscriptions();
    let (data, fixes) = data(report, &subs);
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
    masthead(&mut out, report, subs.len());
    out.push_str(r#"<main class="wrap">"#);
    meta(&mut out, report, subs.len());
    kpis(&mut out, report);
    out.push_str(r#"<section id="glance"><h2>Posture at a glance</h2>"#);
    grid_card(&mut out, report);
    out.push_str(r#"<div class="charts">"#);
    severity_chart(&mut out, report);
    coverage_chart(&mut out, report, &subs);
    out.push_str("</div></section>");
    findings(&mut out, report, &subs);
    gaps_and_waivers(&mut out, report);
    checks(&mut out, report, catalogue);
    for (i, fix) in fixes.iter().enumerate() {
        let _ = write!(
            out,
            r#"<template id="fix-{i}"><div class="doc">{}</div></template>"#,
            doc(fix)
        );
    }
    let _ = write!(
        out,
        "</main><footer>Generated by {} {} · report schema {} · {}</footer>\n<script type=\"application/json\" id=\"lz-data\">",
        esc(&report.tool.name),
        esc(&report.tool.version),
        esc(report.schema),
        esc(&report.generated_at)
    );
    sink.write_all(out.as_bytes())?;
    drop(out);
    super::json::write_html_data_to(&data, sink)?;
    write!(
        sink,
        "</script>\n<script>\n{SCRIPT}</script>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn html() -> String {
        render(&sample::report(), &Catalogue::builtin().unwrap())
    }

    /// The page's data block, parsed.
    pub(crate) fn page_data(html: &str) -> serde_json::Value {
        let open = r#"<script type="application/json" id="lz-data">"#;
        let start = html.find(open).expect("a data block") + open.len();
        let end = start + html[start..].find("</script>").expect("closed");
        serde_json::from_str(&html[start..end]).expect("the data block is JSON")
    }

    #[test]
    fn untrusted_strings_are_escaped_everywhere() {
        let html = html();
        // Two script elements, both ours: the data (inert) and the code.
        assert_eq!(html.matches("<script").count(), 2, "{html}");
        assert_eq!(html.matches("<script>").count(), 1);
        for raw in [
            "<img",
            "<b>|prod",
            "<i>nothing",
            "onerror=alert(1)>",
            "<script>alert",
        ] {
            assert!(!html.contains(raw), "{raw} reached the page unescaped");
        }
        assert!(!html.contains("href=\"javascript"));
        // Markup in the data stays data: escaped in the block, exact once parsed.
        let data = page_data(&html);
        assert!(
            data["messages"]
                .as_array()
                .unwrap()
                .contains(&sample::HOSTILE.into())
        );
        assert!(
            html.contains("\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e"),
            "the message's markup is escaped inside the data block"
        );
    }

    #[test]
    fn every_finding_is_a_row_that_gives_back_its_resource_subscription_and_check() {
        let report = sample::report();
        let data = page_data(&render(&report, &Catalogue::builtin().unwrap()));
        let rows = data["findings"].as_array().unwrap();
        assert_eq!(rows.len(), report.findings.len());
        let subs = data["subscriptions"].as_array().unwrap();
        let checks = data["checks"].as_array().unwrap();
        let mut seen = Vec::new();
        for row in rows {
            let sub = &subs[row[3].as_u64().unwrap() as usize];
            let flags = row[4].as_u64().unwrap();
            let rest = row[5].as_str().unwrap();
            let resource = if flags & 1 == 1 {
                format!("/subscriptions/{}{rest}", sub[0].as_str().unwrap())
            } else {
                rest.to_string()
            };
            let f = report
                .findings
                .iter()
                .find(|f| f.resource == resource)
                .unwrap_or_else(|| panic!("no finding on {resource}"));
            assert_eq!(sub[0], f.subscription.as_str());
            assert_eq!(
                checks[row[2].as_u64().unwrap() as usize][0],
                f.check.as_str()
            );
            assert_eq!(STATUSES[row[0].as_u64().unwrap() as usize], f.status);
            assert_eq!(SEVERITIES[row[1].as_u64().unwrap() as usize], f.severity);
            assert_eq!(flags & 2 == 2, f.is_subscription_level());
            assert_eq!(
                data["messages"][row[6].as_u64().unwrap() as usize],
                f.message.as_str()
            );
            assert_eq!(
                data["evidence"][row[7].as_u64().unwrap() as usize],
                serde_json::to_value(&f.evidence).unwrap()
            );
            assert_eq!(row[9].is_null(), f.waiver.is_none());
            seen.push(resource);
        }
        // Worst first: the failure, then the unknown, the warning, the waived finding, the pass
        // and the not-applicable one.
        let statuses: Vec<&str> = rows
            .iter()
            .map(|r| STATUSES[r[0].as_u64().unwrap() as usize].as_str())
            .collect();
        assert_eq!(
            statuses,
            [
                "fail",
                "unknown",
                "warn",
                "waived",
                "pass",
                "not_applicable"
            ]
        );
        // Equal evidence lists are stored once: the sample's findings share one but the
        // hostile one's.
        assert_eq!(data["evidence"].as_array().unwrap().len(), 2);
        // The fail and the pass share their remediation: one template.
        assert_eq!(rows[0][8], rows[4][8]);
        assert_eq!(
            render(&report, &Catalogue::builtin().unwrap())
                .matches("<template id=\"fix-")
                .count(),
            1
        );
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
