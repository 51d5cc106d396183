//! Resource Graph's per-user quota ("e.g. 15 queries per 5-second window", Learn,
//! guidance-for-throttled-requests): every query a principal sends, each page included,
//! takes one unit of its window; the window starts with the principal's first query and
//! resets when it has run out. Answers carry `x-ms-user-quota-remaining` (an integer) and
//! `x-ms-user-quota-resets-after` (`hh:mm:ss`); a query over quota gets 429 with both, and
//! `Retry-After`. Kept apart from ARM's read buckets (`buckets`), which a query also passes
//! first, because the two limits differ in unit, scope and headers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The quota option: `queries` per `window`, per principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphQuota {
    pub queries: u32,
    pub window: Duration,
}

impl Default for GraphQuota {
    /// ARG's documented example quota: 15 queries per 5 seconds.
    fn default() -> GraphQuota {
        GraphQuota {
            queries: 15,
            window: Duration::from_secs(5),
        }
    }
}

/// What a query found in its principal's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted {
        remaining: u32,
        resets_after: Duration,
    },
    Refused {
        resets_after: Duration,
    },
}

#[derive(Debug, Default)]
pub(crate) struct QuotaState {
    /// Principal → (start of its window, queries admitted in it).
    windows: HashMap<String, (Instant, u32)>,
}

impl QuotaState {
    /// Takes one unit of `principal`'s window at `now`, if one is left.
    pub(crate) fn admit(&mut self, quota: &GraphQuota, principal: &str, now: Instant) -> Admission {
        let window = self
            .windows
            .entry(principal.to_string())
            .or_insert((now, 0));
        if now.saturating_duration_since(window.0) >= quota.window {
            *window = (now, 0);
        }
        let resets_after = quota
            .window
            .saturating_sub(now.saturating_duration_since(window.0));
        if window.1 >= quota.queries {
            return Admission::Refused { resets_after };
        }
        window.1 += 1;
        Admission::Admitted {
            remaining: quota.queries - window.1,
            resets_after,
        }
    }
}

/// Whole seconds, rounded up: a client told to wait `00:00:00` with time still left would
/// come back too early.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// `hh:mm:ss`, rounded up to the second.
pub(crate) fn hh_mm_ss(duration: Duration) -> String {
    let seconds = whole_seconds(duration);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_queries_then_refuses_until_it_resets() {
        let quota = GraphQuota {
            queries: 2,
            window: Duration::from_secs(5),
        };
        let mut state = QuotaState::default();
        let t0 = Instant::now();
        assert_eq!(
            state.admit(&quota, "a", t0),
            Admission::Admitted {
                remaining: 1,
                resets_after: Duration::from_secs(5)
            }
        );
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(
            state.admit(&quota, "a", t1),
            Admission::Admitted {
                remaining: 0,
                resets_after: Duration::from_millis(3500)
            }
        );
        assert_eq!(
            state.admit(&quota, "a", t1),
            Admission::Refused {
                resets_after: Duration::from_millis(3500)
            }
        );
        assert!(matches!(
            state.admit(&quota, "b", t1),
            Admission::Admitted { remaining: 1, .. }
        ));
        assert!(matches!(
            state.admit(&quota, "a", t0 + Duration::from_secs(5)),
            Admission::Admitted { remaining: 1, .. }
        ));
        let none = GraphQuota {
            queries: 0,
            ..quota
        };
        assert!(matches!(
            QuotaState::default().admit(&none, "a", t0),
            Admission::Refused { .. }
        ));
    }

    #[test]
    fn durations_print_rounded_up() {
        assert_eq!(hh_mm_ss(Duration::from_millis(3500)), "00:00:04");
        assert_eq!(hh_mm_ss(Duration::from_secs(5)), "00:00:05");
        assert_eq!(hh_mm_ss(Duration::from_secs(3723)), "01:02:03");
        assert_eq!(hh_mm_ss(Duration::ZERO), "00:00:00");
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    }
}
