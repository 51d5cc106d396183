//! JUnit XML, for Azure DevOps "Publish Test Results" (and any CI that reads JUnit): one test
//! suite per check, one test case per finding, so the pipeline's Tests tab lists every check ×
//! resource with its verdict.
//!
//! Case name = the resource's ARM ID, classname = the check ID. `fail` is a failure, `unknown` an
//! error (the check could not run to a verdict), `not_applicable` and `waived` are skipped,
//! `pass` and `warn` pass (a warning is no test failure; its note is in `system-out`). The body
//! of every case holds the message, the evidence and the remediation. Coverage gaps get a suite
//! of their own, one error per unreadable scope × API, so an incomplete audit is visible where
//! the pipeline shows test results.
//!
//! Written here rather than by a JUnit crate, for its escaping: a parser must get ARM's strings
//! back exactly (`quick-junit` drops CR, TAB and anything that looks like a terminal escape), and
//! the file must be safe to print in a pipeline. So every `#` is `&#35;` (no `##vso[` or `##[` can
//! appear in the file), CR is `&#13;` (a parser would turn a raw one into LF), and in attribute
//! values LF and TAB are `&#10;` and `&#9;` (a parser would turn raw ones into spaces). The only
//! characters XML 1.0 cannot carry at all — the C0 controls but TAB, LF and CR, and U+FFFE/U+FFFF
//! — are written as visible escapes (`\u{1b}`, see `text::push_escape`).

use std::fmt::Write;

use super::spool::Spool;
use super::{Report, ReportFinding, ReportStatus};

/// The name of the suite that lists coverage gaps.
pub const COVERAGE_SUITE: &str = "lzaudit coverage: data that could not be read";

/// Whether XML 1.0 can carry the character at all (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Appends `s` escaped for XML text content (`attribute` false) or a quoted attribute value.
fn push_escaped(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '#' => out.push_str("&#35;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if !is_xml_char(c) => crate::text::push_escape(out, c),
            c => out.push(c),
        }
    }
}

/// An XML writer with quick-junit's layout: four spaces per level, one element per line.
struct Xml<'a> {
    out: Spool<'a>,
    depth: usize,
}

impl Xml<'_> {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.buf.push_str("    ");
        }
    }

    fn tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.out.buf.push('<');
        self.out.buf.push_str(name);
        for (key, value) in attributes {
            let _ = write!(self.out.buf, " {key}=\"");
            push_escaped(&mut self.out.buf, value, true);
            self.out.buf.push('"');
        }
    }

    /// `<name a="v">` on its own line; what follows is one level deeper.
    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attributes);
        self.out.buf.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out.buf, "</{name}>");
    }

    /// `<name a="v"/>`.
    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attributes);
        self.out.buf.push_str("/>\n");
    }

    /// `<name a="v">text</name>`, the text as it is (no indentation added inside).
    fn text(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.indent();
        self.tag(name, attributes);
        self.out.buf.push('>');
        push_escaped(&mut self.out.buf, text, false);
        let _ = writeln!(self.out.buf, "</{name}>");
    }

    fn properties(&mut self, properties: &[(&str, &str)]) {
        if properties.is_empty() {
            return;
        }
        self.open("properties", &[]);
        for (name, value) in properties {
            self.empty("property", &[("name", name), ("value", value)]);
        }
        self.close("properties");
    }
}

fn body(f: &ReportFinding) -> String {
    let mut out = format!(
        "{}: {}\n",
        f.status.as_str().to_ascii_uppercase(),
        f.message
    );
    if let Some(waiver) = f.waiver_line() {
        out.push_str(&format!("{waiver}\n"));
    }
    out.push_str(&format!(
        "resource: {}\nsubscription: {} ({})\nseverity: {}\n",
        f.resource, f.subscription_name, f.subscription, f.severity
    ));
    let evidence = f.evidence_lines();
    if !evidence.is_empty() {
        out.push_str("evidence:\n");
        for line in evidence {
            out.push_str(&format!("  - {line}\n"));
        }
    }
    if !f.remediation.is_empty() {
        out.push_str(&format!("remediation:\n{}\n", f.remediation));
    }
    out
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The element a finding's outcome is written as, with its kind for the counts; `None` passes.
fn outcome(status: ReportStatus) -> Option<&'static str> {
    match status {
        ReportStatus::Fail => Some("failure"),
        ReportStatus::Unknown => Some("error"),
        ReportStatus::NotApplicable | ReportStatus::Waived => Some("skipped"),
        ReportStatus::Pass | ReportStatus::Warn => None,
    }
}

/// A suite's counts: tests, skipped, failures, errors.
#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    skipped: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    fn add(&mut self, element: Option<&str>) {
        self.tests += 1;
        match element {
            Some("failure") => self.failures += 1,
            Some("error") => self.errors += 1,
            Some("skipped") => self.skipped += 1,
            _ => {}
        }
    }

    fn total(list: impl IntoIterator<Item = Counts>) -> Counts {
        list.into_iter().fold(Counts::default(), |a, b| Counts {
            tests: a.tests + b.tests,
            skipped: a.skipped + b.skipped,
            failures: a.failures + b.failures,
            errors: a.errors + b.errors,
        })
    }
}

