//! Fault injection: the knobs a test turns (`Options`) and the bookkeeping that decides, per
//! request, whether to answer 403, 429 or 5xx instead of serving. Faults are keyed by the
//! request's (scope, api) classification so a test can say "the Containers pricing of this
//! subscription is forbidden" or "the first two cluster listings are throttled" without
//! knowing URLs. Order of checks: throttling first (ARM's front door throttles before it
//! authorises), then denial, then server failure (the resource provider failing after
//! authorisation succeeded).

use std::str::FromStr;
use std::time::Duration;

use crate::buckets::{BucketState, ReadBuckets};
use crate::chaos::{Chaos, ChaosState};
use crate::quota::{GraphQuota, QuotaState};
use crate::scope;

/// Behaviour switches and injected faults. `Default` serves everything in one page, with no
/// faults and one-hour tokens, and plays Resource Graph's per-user quota (15 queries per
/// 5 seconds) as ARG does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Items per page on every list route; `None` (or `Some(0)`) means one page.
    pub page_size: Option<usize>,
    /// The last page carries `"nextLink": null` instead of omitting the key.
    pub null_next_link: bool,
    pub deny: Vec<Deny>,
    pub throttle: Vec<Throttle>,
    pub fail: Vec<Fail>,
    /// Lifetime of issued tokens; 0 means 3600.
    pub token_lifetime_secs: u64,
    /// Seeded faults drawn per request (see `chaos`).
    pub chaos: Option<Chaos>,
    /// Waited before answering every request, sign-in included: the round trip of a real
    /// region (or a slow proxy), so timings and concurrency behave as they would against Azure,
    /// and a test can act while a run is still collecting.
    pub latency: Duration,
    /// ARM's read throttling (see `buckets`); `None` serves without limit.
    pub read_buckets: Option<ReadBuckets>,
    /// Resource Graph's per-user quota (see `quota`); `None` serves queries without limit
    /// and without the quota headers.
    pub graph_quota: Option<GraphQuota>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            page_size: None,
            null_next_link: false,
            deny: Vec::new(),
            throttle: Vec::new(),
            fail: Vec::new(),
            token_lifetime_secs: 0,
            chaos: None,
            latency: Duration::ZERO,
            read_buckets: None,
            graph_quota: Some(GraphQuota::default()),
        }
    }
}

/// Answer 403 `AuthorizationFailed` to requests for `api` at or below `scope`. `scope` is an
/// ARM ID prefix matched case-insensitively at segment boundaries (`/` denies everywhere);
/// `api` is a request's API name such as `Microsoft.Security/pricings`, compared
/// case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deny {
    pub scope: String,
    pub api: String,
}

/// Answer the first `times` requests of `api` with 429 and `Retry-After: retry_after_secs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub api: String,
    pub times: usize,
    pub retry_after_secs: u64,
}

/// Answer the first `times` requests of `api` with `status` (a 5xx).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    pub api: String,
    pub times: usize,
    pub status: u16,
}

impl FromStr for Deny {
    type Err = String;

    /// Parses the command line's `SCOPE=API`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (scope, api) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("expected SCOPE=API, got '{text}'"))?;
        if scope.is_empty() || api.is_empty() {
            return Err(format!("expected SCOPE=API, got '{text}'"));
        }
        Ok(Deny {
            scope: scope.to_string(),
            api: api.to_string(),
        })
    }
}

/// What to answer instead of serving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Deny,
    Throttle { retry_after_secs: u64 },
    Fail { status: u16 },
}

/// The current options plus how many requests each throttle and fail entry has consumed.
/// Replacing the options resets the counters, so a test can re-arm a fault mid-run; the
/// tenant's own denials (`fixed_deny`) are not options and survive a replacement.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) options: Options,
    fixed_deny: Vec<Deny>,
    throttled: Vec<usize>,
    failed: Vec<usize>,
    pub(crate) chaos: ChaosState,
    pub(crate) buckets: BucketState,
    pub(crate) quota: QuotaState,
}

impl FaultState {
    pub(crate) fn new(options: Options, fixed_deny: Vec<Deny>) -> Self {
        let mut state = FaultState {
            fixed_deny,
            ..FaultState::default()
        };
        state.replace(options);
        state
    }

    pub(crate) fn replace(&mut self, options: Options) {
        self.throttled = vec![0; options.throttle.len()];
        self.failed = vec![0; options.fail.len()];
        self.chaos = ChaosState::default();
        self.buckets = BucketState::default();
        self.quota = QuotaState::default();
        self.options = options;
    }

