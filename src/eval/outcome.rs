//! What a check says about one resource: a status, a message and the evidence behind it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

use crate::interned::{self, Text};

/// The outcome of one check on one resource. `Waived` is not here: waivers are applied by the
/// profile step, which keeps this status underneath.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    NotApplicable,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NotApplicable => "not_applicable",
            Status::Unknown => "unknown",
        }
    }

    /// Combines the main parts of a check (catalogue §Outcome names): a certain fail stands;
    /// otherwise missing data wins, because it could hide a fail; then warn, then pass.
    /// `not_applicable` yields to anything else.
    pub fn combine(self, other: Status) -> Status {
        fn rank(s: Status) -> u8 {
            match s {
                Status::NotApplicable => 0,
                Status::Pass => 1,
                Status::Warn => 2,
                Status::Unknown => 3,
                Status::Fail => 4,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    /// A sub-result can only turn a pass into a warn (catalogue §Outcome names).
    pub fn with_sub_result(self, sub_warns: bool) -> Status {
        if sub_warns && self == Status::Pass {
            Status::Warn
        } else {
            self
        }
    }

    /// The other half of [`Status::with_sub_result`]: a sub-result whose data could not be read
    /// might have turned this pass into a warn, so a pass resting on it is `unknown` — the
    /// product never reports a verdict that an unread collection could have changed. A warn
    /// (or fail) stands, because the sub-result could only have produced that warn itself.
    /// Apply it after `with_sub_result`, so a sub-result that does warn from what was read
    /// still wins; the caller states the unread cause in the message and the evidence.
    pub fn with_unread_sub_result(self, unread: bool) -> Status {
        if unread && self == Status::Pass {
            Status::Unknown
        } else {
            self
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One property the verdict rests on: where it was read, what was seen, what was expected.
/// Its parts are shared with every other finding that says the same (see [`interned`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// The JSON path read (`properties.apiServerAccessProfile.enablePrivateCluster`), or a
    /// description of a derived fact (`role assignments at the registry scope`).
    pub property: Text,
    /// The value seen. `null` when the property was absent (see `note`).
    pub observed: Arc<Value>,
    pub expected: Text,
    /// The resource the property belongs to, when it is not the finding's own resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Text>,
    /// Context: "absent; ARM's default applies", "unverified detail (catalogue U)", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
}

impl Evidence {
    pub fn new(
        property: impl Into<Text>,
        observed: impl Into<Value>,
        expected: impl Into<Text>,
    ) -> Self {
        Evidence {
            property: property.into(),
            observed: interned::value(observed.into()),
            expected: expected.into(),
            resource: None,
            note: None,
        }
    }

    pub fn on(mut self, resource: impl Into<Text>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn note(mut self, note: impl Into<Text>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// One check's verdict on one resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub check: Text,
    /// The ARM ID of the cluster or registry as ARM returned it, or `/subscriptions/{guid}`.
    pub resource: Text,
    /// The subscription GUID (lower-cased).
    pub subscription: Text,
    pub status: Status,
    pub message: Text,
    pub evidence: Vec<Evidence>,
}

impl Finding {
    pub fn new(check: &str, resource: &str, status: Status, message: impl Into<Text>) -> Self {
        Finding {
            check: check.into(),
            resource: resource.into(),
            subscription: crate::inventory::arm::subscription_of(resource)
                .unwrap_or_default()
                .into(),
            status,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    pub fn evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;

    #[test]
    fn combine_orders_fail_unknown_warn_pass() {
        assert_eq!(Pass.combine(Warn), Warn);
        assert_eq!(Warn.combine(Unknown), Unknown);
        assert_eq!(Unknown.combine(Fail), Fail);
        assert_eq!(Fail.combine(Unknown), Fail);
        assert_eq!(NotApplicable.combine(Pass), Pass);
        assert_eq!(Pass.with_sub_result(true), Warn);
        assert_eq!(Fail.with_sub_result(true), Fail);
        assert_eq!(Unknown.with_sub_result(true), Unknown);
    }

    #[test]
    fn an_unread_sub_result_makes_only_a_pass_unknown() {
        assert_eq!(Pass.with_unread_sub_result(true), Unknown);
        assert_eq!(Pass.with_unread_sub_result(false), Pass);
        assert_eq!(Warn.with_unread_sub_result(true), Warn);
        assert_eq!(Fail.with_unread_sub_result(true), Fail);
        assert_eq!(NotApplicable.with_unread_sub_result(true), NotApplicable);
        // A sub-result that warns from what was read wins over one that could not be read.
        assert_eq!(
            Pass.with_sub_result(true).with_unread_sub_result(true),
            Warn
        );
    }
}