fn case(xml: &mut Xml, f: &ReportFinding) {
    xml.open(
        "testcase",
        &[
            ("name", f.resource.as_str()),
            ("classname", f.check.as_str()),
        ],
    );
    xml.properties(&[
        ("severity", f.severity.as_str()),
        ("status", f.status.as_str()),
        ("subscription", f.subscription.as_str()),
    ]);
    match outcome(f.status) {
        Some(element) => {
            let message = match &f.waiver {
                Some(w) => format!(
                    "waived ({}): {}; until {}",
                    w.original_status, w.reason, w.expires
                ),
                None => f.message.to_string(),
            };
            // Shown as the test's error message: one line reads best there.
            let message = one_line(&message);
            let kind = format!("{}/{}", f.status.as_str(), f.severity);
            xml.text(element, &[("message", &message), ("type", &kind)], &body(f));
        }
        // A passing case carries everything in system-out.
        None => xml.text("system-out", &[], &body(f)),
    }
    xml.close("testcase");
}

fn open_suite(xml: &mut Xml, name: &str, c: &Counts) {
    xml.open(
        "testsuite",
        &[
            ("name", name),
            ("tests", &c.tests.to_string()),
            ("skipped", &c.skipped.to_string()),
            ("errors", &c.errors.to_string()),
            ("failures", &c.failures.to_string()),
        ],
    );
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    super::in_memory(|out| render_to(report, out))
}

/// Writes the report as JUnit XML to `out` as it goes.
pub fn render_to(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // One pass groups the findings by check (report order within a check).
    let checks = report.checks();
    let index: std::collections::HashMap<&str, usize> =
        checks.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut by_check: Vec<Vec<&ReportFinding>> = vec![Vec::new(); checks.len()];
    for f in &report.findings {
        by_check[index[f.check.as_str()]].push(f);
    }
    let mut suites: Vec<Counts> = by_check
        .iter()
        .map(|findings| {
            let mut counts = Counts::default();
            for f in findings {
                counts.add(outcome(f.status));
            }
            counts
        })
        .collect();
    if !report.coverage.is_empty() {
        suites.push(Counts {
            tests: report.coverage.len(),
            errors: report.coverage.len(),
            ..Counts::default()
        });
    }
    let total = Counts::total(suites.iter().copied());
    let mut xml = Xml {
        out: Spool::new(out),
        depth: 0,
    };
    xml.out
        .buf
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.open(
        "testsuites",
        &[
            ("name", &format!("lzaudit {}", report.profile)),
            ("tests", &total.tests.to_string()),
            ("skipped", &total.skipped.to_string()),
            ("failures", &total.failures.to_string()),
            ("errors", &total.errors.to_string()),
        ],
    );
    for ((check, findings), counts) in checks.iter().zip(&by_check).zip(&suites) {
        open_suite(&mut xml, &format!("{} {}", check.id, check.title), counts);
        xml.properties(&[("check", check.id), ("severity", check.severity.as_str())]);
        for f in findings {
            case(&mut xml, f);
            xml.out.drain_if_full()?;
        }
        xml.close("testsuite");
    }
    if let Some(counts) = suites.get(checks.len()) {
        open_suite(&mut xml, COVERAGE_SUITE, counts);
        for gap in &report.coverage {
            let classname = format!("coverage.{}", gap.api);
            xml.open(
                "testcase",
                &[("name", gap.scope.as_str()), ("classname", &classname)],
            );
            let message = one_line(&format!("could not read {}", gap.describe()));
            let kind = format!("coverage/{}", gap.status);
            xml.text(
                "error",
                &[("message", &message), ("type", &kind)],
                "the findings that depend on this data are unknown; grant the identity read access (see the README's Sign-in section) and re-run",
            );
            xml.close("testcase");
        }
        xml.close("testsuite");
    }
    xml.close("testsuites");
    xml.out.finish()
}

#[cfg(test)]
mod tests {
    use quick_junit::{NonSuccessKind, TestCaseStatus};

    use super::*;
    use crate::report::sample;

    #[test]
    fn statuses_map_to_junit_outcomes_and_the_output_parses_back() {
        let xml = render(&sample::report());
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        // 6 findings + 1 coverage gap; fail → failure; unknown and the gap → errors;
        // waived and not_applicable → skipped.
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.errors, parsed.skipped),
            (7, 1, 2, 2)
        );
        let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "AKS-020 title of AKS-020",
                "AKS-021 title of AKS-021",
                "CUS-001 title of CUS-001",
                COVERAGE_SUITE
            ]
        );
        let warn = &parsed.test_suites[2].test_cases[0];
        assert!(matches!(warn.status, TestCaseStatus::Success { .. }));
        assert!(
            warn.system_out
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with("WARN: a custom check")
        );
    }

    #[test]
    fn escaping_keeps_what_xml_can_carry_and_shows_what_it_cannot() {
        let mut text = String::new();
        push_escaped(
            &mut text,
            "a\r\n\t##vso[x] \u{1b}[31m \u{9b}<&>\"'\u{fffe}",
            false,
        );
        assert_eq!(
            text,
            "a&#13;\n\t&#35;&#35;vso[x] \\u{1b}[31m \u{9b}&lt;&amp;&gt;&quot;&apos;\\u{fffe}"
        );
        let mut attribute = String::new();
        push_escaped(&mut attribute, "a\r\n\tb", true);
        assert_eq!(attribute, "a&#13;&#10;&#9;b");
    }

    #[test]
    fn markup_in_arm_data_is_escaped_not_interpreted() {
        let xml = render(&sample::report());
        assert!(!xml.contains("<script>"), "{xml}");
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let case = &parsed.test_suites[0].test_cases[0];
        assert_eq!(case.classname.as_ref().unwrap().as_str(), "AKS-020");
        match &case.status {
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                description,
                ..
            } => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    sample::HOSTILE.replace('\n', " ")
                );
                assert!(
                    description
                        .as_ref()
                        .unwrap()
                        .as_str()
                        .contains("tags.owner: observed {\"owner\":")
                );
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