    /// Decides the fault for a request classified as (`request_scope`, `api`), consuming one
    /// use of a throttle or fail entry when it fires. `deniable` is false for the token
    /// endpoint, which has no ARM scope.
    pub(crate) fn check(
        &mut self,
        request_scope: &str,
        api: Option<&str>,
        deniable: bool,
    ) -> Option<Fault> {
        let api = api?;
        for (i, t) in self.options.throttle.iter().enumerate() {
            if t.api.eq_ignore_ascii_case(api) && self.throttled[i] < t.times {
                self.throttled[i] += 1;
                return Some(Fault::Throttle {
                    retry_after_secs: t.retry_after_secs,
                });
            }
        }
        if deniable {
            let key = scope::normalize(request_scope);
            let denied = self.options.deny.iter().chain(&self.fixed_deny).any(|d| {
                d.api.eq_ignore_ascii_case(api)
                    && scope::is_within(&key, &scope::normalize(&d.scope))
            });
            if denied {
                return Some(Fault::Deny);
            }
        }
        for (i, f) in self.options.fail.iter().enumerate() {
            if f.api.eq_ignore_ascii_case(api) && self.failed[i] < f.times {
                self.failed[i] += 1;
                return Some(Fault::Fail { status: f.status });
            }
        }
        None
    }

    /// The scopes (normalised) where `api` is denied, from the options and the tenant. Resource
    /// Graph answers around them instead of refusing: it leaves out what the caller cannot
    /// read.
    pub(crate) fn denied_scopes(&self, api: &str) -> Vec<String> {
        self.options
            .deny
            .iter()
            .chain(&self.fixed_deny)
            .filter(|d| d.api.eq_ignore_ascii_case(api))
            .map(|d| scope::normalize(&d.scope))
            .collect()
    }

    pub(crate) fn token_lifetime_secs(&self) -> u64 {
        match self.options.token_lifetime_secs {
            0 => 3600,
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICINGS: &str = "Microsoft.Security/pricings";

    #[test]
    fn deny_matches_scope_prefix_and_api_case_insensitively() {
        let mut state = FaultState::new(
            Options {
                deny: vec![Deny {
                    scope: "/Subscriptions/AAA".into(),
                    api: PRICINGS.into(),
                }],
                ..Options::default()
            },
            vec![Deny {
                scope: "/subscriptions/fixed".into(),
                api: "Microsoft.Authorization/roleAssignments".into(),
            }],
        );
        assert_eq!(
            state.check(
                "/subscriptions/aaa",
                Some("microsoft.security/PRICINGS"),
                true
            ),
            Some(Fault::Deny)
        );
        assert_eq!(
            state.check(
                "/subscriptions/aaa/resourceGroups/rg/providers/x/y/z",
                Some(PRICINGS),
                true
            ),
            Some(Fault::Deny)
        );
        assert_eq!(
            state.check("/subscriptions/aaab", Some(PRICINGS), true),
            None
        );
        assert_eq!(
            state.check(
                "/subscriptions/aaa",
                Some("Microsoft.Compute/virtualMachines"),
                true
            ),
            None
        );
        assert_eq!(
            state.check("/subscriptions/aaa", Some(PRICINGS), false),
            None
        );
    }

    #[test]
    fn throttle_and_fail_fire_a_bounded_number_of_times() {
        let mut state = FaultState::new(
            Options {
                throttle: vec![Throttle {
                    api: PRICINGS.into(),
                    times: 2,
                    retry_after_secs: 7,
                }],
                fail: vec![Fail {
                    api: PRICINGS.into(),
                    times: 1,
                    status: 503,
                }],
                ..Options::default()
            },
            Vec::new(),
        );
        let throttled = Some(Fault::Throttle {
            retry_after_secs: 7,
        });
        assert_eq!(state.check("/", Some(PRICINGS), true), throttled);
        assert_eq!(state.check("/", Some(PRICINGS), true), throttled);
        assert_eq!(
            state.check("/", Some(PRICINGS), true),
            Some(Fault::Fail { status: 503 })
        );
        assert_eq!(state.check("/", Some(PRICINGS), true), None);
        state.replace(state.options.clone());
        assert_eq!(state.check("/", Some(PRICINGS), true), throttled);
    }

    #[test]
    fn deny_parses_from_command_line() {
        assert_eq!(
            "/subscriptions/a=Microsoft.Security/pricings".parse::<Deny>(),
            Ok(Deny {
                scope: "/subscriptions/a".into(),
                api: PRICINGS.into()
            })
        );
        assert!("nothing".parse::<Deny>().is_err());
        assert!(FaultState::default().token_lifetime_secs() == 3600);
    }
}
