//! Waivers: accepted risk, with a reason and an end date, never silent.
//!
//! A waiver suppresses the `warn` or `fail` findings of one check on the resources its pattern
//! matches. The finding stays in the report as `waived`, with its real status kept in
//! `waiver.original_status`. A waiver past its expiry stops suppressing and is reported as
//! `expired`; one that suppressed nothing is reported as `unmatched` (like cargo-deny's
//! unmatched advisories), so stale waivers get cleaned up instead of piling up.

use serde::Serialize;

use crate::eval::{Finding, Status};

#[derive(Debug, Clone)]
pub struct Waiver {
    pub check: String,
    pub pattern: String,
    pub matcher: globset::GlobSet,
    pub reason: String,
    pub expires: time::Date,
    /// `file:line` of the waiver, for messages.
    pub location: String,
}

/// Attached to a waived finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppliedWaiver {
    pub original_status: Status,
    pub reason: String,
    pub expires: String,
    pub resource_pattern: String,
    pub location: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WaiverState {
    Active,
    Expired,
    Unmatched,
}

/// One waiver's fate in this run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaiverReport {
    pub check: String,
    pub resource_pattern: String,
    pub reason: String,
    pub expires: String,
    pub state: WaiverState,
    /// How many warn/fail findings it matched.
    pub matched: usize,
    pub location: String,
}

/// Compiles a resource pattern: `*` matches any run of characters, `/` included. The error says
/// what is wrong with the pattern, without repeating it.
///
/// The matcher is a one-pattern `GlobSet` rather than a `GlobMatcher`: a glob whose regular
/// expression is too large to build (about 90 000 `*`) is an error from `GlobSetBuilder::build`,
/// whereas `Glob::compile_matcher` panics on it.
pub fn compile(pattern: &str) -> Result<globset::GlobSet, String> {
    let glob = globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map_err(|e| e.kind().to_string())?;
    globset::GlobSetBuilder::new()
        .add(glob)
        .build()
        .map_err(|e| match e.kind() {
            globset::ErrorKind::Regex(why) => {
                format!("the pattern is too long or too complex to match ({why})")
            }
            other => other.to_string(),
        })
}

/// Applies waivers to findings.
pub fn apply(
    waivers: &[Waiver],
    findings: Vec<Finding>,
    today: time::Date,
) -> (Vec<(Finding, Option<AppliedWaiver>)>, Vec<WaiverReport>) {
    let mut matched = vec![0usize; waivers.len()];
    let out = findings
        .into_iter()
        .map(|finding| {
            let mut applied = None;
            if matches!(finding.status, Status::Warn | Status::Fail) {
                for (i, w) in waivers.iter().enumerate() {
                    if w.check.eq_ignore_ascii_case(&finding.check)
                        && w.matcher.is_match(finding.resource.as_str())
                    {
                        matched[i] += 1;
                        if w.expires >= today && applied.is_none() {
                            applied = Some(AppliedWaiver {
                                original_status: finding.status,
                                reason: w.reason.clone(),
                                expires: w.expires.to_string(),
                                resource_pattern: w.pattern.clone(),
                                location: w.location.clone(),
                            });
                        }
                    }
                }
            }
            (finding, applied)
        })
        .collect();
    let reports = waivers
        .iter()
        .zip(matched)
        .map(|(w, matched)| WaiverReport {
            check: w.check.clone(),
            resource_pattern: w.pattern.clone(),
            reason: w.reason.clone(),
            expires: w.expires.to_string(),
            state: if w.expires < today {
                WaiverState::Expired
            } else if matched == 0 {
                WaiverState::Unmatched
            } else {
                WaiverState::Active
            },
            matched,
            location: w.location.clone(),
        })
        .collect();
    (out, reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn waiver(check: &str, pattern: &str, expires: time::Date) -> Waiver {
        Waiver {
            check: check.into(),
            pattern: pattern.into(),
            matcher: compile(pattern).unwrap(),
            reason: "accepted".into(),
            expires,
            location: "p.toml:3".into(),
        }
    }

    fn finding(check: &str, resource: &str, status: Status) -> Finding {
        Finding::new(check, resource, status, "m")
    }

    #[test]
    fn waives_matching_fail_keeps_status_and_reports_stale_ones() {
        let waivers = vec![
            waiver(
                "AKS-020",
                "/subscriptions/*/resourcegroups/RG-LEGACY/*",
                date!(2027 - 01 - 31),
            ),
            waiver("AKS-021", "*", date!(2026 - 01 - 01)),
            waiver("AKS-022", "*", date!(2027 - 01 - 01)),
        ];
        let findings = vec![
            finding(
                "AKS-020",
                "/subscriptions/s/resourceGroups/rg-legacy/providers/x/c1",
                Status::Fail,
            ),
            finding(
                "AKS-020",
                "/subscriptions/s/resourceGroups/rg-new/providers/x/c2",
                Status::Fail,
            ),
            finding(
                "AKS-021",
                "/subscriptions/s/resourceGroups/rg-new/providers/x/c2",
                Status::Fail,
            ),
            finding(
                "AKS-022",
                "/subscriptions/s/resourceGroups/rg-new/providers/x/c2",
                Status::Pass,
            ),
        ];
        let (out, reports) = apply(&waivers, findings, date!(2026 - 11 - 26));
        assert_eq!(out[0].1.as_ref().unwrap().original_status, Status::Fail);
        assert!(out[1].1.is_none());
        assert!(out[2].1.is_none(), "an expired waiver stops suppressing");
        assert!(out[3].1.is_none(), "passes are never waived");
        assert_eq!(reports[0].state, WaiverState::Active);
        assert_eq!(reports[1].state, WaiverState::Expired);
        assert_eq!(reports[2].state, WaiverState::Unmatched);
    }

    /// Found by probing the `profile` fuzz target with long inputs: a waiver whose pattern is
    /// about 94 000 `*` made `Glob::compile_matcher` panic ("regex compilation shouldn't
    /// fail") while the profile was loaded. It is an error naming the problem now.
    #[test]
    fn a_pattern_too_large_to_compile_is_an_error_not_a_panic() {
        for pattern in ["*".repeat(100_000), "*a".repeat(60_000)] {
            let err = compile(&pattern).unwrap_err();
            assert!(err.contains("too long or too complex"), "{err}");
            assert!(err.len() < 200, "the message repeats the pattern: {err}");
        }
        assert!(
            compile("[abc")
                .unwrap_err()
                .contains("unclosed character class")
        );
        let matcher = compile("/subscriptions/*/resourceGroups/RG-1/*").unwrap();
        assert!(matcher.is_match("/subscriptions/a/resourcegroups/rg-1/providers/x/y"));
        assert!(!matcher.is_match("/subscriptions/a/resourcegroups/rg-2/providers/x/y"));
    }
}
