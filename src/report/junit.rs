//! JUnit XML, for Azure DevOps "Publish Test Results" (and any CI that reads JUnit): one test
//! suite per check, one test case per finding, so the pipeline's Tests tab lists every check ×
//! resource with its verdict.
//!
//! Case name = the resource's ARM ID, classname = the check ID. `fail` is a failure, `unknown` an
//! error (the check could not run to a verdict), `not_applicable` and `waived` are skipped,
//! `pass` and `warn` pass (a warning is no test failure; its note is in `system-out`). The body
//! of every case holds the message, the evidence and the remediation. Coverage gaps get a suite
//! of their own, one error per unreadable scope × API, so an incomplete audit is visible where
//! the pipeline shows test results. Serialised by `quick-junit`.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{Report, ReportFinding, ReportStatus};

/// The name of the suite that lists coverage gaps.
pub const COVERAGE_SUITE: &str = "lzaudit coverage: data that could not be read";

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

fn case(f: &ReportFinding) -> TestCase {
    let mut status = match f.status {
        ReportStatus::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
        ReportStatus::Unknown => TestCaseStatus::non_success(NonSuccessKind::Error),
        ReportStatus::NotApplicable | ReportStatus::Waived => TestCaseStatus::skipped(),
        ReportStatus::Pass | ReportStatus::Warn => TestCaseStatus::success(),
    };
    let message = match &f.waiver {
        Some(w) => format!(
            "waived ({}): {}; until {}",
            w.original_status, w.reason, w.expires
        ),
        None => f.message.clone(),
    };
    // An attribute: XML parsers normalise a raw newline in it to a space, so make it one line.
    let message = one_line(&message);
    // Setters are no-ops on a success status: a passing case carries everything in system-out.
    status
        .set_message(message)
        .set_type(format!("{}/{}", f.status.as_str(), f.severity))
        .set_description(body(f));
    let mut case = TestCase::new(f.resource.as_str(), status);
    case.set_classname(f.check.as_str());
    case.add_property(Property::new("severity", f.severity.as_str()));
    case.add_property(Property::new("status", f.status.as_str()));
    case.add_property(Property::new("subscription", f.subscription.as_str()));
    if matches!(f.status, ReportStatus::Pass | ReportStatus::Warn) {
        case.set_system_out(body(f));
    }
    case
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new(format!("lzaudit {}", report.profile));
    for check in report.checks() {
        let mut suite = TestSuite::new(format!("{} {}", check.id, check.title));
        suite.add_property(Property::new("check", check.id));
        suite.add_property(Property::new("severity", check.severity.as_str()));
        suite.add_test_cases(
            report
                .findings
                .iter()
                .filter(|f| f.check == check.id)
                .map(case),
        );
        junit.add_test_suite(suite);
    }
    if !report.coverage.is_empty() {
        let mut suite = TestSuite::new(COVERAGE_SUITE);
        for gap in &report.coverage {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(one_line(&format!("could not read {}", gap.describe())))
                .set_type(format!("coverage/{}", gap.status))
                .set_description(
                    "the findings that depend on this data are unknown; grant the identity read access (see the README's Sign-in section) and re-run",
                );
            let mut case = TestCase::new(gap.scope.as_str(), status);
            case.set_classname(format!("coverage.{}", gap.api));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .expect("writing JUnit XML to memory cannot fail")
}

#[cfg(test)]
mod tests {
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
